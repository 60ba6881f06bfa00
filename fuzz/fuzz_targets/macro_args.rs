//! The macros' argument parsers and checks: `#[secured(…)]` arguments (and the item it is
//! put on), `#[derive(Role)]`, `#[derive(Permission)]`, `roles!(…)` and
//! `#[derive(AuthUser)]` inputs.
//!
//! A proc-macro crate cannot be linked into a fuzz target, so the target links
//! `centurion-codegen`, the plain library the macros crate calls; it only uses
//! `proc_macro2`, `syn` and `quote`, which work outside a compiler. The oracle:
//! no panic, an expansion (or the `compile_error!`s beside the item) that is valid Rust
//! syntax, the same output for the same input, and no expansion without errors for
//! arguments that repeat a key.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use proc_macro2::{TokenStream, TokenTree};

#[derive(Arbitrary, Debug)]
enum Item {
    /// `async fn handler(claims: Claims) -> &'static str { "ok" }`
    AsyncHandler,
    /// A handler with several extractors and generics.
    Generic,
    /// A plain `fn`.
    NotAsync,
    /// A struct.
    Struct,
    /// Arbitrary text.
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Input {
    Secured {
        args: String,
        item: Item,
    },
    Role(String),
    Permission(String),
    /// The argument of `roles!(…)`.
    Roles(String),
    AuthUser(String),
    /// `#[derive(Role)]` on an enum whose `#[role(…)]` arguments are arbitrary.
    RoleAttrs {
        container: String,
        variant: String,
    },
    /// `#[derive(AuthUser)]` on a struct whose `#[auth_user(…)]` arguments are arbitrary.
    UserAttrs {
        container: String,
        field: String,
    },
}

fn item_text(item: &Item) -> String {
    match item {
        Item::AsyncHandler => {
            "async fn handler(claims: Claims) -> &'static str { \"ok\" }".to_owned()
        }
        Item::Generic => {
            "/// Docs.\n#[allow(unused)]\npub(crate) async fn handler<S: Clone + Send>(\
            State(s): State<S>, user: CurrentUser<User>, Json(body): Json<Value>) \
            -> Result<Json<Value>, Error> where S: Sync { Ok(Json(body)) }"
                .to_owned()
        }
        Item::NotAsync => "fn handler() -> u8 { 1 }".to_owned(),
        Item::Struct => "struct Handler { a: u8 }".to_owned(),
        Item::Raw(text) => text.clone(),
    }
}

/// The expansion is Rust syntax: a file of items.
fn check_syntax(output: &TokenStream, what: &str) {
    if let Err(e) = syn::parse2::<syn::File>(output.clone()) {
        panic!("the {what} expansion is not valid Rust ({e}):\n{output}");
    }
}

fn has_compile_error(output: &TokenStream) -> bool {
    output.clone().into_iter().any(|tt| match tt {
        TokenTree::Ident(i) => i == "compile_error",
        TokenTree::Group(g) => has_compile_error(&g.stream()),
        _ => false,
    })
}

/// The keys at the start of each top-level, comma-separated argument.
fn leading_keys(args: &TokenStream) -> Vec<String> {
    let mut keys = Vec::new();
    let mut at_start = true;
    for tt in args.clone() {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' => at_start = true,
            TokenTree::Ident(i) if at_start => {
                keys.push(i.to_string());
                at_start = false;
            }
            _ => at_start = false,
        }
    }
    keys
}

/// Runs an expansion twice. The syntax check applies when the input is what the
/// compiler would hand the macro (an item for an attribute, a struct, enum or union for a
/// derive); for anything else only "no panic" and determinism are checked.
fn run(what: &str, input_is_valid: bool, expand: impl Fn() -> TokenStream) -> TokenStream {
    let first = expand();
    let second = expand();
    assert_eq!(
        first.to_string(),
        second.to_string(),
        "the {what} expansion is not deterministic"
    );
    if input_is_valid {
        check_syntax(&first, what);
    }
    first
}

fn is_item(tokens: &TokenStream) -> bool {
    syn::parse2::<syn::Item>(tokens.clone()).is_ok()
}

fn is_derive_input(tokens: &TokenStream) -> bool {
    syn::parse2::<syn::DeriveInput>(tokens.clone()).is_ok()
}

fuzz_target!(|input: Input| {
    match input {
        Input::Secured { args, item } => {
            let Ok(attr) = args.parse::<TokenStream>() else {
                return;
            };
            let Ok(item) = item_text(&item).parse::<TokenStream>() else {
                return;
            };
            let valid = is_item(&item);
            let out = run("#[secured]", valid, || {
                centurion_codegen::secured(attr.clone(), item.clone())
            });
            if valid && !has_compile_error(&out) {
                let keys = leading_keys(&attr);
                for key in [
                    "roles",
                    "any_of",
                    "permissions",
                    "any_permission",
                    "fresh",
                    "optional",
                    "role_type",
                ] {
                    let n = keys.iter().filter(|k| *k == key).count();
                    assert!(
                        n <= 1,
                        "`{key}` given {n} times was accepted: #[secured({attr})]"
                    );
                }
            }
        }
        Input::Role(text) => {
            let Ok(tokens) = text.parse::<TokenStream>() else {
                return;
            };
            run("#[derive(Role)]", is_derive_input(&tokens), || {
                centurion_codegen::derive_role(tokens.clone())
            });
        }
        Input::Permission(text) => {
            let Ok(tokens) = text.parse::<TokenStream>() else {
                return;
            };
            run("#[derive(Permission)]", is_derive_input(&tokens), || {
                centurion_codegen::derive_permission(tokens.clone())
            });
        }
        Input::Roles(text) => {
            let Ok(tokens) = text.parse::<TokenStream>() else {
                return;
            };
            // Any token stream is what the compiler could hand a function-like macro.
            run("roles!", true, || centurion_codegen::roles(tokens.clone()));
        }
        Input::AuthUser(text) => {
            let Ok(tokens) = text.parse::<TokenStream>() else {
                return;
            };
            run("#[derive(AuthUser)]", is_derive_input(&tokens), || {
                centurion_codegen::derive_auth_user(tokens.clone())
            });
        }
        Input::RoleAttrs { container, variant } => {
            let text = format!(
                "#[role({container})] pub enum AppRole {{ Admin, #[role({variant})] SuperEditor, Author }}"
            );
            let Ok(tokens) = text.parse::<TokenStream>() else {
                return;
            };
            run("#[derive(Role)]", is_derive_input(&tokens), || {
                centurion_codegen::derive_role(tokens.clone())
            });
        }
        Input::UserAttrs { container, field } => {
            let text = format!(
                "#[auth_user({container})] pub struct User {{ #[auth_user(id)] id: i64, \
                 #[auth_user({field})] name: String, #[auth_user(password)] hash: String, \
                 #[auth_user(roles)] roles: Vec<AppRole> }}"
            );
            let Ok(tokens) = text.parse::<TokenStream>() else {
                return;
            };
            run("#[derive(AuthUser)]", is_derive_input(&tokens), || {
                centurion_codegen::derive_auth_user(tokens.clone())
            });
        }
    }
});
