//! Cost of verifying an access token, and of the guard `#[secured(roles = "admin")]` runs
//! (token lookup in the request, verification, revocation check, role check), beside a bare
//! `jsonwebtoken::decode` of the same token in the same run. The guard is measured twice:
//! with the cache of verified tokens off (every request verifies in full: the first request
//! of each token) and with it on (the same token again: the common case), and, cached, once
//! more with `#[secured(permissions = "reports:read")]`'s check instead of the role's.
//!
//! The instances resolve tokens with a role table (`owner` includes `admin` and `editor`;
//! `admin` grants `reports:read`) and the token carries `owner`, so both checks go through
//! the hierarchy; `centurion_guard_full_verification_flat` is the full verification on an
//! instance without a table (nothing to resolve, the carried `owner` checked), for what
//! resolving costs. The `requirement_check` group times the two checks alone on verified
//! claims.
//!
//! With the `oidc` feature, the ES256 and RS256 groups also time the guard on an identity
//! provider's token (its keys fetched from a JWKS served on loopback by the bench itself),
//! first request (cache off) and repeated (cache on), beside the instance's own token.
//!
//! Run: `cargo bench -p centurion --bench verify --features oidc`
//! (the keys under `benches/keys/` are throwaway test keys made with `openssl genpkey`).

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::extract::FromRequestParts;
use centurion::memory::MemoryUserStore;
use centurion::testing::TestUser;
use centurion::{Centurion, Claims};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

const SECRET: &str = "bench-secret-bench-secret-bench-secret-0123456789";

#[derive(centurion::Permission)]
enum BenchPerm {
    #[permission(rename = "reports:read")]
    ReportsRead,
}

#[derive(centurion::Role)]
#[role(permissions = BenchPerm)]
enum BenchRole {
    #[role(grants = "reports:read")]
    Admin,
    Editor,
    #[role(includes = "admin, editor")]
    Owner,
}

/// The claims a minimal hand-written extractor would decode.
#[derive(Deserialize)]
#[allow(dead_code)]
struct BareClaims {
    sub: String,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: String,
    #[serde(rename = "type")]
    kind: String,
    fresh: bool,
    roles: Vec<String>,
    fam: String,
}

/// Polls a future that never waits (memory stores) to completion without an executor, so
/// the figures hold no scheduler cost.
fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the benchmarked future waited"),
    }
}

/// An identity provider's token and the instances that accept it.
#[cfg(feature = "oidc")]
struct ProviderCase {
    /// Cache of verified tokens off.
    auth: Centurion<TestUser>,
    /// Cache on.
    cached: Centurion<TestUser>,
    token: String,
}

/// Serves `jwks` on a free loopback port (on the bench's runtime); its base URL.
#[cfg(feature = "oidc")]
fn serve_jwks(rt: &tokio::runtime::Runtime, jwks: serde_json::Value) -> String {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a free port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let router = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || std::future::ready(axum::Json(jwks.clone()))),
    );
    rt.spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    base
}

