//! Login throttling per account and per client address, with exponential back-off.
//!
//! A [`Throttle`] counts failed logins under two keys: the account (the username tried)
//! and the client address ([`ClientAddr`](crate::http::ClientAddr)). Each key has a [`Backoff`] policy: after
//! `free_failures` failures, every further failure locks the key for
//! `base × 2^k` (k = 0, 1, 2, …) up to `cap`. While a key is locked, attempts under it
//! are refused with [`ErrorKind::TooManyRequests`] — 429 with `Retry-After` — *before* the
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
//! assert_eq!(err.kind(), ErrorKind::TooManyRequests);
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
//! - Usernames are counted under their [`identity_key`], the normal form the user stores
//!   look them up by: `Alice`, `ALICE` and `ａｌｉｃｅ` are one counter, as they are one
//!   account. A key over 256 bytes is counted under its SHA-256, never truncated (two long
//!   names sharing a prefix are two counters).
//! - **A success clears only the account that logged in**: the counter reset is the one
//!   of the username *stored* for the user the store returned, not of the name as typed,
//!   so a success through a store that matches loosely cannot reset someone else's count.
//! - **A password over the length limit creates nothing**: it is refused before the
//!   throttle is asked (it costs the server nothing either), so it cannot fill the store.
//! - **Anonymous requests are limited per client address**: [`Throttle::registration`]
//!   and [`Throttle::reset_request`] allow [`ThrottleConfig::registrations`] and
//!   [`ThrottleConfig::reset_requests`] per window and answer 429 with `Retry-After`
//!   past them; [`Throttle::reset_mail`] allows one reset mail per account per
//!   [`ThrottleConfig::reset_mails`] window however many addresses ask.
//! - **Memory pressure never frees a lock.** A store that is full evicts only counters
//!   still within their free allowance, oldest first; when it is full of locks it refuses
//!   attempts under new keys (503) rather than forget one (see [`MemoryThrottleStore`] and
//!   `RedisThrottleStore`).
//!
//! ## Stores
//!
//! The counters live in a [`ThrottleStore`], as revocations live in a revocation store:
//! [`MemoryThrottleStore`] keeps them in a bounded map that purges expired entries by
//! itself (one instance; [`Throttle::in_memory`] is `Throttle::new(MemoryThrottleStore::new(),
//! config)`), `RedisThrottleStore` (feature `redis`) in Redis so that every instance
//! behind a load balancer counts together; its keys expire with the lock or counter they
//! hold, and each operation is one atomic Lua script using the Redis server's clock. A
//! store that cannot answer fails closed: the login is refused with
//! [`ErrorKind::StoreUnavailable`] (503).
//!
//! | file | what |
//! | --- | --- |
//! | `mod.rs` | [`Throttle`] (check, record, the login around [`Centurion::authenticate`]) and [`ThrottleKeys`] |
//! | `policy.rs` | [`Backoff`] and [`ThrottleConfig`] |
//! | `store.rs` | the [`ThrottleStore`] trait |
//! | `memory.rs`, `redis.rs` | the two stores |
//!
//! ## Why not `governor`
//!
//! The `governor` crate (GCRA) was the first candidate and does not fit: its cells
//! replenish at one constant rate, so a lock cannot double with each further failure; it
//! has no way to reset one key after a successful login; checking a key always consumes
//! a cell, whereas a login must be checked before the password is verified and charged
//! only when it fails; and its state lives in one process. The back-off table here is
//! small and kept by hand, in memory and in Redis with the same rules.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::centurion::{Authenticated, Centurion, TokenPair};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::identity_key;
use crate::user::AuthUser;

mod memory;
mod policy;
#[cfg(feature = "redis")]
mod redis;
mod store;

pub use self::memory::MemoryThrottleStore;
pub use self::policy::{Backoff, RateLimit, ThrottleConfig};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::RedisThrottleStore;
pub use self::store::{SlotKind, ThrottleSlot, ThrottleStore};

