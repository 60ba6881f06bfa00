//! The quickstart with `CENTURION_OIDC_ISSUER`, `CENTURION_OIDC_AUDIENCE` and
//! `CENTURION_OIDC_ROLES_CLAIM` set, against a real OpenID Provider (`oidc-provider` from
//! npm, started on loopback by `tests/oidc/provider.mjs`): the contract's
//! "More environment" section, over HTTP, in real time (the server runs on the system
//! clock). JWKS fetches are counted on the provider's side (`/__test/stats`).
//!
//! Needs `node` and `npm ci --prefix tests/oidc`; without them each test prints
//! `SKIPPED: quickstart-oidc: …` (a failure under `CI=true`).

// The harness re-exports what the main end-to-end suite uses; this one uses less.
#[allow(unused_imports)]
mod support;

use std::time::{Duration, Instant};

use centurion_testkit::oidc::{
    AUDIENCE, OidcProvider, ProviderOptions, available_or_skip, generate_keys, joined_keys,
};
use centurion_testkit::unique_bytes;
use serde_json::json;
use support::{ADMIN, Launch, Quickstart, Response, assert_error_named, b64, expect_json};

const GROUP: &str = "quickstart-oidc";

fn options() -> ProviderOptions {
    ProviderOptions {
        env: vec![("OIDC_AT_TTL".into(), "3600".into())],
        ..ProviderOptions::default()
    }
}

fn start_provider(specs: &[&str]) -> Option<OidcProvider> {
    if !available_or_skip(GROUP) {
        return None;
    }
    Some(OidcProvider::start_available(
        &generate_keys(specs, true),
        options(),
    ))
}

fn launch(issuer: &str) -> Launch {
    Launch::new()
        .env("CENTURION_OIDC_ISSUER", issuer)
        .env("CENTURION_OIDC_AUDIENCE", AUDIENCE)
}

fn get(qs: &Quickstart, path: &str, token: &str) -> Response {
    qs.get(path).bearer(token).send()
}

/// A token with the claims of `issuer`'s tokens naming `kid`, not signed by it.
fn forged(issuer: &str, kid: &str) -> String {
    let now = centurion_testkit::now();
    let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": kid});
    let payload =
        json!({"iss": issuer, "sub": "mallory", "aud": AUDIENCE, "iat": now, "exp": now + 600});
    format!(
        "{}.{}.{}",
        b64(header.to_string()),
        b64(payload.to_string()),
        b64([9u8; 256])
    )
}

