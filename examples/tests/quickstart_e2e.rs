//! End-to-end tests of the quickstart server: the real `quickstart` binary, started on a
//! free 127.0.0.1 port in a temporary working directory, driven over HTTP through every
//! route and every failure status of `docs/QUICKSTART-API.md`.
//!
//! Each test starts its own server (its own SQLite file, in-memory revocations and login
//! throttle), so the tests run in parallel without sharing state; mail is read from the
//! console mailer's output on the server's stdout. Every failure is checked for the
//! contract's JSON error body `{"error", "message", "status_code"}`.
//!
//! The PostgreSQL + Redis test starts throwaway servers; when their binaries are missing
//! it prints `SKIPPED: …` and passes, except with `CI=true`, where it fails.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{
    ADMIN, Launch, Pair, Quickstart, Request, Response, SEED_USERS, assert_error,
    assert_error_named, b64, expect_json, jwt_payload, keys,
};

const ED: (&str, &str) = ("ed", "editor-pass-1");
const AU: (&str, &str) = ("au", "author-pass-1");
const PLAIN: (&str, &str) = ("plain", "plain-pass-12");

fn sleep_until(deadline: Instant) {
    if let Some(left) = deadline.checked_duration_since(Instant::now()) {
        std::thread::sleep(left);
    }
}

/// `Retry-After` in whole seconds.
#[track_caller]
fn retry_after(response: &Response) -> u64 {
    let value = response
        .header("retry-after")
        .unwrap_or_else(|| panic!("429 without Retry-After: {response:?}"));
    value
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is a number of seconds: {value:?}"))
}

// ---------------------------------------------------------------------------------------
// Plumbing routes
// ---------------------------------------------------------------------------------------

#[test]
fn healthz_jwks_page_and_fallbacks() {
    let qs = Quickstart::start();

    let health = qs.get("/healthz").send();
    assert_eq!(health.status, 200, "{health:?}");

    let jwks = expect_json(&qs.get("/.well-known/jwks.json").send(), 200);
    assert_eq!(jwks["keys"], json!([]), "HMAC: no public keys: {jwks}");

    let page = qs.get("/").send();
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{page:?}"
    );

    for path in [
        "/nope",
        "/api/nope",
        "/auth",
        "/api/me/extra",
        "/auth/login/",
    ] {
        let response = qs.get(path).send();
        assert_eq!(response.status, 404, "GET {path}: {response:?}");
        assert_error(&response, 404);
    }
    // Unknown routes answer 404 whatever the method and the credentials.
    let ed = qs.login(ED.0, ED.1);
    assert_error(
        &qs.request("DELETE", "/api/nope").bearer(&ed.access).send(),
        404,
    );

    for (method, path) in [
        ("GET", "/auth/login"),
        ("PUT", "/auth/register"),
        ("DELETE", "/api/me"),
        ("GET", "/api/articles"),
        ("POST", "/api/admin"),
        ("POST", "/healthz"),
        ("PATCH", "/auth/session"),
        ("GET", "/auth/session/refresh"),
        ("OPTIONS", "/api/me"),
    ] {
        let response = qs.request(method, path).send();
        assert_eq!(response.status, 405, "{method} {path}: {response:?}");
        assert_error(&response, 405);
    }
}

