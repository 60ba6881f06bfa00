//! [`Centurion`], the configured instance: here its core methods — issuing, refreshing,
//! verifying and revoking tokens, authenticating users, identity providers, the layer;
//! `accounts.rs` registration, confirmation, imports and passwords; `sessions.rs` listing
//! and ending sessions and logging out; `cookies.rs` the cookie session. `builder.rs`
//! configures it; `layer.rs` is the tower layer that hands it to the extractors;
//! `session.rs` holds the types of the session API.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::Map;

use crate::core::{Core, TokenEvent};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{UsernamePolicy, email_key, identity_key};
use crate::jwt::{self, Claims, Draft, ExpectKind, TokenKind};
#[cfg(feature = "oidc")]
use crate::oidc::ProviderStatus;
use crate::password::PasswordHasher;
use crate::session::{ClientInfo, Rotation, RotationOutcome, SessionRecord};
use crate::store::{BoxFuture, DynUserStore};
use crate::user::AuthUser;
use crate::user_cache::UserCache;

mod accounts;
mod builder;
mod cookies;
mod layer;
mod session;
mod sessions;

pub use self::builder::CenturionBuilder;
pub use self::layer::{CenturionLayer, CenturionService, ResponseFuture};
pub use self::session::{Authenticated, IssueTo, Session, SessionStart};

/// An access + refresh token pair, serialized (the login answer's body by default) as
/// `{"access_token", "refresh_token", "token_type": "Bearer", "expires_in"}`.
#[derive(Clone, Serialize, PartialEq, Eq)]
pub struct TokenPair {
    /// The access token.
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// Always `"Bearer"`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// The configured security instance for user type `U`; cheap to clone.
///
/// Build it once at start-up, add [`layer`](Self::layer) to the router, and take it in
/// handlers that log users in (it is itself an extractor).
///
/// ```
/// # async fn demo() -> Result<(), centurion::Error> {
/// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
///
/// let auth = Centurion::<TestUser>::builder()
///     .secret("an-example-secret-of-at-least-32-bytes!!")
///     .user_store(MemoryUserStore::new())
///     .build()?;
/// let user = TestUser::new(1, "ada", &["admin"]);
/// let pair = auth.issue_pair(&user).await?;
/// let claims = auth.verify_access(&pair.access_token).await?;
/// assert_eq!(claims.roles(), ["admin"]);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
pub struct Centurion<U> {
    core: Arc<Core>,
    users: Arc<dyn DynUserStore<U>>,
    username_policy: Arc<UsernamePolicy>,
    user_cache: Option<Arc<UserCache<U>>>,
    /// Users of identity providers' tokens, by `{issuer}#{subject}` (same settings as
    /// `user_cache`, kept apart so that no local id can name one).
    external_cache: Option<Arc<UserCache<U>>>,
    provision: Option<Provision<U>>,
}

/// The application's hook that makes a user for an identity provider's token whose user
/// the store does not know.
pub(crate) type Provision<U> =
    Arc<dyn Fn(Claims) -> BoxFuture<'static, Result<Option<U>>> + Send + Sync>;

/// Wraps an application's provisioning function.
pub(crate) fn provision<U, F, Fut>(hook: F) -> Provision<U>
where
    F: Fn(Claims) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<U>>> + Send + 'static,
{
    Arc::new(move |claims| Box::pin(hook(claims)))
}

impl<U> Clone for Centurion<U> {
    fn clone(&self) -> Self {
        Self {
            core: Arc::clone(&self.core),
            users: Arc::clone(&self.users),
            username_policy: Arc::clone(&self.username_policy),
            user_cache: self.user_cache.clone(),
            external_cache: self.external_cache.clone(),
            provision: self.provision.clone(),
        }
    }
}

/// What [`Centurion::register`] did. Answer the client the same way whichever it is
/// (the same status, the same body, built from [`username`](Self::username)), so that a
/// registration does not tell whether an address is registered; the mail differs (see
/// [`AccountMail::registration`](crate::mail::AccountMail::registration)).
pub enum Registration<U> {
    /// A new, unconfirmed user, and the token of its confirmation mail.
    Created {
        /// The user, inactive until confirmed.
        user: U,
        /// The single-use registration token to mail to the user's address.
        token: String,
    },
    /// The e-mail address is registered already: nothing was created. Its owner should
    /// get a mail saying someone tried to register with it.
    AddressTaken {
        /// The account that holds the address (possibly an unconfirmed registration).
        owner: U,
        /// The username that was asked for, in its stored form.
        username: String,
    },
}

impl<U: AuthUser> Registration<U> {
    /// The username that was asked for, in the form it is (or would have been) stored:
    /// the same for both outcomes, for the answer to the client.
    pub fn username(&self) -> &str {
        match self {
            Self::Created { user, .. } => user.username(),
            Self::AddressTaken { username, .. } => username,
        }
    }

