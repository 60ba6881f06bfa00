//! SQL stores through [sqlx]: users and revocations on SQLite or PostgreSQL.
//!
//! Enable the `sqlite` feature (SQLite is bundled: a file, or memory) and/or the
//! `postgres` feature (plain TCP or a Unix socket; add `postgres-tls` for TLS through rustls,
//! then `?sslmode=require` or `verify-full` in the URL). [`SqlUserStore::connect`] picks the
//! database from the URL:
//!
//! | URL | database |
//! | --- | --- |
//! | `sqlite://app.db`, `sqlite:app.db` | SQLite file, created when missing |
//! | `sqlite::memory:` | SQLite in memory (one connection; gone when the store is dropped) |
//! | `postgres://user:pass@host:5432/db`, `postgresql://…` | PostgreSQL |
//!
//! ```no_run
//! # async fn demo() -> centurion::Result<()> {
//! use centurion::{Centurion, sql::SqlUserStore, testing::TestUser};
//!
//! let users = SqlUserStore::<TestUser>::connect("sqlite://app.db").await?;
//! let revocations = users.revocation_store(); // same pool, same database
//! let auth = Centurion::<TestUser>::builder()
//!     .secret("an-example-secret-of-at-least-32-bytes!!")
//!     .user_store(users)
//!     .revocation_store(revocations)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! ## Schema
//!
//! Connecting applies centurion's migrations (shipped in the crate, under `migrations/`),
//! recorded in their own table `_centurion_migrations` so they never mix with the
//! application's own sqlx migrations. They create two tables:
//!
//! - `centurion_users`: `id` (an integer never reused), `username` (unique),
//!   `email` (nullable, unique case-insensitively), `password_hash` (PHC string),
//!   `roles` (a JSON array of role names), `active`, `created_at`.
//! - `centurion_revocations`: `kind`, `name`, `not_before_ms`, `expires_at`; expired rows
//!   are purged on writes (at most once a minute) and by
//!   [`SqlRevocationStore::purge_expired`].
//!
//! Applications with a schema of their own implement [`UserStore`] for it instead (see its
//! documentation); they can still use [`SqlRevocationStore`].
//!
//! ## Failures
//!
//! A username or e-mail address taken (also by a concurrent registration) is
//! [`ErrorKind::UserExists`] (409). Every other database failure (unreachable server,
//! pool exhausted, a broken row) is [`Error::store`] (503): centurion fails closed. A pool
//! reconnects by itself, so service resumes when the database does. A call waits at most
//! [`SqlOptions::acquire_timeout`] for a connection; start-up waits longer
//! ([`SqlOptions::connect_timeout`]) for a database that is still coming up.

use std::marker::PhantomData;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::Row;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::pool::PoolOptions;

use crate::clock::{Clock, SharedClock};
use crate::error::{Error, ErrorKind, Result};
use crate::store::{NewUser, RevocationStore, TokenRef, UserStore};
use crate::user::{UserParts, UserRecord};

/// The table where centurion records which of its migrations ran.
pub const MIGRATIONS_TABLE: &str = "_centurion_migrations";

#[cfg(feature = "sqlite")]
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "centurion init",
    include_str!("../migrations/sqlite/0001_centurion_init.sql"),
)];

#[cfg(feature = "postgres")]
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "centurion init",
    include_str!("../migrations/postgres/0001_centurion_init.sql"),
)];

/// A connection pool of one of the supported databases.
///
/// Build it from a sqlx pool the application already has (`SqlPool::from(pool)`) and hand
/// it to [`SqlUserStore::from_pool`] or [`SqlRevocationStore::from_pool`]; or let
/// [`SqlUserStore::connect`] open one.
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

/// Runs `$body` with `$p` bound to the concrete pool, whatever the backend: the SQL is
/// written once (`$n` placeholders and `ON CONFLICT` work on both) and compiled per backend.
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            #[cfg(feature = "sqlite")]
            SqlPool::Sqlite($p) => $body,
            #[cfg(feature = "postgres")]
            SqlPool::Postgres($p) => $body,
        }
    };
}

impl SqlPool {
    /// Opens a pool for `url` (see the [module docs](self) for the URL forms).
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

    /// Applies centurion's migrations (idempotent; the stores' constructors call it).
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
            SqlPool::Sqlite(p) => migrator(SQLITE_MIGRATIONS).run(p).await,
            #[cfg(feature = "postgres")]
            SqlPool::Postgres(p) => migrator(POSTGRES_MIGRATIONS).run(p).await,
        }
        .map_err(|e| {
            tracing::error!(error = %e, "centurion could not apply its SQL migrations");
            Error::store(e).with_message("the SQL store could not apply its migrations")
        })
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

