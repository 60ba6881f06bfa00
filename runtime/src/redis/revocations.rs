//! [`RedisRevocationStore`]: revocations and sessions on Redis, shared by every instance of
//! a fleet.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use ::redis::aio::ConnectionManager;
use ::redis::{FromRedisValue, Script};

use super::scripts::Scripts;

use super::{Connection, Failure, RedisOptions};
use crate::clock::{Clock, SystemClock, unix_ms};
use crate::error::{Error, ErrorKind, Result};
use crate::session::{ClientInfo, Rotation, RotationOutcome, SessionLimits, SessionRecord};
use crate::store::{RevocationStore, TokenRef};

/// The latest expiry Redis accepts comfortably (9999-12-31T23:59:59Z); later ones are
/// clamped to it.
const MAX_EXAT: u64 = 253_402_300_799;

/// Revocations and sessions on Redis: every instance that uses the same Redis (and prefix)
/// sees every revocation at once.
///
/// Same semantics as [`MemoryRevocationStore`](crate::memory::MemoryRevocationStore);
/// for failures, eviction and the recommended set-up see [`crate::redis`](super). Cheap to
/// clone.
///
/// # Keys
///
/// Every key starts with a configurable prefix (default `centurion:`) and expires with
/// what it guards, so Redis holds only live entries:
///
/// | key | value | meaning |
/// | --- | --- | --- |
/// | `{prefix}token:{jti}` | `1` | the token is revoked |
/// | `{prefix}user:{sub}` | not-before, Unix ms | tokens of `sub` stamped before it are revoked |
/// | `{prefix}snb:{sub}` | not-before, Unix ms | sessions of `sub` stamped before it are ended |
/// | `{prefix}spent:{jti}` | a nonce | the single-use token was used |
/// | `{prefix}session:{fam}` | hash | the session of refresh family `fam` (expires when it ends) |
/// | `{prefix}sessions:{sub}` | sorted set | the families of `sub`'s sessions, by creation |
/// | `{prefix}live-sessions` | sorted set | every session's family, by its end (for the global limit) |
///
/// A refresh rewrites its session's hash in place: storage grows with live sessions, not
/// with refreshes. [`is_revoked`](crate::RevocationStore::is_revoked), which runs on every
/// authenticated request, is one pipeline (`MGET` + `HMGET`, one round trip); the writes
/// are Lua scripts, atomic. The keys of one call hash to different slots, and scripts
/// reach session keys they find in the indexes, so the store needs a standalone Redis (or
/// a proxy), not Redis Cluster.
///
/// Revocations live only in Redis: run it with persistence (AOF or RDB snapshots) if they
/// must survive a Redis restart. A Redis that loses its data forgets every revocation and
/// every spent single-use token until the tokens concerned expire (sessions fail closed:
/// a lost session logs its user out). The connection is plain TCP (`redis://`); `rediss://`
/// (TLS) is not compiled in.
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
    scripts: Scripts,
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

fn now_ms() -> u64 {
    // Redis keeps time itself (EXAT, PTTL): the store reads the system's clock too.
    unix_ms(SystemClock.now())
}

