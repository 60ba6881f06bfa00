//! # Centurion
//!
//! Decorator-style security for [axum]: hash and verify passwords with argon2id, issue
//! JWT access and refresh tokens, guard handlers with role requirements written as
//! attributes, load the current user, revoke tokens. In the spirit of Python's
//! flask-praetorian and flask-jwt-extended, with refresh rotation and reuse detection,
//! token freshness, rehash-on-login, login throttling and a bounded hashing pool built in.
//!
//! ```
//! use axum::{Json, Router, routing::{get, post}};
//! use centurion::{secured, AuthUser, Centurion, Claims, CurrentUser, Permission, memory::MemoryUserStore};
//!
//! #[derive(Permission)]                         // permission names, declared once
//! enum Perm { #[permission(rename = "reports:read")] ReportsRead }
//!
//! #[derive(centurion::Role, Clone, Copy, PartialEq, Debug)]  // "admin", "editor", "author", "owner"
//! #[role(permissions = Perm)]
//! enum Role {                                   // named `Role`: derive it by path, as here
//!     #[role(grants = "reports:read")]
//!     Admin,
//!     Editor,
//!     Author,
//!     #[role(includes = "admin, editor")]       // satisfies whatever admin or editor does
//!     Owner,
//! }
//!
//! #[derive(AuthUser, Clone)]
//! struct User {
//!     #[auth_user(id)]       id: i64,
//!     #[auth_user(username)] email: String,
//!     #[auth_user(password)] password_hash: String,
//!     #[auth_user(roles)]    roles: Vec<Role>,  // also gives the instance the hierarchy
//!     #[auth_user(is_valid)] active: bool,
//! }
//!
//! #[secured]                                   // any valid access token
//! async fn me(user: CurrentUser<User>) -> Json<String> {
//!     Json(user.email.clone())
//! }
//!
//! #[secured(roles = "admin")]                  // every listed role (checked at compile time)
//! async fn admin() -> &'static str { "welcome" }
//!
//! #[secured(any_of = "editor, author")]        // at least one; roles travel in the token
//! async fn publish(claims: Claims) -> String { claims.subject().to_owned() }
//!
//! #[secured(permissions = "reports:read")]     // admins and owners: granted, then inherited
//! async fn reports() -> &'static str { "…" }
//!
//! #[secured(fresh)]                            // a token straight from a login
//! async fn change_password(claims: Claims) {}
//!
//! # fn main() -> Result<(), centurion::Error> {
//! let auth = Centurion::<User>::builder()
//!     .secret("an-example-secret-of-at-least-32-bytes!!")  // or a key pair (RS256, ES256, EdDSA)
//!     .user_store(MemoryUserStore::new())                   // or the SQL stores, or your own
//!     .build()?;                                            // misconfiguration fails here
//!
//! let app: Router = Router::new()
//!     .route("/api/me", get(me))
//!     .route("/api/admin", get(admin))
//!     .route("/api/articles", post(publish))
//!     .route("/api/reports", get(reports))
//!     .route("/api/account/password", post(change_password))
//!     .layer(auth.layer());
//! # Ok(()) }
//! ```
//!
//! A role enum in a module, or in another crate, is declared for every `#[secured]` of the
//! crate by one line at the crate root: `centurion::roles!(auth::Role);` (see [`roles!`]).
//!
//! Logging in, refreshing and logging out are calls on the instance
//! ([`Centurion::login`], [`Centurion::refresh`], [`Centurion::logout`]); every failure is
//! one [`Error`] that answers with `{"error", "message", "status_code"}` JSON. A handler
//! that wants to answer a failed authentication itself takes `Result<Claims, Error>`
//! instead of `Claims`; [`CenturionBuilder::error_responder`] replaces the body for all.
//!
//! ## Pieces
//!
//! - [`Centurion`]: the configured instance, built with [`Centurion::builder`] or from a
//!   serde [`Config`]. It issues and verifies tokens, refreshes with rotation, revokes,
//!   authenticates users.
//! - [`http`]: the extractors [`Claims`] and [`CurrentUser`], the layer, [`JsonBody`],
//!   the client's address, and the plain checks [`check_roles`], [`check_permissions`] and
//!   [`check_fresh`] the `#[secured]` macro runs.
//! - [`Role`], [`Permission`] and [`RoleTable`]: the role hierarchy and the permission
//!   grants, closed at compile time by `#[derive(Role)]`.
//! - [`transport`]: where tokens are read from (header, cookies, query for WebSocket
//!   upgrades), the session cookies for browser clients and their CSRF protection.
//! - [`UserStore`] and [`RevocationStore`]: what applications plug in; [`memory`] has
//!   in-memory implementations, `sql` (features `sqlite`, `postgres`) and `redis`
//!   (feature `redis`) the production ones.
//! - `oidc` (feature `oidc`): the access tokens of identity providers (OpenID discovery,
//!   remote key sets that do not cause outages, roles and scopes from their claims) beside
//!   the instance's own, configured with [`IdentityProviderConfig`].
//! - [`password`]: argon2id on a bounded pool; [`throttle`]: login throttling;
//!   [`mail`]: confirmation and reset mail (SMTP with feature `smtp`).
//! - [`routes`]: ready-made login/refresh/logout, registration, password-reset and cookie
//!   session routes, each group a `Router` to merge.
//! - `openapi` (feature `utoipa` or `aide`): `#[secured]` above `#[utoipa::path]`, or
//!   any `#[secured]` handler in an aide `ApiRouter`, documents the
//!   handler's requirement and its 401/403 answers; `Centurion::openapi` declares the
//!   security schemes the instance accepts; the error body's schema, the ready-made auth
//!   routes' operations, and a check that a document matches the guards of a router.
//! - `serve` (feature `serve`): serving the application with a header-read, idle and
//!   request timeout, a connection cap and a shutdown deadline, which `axum::serve` lacks.
//! - [`Error`]: one error type whose [`ErrorKind`] fixes status and JSON body.
//!
//! ## Token kinds
//!
//! Access, refresh, service, registration and reset tokens carry their kind in the `type`
//! claim and are accepted only where they belong: a refresh token is never an access
//! token, nor the reverse, nor a registration or reset token either.

