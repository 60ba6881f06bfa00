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
use centurion::{
    Centurion, Claims, ClientInfo, ErrorKind, NewUser, RevocationStore, SessionLimits, TokenRef,
    UserStore,
};
use centurion_testkit::contracts::StoreTime;
use centurion_testkit::{RedisServer, now_ms};
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
async fn redis_session_semantics() {
    let Some(server) = RedisServer::start(GROUP) else {
        return;
    };
    let store = RedisRevocationStore::connect(&server.url(), RedisOptions::default())
        .await
        .unwrap();
    centurion_testkit::contracts::session_semantics(Arc::new(store), "redis", &StoreTime::Real)
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
    a.create_session(
        &centurion_testkit::contracts::session("f1", "7", now_ms(), now + 200),
        &SessionLimits::default(),
    )
    .await
    .unwrap();
    a.revoke_user("7", 1_700_000_000_123, now + 300)
        .await
        .unwrap();
    a.create_session(
        &centurion_testkit::contracts::session("f2", "8", now_ms(), now + 200),
        &SessionLimits::default(),
    )
    .await
    .unwrap();
    a.end_sessions_of("8", Some("f2"), 1_700_000_000_456, now + 300)
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
        [
            "a:live-sessions",
            "a:session:f2",
            "a:sessions:8",
            "a:snb:8",
            "a:spent:s1",
            "a:token:j1",
            "a:user:7"
        ],
        "the user's revocation deleted its session f1 and its index"
    );
    for (key, lifetime) in [
        ("a:token:j1", 100),
        ("a:session:f2", 200),
        ("a:sessions:8", 200),
        ("a:user:7", 300),
        ("a:snb:8", 300),
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
        family: None,
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
    store
        .create_session(
            &centurion_testkit::contracts::session("f", "9", now_ms(), now_ms() / 1000 + 60),
            &SessionLimits::default(),
        )
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
    let mut calls: Vec<_> = command_calls(&info)
        .into_iter()
        .filter(|(name, _)| !name.starts_with("config") && !name.starts_with("info"))
        .collect();
    calls.sort();
    assert_eq!(
        calls,
        [("hmget".to_owned(), 2), ("mget".to_owned(), 2)],
        "two checks of a session's token, two pipelines of MGET + HMGET:\n{info}"
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

    // Refresh rotation across instances: spent on B, within the grace window replayed by
    // the same client on A, reused by another client on A: the session dies on both.
    let firefox = ClientInfo::new(Some("Firefox"), None);
    let curl = ClientInfo::new(Some("curl"), None);
    let pair = b.auth.issue_pair_from(&user, &firefox).await.unwrap();
    let next = b
        .auth
        .refresh_from(&pair.refresh_token, &firefox)
        .await
        .unwrap();
    let again = a
        .auth
        .refresh_from(&pair.refresh_token, &firefox)
        .await
        .unwrap();
    assert_eq!(again, next, "the same pair, from the other instance");
    let err = a
        .auth
        .refresh_from(&pair.refresh_token, &curl)
        .await
        .unwrap_err();
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
    // Sessions live in Redis, and this one has no persistence: after the restart below,
    // the pair's session is gone (its tokens are refused: fail closed). A service token
    // has no session and shows that service resumes.
    let service = a.auth.issue_service_token(&user, None).unwrap();

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
            store.end_session("f").await.map(drop),
            store.sessions("1").await.map(drop),
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
        match get_me(&b.app, &service).await {
            (StatusCode::OK, _) => break,
            (StatusCode::SERVICE_UNAVAILABLE, _) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("service did not resume after Redis came back: {other:?}"),
        }
    }
    assert_eq!(
        get_me(&b.app, &pair.access_token).await,
        (StatusCode::UNAUTHORIZED, Some("RevokedTokenError".into())),
        "the session was lost with Redis's data: refused, not accepted"
    );
    // Both instances and the direct store work again, and share revocations again.
    let claims = a.auth.verify_access(&service).await.unwrap();
    a.auth.revoke_token(&claims).await.unwrap();
    assert_eq!(
        get_me(&b.app, &service).await,
        (StatusCode::UNAUTHORIZED, Some("RevokedTokenError".into()))
    );
    let pair = a.auth.issue_pair(&user).await.unwrap();
    assert_eq!(get_me(&b.app, &pair.access_token).await.0, StatusCode::OK);
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

/// After a Redis restart, the first call on the pooled connection finds it dropped and is
/// made once more on a new one: no 503 (issue 20.6; before, the first request after a
/// restart answered 503 even after quiet seconds).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_first_call_after_a_redis_restart_succeeds() {
    let Some(mut server) = RedisServer::start(GROUP) else {
        return;
    };
    let (a, user) = instance(&server.url()).await;
    let store = RedisRevocationStore::connect(&server.url(), RedisOptions::default())
        .await
        .unwrap();
    let service = a.auth.issue_service_token(&user, None).unwrap();
    assert_eq!(get_me(&a.app, &service).await.0, StatusCode::OK);
    store.revoke_token("before", u64::MAX / 2).await.unwrap();
    for round in 0..3 {
        server.stop();
        server.restart();
        // Quiet seconds change nothing: the connection is dead until a call finds out.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            get_me(&a.app, &service).await,
            (StatusCode::OK, None),
            "round {round}: the first request after the restart"
        );
        store
            .revoke_token(&format!("after-{round}"), u64::MAX / 2)
            .await
            .unwrap_or_else(|e| panic!("round {round}: the first direct call: {e:?}"));
    }
}

