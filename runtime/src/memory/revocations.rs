//! [`MemoryRevocationStore`]: revocations in process memory, the default revocation store.

use std::collections::HashMap;
use std::sync::RwLock;

use super::poisoned;
use crate::clock::{Clock, SharedClock};
use crate::error::{Error, ErrorKind, Result};
use crate::session::{Rotation, RotationOutcome, SessionLimits, SessionRecord};
use crate::store::{RevocationStore, TokenRef};

/// A map of keys to expiry times (Unix seconds) that forgets expired keys.
///
/// Expired entries are swept on writes, at most once per `SWEEP_EVERY` seconds or when the
/// map has doubled since the last sweep, so memory stays proportional to the live entries.
#[derive(Default)]
struct ExpiringMap<V> {
    entries: HashMap<String, (V, u64)>,
    last_sweep: u64,
    size_after_sweep: usize,
}

const SWEEP_EVERY: u64 = 60;

impl<V> ExpiringMap<V> {
    fn get(&self, key: &str, now: u64) -> Option<&V> {
        self.entries
            .get(key)
            .filter(|(_, exp)| *exp > now)
            .map(|(v, _)| v)
    }

    /// Raises the value of `key` to `value` and its expiry to `expires_at` (neither moves
    /// back).
    fn raise(&mut self, key: &str, value: V, expires_at: u64, now: u64)
    where
        V: Ord + Default,
    {
        let entry = self
            .entries
            .entry(key.to_owned())
            .or_insert((V::default(), 0));
        if entry.1 <= now {
            *entry = (V::default(), 0); // expired: forgotten
        }
        if value > entry.0 {
            entry.0 = value;
        }
        entry.1 = entry.1.max(expires_at);
    }