#[test]
fn start_up_banner_settings_and_their_errors() {
    // Ready: the address and a few curl lines.
    let qs = Launch::new().without("CENTURION_SECRET").start();
    let banner = qs.stdout();
    assert!(
        banner.contains(&format!("listening on http://127.0.0.1:{}", qs.port)),
        "{banner}"
    );
    assert!(banner.contains("curl"), "{banner}");
    // No secret: a random one, with a warning; the server works.
    let output = format!("{banner}{}", qs.stderr());
    assert!(output.contains("CENTURION_SECRET"), "a warning: {output}");
    qs.login(ED.0, ED.1);
    // Ctrl-C stops it as cleanly as SIGTERM.
    let mut qs = qs;
    qs.signal("-INT");
    let status = qs
        .wait_exit(Duration::from_secs(10))
        .expect("the server exits on SIGINT");
    assert!(status.success(), "exit status 0 on SIGINT: {status}");

    // Bad settings stop the start with a message naming the culprit.
    for (name, value, extra) in [
        ("CENTURION_SECRET", "too-short", None),
        ("CENTURION_ACCESS_LIFESPAN", "soon", None),
        ("CENTURION_REFRESH_LIFESPAN", "-1d", None),
        (
            "CENTURION_ADMIN_USERNAME",
            "root",
            Some("CENTURION_ADMIN_PASSWORD"),
        ),
        ("CENTURION_SEED_USERS", "just-a-name", None),
    ] {
        let dir = support::TempDir::new("quickstart-e2e-bad");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_quickstart"));
        command
            .current_dir(dir.path())
            .env_clear()
            .env("CENTURION_SECRET", support::TEST_SECRET)
            .env(
                "CENTURION_ADDR",
                format!("127.0.0.1:{}", support::free_port()),
            )
            .env(name, value)
            .stdin(std::process::Stdio::null());
        if let Some(other) = extra {
            command.env_remove(other);
        }
        let child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn the quickstart");
        let started = Instant::now();
        let output = child.wait_with_output().expect("wait for the quickstart");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !output.status.success(),
            "{name}={value} is refused: {text}"
        );
        assert!(started.elapsed() < Duration::from_secs(30));
        let culprit = if name == "CENTURION_SECRET" {
            "secret"
        } else {
            name
        };
        assert!(
            text.to_lowercase().contains(&culprit.to_lowercase()),
            "{name}={value}: the message names it: {text}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Registration and confirmation
// ---------------------------------------------------------------------------------------

#[test]
fn register_confirm_and_log_in() {
    register_confirm_and_log_in_on(Launch::new());
}

fn register_confirm_and_log_in_on(launch: Launch) {
    let qs = launch.start();
    let token = qs.register("ada", "ada@example.com", "ada-password-1");

    // Inactive until confirmed.
    assert_error_named(
        &qs.login_answer("ada", "ada-password-1"),
        403,
        "InvalidUserError",
    );

    // Not a confirmation token.
    let tampered = format!("{token}x");
    for garbage in ["", "garbage", "a.b.c", tampered.as_str()] {
        let response = qs.post_json("/auth/confirm", &json!({ "token": garbage }));
        assert_eq!(response.status, 401, "confirm {garbage:?}: {response:?}");
        assert_error(&response, 401);
    }
    // A confirmation token is no access or refresh token.
    assert_error(&qs.me(&token), 401);
    assert_error(&qs.refresh_answer(&token), 401);

    let confirmed = expect_json(
        &qs.post_json("/auth/confirm", &json!({ "token": token })),
        200,
    );
    assert_eq!(confirmed["active"], true, "{confirmed}");
    assert_eq!(confirmed["username"], "ada", "{confirmed}");

    // Single use.
    assert_error(
        &qs.post_json("/auth/confirm", &json!({ "token": token })),
        401,
    );

    let pair = qs.login("ada", "ada-password-1");
    let me = expect_json(&qs.me(&pair.access), 200);
    assert_eq!(keys(&me), ["email", "id", "roles", "username"], "{me}");
    assert!(me["id"].is_i64() || me["id"].is_string(), "{me}");
    assert_eq!(me["username"], "ada");
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["roles"], json!([]));

    // Tokens of other kinds are no confirmation tokens.
    for other in [&pair.access, &pair.refresh] {
        assert_error(
            &qs.post_json("/auth/confirm", &json!({ "token": other })),
            401,
        );
    }

    // Taken usernames: 409, whatever the e-mail address; and no mail goes out.
    for (name, email) in [("ada", "other@example.com"), ("ed", "ed@example.com")] {
        let response = qs.post_json(
            "/auth/register",
            &json!({"username": name, "email": email, "password": "whatever-pass-1"}),
        );
        assert_error_named(&response, 409, "UserExists");
    }
    // A taken e-mail address (in any case) answers as a new registration would (the
    // identity rules: no enumeration of addresses); ada is told, nothing is created.
    for (i, email) in ["ada@example.com", "ADA@Example.com"]
        .into_iter()
        .enumerate()
    {
        let name = format!("ada{}", i + 2);
        let response = qs.post_json(
            "/auth/register",
            &json!({"username": name, "email": email, "password": "whatever-pass-1"}),
        );
        let body = expect_json(&response, 201);
        assert_eq!(body, json!({"username": name, "active": false}));
        assert_error_named(
            &qs.login_answer(&name, "whatever-pass-1"),
            401,
            "AuthenticationError",
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while qs.mails_to("ada@example.com").len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(qs.mails_to("other@example.com").is_empty());
    assert!(qs.mails_to("ed@example.com").is_empty());
    assert!(
        qs.mails_to("ADA@Example.com").is_empty(),
        "never the address as typed"
    );
    let to_ada = qs.mails_to("ada@example.com");
    assert_eq!(
        to_ada.len(),
        3,
        "the confirmation and two warnings: {to_ada:#?}"
    );
    for warning in &to_ada[1..] {
        assert!(
            warning.subject.starts_with("Someone tried to register"),
            "{warning:?}"
        );
        assert_eq!(warning.token("confirm"), None);
    }
    assert_eq!(qs.mails().len(), 3, "nothing else");

    // Malformed confirmation bodies.
    for body in ["{", "{}", r#"{"token": 5}"#, "null"] {
        let response = qs.post("/auth/confirm").raw_json(body).send();
        assert_eq!(response.status, 400, "confirm body {body}: {response:?}");
        assert_error(&response, 400);
    }
    let response = qs
        .post("/auth/confirm")
        .body(json!({ "token": token }).to_string())
        .send();
    assert_error(&response, 400);
}

#[test]
fn register_refuses_bad_bodies_and_weak_passwords() {
    let qs = Quickstart::start();
    let good = json!({"username": "bob", "email": "bob@example.com", "password": "bob-password-1"});
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = good.clone();
        body.as_object_mut().map(|o| o.remove(field));
        body
    };
    let register = || qs.post("/auth/register");

    let cases: Vec<(&str, Request, Option<&str>)> = vec![
        (
            "malformed JSON",
            register().raw_json(r#"{"username": "bob","#),
            None,
        ),
        ("a form body", register().raw_json("username=bob"), None),
        ("an empty body", register().raw_json(""), None),
        ("null", register().raw_json("null"), None),
        ("an array", register().raw_json("[]"), None),
        ("no Content-Type", register().body(good.to_string()), None),
        (
            "Content-Type text/plain",
            register()
                .header("Content-Type", "text/plain")
                .body(good.to_string()),
            None,
        ),
        ("no username", register().json(&without("username")), None),
        ("no email", register().json(&without("email")), None),
        ("no password", register().json(&without("password")), None),
        (
            "a number as username",
            register().json(&with("username", json!(5))),
            None,
        ),
        (
            "a 7-character password",
            register().json(&with("password", json!("short-7"))),
            Some("WeakPassword"),
        ),
        (
            "an empty password",
            register().json(&with("password", json!(""))),
            Some("WeakPassword"),
        ),
        (
            "a 2000-character password",
            register().json(&with("password", json!("p".repeat(2000)))),
            Some("WeakPassword"),
        ),
        (
            "an empty username",
            register().json(&with("username", json!(""))),
            None,
        ),
        (
            "a username with a space",
            register().json(&with("username", json!("bob smith"))),
            None,
        ),
        (
            "a username with a slash",
            register().json(&with("username", json!("bob/../root"))),
            None,
        ),
        (
            "a username with a NUL",
            register().json(&with("username", json!("bob\u{0}"))),
            None,
        ),
        (
            "a 65-character username",
            register().json(&with("username", json!("b".repeat(65)))),
            None,
        ),
        (
            "an address without @",
            register().json(&with("email", json!("bob.example.com"))),
            None,
        ),
        (
            "an address without a dot in the domain",
            register().json(&with("email", json!("bob@localhost"))),
            None,
        ),
        (
            "an address with a space",
            register().json(&with("email", json!("bob @example.com"))),
            None,
        ),
        (
            "an empty address",
            register().json(&with("email", json!(""))),
            None,
        ),
    ];
    for (what, request, name) in cases {
        let response = request.send();
        assert_eq!(response.status, 400, "{what}: {response:?}");
        let got = assert_error(&response, 400);
        if let Some(name) = name {
            assert_eq!(got, name, "{what}: {response:?}");
        }
    }
    assert!(qs.mails().is_empty(), "no refused registration sends mail");

    // None of them created the user.
    qs.register("bob", "bob@example.com", "bob-password-1");
}

#[test]
fn sixteen_concurrent_registrations_of_one_username() {
    let qs = Quickstart::start();
    let barrier = Arc::new(Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let barrier = barrier.clone();
            let request = qs.post("/auth/register").json(&json!({
                "username": "zed",
                "email": format!("zed{i}@example.com"),
                "password": format!("zed-password-{i}"),
            }));
            std::thread::spawn(move || {
                barrier.wait();
                request.send()
            })
        })
        .collect();
    let responses: Vec<Response> = threads
        .into_iter()
        .map(|t| t.join().expect("a registering thread"))
        .collect();
    let created = responses.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 1, "exactly one registration wins: {responses:#?}");
    for response in responses.iter().filter(|r| r.status != 201) {
        assert_error_named(response, 409, "UserExists");
    }

    // One confirmation mail, to the winner, whose password is the one that counts.
    let deadline = Instant::now() + Duration::from_secs(10);
    while qs.mails().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let mails = qs.mails();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let winner: usize = mails[0]
        .to
        .strip_prefix("zed")
        .and_then(|r| r.strip_suffix("@example.com"))
        .and_then(|i| i.parse().ok())
        .expect("the mail goes to one of the addresses");
    let token = mails[0].token("confirm").expect("a confirmation link");
    expect_json(
        &qs.post_json("/auth/confirm", &json!({ "token": token })),
        200,
    );
    qs.login("zed", &format!("zed-password-{winner}"));
}

// ---------------------------------------------------------------------------------------
// Login and throttling
// ---------------------------------------------------------------------------------------

#[test]
fn login_answers_and_refusals() {
    let qs = Quickstart::start();
    let answer = qs.login_answer(ED.0, ED.1);
    let body = expect_json(&answer, 200);
    assert_eq!(body["expires_in"], 900, "default access lifespan: {body}");
    Pair::from_answer(&answer);
    // A charset parameter is fine.
    let answer = qs
        .post("/auth/login")
        .header("Content-Type", "application/json; charset=utf-8")
        .body(json!({"username": ED.0, "password": ED.1}).to_string())
        .send();
    Pair::from_answer(&answer);

    // One answer for a wrong password and an unknown user.
    let wrong = qs.login_answer(ED.0, "wrong-password-1");
    let unknown = qs.login_answer("nobody-here", "wrong-password-1");
    assert_error_named(&wrong, 401, "AuthenticationError");
    assert_error_named(&unknown, 401, "AuthenticationError");
    assert_eq!(wrong.json(), unknown.json(), "same body for both");
    assert_eq!(
        wrong.header("www-authenticate"),
        unknown.header("www-authenticate")
    );
    // Huge credentials are just wrong credentials.
    for (name, password) in [
        ("u".repeat(60_000), "wrong-password-1".to_owned()),
        (ED.0.to_owned(), "p".repeat(60_000)),
    ] {
        let response = qs.login_answer(&name, &password);
        assert_error_named(&response, 401, "AuthenticationError");
    }

    for (what, request) in [
        (
            "malformed JSON",
            qs.post("/auth/login").raw_json("{\"username\""),
        ),
        (
            "no password",
            qs.post("/auth/login").json(&json!({"username": "ed"})),
        ),
        (
            "no Content-Type",
            qs.post("/auth/login")
                .body(json!({"username": ED.0, "password": ED.1}).to_string()),
        ),
        (
            "a number as password",
            qs.post("/auth/login")
                .json(&json!({"username": "ed", "password": 12_345_678})),
        ),
    ] {
        let response = request.send();
        assert_eq!(response.status, 400, "{what}: {response:?}");
        assert_error(&response, 400);
    }
}

#[test]
fn repeated_failures_lock_the_account_with_retry_after() {
    let qs = Quickstart::start();
    let wrong = || qs.login_answer(AU.0, "wrong-password-1");

    // Five failures are free; the sixth is still checked (and locks the account).
    for attempt in 1..=6 {
        let response = wrong();
        assert_eq!(response.status, 401, "attempt {attempt}: {response:?}");
        assert_error_named(&response, 401, "AuthenticationError");
    }
    let locked = wrong();
    assert_error_named(&locked, 429, "TooManyRequests");
    let wait = retry_after(&locked);
    assert!((1..=2).contains(&wait), "first lock about 1 s: {wait}");

    // When the lock ends one more failure locks it for twice as long; during that lock
    // the right password is refused too, before it is checked.
    std::thread::sleep(Duration::from_millis(wait * 1000 + 100));
    assert_error_named(&wrong(), 401, "AuthenticationError");
    let locked = qs.login_answer(AU.0, AU.1);
    assert_error_named(&locked, 429, "TooManyRequests");
    let wait = retry_after(&locked);
    assert!((1..=2).contains(&wait), "second lock about 2 s: {wait}");
    assert_error_named(&wrong(), 429, "TooManyRequests");
    // The cookie login shares the counters.
    let cookie_login = qs.post_json(
        "/auth/session",
        &json!({"username": AU.0, "password": AU.1}),
    );
    assert_error_named(&cookie_login, 429, "TooManyRequests");
    retry_after(&cookie_login);

    // Other accounts are not locked; and every lock ends by itself.
    qs.login(ED.0, ED.1);
    std::thread::sleep(Duration::from_millis(wait * 1000 + 100));
    qs.login(AU.0, AU.1);
    // A success resets the account's count.
    assert_error_named(&wrong(), 401, "AuthenticationError");
}

#[test]
fn failures_across_accounts_lock_the_client_address() {
    let qs = Quickstart::start();
    // Twenty failures from one address are free (a different account each time, so no
    // account is locked); the twenty-first locks the address.
    for i in 1..=21 {
        let response = qs.login_answer(&format!("nobody-{i}"), "wrong-password-1");
        assert_eq!(response.status, 401, "attempt {i}: {response:?}");
    }
    let locked = qs.login_answer("nobody-22", "wrong-password-1");
    assert_error_named(&locked, 429, "TooManyRequests");
    let wait = retry_after(&locked);
    std::thread::sleep(Duration::from_millis(wait * 1000 + 100));
    // One more failure doubles the lock; during it, every account is refused from here.
    assert_error_named(
        &qs.login_answer("nobody-23", "wrong-password-1"),
        401,
        "AuthenticationError",
    );
    for (name, password) in [ED, ADMIN] {
        assert_error_named(&qs.login_answer(name, password), 429, "TooManyRequests");
    }
    // Tokens already issued are not affected.
    qs.assert_healthy();
}

#[test]
fn unknown_users_cost_about_as_much_as_wrong_passwords() {
    let qs = Quickstart::start();
    let time = |name: &str| {
        let started = Instant::now();
        let response = qs.login_answer(name, "wrong-password-1");
        assert_error_named(&response, 401, "AuthenticationError");
        started.elapsed()
    };
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..4 {
        wrong.push(time(ED.0));
        unknown.push(time(&format!("nobody-{i}")));
    }
    wrong.sort();
    unknown.sort();
    let (wrong, unknown) = (wrong[2], unknown[2]);
    // Loose: a missing dummy hash would make unknown users many times cheaper.
    assert!(
        unknown * 4 >= wrong,
        "an unknown user is answered much faster ({unknown:?}) than a wrong password ({wrong:?})"
    );
}

// ---------------------------------------------------------------------------------------
// Refresh
// ---------------------------------------------------------------------------------------

#[test]
fn refresh_rotates_and_the_new_access_token_is_not_fresh() {
    refresh_rotates_and_the_new_access_token_is_not_fresh_on(Launch::new());
}

fn refresh_rotates_and_the_new_access_token_is_not_fresh_on(launch: Launch) {
    let qs = launch.start();
    let first = qs.login(ED.0, ED.1);
    let second = Pair::from_answer(&qs.refresh_answer(&first.refresh));
    assert_ne!(second.access, first.access);
    assert_ne!(second.refresh, first.refresh);

    let me = expect_json(&qs.me(&second.access), 200);
    assert_eq!(me["username"], "ed");
    // The roles came along.
    let article = qs
        .post("/api/articles")
        .bearer(&second.access)
        .json(&json!({"title": "After a refresh"}))
        .send();
    assert_eq!(article.status, 201, "{article:?}");

    // Not fresh: the fresh-only route refuses it (before checking the body).
    let change = qs
        .post("/api/account/password")
        .bearer(&second.access)
        .json(&json!({"old_password": ED.1, "password": "editor-pass-2"}))
        .send();
    assert_error_named(&change, 401, "FreshTokenRequired");
    qs.login(ED.0, ED.1); // the password is unchanged

    let third = Pair::from_answer(&qs.refresh_answer(&second.refresh));
    expect_json(&qs.me(&third.access), 200);
}

#[test]
fn reusing_a_spent_refresh_token_revokes_its_family() {
    reusing_a_spent_refresh_token_revokes_its_family_on(Launch::new());
}

fn reusing_a_spent_refresh_token_revokes_its_family_on(launch: Launch) {
    let qs = launch.start();
    let other_session = qs.login(ED.0, ED.1);
    let first = qs.login(ED.0, ED.1);
    let second = Pair::from_answer(&qs.refresh_answer(&first.refresh));
    let third = Pair::from_answer(&qs.refresh_answer(&second.refresh));

    assert_error_named(&qs.refresh_answer(&first.refresh), 401, "RefreshReuseError");
    // The whole family is revoked, the newest tokens included.
    assert_error(&qs.me(&third.access), 401);
    assert_error(&qs.refresh_answer(&third.refresh), 401);
    assert_error(&qs.me(&second.access), 401);
    assert_error(&qs.me(&first.access), 401);

    // Another session of the same user lives on.
    expect_json(&qs.me(&other_session.access), 200);
    Pair::from_answer(&qs.refresh_answer(&other_session.refresh));

    // Eight clients presenting one refresh token at once (tabs of one browser): inside the
    // grace window they all get the same pair, and the session lives on.
    let raced = qs.login(ED.0, ED.1);
    let responses = refresh_at_once(&qs, &raced.refresh, 8);
    let pairs: Vec<Pair> = responses.iter().map(Pair::from_answer).collect();
    assert!(
        pairs
            .iter()
            .all(|p| p.access == pairs[0].access && p.refresh == pairs[0].refresh),
        "one pair for all"
    );
    expect_json(&qs.me(&pairs[0].access), 200);
    Pair::from_answer(&qs.refresh_answer(&pairs[0].refresh));

    // Within the window, another client (another user agent than the one that refreshed)
    // is a thief: reuse.
    let owned = login_from(&qs, "Owner/1.0");
    let next = Pair::from_answer(
        &qs.post("/auth/refresh")
            .header("user-agent", "Owner/1.0")
            .json(&json!({"refresh_token": owned.refresh}))
            .send(),
    );
    let thief = qs
        .post("/auth/refresh")
        .header("user-agent", "thief/1.0")
        .json(&json!({"refresh_token": owned.refresh}))
        .send();
    assert_error_named(&thief, 401, "RefreshReuseError");
    assert_error(&qs.me(&next.access), 401);
}

/// Sends `n` refreshes of one token at the same moment.
fn refresh_at_once(qs: &Quickstart, refresh: &str, n: usize) -> Vec<Response> {
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let barrier = barrier.clone();
            let request = qs
                .post("/auth/refresh")
                .json(&json!({"refresh_token": refresh}));
            std::thread::spawn(move || {
                barrier.wait();
                request.send()
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("a refreshing thread"))
        .collect()
}

/// With the grace window off (`CENTURION_REFRESH_GRACE=0s`), a second use is a reuse at
/// once: of eight clients presenting one refresh token together, one wins the rotation,
/// the others are reuse, and the winner's new tokens die with the session.
#[test]
fn without_a_grace_window_a_concurrent_second_use_ends_the_session() {
    let qs = Launch::new().env("CENTURION_REFRESH_GRACE", "0s").start();
    let first = qs.login(ED.0, ED.1);
    Pair::from_answer(&qs.refresh_answer(&first.refresh));
    assert_error_named(&qs.refresh_answer(&first.refresh), 401, "RefreshReuseError");

    let raced = qs.login(ED.0, ED.1);
    let responses = refresh_at_once(&qs, &raced.refresh, 8);
    let winners: Vec<Pair> = responses
        .iter()
        .filter(|r| r.status == 200)
        .map(Pair::from_answer)
        .collect();
    assert!(winners.len() <= 1, "one rotation at most: {responses:#?}");
    for response in responses.iter().filter(|r| r.status != 200) {
        assert_error(response, 401);
    }
    for winner in &winners {
        assert_error(&qs.me(&winner.access), 401);
        assert_error(&qs.refresh_answer(&winner.refresh), 401);
    }
    assert_error(&qs.me(&raced.access), 401);
}

/// A login from a "device": its user agent.
fn login_from(qs: &Quickstart, agent: &str) -> Pair {
    Pair::from_answer(
        &qs.post("/auth/login")
            .header("user-agent", agent)
            .json(&json!({"username": ED.0, "password": ED.1}))
            .send(),
    )
}

/// The sessions routes of the contract: list (newest first, the contract's shape, the
/// current one marked), end one (404 for an id that is not the user's), end the others.
#[test]
fn sessions_are_listed_and_ended() {
    let qs = Quickstart::start();
    let laptop = login_from(&qs, "Laptop/1.0");
    let phone = login_from(&qs, "Phone/2.0");
    let tablet = login_from(&qs, "Tablet/3.0");
    let other_user = qs.login(AU.0, AU.1);

    let list = expect_json(&qs.get("/api/sessions").bearer(&phone.access).send(), 200);
    let list = list.as_array().expect("a list").clone();
    assert_eq!(list.len(), 3, "{list:#?}");
    for item in &list {
        assert_eq!(
            keys(item),
            [
                "created_at",
                "current",
                "id",
                "ip",
                "last_used_at",
                "user_agent"
            ],
            "{item}"
        );
        assert_eq!(item["ip"], "127.0.0.1");
        assert!(
            item["created_at"].as_str().unwrap().ends_with('Z'),
            "{item}"
        );
        assert_eq!(
            item["last_used_at"], item["created_at"],
            "not refreshed yet"
        );
    }
    let agents: Vec<&str> = list
        .iter()
        .map(|i| i["user_agent"].as_str().unwrap())
        .collect();
    assert_eq!(
        agents,
        ["Tablet/3.0", "Phone/2.0", "Laptop/1.0"],
        "newest first"
    );
    let current: Vec<bool> = list
        .iter()
        .map(|i| i["current"].as_bool().unwrap())
        .collect();
    assert_eq!(current, [false, true, false]);

    // A refresh moves last_used_at (RFC 3339, seconds: wait for the next second).
    std::thread::sleep(Duration::from_millis(1100));
    let laptop = Pair::from_answer(
        &qs.post("/auth/refresh")
            .header("user-agent", "Laptop/1.0")
            .json(&json!({"refresh_token": laptop.refresh}))
            .send(),
    );
    let list = expect_json(&qs.get("/api/sessions").bearer(&laptop.access).send(), 200);
    let me = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["current"] == true)
        .unwrap()
        .clone();
    assert_eq!(me["user_agent"], "Laptop/1.0");
    assert_ne!(me["last_used_at"], me["created_at"]);

    // End the tablet's session by its id, from the laptop.
    let tablet_id = list.as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ended = qs
        .request("DELETE", &format!("/api/sessions/{tablet_id}"))
        .bearer(&laptop.access)
        .send();
    expect_json(&ended, 200);
    assert_error_named(&qs.me(&tablet.access), 401, "RevokedTokenError");
    assert_error(&qs.refresh_answer(&tablet.refresh), 401);
    // Again, or an id of another user's session: 404 in the JSON shape.
    let again = qs
        .request("DELETE", &format!("/api/sessions/{tablet_id}"))
        .bearer(&laptop.access)
        .send();
    assert_error_named(&again, 404, "NotFound");
    let theirs = expect_json(
        &qs.get("/api/sessions").bearer(&other_user.access).send(),
        200,
    );
    let their_id = theirs[0]["id"].as_str().unwrap();
    let foreign = qs
        .request("DELETE", &format!("/api/sessions/{their_id}"))
        .bearer(&laptop.access)
        .send();
    assert_error_named(&foreign, 404, "NotFound");
    expect_json(&qs.me(&other_user.access), 200);

    // Log out my other devices: the phone goes, the laptop stays.
    let others = expect_json(
        &qs.request("DELETE", "/api/sessions")
            .bearer(&laptop.access)
            .send(),
        200,
    );
    assert_eq!(others, json!({"revoked": 1}));
    assert_error_named(&qs.me(&phone.access), 401, "RevokedTokenError");
    expect_json(&qs.me(&laptop.access), 200);
    let list = expect_json(&qs.get("/api/sessions").bearer(&laptop.access).send(), 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    Pair::from_answer(&qs.refresh_answer(&laptop.refresh));

    // Without a token: 401.
    assert_error(&qs.get("/api/sessions").send(), 401);
}

/// Behind a trusted proxy (`CENTURION_TRUSTED_PROXIES`) a session shows the address the
/// proxy forwards (`X-Forwarded-For`), at login and after a refresh; a server that trusts
/// no proxy shows the socket's peer whatever the header says.
#[test]
fn sessions_show_the_address_a_trusted_proxy_forwards() {
    let login = |qs: &Quickstart, forwarded: &str| {
        Pair::from_answer(
            &qs.post("/auth/login")
                .header("x-forwarded-for", forwarded)
                .json(&json!({"username": ED.0, "password": ED.1}))
                .send(),
        )
    };
    let ip_of = |qs: &Quickstart, access: &str| {
        let list = expect_json(&qs.get("/api/sessions").bearer(access).send(), 200);
        let current = list
            .as_array()
            .expect("a list")
            .iter()
            .find(|s| s["current"] == true)
            .expect("the current session")
            .clone();
        current["ip"].as_str().unwrap_or_default().to_owned()
    };

    let behind = Launch::new()
        .env("CENTURION_TRUSTED_PROXIES", "127.0.0.1")
        .start();
    let pair = login(&behind, "203.0.113.7");
    assert_eq!(ip_of(&behind, &pair.access), "203.0.113.7");
    let refreshed = Pair::from_answer(
        &behind
            .post("/auth/refresh")
            .header("x-forwarded-for", "198.51.100.9")
            .json(&json!({"refresh_token": pair.refresh}))
            .send(),
    );
    assert_eq!(ip_of(&behind, &refreshed.access), "198.51.100.9");

    let direct = Quickstart::start();
    let pair = login(&direct, "203.0.113.7");
    assert_eq!(ip_of(&direct, &pair.access), "127.0.0.1");
}

#[test]
fn refresh_refuses_other_tokens_and_bad_bodies() {
    let qs = Quickstart::start();
    let pair = qs.login(ED.0, ED.1);

    assert_error_named(&qs.refresh_answer(&pair.access), 401, "MisusedAccessToken");
    assert_error_named(&qs.me(&pair.refresh), 401, "MisusedRefreshToken");
    let tampered = format!("{}x", pair.refresh);
    for garbage in ["", "garbage", "a.b.c", tampered.as_str()] {
        let response = qs.refresh_answer(garbage);
        assert_eq!(response.status, 401, "refresh {garbage:?}: {response:?}");
        assert_error(&response, 401);
    }
    for body in ["{", "{}", r#"{"refresh_token": 7}"#, "[]"] {
        let response = qs.post("/auth/refresh").raw_json(body).send();
        assert_eq!(response.status, 400, "refresh body {body}: {response:?}");
        assert_error(&response, 400);
    }
    let response = qs
        .post("/auth/refresh")
        .body(json!({"refresh_token": pair.refresh}).to_string())
        .send();
    assert_error(&response, 400);

    // None of that spent the refresh token.
    Pair::from_answer(&qs.refresh_answer(&pair.refresh));
}

#[test]
fn tokens_expire_with_their_lifespans() {
    let qs = Launch::new()
        .env("CENTURION_ACCESS_LIFESPAN", "2s")
        .env("CENTURION_REFRESH_LIFESPAN", "5s")
        .start();
    let answer = qs.login_answer(ED.0, ED.1);
    let issued = Instant::now();
    assert_eq!(expect_json(&answer, 200)["expires_in"], 2);
    let pair = Pair::from_answer(&answer);
    expect_json(&qs.me(&pair.access), 200);

    sleep_until(issued + Duration::from_millis(2100));
    assert_error_named(&qs.me(&pair.access), 401, "ExpiredAccessError");
    let renewed = Pair::from_answer(&qs.refresh_answer(&pair.refresh));
    expect_json(&qs.me(&renewed.access), 200);

    // The session's expiry is fixed at login: refreshing does not extend it.
    sleep_until(issued + Duration::from_millis(5100));
    assert_error_named(
        &qs.refresh_answer(&renewed.refresh),
        401,
        "ExpiredRefreshError",
    );
}

// ---------------------------------------------------------------------------------------
// Logout
// ---------------------------------------------------------------------------------------

#[test]
fn logout_revokes_the_access_token_and_the_session() {
    logout_revokes_the_access_token_and_the_session_on(Launch::new());
}

fn logout_revokes_the_access_token_and_the_session_on(launch: Launch) {
    let qs = launch.start();
    let logout = |access: &str| qs.post("/auth/logout").bearer(access);

    // With the refresh token in the body.
    let a = qs.login(ED.0, ED.1);
    expect_json(
        &logout(&a.access)
            .json(&json!({"refresh_token": a.refresh}))
            .send(),
        200,
    );
    assert_error_named(&qs.me(&a.access), 401, "RevokedTokenError");
    assert_error(&qs.refresh_answer(&a.refresh), 401);
    // A second logout with the same token.
    assert_error(&logout(&a.access).send(), 401);

    // Without a body: the access token's session goes too.
    let b = qs.login(ED.0, ED.1);
    expect_json(&logout(&b.access).send(), 200);
    assert_error(&qs.me(&b.access), 401);
    assert_error(&qs.refresh_answer(&b.refresh), 401);

    // With an access token from a refresh: the whole session ends.
    let c = qs.login(ED.0, ED.1);
    let c2 = Pair::from_answer(&qs.refresh_answer(&c.refresh));
    expect_json(&logout(&c2.access).send(), 200);
    assert_error(&qs.refresh_answer(&c2.refresh), 401);
    assert_error(&qs.me(&c.access), 401);

    // Refusals.
    let d = qs.login(ED.0, ED.1);
    assert_error_named(&qs.post("/auth/logout").send(), 401, "MissingToken");
    assert_error(&logout(&d.refresh).send(), 401);
    let response = logout(&d.access).raw_json("{not json").send();
    assert_error(&response, 400);
    // Nothing of that touched session d.
    expect_json(&qs.me(&d.access), 200);
    Pair::from_answer(&qs.refresh_answer(&d.refresh));
}

// ---------------------------------------------------------------------------------------
// Password reset
// ---------------------------------------------------------------------------------------

#[test]
fn forgot_and_reset_password() {
    forgot_and_reset_password_on(Launch::new());
}

fn forgot_and_reset_password_on(launch: Launch) {
    // Two reset mails to one account are at least this far apart (5 minutes by default).
    let qs = launch.env("CENTURION_RESET_MAIL_INTERVAL", "1s").start();
    qs.register_confirmed("cy", "cy@example.com", "cy-password-1");
    let confirmation = qs.wait_token("cy@example.com", "confirm", 1);
    qs.register("dee", "dee@example.com", "dee-password-1"); // never confirmed
    let before = qs.login("cy", "cy-password-1");

    let forgot = |email: &str| qs.post_json("/auth/password/forgot", &json!({ "email": email }));
    let unknown = forgot("nobody@example.com");
    let inactive = forgot("dee@example.com");
    let known = forgot("cy@example.com");
    let unknown_body = expect_json(&unknown, 202);
    assert_eq!(expect_json(&known, 202), unknown_body, "same answer");
    assert_eq!(expect_json(&inactive, 202), unknown_body, "same answer");

    let token = qs.wait_token("cy@example.com", "reset", 1);
    std::thread::sleep(Duration::from_millis(300));
    assert!(qs.mails_to("nobody@example.com").is_empty());
    assert_eq!(
        qs.mails_to("dee@example.com").len(),
        1,
        "only the confirmation mail for an inactive account"
    );

    let reset = |token: &str, password: &str| {
        qs.post_json(
            "/auth/password/reset",
            &json!({"token": token, "password": password}),
        )
    };
    // A weak password is refused without spending the token.
    assert_error_named(&reset(&token, "short"), 400, "WeakPassword");
    // Other tokens are no reset tokens, and a reset token is no other token.
    for other in [
        before.access.as_str(),
        before.refresh.as_str(),
        confirmation.as_str(),
        "garbage",
    ] {
        let response = reset(other, "cy-password-2");
        assert_eq!(response.status, 401, "reset with {other:?}: {response:?}");
        assert_error(&response, 401);
    }
    assert_error(&qs.me(&token), 401);
    assert_error(&qs.refresh_answer(&token), 401);
    assert_error(
        &qs.post_json("/auth/confirm", &json!({ "token": token })),
        401,
    );
    for body in ["{", "{}", r#"{"token": "x"}"#] {
        let response = qs.post("/auth/password/reset").raw_json(body).send();
        assert_eq!(response.status, 400, "reset body {body}: {response:?}");
        assert_error(&response, 400);
        let response = qs.post("/auth/password/forgot").raw_json(body).send();
        assert_eq!(response.status, 400, "forgot body {body}: {response:?}");
        assert_error(&response, 400);
    }

    // A second reset mail, once the interval has passed; then the first token, presented
    // by eight clients at once: exactly one reset happens.
    std::thread::sleep(Duration::from_millis(1100));
    expect_json(&forgot("cy@example.com"), 202);
    let second_token = qs.wait_token("cy@example.com", "reset", 2);
    assert_ne!(second_token, token);
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let barrier = barrier.clone();
            let request = qs
                .post("/auth/password/reset")
                .json(&json!({"token": token, "password": "cy-password-2"}));
            std::thread::spawn(move || {
                barrier.wait();
                request.send()
            })
        })
        .collect();
    let responses: Vec<Response> = threads
        .into_iter()
        .map(|t| t.join().expect("a resetting thread"))
        .collect();
    assert_eq!(
        responses.iter().filter(|r| r.status == 200).count(),
        1,
        "a reset token works once: {responses:#?}"
    );
    for response in responses.iter().filter(|r| r.status != 200) {
        assert_error(response, 401);
    }
    // Every token the user held is revoked, the other reset token included; the reset
    // token is spent.
    assert_error(&qs.me(&before.access), 401);
    assert_error(&qs.refresh_answer(&before.refresh), 401);
    assert_error(&reset(&token, "cy-password-3"), 401);
    assert_error(&reset(&second_token, "cy-password-3"), 401);

    assert_error_named(
        &qs.login_answer("cy", "cy-password-1"),
        401,
        "AuthenticationError",
    );
    let after = qs.login("cy", "cy-password-2");
    expect_json(&qs.me(&after.access), 200);
}

