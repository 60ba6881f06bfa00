//! What `#[secured]` checks: the requirement the macro compiles, the guard extractor that
//! enforces it before any other extractor, and the plain checks [`check_roles`],
//! [`check_permissions`] and [`check_fresh`].

use axum::extract::FromRequestParts;
use http::request::Parts;

use super::extract::verified_claims;
use crate::error::{Error, ErrorKind, Result};
use crate::jwt::{Claims, missing_permission, missing_role};
use crate::roles::RoleTable;

/// `` `a`, `b` ``, for messages.
fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Requires every role of `all_of` and at least one of `any_of` (when not empty), through
/// the hierarchy: a token holding `owner`, which includes `admin`, satisfies `admin`.
///
/// This is the check `#[secured(roles = …, any_of = …)]` runs; a refusal is the 403
/// [`ErrorKind::MissingRoleError`] naming the role.
///
/// ```
/// # async fn demo() -> Result<(), centurion::Error> {
/// use centurion::{Centurion, ErrorKind, check_roles, memory::MemoryUserStore, testing::TestUser};
/// # let auth = Centurion::<TestUser>::builder()
/// #     .secret("an-example-secret-of-at-least-32-bytes!!")
/// #     .user_store(MemoryUserStore::new()).build()?;
/// let pair = auth.issue_pair(&TestUser::new(1, "ada", &["editor"])).await?;
/// let claims = auth.verify_access(&pair.access_token).await?;
/// assert!(check_roles(&claims, &[], &["editor", "author"]).is_ok());
/// let refused = check_roles(&claims, &["admin"], &[]).unwrap_err();
/// assert_eq!(refused.kind(), ErrorKind::MissingRoleError);
/// assert_eq!(refused.message(), "this action requires the role `admin`");
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
pub fn check_roles(claims: &Claims, all_of: &[&str], any_of: &[&str]) -> Result<()> {
    if let Some(missing) = all_of.iter().find(|role| !claims.has_role(**role)) {
        return Err(missing_role(missing));
    }
    if !any_of.is_empty() && !any_of.iter().any(|role| claims.has_role(*role)) {
        return Err(
            Error::new(ErrorKind::MissingRoleError).with_message(format!(
                "this action requires one of the roles {}",
                quoted(any_of)
            )),
        );
    }
    Ok(())
}

