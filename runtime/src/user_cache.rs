//! Keeps the users that [`CurrentUser`](crate::CurrentUser) loads for a short, configured
//! time, so a busy client does not cost one user-store read per request.
//!
//! Off by default. Entries are dropped when their time is up, when centurion itself changes
//! the user (password change or rehash, activation, `revoke_user`) and when the application
//! calls [`Centurion::forget_user`](crate::Centurion::forget_user).
//!
//! A read that started before such a change must never be served after it. Every entry
//! carries the epoch its read started in, taken from one of a fixed set of counters chosen by
//! the user id; `forget` bumps that counter, and `get` serves an entry only while its counter
//! still shows the entry's epoch. So once `forget` has returned, no read that began before it
//! can be served, however the threads interleave, and forgetting one user disturbs only the
//! few others that share its counter.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use quick_cache::sync::Cache;

use crate::clock::SharedClock;

/// Number of epoch counters (a power of two).
const STRIPES: usize = 64;

struct Entry<U> {
    user: Arc<U>,
    /// When it was stored, in milliseconds of the instance's clock.
    loaded_ms: u64,
    epoch: u64,
}

// By hand: a derive would ask for `U: Clone`, and only the `Arc` is cloned.
impl<U> Clone for Entry<U> {
    fn clone(&self) -> Self {
        Self {
            user: Arc::clone(&self.user),
            loaded_ms: self.loaded_ms,
            epoch: self.epoch,
        }
    }
}

pub(crate) struct UserCache<U> {
    entries: Cache<Box<str>, Entry<U>>,
    ttl_ms: u64,
    clock: SharedClock,
    epochs: [AtomicU64; STRIPES],
    hasher: std::collections::hash_map::RandomState,
}

/// The epoch a read started in, to hand back to [`UserCache::put`].
#[derive(Clone, Copy)]
pub(crate) struct ReadEpoch(u64);

impl<U: Send + Sync + 'static> UserCache<U> {
    /// `None` (no caching) when either the time or the capacity is zero.
    pub(crate) fn new(ttl: Duration, capacity: usize, clock: SharedClock) -> Option<Self> {
        if ttl.is_zero() || capacity == 0 {
            return None;
        }
        Some(Self {
            entries: Cache::new(capacity),
            // Whole milliseconds, at least one.
            ttl_ms: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1),
            clock,
            epochs: std::array::from_fn(|_| AtomicU64::new(0)),
            hasher: std::collections::hash_map::RandomState::new(),
        })
    }

    fn counter(&self, id: &str) -> &AtomicU64 {
        // The modulo keeps the index in range; the truncation is harmless.
        #[allow(clippy::cast_possible_truncation)]
        let index = (self.hasher.hash_one(id) as usize) % STRIPES;
        &self.epochs[index]
    }

    /// The user, if it was loaded less than the configured time ago by a read that began
    /// after the last change to it.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<U>> {
        let entry = self.entries.get(id)?;
        let now = self.clock.ms();
        // A clock that went back counts as expired: the entry's age is unknown.
        let fresh = now >= entry.loaded_ms && now - entry.loaded_ms < self.ttl_ms;
        if entry.epoch == self.counter(id).load(Ordering::SeqCst) && fresh {
            Some(entry.user)
        } else {
            self.entries.remove(id);
            None
        }
    }

    /// Call before asking the store; hand the answer to [`Self::put`].
    pub(crate) fn begin_read(&self, id: &str) -> ReadEpoch {
        ReadEpoch(self.counter(id).load(Ordering::SeqCst))
    }

    /// Stores what the store answered to a read begun at `epoch`. An answer that a change
    /// overtook is stored too, but never served: `get` sees the counter moved.
    pub(crate) fn put(&self, id: &str, user: &Arc<U>, epoch: ReadEpoch) {
        if self.counter(id).load(Ordering::SeqCst) != epoch.0 {
            return;
        }
        self.entries.insert(
            id.into(),
            Entry {
                user: Arc::clone(user),
                loaded_ms: self.clock.ms(),
                epoch: epoch.0,
            },
        );
    }

    /// Drops the user, and keeps every read already in flight from being served.
    pub(crate) fn forget(&self, id: &str) {
        self.counter(id).fetch_add(1, Ordering::SeqCst);
        self.entries.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn cache(ttl: Duration) -> UserCache<u8> {
        UserCache::new(ttl, 10, SharedClock::system()).unwrap()
    }

    #[test]
    fn zero_time_or_capacity_turns_it_off() {
        assert!(UserCache::<u8>::new(Duration::ZERO, 10, SharedClock::system()).is_none());
        assert!(UserCache::<u8>::new(Duration::from_secs(1), 0, SharedClock::system()).is_none());
    }

    #[test]
    fn entries_expire() {
        let clock = ManualClock::new();
        let cache = UserCache::new(
            Duration::from_millis(50),
            10,
            SharedClock::new(clock.clone()),
        )
        .unwrap();
        cache.put("1", &Arc::new(7), cache.begin_read("1"));
        assert_eq!(cache.get("1").as_deref(), Some(&7));
        clock.advance(Duration::from_millis(49));
        assert_eq!(cache.get("1").as_deref(), Some(&7));
        clock.advance(Duration::from_millis(1));
        assert!(cache.get("1").is_none());
        // A clock that went back: the entry's age is unknown, so it is not served.
        cache.put("1", &Arc::new(7), cache.begin_read("1"));
        clock.set(std::time::UNIX_EPOCH);
        assert!(cache.get("1").is_none());
    }

    #[test]
    fn a_read_that_began_before_a_change_is_never_served() {
        let cache = cache(Duration::from_secs(60));
        // The change lands between the read's start and its answer being stored.
        let before = cache.begin_read("1");
        cache.forget("1");
        cache.put("1", &Arc::new(1), before);
        assert!(cache.get("1").is_none());

        // The answer is stored first and the change lands afterwards: the same.
        let before = cache.begin_read("1");
        cache.put("1", &Arc::new(1), before);
        assert_eq!(cache.get("1").as_deref(), Some(&1));
        cache.forget("1");
        assert!(cache.get("1").is_none());

        // The answer of a read that began after the change is served.
        cache.put("1", &Arc::new(2), cache.begin_read("1"));
        assert_eq!(cache.get("1").as_deref(), Some(&2));
    }

    #[test]
    fn the_epoch_is_checked_when_serving_not_only_when_storing() {
        // Puts an entry of an old epoch in place directly, as a reader preempted between
        // its check and its insert would: `get` must still refuse it.
        let cache = cache(Duration::from_secs(60));
        let before = cache.begin_read("1");
        cache.forget("1");
        cache.entries.insert(
            "1".into(),
            Entry {
                user: Arc::new(1),
                loaded_ms: cache.clock.ms(),
                epoch: before.0,
            },
        );
        assert!(cache.get("1").is_none());
    }

    #[test]
    fn forgetting_one_user_leaves_most_others_cached() {
        let cache = UserCache::new(Duration::from_secs(60), 1000, SharedClock::system()).unwrap();
        let ids: Vec<String> = (0..200).map(|i| i.to_string()).collect();
        for id in &ids {
            cache.put(id, &Arc::new(0u8), cache.begin_read(id));
        }
        cache.forget("0");
        let kept = ids.iter().filter(|id| cache.get(id).is_some()).count();
        assert!(kept >= 180, "only {kept} of 199 kept");
    }
}
