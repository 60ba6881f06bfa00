//! Keeps the users that [`CurrentUser`](crate::CurrentUser) loads for a short, configured
//! time, so a busy client does not cost one user-store read per request.
//!
//! Off by default. Entries are dropped when their time is up, when centurion itself changes
//! the user (password change or rehash, activation, `revoke_user`) and when the application
//! calls [`Centurion::forget_user`](crate::Centurion::forget_user). A read that started
//! before such a change never puts its (older) answer back: every change bumps an epoch, and
//! a read stores its answer only if the epoch did not move while it ran.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

pub(crate) struct UserCache<U> {
    entries: Cache<Box<str>, (Arc<U>, Instant)>,
    ttl: Duration,
    epoch: AtomicU64,
}

impl<U: Send + Sync + 'static> UserCache<U> {
    /// `None` (no caching) when either the time or the capacity is zero.
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Option<Self> {
        if ttl.is_zero() || capacity == 0 {
            return None;
        }
        Some(Self {
            entries: Cache::new(capacity),
            ttl,
            epoch: AtomicU64::new(0),
        })
    }

    /// The user, if it was loaded less than the configured time ago and not forgotten since.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<U>> {
        let (user, loaded) = self.entries.get(id)?;
        if loaded.elapsed() < self.ttl {
            Some(user)
        } else {
            self.entries.remove(id);
            None
        }
    }

    /// Read before asking the store; hand it back to [`Self::put`].
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Stores what the store answered, unless a change happened since `epoch` was read.
    pub(crate) fn put(&self, id: &str, user: &Arc<U>, epoch: u64) {
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return;
        }
        self.entries
            .insert(id.into(), (Arc::clone(user), Instant::now()));
        // A change that slipped in between the check and the insert: its `forget` may have
        // run before the insert, so take the entry out again.
        if self.epoch.load(Ordering::SeqCst) != epoch {
            self.entries.remove(id);
        }
    }

    /// Drops the user and keeps reads already in flight from storing older data.
    pub(crate) fn forget(&self, id: &str) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.entries.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_time_or_capacity_turns_it_off() {
        assert!(UserCache::<u8>::new(Duration::ZERO, 10).is_none());
        assert!(UserCache::<u8>::new(Duration::from_secs(1), 0).is_none());
    }

    #[test]
    fn entries_expire() {
        let cache = UserCache::new(Duration::from_millis(50), 10).unwrap();
        cache.put("1", &Arc::new(7u8), cache.epoch());
        assert_eq!(cache.get("1").as_deref(), Some(&7));
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get("1").is_none());
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_stored() {
        let cache = UserCache::new(Duration::from_secs(60), 10).unwrap();
        let before = cache.epoch();
        // The store answered with the old user; meanwhile the user changed.
        cache.forget("1");
        cache.put("1", &Arc::new(1u8), before);
        assert!(cache.get("1").is_none());
        // A read that started after the change is stored.
        cache.put("1", &Arc::new(2u8), cache.epoch());
        assert_eq!(cache.get("1").as_deref(), Some(&2));
        cache.forget("1");
        assert!(cache.get("1").is_none());
    }
}
