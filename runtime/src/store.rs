//! The traits for what applications plug in: where users live and where revocations and
//! sessions live.
//!
//! Both are small async traits. Implement them with `async fn`; centurion keeps them
//! behind a trait object internally, so applications never name a store type in a
//! handler. A store that cannot answer returns [`Error::store`](crate::Error::store):
//! centurion then refuses the request with 503 (it fails closed, never open).

use std::future::Future;
use std::pin::Pin;

use crate::error::{Error, ErrorKind, Result};
use crate::session::{Rotation, RotationOutcome, SessionLimits, SessionRecord};
use crate::user::AuthUser;

/// A new user, as registration hands it to [`UserStore::create`] and
/// [`UserStore::register`].
///
/// Build it with [`NewUser::new`], which computes the keys the store compares and keeps
/// unique ([`identity_key`] of the username, [`email_key`] of the address), so that every
/// store uses the same normal form. Stores compare and index `username_key` and
/// `email_key`, and keep `username` and `email` as given (for display and for sending
/// mail).
///
/// ```
/// use centurion::NewUser;
/// let user = NewUser::new("Ada", "$argon2id$…")
///     .with_email("Ada@Example.ORG")
///     .with_roles(["admin"]);
/// assert_eq!(user.username_key, "ada");
/// assert_eq!(user.email_key.as_deref(), Some("ada@example.org"));
/// assert!(user.active && user.pending_since_ms.is_none());
/// let pending = user.pending_since(1_700_000_000_000);
/// assert!(!pending.active);
/// ```
///
/// [`identity_key`]: crate::identity::identity_key
/// [`email_key`]: crate::identity::email_key
#[derive(Clone)]
#[non_exhaustive]
pub struct NewUser {
    /// Login name as stored and shown; stores keep it unique.
    pub username: String,
    /// [`identity_key`](crate::identity::identity_key) of the username: what look-ups
    /// compare; stores keep it unique.
    pub username_key: String,
    /// E-mail address as stored: where mail goes.
    pub email: Option<String>,
    /// [`email_key`](crate::identity::email_key) of the address: what look-ups compare;
    /// stores keep it unique when present.
    pub email_key: Option<String>,
    /// PHC string of the password hash (never the password).
    pub password_hash: String,
    /// Initial role names.
    pub roles: Vec<String>,
    /// Whether the account starts active (registration with confirmation starts inactive).
    pub active: bool,
    /// `Some(ms)`: an unconfirmed registration made at that instant (milliseconds since the
    /// Unix epoch, on the instance's clock). It can be confirmed, and once older than the
    /// unconfirmed lifespan it frees its username and address. `None`: an ordinary user.
    pub pending_since_ms: Option<u64>,
}

impl NewUser {
    /// An active user without e-mail address or roles; the username key is computed.
    pub fn new(username: impl Into<String>, password_hash: impl Into<String>) -> Self {
        let username = username.into();
        Self {
            username_key: crate::identity::identity_key(&username),
            username,
            email: None,
            email_key: None,
            password_hash: password_hash.into(),
            roles: Vec::new(),
            active: true,
            pending_since_ms: None,
        }
    }

    /// Sets the e-mail address and its key.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        let email = email.into();
        self.email_key = Some(crate::identity::email_key(&email));
        self.email = Some(email);
        self
    }

    /// Sets the role names.
    pub fn with_roles<R: Into<String>>(mut self, roles: impl IntoIterator<Item = R>) -> Self {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Sets whether the user starts active.
    pub fn with_active(mut self, active: bool) -> Self {
        self.active = active;
        self
    }

    /// Makes it an unconfirmed registration made at `ms` (inactive until confirmed).
    pub fn pending_since(mut self, ms: u64) -> Self {
        self.active = false;
        self.pending_since_ms = Some(ms);
        self
    }
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("username_key", &self.username_key)
            .field("email", &self.email)
            .field("password_hash", &"<redacted>")
            .field("roles", &self.roles)
            .field("active", &self.active)
            .field("pending_since_ms", &self.pending_since_ms)
            .finish_non_exhaustive()
    }
}