// ---------------------------------------------------------------------------------------
// The API and its guards
// ---------------------------------------------------------------------------------------

#[test]
fn roles_guard_the_api() {
    roles_guard_the_api_on(Launch::new());
}

fn roles_guard_the_api_on(launch: Launch) {
    let qs = launch.start();
    let root = qs.login(ADMIN.0, ADMIN.1);
    let ed = qs.login(ED.0, ED.1);
    let au = qs.login(AU.0, AU.1);
    let plain = qs.login(PLAIN.0, PLAIN.1);

    for (pair, name, roles) in [
        (&root, ADMIN.0, json!(["admin"])),
        (&ed, ED.0, json!(["editor"])),
        (&au, AU.0, json!(["author"])),
        (&plain, PLAIN.0, json!([])),
    ] {
        let me = expect_json(&qs.me(&pair.access), 200);
        assert_eq!(keys(&me), ["email", "id", "roles", "username"], "{me}");
        assert_eq!(me["username"], name, "{me}");
        assert_eq!(me["roles"], roles, "{me}");
    }
    assert_error_named(&qs.get("/api/me").send(), 401, "MissingToken");

    // /api/admin
    let admin = |access: Option<&str>| {
        let request = qs.get("/api/admin");
        match access {
            Some(token) => request.bearer(token),
            None => request,
        }
        .send()
    };
    expect_json(&admin(Some(&root.access)), 200);
    for pair in [&ed, &au, &plain] {
        assert_error_named(&admin(Some(&pair.access)), 403, "MissingRoleError");
    }
    assert_error_named(&admin(None), 401, "MissingToken");

    // /api/articles: editors and authors.
    let article = json!({"title": "Hello, world"});
    for pair in [&ed, &au] {
        let response = qs
            .post("/api/articles")
            .bearer(&pair.access)
            .json(&article)
            .send();
        let body = expect_json(&response, 201);
        assert_eq!(body["title"], "Hello, world", "{body}");
    }
    for pair in [&plain, &root] {
        let response = qs
            .post("/api/articles")
            .bearer(&pair.access)
            .json(&article)
            .send();
        assert_error_named(&response, 403, "MissingRoleError");
    }
    // The guard runs before the body is read: anonymous or role-less requests with a
    // broken body are refused for who they are, not for the body.
    for request in [
        qs.post("/api/articles").raw_json("{broken"),
        qs.post("/api/articles").body("not json at all"),
        qs.post("/api/articles").raw_json(vec![b'x'; 100 * 1024]),
    ] {
        assert_error_named(&request.send(), 401, "MissingToken");
    }
    let response = qs
        .post("/api/articles")
        .bearer(&plain.access)
        .raw_json("{broken")
        .send();
    assert_error_named(&response, 403, "MissingRoleError");

    // An editor with bad bodies.
    let long_title = "t".repeat(201);
    for body in [
        "{broken".to_owned(),
        "{}".to_owned(),
        json!({"title": ""}).to_string(),
        json!({"title": "   "}).to_string(),
        json!({ "title": long_title }).to_string(),
        json!({"title": 42}).to_string(),
    ] {
        let response = qs
            .post("/api/articles")
            .bearer(&ed.access)
            .raw_json(body.clone())
            .send();
        assert_eq!(response.status, 400, "article {body}: {response:?}");
        assert_error(&response, 400);
    }
}