/// Requires every permission of `all_of` and at least one of `any_of` (when not empty).
///
/// This is the check `#[secured(permissions = …, any_permission = …)]` runs; a refusal is
/// the 403 [`ErrorKind::MissingPermissionError`] naming the permission. In handlers,
/// prefer [`Claims::require_permission`], which takes the permission enum (a typo does not
/// compile).
///
/// ```
/// # async fn demo() -> Result<(), centurion::Error> {
/// use centurion::{Centurion, ErrorKind, Permission, Role, check_permissions, memory::MemoryUserStore, testing::TestUser};
///
/// #[derive(Permission)]
/// enum Perm { #[permission(rename = "reports:read")] ReportsRead, #[permission(rename = "reports:write")] ReportsWrite }
///
/// #[derive(Role)]
/// #[role(permissions = Perm)]
/// enum AppRole { #[role(grants = "reports:read")] Auditor }
///
/// # let auth = Centurion::<TestUser>::builder()
/// #     .secret("an-example-secret-of-at-least-32-bytes!!")
/// #     .user_store(MemoryUserStore::new()).roles::<AppRole>().build()?;
/// let pair = auth.issue_pair(&TestUser::new(1, "ada", &["auditor"])).await?;
/// let claims = auth.verify_access(&pair.access_token).await?;
/// assert!(check_permissions(&claims, &["reports:read"], &[]).is_ok());
/// let refused = check_permissions(&claims, &[], &["reports:write"]).unwrap_err();
/// assert_eq!(refused.kind(), ErrorKind::MissingPermissionError);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
pub fn check_permissions(claims: &Claims, all_of: &[&str], any_of: &[&str]) -> Result<()> {
    if let Some(missing) = all_of.iter().find(|p| !claims.holds_permission(p)) {
        return Err(missing_permission(missing));
    }
    if !any_of.is_empty() && !any_of.iter().any(|p| claims.holds_permission(p)) {
        return Err(
            Error::new(ErrorKind::MissingPermissionError).with_message(format!(
                "this action requires one of the permissions {}",
                quoted(any_of)
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
    /// Permissions that must all be held.
    pub all_permissions: &'static [&'static str],
    /// Permissions of which one must be held (ignored when empty).
    pub any_permission: &'static [&'static str],
    /// Whether the access token must be fresh.
    pub fresh: bool,
    /// Whether a request without any token passes anonymously.
    pub optional: bool,
    /// The table of the role type the names were checked against at compile time, when
    /// it has a hierarchy or permissions: the instance must resolve tokens with it.
    pub table: Option<&'static RoleTable>,
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

/// The type `#[secured]`'s attribute-order check names: when `#[utoipa::path]` is written
/// above `#[secured]`, the compiler's error says "expected
/// `write_secured_above_utoipa_path_so_it_can_document_the_security`".
#[doc(hidden)]
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct write_secured_above_utoipa_path_so_it_can_document_the_security;

/// A request extension that asks the guard which requirement it enforces instead of
/// enforcing it: the guard writes its requirement here and refuses the request, so the
/// handler never runs. Only code in the process can put an extension on a request, so no
/// client can send it; `centurion::openapi::verify` uses it to compare a document with the
/// guards a router actually runs.
#[cfg(feature = "openapi")]
#[derive(Clone, Debug, Default)]
pub(crate) struct Introspect {
    answer: std::sync::Arc<std::sync::OnceLock<crate::docs::DocRequirement>>,
}

#[cfg(feature = "openapi")]
impl Introspect {
    fn answer(&self, requirement: &Requirement) {
        let _ = self.answer.set(requirement.into());
    }

    /// The requirement of the guard that answered, if one did.
    pub(crate) fn answered(&self) -> Option<crate::docs::DocRequirement> {
        self.answer.get().cloned()
    }
}

/// A `#[secured]` requirement as an API document states it (`x-centurion`).
#[cfg(feature = "openapi")]
impl From<&Requirement> for crate::docs::DocRequirement {
    fn from(requirement: &Requirement) -> Self {
        let owned = |names: &[&str]| names.iter().map(|name| (*name).to_owned()).collect();
        crate::docs::DocRequirement {
            roles: owned(requirement.all_of),
            any_of: owned(requirement.any_of),
            permissions: owned(requirement.all_permissions),
            any_permission: owned(requirement.any_permission),
            fresh: requirement.fresh,
            optional: requirement.optional,
        }
    }
}

/// For a handler that checks its token itself instead of through `#[secured]` (the
/// ready-made logout routes): when the request is a documentation probe, answer it with
/// "a token, with no role" (`optional`: or none) and refuse, as the guard does.
#[cfg(feature = "openapi")]
pub(crate) fn answer_probe(extensions: &http::Extensions, optional: bool) -> Result<()> {
    let Some(probe) = extensions.get::<Introspect>() else {
        return Ok(());
    };
    let _ = probe.answer.set(crate::docs::DocRequirement {
        optional,
        ..crate::docs::DocRequirement::default()
    });
    Err(Error::new(ErrorKind::MissingToken)
        .with_message("a documentation probe: the handler did not run"))
}

/// Without a documentation feature (`utoipa`, `aide`) there is no probe to answer.
#[cfg(not(feature = "openapi"))]
pub(crate) fn answer_probe(_: &http::Extensions, _: bool) -> Result<()> {
    Ok(())
}

impl<R> std::fmt::Debug for Guard<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Guard")
    }
}

/// The handler's names were checked against a role type with a hierarchy or permissions,
/// but the instance resolves tokens without that table: every such check would fail
/// closed for a reason nobody sees, so say it.
fn table_mismatch(claims: &Claims, declared: &'static RoleTable) -> Option<Error> {
    let held = claims.role_table();
    if held.is_some_and(|held| std::ptr::eq(held, declared) || *held == *declared) {
        return None;
    }
    let fix = "the `#[secured]` role type has a hierarchy or permissions, but this Centurion instance checks tokens without its role table: build it with `.roles::<YourRoleEnum>()`, or hold the role enum in the user type's `#[auth_user(roles)]` field";
    tracing::error!("{fix}");
    Some(Error::config(fix))
}

/// Runs a requirement against the request: the whole of what `#[secured]` checks.
async fn enforce(parts: &mut Parts, req: &Requirement) -> Result<()> {
    let claims = match verified_claims(parts).await? {
        Some(claims) => claims,
        None if req.optional => return Ok(()),
        None => return Err(Error::new(ErrorKind::MissingToken)),
    };
    if let Some(declared) = req.table
        && let Some(error) = table_mismatch(&claims, declared)
    {
        return Err(error);
    }
    check_roles(&claims, req.all_of, req.any_of)?;
    check_permissions(&claims, req.all_permissions, req.any_permission)?;
    if req.fresh {
        check_fresh(&claims)?;
    }
    Ok(())
}

impl<S: Send + Sync, R: Secured> FromRequestParts<S> for Guard<R> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        #[cfg(feature = "openapi")]
        if let Some(probe) = parts.extensions.get::<Introspect>() {
            probe.answer(&R::REQUIREMENT);
            return Err(Error::new(ErrorKind::MissingToken)
                .with_message("a documentation probe: the handler did not run"));
        }
        enforce(parts, &R::REQUIREMENT).await?;
        Ok(Guard(std::marker::PhantomData))
    }
}