#![cfg_attr(docsrs, feature(doc_cfg))]

// Layers, bottom up (ARCHITECTURE.md): a module names only modules of earlier rows, which
// `scripts/module-graph.py` checks.
pub mod clock;
#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(any(feature = "utoipa", feature = "aide"))))]
pub mod docs;
mod error;
mod expansion;
pub mod identity;
mod log_limit;
mod notice;
mod roles;
mod session;
mod store;
#[cfg(any(test, feature = "test-util"))]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;
mod user;

pub mod config;
#[cfg(feature = "legacy")]
mod legacy;

mod jwt;
pub mod password;

pub mod memory;
#[cfg(feature = "oidc")]
#[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
pub mod oidc;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod sql;
pub mod transport;

mod core;
mod user_cache;

mod centurion;

pub mod dangerous;
pub mod http;
pub mod mail;
#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(any(feature = "utoipa", feature = "aide"))))]
pub mod openapi;
#[cfg(feature = "serve")]
#[cfg_attr(docsrs, doc(cfg(feature = "serve")))]
pub mod serve;
pub mod throttle;

pub mod routes;

pub use crate::centurion::{
    Authenticated, Centurion, CenturionBuilder, IssueTo, Registration, Session, SessionStart,
    TokenPair,
};
pub use crate::config::{
    Config, CookieConfig, IdentityProviderConfig, LegacyConfig, PasswordConfig, SameSite, Secret,
    TokenLocation, VerificationKeyConfig,
};
pub use crate::core::TokenEvent;
pub use crate::error::{Error, ErrorKind, Result};
pub use crate::http::{CurrentUser, JsonBody, check_fresh, check_permissions, check_roles};
pub use crate::jwt::{Claims, RESERVED_CLAIMS, TokenKind, install_crypto_provider};
pub use crate::roles::{Permission, Role, RoleName, RoleTable};
pub use crate::session::{ClientInfo, Rotation, RotationOutcome, SessionLimits, SessionRecord};
pub use crate::store::{ImportedUser, NewUser, Registered, RevocationStore, TokenRef, UserStore};
pub use crate::transport::{ClearSessionCookies, SessionCookies};
pub use crate::user::{AuthUser, HasEmail, IdKind, UserParts, UserRecord};

pub use centurion_macros::{AuthUser, Permission, Role, roles, secured};

/// Items the macros expand to. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::expansion::*;
    pub use crate::http::{
        Guard, Requirement, Secured,
        write_secured_above_utoipa_path_so_it_can_document_the_security,
    };
    pub use crate::roles::{
        Declared, ERRONEOUS, Lookup, Message, Permission, Role, RoleEntry, RoleTable,
        at_crate_root, undeclared, unknown_grant,
    };
    pub use crate::user::{AuthUser, HasEmail, IdKind, UserParts, UserRecord};
    pub use axum;
    pub use http;

    /// What `#[secured]` names in the `#[utoipa::path]` it rewrites.
    #[cfg(feature = "utoipa")]
    pub mod utoipa {
        pub use crate::openapi::ErrorBody;
    }
}
