//! [`ThrottleStore`]: where the failure counts and locks live, like
//! [`RevocationStore`](crate::RevocationStore) for revocations. [`MemoryThrottleStore`]
//! keeps them in the process, `RedisThrottleStore` (feature `redis`) in Redis for fleets.
//!
//! [`MemoryThrottleStore`]: super::MemoryThrottleStore

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::Backoff;
use crate::error::Result;

/// What a key counts: an account (a success resets it) or a client address (it only
/// expires).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SlotKind {
    /// The username tried.
    Account,
    /// The client address (an IPv6 network).
    Address,
}

/// One key of an attempt and the policy it is counted under, as
/// [`Throttle`](super::Throttle) hands it to the store.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleSlot<'a> {
    /// The normalized key: `a:<username>` or `ip:<address>`.
    pub key: &'a str,
    /// What the key counts.
    pub kind: SlotKind,
    /// Its back-off policy.
    pub policy: &'a Backoff,
}

/// Where a [`Throttle`](super::Throttle) keeps its counts and locks.
///
/// The rules are the throttle's (see the [module docs](super)); a store keeps, per key, the
/// failure count, the lock, the probe hold and when the entry may be forgotten, and
/// applies each call to all of its slots atomically. A store that cannot answer returns an
/// error ([`Error::store`](crate::Error::store)): the login is then refused with 503.
///
/// ```
/// # async fn demo() -> centurion::Result<()> {
/// use std::time::Duration;
/// use centurion::throttle::{Backoff, MemoryThrottleStore, SlotKind, ThrottleSlot, ThrottleStore};
///
/// let store = MemoryThrottleStore::new();
/// let policy = Backoff::new(0, Duration::from_secs(1), Duration::from_secs(60));
/// let slots = [ThrottleSlot { key: "a:ada", kind: SlotKind::Account, policy: &policy }];
/// assert_eq!(store.check(&slots).await?, Duration::ZERO);
/// assert_eq!(store.record_failure(&slots).await?, [Duration::from_secs(1)]);
/// assert!(store.check(&slots).await? > Duration::ZERO);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
/// ```
pub trait ThrottleStore: Send + Sync + 'static {
    /// The longest lock or probe hold that remains on any slot (zero: the attempt may go
    /// on). When zero, every slot past its free failures is held for one back-off step,
    /// so that concurrent attempts wait for this one's result.
    fn check(&self, slots: &[ThrottleSlot<'_>]) -> impl Future<Output = Result<Duration>> + Send;

    /// Counts a failure under every slot and releases its hold; returns the lock each slot
    /// got (zero: none).
    fn record_failure(
        &self,
        slots: &[ThrottleSlot<'_>],
    ) -> impl Future<Output = Result<Vec<Duration>>> + Send;

    /// A success: account slots are reset, address slots only released from their hold.
    fn record_success(&self, slots: &[ThrottleSlot<'_>])
    -> impl Future<Output = Result<()>> + Send;

    /// Counts one event under `key` (`r:<action>:<subject>`) in a fixed window of `window`
    /// that starts with the first event. Returns zero while at most `max` events fell in
    /// the window, and otherwise the time until the window ends (an event past `max` is
    /// refused and not counted). A key at its limit is held like a lock: never evicted to
    /// make room.
    fn hit(
        &self,
        key: &str,
        max: u32,
        window: Duration,
    ) -> impl Future<Output = Result<Duration>> + Send;
}

/// A shared store is a store.
impl<S: ThrottleStore> ThrottleStore for Arc<S> {
    fn check(&self, slots: &[ThrottleSlot<'_>]) -> impl Future<Output = Result<Duration>> + Send {
        S::check(self, slots)
    }
    fn record_failure(
        &self,
        slots: &[ThrottleSlot<'_>],
    ) -> impl Future<Output = Result<Vec<Duration>>> + Send {
        S::record_failure(self, slots)
    }
    fn record_success(
        &self,
        slots: &[ThrottleSlot<'_>],
    ) -> impl Future<Output = Result<()>> + Send {
        S::record_success(self, slots)
    }
    fn hit(
        &self,
        key: &str,
        max: u32,
        window: Duration,
    ) -> impl Future<Output = Result<Duration>> + Send {
        S::hit(self, key, max, window)
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Object-safe twin of [`ThrottleStore`].
pub(super) trait DynThrottleStore: Send + Sync {
    fn check<'a>(&'a self, slots: &'a [ThrottleSlot<'a>]) -> BoxFuture<'a, Result<Duration>>;
    fn record_failure<'a>(
        &'a self,
        slots: &'a [ThrottleSlot<'a>],
    ) -> BoxFuture<'a, Result<Vec<Duration>>>;
    fn record_success<'a>(&'a self, slots: &'a [ThrottleSlot<'a>]) -> BoxFuture<'a, Result<()>>;
    fn hit<'a>(
        &'a self,
        key: &'a str,
        max: u32,
        window: Duration,
    ) -> BoxFuture<'a, Result<Duration>>;
    fn describe(&self) -> &'static str;
}

impl<S: ThrottleStore> DynThrottleStore for S {
    fn check<'a>(&'a self, slots: &'a [ThrottleSlot<'a>]) -> BoxFuture<'a, Result<Duration>> {
        Box::pin(ThrottleStore::check(self, slots))
    }
    fn record_failure<'a>(
        &'a self,
        slots: &'a [ThrottleSlot<'a>],
    ) -> BoxFuture<'a, Result<Vec<Duration>>> {
        Box::pin(ThrottleStore::record_failure(self, slots))
    }
    fn record_success<'a>(&'a self, slots: &'a [ThrottleSlot<'a>]) -> BoxFuture<'a, Result<()>> {
        Box::pin(ThrottleStore::record_success(self, slots))
    }
    fn hit<'a>(
        &'a self,
        key: &'a str,
        max: u32,
        window: Duration,
    ) -> BoxFuture<'a, Result<Duration>> {
        Box::pin(ThrottleStore::hit(self, key, max, window))
    }
    fn describe(&self) -> &'static str {
        std::any::type_name::<S>()
    }
}
