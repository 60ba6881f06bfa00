//! Redis (feature `redis`): the revocation store here, the login throttle's store in
//! [`throttle`](crate::throttle), both on one connection type and one [`RedisOptions`].
//!
//! ```no_run
//! # async fn demo() -> centurion::Result<()> {
//! use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
//! use centurion::redis::{RedisOptions, RedisRevocationStore};
//! use centurion::throttle::{RedisThrottleStore, Throttle, ThrottleConfig};
//!
//! let url = "redis://127.0.0.1:6379/0";
//! let revocations = RedisRevocationStore::connect(url, RedisOptions::default()).await?;
//! let throttle = Throttle::new(
//!     RedisThrottleStore::connect(url, RedisOptions::default()).await?,
//!     ThrottleConfig::default(),
//! )?;
//! let auth = Centurion::<TestUser>::builder()
//!     .secret("an-example-secret-of-at-least-32-bytes!!")
//!     .user_store(MemoryUserStore::new())
//!     .revocation_store(revocations)
//!     .build()?;
//! # let _ = (auth, throttle); Ok(()) }
//! ```
//!
//! Both stores have the same constructors: `connect(url, options)` connects and checks that
//! Redis answers (a [`ErrorKind::StoreUnavailable`] error when it does not) and that it
//! cannot evict the store's keys ([below](#eviction)), `connect_lazy(url, options)`
//! connects on first use, so it can be built while Redis is down, and fails only for a
//! malformed URL.
//!
//! ## Failures
//!
//! The connection is a [`::redis::aio::ConnectionManager`]: multiplexed and reconnecting by
//! itself, created on first use and anew after a call timed out (a connection that stalls
//! without closing is not replaced by the manager). Every call is bounded by
//! [`RedisOptions::timeout`] (default 1.5 s), connecting included; a call that fails or
//! times out answers 503 (centurion fails closed), and once Redis is back the next calls
//! succeed again, without a restart. A call that finds its connection dropped (Redis
//! restarted, a proxy closed it: connection reset, broken pipe, end of file) is tried once
//! more on a new connection, within the same timeout, so the first request after a restart
//! succeeds; every script is written so that running it twice does what running it once
//! does. Failures are logged at most once per 10 s per store, with the count of those held
//! back. The connection is plain TCP (`redis://`); `rediss://` (TLS) is not compiled in.
//!
//! ## Eviction
//!
//! Revocations, sessions and throttle locks must never be evicted: a Redis under
//! `maxmemory` with an eviction policy (`allkeys-*`, `volatile-*`) drops keys to make room;
//! a dropped revocation makes a revoked token valid again (a dropped session only logs its
//! user out), and a dropped lock lets a locked account be guessed at again. So
//! [`RedisRevocationStore`] and the login throttle's
//! [`RedisThrottleStore`](crate::throttle::RedisThrottleStore) check `maxmemory` and
//! `maxmemory-policy` when they connect (on first use for `connect_lazy`) and refuse a Redis
//! that has a memory limit and a policy other than `noeviction`, unless
//! [`RedisOptions::allow_eviction`] turns the refusal into a logged error (for the store
//! built with those options only). With `noeviction`, a full Redis refuses writes, and
//! centurion answers 503: it fails closed. A Redis that refuses `CONFIG` itself (renamed,
//! denied by an ACL: managed services) is used, with a warning naming what to check; any
//! other error while asking is a failure, asked again at the next call.
//!
//! The recommended set-up: revocations and sessions on a Redis (or a database number) of
//! their own with `maxmemory-policy noeviction` and persistence on; the login throttle,
//! whose keys are many and short-lived (its own cap bounds them), on another Redis with
//! `noeviction` or at least another prefix. Both stores can share one Redis with
//! `noeviction` when its memory is sized for both.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError, RedisResult};

use crate::error::{Error, ErrorKind, Result};
use crate::log_limit::{LOG_EVERY, LogLimiter};

mod revocations;
mod scripts;