/// The second round's roles (docs/QUICKSTART-API.md, "More roles"): `owner` includes `admin`
/// and `editor`; `auditor` is plain; `reports:read` is granted to `admin` (so `owner`) and
/// `auditor`, and guards `GET /api/reports`.
#[test]
fn owner_auditor_and_the_reports_permission() {
    const OWNER: (&str, &str) = ("own", "owner-pass-12");
    const AUDITOR: (&str, &str) = ("aud", "auditor-pass-1");
    let qs = Launch::new()
        .env(
            "CENTURION_SEED_USERS",
            &format!("{SEED_USERS},own:owner-pass-12:owner,aud:auditor-pass-1:auditor"),
        )
        .start();
    let root = qs.login(ADMIN.0, ADMIN.1);
    let ed = qs.login(ED.0, ED.1);
    let au = qs.login(AU.0, AU.1);
    let plain = qs.login(PLAIN.0, PLAIN.1);
    let owner = qs.login(OWNER.0, OWNER.1);
    let auditor = qs.login(AUDITOR.0, AUDITOR.1);

    // `/api/me` shows the roles as stored, not the ones they include.
    let me = expect_json(&qs.me(&owner.access), 200);
    assert_eq!(me["roles"], json!(["owner"]), "{me}");

    // GET /api/reports: admin, owner, auditor; the others get a 403 naming the permission,
    // with the RFC 6750 challenge.
    for pair in [&root, &owner, &auditor] {
        let body = expect_json(&qs.get("/api/reports").bearer(&pair.access).send(), 200);
        assert!(body["reports"].is_array(), "{body}");
    }
    for pair in [&ed, &au, &plain] {
        let response = qs.get("/api/reports").bearer(&pair.access).send();
        assert_error_named(&response, 403, "MissingPermissionError");
        assert!(
            response.json()["message"]
                .as_str()
                .is_some_and(|m| m.contains("`reports:read`")),
            "{response:?}"
        );
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer error=\"insufficient_scope\""),
            "{response:?}"
        );
    }
    assert_error_named(&qs.get("/api/reports").send(), 401, "MissingToken");
    assert_eq!(qs.post("/api/reports").send().status, 405);

    // `owner` satisfies what `admin` and `editor` satisfy; `auditor` only its own.
    expect_json(&qs.get("/api/admin").bearer(&owner.access).send(), 200);
    let article = json!({"title": "By the owner"});
    let response = qs
        .post("/api/articles")
        .bearer(&owner.access)
        .json(&article)
        .send();
    expect_json(&response, 201);
    assert_error_named(
        &qs.get("/api/admin").bearer(&auditor.access).send(),
        403,
        "MissingRoleError",
    );
    let response = qs
        .post("/api/articles")
        .bearer(&auditor.access)
        .json(&article)
        .send();
    assert_error_named(&response, 403, "MissingRoleError");

    // The hierarchy holds after a refresh too (the roles travel in every token).
    let refreshed = expect_json(&qs.refresh_answer(&owner.refresh), 200);
    let access = refreshed["access_token"].as_str().unwrap();
    expect_json(&qs.get("/api/reports").bearer(access).send(), 200);
    expect_json(&qs.get("/api/admin").bearer(access).send(), 200);
}

