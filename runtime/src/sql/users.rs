//! [`SqlUserStore`]: users in the table `centurion_users`.

use std::marker::PhantomData;

use sqlx::Row;

use super::{SqlOptions, SqlPool, SqlRevocationStore};
use crate::error::{Error, ErrorKind, Result};
use crate::store::{ImportedUser, NewUser, UserStore};
use crate::user::{UserParts, UserRecord};

/// Unique violations are the one database error with a meaning of its own (409).
fn create_error(e: sqlx::Error) -> Error {
    match e.as_database_error() {
        Some(db) if db.is_unique_violation() => Error::new(ErrorKind::UserExists),
        _ => Error::store(e),
    }
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

    async fn upsert(&self, new: ImportedUser) -> Result<U> {
        let id = new
            .id
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| {
                Error::new(ErrorKind::InvalidRequest)
                    .with_message("the SQL store's user ids are positive integers")
            })?;
        let roles = encode_roles(&new.roles);
        let parts = UserParts {
            id,
            username: new.username,
            email: new.email,
            password_hash: new.password_hash,
            roles: new.roles,
            active: new.active,
        };
        let user = U::from_parts(parts.clone()).ok_or_else(|| {
            Error::new(ErrorKind::InternalError).with_message("the user type cannot hold this user")
        })?;
        // One statement per backend: PostgreSQL's identity column takes a given id only with
        // OVERRIDING SYSTEM VALUE, and its sequence is moved past it; SQLite's AUTOINCREMENT
        // moves by itself.
        match &self.pool {
            #[cfg(feature = "sqlite")]
            SqlPool::Sqlite(p) => {
                sqlx::query(
                    "INSERT INTO centurion_users (id, username, email, password_hash, roles, active) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (id) DO UPDATE SET username = excluded.username, \
                     email = excluded.email, password_hash = excluded.password_hash, \
                     roles = excluded.roles, active = excluded.active",
                )
                .bind(id)
                .bind(parts.username.as_str())
                .bind(parts.email.as_deref())
                .bind(parts.password_hash.as_str())
                .bind(roles.as_str())
                .bind(parts.active)
                .execute(p)
                .await
                .map_err(create_error)?;
            }
            #[cfg(feature = "postgres")]
            SqlPool::Postgres(p) => {
                let mut tx = p.begin().await.map_err(Error::store)?;
                sqlx::query(
                    "INSERT INTO centurion_users (id, username, email, password_hash, roles, active) \
                     OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (id) DO UPDATE SET username = excluded.username, \
                     email = excluded.email, password_hash = excluded.password_hash, \
                     roles = excluded.roles, active = excluded.active",
                )
                .bind(id)
                .bind(parts.username.as_str())
                .bind(parts.email.as_deref())
                .bind(parts.password_hash.as_str())
                .bind(roles.as_str())
                .bind(parts.active)
                .execute(&mut *tx)
                .await
                .map_err(create_error)?;
                sqlx::query(
                    "SELECT setval(pg_get_serial_sequence('centurion_users', 'id'), \
                     GREATEST((SELECT max(id) FROM centurion_users), 1))",
                )
                .execute(&mut *tx)
                .await
                .map_err(Error::store)?;
                tx.commit().await.map_err(create_error)?;
            }
        }
        Ok(user)
    }
}
