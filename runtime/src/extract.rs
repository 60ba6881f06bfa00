//! axum integration: the layer that carries the instance to handlers, and the extractors.
//!
//! | extractor | requires | gives |
//! | --- | --- | --- |
//! | [`Claims`] | a valid access token | the token's claims |
//! | `Option<Claims>` | a valid token *if one is sent* | `None` without a token |
//! | [`CurrentUser<U>`] | a valid access token whose user exists and is valid | the user, loaded once per request |
//! | `Option<CurrentUser<U>>` | as above if a token is sent | `None` without a token |
//! | [`Centurion<U>`] | the layer | the instance, to log users in |
//! | [`JsonBody<T>`] | a JSON body that fits `T` | the body; refusals are the JSON error body |
//!
//! A present but invalid token is always refused, also by the `Option` forms: a client
//! that sends a token means to be authenticated.
//!
//! The access token is read from the configured
//! [token locations](crate::cookies#token-locations), by default only
//! `Authorization: Bearer <token>` (the scheme is case-insensitive). A request with several
//! `Authorization` headers is refused. A token read from a cookie on an unsafe method
//! (`POST`, `PUT`, `PATCH`, `DELETE`, …) also needs the CSRF header; without it (or with a
//! wrong one) every extractor answers [`ErrorKind::CsrfError`] (401).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts};
use axum::response::Response;
use http::request::Parts;
use http::{Request, header};

use crate::centurion::{Centurion, Core};
use crate::cookies::TokenSource;
use crate::error::{Error, ErrorKind, Result};
use crate::token::Claims;
use crate::user::AuthUser;

fn missing_layer() -> Error {
    tracing::error!("centurion's layer is missing: add `.layer(auth.layer())` to the router");
    Error::new(ErrorKind::InternalError).with_message("authentication is not configured")
}

pub(crate) fn core(parts: &Parts) -> Result<&Arc<Core>> {
    parts
        .extensions
        .get::<Arc<Core>>()
        .ok_or_else(missing_layer)
}

/// Reads the bearer token of a request: `Ok(None)` when there is no `Authorization`
/// header, an error when it is malformed or repeated.
///
/// ```
/// let req = http::Request::get("/").header("authorization", "bearer abc.def.ghi").body(()).unwrap();
/// let (parts, _) = req.into_parts();
/// assert_eq!(centurion::extract::bearer_token(&parts.headers).unwrap(), Some("abc.def.ghi"));
/// ```
pub fn bearer_token(headers: &http::HeaderMap) -> Result<Option<&str>> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Error::new(ErrorKind::InvalidTokenHeader)
            .with_message("the request carries more than one Authorization header"));
    }
    let malformed = || Error::new(ErrorKind::InvalidTokenHeader);
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed());
    }
    let token = token.trim_matches(' ');
    if token.is_empty() || token.contains(' ') {
        return Err(malformed());
    }
    Ok(Some(token))
}

/// The verified claims of this request, cached in its extensions so the guard, `Claims`
/// and `CurrentUser` verify the token only once.
#[derive(Clone)]
struct Verified(Option<Claims>);

/// Verifies the request's token once; `Ok(None)` when the request carries none.
pub(crate) async fn verified_claims(parts: &mut Parts) -> Result<Option<Claims>> {
    if let Some(Verified(claims)) = parts.extensions.get::<Verified>() {
        return Ok(claims.clone());
    }
    let core = Arc::clone(core(parts)?);
    let claims = match core.transport.find_token(parts)? {
        Some((token, source)) => {
            let claims = core.verify_request_token(&token).await?;
            if source == TokenSource::Cookie {
                core.transport.check_request_csrf(parts, &claims)?;
            }
            Some(claims)
        }
        None => None,
    };
    if let Some(claims) = &claims {
        // Lets request spans that declare a `user_id` field log who made the request.
        tracing::Span::current().record("user_id", claims.subject());
    }
    parts.extensions.insert(Verified(claims.clone()));
    Ok(claims)
}