    /// The new user and its registration token, if one was created.
    pub fn created(self) -> Option<(U, String)> {
        match self {
            Self::Created { user, token } => Some((user, token)),
            Self::AddressTaken { .. } => None,
        }
    }
}

impl<U: AuthUser> fmt::Debug for Registration<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Created { user, .. } => f
                .debug_struct("Created")
                .field("user_id", &user.id())
                .field("token", &"<redacted>")
                .finish(),
            Self::AddressTaken { owner, username } => f
                .debug_struct("AddressTaken")
                .field("owner_id", &owner.id())
                .field("username", username)
                .finish(),
        }
    }
}

impl<U> fmt::Debug for Centurion<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Centurion")
            .field("settings", self.core.settings())
            .finish_non_exhaustive()
    }
}

impl<U> Centurion<U> {
    /// The shared state, for the modules that work on an instance's behalf
    /// ([`dangerous`](crate::dangerous)).
    pub(crate) fn core(&self) -> &Arc<Core> {
        &self.core
    }
}

impl<U: AuthUser> Centurion<U> {
    /// Starts configuring an instance.
    pub fn builder() -> CenturionBuilder<U> {
        CenturionBuilder::new()
    }

    /// The password hasher (for registration and password changes).
    pub fn hasher(&self) -> &PasswordHasher {
        self.core.hasher()
    }

    /// The user store's answer for `id`, bounded by the store timeout. Always asks the
    /// store (the user cache serves only [`CurrentUser`](crate::CurrentUser)).
    pub async fn identify(&self, id: &str) -> Result<Option<U>> {
        self.core.bounded(self.users.identify(id)).await
    }

    /// The user of a request: from the user cache when it is on and holds a recent copy,
    /// else from the store.
    pub(crate) async fn current_user(&self, id: &str) -> Result<Option<Arc<U>>> {
        let Some(cache) = &self.user_cache else {
            return Ok(self.identify(id).await?.map(Arc::new));
        };
        if let Some(user) = cache.get(id) {
            return Ok(Some(user));
        }
        let epoch = cache.begin_read(id);
        let user = self.identify(id).await?.map(Arc::new);
        if let Some(user) = &user {
            cache.put(id, user, epoch);
        }
        Ok(user)
    }

    /// The user of an identity provider's token, as [`CurrentUser`](crate::CurrentUser)
    /// loads it: from the user cache when it is on, else
    /// [`UserStore::identify_external`](crate::UserStore::identify_external), else the
    /// provisioning hook. The instance's own tokens go to [`Self::current_user`].
    pub(crate) async fn current_user_of(&self, claims: &Claims) -> Result<Option<Arc<U>>> {
        let Some(issuer) = claims.external_issuer() else {
            return self.current_user(claims.subject()).await;
        };
        let key = jwt::external_key(issuer, claims.subject());
        let epoch = match &self.external_cache {
            Some(cache) => {
                if let Some(user) = cache.get(&key) {
                    return Ok(Some(user));
                }
                Some(cache.begin_read(&key))
            }
            None => None,
        };
        let mut user = self.identify_external(issuer, claims.subject()).await?;
        if user.is_none()
            && let Some(provision) = &self.provision
        {
            user = self.core.bounded(provision(claims.clone())).await?;
        }
        let user = user.map(Arc::new);
        if let (Some(cache), Some(epoch), Some(user)) = (&self.external_cache, epoch, &user) {
            cache.put(&key, user, epoch);
        }
        Ok(user)
    }