    fn sweep_if_due(&mut self, now: u64) {
        let grown = self.entries.len() >= 2 * self.size_after_sweep.max(512);
        if grown || now >= self.last_sweep + SWEEP_EVERY {
            self.entries.retain(|_, (_, exp)| *exp > now);
            self.last_sweep = now;
            self.size_after_sweep = self.entries.len();
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The sessions: records by family, and each user's families in creation order.
#[derive(Default)]
struct Sessions {
    by_family: HashMap<String, SessionRecord>,
    by_user: HashMap<String, Vec<String>>,
    last_sweep: u64,
    size_after_sweep: usize,
}

impl Sessions {
    /// Removes the record of `family`; `true` when it was live.
    fn remove(&mut self, family: &str, now: u64, not_before_ms: u64) -> bool {
        let Some(record) = self.by_family.remove(family) else {
            return false;
        };
        if let Some(families) = self.by_user.get_mut(&record.subject) {
            families.retain(|f| f != family);
            if families.is_empty() {
                self.by_user.remove(&record.subject);
            }
        }
        record.is_live_after(now, not_before_ms)
    }

    /// The user's live families, oldest first, after removing the dead ones.
    fn of_user(&mut self, subject: &str, now: u64, not_before_ms: u64) -> Vec<String> {
        let Some(families) = self.by_user.get_mut(subject) else {
            return Vec::new();
        };
        let by_family = &mut self.by_family;
        families.retain(|f| {
            let live = by_family
                .get(f)
                .is_some_and(|r| r.is_live_after(now, not_before_ms));
            if !live {
                by_family.remove(f);
            }
            live
        });
        let out = families.clone();
        if out.is_empty() {
            self.by_user.remove(subject);
        }
        out
    }

    /// Removes every session of `subject` but `except`; how many live ones ended.
    fn remove_user(
        &mut self,
        subject: &str,
        except: Option<&str>,
        now: u64,
        not_before_ms: u64,
    ) -> u64 {
        let mut ended = 0;
        for family in self.of_user(subject, now, not_before_ms) {
            if Some(family.as_str()) != except && self.remove(&family, now, not_before_ms) {
                ended += 1;
            }
        }
        ended
    }

    fn sweep(&mut self, now: u64) {
        self.by_family.retain(|_, r| r.is_live(now));
        let by_family = &self.by_family;
        self.by_user.retain(|_, families| {
            families.retain(|f| by_family.contains_key(f));
            !families.is_empty()
        });
        self.last_sweep = now;
        self.size_after_sweep = self.by_family.len();
    }

    fn sweep_if_due(&mut self, now: u64) {
        let grown = self.by_family.len() >= 2 * self.size_after_sweep.max(512);
        if grown || now >= self.last_sweep + SWEEP_EVERY {
            self.sweep(now);
        }
    }
}

#[derive(Default)]
struct Revocations {
    tokens: ExpiringMap<()>,
    /// Per-user not-before of every token (ms).
    users: ExpiringMap<u64>,
    /// Per-user not-before of sessions (ms).
    session_nbs: ExpiringMap<u64>,
    spent: ExpiringMap<()>,
    sessions: Sessions,
}

impl Revocations {
    /// The not-before a session of `subject` must be stamped at or after to be live.
    fn not_before(&self, subject: &str, now: u64) -> u64 {
        let user = self.users.get(subject, now).copied().unwrap_or(0);
        let sessions = self.session_nbs.get(subject, now).copied().unwrap_or(0);
        user.max(sessions)
    }
}

/// Revocations and sessions in process memory. The default revocation store.
///
/// Exact limits: the global session limit counts live sessions (expired ones are swept
/// before a login is refused). Memory stays proportional to live entries: expired ones are
/// swept on writes, and a refresh rewrites its session in place.
///
/// ```
/// # async fn demo() -> centurion::Result<()> {
/// use centurion::{RevocationStore, TokenRef, memory::MemoryRevocationStore};
/// let store = MemoryRevocationStore::new();
/// let far = u64::MAX / 2;
/// store.revoke_token("abc", far).await?;
/// let token = TokenRef { jti: "abc", family: None, subject: "1", issued_at_ms: 0 };
/// assert!(store.is_revoked(&token).await?);
/// assert!(store.mark_spent("r1", far).await?);
/// assert!(!store.mark_spent("r1", far).await?);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Default)]
pub struct MemoryRevocationStore {
    inner: RwLock<Revocations>,
    clock: SharedClock,
}

impl MemoryRevocationStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the time from `clock` (entries expire by it), e.g. the
    /// [`ManualClock`](crate::clock::ManualClock) a test also gives the instance.
    ///
    /// ```
    /// use centurion::{clock::SystemClock, memory::MemoryRevocationStore};
    /// let store = MemoryRevocationStore::new().with_clock(SystemClock);
    /// assert!(store.is_empty());
    /// ```
    pub fn with_clock(self, clock: impl Clock) -> Self {
        self.with_clock_of(&SharedClock::new(clock))
    }

    /// Reads the time from an instance's clock (the builder's default store).
    pub(crate) fn with_clock_of(mut self, clock: &SharedClock) -> Self {
        self.clock = clock.clone();
        self
    }

    /// How many entries (live or not yet swept) the store holds.
    pub fn len(&self) -> usize {
        self.inner.read().map_or(0, |r| {
            r.tokens.len()
                + r.users.len()
                + r.session_nbs.len()
                + r.spent.len()
                + r.sessions.by_family.len()
        })
    }

    /// Whether the store holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn write<T>(&self, f: impl FnOnce(&mut Revocations, u64) -> T) -> Result<T> {
        let now = self.clock.secs();
        let mut guard = self.inner.write().map_err(|_| poisoned())?;
        let out = f(&mut guard, now);
        guard.tokens.sweep_if_due(now);
        guard.sessions.sweep_if_due(now);
        guard.users.sweep_if_due(now);
        guard.session_nbs.sweep_if_due(now);
        guard.spent.sweep_if_due(now);
        Ok(out)
    }
}

impl std::fmt::Debug for MemoryRevocationStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRevocationStore")
            .field("entries", &self.len())
            .finish()
    }
}

impl RevocationStore for MemoryRevocationStore {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<()> {
        self.write(|r, _| {
            r.tokens.entries.insert(jti.to_owned(), ((), expires_at));
        })
    }

    async fn revoke_user(&self, subject: &str, not_before_ms: u64, expires_at: u64) -> Result<()> {
        self.write(|r, now| {
            r.users.raise(subject, not_before_ms, expires_at, now);
            let nb = r.not_before(subject, now);
            r.sessions.remove_user(subject, None, now, nb);
        })
    }

    async fn is_revoked(&self, token: &TokenRef<'_>) -> Result<bool> {
        let now = self.clock.secs();
        let r = self.inner.read().map_err(|_| poisoned())?;
        let session_gone = token.family.is_some_and(|f| {
            r.sessions.by_family.get(f).is_none_or(|s| {
                s.subject != token.subject
                    || !s.is_live_after(now, r.not_before(token.subject, now))
            })
        });
        Ok(session_gone
            || r.tokens.get(token.jti, now).is_some()
            || r.users
                .get(token.subject, now)
                .is_some_and(|nb| token.issued_at_ms < *nb))
    }

