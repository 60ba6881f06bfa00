//! Tokens of identity providers, against a real OpenID Provider: the `oidc-provider`
//! package from npm (OpenID-certified), started on loopback by each test through
//! `tests/oidc/provider.mjs`, issuing JWT access tokens by client-credentials grants with
//! resource indicators. Requests go over HTTP to `#[secured]` handlers.
//!
//! Time: the instance runs on a `ManualClock` the tests move (cool-downs, refresh
//! schedules, expiry). What is awaited in real time is only the provider and a fetch in
//! progress (`until`, bounded). JWKS fetches are counted on the provider's side
//! (`/__test/stats`).
//!
//! Needs `node` and `npm ci --prefix tests/oidc`; without them each test prints
//! `SKIPPED: oidc: …` (a failure under `CI=true`).

#![cfg(feature = "oidc")]

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::routing::{get, post};
use centurion::clock::ManualClock;
use centurion::testing::TestUser;
use centurion::{
    Centurion, CenturionBuilder, Claims, CurrentUser, ErrorKind, IdentityProviderConfig, Role,
    UserStore, secured,
};
use centurion_testkit::free_port;
use centurion_testkit::http::{Response, Server};
use centurion_testkit::oidc::{
    AUDIENCE, OidcProvider, ProviderOptions, available_or_skip, generate_keys, joined_keys,
};
use centurion_testkit::prelude::*;
use serde_json::{Value, json};

const GROUP: &str = "oidc";

/// The roles `#[secured]` checks in this file.
#[derive(Role, Clone, Copy, Debug, PartialEq)]
#[allow(dead_code)]
enum AppRole {
    Admin,
    Editor,
    Author,
    Auditor,
}

// ---------------------------------------------------------------------------------------
// The application under test.

#[secured]
async fn me(claims: Claims) -> Json<Value> {
    Json(json!({
        "sub": claims.subject(),
        "external_issuer": claims.external_issuer(),
        "roles": claims.roles(),
        "scopes": claims.scopes(),
        "fresh": claims.is_fresh(),
        "client_id": claims.custom("client_id"),
    }))
}

#[secured(roles = "admin")]
async fn admin() -> &'static str {
    "welcome"
}

#[secured(any_of = "editor, author")]
async fn articles() -> (http::StatusCode, &'static str) {
    (http::StatusCode::CREATED, "created")
}

#[secured(fresh)]
async fn fresh_only() -> &'static str {
    "fresh"
}

#[secured]
async fn user(user: CurrentUser<TestUser>) -> Json<Value> {
    Json(json!({"id": user.id, "username": user.username, "roles": user.roles}))
}

#[secured]
async fn logout(
    auth: Centurion<TestUser>,
    claims: Claims,
) -> Result<&'static str, centurion::Error> {
    auth.logout(&claims, None).await?;
    Ok("logged out")
}

