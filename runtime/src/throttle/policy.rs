//! The rules: [`Backoff`] (free failures, then doubling locks up to a cap) per kind of key,
//! and [`ThrottleConfig`].

use std::time::Duration;

use crate::error::{Error, Result};

/// The back-off policy of one kind of key.
///
/// After `free_failures` failures, failure number `free_failures + 1 + k` locks the key
/// for `min(base × 2^k, cap)`. The failure count is forgotten `forget_after` after the
/// last failure (or when the lock ends, if later).
///
/// ```
/// use std::time::Duration;
/// use centurion::throttle::Backoff;
///
/// let policy = Backoff::new(5, Duration::from_secs(1), Duration::from_secs(900));
/// assert_eq!(policy.lock_after(5), None);
/// assert_eq!(policy.lock_after(6), Some(Duration::from_secs(1)));
/// assert_eq!(policy.lock_after(8), Some(Duration::from_secs(4)));
/// assert_eq!(policy.lock_after(40), Some(Duration::from_secs(900)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures allowed before the first lock.
    pub free_failures: u32,
    /// The first lock.
    pub base: Duration,
    /// The longest lock.
    pub cap: Duration,
    /// How long a failure count is remembered after the last failure.
    pub forget_after: Duration,
}

impl Backoff {
    /// A policy with `forget_after` of one day.
    pub const fn new(free_failures: u32, base: Duration, cap: Duration) -> Self {
        Self {
            free_failures,
            base,
            cap,
            forget_after: Duration::from_secs(24 * 3600),
        }
    }

    /// Replaces `forget_after`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use centurion::throttle::Backoff;
    /// let p = Backoff::new(20, Duration::from_secs(1), Duration::from_secs(900))
    ///     .forget_after(Duration::from_secs(3600));
    /// assert_eq!(p.forget_after, Duration::from_secs(3600));
    /// ```
    pub const fn forget_after(mut self, forget_after: Duration) -> Self {
        self.forget_after = forget_after;
        self
    }

    /// The lock imposed by failure number `failures` (1-based), if any.
    pub fn lock_after(&self, failures: u32) -> Option<Duration> {
        failures
            .checked_sub(self.free_failures)
            .filter(|k| *k > 0)
            .map(|k| ms_duration(self.step_ms(k - 1)))
    }

    /// `min(base × 2^k, cap)` in milliseconds.
    pub(super) fn step_ms(&self, k: u32) -> u64 {
        let base = millis(self.base);
        let cap = millis(self.cap);
        if k >= 63 {
            return cap;
        }
        base.saturating_mul(1 << k).min(cap)
    }

    fn validate(&self, what: &str) -> Result<()> {
        if self.base.is_zero() || self.base < Duration::from_millis(1) {
            return Err(Error::config(format!(
                "throttle: {what}.base must be at least 1 ms"
            )));
        }
        if self.cap < self.base {
            return Err(Error::config(format!(
                "throttle: {what}.cap must not be shorter than {what}.base"
            )));
        }
        if self.forget_after < Duration::from_millis(1) {
            return Err(Error::config(format!(
                "throttle: {what}.forget_after must be positive"
            )));
        }
        Ok(())
    }
}

pub(super) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub(super) fn ms_duration(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// At most `max` events per `per`, in fixed windows that start with the first event.
///
/// ```
/// use std::time::Duration;
/// use centurion::throttle::RateLimit;
/// let limit = RateLimit::new(30, Duration::from_secs(60));
/// assert_eq!(limit.max, 30);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Events allowed per window.
    pub max: u32,
    /// The window.
    pub per: Duration,
}

impl RateLimit {
    /// `max` events per `per`.
    pub const fn new(max: u32, per: Duration) -> Self {
        Self { max, per }
    }

    fn validate(&self, what: &str) -> Result<()> {
        if self.max == 0 || self.per < Duration::from_millis(1) {
            return Err(Error::config(format!(
                "throttle: {what} must allow at least one event in a positive window"
            )));
        }
        Ok(())
    }
}

/// Settings of a [`Throttle`](super::Throttle).
///
/// Defaults: per account 5 free failures, then 1 s doubling up to 15 minutes, counts
/// forgotten after a day; per address 20 free failures, then 1 s doubling up to
/// 15 minutes, counts forgotten after an hour; IPv6 counted per /64. Anonymous requests
/// per client address: 30 registrations a minute, 10 password-reset requests a minute;
/// one reset mail per account every 5 minutes. How the counters are kept (how many in
/// memory, how long to wait for Redis) is the [store](super::ThrottleStore)'s business.
///
/// ```
/// use std::time::Duration;
/// use centurion::throttle::{Backoff, ThrottleConfig};
///
/// let mut config = ThrottleConfig::default();
/// assert_eq!(config.account.free_failures, 5);
/// assert_eq!(config.address.free_failures, 20);
/// config.address = Backoff::new(50, Duration::from_secs(1), Duration::from_secs(300));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThrottleConfig {
    /// The policy per account (username).
    pub account: Backoff,
    /// The policy per client address.
    pub address: Backoff,
    /// IPv6 addresses are counted per network of this prefix length (default 64; 128 to
    /// count each address).
    pub ipv6_prefix: u8,
    /// Registrations per client address ([`Throttle::registration`](super::Throttle::registration)):
    /// default 30 a minute.
    pub registrations: RateLimit,
    /// Password-reset requests per client address
    /// ([`Throttle::reset_request`](super::Throttle::reset_request)): default 10 a minute.
    pub reset_requests: RateLimit,
    /// Reset mails per account, however many addresses ask
    /// ([`Throttle::reset_mail`](super::Throttle::reset_mail)): default 1 every 5 minutes.
    pub reset_mails: RateLimit,
    /// Notices to an account that someone tried to register with its address, however
    /// many registrations name it
    /// ([`Throttle::address_taken_mail`](super::Throttle::address_taken_mail)): default 3
    /// every 15 minutes (at most 288 a day, where the registration limit alone would let
    /// one client address send 43 200).
    pub address_taken_mails: RateLimit,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            account: Backoff::new(5, Duration::from_secs(1), Duration::from_secs(15 * 60)),
            address: Backoff::new(20, Duration::from_secs(1), Duration::from_secs(15 * 60))
                .forget_after(Duration::from_secs(3600)),
            ipv6_prefix: 64,
            registrations: RateLimit::new(30, Duration::from_secs(60)),
            reset_requests: RateLimit::new(10, Duration::from_secs(60)),
            reset_mails: RateLimit::new(1, Duration::from_secs(5 * 60)),
            address_taken_mails: RateLimit::new(3, Duration::from_secs(15 * 60)),
        }
    }
}

impl ThrottleConfig {
    pub(super) fn validate(&self) -> Result<()> {
        self.account.validate("account")?;
        self.address.validate("address")?;
        if self.ipv6_prefix > 128 {
            return Err(Error::config("throttle: ipv6_prefix must be at most 128"));
        }
        self.registrations.validate("registrations")?;
        self.reset_requests.validate("reset_requests")?;
        self.reset_mails.validate("reset_mails")?;
        self.address_taken_mails.validate("address_taken_mails")?;
        Ok(())
    }
}
