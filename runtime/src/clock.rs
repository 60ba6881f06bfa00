//! Where centurion reads the time: one [`Clock`] per instance, which tests can move.
//!
//! Every time centurion reads goes through the instance's clock: token issue (`iat`,
//! `nbf`, `exp`) and verification, the not-before of [`Centurion::revoke_user`], cookie
//! lifetimes, the user cache's time to live, and, when the stores are given the same clock,
//! the expiry of in-memory and SQL revocations and the in-memory throttle's locks. The
//! default is [`SystemClock`]. Redis keeps its own server clock (`EXAT`, `TIME`).
//!
//! With the `test-util` feature, [`ManualClock`] is a clock that moves only when a test
//! moves it, so a test of expiry advances the clock instead of sleeping:
//!
//! ```
//! # #[cfg(feature = "test-util")] {
//! # async fn demo() -> Result<(), centurion::Error> {
//! use std::time::Duration;
//! use centurion::{Centurion, ErrorKind, clock::ManualClock, memory::MemoryUserStore, testing::TestUser};
//!
//! let clock = ManualClock::new();
//! let auth = Centurion::<TestUser>::builder()
//!     .secret("an-example-secret-of-at-least-32-bytes!!")
//!     .user_store(MemoryUserStore::new())
//!     .clock(clock.clone())
//!     .build()?;
//! let pair = auth.issue_pair(&TestUser::new(1, "ada", &[])).await?;
//! clock.advance(Duration::from_secs(15 * 60)); // the access lifespan
//! let err = auth.verify_access(&pair.access_token).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::ExpiredAccessError);
//! # Ok(()) }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
//! # }
//! ```
//!
//! [`Centurion::revoke_user`]: crate::Centurion::revoke_user

use std::fmt;
use std::sync::Arc;
#[cfg(any(test, feature = "test-util"))]
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(any(test, feature = "test-util"))]
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time.
///
/// Implement it to run centurion on another notion of "now" (a clock shared by a
/// simulation, say); tests use [`ManualClock`]. It must be cheap: it is read on every
/// request.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use centurion::clock::Clock;
///
/// /// Always 2030-01-01T00:00:00Z.
/// struct Frozen;
/// impl Clock for Frozen {
///     fn now(&self) -> SystemTime {
///         UNIX_EPOCH + Duration::from_secs(1_893_456_000)
///     }
/// }
/// assert_eq!(Frozen.now().duration_since(UNIX_EPOCH).unwrap().as_secs(), 1_893_456_000);
/// ```
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> SystemTime {
        C::now(self)
    }
}

/// The operating system's clock, [`SystemTime::now`]: the default.
///
/// ```
/// use centurion::clock::{Clock, SystemClock};
/// assert!(SystemClock.now() > std::time::UNIX_EPOCH);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until it is moved (feature `test-util`). Clones share one
/// time, so a test keeps a clone and hands another to the builder and the stores.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use centurion::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_000));
/// let shared = clock.clone();
/// clock.advance(Duration::from_millis(1_500));
/// assert_eq!(shared.now(), UNIX_EPOCH + Duration::from_millis(1_001_500));
/// clock.set(UNIX_EPOCH + Duration::from_secs(5));
/// assert_eq!(shared.now(), UNIX_EPOCH + Duration::from_secs(5));
/// ```
#[cfg(any(test, feature = "test-util"))]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
#[derive(Clone)]
pub struct ManualClock {
    /// Nanoseconds since the Unix epoch.
    nanos: Arc<AtomicU64>,
}

#[cfg(any(test, feature = "test-util"))]
impl ManualClock {
    /// A clock standing at the current system time.
    pub fn new() -> Self {
        Self::at(SystemTime::now())
    }

    /// A clock standing at `time` (clamped to the Unix epoch and year 2554).
    pub fn at(time: SystemTime) -> Self {
        Self {
            nanos: Arc::new(AtomicU64::new(nanos_since_epoch(time))),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(by))
            })
            .ok();
    }

    /// Puts the clock at `time` (forward or back).
    pub fn set(&self, time: SystemTime) {
        self.nanos.store(nanos_since_epoch(time), Ordering::SeqCst);
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

#[cfg(any(test, feature = "test-util"))]
impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}

#[cfg(any(test, feature = "test-util"))]
fn nanos_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The clock an instance (or a store) reads, in the units tokens and stores use; cheap to
/// clone.
#[derive(Clone)]
pub(crate) struct SharedClock(Arc<dyn Clock>);

impl SharedClock {
    /// Wraps a clock.
    pub(crate) fn new(clock: impl Clock) -> Self {
        Self(Arc::new(clock))
    }

    /// The operating system's clock.
    pub(crate) fn system() -> Self {
        Self::new(SystemClock)
    }

    /// Seconds since the Unix epoch (0 if the clock is before it).
    pub(crate) fn secs(&self) -> u64 {
        unix_secs(self.0.now())
    }

    /// Milliseconds since the Unix epoch (0 if the clock is before it).
    pub(crate) fn ms(&self) -> u64 {
        unix_ms(self.0.now())
    }
}

impl Default for SharedClock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for SharedClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedClock")
    }
}

/// Seconds from the Unix epoch to `time` (0 before it).
pub(crate) fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Milliseconds from the Unix epoch to `time` (0 before it).
pub(crate) fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