/// `INFO stats`' `evicted_keys`.
async fn evicted_keys(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("evicted_keys:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

/// Writes throttle-like keys (with a TTL, under the throttle's prefix) until Redis refuses
/// a write or `limit` bytes went in; whether it refused.
async fn flood(conn: &mut redis::aio::MultiplexedConnection, limit: usize) -> bool {
    let value = "x".repeat(200);
    let mut written = 0;
    let mut n = 0u64;
    while written < limit {
        let mut pipe = redis::pipe();
        for _ in 0..500 {
            n += 1;
            pipe.cmd("SET")
                .arg(format!("centurion:{{throttle}}:ip:198.51.{n}"))
                .arg(&value)
                .arg("PX")
                .arg(600_000)
                .ignore();
        }
        if let Err(e) = pipe.exec_async(conn).await {
            assert!(e.to_string().contains("OOM"), "{e}");
            return true;
        }
        written += 500 * 240;
    }
    false
}

/// The audit's reproduction (issue 20.4): under `maxmemory` with an evicting policy, a
/// throttle flood evicts revocations and revoked tokens become valid again. Such a Redis
/// is now refused at connection (before the fix it was accepted), unless the application
/// says it accepts the risk.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_evicting_redis_is_refused_unless_allowed() {
    for policy in [
        "volatile-lru",
        "allkeys-lru",
        "volatile-ttl",
        "allkeys-random",
    ] {
        let args = ["--maxmemory", "10mb", "--maxmemory-policy", policy];
        let Some(server) = RedisServer::start_with_args(GROUP, &args) else {
            return;
        };
        let err = RedisRevocationStore::connect(&server.url(), RedisOptions::default())
            .await
            .expect_err(policy);
        assert_eq!(
            err.kind(),
            ErrorKind::ConfigurationError,
            "{policy}: {err:?}"
        );
        assert!(err.message().contains("noeviction"), "{err:?}");
        // Built lazily, it refuses at its first call, with 503, and keeps refusing.
        let lazy =
            RedisRevocationStore::connect_lazy(&server.url(), RedisOptions::default()).unwrap();
        for _ in 0..2 {
            let err = lazy.revoke_token("j", u64::MAX / 2).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::StoreUnavailable, "{policy}");
        }
        let allowed = RedisRevocationStore::connect(
            &server.url(),
            RedisOptions::default().allow_eviction(true),
        )
        .await
        .unwrap();
        allowed.revoke_token("j", u64::MAX / 2).await.unwrap();
    }
    // What the refusal prevents: accepted anyway, a flood evicts revocations.
    let args = ["--maxmemory", "10mb", "--maxmemory-policy", "volatile-lru"];
    let Some(server) = RedisServer::start_with_args(GROUP, &args) else {
        return;
    };
    let store =
        RedisRevocationStore::connect(&server.url(), RedisOptions::default().allow_eviction(true))
            .await
            .unwrap();
    let far = centurion_testkit::now_secs() + 3600;
    for i in 0..100 {
        store
            .revoke_token(&format!("revoked-{i}"), far)
            .await
            .unwrap();
    }
    let mut conn = raw(&server).await;
    assert!(
        !flood(&mut conn, 40 << 20).await,
        "an evicting Redis takes every write"
    );
    assert!(evicted_keys(&mut conn).await > 0);
    let mut still_revoked = 0;
    for i in 0..100 {
        let token = TokenRef {
            jti: &format!("revoked-{i}"),
            family: None,
            subject: "1",
            issued_at_ms: 0,
        };
        still_revoked += usize::from(store.is_revoked(&token).await.unwrap());
    }
    assert!(
        still_revoked < 100,
        "the flood evicted revocations: {still_revoked} left"
    );

    // Accepted: no limit, or no eviction.
    for args in [
        &["--maxmemory", "0", "--maxmemory-policy", "volatile-lru"][..],
        &["--maxmemory", "10mb", "--maxmemory-policy", "noeviction"][..],
    ] {
        let Some(server) = RedisServer::start_with_args(GROUP, args) else {
            return;
        };
        RedisRevocationStore::connect(&server.url(), RedisOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{args:?}: {e:?}"));
    }
}

/// A Redis that does not allow `CONFIG GET` (a managed Redis, `CONFIG` renamed or denied by
/// an ACL) cannot be checked: it is accepted, with a warning naming what to check, and
/// works.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_that_hides_its_config_is_accepted() {
    let args = ["--rename-command", "CONFIG", ""];
    let Some(server) = RedisServer::start_with_args(GROUP, &args) else {
        return;
    };
    let store = RedisRevocationStore::connect(&server.url(), RedisOptions::default())
        .await
        .unwrap();
    let far = centurion_testkit::now_secs() + 3600;
    store.revoke_token("hidden-config", far).await.unwrap();
    let token = TokenRef {
        jti: "hidden-config",
        family: None,
        subject: "1",
        issued_at_ms: 0,
    };
    assert!(store.is_revoked(&token).await.unwrap());
}