/// A user brought from another system with its id and stored password hash, as
/// [`UserStore::upsert`] and [`Centurion::import_users`](crate::Centurion::import_users)
/// take it (e.g. the users of a Flask app, see `docs/MIGRATING-FROM-FLASK.md`).
///
/// Like [`NewUser`], it carries the keys stores compare and keep unique
/// ([`identity_key`](crate::identity::identity_key) of the username,
/// [`email_key`](crate::identity::email_key) of the address), computed by
/// [`ImportedUser::new`] and [`with_email`](Self::with_email), and by deserialization
/// (which takes `id`, `username`, `email`, `password_hash`, `roles` and `active`, never
/// the keys).
///
/// ```
/// use centurion::ImportedUser;
/// let user = ImportedUser::new("42", "Ada", "$pbkdf2-sha512$25000$c2FsdA$aGFzaA")
///     .with_email("Ada@Example.ORG")
///     .with_roles(["admin"]);
/// assert_eq!(user.username_key, "ada");
/// assert_eq!(user.email_key.as_deref(), Some("ada@example.org"));
/// let read: ImportedUser = serde_json::from_value(serde_json::json!(
///     {"id": 42, "username": "Ada", "email": "Ada@Example.ORG", "password_hash": "$2b$12$…"}
/// )).unwrap();
/// assert_eq!((read.id.as_str(), read.username_key.as_str()), ("42", "ada"));
/// assert_eq!(read.email_key.as_deref(), Some("ada@example.org"));
/// assert!(read.active);
/// ```
#[derive(Clone, serde::Deserialize)]
#[serde(from = "ImportedRow")]
#[non_exhaustive]
pub struct ImportedUser {
    /// The user's id in the other system, kept so that its tokens name the same user
    /// (the SQL and memory stores take positive integers for integer ids, any non-empty
    /// string for `uuid::Uuid` and `String` ids, see [`IdKind`](crate::IdKind)).
    pub id: String,
    /// Login name as stored and shown; unique.
    pub username: String,
    /// [`identity_key`](crate::identity::identity_key) of the username: what look-ups
    /// compare; stores keep it unique.
    pub username_key: String,
    /// E-mail address as stored: where mail goes.
    pub email: Option<String>,
    /// [`email_key`](crate::identity::email_key) of the address; unique when present.
    pub email_key: Option<String>,
    /// The stored hash as the other system wrote it: argon2 PHC, or (feature `legacy`) a
    /// passlib or werkzeug hash, replaced by argon2id at the user's next login.
    pub password_hash: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Whether the account is active. Default `true`.
    pub active: bool,
}

impl ImportedUser {
    /// An active user without e-mail address or roles; the username key is computed.
    pub fn new(
        id: impl Into<String>,
        username: impl Into<String>,
        password_hash: impl Into<String>,
    ) -> Self {
        let username = username.into();
        Self {
            id: id.into(),
            username_key: crate::identity::identity_key(&username),
            username,
            email: None,
            email_key: None,
            password_hash: password_hash.into(),
            roles: Vec::new(),
            active: true,
        }
    }

    /// Sets the e-mail address and its key.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        let email = email.into();
        self.email_key = Some(crate::identity::email_key(&email));
        self.email = Some(email);
        self
    }

    /// Sets the role names.
    pub fn with_roles<R: Into<String>>(mut self, roles: impl IntoIterator<Item = R>) -> Self {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Sets whether the account is active.
    pub fn with_active(mut self, active: bool) -> Self {
        self.active = active;
        self
    }
}

/// An imported user as written in JSON (`CENTURION_IMPORT_USERS`): no keys, which are
/// computed from it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportedRow {
    #[serde(deserialize_with = "id_string")]
    id: String,
    username: String,
    #[serde(default)]
    email: Option<String>,
    password_hash: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default = "active_by_default")]
    active: bool,
}

impl From<ImportedRow> for ImportedUser {
    fn from(row: ImportedRow) -> Self {
        let user = ImportedUser::new(row.id, row.username, row.password_hash)
            .with_roles(row.roles)
            .with_active(row.active);
        match row.email {
            Some(email) => user.with_email(email),
            None => user,
        }
    }
}

fn active_by_default() -> bool {
    true
}

/// An id written as a JSON string or integer.
fn id_string<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    use serde::Deserialize;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Int(i64),
        Text(String),
    }
    Ok(match Id::deserialize(d)? {
        Id::Int(n) => n.to_string(),
        Id::Text(s) => s,
    })
}

