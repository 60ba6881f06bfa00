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

/// A new user, as registration hands it to [`UserStore::create`].
#[derive(Clone)]
pub struct NewUser {
    /// Login name; stores must keep it unique.
    pub username: String,
    /// E-mail address; stores must keep it unique when present.
    pub email: Option<String>,
    /// PHC string of the password hash (never the password).
    pub password_hash: String,
    /// Initial role names.
    pub roles: Vec<String>,
    /// Whether the account starts active (registration with confirmation starts inactive).
    pub active: bool,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password_hash", &"<redacted>")
            .field("roles", &self.roles)
            .field("active", &self.active)
            .finish()
    }
}

fn unsupported(what: &'static str) -> Error {
    Error::new(ErrorKind::InternalError).with_message(what)
}

/// Where users live.
///
/// Only [`lookup`](Self::lookup), [`identify`](Self::identify) and
/// [`update_password_hash`](Self::update_password_hash) are required; registration and
/// the e-mail flows also need [`create`](Self::create), [`activate`](Self::activate) and
/// [`lookup_by_email`](Self::lookup_by_email), whose defaults answer "unsupported".
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use centurion::{AuthUser, UserStore, Result};
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
///     async fn lookup(&self, username: &str) -> Result<Option<Account>> {
///         Ok(self.0.lock().unwrap().values().find(|a| a.name == username).cloned())
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
    /// The user with this login name, or `None`.
    fn lookup(&self, username: &str) -> impl Future<Output = Result<Option<U>>> + Send;

    /// The user whose [`AuthUser::id`] is `id`, or `None` (also for an id that cannot be
    /// parsed: it comes from a token and must not cause an error).
    fn identify(&self, id: &str) -> impl Future<Output = Result<Option<U>>> + Send;

    /// Replaces the password hash of user `id` in one atomic write.
    fn update_password_hash(&self, id: &str, hash: &str)
    -> impl Future<Output = Result<()>> + Send;

    /// Creates a user; a taken username or e-mail address is
    /// [`ErrorKind::UserExists`].
    fn create(&self, user: NewUser) -> impl Future<Output = Result<U>> + Send {
        let _ = user;
        async { Err(unsupported("this user store cannot create users")) }
    }

    /// Marks user `id` active (registration confirmation).
    fn activate(&self, id: &str) -> impl Future<Output = Result<()>> + Send {
        let _ = id;
        async { Err(unsupported("this user store cannot activate users")) }
    }

    /// The user with this e-mail address, or `None`.
    fn lookup_by_email(&self, email: &str) -> impl Future<Output = Result<Option<U>>> + Send {
        let _ = email;
        async {
            Err(unsupported(
                "this user store cannot look users up by e-mail",
            ))
        }
    }
}

/// A shared store is a store: lets the application keep a handle (`Arc<S>`) to the store
/// it gives centurion, e.g. to seed users.
impl<U: AuthUser, S: UserStore<U>> UserStore<U> for std::sync::Arc<S> {
    fn lookup(&self, username: &str) -> impl Future<Output = Result<Option<U>>> + Send {
        S::lookup(self, username)
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
    fn activate(&self, id: &str) -> impl Future<Output = Result<()>> + Send {
        S::activate(self, id)
    }
    fn lookup_by_email(&self, email: &str) -> impl Future<Output = Result<Option<U>>> + Send {
        S::lookup_by_email(self, email)
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
    fn lookup<'a>(&'a self, username: &'a str) -> BoxFuture<'a, Result<Option<U>>>;
    fn identify<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<U>>>;
    fn update_password_hash<'a>(&'a self, id: &'a str, hash: &'a str) -> BoxFuture<'a, Result<()>>;
    fn create(&self, user: NewUser) -> BoxFuture<'_, Result<U>>;
    fn activate<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<()>>;
    fn lookup_by_email<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<U>>>;
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
    fn activate<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(UserStore::activate(self, id))
    }
    fn lookup_by_email<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<U>>> {
        Box::pin(UserStore::lookup_by_email(self, email))
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