impl RedisRevocationStore {
    /// Connects to `url` (`redis://[:password@]host[:port][/db]`) with `options`, checks
    /// that Redis answers (a [`ErrorKind::StoreUnavailable`] error when it does not) and
    /// that it cannot evict revocations: a Redis with a `maxmemory` and a
    /// `maxmemory-policy` other than `noeviction` is refused with
    /// [`ErrorKind::ConfigurationError`] (see [`crate::redis`](super#eviction) and
    /// [`RedisOptions::allow_eviction`]).
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
        store.check_eviction().await?;
        store.ping().await?;
        Ok(store)
    }

    /// A store for `url` that connects on first use: it can be built while Redis is down
    /// (calls fail with 503 until it is up). Fails only for a malformed URL. The eviction
    /// check runs at the first call that reaches Redis; while it refuses, every call fails
    /// with 503 and an error is logged.
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
                scripts: Scripts::new(),
            }),
        })
    }

    /// Checks that Redis answers (`PING`) and that its eviction policy is accepted, e.g.
    /// for a readiness probe.
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

    /// The prefix of the keys of `kind` (`{prefix}{kind}:`), for scripts that build keys.
    fn key_prefix(&self, kind: &str) -> String {
        self.key(kind, "")
    }

    fn global_index(&self) -> String {
        format!("{}live-sessions", self.inner.conn.prefix())
    }

    /// Refuses a Redis that may evict keys (once it is known not to, never asks again).
    async fn check_eviction(&self) -> Result<()> {
        self.inner
            .conn
            .check_eviction(
                "the revocation store",
                "revoked tokens would be accepted again",
            )
            .await?
            .map_err(store_error)
    }

    /// Runs one Redis exchange within the timeout (once the eviction check has passed);
    /// every failure is [`Error::store`] (503), a refused eviction policy included.
    async fn run<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = ::redis::RedisResult<T>>,
    {
        if let Err(e) = self.check_eviction().await {
            return Err(if e.kind() == ErrorKind::ConfigurationError {
                Error::new(ErrorKind::StoreUnavailable).with_source(e)
            } else {
                e
            });
        }
        self.inner.conn.run(f).await?.map_err(store_error)
    }

    /// Runs one of the store's scripts with `keys` and `args` (see [`run`](Self::run): the
    /// timeout, the eviction check, one retry on a dropped connection, which every script
    /// is written to survive).
    async fn invoke<T>(&self, script: &Script, keys: &[String], args: &[String]) -> Result<T>
    where
        T: FromRedisValue + Send,
    {
        self.run(|mut c| async move { script.key(keys).arg(args).invoke_async(&mut c).await })
            .await
    }

    /// `SET key 1 EXAT expires_at` (a later write replaces the expiry, as the in-memory
    /// store does), also in a full Redis.
    async fn revoke(&self, key: String, expires_at: u64) -> Result<()> {
        let args = [text(clamp_exat(expires_at))];
        self.invoke::<i64>(&self.inner.scripts.revoke_token, &[key], &args)
            .await
            .map(drop)
    }
}

/// A failed call as centurion's error (503).
fn store_error(failure: Failure) -> Error {
    match failure {
        Failure::Redis(e) => Error::store(e),
        Failure::TimedOut(elapsed) => {
            Error::store(elapsed).with_message("the revocation store (Redis) timed out")
        }
    }
}

fn clamp_exat(expires_at: u64) -> u64 {
    expires_at.clamp(1, MAX_EXAT)
}

fn text(n: u64) -> String {
    n.to_string()
}

/// A session hash (`HGETALL` pairs) read back.
fn record_of(pairs: Vec<String>) -> Option<SessionRecord> {
    let mut fields: HashMap<String, String> = HashMap::with_capacity(pairs.len() / 2);
    let mut it = pairs.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        fields.insert(k, v);
    }
    let mut take = |k: &str| fields.remove(k);
    let num = |v: Option<String>| v.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let opt = |v: Option<String>| v.filter(|v| !v.is_empty());
    Some(SessionRecord {
        id: take("id")?,
        family: take("family")?,
        subject: take("sub")?,
        created_at_ms: num(take("created")),
        stamp_ms: num(take("stamp")),
        last_used_at_ms: num(take("used")),
        expires_at: num(take("expires")),
        live_until: num(take("live")),
        generation: num(take("gen")),
        rotated_at_ms: num(take("rotated")),
        successor: opt(take("successor")),
        login: ClientInfo {
            user_agent: opt(take("login_ua")),
            ip: opt(take("login_ip")),
        },
        last: ClientInfo {
            user_agent: opt(take("last_ua")),
            ip: opt(take("last_ip")),
        },
        label: opt(take("label")),
    })
}

impl RevocationStore for RedisRevocationStore {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<()> {
        self.revoke(self.key("token", jti), expires_at).await
    }

    async fn revoke_user(&self, subject: &str, not_before_ms: u64, expires_at: u64) -> Result<()> {
        let keys = [
            self.key("user", subject),
            self.key("sessions", subject),
            self.global_index(),
        ];
        let args = [
            text(not_before_ms),
            text(clamp_exat(expires_at)),
            text(now_ms()),
            self.key_prefix("session"),
        ];
        self.invoke::<i64>(&self.inner.scripts.revoke_user, &keys, &args)
            .await
            .map(drop)
    }

