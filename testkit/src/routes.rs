//! The reference auth routes: what an application built on centurion serves to log in,
//! refresh, confirm a registration, reset a password and log out, with [`JsonBody`] so
//! every bad body gets the JSON error body. The attack suite serves them beside its API
//! routes; the `request_bodies` fuzz target feeds them arbitrary bodies.
//!
//! | route | body | answer |
//! | --- | --- | --- |
//! | `POST /auth/login` | `{"username", "password"}` | the token pair |
//! | `POST /auth/refresh` | `{"refresh_token"}` | the new pair |
//! | `POST /auth/confirm` | `{"token"}` | `{"id"}` of the activated user |
//! | `POST /auth/password/reset` | `{"token", "password"}` | `{"id"}` |
//! | `POST /auth/logout` | `{"refresh_token"}` or nothing, with the access token | `{"message": "logged out"}` |

use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use centurion::testing::TestUser;
use centurion::{Centurion, Claims, Error, ErrorKind, JsonBody};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

#[derive(Deserialize)]
struct ResetBody {
    token: String,
    password: String,
}

#[derive(Deserialize, Default)]
struct Logout {
    refresh_token: Option<String>,
}

async fn login(auth: Centurion<TestUser>, JsonBody(b): JsonBody<Login>) -> Result<Response, Error> {
    Ok(Json(auth.login(&b.username, &b.password).await?).into_response())
}

async fn refresh(
    auth: Centurion<TestUser>,
    JsonBody(b): JsonBody<RefreshBody>,
) -> Result<Response, Error> {
    Ok(Json(auth.refresh(&b.refresh_token).await?).into_response())
}

async fn confirm(
    auth: Centurion<TestUser>,
    JsonBody(b): JsonBody<TokenBody>,
) -> Result<Json<Value>, Error> {
    let user = auth.confirm_registration(&b.token).await?;
    Ok(Json(json!({"id": user.id})))
}

async fn reset(
    auth: Centurion<TestUser>,
    JsonBody(b): JsonBody<ResetBody>,
) -> Result<Json<Value>, Error> {
    let user = auth.reset_password(&b.token, &b.password).await?;
    Ok(Json(json!({"id": user.id})))
}

async fn logout(
    auth: Centurion<TestUser>,
    claims: Claims,
    body: axum::body::Bytes,
) -> Result<Json<Value>, Error> {
    let body: Logout = if body.iter().all(u8::is_ascii_whitespace) {
        Logout::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            Error::new(ErrorKind::InvalidRequest)
                .with_message("the body must be {\"refresh_token\": \"…\"} or empty")
        })?
    };
    auth.logout(&claims, body.refresh_token.as_deref()).await?;
    Ok(Json(json!({"message": "logged out"})))
}

/// The routes above, for a `Centurion<TestUser>` that the caller's layer provides.
///
/// ```
/// let auth = centurion_testkit::auth();
/// let app: axum::Router = centurion_testkit::routes::auth_routes().layer(auth.layer());
/// ```
pub fn auth_routes() -> Router {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/confirm", post(confirm))
        .route("/auth/password/reset", post(reset))
        .route("/auth/logout", post(logout))
}
