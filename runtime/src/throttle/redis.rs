//! `RedisThrottleStore` (feature `redis`): the counts in Redis, shared by every instance,
//! each operation one atomic Lua script on the server's clock.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use super::policy::{millis, ms_duration};
use super::{SlotKind, ThrottleSlot, ThrottleStore};
use crate::error::{Error, ErrorKind, Result};
use crate::redis::{Connection, Failure, RedisOptions};

/// Shared Lua prelude: the server's clock in ms, the back-off step, and the index of
/// keys that bounds their number.
///
/// KEYS[1] and KEYS[2] are the index sorted sets (members: throttle keys, scores: when
/// they expire, in ms): `free` holds counters within their free allowance, `held` keys in
/// back-off, locked or at a rate limit. ARGV[1] is the most keys the throttle may hold.
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
local free_idx = KEYS[1]
local held_idx = KEYS[2]
local max_keys = tonumber(ARGV[1])
local function count()
  return redis.call('ZCARD', free_idx) + redis.call('ZCARD', held_idx)
end
-- Whether the keys KEYS[first..] may be written: those that exist, and room for the
-- others once expired index entries are dropped and the oldest free counters evicted (a
-- tenth of the cap at a time). Held keys are never evicted.
local function room(first)
  local need = 0
  for i = first, #KEYS do
    if redis.call('EXISTS', KEYS[i]) == 0 then need = need + 1 end
  end
  if need == 0 or count() + need <= max_keys then return true end
  redis.call('ZREMRANGEBYSCORE', free_idx, '-inf', now)
  redis.call('ZREMRANGEBYSCORE', held_idx, '-inf', now)
  local n = count()
  if n + need <= max_keys then return true end
  local victims = redis.call('ZPOPMIN', free_idx, n + need - max_keys + math.floor(max_keys / 10))
  for i = 1, #victims, 2 do redis.call('DEL', victims[i]) end
  return count() + need <= max_keys
end
-- Files `key` under `held` or free, scored by when it expires.
local function index(key, held)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('ZREM', free_idx, key)
    redis.call('ZREM', held_idx, key)
    return
  end
  local into = free_idx
  if held then
    redis.call('ZREM', free_idx, key)
    into = held_idx
  else
    redis.call('ZREM', held_idx, key)
  end
  redis.call('ZADD', into, now + ttl, key)
  -- The index lives as long as its longest-lived member: nothing stays for good.
  if redis.call('PTTL', into) < ttl then redis.call('PEXPIRE', into, ttl) end
end
";

/// KEYS: the two indexes, then the slots; ARGV: max keys, then per slot free, base_ms,
/// cap_ms, forget_ms, kind. Returns the longest remaining lock in ms, 0 after taking the
/// probe holds, or -1 when a slot's key cannot be counted (full).
static CHECK: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(&format!(
        "{PRELUDE}
local wait = 0
for i = 3, #KEYS do
  local v = redis.call('HMGET', KEYS[i], 'l', 'p')
  local untl = math.max(num(v[1]), num(v[2]))
  if untl - now > wait then wait = untl - now end
end
if wait > 0 then return wait end
if not room(3) then return -1 end
for i = 3, #KEYS do
  local key = KEYS[i]
  local o = 1 + (i - 3) * 5
  local free = tonumber(ARGV[o + 1])
  local f = num(redis.call('HGET', key, 'f'))
  if f >= free then
local hold = math.floor(step(f - free, tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])))
redis.call('HSET', key, 'p', string.format('%d', now + hold))
local ttl = redis.call('PTTL', key)
if ttl < hold then redis.call('PEXPIRE', key, hold) end
index(key, true)
  end
end
return 0
"
    ))
});

/// Counts a failure under every slot; returns the lock imposed per slot (ms, 0 = none),
/// or `{-1}` when a slot's key cannot be counted (full).
static FAILURE: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(&format!(
        "{PRELUDE}
if not room(3) then return {{-1}} end
local locks = {{}}
for i = 3, #KEYS do
  local key = KEYS[i]
  local o = 1 + (i - 3) * 5
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
  index(key, f >= free)
  locks[i - 2] = lock
end
return locks
"
    ))
});