    /// The user the store links to the identity provider `issuer` and its `subject`
    /// ([`UserStore::identify_external`](crate::UserStore::identify_external)), bounded by
    /// the store timeout; never cached, never provisioned.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// # use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// # let auth = Centurion::<TestUser>::builder()
    /// #     .secret("an-example-secret-of-at-least-32-bytes!!")
    /// #     .user_store(MemoryUserStore::new()).build()?;
    /// // The in-memory store links no provider's users.
    /// assert!(auth.identify_external("https://idp.example.com", "abc").await?.is_none());
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn identify_external(&self, issuer: &str, subject: &str) -> Result<Option<U>> {
        self.core
            .bounded(self.users.identify_external(issuer, subject))
            .await
    }

    /// Drops any cached copy of the user of the identity provider `issuer` and its
    /// `subject` (like [`forget_user`](Self::forget_user) for the instance's own users).
    pub fn forget_external_user(&self, issuer: &str, subject: &str) {
        if let Some(cache) = &self.external_cache {
            cache.forget(&jwt::external_key(issuer, subject));
        }
    }

    /// Revokes every token the identity provider `issuer` issued to `subject` until now,
    /// judged by their `iat`: whole seconds on the provider's clock, so the cut-off is the
    /// next second plus the provider's leeway (a provider clock ahead by up to the leeway
    /// does not let an earlier token through; tokens it issues within that margin after the
    /// call are refused too; a provider's token must carry `iat`). Recorded
    /// under `{issuer}#{subject}`, apart from the instance's own user ids, for the
    /// instance's longest token lifetime (a provider's token that would outlive that is
    /// refused at verification, so none outlives its revocation).
    ///
    /// `issuer` must be a configured provider's issuer exactly as configured (mind a
    /// trailing `/`): any other value is a [`ConfigurationError`](crate::ErrorKind::ConfigurationError)
    /// and revokes nothing, so a typo cannot look like a revocation that took effect.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// # use centurion::{Centurion, ErrorKind, IdentityProviderConfig, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .identity_provider(IdentityProviderConfig::discover(
    ///         "https://idp.example.com",
    ///         "https://api.example.com",
    ///     ))
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// auth.revoke_external_user("https://idp.example.com", "user-7").await?;
    /// // Not the configured issuer (a trailing `/`): refused, nothing revoked.
    /// let typo = auth.revoke_external_user("https://idp.example.com/", "user-7").await;
    /// assert_eq!(typo.unwrap_err().kind(), ErrorKind::ConfigurationError);
    /// # Ok(()) }
    /// # #[cfg(feature = "oidc")]
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn revoke_external_user(&self, issuer: &str, subject: &str) -> Result<()> {
        self.forget_external_user(issuer, subject);
        self.core.revoke_external_user(issuer, subject).await
    }

    /// How each configured identity provider's keys are doing: how many are held, whether
    /// they may be used, how many fetches were made and failed, when the last one
    /// succeeded. Empty without providers. For health checks and dashboards.
    ///
    /// ```
    /// # fn demo() -> Result<(), centurion::Error> {
    /// # use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// assert!(auth.identity_providers().is_empty());
    /// # Ok(()) }
    /// # demo().unwrap();
    /// ```
    #[cfg(feature = "oidc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
    pub fn identity_providers(&self) -> Vec<ProviderStatus> {
        self.core.provider_status()
    }

    /// Drops any cached copy of the user `id` (see
    /// [`CenturionBuilder::user_cache`]): call it after changing a user outside centurion,
    /// e.g. deactivating an account or changing its roles, so that this instance's next
    /// request reads the store. A no-op when the user cache is off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .user_cache(Duration::from_secs(2), 10_000)
    ///     .build()
    ///     .unwrap();
    /// auth.forget_user("42");
    /// ```
    pub fn forget_user(&self, id: &str) {
        if let Some(cache) = &self.user_cache {
            cache.forget(id);
        }
    }

    /// The user with this e-mail address (compared by [`email_key`]), if the store
    /// supports e-mail look-ups. Never send mail to the address as typed: mail the
    /// [stored address](crate::HasEmail::email) of the user found (as
    /// [`AccountMail`](crate::mail::AccountMail) does).
    pub async fn lookup_by_email(&self, email: &str) -> Result<Option<U>> {
        let key = email_key(email);
        self.core.bounded(self.users.lookup_by_email(&key)).await
    }

