//! Sessions as the stores keep them: [`SessionRecord`] (one per login, the refresh family
//! made visible), [`ClientInfo`] (who used it), [`SessionLimits`], and the refresh
//! rotation as a compare-and-set ([`Rotation`], [`RotationOutcome`]) that every
//! [`RevocationStore`](crate::RevocationStore) applies atomically.
//!
//! A login creates one record; every refresh of that login rewrites the same record
//! (its generation, the time of the rotation, the pair it minted), so storage grows with
//! live sessions, never with refreshes.

use std::fmt;
use std::net::IpAddr;

use http::HeaderMap;

/// What the server could tell about the client of a login or a refresh: its `User-Agent`
/// and its address (as [`ClientAddr`](crate::http::ClientAddr) resolves it, behind the
/// trusted proxies). Both are shown to the user in the session list, and the user agent
/// tells a second client apart inside the refresh grace window.
///
/// The user agent is cleaned (control characters dropped) and cut to
/// [`MAX_USER_AGENT_BYTES`](Self::MAX_USER_AGENT_BYTES), so a client cannot make a
/// session record large.
///
/// ```
/// use centurion::ClientInfo;
///
/// let client = ClientInfo::new(Some("Mozilla/5.0\n(X11)"), Some("192.0.2.7".parse().unwrap()));
/// assert_eq!(client.user_agent.as_deref(), Some("Mozilla/5.0(X11)"));
/// assert_eq!(client.ip.as_deref(), Some("192.0.2.7"));
/// let long = "x".repeat(10_000);
/// assert_eq!(ClientInfo::new(Some(&long), None).user_agent.unwrap().len(), 256);
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ClientInfo {
    /// The `User-Agent` header, cleaned and truncated; `None` when absent or empty.
    pub user_agent: Option<String>,
    /// The client's address, as text; `None` when unknown.
    pub ip: Option<String>,
}

impl ClientInfo {
    /// The longest user agent kept, in bytes (longer ones are cut at a character boundary).
    pub const MAX_USER_AGENT_BYTES: usize = 256;

    /// Cleans and truncates `user_agent`; keeps `ip` in its canonical text form.
    pub fn new(user_agent: Option<&str>, ip: Option<IpAddr>) -> Self {
        let user_agent = user_agent.and_then(|ua| {
            let mut out = String::with_capacity(ua.len().min(Self::MAX_USER_AGENT_BYTES));
            for c in ua.chars().filter(|c| !c.is_control()) {
                if out.len() + c.len_utf8() > Self::MAX_USER_AGENT_BYTES {
                    break;
                }
                out.push(c);
            }
            let trimmed = out.trim();
            (!trimmed.is_empty()).then(|| trimmed.to_owned())
        });
        Self {
            user_agent,
            ip: ip.map(|ip| ip.to_canonical().to_string()),
        }
    }

    /// The `User-Agent` of `headers` (ignored unless it is one visible-ASCII or UTF-8
    /// value) and `ip`.
    ///
    /// ```
    /// use centurion::ClientInfo;
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("user-agent", "curl/8.5".parse().unwrap());
    /// let client = ClientInfo::from_headers(&headers, None);
    /// assert_eq!(client.user_agent.as_deref(), Some("curl/8.5"));
    /// assert_eq!(client.ip, None);
    /// ```
    pub fn from_headers(headers: &HeaderMap, ip: Option<IpAddr>) -> Self {
        let mut values = headers.get_all(http::header::USER_AGENT).iter();
        let ua = match (values.next(), values.next()) {
            (Some(one), None) => std::str::from_utf8(one.as_bytes()).ok(),
            _ => None,
        };
        Self::new(ua, ip)
    }

    /// Whether `other` may be the same client: `false` only when both carry a user agent
    /// and they differ (a client that sends none cannot be told apart).
    ///
    /// ```
    /// use centurion::ClientInfo;
    /// let firefox = ClientInfo::new(Some("Firefox"), None);
    /// let curl = ClientInfo::new(Some("curl"), None);
    /// assert!(!firefox.may_be(&curl));
    /// assert!(firefox.may_be(&ClientInfo::default()));
    /// ```
    pub fn may_be(&self, other: &ClientInfo) -> bool {
        match (&self.user_agent, &other.user_agent) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }
}

impl fmt::Debug for ClientInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientInfo")
            .field("user_agent", &self.user_agent)
            .field("ip", &self.ip)
            .finish()
    }
}

