//! [`SqlUserStore`]: users in the table `centurion_users`.

use std::marker::PhantomData;
use std::sync::Arc;

use sqlx::Row;

use super::{BeginWrite, SqlOptions, SqlPool, SqlRevocationStore};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{email_key, identity_key};
use crate::store::{ImportedUser, NewUser, Registered, UserStore, random_uuid};
use crate::user::{IdKind, UserParts, UserRecord};

/// Clamps a `u64` into a `BIGINT`.
fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// What the keys in `username_key` and `email_key` were computed with, recorded in
/// `centurion_meta`: when it changes, the back-fill recomputes every key.
const IDENTITY_VERSION: &str = "toNFKC_Casefold+UTS46/1";

/// The PostgreSQL advisory lock the back-fill holds (any constant of our own).
#[cfg(feature = "postgres")]
const BACKFILL_LOCK: i64 = 0x0063_656e_7475_7269;

/// Rows deleted per statement by [`SqlUserStore`]'s purge of expired registrations.
const PURGE_BATCH: i64 = 500;

/// Two users whose names (or addresses) have the same key, found by the back-fill of
/// [`SqlUserStore`]: the older row (`kept_by`) keeps the key, this one has none.
///
/// `id` and `kept_by` are the rows' `id` column: the users' ids for integer ids, the
/// database's own row numbers for user types of UUID or string ids (whose ids are in `uid`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdentityConflict {
    /// The user left without a key: it cannot be found by name (or address) until an
    /// administrator renames it (or changes its address); its sessions keep working.
    pub id: i64,
    /// The older user holding the key.
    pub kept_by: i64,
    /// `"username"` or `"email"`.
    pub column: &'static str,
}

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

/// How a user's id names its row: integer ids are the column `id`, the others `uid`.
enum RowId {
    Id(i64),
    Uid(String),
}

impl RowId {
    /// The row a token's `sub` names for a user type of `kind` ids; `None` for a `sub` that
    /// cannot be one.
    fn of(kind: IdKind, sub: &str) -> Option<Self> {
        match kind {
            IdKind::Integer => sub.parse().ok().map(RowId::Id),
            _ => (!sub.is_empty()).then(|| RowId::Uid(sub.to_owned())),
        }
    }

    /// The statement for this kind of id: `by_id` (`… WHERE id = $n`) or `by_uid`.
    fn pick(&self, by_id: &'static str, by_uid: &'static str) -> &'static str {
        match self {
            RowId::Id(_) => by_id,
            RowId::Uid(_) => by_uid,
        }
    }
}

/// Binds a [`RowId`] as the next parameter of a query.
macro_rules! bind_row_id {
    ($query:expr, $id:expr) => {
        match $id {
            RowId::Id(n) => $query.bind(*n),
            RowId::Uid(text) => $query.bind(text.as_str()),
        }
    };
}

/// The columns every user query selects.
/// A row's fields, its id taken from `id` or `uid` as `kind` says; `None` for a row
/// without one of that kind (a row of integer ids seen by a store of UUIDs).
fn parts_from_row<R: Row>(row: &R, kind: IdKind) -> Result<Option<UserParts>>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let id = match kind {
        IdKind::Integer => Some(
            row.try_get::<i64, _>("id")
                .map_err(Error::store)?
                .to_string(),
        ),
        _ => row
            .try_get::<Option<String>, _>("uid")
            .map_err(Error::store)?,
    };
    let Some(id) = id else {
        return Ok(None);
    };
    let roles: String = row.try_get("roles").map_err(Error::store)?;
    Ok(Some(UserParts {
        id,
        username: row.try_get("username").map_err(Error::store)?,
        email: row.try_get("email").map_err(Error::store)?,
        password_hash: row.try_get("password_hash").map_err(Error::store)?,
        roles: decode_roles(&roles)?,
        active: row.try_get("active").map_err(Error::store)?,
    }))
}

