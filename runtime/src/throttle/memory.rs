//! [`MemoryThrottleStore`]: the counts in a bounded map in process memory.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use super::policy::{millis, ms_duration};
use super::{SlotKind, ThrottleSlot, ThrottleStore, full};
use crate::clock::{Clock, SharedClock};
use crate::error::{Error, ErrorKind, Result};

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    failures: u32,
    lock_until: u64,
    probe_until: u64,
    forget_at: u64,
    /// Past its free allowance (in back-off, locked, or at its rate limit): never evicted
    /// to make room, only forgotten at `forget_at` (or reset by a success).
    held: bool,
    /// When it was last written, for evicting the oldest free counters first.
    touched: u64,
}

struct MemoryState {
    map: HashMap<String, Entry>,
    last_sweep: u64,
    /// When a sweep last failed to make room (the map is full of held entries): the next
    /// one waits a little, so that refusing new keys stays cheap.
    full_since: Option<u64>,
}

/// Throttle counts in process memory: a bounded map that purges expired entries by itself.
/// Fine for one instance; for several, use `RedisThrottleStore` (feature `redis`).
///
/// It holds at most 100 000 keys by default ([`with_capacity`](Self::with_capacity)).
/// When it is full and a new key must be counted, it first forgets expired entries, then
/// evicts **free counters** (keys still within their free allowance: fewer failures than
/// `free_failures`, fewer events than a rate limit allows), oldest first, down to 90 %.
/// It never evicts a key in back-off, locked or at its limit: an attacker flooding it
/// with cheap failures under fresh names cannot erase a victim's lock. When it is full of
/// such keys it **fails closed for new keys**: an attempt under a key it cannot count is
/// refused with [`ErrorKind::Overloaded`] (503, `Retry-After: 1`) before any password is
/// checked, while keys it already holds keep working; room comes back as locks expire.
///
/// ```
/// use centurion::throttle::{MemoryThrottleStore, Throttle, ThrottleConfig};
/// let throttle = Throttle::new(MemoryThrottleStore::with_capacity(10_000), ThrottleConfig::default())?;
/// # let _ = throttle;
/// # Ok::<(), centurion::Error>(())
/// ```
pub struct MemoryThrottleStore {
    state: Mutex<MemoryState>,
    max_entries: usize,
    clock: SharedClock,
}

const SWEEP_EVERY_MS: u64 = 60_000;

/// How long a map full of held entries is not swept again.
const FULL_RETRY_MS: u64 = 250;

impl MemoryThrottleStore {
    /// An empty store of at most 100 000 keys, on the system clock.
    pub fn new() -> Self {
        Self::with_capacity(100_000)
    }

    /// An empty store of at most `max_entries` keys (at least one).
    pub fn with_capacity(max_entries: usize) -> Self {
        Self {
            state: Mutex::new(MemoryState {
                map: HashMap::new(),
                last_sweep: 0,
                full_since: None,
            }),
            max_entries: max_entries.max(1),
            clock: SharedClock::system(),
        }
    }

