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
//! recorded in tables of their own so they never mix with the application's own sqlx
//! migrations: [`SqlUserStore`] applies every one (`_centurion_migrations`, then
//! `_centurion_revocation_migrations`), [`SqlRevocationStore`] only the second set, which
//! creates its tables and no `centurion_users`. The tables:
//!
//! - `centurion_users`: `id` (an integer never reused), `username` and `username_key`
//!   (its [key](crate::identity::identity_key), unique), `email` and `email_key`
//!   (nullable; the [key](crate::identity::email_key) unique), `password_hash` (PHC
//!   string), `roles` (a JSON array of role names), `active`, `pending_since_ms` (set while
//!   a registration is unconfirmed), `created_at`. The keys are computed by centurion, never
//!   by the database, so no comparison depends on its locale; rows from before the keys
//!   existed are back-filled at connect time (see [`SqlUserStore`]). `uid` holds the id of
//!   user types whose ids are UUIDs or strings ([`UserRecord::id_kind`](crate::UserRecord::id_kind)),
//!   NULL for integer ids.
//! - `centurion_meta`: which definition the keys were computed with.
//! - `centurion_revocations`: `kind`, `name`, `not_before_ms`, `expires_at`; expired rows
//!   are purged on writes (at most once a minute) and by
//!   [`SqlRevocationStore::purge_expired`].
//! - `centurion_sessions`: one row per session, rewritten by every refresh.
//!
//! Applications with a schema of their own implement [`UserStore`](crate::UserStore) for it instead (see its
//! documentation); they can still use [`SqlRevocationStore`].
//!
//! ## Failures
//!
//! A username or e-mail address taken (also by a concurrent registration) is
//! [`ErrorKind::UserExists`](crate::ErrorKind::UserExists) (409). Every other database failure (unreachable server,
//! pool exhausted, a broken row) is [`Error::store`](crate::Error::store) (503): centurion fails closed. A pool
//! reconnects by itself, so service resumes when the database does. A call waits at most
//! [`SqlOptions::acquire_timeout`] for a connection; start-up waits longer
//! ([`SqlOptions::connect_timeout`]) for a database that is still coming up.

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

/// A transaction that writes, begun so that it waits for other writers instead of failing.
///
/// On SQLite it is `BEGIN IMMEDIATE`, which takes the write lock first and waits for it up
/// to the busy timeout. A deferred `BEGIN` whose first statement reads holds a snapshot;
/// when it then writes after another connection committed, SQLite cannot let it wait and
/// refuses at once ("database is locked"). On PostgreSQL it is a plain `BEGIN`.
trait BeginWrite {
    type Db: sqlx::Database;

    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, Self::Db>>;

    /// [`begin_write`](Self::begin_write), serialised with every other transaction begun
    /// for the same `key` until it ends: on PostgreSQL a transaction-scoped advisory lock
    /// on the key; on SQLite `IMMEDIATE` already serialises every writer.
    async fn begin_write_for(
        &self,
        key: &str,
    ) -> sqlx::Result<sqlx::Transaction<'static, Self::Db>>;
}

#[cfg(feature = "sqlite")]
impl BeginWrite for sqlx::SqlitePool {
    type Db = sqlx::Sqlite;

    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.begin_with("BEGIN IMMEDIATE").await
    }

    async fn begin_write_for(
        &self,
        _key: &str,
    ) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.begin_write().await
    }
}

/// The first key of centurion's two-key advisory locks ("cent"), apart from the one-key
/// locks an application may take.
#[cfg(feature = "postgres")]
const ADVISORY_LOCK_CLASS: i32 = 0x6365_6e74;

#[cfg(feature = "postgres")]
impl BeginWrite for sqlx::PgPool {
    type Db = sqlx::Postgres;

    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.begin().await
    }

    async fn begin_write_for(
        &self,
        key: &str,
    ) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        let mut tx = self.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(ADVISORY_LOCK_CLASS)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

mod pool;
mod revocations;
mod users;

pub use self::pool::{MIGRATIONS_TABLE, REVOCATION_MIGRATIONS_TABLE, SqlOptions, SqlPool};
pub use self::revocations::SqlRevocationStore;
pub use self::users::{IdentityConflict, SqlUserStore};