    async fn mark_spent(&self, jti: &str, expires_at: u64) -> Result<bool> {
        self.write(|r, now| {
            if r.spent.get(jti, now).is_some() {
                false
            } else {
                r.spent.entries.insert(jti.to_owned(), ((), expires_at));
                true
            }
        })
    }

    async fn create_session(&self, record: &SessionRecord, limits: &SessionLimits) -> Result<()> {
        self.write(|r, now| {
            let nb = r.not_before(&record.subject, now);
            let sessions = &mut r.sessions;
            match sessions.by_family.get(&record.family) {
                Some(existing) if existing == record => return Ok(()), // the same call again
                Some(_) => {
                    return Err(Error::new(ErrorKind::InternalError)
                        .with_message("a session with this family exists already"));
                }
                None => {}
            }
            // The user's oldest sessions end to make room for this one.
            let mine = sessions.of_user(&record.subject, now, nb);
            let keep = limits.per_user.max(1) - 1;
            for family in &mine[..mine.len().saturating_sub(keep)] {
                sessions.remove(family, now, nb);
            }
            if sessions.by_family.len() as u64 >= limits.global {
                sessions.sweep(now);
                if sessions.by_family.len() as u64 >= limits.global {
                    return Err(too_many_sessions());
                }
            }
            sessions
                .by_family
                .insert(record.family.clone(), record.clone());
            sessions
                .by_user
                .entry(record.subject.clone())
                .or_default()
                .push(record.family.clone());
            Ok(())
        })?
    }

    async fn rotate_session(&self, rotation: &Rotation<'_>) -> Result<RotationOutcome> {
        self.write(|r, now| {
            let nb = r.not_before(rotation.subject, now);
            let Some(record) = r.sessions.by_family.get_mut(rotation.family) else {
                return RotationOutcome::Ended;
            };
            let outcome = rotation.apply(record, nb);
            if outcome == RotationOutcome::Reused
                || (outcome == RotationOutcome::Ended && record.subject == rotation.subject)
            {
                r.sessions.remove(rotation.family, now, nb);
            }
            outcome
        })
    }

    async fn sessions(&self, subject: &str) -> Result<Vec<SessionRecord>> {
        let now = self.clock.secs();
        let r = self.inner.read().map_err(|_| poisoned())?;
        let nb = r.not_before(subject, now);
        let mut out: Vec<SessionRecord> = r
            .sessions
            .by_user
            .get(subject)
            .into_iter()
            .flatten()
            .filter_map(|f| r.sessions.by_family.get(f))
            .filter(|s| s.is_live_after(now, nb))
            .cloned()
            .collect();
        out.sort_by_key(|s| std::cmp::Reverse(s.created_at_ms));
        Ok(out)
    }

    async fn end_session(&self, family: &str) -> Result<bool> {
        self.write(|r, now| {
            let nb = r
                .sessions
                .by_family
                .get(family)
                .map_or(0, |s| r.not_before(&s.subject, now));
            r.sessions.remove(family, now, nb)
        })
    }

    async fn end_session_of(&self, subject: &str, id: &str) -> Result<bool> {
        self.write(|r, now| {
            let nb = r.not_before(subject, now);
            let family = r
                .sessions
                .of_user(subject, now, nb)
                .into_iter()
                .find(|f| r.sessions.by_family.get(f).is_some_and(|s| s.id == id));
            family.is_some_and(|f| r.sessions.remove(&f, now, nb))
        })
    }

    async fn end_sessions_of(
        &self,
        subject: &str,
        except: Option<&str>,
        not_before_ms: u64,
        expires_at: u64,
    ) -> Result<u64> {
        self.write(|r, now| {
            let before = r.not_before(subject, now);
            // Decide what is kept before the not-before moves: the kept session must be
            // live now, and is then stamped at the new not-before.
            let kept = except.filter(|f| {
                r.sessions
                    .by_family
                    .get(*f)
                    .is_some_and(|s| s.subject == subject && s.is_live_after(now, before))
            });
            r.session_nbs.raise(subject, not_before_ms, expires_at, now);
            if let Some(record) = kept.and_then(|f| r.sessions.by_family.get_mut(f)) {
                record.stamp_ms = record.stamp_ms.max(not_before_ms);
            }
            r.sessions.remove_user(subject, kept, now, before)
        })
    }
}

/// The answer when the global session limit is reached: the store fails closed.
fn too_many_sessions() -> Error {
    Error::new(ErrorKind::Overloaded).with_message("too many live sessions; retry later")
}