    /// Reads the time from `clock`: locks and counts end by it (a test's
    /// [`ManualClock`](crate::clock::ManualClock)).
    ///
    /// ```
    /// use centurion::{clock::SystemClock, throttle::MemoryThrottleStore};
    /// let store = MemoryThrottleStore::new().with_clock(SystemClock);
    /// # let _ = store;
    /// ```
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = SharedClock::new(clock);
        self
    }

    /// How many keys it holds now (expired ones not yet forgotten included).
    ///
    /// ```
    /// use centurion::throttle::MemoryThrottleStore;
    /// assert_eq!(MemoryThrottleStore::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.state.lock().map_or(0, |s| s.map.len())
    }

    /// Whether it holds no key.
    ///
    /// ```
    /// use centurion::throttle::MemoryThrottleStore;
    /// assert!(MemoryThrottleStore::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn now(&self) -> u64 {
        // Milliseconds of the clock, never 0, so that 0 means "unset".
        self.clock.ms().max(1)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, MemoryState>> {
        self.state.lock().map_err(|_| {
            Error::new(ErrorKind::StoreUnavailable).with_message("the throttle's lock is poisoned")
        })
    }

    fn live(state: &MemoryState, key: &str, now: u64) -> Option<Entry> {
        state.map.get(key).copied().filter(|e| e.forget_at > now)
    }

    /// Whether `keys` can all be written: those already there, and room for the others
    /// (made by forgetting expired entries and evicting the oldest free counters).
    fn room_for<'k>(
        &self,
        state: &mut MemoryState,
        keys: impl IntoIterator<Item = &'k str>,
        now: u64,
    ) -> bool {
        let mut new: Vec<&str> = keys
            .into_iter()
            .filter(|k| !state.map.contains_key(*k))
            .collect();
        new.sort_unstable();
        new.dedup();
        let needed = new.len();
        if state.map.len() + needed <= self.max_entries {
            return true;
        }
        if state
            .full_since
            .is_some_and(|since| now < since.saturating_add(FULL_RETRY_MS))
        {
            return false;
        }
        state.map.retain(|_, e| e.forget_at > now);
        state.last_sweep = now;
        if state.map.len() + needed > self.max_entries {
            let target = (self.max_entries - self.max_entries / 10)
                .min(self.max_entries.saturating_sub(needed));
            let excess = state.map.len().saturating_sub(target);
            let mut free: Vec<(u64, String)> = state
                .map
                .iter()
                .filter(|(_, e)| !e.held)
                .map(|(k, e)| (e.touched, k.clone()))
                .collect();
            let evict = excess.min(free.len());
            if evict > 0 {
                if evict < free.len() {
                    free.select_nth_unstable_by_key(evict - 1, |(touched, _)| *touched);
                }
                for (_, key) in free.into_iter().take(evict) {
                    state.map.remove(&key);
                }
                tracing::warn!(
                    max_entries = self.max_entries,
                    evicted = evict,
                    "the in-memory login throttle is full; forgot the oldest counters still within their free allowance"
                );
            }
        }
        if state.map.len() + needed <= self.max_entries {
            state.full_since = None;
            true
        } else {
            if state.full_since.is_none() {
                tracing::error!(
                    max_entries = self.max_entries,
                    "the in-memory login throttle is full of locked keys; attempts under new keys are refused until locks expire"
                );
            }
            state.full_since = Some(now);
            false
        }
    }

    fn check_now(&self, slots: &[ThrottleSlot<'_>]) -> Result<u64> {
        let now = self.now();
        let mut state = self.lock()?;
        let mut wait = 0;
        for slot in slots {
            if let Some(e) = Self::live(&state, slot.key, now) {
                let until = e.lock_until.max(e.probe_until);
                wait = wait.max(until.saturating_sub(now));
            }
        }
        if wait > 0 {
            return Ok(wait);
        }
        // An attempt that could not be counted if it failed is not let through.
        if !self.room_for(&mut state, slots.iter().map(|s| s.key), now) {
            return Err(full());
        }
        for slot in slots {
            let entry = Self::live(&state, slot.key, now).unwrap_or_default();
            if entry.failures >= slot.policy.free_failures {
                let step = slot
                    .policy
                    .step_ms(entry.failures - slot.policy.free_failures);
                let probe_until = now.saturating_add(step);
                state.map.insert(
                    slot.key.to_owned(),
                    Entry {
                        probe_until,
                        forget_at: entry.forget_at.max(probe_until),
                        held: true,
                        touched: now,
                        ..entry
                    },
                );
            }
        }
        self.sweep_now_and_then(&mut state, now);
        Ok(0)
    }

    fn failure_now(&self, slots: &[ThrottleSlot<'_>]) -> Result<Vec<u64>> {
        let now = self.now();
        let mut state = self.lock()?;
        if !self.room_for(&mut state, slots.iter().map(|s| s.key), now) {
            return Err(full());
        }
        let mut locks = Vec::with_capacity(slots.len());
        for slot in slots {
            let mut entry = Self::live(&state, slot.key, now).unwrap_or_default();
            entry.failures = entry.failures.saturating_add(1);
            entry.probe_until = 0;
            let mut forget_at = now.saturating_add(millis(slot.policy.forget_after));
            let mut lock = 0;
            if entry.failures > slot.policy.free_failures {
                lock = slot
                    .policy
                    .step_ms(entry.failures - slot.policy.free_failures - 1);
                entry.lock_until = now.saturating_add(lock);
                forget_at = forget_at.max(entry.lock_until);
            }
            entry.forget_at = forget_at;
            entry.held = entry.failures >= slot.policy.free_failures;
            entry.touched = now;
            state.map.insert(slot.key.to_owned(), entry);
            locks.push(lock);
        }
        self.sweep_now_and_then(&mut state, now);
        Ok(locks)
    }

    fn success_now(&self, slots: &[ThrottleSlot<'_>]) -> Result<()> {
        let now = self.now();
        let mut state = self.lock()?;
        for slot in slots {
            match slot.kind {
                SlotKind::Account => {
                    state.map.remove(slot.key);
                }
                SlotKind::Address => {
                    if let Some(e) = state.map.get_mut(slot.key) {
                        e.probe_until = 0;
                    }
                }
            }
        }
        self.sweep_now_and_then(&mut state, now);
        Ok(())
    }

    fn hit_now(&self, key: &str, max: u32, window: Duration) -> Result<u64> {
        let now = self.now();
        let mut state = self.lock()?;
        if let Some(e) = Self::live(&state, key, now)
            && e.failures >= max
        {
            return Ok(e.forget_at.saturating_sub(now));
        }
        if !self.room_for(&mut state, [key], now) {
            return Err(full());
        }
        let mut entry = Self::live(&state, key, now).unwrap_or(Entry {
            forget_at: now.saturating_add(millis(window).max(1)),
            ..Entry::default()
        });
        entry.failures = entry.failures.saturating_add(1);
        entry.held = entry.failures >= max;
        entry.touched = now;
        state.map.insert(key.to_owned(), entry);
        self.sweep_now_and_then(&mut state, now);
        Ok(0)
    }

    /// Forgets expired entries once a minute.
    fn sweep_now_and_then(&self, state: &mut MemoryState, now: u64) {
        if now >= state.last_sweep.saturating_add(SWEEP_EVERY_MS) {
            state.map.retain(|_, e| e.forget_at > now);
            state.last_sweep = now;
        }
    }
}

impl Default for MemoryThrottleStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryThrottleStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryThrottleStore")
            .field("max_entries", &self.max_entries)
            .finish_non_exhaustive()
    }
}