/// Resets account slots and releases the probe hold of address slots.
static SUCCESS: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(
        r"
for i = 3, #KEYS do
  local key = KEYS[i]
  if ARGV[1 + (i - 3) * 5 + 5] == 'a' then
redis.call('DEL', key)
redis.call('ZREM', KEYS[1], key)
redis.call('ZREM', KEYS[2], key)
  else
redis.call('HDEL', key, 'p')
  end
end
return 0
",
    )
});

/// One event under KEYS[3] (ARGV[2] = max events, ARGV[3] = window ms): 0 when allowed,
/// the time until the window ends when past the limit, -1 when full.
static HIT: LazyLock<::redis::Script> = LazyLock::new(|| {
    ::redis::Script::new(&format!(
        "{PRELUDE}
local key = KEYS[3]
local max = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local c = num(redis.call('HGET', key, 'f'))
local ttl = redis.call('PTTL', key)
if c >= max and ttl > 0 then return ttl end
if not room(3) then return -1 end
c = redis.call('HINCRBY', key, 'f', 1)
if c == 1 or redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, window) end
index(key, c >= max)
return 0
"
    ))
});

/// Throttle counts in Redis, shared by every instance that uses the same server and prefix
/// (feature `redis`).
///
/// Keys are `<prefix>{throttle}:a:<username key>`, `…:ip:<address>` and
/// `…:r:<action>:<subject>` (with the default prefix, `centurion:{throttle}:a:ada`), each a
/// hash that expires with the lock or count it holds; the `{…}` hash tag keeps every key of
/// a call in one slot, so the multi-key scripts also run on Redis Cluster.
///
/// **Bounded.** The throttle's keys are indexed in two sorted sets of their own
/// (`<prefix>{throttle}:index:free` and `…:index:held`, scored by expiry), and the store
/// holds at most [`max_keys`](Self::max_keys) of them (100 000 by default; about 200 bytes
/// each with their index entries). When a new key would pass the cap it evicts the oldest
/// counters still within their free allowance (a tenth of the cap at a time); it never
/// evicts a key in back-off, locked or at a rate limit, and when only such keys are left
/// it refuses attempts under new keys with [`ErrorKind::Overloaded`] (503) until some
/// expire. So a flood of made-up names can neither erase a lock nor grow the throttle
/// past its cap, and it cannot push revocations out of a shared Redis either: the
/// throttle's memory is bounded by the cap, not by Redis' eviction policy. Revocations
/// need `noeviction` (see the revocation store), and so does the throttle, whose locks an
/// evicting Redis could drop under another tenant's memory pressure: it is refused like
/// the revocation store (see [`connect`](Self::connect)). It can share the revocations'
/// instance (it then fails closed, never evicts), or live on an instance or prefix of its own. Every operation is one Lua script, atomic, on the
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
    max_keys: u64,
}

impl fmt::Debug for RedisThrottleStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisThrottleStore")
            .field("addr", &self.conn.addr())
            .field("prefix", &self.conn.prefix())
            .field("timeout", &self.conn.timeout())
            .field("max_keys", &self.max_keys)
            .finish_non_exhaustive()
    }
}

