//! The types of an instance's session API: [`Authenticated`] (a user whose login began at
//! a known instant), [`IssueTo`], [`SessionStart`] (what a new session carries) and
//! [`Session`] (a session as its user sees it).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::ser::SerializeStruct;
use serde_json::{Map, Value};

use crate::error::Result;
use crate::jwt;
use crate::session::{ClientInfo, SessionRecord};
use crate::user::AuthUser;

/// A user whose password [`Centurion::authenticate`](super::Centurion::authenticate) has
/// just checked, with the instant that check began.
///
/// It dereferences to the user. Issue the session's tokens from it
/// ([`Centurion::issue_pair`](super::Centurion::issue_pair) takes it as it takes a user):
/// they are then stamped with the moment the login began, so a revocation of the user that
/// lands while the password is being checked refuses them.
///
/// ```
/// # async fn demo() -> Result<(), centurion::Error> {
/// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
/// # let auth = Centurion::<TestUser>::builder()
/// #     .secret("an-example-secret-of-at-least-32-bytes!!").user_store(MemoryUserStore::new()).build()?;
/// # auth.create_user("ada", None, "correct horse battery", &[]).await?;
/// let ada = auth.authenticate("ada", "correct horse battery").await?;
/// assert_eq!(ada.username, "ada"); // the user, through Deref
/// let pair = auth.issue_pair(&ada).await?;
/// # let _ = pair; Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
pub struct Authenticated<U> {
    pub(super) user: U,
    pub(super) stamp_ms: u64,
}

impl<U> Authenticated<U> {
    /// The user.
    pub fn user(&self) -> &U {
        &self.user
    }

    /// The user, dropping the instant its login began (tokens issued to the plain user are
    /// stamped when they are issued).
    pub fn into_user(self) -> U {
        self.user
    }
}

impl<U> std::ops::Deref for Authenticated<U> {
    type Target = U;
    fn deref(&self) -> &U {
        &self.user
    }
}

impl<U: AuthUser> fmt::Debug for Authenticated<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticated")
            .field("id", &self.user.id())
            .field("username", &self.user.username())
            .field("stamp_ms", &self.stamp_ms)
            .finish()
    }
}

mod sealed {
    pub trait Sealed<U> {}
    impl<U: crate::user::AuthUser> Sealed<U> for U {}
    impl<U: crate::user::AuthUser> Sealed<U> for super::Authenticated<U> {}
}

/// What a session can be issued to: a user (its tokens are stamped when issued), or an
/// [`Authenticated`] user (stamped when its login began). Sealed.
pub trait IssueTo<U>: sealed::Sealed<U> {
    /// The user.
    #[doc(hidden)]
    fn user(&self) -> &U;
    /// When the flow that produced it began, if known.
    #[doc(hidden)]
    fn stamp_ms(&self) -> Option<u64>;
}

impl<U: AuthUser> IssueTo<U> for U {
    fn user(&self) -> &U {
        self
    }
    fn stamp_ms(&self) -> Option<u64> {
        None
    }
}

impl<U: AuthUser> IssueTo<U> for Authenticated<U> {
    fn user(&self) -> &U {
        &self.user
    }
    fn stamp_ms(&self) -> Option<u64> {
        Some(self.stamp_ms)
    }
}

/// What a new session carries besides its user: the client (shown in the session list,
/// and compared inside the refresh grace window), a label, and custom claims for its
/// access tokens.
///
/// ```
/// use centurion::{ClientInfo, SessionStart};
/// let start = SessionStart::new()
///     .client(ClientInfo::new(Some("Firefox"), None))
///     .label("work laptop")
///     .custom(&serde_json::json!({"tenant": "acme"}))?;
/// # let _ = start;
/// # Ok::<(), centurion::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct SessionStart {
    pub(super) client: ClientInfo,
    pub(super) label: Option<String>,
    pub(super) custom: Map<String, Value>,
    /// The family a legacy (Flask) token's exchange names; random otherwise.
    pub(super) family: Option<String>,
    /// The latest end of the session (a legacy token's refresh deadline).
    pub(super) ends_by: Option<u64>,
    /// Started by a refresh (a legacy token's exchange), not a login: the access token is
    /// not fresh.
    pub(super) by_refresh: bool,
}