impl ThrottleStore for MemoryThrottleStore {
    async fn check(&self, slots: &[ThrottleSlot<'_>]) -> Result<Duration> {
        self.check_now(slots).map(ms_duration)
    }

    async fn record_failure(&self, slots: &[ThrottleSlot<'_>]) -> Result<Vec<Duration>> {
        Ok(self
            .failure_now(slots)?
            .into_iter()
            .map(ms_duration)
            .collect())
    }

    async fn record_success(&self, slots: &[ThrottleSlot<'_>]) -> Result<()> {
        self.success_now(slots)
    }

    async fn hit(&self, key: &str, max: u32, window: Duration) -> Result<Duration> {
        self.hit_now(key, max, window).map(ms_duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::throttle::Backoff;

    #[test]
    fn two_new_keys_at_once_never_pass_the_capacity() {
        let store = MemoryThrottleStore::with_capacity(3);
        let policy = Backoff::new(5, Duration::from_secs(1), Duration::from_secs(900));
        for i in 0..10 {
            let (a, b) = (format!("a:{i}"), format!("ip:{i}"));
            let slots = [
                ThrottleSlot {
                    key: &a,
                    kind: SlotKind::Account,
                    policy: &policy,
                },
                ThrottleSlot {
                    key: &b,
                    kind: SlotKind::Address,
                    policy: &policy,
                },
            ];
            store.failure_now(&slots).unwrap();
            assert!(store.len() <= 3, "{}", store.len());
        }
    }

    #[test]
    fn memory_is_bounded() {
        let store = MemoryThrottleStore::with_capacity(100);
        let policy = Backoff::new(5, Duration::from_secs(1), Duration::from_secs(900));
        for i in 0..1000 {
            let key = format!("a:user{i}");
            let slots = [ThrottleSlot {
                key: &key,
                kind: SlotKind::Account,
                policy: &policy,
            }];
            store.failure_now(&slots).unwrap();
            assert!(store.len() <= 100);
        }
    }
}
