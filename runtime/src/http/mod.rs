//! axum integration: the extractors, the `#[secured]` guard, JSON bodies and the client's
//! address. The layer that carries the instance to them is [`CenturionLayer`], made by
//! [`Centurion::layer`](crate::Centurion::layer).
//!
//! | extractor | requires | gives |
//! | --- | --- | --- |
//! | [`Claims`](crate::Claims) | a valid access token | the token's claims |
//! | `Option<Claims>` | a valid token *if one is sent* | `None` without a token |
//! | [`CurrentUser<U>`] | a valid access token whose user exists and is valid | the user, loaded once per request |
//! | `Option<CurrentUser<U>>` | as above if a token is sent | `None` without a token |
//! | [`Centurion<U>`](crate::Centurion) | the layer | the instance, to log users in |
//! | [`JsonBody<T>`] | a JSON body that fits `T` | the body; refusals are the JSON error body |
//!
//! A present but invalid token is always refused, also by the `Option` forms: a client
//! that sends a token means to be authenticated.
//!
//! The access token is read from the configured
//! [token locations](crate::transport#token-locations), by default only
//! `Authorization: Bearer <token>` (the scheme is case-insensitive). A request with several
//! `Authorization` headers is refused. A token read from a cookie on an unsafe method
//! (`POST`, `PUT`, `PATCH`, `DELETE`, …) also needs the CSRF header; without it (or with a
//! wrong one) every extractor answers [`ErrorKind::CSRFError`](crate::ErrorKind::CSRFError) (401).
//!
//! | file | what |
//! | --- | --- |
//! | `extract.rs` | [`Claims`](crate::Claims), [`CurrentUser`], `Centurion<U>`: the request's token verified once |
//! | `guard.rs` | what `#[secured]` checks: [`check_roles`], [`check_permissions`], [`check_fresh`] |
//! | `json_body.rs` | [`JsonBody`] |
//! | `client_addr.rs` | [`ClientAddr`] behind [`TrustedProxies`] |
//! | `client_info.rs` | [`ClientInfo`](crate::ClientInfo) (user agent and address) as an extractor, for sessions |

mod client_addr;
mod client_info;
mod extract;
mod guard;
mod json_body;

pub use self::client_addr::{ClientAddr, TrustedProxies};
pub use self::extract::CurrentUser;
pub use self::guard::{check_fresh, check_permissions, check_roles};
pub use self::json_body::JsonBody;
pub use crate::centurion::{CenturionLayer, CenturionService, ResponseFuture};

#[cfg(feature = "openapi")]
pub(crate) use self::guard::Introspect;
pub(crate) use self::guard::answer_probe;
#[doc(hidden)]
pub use self::guard::{
    Guard, Requirement, Secured, write_secured_above_utoipa_path_so_it_can_document_the_security,
};
