//! [`SqlPool`] (SQLite or PostgreSQL), [`SqlOptions`], opening the first connection, and
//! centurion's migrations.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::pool::PoolOptions;

use crate::error::{Error, ErrorKind, Result};

/// The table where centurion records which of its migrations ran.
pub const MIGRATIONS_TABLE: &str = "_centurion_migrations";

#[cfg(feature = "sqlite")]
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "centurion init",
        include_str!("../../migrations/sqlite/0001_centurion_init.sql"),
    ),
    (
        2,
        "centurion sessions",
        include_str!("../../migrations/sqlite/0002_centurion_sessions.sql"),
    ),
    (
        3,
        "identity keys",
        include_str!("../../migrations/sqlite/0003_identity_keys.sql"),
    ),
    (
        4,
        "text ids",
        include_str!("../../migrations/sqlite/0004_text_ids.sql"),
    ),
];

#[cfg(feature = "postgres")]
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "centurion init",
        include_str!("../../migrations/postgres/0001_centurion_init.sql"),
    ),
    (
        2,
        "centurion sessions",
        include_str!("../../migrations/postgres/0002_centurion_sessions.sql"),
    ),
    (
        3,
        "identity keys",
        include_str!("../../migrations/postgres/0003_identity_keys.sql"),
    ),
    (
        4,
        "text ids",
        include_str!("../../migrations/postgres/0004_text_ids.sql"),
    ),
];

/// The table where centurion records which of the revocation store's own migrations ran.
pub const REVOCATION_MIGRATIONS_TABLE: &str = "_centurion_revocation_migrations";

/// The revocation store's tables alone, for [`SqlRevocationStore`](super::SqlRevocationStore)
/// in a database without centurion's users (their own bookkeeping table). The user store's
/// set creates the same tables, and applies this set after its own.
#[cfg(feature = "sqlite")]
const SQLITE_REVOCATION_MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "revocations and sessions",
    include_str!("../../migrations/sqlite/revocations/0001_revocations_and_sessions.sql"),
)];

#[cfg(feature = "postgres")]
const POSTGRES_REVOCATION_MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "revocations and sessions",
    include_str!("../../migrations/postgres/revocations/0001_revocations_and_sessions.sql"),
)];

