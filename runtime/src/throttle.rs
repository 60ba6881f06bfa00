//! Login throttling per account and per client address, with exponential back-off.
//!
//! A [`Throttle`] counts failed logins under two keys: the account (the username tried)
//! and the client address ([`ClientAddr`](crate::http::ClientAddr)). Each key has a [`Backoff`] policy: after
//! `free_failures` failures, every further failure locks the key for
//! `base × 2^k` (k = 0, 1, 2, …) up to `cap`. While a key is locked, attempts under it
//! are refused with [`ErrorKind::Throttled`] — 429 with `Retry-After` — *before* the
//! password is checked, so a correct password does not get through a lock either.
//!
//! ```
//! # async fn demo() -> centurion::Result<()> {
//! use std::time::Duration;
//! use centurion::ErrorKind;
//! use centurion::throttle::{Backoff, Throttle, ThrottleConfig, ThrottleKeys};
//!
//! let mut config = ThrottleConfig::default();
//! config.account = Backoff::new(2, Duration::from_millis(50), Duration::from_secs(1));
//! let throttle = Throttle::in_memory(config)?;
//! let keys = ThrottleKeys::login("ada", Some("203.0.113.7".parse().unwrap()));
//!
//! for _ in 0..3 {
//!     throttle.check(&keys).await?;          // before verifying the password
//!     throttle.record_failure(&keys).await?; // after a wrong one
//! }
//! let err = throttle.check(&keys).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Throttled);
//! assert!(err.retry_after().unwrap() <= Duration::from_millis(50));
//!
//! tokio::time::sleep(Duration::from_millis(60)).await; // every lock expires by itself
//! throttle.check(&keys).await?;
//! throttle.record_success(&keys).await?; // a good password resets the account's count
//! # Ok(()) }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! With a [`Centurion`], [`Throttle::login`] and [`Throttle::authenticate`] do the three
//! steps around [`Centurion::authenticate`].
//!
//! ## What an attacker can and cannot do
//!
//! - **No lock lasts.** Every lock ends by itself after at most `cap` (15 minutes by
//!   default); attempts refused during a lock are not counted, so hammering a locked
//!   account does not extend its lock. Nobody can lock a user out for good.
//! - **The per-account lock is the cost an attacker can impose on a user**: by failing
//!   once each time the lock runs out, someone can keep one account locked for most of
//!   the time, but never for more than `cap` at a stretch, and only by spending a guess
//!   per lock. A user who gets in resets the account's count.
//! - **A single attacker is caught by the per-address limit first**: its failures across
//!   all accounts count against its address (20 free by default), so it is slowed down
//!   long before it can lock many accounts. The per-account limit is for attackers spread
//!   over many addresses. A success does not reset the address's count (an attacker
//!   logging into an own account between guesses gains nothing); it only expires,
//!   `forget_after` after the last failure.
//! - **No burst through the gaps.** Once a key is in back-off, [`Throttle::check`] lets
//!   one attempt through and locks the key until that attempt's result is recorded (or
//!   for one back-off step, whichever is first): concurrent attempts cannot slip in
//!   together while a password is being verified.
//! - IPv6 clients are counted per /64 network by default
//!   ([`ThrottleConfig::ipv6_prefix`]), since one host usually holds a whole /64.
//! - Usernames are counted case-insensitively and trimmed, truncated to 256 bytes.
//!
//! ## Back ends
//!
//! [`Throttle::in_memory`] keeps the counters in a bounded map that purges expired
//! entries by itself (one instance). `Throttle::redis`, `Throttle::connect_redis` and
//! `Throttle::redis_lazy` (feature `redis`) keep them in Redis so that every instance
//! behind a load balancer counts together; keys expire with the lock or counter they
//! hold, and each operation is one atomic Lua script using the Redis server's clock. A store that cannot answer fails closed: the login is refused
//! with [`ErrorKind::StoreUnavailable`] (503).
//!
//! ## Why not `governor`
//!
//! The `governor` crate (GCRA) was the first candidate and does not fit: its cells
//! replenish at one constant rate, so a lock cannot double with each further failure; it
//! has no way to reset one key after a successful login; checking a key always consumes
//! a cell, whereas a login must be checked before the password is verified and charged
//! only when it fails; and its state lives in one process. The back-off table here is
//! small and kept by hand, in memory and in Redis with the same rules.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::centurion::{Centurion, TokenPair};
use crate::error::{Error, ErrorKind, Result};
use crate::user::AuthUser;

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
    fn step_ms(&self, k: u32) -> u64 {
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

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn ms_duration(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// Settings of a [`Throttle`].
///
/// Defaults: per account 5 free failures, then 1 s doubling up to 15 minutes, counts
/// forgotten after a day; per address 20 free failures, then 1 s doubling up to
/// 15 minutes, counts forgotten after an hour; IPv6 counted per /64; at most 100 000
/// in-memory entries; 2 s for a Redis answer.
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
    /// The most keys the in-memory throttle holds. Past it, expired entries are purged
    /// and then the entries closest to expiry are dropped.
    pub max_entries: usize,
    /// The longest wait for the Redis server before failing closed (503).
    pub store_timeout: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            account: Backoff::new(5, Duration::from_secs(1), Duration::from_secs(15 * 60)),
            address: Backoff::new(20, Duration::from_secs(1), Duration::from_secs(15 * 60))
                .forget_after(Duration::from_secs(3600)),
            ipv6_prefix: 64,
            max_entries: 100_000,
            store_timeout: Duration::from_secs(2),
        }
    }
}

