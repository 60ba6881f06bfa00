//! [`SqlRevocationStore`]: revocations in the table `centurion_revocations`, sessions in
//! `centurion_sessions`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{BeginWrite, SqlOptions, SqlPool};
use crate::clock::{Clock, SharedClock};
use crate::error::{Error, ErrorKind, Result};
use crate::session::{ClientInfo, Rotation, RotationOutcome, SessionLimits, SessionRecord};
use crate::store::{RevocationStore, TokenRef};

/// Clamps a `u64` into a `BIGINT`.
fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A `BIGINT` read back (never negative when centurion wrote it).
fn unbig(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// How often (seconds) writes start a purge of expired rows.
const PURGE_EVERY: u64 = 60;

/// Rows one purge statement deletes at most: each statement holds its locks briefly.
const PURGE_BATCH: i64 = 1000;

/// The pause between two purge statements, so that requests get the database in between.
const PURGE_PAUSE: Duration = Duration::from_millis(5);

/// How long (seconds) the count of live sessions the global limit is checked against may
/// be reused before it is counted again.
const COUNT_EVERY: u64 = 5;

/// The condition, on a row `s` of `centurion_sessions` and the subject `$sub`, that no
/// not-before of the user (`user`) or of the user's sessions (`sessions`) revokes it.
macro_rules! not_revoked {
    ($now:literal, $sub:literal) => {
        concat!(
            "NOT EXISTS (SELECT 1 FROM centurion_revocations r \
               WHERE r.kind IN ('user', 'sessions') AND r.name = ",
            $sub,
            " AND r.expires_at > ",
            $now,
            " AND r.not_before_ms > s.stamp_ms)"
        )
    };
}

/// The columns of a session row, in [`SessionRow`]'s order.
const SESSION_COLUMNS: &str = "s.id, s.family, s.subject, s.created_at_ms, s.stamp_ms, \
     s.last_used_at_ms, s.expires_at, s.live_until, s.generation, s.rotated_at_ms, \
     s.successor, s.login_user_agent, s.login_ip, s.last_user_agent, s.last_ip, s.label";

type SessionRow = (
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn record(row: SessionRow) -> SessionRecord {
    let (id, family, subject, created, stamp, last_used, expires, live, generation, rotated) = (
        row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9,
    );
    SessionRecord {
        id,
        family,
        subject,
        created_at_ms: unbig(created),
        stamp_ms: unbig(stamp),
        last_used_at_ms: unbig(last_used),
        expires_at: unbig(expires),
        live_until: unbig(live),
        generation: unbig(generation),
        rotated_at_ms: unbig(rotated),
        successor: row.10,
        login: ClientInfo {
            user_agent: row.11,
            ip: row.12,
        },
        last: ClientInfo {
            user_agent: row.13,
            ip: row.14,
        },
        label: row.15,
    }
}

/// Revocations and sessions in a SQL database (tables `centurion_revocations` and
/// `centurion_sessions`), shared by every instance using the database: the choice for
/// fleets without Redis.
///
/// Same semantics as [`MemoryRevocationStore`](crate::memory::MemoryRevocationStore):
/// entries stop counting at their `expires_at`, [`mark_spent`](RevocationStore::mark_spent)
/// is atomic (one `INSERT … ON CONFLICT` whose row count answers), a user's not-before only
/// ever moves forward, and a refresh is one conditional `UPDATE` of its session's row (the
/// generation compare-and-set). [`is_revoked`](RevocationStore::is_revoked) is one query.
///
/// The global session limit is checked against a count of live sessions taken at most
/// every 5 seconds (and counted again before a login is refused), plus the sessions this
/// store created since: several instances together may overshoot it by what they create
/// within those seconds. The per-user limit may be overshot, briefly, by logins of one user
/// that run at the same moment.
///
/// Expired rows are deleted in the background, off the request path: a write starts a
/// purge when the last one is a minute old (one purge at a time per store), which deletes
/// at most 1 000 rows per statement with a short pause between statements, so a large
/// backlog never holds the tables for long. [`purge_expired`](Self::purge_expired) runs one
/// now. Cheap to clone.
///
/// ```
/// # async fn demo() -> centurion::Result<()> {
/// # #[cfg(feature = "sqlite")] {
/// use centurion::{RevocationStore, TokenRef, sql::SqlRevocationStore};
///
/// let store = SqlRevocationStore::connect("sqlite::memory:").await?;
/// let far = u64::MAX / 2;
/// store.revoke_token("abc", far).await?;
/// let token = TokenRef { jti: "abc", family: None, subject: "1", issued_at_ms: 0 };
/// assert!(store.is_revoked(&token).await?);
/// assert!(store.mark_spent("r1", far).await?);
/// assert!(!store.mark_spent("r1", far).await?);
/// # }
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Clone)]
pub struct SqlRevocationStore {
    pool: SqlPool,
    upkeep: Arc<Upkeep>,
    clock: SharedClock,
}

