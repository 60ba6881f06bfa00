//! [`TokenRoutes`]: logging in, refreshing and logging out with tokens in JSON bodies.

use std::marker::PhantomData;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Credentials;
use crate::centurion::{Centurion, TokenPair};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{ClientAddr, JsonBody, answer_probe};
use crate::jwt::Claims;
use crate::session::ClientInfo;
use crate::throttle::Throttle;
use crate::user::AuthUser;

/// The login, refresh and logout routes.
///
/// | route (default path) | body | answer |
/// | --- | --- | --- |
/// | `POST /auth/login` | `{"username", "password"}` | 200 [`TokenPair`]: `{"access_token", "refresh_token", "token_type": "Bearer", "expires_in"}` (or the body [`login_body`](Self::login_body) makes); the session remembers the client ([`ClientInfo`]) |
/// | `POST /auth/refresh` | `{"refresh_token"}` | 200, a new pair (or the body [`refresh_body`](Self::refresh_body) makes); the old refresh token is spent (rotation, the grace window, reuse detection: [`Centurion::refresh_from`]) |
/// | `POST /auth/logout` | optional `{"refresh_token"}`, with the access token | 200 `{"message": "logged out"}` |
///
/// Logout ends the session of the access token, and the session of the refresh token in
/// the body when there is one ([`Centurion::logout`]). An access token that is absent or
/// has expired does not block it when the body holds a valid refresh token: that
/// session ends ([`Centurion::logout_with_refresh`]). Any other refused access token
/// (revoked, forged, a refresh token in its place) is answered with its error before the
/// body is read. A body that is neither empty nor a JSON object of that shape is the JSON
/// 400, and nothing is revoked.
///
/// With a [`throttle`](Self::throttle), a login goes through the login throttle
/// ([`Throttle::authenticate`]: 429 with `Retry-After` for a locked account or address).
///
/// ```
/// # async fn demo() -> Result<(), centurion::Error> {
/// use axum::{Router, body::Body, http::Request};
/// use centurion::routes::TokenRoutes;
/// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
/// use tower::ServiceExt;
///
/// let auth = Centurion::<TestUser>::builder()
///     .secret("an-example-secret-of-at-least-32-bytes!!")
///     .user_store(MemoryUserStore::new())
///     .build()?;
/// auth.create_user("ada", None, "correct horse battery", &[]).await?;
/// let app: Router = TokenRoutes::<TestUser>::new()
///     .login_path("/login")
///     .router()
///     .layer(auth.layer());
/// let login = Request::post("/login")
///     .header("content-type", "application/json")
///     .body(Body::from(r#"{"username": "ada", "password": "correct horse battery"}"#))
///     .unwrap();
/// let response = app.clone().oneshot(login).await.unwrap();
/// assert_eq!(response.status(), 200);
/// let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
/// let pair: serde_json::Value = serde_json::from_slice(&body).unwrap();
///
/// // Logging out with the refresh token alone (the access token may have expired).
/// let logout = Request::post("/auth/logout")
///     .header("content-type", "application/json")
///     .body(Body::from(serde_json::json!({"refresh_token": pair["refresh_token"]}).to_string()))
///     .unwrap();
/// assert_eq!(app.oneshot(logout).await.unwrap().status(), 200);
/// assert!(auth.refresh(pair["refresh_token"].as_str().unwrap()).await.is_err());
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
pub struct TokenRoutes<U> {
    login: String,
    refresh: String,
    logout: String,
    throttle: Option<Throttle>,
    /// The application's login answer, from the pair and the user who logged in.
    login_body: Option<LoginShape<U>>,
    /// The application's refresh answer, from the next pair.
    refresh_body: Option<PairShape>,
    user: PhantomData<fn() -> U>,
}

/// The application's answer to a login.
type LoginShape<U> = Arc<dyn Fn(&TokenPair, &U) -> Value + Send + Sync>;

/// The application's answer to a refresh.
type PairShape = Arc<dyn Fn(&TokenPair) -> Value + Send + Sync>;

impl<U: AuthUser> Default for TokenRoutes<U> {
    fn default() -> Self {
        Self::new()
    }
}

impl<U: AuthUser> std::fmt::Debug for TokenRoutes<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRoutes")
            .field("login", &self.login)
            .field("refresh", &self.refresh)
            .field("logout", &self.logout)
            .field("throttled", &self.throttle.is_some())
            .field("login_body", &self.login_body.is_some())
            .field("refresh_body", &self.refresh_body.is_some())
            .finish()
    }
}