    /// The user with this username (compared by [`identity_key`]: `ADA` finds `ada`).
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// let ada = auth.create_user("Ada", None, "correct horse battery", &[]).await?;
    /// assert_eq!(auth.lookup_by_username("ＡＤＡ").await?.map(|u| u.id), Some(ada.id));
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn lookup_by_username(&self, username: &str) -> Result<Option<U>> {
        let key = identity_key(username);
        self.core.bounded(self.users.lookup(&key)).await
    }

    /// Checks a username and password.
    ///
    /// The username is looked up by its [`identity_key`] (`Ada`, `ADA` and `ａｄａ` are one
    /// account). An unknown username costs what a wrong password costs (a verification
    /// against a dummy hash, or, when anonymous work has taken its share of the hashing
    /// pool, a wait as long as recent verifications took; see [`crate::password`]) and gets
    /// the same [`ErrorKind::AuthenticationError`]. A password longer than the limit is
    /// refused before any hashing. A valid password of an invalid user is
    /// [`ErrorKind::InvalidUserError`]. A hash made with outdated parameters is replaced
    /// through the user store (a failure there is logged, not fatal).
    ///
    /// The answer remembers when the check began: a session issued to it
    /// ([`issue_pair`](Self::issue_pair)) is refused if the user's tokens were revoked
    /// (password change, reset, [`revoke_user`](Self::revoke_user)) while the check ran.
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<Authenticated<U>> {
        let core = &self.core;
        // Before any store call: a revocation that lands from here on catches this login.
        let stamp_ms = core.stamp_now();
        let hasher = core.hasher();
        if hasher.is_too_long(password) {
            return Err(Error::new(ErrorKind::AuthenticationError));
        }
        let key = identity_key(username);
        let Some(user) = core.bounded(self.users.lookup(&key)).await? else {
            hasher.verify_dummy(password).await?;
            return Err(Error::new(ErrorKind::AuthenticationError));
        };
        if !hasher.verify(password, user.password_hash()).await? {
            return Err(Error::new(ErrorKind::AuthenticationError));
        }
        if !user.is_valid() {
            return Err(Error::new(ErrorKind::InvalidUserError));
        }
        if hasher.needs_rehash(user.password_hash()) {
            match hasher.hash(password).await {
                Ok(hash) => {
                    let id = user.id();
                    let updated = core
                        .bounded(self.users.update_password_hash(&id, &hash))
                        .await;
                    self.forget_user(&id);
                    match updated {
                        Ok(()) => {
                            tracing::info!(user.id = %id, "upgraded an outdated password hash")
                        }
                        Err(e) => {
                            tracing::warn!(user.id = %id, error = %e, "could not upgrade a password hash")
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not rehash a password"),
            }
        }
        Ok(Authenticated { user, stamp_ms })
    }

    /// [`authenticate`](Self::authenticate) and [`issue_pair`](Self::issue_pair) in one.
    pub async fn login(&self, username: &str, password: &str) -> Result<TokenPair> {
        self.login_from(username, password, &ClientInfo::default())
            .await
    }

    /// [`login`](Self::login) from a known client (its user agent and address are kept
    /// with the session; see [`ClientInfo`]).
    pub async fn login_from(
        &self,
        username: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        let user = self.authenticate(username, password).await?;
        self.start_session(&user, SessionStart::new().client(client.clone()))
            .await
    }

    /// Starts a session for `user` (a user, or the answer of
    /// [`authenticate`](Self::authenticate)): a fresh access token and a refresh token of a
    /// new family.
    pub async fn issue_pair(&self, user: &impl IssueTo<U>) -> Result<TokenPair> {
        self.start_session(user, SessionStart::new()).await
    }

    /// Like [`issue_pair`](Self::issue_pair), with custom claims in the access token.
    /// A custom claim that reuses a reserved name is [`ErrorKind::ClaimCollisionError`].
    pub async fn issue_pair_with<C: Serialize + ?Sized>(
        &self,
        user: &impl IssueTo<U>,
        custom: &C,
    ) -> Result<TokenPair> {
        self.start_session(user, SessionStart::new().custom(custom)?)
            .await
    }

    /// Like [`issue_pair`](Self::issue_pair), for a known client.
    pub async fn issue_pair_from(
        &self,
        user: &impl IssueTo<U>,
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        self.start_session(user, SessionStart::new().client(client.clone()))
            .await
    }

    /// Starts a session: stores its record (within the session limits: the user's oldest
    /// session ends beyond the per-user limit, and a full store answers
    /// [`ErrorKind::Overloaded`]), then issues a fresh access token and a refresh token of
    /// generation 0. Every token is stamped with the moment the flow began (the login's,
    /// for an [`Authenticated`] user).
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, ClientInfo, SessionStart, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// let ada = TestUser::new(1, "ada", &[]);
    /// let start = SessionStart::new().client(ClientInfo::new(Some("Firefox"), None)).label("laptop");
    /// let pair = auth.start_session(&ada, start).await?;
    /// let claims = auth.verify_access(&pair.access_token).await?;
    /// let sessions = auth.sessions(&claims).await?;
    /// assert_eq!(sessions.len(), 1);
    /// assert!(sessions[0].current);
    /// assert_eq!(sessions[0].label.as_deref(), Some("laptop"));
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn start_session(
        &self,
        user: &impl IssueTo<U>,
        start: SessionStart,
    ) -> Result<TokenPair> {
        let core = &self.core;
        let stamp = user.stamp_ms().unwrap_or_else(|| core.stamp_now());
        let user = user.user();
        // A random family, or the one an exchanged Flask token names.
        let family = match &start.family {
            Some(family) => family.clone(),
            None => jwt::random_id()?,
        };
        let refresh = core
            .draft_stamped(
                user.id(),
                TokenKind::Refresh,
                core.settings().refresh_lifespan(),
                stamp,
            )?
            .expire_by(start.ends_by.unwrap_or(u64::MAX))
            .family(family.clone())
            .generation(0)
            .custom(start.custom.clone());
        // The session ends when its first refresh token does, and never later.
        let expires_at = refresh.expires_at();
        let fresh = !start.by_refresh;
        let access = self.access_draft(user, &family, expires_at, fresh, start.custom, stamp)?;
        let now_ms = core.clock().ms();
        let record = SessionRecord {
            id: jwt::random_id()?,
            family: family.clone(),
            subject: user.id(),
            created_at_ms: now_ms,
            stamp_ms: stamp,
            last_used_at_ms: now_ms,
            expires_at,
            live_until: self.live_until(expires_at),
            generation: 0,
            rotated_at_ms: now_ms,
            successor: None,
            login: start.client.clone(),
            last: start.client,
            label: start.label,
        };
        core.create_session(&record).await?;
        core.emit(TokenEvent::SessionStarted {
            subject: record.subject,
            session: record.id,
            family: family.clone(),
        });
        self.sign_pair(access, refresh, &family).await
    }

    /// Until when a session used now lives: its end, or sooner by the idle timeout, plus
    /// the leeway its tokens are accepted with.
    fn live_until(&self, expires_at: u64) -> u64 {
        let settings = self.core.settings();
        let end = match settings.session_idle_timeout() {
            Some(idle) => expires_at.min(self.core.clock().secs().saturating_add(idle)),
            None => expires_at,
        };
        end.saturating_add(settings.leeway())
    }

    /// The access token of a pair: the user's current roles, the session's family, never
    /// past the session's end.
    fn access_draft(
        &self,
        user: &U,
        family: &str,
        expires_by: u64,
        fresh: bool,
        custom: Map<String, serde_json::Value>,
        stamp: u64,
    ) -> Result<Draft> {
        let core = &self.core;
        Ok(core
            .draft_stamped(
                user.id(),
                TokenKind::Access,
                core.settings().access_lifespan(),
                stamp,
            )?
            .fresh(fresh)
            .roles(user.roles().into_iter().map(str::to_owned).collect())
            .family(family.to_owned())
            .expire_by(expires_by)
            .custom(custom))
    }

    /// Signs a pair, then asks the revocation store once more: a revocation that landed
    /// while the flow ran has already doomed the pair (its stamp is older), and the client
    /// hears it now instead of at its next request. The session is ended then.
    async fn sign_pair(&self, access: Draft, refresh: Draft, family: &str) -> Result<TokenPair> {
        let core = &self.core;
        let expires_in = access.lifetime();
        let (access_token, claims) = core.issue_with_claims(access)?;
        let refresh_token = core.issue(refresh)?;
        if let Err(e) = core.check_revoked(&claims).await {
            if e.kind() == ErrorKind::RevokedTokenError {
                core.revoke_family(family).await?;
            }
            return Err(e);
        }
        Ok(TokenPair {
            access_token,
            refresh_token,
            token_type: "Bearer",
            expires_in,
        })
    }

    /// Spends a refresh token for a new pair of the same session.
    ///
    /// The new access token is not fresh; the new refresh token expires with the session.
    /// The user is re-loaded: a deleted user is [`ErrorKind::MissingUserError`], an invalid
    /// one [`ErrorKind::InvalidUserError`], and the new access token carries the user's
    /// current roles.
    ///
    /// A refresh token presented again within the refresh grace window (default 5 s,
    /// [`CenturionBuilder::refresh_grace`]) of its first use gets the same pair back (two
    /// tabs refreshing at once; a client that lost the answer). Outside the window, or from
    /// a client with another user agent, it ends the whole session and answers
    /// [`ErrorKind::RefreshReuseError`]. A token of an ended session is
    /// [`ErrorKind::RevokedTokenError`].
    ///
    /// With [legacy tokens](CenturionBuilder::legacy_tokens) on, it also takes a
    /// flask-praetorian token whose `rf_exp` has not passed (even when its `exp` has) or a
    /// flask-jwt-extended refresh token, once: the answer is the pair of a new session that
    /// ends no later than the legacy token's refresh deadline, the legacy token is spent
    /// (and refused as an access token from then on), and presenting it again ends that
    /// session with [`ErrorKind::RefreshReuseError`] (no grace window).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        self.refresh_from(refresh_token, &ClientInfo::default())
            .await
    }

    /// [`refresh`](Self::refresh) from a known client: its user agent is compared inside
    /// the grace window, and both are kept as the session's last client.
    pub async fn refresh_from(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        #[cfg(feature = "legacy")]
        if jwt::looks_legacy(refresh_token, self.core.settings()) {
            return self.exchange_legacy(refresh_token, client).await;
        }
        let started = self.core.stamp_now();
        let claims = self
            .core
            .verify_claims(refresh_token, ExpectKind::Exactly(TokenKind::Refresh))?;
        self.rotate(&claims, client, started).await
    }

    /// The rotation of [`refresh`](Self::refresh), for the verified claims of a refresh
    /// token (the cookie flow checks CSRF between verification and rotation); `started` is
    /// the flow's stamp, read before anything else.
    pub(crate) async fn rotate(
        &self,
        claims: &Claims,
        client: &ClientInfo,
        started: u64,
    ) -> Result<TokenPair> {
        let core = &self.core;
        let Some(family) = claims.family() else {
            return Err(Error::new(ErrorKind::InvalidTokenError)
                .with_message("the refresh token has no family"));
        };
        core.check_revoked(claims).await?;
        let user = self.load_valid(claims.subject()).await?;
        let presented = claims.generation().unwrap_or(0);
        let custom = claims.custom_map().clone();
        let refresh = core
            .draft_stamped(user.id(), TokenKind::Refresh, 0, started)?
            .family(family.to_owned())
            .generation(presented.saturating_add(1))
            .expire_at(claims.expires_at())
            .custom(custom.clone());
        let access =
            self.access_draft(&user, family, claims.expires_at(), false, custom, started)?;
        let successor = jwt::pair_to_json(&access, &refresh)?;
        let rotation = Rotation {
            family,
            subject: claims.subject(),
            presented,
            now_ms: core.clock().ms(),
            grace_ms: core.settings().refresh_grace_ms(),
            live_until: self.live_until(claims.expires_at()),
            successor: &successor,
            client,
        };
        match core.rotate_session(&rotation).await? {
            RotationOutcome::Rotated => {
                core.emit(TokenEvent::Refreshed {
                    subject: claims.subject().to_owned(),
                    family: family.to_owned(),
                    spent_jti: claims.jti().to_owned(),
                });
                self.sign_pair(access, refresh, family).await
            }
            RotationOutcome::Replayed(successor) => {
                let (access, refresh) = jwt::pair_from_json(&successor)?;
                tracing::info!(user.id = %claims.subject(), family = %family, "a refresh token was presented again within the grace window");
                core.emit(TokenEvent::RefreshReplayed {
                    subject: claims.subject().to_owned(),
                    family: family.to_owned(),
                });
                self.sign_pair(access, refresh, family).await
            }
            RotationOutcome::Reused => {
                core.reuse_detected(claims, family);
                Err(Error::new(ErrorKind::RefreshReuseError))
            }
            RotationOutcome::Ended => Err(Error::new(ErrorKind::RevokedTokenError)),
        }
    }

    /// The one-time exchange of a Flask token at refresh (see [`refresh`](Self::refresh)).
    #[cfg(feature = "legacy")]
    async fn exchange_legacy(&self, token: &str, client: &ClientInfo) -> Result<TokenPair> {
        let core = &self.core;
        let claims = core.verify_claims(token, ExpectKind::LegacyExchange)?;
        // The session this exchange starts is named by the legacy jti, so a second
        // presentation ends exactly it, as reuse of one of our refresh tokens does.
        let family = jwt::exchange_family(claims.jti());
        if !core.mark_spent(&claims).await? {
            core.revoke_family(&family).await?;
            core.reuse_detected(&claims, &family);
            return Err(Error::new(ErrorKind::RefreshReuseError));
        }
        core.check_revoked(&claims).await?;
        let user = self.load_valid(claims.subject()).await?;
        // A praetorian token is its own access token: refused from now on.
        core.revoke_token(&claims).await?;
        let start = SessionStart::new()
            .client(client.clone())
            .exchanged(family, claims.expires_at());
        self.start_session(&user, start).await
    }

    async fn load_valid(&self, id: &str) -> Result<U> {
        let user = self
            .identify(id)
            .await?
            .ok_or_else(|| Error::new(ErrorKind::MissingUserError))?;
        if !user.is_valid() {
            return Err(Error::new(ErrorKind::InvalidUserError));
        }
        Ok(user)
    }

    /// Verifies an access (or service) token completely, revocation included.
    pub async fn verify_access(&self, token: &str) -> Result<Claims> {
        self.core.verify_request_token(token).await
    }

    /// Issues a long-lived service token (praetorian's "eternal" token) for machine
    /// clients: accepted wherever an access token is, never fresh, not refreshable, and
    /// revocable like any token. `lifespan` defaults to the configured service lifespan,
    /// and may not exceed it ([`ErrorKind::ConfigurationError`]): a per-user revocation is
    /// remembered for the longest lifespan the instance can issue, so it must be known.
    ///
    /// ```
    /// # fn demo() -> Result<(), centurion::Error> {
    /// use std::time::Duration;
    /// use centurion::{Centurion, ErrorKind, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .service_lifespan(Duration::from_secs(86_400))
    ///     .build()?;
    /// let robot = TestUser::new(9, "robot", &[]);
    /// assert!(auth.issue_service_token(&robot, Some(Duration::from_secs(3_600))).is_ok());
    /// let err = auth.issue_service_token(&robot, Some(Duration::from_secs(86_401))).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::ConfigurationError);
    /// # Ok(()) }
    /// # demo().unwrap();
    /// ```
    pub fn issue_service_token(&self, user: &U, lifespan: Option<Duration>) -> Result<String> {
        let core = &self.core;
        let longest = core.settings().service_lifespan();
        let secs = lifespan.map_or(longest, |d| d.as_secs().max(1));
        if secs > longest {
            return Err(Error::config(format!(
                "a service token cannot live longer than service_lifespan ({}); raise \
                 service_lifespan to issue longer ones",
                humantime::format_duration(Duration::from_secs(longest))
            )));
        }
        let draft = core
            .draft(user.id(), TokenKind::Service, secs)?
            .fresh(false)
            .roles(user.roles().into_iter().map(str::to_owned).collect());
        core.issue(draft)
    }

    /// Issues a single-use registration-confirmation token for `user`.
    pub fn issue_registration_token(&self, user: &U) -> Result<String> {
        let core = &self.core;
        core.issue(core.draft(
            user.id(),
            TokenKind::Registration,
            core.settings().registration_lifespan(),
        )?)
    }

    /// Issues a single-use password-reset token for `user`.
    pub fn issue_reset_token(&self, user: &U) -> Result<String> {
        let core = &self.core;
        core.issue(core.draft(
            user.id(),
            TokenKind::Reset,
            core.settings().reset_lifespan(),
        )?)
    }

    /// Revokes one token until it expires.
    pub async fn revoke_token(&self, claims: &Claims) -> Result<()> {
        self.core.revoke_token(claims).await
    }

    /// Ends the session of a family: every access and refresh token of that login is
    /// refused from now on.
    pub async fn revoke_family(&self, family: &str) -> Result<()> {
        self.core.revoke_family(family).await.map(drop)
    }

    /// Revokes every token of user `id` and ends the user's sessions (a per-user "not
    /// before").
    ///
    /// Refused from then on: every token issued before the call returns, also in the same
    /// millisecond, and every token a login or refresh that was already in flight issues
    /// (they are stamped with the moment their flow began). Tokens of flows this instance
    /// begins after the call returns are accepted. Across instances the not-before is read
    /// from this instance's clock and the stamps from the issuing instance's: a flow on an
    /// instance whose clock runs ahead by `d` survives if it began less than `d` before
    /// the revocation, so keep the clocks of a fleet synchronised (NTP: milliseconds).
    pub async fn revoke_user(&self, id: &str) -> Result<()> {
        // Whatever made the application cut the user off may have changed the user too.
        self.forget_user(id);
        self.core.revoke_user(id).await
    }

    /// An `Authorization: Bearer …` header with a fresh access token for `user`, for
    /// application tests (praetorian's `pack_header_for_user`).
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// # use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// # let auth = Centurion::<TestUser>::builder()
    /// #     .secret("an-example-secret-of-at-least-32-bytes!!")
    /// #     .user_store(MemoryUserStore::new()).build()?;
    /// let (name, value) = auth.pack_header_for_user(&TestUser::new(1, "ada", &[])).await?;
    /// let request = http::Request::get("/api/me").header(name, value).body(()).unwrap();
    /// assert!(request.headers()["authorization"].to_str().unwrap().starts_with("Bearer "));
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn pack_header_for_user(&self, user: &U) -> Result<(HeaderName, HeaderValue)> {
        let pair = self.issue_pair(user).await?;
        let value = HeaderValue::try_from(format!("Bearer {}", pair.access_token))
            .map_err(|_| Error::new(ErrorKind::InternalError))?;
        Ok((http::header::AUTHORIZATION, value))
    }

    /// The JWKS document of the public verification keys (empty `keys` for HMAC).
    pub fn jwks(&self) -> serde_json::Value {
        self.core.jwks()
    }

    /// The security schemes this instance accepts, for an OpenAPI document: `bearerAuth`
    /// when tokens are read from the `Authorization` header, `sessionCookie` and
    /// `csrfToken` with the session cookies, one OpenID Connect scheme per identity
    /// provider (`oidc`, `oidc_2`, …). Applied to a utoipa document with
    /// `utoipa::Modify`, or to an aide one with `openapi::aide::secure`, it declares them
    /// and turns each `#[secured]` operation's `x-centurion` extension into its `security`
    /// (see [`crate::openapi`]).
    ///
    /// ```
    /// # fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// let schemes = auth.openapi().config().schemes();
    /// assert_eq!(schemes.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(), ["bearerAuth"]);
    /// # Ok(()) }
    /// # demo().unwrap();
    /// ```
    #[cfg(feature = "openapi")]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "utoipa", feature = "aide"))))]
    pub fn openapi(&self) -> crate::docs::SecurityDocs {
        #[allow(unused_mut)]
        let mut config = self.core.transport().docs();
        #[cfg(feature = "oidc")]
        for provider in self.core.provider_status() {
            config = config.with_provider(&provider.issuer);
        }
        crate::docs::SecurityDocs::new(config)
    }

    /// The layer to add to the router: it hands the instance to the extractors and applies
    /// the [error responder](CenturionBuilder::error_responder).
    ///
    /// ```
    /// # fn demo() -> Result<(), centurion::Error> {
    /// use axum::{Router, routing::get};
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// let app: Router = Router::new().route("/", get(|| async { "hi" })).layer(auth.layer());
    /// # Ok(()) }
    /// # demo().unwrap();
    /// ```
    pub fn layer(&self) -> CenturionLayer<U> {
        CenturionLayer::new(self.clone())
    }
}