impl ThrottleConfig {
    fn validate(&self) -> Result<()> {
        self.account.validate("account")?;
        self.address.validate("address")?;
        if self.ipv6_prefix > 128 {
            return Err(Error::config("throttle: ipv6_prefix must be at most 128"));
        }
        if self.max_entries == 0 {
            return Err(Error::config("throttle: max_entries must be positive"));
        }
        if self.store_timeout.is_zero() {
            return Err(Error::config("throttle: store_timeout must be positive"));
        }
        Ok(())
    }
}

/// What one login attempt is counted under: the account and the client address, each
/// optional.
///
/// ```
/// use centurion::throttle::ThrottleKeys;
/// let keys = ThrottleKeys::login("Ada", Some("198.51.100.4".parse().unwrap()));
/// let only_address = ThrottleKeys::new().address("198.51.100.4".parse().unwrap());
/// assert_ne!(keys, only_address);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThrottleKeys {
    account: Option<String>,
    address: Option<IpAddr>,
}

impl ThrottleKeys {
    /// No keys (nothing is counted).
    pub fn new() -> Self {
        Self::default()
    }

    /// The keys of a login by `username` from `address`.
    pub fn login(username: &str, address: Option<IpAddr>) -> Self {
        Self {
            account: Some(username.to_owned()),
            address,
        }
    }

    /// Counts under this account.
    pub fn account(mut self, username: &str) -> Self {
        self.account = Some(username.to_owned());
        self
    }

    /// Counts under this client address.
    pub fn address(mut self, address: IpAddr) -> Self {
        self.address = Some(address);
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Account,
    Address,
}

/// One normalized key with its policy.
struct Slot<'a> {
    key: String,
    kind: Kind,
    policy: &'a Backoff,
}

const MAX_ACCOUNT_KEY: usize = 256;

fn account_key(username: &str) -> String {
    let mut name = username.trim().to_lowercase();
    if name.len() > MAX_ACCOUNT_KEY {
        let mut end = MAX_ACCOUNT_KEY;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    name
}

fn address_key(address: IpAddr, ipv6_prefix: u8) -> String {
    match address.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = if ipv6_prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(ipv6_prefix.min(128)))
            };
            let net = Ipv6Addr::from(bits & mask);
            format!("{net}/{}", ipv6_prefix.min(128))
        }
    }
}

