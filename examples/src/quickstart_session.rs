//! The cookie session of the quickstart, for browser clients such as the page at `/`.
//!
//! | route | needs | answer |
//! | --- | --- | --- |
//! | `POST /auth/session` | `{"username", "password"}` | 200 `{"csrf_token"}`, the access, refresh and CSRF cookies |
//! | `POST /auth/session/refresh` | refresh cookie, `X-CSRF-Token` | 200 `{"csrf_token"}`, new cookies; the old refresh token is spent |
//! | `DELETE /auth/session` | access cookie, `X-CSRF-Token` | 200; cookies cleared, the session revoked |
//!
//! Every `/api/*` route accepts the access cookie as well as `Authorization: Bearer`
//! (header first); a cookie-authenticated `POST`, `PUT`, `PATCH` or `DELETE` needs the
//! `X-CSRF-Token` header, or gets 401 `CSRFError`. The cookies are `Secure` (with
//! `__Host-`/`__Secure-` names) when `PUBLIC_URL` is `https://…`; `CENTURION_COOKIE_SECURE`
//! (`true`/`false`) overrides that.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use centurion::http::ClientAddr;
use centurion::{
    Centurion, Claims, ClearSessionCookies, ClientInfo, CookieConfig, Error, JsonBody,
    SessionCookies, TokenLocation, secured,
};
use serde_json::{Value, json};

use crate::{App, Login, User};

/// Header first, then the access cookie.
pub(crate) const TOKEN_LOCATIONS: [TokenLocation; 2] =
    [TokenLocation::Header, TokenLocation::Cookies];

/// The refresh cookie travels only to `/auth/session` and below: to the refresh and
/// logout routes.
const SESSION_PATH: &str = "/auth/session";

/// The cookie settings for a server reached at `public_url`.
pub(crate) fn cookie_config(public_url: &str) -> Result<CookieConfig, String> {
    let secure = match std::env::var("CENTURION_COOKIE_SECURE").ok().as_deref() {
        None | Some("") => public_url.starts_with("https://"),
        Some("true" | "1") => true,
        Some("false" | "0") => false,
        Some(other) => {
            return Err(format!(
                "CENTURION_COOKIE_SECURE: `{other}` is not `true` or `false`"
            ));
        }
    };
    Ok(CookieConfig {
        secure,
        refresh_path: Some(SESSION_PATH.to_owned()),
        ..CookieConfig::default()
    })
}

/// The session routes, merged into the quickstart's router.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route(SESSION_PATH, post(login).delete(logout))
        .route("/auth/session/refresh", post(refresh))
}

/// Logs in through the same throttle as `POST /auth/login` (the counters are shared) and
/// sets the session cookies; the body is `{"csrf_token"}`.
async fn login(
    auth: Centurion<User>,
    State(app): State<App>,
    client: ClientAddr,
    info: ClientInfo,
    JsonBody(body): JsonBody<Login>,
) -> Result<SessionCookies, Error> {
    let user = app
        .throttle
        .authenticate(&auth, Some(client.ip()), &body.username, &body.password)
        .await?;
    auth.session_cookies(&auth.issue_pair_from(&user, &info).await?)
}

/// Spends the refresh cookie for new cookies; the CSRF header is checked before anything
/// is spent. Two tabs refreshing at once get the same cookies (the grace window); a
/// refresh token presented again later revokes the session.
async fn refresh(
    auth: Centurion<User>,
    info: ClientInfo,
    headers: HeaderMap,
) -> Result<SessionCookies, Error> {
    auth.refresh_from_cookies_with(&headers, &info).await
}

/// Revokes the access token and its session, and clears the cookies. As a `DELETE`
/// authenticated by the access cookie, the guard has already checked the CSRF header.
#[secured]
async fn logout(
    auth: Centurion<User>,
    claims: Claims,
) -> Result<(ClearSessionCookies, Json<Value>), Error> {
    auth.logout(&claims, None).await?;
    Ok((
        auth.clear_session_cookies()?,
        Json(json!({"message": "logged out"})),
    ))
}