fn migrator(migrations: &'static [(i64, &'static str, &'static str)]) -> Migrator {
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
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
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
/// assert_eq!(options.get_max_connections(), 20);
/// ```
#[derive(Clone, Debug)]
pub struct SqlOptions {
    max_connections: u32,
    acquire_timeout: Duration,
    connect_timeout: Duration,
    busy_timeout: Duration,
}

impl Default for SqlOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(30),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

impl SqlOptions {
    /// Most connections the pool opens (default 10; an in-memory SQLite database always
    /// uses exactly one).
    ///
    /// ```
    /// let options = centurion::sql::SqlOptions::default().max_connections(4);
    /// # assert_eq!(options.get_max_connections(), 4);
    /// ```
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// The configured connection limit.
    ///
    /// ```
    /// assert_eq!(centurion::sql::SqlOptions::default().get_max_connections(), 10);
    /// ```
    pub fn get_max_connections(&self) -> u32 {
        self.max_connections
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

/// Unique violations are the one database error with a meaning of its own (409).
fn create_error(e: sqlx::Error) -> Error {
    match e.as_database_error() {
        Some(db) if db.is_unique_violation() => Error::new(ErrorKind::UserExists),
        _ => Error::store(e),
    }
}

/// Clamps a `u64` into a `BIGINT`.
fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn encode_roles(roles: &[String]) -> String {
    serde_json::to_string(roles).unwrap_or_else(|_| "[]".to_owned())
}

/// Roles as stored: a JSON array; a comma-separated list (`admin, editor`) is accepted too,
/// for rows written by hand.
fn decode_roles(text: &str) -> Result<Vec<String>> {
    let text = text.trim();
    if text.starts_with('[') {
        serde_json::from_str(text).map_err(|e| {
            Error::store(e).with_message("a stored user's roles are not a JSON array of strings")
        })
    } else {
        Ok(text
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect())
    }
}

fn parts_from_row<R: Row>(row: &R) -> Result<UserParts>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let roles: String = row.try_get("roles").map_err(Error::store)?;
    Ok(UserParts {
        id: row.try_get("id").map_err(Error::store)?,
        username: row.try_get("username").map_err(Error::store)?,
        email: row.try_get("email").map_err(Error::store)?,
        password_hash: row.try_get("password_hash").map_err(Error::store)?,
        roles: decode_roles(&roles)?,
        active: row.try_get("active").map_err(Error::store)?,
    })
}

/// Users in a SQL database (table `centurion_users`), for any user type that implements
/// [`UserRecord`] (as `#[derive(AuthUser)]` does).
///
/// Usernames are unique (compared exactly), e-mail addresses unique case-insensitively;
/// the database enforces both, so of concurrent registrations of one name exactly one
/// succeeds and the others get [`ErrorKind::UserExists`]. Ids come from the database and
/// are never reused. The handle is cheap to clone (it shares the pool).
///
/// ```
/// # async fn demo() -> centurion::Result<()> {
/// # #[cfg(feature = "sqlite")] {
/// use centurion::{ErrorKind, NewUser, UserStore, sql::SqlUserStore, testing::TestUser};
///
/// let store = SqlUserStore::<TestUser>::connect("sqlite::memory:").await?;
/// let new = NewUser {
///     username: "ada".into(),
///     email: Some("Ada@Example.org".into()),
///     password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
///     roles: vec!["admin".into()],
///     active: true,
/// };
/// let ada = store.create(new.clone()).await?;
/// assert_eq!(store.lookup("ada").await?.map(|u| u.id), Some(ada.id));
/// assert_eq!(store.lookup_by_email("ada@example.org").await?.map(|u| u.id), Some(ada.id));
/// assert_eq!(store.identify("not-a-number").await?, None);
/// assert_eq!(store.create(new).await.unwrap_err().kind(), ErrorKind::UserExists);
/// # }
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
pub struct SqlUserStore<U> {
    pool: SqlPool,
    _user: PhantomData<fn() -> U>,
}

impl<U> Clone for SqlUserStore<U> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            _user: PhantomData,
        }
    }
}

impl<U> std::fmt::Debug for SqlUserStore<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlUserStore")
            .field("backend", &self.pool.backend())
            .finish_non_exhaustive()
    }
}

impl<U: UserRecord> SqlUserStore<U> {
    /// Connects to `url` with default [`SqlOptions`] and applies the migrations.
    ///
    /// ```no_run
    /// # async fn demo() -> centurion::Result<()> {
    /// use centurion::{sql::SqlUserStore, testing::TestUser};
    /// let store = SqlUserStore::<TestUser>::connect("postgres://app:secret@127.0.0.1/app").await?;
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
    /// use centurion::{sql::{SqlOptions, SqlUserStore}, testing::TestUser};
    /// let dir = std::env::temp_dir().join(format!("centurion-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let url = format!("sqlite://{}", dir.join("users.db").display());
    /// let store = SqlUserStore::<TestUser>::connect_with(&url, SqlOptions::default().max_connections(4)).await?;
    /// # drop(store); std::fs::remove_dir_all(&dir).unwrap();
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
    /// use centurion::{sql::SqlUserStore, testing::TestUser};
    /// let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await?;
    /// let store = SqlUserStore::<TestUser>::from_pool(pool.into()).await?;
    /// # let _ = store;
    /// # }
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn from_pool(pool: SqlPool) -> Result<Self> {
        pool.migrate().await?;
        Ok(Self {
            pool,
            _user: PhantomData,
        })
    }