#[test]
fn change_password_needs_a_fresh_token_and_ends_other_sessions() {
    let qs = Quickstart::start();
    qs.register_confirmed("dan", "dan@example.com", "dan-password-1");
    let other = qs.login("dan", "dan-password-1");
    let current = qs.login("dan", "dan-password-1");
    let refreshed = Pair::from_answer(&qs.refresh_answer(&other.refresh));
    let change = |access: Option<&str>, old: &str, new: &str| {
        let request = qs.post("/api/account/password");
        match access {
            Some(token) => request.bearer(token),
            None => request,
        }
        .json(&json!({"old_password": old, "password": new}))
        .send()
    };

    assert_error_named(
        &change(None, "dan-password-1", "dan-password-2"),
        401,
        "MissingToken",
    );
    assert_error_named(
        &change(Some(&refreshed.access), "dan-password-1", "dan-password-2"),
        401,
        "FreshTokenRequired",
    );
    let wrong_old = change(Some(&current.access), "not-the-password", "dan-password-2");
    assert_eq!(wrong_old.status, 401, "{wrong_old:?}");
    assert_error(&wrong_old, 401);
    assert_error_named(
        &change(Some(&current.access), "dan-password-1", "short"),
        400,
        "WeakPassword",
    );
    let response = qs
        .post("/api/account/password")
        .bearer(&current.access)
        .raw_json(r#"{"old_password": "dan-password-1"}"#)
        .send();
    assert_error(&response, 400);
    // None of that changed anything.
    expect_json(&qs.me(&other.access), 200);

    let body = expect_json(
        &change(Some(&current.access), "dan-password-1", "dan-password-2"),
        200,
    );
    // Every other token of the user is revoked.
    assert_error(&qs.me(&other.access), 401);
    assert_error(&qs.me(&refreshed.access), 401);
    assert_error(&qs.refresh_answer(&refreshed.refresh), 401);
    // The answer may carry a new pair for this client.
    if let Some(access) = body
        .get("tokens")
        .and_then(|t| t.get("access_token"))
        .and_then(Value::as_str)
    {
        expect_json(&qs.me(access), 200);
    }

    assert_error_named(
        &qs.login_answer("dan", "dan-password-1"),
        401,
        "AuthenticationError",
    );
    let after = qs.login("dan", "dan-password-2");
    expect_json(&qs.me(&after.access), 200);
}

// ---------------------------------------------------------------------------------------
// Hostile input
// ---------------------------------------------------------------------------------------

#[test]
fn forged_and_malformed_tokens_are_refused() {
    let qs = Quickstart::start();
    let ed = qs.login(ED.0, ED.1);
    let parts: Vec<&str> = ed.access.split('.').collect();
    let (header, payload, signature) = (parts[0], parts[1], parts[2]);
    let mut claims = jwt_payload(&ed.access);
    claims["roles"] = json!(["admin"]);
    let admin_payload = b64(claims.to_string());
    let mut later = jwt_payload(&ed.access);
    later["exp"] = json!(later["exp"].as_u64().unwrap_or(0) + 86_400);

    let none_header = b64(r#"{"alg":"none","typ":"JWT"}"#);
    // This process builds no Centurion, so jsonwebtoken needs its provider installed (with
    // --all-features both of its backends are on and it cannot choose).
    centurion::install_crypto_provider();
    let other_secret = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!!"),
    )
    .expect("sign with another secret");

    let forged: Vec<(&str, String)> = vec![
        ("alg none", format!("{none_header}.{admin_payload}.")),
        (
            "alg none with a signature",
            format!("{none_header}.{payload}.{signature}"),
        ),
        (
            "alg HS512 in the header",
            format!(
                "{}.{payload}.{signature}",
                b64(r#"{"alg":"HS512","typ":"JWT"}"#)
            ),
        ),
        (
            "alg RS256 in the header",
            format!(
                "{}.{payload}.{signature}",
                b64(r#"{"alg":"RS256","typ":"JWT"}"#)
            ),
        ),
        (
            "a zero signature",
            format!("{header}.{payload}.{}", b64([0u8; 32])),
        ),
        ("signed with another secret", other_secret),
        (
            "roles tampered",
            format!("{header}.{admin_payload}.{signature}"),
        ),
        (
            "expiry tampered",
            format!("{header}.{}.{signature}", b64(later.to_string())),
        ),
        (
            "a truncated signature",
            format!("{header}.{payload}.{}", &signature[..10]),
        ),
        ("no signature", format!("{header}.{payload}.")),
        ("two parts", format!("{header}.{payload}")),
        ("four parts", format!("{}.{signature}", ed.access)),
        ("not base64", "!!!.???.***".to_owned()),
        (
            "a payload that is not JSON",
            format!("{header}.{}.{signature}", b64("not json")),
        ),
        ("an empty payload", format!("{header}..{signature}")),
    ];
    for (what, token) in &forged {
        for path in ["/api/me", "/api/admin"] {
            let response = qs.get(path).bearer(token).send();
            assert_eq!(response.status, 401, "{what} on {path}: {response:?}");
            assert_error(&response, 401);
        }
        let response = qs.refresh_answer(token);
        assert_eq!(response.status, 401, "{what} as refresh: {response:?}");
        assert_error(&response, 401);
    }

    // Authorization headers that are not `Bearer <token>`.
    let with_extra = format!("Bearer {} extra", ed.access);
    for value in [
        "Basic ZWQ6ZWRpdG9yLXBhc3MtMQ==",
        "Bearer",
        "Bearer ",
        "Token abc",
        with_extra.as_str(),
    ] {
        let response = qs.get("/api/me").header("Authorization", value).send();
        assert_eq!(response.status, 401, "Authorization: {value}: {response:?}");
        assert_error(&response, 401);
    }
    // Bytes that are not UTF-8 in the header.
    let response = qs
        .get("/api/me")
        .header("Authorization", b"Bearer \xff\xfe\xfd.\x80.\xc3")
        .send();
    assert_error(&response, 401);

    // 200 KB tokens, in the header and in the cookie: refused before parsing.
    let huge = "a".repeat(200 * 1024);
    let huge_jwt = format!("{header}.{}.{signature}", "A".repeat(200 * 1024));
    for token in [&huge, &huge_jwt] {
        let response = qs.get("/api/me").bearer(token).send();
        assert_error_named(&response, 401, "TokenTooLarge");
        let response = qs
            .get("/api/me")
            .header("Cookie", format!("access_token={token}"))
            .send();
        assert_error(&response, 401);
    }

    // Bytes that are not UTF-8 in the cookie and the CSRF header, and in the path.
    let response = qs
        .get("/api/me")
        .header("Cookie", b"access_token=\xff\xfe; csrf_token=\xc3\x28")
        .send();
    assert_error(&response, 401);
    let response = qs
        .post("/api/articles")
        .header("Cookie", format!("access_token={}", ed.access))
        .header("X-CSRF-Token", b"\xff\xfe\xfd")
        .json(&json!({"title": "x"}))
        .send();
    assert_error_named(&response, 401, "CSRFError");
    assert_error(&qs.get("/api/%ff%fe").send(), 404);

    qs.assert_healthy();
    // The genuine token still works, for its own rights only.
    expect_json(&qs.me(&ed.access), 200);
    assert_error_named(
        &qs.get("/api/admin").bearer(&ed.access).send(),
        403,
        "MissingRoleError",
    );
}

#[test]
fn hostile_bodies_get_json_errors() {
    let qs = Quickstart::start();
    let ed = qs.login(ED.0, ED.1);
    let spare = qs.login(ED.0, ED.1);
    let megabyte_json = |field: &str| {
        format!(
            r#"{{"username":"ed","password":"x","{field}":"{}"}}"#,
            "x".repeat(1 << 20)
        )
    };
    let nested_arrays = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    let nested_objects = format!(
        r#"{{"username":{}1{},"password":"x"}}"#,
        r#"{"a":"#.repeat(10_000),
        "}".repeat(10_000)
    );
    let nested_extra = format!(
        r#"{{"username":"ed","password":"editor-pass-1","extra":{}{}}}"#,
        "[".repeat(30_000),
        "]".repeat(30_000)
    );

    let cases: Vec<(&str, Request)> = vec![
        (
            "1 MB of junk to /auth/register",
            qs.post("/auth/register").raw_json(vec![b'a'; 1 << 20]),
        ),
        (
            "1 MB of JSON to /auth/login",
            qs.post("/auth/login").raw_json(megabyte_json("pad")),
        ),
        (
            "1 MB of chunked JSON to /auth/login",
            qs.post("/auth/login")
                .raw_json(megabyte_json("pad"))
                .chunked(),
        ),
        (
            "1 MB to /api/articles as an editor",
            qs.post("/api/articles")
                .bearer(&ed.access)
                .raw_json(megabyte_json("title")),
        ),
        (
            "1 MB to /auth/logout",
            qs.post("/auth/logout")
                .bearer(&spare.access)
                .raw_json(megabyte_json("refresh_token")),
        ),
        (
            "invalid UTF-8 in a string",
            qs.post("/auth/login")
                .raw_json(b"{\"username\":\"\xff\xfe\",\"password\":\"x\"}".to_vec()),
        ),
        (
            "invalid UTF-8 outside strings",
            qs.post("/auth/register").raw_json(b"\xff\xfe{}".to_vec()),
        ),
        (
            "invalid UTF-8 to /auth/logout",
            qs.post("/auth/logout")
                .bearer(&spare.access)
                .raw_json(b"{\"refresh_token\":\"\xc3\x28\"}".to_vec()),
        ),
        (
            "a lone surrogate",
            qs.post("/auth/login")
                .raw_json(r#"{"username":"\ud800","password":"x"}"#),
        ),
        (
            "a raw NUL in a string",
            qs.post("/auth/register").raw_json(
                b"{\"username\":\"a\0b\",\"email\":\"a@b.c\",\"password\":\"p\"}".to_vec(),
            ),
        ),
        (
            "30 000 nested arrays",
            qs.post("/auth/login").raw_json(nested_arrays.clone()),
        ),
        (
            "10 000 nested objects as the username",
            qs.post("/auth/register").raw_json(nested_objects),
        ),
        (
            "30 000 nested arrays to /api/articles",
            qs.post("/api/articles")
                .bearer(&ed.access)
                .raw_json(nested_arrays),
        ),
        (
            "a number too large",
            qs.post("/auth/login")
                .raw_json(r#"{"username":1e999999,"password":"x"}"#),
        ),
    ];
    for (what, request) in cases {
        let response = request.send();
        assert!(
            response.status == 400 || response.status == 413,
            "{what}: {response:?}"
        );
        assert!(
            response
                .header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{what}: a JSON error: {response:?}"
        );
        assert_error(&response, response.status);
    }

    // Deep nesting under a field the handler ignores: answered (here: logged in or
    // refused), never a crash.
    let response = qs.post("/auth/login").raw_json(nested_extra).send();
    assert!(
        response.status == 200 || response.status == 400,
        "{response:?}"
    );
    if response.status != 200 {
        assert_error(&response, 400);
    }

    qs.assert_healthy();
    expect_json(&qs.me(&ed.access), 200);
    // The refused logouts did not log anyone out.
    expect_json(&qs.me(&spare.access), 200);
}

// ---------------------------------------------------------------------------------------
// Cookie session (HTTP level; the browser test lives elsewhere)
// ---------------------------------------------------------------------------------------

/// A cookie session: the three cookies and the CSRF token of the body.
struct Session {
    access: String,
    refresh: String,
    csrf: String,
}

impl Session {
    #[track_caller]
    fn from_answer(response: &Response) -> Self {
        let body = expect_json(response, 200);
        assert_eq!(keys(&body), ["csrf_token"], "{body}");
        let csrf = body["csrf_token"].as_str().expect("csrf_token").to_owned();
        assert!(!csrf.is_empty());
        assert_eq!(
            response.header("cache-control"),
            Some("no-store"),
            "{response:?}"
        );

        let access = response.set_cookie("access_token");
        let refresh = response.set_cookie("refresh_token");
        let csrf_cookie = response.set_cookie("csrf_token");
        for cookie in [&access, &refresh] {
            assert!(
                cookie.attribute("httponly").is_some(),
                "HttpOnly: {cookie:?}"
            );
        }
        assert!(
            csrf_cookie.attribute("httponly").is_none(),
            "scripts read the CSRF cookie: {csrf_cookie:?}"
        );
        for cookie in [&access, &refresh, &csrf_cookie] {
            let same_site = cookie.attribute("samesite").unwrap_or_default();
            assert!(
                ["lax", "strict"].contains(&same_site.to_ascii_lowercase().as_str()),
                "SameSite: {cookie:?}"
            );
        }
        assert_eq!(access.value.split('.').count(), 3, "{access:?}");
        assert_eq!(refresh.value.split('.').count(), 3, "{refresh:?}");
        assert_eq!(
            csrf_cookie.value, csrf,
            "the CSRF cookie holds the body's token"
        );
        Self {
            access: access.pair(),
            refresh: refresh.pair(),
            csrf,
        }
    }

    fn cookies(&self) -> String {
        format!(
            "{}; {}; csrf_token={}",
            self.access, self.refresh, self.csrf
        )
    }
}

#[test]
fn cookie_session_routes() {
    cookie_session_routes_on(Launch::new());
}

fn cookie_session_routes_on(launch: Launch) {
    let qs = launch.start();
    let login = || {
        qs.post_json(
            "/auth/session",
            &json!({"username": ED.0, "password": ED.1}),
        )
    };
    let session = Session::from_answer(&login());

    let me = qs.get("/api/me").header("Cookie", session.cookies()).send();
    assert_eq!(expect_json(&me, 200)["username"], "ed");

    // Unsafe methods authenticated by the cookie need the CSRF header.
    let article = json!({"title": "From a browser"});
    let post_article = |cookies: &str, csrf: Option<&str>| {
        let request = qs.post("/api/articles").header("Cookie", cookies);
        match csrf {
            Some(token) => request.header("X-CSRF-Token", token),
            None => request,
        }
        .json(&article)
        .send()
    };
    assert_error_named(&post_article(&session.cookies(), None), 401, "CSRFError");
    assert_error_named(
        &post_article(&session.cookies(), Some("not-the-token")),
        401,
        "CSRFError",
    );
    let other = Session::from_answer(&login());
    assert_error_named(
        &post_article(&session.cookies(), Some(&other.csrf)),
        401,
        "CSRFError",
    );
    let created = post_article(&session.cookies(), Some(&session.csrf));
    assert_eq!(created.status, 201, "{created:?}");

    // Refresh: the refresh cookie and the CSRF header.
    let refresh = |s: &Session, csrf: Option<&str>| {
        let request = qs
            .post("/auth/session/refresh")
            .header("Cookie", s.cookies());
        match csrf {
            Some(token) => request.header("X-CSRF-Token", token),
            None => request,
        }
        .send()
    };
    assert_error(&refresh(&session, None), 401);
    let renewed = Session::from_answer(&refresh(&session, Some(&session.csrf)));
    assert_ne!(renewed.access, session.access);
    let me = qs.get("/api/me").header("Cookie", renewed.cookies()).send();
    expect_json(&me, 200);
    let created = post_article(&renewed.cookies(), Some(&renewed.csrf));
    assert_eq!(created.status, 201, "{created:?}");

    // Logout: DELETE with the access cookie and the CSRF header.
    let delete = |s: &Session, csrf: Option<&str>| {
        let request = qs
            .request("DELETE", "/auth/session")
            .header("Cookie", s.cookies());
        match csrf {
            Some(token) => request.header("X-CSRF-Token", token),
            None => request,
        }
        .send()
    };
    assert_error_named(&delete(&renewed, None), 401, "CSRFError");
    let gone = delete(&renewed, Some(&renewed.csrf));
    expect_json(&gone, 200);
    for name in ["access_token", "refresh_token", "csrf_token"] {
        let cookie = gone.set_cookie(name);
        let cleared = cookie.value.is_empty()
            || cookie.attribute("max-age") == Some("0")
            || cookie
                .attribute("expires")
                .is_some_and(|e| e.contains("1970"));
        assert!(cleared, "{name} is cleared: {cookie:?}");
    }
    let me = qs.get("/api/me").header("Cookie", renewed.cookies()).send();
    assert_error(&me, 401);
    assert_error(&refresh(&renewed, Some(&renewed.csrf)), 401);

    // The spent refresh cookie of the first session: refused.
    assert_error(&refresh(&session, Some(&session.csrf)), 401);

    // The other session is independent; bearer requests need no CSRF token.
    let me = qs.get("/api/me").header("Cookie", other.cookies()).send();
    expect_json(&me, 200);
    let bearer = qs.login(ED.0, ED.1);
    let created = qs
        .post("/api/articles")
        .bearer(&bearer.access)
        .json(&article)
        .send();
    assert_eq!(created.status, 201, "{created:?}");

    // Refusals at the door.
    assert_error_named(
        &qs.post_json(
            "/auth/session",
            &json!({"username": ED.0, "password": "wrong-password-1"}),
        ),
        401,
        "AuthenticationError",
    );
    assert_error(&qs.post("/auth/session").raw_json("{").send(), 400);
    assert_error(&qs.post("/auth/session/refresh").send(), 401);
    assert_error(&qs.request("DELETE", "/auth/session").send(), 401);
}

// ---------------------------------------------------------------------------------------
// Shutdown and logs
// ---------------------------------------------------------------------------------------

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_data_survives_a_restart() {
    let mut qs = Quickstart::start();
    qs.register_confirmed("eve", "eve@example.com", "eve-password-1");
    let before = qs.login("eve", "eve-password-1");

    // A login whose head and first bytes have arrived: its handler is running, waiting
    // for the rest of the body (and will then hash the password).
    let body = json!({"username": "eve", "password": "eve-password-1"}).to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", qs.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let head = format!(
        "POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write the head");
    stream
        .write_all(&body.as_bytes()[..10])
        .expect("write the start of the body");
    std::thread::sleep(Duration::from_millis(300));

    qs.terminate();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !qs.stdout().contains("shutting down") {
        assert!(Instant::now() < deadline, "no shutdown: {}", qs.stdout());
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    stream
        .write_all(&body.as_bytes()[10..])
        .expect("write the rest of the body");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.starts_with("HTTP/1.1 200"),
        "the request in flight completes: {text}"
    );
    let json_start = text.find("\r\n\r\n").map_or(0, |i| i + 4);
    let answer: Value = serde_json::from_str(&text[json_start..])
        .unwrap_or_else(|e| panic!("a JSON login answer ({e}): {text}"));
    assert_eq!(answer["token_type"], "Bearer", "{answer}");

    let status = qs
        .wait_exit(Duration::from_secs(15))
        .expect("the server exits after SIGTERM");
    assert!(status.success(), "exit status 0: {status}\n{}", qs.stderr());
    assert!(qs.stdout().contains("server stopped"), "{}", qs.stdout());

    // The SQLite file keeps the users. Sessions live with the revocations, in memory
    // without REDIS_URL: a restart ends them (their tokens are refused, never accepted
    // unchecked), and a new login works.
    assert!(
        std::fs::read_dir(qs.dir())
            .expect("the working directory")
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".db")),
        "the SQLite file lives in the working directory"
    );
    qs.restart_stopped();
    assert_error_named(&qs.me(&before.access), 401, "RevokedTokenError");
    let after = qs.login("eve", "eve-password-1");
    expect_json(&qs.me(&after.access), 200);

    // The administrator's password follows the environment at each start; seeded users
    // that exist are kept.
    qs.set_env("CENTURION_ADMIN_PASSWORD", "root-pass-changed");
    qs.restart();
    qs.login(ADMIN.0, "root-pass-changed");
    assert_error_named(
        &qs.login_answer(ADMIN.0, ADMIN.1),
        401,
        "AuthenticationError",
    );
    qs.login(ED.0, ED.1);
    let status = qs.stop();
    assert!(status.success(), "exit status 0: {status}");
}

#[test]
fn logs_never_hold_passwords_tokens_or_hashes() {
    let mut qs = Launch::new().env("RUST_LOG", "debug").start();
    let passwords = [
        "Log-Pass-One-1",
        "Log-Pass-Two-2",
        "Log-Pass-Three-3",
        "Log-Wrong-Four-4",
        ED.1,
        ADMIN.1,
    ];
    let mut tokens: Vec<String> = Vec::new();

    let confirmation = qs.register("lou", "lou@example.com", passwords[0]);
    expect_json(
        &qs.post_json("/auth/confirm", &json!({ "token": confirmation })),
        200,
    );
    assert_error(&qs.login_answer("lou", passwords[3]), 401);
    let first = qs.login("lou", passwords[0]);
    expect_json(&qs.me(&first.access), 200);
    assert_error(&qs.get("/api/admin").bearer(&first.access).send(), 403);
    let second = Pair::from_answer(&qs.refresh_answer(&first.refresh));
    // A token in a query string, and a wrong-kind token in the header.
    let response = qs
        .get(&format!("/api/me?access_token={}", second.access))
        .send();
    assert_error(&response, 401);
    assert_error(&qs.me(&second.refresh), 401);
    let changed = expect_json(
        &qs.post("/api/account/password")
            .bearer(&first.access)
            .json(&json!({"old_password": passwords[0], "password": passwords[1]}))
            .send(),
        200,
    );
    if let Some(pair) = changed.get("tokens") {
        for field in ["access_token", "refresh_token"] {
            tokens.extend(pair[field].as_str().map(str::to_owned));
        }
    }
    expect_json(
        &qs.post_json(
            "/auth/password/forgot",
            &json!({"email": "lou@example.com"}),
        ),
        202,
    );
    let reset_token = qs.wait_token("lou@example.com", "reset", 1);
    expect_json(
        &qs.post_json(
            "/auth/password/reset",
            &json!({"token": reset_token, "password": passwords[2]}),
        ),
        200,
    );
    let third = qs.login("lou", passwords[2]);
    expect_json(
        &qs.post("/auth/logout")
            .bearer(&third.access)
            .json(&json!({"refresh_token": third.refresh}))
            .send(),
        200,
    );
    let admin = qs.login(ADMIN.0, ADMIN.1);
    let answer = qs.get("/api/admin").bearer(&admin.access).send();
    expect_json(&answer, 200);
    let request_id = answer
        .header("x-request-id")
        .expect("answers carry x-request-id")
        .to_owned();
    let session = qs.post_json(
        "/auth/session",
        &json!({"username": ED.0, "password": ED.1}),
    );
    let session = Session::from_answer(&session);
    expect_json(
        &qs.get("/api/me").header("Cookie", session.cookies()).send(),
        200,
    );
    for pair in [&first, &second, &third, &admin] {
        tokens.push(pair.access.clone());
        tokens.push(pair.refresh.clone());
    }
    for cookie in [&session.access, &session.refresh] {
        tokens.push(
            cookie
                .split_once('=')
                .map(|(_, v)| v.to_owned())
                .unwrap_or_default(),
        );
    }

    let status = qs.stop();
    assert!(status.success(), "{status}");
    let stdout = qs.stdout();
    let stderr = qs.stderr();
    let logs = format!("{}\n{stderr}", support::strip_mails(&stdout));
    assert!(
        logs.contains("DEBUG"),
        "RUST_LOG=debug took effect:\n{logs}"
    );
    assert!(
        logs.contains(&format!("request_id={request_id}")),
        "the request id of the answer is in the log:\n{logs}"
    );
    assert!(
        logs.lines()
            .any(|l| l.contains("path=/api/admin") && l.contains("user_id=")),
        "authenticated requests are logged with the user id:\n{logs}"
    );

    let everything = format!("{stdout}\n{stderr}");
    for password in passwords {
        assert!(
            !everything.contains(password),
            "a password is in the output: {password}"
        );
    }
    for token in &tokens {
        let signature = token.rsplit('.').next().unwrap_or_default();
        assert!(
            !everything.contains(token.as_str()) && !everything.contains(signature),
            "a token is in the output: {token}"
        );
    }
    assert!(!everything.contains("$argon2"), "a hash is in the output");
    // The mailed tokens appear in their mails and nowhere else.
    for token in [&confirmation, &reset_token] {
        assert!(!logs.contains(token.as_str()), "a mailed token is logged");
    }
}

/// Issue 18: accepting the Flask services' tokens (`CENTURION_LEGACY_TOKENS`) changes what
/// the quickstart's own tokens carry (the claims those services read) and how its
/// refresh, registration and reset tokens are told apart from theirs. The core flows keep
/// their meaning with it on: registration and its mail link, login, rotation and reuse
/// detection, logout, the reset link, the cookie session with its CSRF and refresh
/// cookie, and the roles.
#[test]
fn the_core_flows_hold_with_the_flask_tokens_accepted() {
    let flask = || Launch::new().env("CENTURION_LEGACY_TOKENS", "praetorian,jwt-extended");
    register_confirm_and_log_in_on(flask());
    refresh_rotates_and_the_new_access_token_is_not_fresh_on(flask());
    reusing_a_spent_refresh_token_revokes_its_family_on(flask());
    logout_revokes_the_access_token_and_the_session_on(flask());
    forgot_and_reset_password_on(flask());
    cookie_session_routes_on(flask());
    roles_guard_the_api_on(flask());
}

// ---------------------------------------------------------------------------------------
// PostgreSQL and Redis
// ---------------------------------------------------------------------------------------

#[test]
fn the_core_flow_on_postgresql_and_redis() {
    let group = "quickstart e2e on PostgreSQL and Redis";
    let Some(mut pg) = support::servers::PgServer::start(group) else {
        return;
    };
    let Some(redis) = support::servers::RedisServer::start(group) else {
        return;
    };
    let mut qs = Launch::new()
        .env("DATABASE_URL", &pg.url())
        .env("REDIS_URL", &redis.url())
        .start();
    let banner = qs.stdout();
    assert!(
        banner.contains("backend=\"postgres\"") || banner.contains("postgres"),
        "{banner}"
    );
    assert!(banner.contains("Redis"), "{banner}");

    // Registration, confirmation, roles.
    qs.register_confirmed("pia", "pia@example.com", "pia-password-1");
    let pia = qs.login("pia", "pia-password-1");
    let me = expect_json(&qs.me(&pia.access), 200);
    assert_eq!(me["email"], "pia@example.com");
    let ed = qs.login(ED.0, ED.1);
    let created = qs
        .post("/api/articles")
        .bearer(&ed.access)
        .json(&json!({"title": "On PostgreSQL"}))
        .send();
    assert_eq!(created.status, 201, "{created:?}");
    assert_error_named(
        &qs.get("/api/admin").bearer(&pia.access).send(),
        403,
        "MissingRoleError",
    );

    // Rotation, the grace window and reuse detection in Redis.
    let first = qs.login("pia", "pia-password-1");
    let refresh = |token: &str| {
        qs.post("/auth/refresh")
            .header("user-agent", "Owner/1.0")
            .json(&json!({"refresh_token": token}))
            .send()
    };
    let second = Pair::from_answer(&refresh(&first.refresh));
    let replayed = Pair::from_answer(&refresh(&first.refresh));
    assert_eq!(
        replayed.access, second.access,
        "the same pair within the window"
    );
    let thief = qs
        .post("/auth/refresh")
        .header("user-agent", "thief/1.0")
        .json(&json!({"refresh_token": first.refresh}))
        .send();
    assert_error_named(&thief, 401, "RefreshReuseError");
    assert_error(&qs.me(&second.access), 401);
    assert_error(&qs.refresh_answer(&second.refresh), 401);

    // Eight clients presenting one refresh token at once, sessions kept in Redis: inside
    // the grace window they all get the same pair, and the session lives on.
    let raced = qs.login("pia", "pia-password-1");
    let pairs: Vec<Pair> = refresh_at_once(&qs, &raced.refresh, 8)
        .iter()
        .map(Pair::from_answer)
        .collect();
    assert!(
        pairs
            .iter()
            .all(|p| p.access == pairs[0].access && p.refresh == pairs[0].refresh),
        "one pair for all"
    );
    expect_json(&qs.me(&pairs[0].access), 200);

    // The sessions routes on Redis: list (the current one marked), end one by id, end the
    // others.
    let ed_laptop = login_from(&qs, "Laptop/1.0");
    let ed_phone = login_from(&qs, "Phone/2.0");
    let ed_tablet = login_from(&qs, "Tablet/3.0");
    let list = expect_json(
        &qs.get("/api/sessions").bearer(&ed_phone.access).send(),
        200,
    );
    let mine: Vec<&Value> = list
        .as_array()
        .expect("a list")
        .iter()
        .filter(|i| i["user_agent"].as_str().is_some_and(|a| a.ends_with(".0")))
        .collect();
    assert_eq!(mine.len(), 3, "{list:#?}");
    assert_eq!(mine[0]["user_agent"], "Tablet/3.0", "newest first");
    assert_eq!(mine[1]["current"], true);
    let tablet_id = mine[0]["id"].as_str().unwrap().to_owned();
    let ended = qs
        .request("DELETE", &format!("/api/sessions/{tablet_id}"))
        .bearer(&ed_laptop.access)
        .send();
    expect_json(&ended, 200);
    assert_error_named(&qs.me(&ed_tablet.access), 401, "RevokedTokenError");
    assert_error(&qs.refresh_answer(&ed_tablet.refresh), 401);
    let others = expect_json(
        &qs.request("DELETE", "/api/sessions")
            .bearer(&ed_laptop.access)
            .send(),
        200,
    );
    // The phone's, and the session of ed's login without a user agent above.
    assert_eq!(others, json!({"revoked": 2}));
    assert_error_named(&qs.me(&ed_phone.access), 401, "RevokedTokenError");
    expect_json(&qs.me(&ed_laptop.access), 200);
    let list = expect_json(
        &qs.get("/api/sessions").bearer(&ed_laptop.access).send(),
        200,
    );
    assert_eq!(list.as_array().unwrap().len(), 1, "{list:#?}");

    // Logout.
    let session = qs.login("pia", "pia-password-1");
    expect_json(&qs.post("/auth/logout").bearer(&session.access).send(), 200);
    assert_error_named(&qs.me(&session.access), 401, "RevokedTokenError");

    // Concurrent registrations of one username against PostgreSQL.
    let barrier = Arc::new(Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let barrier = barrier.clone();
            let request = qs.post("/auth/register").json(&json!({
                "username": "quinn",
                "email": format!("quinn{i}@example.com"),
                "password": "quinn-password-1",
            }));
            std::thread::spawn(move || {
                barrier.wait();
                request.send()
            })
        })
        .collect();
    let statuses: Vec<u16> = threads
        .into_iter()
        .map(|t| t.join().expect("a registering thread").status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        15,
        "{statuses:?}"
    );

    // Throttling in Redis.
    for attempt in 1..=6 {
        let response = qs.login_answer(AU.0, "wrong-password-1");
        assert_eq!(response.status, 401, "attempt {attempt}: {response:?}");
    }
    let locked = qs.login_answer(AU.0, AU.1);
    assert_error_named(&locked, 429, "TooManyRequests");
    retry_after(&locked);

    // A restart of the application keeps users and revocations.
    qs.restart();
    assert_error_named(&qs.me(&session.access), 401, "RevokedTokenError");
    assert_error(&qs.refresh_answer(&second.refresh), 401);
    expect_json(&qs.me(&pia.access), 200);
    qs.login("pia", "pia-password-1");

    // A store that does not answer: 503 with a JSON error, within the store timeouts,
    // and the server recovers. Redis frozen: the throttle and the revocation checks.
    let fresh = qs.login("pia", "pia-password-1");
    redis.pause();
    let started = Instant::now();
    let login = qs
        .post("/auth/login")
        .json(&json!({"username": "pia", "password": "pia-password-1"}));
    let login = std::thread::spawn(move || login.send());
    let me = qs.me(&fresh.access);
    let login = login.join().expect("the login thread");
    redis.resume();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "fails within the store timeout"
    );
    assert_error_named(&login, 503, "StoreUnavailable");
    assert_error_named(&me, 503, "StoreUnavailable");
    qs.assert_healthy();
    expect_json(&qs.me(&fresh.access), 200);

    // PostgreSQL down: the user store.
    pg.stop();
    let started = Instant::now();
    let response = qs.login_answer("pia", "pia-password-1");
    assert_error_named(&response, 503, "StoreUnavailable");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "fails within the store timeout"
    );
    qs.assert_healthy();
    pg.restart();
    let last = qs.login("pia", "pia-password-1");

    // Redis gone: every request fails (503), but the logs get a line per 10 s, not one or
    // two per request (issue 20.6; before: a warning and an error for each).
    let mut redis = redis;
    redis.stop();
    let before = qs.stdout();
    for _ in 0..40 {
        assert_error_named(&qs.me(&last.access), 503, "StoreUnavailable");
    }
    let logged = qs.stdout()[before.len()..].to_owned();
    let lines = logged
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .count();
    assert!(
        lines <= 4,
        "40 failed requests wrote {lines} warning or error lines:\n{logged}"
    );
    redis.restart();
}