/// A provider signing with `alg` and the bench key pair: its JWKS served on loopback, a
/// token of it with the roles of the instance's own bench token, and the instances.
#[cfg(feature = "oidc")]
fn provider_case(
    rt: &tokio::runtime::Runtime,
    alg: &str,
    (private, public): (&str, &str),
) -> ProviderCase {
    use centurion::IdentityProviderConfig;
    let signer = Centurion::<TestUser>::builder()
        .algorithm(alg)
        .key_pair_pem(private, public)
        .kid("bench-key")
        .user_store(MemoryUserStore::new())
        .build()
        .expect("signer");
    let issuer = serve_jwks(rt, signer.jwks());
    let audience = "https://api.bench.example";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let payload = serde_json::json!({
        "iss": issuer, "sub": "service-42", "aud": audience, "client_id": "bench",
        "iat": now, "exp": now + 24 * 3600, "jti": "bench-jti-0001",
        "roles": ["admin", "editor"], "scope": "api:read reports:read",
    });
    let token = centurion::dangerous::sign_payload(&signer, &payload).expect("sign");
    let build = |cache_bytes: usize| {
        let auth = Centurion::<TestUser>::builder()
            .secret(SECRET)
            .identity_provider(
                IdentityProviderConfig::discover(&issuer, audience)
                    .jwks_uri(&format!("{issuer}/jwks")),
            )
            .user_store(MemoryUserStore::new())
            .verified_cache_bytes(cache_bytes)
            .build()
            .expect("bench config");
        // Drives the runtime until the provider's keys are fetched.
        rt.block_on(async {
            while !auth.identity_providers()[0].usable {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        });
        auth
    };
    ProviderCase {
        auth: build(0),
        cached: build(centurion::Config::default().verified_cache_bytes),
        token,
    }
}

struct Case {
    name: &'static str,
    /// Cache of verified tokens off: every verification is a full one.
    auth: Centurion<TestUser>,
    /// The default configuration, cache on.
    cached: Centurion<TestUser>,
    /// Cache off and no role table (flat roles, nothing to resolve): what the role table
    /// adds to a full verification.
    flat: Centurion<TestUser>,
    token: String,
    bare_key: DecodingKey,
    alg: Algorithm,
    /// The PEM key pair, for the provider rows (ES256 and RS256 only).
    #[cfg_attr(not(feature = "oidc"), allow(dead_code))]
    keys: Option<(&'static str, &'static str)>,
}

fn case(name: &'static str, alg: &str, keys: Option<(&'static str, &'static str)>) -> Case {
    let build_with = |cache_bytes: usize, table: bool| {
        let builder = Centurion::<TestUser>::builder()
            .algorithm(alg)
            .user_store(MemoryUserStore::new());
        let builder = if table {
            builder.roles::<BenchRole>()
        } else {
            builder
        };
        let builder = match keys {
            Some((private, public)) => builder.key_pair_pem(private, public),
            None => builder.secret(SECRET),
        };
        builder
            .verified_cache_bytes(cache_bytes)
            .build()
            .expect("bench config")
    };
    let auth = build_with(0, true);
    let cached = build_with(centurion::Config::default().verified_cache_bytes, true);
    let flat = build_with(0, false);
    let user = TestUser::new(42, "bench", &["owner"]);
    let token = ready(auth.issue_pair(&user)).expect("issue").access_token;
    let (bare_key, alg) = match (alg, keys) {
        ("RS256", Some((_, public))) => (
            DecodingKey::from_rsa_pem(public.as_bytes()).unwrap(),
            Algorithm::RS256,
        ),
        ("ES256", Some((_, public))) => (
            DecodingKey::from_ec_pem(public.as_bytes()).unwrap(),
            Algorithm::ES256,
        ),
        ("EdDSA", Some((_, public))) => (
            DecodingKey::from_ed_pem(public.as_bytes()).unwrap(),
            Algorithm::EdDSA,
        ),
        _ => (
            DecodingKey::from_secret(SECRET.as_bytes()),
            Algorithm::HS256,
        ),
    };
    Case {
        name,
        auth,
        cached,
        flat,
        token,
        bare_key,
        alg,
        keys: keys.filter(|_| matches!(name, "ES256" | "RS256")),
    }
}

fn request_parts(token: &str, auth: &Centurion<TestUser>) -> http::request::Parts {
    use tower::{Layer, Service};
    // Run the real layer once to get the request extensions it inserts.
    let mut captured = None;
    let mut svc = auth
        .layer()
        .layer(tower::service_fn(|req: http::Request<()>| {
            captured = Some(req.into_parts().0);
            std::future::ready(Ok::<_, std::convert::Infallible>(
                axum::response::Response::new(axum::body::Body::empty()),
            ))
        }));
    let req = http::Request::get("/api/me")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap();
    let _ = ready(svc.call(req));
    drop(svc);
    captured.expect("layer forwarded the request")
}

/// What a guard checks on verified claims.
type Check = fn(&Claims) -> centurion::Result<()>;

/// Times a guard (verification, then `check`) on `token` with `auth`.
fn bench_guard(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    auth: &Centurion<TestUser>,
    token: &str,
    check: Check,
) {
    // Warms the cache (when on) with this token, as its first request would.
    ready(auth.verify_access(token)).expect("verify");
    group.bench_function(name, |b| {
        b.iter_batched(
            || request_parts(token, auth),
            |mut parts| {
                let claims = ready(<Claims as FromRequestParts<()>>::from_request_parts(
                    &mut parts,
                    &(),
                ))
                .expect("extract");
                check(&claims).expect("allowed");
                (claims, parts)
            },
            BatchSize::SmallInput,
        )
    });
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let cases = [
        case("HS256", "HS256", None),
        case(
            "EdDSA",
            "EdDSA",
            Some((include_str!("keys/ed.pem"), include_str!("keys/ed.pub.pem"))),
        ),
        case(
            "ES256",
            "ES256",
            Some((include_str!("keys/ec.pem"), include_str!("keys/ec.pub.pem"))),
        ),
        case(
            "RS256",
            "RS256",
            Some((
                include_str!("keys/rsa.pem"),
                include_str!("keys/rsa.pub.pem"),
            )),
        ),
    ];
    for case in &cases {
        let mut group = c.benchmark_group(case.name);
        let validation = Validation::new(case.alg);
        // Sanity: the baseline really decodes this token.
        jsonwebtoken::decode::<BareClaims>(&case.token, &case.bare_key, &validation)
            .expect("bare decode");
        group.bench_function("bare_jsonwebtoken_decode", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<BareClaims>(
                    black_box(&case.token),
                    &case.bare_key,
                    &validation,
                )
            })
        });
        group.bench_function("centurion_verify_access", |b| {
            b.iter(|| ready(case.auth.verify_access(black_box(&case.token))).expect("verify"))
        });
        let role: Check = |claims| centurion::check_roles(claims, &["admin"], &[]);
        let permission: Check =
            |claims| centurion::check_permissions(claims, &["reports:read"], &[]);
        let carried: Check = |claims| {
            claims
                .roles()
                .iter()
                .any(|r| r == "owner")
                .then_some(())
                .ok_or_else(|| centurion::ErrorKind::MissingRoleError.into())
        };
        for (name, auth, check) in [
            ("centurion_guard_full_verification", &case.auth, role),
            (
                "centurion_guard_full_verification_flat",
                &case.flat,
                carried,
            ),
            ("centurion_guard_cached", &case.cached, role),
            (
                "centurion_guard_cached_permission",
                &case.cached,
                permission,
            ),
        ] {
            bench_guard(&mut group, name, auth, &case.token, check);
        }
        #[cfg(feature = "oidc")]
        if let Some(keys) = case.keys {
            let provider = provider_case(&rt, case.name, keys);
            group.bench_function("provider_verify_access", |b| {
                b.iter(|| {
                    ready(provider.auth.verify_access(black_box(&provider.token))).expect("verify")
                })
            });
            bench_guard(
                &mut group,
                "provider_guard_full_verification",
                &provider.auth,
                &provider.token,
                role,
            );
            bench_guard(
                &mut group,
                "provider_guard_cached",
                &provider.cached,
                &provider.token,
                role,
            );
        }
        group.finish();
    }

    // The checks alone, on claims verified once: the role through the hierarchy, and the
    // permission it grants.
    let case = &cases[0];
    let claims = ready(case.cached.verify_access(&case.token)).expect("verify");
    let mut group = c.benchmark_group("requirement_check");
    group.bench_function("role_admin_through_owner", |b| {
        b.iter(|| centurion::check_roles(black_box(&claims), &["admin"], &[]).expect("role"))
    });
    group.bench_function("permission_reports_read_through_owner", |b| {
        b.iter(|| {
            centurion::check_permissions(black_box(&claims), &["reports:read"], &[])
                .expect("permission")
        })
    });
    group.finish();
}

/// An unknown username against a wrong password, at the default (OWASP) argon2 cost: the
/// two should take the same time (the timing side channel of `authenticate`).
fn authenticate(c: &mut Criterion) {
    use centurion::{NewUser, UserStore};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let users = std::sync::Arc::new(MemoryUserStore::<TestUser>::new());
    let auth = Centurion::<TestUser>::builder()
        .secret(SECRET)
        .user_store(std::sync::Arc::clone(&users))
        .build()
        .expect("bench config");
    rt.block_on(async {
        let hash = auth
            .hasher()
            .hash("the right password")
            .await
            .expect("hash");
        users.create(NewUser::new("ada", hash)).await.expect("user");
    });
    let mut group = c.benchmark_group("authenticate");
    group.sample_size(20);
    group.bench_function("wrong_password", |b| {
        b.iter(|| {
            rt.block_on(auth.authenticate("ada", "a wrong password"))
                .unwrap_err()
        })
    });
    group.bench_function("unknown_user", |b| {
        b.iter(|| {
            rt.block_on(auth.authenticate("nobody", "a wrong password"))
                .unwrap_err()
        })
    });
    group.finish();
}

criterion_group!(verify, benches, authenticate);
criterion_main!(verify);
