//! [`SqlRevocationStore`]: revocations in the table `centurion_revocations`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{SqlOptions, SqlPool};
use crate::clock::{Clock, SharedClock};
use crate::error::{Error, Result};
use crate::store::{RevocationStore, TokenRef};

/// Clamps a `u64` into a `BIGINT`.
fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// How often (seconds) writes purge expired revocation rows.
const PURGE_EVERY: u64 = 60;

/// Revocations in a SQL database (table `centurion_revocations`), shared by every instance
/// using the database: the choice for fleets without Redis.
///
/// Same semantics as [`MemoryRevocationStore`](crate::memory::MemoryRevocationStore):
/// entries stop counting at their `expires_at`, [`mark_spent`](RevocationStore::mark_spent)
/// is atomic (one `INSERT … ON CONFLICT` whose row count answers), and a user's
/// not-before only ever moves forward. Expired rows are deleted by writes, at most once a
/// minute per store, and by [`purge_expired`](Self::purge_expired). Cheap to clone.
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
    last_purge: Arc<AtomicU64>,
    clock: SharedClock,
}

impl std::fmt::Debug for SqlRevocationStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlRevocationStore")
            .field("backend", &self.pool.backend())
            .finish_non_exhaustive()
    }
}

impl SqlRevocationStore {
    /// Connects to `url` with default [`SqlOptions`] and applies the migrations.
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

    /// Connects to `url` with `options` and applies the migrations.
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

    /// Uses an existing pool and applies the migrations.
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
        pool.migrate().await?;
        Ok(Self::with_migrated_pool(pool))
    }

    pub(super) fn with_migrated_pool(pool: SqlPool) -> Self {
        Self {
            pool,
            last_purge: Arc::new(AtomicU64::new(0)),
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

    /// Deletes every expired entry now and returns how many went. Writes do this by
    /// themselves at most once a minute; call it from a scheduled job if the store sees few
    /// writes.
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
        self.last_purge.store(now, Ordering::Relaxed);
        let purged = on_pool!(&self.pool, p => {
            sqlx::query("DELETE FROM centurion_revocations WHERE expires_at <= $1")
                .bind(big(now))
                .execute(p)
                .await
                .map_err(Error::store)?
                .rows_affected()
        });
        Ok(purged)
    }

    /// After a write: purge when the last purge is a minute old. A failed purge is only
    /// logged; the write it follows has succeeded.
    async fn purge_if_due(&self) {
        let now = self.clock.secs();
        let last = self.last_purge.load(Ordering::Relaxed);
        if now < last.saturating_add(PURGE_EVERY)
            || self
                .last_purge
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        if let Err(e) = self.purge_expired().await {
            tracing::warn!(error = ?e, "centurion could not purge expired revocations");
        }
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
        self.purge_if_due().await;
        Ok(())
    }
}

impl RevocationStore for SqlRevocationStore {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<()> {
        self.revoke("token", jti, expires_at).await
    }

    async fn revoke_family(&self, family: &str, expires_at: u64) -> Result<()> {
        self.revoke("family", family, expires_at).await
    }

    async fn revoke_user(&self, subject: &str, not_before_ms: u64, expires_at: u64) -> Result<()> {
        // Both the not-before and the expiry only move forward, in one statement.
        on_pool!(&self.pool, p => {
            sqlx::query(
                "INSERT INTO centurion_revocations (kind, name, not_before_ms, expires_at) \
                 VALUES ('user', $1, $2, $3) \
                 ON CONFLICT (kind, name) DO UPDATE SET \
                   not_before_ms = CASE WHEN excluded.not_before_ms > centurion_revocations.not_before_ms \
                                        THEN excluded.not_before_ms \
                                        ELSE centurion_revocations.not_before_ms END, \
                   expires_at = CASE WHEN excluded.expires_at > centurion_revocations.expires_at \
                                     THEN excluded.expires_at \
                                     ELSE centurion_revocations.expires_at END",
            )
            .bind(subject)
            .bind(big(not_before_ms))
            .bind(big(expires_at))
            .execute(p)
            .await
            .map_err(Error::store)?;
        });
        self.purge_if_due().await;
        Ok(())
    }

    async fn is_revoked(&self, token: &TokenRef<'_>) -> Result<bool> {
        // One query (one round trip) for the three rules.
        let hit: Option<i32> = on_pool!(&self.pool, p => {
            sqlx::query_scalar(
                "SELECT 1 FROM centurion_revocations WHERE expires_at > $1 AND ( \
                   (kind = 'token' AND name = $2) \
                   OR (kind = 'family' AND name = $3) \
                   OR (kind = 'user' AND name = $4 AND not_before_ms > $5)) \
                 LIMIT 1",
            )
            .bind(big(self.clock.secs()))
            .bind(token.jti)
            .bind(token.family)
            .bind(token.subject)
            .bind(big(token.issued_at_ms))
            .fetch_optional(p)
            .await
            .map_err(Error::store)?
        });
        Ok(hit.is_some())
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
        self.purge_if_due().await;
        Ok(affected == 1)
    }
}
