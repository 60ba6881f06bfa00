//! Login throttling: per account and per client address, exponential back-off, 429 with
//! `Retry-After`, locks that expire by themselves, `X-Forwarded-For` only from trusted
//! proxies, and (feature `redis`) counters shared by two instances through a real
//! `redis-server` on 127.0.0.1 that the test starts and stops.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::routing::post;
use axum::{Extension, Json, Router};
use centurion::clock::ManualClock;
use centurion::http::{ClientAddr, TrustedProxies};
use centurion::throttle::{Backoff, MemoryThrottleStore, Throttle, ThrottleConfig, ThrottleKeys};
use centurion::{Centurion, Error, ErrorKind, TokenPair, testing::TestUser};
use http::{Request, StatusCode};
use serde::Deserialize;
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery staple";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

async fn auth_with_users(names: &[&str]) -> Centurion<TestUser> {
    let auth = centurion_testkit::auth();
    for name in names {
        let (_, token) = auth
            .register(name, None, PASSWORD, &[])
            .await
            .unwrap()
            .created()
            .expect("a new user");
        auth.confirm_registration(&token).await.unwrap();
    }
    auth
}

fn config(account: Backoff, address: Backoff) -> ThrottleConfig {
    let mut config = ThrottleConfig::default();
    config.account = account;
    config.address = address;
    config
}

/// A policy that never locks within a test.
fn lenient() -> Backoff {
    Backoff::new(1000, ms(1), ms(1))
}

#[derive(Clone)]
struct App {
    auth: Centurion<TestUser>,
    throttle: Throttle,
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

async fn login(
    State(app): State<App>,
    client: ClientAddr,
    Json(body): Json<Login>,
) -> Result<Json<TokenPair>, Error> {
    app.throttle
        .login(&app.auth, Some(client.ip()), &body.username, &body.password)
        .await
        .map(Json)
}

fn router(app: App, trusted: TrustedProxies) -> Router {
    Router::new()
        .route("/auth/login", post(login))
        .layer(Extension(trusted))
        .with_state(app)
}

struct Answer {
    status: StatusCode,
    retry_after: Option<u64>,
    body: serde_json::Value,
}

async fn post_login(
    router: &Router,
    peer: &str,
    forwarded_for: Option<&str>,
    username: &str,
    password: &str,
) -> Answer {
    let mut request = Request::post("/auth/login").header("content-type", "application/json");
    if let Some(xff) = forwarded_for {
        request = request.header("x-forwarded-for", xff);
    }
    let mut request = request
        .body(Body::from(
            serde_json::json!({"username": username, "password": password}).to_string(),
        ))
        .unwrap();
    let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Answer {
        status,
        retry_after,
        body,
    }
}

#[tokio::test]
async fn failures_lead_to_429_with_retry_after_and_the_lock_expires_by_itself() {
    let auth = auth_with_users(&["ada"]).await;
    let clock = ManualClock::new();
    let throttle = Throttle::new(
        MemoryThrottleStore::new().with_clock(clock.clone()),
        config(Backoff::new(3, ms(400), ms(2000)), lenient()),
    )
    .unwrap();
    let app = router(App { auth, throttle }, TrustedProxies::none());

    // Three free failures, then the fourth locks.
    for _ in 0..4 {
        let a = post_login(&app, "192.0.2.10", None, "ada", "wrong password").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(a.body["error"], "AuthenticationError");
    }
    let a = post_login(&app, "192.0.2.10", None, "ada", "wrong password").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.body["error"], "TooManyRequests");
    assert_eq!(a.body["status_code"], 429);
    assert_eq!(a.retry_after, Some(1), "400 ms rounds up to 1 s");