impl<U: AuthUser> TokenRoutes<U> {
    /// The three routes at their default paths, without a throttle.
    ///
    /// ```
    /// use centurion::{routes::TokenRoutes, testing::TestUser};
    /// let app: axum::Router = TokenRoutes::<TestUser>::new().router();
    /// ```
    pub fn new() -> Self {
        Self {
            login: "/auth/login".to_owned(),
            refresh: "/auth/refresh".to_owned(),
            logout: "/auth/logout".to_owned(),
            throttle: None,
            login_body: None,
            refresh_body: None,
            user: PhantomData,
        }
    }

    /// The login route's path (default `/auth/login`).
    ///
    /// ```
    /// # use centurion::{routes::TokenRoutes, testing::TestUser};
    /// let routes = TokenRoutes::<TestUser>::new().login_path("/login");
    /// assert!(format!("{routes:?}").contains("\"/login\""));
    /// ```
    pub fn login_path(mut self, path: &str) -> Self {
        path.clone_into(&mut self.login);
        self
    }

    /// The refresh route's path (default `/auth/refresh`).
    ///
    /// ```
    /// # use centurion::{routes::TokenRoutes, testing::TestUser};
    /// let routes = TokenRoutes::<TestUser>::new().refresh_path("/token/refresh");
    /// assert!(format!("{routes:?}").contains("\"/token/refresh\""));
    /// ```
    pub fn refresh_path(mut self, path: &str) -> Self {
        path.clone_into(&mut self.refresh);
        self
    }

    /// The logout route's path (default `/auth/logout`).
    ///
    /// ```
    /// # use centurion::{routes::TokenRoutes, testing::TestUser};
    /// let routes = TokenRoutes::<TestUser>::new().logout_path("/logout");
    /// assert!(format!("{routes:?}").contains("\"/logout\""));
    /// ```
    pub fn logout_path(mut self, path: &str) -> Self {
        path.clone_into(&mut self.logout);
        self
    }

    /// Logins go through `throttle`'s login throttle (share it with every other route
    /// that checks passwords, so the counters are the same).
    ///
    /// ```
    /// use centurion::throttle::{Throttle, ThrottleConfig};
    /// # use centurion::{routes::TokenRoutes, testing::TestUser};
    /// let throttle = Throttle::in_memory(ThrottleConfig::default()).unwrap();
    /// let routes = TokenRoutes::<TestUser>::new().throttle(throttle);
    /// assert!(format!("{routes:?}").contains("throttled: true"));
    /// ```
    pub fn throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// The body of the login's 200, from the new pair and the user who logged in (default:
    /// the [`TokenPair`] itself). The tokens are the pair's; what else the answer carries,
    /// and under which names, is the application's. The user is the stored record: pick
    /// the fields a client may see (never its password hash).
    ///
    /// ```
    /// use centurion::AuthUser;
    /// # use centurion::{routes::TokenRoutes, testing::TestUser};
    /// let routes = TokenRoutes::<TestUser>::new().login_body(|pair, user| {
    ///     serde_json::json!({
    ///         "access_token": pair.access_token,
    ///         "refresh_token": pair.refresh_token,
    ///         "user": {"id": user.id(), "username": user.username()},
    ///     })
    /// });
    /// assert!(format!("{routes:?}").contains("login_body: true"));
    /// ```
    pub fn login_body(
        mut self,
        shape: impl Fn(&TokenPair, &U) -> Value + Send + Sync + 'static,
    ) -> Self {
        self.login_body = Some(Arc::new(shape));
        self
    }

    /// The body of the refresh's 200, from the next pair (default: the [`TokenPair`]
    /// itself). A replay inside the grace window is answered with the same tokens (the
    /// same bytes, except for ES256 signatures), shaped by this function again.
    ///
    /// ```
    /// # use centurion::{routes::TokenRoutes, testing::TestUser};
    /// let routes = TokenRoutes::<TestUser>::new()
    ///     .refresh_body(|pair| serde_json::json!({"access": pair.access_token, "refresh": pair.refresh_token}));
    /// assert!(format!("{routes:?}").contains("refresh_body: true"));
    /// ```
    pub fn refresh_body(
        mut self,
        shape: impl Fn(&TokenPair) -> Value + Send + Sync + 'static,
    ) -> Self {
        self.refresh_body = Some(Arc::new(shape));
        self
    }

