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
//! Redis answers (a [`ErrorKind::StoreUnavailable`]
//! error when it does not), `connect_lazy(url, options)` connects on first use, so it can
//! be built while Redis is down, and fails only for a malformed URL.
//!
//! ## Failures
//!
//! The connection is a [`::redis::aio::ConnectionManager`]: multiplexed and reconnecting by
//! itself, created on first use and anew after a call timed out (a connection that stalls
//! without closing is not replaced by the manager). Every call is bounded by
//! [`RedisOptions::timeout`] (default 1.5 s), connecting included; a call that fails or
//! times out answers 503 (centurion fails closed), and once Redis is back the next calls
//! succeed again, without a restart. The connection is plain TCP (`redis://`); `rediss://`
//! (TLS) is not compiled in.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError, RedisResult};

use crate::error::{Error, ErrorKind, Result};

mod revocations;

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

    /// Runs one Redis exchange within the timeout. The outer error is centurion's own (a
    /// poisoned lock); the inner one says how Redis failed, for the store to word.
    pub(crate) async fn run<T, F, Fut>(&self, f: F) -> Result<std::result::Result<T, Failure>>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let manager = self.manager()?;
        Ok(match tokio::time::timeout(self.timeout, f(manager)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                if e.is_timeout() {
                    self.reset();
                }
                Err(Failure::Redis(e))
            }
            Err(elapsed) => {
                self.reset();
                Err(Failure::TimedOut(elapsed))
            }
        })
    }
}