/// The store's bookkeeping: purges and the count of live sessions.
#[derive(Default)]
struct Upkeep {
    last_purge: AtomicU64,
    purging: AtomicBool,
    /// Live sessions as last counted, plus those created since; when it was counted.
    sessions: Mutex<(u64, u64)>,
}

impl std::fmt::Debug for SqlRevocationStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlRevocationStore")
            .field("backend", &self.pool.backend())
            .finish_non_exhaustive()
    }
}

impl SqlRevocationStore {
    /// Connects to `url` with default [`SqlOptions`] and applies the revocation store's
    /// migrations (its tables only: no `centurion_users`).
    ///
    /// ```no_run
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::sql::SqlRevocationStore;
    /// let store = SqlRevocationStore::connect("postgres://app:secret@127.0.0.1/app").await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, SqlOptions::default()).await
    }

    /// Connects to `url` with `options` and applies the revocation store's migrations.
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// # #[cfg(feature = "sqlite")] {
    /// use centurion::sql::{SqlOptions, SqlRevocationStore};
    /// let store = SqlRevocationStore::connect_with("sqlite::memory:", SqlOptions::default()).await?;
    /// # let _ = store;
    /// # }
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn connect_with(url: &str, options: SqlOptions) -> Result<Self> {
        Self::from_pool(SqlPool::connect(url, &options).await?).await
    }

    /// Uses an existing pool and applies the revocation store's migrations: its tables
    /// (`centurion_revocations`, `centurion_sessions`) and nothing of the user store's, so an
    /// application with users of its own gets no `centurion_users` table.
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// # #[cfg(feature = "sqlite")] {
    /// use centurion::sql::SqlRevocationStore;
    /// let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await?;
    /// let store = SqlRevocationStore::from_pool(pool.into()).await?;
    /// # let _ = store;
    /// # }
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn from_pool(pool: SqlPool) -> Result<Self> {
        pool.migrate_revocations().await?;
        Ok(Self::with_migrated_pool(pool))
    }

    pub(super) fn with_migrated_pool(pool: SqlPool) -> Self {
        Self {
            pool,
            upkeep: Arc::default(),
            clock: SharedClock::system(),
        }
    }

    /// Reads the time from `clock`: entries stop counting, and are purged, by it. Give it
    /// the clock the instance has (a test's [`ManualClock`](crate::clock::ManualClock)).
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// # #[cfg(feature = "sqlite")] {
    /// use centurion::{clock::SystemClock, sql::SqlRevocationStore};
    /// let store = SqlRevocationStore::connect("sqlite::memory:").await?.with_clock(SystemClock);
    /// # let _ = store;
    /// # }
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = SharedClock::new(clock);
        self
    }

    /// The pool.
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// # #[cfg(feature = "sqlite")] {
    /// # use centurion::sql::SqlRevocationStore;
    /// let store = SqlRevocationStore::connect("sqlite::memory:").await?;
    /// assert_eq!(store.pool().backend(), "sqlite");
    /// # }
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn pool(&self) -> &SqlPool {
        &self.pool
    }

    /// Deletes every expired entry and ended session now, in batches of at most 1 000 rows
    /// with a short pause between them, and returns how many rows went. Writes start this
    /// in the background by themselves at most once a minute; call it from a scheduled job
    /// if the store sees few writes.
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// # #[cfg(feature = "sqlite")] {
    /// use centurion::{RevocationStore, sql::SqlRevocationStore};
    /// let store = SqlRevocationStore::connect("sqlite::memory:").await?;
    /// store.purge_expired().await?;
    /// store.revoke_token("old", 1).await?; // expired long ago; kept until the next purge
    /// assert_eq!(store.purge_expired().await?, 1);
    /// # }
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn purge_expired(&self) -> Result<u64> {
        let now = self.clock.secs();
        self.upkeep.last_purge.store(now, Ordering::Relaxed);
        let mut purged = 0;
        for (table, column) in [
            ("centurion_revocations", "expires_at"),
            ("centurion_sessions", "live_until"),
        ] {
            loop {
                let n = self.purge_batch(table, column, now).await?;
                purged += n;
                if n < PURGE_BATCH as u64 {
                    break;
                }
                tokio::time::sleep(PURGE_PAUSE).await;
            }
        }
        Ok(purged)
    }

    /// Deletes at most [`PURGE_BATCH`] expired rows of `table`, chosen by their physical
    /// address (SQLite `rowid`, PostgreSQL `ctid`) so the statement stays small.
    async fn purge_batch(&self, table: &str, column: &str, now: u64) -> Result<u64> {
        let affected = match &self.pool {
            #[cfg(feature = "sqlite")]
            SqlPool::Sqlite(p) => sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE rowid IN \
                 (SELECT rowid FROM {table} WHERE {column} <= $1 LIMIT $2)"
            )))
            .bind(big(now))
            .bind(PURGE_BATCH)
            .execute(p)
            .await
            .map_err(Error::store)?
            .rows_affected(),
            #[cfg(feature = "postgres")]
            SqlPool::Postgres(p) => sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE ctid = ANY(ARRAY( \
                 SELECT ctid FROM {table} WHERE {column} <= $1 LIMIT $2))"
            )))
            .bind(big(now))
            .bind(PURGE_BATCH)
            .execute(p)
            .await
            .map_err(Error::store)?
            .rows_affected(),
        };
        Ok(affected)
    }

    /// After a write: when the last purge is a minute old and none is running, starts one
    /// in the background (the request that triggered it does not wait). A failed purge is
    /// only logged.
    fn purge_if_due(&self) {
        let now = self.clock.secs();
        let last = self.upkeep.last_purge.load(Ordering::Relaxed);
        if now < last.saturating_add(PURGE_EVERY)
            || self
                .upkeep
                .last_purge
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
            || self.upkeep.purging.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.upkeep.purging.store(false, Ordering::Release);
            return;
        };
        let store = self.clone();
        runtime.spawn(async move {
            if let Err(e) = store.purge_expired().await {
                tracing::warn!(error = ?e, "centurion could not purge expired revocations");
            }
            store.upkeep.purging.store(false, Ordering::Release);
        });
    }

    /// Whether a purge is running in the background (for tests and metrics).
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// # #[cfg(feature = "sqlite")] {
    /// let store = centurion::sql::SqlRevocationStore::connect("sqlite::memory:").await?;
    /// assert!(!store.is_purging());
    /// # }
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn is_purging(&self) -> bool {
        self.upkeep.purging.load(Ordering::Acquire)
    }

    /// Revokes `kind`/`name` until `expires_at` (a later write replaces the expiry, as the
    /// in-memory store does).
    async fn revoke(&self, kind: &str, name: &str, expires_at: u64) -> Result<()> {
        on_pool!(&self.pool, p => {
            sqlx::query(
                "INSERT INTO centurion_revocations (kind, name, not_before_ms, expires_at) \
                 VALUES ($1, $2, 0, $3) \
                 ON CONFLICT (kind, name) DO UPDATE SET expires_at = excluded.expires_at",
            )
            .bind(kind)
            .bind(name)
            .bind(big(expires_at))
            .execute(p)
            .await
            .map_err(Error::store)?;
        });
        self.purge_if_due();
        Ok(())
    }

    /// The statement that moves a not-before of `kind` (`user`, `sessions`) and its expiry
    /// forward only, in one statement.
    const RAISE_NOT_BEFORE: &'static str = "INSERT INTO centurion_revocations (kind, name, not_before_ms, expires_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (kind, name) DO UPDATE SET \
           not_before_ms = CASE WHEN centurion_revocations.expires_at <= $5 \
                                  OR excluded.not_before_ms > centurion_revocations.not_before_ms \
                                THEN excluded.not_before_ms \
                                ELSE centurion_revocations.not_before_ms END, \
           expires_at = CASE WHEN excluded.expires_at > centurion_revocations.expires_at \
                             THEN excluded.expires_at \
                             ELSE centurion_revocations.expires_at END";

    /// Whether creating one more session stays within `limit`, on a count of live sessions
    /// reused for up to [`COUNT_EVERY`] seconds; counted again before refusing.
    /// Whether the cached count of live sessions (younger than `COUNT_EVERY`) leaves room
    /// under `limit`; `false` when it does not or is stale: count again.
    fn cached_room(&self, limit: u64, now: u64) -> Result<bool> {
        let guard = self.upkeep.sessions.lock().map_err(|_| lock_poisoned())?;
        Ok(now < guard.1.saturating_add(COUNT_EVERY) && guard.0 < limit)
    }

    /// Remembers `counted` live sessions at `now`.
    fn remember_count(&self, counted: u64, now: u64) -> Result<()> {
        *self.upkeep.sessions.lock().map_err(|_| lock_poisoned())? = (counted, now);
        Ok(())
    }

    fn count_created(&self) {
        if let Ok(mut guard) = self.upkeep.sessions.lock() {
            guard.0 = guard.0.saturating_add(1);
        }
    }

    /// The larger of `subject`'s not-befores (user, sessions) in force at `now`.
    async fn not_before(&self, subject: &str, now: u64) -> Result<u64> {
        let nb: Option<i64> = on_pool!(&self.pool, p => {
            sqlx::query_scalar(
                "SELECT MAX(not_before_ms) FROM centurion_revocations \
                 WHERE kind IN ('user', 'sessions') AND name = $1 AND expires_at > $2",
            )
            .bind(subject)
            .bind(big(now))
            .fetch_one(p)
            .await
            .map_err(Error::store)?
        });
        Ok(nb.map_or(0, unbig))
    }

    /// The session row of `family`, live or not.
    async fn session_row(&self, family: &str) -> Result<Option<SessionRecord>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM centurion_sessions s WHERE s.family = $1");
        let row: Option<SessionRow> = on_pool!(&self.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(family)
                .fetch_optional(p)
                .await
                .map_err(Error::store)?
        });
        Ok(row.map(record))
    }
}