    // The right password does not get through the lock, from anywhere.
    let a = post_login(&app, "192.0.2.10", None, "ada", PASSWORD).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    let a = post_login(&app, "198.51.100.77", None, "ada", PASSWORD).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);

    // The lock ends by itself; a success resets the account's count.
    clock.advance(ms(450));
    let a = post_login(&app, "192.0.2.10", None, "ada", PASSWORD).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["token_type"], "Bearer");
    for _ in 0..4 {
        let a = post_login(&app, "192.0.2.10", None, "ada", "wrong password").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let a = post_login(&app, "192.0.2.10", None, "ada", PASSWORD).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn back_off_doubles_up_to_the_cap() {
    let clock = ManualClock::new();
    let throttle = Throttle::new(
        MemoryThrottleStore::new().with_clock(clock.clone()),
        config(Backoff::new(1, ms(100), ms(400)), lenient()),
    )
    .unwrap();
    let keys = ThrottleKeys::new().account("ada");
    let mut seen = Vec::new();
    throttle.check(&keys).await.unwrap();
    throttle.record_failure(&keys).await.unwrap(); // free
    throttle.check(&keys).await.unwrap();
    for _ in 0..4 {
        throttle.record_failure(&keys).await.unwrap();
        let err = throttle.check(&keys).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooManyRequests);
        let wait = err.retry_after().unwrap();
        seen.push(wait);
        clock.advance(wait + ms(20));
        throttle.check(&keys).await.unwrap();
    }
    let expected = [100, 200, 400, 400];
    for (wait, want) in seen.iter().zip(expected) {
        assert!(
            *wait <= ms(want) && *wait > ms(want) - ms(60),
            "{seen:?} vs {expected:?}"
        );
    }
}

