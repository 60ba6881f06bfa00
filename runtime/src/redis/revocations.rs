//! [`RedisRevocationStore`]: revocations on Redis, shared by every instance of a fleet.

use std::future::Future;
use std::sync::Arc;

use ::redis::Script;
use ::redis::aio::ConnectionManager;

use super::{Connection, Failure, RedisOptions};
use crate::clock::{Clock, SystemClock, unix_ms};
use crate::error::{Error, Result};
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

/// Revocations on Redis: every instance that uses the same Redis (and prefix) sees every
/// revocation at once.
///
/// Same semantics as [`MemoryRevocationStore`](crate::memory::MemoryRevocationStore);
/// for failures see [`crate::redis`](super#failures). Cheap to clone.
///
/// # Keys
///
/// Every key starts with a configurable prefix (default `centurion:`) and expires with
/// what it guards (`SET … EXAT`), so Redis holds only live entries:
///
/// | key | value | meaning |
/// | --- | --- | --- |
/// | `{prefix}token:{jti}` | `1` | the token is revoked |
/// | `{prefix}family:{family}` | `1` | every token of the refresh family is revoked |
/// | `{prefix}user:{sub}` | not-before, Unix ms | tokens of `sub` issued before it are revoked |
/// | `{prefix}spent:{jti}` | `1` | the single-use token was used (`SET NX`) |
///
/// [`is_revoked`](crate::RevocationStore::is_revoked), which runs on every authenticated
/// request, is one `MGET` (one round trip). The keys of one check hash to different
/// slots, so the store needs a standalone Redis (or a proxy), not Redis Cluster.
///
/// Revocations live only in Redis: run it with persistence (AOF or RDB snapshots) if they
/// must survive a Redis restart. A Redis that loses its data forgets every revocation and
/// every spent single-use token until the tokens concerned expire. The connection is plain
/// TCP (`redis://`); `rediss://` (TLS) is not compiled in.
///
/// ```no_run
/// # async fn demo() -> centurion::Result<()> {
/// use centurion::{RevocationStore, TokenRef};
/// use centurion::redis::{RedisOptions, RedisRevocationStore};
///
/// let store = RedisRevocationStore::connect("redis://127.0.0.1:6379", RedisOptions::default()).await?;
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

struct Inner {
    conn: Connection,
    revoke_user: Script,
}

impl std::fmt::Debug for RedisRevocationStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let conn = &self.inner.conn;
        f.debug_struct("RedisRevocationStore")
            .field("addr", &conn.addr())
            .field("prefix", &conn.prefix())
            .field("timeout", &conn.timeout())
            .finish_non_exhaustive()
    }
}

impl RedisRevocationStore {
    /// Connects to `url` (`redis://[:password@]host[:port][/db]`) with `options` and checks
    /// that Redis answers (a [`ErrorKind::StoreUnavailable`](crate::ErrorKind::StoreUnavailable)
    /// error when it does not).
    ///
    /// ```no_run
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::redis::{RedisOptions, RedisRevocationStore};
    /// let store = RedisRevocationStore::connect(
    ///     "redis://127.0.0.1:6379",
    ///     RedisOptions::default().prefix("shop:"),
    /// ).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self> {
        let store = Self::connect_lazy(url, options)?;
        store.ping().await?;
        Ok(store)
    }

    /// A store for `url` that connects on first use: it can be built while Redis is down
    /// (calls fail with 503 until it is up). Fails only for a malformed URL.
    ///
    /// ```
    /// use centurion::redis::{RedisOptions, RedisRevocationStore};
    /// let store = RedisRevocationStore::connect_lazy("redis://127.0.0.1:6379", RedisOptions::default())?;
    /// assert!(RedisRevocationStore::connect_lazy("http://nope", RedisOptions::default()).is_err());
    /// # Ok::<(), centurion::Error>(())
    /// ```
    pub fn connect_lazy(url: &str, options: RedisOptions) -> Result<Self> {
        Ok(Self {
            inner: Arc::new(Inner {
                conn: Connection::lazy(url, options)?,
                revoke_user: Script::new(REVOKE_USER_LUA),
            }),
        })
    }

    /// Checks that Redis answers (`PING`), e.g. for a readiness probe.
    ///
    /// ```no_run
    /// # async fn demo(store: centurion::redis::RedisRevocationStore) {
    /// let ready = store.ping().await.is_ok();
    /// # let _ = ready;
    /// # }
    /// ```
    pub async fn ping(&self) -> Result<()> {
        self.run(|mut c| async move { ::redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .map(drop)
    }

    /// The key prefix in use.
    ///
    /// ```
    /// use centurion::redis::{RedisOptions, RedisRevocationStore};
    /// let store = RedisRevocationStore::connect_lazy("redis://127.0.0.1", RedisOptions::default())?;
    /// assert_eq!(store.prefix(), "centurion:");
    /// # Ok::<(), centurion::Error>(())
    /// ```
    pub fn prefix(&self) -> &str {
        self.inner.conn.prefix()
    }

    fn key(&self, kind: &str, name: &str) -> String {
        let prefix = self.inner.conn.prefix();
        let mut key = String::with_capacity(prefix.len() + kind.len() + name.len() + 1);
        key.push_str(prefix);
        key.push_str(kind);
        key.push(':');
        key.push_str(name);
        key
    }

    /// Runs one Redis exchange within the timeout; every failure is [`Error::store`].
    async fn run<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = ::redis::RedisResult<T>>,
    {
        match self.inner.conn.run(f).await? {
            Ok(value) => Ok(value),
            Err(Failure::Redis(e)) => Err(Error::store(e)),
            Err(Failure::TimedOut(elapsed)) => {
                Err(Error::store(elapsed).with_message("the revocation store (Redis) timed out"))
            }
        }
    }

    /// `SET key 1 EXAT expires_at` (a later write replaces the expiry, as the in-memory
    /// store does).
    async fn revoke(&self, key: String, expires_at: u64) -> Result<()> {
        let at = clamp_exat(expires_at);
        self.run(|mut c| async move {
            ::redis::cmd("SET")
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
            .run(|mut c| async move { ::redis::cmd("MGET").arg(&keys).query_async(&mut c).await })
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
                ::redis::cmd("SET")
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