/// One session (one login) as a store keeps it: created by a login, rewritten by every
/// refresh, deleted by a logout, a revocation, a detected reuse, or the per-user limit.
///
/// `family` is the `fam` claim of the session's tokens and the store's key; `id` is the
/// public id shown to the user (another random value: listing sessions never hands out
/// the key of another session). The rotation fields (`generation`, `rotated_at_ms`,
/// `successor`) are centurion's; stores keep them as they are given and change them only
/// through [`Rotation::apply`].
///
/// ```
/// use centurion::{ClientInfo, SessionRecord};
/// let record = SessionRecord::new("sid", "fam", "7", 1_000_000, 4_000, ClientInfo::default());
/// assert_eq!(record.generation, 0);
/// assert!(record.is_live(3_999) && !record.is_live(4_000));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The public id (random, 128 bits, base64url).
    pub id: String,
    /// The refresh family (the `fam` claim); the store's key.
    pub family: String,
    /// The user (`sub`).
    pub subject: String,
    /// When the login happened, Unix milliseconds.
    pub created_at_ms: u64,
    /// The session's revocation stamp, Unix milliseconds: when the login that created it
    /// began (raised when [`end_sessions_of`](crate::RevocationStore::end_sessions_of)
    /// keeps it). The session is dead once the user's not-before, or the user's sessions'
    /// not-before, is above it: a login in flight during a revocation yields a dead
    /// session.
    pub stamp_ms: u64,
    /// When the session was last refreshed (its creation until then), Unix milliseconds.
    pub last_used_at_ms: u64,
    /// The absolute end, fixed at login, Unix seconds (the refresh tokens' `exp`).
    pub expires_at: u64,
    /// When the session ends unless refreshed, Unix seconds: `expires_at`, or earlier with
    /// an idle timeout. Stores treat a record as gone from this instant.
    pub live_until: u64,
    /// The generation (`gen` claim) of the current refresh token; 0 at login.
    pub generation: u64,
    /// When the current generation was minted, Unix milliseconds.
    pub rotated_at_ms: u64,
    /// The claims (not the signatures) of the pair the last rotation minted, as centurion
    /// serialized them, for the refresh grace window; `None` before the first refresh.
    pub successor: Option<String>,
    /// The client at login.
    pub login: ClientInfo,
    /// The client at the last refresh (the login's until then).
    pub last: ClientInfo,
    /// A label the application gave the session (e.g. a device name).
    pub label: Option<String>,
}

impl SessionRecord {
    /// A session created at `now_ms` that lives until `live_until` (seconds), generation 0.
    pub fn new(
        id: &str,
        family: &str,
        subject: &str,
        now_ms: u64,
        live_until: u64,
        client: ClientInfo,
    ) -> Self {
        Self {
            id: id.to_owned(),
            family: family.to_owned(),
            subject: subject.to_owned(),
            created_at_ms: now_ms,
            stamp_ms: now_ms,
            last_used_at_ms: now_ms,
            expires_at: live_until,
            live_until,
            generation: 0,
            rotated_at_ms: now_ms,
            successor: None,
            login: client.clone(),
            last: client,
            label: None,
        }
    }

    /// Whether the session is still live at `now` (Unix seconds), not counting revocations
    /// (see [`is_live_after`](Self::is_live_after)).
    pub fn is_live(&self, now: u64) -> bool {
        self.live_until > now
    }

    /// Whether the session is live at `now` (Unix seconds) given `not_before_ms`, the
    /// larger of the user's not-before and the user's sessions' not-before (0 for none).
    ///
    /// ```
    /// use centurion::{ClientInfo, SessionRecord};
    /// let record = SessionRecord::new("sid", "fam", "7", 5_000, 60, ClientInfo::default());
    /// assert!(record.is_live_after(10, 5_000));
    /// assert!(!record.is_live_after(10, 5_001)); // revoked while its login was in flight
    /// ```
    pub fn is_live_after(&self, now: u64, not_before_ms: u64) -> bool {
        self.is_live(now) && self.stamp_ms >= not_before_ms
    }
}

impl fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("id", &self.id)
            .field("subject", &self.subject)
            .field("created_at_ms", &self.created_at_ms)
            .field("stamp_ms", &self.stamp_ms)
            .field("last_used_at_ms", &self.last_used_at_ms)
            .field("expires_at", &self.expires_at)
            .field("live_until", &self.live_until)
            .field("generation", &self.generation)
            .field("login", &self.login)
            .field("last", &self.last)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// Bounds on live sessions, checked when one is created.
///
/// ```
/// let limits = centurion::SessionLimits::default();
/// assert_eq!((limits.per_user, limits.global), (64, 1_000_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Live sessions one user may have; a login beyond it ends the user's oldest sessions.
    pub per_user: usize,
    /// Live sessions in the whole store; a login beyond it is refused with
    /// [`ErrorKind::Overloaded`](crate::ErrorKind::Overloaded) (503): the store fails
    /// closed rather than grow without bound.
    pub global: u64,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            per_user: 64,
            global: 1_000_000,
        }
    }
}

/// One refresh, as the store's compare-and-set sees it.
///
/// The presented refresh token carries generation `presented`. The store applies
/// [`apply`](Self::apply) to the session of `family` atomically (under its lock, in a
/// transaction, or in one script) and, for [`RotationOutcome::Reused`], deletes the
/// session in the same step.
#[derive(Debug, Clone, Copy)]
pub struct Rotation<'a> {
    /// The `fam` of the presented token.
    pub family: &'a str,
    /// The `sub` of the presented token.
    pub subject: &'a str,
    /// The `gen` of the presented token.
    pub presented: u64,
    /// Now, Unix milliseconds.
    pub now_ms: u64,
    /// The refresh grace window, milliseconds (0: none).
    pub grace_ms: u64,
    /// The session's new `live_until` if it rotates (the idle timeout moves it).
    pub live_until: u64,
    /// The serialized claims of the pair this rotation mints.
    pub successor: &'a str,
    /// The client asking.
    pub client: &'a ClientInfo,
}