impl std::fmt::Debug for ImportedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("username_key", &self.username_key)
            .field("email", &self.email)
            .field("password_hash", &"<redacted>")
            .field("roles", &self.roles)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// What [`UserStore::register`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered<U> {
    /// The user was created.
    Created(U),
    /// Nothing was created: the e-mail address belongs to this user (who may itself be an
    /// unconfirmed registration that has not expired).
    AddressTaken(U),
}

/// A random (version 4) UUID in its hyphenated lower-case form: the id a shipped store
/// gives a new user of [`IdKind::Uuid`](crate::IdKind::Uuid) ids.
pub(crate) fn random_uuid() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| {
        Error::new(ErrorKind::InternalError).with_message("the system random source failed")
    })?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

fn unsupported(what: &'static str) -> Error {
    Error::new(ErrorKind::InternalError).with_message(what)
}

/// Where users live.
///
/// Only [`lookup`](Self::lookup), [`identify`](Self::identify) and
/// [`update_password_hash`](Self::update_password_hash) are required; registration and
/// the e-mail flows also need [`create`](Self::create), [`confirm`](Self::confirm),
/// [`activate`](Self::activate) and [`lookup_by_email`](Self::lookup_by_email), whose
/// defaults answer "unsupported".
///
/// **Keys, not names.** Centurion computes the normal form of names and addresses
/// ([`crate::identity`]) and hands the store the *key*: [`lookup`](Self::lookup) receives
/// [`identity_key`](crate::identity::identity_key) of the name a client typed, and
/// [`lookup_by_email`](Self::lookup_by_email) receives
/// [`email_key`](crate::identity::email_key) of the address. A store compares them
/// byte for byte with the keys it was given in [`NewUser`] (its own users' names keyed
/// with the same functions), and keeps them unique, so it cannot normalise differently
/// from the throttle or from another store. (Before 0.1 the store received the raw name.)
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use centurion::{AuthUser, UserStore, Result, identity::identity_key};
///
/// #[derive(Clone)]
/// struct Account { id: u32, name: String, hash: String }
/// impl AuthUser for Account {
///     fn id(&self) -> String { self.id.to_string() }
///     fn username(&self) -> &str { &self.name }
///     fn password_hash(&self) -> &str { &self.hash }
///     fn roles(&self) -> Vec<&str> { Vec::new() }
/// }
///
/// struct Accounts(Mutex<HashMap<u32, Account>>);
///
/// impl UserStore<Account> for Accounts {
///     async fn lookup(&self, username_key: &str) -> Result<Option<Account>> {
///         let accounts = self.0.lock().unwrap();
///         Ok(accounts.values().find(|a| identity_key(&a.name) == username_key).cloned())
///     }
///     async fn identify(&self, id: &str) -> Result<Option<Account>> {
///         let Ok(id) = id.parse::<u32>() else { return Ok(None) };
///         Ok(self.0.lock().unwrap().get(&id).cloned())
///     }
///     async fn update_password_hash(&self, id: &str, hash: &str) -> Result<()> {
///         if let Some(a) = id.parse().ok().and_then(|id| self.0.lock().unwrap().get_mut(&id).map(|a| a.hash = hash.to_owned())) {}
///         Ok(())
///     }
/// }
/// ```
pub trait UserStore<U: AuthUser>: Send + Sync + 'static {
    /// The user whose username key is `username_key`
    /// ([`identity_key`](crate::identity::identity_key) of what the client typed), or
    /// `None`.
    fn lookup(&self, username_key: &str) -> impl Future<Output = Result<Option<U>>> + Send;

    /// The user whose [`AuthUser::id`] is `id`, or `None` (also for an id that cannot be
    /// parsed: it comes from a token and must not cause an error).
    fn identify(&self, id: &str) -> impl Future<Output = Result<Option<U>>> + Send;

    /// Replaces the password hash of user `id` in one atomic write.
    fn update_password_hash(&self, id: &str, hash: &str)
    -> impl Future<Output = Result<()>> + Send;

    /// Creates a user; a taken username key or e-mail key is [`ErrorKind::UserExists`].
    fn create(&self, user: NewUser) -> impl Future<Output = Result<U>> + Send {
        let _ = user;
        async { Err(unsupported("this user store cannot create users")) }
    }

    /// Registers a user (`user.pending_since_ms` is set): like [`create`](Self::create),
    /// except that
    ///
    /// - an unconfirmed registration made before `expired_before_ms` that holds the same
    ///   username key or e-mail key is deleted first, in the same transaction (expired
    ///   registrations free their name and address; the new user gets a new id);
    /// - a taken e-mail key is not an error: the answer is
    ///   [`Registered::AddressTaken`] with its owner, and nothing is created;
    /// - a taken username key is [`ErrorKind::UserExists`], whether or not the address is
    ///   taken too.
    ///
    /// The default does it with [`lookup_by_email`](Self::lookup_by_email),
    /// [`lookup`](Self::lookup) and [`create`](Self::create), without the take-over of
    /// expired registrations (they then keep their name until the application deletes
    /// them).
    fn register(
        &self,
        user: NewUser,
        expired_before_ms: u64,
    ) -> impl Future<Output = Result<Registered<U>>> + Send {
        let _ = expired_before_ms;
        async move {
            let username_key = user.username_key.clone();
            let email_key = user.email_key.clone();
            let owner = async |s: &Self| match &email_key {
                Some(key) => s.lookup_by_email(key).await,
                None => Ok(None),
            };
            if let Some(owner) = owner(self).await? {
                if self.lookup(&username_key).await?.is_some() {
                    return Err(Error::new(ErrorKind::UserExists));
                }
                return Ok(Registered::AddressTaken(owner));
            }
            match self.create(user).await {
                Ok(created) => Ok(Registered::Created(created)),
                Err(e) if e.kind() == ErrorKind::UserExists => {
                    // A concurrent registration took one of the keys.
                    if self.lookup(&username_key).await?.is_some() {
                        return Err(e);
                    }
                    match owner(self).await? {
                        Some(owner) => Ok(Registered::AddressTaken(owner)),
                        None => Err(e),
                    }
                }
                Err(e) => Err(e),
            }
        }
    }

    /// Confirms the unconfirmed registration `id` made at or after `registered_after_ms`:
    /// marks it active and no longer pending, and returns `true`. Returns `false`, changing
    /// nothing, for any other user: one already confirmed (active, or deactivated since),
    /// one created directly, an expired registration, an unknown id.
    fn confirm(
        &self,
        id: &str,
        registered_after_ms: u64,
    ) -> impl Future<Output = Result<bool>> + Send {
        let _ = (id, registered_after_ms);
        async { Err(unsupported("this user store cannot confirm registrations")) }
    }

    /// Marks user `id` active (and, if it was an unconfirmed registration, confirmed).
    fn activate(&self, id: &str) -> impl Future<Output = Result<()>> + Send {
        let _ = id;
        async { Err(unsupported("this user store cannot activate users")) }
    }

    /// Deletes unconfirmed registrations made before `expired_before_ms`; returns how many.
    /// The default deletes nothing.
    fn purge_unconfirmed(
        &self,
        expired_before_ms: u64,
    ) -> impl Future<Output = Result<u64>> + Send {
        let _ = expired_before_ms;
        async { Ok(0) }
    }

    /// The user whose e-mail key is `email_key`
    /// ([`email_key`](crate::identity::email_key) of what the client typed), or `None`.
    fn lookup_by_email(&self, email_key: &str) -> impl Future<Output = Result<Option<U>>> + Send {
        let _ = email_key;
        async {
            Err(unsupported(
                "this user store cannot look users up by e-mail",
            ))
        }
    }

    /// Creates the user with `user.id`, or replaces every field of the user with that id
    /// (an import run twice leaves the same users). A username or e-mail address held by
    /// another id (compared by `username_key` and `email_key`, as [`create`](Self::create)
    /// compares them) is [`ErrorKind::UserExists`]; an id the store cannot hold is
    /// [`ErrorKind::InvalidRequest`]. Later ids the store hands out stay above every
    /// imported one.
    fn upsert(&self, user: ImportedUser) -> impl Future<Output = Result<U>> + Send {
        let _ = user;
        async { Err(unsupported("this user store cannot import users")) }
    }

    /// The user of an identity provider's token: the one this store links to the
    /// provider `issuer` and its `subject` (the token's `sub`), or `None`. The default
    /// knows none; [`CurrentUser`](crate::CurrentUser) then asks the hook given to
    /// [`CenturionBuilder::provision_external_users`](crate::CenturionBuilder::provision_external_users),
    /// if any. Key the link on both values: two providers may use the same subject, and
    /// a subject is not one of this store's ids.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use centurion::{Result, UserStore, testing::TestUser};
    ///
    /// struct Linked { by_subject: HashMap<(String, String), TestUser> }
    ///
    /// impl UserStore<TestUser> for Linked {
    ///     async fn lookup(&self, _: &str) -> Result<Option<TestUser>> { Ok(None) }
    ///     async fn identify(&self, _: &str) -> Result<Option<TestUser>> { Ok(None) }
    ///     async fn update_password_hash(&self, _: &str, _: &str) -> Result<()> { Ok(()) }
    ///     async fn identify_external(&self, issuer: &str, subject: &str) -> Result<Option<TestUser>> {
    ///         Ok(self.by_subject.get(&(issuer.to_owned(), subject.to_owned())).cloned())
    ///     }
    /// }
    /// ```
    fn identify_external(
        &self,
        issuer: &str,
        subject: &str,
    ) -> impl Future<Output = Result<Option<U>>> + Send {
        let _ = (issuer, subject);
        async { Ok(None) }
    }
}