    async fn is_revoked(&self, token: &TokenRef<'_>) -> Result<bool> {
        let mget = [
            self.key("token", token.jti),
            self.key("user", token.subject),
            self.key("snb", token.subject),
        ];
        let session = token.family.map(|f| self.key("session", f));
        let (mget, session) = (&mget, &session);
        // One round trip: the three revocation keys and the session's liveness.
        let (values, fields): (Vec<Option<String>>, Vec<Option<String>>) = self
            .run(|mut c| async move {
                match session {
                    Some(key) => {
                        ::redis::pipe()
                            .cmd("MGET")
                            .arg(mget.as_slice())
                            .cmd("HMGET")
                            .arg(key)
                            .arg(&["sub", "stamp", "live"])
                            .query_async(&mut c)
                            .await
                    }
                    None => ::redis::cmd("MGET")
                        .arg(mget.as_slice())
                        .query_async::<Vec<Option<String>>>(&mut c)
                        .await
                        .map(|values| (values, Vec::new())),
                }
            })
            .await?;
        let number = |v: Option<&String>| v.map(|v| v.parse::<u64>());
        let token_revoked = values.first().is_some_and(Option::is_some);
        // A value that is not a number can only come from outside centurion: revoked.
        let user_nb = match number(values.get(1).and_then(Option::as_ref)) {
            Some(Ok(nb)) => nb,
            Some(Err(_)) => return Ok(true),
            None => 0,
        };
        let sessions_nb = match number(values.get(2).and_then(Option::as_ref)) {
            Some(Ok(nb)) => nb,
            Some(Err(_)) => return Ok(true),
            None => 0,
        };
        let user_revoked = token.issued_at_ms < user_nb;
        let session_gone = token.family.is_some() && {
            let field = |i: usize| fields.get(i).and_then(Option::as_deref);
            let stamp = field(1).and_then(|v| v.parse::<u64>().ok());
            let live = field(2).and_then(|v| v.parse::<u64>().ok());
            let now = now_ms() / 1000;
            !(field(0) == Some(token.subject)
                && stamp.is_some_and(|s| s >= user_nb.max(sessions_nb))
                && live.is_some_and(|l| l > now))
        };
        Ok(token_revoked || user_revoked || session_gone)
    }

    async fn mark_spent(&self, jti: &str, expires_at: u64) -> Result<bool> {
        // A nonce of this call: a retry of it recognises its own mark.
        let args = [crate::jwt::random_id()?, text(clamp_exat(expires_at))];
        let keys = [self.key("spent", jti)];
        let spent: i64 = self
            .invoke(&self.inner.scripts.mark_spent, &keys, &args)
            .await?;
        Ok(spent == 1)
    }

    async fn create_session(&self, record: &SessionRecord, limits: &SessionLimits) -> Result<()> {
        let keys = [
            self.key("session", &record.family),
            self.key("sessions", &record.subject),
            self.global_index(),
            self.key("user", &record.subject),
            self.key("snb", &record.subject),
        ];
        let text_or_empty = |v: &Option<String>| v.clone().unwrap_or_default();
        let mut args: Vec<String> = vec![
            self.key_prefix("session"),
            record.family.clone(),
            text(limits.per_user.max(1) as u64 - 1),
            text(limits.global),
            text(now_ms() / 1000),
            text(record.created_at_ms),
            text(clamp_exat(record.live_until)),
            record.id.clone(),
        ];
        for (field, value) in [
            ("id", record.id.clone()),
            ("family", record.family.clone()),
            ("sub", record.subject.clone()),
            ("created", text(record.created_at_ms)),
            ("stamp", text(record.stamp_ms)),
            ("used", text(record.last_used_at_ms)),
            ("expires", text(record.expires_at)),
            ("live", text(clamp_exat(record.live_until))),
            ("gen", text(record.generation)),
            ("rotated", text(record.rotated_at_ms)),
            ("successor", text_or_empty(&record.successor)),
            ("login_ua", text_or_empty(&record.login.user_agent)),
            ("login_ip", text_or_empty(&record.login.ip)),
            ("last_ua", text_or_empty(&record.last.user_agent)),
            ("last_ip", text_or_empty(&record.last.ip)),
            ("label", text_or_empty(&record.label)),
        ] {
            args.push(field.to_owned());
            args.push(value);
        }
        let created: i64 = self
            .invoke(&self.inner.scripts.create, &keys, &args)
            .await?;
        match created {
            0 => Ok(()),
            -1 => Err(Error::new(ErrorKind::Overloaded)
                .with_message("too many live sessions; retry later")),
            _ => Err(Error::new(ErrorKind::InternalError)
                .with_message("a session with this family exists already")),
        }
    }

