//! [`SessionRoutes`]: the cookie session of browser clients.

use std::marker::PhantomData;
use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Credentials;
use crate::centurion::Centurion;
use crate::error::{ErrorKind, Result};
use crate::http::{ClientAddr, JsonBody, answer_probe};
use crate::jwt::Claims;
use crate::session::ClientInfo;
use crate::throttle::Throttle;
use crate::transport::{ClearSessionCookies, SessionCookies};
use crate::user::AuthUser;

/// The cookie session routes, for browser clients: the tokens travel in `HttpOnly`
/// cookies, and every unsafe request carries the CSRF token in `X-CSRF-Token`.
///
/// | route (default path) | needs | answer |
/// | --- | --- | --- |
/// | `POST /auth/session` | `{"username", "password"}` | 200 `{"csrf_token"}`, the access, refresh and CSRF cookies ([`Centurion::session_cookies`]) |
/// | `POST /auth/session/refresh` | the refresh cookie, `X-CSRF-Token` | 200 `{"csrf_token"}`, new cookies; the old refresh token is spent ([`Centurion::refresh_from_cookies_with`]; the CSRF header is checked before anything is spent) |
/// | `DELETE /auth/session` | the access token (cookie + `X-CSRF-Token`, or a bearer header); when it is absent or expired, the refresh cookie + `X-CSRF-Token` ([`Centurion::logout_from_cookies`]) | 200 `{"message": "logged out"}`; the session ends and the cookies are cleared |
///
/// The instance must read tokens from cookies
/// ([`TokenLocation::Cookies`](crate::TokenLocation::Cookies) among the
/// [token locations](crate::CenturionBuilder::token_locations)); set the cookies'
/// `refresh_path` ([`CookieConfig`](crate::CookieConfig)) to the session path, so that
/// the refresh cookie travels only to these routes. A login records the client
/// ([`ClientInfo`]) with the session, as [`TokenRoutes`](super::TokenRoutes) does; with a
/// [`throttle`](Self::throttle) it goes through the login throttle (share it with the
/// token routes: one account, one count).
///
/// ```
/// # fn demo() -> Result<(), centurion::Error> {
/// use axum::Router;
/// use centurion::routes::SessionRoutes;
/// use centurion::{Centurion, CookieConfig, TokenLocation, memory::MemoryUserStore, testing::TestUser};
///
/// let auth = Centurion::<TestUser>::builder()
///     .secret("an-example-secret-of-at-least-32-bytes!!")
///     .user_store(MemoryUserStore::new())
///     .token_locations(&[TokenLocation::Header, TokenLocation::Cookies])
///     .cookies(CookieConfig {
///         refresh_path: Some("/auth/session".to_owned()),
///         ..CookieConfig::default()
///     })
///     .build()?;
/// let app: Router = SessionRoutes::<TestUser>::new().router().layer(auth.layer());
/// # Ok(()) }
/// # demo().unwrap();
/// ```
pub struct SessionRoutes<U> {
    session: String,
    refresh: String,
    throttle: Option<Throttle>,
    user: PhantomData<fn() -> U>,
}

impl<U: AuthUser> Default for SessionRoutes<U> {
    fn default() -> Self {
        Self::new()
    }
}

impl<U: AuthUser> std::fmt::Debug for SessionRoutes<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRoutes")
            .field("session", &self.session)
            .field("refresh", &self.refresh)
            .field("throttled", &self.throttle.is_some())
            .finish()
    }
}

impl<U: AuthUser> SessionRoutes<U> {
    /// The routes at their default paths, without a throttle.
    ///
    /// ```
    /// use centurion::{routes::SessionRoutes, testing::TestUser};
    /// let app: axum::Router = SessionRoutes::<TestUser>::new().router();
    /// ```
    pub fn new() -> Self {
        Self {
            session: "/auth/session".to_owned(),
            refresh: "/auth/session/refresh".to_owned(),
            throttle: None,
            user: PhantomData,
        }
    }

    /// The path of the login (`POST`) and logout (`DELETE`) routes (default
    /// `/auth/session`).
    ///
    /// ```
    /// # use centurion::{routes::SessionRoutes, testing::TestUser};
    /// let routes = SessionRoutes::<TestUser>::new().session_path("/session");
    /// assert!(format!("{routes:?}").contains("\"/session\""));
    /// ```
    pub fn session_path(mut self, path: &str) -> Self {
        path.clone_into(&mut self.session);
        self
    }