/// Counts failed logins and refuses attempts under locked keys; cheap to clone.
///
/// See the [module documentation](self) for the rules and what they guarantee.
pub struct Throttle {
    inner: Arc<Inner>,
}

impl Clone for Throttle {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner {
    config: ThrottleConfig,
    backend: Backend,
}

enum Backend {
    Memory(MemoryBackend),
    #[cfg(feature = "redis")]
    Redis(redis_backend::RedisBackend),
}

impl fmt::Debug for Throttle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &self.inner.backend {
            Backend::Memory(_) => "memory",
            #[cfg(feature = "redis")]
            Backend::Redis(_) => "redis",
        };
        f.debug_struct("Throttle")
            .field("backend", &backend)
            .field("config", &self.inner.config)
            .finish()
    }
}

impl Throttle {
    /// A throttle that keeps its counters in this process (a bounded map that purges
    /// expired entries by itself). Fine for one instance; use Redis for several.
    ///
    /// ```
    /// use centurion::throttle::{Throttle, ThrottleConfig};
    /// let throttle = Throttle::in_memory(ThrottleConfig::default()).unwrap();
    /// # let _ = throttle;
    /// ```
    pub fn in_memory(config: ThrottleConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                backend: Backend::Memory(MemoryBackend::new(config.max_entries)),
                config,
            }),
        })
    }

    /// The settings.
    ///
    /// ```
    /// # use centurion::throttle::{Throttle, ThrottleConfig};
    /// let throttle = Throttle::in_memory(ThrottleConfig::default()).unwrap();
    /// assert_eq!(throttle.config().ipv6_prefix, 64);
    /// ```
    pub fn config(&self) -> &ThrottleConfig {
        &self.inner.config
    }

    fn slots<'a>(&'a self, keys: &ThrottleKeys) -> Vec<Slot<'a>> {
        let config = &self.inner.config;
        let mut slots = Vec::with_capacity(2);
        if let Some(name) = &keys.account {
            slots.push(Slot {
                key: format!("a:{}", account_key(name)),
                kind: Kind::Account,
                policy: &config.account,
            });
        }
        if let Some(address) = keys.address {
            slots.push(Slot {
                key: format!("ip:{}", address_key(address, config.ipv6_prefix)),
                kind: Kind::Address,
                policy: &config.address,
            });
        }
        slots
    }

    /// Refuses the attempt if any of its keys is locked: [`ErrorKind::Throttled`] with
    /// the longest remaining lock as `Retry-After`. Call it before verifying a password.
    ///
    /// Once a key is past its free failures, the attempt allowed through holds the key
    /// until its result is recorded (at most one back-off step), so concurrent attempts
    /// are refused meanwhile.
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// use std::time::Duration;
    /// use centurion::throttle::{Backoff, Throttle, ThrottleConfig, ThrottleKeys};
    /// let mut config = ThrottleConfig::default();
    /// config.account = Backoff::new(0, Duration::from_secs(30), Duration::from_secs(60));
    /// let throttle = Throttle::in_memory(config)?;
    /// let keys = ThrottleKeys::new().account("ada");
    /// throttle.check(&keys).await?;
    /// throttle.record_failure(&keys).await?;
    /// let err = throttle.check(&keys).await.unwrap_err();
    /// assert_eq!(err.status().as_u16(), 429);
    /// assert_eq!(err.retry_after().map(|d| d.as_secs() > 25), Some(true));
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn check(&self, keys: &ThrottleKeys) -> Result<()> {
        let slots = self.slots(keys);
        if slots.is_empty() {
            return Ok(());
        }
        let wait_ms = match &self.inner.backend {
            Backend::Memory(m) => m.check(&slots)?,
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.check(&slots, self.inner.config.store_timeout).await?,
        };
        if wait_ms > 0 {
            let wait = ms_duration(wait_ms);
            tracing::debug!(retry_after = ?wait, "login attempt refused by the throttle");
            return Err(Error::new(ErrorKind::Throttled).with_retry_after(wait));
        }
        Ok(())
    }

    /// Counts a failed attempt under each key, locking those past their free failures.
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::throttle::{Throttle, ThrottleConfig, ThrottleKeys};
    /// let throttle = Throttle::in_memory(ThrottleConfig::default())?;
    /// let keys = ThrottleKeys::new().address("192.0.2.1".parse().unwrap());
    /// for _ in 0..20 {
    ///     throttle.record_failure(&keys).await?; // 20 free failures per address
    /// }
    /// throttle.check(&keys).await?;
    /// throttle.record_failure(&keys).await?; // the 21st locks
    /// assert!(throttle.check(&keys).await.is_err());
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn record_failure(&self, keys: &ThrottleKeys) -> Result<()> {
        let slots = self.slots(keys);
        if slots.is_empty() {
            return Ok(());
        }
        let locks = match &self.inner.backend {
            Backend::Memory(m) => m.record_failure(&slots)?,
            #[cfg(feature = "redis")]
            Backend::Redis(r) => {
                r.record_failure(&slots, self.inner.config.store_timeout)
                    .await?
            }
        };
        for (slot, lock_ms) in slots.iter().zip(locks) {
            if lock_ms > 0 {
                let kind = match slot.kind {
                    Kind::Account => "account",
                    Kind::Address => "address",
                };
                tracing::warn!(throttle.key = kind, lock = ?ms_duration(lock_ms), "repeated failed logins: key locked");
            }
        }
        Ok(())
    }

    /// Records a successful login: the account's count is reset; the address keeps its
    /// count (it only expires) and is released for the next attempt.
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::throttle::{Throttle, ThrottleConfig, ThrottleKeys};
    /// let throttle = Throttle::in_memory(ThrottleConfig::default())?;
    /// let keys = ThrottleKeys::new().account("ada");
    /// for _ in 0..5 {
    ///     throttle.record_failure(&keys).await?;
    /// }
    /// throttle.record_success(&keys).await?; // the count starts again
    /// for _ in 0..5 {
    ///     throttle.check(&keys).await?;
    ///     throttle.record_failure(&keys).await?;
    /// }
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn record_success(&self, keys: &ThrottleKeys) -> Result<()> {
        let slots = self.slots(keys);
        if slots.is_empty() {
            return Ok(());
        }
        match &self.inner.backend {
            Backend::Memory(m) => m.record_success(&slots),
            #[cfg(feature = "redis")]
            Backend::Redis(r) => {
                r.record_success(&slots, self.inner.config.store_timeout)
                    .await
            }
        }
    }

    /// [`Centurion::authenticate`] under the throttle: refused while the account or the
    /// address is locked (even with the right password), a wrong password or unknown
    /// username counted as a failure, a success recorded. Other outcomes (the right
    /// password of an inactive user, a store or hashing-pool error) are not counted; a
    /// hold taken by [`check`](Self::check) then ends by itself within one back-off step.
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::{Centurion, ErrorKind, memory::MemoryUserStore, testing::TestUser};
    /// use centurion::throttle::{Throttle, ThrottleConfig};
    ///
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// let throttle = Throttle::in_memory(ThrottleConfig::default())?;
    /// let client = Some("192.0.2.1".parse().unwrap());
    /// let err = throttle.authenticate(&auth, client, "nobody", "wrong").await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::AuthenticationError);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn authenticate<U: AuthUser>(
        &self,
        auth: &Centurion<U>,
        client: Option<IpAddr>,
        username: &str,
        password: &str,
    ) -> Result<U> {
        let keys = ThrottleKeys::login(username, client);
        self.check(&keys).await?;
        match auth.authenticate(username, password).await {
            Ok(user) => {
                self.record_success(&keys).await?;
                Ok(user)
            }
            Err(e) if e.kind() == ErrorKind::AuthenticationError => {
                self.record_failure(&keys).await?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// [`authenticate`](Self::authenticate) and [`Centurion::issue_pair`] in one: the
    /// throttled twin of [`Centurion::login`].
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// use centurion::throttle::{Throttle, ThrottleConfig};
    ///
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// let (user, token) = auth.register("ada", None, "correct horse battery", &[]).await?;
    /// auth.confirm_registration(&token).await?;
    /// let throttle = Throttle::in_memory(ThrottleConfig::default())?;
    /// let pair = throttle.login(&auth, None, "ada", "correct horse battery").await?;
    /// assert_eq!(pair.token_type, "Bearer");
    /// # let _ = user; Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn login<U: AuthUser>(
        &self,
        auth: &Centurion<U>,
        client: Option<IpAddr>,
        username: &str,
        password: &str,
    ) -> Result<TokenPair> {
        let user = self.authenticate(auth, client, username, password).await?;
        auth.issue_pair(&user).await
    }
}

// ---------------------------------------------------------------------------------------
// In memory

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

struct MemoryBackend {
    state: Mutex<MemoryState>,
    start: Instant,
    max_entries: usize,
}

const SWEEP_EVERY_MS: u64 = 60_000;

impl MemoryBackend {
    fn new(max_entries: usize) -> Self {
        Self {
            state: Mutex::new(MemoryState {
                map: HashMap::new(),
                last_sweep: 0,
            }),
            start: Instant::now(),
            max_entries,
        }
    }

    fn now(&self) -> u64 {
        // Milliseconds since the backend started, never 0, so that 0 means "unset".
        millis(self.start.elapsed()).saturating_add(1)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, MemoryState>> {
        self.state.lock().map_err(|_| {
            Error::new(ErrorKind::StoreUnavailable).with_message("the throttle's lock is poisoned")
        })
    }

    fn live(state: &MemoryState, key: &str, now: u64) -> Option<Entry> {
        state.map.get(key).copied().filter(|e| e.forget_at > now)
    }

    fn check(&self, slots: &[Slot<'_>]) -> Result<u64> {
        let now = self.now();
        let mut state = self.lock()?;
        let mut wait = 0;
        for slot in slots {
            if let Some(e) = Self::live(&state, &slot.key, now) {
                let until = e.lock_until.max(e.probe_until);
                wait = wait.max(until.saturating_sub(now));
            }
        }
        if wait > 0 {
            return Ok(wait);
        }
        for slot in slots {
            let entry = Self::live(&state, &slot.key, now).unwrap_or_default();
            if entry.failures >= slot.policy.free_failures {
                let step = slot
                    .policy
                    .step_ms(entry.failures - slot.policy.free_failures);
                let probe_until = now.saturating_add(step);
                state.map.insert(
                    slot.key.clone(),
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

    fn record_failure(&self, slots: &[Slot<'_>]) -> Result<Vec<u64>> {
        let now = self.now();
        let mut state = self.lock()?;
        let mut locks = Vec::with_capacity(slots.len());
        for slot in slots {
            let mut entry = Self::live(&state, &slot.key, now).unwrap_or_default();
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
            state.map.insert(slot.key.clone(), entry);
            locks.push(lock);
        }
        self.bound(&mut state, now);
        Ok(locks)
    }

    fn record_success(&self, slots: &[Slot<'_>]) -> Result<()> {
        let now = self.now();
        let mut state = self.lock()?;
        for slot in slots {
            match slot.kind {
                Kind::Account => {
                    state.map.remove(&slot.key);
                }
                Kind::Address => {
                    if let Some(e) = state.map.get_mut(&slot.key) {
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

// ---------------------------------------------------------------------------------------
// Redis

#[cfg(feature = "redis")]
mod redis_backend {
    use std::sync::LazyLock;
    use std::time::Duration;

    use redis::aio::ConnectionManager;

    use super::{Kind, Slot};
    use crate::error::{Error, ErrorKind, Result};

    /// Shared Lua prelude: the server's clock in ms and the back-off step.
    const PRELUDE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function step(k, base, cap)
  if k >= 40 then return cap end
  return math.min(cap, base * (2 ^ k))
end
local function num(v)
  if v then return tonumber(v) or 0 end
  return 0
end
";

    /// KEYS: the slots; ARGV per slot: free, base_ms, cap_ms, forget_ms, kind.
    /// Returns the longest remaining lock in ms, or 0 after taking the probe holds.
    static CHECK: LazyLock<redis::Script> = LazyLock::new(|| {
        redis::Script::new(&format!(
            "{PRELUDE}
local wait = 0
for i, key in ipairs(KEYS) do
  local v = redis.call('HMGET', key, 'l', 'p')
  local untl = math.max(num(v[1]), num(v[2]))
  if untl - now > wait then wait = untl - now end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local o = (i - 1) * 5
  local free = tonumber(ARGV[o + 1])
  local f = num(redis.call('HGET', key, 'f'))
  if f >= free then
    local hold = math.floor(step(f - free, tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])))
    redis.call('HSET', key, 'p', string.format('%d', now + hold))
    local ttl = redis.call('PTTL', key)
    if ttl < hold then redis.call('PEXPIRE', key, hold) end
  end
end
return 0
"
        ))
    });

    /// Counts a failure under every slot; returns the lock imposed per slot (ms, 0 = none).
    static FAILURE: LazyLock<redis::Script> = LazyLock::new(|| {
        redis::Script::new(&format!(
            "{PRELUDE}
local locks = {{}}
for i, key in ipairs(KEYS) do
  local o = (i - 1) * 5
  local free = tonumber(ARGV[o + 1])
  local forget = tonumber(ARGV[o + 4])
  local f = redis.call('HINCRBY', key, 'f', 1)
  redis.call('HDEL', key, 'p')
  local lock = 0
  if f > free then
    lock = math.floor(step(f - free - 1, tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])))
    redis.call('HSET', key, 'l', string.format('%d', now + lock))
  end
  redis.call('PEXPIRE', key, math.max(forget, lock))
  locks[i] = lock
end
return locks
"
        ))
    });

    /// Resets account slots and releases the probe hold of address slots.
    static SUCCESS: LazyLock<redis::Script> = LazyLock::new(|| {
        redis::Script::new(
            r"
for i, key in ipairs(KEYS) do
  if ARGV[(i - 1) * 5 + 5] == 'a' then
    redis.call('DEL', key)
  else
    redis.call('HDEL', key, 'p')
  end
end
return 0
",
        )
    });

    pub(super) struct RedisBackend {
        pub(super) conn: ConnectionManager,
        pub(super) prefix: String,
    }

    impl RedisBackend {
        fn invocation<'s>(
            &self,
            script: &'s redis::Script,
            slots: &[Slot<'_>],
        ) -> redis::ScriptInvocation<'s> {
            let mut inv = script.prepare_invoke();
            for slot in slots {
                inv.key(format!("{}:{}", self.prefix, slot.key));
                inv.arg(slot.policy.free_failures)
                    .arg(super::millis(slot.policy.base))
                    .arg(super::millis(slot.policy.cap))
                    .arg(super::millis(slot.policy.forget_after))
                    .arg(match slot.kind {
                        Kind::Account => "a",
                        Kind::Address => "ip",
                    });
            }
            inv
        }

        async fn run<T: redis::FromRedisValue>(
            &self,
            script: &redis::Script,
            slots: &[Slot<'_>],
            timeout: Duration,
        ) -> Result<T> {
            let inv = self.invocation(script, slots);
            let mut conn = self.conn.clone();
            match tokio::time::timeout(timeout, inv.invoke_async::<T>(&mut conn)).await {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "the Redis login throttle failed");
                    Err(Error::store(e)
                        .with_message("the login throttle's store is unavailable; retry later"))
                }
                Err(elapsed) => {
                    tracing::warn!(?timeout, "the Redis login throttle timed out");
                    Err(Error::new(ErrorKind::StoreUnavailable)
                        .with_message("the login throttle's store timed out; retry later")
                        .with_source(elapsed))
                }
            }
        }

        pub(super) async fn check(&self, slots: &[Slot<'_>], timeout: Duration) -> Result<u64> {
            let wait: i64 = self.run(&CHECK, slots, timeout).await?;
            Ok(u64::try_from(wait).unwrap_or(0))
        }

        pub(super) async fn record_failure(
            &self,
            slots: &[Slot<'_>],
            timeout: Duration,
        ) -> Result<Vec<u64>> {
            let locks: Vec<i64> = self.run(&FAILURE, slots, timeout).await?;
            Ok(locks
                .into_iter()
                .map(|l| u64::try_from(l).unwrap_or(0))
                .collect())
        }

        pub(super) async fn record_success(
            &self,
            slots: &[Slot<'_>],
            timeout: Duration,
        ) -> Result<()> {
            let _: i64 = self.run(&SUCCESS, slots, timeout).await?;
            Ok(())
        }
    }
}

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
impl Throttle {
    /// The default prefix of the throttle's Redis keys. The `{…}` hash tag keeps every
    /// key in one slot, so the multi-key scripts also run on Redis Cluster.
    pub const DEFAULT_REDIS_PREFIX: &'static str = "centurion:{throttle}";

    /// A throttle whose counters live in Redis, shared by every instance that uses the
    /// same server and prefix. Keys are
    /// [`DEFAULT_REDIS_PREFIX`](Self::DEFAULT_REDIS_PREFIX)`:a:<username>` and
    /// `…:ip:<address>`, each a hash that expires with the lock or count it holds.
    ///
    /// The [`ConnectionManager`](redis::aio::ConnectionManager) reconnects by itself;
    /// while Redis is unreachable, every operation fails closed with
    /// [`ErrorKind::StoreUnavailable`] after at most
    /// [`ThrottleConfig::store_timeout`], and service resumes when it is back.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use centurion::throttle::{Throttle, ThrottleConfig};
    /// let client = redis::Client::open("redis://127.0.0.1:6379/")?;
    /// let conn = redis::aio::ConnectionManager::new(client).await?;
    /// let throttle = Throttle::redis(conn, ThrottleConfig::default())?;
    /// # let _ = throttle; Ok(()) }
    /// ```
    pub fn redis(conn: redis::aio::ConnectionManager, config: ThrottleConfig) -> Result<Self> {
        Self::redis_with_prefix(conn, Self::DEFAULT_REDIS_PREFIX, config)
    }

    /// Like [`redis`](Self::redis), with another key prefix (to keep several
    /// applications apart on one server).
    ///
    /// ```no_run
    /// # async fn demo(conn: redis::aio::ConnectionManager) -> centurion::Result<()> {
    /// use centurion::throttle::{Throttle, ThrottleConfig};
    /// let throttle = Throttle::redis_with_prefix(conn, "shop:{throttle}", ThrottleConfig::default())?;
    /// # let _ = throttle; Ok(()) }
    /// ```
    pub fn redis_with_prefix(
        conn: redis::aio::ConnectionManager,
        prefix: &str,
        config: ThrottleConfig,
    ) -> Result<Self> {
        config.validate()?;
        if prefix.is_empty() {
            return Err(Error::config(
                "throttle: the Redis key prefix must not be empty",
            ));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                backend: Backend::Redis(redis_backend::RedisBackend {
                    conn,
                    prefix: prefix.to_owned(),
                }),
                config,
            }),
        })
    }

    /// Connects to `url` (`redis://host:port/db`) with a managed connection that
    /// reconnects by itself, and builds a Redis throttle on it. Fails when the server
    /// cannot be reached now ([`ErrorKind::StoreUnavailable`]).
    ///
    /// ```no_run
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::throttle::{Throttle, ThrottleConfig};
    /// let throttle = Throttle::connect_redis("redis://127.0.0.1:6379/", ThrottleConfig::default()).await?;
    /// # let _ = throttle; Ok(()) }
    /// ```
    pub async fn connect_redis(url: &str, config: ThrottleConfig) -> Result<Self> {
        config.validate()?;
        let (client, manager_config) = redis_client(url, &config)?;
        let conn = tokio::time::timeout(
            config.store_timeout.saturating_mul(3),
            redis::aio::ConnectionManager::new_with_config(client, manager_config),
        )
        .await
        .map_err(|e| Error::store(e).with_message("Redis did not answer in time"))?
        .map_err(|e| Error::store(e).with_message("Redis cannot be reached"))?;
        Self::redis(conn, config)
    }

    /// Like [`connect_redis`](Self::connect_redis), but connects on first use: the
    /// throttle can be built while Redis is down (logins then fail closed with 503 until
    /// it is up). Fails only for a malformed URL. Call it inside a Tokio runtime.
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::throttle::{Throttle, ThrottleConfig};
    /// let throttle = Throttle::redis_lazy("redis://127.0.0.1:6379/", ThrottleConfig::default())?;
    /// assert!(Throttle::redis_lazy("http://nope", ThrottleConfig::default()).is_err());
    /// # let _ = throttle; Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn redis_lazy(url: &str, config: ThrottleConfig) -> Result<Self> {
        config.validate()?;
        let (client, manager_config) = redis_client(url, &config)?;
        let conn = redis::aio::ConnectionManager::new_lazy_with_config(client, manager_config)
            .map_err(|e| Error::config(format!("throttle: Redis set-up failed: {e}")))?;
        Self::redis(conn, config)
    }
}

/// A client for `url` and a manager configuration bounded by the store timeout.
#[cfg(feature = "redis")]
fn redis_client(
    url: &str,
    config: &ThrottleConfig,
) -> Result<(redis::Client, redis::aio::ConnectionManagerConfig)> {
    let client = redis::Client::open(url)
        .map_err(|e| Error::config(format!("throttle: bad Redis URL: {e}")))?;
    let manager_config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(config.store_timeout))
        .set_response_timeout(Some(config.store_timeout))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(250));
    Ok((client, manager_config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots_of<'a>(t: &'a Throttle, keys: &ThrottleKeys) -> Vec<Slot<'a>> {
        t.slots(keys)
    }

    #[test]
    fn keys_are_normalized() {
        assert_eq!(account_key("  Ada "), "ada");
        assert_eq!(account_key(&"é".repeat(200)).len(), 256);
        assert_eq!(
            address_key("2001:db8:1:2:3:4:5:6".parse().unwrap(), 64),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            address_key("::ffff:192.0.2.1".parse().unwrap(), 64),
            "192.0.2.1"
        );
        assert_eq!(
            address_key("2001:db8::1".parse().unwrap(), 128),
            "2001:db8::1/128"
        );
    }

    #[test]
    fn memory_is_bounded() {
        let config = ThrottleConfig {
            max_entries: 100,
            ..ThrottleConfig::default()
        };
        let t = Throttle::in_memory(config).unwrap();
        // Irrefutable without the `redis` feature, refutable with it.
        #[allow(irrefutable_let_patterns)]
        let Backend::Memory(m) = &t.inner.backend else {
            unreachable!()
        };
        for i in 0..1000 {
            let keys = ThrottleKeys::new().account(&format!("user{i}"));
            m.record_failure(&slots_of(&t, &keys)).unwrap();
            assert!(m.len() <= 100);
        }
    }
}