fn lock_poisoned() -> Error {
    Error::new(ErrorKind::InternalError).with_message("the SQL store's lock is poisoned")
}

impl RevocationStore for SqlRevocationStore {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<()> {
        self.revoke("token", jti, expires_at).await
    }

    async fn revoke_user(&self, subject: &str, not_before_ms: u64, expires_at: u64) -> Result<()> {
        let now = self.clock.secs();
        on_pool!(&self.pool, p => {
            let mut tx = p.begin_write().await.map_err(Error::store)?;
            sqlx::query(Self::RAISE_NOT_BEFORE)
                .bind("user")
                .bind(subject)
                .bind(big(not_before_ms))
                .bind(big(expires_at))
                .bind(big(now))
                .execute(&mut *tx)
                .await
                .map_err(Error::store)?;
            sqlx::query("DELETE FROM centurion_sessions WHERE subject = $1")
                .bind(subject)
                .execute(&mut *tx)
                .await
                .map_err(Error::store)?;
            tx.commit().await.map_err(Error::store)?;
        });
        self.purge_if_due();
        Ok(())
    }

    async fn is_revoked(&self, token: &TokenRef<'_>) -> Result<bool> {
        // One query (one round trip) for the three rules and the session.
        let sql = concat!(
            "SELECT CASE \
               WHEN EXISTS (SELECT 1 FROM centurion_revocations WHERE expires_at > $1 AND ( \
                   (kind = 'token' AND name = $2) \
                   OR (kind = 'user' AND name = $4 AND not_before_ms > $5))) THEN 1 \
               WHEN $3 IS NULL THEN 0 \
               WHEN EXISTS (SELECT 1 FROM centurion_sessions s \
                   WHERE s.family = $3 AND s.subject = $4 AND s.live_until > $1 AND ",
            not_revoked!("$1", "$4"),
            ") THEN 0 \
               ELSE 1 END"
        );
        let hit: i32 = on_pool!(&self.pool, p => {
            sqlx::query_scalar(sql)
                .bind(big(self.clock.secs()))
                .bind(token.jti)
                .bind(token.family)
                .bind(token.subject)
                .bind(big(token.issued_at_ms))
                .fetch_one(p)
                .await
                .map_err(Error::store)?
        });
        Ok(hit != 0)
    }