/// A shared store is a store: lets the application keep a handle (`Arc<S>`) to the store
/// it gives centurion, e.g. to seed users.
impl<U: AuthUser, S: UserStore<U>> UserStore<U> for std::sync::Arc<S> {
    fn lookup(&self, username_key: &str) -> impl Future<Output = Result<Option<U>>> + Send {
        S::lookup(self, username_key)
    }
    fn identify(&self, id: &str) -> impl Future<Output = Result<Option<U>>> + Send {
        S::identify(self, id)
    }
    fn update_password_hash(
        &self,
        id: &str,
        hash: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        S::update_password_hash(self, id, hash)
    }
    fn create(&self, user: NewUser) -> impl Future<Output = Result<U>> + Send {
        S::create(self, user)
    }
    fn register(
        &self,
        user: NewUser,
        expired_before_ms: u64,
    ) -> impl Future<Output = Result<Registered<U>>> + Send {
        S::register(self, user, expired_before_ms)
    }
    fn confirm(
        &self,
        id: &str,
        registered_after_ms: u64,
    ) -> impl Future<Output = Result<bool>> + Send {
        S::confirm(self, id, registered_after_ms)
    }
    fn activate(&self, id: &str) -> impl Future<Output = Result<()>> + Send {
        S::activate(self, id)
    }
    fn purge_unconfirmed(
        &self,
        expired_before_ms: u64,
    ) -> impl Future<Output = Result<u64>> + Send {
        S::purge_unconfirmed(self, expired_before_ms)
    }
    fn lookup_by_email(&self, email_key: &str) -> impl Future<Output = Result<Option<U>>> + Send {
        S::lookup_by_email(self, email_key)
    }
    fn identify_external(
        &self,
        issuer: &str,
        subject: &str,
    ) -> impl Future<Output = Result<Option<U>>> + Send {
        S::identify_external(self, issuer, subject)
    }
    fn upsert(&self, user: ImportedUser) -> impl Future<Output = Result<U>> + Send {
        S::upsert(self, user)
    }
}

