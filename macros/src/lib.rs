//! Procedural macros for [centurion](https://docs.rs/centurion). Use them through the
//! `centurion` crate, which re-exports them.

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro::TokenStream;

/// Guards an axum handler.
#[proc_macro_attribute]
pub fn secured(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::secured(attr.into(), item.into()).into()
}

/// Implements `Role` for a fieldless enum.
#[proc_macro_derive(Role, attributes(role))]
pub fn derive_role(input: TokenStream) -> TokenStream {
    expand::derive_role(input.into()).into()
}

/// Implements `AuthUser` for a struct.
#[proc_macro_derive(AuthUser, attributes(auth_user))]
pub fn derive_auth_user(input: TokenStream) -> TokenStream {
    expand::derive_auth_user(input.into()).into()
}