/// Polls (real time) until `done` holds; how long it took, or `None` past `limit`.
fn within(limit: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

#[test]
fn api_routes_accept_the_providers_tokens_beside_the_quickstarts_own() {
    let Some(provider) = start_provider(&["RS256:r1", "ES256:e1"]) else {
        return;
    };
    let qs = launch(&provider.issuer()).start();
    assert!(
        qs.stdout().contains(&provider.issuer()),
        "the banner names the provider: {}",
        qs.stdout()
    );

    let admin = provider.token(&[
        ("x_roles", "admin,editor"),
        ("scope", "api:read reports:read"),
    ]);
    let me = expect_json(&get(&qs, "/api/me", &admin), 200);
    assert_eq!(me["username"], "centurion-test", "{me}");
    assert_eq!(me["roles"], json!(["admin", "editor"]), "{me}");
    assert!(me["id"].as_i64().is_some_and(|id| id < 0), "{me}");
    expect_json(&get(&qs, "/api/admin", &admin), 200);
    let article = qs
        .post("/api/articles")
        .bearer(&admin)
        .json(&json!({"title": "from the provider"}))
        .send();
    expect_json(&article, 201);
    // ES256 as well.
    let es = provider.token(&[("x_alg", "ES256"), ("x_roles", "admin")]);
    expect_json(&get(&qs, "/api/admin", &es), 200);

    // Roles travel in the token: without `admin`, 403.
    let plain = provider.token(&[("x_roles", "author")]);
    assert_error_named(&get(&qs, "/api/admin", &plain), 403, "MissingRoleError");
    expect_json(
        &qs.post("/api/articles")
            .bearer(&plain)
            .json(&json!({"title": "t"}))
            .send(),
        201,
    );
    // Never fresh: the provider, not this server, saw the login.
    let change = qs
        .post("/api/account/password")
        .bearer(&admin)
        .json(&json!({"old_password": "x", "password": "a new password 123"}))
        .send();
    assert_error_named(&change, 401, "FreshTokenRequired");
    // Not a refresh token.
    assert_eq!(qs.refresh_answer(&admin).status, 401);

    // Refused: another audience, expired, another issuer, a forged signature.
    let other_aud = provider.token(&[(
        "x_claims",
        &json!({"aud": "https://other.example"}).to_string(),
    )]);
    assert_error_named(&get(&qs, "/api/me", &other_aud), 401, "InvalidTokenError");
    let expired = provider.token(&[("x_exp", "-120")]);
    assert_error_named(&get(&qs, "/api/me", &expired), 401, "ExpiredAccessError");
    let other_iss = provider.token(&[(
        "x_claims",
        &json!({"iss": "https://evil.example"}).to_string(),
    )]);
    assert_error_named(&get(&qs, "/api/me", &other_iss), 401, "InvalidTokenError");
    assert_error_named(
        &get(&qs, "/api/me", &forged(&provider.issuer(), "r1")),
        401,
        "InvalidTokenError",
    );

    // The quickstart's own tokens keep working beside them.
    let own = qs.login(ADMIN.0, ADMIN.1);
    expect_json(&get(&qs, "/api/admin", &own.access), 200);

    // Logout revokes the provider's token here.
    let out = qs.post("/auth/logout").bearer(&admin).send();
    assert_eq!(out.status, 200, "{out:?}");
    assert_error_named(&get(&qs, "/api/me", &admin), 401, "RevokedTokenError");
    expect_json(&get(&qs, "/api/me", &es), 200);
}

#[test]
fn the_roles_claim_is_a_dotted_path_and_loopback_providers_bypass_proxies() {
    let Some(provider) = start_provider(&["RS256:r1"]) else {
        return;
    };
    // The harness writes the roles at `roles` and `realm_access.roles` by default. The
    // proxy variables name a port where nothing listens: a loopback provider is fetched
    // without any proxy, so they change nothing.
    let dead = format!("http://127.0.0.1:{}", support::free_port());
    let qs = launch(&provider.issuer())
        .env("CENTURION_OIDC_ROLES_CLAIM", "realm_access.roles")
        .env("HTTP_PROXY", &dead)
        .env("http_proxy", &dead)
        .env("ALL_PROXY", &dead)
        .start();
    let token = provider.token(&[("x_roles", "admin")]);
    expect_json(&get(&qs, "/api/admin", &token), 200);
    let nested_only = provider.token(&[
        ("x_roles", "admin"),
        ("x_claims", &json!({"roles": null}).to_string()),
    ]);
    expect_json(&get(&qs, "/api/admin", &nested_only), 200);
    let top_only = provider.token(&[
        ("x_roles", "admin"),
        ("x_claims", &json!({"realm_access": null}).to_string()),
    ]);
    assert_error_named(&get(&qs, "/api/admin", &top_only), 403, "MissingRoleError");
}

#[test]
fn oidc_settings_are_checked_at_start_up() {
    for (vars, culprit) in [
        (
            vec![("CENTURION_OIDC_ISSUER", "https://idp.example.com")],
            "CENTURION_OIDC_AUDIENCE",
        ),
        (
            vec![("CENTURION_OIDC_AUDIENCE", "api")],
            "CENTURION_OIDC_ISSUER",
        ),
        (
            vec![
                ("CENTURION_OIDC_ISSUER", "http://idp.example.com"),
                ("CENTURION_OIDC_AUDIENCE", "api"),
            ],
            "CENTURION_OIDC_ISSUER",
        ),
    ] {
        let dir = support::TempDir::new("quickstart-oidc-bad");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_quickstart"));
        command
            .current_dir(dir.path())
            .env_clear()
            .env("CENTURION_SECRET", support::TEST_SECRET)
            .env(
                "CENTURION_ADDR",
                format!("127.0.0.1:{}", support::free_port()),
            );
        for (name, value) in &vars {
            command.env(name, value);
        }
        let output = command
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run the quickstart");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!output.status.success(), "{vars:?} is refused: {text}");
        assert!(text.contains(culprit), "{vars:?}: names {culprit}: {text}");
    }
}

#[test]
fn the_quickstart_starts_with_the_provider_down_and_accepts_its_tokens_once_it_is_up() {
    if !available_or_skip(GROUP) {
        return;
    }
    let port = support::free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let qs = launch(&issuer).start();
    qs.assert_healthy();
    // Refused (fail closed) while the provider is down; the server's own tokens work.
    assert_error_named(
        &get(&qs, "/api/me", &forged(&issuer, "r1")),
        401,
        "InvalidTokenError",
    );
    let own = qs.login(ADMIN.0, ADMIN.1);
    expect_json(&get(&qs, "/api/me", &own.access), 200);

    let provider = OidcProvider::start_available(
        &generate_keys(&["RS256:r1"], true),
        ProviderOptions {
            port: Some(port),
            ..options()
        },
    );
    let token = provider.token(&[]);
    let took = within(Duration::from_secs(20), || {
        get(&qs, "/api/me", &token).status == 200
    });
    eprintln!("the provider's tokens accepted {took:?} after it came up");
    assert!(
        took.is_some(),
        "not accepted within 20 s of the provider coming up"
    );
}

#[test]
fn keys_survive_an_outage_and_new_keys_arrive_within_15_s() {
    let Some(mut provider) = start_provider(&["RS256:old"]) else {
        return;
    };
    let qs = launch(&provider.issuer()).start();
    let old = provider.token(&[]);
    expect_json(&get(&qs, "/api/me", &old), 200);

    // The provider adds a key and signs with it: usable within 15 s of the previous fetch
    // (which happened before this point).
    let added = generate_keys(&["ES256:new"], true);
    provider.set_keys(&joined_keys(&added, &provider.keys()));
    let reloaded = Instant::now();
    let new = provider.token(&[]);
    let took = within(Duration::from_secs(15), || {
        get(&qs, "/api/me", &new).status == 200
    });
    eprintln!("a key the provider added was usable {took:?} after it was published");
    assert!(took.is_some() && reloaded.elapsed() < Duration::from_secs(16));
    expect_json(&get(&qs, "/api/me", &old), 200);

    // The provider goes down: keys already fetched keep working; unknown kids fail closed.
    provider.stop();
    expect_json(&get(&qs, "/api/me", &old), 200);
    expect_json(&get(&qs, "/api/me", &new), 200);
    assert_error_named(
        &get(&qs, "/api/me", &forged(&provider.issuer(), "unknown")),
        401,
        "InvalidTokenError",
    );
    qs.assert_healthy();
}

#[test]
fn a_burst_of_100_unknown_kids_costs_at_most_5_fetches() {
    let Some(provider) = start_provider(&["RS256:r1"]) else {
        return;
    };
    let qs = launch(&provider.issuer()).start();
    let valid = provider.token(&[]);
    expect_json(&get(&qs, "/api/me", &valid), 200);
    let before = provider.jwks_fetches();
    let issuer = provider.issuer();
    let port = qs.port;
    let threads: Vec<_> = (0..100)
        .map(|i| {
            let token = forged(&issuer, &format!("storm-{i}-{}", b64(unique_bytes())));
            std::thread::spawn(move || {
                support::Request::new(port, "GET", "/api/me")
                    .bearer(&token)
                    .send()
                    .status
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap(), 401);
    }
    expect_json(&get(&qs, "/api/me", &valid), 200);
    // Counted a cool-down later, so the deferred fetch is in too.
    std::thread::sleep(Duration::from_secs(11));
    let fetches = provider.jwks_fetches() - before;
    eprintln!("JWKS fetches for a burst of 100 unknown kids (quickstart): {fetches}");
    assert!(fetches <= 5, "{fetches} fetches");
}
