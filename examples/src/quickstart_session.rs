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

use centurion::routes::SessionRoutes;
use centurion::throttle::Throttle;
use centurion::{CookieConfig, TokenLocation};

use crate::User;

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

/// The session routes of `centurion::routes`, merged into the quickstart's router; logins
/// share the throttle (and so the counters) of `POST /auth/login`.
pub(crate) fn routes(throttle: &Throttle) -> SessionRoutes<User> {
    SessionRoutes::<User>::new()
        .session_path(SESSION_PATH)
        .refresh_path("/auth/session/refresh")
        .throttle(throttle.clone())
}
