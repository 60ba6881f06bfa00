//! The SQL stores against real databases: SQLite in a temporary file (and in memory), and
//! a throwaway PostgreSQL cluster the tests start and stop themselves. The in-memory
//! stores run the same suites, as the reference.
//!
//! Run: `cargo test -p centurion --features sqlite,postgres --test sql_store`.

#![cfg(any(feature = "sqlite", feature = "postgres"))]

use std::sync::Arc;

use centurion::clock::ManualClock;
use centurion::identity::identity_key;
use centurion::memory::{MemoryRevocationStore, MemoryUserStore};
use centurion::sql::{SqlPool, SqlRevocationStore, SqlUserStore};
use centurion::testing::TestUser;
use centurion::{ErrorKind, RevocationStore, TokenRef, UserStore};
use centurion_testkit::contracts::StoreTime;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_user_store_semantics() {
    centurion_testkit::contracts::user_store_semantics(
        &MemoryUserStore::<TestUser>::new(),
        "memory",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_concurrent_registrations() {
    centurion_testkit::contracts::concurrent_registrations(
        Arc::new(MemoryUserStore::<TestUser>::new()),
        16,
        "memory",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_identity_rules_and_registrations() {
    let store = MemoryUserStore::<TestUser>::new();
    centurion_testkit::contracts::identity_rules(&store, "memory").await;
    centurion_testkit::contracts::registration_semantics(&store, "memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_revocation_semantics() {
    let clock = ManualClock::new();
    centurion_testkit::contracts::revocation_semantics(
        Arc::new(MemoryRevocationStore::new().with_clock(clock.clone())),
        "memory",
        &StoreTime::Manual(clock),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_session_semantics() {
    let clock = ManualClock::new();
    centurion_testkit::contracts::session_semantics(
        Arc::new(MemoryRevocationStore::new().with_clock(clock.clone())),
        "memory",
        &StoreTime::Manual(clock),
    )
    .await;
}

/// Counts the rows of a table through the store's own pool.
async fn count(pool: &SqlPool, table: &str) -> i64 {
    let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
    match pool {
        #[cfg(feature = "sqlite")]
        SqlPool::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        #[cfg(feature = "postgres")]
        SqlPool::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        #[allow(unreachable_patterns)]
        _ => unreachable!(),
    }
}

async fn execute(pool: &SqlPool, sql: String) {
    let sql = sqlx::AssertSqlSafe(sql);
    match pool {
        #[cfg(feature = "sqlite")]
        SqlPool::Sqlite(p) => drop(sqlx::query(sql).execute(p).await.unwrap()),
        #[cfg(feature = "postgres")]
        SqlPool::Postgres(p) => drop(sqlx::query(sql).execute(p).await.unwrap()),
        #[allow(unreachable_patterns)]
        _ => unreachable!(),
    }
}

async fn fetch_string(pool: &SqlPool, sql: String) -> Option<String> {
    let sql = sqlx::AssertSqlSafe(sql);
    match pool {
        #[cfg(feature = "sqlite")]
        SqlPool::Sqlite(p) => sqlx::query_scalar(sql).fetch_optional(p).await.unwrap(),
        #[cfg(feature = "postgres")]
        SqlPool::Postgres(p) => sqlx::query_scalar(sql).fetch_optional(p).await.unwrap(),
        #[allow(unreachable_patterns)]
        _ => unreachable!(),
    }
}

/// Whether `table` exists in the pool's database (its current schema on PostgreSQL).
async fn table_exists(pool: &SqlPool, table: &str) -> bool {
    let sql = match pool.backend() {
        "sqlite" => {
            format!("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'")
        }
        _ => format!(
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '{table}'"
        ),
    };
    let sql = sqlx::AssertSqlSafe(sql);
    let n: i64 = match pool {
        #[cfg(feature = "sqlite")]
        SqlPool::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        #[cfg(feature = "postgres")]
        SqlPool::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        #[allow(unreachable_patterns)]
        _ => unreachable!(),
    };
    n > 0
}

/// `SqlRevocationStore::from_pool` on a fresh database creates its own tables and no
/// `centurion_users` (an application with users of its own gets none); a user store opened
/// later on the same database adds the users and works beside it.
async fn revocation_store_alone(pool: SqlPool, tag: &str) {
    assert!(
        !table_exists(&pool, "centurion_revocations").await,
        "{tag}: fresh"
    );
    let revocations = SqlRevocationStore::from_pool(pool.clone()).await.unwrap();
    assert!(table_exists(&pool, "centurion_revocations").await, "{tag}");
    assert!(table_exists(&pool, "centurion_sessions").await, "{tag}");
    assert!(
        !table_exists(&pool, "centurion_users").await,
        "{tag}: the revocation store created a users table"
    );
    assert!(!table_exists(&pool, "centurion_meta").await, "{tag}");
    // Opening it again is a no-op.
    SqlRevocationStore::from_pool(pool.clone()).await.unwrap();
    assert!(!table_exists(&pool, "centurion_users").await, "{tag}");
    let token = TokenRef {
        jti: "jti-alone",
        family: None,
        subject: "someone",
        issued_at_ms: 1,
    };
    revocations
        .revoke_token("jti-alone", 4_000_000_000)
        .await
        .unwrap();
    assert!(revocations.is_revoked(&token).await.unwrap());

    // The user store, later, on the same database: its tables join the revocation store's.
    let users = SqlUserStore::<TestUser>::from_pool(pool.clone())
        .await
        .unwrap();
    assert!(table_exists(&pool, "centurion_users").await, "{tag}");
    let ada = users
        .create(centurion::NewUser::new("ada", "$argon2id$…"))
        .await
        .unwrap();
    assert_eq!(
        users
            .identify(&ada.id.to_string())
            .await
            .unwrap()
            .map(|u| u.id),
        Some(ada.id)
    );
    assert!(revocations.is_revoked(&token).await.unwrap());
    assert!(users.revocation_store().is_revoked(&token).await.unwrap());
}

/// Brings a database to the schema of release 0.1's first migration only, as a database
/// written by an older centurion: users without keys, e-mail unique by `lower()`.
async fn legacy_schema(pool: &SqlPool) {
    use sqlx::SqlSafeStr;
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    let sql = match pool {
        #[cfg(feature = "sqlite")]
        SqlPool::Sqlite(_) => include_str!("../migrations/sqlite/0001_centurion_init.sql"),
        #[cfg(feature = "postgres")]
        SqlPool::Postgres(_) => include_str!("../migrations/postgres/0001_centurion_init.sql"),
        #[allow(unreachable_patterns)]
        _ => unreachable!(),
    };
    let mut migrator = Migrator::with_migrations(vec![Migration::new(
        1,
        "centurion init".into(),
        MigrationType::Simple,
        sql.into_sql_str(),
        false,
    )]);
    migrator.dangerous_set_table_name(centurion::sql::MIGRATIONS_TABLE);
    match pool {
        #[cfg(feature = "sqlite")]
        SqlPool::Sqlite(p) => migrator.run(p).await.unwrap(),
        #[cfg(feature = "postgres")]
        SqlPool::Postgres(p) => migrator.run(p).await.unwrap(),
        #[allow(unreachable_patterns)]
        _ => unreachable!(),
    }
}

/// A database written by an older release holds `Alice` and `alice` (the old schema
/// compared usernames exactly) and two addresses equal under the new key: connecting the
/// new store back-fills the keys, the older row of each pair keeps its key, the newer
/// one is left without (logged, listed) and cannot be found by it; a second start
/// changes nothing. Regression (issue 12.2): the keys are computed in Rust, once.
async fn legacy_backfill(url: &str, pool: SqlPool) {
    legacy_schema(&pool).await;
    for (name, email) in [
        ("Alice", "alice@example.org"),
        ("alice", "other@example.org"),
        ("bob", "Bob@Example.org"),
        ("robert", "bob@ｅｘａｍｐｌｅ.org"),
        ("carol", "carol@example.org"),
    ] {
        execute(
            &pool,
            format!(
                "INSERT INTO centurion_users (username, email, password_hash, roles) \
                 VALUES ('{name}', '{email}', '$argon2id$h', '[]')"
            ),
        )
        .await;
    }
    let refused = SqlUserStore::<TestUser>::connect_with(
        url,
        centurion::sql::SqlOptions::default().refuse_identity_conflicts(true),
    )
    .await
    .expect_err("refuse mode stops the start");
    assert_eq!(refused.kind(), ErrorKind::ConfigurationError);
    assert!(
        refused.message().contains("user 2"),
        "{}",
        refused.message()
    );

    let store = SqlUserStore::<TestUser>::from_pool(pool.clone())
        .await
        .unwrap();
    let conflicts: Vec<(i64, i64, &str)> = store
        .identity_conflicts()
        .iter()
        .map(|c| (c.id, c.kept_by, c.column))
        .collect();
    assert_eq!(conflicts, [(2, 1, "username"), (4, 3, "email")]);
    let by_name = |name: &str| {
        let store = store.clone();
        let key = identity_key(name);
        async move { store.lookup(&key).await.unwrap().map(|u| u.id) }
    };
    assert_eq!(
        by_name("alice").await,
        Some(1),
        "the older row keeps the key"
    );
    assert_eq!(by_name("ALICE").await, Some(1));
    assert_eq!(
        by_name("robert").await,
        Some(4),
        "only its address lost its key"
    );
    assert_eq!(by_name("carol").await, Some(5));
    assert_eq!(
        store
            .lookup_by_email(&centurion::identity::email_key("BOB@example.org"))
            .await
            .unwrap()
            .map(|u| u.id),
        Some(3)
    );
    // The row without a key still loads by id (its sessions keep working).
    assert_eq!(
        store.identify("2").await.unwrap().map(|u| u.username),
        Some("alice".into())
    );
    // A second start: nothing more to do; the conflicts are reported again.
    let again = SqlUserStore::<TestUser>::from_pool(pool.clone())
        .await
        .unwrap();
    assert_eq!(again.identity_conflicts().len(), 2);
    assert_eq!(
        fetch_string(
            &pool,
            "SELECT value FROM centurion_meta WHERE name = 'identity_version'".into()
        )
        .await
        .as_deref(),
        Some("toNFKC_Casefold+UTS46/1")
    );
    // Another key definition recorded: every key is computed again, the same way.
    execute(
        &pool,
        "UPDATE centurion_meta SET value = 'older' WHERE name = 'identity_version'".into(),
    )
    .await;
    execute(
        &pool,
        "UPDATE centurion_users SET username_key = 'stale-' || username".into(),
    )
    .await;
    let recomputed = SqlUserStore::<TestUser>::from_pool(pool.clone())
        .await
        .unwrap();
    assert_eq!(recomputed.identity_conflicts().len(), 2);
    assert_eq!(by_name("Alice").await, Some(1));
    assert_eq!(recomputed.lookup("stale-carol").await.unwrap(), None);
}

/// Schema details every backend shares: centurion's own migrations table, roles as JSON,
/// rows written by hand, purging of expired revocations.
async fn schema_checks(users: &SqlUserStore<TestUser>, tag: &str) {
    let pool = users.pool();
    let applied = count(pool, "_centurion_migrations").await;
    assert!(
        applied >= 2,
        "0001 init and 0002 sessions at least: {applied}"
    );
    pool.migrate().await.expect("migrations are idempotent");
    assert_eq!(count(pool, "_centurion_migrations").await, applied);

    let name = centurion_testkit::unique(&format!("json-{tag}"));
    let user = users
        .create(centurion::NewUser::new(name, "$argon2id$x").with_roles(["admin", "editor"]))
        .await
        .unwrap();
    let stored = fetch_string(
        pool,
        format!("SELECT roles FROM centurion_users WHERE id = {}", user.id),
    )
    .await;
    assert_eq!(stored.as_deref(), Some(r#"["admin","editor"]"#));

    // A row written by hand, roles as a comma-separated list, without keys (as an older
    // instance would write it): found once the back-fill has given it its key.
    let hand = centurion_testkit::unique(&format!("Hand-{tag}"));
    execute(
        pool,
        format!(
            "INSERT INTO centurion_users (username, password_hash, roles) \
             VALUES ('{hand}', '$argon2id$y', 'author, editor')"
        ),
    )
    .await;
    assert_eq!(users.lookup(&identity_key(&hand)).await.unwrap(), None);
    assert!(users.backfill_identity_keys().await.unwrap().is_empty());
    let loaded = users
        .lookup(&identity_key(&hand))
        .await
        .unwrap()
        .expect("hand-written row");
    assert_eq!(loaded.roles, ["author", "editor"]);
    assert!(loaded.active, "active defaults to true");
    assert_eq!(loaded.email, None);

    // Purging expired revocations.
    let revocations = users.revocation_store();
    let now = centurion_testkit::now_secs();
    revocations.purge_expired().await.unwrap(); // writes purge again only a minute later
    for i in 0..3 {
        revocations
            .revoke_token(&centurion_testkit::unique(&format!("old-{i}")), now - 5)
            .await
            .unwrap();
    }
    revocations
        .revoke_token(&centurion_testkit::unique("live"), now + 600)
        .await
        .unwrap();
    let before = count(pool, "centurion_revocations").await;
    let purged = revocations.purge_expired().await.unwrap();
    assert_eq!(purged, 3);
    assert_eq!(
        count(pool, "centurion_revocations").await,
        before - purged as i64
    );
    let expired = fetch_string(
        pool,
        format!("SELECT name FROM centurion_revocations WHERE expires_at <= {now} LIMIT 1"),
    )
    .await;
    assert_eq!(expired, None, "nothing expired is left");
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use centurion::sql::SqlOptions;
    use centurion_testkit::TempDir;

    fn file_url(dir: &TempDir) -> String {
        format!("sqlite://{}", dir.path().join("centurion.db").display())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_user_store_semantics() {
        let dir = TempDir::new("sqlite");
        let store = SqlUserStore::<TestUser>::connect(&file_url(&dir))
            .await
            .unwrap();
        centurion_testkit::contracts::user_store_semantics(&store, "sqlite").await;
    }

    /// "Log out my other devices" reads the live sessions, then writes. On SQLite a
    /// transaction that reads first and writes second cannot wait for a writer that
    /// committed in between: it fails at once with "database is locked" (no busy timeout
    /// applies), which answered 503. Ending sessions while other writes land (logins,
    /// revocations, the background purge) must always succeed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_ending_sessions_beside_other_writes_never_reports_a_locked_database() {
        let dir = TempDir::new("sqlite");
        let store = Arc::new(SqlRevocationStore::connect(&file_url(&dir)).await.unwrap());
        let far = centurion_testkit::now_secs() + 3600;
        let writer = {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..400 {
                    store.revoke_token(&format!("t{i}"), far).await.unwrap();
                }
            })
        };
        let mut now_ms = centurion_testkit::now_secs() * 1000;
        for _ in 0..400 {
            now_ms += 1;
            store
                .end_sessions_of("ada", Some("kept"), now_ms, far)
                .await
                .unwrap_or_else(|e| panic!("{e:?}"));
        }
        writer.await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_revocation_store_alone_creates_no_users_table() {
        let dir = TempDir::new("sqlite");
        let pool = SqlPool::connect(&file_url(&dir), &SqlOptions::default())
            .await
            .unwrap();
        revocation_store_alone(pool, "sqlite").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_identity_rules_and_registrations() {
        let dir = TempDir::new("sqlite");
        let store = SqlUserStore::<TestUser>::connect(&file_url(&dir))
            .await
            .unwrap();
        centurion_testkit::contracts::identity_rules(&store, "sqlite").await;
        centurion_testkit::contracts::registration_semantics(&store, "sqlite").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_backfills_identity_keys_of_a_legacy_database() {
        let dir = TempDir::new("sqlite");
        let url = file_url(&dir);
        let pool = SqlPool::connect(&url, &SqlOptions::default())
            .await
            .unwrap();
        legacy_backfill(&url, pool).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_revocation_semantics() {
        let dir = TempDir::new("sqlite");
        let store = SqlRevocationStore::connect(&file_url(&dir)).await.unwrap();
        let clock = ManualClock::new();
        centurion_testkit::contracts::revocation_semantics(
            Arc::new(store.with_clock(clock.clone())),
            "sqlite",
            &StoreTime::Manual(clock),
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_session_semantics() {
        let dir = TempDir::new("sqlite");
        let store = SqlRevocationStore::connect(&file_url(&dir)).await.unwrap();
        let clock = ManualClock::new();
        centurion_testkit::contracts::session_semantics(
            Arc::new(store.with_clock(clock.clone())),
            "sqlite",
            &StoreTime::Manual(clock),
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_in_memory_semantics() {
        let users = SqlUserStore::<TestUser>::connect("sqlite::memory:")
            .await
            .unwrap();
        centurion_testkit::contracts::user_store_semantics(&users, "sqlite-mem").await;
        centurion_testkit::contracts::concurrent_registrations(
            Arc::new(users.clone()),
            16,
            "sqlite-mem",
        )
        .await;
        let clock = ManualClock::new();
        centurion_testkit::contracts::revocation_semantics(
            Arc::new(users.revocation_store().with_clock(clock.clone())),
            "sqlite-mem",
            &StoreTime::Manual(clock.clone()),
        )
        .await;
        centurion_testkit::contracts::session_semantics(
            Arc::new(users.revocation_store().with_clock(clock.clone())),
            "sqlite-mem",
            &StoreTime::Manual(clock),
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_sixteen_concurrent_registrations() {
        let dir = TempDir::new("sqlite");
        let store = SqlUserStore::<TestUser>::connect_with(
            &file_url(&dir),
            SqlOptions::default().max_connections(16),
        )
        .await
        .unwrap();
        centurion_testkit::contracts::concurrent_registrations(Arc::new(store), 16, "sqlite").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_file_is_created_and_persists() {
        let dir = TempDir::new("sqlite");
        let path = dir.path().join("centurion.db");
        assert!(!path.exists());
        let url = file_url(&dir);
        let store = SqlUserStore::<TestUser>::connect(&url).await.unwrap();
        assert!(path.exists(), "connect creates the file");
        let user = store
            .create(
                centurion::NewUser::new("kept", "$argon2id$k")
                    .with_email("kept@example.org")
                    .with_roles(["admin"]),
            )
            .await
            .unwrap();
        let revocations = store.revocation_store();
        revocations
            .revoke_token("kept-jti", u64::MAX)
            .await
            .unwrap();
        let applied = count(store.pool(), "_centurion_migrations").await;
        store.pool().close().await;
        drop((store, revocations));

        // Reopened: the data is there, the migrations are not applied twice.
        let store = SqlUserStore::<TestUser>::connect(&url).await.unwrap();
        assert_eq!(
            store.identify(&user.id.to_string()).await.unwrap(),
            Some(user)
        );
        store.pool().migrate().await.unwrap();
        assert_eq!(count(store.pool(), "_centurion_migrations").await, applied);
        let token = TokenRef {
            jti: "kept-jti",
            family: None,
            subject: "1",
            issued_at_ms: 0,
        };
        assert!(store.revocation_store().is_revoked(&token).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_schema() {
        let dir = TempDir::new("sqlite");
        let store = SqlUserStore::<TestUser>::connect(&file_url(&dir))
            .await
            .unwrap();
        schema_checks(&store, "sqlite").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_account_lifecycle() {
        let dir = TempDir::new("sqlite");
        let users = SqlUserStore::<TestUser>::connect(&file_url(&dir))
            .await
            .unwrap();
        let auth =
            centurion_testkit::contracts::centurion_with(users.clone(), users.revocation_store());
        centurion_testkit::contracts::account_lifecycle(&auth, "sqlite").await;
    }

    #[tokio::test]
    async fn sqlite_unusable_path_is_a_store_error() {
        // Waiting cannot cure a missing directory: the error comes at once, not after the
        // (here very long) start-up bound.
        let connect = SqlUserStore::<TestUser>::connect_with(
            "sqlite:///nonexistent-dir/sub/centurion.db",
            SqlOptions::default().connect_timeout(std::time::Duration::from_secs(3600)),
        );
        let err = tokio::time::timeout(std::time::Duration::from_secs(120), connect)
            .await
            .expect("a path that cannot be opened is not retried")
            .expect_err("no such directory");
        assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
        let err = SqlUserStore::<TestUser>::connect("mysql://localhost/db")
            .await
            .expect_err("unsupported scheme");
        assert_eq!(err.kind(), ErrorKind::ConfigurationError);
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use std::time::{Duration, Instant};

    use centurion::sql::SqlOptions;
    use centurion_testkit::PgServer;

    const GROUP: &str = "postgres";

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_user_store_semantics() {
        let Some(pg) = centurion_testkit::shared_postgres(GROUP) else {
            return;
        };
        let store = SqlUserStore::<TestUser>::connect(&pg.url()).await.unwrap();
        centurion_testkit::contracts::user_store_semantics(&store, "pg").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_revocation_store_alone_creates_no_users_table() {
        let Some(pg) = centurion_testkit::shared_postgres(GROUP) else {
            return;
        };
        let url = pg.create_database("");
        let pool = SqlPool::connect(&url, &SqlOptions::default())
            .await
            .unwrap();
        revocation_store_alone(pool, "pg").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_identity_rules_and_registrations() {
        let Some(pg) = centurion_testkit::shared_postgres(GROUP) else {
            return;
        };
        let store = SqlUserStore::<TestUser>::connect(&pg.url()).await.unwrap();
        centurion_testkit::contracts::identity_rules(&store, "pg").await;
        centurion_testkit::contracts::registration_semantics(&store, "pg").await;
    }

    /// The same rules in a database whose default collation is Turkish (ICU `tr-TR`),
    /// where `lower('İ')` is `i` and `lower('I')` is `ı`: the regression of issue 12.2/12.3
    /// (`victim@gİthub.com` matched `victim@github.com` through `lower()`). Nothing
    /// compares through the database's case mapping any more, so the results are those
    /// of SQLite and memory.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_identity_rules_under_a_turkish_collation() {
        let Some(pg) = centurion_testkit::shared_postgres(GROUP) else {
            return;
        };
        let url = pg.create_database("LOCALE_PROVIDER icu ICU_LOCALE 'tr-TR' LOCALE 'C.UTF-8'");
        let store = SqlUserStore::<TestUser>::connect(&url).await.unwrap();
        // The database does map case the Turkish way (so the test means something).
        assert_eq!(
            fetch_string(store.pool(), "SELECT lower('GİTHUB')".into())
                .await
                .as_deref(),
            Some("github")
        );
        centurion_testkit::contracts::identity_rules(&store, "pg-tr").await;
        centurion_testkit::contracts::registration_semantics(&store, "pg-tr").await;
        centurion_testkit::contracts::user_store_semantics(&store, "pg-tr").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_backfills_identity_keys_of_a_legacy_database() {
        let Some(pg) = centurion_testkit::shared_postgres(GROUP) else {
            return;
        };
        let url = pg.create_database("");
        let pool = SqlPool::connect(&url, &SqlOptions::default())
            .await
            .unwrap();
        legacy_backfill(&url, pool).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_revocation_semantics() {
        let Some(pg) = centurion_testkit::shared_postgres(GROUP) else {
            return;
        };
        let store = SqlRevocationStore::connect(&pg.url()).await.unwrap();
        let clock = ManualClock::new();
        centurion_testkit::contracts::revocation_semantics(
            Arc::new(store.with_clock(clock.clone())),
            "pg",
            &StoreTime::Manual(clock),
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_session_semantics() {
        let Some(pg) = centurion_testkit::shared_postgres(GROUP) else {
            return;
        };
        let store = SqlRevocationStore::connect(&pg.url()).await.unwrap();
        let clock = ManualClock::new();
        centurion_testkit::contracts::session_semantics(
            Arc::new(store.with_clock(clock.clone())),
            "pg",
            &StoreTime::Manual(clock),
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_sixteen_concurrent_registrations() {
        let Some(pg) = centurion_testkit::shared_postgres(GROUP) else {
            return;
        };
        let store = SqlUserStore::<TestUser>::connect_with(
            &pg.url(),
            SqlOptions::default().max_connections(16),
        )
        .await
        .unwrap();
        centurion_testkit::contracts::concurrent_registrations(Arc::new(store), 16, "pg").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_schema() {
        let Some(pg) = centurion_testkit::shared_postgres(GROUP) else {
            return;
        };
        let store = SqlUserStore::<TestUser>::connect(&pg.url()).await.unwrap();
        schema_checks(&store, "pg").await;
        let applied = count(store.pool(), "_centurion_migrations").await;
        // Two stores starting at once on one database: migrations run once.
        let url = pg.url();
        let (a, b) = tokio::join!(
            SqlUserStore::<TestUser>::connect(&url),
            SqlRevocationStore::connect(&url)
        );
        a.unwrap();
        b.unwrap();
        SqlUserStore::<TestUser>::connect(&url).await.unwrap();
        assert_eq!(count(store.pool(), "_centurion_migrations").await, applied);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_account_lifecycle() {
        let Some(pg) = centurion_testkit::shared_postgres(GROUP) else {
            return;
        };
        let users = SqlUserStore::<TestUser>::connect(&pg.url()).await.unwrap();
        let auth =
            centurion_testkit::contracts::centurion_with(users.clone(), users.revocation_store());
        centurion_testkit::contracts::account_lifecycle(&auth, "pg").await;
    }

    /// Start-up next to a database that is not up yet: `connect` keeps trying past the
    /// acquire timeout (sized for requests) until the server answers, then works.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_start_up_waits_for_a_database_that_is_still_starting() {
        let Some(mut pg) = PgServer::start(GROUP) else {
            return;
        };
        pg.stop();
        let options = SqlOptions::default()
            .acquire_timeout(Duration::from_millis(500))
            .connect_timeout(Duration::from_secs(120));
        let url = pg.url();
        let connecting =
            tokio::spawn(
                async move { SqlUserStore::<TestUser>::connect_with(&url, options).await },
            );
        // Several acquire timeouts pass with the server down; connect has not given up.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(
            !connecting.is_finished(),
            "connect gave up while the database was still starting"
        );
        pg.restart();
        let users = connecting
            .await
            .expect("the connect task")
            .expect("connects once the database is up");
        let user = users
            .create(centurion::NewUser::new("late-start", "$argon2id$late"))
            .await
            .unwrap();
        assert_eq!(
            users.identify(&user.id.to_string()).await.unwrap(),
            Some(user)
        );
    }

    /// A database that never comes up: `connect` fails with 503 once `connect_timeout` has
    /// passed, with a message that names the bound.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_start_up_gives_up_after_connect_timeout() {
        let Some(mut pg) = PgServer::start(GROUP) else {
            return;
        };
        pg.stop();
        let options = SqlOptions::default()
            .acquire_timeout(Duration::from_millis(300))
            .connect_timeout(Duration::from_secs(2));
        let started = Instant::now();
        let err = SqlUserStore::<TestUser>::connect_with(&pg.url(), options)
            .await
            .expect_err("the database is down");
        assert_eq!(err.kind(), ErrorKind::StoreUnavailable, "{err:?}");
        assert_eq!(err.status().as_u16(), 503);
        assert!(
            err.to_string().contains("within 2s"),
            "the message names the bound: {err}"
        );
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "it kept trying for the whole bound ({:?})",
            started.elapsed()
        );
    }

    /// An error waiting cannot cure (here a database that does not exist) fails at once,
    /// not after the start-up bound.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_start_up_fails_at_once_for_an_unknown_database() {
        let Some(pg) = centurion_testkit::shared_postgres(GROUP) else {
            return;
        };
        let url = format!(
            "{}/no_such_database",
            pg.url()
                .strip_suffix("/postgres")
                .expect("the url ends in the database")
        );
        let connect = SqlUserStore::<TestUser>::connect_with(
            &url,
            SqlOptions::default().connect_timeout(Duration::from_secs(3600)),
        );
        let err = tokio::time::timeout(Duration::from_secs(120), connect)
            .await
            .expect("an unknown database is not waited for")
            .expect_err("no such database");
        assert_eq!(err.kind(), ErrorKind::StoreUnavailable, "{err:?}");
        assert!(
            format!("{err:?}").contains("no_such_database"),
            "the database's own refusal is kept as the source: {err:?}"
        );
    }

    /// The database goes away: every call fails with 503 within the acquire timeout, no
    /// panic; it comes back on the same port: the same store works again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_outage_fails_closed_and_recovers() {
        let t = Instant::now();
        let Some(mut pg) = PgServer::start(GROUP) else {
            return;
        };
        eprintln!(
            "postgres cluster initialised and started in {:?}",
            t.elapsed()
        );
        let options = SqlOptions::default().acquire_timeout(Duration::from_secs(1));
        let users = SqlUserStore::<TestUser>::connect_with(&pg.url(), options)
            .await
            .unwrap();
        let revocations = users.revocation_store();
        let auth = centurion_testkit::contracts::centurion_with(users.clone(), revocations.clone());
        let user = users
            .create(centurion::NewUser::new("outage", "$argon2id$o"))
            .await
            .unwrap();
        let pair = auth.issue_pair(&user).await.unwrap();
        auth.verify_access(&pair.access_token).await.unwrap();

        pg.stop();
        let token = TokenRef {
            jti: "j",
            family: Some("f"),
            subject: "1",
            issued_at_ms: 0,
        };
        for _ in 0..3 {
            let started = Instant::now();
            let err = users
                .identify(&user.id.to_string())
                .await
                .expect_err("database down");
            assert_eq!(err.kind(), ErrorKind::StoreUnavailable, "{err:?}");
            assert_eq!(err.status().as_u16(), 503);
            let err = revocations
                .is_revoked(&token)
                .await
                .expect_err("database down");
            assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
            let err = revocations
                .mark_spent("x", u64::MAX)
                .await
                .expect_err("database down");
            assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
            let err = auth
                .verify_access(&pair.access_token)
                .await
                .expect_err("fails closed");
            assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
            let elapsed = started.elapsed();
            eprintln!("postgres down: four failed calls took {elapsed:?}");
            assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
        }

        pg.restart();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match users.identify(&user.id.to_string()).await {
                Ok(found) => {
                    assert_eq!(found, Some(user.clone()));
                    break;
                }
                Err(e) if Instant::now() < deadline => {
                    assert_eq!(e.kind(), ErrorKind::StoreUnavailable);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("the store did not recover: {e:?}"),
            }
        }
        auth.verify_access(&pair.access_token)
            .await
            .expect("service resumed");
        assert!(revocations.mark_spent("after", u64::MAX).await.unwrap());
    }
}

/// 200 000 expired revocation rows (and 2 000 ended sessions), as a busy store piles up.
async fn pile_up_expired_rows(pool: &SqlPool) {
    let series = match pool.backend() {
        "sqlite" => {
            "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 200000) \
             SELECT n FROM c"
        }
        _ => "SELECT n FROM generate_series(1, 200000) AS n",
    };
    execute(
        pool,
        format!(
            "INSERT INTO centurion_revocations (kind, name, not_before_ms, expires_at) \
             SELECT 'spent', 'expired-' || n, 0, 1 FROM ({series}) AS s"
        ),
    )
    .await;
    execute(
        pool,
        format!(
            "INSERT INTO centurion_sessions (family, id, subject, created_at_ms, stamp_ms, \
               last_used_at_ms, expires_at, live_until, generation, rotated_at_ms) \
             SELECT 'ended-' || n, 'sid-' || n, 'u', 0, 0, 0, 1, 1, 0, 0 \
             FROM ({series}) AS s WHERE n <= 2000"
        ),
    )
    .await;
}

async fn expired_rows(pool: &SqlPool) -> i64 {
    let now = centurion_testkit::now_secs();
    count_where(
        pool,
        "centurion_revocations",
        &format!("expires_at <= {now}"),
    )
    .await
        + count_where(pool, "centurion_sessions", &format!("live_until <= {now}")).await
}

async fn count_where(pool: &SqlPool, table: &str, condition: &str) -> i64 {
    let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table} WHERE {condition}"));
    match pool {
        #[cfg(feature = "sqlite")]
        SqlPool::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        #[cfg(feature = "postgres")]
        SqlPool::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        #[allow(unreachable_patterns)]
        _ => unreachable!(),
    }
}

/// Writes (revocations) in a loop while `busy` says the purge runs: how many, and the
/// slowest.
async fn writes_while(
    store: &SqlRevocationStore,
    busy: impl Fn() -> bool,
) -> (usize, std::time::Duration) {
    let far = centurion_testkit::now_secs() + 3600;
    let (mut n, mut slowest) = (0, std::time::Duration::ZERO);
    while busy() {
        let started = std::time::Instant::now();
        store
            .revoke_token(&centurion_testkit::unique("during"), far)
            .await
            .unwrap();
        slowest = slowest.max(started.elapsed());
        n += 1;
    }
    (n, slowest)
}

/// The purge of expired rows (issue 20.5): started by a write, in the background (the
/// write does not wait for it), in batches, so that writes made meanwhile stay fast; it
/// ends with no expired row left. For comparison, the old single `DELETE` is timed the
/// same way in the same run. Prints the figures:
/// `cargo test -p centurion --all-features --test sql_store large_purge -- --nocapture`.
async fn large_purge(store: SqlRevocationStore) {
    let clock = ManualClock::new();
    let store = store.with_clock(clock.clone());
    let pool = store.pool().clone();
    let backend = pool.backend();

    // Before: one unbatched DELETE, as the store used to run inside a request.
    pile_up_expired_rows(&pool).await;
    let now = centurion_testkit::now_secs();
    let old_purge = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            execute(
                &pool,
                format!("DELETE FROM centurion_revocations WHERE expires_at <= {now}"),
            )
            .await;
            started.elapsed()
        })
    };
    let (old_writes, old_slowest) = writes_while(&store, || !old_purge.is_finished()).await;
    let old_took = old_purge.await.unwrap();
    // The writes above may have started a background purge of their own (a store's first
    // write finds the purge due): let it end, or it would delete rows of the second pile
    // while they are counted (seen on a loaded machine).
    let waited = std::time::Instant::now();
    while store.is_purging() {
        assert!(
            waited.elapsed() < std::time::Duration::from_secs(120),
            "purge never ended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    store.purge_expired().await.unwrap();

    // After: a write starts the purge in the background and returns at once (a minute
    // after the last purge).
    pile_up_expired_rows(&pool).await;
    clock.advance(std::time::Duration::from_secs(61));
    assert_eq!(expired_rows(&pool).await, 202_000);
    let started = std::time::Instant::now();
    let trigger = std::time::Instant::now();
    store.revoke_token("the-trigger", now + 3600).await.unwrap();
    let trigger = trigger.elapsed();
    assert!(
        store.is_purging(),
        "the write started a purge in the background"
    );
    let (writes, slowest) = writes_while(&store, || store.is_purging()).await;
    let took = started.elapsed();
    assert_eq!(
        expired_rows(&pool).await,
        0,
        "the purge removed every expired row"
    );
    eprintln!(
        "{backend}: purge of 202 000 expired rows\n  \
         before (one DELETE of 200 000 rows, awaited by the write that triggered it): \
         {old_took:?}; {old_writes} concurrent writes, the slowest {old_slowest:?}\n  \
         after (batches of 1 000, in the background): {took:?}; the triggering write \
         {trigger:?}; {writes} concurrent writes, the slowest {slowest:?}"
    );
    assert!(
        trigger < std::time::Duration::from_millis(500),
        "the write that starts a purge does not wait for it: {trigger:?}"
    );
    assert!(
        slowest < std::time::Duration::from_millis(500),
        "a write during the purge waits at most one batch: {slowest:?}"
    );
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_large_purge_runs_in_batches_off_the_request_path() {
    let dir = centurion_testkit::TempDir::new("purge");
    let url = format!("sqlite://{}", dir.path().join("purge.db").display());
    large_purge(SqlRevocationStore::connect(&url).await.unwrap()).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_large_purge_runs_in_batches_off_the_request_path() {
    let Some(pg) = centurion_testkit::shared_postgres("sql store on PostgreSQL") else {
        return;
    };
    // A database of its own: other tests write expired rows to the shared one.
    let admin = SqlRevocationStore::connect(&pg.url()).await.unwrap();
    let db = centurion_testkit::unique("purge").replace('-', "_");
    execute(admin.pool(), format!("CREATE DATABASE {db}")).await;
    let url = format!("{}/{db}", pg.url().rsplit_once('/').unwrap().0);
    large_purge(SqlRevocationStore::connect(&url).await.unwrap()).await;
}

/// Refresh does not accumulate (issue 20.1): many refreshes of one session (10 000, or
/// `CENTURION_GROWTH_REFRESHES`; 100 000 for the figure in SECURITY.md) leave the
/// row counts as they were after the first (before: one `spent` row per refresh, kept for
/// 30 days). Prints the figure:
/// `cargo test -p centurion --all-features --test sql_store refreshes -- --nocapture`.
async fn refreshes_leave_the_row_counts_unchanged(store: SqlRevocationStore) {
    let pool = store.pool().clone();
    let (builder, users) = centurion_testkit::shared_builder();
    let ada = TestUser::new(7, "ada", &[]);
    users.insert(ada.clone());
    let auth = builder.revocation_store(store).build().unwrap();
    let rows = || async {
        (
            count(&pool, "centurion_sessions").await,
            count(&pool, "centurion_revocations").await,
        )
    };
    let mut pair = auth.issue_pair(&ada).await.unwrap();
    pair = auth.refresh(&pair.refresh_token).await.unwrap();
    let before = rows().await;
    let started = std::time::Instant::now();
    let n = centurion_testkit::growth_refreshes();
    for _ in 1..n {
        pair = auth.refresh(&pair.refresh_token).await.unwrap();
    }
    let after = rows().await;
    eprintln!(
        "{}: {n} refreshes of one session in {:?}: (sessions, revocations) rows {before:?} -> {after:?}",
        pool.backend(),
        started.elapsed()
    );
    assert_eq!(after, before);
    auth.verify_access(&pair.access_token).await.unwrap();
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_many_refreshes_leave_the_row_counts_unchanged() {
    let dir = centurion_testkit::TempDir::new("growth");
    let url = format!("sqlite://{}", dir.path().join("growth.db").display());
    refreshes_leave_the_row_counts_unchanged(SqlRevocationStore::connect(&url).await.unwrap())
        .await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_many_refreshes_leave_the_row_counts_unchanged() {
    let Some(pg) = centurion_testkit::shared_postgres("sql store on PostgreSQL") else {
        return;
    };
    let admin = SqlRevocationStore::connect(&pg.url()).await.unwrap();
    let db = centurion_testkit::unique("growth").replace('-', "_");
    execute(admin.pool(), format!("CREATE DATABASE {db}")).await;
    let url = format!("{}/{db}", pg.url().rsplit_once('/').unwrap().0);
    refreshes_leave_the_row_counts_unchanged(SqlRevocationStore::connect(&url).await.unwrap())
        .await;
}
