//! The extractors: [`Claims`] (and `Option<Claims>`), [`CurrentUser`] (and its `Option`),
//! and [`Centurion<U>`]. The request's token is found and verified once, whichever asks
//! first, and the answer kept in the request's extensions.

use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::centurion::Centurion;
use crate::core::Core;
use crate::error::{Error, ErrorKind, Result};
use crate::jwt::Claims;
use crate::notice;
use crate::transport::TokenSource;
use crate::user::AuthUser;

/// What a route reached without the `Centurion` layer answers: a 500 whose message names the
/// fix, logged through `tracing` and, once per process, on stderr (an application without a
/// subscriber would otherwise see nothing).
fn missing_layer() -> Error {
    const FIX: &str = "centurion's layer is missing: add `.layer(auth.layer())` to the router, \
                       after the routes it must cover";
    tracing::error!("{FIX}");
    notice::MISSING_LAYER.print(format_args!("{FIX} (a secured route answered 500)"));
    Error::new(ErrorKind::InternalError)
        .with_message(format!("authentication is not configured: {FIX}"))
}

/// The layer is there, but for another user type than the handler's `U`.
fn other_user_type<U>() -> Error {
    const FIX: &str = "add `.layer(auth.layer())` with a `Centurion<U>` of the handler's user type";
    let user_type = std::any::type_name::<U>();
    tracing::error!(user_type, "no Centurion for this user type: {FIX}");
    notice::OTHER_USER_TYPE.print(format_args!(
        "no Centurion<{user_type}> in the request: {FIX} (a route answered 500)"
    ));
    Error::new(ErrorKind::InternalError).with_message(format!(
        "authentication is not configured: no centurion layer for this handler's user type: {FIX}"
    ))
}

fn core(parts: &Parts) -> Result<&Arc<Core>> {
    parts
        .extensions
        .get::<Arc<Core>>()
        .ok_or_else(missing_layer)
}

/// The verified claims of this request, cached in its extensions so the guard, `Claims`
/// and `CurrentUser` verify the token only once, and the id of the instance that verified
/// them: another instance's layer further in (another key, another revocation store)
/// does not take its word for it and verifies the token itself.
#[derive(Clone)]
struct Verified {
    instance: u64,
    claims: Option<Claims>,
}

/// Verifies the request's token once per instance; `Ok(None)` when the request carries
/// none.
pub(super) async fn verified_claims(parts: &mut Parts) -> Result<Option<Claims>> {
    let core = Arc::clone(core(parts)?);
    if let Some(verified) = parts.extensions.get::<Verified>()
        && verified.instance == core.id()
    {
        return Ok(verified.claims.clone());
    }
    let claims = match core.transport().find_token(parts)? {
        Some((token, source)) => {
            let claims = core.verify_request_token(&token).await?;
            if source == TokenSource::Cookie {
                core.transport().check_request_csrf(parts, &claims)?;
            }
            Some(claims)
        }
        None => None,
    };
    if let Some(claims) = &claims {
        // Lets request spans that declare a `user_id` field log who made the request.
        tracing::Span::current().record("user_id", claims.subject());
    }
    parts.extensions.insert(Verified {
        instance: core.id(),
        claims: claims.clone(),
    });
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
/// [`ErrorKind::InvalidUserError`] (403). An identity provider's token is looked up by its
/// issuer and subject ([`UserStore::identify_external`](crate::UserStore::identify_external),
/// then the hook of
/// [`CenturionBuilder::provision_external_users`](crate::CenturionBuilder::provision_external_users)),
/// never by the instance's user ids.
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

/// The user loaded for this request, and the instance whose user store it came from.
struct LoadedUser<U> {
    instance: u64,
    user: Arc<U>,
}

impl<U> Clone for LoadedUser<U> {
    fn clone(&self) -> Self {
        Self {
            instance: self.instance,
            user: Arc::clone(&self.user),
        }
    }
}

async fn load_user<U: AuthUser>(parts: &mut Parts, claims: &Claims) -> Result<CurrentUser<U>> {
    let instance = core(parts)?.id();
    if let Some(loaded) = parts.extensions.get::<LoadedUser<U>>()
        && loaded.instance == instance
    {
        return Ok(CurrentUser(Arc::clone(&loaded.user)));
    }
    let auth = parts
        .extensions
        .get::<Centurion<U>>()
        .cloned()
        .ok_or_else(other_user_type::<U>)?;
    let user = auth
        .current_user_of(claims)
        .await?
        .ok_or_else(|| Error::new(ErrorKind::MissingUserError))?;
    if !user.is_valid() {
        return Err(Error::new(ErrorKind::InvalidUserError));
    }
    parts.extensions.insert(LoadedUser {
        instance,
        user: Arc::clone(&user),
    });
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
            .ok_or_else(|| match parts.extensions.get::<Arc<Core>>() {
                Some(_) => other_user_type::<U>(),
                None => missing_layer(),
            })
    }
}