    async fn mark_spent(&self, jti: &str, expires_at: u64) -> Result<bool> {
        // Atomic: the row count of one INSERT … ON CONFLICT tells whether this call spent
        // the token. An expired entry that was not purged yet is taken over (the in-memory
        // store forgets it too); a live one is left alone and answers `false`.
        let now = self.clock.secs();
        let affected = on_pool!(&self.pool, p => {
            sqlx::query(
                "INSERT INTO centurion_revocations (kind, name, not_before_ms, expires_at) \
                 VALUES ('spent', $1, 0, $2) \
                 ON CONFLICT (kind, name) DO UPDATE SET expires_at = excluded.expires_at \
                 WHERE centurion_revocations.expires_at <= $3",
            )
            .bind(jti)
            .bind(big(expires_at))
            .bind(big(now))
            .execute(p)
            .await
            .map_err(Error::store)?
            .rows_affected()
        });
        self.purge_if_due();
        Ok(affected == 1)
    }

    async fn create_session(&self, record: &SessionRecord, limits: &SessionLimits) -> Result<()> {
        let now = self.clock.secs();
        if let Some(existing) = self.session_row(&record.family).await? {
            // A retried call finds its own record; anything else under this key is not
            // ours to replace.
            return if existing == *record {
                Ok(())
            } else {
                Err(Error::new(ErrorKind::InternalError)
                    .with_message("a session with this family exists already"))
            };
        }
        let keep = i64::try_from(limits.per_user.max(1) - 1).unwrap_or(i64::MAX);
        // One transaction, serialised per user: concurrent logins of one user cannot each
        // trim to the limit and then all insert.
        on_pool!(&self.pool, p => {
            let mut tx = p
                .begin_write_for(&record.subject)
                .await
                .map_err(Error::store)?;
            // The user's ended sessions, and the oldest live ones beyond the limit, go.
            sqlx::query(
                "DELETE FROM centurion_sessions WHERE subject = $1 AND (live_until <= $2 \
                   OR family NOT IN (SELECT family FROM centurion_sessions \
                     WHERE subject = $1 AND live_until > $2 \
                     ORDER BY created_at_ms DESC, family DESC LIMIT $3))",
            )
            .bind(&record.subject)
            .bind(big(now))
            .bind(keep)
            .execute(&mut *tx)
            .await
            .map_err(Error::store)?;
            // The global limit, counted on this transaction's connection (a pool of one
            // connection has no other) when the cached count is stale or full.
            if !self.cached_room(limits.global, now)? {
                let counted: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM centurion_sessions WHERE live_until > $1",
                )
                .bind(big(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(Error::store)?;
                let counted = unbig(counted);
                self.remember_count(counted, now)?;
                if counted >= limits.global {
                    // Dropping the transaction rolls the trim back.
                    return Err(too_many_sessions());
                }
            }
            sqlx::query(
                "INSERT INTO centurion_sessions (family, id, subject, created_at_ms, stamp_ms, \
                   last_used_at_ms, expires_at, live_until, generation, rotated_at_ms, successor, \
                   login_user_agent, login_ip, last_user_agent, last_ip, label) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            )
            .bind(&record.family)
            .bind(&record.id)
            .bind(&record.subject)
            .bind(big(record.created_at_ms))
            .bind(big(record.stamp_ms))
            .bind(big(record.last_used_at_ms))
            .bind(big(record.expires_at))
            .bind(big(record.live_until))
            .bind(big(record.generation))
            .bind(big(record.rotated_at_ms))
            .bind(&record.successor)
            .bind(&record.login.user_agent)
            .bind(&record.login.ip)
            .bind(&record.last.user_agent)
            .bind(&record.last.ip)
            .bind(&record.label)
            .execute(&mut *tx)
            .await
            .map_err(Error::store)?;
            tx.commit().await.map_err(Error::store)?;
        });
        self.count_created();
        self.purge_if_due();
        Ok(())
    }

    async fn rotate_session(&self, rotation: &Rotation<'_>) -> Result<RotationOutcome> {
        let now = rotation.now_ms / 1000;
        // The compare-and-set: one UPDATE that only a current, live token's rotation makes.
        let sql = concat!(
            "UPDATE centurion_sessions AS s SET generation = s.generation + 1, \
               rotated_at_ms = $1, last_used_at_ms = $1, live_until = $2, successor = $3, \
               last_user_agent = $4, last_ip = $5 \
             WHERE s.family = $6 AND s.subject = $7 AND s.generation = $8 AND s.live_until > $9 \
               AND ",
            not_revoked!("$9", "$7")
        );
        let rotated = on_pool!(&self.pool, p => {
            sqlx::query(sql)
                .bind(big(rotation.now_ms))
                .bind(big(rotation.live_until))
                .bind(rotation.successor)
                .bind(&rotation.client.user_agent)
                .bind(&rotation.client.ip)
                .bind(rotation.family)
                .bind(rotation.subject)
                .bind(big(rotation.presented))
                .bind(big(now))
                .execute(p)
                .await
                .map_err(Error::store)?
                .rows_affected()
        });
        if rotated == 1 {
            self.purge_if_due();
            return Ok(RotationOutcome::Rotated);
        }
        // Not current: a replay within the grace window, a reuse, or no live session.
        let Some(mut record) = self.session_row(rotation.family).await? else {
            return Ok(RotationOutcome::Ended);
        };
        let not_before = self.not_before(rotation.subject, now).await?;
        let before = record.generation;
        let outcome = match rotation.apply(&mut record, not_before) {
            // Not written by the UPDATE above: only a retry of this rotation counts.
            RotationOutcome::Rotated if before != rotation.presented => RotationOutcome::Rotated,
            RotationOutcome::Rotated => RotationOutcome::Ended,
            outcome => outcome,
        };
        let delete = outcome == RotationOutcome::Reused
            || (outcome == RotationOutcome::Ended && record.subject == rotation.subject);
        if delete {
            on_pool!(&self.pool, p => {
                sqlx::query("DELETE FROM centurion_sessions WHERE family = $1")
                    .bind(rotation.family)
                    .execute(p)
                    .await
                    .map_err(Error::store)?;
            });
        }
        Ok(outcome)
    }

    async fn sessions(&self, subject: &str) -> Result<Vec<SessionRecord>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM centurion_sessions s \
             WHERE s.subject = $1 AND s.live_until > $2 AND {} \
             ORDER BY s.created_at_ms DESC, s.family DESC",
            not_revoked!("$2", "$1")
        );
        let rows: Vec<SessionRow> = on_pool!(&self.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(subject)
                .bind(big(self.clock.secs()))
                .fetch_all(p)
                .await
                .map_err(Error::store)?
        });
        Ok(rows.into_iter().map(record).collect())
    }

    async fn end_session(&self, family: &str) -> Result<bool> {
        let affected = on_pool!(&self.pool, p => {
            sqlx::query("DELETE FROM centurion_sessions WHERE family = $1 AND live_until > $2")
                .bind(family)
                .bind(big(self.clock.secs()))
                .execute(p)
                .await
                .map_err(Error::store)?
                .rows_affected()
        });
        Ok(affected > 0)
    }

    async fn end_session_of(&self, subject: &str, id: &str) -> Result<bool> {
        let sql = concat!(
            "DELETE FROM centurion_sessions AS s \
             WHERE s.subject = $1 AND s.id = $2 AND s.live_until > $3 AND ",
            not_revoked!("$3", "$1")
        );
        let affected = on_pool!(&self.pool, p => {
            sqlx::query(sql)
                .bind(subject)
                .bind(id)
                .bind(big(self.clock.secs()))
                .execute(p)
                .await
                .map_err(Error::store)?
                .rows_affected()
        });
        Ok(affected > 0)
    }

    async fn end_sessions_of(
        &self,
        subject: &str,
        except: Option<&str>,
        not_before_ms: u64,
        expires_at: u64,
    ) -> Result<u64> {
        let now = self.clock.secs();
        let count_live = concat!(
            "SELECT COUNT(*) FROM centurion_sessions s \
             WHERE s.subject = $1 AND ($2 IS NULL OR s.family <> $2) AND s.live_until > $3 AND ",
            not_revoked!("$3", "$1")
        );
        let keep = concat!(
            "UPDATE centurion_sessions AS s SET stamp_ms = $1 \
             WHERE s.family = $2 AND s.subject = $3 AND s.stamp_ms < $1 AND s.live_until > $4 \
               AND ",
            not_revoked!("$4", "$3")
        );
        let ended: i64 = on_pool!(&self.pool, p => {
            let mut tx = p.begin_write().await.map_err(Error::store)?;
            let ended: i64 = sqlx::query_scalar(count_live)
                .bind(subject)
                .bind(except)
                .bind(big(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(Error::store)?;
            // The kept session is stamped at the new not-before while it is still live
            // under the old one, then the not-before moves, then the others go.
            if let Some(family) = except {
                sqlx::query(keep)
                    .bind(big(not_before_ms))
                    .bind(family)
                    .bind(subject)
                    .bind(big(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(Error::store)?;
            }
            sqlx::query(Self::RAISE_NOT_BEFORE)
                .bind("sessions")
                .bind(subject)
                .bind(big(not_before_ms))
                .bind(big(expires_at))
                .bind(big(now))
                .execute(&mut *tx)
                .await
                .map_err(Error::store)?;
            sqlx::query(
                "DELETE FROM centurion_sessions WHERE subject = $1 AND ($2 IS NULL OR family <> $2)",
            )
            .bind(subject)
            .bind(except)
            .execute(&mut *tx)
            .await
            .map_err(Error::store)?;
            tx.commit().await.map_err(Error::store)?;
            ended
        });
        self.purge_if_due();
        Ok(unbig(ended))
    }
}

/// The answer when the global session limit is reached: the store fails closed.
fn too_many_sessions() -> Error {
    Error::new(ErrorKind::Overloaded).with_message("too many live sessions; retry later")
}