/// The identifying claims of a token, as the revocation store checks them.
#[derive(Debug, Clone, Copy)]
pub struct TokenRef<'a> {
    /// The token's `jti`.
    pub jti: &'a str,
    /// The session (refresh family, `fam`) the token belongs to: access and refresh tokens
    /// of a login have one; service, registration and reset tokens do not.
    pub family: Option<&'a str>,
    /// The token's `sub`.
    pub subject: &'a str,
    /// The token's revocation stamp (`iat_ms`), in milliseconds since the Unix epoch: the
    /// moment the login or refresh that produced it began (for other tokens, their issue).
    pub issued_at_ms: u64,
}

/// Where revocations, spent single-use tokens and sessions live.
///
/// # Revocations
///
/// Every revocation entry carries the Unix time (seconds) after which it may be forgotten:
/// centurion passes the moment the token it guards can no longer be accepted anywhere
/// (its `exp`, plus the configured leeway, plus a margin of 60 s for clocks that differ
/// between instances and the store). Implementations must drop expired entries so
/// storage stays bounded. Any failure must be returned as an error: centurion then refuses
/// the request (503).
///
/// # Sessions
///
/// A login creates one [`SessionRecord`], keyed by its refresh family; a refresh rewrites
/// it through [`rotate_session`](Self::rotate_session), a compare-and-set on its
/// generation; logout, revocation and detected reuse delete it. A token that names a
/// family (`fam`) is accepted only while its session is live, so deleting the record is
/// what ends a session, everywhere at once. A store holds one record per live session,
/// however often it is refreshed.
///
/// [`is_revoked`](Self::is_revoked) runs on every authenticated request: it must answer
/// the three rules and the session's liveness in one round trip (one query, one
/// pipeline).
pub trait RevocationStore: Send + Sync + 'static {
    /// Revokes one token (by `jti`) until `expires_at`.
    fn revoke_token(&self, jti: &str, expires_at: u64) -> impl Future<Output = Result<()>> + Send;

    /// Revokes every token of `subject` stamped before `not_before_ms` (milliseconds), and
    /// deletes the user's sessions; the not-before is remembered until `expires_at`
    /// (seconds), when the last such token has expired. The not-before only moves forward.
    fn revoke_user(
        &self,
        subject: &str,
        not_before_ms: u64,
        expires_at: u64,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Whether the token is revoked: by its `jti`, by its user's not-before, or, when it
    /// names a family, because no live session of that family and subject exists (live:
    /// [`SessionRecord::is_live_after`] the user's not-before and the user's sessions'
    /// not-before).
    fn is_revoked(&self, token: &TokenRef<'_>) -> impl Future<Output = Result<bool>> + Send;

    /// Marks a single-use token (reset, registration) as spent. Returns `true` when
    /// this call spent it and `false` when it was already spent. Must be atomic: of two
    /// concurrent calls for one `jti`, exactly one returns `true`.
    fn mark_spent(&self, jti: &str, expires_at: u64) -> impl Future<Output = Result<bool>> + Send;

    /// Stores a new session. First the user's sessions beyond `limits.per_user - 1` end,
    /// oldest first; then, when the store already holds `limits.global` live sessions, the
    /// call fails with [`ErrorKind::Overloaded`] and stores nothing. Storing the same record
    /// twice (a retried call) is not an error.
    fn create_session(
        &self,
        record: &SessionRecord,
        limits: &SessionLimits,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Applies `rotation` to the session of `rotation.family` atomically (see
    /// [`Rotation::apply`], with the larger of the user's not-before and the user's
    /// sessions' not-before): rewrites it on [`RotationOutcome::Rotated`], deletes it on
    /// [`RotationOutcome::Reused`]; [`RotationOutcome::Ended`] when no live session exists.
    fn rotate_session(
        &self,
        rotation: &Rotation<'_>,
    ) -> impl Future<Output = Result<RotationOutcome>> + Send;

    /// The live sessions of `subject` (as [`is_revoked`](Self::is_revoked) sees them),
    /// newest first.
    fn sessions(&self, subject: &str) -> impl Future<Output = Result<Vec<SessionRecord>>> + Send;

    /// Deletes the session of `family` (logout); `true` when one was live.
    fn end_session(&self, family: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Deletes the session of `subject` whose public id is `id`; `true` when one was live
    /// (`false` for an id of another user).
    fn end_session_of(&self, subject: &str, id: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Ends every session of `subject` except the one of `except` (a family), also the
    /// sessions of logins still in flight: raises the user's sessions' not-before to
    /// `not_before_ms` (only ever forward; remembered until `expires_at`), raises the kept
    /// session's [`stamp_ms`](SessionRecord::stamp_ms) to it, and deletes the others.
    /// Returns how many live sessions ended.
    fn end_sessions_of(
        &self,
        subject: &str,
        except: Option<&str>,
        not_before_ms: u64,
        expires_at: u64,
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// A shared store is a store: lets the application keep a handle (`Arc<S>`) to the store
/// it gives centurion, or give one store to several instances of a process.
impl<S: RevocationStore> RevocationStore for std::sync::Arc<S> {
    fn revoke_token(&self, jti: &str, expires_at: u64) -> impl Future<Output = Result<()>> + Send {
        S::revoke_token(self, jti, expires_at)
    }
    fn revoke_user(
        &self,
        subject: &str,
        not_before_ms: u64,
        expires_at: u64,
    ) -> impl Future<Output = Result<()>> + Send {
        S::revoke_user(self, subject, not_before_ms, expires_at)
    }
    fn is_revoked(&self, token: &TokenRef<'_>) -> impl Future<Output = Result<bool>> + Send {
        S::is_revoked(self, token)
    }
    fn mark_spent(&self, jti: &str, expires_at: u64) -> impl Future<Output = Result<bool>> + Send {
        S::mark_spent(self, jti, expires_at)
    }
    fn create_session(
        &self,
        record: &SessionRecord,
        limits: &SessionLimits,
    ) -> impl Future<Output = Result<()>> + Send {
        S::create_session(self, record, limits)
    }
    fn rotate_session(
        &self,
        rotation: &Rotation<'_>,
    ) -> impl Future<Output = Result<RotationOutcome>> + Send {
        S::rotate_session(self, rotation)
    }
    fn sessions(&self, subject: &str) -> impl Future<Output = Result<Vec<SessionRecord>>> + Send {
        S::sessions(self, subject)
    }
    fn end_session(&self, family: &str) -> impl Future<Output = Result<bool>> + Send {
        S::end_session(self, family)
    }
    fn end_session_of(&self, subject: &str, id: &str) -> impl Future<Output = Result<bool>> + Send {
        S::end_session_of(self, subject, id)
    }
    fn end_sessions_of(
        &self,
        subject: &str,
        except: Option<&str>,
        not_before_ms: u64,
        expires_at: u64,
    ) -> impl Future<Output = Result<u64>> + Send {
        S::end_sessions_of(self, subject, except, not_before_ms, expires_at)
    }
}

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Object-safe twin of [`UserStore`], implemented for every `UserStore`.
pub(crate) trait DynUserStore<U>: Send + Sync {
    fn lookup<'a>(&'a self, username_key: &'a str) -> BoxFuture<'a, Result<Option<U>>>;
    fn identify<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<U>>>;
    fn update_password_hash<'a>(&'a self, id: &'a str, hash: &'a str) -> BoxFuture<'a, Result<()>>;
    fn create(&self, user: NewUser) -> BoxFuture<'_, Result<U>>;
    fn register(
        &self,
        user: NewUser,
        expired_before_ms: u64,
    ) -> BoxFuture<'_, Result<Registered<U>>>;
    fn confirm<'a>(&'a self, id: &'a str, registered_after_ms: u64) -> BoxFuture<'a, Result<bool>>;
    fn purge_unconfirmed(&self, expired_before_ms: u64) -> BoxFuture<'_, Result<u64>>;
    fn lookup_by_email<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<U>>>;
    fn upsert(&self, user: ImportedUser) -> BoxFuture<'_, Result<U>>;

    fn identify_external<'a>(
        &'a self,
        issuer: &'a str,
        subject: &'a str,
    ) -> BoxFuture<'a, Result<Option<U>>>;
}

impl<U: AuthUser, S: UserStore<U>> DynUserStore<U> for S {
    fn lookup<'a>(&'a self, username: &'a str) -> BoxFuture<'a, Result<Option<U>>> {
        Box::pin(UserStore::lookup(self, username))
    }
    fn identify<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<U>>> {
        Box::pin(UserStore::identify(self, id))
    }
    fn update_password_hash<'a>(&'a self, id: &'a str, hash: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(UserStore::update_password_hash(self, id, hash))
    }
    fn create(&self, user: NewUser) -> BoxFuture<'_, Result<U>> {
        Box::pin(UserStore::create(self, user))
    }
    fn register(
        &self,
        user: NewUser,
        expired_before_ms: u64,
    ) -> BoxFuture<'_, Result<Registered<U>>> {
        Box::pin(UserStore::register(self, user, expired_before_ms))
    }
    fn confirm<'a>(&'a self, id: &'a str, registered_after_ms: u64) -> BoxFuture<'a, Result<bool>> {
        Box::pin(UserStore::confirm(self, id, registered_after_ms))
    }
    fn purge_unconfirmed(&self, expired_before_ms: u64) -> BoxFuture<'_, Result<u64>> {
        Box::pin(UserStore::purge_unconfirmed(self, expired_before_ms))
    }
    fn lookup_by_email<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<U>>> {
        Box::pin(UserStore::lookup_by_email(self, email))
    }
    fn upsert(&self, user: ImportedUser) -> BoxFuture<'_, Result<U>> {
        Box::pin(UserStore::upsert(self, user))
    }

    fn identify_external<'a>(
        &'a self,
        issuer: &'a str,
        subject: &'a str,
    ) -> BoxFuture<'a, Result<Option<U>>> {
        Box::pin(UserStore::identify_external(self, issuer, subject))
    }
}