pub use self::revocations::RedisRevocationStore;

/// Settings of the Redis stores ([`RedisRevocationStore`] and the throttle's
/// [`RedisThrottleStore`](crate::throttle::RedisThrottleStore)).
///
/// ```
/// use std::time::Duration;
/// use centurion::redis::RedisOptions;
/// let options = RedisOptions::default()
///     .prefix("shop:auth:")
///     .timeout(Duration::from_secs(1));
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
pub struct RedisOptions {
    prefix: String,
    timeout: Duration,
    allow_eviction: bool,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: "centurion:".to_owned(),
            timeout: Duration::from_millis(1500),
            allow_eviction: false,
        }
    }
}

impl RedisOptions {
    /// The prefix of every key (default `centurion:`); give applications sharing one Redis
    /// different prefixes. The revocation store's keys follow it directly
    /// (`centurion:token:…`), the throttle's under `{throttle}:` (`centurion:{throttle}:a:…`).
    ///
    /// ```
    /// let options = centurion::redis::RedisOptions::default().prefix("app1:");
    /// # let _ = options;
    /// ```
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest a call may take, connecting included (default 1.5 s, at least 10 ms).
    /// Past it the call fails with 503, so a dead Redis costs each request at most this
    /// long.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = centurion::redis::RedisOptions::default().timeout(Duration::from_millis(800));
    /// # let _ = options;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// Accepts a Redis whose eviction policy could drop revocations or throttle locks (a
    /// `maxmemory` with a `maxmemory-policy` other than `noeviction`), logging an error at
    /// connection instead of refusing it (default `false`: refused; see
    /// [the module docs](self#eviction)).
    /// Only for a Redis whose memory you know will never fill up.
    ///
    /// ```
    /// let options = centurion::redis::RedisOptions::default().allow_eviction(true);
    /// # let _ = options;
    /// ```
    pub fn allow_eviction(mut self, allow: bool) -> Self {
        self.allow_eviction = allow;
        self
    }
}

/// What a Redis said about its eviction policy.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Eviction {
    /// No memory limit, or `noeviction`: keys are never dropped to make room.
    Never,
    /// Keys may be dropped: the limit and the policy.
    Possible { maxmemory: u64, policy: String },
    /// `CONFIG GET` is not allowed (a managed Redis): the reason.
    Unknown(String),
}

/// Whether Redis refused the `CONFIG` command itself, for every command asked: unknown
/// (renamed away) or not permitted (an ACL).
fn config_is_hidden(e: &RedisError) -> bool {
    let Some(errors) = e.clone().into_server_errors() else {
        return false;
    };
    !errors.is_empty()
        && errors.iter().all(|(_, error)| match error.code() {
            "NOPERM" => true,
            "ERR" => error.details().is_some_and(|detail| {
                let detail = detail.to_ascii_lowercase();
                detail.contains("unknown command") || detail.contains("unknown subcommand")
            }),
            _ => false,
        })
}

/// Why a Redis call failed.
pub(crate) enum Failure {
    /// Redis answered with an error, or the connection failed.
    Redis(RedisError),
    /// No answer within the timeout.
    TimedOut(tokio::time::error::Elapsed),
}

/// A lazily connected, self-repairing connection with a per-call timeout, and the key
/// prefix of the store that owns it.
pub(crate) struct Connection {
    client: Client,
    config: ConnectionManagerConfig,
    /// Created on first use, and anew after a call timed out (a stalled connection).
    manager: Mutex<Option<ConnectionManager>>,
    prefix: String,
    timeout: Duration,
    allow_eviction: bool,
    /// Set once the eviction policy was found acceptable: never asked again.
    eviction_checked: AtomicBool,
    /// One warning per interval while calls fail.
    failures: LogLimiter,
}