async fn required_claims(parts: &mut Parts) -> Result<Claims> {
    verified_claims(parts)
        .await?
        .ok_or_else(|| Error::new(ErrorKind::MissingToken))
}

impl<S: Send + Sync> FromRequestParts<S> for Claims {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        required_claims(parts).await
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Claims {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>> {
        verified_claims(parts).await
    }
}

/// The authenticated user, loaded through the user store at most once per request (or
/// less often, from the user cache, when [`CenturionBuilder::user_cache`](crate::CenturionBuilder::user_cache)
/// turned it on).
///
/// It dereferences to `U`. A token whose user no longer exists is refused with
/// [`ErrorKind::MissingUserError`] (401), an invalid user with
/// [`ErrorKind::InvalidUserError`] (403).
///
/// ```
/// use axum::{Json, routing::get, Router};
/// use centurion::{CurrentUser, testing::TestUser};
///
/// async fn me(user: CurrentUser<TestUser>) -> Json<String> {
///     Json(user.username.clone())
/// }
/// let app: Router = Router::new().route("/me", get(me));
/// ```
pub struct CurrentUser<U>(pub Arc<U>);

impl<U> Clone for CurrentUser<U> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<U> std::ops::Deref for CurrentUser<U> {
    type Target = U;
    fn deref(&self) -> &U {
        &self.0
    }
}

impl<U: AuthUser> std::fmt::Debug for CurrentUser<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurrentUser")
            .field("id", &self.0.id())
            .field("username", &self.0.username())
            .finish_non_exhaustive()
    }
}

struct LoadedUser<U>(Arc<U>);

impl<U> Clone for LoadedUser<U> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

async fn load_user<U: AuthUser>(parts: &mut Parts, claims: &Claims) -> Result<CurrentUser<U>> {
    if let Some(LoadedUser(user)) = parts.extensions.get::<LoadedUser<U>>() {
        return Ok(CurrentUser(Arc::clone(user)));
    }
    let auth = parts.extensions.get::<Centurion<U>>().cloned().ok_or_else(|| {
        tracing::error!(
            user_type = std::any::type_name::<U>(),
            "no Centurion for this user type: add `.layer(auth.layer())` with a Centurion<U> of the same U"
        );
        Error::new(ErrorKind::InternalError).with_message("authentication is not configured")
    })?;
    let user = auth
        .current_user(claims.subject())
        .await?
        .ok_or_else(|| Error::new(ErrorKind::MissingUserError))?;
    if !user.is_valid() {
        return Err(Error::new(ErrorKind::InvalidUserError));
    }
    parts.extensions.insert(LoadedUser(Arc::clone(&user)));
    Ok(CurrentUser(user))
}

impl<S: Send + Sync, U: AuthUser> FromRequestParts<S> for CurrentUser<U> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        let claims = required_claims(parts).await?;
        load_user(parts, &claims).await
    }
}

impl<S: Send + Sync, U: AuthUser> OptionalFromRequestParts<S> for CurrentUser<U> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>> {
        match verified_claims(parts).await? {
            Some(claims) => load_user(parts, &claims).await.map(Some),
            None => Ok(None),
        }
    }
}

impl<S: Send + Sync, U: AuthUser> FromRequestParts<S> for Centurion<U> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        parts
            .extensions
            .get::<Centurion<U>>()
            .cloned()
            .ok_or_else(missing_layer)
    }
}