/// Object-safe twin of [`RevocationStore`].
pub(crate) trait DynRevocationStore: Send + Sync {
    fn revoke_token<'a>(&'a self, jti: &'a str, expires_at: u64) -> BoxFuture<'a, Result<()>>;
    fn revoke_user<'a>(
        &'a self,
        subject: &'a str,
        not_before_ms: u64,
        expires_at: u64,
    ) -> BoxFuture<'a, Result<()>>;
    fn is_revoked<'a>(&'a self, token: &'a TokenRef<'a>) -> BoxFuture<'a, Result<bool>>;
    fn mark_spent<'a>(&'a self, jti: &'a str, expires_at: u64) -> BoxFuture<'a, Result<bool>>;
    fn create_session<'a>(
        &'a self,
        record: &'a SessionRecord,
        limits: &'a SessionLimits,
    ) -> BoxFuture<'a, Result<()>>;
    fn rotate_session<'a>(
        &'a self,
        rotation: &'a Rotation<'a>,
    ) -> BoxFuture<'a, Result<RotationOutcome>>;
    fn sessions<'a>(&'a self, subject: &'a str) -> BoxFuture<'a, Result<Vec<SessionRecord>>>;
    fn end_session<'a>(&'a self, family: &'a str) -> BoxFuture<'a, Result<bool>>;
    fn end_session_of<'a>(&'a self, subject: &'a str, id: &'a str) -> BoxFuture<'a, Result<bool>>;
    fn end_sessions_of<'a>(
        &'a self,
        subject: &'a str,
        except: Option<&'a str>,
        not_before_ms: u64,
        expires_at: u64,
    ) -> BoxFuture<'a, Result<u64>>;
}

