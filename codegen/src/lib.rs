//! The code generation behind [centurion](https://docs.rs/centurion)'s macros, as a plain
//! library: `centurion-macros` is the proc-macro shim that calls it, and the `macro_args`
//! fuzz target links it directly. Not a public API: use the macros through `centurion`.
//!
//! One file per phase:
//!
//! 1. `attr.rs` parses the arguments of `#[secured(…)]`, `#[role(…)]`, `#[permission(…)]`,
//!    `#[auth_user(…)]` and `roles!(…)`;
//! 2. `ast.rs` models the input, keeping its syntax nodes for spans;
//! 3. `valid.rs` checks it;
//! 4. `expand.rs` generates the code, or the errors beside the untouched item; `openapi.rs`
//!    is the part of `#[secured]` that documents the handler in the `#[utoipa::path]`
//!    below it, or checks that none sits above it.
//!
//! `errors.rs` is the collector every phase pushes its mistakes into, so the user sees all
//! of them at once.
//!
//! ```
//! let expansion = centurion_codegen::secured(quote::quote!(fresh), quote::quote! {
//!     async fn purge() {}
//! });
//! let text = expansion.to_string();
//! assert!(text.contains("fresh : true"));
//! assert!(text.contains("__centurion_secured_purge"));
//! ```

mod ast;
mod attr;
mod errors;
mod expand;
mod openapi;
mod valid;

pub use crate::expand::{
    derive_auth_user, derive_permission, derive_role, roles, secured, secured_with,
};
pub use crate::openapi::Docs;
