//! A server for HTTP benchmarks (`scripts/bench-http.sh`): the same trivial handler
//! unauthenticated, behind `#[secured(roles = "admin")]`, and behind a minimal
//! hand-written jsonwebtoken extractor, plus a login route for login storms.
//!
//! Environment: `BENCH_ADDR` (default `127.0.0.1:3900`), `BENCH_REVOCATION` = `memory`
//! (default), `redis` (with `REDIS_URL`) or `none` (no revocation check at all: the
//! baseline for the revocation cost), `BENCH_POOL` (hashing pool size; default cores),
//! `BENCH_VERIFIED_CACHE` (bytes for the cache of verified tokens; default centurion's,
//! `0` verifies every request's token in full), `BENCH_SERVE` = `centurion` (default: served
//! through `centurion::serve::Server`, as applications should) or `axum` (`axum::serve`,
//! no deadlines: the baseline for the serving overhead).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use centurion::memory::{MemoryRevocationStore, MemoryUserStore};
use centurion::{
    AuthUser, Centurion, NewUser, PasswordConfig, RevocationStore, Role, TokenRef, UserStore,
    secured,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

const SECRET: &str = "bench-secret-bench-secret-bench-secret-0123456789";

/// The roles `#[secured]` checks against (only declared: the user's roles are strings).
#[derive(Role)]
#[allow(dead_code)]
enum BenchRole {
    Admin,
}

/// The one user the login storm logs in as.
#[derive(AuthUser, Clone)]
struct BenchUser {
    #[auth_user(id)]
    id: i64,
    #[auth_user(username)]
    username: String,
    #[auth_user(password)]
    password_hash: String,
    #[auth_user(roles)]
    roles: Vec<String>,
}

async fn open() -> &'static str {
    "ok"
}

#[secured(roles = "admin")]
async fn secured_route() -> &'static str {
    "ok"
}

/// What a team would write by hand with jsonwebtoken: decode, check exp, check a role.
struct HandWritten;

#[derive(Deserialize)]
struct HandClaims {
    roles: Vec<String>,
}

static HAND_KEY: std::sync::LazyLock<(DecodingKey, Validation)> = std::sync::LazyLock::new(|| {
    (
        DecodingKey::from_secret(SECRET.as_bytes()),
        Validation::new(Algorithm::HS256),
    )
});

impl<S: Send + Sync> FromRequestParts<S> for HandWritten {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(StatusCode::UNAUTHORIZED)?;
        let (key, validation) = &*HAND_KEY;
        let data = jsonwebtoken::decode::<HandClaims>(token, key, validation)
            .map_err(|_| StatusCode::UNAUTHORIZED)?;
        if data.claims.roles.iter().any(|r| r == "admin") {
            Ok(HandWritten)
        } else {
            Err(StatusCode::FORBIDDEN)
        }
    }
}

async fn handwritten(_: HandWritten) -> &'static str {
    "ok"
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

async fn login(
    auth: Centurion<BenchUser>,
    Json(body): Json<Login>,
) -> Result<Json<centurion::TokenPair>, centurion::Error> {
    Ok(Json(auth.login(&body.username, &body.password).await?))
}

/// No revocation check at all, and sessions that are never stored: the baseline for the
/// cost of a revocation check.
struct NoRevocation;

impl RevocationStore for NoRevocation {
    async fn revoke_token(&self, _: &str, _: u64) -> centurion::Result<()> {
        Ok(())
    }
    async fn revoke_user(&self, _: &str, _: u64, _: u64) -> centurion::Result<()> {
        Ok(())
    }
    async fn is_revoked(&self, _: &TokenRef<'_>) -> centurion::Result<bool> {
        Ok(false)
    }
    async fn mark_spent(&self, _: &str, _: u64) -> centurion::Result<bool> {
        Ok(true)
    }
    async fn create_session(
        &self,
        _: &centurion::SessionRecord,
        _: &centurion::SessionLimits,
    ) -> centurion::Result<()> {
        Ok(())
    }
    async fn rotate_session(
        &self,
        _: &centurion::Rotation<'_>,
    ) -> centurion::Result<centurion::RotationOutcome> {
        Ok(centurion::RotationOutcome::Rotated)
    }
    async fn sessions(&self, _: &str) -> centurion::Result<Vec<centurion::SessionRecord>> {
        Ok(Vec::new())
    }
    async fn end_session(&self, _: &str) -> centurion::Result<bool> {
        Ok(false)
    }
    async fn end_session_of(&self, _: &str, _: &str) -> centurion::Result<bool> {
        Ok(false)
    }
    async fn end_sessions_of(
        &self,
        _: &str,
        _: Option<&str>,
        _: u64,
        _: u64,
    ) -> centurion::Result<u64> {
        Ok(0)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("BENCH_ADDR").unwrap_or_else(|_| "127.0.0.1:3900".into());
    let users = Arc::new(MemoryUserStore::<BenchUser>::new());
    let password = PasswordConfig {
        pool_size: std::env::var("BENCH_POOL")
            .ok()
            .and_then(|v| v.parse().ok()),
        queue_length: 1024,
        ..PasswordConfig::default()
    };
    let verified_cache = std::env::var("BENCH_VERIFIED_CACHE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(centurion::Config::default().verified_cache_bytes);
    let builder = Centurion::<BenchUser>::builder()
        .secret(SECRET)
        .password(password)
        .verified_cache_bytes(verified_cache)
        .user_store(Arc::clone(&users));
    let mode = std::env::var("BENCH_REVOCATION").unwrap_or_else(|_| "memory".into());
    let builder = match mode.as_str() {
        "none" => builder.revocation_store(NoRevocation),
        "redis" => {
            let url =
                std::env::var("REDIS_URL").map_err(|_| "BENCH_REVOCATION=redis needs REDIS_URL")?;
            builder.revocation_store(
                centurion::redis::RedisRevocationStore::connect(&url, Default::default()).await?,
            )
        }
        _ => builder.revocation_store(MemoryRevocationStore::new()),
    };
    let auth = builder.build()?;
    let hash = auth.hasher().hash("bench-password").await?;
    users
        .create(NewUser::new("bench", hash).with_roles(["admin"]))
        .await?;

    let app = Router::new()
        .route("/open", get(open))
        .route("/secured", get(secured_route))
        .route("/handwritten", get(handwritten))
        .route("/login", post(login))
        .layer(auth.layer());
    let serve = std::env::var("BENCH_SERVE").unwrap_or_else(|_| "centurion".into());
    let addr: std::net::SocketAddr = addr.parse()?;
    let listener = centurion::serve::bind(addr, 4096)?;
    println!(
        "bench server listening on http://{} (revocation: {mode}, verified-token cache: {verified_cache} bytes, serving: {serve})",
        listener.local_addr()?
    );
    if serve == "axum" {
        // With ConnectInfo, as centurion::serve always provides it.
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, app).await?;
    } else {
        // The defaults: header-read 10 s, idle 60 s, request 25 s, 1024 connections.
        centurion::serve::Server::new(listener, app)
            .serve(std::future::pending())
            .await?;
    }
    Ok(())
}