#[tokio::test]
async fn per_address_counting_spans_accounts() {
    let auth = auth_with_users(&["ada", "bob"]).await;
    let throttle =
        Throttle::in_memory(config(lenient(), Backoff::new(2, ms(5000), ms(5000)))).unwrap();
    let app = router(App { auth, throttle }, TrustedProxies::none());

    // One address guessing at three different accounts: the third failure locks it.
    for name in ["carol", "dave", "erin"] {
        let a = post_login(&app, "203.0.113.5", None, name, "guess").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let a = post_login(&app, "203.0.113.5", None, "ada", PASSWORD).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.retry_after, Some(5));
    // Other addresses, and the accounts themselves, are not affected.
    let a = post_login(&app, "203.0.113.6", None, "ada", PASSWORD).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = post_login(&app, "203.0.113.6", None, "carol", "guess").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // One IPv6 host holds a whole /64: it is counted as one address.
    for i in 1..=3 {
        let peer = format!("[2001:db8:5:5::{i}]");
        let a = post_login(&app, &peer, None, "zed", "guess").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let a = post_login(&app, "[2001:db8:5:5::99]", None, "bob", PASSWORD).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    let a = post_login(&app, "[2001:db8:5:6::1]", None, "bob", PASSWORD).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn x_forwarded_for_is_ignored_unless_the_proxy_is_trusted() {
    let policy = || config(lenient(), Backoff::new(2, ms(5000), ms(5000)));
    let auth = auth_with_users(&["ada"]).await;

    // Untrusted peer: a forged header does not spread the count over many addresses.
    let untrusted = router(
        App {
            auth: auth.clone(),
            throttle: Throttle::in_memory(policy()).unwrap(),
        },
        TrustedProxies::none(),
    );
    for i in 0..3 {
        let xff = format!("198.51.100.{i}");
        let a = post_login(&untrusted, "192.0.2.1", Some(&xff), "x", "guess").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let a = post_login(
        &untrusted,
        "192.0.2.1",
        Some("198.51.100.200"),
        "ada",
        PASSWORD,
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::TOO_MANY_REQUESTS,
        "counted under the peer"
    );

    // Behind a trusted proxy: each client is counted under its own address.
    let trusted = router(
        App {
            auth: auth.clone(),
            throttle: Throttle::in_memory(policy()).unwrap(),
        },
        TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap(),
    );
    for i in 0..3 {
        let xff = format!("198.51.100.{i}");
        let a = post_login(&trusted, "127.0.0.1", Some(&xff), "x", "guess").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let a = post_login(
        &trusted,
        "127.0.0.1",
        Some("198.51.100.200"),
        "ada",
        PASSWORD,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    // One client failing three times is locked, whatever it writes left of the proxy's hop.
    for forged in ["1.1.1.1", "2.2.2.2", "3.3.3.3"] {
        let xff = format!("{forged}, 203.0.113.9, 10.0.0.7");
        let a = post_login(&trusted, "127.0.0.1", Some(&xff), "y", "guess").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    let a = post_login(
        &trusted,
        "127.0.0.1",
        Some("4.4.4.4, 203.0.113.9"),
        "ada",
        PASSWORD,
    )
    .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn client_addr_needs_connect_info() {
    let auth = auth_with_users(&[]).await;
    let app = router(
        App {
            auth,
            throttle: Throttle::in_memory(ThrottleConfig::default()).unwrap(),
        },
        TrustedProxies::none(),
    );
    let request = Request::post("/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"username":"a","password":"b"}"#))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn concurrent_attempts_cannot_burst_through_a_back_off() {
    let throttle =
        Throttle::in_memory(config(Backoff::new(2, ms(300), ms(300)), lenient())).unwrap();
    let keys = ThrottleKeys::new().account("ada");
    for _ in 0..2 {
        throttle.check(&keys).await.unwrap();
        throttle.record_failure(&keys).await.unwrap();
    }
    // In back-off: of ten concurrent checks, one goes through.
    let results = futures_join(&throttle, &keys, 10).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    // Its success releases the account at once.
    throttle.record_success(&keys).await.unwrap();
    throttle.check(&keys).await.unwrap();
}

async fn futures_join(
    throttle: &Throttle,
    keys: &ThrottleKeys,
    n: usize,
) -> Vec<Result<(), Error>> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (t, k) = (throttle.clone(), keys.clone());
        tasks.push(tokio::spawn(async move { t.check(&k).await }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_right_password_of_an_inactive_user_is_not_a_failure() {
    let auth = auth_with_users(&[]).await;
    auth.register("ina", None, PASSWORD, &[]).await.unwrap(); // never confirmed
    let throttle =
        Throttle::in_memory(config(Backoff::new(1, ms(5000), ms(5000)), lenient())).unwrap();
    let client: Option<IpAddr> = Some("192.0.2.50".parse().unwrap());
    // The right password of an inactive user is 403 and is not a failure.
    for _ in 0..3 {
        let err = throttle
            .authenticate(&auth, client, "ina", PASSWORD)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidUserError);
    }
    for _ in 0..2 {
        let err = throttle
            .authenticate(&auth, client, "ina", "wrong")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AuthenticationError);
    }
    let err = throttle
        .authenticate(&auth, client, "ina", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooManyRequests);
}

#[test]
fn bad_configurations_are_refused() {
    let zero = config(Backoff::new(1, Duration::ZERO, ms(1)), lenient());
    assert_eq!(
        Throttle::in_memory(zero).unwrap_err().kind(),
        ErrorKind::ConfigurationError
    );
    let inverted = config(Backoff::new(1, ms(10), ms(1)), lenient());
    assert!(Throttle::in_memory(inverted).is_err());
    let mut c = ThrottleConfig::default();
    c.ipv6_prefix = 129;
    assert!(Throttle::in_memory(c).is_err());
}

// ---------------------------------------------------------------------------------------
// Normal form, what a success clears, what costs nothing (issues 12.2 and 20.4)
// ---------------------------------------------------------------------------------------

/// `Alice`, `ALICE` and `ａｌｉｃｅ` are one account to the stores, so one counter to the
/// throttle (regression: the throttle lower-cased, the stores compared exactly, and a
/// look-alike's success reset the victim's count); a long name is hashed, never
/// truncated into another's counter.
#[tokio::test]
async fn names_in_one_normal_form_count_as_one_account() {
    let throttle =
        Throttle::in_memory(config(Backoff::new(2, ms(60_000), ms(60_000)), lenient())).unwrap();
    for typed in ["Alice", "ALICE", "ａｌｉｃｅ"] {
        let keys = ThrottleKeys::new().account(typed);
        throttle.check(&keys).await.unwrap();
        throttle.record_failure(&keys).await.unwrap();
    }
    for typed in ["alice", "al\u{200B}ice", "ＡＬＩＣＥ"] {
        let err = throttle
            .check(&ThrottleKeys::new().account(typed))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooManyRequests, "{typed}");
    }
    let long = "x".repeat(300);
    let sibling = format!("{}y", &long[..299]);
    for _ in 0..3 {
        throttle
            .record_failure(&ThrottleKeys::new().account(&long))
            .await
            .unwrap();
    }
    assert!(
        throttle
            .check(&ThrottleKeys::new().account(&long))
            .await
            .is_err()
    );
    throttle
        .check(&ThrottleKeys::new().account(&sibling))
        .await
        .expect("a name sharing the first 256 bytes is another account");
}

/// A store that lets users log in under an alias (as an application's store may: a login
/// by e-mail, a former name). The alias `alice` belongs to bob.
struct AliasStore(centurion::memory::MemoryUserStore<TestUser>);

impl centurion::UserStore<TestUser> for AliasStore {
    async fn lookup(&self, key: &str) -> centurion::Result<Option<TestUser>> {
        let key = if key == "alice" { "bob" } else { key };
        self.0.lookup(key).await
    }
    async fn identify(&self, id: &str) -> centurion::Result<Option<TestUser>> {
        self.0.identify(id).await
    }
    async fn update_password_hash(&self, id: &str, hash: &str) -> centurion::Result<()> {
        self.0.update_password_hash(id, hash).await
    }
    async fn create(&self, user: centurion::NewUser) -> centurion::Result<TestUser> {
        self.0.create(user).await
    }
}

/// A success resets the counter of the account that logged in (its stored username),
/// never the counter of the name as typed: through a store that matches loosely, a
/// login as bob typed as `alice` leaves alice's back-off in place (regression: the typed
/// name's counter was reset, giving an attacker fresh guesses at alice).
#[tokio::test]
async fn a_success_clears_only_the_account_that_logged_in() {
    let users = centurion::memory::MemoryUserStore::<TestUser>::new();
    let clock = ManualClock::new();
    let auth = Centurion::<TestUser>::builder()
        .secret(centurion_testkit::TEST_SECRET)
        .password(centurion_testkit::cheap_passwords())
        .user_store(AliasStore(users))
        .build()
        .unwrap();
    // Bob exists; the alias store resolves "alice" to him.
    auth.create_user("bob", None, PASSWORD, &[]).await.unwrap();
    let throttle = Throttle::new(
        MemoryThrottleStore::new().with_clock(clock.clone()),
        config(Backoff::new(3, ms(1000), ms(60_000)), lenient()),
    )
    .unwrap();
    let alice = ThrottleKeys::new().account("alice");
    for _ in 0..4 {
        throttle.record_failure(&alice).await.unwrap();
    }
    clock.advance(ms(1001)); // the lock ended; alice is in back-off (4 failures)
    let bob = throttle
        .authenticate(&auth, None, "alice", PASSWORD)
        .await
        .unwrap();
    assert_eq!(bob.username, "bob");
    // One more failure at alice locks for two steps: the count was not reset.
    throttle.record_failure(&alice).await.unwrap();
    let wait = throttle
        .check(&alice)
        .await
        .unwrap_err()
        .retry_after()
        .unwrap();
    assert_eq!(wait, ms(2000), "alice's count went on (5 failures)");
}

/// A password over the length limit costs nothing and must create nothing: it is refused
/// before the throttle is asked (regression: each created an entry, so a flood of them
/// filled the store for free).
#[tokio::test]
async fn an_overlong_password_creates_no_throttle_entry() {
    let auth = auth_with_users(&["ada"]).await;
    let store = std::sync::Arc::new(MemoryThrottleStore::new());
    let throttle = Throttle::new(store.clone(), ThrottleConfig::default()).unwrap();
    let long = "x".repeat(2000);
    let client: Option<IpAddr> = Some("192.0.2.77".parse().unwrap());
    for name in ["ada", "nobody", "someone-else"] {
        let err = throttle
            .authenticate(&auth, client, name, &long)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AuthenticationError);
    }
    assert_eq!(store.len(), 0, "nothing counted, nothing stored");
    let err = throttle
        .check_password(
            &auth,
            client,
            &auth.lookup_by_username("ada").await.unwrap().unwrap(),
            &long,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationError);
    assert_eq!(store.len(), 0);
}

// ---------------------------------------------------------------------------------------
// Memory pressure never frees a lock (issue 20.4)
// ---------------------------------------------------------------------------------------

/// The audit's reproduction: a victim's account is locked, then 200 000 cheap failures
/// under fresh names from 10 000 addresses fill the store (capacity 100 000). The lock
/// survives; the store stays within its capacity (regression: the full store dropped the
/// entries closest to expiry, locks first, and the victim's lock was gone).
#[tokio::test]
async fn a_flood_of_cheap_failures_never_erases_a_locked_account() {
    let clock = ManualClock::new();
    let store = std::sync::Arc::new(MemoryThrottleStore::new().with_clock(clock.clone()));
    let throttle = Throttle::new(store.clone(), ThrottleConfig::default()).unwrap();
    let victim = ThrottleKeys::new().account("victim");
    for _ in 0..9 {
        throttle.record_failure(&victim).await.unwrap();
    }
    let locked_for = throttle
        .check(&victim)
        .await
        .unwrap_err()
        .retry_after()
        .unwrap();
    assert_eq!(locked_for, Duration::from_secs(8));
    let mut refused = 0;
    for i in 0u32..200_000 {
        let address: IpAddr = format!("10.{}.{}.1", (i % 10_000) / 100, i % 100)
            .parse()
            .unwrap();
        let keys = ThrottleKeys::login(&format!("user{i}"), Some(address));
        match throttle.record_failure(&keys).await {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Overloaded, "{e:?}");
                refused += 1;
            }
        }
        if i % 1000 == 0 {
            // Time moves a little, so the flood's entries outlive the victim's on paper.
            clock.advance(ms(1));
        }
        assert!(store.len() <= 100_000);
    }
    let err = throttle.check(&victim).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::TooManyRequests,
        "the victim is still locked"
    );
    eprintln!(
        "after 200 000 failures from 10 000 addresses: victim locked for {:?} more; {} entries; {} failures refused",
        err.retry_after().unwrap(),
        store.len(),
        refused
    );
}

/// Full of locks, the store fails closed for new keys (503, before any password is
/// checked) and keeps serving the keys it holds; room comes back as locks expire.
#[tokio::test]
async fn a_store_full_of_locks_refuses_new_keys_and_keeps_the_old_ones() {
    let clock = ManualClock::new();
    let store = MemoryThrottleStore::with_capacity(10).with_clock(clock.clone());
    let policy = Backoff::new(0, ms(60_000), ms(60_000)).forget_after(ms(60_000));
    let throttle = Throttle::new(store, config(policy, lenient())).unwrap();
    for i in 0..10 {
        throttle
            .record_failure(&ThrottleKeys::new().account(&format!("locked{i}")))
            .await
            .unwrap();
    }
    let err = throttle
        .check(&ThrottleKeys::new().account("newcomer"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Overloaded);
    assert_eq!(err.status().as_u16(), 503);
    assert!(err.retry_after().is_some());
    let err = throttle
        .check(&ThrottleKeys::new().account("locked3"))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::TooManyRequests,
        "held keys still answer"
    );
    clock.advance(ms(60_001));
    throttle
        .check(&ThrottleKeys::new().account("newcomer"))
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------
// Anonymous requests per client address, reset mails per account (issue 20.3)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn registrations_and_reset_requests_are_limited_per_address() {
    let clock = ManualClock::new();
    let throttle = Throttle::new(
        MemoryThrottleStore::new().with_clock(clock.clone()),
        ThrottleConfig::default(),
    )
    .unwrap();
    let a: Option<IpAddr> = Some("198.51.100.1".parse().unwrap());
    let b: Option<IpAddr> = Some("198.51.100.2".parse().unwrap());
    for _ in 0..30 {
        throttle.registration(a).await.unwrap();
    }
    let err = throttle.registration(a).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooManyRequests);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
    throttle.registration(b).await.expect("another address");
    throttle
        .registration(None)
        .await
        .expect("no address, no count");
    for _ in 0..10 {
        throttle.reset_request(a).await.unwrap();
    }
    assert!(throttle.reset_request(a).await.is_err());
    clock.advance(Duration::from_secs(60));
    throttle.registration(a).await.expect("a new window");
    throttle.reset_request(a).await.expect("a new window");
}

#[tokio::test]
async fn one_reset_mail_per_account_per_window() {
    let clock = ManualClock::new();
    let throttle = Throttle::new(
        MemoryThrottleStore::new().with_clock(clock.clone()),
        ThrottleConfig::default(),
    )
    .unwrap();
    assert!(throttle.reset_mail("7").await.unwrap());
    for _ in 0..100 {
        assert!(!throttle.reset_mail("7").await.unwrap());
    }
    assert!(throttle.reset_mail("8").await.unwrap(), "another account");
    clock.advance(Duration::from_secs(5 * 60));
    assert!(throttle.reset_mail("7").await.unwrap());
}

#[cfg(feature = "redis")]
mod redis_shared {
    use std::time::{Duration, Instant};

    use centurion::ErrorKind;
    use centurion::redis::RedisOptions;
    use centurion::throttle::{Backoff, RedisThrottleStore, Throttle, ThrottleKeys};

    use centurion_testkit::{RedisServer, free_port};

    use super::{config, lenient, ms};

    const GROUP: &str = "throttle (Redis)";

    fn start_or_skip() -> Option<RedisServer> {
        RedisServer::start(GROUP)
    }

    #[tokio::test]
    async fn two_instances_count_together_and_locks_expire() {
        let Some(server) = start_or_skip() else {
            return;
        };
        let policy = || config(Backoff::new(2, ms(400), ms(800)), lenient());
        let store = || async {
            RedisThrottleStore::connect(&server.url(), RedisOptions::default())
                .await
                .unwrap()
        };
        let a = Throttle::new(store().await, policy()).unwrap();
        let b = Throttle::new(store().await, policy()).unwrap();
        let keys = ThrottleKeys::login("Ada", Some("192.0.2.7".parse().unwrap()));

        a.check(&keys).await.unwrap();
        a.record_failure(&keys).await.unwrap();
        b.check(&keys).await.unwrap();
        b.record_failure(&keys).await.unwrap();
        // The third failure, through either instance, locks for both.
        a.check(&keys).await.unwrap();
        a.record_failure(&keys).await.unwrap();
        for t in [&a, &b] {
            let err = t.check(&keys).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::TooManyRequests);
            let wait = err.retry_after().unwrap();
            assert!(wait <= ms(400) && wait > ms(200), "{wait:?}");
        }
        // The username is compared case-insensitively.
        let err = b
            .check(&ThrottleKeys::new().account("ada"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooManyRequests);

        // Concurrent attempts after the lock: one through, across instances.
        tokio::time::sleep(ms(450)).await;
        let (ra, rb) = tokio::join!(a.check(&keys), b.check(&keys));
        assert!(ra.is_ok() != rb.is_ok(), "{ra:?} {rb:?}");
        b.record_failure(&keys).await.unwrap(); // locks 800 ms now
        let wait = a.check(&keys).await.unwrap_err().retry_after().unwrap();
        assert!(wait > ms(600) && wait <= ms(800), "{wait:?}");

        // Success through one instance resets the account for both.
        tokio::time::sleep(wait + ms(50)).await;
        a.check(&keys).await.unwrap();
        a.record_success(&keys).await.unwrap();
        b.check(&keys).await.unwrap();

        // Keys carry an expiry: nothing stays in Redis for good.
        let client = redis::Client::open(server.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys_in_redis: Vec<String> = redis::cmd("KEYS")
            .arg("centurion:{throttle}:*")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(!keys_in_redis.is_empty());
        for key in keys_in_redis {
            let ttl: i64 = redis::cmd("PTTL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert!(ttl > 0, "{key} has no expiry ({ttl})");
        }
    }

    #[tokio::test]
    async fn a_lazy_throttle_starts_while_redis_is_down() {
        let port = free_port();
        let policy = config(Backoff::new(5, ms(100), ms(100)), lenient());
        let store = RedisThrottleStore::connect_lazy(
            &format!("redis://127.0.0.1:{port}/"),
            RedisOptions::default().timeout(ms(500)),
        )
        .unwrap();
        let throttle = Throttle::new(store, policy).unwrap();
        let keys = ThrottleKeys::new().account("ada");
        let err = throttle.check(&keys).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::StoreUnavailable);

        let Some(_server) = RedisServer::start_on(GROUP, port) else {
            return;
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Err(e) = throttle.check(&keys).await {
            assert_eq!(e.kind(), ErrorKind::StoreUnavailable);
            assert!(Instant::now() < deadline, "never connected: {e:?}");
            tokio::time::sleep(ms(100)).await;
        }
        throttle.record_failure(&keys).await.unwrap();
    }

    /// A Redis that may evict keys could drop a lock under memory pressure from anything
    /// else it holds, and a locked account could then be guessed at again: refused like
    /// the revocation store's (before, the throttle took any Redis), unless the application
    /// accepts the risk.
    #[tokio::test]
    async fn an_evicting_redis_is_refused_unless_allowed() {
        let policy = || config(Backoff::new(1, ms(60_000), ms(60_000)), lenient());
        let keys = ThrottleKeys::new().account("ada");
        for eviction in ["volatile-lru", "allkeys-lru"] {
            let args = ["--maxmemory", "10mb", "--maxmemory-policy", eviction];
            let Some(server) = RedisServer::start_with_args(GROUP, &args) else {
                return;
            };
            let err = RedisThrottleStore::connect(&server.url(), RedisOptions::default())
                .await
                .expect_err(eviction);
            assert_eq!(err.kind(), ErrorKind::ConfigurationError, "{err:?}");
            assert!(err.message().contains("noeviction"), "{err:?}");
            assert!(err.message().contains("login throttle"), "{err:?}");
            // Built lazily, it refuses at its first call, with 503, and keeps refusing.
            let lazy =
                RedisThrottleStore::connect_lazy(&server.url(), RedisOptions::default()).unwrap();
            let throttle = Throttle::new(lazy, policy()).unwrap();
            for _ in 0..2 {
                let err = throttle.check(&keys).await.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::StoreUnavailable, "{eviction}");
            }
            let allowed = RedisThrottleStore::connect(
                &server.url(),
                RedisOptions::default().allow_eviction(true),
            )
            .await
            .unwrap();
            let throttle = Throttle::new(allowed, policy()).unwrap();
            throttle.check(&keys).await.unwrap();
            throttle.record_failure(&keys).await.unwrap();
        }
        // A memory limit without eviction is accepted: a full Redis then fails closed.
        let args = ["--maxmemory", "10mb", "--maxmemory-policy", "noeviction"];
        let Some(server) = RedisServer::start_with_args(GROUP, &args) else {
            return;
        };
        let store = RedisThrottleStore::connect(&server.url(), RedisOptions::default())
            .await
            .unwrap();
        let throttle = Throttle::new(store, policy()).unwrap();
        throttle.check(&keys).await.unwrap();
        throttle.record_failure(&keys).await.unwrap();
        throttle.check(&keys).await.unwrap();
        throttle.record_failure(&keys).await.unwrap();
        let err = throttle.check(&keys).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooManyRequests);
    }

    async fn keys_under(server: &RedisServer, pattern: &str) -> usize {
        let client = redis::Client::open(server.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(pattern)
            .query_async(&mut conn)
            .await
            .unwrap();
        keys.len()
    }

    /// The Redis throttle holds at most `max_keys` keys: a flood of fresh names evicts
    /// free counters, never a lock; full of locks, new keys are refused (503) instead of
    /// growing Redis (regression: throttle keys had no cap, and under `volatile-lru` a
    /// throttle flood evicted revocations). Rate limits share the cap.
    #[tokio::test]
    async fn redis_throttle_keys_are_capped_and_locks_survive_a_flood() {
        let Some(server) = start_or_skip() else {
            return;
        };
        let store =
            RedisThrottleStore::connect(&server.url(), RedisOptions::default().prefix("cap:"))
                .await
                .unwrap()
                .max_keys(500);
        let throttle = Throttle::new(
            store,
            config(
                Backoff::new(3, Duration::from_secs(60), Duration::from_secs(60)),
                lenient(),
            ),
        )
        .unwrap();
        let victim = ThrottleKeys::new().account("victim");
        for _ in 0..4 {
            throttle.record_failure(&victim).await.unwrap();
        }
        for i in 0..3000 {
            throttle
                .record_failure(&ThrottleKeys::new().account(&format!("fresh{i}")))
                .await
                .unwrap();
        }
        assert_eq!(
            throttle.check(&victim).await.unwrap_err().kind(),
            ErrorKind::TooManyRequests,
            "the lock survived"
        );
        let stored = keys_under(&server, "cap:{throttle}:a:*").await;
        assert!(stored <= 500, "{stored} keys");
        // Fill with locks: then new keys are refused, known ones still answer.
        let mut refused = 0;
        for i in 0..600 {
            let keys = ThrottleKeys::new().account(&format!("lock{i}"));
            for _ in 0..4 {
                if let Err(e) = throttle.record_failure(&keys).await {
                    assert_eq!(e.kind(), ErrorKind::Overloaded);
                    refused += 1;
                    break;
                }
            }
        }
        assert!(refused > 0, "a store full of locks refuses new keys");
        let err = throttle
            .check(&ThrottleKeys::new().account("newcomer"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Overloaded);
        assert_eq!(
            throttle.check(&victim).await.unwrap_err().kind(),
            ErrorKind::TooManyRequests
        );
        assert!(
            keys_under(&server, "cap:{throttle}:*").await <= 502,
            "the cap holds (+2 index keys)"
        );
    }

    #[tokio::test]
    async fn redis_rate_limits_count_across_instances() {
        let Some(server) = start_or_skip() else {
            return;
        };
        let store = || async {
            RedisThrottleStore::connect(&server.url(), RedisOptions::default().prefix("rl:"))
                .await
                .unwrap()
        };
        let a = Throttle::new(
            store().await,
            centurion::throttle::ThrottleConfig::default(),
        )
        .unwrap();
        let b = Throttle::new(
            store().await,
            centurion::throttle::ThrottleConfig::default(),
        )
        .unwrap();
        assert!(a.reset_mail("42").await.unwrap());
        assert!(
            !b.reset_mail("42").await.unwrap(),
            "one reset mail per account, fleet-wide"
        );
        let client = Some("203.0.113.9".parse().unwrap());
        for i in 0..30 {
            let t = if i % 2 == 0 { &a } else { &b };
            t.registration(client).await.unwrap();
        }
        let err = a.registration(client).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooManyRequests);
        let wait = err.retry_after().unwrap();
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
    }

    #[tokio::test]
    async fn redis_going_away_fails_closed_and_service_resumes() {
        let Some(mut server) = start_or_skip() else {
            return;
        };
        let policy = config(Backoff::new(5, ms(100), ms(100)), lenient());
        let store =
            RedisThrottleStore::connect(&server.url(), RedisOptions::default().timeout(ms(500)))
                .await
                .unwrap();
        let throttle = Throttle::new(store, policy).unwrap();
        let keys = ThrottleKeys::new().account("ada");
        throttle.check(&keys).await.unwrap();

        server.stop();
        let started = Instant::now();
        for _ in 0..3 {
            let err = throttle.check(&keys).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::StoreUnavailable, "{err:?}");
            assert_eq!(err.status().as_u16(), 503);
        }
        let err = throttle.record_failure(&keys).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
        assert!(started.elapsed() < Duration::from_secs(5), "fails fast");

        server.restart();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match throttle.check(&keys).await {
                Ok(()) => break,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::StoreUnavailable);
                    assert!(Instant::now() < deadline, "service did not resume: {e:?}");
                    tokio::time::sleep(ms(100)).await;
                }
            }
        }
        throttle.record_failure(&keys).await.unwrap();
    }
}
