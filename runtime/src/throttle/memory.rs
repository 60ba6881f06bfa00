//! [`MemoryThrottleStore`]: the counts in a bounded map in process memory.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use super::policy::{millis, ms_duration};
use super::{SlotKind, ThrottleSlot, ThrottleStore};
use crate::clock::{Clock, SharedClock};
use crate::error::{Error, ErrorKind, Result};

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    failures: u32,
    lock_until: u64,
    probe_until: u64,
    forget_at: u64,
}

struct MemoryState {
    map: HashMap<String, Entry>,
    last_sweep: u64,
}

/// Throttle counts in process memory: a bounded map that purges expired entries by itself.
/// Fine for one instance; for several, use `RedisThrottleStore` (feature `redis`).
///
/// It holds at most 100 000 keys by default ([`with_capacity`](Self::with_capacity)).
/// Past that, expired entries are purged and then the entries closest to expiry are
/// dropped.
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
                        ..entry
                    },
                );
            }
        }
        self.bound(&mut state, now);
        Ok(0)
    }

    fn failure_now(&self, slots: &[ThrottleSlot<'_>]) -> Result<Vec<u64>> {
        let now = self.now();
        let mut state = self.lock()?;
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
            state.map.insert(slot.key.to_owned(), entry);
            locks.push(lock);
        }
        self.bound(&mut state, now);
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
        self.bound(&mut state, now);
        Ok(())
    }

    /// Purges expired entries now and then, and keeps the map under `max_entries`.
    fn bound(&self, state: &mut MemoryState, now: u64) {
        let full = state.map.len() > self.max_entries;
        if full || now >= state.last_sweep.saturating_add(SWEEP_EVERY_MS) {
            state.map.retain(|_, e| e.forget_at > now);
            state.last_sweep = now;
        }
        if state.map.len() > self.max_entries {
            // Still full of live entries: drop the ones closest to expiry, down to 90 %.
            let keep = self.max_entries - self.max_entries / 10;
            let mut by_expiry: Vec<(u64, String)> = state
                .map
                .iter()
                .map(|(k, e)| (e.forget_at, k.clone()))
                .collect();
            let drop = by_expiry.len() - keep;
            by_expiry.select_nth_unstable_by_key(drop.saturating_sub(1), |(at, _)| *at);
            for (_, key) in by_expiry.into_iter().take(drop) {
                state.map.remove(&key);
            }
            tracing::warn!(
                max_entries = self.max_entries,
                "the in-memory login throttle is full; dropped the entries closest to expiry"
            );
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.state.lock().map_or(0, |s| s.map.len())
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::throttle::Backoff;

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