/// The longest label kept, in bytes.
const MAX_LABEL_BYTES: usize = 128;

impl SessionStart {
    /// No client information, no label, no custom claims.
    pub fn new() -> Self {
        Self::default()
    }

    /// The client that logs in.
    pub fn client(mut self, client: ClientInfo) -> Self {
        self.client = client;
        self
    }

    /// A label for the session (cleaned and cut to 128 bytes like a user agent).
    pub fn label(mut self, label: impl AsRef<str>) -> Self {
        self.label = ClientInfo::new(Some(label.as_ref()), None)
            .user_agent
            .map(|mut l| {
                while l.len() > MAX_LABEL_BYTES {
                    l.pop();
                }
                l
            });
        self
    }

    /// The session a Flask token's exchange starts: named by `family`, ending by `ends_by`.
    #[cfg(feature = "legacy")]
    pub(super) fn exchanged(mut self, family: String, ends_by: u64) -> Self {
        self.family = Some(family);
        self.ends_by = Some(ends_by);
        self.by_refresh = true;
        self
    }

    /// Custom claims for the session's access tokens (carried across refreshes); a reserved
    /// name is [`ErrorKind::ClaimCollisionError`](crate::ErrorKind::ClaimCollisionError).
    pub fn custom<C: Serialize + ?Sized>(mut self, custom: &C) -> Result<Self> {
        self.custom = jwt::custom_map(custom)?;
        Ok(self)
    }
}

impl fmt::Debug for SessionStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionStart")
            .field("client", &self.client)
            .field("label", &self.label)
            .field("custom", &self.custom.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A live session (one login) as its user may see it: no family, no token, no rotation
/// state.
///
/// Serialized (serde) as the quickstart's `GET /api/sessions` items: `id`, `created_at`,
/// `last_used_at`, `expires_at` (RFC 3339, UTC, seconds), `user_agent` and `ip` (of the
/// last refresh, the login's until then), `label`, `current`.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// The public id, for [`Centurion::revoke_session`](super::Centurion::revoke_session).
    pub id: String,
    /// When the login happened.
    pub created_at: SystemTime,
    /// When the session was last refreshed (`created_at` until then).
    pub last_used_at: SystemTime,
    /// When the session ends at the latest (fixed at login).
    pub expires_at: SystemTime,
    /// The client at login.
    pub login: ClientInfo,
    /// The client at the last refresh (the login's until then).
    pub last: ClientInfo,
    /// The application's label, if it gave one.
    pub label: Option<String>,
    /// Whether this is the session of the token the list was asked with.
    pub current: bool,
}

impl Session {
    pub(super) fn from_record(record: SessionRecord, current: Option<&str>) -> Self {
        let ms = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        Self {
            current: current == Some(record.family.as_str()),
            id: record.id,
            created_at: ms(record.created_at_ms),
            last_used_at: ms(record.last_used_at_ms),
            expires_at: UNIX_EPOCH + Duration::from_secs(record.expires_at),
            login: record.login,
            last: record.last,
            label: record.label,
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("created_at", &rfc3339(self.created_at))
            .field("last_used_at", &rfc3339(self.last_used_at))
            .field("expires_at", &rfc3339(self.expires_at))
            .field("login", &self.login)
            .field("last", &self.last)
            .field("label", &self.label)
            .field("current", &self.current)
            .finish()
    }
}

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

impl Serialize for Session {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("Session", 8)?;
        out.serialize_field("id", &self.id)?;
        out.serialize_field("created_at", &rfc3339(self.created_at))?;
        out.serialize_field("last_used_at", &rfc3339(self.last_used_at))?;
        out.serialize_field("expires_at", &rfc3339(self.expires_at))?;
        out.serialize_field("user_agent", &self.last.user_agent)?;
        out.serialize_field("ip", &self.last.ip)?;
        out.serialize_field("label", &self.label)?;
        out.serialize_field("current", &self.current)?;
        out.end()
    }
}