/// A connection pool of one of the supported databases.
///
/// Build it from a sqlx pool the application already has (`SqlPool::from(pool)`) and hand
/// it to [`SqlUserStore::from_pool`](super::SqlUserStore::from_pool) or [`SqlRevocationStore::from_pool`](super::SqlRevocationStore::from_pool); or let
/// [`SqlUserStore::connect`](super::SqlUserStore::connect) open one.
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// # #[cfg(feature = "sqlite")] {
/// use centurion::sql::{SqlPool, SqlRevocationStore};
/// let pool = sqlx::sqlite::SqlitePoolOptions::new()
///     .max_connections(1)
///     .connect("sqlite::memory:")
///     .await?;
/// let store = SqlRevocationStore::from_pool(SqlPool::from(pool)).await?;
/// # let _ = store;
/// # }
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SqlPool {
    /// A SQLite pool (feature `sqlite`).
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    /// A PostgreSQL pool (feature `postgres`).
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

#[cfg(feature = "sqlite")]
impl From<sqlx::SqlitePool> for SqlPool {
    fn from(pool: sqlx::SqlitePool) -> Self {
        Self::Sqlite(pool)
    }
}

#[cfg(feature = "postgres")]
impl From<sqlx::PgPool> for SqlPool {
    fn from(pool: sqlx::PgPool) -> Self {
        Self::Postgres(pool)
    }
}

impl SqlPool {
    /// Opens a pool for `url` (see the [module docs](super) for the URL forms).
    ///
    /// ```no_run
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::sql::{SqlOptions, SqlPool};
    /// let pool = SqlPool::connect("postgres://app@127.0.0.1/app", &SqlOptions::default()).await?;
    /// assert_eq!(pool.backend(), "postgres");
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str, options: &SqlOptions) -> Result<Self> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => connect_sqlite(url, options).await,
            "postgres" | "postgresql" => connect_postgres(url, options).await,
            _ => Err(Error::config(
                "a SQL store URL starts with `sqlite:`, `postgres:` or `postgresql:`",
            )),
        }
    }

    /// `"sqlite"` or `"postgres"`.
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// # #[cfg(feature = "sqlite")] {
    /// use centurion::sql::{SqlOptions, SqlPool};
    /// let pool = SqlPool::connect("sqlite::memory:", &SqlOptions::default()).await?;
    /// assert_eq!(pool.backend(), "sqlite");
    /// # }
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn backend(&self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            SqlPool::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            SqlPool::Postgres(_) => "postgres",
        }
    }

    /// Applies centurion's migrations, the user store's and the revocation store's
    /// (idempotent; [`SqlUserStore`](super::SqlUserStore)'s constructors call it).
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// # #[cfg(feature = "sqlite")] {
    /// use centurion::sql::{SqlOptions, SqlPool};
    /// let pool = SqlPool::connect("sqlite::memory:", &SqlOptions::default()).await?;
    /// pool.migrate().await?;
    /// pool.migrate().await?; // already applied: nothing to do
    /// # }
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn migrate(&self) -> Result<()> {
        match self {
            #[cfg(feature = "sqlite")]
            SqlPool::Sqlite(p) => migrator(SQLITE_MIGRATIONS, MIGRATIONS_TABLE).run(p).await,
            #[cfg(feature = "postgres")]
            SqlPool::Postgres(p) => migrator(POSTGRES_MIGRATIONS, MIGRATIONS_TABLE).run(p).await,
        }
        .map_err(migration_error)?;
        self.migrate_revocations().await
    }

    /// Applies the revocation store's migrations only: its tables, and no
    /// `centurion_users` (idempotent; [`SqlRevocationStore`](super::SqlRevocationStore)'s
    /// constructors call it).
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// # #[cfg(feature = "sqlite")] {
    /// use centurion::sql::{SqlOptions, SqlPool};
    /// let pool = SqlPool::connect("sqlite::memory:", &SqlOptions::default()).await?;
    /// pool.migrate_revocations().await?;
    /// # }
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn migrate_revocations(&self) -> Result<()> {
        match self {
            #[cfg(feature = "sqlite")]
            SqlPool::Sqlite(p) => {
                migrator(SQLITE_REVOCATION_MIGRATIONS, REVOCATION_MIGRATIONS_TABLE)
                    .run(p)
                    .await
            }
            #[cfg(feature = "postgres")]
            SqlPool::Postgres(p) => {
                migrator(POSTGRES_REVOCATION_MIGRATIONS, REVOCATION_MIGRATIONS_TABLE)
                    .run(p)
                    .await
            }
        }
        .map_err(migration_error)
    }

    /// Closes every connection of the pool.
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// # #[cfg(feature = "sqlite")] {
    /// use centurion::sql::{SqlOptions, SqlPool};
    /// let pool = SqlPool::connect("sqlite::memory:", &SqlOptions::default()).await?;
    /// pool.close().await;
    /// # }
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }
}

fn migration_error(e: sqlx::migrate::MigrateError) -> Error {
    tracing::error!(error = %e, "centurion could not apply its SQL migrations");
    Error::store(e).with_message("the SQL store could not apply its migrations")
}

fn migrator(
    migrations: &'static [(i64, &'static str, &'static str)],
    table: &'static str,
) -> Migrator {
    use sqlx::SqlSafeStr;
    let mut migrator = Migrator::with_migrations(
        migrations
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    (*description).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    );
    migrator.dangerous_set_table_name(table);
    // An instance of an older release must still start next to a newer one that already
    // migrated the database (rolling deploys): unknown newer migrations are tolerated.
    migrator.set_ignore_missing(true);
    migrator
}

/// Pool settings for the SQL stores.
///
/// ```
/// use std::time::Duration;
/// use centurion::sql::SqlOptions;
/// let options = SqlOptions::default()
///     .max_connections(20)
///     .acquire_timeout(Duration::from_secs(2));
/// assert!(format!("{options:?}").contains("max_connections: 20"));
/// ```
#[derive(Clone, Debug)]
pub struct SqlOptions {
    max_connections: u32,
    acquire_timeout: Duration,
    connect_timeout: Duration,
    busy_timeout: Duration,
    refuse_identity_conflicts: bool,
}

impl Default for SqlOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(30),
            busy_timeout: Duration::from_secs(5),
            refuse_identity_conflicts: false,
        }
    }
}