    async fn rotate_session(&self, rotation: &Rotation<'_>) -> Result<RotationOutcome> {
        let keys = [
            self.key("session", rotation.family),
            self.key("user", rotation.subject),
            self.key("snb", rotation.subject),
            self.key("sessions", rotation.subject),
            self.global_index(),
        ];
        let client = rotation.client;
        let args = [
            rotation.family.to_owned(),
            rotation.subject.to_owned(),
            text(rotation.presented),
            text(rotation.now_ms),
            text(rotation.grace_ms),
            text(clamp_exat(rotation.live_until)),
            rotation.successor.to_owned(),
            client.user_agent.clone().unwrap_or_default(),
            client.ip.clone().unwrap_or_default(),
        ];
        let answer: Vec<String> = self
            .invoke(&self.inner.scripts.rotate, &keys, &args)
            .await?;
        let mut answer = answer.into_iter();
        Ok(match (answer.next().as_deref(), answer.next()) {
            (Some("rotated"), _) => RotationOutcome::Rotated,
            (Some("replayed"), Some(successor)) => RotationOutcome::Replayed(successor),
            (Some("reused"), _) => RotationOutcome::Reused,
            _ => RotationOutcome::Ended,
        })
    }

    async fn sessions(&self, subject: &str) -> Result<Vec<SessionRecord>> {
        let keys = [
            self.key("sessions", subject),
            self.key("user", subject),
            self.key("snb", subject),
        ];
        let args = [
            self.key_prefix("session"),
            text(now_ms() / 1000),
            subject.to_owned(),
        ];
        let hashes: Vec<Vec<String>> = self
            .invoke(&self.inner.scripts.sessions, &keys, &args)
            .await?;
        Ok(hashes.into_iter().filter_map(record_of).collect())
    }

    async fn end_session(&self, family: &str) -> Result<bool> {
        let keys = [self.key("session", family), self.global_index()];
        let args = [
            family.to_owned(),
            self.key_prefix("sessions"),
            text(now_ms() / 1000),
        ];
        let ended: i64 = self
            .invoke(&self.inner.scripts.end_session, &keys, &args)
            .await?;
        Ok(ended == 1)
    }

    async fn end_session_of(&self, subject: &str, id: &str) -> Result<bool> {
        let keys = [
            self.key("sessions", subject),
            self.global_index(),
            self.key("user", subject),
            self.key("snb", subject),
        ];
        let args = [
            self.key_prefix("session"),
            id.to_owned(),
            text(now_ms() / 1000),
        ];
        let ended: i64 = self
            .invoke(&self.inner.scripts.end_session_of, &keys, &args)
            .await?;
        Ok(ended == 1)
    }

    async fn end_sessions_of(
        &self,
        subject: &str,
        except: Option<&str>,
        not_before_ms: u64,
        expires_at: u64,
    ) -> Result<u64> {
        let keys = [
            self.key("sessions", subject),
            self.global_index(),
            self.key("user", subject),
            self.key("snb", subject),
        ];
        let now = now_ms();
        let args = [
            self.key_prefix("session"),
            except.unwrap_or_default().to_owned(),
            text(not_before_ms),
            text(clamp_exat(expires_at)),
            text(now / 1000),
            text(now),
        ];
        let ended: i64 = self
            .invoke(&self.inner.scripts.end_sessions_of, &keys, &args)
            .await?;
        Ok(u64::try_from(ended).unwrap_or(0))
    }
}