    /// The pool (for the application's own queries, or to close it).
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// # #[cfg(feature = "sqlite")] {
    /// # use centurion::{sql::SqlUserStore, testing::TestUser};
    /// let store = SqlUserStore::<TestUser>::connect("sqlite::memory:").await?;
    /// assert_eq!(store.pool().backend(), "sqlite");
    /// # }
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn pool(&self) -> &SqlPool {
        &self.pool
    }

    /// A revocation store on the same pool (its table was created by the same migrations).
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// # #[cfg(feature = "sqlite")] {
    /// use centurion::{RevocationStore, sql::SqlUserStore, testing::TestUser};
    /// let users = SqlUserStore::<TestUser>::connect("sqlite::memory:").await?;
    /// let revocations = users.revocation_store();
    /// assert!(revocations.mark_spent("jti-1", u64::MAX).await?);
    /// # }
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn revocation_store(&self) -> SqlRevocationStore {
        SqlRevocationStore::with_migrated_pool(self.pool.clone())
    }

    fn build(parts: UserParts) -> Option<U> {
        let id = parts.id;
        let user = U::from_parts(parts);
        if user.is_none() {
            tracing::warn!(
                user.id = id,
                "a stored user does not fit the user type; treated as absent"
            );
        }
        user
    }

    async fn find(&self, sql: &'static str, key: &str) -> Result<Option<U>> {
        let parts = on_pool!(&self.pool, p => {
            match sqlx::query(sql).bind(key).fetch_optional(p).await.map_err(Error::store)? {
                Some(row) => Some(parts_from_row(&row)?),
                None => None,
            }
        });
        Ok(parts.and_then(Self::build))
    }
}

impl<U: UserRecord> UserStore<U> for SqlUserStore<U> {
    async fn lookup(&self, username: &str) -> Result<Option<U>> {
        self.find(
            "SELECT id, username, email, password_hash, roles, active \
             FROM centurion_users WHERE username = $1",
            username,
        )
        .await
    }

    async fn identify(&self, id: &str) -> Result<Option<U>> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        let parts = on_pool!(&self.pool, p => {
            match sqlx::query(
                "SELECT id, username, email, password_hash, roles, active \
                 FROM centurion_users WHERE id = $1",
            ).bind(id).fetch_optional(p).await.map_err(Error::store)? {
                Some(row) => Some(parts_from_row(&row)?),
                None => None,
            }
        });
        Ok(parts.and_then(Self::build))
    }

    async fn update_password_hash(&self, id: &str, hash: &str) -> Result<()> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(());
        };
        on_pool!(&self.pool, p => {
            sqlx::query("UPDATE centurion_users SET password_hash = $1 WHERE id = $2")
                .bind(hash)
                .bind(id)
                .execute(p)
                .await
                .map_err(Error::store)?;
        });
        Ok(())
    }

    async fn create(&self, new: NewUser) -> Result<U> {
        let roles = encode_roles(&new.roles);
        on_pool!(&self.pool, p => {
            let mut tx = p.begin().await.map_err(Error::store)?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO centurion_users (username, email, password_hash, roles, active) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(new.username.as_str())
            .bind(new.email.as_deref())
            .bind(new.password_hash.as_str())
            .bind(roles.as_str())
            .bind(new.active)
            .fetch_one(&mut *tx)
            .await
            .map_err(create_error)?;
            let parts = UserParts {
                id,
                username: new.username,
                email: new.email,
                password_hash: new.password_hash,
                roles: new.roles,
                active: new.active,
            };
            // Check the user type can hold the row before it becomes visible; dropping the
            // transaction rolls the insert back.
            let user = U::from_parts(parts).ok_or_else(|| {
                Error::new(ErrorKind::InternalError)
                    .with_message("the user type cannot hold this user")
            })?;
            tx.commit().await.map_err(create_error)?;
            Ok(user)
        })
    }

    async fn activate(&self, id: &str) -> Result<()> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(());
        };
        on_pool!(&self.pool, p => {
            sqlx::query("UPDATE centurion_users SET active = $1 WHERE id = $2")
                .bind(true)
                .bind(id)
                .execute(p)
                .await
                .map_err(Error::store)?;
        });
        Ok(())
    }

    async fn lookup_by_email(&self, email: &str) -> Result<Option<U>> {
        self.find(
            "SELECT id, username, email, password_hash, roles, active \
             FROM centurion_users WHERE lower(email) = lower($1)",
            email,
        )
        .await
    }
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

    fn with_migrated_pool(pool: SqlPool) -> Self {
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
