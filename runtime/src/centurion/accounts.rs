//! [`Centurion`]'s account methods: registering and confirming users, creating them
//! directly, importing them, resetting and changing passwords.

use super::{Centurion, Registration};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{normalize_email, normalize_username};
use crate::jwt::{ExpectKind, TokenKind};
use crate::password::Work;
use crate::store::{ImportedUser, NewUser, Registered};
use crate::user::AuthUser;

impl<U: AuthUser> Centurion<U> {
    /// Registers a user: checks the username ([`normalize_username`] with the instance's
    /// [`UsernamePolicy`](crate::identity::UsernamePolicy)), the address ([`normalize_email`]) and the password, hashes the
    /// password as anonymous work ([`Work::Anonymous`]), and asks the store to create an
    /// unconfirmed, inactive user.
    ///
    /// - A username whose key is taken is [`ErrorKind::UserExists`] (409). An unconfirmed
    ///   registration older than the [unconfirmed
    ///   lifespan](crate::CenturionBuilder::unconfirmed_lifespan) no longer holds its name
    ///   or address: it is replaced.
    /// - An address whose key is taken is **not** an error:
    ///   [`Registration::AddressTaken`] comes back after the same work (the hash, the
    ///   store round trip), so the answer and its timing can be the same as for a new
    ///   registration, and the owner of the address gets a mail instead.
    /// - A name or address that breaks the [identity rules](crate::identity) is
    ///   [`ErrorKind::InvalidRequest`]; a weak password [`ErrorKind::WeakPassword`]; a
    ///   hashing pool whose anonymous share is taken [`ErrorKind::Overloaded`].
    ///
    /// [`confirm_registration`](Self::confirm_registration) activates the user.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, Registration, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// let first = auth.register("ada", Some("ada@example.org"), "correct horse battery", &[]).await?;
    /// let (ada, token) = first.created().expect("a new user");
    /// assert!(!ada.active);
    /// // The same address again: nothing is created, but nothing tells the client so.
    /// let again = auth.register("bob", Some("ADA@example.org"), "another passphrase", &[]).await?;
    /// assert_eq!(again.username(), "bob");
    /// assert!(matches!(again, Registration::AddressTaken { owner, .. } if owner.id == ada.id));
    /// assert!(auth.confirm_registration(&token).await?.active);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn register(
        &self,
        username: &str,
        email: Option<&str>,
        password: &str,
        roles: &[&str],
    ) -> Result<Registration<U>> {
        let new = self
            .new_user(username, email, password, roles, Work::Anonymous)
            .await?;
        let core = &self.core;
        let now = core.clock().ms();
        let lifespan = core.settings().unconfirmed_lifespan_ms();
        let display = new.username.clone();
        let registered = core
            .bounded(
                self.users
                    .register(new.pending_since(now), now.saturating_sub(lifespan)),
            )
            .await?;
        match registered {
            Registered::Created(user) => {
                // Only a store that reuses the id of a deleted user could have it cached.
                self.forget_user(&user.id());
                let token = self.issue_registration_token(&user)?;
                Ok(Registration::Created { user, token })
            }
            Registered::AddressTaken(owner) => Ok(Registration::AddressTaken {
                owner,
                username: display,
            }),
        }
    }

    /// Creates an active, confirmed user directly: the short path when no confirmation
    /// mail is wanted (an administrator, a seed, an internal tool, a tutorial's
    /// `/register`). The same checks as [`register`](Self::register): the
    /// [identity rules](crate::identity) for the name and address (400), the password
    /// policy (400 [`ErrorKind::WeakPassword`]); the password is hashed (argon2id) as
    /// known work. A taken username or address is [`ErrorKind::UserExists`] (409): unlike
    /// [`register`](Self::register), the answer tells, so do not expose it to anonymous
    /// clients where addresses must not be enumerable.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, ErrorKind, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// let root = auth.create_user("root", None, "a long admin passphrase", &["admin"]).await?;
    /// assert!(root.active);
    /// auth.authenticate("ROOT", "a long admin passphrase").await?;
    /// let err = auth.create_user("Root", None, "whatever it is", &[]).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::UserExists);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn create_user(
        &self,
        username: &str,
        email: Option<&str>,
        password: &str,
        roles: &[&str],
    ) -> Result<U> {
        let new = self
            .new_user(username, email, password, roles, Work::Known)
            .await?;
        let user = self.core.bounded(self.users.create(new)).await?;
        self.forget_user(&user.id());
        Ok(user)
    }

    /// A checked, hashed [`NewUser`] (active; registration makes it pending).
    async fn new_user(
        &self,
        username: &str,
        email: Option<&str>,
        password: &str,
        roles: &[&str],
        work: Work,
    ) -> Result<NewUser> {
        let name = normalize_username(username, &self.username_policy)?;
        let address = email.map(normalize_email).transpose()?;
        let hasher = self.core.hasher();
        hasher.check_new_password(password)?;
        let hash = hasher.hash_for(password, work).await?;
        let mut new = NewUser::new(name.display(), hash).with_roles(roles.iter().copied());
        name.key().clone_into(&mut new.username_key);
        if let Some(address) = address {
            new = new.with_email(address.address());
            new.email_key = Some(address.key().to_owned());
        }
        Ok(new)
    }

    /// Upserts users brought from another system, by id, with the hashes it stored
    /// (argon2 PHC; with feature `legacy` also passlib's and werkzeug's formats). Every
    /// hash is checked first, without hashing: one of an unknown format, malformed or
    /// above the cost caps stops the import before any write, with an
    /// [`ErrorKind::InvalidRequest`] naming the entry (its position, id and username) and
    /// the format. A legacy hash is replaced by argon2id at the user's next successful
    /// login. Returns the users as stored.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, ImportedUser, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// let hash = auth.hasher().hash("correct horse battery staple").await?;
    /// let users: Vec<ImportedUser> = serde_json::from_value(serde_json::json!([
    ///     {"id": 41, "username": "ada", "email": "ada@example.com",
    ///      "password_hash": hash, "roles": ["admin"], "active": true}
    /// ])).unwrap();
    /// auth.import_users(users).await?;
    /// assert!(auth.identify("41").await?.is_some());
    /// auth.login("ada", "correct horse battery staple").await?;
    ///
    /// let bad: Vec<ImportedUser> = serde_json::from_value(serde_json::json!([
    ///     {"id": 42, "username": "bob", "password_hash": "$6$rounds=5000$salt$hash"}
    /// ])).unwrap();
    /// let err = auth.import_users(bad).await.unwrap_err();
    /// assert!(err.message().contains("entry 1 (id 42, username bob)"), "{}", err.message());
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn import_users(&self, users: Vec<ImportedUser>) -> Result<Vec<U>> {
        let name = |n: usize, u: &ImportedUser| {
            format!("entry {} (id {}, username {})", n + 1, u.id, u.username)
        };
        for (n, user) in users.iter().enumerate() {
            self.core
                .hasher()
                .check_stored_hash(&user.password_hash)
                .map_err(|e| {
                    Error::new(ErrorKind::InvalidRequest).with_message(format!(
                        "{}: {}",
                        name(n, user),
                        e.message()
                    ))
                })?;
        }
        let mut stored = Vec::with_capacity(users.len());
        for (n, user) in users.into_iter().enumerate() {
            let what = name(n, &user);
            let id = user.id.clone();
            let upserted = self.core.bounded(self.users.upsert(user)).await;
            self.forget_user(&id);
            stored.push(upserted.map_err(|e| {
                let message = format!("{what}: {}", e.message());
                Error::new(e.kind()).with_message(message)
            })?);
        }
        Ok(stored)
    }

    /// Spends a registration token and activates its user.
    ///
    /// Only an unconfirmed registration younger than the unconfirmed lifespan is
    /// activated. For any other user (already confirmed and active, or deactivated since,
    /// or an expired registration) the token is spent and nothing changes: the answer is
    /// [`ErrorKind::RevokedTokenError`] ("the registration is no longer pending"), so a
    /// confirmation link can never reactivate an account an administrator turned off.
    pub async fn confirm_registration(&self, token: &str) -> Result<U> {
        let core = &self.core;
        let claims = core.verify_claims(token, ExpectKind::Exactly(TokenKind::Registration))?;
        core.check_revoked(&claims).await?;
        let id = claims.subject();
        self.identify(id)
            .await?
            .ok_or_else(|| Error::new(ErrorKind::MissingUserError))?;
        if !core.mark_spent(&claims).await? {
            return Err(
                Error::new(ErrorKind::RevokedTokenError).with_message("the token was already used")
            );
        }
        let cutoff = core
            .clock()
            .ms()
            .saturating_sub(core.settings().unconfirmed_lifespan_ms());
        let confirmed = core.bounded(self.users.confirm(id, cutoff)).await;
        self.forget_user(id);
        if !confirmed? {
            return Err(Error::new(ErrorKind::RevokedTokenError)
                .with_message("the registration is no longer pending"));
        }
        self.identify(id)
            .await?
            .ok_or_else(|| Error::new(ErrorKind::MissingUserError))
    }

    /// Deletes the unconfirmed registrations older than the unconfirmed lifespan; returns
    /// how many. Expired registrations already free their name and address for new
    /// registrations; this removes their rows. Call it now and then (the quickstart does
    /// every ten minutes).
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// assert_eq!(auth.purge_unconfirmed_registrations().await?, 0);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn purge_unconfirmed_registrations(&self) -> Result<u64> {
        let core = &self.core;
        let cutoff = core
            .clock()
            .ms()
            .saturating_sub(core.settings().unconfirmed_lifespan_ms());
        core.bounded(self.users.purge_unconfirmed(cutoff)).await
    }

    /// Spends a reset token, sets the new password and revokes every token the user held.
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Result<U> {
        let core = &self.core;
        let claims = core.verify_claims(token, ExpectKind::Exactly(TokenKind::Reset))?;
        core.check_revoked(&claims).await?;
        core.hasher().check_new_password(new_password)?;
        let user = self
            .identify(claims.subject())
            .await?
            .ok_or_else(|| Error::new(ErrorKind::MissingUserError))?;
        // The holder of a reset token is not authenticated: anonymous work.
        let hash = core
            .hasher()
            .hash_for(new_password, Work::Anonymous)
            .await?;
        if !core.mark_spent(&claims).await? {
            return Err(
                Error::new(ErrorKind::RevokedTokenError).with_message("the token was already used")
            );
        }
        self.set_password_hash(&user.id(), &hash).await?;
        Ok(user)
    }

    /// Checks and sets a new password for `user`, then revokes every token the user held
    /// (issue a new pair afterwards if the caller should stay logged in).
    pub async fn change_password(&self, user: &U, new_password: &str) -> Result<()> {
        self.core.hasher().check_new_password(new_password)?;
        let hash = self.core.hasher().hash(new_password).await?;
        self.set_password_hash(&user.id(), &hash).await
    }

    async fn set_password_hash(&self, id: &str, hash: &str) -> Result<()> {
        let updated = self
            .core
            .bounded(self.users.update_password_hash(id, hash))
            .await;
        self.forget_user(id);
        updated?;
        self.revoke_user(id).await
    }
}