/// With `noeviction`, a throttle flood that fills Redis makes writes fail (503), never
/// evicts: a logged-out session, a revoked token and a revoked user stay refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_throttle_flood_under_noeviction_fails_closed() {
    let args = ["--maxmemory", "10mb", "--maxmemory-policy", "noeviction"];
    let Some(server) = RedisServer::start_with_args(GROUP, &args) else {
        return;
    };
    let (a, user) = instance(&server.url()).await;
    let logged_out = a.auth.issue_pair(&user).await.unwrap();
    let claims = a
        .auth
        .verify_access(&logged_out.access_token)
        .await
        .unwrap();
    a.auth.logout(&claims, None).await.unwrap();
    let service = a.auth.issue_service_token(&user, None).unwrap();
    let service_claims = a.auth.verify_access(&service).await.unwrap();
    a.auth.revoke_token(&service_claims).await.unwrap();

    let mut conn = raw(&server).await;
    assert!(
        flood(&mut conn, 40 << 20).await,
        "a full Redis refuses writes"
    );
    assert_eq!(evicted_keys(&mut conn).await, 0, "nothing was evicted");

    for token in [&logged_out.access_token, &service] {
        assert_eq!(
            get_me(&a.app, token).await,
            (StatusCode::UNAUTHORIZED, Some("RevokedTokenError".into()))
        );
    }
    // Writes that grow fail closed: no new session while Redis is full…
    let err = a.auth.issue_pair(&user).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StoreUnavailable, "{err:?}");
    // …but revocations are still recorded: a password change cuts the user's tokens off.
    let old = a.auth.issue_service_token(&user, None).unwrap();
    assert_eq!(get_me(&a.app, &old).await.0, StatusCode::OK);
    a.auth.revoke_user(&user.id.to_string()).await.unwrap();
    assert_eq!(
        get_me(&a.app, &old).await,
        (StatusCode::UNAUTHORIZED, Some("RevokedTokenError".into()))
    );
    let another = a.auth.issue_service_token(&user, None).unwrap();
    let another = a.auth.verify_access(&another).await.unwrap();
    a.auth.revoke_token(&another).await.unwrap();
}

/// Refresh does not accumulate (issue 20.1): many refreshes of one session (10 000, or
/// `CENTURION_GROWTH_REFRESHES`; 100 000 for the figure in SECURITY.md) leave
/// Redis's key count as it was after the first (before: one key per refresh, each with a
/// 30-day TTL). Prints the figure:
/// `cargo test -p centurion --all-features --test redis_store refreshes -- --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_refreshes_leave_the_key_count_unchanged() {
    let Some(server) = RedisServer::start(GROUP) else {
        return;
    };
    let (a, user) = instance(&server.url()).await;
    let mut conn = raw(&server).await;
    let keys = |conn: &mut redis::aio::MultiplexedConnection| {
        let mut conn = conn.clone();
        async move {
            redis::cmd("DBSIZE")
                .query_async::<u64>(&mut conn)
                .await
                .unwrap()
        }
    };
    let mut pair = a.auth.issue_pair(&user).await.unwrap();
    pair = a.auth.refresh(&pair.refresh_token).await.unwrap();
    let before = keys(&mut conn).await;
    let started = Instant::now();
    let n = centurion_testkit::growth_refreshes();
    for _ in 1..n {
        pair = a.auth.refresh(&pair.refresh_token).await.unwrap();
    }
    let after = keys(&mut conn).await;
    eprintln!(
        "redis: {n} refreshes of one session in {:?}: keys {before} -> {after}",
        started.elapsed()
    );
    assert_eq!(after, before);
    a.auth.verify_access(&pair.access_token).await.unwrap();
}