/// What a [`Rotation`] did.
#[derive(Clone, PartialEq, Eq)]
pub enum RotationOutcome {
    /// The presented token was current: the session moved to the next generation and now
    /// holds this rotation's successor.
    Rotated,
    /// The presented token was rotated a moment ago (within the grace window, by a client
    /// that may be this one): the successor minted then, to be issued again.
    Replayed(String),
    /// The presented token was spent before: the session is deleted (reuse detected).
    Reused,
    /// No live session for the token (logged out, revoked, expired, idle, or never
    /// created).
    Ended,
}

impl fmt::Debug for RotationOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RotationOutcome::Rotated => "Rotated",
            RotationOutcome::Replayed(_) => "Replayed(..)",
            RotationOutcome::Reused => "Reused",
            RotationOutcome::Ended => "Ended",
        })
    }
}

impl Rotation<'_> {
    /// Decides the outcome for the session `record` and, for
    /// [`RotationOutcome::Rotated`], rewrites it. `not_before_ms` is what
    /// [`SessionRecord::is_live_after`] takes: the larger of the user's not-before and the
    /// user's sessions' not-before. The caller deletes the record on
    /// [`RotationOutcome::Reused`] (and may on [`RotationOutcome::Ended`]).
    ///
    /// | the record | outcome |
    /// | --- | --- |
    /// | of another user, or not live at `now_ms` after `not_before_ms` | `Ended` |
    /// | `generation == presented` | `Rotated`: generation + 1, `rotated_at_ms`, `last_used_at_ms`, `last`, `live_until`, `successor` set |
    /// | `generation == presented + 1` and the successor kept is this rotation's (a retried call) | `Rotated`, nothing changed |
    /// | `generation == presented + 1`, `now_ms ≤ rotated_at_ms + grace_ms`, a successor kept, and the client [may be](ClientInfo::may_be) the one that rotated | `Replayed(successor)` |
    /// | anything else | `Reused` |
    ///
    /// ```
    /// use centurion::{ClientInfo, Rotation, RotationOutcome, SessionRecord};
    /// let client = ClientInfo::default();
    /// let mut record = SessionRecord::new("sid", "fam", "7", 1_000, 3_600, client.clone());
    /// let rotation = |presented, now_ms, successor| Rotation {
    ///     family: "fam", subject: "7", presented, now_ms, grace_ms: 5_000,
    ///     live_until: 3_600, successor, client: &client,
    /// };
    /// assert_eq!(rotation(0, 2_000, "pair-1").apply(&mut record, 0), RotationOutcome::Rotated);
    /// assert_eq!(record.generation, 1);
    /// // The same call again (a retry): nothing changes.
    /// assert_eq!(rotation(0, 2_000, "pair-1").apply(&mut record, 0), RotationOutcome::Rotated);
    /// assert_eq!(record.generation, 1);
    /// // Another use of the spent token within the window: the pair minted then.
    /// assert_eq!(rotation(0, 6_000, "pair-x").apply(&mut record, 0), RotationOutcome::Replayed("pair-1".into()));
    /// assert_eq!(rotation(0, 7_001, "pair-y").apply(&mut record, 0), RotationOutcome::Reused);
    /// assert_eq!(rotation(1, 7_002, "pair-2").apply(&mut record, 1_001), RotationOutcome::Ended);
    /// ```
    pub fn apply(&self, record: &mut SessionRecord, not_before_ms: u64) -> RotationOutcome {
        if record.subject != self.subject
            || !record.is_live_after(self.now_ms / 1000, not_before_ms)
        {
            return RotationOutcome::Ended;
        }
        if record.generation == self.presented {
            record.generation = record.generation.saturating_add(1);
            record.rotated_at_ms = self.now_ms;
            record.last_used_at_ms = self.now_ms;
            record.live_until = self.live_until;
            record.successor = Some(self.successor.to_owned());
            record.last = self.client.clone();
            return RotationOutcome::Rotated;
        }
        let next = record.generation == self.presented.saturating_add(1);
        if next && record.successor.as_deref() == Some(self.successor) {
            // This very rotation, applied already (a store retrying a call whose answer
            // was lost): its successors are unique, so nobody else stored this one.
            return RotationOutcome::Rotated;
        }
        let in_grace = self.grace_ms > 0
            && next
            && self.now_ms <= record.rotated_at_ms.saturating_add(self.grace_ms)
            && record.last.may_be(self.client);
        match (&record.successor, in_grace) {
            (Some(successor), true) => RotationOutcome::Replayed(successor.clone()),
            _ => RotationOutcome::Reused,
        }
    }
}
