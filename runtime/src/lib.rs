//! # Centurion
//!
//! Decorator-style security for [axum]: hash and verify passwords with argon2id, issue
//! JWT access and refresh tokens, guard handlers with role requirements written as
//! attributes, load the current user, revoke tokens. In the spirit of Python's
//! flask-praetorian and flask-jwt-extended, with refresh rotation and reuse detection,
//! token freshness, rehash-on-login and a bounded hashing pool built in.
//!
//! ```
//! use axum::{Json, Router, routing::{get, post}};
//! use centurion::{Centurion, Claims, CurrentUser, memory::MemoryUserStore, testing::TestUser};
//!
//! async fn me(user: CurrentUser<TestUser>) -> Json<String> {
//!     Json(user.username.clone())
//! }
//!
//! async fn whoami(claims: Claims) -> String {
//!     format!("user {} with roles {:?}", claims.subject(), claims.roles())
//! }
//!
//! # fn main() -> Result<(), centurion::Error> {
//! let auth = Centurion::<TestUser>::builder()
//!     .secret("an-example-secret-of-at-least-32-bytes!!")
//!     .user_store(MemoryUserStore::new())
//!     .build()?;
//!
//! let app: Router = Router::new()
//!     .route("/api/me", get(me))
//!     .route("/api/whoami", get(whoami))
//!     .layer(auth.layer());
//! # Ok(()) }
//! ```
//!
//! ## Pieces
//!
//! - [`Centurion`]: the configured instance, built with [`Centurion::builder`] or from a
//!   serde [`Config`]. It issues and verifies tokens, refreshes with rotation, revokes,
//!   authenticates users.
//! - [`extract`]: the layer and the extractors [`Claims`] and [`CurrentUser`], and the
//!   plain checks [`check_roles`] and [`check_fresh`] the `#[secured]` macro runs.
//! - [`cookies`]: where tokens are read from (header, cookies, query for WebSocket
//!   upgrades), the session cookies for browser clients and their CSRF protection.
//! - [`UserStore`] and [`RevocationStore`]: what applications plug in; [`memory`] has
//!   in-memory implementations.
//! - [`password`]: argon2id on a bounded pool.
//! - [`Error`]: one error type whose [`ErrorKind`] fixes status and JSON body.
//!
//! ## Token kinds
//!
//! Access, refresh, service, registration and reset tokens carry their kind in the `type`
//! claim and are accepted only where they belong: a refresh token is never an access
//! token, nor the reverse, nor a registration or reset token either.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod centurion;
mod clock;
pub mod config;
pub mod cookies;
pub mod dangerous;
mod error;
pub mod extract;
mod keys;
pub mod mail;
pub mod memory;
pub mod password;
#[cfg(feature = "redis")]
pub mod redis_store;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod sql;
mod store;
pub mod testing;
pub mod throttle;
mod token;
mod user;

pub use crate::centurion::{Centurion, CenturionBuilder, TokenEvent, TokenPair};
pub use crate::config::{Config, PasswordConfig, Secret, VerificationKeyConfig};
pub use crate::cookies::{
    ClearSessionCookies, CookieConfig, SameSite, SessionCookies, TokenLocation,
};
pub use crate::error::{Error, ErrorKind, Result};
pub use crate::extract::{CurrentUser, check_fresh, check_roles};
pub use crate::store::{NewUser, RevocationStore, TokenRef, UserStore};
pub use crate::token::{Claims, RESERVED_CLAIMS, TokenKind};
pub use crate::user::{AuthUser, HasEmail, Role, UserParts, UserRecord};

/// Re-exported so applications name one crate.
pub use jsonwebtoken::Algorithm;

pub use centurion_macros::{AuthUser, Role, secured};

/// Items the macros expand to. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::extract::{Guard, Requirement, Secured};
    pub use crate::user::{AuthUser, HasEmail, Role, UserParts, UserRecord};
    pub use axum;
    pub use http;

    /// A role name, from a role enum or a string.
    pub trait RoleName {
        /// The name.
        fn role_name(&self) -> &str;
    }

    impl RoleName for String {
        fn role_name(&self) -> &str {
            self
        }
    }

    impl RoleName for &str {
        fn role_name(&self) -> &str {
            self
        }
    }

    impl RoleName for std::borrow::Cow<'_, str> {
        fn role_name(&self) -> &str {
            self
        }
    }

    impl<T: Role> RoleName for T {
        fn role_name(&self) -> &str {
            self.name()
        }
    }

    /// Builds a role-field element from a stored name.
    pub trait FromRoleName: Sized {
        /// `None` for names the type does not know.
        fn from_role_name(name: &str) -> Option<Self>;
    }

    impl FromRoleName for String {
        fn from_role_name(name: &str) -> Option<Self> {
            Some(name.to_owned())
        }
    }

    impl<T: Role> FromRoleName for T {
        fn from_role_name(name: &str) -> Option<Self> {
            T::from_name(name)
        }
    }
}
