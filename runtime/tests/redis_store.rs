//! The Redis revocation store against a real `redis-server` the tests start and stop
//! themselves: the shared semantics suite, the key layout, one round trip per check, two
//! application instances sharing one Redis, and Redis going away and coming back.
//!
//! Run: `cargo test -p centurion --features redis --test redis_store`.

#![cfg(feature = "redis")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use centurion::clock::ManualClock;
use centurion::memory::{MemoryRevocationStore, MemoryUserStore};
use centurion::redis::{RedisOptions, RedisRevocationStore};
use centurion::testing::TestUser;
use centurion::{Centurion, Claims, ErrorKind, NewUser, RevocationStore, TokenRef, UserStore};
use centurion_testkit::RedisServer;
use centurion_testkit::contracts::StoreTime;
use http::{Request, StatusCode};
use tower::ServiceExt;

const GROUP: &str = "redis";

async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
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
async fn redis_revocation_semantics() {
    let Some(server) = RedisServer::start(GROUP) else {
        return;
    };
    let store = RedisRevocationStore::connect(&server.url(), RedisOptions::default())
        .await
        .unwrap();
    // Redis keeps time itself: the contract waits for its entries to expire.
    centurion_testkit::contracts::revocation_semantics(Arc::new(store), "redis", &StoreTime::Real)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_keys_are_prefixed_and_expire_with_what_they_guard() {
    let Some(server) = RedisServer::start(GROUP) else {
        return;
    };
    let a = RedisRevocationStore::connect(&server.url(), RedisOptions::default().prefix("a:"))
        .await
        .unwrap();
    let b = RedisRevocationStore::connect(&server.url(), RedisOptions::default().prefix("b:"))
        .await
        .unwrap();
    let now = centurion_testkit::now_secs();
    a.revoke_token("j1", now + 100).await.unwrap();
    a.revoke_family("f1", now + 200).await.unwrap();
    a.revoke_user("7", 1_700_000_000_123, now + 300)
        .await
        .unwrap();
    assert!(a.mark_spent("s1", now + 400).await.unwrap());

    let mut conn = raw(&server).await;
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    keys.sort();
    assert_eq!(
        keys,
        ["a:family:f1", "a:spent:s1", "a:token:j1", "a:user:7"]
    );
    for (key, lifetime) in [
        ("a:token:j1", 100),
        ("a:family:f1", 200),
        ("a:user:7", 300),
        ("a:spent:s1", 400),
    ] {
        let ttl: i64 = redis::cmd("TTL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(
            (lifetime - 3..=lifetime).contains(&ttl),
            "{key}: ttl {ttl}, expected about {lifetime}"
        );
    }
    let nb: String = redis::cmd("GET")
        .arg("a:user:7")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        nb, "1700000000123",
        "the not-before is kept in milliseconds"
    );

    // Another prefix sees none of it.
    let token = TokenRef {
        jti: "j1",
        family: Some("f1"),
        subject: "7",
        issued_at_ms: 0,
    };
    assert!(a.is_revoked(&token).await.unwrap());
    assert!(!b.is_revoked(&token).await.unwrap());
    assert!(b.mark_spent("s1", now + 400).await.unwrap());
    assert_eq!(a.prefix(), "a:");
}