use self::store::DynThrottleStore;

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

/// One normalized key with its policy.
struct Slot<'a> {
    key: String,
    kind: SlotKind,
    policy: &'a Backoff,
}

/// The slots as the store sees them.
fn store_slots<'a>(slots: &'a [Slot<'a>]) -> Vec<ThrottleSlot<'a>> {
    slots
        .iter()
        .map(|slot| ThrottleSlot {
            key: &slot.key,
            kind: slot.kind,
            policy: slot.policy,
        })
        .collect()
}

/// The answer when a store is full of held keys and cannot count a new one: fail closed.
fn full() -> Error {
    Error::new(ErrorKind::Overloaded)
        .with_message("the login throttle is full; retry later")
        .with_retry_after(std::time::Duration::from_secs(1))
}

const MAX_ACCOUNT_KEY: usize = 256;

/// The counter of a username: its [`identity_key`], or `#` and the SHA-256 of the key in
/// hex when the key is longer than 256 bytes (never truncated: two long names with one
/// prefix are two accounts).
fn account_key(username: &str) -> String {
    let key = identity_key(username);
    if key.len() <= MAX_ACCOUNT_KEY {
        return key;
    }
    let digest = Sha256::digest(key.as_bytes());
    let mut out = String::with_capacity(65);
    out.push('#');
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
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
    store: Box<dyn DynThrottleStore>,
}

impl fmt::Debug for Throttle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle")
            .field("store", &self.inner.store.describe())
            .field("config", &self.inner.config)
            .finish()
    }
}

