//! [`MemoryRevocationStore`]: revocations in process memory, the default revocation store.

use std::collections::HashMap;
use std::sync::RwLock;

use super::poisoned;
use crate::clock::{Clock, SharedClock};
use crate::error::Result;
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

#[derive(Default)]
struct Revocations {
    tokens: ExpiringMap<()>,
    families: ExpiringMap<()>,
    users: ExpiringMap<u64>,
    spent: ExpiringMap<()>,
}

/// Revocations in process memory. The default revocation store.
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
            r.tokens.len() + r.families.len() + r.users.len() + r.spent.len()
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
        guard.families.sweep_if_due(now);
        guard.users.sweep_if_due(now);
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

    async fn revoke_family(&self, family: &str, expires_at: u64) -> Result<()> {
        self.write(|r, _| {
            r.families
                .entries
                .insert(family.to_owned(), ((), expires_at));
        })
    }

    async fn revoke_user(&self, subject: &str, not_before_ms: u64, expires_at: u64) -> Result<()> {
        self.write(|r, _| {
            let entry = r.users.entries.entry(subject.to_owned()).or_insert((0, 0));
            entry.0 = entry.0.max(not_before_ms);
            entry.1 = entry.1.max(expires_at);
        })
    }

    async fn is_revoked(&self, token: &TokenRef<'_>) -> Result<bool> {
        let now = self.clock.secs();
        let r = self.inner.read().map_err(|_| poisoned())?;
        Ok(r.tokens.get(token.jti, now).is_some()
            || token
                .family
                .is_some_and(|f| r.families.get(f, now).is_some())
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
}