fn router(auth: &Centurion<TestUser>) -> Router {
    Router::new()
        .route("/me", get(me))
        .route("/admin", get(admin))
        .route("/articles", post(articles))
        .route("/fresh", get(fresh_only))
        .route("/user", get(user))
        .route("/logout", post(logout))
        .layer(auth.layer())
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// A provider signing with one fresh RS256 key `r1` (and publishing it), tokens valid for
/// three days so that tests can move the instance's clock.
fn provider(extra_env: &[(&str, &str)]) -> Option<OidcProvider> {
    if !available_or_skip(GROUP) {
        return None;
    }
    let keys = generate_keys(&["RS256:r1"], true);
    Some(OidcProvider::start_available(&keys, options(extra_env)))
}

fn options(extra_env: &[(&str, &str)]) -> ProviderOptions {
    let mut env = vec![("OIDC_AT_TTL".to_owned(), "259200".to_owned())];
    env.extend(
        extra_env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    ProviderOptions {
        env,
        ..ProviderOptions::default()
    }
}

fn config_for(provider: &OidcProvider) -> IdentityProviderConfig {
    IdentityProviderConfig::discover(&provider.issuer(), AUDIENCE)
}

/// An instance with its own secret, the provider `config`, the clock, and a server.
async fn serve(
    config: IdentityProviderConfig,
    clock: &ManualClock,
    edit: impl FnOnce(CenturionBuilder<TestUser>) -> CenturionBuilder<TestUser>,
) -> (Centurion<TestUser>, Server) {
    let auth = edit(builder().clock(clock.clone()).identity_provider(config))
        .build()
        .expect("the test configuration is valid");
    let server = Server::start(router(&auth)).await;
    (auth, server)
}

/// Waits (real time, at most 15 s) until `condition` holds.
async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the provider's keys are usable.
async fn keys_arrive(auth: &Centurion<TestUser>) {
    until("the provider's keys", || {
        auth.identity_providers()[0].usable
    })
    .await;
}

/// Waits until `n` fetches have finished.
async fn fetches_reach(auth: &Centurion<TestUser>, n: u64) {
    until(&format!("{n} fetches"), || {
        auth.identity_providers()[0].fetches >= n
    })
    .await;
}

fn fetches(auth: &Centurion<TestUser>) -> u64 {
    auth.identity_providers()[0].fetches
}

/// Waits until every fetch the provider has seen has finished on the instance's side
/// (discovery is read once, at the first fetch).
async fn settled(auth: &Centurion<TestUser>, provider: &OidcProvider) {
    until("the fetches in flight", || {
        fetches(auth) == provider.jwks_fetches()
    })
    .await;
}

async fn call(server: &Server, path: &str, token: &str) -> Response {
    server.get_bearer(path, token).await
}

#[track_caller]
fn error_of(response: &Response) -> String {
    response.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A token with the claims of `issuer`'s tokens, naming `kid`, but not signed by it.
fn forged(issuer: &str, kid: &str) -> String {
    let now = now();
    let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": kid});
    let payload = json!({
        "iss": issuer, "sub": "mallory", "aud": AUDIENCE,
        "exp": now + 600, "iat": now, "jti": b64(unique_bytes()),
    });
    format!(
        "{}.{}.{}",
        b64(header.to_string()),
        b64(payload.to_string()),
        b64([7u8; 256])
    )
}

// ---------------------------------------------------------------------------------------
// Roles, scopes, the principal.

#[tokio::test]
async fn provider_tokens_carry_roles_and_scopes_through_secured() {
    let Some(provider) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    let (_auth, server) = serve(config_for(&provider), &clock, |b| b).await;

    let token = provider.token(&[
        ("x_roles", "admin,editor"),
        ("scope", "api:read reports:read unknown:scope"),
    ]);
    let me = call(&server, "/me", &token).await;
    assert_eq!(me.status, 200, "{me:?}");
    let body = me.json();
    assert_eq!(body["sub"], "centurion-test");
    assert_eq!(body["external_issuer"], provider.issuer());
    assert_eq!(body["roles"], json!(["admin", "editor"]));
    // The provider drops scopes its resource server does not know.
    assert_eq!(body["scopes"], json!(["api:read", "reports:read"]));
    assert_eq!(body["fresh"], false);
    assert_eq!(body["client_id"], "centurion-test");
    assert_eq!(call(&server, "/admin", &token).await.status, 200);
    let created = server
        .build("POST", "/articles")
        .bearer(&token)
        .send_async()
        .await;
    assert_eq!(created.status, 201, "{created:?}");

    let auditor = provider.token(&[("x_roles", "auditor")]);
    let refused = call(&server, "/admin", &auditor).await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert_eq!(error_of(&refused), "MissingRoleError");
    let refused = server
        .build("POST", "/articles")
        .bearer(&auditor)
        .send_async()
        .await;
    assert_eq!(refused.status, 403);
    // No scope requested: no `scope` claim at all.
    assert_eq!(
        call(&server, "/me", &auditor).await.json()["scopes"],
        json!([])
    );
}

/// A provider's token goes through the instance's role table like the instance's own: its
/// roles include what the hierarchy says and grant their permissions, and a scope grants the
/// declared permission of the same name (never a role, never an undeclared name).
#[tokio::test]
async fn provider_tokens_get_the_role_hierarchy_and_scopes_grant_declared_permissions() {
    use centurion_testkit::roles::{OrgRole, Perm};
    let Some(provider) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    for cache in [0, 1 << 20] {
        let (auth, _server) = serve(config_for(&provider), &clock, |b| {
            b.roles::<OrgRole>().verified_cache_bytes(cache)
        })
        .await;
        let owner = provider.token(&[("x_roles", "owner")]);
        // Twice: the second is a cache hit when the cache is on.
        for _ in 0..2 {
            let claims = auth.verify_access(&owner).await.expect("owner's token");
            assert!(
                claims.has_role("admin") && claims.has_role("editor"),
                "cache {cache}"
            );
            assert!(claims.has_permission(Perm::ReportsExport), "cache {cache}");
            assert!(claims.has_permission(Perm::ReportsRead), "cache {cache}");
        }
        let editor = provider.token(&[("x_roles", "editor"), ("scope", "reports:read")]);
        let claims = auth.verify_access(&editor).await.expect("editor's token");
        assert!(
            claims.has_permission(Perm::ReportsRead),
            "a scope of a declared name"
        );
        assert!(!claims.has_permission(Perm::ReportsExport));
        assert!(!claims.has_role("admin"), "a scope never grants a role");
        let plain = provider.token(&[("x_roles", "editor")]);
        let claims = auth
            .verify_access(&plain)
            .await
            .expect("token without scope");
        assert!(!claims.has_permission(Perm::ReportsRead));
        assert_eq!(claims.permissions(), &[] as &[&str]);
    }
}

/// A provider's `sub` is never taken for one of this application's user ids: a provider's
/// token whose `sub` equals a local user's id lists none of that user's sessions, ends none
/// of them, and does not vouch for that user's refresh token at logout.
#[tokio::test]
async fn a_provider_token_never_reaches_the_sessions_of_a_local_user_named_by_its_sub() {
    use centurion::clock::Clock;
    use centurion::memory::MemoryRevocationStore;
    use centurion::{ClientInfo, RevocationStore, SessionLimits, SessionRecord};
    let Some(provider) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    let store = Arc::new(MemoryRevocationStore::new().with_clock(clock.clone()));
    let (auth, _server) = serve(config_for(&provider), &clock, |b| {
        b.revocation_store(store.clone())
    })
    .await;
    let token = provider.token(&[]);
    let claims = auth.verify_access(&token).await.expect("provider token");
    // A local user whose id is the provider's subject, logged in on one device.
    let local = claims.subject().to_owned();
    let now_ms = u64::try_from(
        clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let record = SessionRecord::new(
        "local-session",
        "local-family",
        &local,
        now_ms,
        now_ms / 1000 + 3600,
        ClientInfo::new(Some("the victim's browser"), None),
    );
    store
        .create_session(&record, &SessionLimits::default())
        .await
        .unwrap();
    assert_eq!(auth.sessions_of(&local).await.unwrap().len(), 1);

    assert!(
        auth.sessions(&claims).await.unwrap().is_empty(),
        "listed a local user's sessions"
    );
    assert!(
        !auth
            .revoke_own_session(&claims, "local-session")
            .await
            .unwrap()
    );
    assert_eq!(auth.revoke_other_sessions(&claims).await.unwrap(), 0);
    assert_eq!(
        auth.sessions_of(&local).await.unwrap().len(),
        1,
        "the local session lives"
    );
}

#[tokio::test]
async fn roles_are_read_from_the_configured_path_renamed_and_unprefixed() {
    // The provider writes the roles where Keycloak, Cognito and groups-based IdPs do.
    let Some(provider) = provider(&[(
        "OIDC_ROLE_PATHS",
        "realm_access.roles,resource_access.{client}.roles,cognito:groups",
    )]) else {
        return;
    };
    let clock = ManualClock::new();
    let token = provider.token(&[("x_roles", "ROLE_Administrators,ROLE_editor,author")]);
    for (path, prefix, expected) in [
        (
            "realm_access.roles",
            None,
            json!(["ROLE_Administrators", "ROLE_editor", "author"]),
        ),
        (
            "resource_access.centurion-test.roles",
            Some("ROLE_"),
            json!(["admin", "editor"]),
        ),
        ("cognito:groups", Some("ROLE_"), json!(["admin", "editor"])),
        // Not where this provider writes roles: none, so nothing is granted.
        ("roles", None, json!([])),
    ] {
        let mut config = config_for(&provider)
            .roles_claim(path)
            .rename_role("Administrators", "admin");
        if let Some(prefix) = prefix {
            config = config.role_prefix(prefix);
        }
        let (_auth, server) = serve(config, &clock, |b| b).await;
        let me = call(&server, "/me", &token).await;
        assert_eq!(me.json()["roles"], expected, "{path}");
        let admin = call(&server, "/admin", &token).await.status;
        assert_eq!(
            admin,
            if expected.to_string().contains("\"admin\"") {
                200
            } else {
                403
            },
            "{path}"
        );
    }
}

#[tokio::test]
async fn every_algorithm_the_provider_signs_with_is_verified() {
    if !available_or_skip(GROUP) {
        return;
    }
    let keys = joined_keys(
        &generate_keys(
            &[
                "RS256:rs",
                "PS256:ps",
                "ES256:es",
                "ES384:es384",
                "EdDSA:ed",
            ],
            true,
        ),
        // An RSA key without `alg`, as Entra ID publishes them: RS256 and PS256 both fit.
        &generate_keys(&["RS256:noalg"], false),
    );
    let provider = OidcProvider::start_available(&keys, options(&[]));
    let clock = ManualClock::new();
    for cache in [true, false] {
        let (_auth, server) = serve(config_for(&provider), &clock, |b| {
            if cache { b } else { b.verified_cache_bytes(0) }
        })
        .await;
        for (alg, kid) in [
            ("RS256", "rs"),
            ("PS256", "ps"),
            ("ES256", "es"),
            ("ES384", "es384"),
            ("EdDSA", "ed"),
            ("RS256", "noalg"),
            ("PS256", "noalg"),
        ] {
            let token = provider.token(&[("x_alg", alg), ("x_kid", kid)]);
            assert_eq!(header_of(&token)["alg"], alg);
            let me = call(&server, "/me", &token).await;
            assert_eq!(me.status, 200, "{alg} {kid} (cache {cache}): {me:?}");
            // Twice: the second may come from the cache of verified tokens.
            assert_eq!(call(&server, "/me", &token).await.status, 200);
        }
    }

    // Narrowed to ES256: the others are refused.
    let (_auth, server) = serve(config_for(&provider).algorithms(&["ES256"]), &clock, |b| b).await;
    let rs = provider.token(&[("x_alg", "RS256"), ("x_kid", "rs")]);
    assert_eq!(call(&server, "/me", &rs).await.status, 401);
    let es = provider.token(&[("x_alg", "ES256"), ("x_kid", "es")]);
    assert_eq!(call(&server, "/me", &es).await.status, 200);
    let es384 = provider.token(&[("x_alg", "ES384"), ("x_kid", "es384")]);
    assert_eq!(call(&server, "/me", &es384).await.status, 401);

    // A key verifies only its curve's algorithm: a header naming the other curve's
    // algorithm with a key's kid is refused, however the token was signed.
    let (_auth, server) = serve(config_for(&provider), &clock, |b| b).await;
    let now = now();
    for (alg, kid, signed_with) in [("ES256", "es384", "es384"), ("ES384", "es", "es")] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": kid}).to_string();
        let payload = provider.claims(now, &json!({})).to_string();
        let crossed = provider.sign(Some(signed_with), &header, &payload);
        let refused = call(&server, "/me", &crossed).await;
        assert_eq!(refused.status, 401, "{alg} with {kid}: {refused:?}");
    }
}

#[tokio::test]
async fn typ_is_checked_per_provider() {
    let Some(provider) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    let (_auth, server) = serve(config_for(&provider), &clock, |b| b).await;
    for (typ, status) in [
        ("at+jwt", 200),
        ("AT+JWT", 200),
        ("application/at+jwt", 200),
        ("JWT", 200),
        ("jwt", 200),
        ("id_token+jwt", 401),
        ("JOSE", 401),
    ] {
        let token = provider.token(&[("x_typ", typ)]);
        assert_eq!(
            call(&server, "/me", &token).await.status,
            status,
            "typ {typ}"
        );
    }
    let (_auth, strict) = serve(
        config_for(&provider).token_types(&["at+jwt"]),
        &clock,
        |b| b,
    )
    .await;
    assert_eq!(call(&strict, "/me", &provider.token(&[])).await.status, 200);
    let jwt = provider.token(&[("x_typ", "JWT")]);
    assert_eq!(call(&strict, "/me", &jwt).await.status, 401);
}

// ---------------------------------------------------------------------------------------
// Refusals: audience, issuer, time, algorithms, header keys.

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let Some(provider) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    let config = IdentityProviderConfig::discover(&provider.issuer(), "https://other.example/api");
    let (_auth, server) = serve(config, &clock, |b| b).await;
    let refused = call(&server, "/me", &provider.token(&[])).await;
    assert_eq!(refused.status, 401, "{refused:?}");
    assert!(refused.text().contains("audience"), "{refused:?}");

    // One of several configured audiences is enough; an `aud` list holding it too.
    let config = config_for(&provider).audience("https://other.example/api");
    let (_auth, server) = serve(config, &clock, |b| b).await;
    assert_eq!(call(&server, "/me", &provider.token(&[])).await.status, 200);
    let listed = provider.token(&[(
        "x_claims",
        &json!({"aud": ["https://third.example", AUDIENCE]}).to_string(),
    )]);
    assert_eq!(call(&server, "/me", &listed).await.status, 200);
    let neither = provider.token(&[(
        "x_claims",
        &json!({"aud": ["https://third.example"]}).to_string(),
    )]);
    assert_eq!(call(&server, "/me", &neither).await.status, 401);
}

#[tokio::test]
async fn a_token_of_an_unknown_issuer_is_refused_without_any_fetch() {
    let Some(provider) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    let (auth, server) = serve(config_for(&provider), &clock, |b| b).await;
    keys_arrive(&auth).await;
    let before = provider.stats();
    for issuer in [
        "https://evil.example".to_owned(),
        format!("{}/", provider.issuer()),
        provider.issuer().to_uppercase(),
        format!("{} ", provider.issuer()),
    ] {
        // Signed by the provider itself, with another `iss`.
        let token = provider.token(&[("x_claims", &json!({"iss": issuer}).to_string())]);
        let refused = call(&server, "/me", &token).await;
        assert_eq!(refused.status, 401, "{issuer}: {refused:?}");
        assert!(refused.text().contains("issuer"), "{refused:?}");
        let forged = forged(&issuer, "r1");
        assert_eq!(call(&server, "/me", &forged).await.status, 401);
    }
    let after = provider.stats();
    assert_eq!(before["jwks"], after["jwks"]);
    assert_eq!(before["discovery"], after["discovery"]);

    // Two `iss` claims are refused before routing.
    let now = now();
    let twice = format!(
        "{}.{}.{}",
        b64(json!({"alg": "RS256", "kid": "r1"}).to_string()),
        b64(format!(
            r#"{{"iss":"{}","iss":"https://evil.example","sub":"x","aud":"{AUDIENCE}","exp":{}}}"#,
            provider.issuer(),
            now + 60
        )),
        b64([1u8; 256])
    );
    assert_eq!(call(&server, "/me", &twice).await.status, 401);
}

/// Any number of issuers on one instance: two providers whose keys even share a `kid`
/// (each generated its own `r1`). A token is routed by its `iss` to its provider's keys
/// alone, so a token that names one issuer but is signed with the other's `r1` is refused,
/// while the same header and claims signed by the issuer named pass.
#[tokio::test]
async fn two_providers_each_verify_only_their_own_tokens() {
    let Some(first) = provider(&[]) else {
        return;
    };
    let Some(second) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    let (auth, server) = serve(config_for(&first), &clock, |b| {
        b.identity_provider(config_for(&second))
    })
    .await;
    until("both providers' keys", || {
        auth.identity_providers().iter().all(|p| p.usable)
    })
    .await;
    assert_eq!(auth.identity_providers().len(), 2);
    for provider in [&first, &second] {
        let me = call(&server, "/me", &provider.token(&[])).await;
        assert_eq!(me.status, 200, "{me:?}");
        assert_eq!(me.json()["external_issuer"], provider.issuer());
    }
    let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": "r1"}).to_string();
    for (signer, named) in [(&first, &second), (&second, &first)] {
        let payload = named.claims(now(), &json!({})).to_string();
        let crossed = signer.sign(Some("r1"), &header, &payload);
        let refused = call(&server, "/me", &crossed).await;
        assert_eq!(refused.status, 401, "{refused:?}");
        let own = named.sign(Some("r1"), &header, &payload);
        assert_eq!(call(&server, "/me", &own).await.status, 200);
    }
}

#[tokio::test]
async fn expired_and_early_tokens_are_refused_with_the_providers_leeway() {
    let Some(provider) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    let (_auth, server) = serve(config_for(&provider), &clock, |b| b).await;
    let now = secs_on(&clock);

    let expired = provider.token(&[("x_exp", "-120")]);
    let refused = call(&server, "/me", &expired).await;
    assert_eq!(refused.status, 401);
    assert_eq!(error_of(&refused), "ExpiredAccessError");
    // Expired 10 s ago: within the default 30 s leeway.
    let recent = provider.token(&[("x_exp", "-10")]);
    assert_eq!(call(&server, "/me", &recent).await.status, 200);

    let early = provider.token(&[("x_claims", &json!({"nbf": now + 120}).to_string())]);
    assert_eq!(
        error_of(&call(&server, "/me", &early).await),
        "EarlyTokenError"
    );
    let future = provider.token(&[("x_claims", &json!({"iat": now + 120}).to_string())]);
    assert_eq!(
        error_of(&call(&server, "/me", &future).await),
        "EarlyTokenError"
    );
    let slightly = provider.token(&[("x_claims", &json!({"nbf": now + 20}).to_string())]);
    assert_eq!(call(&server, "/me", &slightly).await.status, 200);

    // The clock passes `exp` + leeway of a remembered token: refused.
    let valid = provider.token(&[("x_exp", "100")]);
    assert_eq!(call(&server, "/me", &valid).await.status, 200);
    clock.advance(Duration::from_secs(129));
    assert_eq!(call(&server, "/me", &valid).await.status, 200);
    clock.advance(Duration::from_secs(2));
    assert_eq!(
        error_of(&call(&server, "/me", &valid).await),
        "ExpiredAccessError"
    );

    // Missing or malformed registered claims, signed with the provider's key.
    let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": "r1"}).to_string();
    let fine = provider.sign(None, &header, &provider.claims(now, &json!({})).to_string());
    assert_eq!(call(&server, "/me", &fine).await.status, 200);
    for claims in [
        json!({"exp": null}),
        json!({"sub": null}),
        json!({"sub": ""}),
        json!({"sub": 7}),
        json!({"aud": null}),
        json!({"aud": [AUDIENCE, 7]}),
        json!({"exp": "soon"}),
        json!({"exp": -5}),
        json!({"nbf": true}),
        json!({"jti": 5}),
        json!({"scope": ["a"]}),
        json!({"scp": {"a": 1}}),
        // No `iat`; or living longer than the instance remembers a revocation (its
        // longest token lifetime: service tokens, 365 days by default).
        json!({"iat": null}),
        json!({"exp": now + 366 * 86_400}),
    ] {
        let token = provider.sign(None, &header, &provider.claims(now, &claims).to_string());
        let refused = call(&server, "/me", &token).await;
        assert_eq!(refused.status, 401, "{claims}: {refused:?}");
        assert_eq!(error_of(&refused), "InvalidTokenError", "{claims}");
    }
}

#[tokio::test]
async fn the_payload_is_decoded_strictly() {
    let Some(provider) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    let (_auth, server) = serve(
        config_for(&provider).roles_claim("realm_access.roles"),
        &clock,
        |b| b,
    )
    .await;
    let now = secs_on(&clock);
    let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": "r1"}).to_string();
    let claims = provider.claims(now, &json!({})).to_string();
    let body = &claims[1..claims.len() - 1];
    for (what, payload, status) in [
        ("as the provider writes it", format!("{{{body}}}"), 200),
        ("a claim twice", format!(r#"{{{body},"sub":"admin"}}"#), 401),
        (
            "a claim twice, once escaped",
            format!(r#"{{{body},"sub":"admin"}}"#),
            401,
        ),
        (
            "a nested name twice",
            format!(r#"{{{body},"realm_access":{{"roles":["user"],"roles":["admin"]}}}}"#),
            401,
        ),
        (
            "a nested name once",
            format!(r#"{{{body},"realm_access":{{"roles":["admin"]}}}}"#),
            200,
        ),
        ("not an object", "[1]".to_owned(), 401),
        ("trailing data", format!("{{{body}}} {{}}"), 401),
        (
            "too deep",
            format!(r#"{{{body},"x":{}1{}}}"#, "[".repeat(300), "]".repeat(300)),
            401,
        ),
    ] {
        let token = provider.sign(None, &header, &payload);
        assert_eq!(call(&server, "/me", &token).await.status, status, "{what}");
    }
}

#[tokio::test]
async fn required_claims_are_enforced() {
    let Some(provider) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    let config = config_for(&provider).require_claims(&["jti", "client_id"]);
    let (_auth, server) = serve(config, &clock, |b| b).await;
    assert_eq!(call(&server, "/me", &provider.token(&[])).await.status, 200);
    let without = provider.token(&[("x_claims", &json!({"client_id": null}).to_string())]);
    let refused = call(&server, "/me", &without).await;
    assert_eq!(refused.status, 401);
    assert!(refused.text().contains("client_id"), "{refused:?}");
}

#[tokio::test]
async fn hmac_none_and_keys_named_by_the_token_are_refused() {
    let Some(provider) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    let (auth, server) = serve(config_for(&provider), &clock, |b| {
        b.issuer("https://api.example.com")
    })
    .await;
    keys_arrive(&auth).await;
    let issuer = provider.issuer();
    let now = now();
    let payload = json!({"iss": issuer, "sub": "x", "aud": AUDIENCE, "exp": now + 60});

    // HS256 with the instance's own secret and with the provider's issuer: never accepted
    // from a provider, and never verified with the instance's keys.
    let hs = sign_json_text(
        &auth,
        &json!({"alg": "HS256", "typ": "JWT"}).to_string(),
        &payload.to_string(),
    );
    assert_eq!(call(&server, "/me", &hs).await.status, 401);
    for alg in ["none", "None", "HS256", "HS512"] {
        let token = format!(
            "{}.{}.{}",
            b64(json!({"alg": alg, "kid": "r1"}).to_string()),
            b64(payload.to_string()),
            b64("x")
        );
        assert_eq!(call(&server, "/me", &token).await.status, 401, "{alg}");
    }

    // The provider's own signature on a token that names no issuer, or this instance's:
    // routed to the instance's keys, which do not hold the provider's.
    for iss in [Value::Null, json!("https://api.example.com")] {
        let token = provider.token(&[("x_claims", &json!({"iss": iss}).to_string())]);
        assert_eq!(call(&server, "/me", &token).await.status, 401, "iss {iss}");
    }

    // Keys linked from or embedded in the header: refused, never fetched; and the other
    // header rules of the instance's own tokens. Each signed with the provider's key.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let trap = format!(
        "http://127.0.0.1:{}/jwks",
        listener.local_addr().unwrap().port()
    );
    let claims = provider.claims(now, &json!({})).to_string();
    let base = r#""alg":"RS256","typ":"at+jwt","kid":"r1""#;
    let fine = provider.sign(None, &format!("{{{base}}}"), &claims);
    assert_eq!(call(&server, "/me", &fine).await.status, 200);
    for extra in [
        format!(r#""jku":"{trap}""#),
        format!(r#""x5u":"{trap}""#),
        r#""jwk":{"kty":"oct","k":"AAAA"}"#.to_owned(),
        r#""x5c":["MIIB"]"#.to_owned(),
        r#""crit":["exp"],"exp":1"#.to_owned(),
        r#""cty":"JWT""#.to_owned(),
        r#""b64":false"#.to_owned(),
        r#""jku":null"#.to_owned(),
        r#""kid":"r1""#.to_owned(),
        r#""kid":null"#.to_owned(),
        r#""typ":"at+jwt""#.to_owned(),
    ] {
        let token = provider.sign(None, &format!("{{{base},{extra}}}"), &claims);
        let refused = call(&server, "/me", &token).await;
        assert_eq!(refused.status, 401, "{extra}: {refused:?}");
    }
    assert!(
        listener.accept().is_err(),
        "a URL from a token header was fetched"
    );

    // The same header parameters made by the provider itself: refused too.
    for header in [json!({"jku": trap}), json!({"x5u": trap})] {
        let token = provider.token(&[("x_header", &header.to_string())]);
        assert_eq!(call(&server, "/me", &token).await.status, 401, "{header}");
    }
    assert!(
        listener.accept().is_err(),
        "a URL from a token header was fetched"
    );
}

#[tokio::test]
async fn a_token_without_typ_is_accepted_only_where_jwt_is() {
    let Some(provider) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    let claims = provider.claims(secs_on(&clock), &json!({})).to_string();
    let token = provider.sign(None, r#"{"alg":"RS256","kid":"r1"}"#, &claims);
    let (_auth, server) = serve(config_for(&provider), &clock, |b| b).await;
    assert_eq!(call(&server, "/me", &token).await.status, 200);
    let (_auth, strict) = serve(
        config_for(&provider).token_types(&["at+jwt"]),
        &clock,
        |b| b,
    )
    .await;
    assert_eq!(call(&strict, "/me", &token).await.status, 401);
}

// ---------------------------------------------------------------------------------------
// Keys: rotation, outages, unknown kids, discovery.

#[tokio::test]
async fn a_rotated_key_works_once_fetched_and_a_removed_key_stops_working() {
    if !available_or_skip(GROUP) {
        return;
    }
    let old = generate_keys(&["RS256:old"], true);
    let new = generate_keys(&["ES256:new"], true);
    let mut provider = OidcProvider::start_available(&old, options(&[]));
    let clock = ManualClock::new();
    let (auth, server) = serve(config_for(&provider), &clock, |b| b).await;
    let old_token = provider.token(&[]);
    assert_eq!(call(&server, "/me", &old_token).await.status, 200);
    let first = fetches(&auth);

    // The provider restarts signing with a new key, the old one still published.
    provider.stop();
    provider.write_keys(&joined_keys(&new, &old));
    provider.restart();
    let new_token = provider.token(&[]);
    assert_eq!(header_of(&new_token)["kid"], "new");
    // Within 10 s of the last fetch: refused at once, no fetch; one follows at 10 s.
    clock.advance(Duration::from_secs(9));
    let early = call(&server, "/me", &new_token).await;
    assert_eq!(early.status, 401, "{early:?}");
    assert_eq!(fetches(&auth), first);
    clock.advance(Duration::from_secs(1));
    // 10 s after the last fetch: this token's own fetch, which it waits for.
    let ok = call(&server, "/me", &new_token).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(fetches(&auth), first + 1);
    assert_eq!(call(&server, "/me", &old_token).await.status, 200);

    // The old key leaves. Its tokens keep working until the next fetch shows it gone,
    // then stop at once, also when remembered by the cache of verified tokens.
    provider.stop();
    provider.write_keys(&new);
    provider.restart();
    assert_eq!(call(&server, "/me", &old_token).await.status, 200);
    let before = fetches(&auth);
    clock.advance(Duration::from_secs(3600));
    // Due by the clock: this request wakes the refresher and is answered with the keys
    // it holds.
    let _ = call(&server, "/me", &new_token).await;
    fetches_reach(&auth, before + 1).await;
    let refused = call(&server, "/me", &old_token).await;
    assert_eq!(refused.status, 401, "{refused:?}");
    assert_eq!(call(&server, "/me", &new_token).await.status, 200);
}

#[tokio::test]
async fn while_the_provider_is_down_fetched_keys_keep_working_and_unknown_kids_fail_closed() {
    let Some(mut provider) = provider(&[]) else {
        return;
    };
    for cache in [true, false] {
        let clock = ManualClock::new();
        let (auth, server) = serve(config_for(&provider), &clock, |b| {
            if cache { b } else { b.verified_cache_bytes(0) }
        })
        .await;
        let token = provider.token(&[]);
        let other = provider.token(&[("x_roles", "editor")]);
        assert_eq!(call(&server, "/me", &token).await.status, 200);

        provider.stop();
        assert_eq!(
            call(&server, "/me", &token).await.status,
            200,
            "cache {cache}"
        );
        // A token first seen during the outage, signed with a held key: accepted too.
        assert_eq!(call(&server, "/me", &other).await.status, 200);

        // The scheduled refresh fails: the keys are kept (stale-if-error).
        let before = auth.identity_providers()[0].failures;
        clock.advance(Duration::from_secs(3600));
        let _ = call(&server, "/me", &token).await;
        until("a failed refresh", || {
            auth.identity_providers()[0].failures > before
        })
        .await;
        assert_eq!(call(&server, "/me", &token).await.status, 200);

        // An unknown key id: a fetch is tried, fails, and the token is refused.
        clock.advance(Duration::from_secs(60));
        let unknown = forged(&provider.issuer(), "rotated-in-during-the-outage");
        let refused = call(&server, "/me", &unknown).await;
        assert_eq!(refused.status, 401, "{refused:?}");

        // Past max_stale (24 h after the last success): the held keys stop too.
        clock.advance(Duration::from_secs(24 * 3600));
        let refused = call(&server, "/me", &token).await;
        assert_eq!(refused.status, 401, "{refused:?}");
        assert!(!auth.identity_providers()[0].usable);

        // The provider comes back: the next due fetch succeeds and the token works again.
        provider.restart();
        clock.advance(Duration::from_secs(60));
        let _ = call(&server, "/me", &token).await;
        keys_arrive(&auth).await;
        assert_eq!(call(&server, "/me", &token).await.status, 200);
    }
}

#[tokio::test]
async fn a_storm_of_unknown_kids_costs_at_most_a_fetch_per_cooldown() {
    let Some(provider) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    let (auth, server) = serve(config_for(&provider), &clock, |b| b).await;
    keys_arrive(&auth).await;
    let valid = provider.token(&[]);
    assert_eq!(call(&server, "/me", &valid).await.status, 200);
    let start = provider.jwks_fetches();
    let base = fetches(&auth);
    clock.advance(Duration::from_secs(10));

    // 100 tokens naming random kids, at once.
    let issuer = provider.issuer();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let token = forged(&issuer, &format!("random-{i}-{}", b64(unique_bytes())));
        let server = server.addr;
        tasks.push(tokio::spawn(async move {
            centurion_testkit::http::Request::new(server.port(), "GET", "/me")
                .bearer(&token)
                .send_async()
                .await
                .status
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 401);
    }
    assert_eq!(call(&server, "/me", &valid).await.status, 200);
    settled(&auth, &provider).await;
    assert_eq!(fetches(&auth) - base, provider.jwks_fetches() - start);
    let burst = provider.jwks_fetches() - start;
    eprintln!("JWKS fetches for a burst of 100 unknown kids: {burst}");
    assert!((1..=2).contains(&burst), "{burst} fetches for the burst");

    // 100 more, spread over 40 s of the instance's clock (one every 0.4 s): one fetch per
    // 10 s of cool-down at most, plus the one the burst deferred.
    let spread_start = provider.jwks_fetches();
    for i in 0..100 {
        clock.advance(Duration::from_millis(400));
        let token = forged(&issuer, &format!("spread-{i}-{}", b64(unique_bytes())));
        assert_eq!(call(&server, "/me", &token).await.status, 401);
    }
    settled(&auth, &provider).await;
    let spread = provider.jwks_fetches() - spread_start;
    eprintln!("JWKS fetches for 100 unknown kids over 40 s: {spread}");
    assert!(spread <= 5, "{spread} fetches over 40 s");
    assert_eq!(call(&server, "/me", &valid).await.status, 200);
}

#[tokio::test]
async fn discovery_that_names_another_issuer_is_refused() {
    if !available_or_skip(GROUP) {
        return;
    }
    // The provider says its issuer is http://localhost:PORT; it is asked at 127.0.0.1.
    let keys = generate_keys(&["RS256:r1"], true);
    let provider = OidcProvider::start_available(
        &keys,
        ProviderOptions {
            issuer: Some("http://localhost:{port}".to_owned()),
            ..options(&[])
        },
    );
    let configured = provider.base();
    let clock = ManualClock::new();
    let (auth, server) = serve(
        IdentityProviderConfig::discover(&configured, AUDIENCE),
        &clock,
        |b| b,
    )
    .await;
    until("a failed discovery", || {
        auth.identity_providers()[0].failures >= 1
    })
    .await;
    assert_eq!(
        provider.jwks_fetches(),
        0,
        "the JWKS of a mismatched discovery was fetched"
    );
    let token = provider.token(&[("x_claims", &json!({"iss": configured}).to_string())]);
    let refused = call(&server, "/me", &token).await;
    assert_eq!(refused.status, 401, "{refused:?}");
    assert!(!auth.identity_providers()[0].usable);

    // Configured with the issuer discovery names: accepted.
    let (auth, server) = serve(
        IdentityProviderConfig::discover(&provider.issuer(), AUDIENCE),
        &clock,
        |b| b,
    )
    .await;
    keys_arrive(&auth).await;
    assert_eq!(call(&server, "/me", &provider.token(&[])).await.status, 200);
}

#[tokio::test]
async fn start_up_does_not_wait_for_a_provider_that_is_down() {
    if !available_or_skip(GROUP) {
        return;
    }
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let clock = ManualClock::new();
    let (auth, server) = serve(
        IdentityProviderConfig::discover(&issuer, AUDIENCE),
        &clock,
        |b| b,
    )
    .await;
    // The instance serves; the provider's tokens are refused (fail closed), its own work.
    until("a failed fetch", || {
        auth.identity_providers()[0].failures >= 1
    })
    .await;
    let refused = call(&server, "/me", &forged(&issuer, "r1")).await;
    assert_eq!(refused.status, 401);
    assert!(refused.text().contains("not available"), "{refused:?}");
    let own = auth
        .issue_pair(&TestUser::new(1, "ada", &[]))
        .await
        .unwrap();
    assert_eq!(call(&server, "/me", &own.access_token).await.status, 200);

    // The provider comes up. Retries run at most 5 s apart (by the instance's clock).
    let keys = generate_keys(&["RS256:r1"], true);
    let provider = OidcProvider::start_available(
        &keys,
        ProviderOptions {
            port: Some(port),
            ..options(&[])
        },
    );
    clock.advance(Duration::from_secs(5));
    let token = provider.token(&[]);
    let _ = call(&server, "/me", &token).await;
    keys_arrive(&auth).await;
    assert_eq!(call(&server, "/me", &token).await.status, 200);
}

// ---------------------------------------------------------------------------------------
// Revocation, freshness, users.

#[tokio::test]
async fn revocation_applies_to_provider_tokens_apart_from_local_users() {
    let Some(provider) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    for cache in [true, false] {
        let (auth, server) = serve(config_for(&provider), &clock, |b| {
            if cache { b } else { b.verified_cache_bytes(0) }
        })
        .await;
        // Logout revokes the provider's token by its jti.
        let token = provider.token(&[]);
        assert_eq!(call(&server, "/me", &token).await.status, 200);
        let out = server
            .build("POST", "/logout")
            .bearer(&token)
            .send_async()
            .await;
        assert_eq!(out.status, 200, "{out:?}");
        let refused = call(&server, "/me", &token).await;
        assert_eq!(error_of(&refused), "RevokedTokenError", "cache {cache}");
        // A revocation lasts as long as the token is accepted: past `exp`, within the
        // provider's 30 s leeway, a revoked token is still refused (it was accepted again
        // when the record of its revocation ended at `exp`). Signed by the provider's key
        // on the instance's clock, which the loop has moved ahead of the provider's.
        let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": "r1"}).to_string();
        let now = secs_on(&clock);
        let short = provider.sign(
            None,
            &header,
            &provider.claims(now, &json!({"exp": now + 100})).to_string(),
        );
        assert_eq!(call(&server, "/me", &short).await.status, 200);
        let out = server
            .build("POST", "/logout")
            .bearer(&short)
            .send_async()
            .await;
        assert_eq!(out.status, 200, "{out:?}");
        clock.advance(Duration::from_secs(110));
        let refused = call(&server, "/me", &short).await;
        assert_eq!(
            error_of(&refused),
            "RevokedTokenError",
            "cache {cache}: {refused:?}"
        );
        clock.advance(Duration::from_secs(30));
        assert_eq!(
            error_of(&call(&server, "/me", &short).await),
            "ExpiredAccessError"
        );

        // The provider's other tokens are untouched.
        let second = provider.token(&[]);
        assert_eq!(call(&server, "/me", &second).await.status, 200);

        // A local user whose id is the provider's subject is not the provider's user.
        auth.revoke_user("centurion-test").await.unwrap();
        assert_eq!(call(&server, "/me", &second).await.status, 200);
        let local = auth
            .issue_pair(&TestUser::new(7, "ada", &[]))
            .await
            .unwrap();
        auth.revoke_external_user(&provider.issuer(), "7")
            .await
            .unwrap();
        assert_eq!(call(&server, "/me", &local.access_token).await.status, 200);
        // An issuer that is not configured revokes nothing and says so.
        let typo = auth
            .revoke_external_user("https://other.example", "centurion-test")
            .await
            .unwrap_err();
        assert_eq!(typo.kind(), ErrorKind::ConfigurationError);
        assert_eq!(call(&server, "/me", &second).await.status, 200);

        // Revoking the provider's user refuses every token it has now (issued before the
        // instance's clock, which runs ahead of the provider's here).
        clock.advance(Duration::from_secs(60));
        // A token the provider issued just before, by a clock running 20 s ahead of the
        // instance's (within its 30 s leeway).
        let ahead_iat = secs_on(&clock) + 20;
        let ahead = provider.sign(
            None,
            &header,
            &provider.claims(ahead_iat, &json!({})).to_string(),
        );
        assert_eq!(call(&server, "/me", &ahead).await.status, 200);
        auth.revoke_external_user(&provider.issuer(), "centurion-test")
            .await
            .unwrap();
        assert_eq!(
            error_of(&call(&server, "/me", &second).await),
            "RevokedTokenError"
        );
        assert_eq!(
            error_of(&call(&server, "/me", &ahead).await),
            "RevokedTokenError"
        );
        // Tokens the provider issues past the leeway after the revocation are accepted.
        clock.advance(Duration::from_secs(32));
        let later = provider.sign(
            None,
            &header,
            &provider.claims(secs_on(&clock), &json!({})).to_string(),
        );
        assert_eq!(call(&server, "/me", &later).await.status, 200);
    }
}

#[tokio::test]
async fn provider_tokens_are_never_fresh_refresh_or_single_use_tokens() {
    let Some(provider) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    let (auth, server) = serve(config_for(&provider), &clock, |b| b).await;
    let token = provider.token(&[(
        "x_claims",
        &json!({"fresh": true, "type": "refresh", "fam": "f"}).to_string(),
    )]);
    let refused = call(&server, "/fresh", &token).await;
    assert_eq!(error_of(&refused), "FreshTokenRequired");
    let claims = auth.verify_access(&token).await.unwrap();
    assert!(!claims.is_fresh());
    assert_eq!(claims.family(), None);
    assert_eq!(claims.kind(), centurion::TokenKind::Access);
    assert_eq!(claims.raw_claims()["type"], "refresh");
    assert_eq!(
        auth.refresh(&token).await.unwrap_err().kind(),
        ErrorKind::MisusedAccessToken
    );
    assert_eq!(
        auth.confirm_registration(&token).await.unwrap_err().kind(),
        ErrorKind::InvalidTokenError
    );
    assert_eq!(
        auth.reset_password(&token, "a new password 123")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidTokenError
    );
}

/// A store that links provider subjects to users and counts its external look-ups.
#[derive(Clone, Default)]
struct Linked {
    calls: Arc<AtomicUsize>,
}

impl UserStore<TestUser> for Linked {
    async fn lookup(&self, _: &str) -> centurion::Result<Option<TestUser>> {
        Ok(None)
    }
    async fn identify(&self, _: &str) -> centurion::Result<Option<TestUser>> {
        Ok(None)
    }
    async fn update_password_hash(&self, _: &str, _: &str) -> centurion::Result<()> {
        Ok(())
    }
    async fn identify_external(
        &self,
        issuer: &str,
        subject: &str,
    ) -> centurion::Result<Option<TestUser>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(
            (subject == "centurion-test" && issuer.starts_with("http://127.0.0.1:"))
                .then(|| TestUser::new(41, "linked", &["editor"])),
        )
    }
}

#[tokio::test]
async fn current_user_of_a_provider_token_comes_from_the_store_or_the_hook() {
    let Some(provider) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    let token = provider.token(&[("x_roles", "admin")]);

    // No store link, no hook: the user does not exist here.
    let (_auth, server) = serve(config_for(&provider), &clock, |b| b).await;
    let refused = call(&server, "/user", &token).await;
    assert_eq!(refused.status, 401);
    assert_eq!(error_of(&refused), "MissingUserError");

    // The store links the provider's subject to a user.
    let store = Linked::default();
    let (_auth, server) = serve(config_for(&provider), &clock, |b| {
        b.user_store(store.clone())
    })
    .await;
    let user = call(&server, "/user", &token).await;
    assert_eq!(
        user.json(),
        json!({"id": 41, "username": "linked", "roles": ["editor"]})
    );
    assert_eq!(store.calls.load(Ordering::SeqCst), 1);

    // A hook provisions users the store does not know; it is not asked for linked ones.
    let provisioned = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&provisioned);
    let (_auth, server) = serve(
        IdentityProviderConfig::discover(&provider.issuer(), AUDIENCE),
        &clock,
        move |b| {
            b.user_store(Linked::default())
                .provision_external_users(move |claims: Claims| {
                    let seen = Arc::clone(&seen);
                    async move {
                        seen.fetch_add(1, Ordering::SeqCst);
                        let roles: Vec<&str> = claims.roles().iter().map(String::as_str).collect();
                        Ok(Some(TestUser::new(-1, claims.subject(), &roles)))
                    }
                })
        },
    )
    .await;
    assert_eq!(call(&server, "/user", &token).await.json()["id"], 41);
    assert_eq!(provisioned.load(Ordering::SeqCst), 0);
    let stranger = provider.token(&[("x_claims", &json!({"sub": "stranger"}).to_string())]);
    let user = call(&server, "/user", &stranger).await;
    assert_eq!(
        user.json(),
        json!({"id": -1, "username": "stranger", "roles": ["admin"]})
    );
    assert_eq!(provisioned.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_instance_without_a_signing_key_accepts_only_its_providers_tokens() {
    let Some(provider) = provider(&[]) else {
        return;
    };
    let clock = ManualClock::new();
    let auth = Centurion::<TestUser>::builder()
        .identity_provider(config_for(&provider))
        .user_store(centurion::memory::MemoryUserStore::new())
        .clock(clock.clone())
        .build()
        .expect("no secret is needed");
    let server = Server::start(router(&auth)).await;
    assert_eq!(call(&server, "/me", &provider.token(&[])).await.status, 200);
    let err = auth
        .issue_pair(&TestUser::new(1, "ada", &[]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigurationError);
    assert_eq!(auth.jwks(), json!({"keys": []}));
    // A token of this instance's shape (no `iss`) has no keys to be verified with.
    let other = builder().build().unwrap();
    let pair = other
        .issue_pair(&TestUser::new(1, "ada", &[]))
        .await
        .unwrap();
    let refused = call(&server, "/me", &pair.access_token).await;
    assert_eq!(refused.status, 401, "{refused:?}");
}

// ---------------------------------------------------------------------------------------
// Configuration.

#[test]
fn provider_configuration_mistakes_are_start_up_errors() {
    let build = |config: IdentityProviderConfig| {
        builder()
            .issuer("https://api.example.com")
            .identity_provider(config)
            .build()
            .map(|_| ())
            .map_err(|e| e.message().to_owned())
    };
    let base = || IdentityProviderConfig::discover("https://idp.example.com", "api");
    assert!(
        build(base()).is_ok(),
        "built outside a runtime, nothing fetched"
    );
    for (config, mention) in [
        (
            IdentityProviderConfig::discover("http://idp.example.com", "api"),
            "http",
        ),
        (base().jwks_uri("http://keys.example.com/jwks"), "http"),
        (base().leeway(Duration::from_secs(61)), "60 s"),
        (base().algorithms(&["HS256"]), "HMAC"),
        (base().algorithms(&["none"]), "unknown algorithm"),
        (
            IdentityProviderConfig {
                audiences: vec![],
                ..base()
            },
            "audiences",
        ),
        (
            IdentityProviderConfig::discover("https://api.example.com", "api"),
            "own issuer",
        ),
        (base().roles_claim("realm_access..roles"), "roles_claim"),
    ] {
        let err = build(config).unwrap_err();
        assert!(err.contains(mention), "{err} should mention {mention}");
    }
    // Plain http off loopback, allowed explicitly.
    let lax = IdentityProviderConfig {
        allow_insecure_http: true,
        ..IdentityProviderConfig::discover("http://idp.example.com", "api")
    };
    assert!(build(lax).is_ok());
    // The same provider twice.
    let twice = builder()
        .identity_provider(base())
        .identity_provider(base())
        .build();
    assert!(twice.unwrap_err().message().contains("twice"));
}

// ---------------------------------------------------------------------------------------
// The fetch's bounds, against a key server of our own on loopback (no node needed): the
// keys of an RS256 instance, and answers no provider should give.

/// An instance signing RS256 with the test key `k1`: its JWKS is the key server's, and
/// `dangerous::sign_payload` makes the "provider's" tokens.
fn rs256_signer() -> Centurion<TestUser> {
    builder_without_secret()
        .algorithm("RS256")
        .key_pair_pem(&key("rsa_private.pem"), &key("rsa_public.pem"))
        .kid("k1")
        .build()
        .unwrap()
}

fn builder_without_secret() -> CenturionBuilder<TestUser> {
    Centurion::<TestUser>::builder()
        .password(cheap_passwords())
        .user_store(centurion::memory::MemoryUserStore::new())
}

/// This machine's address on its default route, when it has one that is not loopback.
fn outward_ip() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // No packet is sent: connecting a UDP socket only picks the route.
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Serves `jwks` at `/jwks` on `ip` (a task that ends with the test's runtime); its URL.
async fn serve_jwks_on(ip: std::net::IpAddr, jwks: Value) -> Option<String> {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.ok()?;
    let addr = listener.local_addr().ok()?;
    let router = Router::new().route("/jwks", get(move || async move { Json(jwks) }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Some(format!("http://{addr}/jwks"))
}

async fn key_server(jwks: Value) -> Server {
    use axum::response::Redirect;
    // A plain-http URL off loopback that does serve the keys (when this machine has such
    // an address), so that only the URL rule can make following the redirect fail.
    let outward = match outward_ip() {
        Some(ip) => serve_jwks_on(ip, jwks.clone()).await,
        None => None,
    }
    .unwrap_or_else(|| "http://198.51.100.7/jwks".to_owned());
    let hmac =
        json!({"keys": [{"kty": "oct", "kid": "k1", "alg": "HS256", "k": b64(TEST_SECRET)}]});
    // The usable keys, padded past 512 KiB.
    let mut big = jwks.clone();
    big["pad"] = json!("x".repeat(600 * 1024));
    let slow = jwks.clone();
    let router = Router::new()
        .route("/jwks", get(move || async move { Json(jwks) }))
        .route("/hmac", get(move || async move { Json(hmac) }))
        .route("/big", get(move || async move { Json(big) }))
        .route(
            "/slow",
            get(move || async move {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Json(slow)
            }),
        )
        .route(
            "/redirect-out",
            get(move || async move { Redirect::temporary(&outward) }),
        )
        .route(
            "/redirect-loop",
            get(|| async { Redirect::temporary("/redirect-loop") }),
        )
        .route(
            "/redirect-in",
            get(|| async { Redirect::temporary("/jwks") }),
        )
        .route("/gone", get(|| async { http::StatusCode::NOT_FOUND }));
    Server::start(router).await
}

#[tokio::test]
async fn fetches_are_bounded_in_size_time_and_redirects() {
    let signer = rs256_signer();
    let keys = key_server(signer.jwks()).await;
    let issuer = format!("http://127.0.0.1:{}", keys.addr.port());
    let clock = ManualClock::new();
    let mut claims = json!({
        "iss": issuer, "sub": "svc", "aud": AUDIENCE,
        "iat": secs_on(&clock), "exp": secs_on(&clock) + 600,
    });
    let token = centurion::dangerous::sign_payload(&signer, &claims).unwrap();

    for (path, accepted) in [
        ("/jwks", true),
        ("/redirect-in", true),
        ("/big", false),
        ("/slow", false),
        ("/redirect-out", false),
        ("/redirect-loop", false),
        ("/gone", false),
        ("/hmac", false),
    ] {
        let config = IdentityProviderConfig::discover(&issuer, AUDIENCE)
            .jwks_uri(&format!("{issuer}{path}"));
        let (auth, server) = serve(config, &clock, |b| b).await;
        let started = Instant::now();
        let answer = call(&server, "/me", &token).await;
        let took = started.elapsed();
        assert_eq!(answer.status == 200, accepted, "{path}: {answer:?}");
        // The first request waits for the first fetch, which ends within 5 s.
        assert!(took < Duration::from_secs(9), "{path}: {took:?}");
        if !accepted {
            until("a failed fetch", || {
                auth.identity_providers()[0].failures >= 1
            })
            .await;
            assert_eq!(auth.identity_providers()[0].keys, 0, "{path}");
        }
    }

    // An HMAC token naming the kid of the key server's `oct` key, signed with its secret:
    // refused (no HS* from providers; `oct` keys are never loaded).
    let hmac_signer = builder().kid("k1").build().unwrap();
    claims["jti"] = json!("hmac");
    let hs = centurion::dangerous::sign_payload(&hmac_signer, &claims).unwrap();
    for path in ["/hmac", "/jwks"] {
        let config = IdentityProviderConfig::discover(&issuer, AUDIENCE)
            .jwks_uri(&format!("{issuer}{path}"))
            .algorithms(&["RS256", "ES256"]);
        let (_auth, server) = serve(config, &clock, |b| b).await;
        assert_eq!(call(&server, "/me", &hs).await.status, 401, "{path}");
    }
}

#[tokio::test]
async fn a_provider_over_https_is_trusted_only_with_its_certificate_authority() {
    if !available_or_skip(GROUP) {
        return;
    }
    let certs = match centurion_testkit::servers::TestCerts::make() {
        Ok(certs) => certs,
        Err(why) => return centurion_testkit::skip(GROUP, &why),
    };
    let keys = generate_keys(&["ES256:e1"], true);
    let provider = OidcProvider::start_available(
        &keys,
        ProviderOptions {
            tls: Some((certs.path("leaf.pem"), certs.path("leaf.key"))),
            ..options(&[])
        },
    );
    assert!(provider.issuer().starts_with("https://"));
    let clock = ManualClock::new();
    let claims = provider.claims(secs_on(&clock), &json!({}));
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": "e1"});
    let token = provider.sign(None, &header.to_string(), &claims.to_string());

    let ca = String::from_utf8(certs.ca()).unwrap();
    let (_auth, server) = serve(config_for(&provider).tls_roots_pem(&ca), &clock, |b| b).await;
    let me = call(&server, "/me", &token).await;
    assert_eq!(me.status, 200, "{me:?}");

    // Without the CA the certificate is not trusted: no keys, the token is refused.
    let (auth, server) = serve(config_for(&provider), &clock, |b| b).await;
    assert_eq!(call(&server, "/me", &token).await.status, 401);
    assert!(auth.identity_providers()[0].failures >= 1);
    assert_eq!(auth.identity_providers()[0].keys, 0);
}

#[tokio::test]
async fn keys_are_refreshed_on_the_schedule_their_cache_headers_give_within_bounds() {
    if !available_or_skip(GROUP) {
        return;
    }
    // (max-age sent by the provider, no refresh before, a refresh by) in seconds: 120 s is
    // kept (± 10 %), 10 s is raised to the 60 s floor, a day is cut to the 1 h ceiling, no
    // header gives 5 min.
    for (max_age, quiet_until, due_by) in [
        (Some("120"), 100, 140),
        (Some("10"), 50, 70),
        (Some("86400"), 3000, 4000),
        (None, 260, 340),
    ] {
        let env: Vec<(&str, &str)> = max_age
            .map(|m| vec![("OIDC_JWKS_MAX_AGE", m)])
            .unwrap_or_default();
        let provider =
            OidcProvider::start_available(&generate_keys(&["RS256:r1"], true), options(&env));
        let clock = ManualClock::new();
        let (auth, server) = serve(config_for(&provider), &clock, |b| b).await;
        let token = provider.token(&[]);
        assert_eq!(call(&server, "/me", &token).await.status, 200);
        settled(&auth, &provider).await;
        assert_eq!(provider.jwks_fetches(), 1);

        clock.advance(Duration::from_secs(quiet_until));
        // Each request checks whether the refresh is due by the clock, and would wake the
        // refresher.
        assert_eq!(call(&server, "/me", &token).await.status, 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            provider.jwks_fetches(),
            1,
            "max-age {max_age:?}: no refresh at {quiet_until} s"
        );

        clock.advance(Duration::from_secs(due_by - quiet_until));
        assert_eq!(call(&server, "/me", &token).await.status, 200);
        until("the scheduled refresh", || provider.jwks_fetches() == 2).await;
        settled(&auth, &provider).await;
    }
}