impl Connection {
    /// A connection to `url` that connects on first use; fails only for a malformed URL.
    pub(crate) fn lazy(url: &str, options: RedisOptions) -> Result<Self> {
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
            client,
            config,
            manager: Mutex::new(None),
            prefix: options.prefix,
            timeout: options.timeout,
            allow_eviction: options.allow_eviction,
            eviction_checked: AtomicBool::new(false),
            failures: LogLimiter::new(LOG_EVERY),
        })
    }

    /// Refuses a Redis that may evict keys, for a store whose keys must not vanish: `store`
    /// names it in messages, `lost` says what an eviction would undo. Refused with
    /// [`ErrorKind::ConfigurationError`] unless [`RedisOptions::allow_eviction`] is set (then
    /// an error is logged); a Redis that hides its policy is used with a warning. Once the
    /// policy is found acceptable it is never asked again.
    pub(crate) async fn check_eviction(
        &self,
        store: &'static str,
        lost: &'static str,
    ) -> Result<std::result::Result<(), Failure>> {
        if self.eviction_checked.load(Ordering::Acquire) {
            return Ok(Ok(()));
        }
        let eviction = match self.eviction().await? {
            Ok(eviction) => eviction,
            Err(failure) => return Ok(Err(failure)),
        };
        match eviction {
            Eviction::Never => {}
            Eviction::Unknown(why) => tracing::warn!(
                addr = %self.addr(), reason = %why,
                "centurion cannot read this Redis's eviction policy (CONFIG GET is not allowed): \
                 make sure its maxmemory-policy is noeviction, or keys of {store} may be evicted \
                 and {lost}"
            ),
            Eviction::Possible { maxmemory, policy } if self.allow_eviction => tracing::error!(
                addr = %self.addr(), maxmemory, policy = %policy,
                "this Redis may evict keys of {store} when full, and {lost} (accepted because \
                 RedisOptions::allow_eviction is set; use maxmemory-policy noeviction)"
            ),
            Eviction::Possible { maxmemory, policy } => {
                // Every call asks again until the policy changes: one line per interval.
                if let Some(held_back) = self.failures.allow() {
                    tracing::error!(
                        addr = %self.addr(), maxmemory, policy = %policy, held_back,
                        "refusing a Redis that may evict keys of {store}: set maxmemory-policy \
                         noeviction (or maxmemory 0), or RedisOptions::allow_eviction(true) to \
                         accept the risk"
                    );
                }
                return Err(Error::config(format!(
                    "the Redis of {store} may evict keys (maxmemory {maxmemory}, \
                     maxmemory-policy {policy}): {lost} once they are evicted. Set \
                     maxmemory-policy noeviction, or accept the risk with \
                     RedisOptions::allow_eviction(true)"
                )));
            }
        }
        self.eviction_checked.store(true, Ordering::Release);
        Ok(Ok(()))
    }

    /// Asks Redis whether it may evict keys (`CONFIG GET maxmemory`, `maxmemory-policy`, in
    /// one round trip).
    async fn eviction(&self) -> Result<std::result::Result<Eviction, Failure>> {
        let outcome = self
            .run(|mut c| async move {
                ::redis::pipe()
                    .cmd("CONFIG")
                    .arg("GET")
                    .arg("maxmemory")
                    .cmd("CONFIG")
                    .arg("GET")
                    .arg("maxmemory-policy")
                    .query_async::<(Vec<String>, Vec<String>)>(&mut c)
                    .await
            })
            .await?;
        Ok(match outcome {
            Ok((memory, policy)) => {
                let maxmemory = memory.get(1).and_then(|v| v.parse::<u64>().ok());
                let policy = policy.get(1).cloned();
                match (maxmemory, policy) {
                    (Some(0), _) => Ok(Eviction::Never),
                    (Some(_), Some(p)) if p == "noeviction" => Ok(Eviction::Never),
                    (Some(maxmemory), Some(policy)) => Ok(Eviction::Possible { maxmemory, policy }),
                    _ => Ok(Eviction::Unknown(
                        "CONFIG GET answered without maxmemory or maxmemory-policy".into(),
                    )),
                }
            }
            // CONFIG itself is refused (renamed, denied by an ACL, a managed Redis): the policy
            // cannot be read. Any other error (loading, busy, authentication) is a failure,
            // asked again at the next call.
            Err(Failure::Redis(e)) if config_is_hidden(&e) => Ok(Eviction::Unknown(e.to_string())),
            Err(failure) => Err(failure),
        })
    }

    /// The key prefix.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The per-call timeout.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The server's address, for `Debug` output.
    pub(crate) fn addr(&self) -> String {
        self.client.get_connection_info().addr().to_string()
    }

    fn manager(&self) -> Result<ConnectionManager> {
        let mut slot = self.manager.lock().map_err(|_| {
            Error::new(ErrorKind::InternalError).with_message("the Redis store lock is poisoned")
        })?;
        if let Some(manager) = slot.as_ref() {
            return Ok(manager.clone());
        }
        let manager =
            ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone())
                .map_err(Error::store)?;
        *slot = Some(manager.clone());
        Ok(manager)
    }

    /// Forgets the connection manager, so the next call starts afresh.
    fn reset(&self) {
        if let Ok(mut slot) = self.manager.lock() {
            *slot = None;
        }
    }

    /// Runs one Redis exchange within the timeout. A call that finds the connection
    /// dropped is made once more (on the connection the manager reopens), within the same
    /// timeout. The outer error is centurion's own (a poisoned lock); the inner one says how
    /// Redis failed, for the store to word.
    pub(crate) async fn run<T, F, Fut>(&self, f: F) -> Result<std::result::Result<T, Failure>>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let attempts = async {
            let first = f(self.manager()?).await;
            match first {
                Err(e) if e.is_connection_dropped() => {
                    tracing::debug!(error = %e, "the Redis connection was dropped; trying once more");
                    Ok(f(self.manager()?).await)
                }
                other => Ok(other),
            }
        };
        let outcome = match tokio::time::timeout(self.timeout, attempts).await {
            Ok(Err(e)) => return Err(e),
            Ok(Ok(Ok(value))) => return Ok(Ok(value)),
            Ok(Ok(Err(e))) => {
                if e.is_timeout() {
                    self.reset();
                }
                Failure::Redis(e)
            }
            Err(elapsed) => {
                self.reset();
                Failure::TimedOut(elapsed)
            }
        };
        if let Some(held_back) = self.failures.allow() {
            match &outcome {
                Failure::Redis(e) => tracing::warn!(
                    addr = %self.addr(), prefix = %self.prefix, error = %e, held_back,
                    "a Redis call failed (held_back: failures not logged since the last line)"
                ),
                Failure::TimedOut(_) => tracing::warn!(
                    addr = %self.addr(), prefix = %self.prefix, timeout = ?self.timeout, held_back,
                    "a Redis call timed out (held_back: failures not logged since the last line)"
                ),
            }
        }
        Ok(Err(outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::config_is_hidden;

    /// The error Redis answers with `text` (a RESP error line).
    fn answered(text: &str) -> ::redis::RedisError {
        ::redis::parse_redis_value(format!("-{text}\r\n").as_bytes())
            .and_then(::redis::Value::extract_error)
            .expect_err("an error reply")
    }

    #[test]
    fn only_a_refused_config_command_means_the_policy_is_hidden() {
        for hidden in [
            "ERR unknown command 'CONFIG', with args beginning with: 'GET' 'maxmemory'",
            "ERR unknown subcommand 'GET'. Try CONFIG HELP.",
            "NOPERM User app has no permissions to run the 'config|get' command",
        ] {
            assert!(config_is_hidden(&answered(hidden)), "{hidden}");
        }
        // Redis busy, loading or refusing the client: a failure, asked again next time.
        for failure in [
            "BUSY Redis is busy running a script.",
            "LOADING Redis is loading the dataset in memory",
            "NOAUTH Authentication required.",
            "ERR max number of clients reached",
        ] {
            assert!(!config_is_hidden(&answered(failure)), "{failure}");
        }
    }
}