/// A JSON request body whose refusals are centurion's JSON error body: `400
/// InvalidRequest` with a message that says what is wrong, where axum's own [`Json`]
/// answers in plain text (and with 415 or 422). Use it for the bodies of the routes that
/// log in, refresh, register and reset, so that every bad input a client can send gets the
/// same error shape as a refused token.
///
/// | the body | message |
/// | --- | --- |
/// | no `Content-Type: application/json` | `the body must be JSON (Content-Type: application/json)` |
/// | not JSON | `the body is not valid JSON` |
/// | JSON of the wrong shape | `the body does not fit: ` and serde's account (a missing field, a wrong type) |
/// | unreadable (over the body limit, cut off) | `the body cannot be read` |
///
/// Put it last among the handler's arguments (it consumes the body); with `#[secured]` the
/// token is checked before the body is read.
///
/// [`Json`]: axum::Json
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use axum::{Router, body::Body, http::Request, routing::post};
/// use centurion::JsonBody;
/// use tower::ServiceExt;
///
/// #[derive(serde::Deserialize)]
/// struct Login { username: String }
///
/// async fn login(JsonBody(login): JsonBody<Login>) -> String {
///     login.username
/// }
///
/// let app = Router::new().route("/login", post(login));
/// let request = Request::post("/login")
///     .header("content-type", "application/json")
///     .body(Body::from(r#"{"user": "ada"}"#))
///     .unwrap();
/// let response = app.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 400);
/// let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
/// let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
/// assert_eq!(body["error"], "InvalidRequest");
/// let message = body["message"].as_str().unwrap();
/// assert!(message.starts_with("the body does not fit: "), "{message}");
/// assert!(message.contains("missing field `username`"), "{message}");
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self> {
        use axum::extract::rejection::JsonRejection;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => {
                let message = match rejection {
                    JsonRejection::MissingJsonContentType(_) => {
                        "the body must be JSON (Content-Type: application/json)".to_owned()
                    }
                    JsonRejection::JsonSyntaxError(_) => "the body is not valid JSON".to_owned(),
                    JsonRejection::JsonDataError(e) => {
                        format!("the body does not fit: {}", e.body_text())
                    }
                    _ => "the body cannot be read".to_owned(),
                };
                Err(Error::new(ErrorKind::InvalidRequest).with_message(message))
            }
        }
    }
}

/// Requires every role of `all_of` and at least one of `any_of` (when not empty).
///
/// This is the check `#[secured(roles = …, any_of = …)]` runs.
///
/// ```
/// use centurion::{check_roles, ErrorKind};
/// let held = ["editor".to_string()];
/// assert!(check_roles(&held, &[], &["editor", "author"]).is_ok());
/// assert_eq!(check_roles(&held, &["admin"], &[]).unwrap_err().kind(), ErrorKind::MissingRoleError);
/// ```
pub fn check_roles(held: &[String], all_of: &[&str], any_of: &[&str]) -> Result<()> {
    let has = |role: &str| held.iter().any(|h| h == role);
    if let Some(missing) = all_of.iter().find(|r| !has(r)) {
        return Err(Error::new(ErrorKind::MissingRoleError)
            .with_message(format!("this action requires the role `{missing}`")));
    }
    if !any_of.is_empty() && !any_of.iter().any(|r| has(r)) {
        return Err(
            Error::new(ErrorKind::MissingRoleError).with_message(format!(
                "this action requires one of the roles {}",
                any_of.join(", ")
            )),
        );
    }
    Ok(())
}

/// Requires a fresh access token (one issued by a login, not a refresh).
///
/// ```
/// # async fn demo() -> Result<(), centurion::Error> {
/// # use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
/// # let auth = Centurion::<TestUser>::builder()
/// #     .secret("an-example-secret-of-at-least-32-bytes!!")
/// #     .user_store(MemoryUserStore::new()).build()?;
/// let pair = auth.issue_pair(&TestUser::new(1, "ada", &[])).await?;
/// let claims = auth.verify_access(&pair.access_token).await?;
/// assert!(centurion::check_fresh(&claims).is_ok());
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
pub fn check_fresh(claims: &Claims) -> Result<()> {
    if claims.is_fresh() {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::FreshTokenRequired))
    }
}

/// What one `#[secured]` handler requires. Built by the macro; public for the macro only.
#[doc(hidden)]
#[derive(Debug)]
pub struct Requirement {
    /// Roles that must all be held.
    pub all_of: &'static [&'static str],
    /// Roles of which one must be held (ignored when empty).
    pub any_of: &'static [&'static str],
    /// Whether the access token must be fresh.
    pub fresh: bool,
    /// Whether a request without any token passes anonymously.
    pub optional: bool,
}

