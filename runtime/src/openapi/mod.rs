//! OpenAPI documents: `#[secured]` documents itself, through [utoipa] (feature `utoipa`)
//! or through [aide](https://docs.rs/aide) (feature `aide`, module [`aide`](self::aide)).
//!
//! With utoipa:
//! - Write **`#[secured(…)]` above `#[utoipa::path(…)]`**. `#[secured]` expands first and
//!   rewrites the path attribute: it adds its 401 (and, when roles or permissions are
//!   required, 403) responses with the [`ErrorBody`] schema *before* yours (a response you
//!   write for the same status wins), and an `x-centurion` operation extension holding the
//!   exact requirement (`{"roles", "any_of", "permissions", "any_permission", "fresh",
//!   "optional"}`). The other order is a compile error that says which is right; a
//!   hand-written `security(…)` under `#[secured]` is an error too (the guard decides it).
//! - Apply [`Centurion::openapi`](crate::Centurion::openapi) to the finished document
//!   (`auth.openapi().modify(&mut api)`): it declares the security schemes the instance
//!   accepts (bearer, session cookie and CSRF header, one OpenID Connect scheme per
//!   identity provider) and turns each `x-centurion` into the operation's `security`, as
//!   [`crate::docs`] describes.
//! - [`auth_routes`] documents the ready-made auth routes at the paths they are mounted at.
//! - [`verify`] checks, in a test, that a document says what the guards of a router do.
//!
#![cfg_attr(feature = "utoipa", doc = "```")]
#![cfg_attr(not(feature = "utoipa"), doc = "```ignore")]
//! use axum::Router;
//! use centurion::{Centurion, memory::MemoryUserStore, secured, testing::TestUser};
//! use utoipa::Modify;
//! use utoipa_axum::{router::OpenApiRouter, routes};
//!
//! #[derive(centurion::Role)]
//! enum Role { Admin }
//!
//! /// Administrators only.
//! #[secured(roles = "admin")]
//! #[utoipa::path(get, path = "/api/admin", responses((status = 200, description = "Welcome")))]
//! async fn admin() -> &'static str { "welcome" }
//!
//! # fn main() -> Result<(), centurion::Error> {
//! let auth = Centurion::<TestUser>::builder()
//!     .secret("an-example-secret-of-at-least-32-bytes!!")
//!     .user_store(MemoryUserStore::new())
//!     .build()?;
//! let (router, mut api) = OpenApiRouter::new().routes(routes!(admin)).split_for_parts();
//! auth.openapi().modify(&mut api);
//! let app: Router = router.layer(auth.layer());
//!
//! let doc = serde_json::to_value(&api).unwrap();
//! let operation = &doc["paths"]["/api/admin"]["get"];
//! assert_eq!(operation["security"], serde_json::json!([{"bearerAuth": ["admin"]}]));
//! assert_eq!(operation["x-centurion"]["roles"], serde_json::json!(["admin"]));
//! assert!(operation["responses"]["403"].is_object());
//! # Ok(()) }
//! ```

#[cfg(feature = "aide")]
#[cfg_attr(docsrs, doc(cfg(feature = "aide")))]
pub mod aide;
mod auth_routes;
#[cfg(feature = "utoipa")]
mod modify;
mod verify;

#[cfg(feature = "utoipa")]
pub use self::auth_routes::auth_routes;
pub use self::auth_routes::{
    AuthRoutePaths, PasswordResetPaths, RegistrationPaths, SessionPaths, TokenPaths,
};
#[cfg(feature = "utoipa")]
pub use self::modify::requirement_of;
pub use self::verify::verify;
pub use crate::docs::SecurityDocs;

/// Every error's JSON body: `{"error": "<Name>", "message": "<text>", "status_code": <n>}`
/// (see [`Error`](crate::Error)). `#[secured]` names it in the responses it documents.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "aide", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "utoipa",
    derive(utoipa::ToSchema),
    schema(example = json!({
        "error": "MissingToken",
        "message": "the request carries no access token",
        "status_code": 401
    }))
)]
pub struct ErrorBody {
    /// The error's name, e.g. `MissingToken`, `MissingRoleError`, `FreshTokenRequired`.
    pub error: String,
    /// A sentence for people.
    pub message: String,
    /// The HTTP status, repeated.
    pub status_code: u16,
}
