//! A revocation store on Redis (feature `redis`), shared by every instance of a fleet.
//!
//! ```no_run
//! # async fn demo() -> centurion::Result<()> {
//! use centurion::{Centurion, memory::MemoryUserStore, redis_store::RedisRevocationStore, testing::TestUser};
//!
//! let revocations = RedisRevocationStore::connect("redis://127.0.0.1:6379/0").await?;
//! let auth = Centurion::<TestUser>::builder()
//!     .secret("an-example-secret-of-at-least-32-bytes!!")
//!     .user_store(MemoryUserStore::new())
//!     .revocation_store(revocations)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! ## Keys
//!
//! Every key starts with a configurable prefix (default `centurion:`) and expires with
//! what it guards (`SET … EXAT`), so Redis holds only live entries:
//!
//! | key | value | meaning |
//! | --- | --- | --- |
//! | `{prefix}token:{jti}` | `1` | the token is revoked |
//! | `{prefix}family:{family}` | `1` | every token of the refresh family is revoked |
//! | `{prefix}user:{sub}` | not-before, Unix ms | tokens of `sub` issued before it are revoked |
//! | `{prefix}spent:{jti}` | `1` | the single-use token was used (`SET NX`) |
//!
//! [`is_revoked`](RevocationStore::is_revoked), which runs on every authenticated
//! request, is one `MGET` (one round trip). The keys of one check hash to different
//! slots, so the store needs a standalone Redis (or a proxy), not Redis Cluster.
//!
//! Revocations live only in Redis: run it with persistence (AOF or RDB snapshots) if they
//! must survive a Redis restart. A Redis that loses its data forgets every revocation and
//! every spent single-use token until the tokens concerned expire. The connection is plain
//! TCP (`redis://`); `rediss://` (TLS) is not compiled in.
//!
//! ## Failures
//!
//! The connection is a [`redis::aio::ConnectionManager`]: multiplexed and reconnecting by
//! itself. Every call is bounded by a timeout (default 1.5 s, see
//! [`RedisOptions::timeout`]); a call that fails or times out answers
//! [`Error::store`] (503: centurion fails closed), and once Redis is back the next calls
//! succeed again, without a restart.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};

use crate::clock::{Clock, SystemClock, unix_ms};
use crate::error::{Error, ErrorKind, Result};
use crate::store::{RevocationStore, TokenRef};

/// The latest expiry Redis accepts comfortably (9999-12-31T23:59:59Z); later ones are
/// clamped to it.
const MAX_EXAT: u64 = 253_402_300_799;

/// Moves a user's not-before and expiry forward only (never back), atomically.
///
/// KEYS[1] the user key; ARGV[1] not-before (ms), ARGV[2] expiry (s), ARGV[3] now (ms).
const REVOKE_USER_LUA: &str = r"
local nb = ARGV[1]
local exp_ms = tonumber(ARGV[2]) * 1000
local cur = redis.call('GET', KEYS[1])
if cur then
  local c = tonumber(cur)
  if c and c > tonumber(nb) then nb = cur end
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl > 0 then
    local cur_exp = tonumber(ARGV[3]) + pttl
    if cur_exp > exp_ms then exp_ms = cur_exp end
  end
end
if exp_ms <= tonumber(ARGV[3]) then
  return 0
end
redis.call('SET', KEYS[1], nb, 'PXAT', string.format('%.0f', exp_ms))
return 1
";

/// Settings of a [`RedisRevocationStore`].
///
/// ```
/// use std::time::Duration;
/// use centurion::redis_store::RedisOptions;
/// let options = RedisOptions::default()
///     .prefix("shop:auth:")
///     .timeout(Duration::from_secs(1));
/// assert_eq!(options.get_prefix(), "shop:auth:");
/// ```
#[derive(Clone, Debug)]
pub struct RedisOptions {
    prefix: String,
    timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: "centurion:".to_owned(),
            timeout: Duration::from_millis(1500),
        }
    }
}

impl RedisOptions {
    /// The prefix of every key (default `centurion:`); give applications sharing one Redis
    /// different prefixes.
    ///
    /// ```
    /// let options = centurion::redis_store::RedisOptions::default().prefix("app1:");
    /// # assert_eq!(options.get_prefix(), "app1:");
    /// ```
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The configured key prefix.
    ///
    /// ```
    /// assert_eq!(centurion::redis_store::RedisOptions::default().get_prefix(), "centurion:");
    /// ```
    pub fn get_prefix(&self) -> &str {
        &self.prefix
    }