impl Throttle {
    /// A throttle with these rules over `store`. Fails when the rules are inconsistent
    /// (a zero `base`, a `cap` shorter than `base`, an IPv6 prefix over 128).
    ///
    /// ```
    /// use centurion::throttle::{MemoryThrottleStore, Throttle, ThrottleConfig};
    /// let throttle = Throttle::new(MemoryThrottleStore::new(), ThrottleConfig::default())?;
    /// # let _ = throttle;
    /// # Ok::<(), centurion::Error>(())
    /// ```
    pub fn new(store: impl ThrottleStore, config: ThrottleConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                store: Box::new(store),
            }),
        })
    }

    /// A throttle that keeps its counters in this process ([`MemoryThrottleStore`]: a
    /// bounded map that purges expired entries by itself). Fine for one instance; use
    /// Redis for several.
    ///
    /// ```
    /// use centurion::throttle::{Throttle, ThrottleConfig};
    /// let throttle = Throttle::in_memory(ThrottleConfig::default()).unwrap();
    /// # let _ = throttle;
    /// ```
    pub fn in_memory(config: ThrottleConfig) -> Result<Self> {
        Self::new(MemoryThrottleStore::new(), config)
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
                kind: SlotKind::Account,
                policy: &config.account,
            });
        }
        if let Some(address) = keys.address {
            slots.push(Slot {
                key: format!("ip:{}", address_key(address, config.ipv6_prefix)),
                kind: SlotKind::Address,
                policy: &config.address,
            });
        }
        slots
    }

    /// Refuses the attempt if any of its keys is locked: [`ErrorKind::TooManyRequests`] with
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
        let wait = self.inner.store.check(&store_slots(&slots)).await?;
        if !wait.is_zero() {
            tracing::debug!(retry_after = ?wait, "login attempt refused by the throttle");
            return Err(Error::new(ErrorKind::TooManyRequests).with_retry_after(wait));
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
        let locks = self
            .inner
            .store
            .record_failure(&store_slots(&slots))
            .await?;
        for (slot, lock) in slots.iter().zip(locks) {
            if !lock.is_zero() {
                let kind = match slot.kind {
                    SlotKind::Account => "account",
                    SlotKind::Address => "address",
                };
                tracing::warn!(throttle.key = kind, lock = ?lock, "repeated failed logins: key locked");
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
        self.inner.store.record_success(&store_slots(&slots)).await
    }

    /// [`Centurion::authenticate`] under the throttle: refused while the account or the
    /// address is locked (even with the right password), a wrong password or unknown
    /// username counted as a failure, a success recorded for the account that logged in
    /// (the username stored for the user, not the name as typed). A password over the
    /// length limit is refused first and counted nowhere: it costs nothing, and must not
    /// fill the store. Other outcomes (the right password of an inactive user, a store or
    /// hashing-pool error) are not counted; a hold taken by [`check`](Self::check) then ends
    /// by itself within one back-off step.
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
    ) -> Result<Authenticated<U>> {
        if auth.hasher().is_too_long(password) {
            return Err(Error::new(ErrorKind::AuthenticationError));
        }
        let keys = ThrottleKeys::login(username, client);
        self.check(&keys).await?;
        match auth.authenticate(username, password).await {
            Ok(authenticated) => {
                let own = ThrottleKeys::login(authenticated.user().username(), client);
                if own != keys {
                    // A store that matched loosely: the typed name's hold ends by itself.
                    tracing::debug!("a login succeeded under another username key than typed");
                }
                self.record_success(&own).await?;
                Ok(authenticated)
            }
            Err(e) if e.kind() == ErrorKind::AuthenticationError => {
                self.record_failure(&keys).await?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Checks the password of a user who is already authenticated (the old password of a
    /// password change) under the throttle: refused while the account or the address is
    /// locked; a wrong password counted as a failure of both and answered
    /// [`ErrorKind::AuthenticationError`] ("the password is wrong"); a right one recorded
    /// as a success. Read `user` from the store ([`Centurion::identify`]), not from a
    /// cached copy. A password over the length limit is refused and counted nowhere.
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
    /// let ada = auth.create_user("ada", None, "correct horse battery", &[]).await?;
    /// let throttle = Throttle::in_memory(ThrottleConfig::default())?;
    /// let client = Some("192.0.2.1".parse().unwrap());
    /// throttle.check_password(&auth, client, &ada, "correct horse battery").await?;
    /// let err = throttle.check_password(&auth, client, &ada, "wrong").await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::AuthenticationError);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn check_password<U: AuthUser>(
        &self,
        auth: &Centurion<U>,
        client: Option<IpAddr>,
        user: &U,
        password: &str,
    ) -> Result<()> {
        let wrong =
            || Error::new(ErrorKind::AuthenticationError).with_message("the password is wrong");
        if auth.hasher().is_too_long(password) {
            return Err(wrong());
        }
        let keys = ThrottleKeys::login(user.username(), client);
        self.check(&keys).await?;
        if auth.hasher().verify(password, user.password_hash()).await? {
            self.record_success(&keys).await
        } else {
            self.record_failure(&keys).await?;
            Err(wrong())
        }
    }

    /// Counts one `action` by `subject` under `limit`: [`ErrorKind::TooManyRequests`] with
    /// `Retry-After` (the end of the window) past it. The building block of
    /// [`registration`](Self::registration), [`reset_request`](Self::reset_request) and
    /// [`reset_mail`](Self::reset_mail); `action` names the counter (`r:<action>:<subject>`
    /// in the store).
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// use std::time::Duration;
    /// use centurion::throttle::{RateLimit, Throttle, ThrottleConfig};
    /// let throttle = Throttle::in_memory(ThrottleConfig::default())?;
    /// let limit = RateLimit::new(2, Duration::from_secs(60));
    /// throttle.limit("invite", "ada", &limit).await?;
    /// throttle.limit("invite", "ada", &limit).await?;
    /// let err = throttle.limit("invite", "ada", &limit).await.unwrap_err();
    /// assert_eq!(err.status().as_u16(), 429);
    /// assert!(err.retry_after().unwrap() <= Duration::from_secs(60));
    /// throttle.limit("invite", "bob", &limit).await?; // another subject, another count
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn limit(&self, action: &str, subject: &str, limit: &RateLimit) -> Result<()> {
        let key = format!("r:{action}:{subject}");
        let wait = self.inner.store.hit(&key, limit.max, limit.per).await?;
        if wait.is_zero() {
            return Ok(());
        }
        tracing::debug!(action, retry_after = ?wait, "request refused by a rate limit");
        Err(Error::new(ErrorKind::TooManyRequests).with_retry_after(wait))
    }

    /// Counts a registration from `client` under [`ThrottleConfig::registrations`] (429
    /// past it). No address, no count.
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::throttle::{Throttle, ThrottleConfig};
    /// let throttle = Throttle::in_memory(ThrottleConfig::default())?;
    /// let client = Some("198.51.100.7".parse().unwrap());
    /// for _ in 0..30 {
    ///     throttle.registration(client).await?;
    /// }
    /// assert!(throttle.registration(client).await.is_err());
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn registration(&self, client: Option<IpAddr>) -> Result<()> {
        let Some(ip) = client else { return Ok(()) };
        let subject = address_key(ip, self.inner.config.ipv6_prefix);
        self.limit("register", &subject, &self.inner.config.registrations)
            .await
    }

    /// Counts a password-reset request from `client` under
    /// [`ThrottleConfig::reset_requests`] (429 past it). No address, no count.
    pub async fn reset_request(&self, client: Option<IpAddr>) -> Result<()> {
        let Some(ip) = client else { return Ok(()) };
        let subject = address_key(ip, self.inner.config.ipv6_prefix);
        self.limit("forgot", &subject, &self.inner.config.reset_requests)
            .await
    }

    /// Counts a reset mail to user `user_id` under [`ThrottleConfig::reset_mails`]:
    /// `Ok(true)` when it may be sent, `Ok(false)` when one was sent within the window
    /// (however many addresses asked).
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::throttle::{Throttle, ThrottleConfig};
    /// let throttle = Throttle::in_memory(ThrottleConfig::default())?;
    /// assert!(throttle.reset_mail("42").await?);
    /// assert!(!throttle.reset_mail("42").await?);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn reset_mail(&self, user_id: &str) -> Result<bool> {
        match self
            .limit("reset-mail", user_id, &self.inner.config.reset_mails)
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::TooManyRequests => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Counts a notice to user `user_id` that someone tried to register with its address,
    /// under [`ThrottleConfig::address_taken_mails`]: `Ok(true)` when it may be sent,
    /// `Ok(false)` past the limit, however many registrations named the address.
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::throttle::{Throttle, ThrottleConfig};
    /// let throttle = Throttle::in_memory(ThrottleConfig::default())?;
    /// for _ in 0..3 {
    ///     assert!(throttle.address_taken_mail("42").await?);
    /// }
    /// assert!(!throttle.address_taken_mail("42").await?);
    /// assert!(throttle.reset_mail("42").await?, "a count of its own");
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn address_taken_mail(&self, user_id: &str) -> Result<bool> {
        match self
            .limit(
                "taken-mail",
                user_id,
                &self.inner.config.address_taken_mails,
            )
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::TooManyRequests => Ok(false),
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
    /// auth.create_user("ada", None, "correct horse battery", &[]).await?;
    /// let throttle = Throttle::in_memory(ThrottleConfig::default())?;
    /// let pair = throttle.login(&auth, None, "ada", "correct horse battery").await?;
    /// assert_eq!(pair.token_type, "Bearer");
    /// # Ok(()) }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_normalized() {
        assert_eq!(account_key("Ada"), "ada");
        assert_eq!(account_key("ＡＤＡ"), "ada");
        assert_eq!(account_key(" ada"), " ada", "login does not trim either");
        let long = "é".repeat(200);
        assert_eq!(account_key(&long).len(), 65);
        assert!(account_key(&long).starts_with('#'));
        assert_ne!(account_key(&long), account_key(&format!("{long}x")));
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
}
