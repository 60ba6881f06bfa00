//! `RedisThrottleStore` (feature `redis`): the counts in Redis, shared by every instance,
//! each operation one atomic Lua script on the server's clock.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use super::policy::{millis, ms_duration};
use super::{SlotKind, ThrottleSlot, ThrottleStore};
use crate::error::{Error, ErrorKind, Result};
use crate::redis::{Connection, Failure, RedisOptions};

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
static CHECK: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(&format!(
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
static FAILURE: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(&format!(
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
static SUCCESS: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
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

/// Throttle counts in Redis, shared by every instance that uses the same server and prefix
/// (feature `redis`).
///
/// Keys are `<prefix>{throttle}:a:<username>` and `…:ip:<address>` (with the default
/// prefix, `centurion:{throttle}:a:ada`), each a hash that expires with the lock or count it
/// holds; the `{…}` hash tag keeps every key of a call in one slot, so the multi-key
/// scripts also run on Redis Cluster. Every operation is one Lua script, atomic, on the
/// Redis server's clock. While Redis is unreachable every operation fails closed with
/// [`ErrorKind::StoreUnavailable`] after at most the [timeout](RedisOptions::timeout), and
/// service resumes when it is back (see [`crate::redis`]).
///
/// ```no_run
/// # async fn demo() -> centurion::Result<()> {
/// use centurion::redis::RedisOptions;
/// use centurion::throttle::{RedisThrottleStore, Throttle, ThrottleConfig};
/// let store = RedisThrottleStore::connect("redis://127.0.0.1:6379/", RedisOptions::default()).await?;
/// let throttle = Throttle::new(store, ThrottleConfig::default())?;
/// # let _ = throttle; Ok(()) }
/// ```
pub struct RedisThrottleStore {
    conn: Connection,
}

impl fmt::Debug for RedisThrottleStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisThrottleStore")
            .field("addr", &self.conn.addr())
            .field("prefix", &self.conn.prefix())
            .field("timeout", &self.conn.timeout())
            .finish_non_exhaustive()
    }
}

impl RedisThrottleStore {
    /// Connects to `url` (`redis://host:port/db`) with `options` and checks that Redis
    /// answers ([`ErrorKind::StoreUnavailable`] when it does not).
    ///
    /// ```no_run
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::redis::RedisOptions;
    /// use centurion::throttle::RedisThrottleStore;
    /// let store = RedisThrottleStore::connect("redis://127.0.0.1:6379/", RedisOptions::default().prefix("shop:")).await?;
    /// # let _ = store; Ok(()) }
    /// ```
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self> {
        let store = Self::connect_lazy(url, options)?;
        store
            .outcome(
                store
                    .conn
                    .run(|mut c| async move { ::redis::cmd("PING").query_async::<String>(&mut c).await })
                    .await?,
            )
            .map(drop)?;
        Ok(store)
    }

    /// A store for `url` that connects on first use: it can be built while Redis is down
    /// (logins then fail closed with 503 until it is up). Fails only for a malformed URL.
    /// Call it inside a Tokio runtime.
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::redis::RedisOptions;
    /// use centurion::throttle::RedisThrottleStore;
    /// let store = RedisThrottleStore::connect_lazy("redis://127.0.0.1:6379/", RedisOptions::default())?;
    /// assert!(RedisThrottleStore::connect_lazy("http://nope", RedisOptions::default()).is_err());
    /// # let _ = store; Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn connect_lazy(url: &str, options: RedisOptions) -> Result<Self> {
        Ok(Self {
            conn: Connection::lazy(url, options)?,
        })
    }

    fn invocation<'s>(
        &self,
        script: &'s ::redis::Script,
        slots: &[ThrottleSlot<'_>],
    ) -> ::redis::ScriptInvocation<'s> {
        let mut inv = script.prepare_invoke();
        let prefix = self.conn.prefix();
        for slot in slots {
            inv.key(format!("{prefix}{{throttle}}:{}", slot.key));
            inv.arg(slot.policy.free_failures)
                .arg(millis(slot.policy.base))
                .arg(millis(slot.policy.cap))
                .arg(millis(slot.policy.forget_after))
                .arg(match slot.kind {
                    SlotKind::Account => "a",
                    SlotKind::Address => "ip",
                });
        }
        inv
    }

    /// Words a failed call: 503, logged at `warn`.
    fn outcome<T>(&self, outcome: std::result::Result<T, Failure>) -> Result<T> {
        match outcome {
            Ok(v) => Ok(v),
            Err(Failure::Redis(e)) => {
                tracing::warn!(error = %e, "the Redis login throttle failed");
                Err(Error::store(e)
                    .with_message("the login throttle's store is unavailable; retry later"))
            }
            Err(Failure::TimedOut(elapsed)) => {
                let timeout = self.conn.timeout();
                tracing::warn!(?timeout, "the Redis login throttle timed out");
                Err(Error::new(ErrorKind::StoreUnavailable)
                    .with_message("the login throttle's store timed out; retry later")
                    .with_source(elapsed))
            }
        }
    }

    async fn run<T: ::redis::FromRedisValue>(
        &self,
        script: &::redis::Script,
        slots: &[ThrottleSlot<'_>],
    ) -> Result<T> {
        let inv = self.invocation(script, slots);
        let outcome = self
            .conn
            .run(|mut conn| {
                let inv = &inv;
                async move { inv.invoke_async::<T>(&mut conn).await }
            })
            .await?;
        self.outcome(outcome)
    }
}

fn non_negative(ms: i64) -> Duration {
    ms_duration(u64::try_from(ms).unwrap_or(0))
}

impl ThrottleStore for RedisThrottleStore {
    async fn check(&self, slots: &[ThrottleSlot<'_>]) -> Result<Duration> {
        let wait: i64 = self.run(&CHECK, slots).await?;
        Ok(non_negative(wait))
    }

    async fn record_failure(&self, slots: &[ThrottleSlot<'_>]) -> Result<Vec<Duration>> {
        let locks: Vec<i64> = self.run(&FAILURE, slots).await?;
        Ok(locks.into_iter().map(non_negative).collect())
    }

    async fn record_success(&self, slots: &[ThrottleSlot<'_>]) -> Result<()> {
        let _: i64 = self.run(&SUCCESS, slots).await?;
        Ok(())
    }
}