    /// The refresh route's path (default `/auth/session/refresh`).
    ///
    /// ```
    /// # use centurion::{routes::SessionRoutes, testing::TestUser};
    /// let routes = SessionRoutes::<TestUser>::new().refresh_path("/session/refresh");
    /// assert!(format!("{routes:?}").contains("\"/session/refresh\""));
    /// ```
    pub fn refresh_path(mut self, path: &str) -> Self {
        path.clone_into(&mut self.refresh);
        self
    }

    /// Logins go through `throttle`'s login throttle.
    ///
    /// ```
    /// use centurion::throttle::{Throttle, ThrottleConfig};
    /// # use centurion::{routes::SessionRoutes, testing::TestUser};
    /// let throttle = Throttle::in_memory(ThrottleConfig::default()).unwrap();
    /// let routes = SessionRoutes::<TestUser>::new().throttle(throttle);
    /// assert!(format!("{routes:?}").contains("throttled: true"));
    /// ```
    pub fn throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Where these routes are mounted, for their OpenAPI operations
    /// ([`openapi::auth_routes`](crate::openapi::auth_routes)).
    ///
    /// ```
    /// # use centurion::{routes::SessionRoutes, testing::TestUser};
    /// assert_eq!(SessionRoutes::<TestUser>::new().paths().refresh, "/auth/session/refresh");
    /// ```
    #[cfg(feature = "openapi")]
    pub fn paths(&self) -> crate::openapi::SessionPaths {
        crate::openapi::SessionPaths {
            session: self.session.clone(),
            refresh: self.refresh.clone(),
        }
    }

    /// The router with the three routes, for any application state `S`.
    ///
    /// ```
    /// # use centurion::{routes::SessionRoutes, testing::TestUser};
    /// let app: axum::Router<()> = SessionRoutes::<TestUser>::new().router();
    /// ```
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let login = match self.throttle {
            Some(throttle) => post(
                move |auth: Centurion<U>,
                      client: ClientAddr,
                      info: ClientInfo,
                      JsonBody(body): JsonBody<Credentials>| {
                    let throttled = Some((throttle.clone(), client.ip()));
                    async move { login(auth, throttled, info, body).await }
                },
            ),
            None => post(
                |auth: Centurion<U>, info: ClientInfo, JsonBody(body): JsonBody<Credentials>| {
                    login(auth, None, info, body)
                },
            ),
        };
        Router::new()
            .route(&self.session, login.delete(logout::<U>))
            .route(&self.refresh, post(refresh::<U>))
    }
}

async fn login<U: AuthUser>(
    auth: Centurion<U>,
    throttled: Option<(Throttle, IpAddr)>,
    info: ClientInfo,
    body: Credentials,
) -> Result<SessionCookies> {
    let user = match throttled {
        Some((throttle, ip)) => {
            throttle
                .authenticate(&auth, Some(ip), &body.username, &body.password)
                .await?
        }
        None => auth.authenticate(&body.username, &body.password).await?,
    };
    auth.session_cookies(&auth.issue_pair_from(&user, &info).await?)
}

async fn refresh<U: AuthUser>(
    auth: Centurion<U>,
    info: ClientInfo,
    headers: HeaderMap,
) -> Result<SessionCookies> {
    auth.refresh_from_cookies_with(&headers, &info).await
}

/// The `Claims` extractor checks the CSRF header of a cookie-borne token on this
/// `DELETE`. An absent or expired access token does not block logout: the refresh cookie
/// (with the CSRF header of its session) ends the session instead.
async fn logout<U: AuthUser>(
    auth: Centurion<U>,
    mut parts: Parts,
) -> Result<(ClearSessionCookies, Json<Value>)> {
    answer_probe(&parts.extensions, false)?;
    match Claims::from_request_parts(&mut parts, &()).await {
        Ok(claims) => auth.logout(&claims, None).await?,
        Err(refusal)
            if matches!(
                refusal.kind(),
                ErrorKind::MissingToken | ErrorKind::ExpiredAccessError
            ) =>
        {
            // Without a refresh cookie either (or without cookies configured at all), the
            // access token's refusal is the answer.
            auth.logout_from_cookies(&parts.headers)
                .await
                .map_err(|e| match e.kind() {
                    ErrorKind::MissingToken | ErrorKind::ConfigurationError => refusal,
                    _ => e,
                })?;
        }
        Err(refusal) => return Err(refusal),
    }
    Ok((
        auth.clear_session_cookies()?,
        Json(json!({"message": "logged out"})),
    ))
}