    /// The longest a call may take, connecting included (default 1.5 s). Past it the call
    /// fails with 503, so a dead Redis costs each request at most this long.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = centurion::redis_store::RedisOptions::default().timeout(Duration::from_millis(800));
    /// # let _ = options;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(10));
        self
    }
}

struct Inner {
    client: Client,
    config: ConnectionManagerConfig,
    /// Created on first use, and anew after a call timed out (a stalled connection).
    manager: Mutex<Option<ConnectionManager>>,
    prefix: String,
    timeout: Duration,
    revoke_user: Script,
}

/// Revocations on Redis: every instance that uses the same Redis (and prefix) sees every
/// revocation at once.
///
/// Same semantics as [`MemoryRevocationStore`](crate::memory::MemoryRevocationStore);
/// see the [module docs](self) for the keys and the failure behaviour. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> centurion::Result<()> {
/// use centurion::{RevocationStore, TokenRef, redis_store::RedisRevocationStore};
///
/// let store = RedisRevocationStore::connect("redis://127.0.0.1:6379").await?;
/// let far = u64::MAX / 2;
/// store.revoke_token("abc", far).await?;
/// let token = TokenRef { jti: "abc", family: None, subject: "1", issued_at_ms: 0 };
/// assert!(store.is_revoked(&token).await?);
/// assert!(store.mark_spent("r1", far).await?);
/// assert!(!store.mark_spent("r1", far).await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisRevocationStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisRevocationStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let info = self.inner.client.get_connection_info();
        f.debug_struct("RedisRevocationStore")
            .field("addr", &info.addr().to_string())
            .field("prefix", &self.inner.prefix)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisRevocationStore {
    /// Connects to `url` (`redis://[:password@]host[:port][/db]`) with default
    /// [`RedisOptions`] and checks that Redis answers.
    ///
    /// ```no_run
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::redis_store::RedisRevocationStore;
    /// let store = RedisRevocationStore::connect("redis://127.0.0.1:6379/0").await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, RedisOptions::default()).await
    }

    /// Connects to `url` with `options` and checks that Redis answers (a
    /// [`ErrorKind::StoreUnavailable`] error when it does not).
    ///
    /// ```no_run
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::redis_store::{RedisOptions, RedisRevocationStore};
    /// let store = RedisRevocationStore::connect_with(
    ///     "redis://127.0.0.1:6379",
    ///     RedisOptions::default().prefix("shop:"),
    /// ).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<Self> {
        let store = Self::new(url, options)?;
        store.ping().await?;
        Ok(store)
    }

    /// A store for `url` that connects on first use: it can be built while Redis is down
    /// (calls fail with 503 until it is up). Fails only for a malformed URL.
    ///
    /// ```
    /// use centurion::redis_store::{RedisOptions, RedisRevocationStore};
    /// let store = RedisRevocationStore::new("redis://127.0.0.1:6379", RedisOptions::default())?;
    /// assert!(RedisRevocationStore::new("http://nope", RedisOptions::default()).is_err());
    /// # Ok::<(), centurion::Error>(())
    /// ```
    pub fn new(url: &str, options: RedisOptions) -> Result<Self> {
        let client =
            Client::open(url).map_err(|e| Error::config(format!("invalid Redis URL: {e}")))?;
        // Each connection attempt and each reply is bounded by the call timeout; the manager
        // retries a lost connection once, quickly, then leaves the next call to try again.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(250));
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                config,
                manager: Mutex::new(None),
                prefix: options.prefix,
                timeout: options.timeout,
                revoke_user: Script::new(REVOKE_USER_LUA),
            }),
        })
    }

    /// Checks that Redis answers (`PING`), e.g. for a readiness probe.
    ///
    /// ```no_run
    /// # async fn demo(store: centurion::redis_store::RedisRevocationStore) {
    /// let ready = store.ping().await.is_ok();
    /// # let _ = ready;
    /// # }
    /// ```
    pub async fn ping(&self) -> Result<()> {
        self.run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .map(drop)
    }

    /// The key prefix in use.
    ///
    /// ```
    /// use centurion::redis_store::{RedisOptions, RedisRevocationStore};
    /// let store = RedisRevocationStore::new("redis://127.0.0.1", RedisOptions::default())?;
    /// assert_eq!(store.prefix(), "centurion:");
    /// # Ok::<(), centurion::Error>(())
    /// ```
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    fn key(&self, kind: &str, name: &str) -> String {
        let prefix = &self.inner.prefix;
        let mut key = String::with_capacity(prefix.len() + kind.len() + name.len() + 1);
        key.push_str(prefix);
        key.push_str(kind);
        key.push(':');
        key.push_str(name);
        key
    }

    fn manager(&self) -> Result<ConnectionManager> {
        let mut slot = self.inner.manager.lock().map_err(|_| {
            Error::new(ErrorKind::InternalError).with_message("the Redis store lock is poisoned")
        })?;
        if let Some(manager) = slot.as_ref() {
            return Ok(manager.clone());
        }
        let manager = ConnectionManager::new_lazy_with_config(
            self.inner.client.clone(),
            self.inner.config.clone(),
        )
        .map_err(Error::store)?;
        *slot = Some(manager.clone());
        Ok(manager)
    }

    /// Forgets the connection manager, so the next call starts afresh. Used after a
    /// timeout: a connection that stalls without closing is not replaced by the manager.
    fn reset(&self) {
        if let Ok(mut slot) = self.inner.manager.lock() {
            *slot = None;
        }
    }

    /// Runs one Redis exchange within the timeout; every failure is [`Error::store`].
    async fn run<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let manager = self.manager()?;
        match tokio::time::timeout(self.inner.timeout, f(manager)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                if e.is_timeout() {
                    self.reset();
                }
                Err(Error::store(e))
            }
            Err(elapsed) => {
                self.reset();
                Err(Error::store(elapsed).with_message("the revocation store (Redis) timed out"))
            }
        }
    }

    /// `SET key 1 EXAT expires_at` (a later write replaces the expiry, as the in-memory
    /// store does).
    async fn revoke(&self, key: String, expires_at: u64) -> Result<()> {
        let at = clamp_exat(expires_at);
        self.run(|mut c| async move {
            redis::cmd("SET")
                .arg(&key)
                .arg(1)
                .arg("EXAT")
                .arg(at)
                .exec_async(&mut c)
                .await
        })
        .await
    }
}