/// Users in a SQL database (table `centurion_users`), for any user type that implements
/// [`UserRecord`] (as `#[derive(AuthUser)]` does).
///
/// Usernames and e-mail addresses are compared by their keys ([`crate::identity`]),
/// computed in Rust and stored in `username_key` and `email_key` with a UNIQUE index each,
/// so the result is the same on SQLite and on PostgreSQL whatever its locale, and of
/// concurrent registrations of one name exactly one succeeds and the others get
/// [`ErrorKind::UserExists`]. Ids come from the database and are never reused. The handle
/// is cheap to clone (it shares the pool).
///
/// ## The key back-fill
///
/// Rows written before the keys existed (or by an older instance during a rolling
/// upgrade) have none. Connecting computes them, once, inside one transaction that locks
/// the table (PostgreSQL: an advisory lock and `SHARE ROW EXCLUSIVE`; SQLite: `BEGIN
/// IMMEDIATE`), so exactly one instance does it. When two rows have the same key (`Alice`
/// and `alice`, which the old schema allowed), **the older row (lower id) keeps it** and
/// the newer one is left without: it cannot log in by name (or be found by address) until
/// renamed, its sessions keep working, and it is logged at `error` at every start and
/// listed by [`identity_conflicts`](Self::identity_conflicts).
/// [`SqlOptions::refuse_identity_conflicts`] makes connecting fail instead.
///
/// ```
/// # async fn demo() -> centurion::Result<()> {
/// # #[cfg(feature = "sqlite")] {
/// use centurion::identity::{email_key, identity_key};
/// use centurion::{ErrorKind, NewUser, UserStore, sql::SqlUserStore, testing::TestUser};
///
/// let store = SqlUserStore::<TestUser>::connect("sqlite::memory:").await?;
/// let new = NewUser::new("Ada", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA")
///     .with_email("Ada@Example.org")
///     .with_roles(["admin"]);
/// let ada = store.create(new.clone()).await?;
/// assert_eq!(store.lookup(&identity_key("ADA")).await?.map(|u| u.id), Some(ada.id));
/// assert_eq!(store.lookup_by_email(&email_key("ada@example.ORG")).await?.map(|u| u.id), Some(ada.id));
/// assert_eq!(store.identify("not-a-number").await?, None);
/// assert_eq!(store.create(new).await.unwrap_err().kind(), ErrorKind::UserExists);
/// assert_eq!(store.create(NewUser::new("ada", "…")).await.unwrap_err().kind(), ErrorKind::UserExists);
/// # }
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
pub struct SqlUserStore<U> {
    pool: SqlPool,
    conflicts: Arc<Vec<IdentityConflict>>,
    _user: PhantomData<fn() -> U>,
}