/// Parses `INFO commandstats` into (command, calls).
fn command_calls(info: &str) -> Vec<(String, u64)> {
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest.split(',').find_map(|kv| kv.strip_prefix("calls="))?;
            Some((name.to_owned(), calls.parse().ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_is_revoked_costs_one_round_trip() {
    let Some(server) = RedisServer::start(GROUP) else {
        return;
    };
    let store = RedisRevocationStore::connect(&server.url(), RedisOptions::default())
        .await
        .unwrap();
    store
        .revoke_user("9", 10, centurion_testkit::now_secs() + 60)
        .await
        .unwrap();
    let token = TokenRef {
        jti: "j",
        family: Some("f"),
        subject: "9",
        issued_at_ms: 5,
    };
    assert!(store.is_revoked(&token).await.unwrap()); // warm the connection up

    let mut conn = raw(&server).await;
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .exec_async(&mut conn)
        .await
        .unwrap();
    assert!(store.is_revoked(&token).await.unwrap());
    let fresh = TokenRef {
        issued_at_ms: 11,
        ..token
    };
    assert!(!store.is_revoked(&fresh).await.unwrap());
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    let calls: Vec<_> = command_calls(&info)
        .into_iter()
        .filter(|(name, _)| !name.starts_with("config") && !name.starts_with("info"))
        .collect();
    assert_eq!(
        calls,
        [("mget".to_owned(), 2)],
        "two checks, two commands:\n{info}"
    );
}

/// One application instance: its own stores, a shared Redis.
struct Instance {
    auth: Centurion<TestUser>,
    app: Router,
}

async fn instance(redis_url: &str) -> (Instance, TestUser) {
    let users = MemoryUserStore::<TestUser>::new();
    let user = users
        .create(NewUser::new("ada", String::new()).with_roles(["admin"]))
        .await
        .unwrap();
    let revocations = RedisRevocationStore::connect(redis_url, RedisOptions::default())
        .await
        .unwrap();
    let auth = centurion_testkit::contracts::centurion_with(users, revocations);
    let app = Router::new()
        .route(
            "/me",
            get(|claims: Claims| async move { claims.subject().to_owned() }),
        )
        .layer(auth.layer());
    (Instance { auth, app }, user)
}

/// A GET /me with `token`: the status and the JSON error name, if any.
async fn get_me(app: &Router, token: &str) -> (StatusCode, Option<String>) {
    let request = Request::get("/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    if status.is_success() {
        return (status, None);
    }
    let body: serde_json::Value = serde_json::from_slice(&bytes).expect("a JSON error body");
    assert_eq!(body["status_code"], status.as_u16(), "{body}");
    (status, body["error"].as_str().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_sharing_redis_see_each_others_revocations() {
    let Some(server) = RedisServer::start(GROUP) else {
        return;
    };
    let (a, user) = instance(&server.url()).await;
    let (b, _) = instance(&server.url()).await;

    // A token revoked through A is refused by B.
    let pair = a.auth.issue_pair(&user).await.unwrap();
    assert_eq!(get_me(&b.app, &pair.access_token).await.0, StatusCode::OK);
    let claims = a.auth.verify_access(&pair.access_token).await.unwrap();
    a.auth.revoke_token(&claims).await.unwrap();
    assert_eq!(
        get_me(&b.app, &pair.access_token).await,
        (StatusCode::UNAUTHORIZED, Some("RevokedTokenError".into()))
    );
    let err = b.auth.verify_access(&pair.access_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RevokedTokenError);

    // Refresh rotation across instances: spent on B, reused on A, the family dies on both.
    let pair = b.auth.issue_pair(&user).await.unwrap();
    let next = b.auth.refresh(&pair.refresh_token).await.unwrap();
    let err = a.auth.refresh(&pair.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshReuseError);
    assert_eq!(
        get_me(&b.app, &next.access_token).await,
        (StatusCode::UNAUTHORIZED, Some("RevokedTokenError".into()))
    );

    // Everything a user holds, revoked through B, is refused by A.
    let pair = a.auth.issue_pair(&user).await.unwrap();
    assert_eq!(get_me(&a.app, &pair.access_token).await.0, StatusCode::OK);
    b.auth.revoke_user(&user.id.to_string()).await.unwrap();
    assert_eq!(
        get_me(&a.app, &pair.access_token).await,
        (StatusCode::UNAUTHORIZED, Some("RevokedTokenError".into()))
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    let pair = a.auth.issue_pair(&user).await.unwrap();
    assert_eq!(get_me(&b.app, &pair.access_token).await.0, StatusCode::OK);

    // A single-use token spent concurrently through both instances: exactly one wins.
    let sa = RedisRevocationStore::connect(&server.url(), RedisOptions::default())
        .await
        .unwrap();
    let sb = RedisRevocationStore::connect(&server.url(), RedisOptions::default())
        .await
        .unwrap();
    let far = centurion_testkit::now_secs() + 600;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = if i % 2 == 0 { sa.clone() } else { sb.clone() };
            tokio::spawn(async move { store.mark_spent("shared-jti", far).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_outage_answers_503_then_service_resumes() {
    let Some(mut server) = RedisServer::start(GROUP) else {
        return;
    };
    let (a, user) = instance(&server.url()).await;
    let (b, _) = instance(&server.url()).await;
    let store = RedisRevocationStore::connect(&server.url(), RedisOptions::default())
        .await
        .unwrap();
    let pair = a.auth.issue_pair(&user).await.unwrap();
    assert_eq!(get_me(&b.app, &pair.access_token).await.0, StatusCode::OK);

    server.stop();
    let token = TokenRef {
        jti: "j",
        family: Some("f"),
        subject: "1",
        issued_at_ms: 0,
    };
    for round in 0..3 {
        let started = Instant::now();
        assert_eq!(
            get_me(&b.app, &pair.access_token).await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Some("StoreUnavailable".into())
            ),
            "round {round}"
        );
        let elapsed = started.elapsed();
        eprintln!("redis down, round {round}: 503 after {elapsed:?}");
        assert!(
            elapsed < Duration::from_millis(2500),
            "a dead Redis answers quickly: {elapsed:?}"
        );
        for result in [
            store.is_revoked(&token).await.map(drop),
            store.revoke_token("j", u64::MAX).await,
            store.revoke_family("f", u64::MAX).await,
            store.revoke_user("1", 1, u64::MAX).await,
            store.mark_spent("s", u64::MAX).await.map(drop),
            store.ping().await,
        ] {
            let err = result.expect_err("Redis is down");
            assert_eq!(err.kind(), ErrorKind::StoreUnavailable, "{err:?}");
        }
        assert!(started.elapsed() < Duration::from_secs(12));
        let err = a.auth.refresh(&pair.refresh_token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
    }

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match get_me(&b.app, &pair.access_token).await {
            (StatusCode::OK, _) => break,
            (StatusCode::SERVICE_UNAVAILABLE, _) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("service did not resume after Redis came back: {other:?}"),
        }
    }
    // Both instances and the direct store work again, and share revocations again.
    let claims = a.auth.verify_access(&pair.access_token).await.unwrap();
    a.auth.revoke_token(&claims).await.unwrap();
    assert_eq!(
        get_me(&b.app, &pair.access_token).await,
        (StatusCode::UNAUTHORIZED, Some("RevokedTokenError".into()))
    );
    store.ping().await.unwrap();
    assert!(store.mark_spent("after", u64::MAX).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_can_start_before_redis() {
    let Some(mut server) = RedisServer::start(GROUP) else {
        return;
    };
    server.stop();

    let started = Instant::now();
    let err = RedisRevocationStore::connect(&server.url(), RedisOptions::default())
        .await
        .expect_err("nothing listens");
    assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
    assert!(started.elapsed() < Duration::from_millis(2500));

    let store = RedisRevocationStore::connect_lazy(&server.url(), RedisOptions::default()).unwrap();
    let err = store
        .mark_spent("x", u64::MAX)
        .await
        .expect_err("still down");
    assert_eq!(err.kind(), ErrorKind::StoreUnavailable);

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.ping().await.is_err() {
        assert!(Instant::now() < deadline, "the lazy store never connected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(store.mark_spent("x", u64::MAX).await.unwrap());

    let err = RedisRevocationStore::connect_lazy("not a url", RedisOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigurationError);
}

/// A Redis that hangs (SIGSTOP: connections open, no answers) costs each call at most the
/// configured timeout, never minutes; once it answers again, so does the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hung_redis_times_out_quickly_then_recovers() {
    let Some(server) = RedisServer::start(GROUP) else {
        return;
    };
    let (a, user) = instance(&server.url()).await;
    let store = RedisRevocationStore::connect(&server.url(), RedisOptions::default())
        .await
        .unwrap();
    let pair = a.auth.issue_pair(&user).await.unwrap();
    assert_eq!(get_me(&a.app, &pair.access_token).await.0, StatusCode::OK);

    server.pause();
    for round in 0..2 {
        let started = Instant::now();
        assert_eq!(
            get_me(&a.app, &pair.access_token).await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Some("StoreUnavailable".into())
            ),
            "round {round}"
        );
        let elapsed = started.elapsed();
        eprintln!("redis hung, round {round}: 503 after {elapsed:?}");
        assert!(
            elapsed < Duration::from_millis(2500),
            "a hung Redis answers within the timeout: {elapsed:?}"
        );
        let started = Instant::now();
        let err = store.mark_spent("s", u64::MAX).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::StoreUnavailable, "{err:?}");
        assert!(started.elapsed() < Duration::from_millis(2500));
    }

    server.resume();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match get_me(&a.app, &pair.access_token).await {
            (StatusCode::OK, _) => break,
            (StatusCode::SERVICE_UNAVAILABLE, _) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("service did not resume after Redis thawed: {other:?}"),
        }
    }
    store.ping().await.unwrap();
}