impl SqlOptions {
    /// Most connections the pool opens (default 10; an in-memory SQLite database always
    /// uses exactly one).
    ///
    /// ```
    /// let options = centurion::sql::SqlOptions::default().max_connections(4);
    /// # assert!(format!("{options:?}").contains("max_connections: 4"));
    /// ```
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long a call waits for a connection (including connecting) before it fails with
    /// 503 (default 2 s): a database that is down costs each call about this long. Keep it
    /// below the application's request timeout. Start-up has its own, longer bound:
    /// [`connect_timeout`](Self::connect_timeout).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = centurion::sql::SqlOptions::default().acquire_timeout(Duration::from_secs(1));
    /// # let _ = options;
    /// ```
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How long [`SqlPool::connect`] (and so the stores' `connect` functions) keeps trying
    /// to open its first connection (default 30 s). A database that is still starting (the
    /// connection is refused) or a machine too busy to open a connection within
    /// [`acquire_timeout`](Self::acquire_timeout) is waited for; an error that waiting
    /// cannot cure (a wrong password, an unknown database, a file that cannot be created)
    /// fails at once.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = centurion::sql::SqlOptions::default().connect_timeout(Duration::from_secs(60));
    /// # let _ = options;
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// SQLite only: how long a write waits for another writer's lock (default 5 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = centurion::sql::SqlOptions::default().busy_timeout(Duration::from_secs(10));
    /// # let _ = options;
    /// ```
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Whether [`SqlUserStore::connect_with`](super::SqlUserStore::connect_with) refuses to
    /// start when users share a username or e-mail key (default `false`: the older user
    /// keeps the key, the newer one is left without, logged at `error`; see
    /// [`SqlUserStore`](super::SqlUserStore)). With `true`, connecting fails with the list,
    /// for operators who fix the data first.
    ///
    /// ```
    /// let options = centurion::sql::SqlOptions::default().refuse_identity_conflicts(true);
    /// # let _ = options;
    /// ```
    pub fn refuse_identity_conflicts(mut self, refuse: bool) -> Self {
        self.refuse_identity_conflicts = refuse;
        self
    }

    pub(super) fn refuses_identity_conflicts(&self) -> bool {
        self.refuse_identity_conflicts
    }
}

/// Opens the pool's first connection (it stays in the pool, idle, for the migrations that
/// follow), trying again while the only trouble is time: sqlx gives up on one attempt after
/// the pool's acquire timeout, which is sized for requests, not for a start-up on a busy
/// machine or next to a database that is still starting.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn first_connection<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
    within: Duration,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, pool.acquire()).await {
            Ok(Ok(_connection)) => return Ok(()),
            Ok(Err(sqlx::Error::PoolTimedOut)) if tokio::time::Instant::now() < deadline => {
                tracing::debug!("no SQL connection yet; trying again");
            }
            Ok(Err(sqlx::Error::PoolTimedOut)) | Err(_) => {
                return Err(
                    Error::new(ErrorKind::StoreUnavailable).with_message(format!(
                        "could not open a connection to the SQL store within {}",
                        humantime::format_duration(within)
                    )),
                );
            }
            Ok(Err(e)) => return Err(Error::store(e)),
        }
    }
}

#[cfg(feature = "sqlite")]
async fn connect_sqlite(url: &str, options: &SqlOptions) -> Result<SqlPool> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let mut connect = SqliteConnectOptions::from_str(url)
        .map_err(|e| Error::config(format!("invalid SQLite URL: {e}")))?
        .busy_timeout(options.busy_timeout)
        .foreign_keys(true);
    let pool = if in_memory {
        // An in-memory database lives as long as a connection to it: keep exactly one, forever.
        PoolOptions::<sqlx::Sqlite>::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        connect = connect
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        PoolOptions::<sqlx::Sqlite>::new().max_connections(options.max_connections)
    }
    .acquire_timeout(options.acquire_timeout)
    .connect_lazy_with(connect);
    first_connection(&pool, options.connect_timeout).await?;
    Ok(SqlPool::Sqlite(pool))
}

#[cfg(not(feature = "sqlite"))]
async fn connect_sqlite(_: &str, _: &SqlOptions) -> Result<SqlPool> {
    Err(Error::config(
        "a `sqlite:` URL needs centurion's `sqlite` feature",
    ))
}

#[cfg(feature = "postgres")]
async fn connect_postgres(url: &str, options: &SqlOptions) -> Result<SqlPool> {
    use sqlx::postgres::PgConnectOptions;
    let connect = PgConnectOptions::from_str(url)
        .map_err(|e| Error::config(format!("invalid PostgreSQL URL: {e}")))?
        .application_name("centurion");
    let pool = PoolOptions::<sqlx::Postgres>::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .connect_lazy_with(connect);
    first_connection(&pool, options.connect_timeout).await?;
    Ok(SqlPool::Postgres(pool))
}

#[cfg(not(feature = "postgres"))]
async fn connect_postgres(_: &str, _: &SqlOptions) -> Result<SqlPool> {
    Err(Error::config(
        "a `postgres:` URL needs centurion's `postgres` feature",
    ))
}
