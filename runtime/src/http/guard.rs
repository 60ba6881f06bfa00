//! What `#[secured]` checks: the requirement the macro compiles, the guard extractor that
//! enforces it before any other extractor, and the plain checks [`check_roles`] and
//! [`check_fresh`].

use axum::extract::FromRequestParts;
use http::request::Parts;

use super::extract::verified_claims;
use crate::error::{Error, ErrorKind, Result};
use crate::jwt::Claims;

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
async fn enforce(parts: &mut Parts, req: &Requirement) -> Result<()> {
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