    /// Where these routes are mounted, for their OpenAPI operations
    /// ([`openapi::auth_routes`](crate::openapi::auth_routes)): the document is built from
    /// the same value that mounts the routes. With a [`login_body`](Self::login_body) or
    /// [`refresh_body`](Self::refresh_body) of the application's, `login_fields` or
    /// `refresh_fields` is `Some` and empty: name its fields there for the document.
    ///
    /// ```
    /// # use centurion::{routes::TokenRoutes, testing::TestUser};
    /// let routes = TokenRoutes::<TestUser>::new().login_path("/login");
    /// assert_eq!(routes.paths().login, "/login");
    /// assert_eq!(routes.paths().logout, "/auth/logout");
    /// assert_eq!(routes.paths().login_fields, None); // the TokenPair
    /// let shaped = routes.login_body(|pair, _| serde_json::json!({"token": pair.access_token}));
    /// assert_eq!(shaped.paths().login_fields, Some(Vec::new()));
    /// ```
    #[cfg(feature = "openapi")]
    pub fn paths(&self) -> crate::openapi::TokenPaths {
        crate::openapi::TokenPaths {
            login: self.login.clone(),
            refresh: self.refresh.clone(),
            logout: self.logout.clone(),
            login_fields: self.login_body.as_ref().map(|_| Vec::new()),
            refresh_fields: self.refresh_body.as_ref().map(|_| Vec::new()),
        }
    }

    /// The router with the three routes, for any application state `S`.
    ///
    /// ```
    /// # use centurion::{routes::TokenRoutes, testing::TestUser};
    /// #[derive(Clone)]
    /// struct AppState { name: &'static str }
    /// let app: axum::Router<AppState> = TokenRoutes::<TestUser>::new().router();
    /// let app: axum::Router = app.with_state(AppState { name: "example" });
    /// ```
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let shape = self.login_body;
        let login = match self.throttle {
            Some(throttle) => post(
                move |auth: Centurion<U>,
                      client: ClientAddr,
                      info: ClientInfo,
                      JsonBody(body): JsonBody<Credentials>| {
                    let throttled = Some((throttle.clone(), client.ip()));
                    let shape = shape.clone();
                    async move { login(auth, throttled, info, body, shape).await }
                },
            ),
            None => post(
                move |auth: Centurion<U>,
                      info: ClientInfo,
                      JsonBody(body): JsonBody<Credentials>| {
                    login(auth, None, info, body, shape.clone())
                },
            ),
        };
        let shape = self.refresh_body;
        let refresh = post(
            move |auth: Centurion<U>, info: ClientInfo, body: JsonBody<RefreshBody>| {
                refresh(auth, info, body, shape.clone())
            },
        );
        Router::new()
            .route(&self.login, login)
            .route(&self.refresh, refresh)
            .route(&self.logout, post(logout::<U>))
    }
}

/// The answer: the application's shape of the pair, or the pair itself.
fn pair_answer(pair: TokenPair, shape: impl FnOnce(&TokenPair) -> Option<Value>) -> Response {
    match shape(&pair) {
        Some(body) => Json(body).into_response(),
        None => Json(pair).into_response(),
    }
}

async fn login<U: AuthUser>(
    auth: Centurion<U>,
    throttled: Option<(Throttle, IpAddr)>,
    info: ClientInfo,
    body: Credentials,
    shape: Option<LoginShape<U>>,
) -> Result<Response> {
    let user = match throttled {
        Some((throttle, ip)) => {
            throttle
                .authenticate(&auth, Some(ip), &body.username, &body.password)
                .await?
        }
        None => auth.authenticate(&body.username, &body.password).await?,
    };
    let pair = auth.issue_pair_from(&user, &info).await?;
    Ok(pair_answer(pair, |pair| {
        shape.map(|shape| shape(pair, &user))
    }))
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

async fn refresh<U: AuthUser>(
    auth: Centurion<U>,
    info: ClientInfo,
    JsonBody(body): JsonBody<RefreshBody>,
    shape: Option<PairShape>,
) -> Result<Response> {
    let pair = auth.refresh_from(&body.refresh_token, &info).await?;
    Ok(pair_answer(pair, |pair| shape.map(|shape| shape(pair))))
}

#[derive(Deserialize)]
struct LogoutBody {
    refresh_token: Option<String>,
}

async fn logout<U: AuthUser>(
    auth: Centurion<U>,
    access: Result<Claims>,
    request: Request,
) -> Result<Json<Value>> {
    // Only these two let the refresh token speak for the session; any other refusal is
    // answered before the body is read.
    let (access, refusal) = match access {
        Ok(claims) => (Some(claims), None),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::MissingToken | ErrorKind::ExpiredAccessError
            ) =>
        {
            (None, Some(e))
        }
        Err(e) => return Err(e),
    };
    // The access token is optional here: the refresh token alone may end the session.
    answer_probe(request.extensions(), true)?;
    let body = Option::<JsonBody<LogoutBody>>::from_request(request, &()).await?;
    let refresh = body.and_then(|JsonBody(body)| body.refresh_token);
    match (access, refresh) {
        (Some(claims), refresh) => auth.logout(&claims, refresh.as_deref()).await?,
        (None, Some(refresh)) => auth.logout_with_refresh(&refresh).await?,
        (None, None) => {
            return Err(refusal.unwrap_or_else(|| Error::new(ErrorKind::MissingToken)));
        }
    }
    Ok(Json(json!({"message": "logged out"})))
}