impl RedisThrottleStore {
    /// Connects to `url` (`redis://host:port/db`) with `options`, checks that Redis answers
    /// ([`ErrorKind::StoreUnavailable`] when it does not) and that it cannot evict the
    /// throttle's keys: a Redis with a `maxmemory` and a `maxmemory-policy` other than
    /// `noeviction` could drop a lock and let a locked account be guessed at again, so it
    /// is refused with [`ErrorKind::ConfigurationError`] unless
    /// [`RedisOptions::allow_eviction`] accepts the risk, as the revocation store does.
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
        store.check_eviction().await?;
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
    /// The eviction check runs at the first call that reaches Redis; while it refuses,
    /// every call fails with 503 and an error is logged. Call it inside a Tokio runtime.
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
            max_keys: 100_000,
        })
    }

    /// The most keys the throttle holds in Redis (default 100 000, at least 1); see the
    /// type's documentation for what happens at the cap.
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::redis::RedisOptions;
    /// use centurion::throttle::RedisThrottleStore;
    /// let store = RedisThrottleStore::connect_lazy("redis://127.0.0.1:6379/", RedisOptions::default())?
    ///     .max_keys(20_000);
    /// # let _ = store; Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn max_keys(mut self, max: u64) -> Self {
        self.max_keys = max.max(1);
        self
    }

    fn index_keys(&self, inv: &mut ::redis::ScriptInvocation<'_>) {
        let prefix = self.conn.prefix();
        inv.key(format!("{prefix}{{throttle}}:index:free"));
        inv.key(format!("{prefix}{{throttle}}:index:held"));
        inv.arg(self.max_keys);
    }

    fn invocation<'s>(
        &self,
        script: &'s ::redis::Script,
        slots: &[ThrottleSlot<'_>],
    ) -> ::redis::ScriptInvocation<'s> {
        let mut inv = script.prepare_invoke();
        self.index_keys(&mut inv);
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
        self.invoke(inv).await
    }

    /// Refuses a Redis that may evict the throttle's keys (once it is known not to, never
    /// asks again).
    async fn check_eviction(&self) -> Result<()> {
        let outcome = self
            .conn
            .check_eviction(
                "the login throttle",
                "a locked account could be guessed at again",
            )
            .await?;
        self.outcome(outcome)
    }

    /// Runs one script within the timeout, once the eviction check has passed; every
    /// failure is 503, a refused eviction policy included.
    async fn invoke<T: ::redis::FromRedisValue>(
        &self,
        inv: ::redis::ScriptInvocation<'_>,
    ) -> Result<T> {
        if let Err(e) = self.check_eviction().await {
            return Err(if e.kind() == ErrorKind::ConfigurationError {
                Error::new(ErrorKind::StoreUnavailable)
                    .with_message("the login throttle's store is unavailable; retry later")
                    .with_source(e)
            } else {
                e
            });
        }
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

impl RedisThrottleStore {
    fn full(&self) -> Error {
        tracing::error!(
            max_keys = self.max_keys,
            "the Redis login throttle is full of locked keys; attempts under new keys are refused until locks expire"
        );
        super::full()
    }
}

fn non_negative(ms: i64) -> Duration {
    ms_duration(u64::try_from(ms).unwrap_or(0))
}

impl ThrottleStore for RedisThrottleStore {
    async fn check(&self, slots: &[ThrottleSlot<'_>]) -> Result<Duration> {
        let wait: i64 = self.run(&CHECK, slots).await?;
        if wait < 0 {
            return Err(self.full());
        }
        Ok(non_negative(wait))
    }

    async fn record_failure(&self, slots: &[ThrottleSlot<'_>]) -> Result<Vec<Duration>> {
        let locks: Vec<i64> = self.run(&FAILURE, slots).await?;
        if locks.first().is_some_and(|l| *l < 0) {
            return Err(self.full());
        }
        Ok(locks.into_iter().map(non_negative).collect())
    }

    async fn hit(&self, key: &str, max: u32, window: Duration) -> Result<Duration> {
        let mut inv = HIT.prepare_invoke();
        self.index_keys(&mut inv);
        inv.key(format!("{}{{throttle}}:{key}", self.conn.prefix()));
        inv.arg(max).arg(millis(window).max(1));
        let wait: i64 = self.invoke(inv).await?;
        if wait < 0 {
            return Err(self.full());
        }
        Ok(non_negative(wait))
    }

    async fn record_success(&self, slots: &[ThrottleSlot<'_>]) -> Result<()> {
        let _: i64 = self.run(&SUCCESS, slots).await?;
        Ok(())
    }
}