/// Implemented by the zero-sized type `#[secured]` generates for each handler.
#[doc(hidden)]
pub trait Secured: Send + Sync + 'static {
    /// The handler's requirement.
    const REQUIREMENT: Requirement;
}

/// The guard `#[secured]` puts first in a handler's parameters.
#[doc(hidden)]
pub struct Guard<R>(std::marker::PhantomData<fn() -> R>);

impl<R> std::fmt::Debug for Guard<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Guard")
    }
}

/// Runs a requirement against the request: the whole of what `#[secured]` checks.
pub(crate) async fn enforce(parts: &mut Parts, req: &Requirement) -> Result<()> {
    let claims = match verified_claims(parts).await? {
        Some(claims) => claims,
        None if req.optional => return Ok(()),
        None => return Err(Error::new(ErrorKind::MissingToken)),
    };
    check_roles(claims.roles(), req.all_of, req.any_of)?;
    if req.fresh {
        check_fresh(&claims)?;
    }
    Ok(())
}

impl<S: Send + Sync, R: Secured> FromRequestParts<S> for Guard<R> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        enforce(parts, &R::REQUIREMENT).await?;
        Ok(Guard(std::marker::PhantomData))
    }
}

// ---------------------------------------------------------------------------------------
// The layer.

/// A tower layer that makes the instance available to extractors and, when an error
/// responder is configured, rewrites centurion's error responses.
///
/// ```
/// # fn demo() -> Result<(), centurion::Error> {
/// use axum::{Router, routing::get};
/// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
/// let auth = Centurion::<TestUser>::builder()
///     .secret("an-example-secret-of-at-least-32-bytes!!")
///     .user_store(MemoryUserStore::new())
///     .build()?;
/// let app: Router = Router::new().route("/", get(|| async { "hi" })).layer(auth.layer());
/// # Ok(()) }
/// # demo().unwrap();
/// ```
pub struct CenturionLayer<U> {
    auth: Centurion<U>,
}

impl<U> Clone for CenturionLayer<U> {
    fn clone(&self) -> Self {
        Self {
            auth: self.auth.clone(),
        }
    }
}

impl<U> std::fmt::Debug for CenturionLayer<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CenturionLayer")
    }
}

impl<U: AuthUser> Centurion<U> {
    /// The layer to add to the router.
    pub fn layer(&self) -> CenturionLayer<U> {
        CenturionLayer { auth: self.clone() }
    }
}

impl<S, U> tower_layer::Layer<S> for CenturionLayer<U> {
    type Service = CenturionService<S, U>;

    fn layer(&self, inner: S) -> Self::Service {
        CenturionService {
            inner,
            auth: self.auth.clone(),
        }
    }
}

/// The service [`CenturionLayer`] wraps around a router or route.
pub struct CenturionService<S, U> {
    inner: S,
    auth: Centurion<U>,
}

impl<S: Clone, U> Clone for CenturionService<S, U> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            auth: self.auth.clone(),
        }
    }
}

impl<S, U> std::fmt::Debug for CenturionService<S, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CenturionService")
    }
}

impl<S, U, B> tower_service::Service<Request<B>> for CenturionService<S, U>
where
    S: tower_service::Service<Request<B>, Response = Response>,
    U: AuthUser,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let extensions = req.extensions_mut();
        extensions.insert(Arc::clone(&self.auth.core));
        extensions.insert(self.auth.clone());
        ResponseFuture {
            inner: self.inner.call(req),
            core: Arc::clone(&self.auth.core),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`CenturionService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        core: Arc<Core>,
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = std::result::Result<Response, E>>,
{
    type Output = std::result::Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = std::task::ready!(this.inner.poll(cx))?;
        let Some(responder) = &this.core.responder else {
            return Poll::Ready(Ok(response));
        };
        match response.extensions().get::<Arc<Error>>() {
            Some(err) => Poll::Ready(Ok(responder(err))),
            None => Poll::Ready(Ok(response)),
        }
    }
}