impl<U> Clone for SqlUserStore<U> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            conflicts: Arc::clone(&self.conflicts),
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
        let pool = SqlPool::connect(url, &options).await?;
        Self::open(pool, options.refuses_identity_conflicts()).await
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
        Self::open(pool, false).await
    }

    async fn open(pool: SqlPool, refuse_conflicts: bool) -> Result<Self> {
        pool.migrate().await?;
        let mut store = Self {
            pool,
            conflicts: Arc::default(),
            _user: PhantomData,
        };
        let conflicts = store.backfill(refuse_conflicts).await?;
        store.conflicts = Arc::new(conflicts);
        Ok(store)
    }

    /// The users the back-fill found sharing a key with an older user, at connect time:
    /// they have no key and cannot log in by name until renamed (see the type's docs).
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// # #[cfg(feature = "sqlite")] {
    /// use centurion::{sql::SqlUserStore, testing::TestUser};
    /// let store = SqlUserStore::<TestUser>::connect("sqlite::memory:").await?;
    /// assert!(store.identity_conflicts().is_empty());
    /// # }
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn identity_conflicts(&self) -> &[IdentityConflict] {
        &self.conflicts
    }

    /// Computes the missing keys now (connecting does it already): for rows written by an
    /// older instance during a rolling upgrade. Returns the conflicts found (see the
    /// type's docs); idempotent.
    ///
    /// ```
    /// # async fn demo() -> centurion::Result<()> {
    /// # #[cfg(feature = "sqlite")] {
    /// use centurion::{sql::SqlUserStore, testing::TestUser};
    /// let store = SqlUserStore::<TestUser>::connect("sqlite::memory:").await?;
    /// assert!(store.backfill_identity_keys().await?.is_empty());
    /// # }
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn backfill_identity_keys(&self) -> Result<Vec<IdentityConflict>> {
        self.backfill(false).await
    }

    async fn backfill(&self, refuse_conflicts: bool) -> Result<Vec<IdentityConflict>> {
        // One body for both databases; only how the table is locked differs.
        macro_rules! backfill_in {
            ($tx:ident) => {{
                let version: Option<String> = sqlx::query_scalar(
                    "SELECT value FROM centurion_meta WHERE name = 'identity_version'",
                )
                .fetch_optional(&mut *$tx)
                .await
                .map_err(Error::store)?;
                let full = version.as_deref() != Some(IDENTITY_VERSION);
                if full {
                    // Keys computed by another definition: start over, so that keys moving
                    // between rows cause no transient conflict.
                    sqlx::query("UPDATE centurion_users SET username_key = NULL, email_key = NULL")
                        .execute(&mut *$tx)
                        .await
                        .map_err(Error::store)?;
                }
                let rows = sqlx::query(
                    "SELECT id, username, email, username_key, email_key FROM centurion_users \
                     WHERE username_key IS NULL OR (email IS NOT NULL AND email_key IS NULL) \
                     ORDER BY id",
                )
                .fetch_all(&mut *$tx)
                .await
                .map_err(Error::store)?;
                let mut conflicts = Vec::new();
                for row in rows {
                    let id: i64 = row.try_get("id").map_err(Error::store)?;
                    let username: String = row.try_get("username").map_err(Error::store)?;
                    let email: Option<String> = row.try_get("email").map_err(Error::store)?;
                    let has_name_key =
                        row.try_get::<Option<String>, _>("username_key").map_err(Error::store)?.is_some();
                    let has_email_key =
                        row.try_get::<Option<String>, _>("email_key").map_err(Error::store)?.is_some();
                    let mut wanted = Vec::with_capacity(2);
                    if !has_name_key {
                        wanted.push(("username", identity_key(&username)));
                    }
                    if let Some(email) = email.filter(|_| !has_email_key) {
                        wanted.push(("email", email_key(&email)));
                    }
                    for (column, key) in wanted {
                        // Table locked: the check and the write cannot race.
                        let (update, holder) = match column {
                            "username" => (
                                "UPDATE centurion_users SET username_key = $1 WHERE id = $2 \
                                 AND NOT EXISTS (SELECT 1 FROM centurion_users WHERE username_key = $1)",
                                "SELECT id FROM centurion_users WHERE username_key = $1",
                            ),
                            _ => (
                                "UPDATE centurion_users SET email_key = $1 WHERE id = $2 \
                                 AND NOT EXISTS (SELECT 1 FROM centurion_users WHERE email_key = $1)",
                                "SELECT id FROM centurion_users WHERE email_key = $1",
                            ),
                        };
                        let done = sqlx::query(update)
                            .bind(key.as_str())
                            .bind(id)
                            .execute(&mut *$tx)
                            .await
                            .map_err(Error::store)?
                            .rows_affected();
                        if done == 0 {
                            let kept_by: i64 = sqlx::query_scalar(holder)
                                .bind(key.as_str())
                                .fetch_one(&mut *$tx)
                                .await
                                .map_err(Error::store)?;
                            conflicts.push(IdentityConflict { id, kept_by, column });
                        }
                    }
                }
                if refuse_conflicts && !conflicts.is_empty() {
                    // Dropping the transaction rolls every change back.
                    let list: Vec<String> = conflicts
                        .iter()
                        .map(|c| format!("user {} has the {} key of user {}", c.id, c.column, c.kept_by))
                        .collect();
                    return Err(Error::config(format!(
                        "users share a username or e-mail key; rename them first: {}",
                        list.join("; ")
                    )));
                }
                sqlx::query(
                    "INSERT INTO centurion_meta (name, value) VALUES ('identity_version', $1) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )
                .bind(IDENTITY_VERSION)
                .execute(&mut *$tx)
                .await
                .map_err(Error::store)?;
                $tx.commit().await.map_err(Error::store)?;
                conflicts
            }};
        }
        let conflicts = match &self.pool {
            #[cfg(feature = "sqlite")]
            SqlPool::Sqlite(p) => {
                // IMMEDIATE takes the write lock first: one back-fill at a time.
                let mut tx = p
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(Error::store)?;
                backfill_in!(tx)
            }
            #[cfg(feature = "postgres")]
            SqlPool::Postgres(p) => {
                let mut tx = p.begin().await.map_err(Error::store)?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(BACKFILL_LOCK)
                    .execute(&mut *tx)
                    .await
                    .map_err(Error::store)?;
                sqlx::query("LOCK TABLE centurion_users IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await
                    .map_err(Error::store)?;
                backfill_in!(tx)
            }
        };
        for c in &conflicts {
            tracing::error!(
                user.id = c.id,
                kept_by = c.kept_by,
                column = c.column,
                "two users have the same {} key: the older one keeps it; user {} cannot be found by {} until it is changed",
                c.column,
                c.id,
                c.column
            );
        }
        Ok(conflicts)
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
        let id = parts.id.clone();
        let user = U::from_parts(parts);
        if user.is_none() {
            tracing::warn!(
                user.id = %id,
                "a stored user does not fit the user type; treated as absent"
            );
        }
        user
    }

    async fn find(&self, sql: &'static str, key: &str) -> Result<Option<U>> {
        let parts = on_pool!(&self.pool, p => {
            match sqlx::query(sql).bind(key).fetch_optional(p).await.map_err(Error::store)? {
                Some(row) => parts_from_row(&row, U::id_kind())?,
                None => None,
            }
        });
        Ok(parts.and_then(Self::build))
    }

    /// A new user's `uid`: a random UUID for user types of UUID ids, none for integers
    /// (the database numbers them).
    fn new_uid() -> Result<Option<String>> {
        match U::id_kind() {
            IdKind::Integer => Ok(None),
            _ => random_uuid().map(Some),
        }
    }
}

impl<U: UserRecord> SqlUserStore<U> {
    /// The user holding the username key (`by_name`) or the e-mail key `key`, unless it is
    /// an expired registration.
    async fn live_holder(&self, by_name: bool, key: &str, cutoff: u64) -> Result<Option<U>> {
        let sql = if by_name {
            "SELECT id, uid, username, email, password_hash, roles, active FROM centurion_users \
             WHERE username_key = $1 AND NOT (pending_since_ms IS NOT NULL AND pending_since_ms < $2)"
        } else {
            "SELECT id, uid, username, email, password_hash, roles, active FROM centurion_users \
             WHERE email_key = $1 AND NOT (pending_since_ms IS NOT NULL AND pending_since_ms < $2)"
        };
        let parts = on_pool!(&self.pool, p => {
            match sqlx::query(sql).bind(key).bind(big(cutoff)).fetch_optional(p).await.map_err(Error::store)? {
                Some(row) => parts_from_row(&row, U::id_kind())?,
                None => None,
            }
        });
        Ok(parts.and_then(Self::build))
    }

    /// One attempt at a registration: the take-over of expired registrations and the
    /// insert, in one transaction. `Ok(None)`: a key is taken.
    async fn try_register(&self, new: &NewUser, cutoff: u64) -> Result<Option<U>> {
        let roles = encode_roles(&new.roles);
        let uid = Self::new_uid()?;
        on_pool!(&self.pool, p => {
            let mut tx = p.begin_write().await.map_err(Error::store)?;
            sqlx::query(
                "DELETE FROM centurion_users WHERE pending_since_ms IS NOT NULL \
                 AND pending_since_ms < $1 AND (username_key = $2 OR email_key = $3)",
            )
            .bind(big(cutoff))
            .bind(new.username_key.as_str())
            .bind(new.email_key.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(Error::store)?;
            let inserted = sqlx::query_scalar::<_, i64>(
                "INSERT INTO centurion_users \
                 (username, username_key, email, email_key, password_hash, roles, active, pending_since_ms, uid) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(new.username.as_str())
            .bind(new.username_key.as_str())
            .bind(new.email.as_deref())
            .bind(new.email_key.as_deref())
            .bind(new.password_hash.as_str())
            .bind(roles.as_str())
            .bind(new.active)
            .bind(new.pending_since_ms.map(big))
            .bind(uid.as_deref())
            .fetch_one(&mut *tx)
            .await;
            let id = match inserted {
                Ok(id) => id,
                // Dropping the transaction rolls the take-over back with the insert.
                Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => return Ok(None),
                Err(e) => return Err(Error::store(e)),
            };
            let user = U::from_parts(UserParts {
                id: uid.clone().unwrap_or_else(|| id.to_string()),
                username: new.username.clone(),
                email: new.email.clone(),
                password_hash: new.password_hash.clone(),
                roles: new.roles.clone(),
                active: new.active,
            })
            .ok_or_else(|| {
                Error::new(ErrorKind::InternalError)
                    .with_message("the user type cannot hold this user")
            })?;
            match tx.commit().await {
                Ok(()) => Ok(Some(user)),
                Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => Ok(None),
                Err(e) => Err(Error::store(e)),
            }
        })
    }
}

impl<U: UserRecord> UserStore<U> for SqlUserStore<U> {
    async fn lookup(&self, username_key: &str) -> Result<Option<U>> {
        self.find(
            "SELECT id, uid, username, email, password_hash, roles, active \
             FROM centurion_users WHERE username_key = $1",
            username_key,
        )
        .await
    }

    async fn identify(&self, id: &str) -> Result<Option<U>> {
        let Some(id) = RowId::of(U::id_kind(), id) else {
            return Ok(None);
        };
        let sql = id.pick(
            "SELECT id, uid, username, email, password_hash, roles, active \
             FROM centurion_users WHERE id = $1",
            "SELECT id, uid, username, email, password_hash, roles, active \
             FROM centurion_users WHERE uid = $1",
        );
        let parts = on_pool!(&self.pool, p => {
            match bind_row_id!(sqlx::query(sql), &id).fetch_optional(p).await.map_err(Error::store)? {
                Some(row) => parts_from_row(&row, U::id_kind())?,
                None => None,
            }
        });
        Ok(parts.and_then(Self::build))
    }

    async fn update_password_hash(&self, id: &str, hash: &str) -> Result<()> {
        let Some(id) = RowId::of(U::id_kind(), id) else {
            return Ok(());
        };
        let sql = id.pick(
            "UPDATE centurion_users SET password_hash = $1 WHERE id = $2",
            "UPDATE centurion_users SET password_hash = $1 WHERE uid = $2",
        );
        on_pool!(&self.pool, p => {
            bind_row_id!(sqlx::query(sql).bind(hash), &id)
                .execute(p)
                .await
                .map_err(Error::store)?;
        });
        Ok(())
    }

    async fn create(&self, new: NewUser) -> Result<U> {
        let roles = encode_roles(&new.roles);
        let uid = Self::new_uid()?;
        on_pool!(&self.pool, p => {
            let mut tx = p.begin_write().await.map_err(Error::store)?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO centurion_users \
                 (username, username_key, email, email_key, password_hash, roles, active, pending_since_ms, uid) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(new.username.as_str())
            .bind(new.username_key.as_str())
            .bind(new.email.as_deref())
            .bind(new.email_key.as_deref())
            .bind(new.password_hash.as_str())
            .bind(roles.as_str())
            .bind(new.active)
            .bind(new.pending_since_ms.map(big))
            .bind(uid.as_deref())
            .fetch_one(&mut *tx)
            .await
            .map_err(create_error)?;
            let parts = UserParts {
                id: uid.clone().unwrap_or_else(|| id.to_string()),
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

    async fn register(&self, new: NewUser, expired_before_ms: u64) -> Result<Registered<U>> {
        // A second attempt covers a holder that disappeared between the failed insert and
        // the look-ups (an expired registration purged meanwhile).
        for _ in 0..2 {
            if let Some(user) = self.try_register(&new, expired_before_ms).await? {
                return Ok(Registered::Created(user));
            }
            if self
                .live_holder(true, &new.username_key, expired_before_ms)
                .await?
                .is_some()
            {
                return Err(Error::new(ErrorKind::UserExists));
            }
            if let Some(key) = &new.email_key
                && let Some(owner) = self.live_holder(false, key, expired_before_ms).await?
            {
                return Ok(Registered::AddressTaken(owner));
            }
        }
        Err(Error::new(ErrorKind::UserExists))
    }

    async fn confirm(&self, id: &str, registered_after_ms: u64) -> Result<bool> {
        let Some(id) = RowId::of(U::id_kind(), id) else {
            return Ok(false);
        };
        let sql = id.pick(
            "UPDATE centurion_users SET active = $1, pending_since_ms = NULL \
             WHERE id = $2 AND pending_since_ms IS NOT NULL AND pending_since_ms >= $3",
            "UPDATE centurion_users SET active = $1, pending_since_ms = NULL \
             WHERE uid = $2 AND pending_since_ms IS NOT NULL AND pending_since_ms >= $3",
        );
        let changed = on_pool!(&self.pool, p => {
            bind_row_id!(sqlx::query(sql).bind(true), &id)
            .bind(big(registered_after_ms))
            .execute(p)
            .await
            .map_err(Error::store)?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    async fn activate(&self, id: &str) -> Result<()> {
        let Some(id) = RowId::of(U::id_kind(), id) else {
            return Ok(());
        };
        let sql = id.pick(
            "UPDATE centurion_users SET active = $1, pending_since_ms = NULL WHERE id = $2",
            "UPDATE centurion_users SET active = $1, pending_since_ms = NULL WHERE uid = $2",
        );
        on_pool!(&self.pool, p => {
            bind_row_id!(sqlx::query(sql).bind(true), &id)
                .execute(p)
                .await
                .map_err(Error::store)?;
        });
        Ok(())
    }

    async fn purge_unconfirmed(&self, expired_before_ms: u64) -> Result<u64> {
        let mut total = 0;
        loop {
            // In batches, so no statement holds the table for long.
            let deleted = on_pool!(&self.pool, p => {
                sqlx::query(
                    "DELETE FROM centurion_users WHERE id IN (SELECT id FROM centurion_users \
                     WHERE pending_since_ms IS NOT NULL AND pending_since_ms < $1 LIMIT $2)",
                )
                .bind(big(expired_before_ms))
                .bind(PURGE_BATCH)
                .execute(p)
                .await
                .map_err(Error::store)?
                .rows_affected()
            });
            total += deleted;
            if deleted < PURGE_BATCH as u64 {
                return Ok(total);
            }
        }
    }

    async fn lookup_by_email(&self, email_key: &str) -> Result<Option<U>> {
        self.find(
            "SELECT id, uid, username, email, password_hash, roles, active \
             FROM centurion_users WHERE email_key = $1",
            email_key,
        )
        .await
    }

    async fn upsert(&self, new: ImportedUser) -> Result<U> {
        let row_id = match U::id_kind() {
            IdKind::Integer => new
                .id
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .map(RowId::Id),
            _ => RowId::of(IdKind::Uuid, &new.id),
        }
        .ok_or_else(|| {
            Error::new(ErrorKind::InvalidRequest).with_message(match U::id_kind() {
                IdKind::Integer => "the SQL store's user ids are positive integers",
                _ => "an imported user needs an id",
            })
        })?;
        let roles = encode_roles(&new.roles);
        // The keys, as `create` stores them: a name or address whose key another id holds
        // is refused by the unique indexes of migration 0003 (UserExists); the same id's
        // row is replaced, keys included.
        let (name_key, address_key) = (new.username_key, new.email_key);
        let parts = UserParts {
            id: match &row_id {
                RowId::Id(n) => n.to_string(),
                RowId::Uid(text) => text.clone(),
            },
            username: new.username,
            email: new.email,
            password_hash: new.password_hash,
            roles: new.roles,
            active: new.active,
        };
        let user = U::from_parts(parts.clone()).ok_or_else(|| {
            Error::new(ErrorKind::InvalidRequest).with_message("the user type cannot hold this id")
        })?;
        let id = match row_id {
            RowId::Id(id) => id,
            RowId::Uid(uid) => {
                // Ids that are not integers: the row is found by `uid`; `id` stays the
                // database's own number.
                on_pool!(&self.pool, p => {
                    sqlx::query(
                        "INSERT INTO centurion_users \
                         (uid, username, username_key, email, email_key, password_hash, roles, \
                         active, pending_since_ms) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) \
                         ON CONFLICT (uid) DO UPDATE SET username = excluded.username, \
                         username_key = excluded.username_key, email = excluded.email, \
                         email_key = excluded.email_key, password_hash = excluded.password_hash, \
                         roles = excluded.roles, active = excluded.active, pending_since_ms = NULL",
                    )
                    .bind(uid.as_str())
                    .bind(parts.username.as_str())
                    .bind(name_key.as_str())
                    .bind(parts.email.as_deref())
                    .bind(address_key.as_deref())
                    .bind(parts.password_hash.as_str())
                    .bind(roles.as_str())
                    .bind(parts.active)
                    .execute(p)
                    .await
                    .map_err(create_error)?;
                });
                return Ok(user);
            }
        };
        // One statement per backend: PostgreSQL's identity column takes a given id only with
        // OVERRIDING SYSTEM VALUE, and its sequence is moved past it; SQLite's AUTOINCREMENT
        // moves by itself.
        match &self.pool {
            #[cfg(feature = "sqlite")]
            SqlPool::Sqlite(p) => {
                sqlx::query(
                    "INSERT INTO centurion_users \
                     (id, username, username_key, email, email_key, password_hash, roles, active, \
                     pending_since_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) \
                     ON CONFLICT (id) DO UPDATE SET username = excluded.username, \
                     username_key = excluded.username_key, email = excluded.email, \
                     email_key = excluded.email_key, password_hash = excluded.password_hash, \
                     roles = excluded.roles, active = excluded.active, pending_since_ms = NULL",
                )
                .bind(id)
                .bind(parts.username.as_str())
                .bind(name_key.as_str())
                .bind(parts.email.as_deref())
                .bind(address_key.as_deref())
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
                    "INSERT INTO centurion_users \
                     (id, username, username_key, email, email_key, password_hash, roles, active, \
                     pending_since_ms) \
                     OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) \
                     ON CONFLICT (id) DO UPDATE SET username = excluded.username, \
                     username_key = excluded.username_key, email = excluded.email, \
                     email_key = excluded.email_key, password_hash = excluded.password_hash, \
                     roles = excluded.roles, active = excluded.active, pending_since_ms = NULL",
                )
                .bind(id)
                .bind(parts.username.as_str())
                .bind(name_key.as_str())
                .bind(parts.email.as_deref())
                .bind(address_key.as_deref())
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