fn clamp_exat(expires_at: u64) -> u64 {
    expires_at.clamp(1, MAX_EXAT)
}

impl RevocationStore for RedisRevocationStore {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<()> {
        self.revoke(self.key("token", jti), expires_at).await
    }

    async fn revoke_family(&self, family: &str, expires_at: u64) -> Result<()> {
        self.revoke(self.key("family", family), expires_at).await
    }

    async fn revoke_user(&self, subject: &str, not_before_ms: u64, expires_at: u64) -> Result<()> {
        let key = self.key("user", subject);
        let script = &self.inner.revoke_user;
        let expires_at = clamp_exat(expires_at);
        self.run(|mut c| async move {
            script
                .key(&key)
                .arg(not_before_ms)
                .arg(expires_at)
                // Redis keeps time itself (EXAT, PTTL): this is the system's clock too.
                .arg(unix_ms(SystemClock.now()))
                .invoke_async::<i64>(&mut c)
                .await
        })
        .await
        .map(drop)
    }

    async fn is_revoked(&self, token: &TokenRef<'_>) -> Result<bool> {
        let user_key = self.key("user", token.subject);
        let mut keys = vec![self.key("token", token.jti), user_key];
        if let Some(family) = token.family {
            keys.push(self.key("family", family));
        }
        // One round trip for the three rules.
        let values: Vec<Option<String>> = self
            .run(|mut c| async move { redis::cmd("MGET").arg(&keys).query_async(&mut c).await })
            .await?;
        let token_revoked = values.first().is_some_and(Option::is_some);
        let family_revoked = values.get(2).is_some_and(Option::is_some);
        let user_revoked = match values.get(1).and_then(Option::as_deref) {
            // A value that is not a number can only come from outside centurion: revoked.
            Some(nb) => nb.parse::<u64>().map_or(true, |nb| token.issued_at_ms < nb),
            None => false,
        };
        Ok(token_revoked || family_revoked || user_revoked)
    }

    async fn mark_spent(&self, jti: &str, expires_at: u64) -> Result<bool> {
        let key = self.key("spent", jti);
        let at = clamp_exat(expires_at);
        // SET NX is atomic: of concurrent calls exactly one gets OK, the others nil. An
        // expiry already past stores nothing and answers OK, as the in-memory store does.
        let set: Option<String> = self
            .run(|mut c| async move {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(1)
                    .arg("NX")
                    .arg("EXAT")
                    .arg(at)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(set.is_some())
    }
}