impl<S: RevocationStore> DynRevocationStore for S {
    fn revoke_token<'a>(&'a self, jti: &'a str, expires_at: u64) -> BoxFuture<'a, Result<()>> {
        Box::pin(RevocationStore::revoke_token(self, jti, expires_at))
    }
    fn revoke_user<'a>(
        &'a self,
        subject: &'a str,
        not_before_ms: u64,
        expires_at: u64,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(RevocationStore::revoke_user(
            self,
            subject,
            not_before_ms,
            expires_at,
        ))
    }
    fn is_revoked<'a>(&'a self, token: &'a TokenRef<'a>) -> BoxFuture<'a, Result<bool>> {
        Box::pin(RevocationStore::is_revoked(self, token))
    }
    fn mark_spent<'a>(&'a self, jti: &'a str, expires_at: u64) -> BoxFuture<'a, Result<bool>> {
        Box::pin(RevocationStore::mark_spent(self, jti, expires_at))
    }
    fn create_session<'a>(
        &'a self,
        record: &'a SessionRecord,
        limits: &'a SessionLimits,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(RevocationStore::create_session(self, record, limits))
    }
    fn rotate_session<'a>(
        &'a self,
        rotation: &'a Rotation<'a>,
    ) -> BoxFuture<'a, Result<RotationOutcome>> {
        Box::pin(RevocationStore::rotate_session(self, rotation))
    }
    fn sessions<'a>(&'a self, subject: &'a str) -> BoxFuture<'a, Result<Vec<SessionRecord>>> {
        Box::pin(RevocationStore::sessions(self, subject))
    }
    fn end_session<'a>(&'a self, family: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(RevocationStore::end_session(self, family))
    }
    fn end_session_of<'a>(&'a self, subject: &'a str, id: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(RevocationStore::end_session_of(self, subject, id))
    }
    fn end_sessions_of<'a>(
        &'a self,
        subject: &'a str,
        except: Option<&'a str>,
        not_before_ms: u64,
        expires_at: u64,
    ) -> BoxFuture<'a, Result<u64>> {
        Box::pin(RevocationStore::end_sessions_of(
            self,
            subject,
            except,
            not_before_ms,
            expires_at,
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_uuids_are_version_4_in_canonical_form() {
        let a = super::random_uuid().unwrap();
        let b = super::random_uuid().unwrap();
        assert_ne!(a, b);
        for id in [a, b] {
            assert_eq!(id.len(), 36, "{id}");
            let groups: Vec<&str> = id.split('-').collect();
            assert_eq!(
                groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12]
            );
            assert!(
                id.chars()
                    .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
            );
            assert!(groups[2].starts_with('4'), "{id}");
            assert!(matches!(&groups[3][..1], "8" | "9" | "a" | "b"), "{id}");
        }
    }
}
