//! Procedural macros for [centurion](https://docs.rs/centurion): `#[secured]`,
//! `#[derive(Role)]` and `#[derive(AuthUser)]`.
//!
//! Use them through the `centurion` crate, which re-exports them; the code they generate
//! names only `::centurion::__private`, so an application depends on `centurion` alone.
//!
//! This crate holds only the entry points: the phases (`attr.rs` parses the arguments,
//! `ast.rs` models the input while keeping its syntax nodes for spans, `valid.rs` checks
//! it, collecting every mistake, `expand.rs` generates the code) are the plain library
//! `centurion-codegen`.

use proc_macro::TokenStream;

/// Guards an axum handler: the request needs a valid access token (and the roles and
/// freshness the arguments ask for) before any other extractor runs.
///
/// ```
/// use axum::{Json, Router, routing::{get, post}};
/// use centurion::{Claims, Role, secured};
///
/// #[derive(Role)]
/// enum AppRole { Admin, Editor, Author }
///
/// #[secured]                                          // any valid access token
/// async fn me(claims: Claims) -> String { claims.subject().to_owned() }
///
/// #[secured(roles = "admin")]                         // the `admin` role
/// async fn stats() -> &'static str { "…" }
///
/// #[secured(any_of = "editor, author")]               // `editor` or `author`
/// async fn publish(Json(post): Json<serde_json::Value>) {}
///
/// #[secured(roles = "admin", any_of = "editor, author", fresh)]
/// async fn purge() {}                                 // all of it, from a fresh login
///
/// #[secured(optional)]                                // anonymous requests pass too
/// async fn home(claims: Option<Claims>) -> &'static str {
///     if claims.is_some() { "welcome back" } else { "hello" }
/// }
///
/// fn main() {
///     let app: Router = Router::new()
///         .route("/me", get(me))
///         .route("/stats", get(stats))
///         .route("/posts", post(publish))
///         .route("/purge", post(purge))
///         .route("/", get(home));
/// }
/// ```
///
/// # Arguments
///
/// | argument | meaning | on failure |
/// |---|---|---|
/// | *(none)* | a valid access token (header or cookie) | 401 |
/// | `roles = "a, b"` | the token holds **every** listed role (praetorian's `roles_required`) | 403 `MissingRoleError` |
/// | `any_of = "c, d"` | the token holds **at least one** listed role (praetorian's `roles_accepted`) | 403 `MissingRoleError` |
/// | `fresh` | the access token comes from a login, not a refresh (jwt-extended's `fresh=True`) | 401 `FreshTokenRequired` |
/// | `optional` | a request **without** a token passes anonymously; a present but invalid token still fails (praetorian's `auth_accepted`) | 401 for a bad token |
/// | `role_type = path::To::Enum` | check the role names against `<Enum as Role>::NAMES` instead of the crate root's `#[derive(Role)]` (see below) | compile error |
///
/// `roles`, `any_of` and `fresh` combine: every given condition must hold. Role names
/// are separated by commas; surrounding whitespace is ignored. `optional` cannot be
/// combined with `roles`, `any_of` or `fresh` (an anonymous request has none of them).
///
/// Role checks read the roles carried in the token: a handler that only checks roles
/// never touches the user store. Ask for [`CurrentUser<U>`] to load the user (once per
/// request) and [`Claims`] for the verified token; the guard has already verified it, so
/// they do not verify it again.
///
/// # Role names are checked at compile time
///
/// Every name in `roles` and `any_of` must be declared by the application's role enum;
/// a typo is a compile error at the string literal that names the declared roles:
///
/// ```text
/// error: unknown role `admni`: the roles declared by `AppRole` are `admin`, `editor`
///   --> src/main.rs:12:19
///    |
/// 12 | #[secured(roles = "admni")]
///    |                   ^^^^^^^
/// ```
///
/// **Where to declare the roles.** By default `#[secured]` asks the `#[derive(Role)]`
/// **at the crate root** (`main.rs` or `lib.rs`), wherever the handlers are and whatever
/// the order of declarations: the derive leaves a hidden macro there, and `#[secured]`
/// calls it as `crate::__centurion_roles_declared_by_derive_Role_at_the_crate_root!`. When
/// there is none (no role enum, or one declared in a submodule or another crate) the
/// error is `cannot find __centurion_roles_declared_by_derive_Role_at_the_crate_root in
/// crate`. Then either move the enum to the crate root, or name it on each handler with
/// `role_type`, which works anywhere and with any `Role` implementation, derived or
/// written by hand:
///
/// ```
/// # use centurion::secured;
/// mod auth {
///     #[derive(centurion::Role)]
///     pub enum StaffRole { Admin, Editor }
/// }
///
/// #[secured(roles = "admin", role_type = auth::StaffRole)]
/// async fn staff_only() {}
/// # fn main() {}
/// ```
///
/// With `role_type`, an unknown name fails constant evaluation of
/// `<StaffRole as Role>::NAMES`, again pointing at the literal. One crate can hold one
/// `#[derive(Role)]` per module (the hidden macro has a fixed name); only the one at
/// the crate root serves handlers without `role_type`.
///
/// # Expansion
///
/// ```
/// # use centurion::{Claims, Role, secured};
/// # #[derive(Role)] enum AppRole { Admin }
/// #[secured(roles = "admin", fresh)]
/// pub async fn purge(claims: Claims) -> String {
///     claims.subject().to_owned()
/// }
/// # fn main() {}
/// ```
///
/// becomes
///
/// ```ignore
/// #[doc(hidden)]
/// #[allow(non_camel_case_types, dead_code, unreachable_pub)]
/// pub struct __centurion_secured_purge {}
///
/// #[automatically_derived]
/// impl ::centurion::__private::Secured for __centurion_secured_purge {
///     const REQUIREMENT: ::centurion::__private::Requirement =
///         ::centurion::__private::Requirement {
///             all_of: &["admin"],
///             any_of: &[],
///             fresh: true,
///             optional: false,
///         };
/// }
///
/// // The role check: one inner block per role name, spanned at the literal. The call
/// // expands to nothing when the crate root's role enum declares "admin", and to the
/// // callback's `compile_error!` otherwise.
/// const _: () = {
///     const _: () = {
///         macro_rules! __centurion_unknown_role { /* the error message */ }
///         crate::__centurion_roles_declared_by_derive_Role_at_the_crate_root! {
///             @check "admin" => __centurion_unknown_role
///         }
///     };
/// };
///
/// pub async fn purge(
///     _: ::centurion::__private::Guard<__centurion_secured_purge>,
///     claims: Claims,
/// ) -> String {
///     claims.subject().to_owned()
/// }
/// ```
///
/// The handler keeps its name, visibility, attributes, docs, generics, `where` clause,
/// return type and body; it gains one first parameter, the guard extractor, so axum runs
/// the guard before every other extractor: an unauthenticated request is rejected with
/// 401 before a body is read or a `Json` fails to parse. `Router::route(…, get(handler))`
/// is unchanged. `#[cfg]` attributes of the handler are copied onto the generated items.
///
/// # Rules
///
/// - The handler is a free `async fn` (not a method with `self`, not `const` or
///   `unsafe`).
/// - It takes at most **15** arguments: axum handlers take 16, and the guard is one.
/// - With [`axum::debug_handler`], write `#[secured]` **above** it, so `debug_handler`
///   checks the handler with its guard:
///
///   ```
///   # use centurion::secured;
///   #[secured]
///   #[axum::debug_handler]
///   async fn checked() {}
///   # fn main() {}
///   ```
///
///   Below `#[debug_handler]`, `#[secured]` adds its argument after `debug_handler` has
///   generated a call with the original arguments, which fails with "this function
///   takes 1 argument but 0 arguments were supplied".
///
/// Every mistake in the arguments is a compile error at the offending token that says what
/// to write instead; the handler is still emitted unchanged, so a mistake does not cascade
/// into errors at every route that uses it.
///
/// [`CurrentUser<U>`]: https://docs.rs/centurion/latest/centurion/struct.CurrentUser.html
/// [`Claims`]: https://docs.rs/centurion/latest/centurion/struct.Claims.html
/// [`axum::debug_handler`]: https://docs.rs/axum/latest/axum/attr.debug_handler.html
#[proc_macro_attribute]
pub fn secured(attr: TokenStream, item: TokenStream) -> TokenStream {
    centurion_codegen::secured(attr.into(), item.into()).into()
}

/// Declares the application's roles: implements `Role` for an enum of unit variants, and
/// lets `#[secured]` check role names at compile time.
///
/// ```
/// use centurion::Role;
///
/// #[derive(Role, Clone, Copy, PartialEq, Debug)]
/// pub enum AppRole {
///     Admin,                          // "admin"
///     ContentEditor,                  // "content_editor"
///     #[role(rename = "super-admin")]
///     Root,                           // "super-admin"
/// }
///
/// fn main() {
///     assert_eq!(AppRole::NAMES, ["admin", "content_editor", "super-admin"]);
///     assert_eq!(AppRole::ContentEditor.name(), "content_editor");
///     assert_eq!(AppRole::from_name("super-admin"), Some(AppRole::Root));
/// }
/// ```
///
/// Tokens carry roles by these names, so other services can read them.
///
/// # Attributes
///
/// | attribute | on | meaning |
/// |---|---|---|
/// | `#[role(rename = "name")]` | a variant | the variant's role name |
/// | `#[role(rename_all = "rule")]` | the enum | how variant names become role names: `snake_case` (the default), `kebab-case`, `lowercase`, `UPPERCASE`, `SCREAMING_SNAKE_CASE`, `camelCase` or `PascalCase` |
///
/// Role names must be unique, non-empty, and free of commas and whitespace (which
/// separate names in `#[secured(roles = "…")]`). The enum must have at least one
/// variant, every variant must be a unit variant, and it cannot be generic.
///
/// # Where to put it
///
/// At the crate root (`main.rs` or `lib.rs`), so every `#[secured]` handler in the crate
/// checks its role names against it, whatever module the handlers are in. Elsewhere it
/// still implements `Role`; handlers then name it with `#[secured(role_type = …)]`.
///
/// # Expansion
///
/// ```ignore
/// #[automatically_derived]
/// impl ::centurion::__private::Role for AppRole {
///     const NAMES: &'static [&'static str] = &["admin", "content_editor", "super-admin"];
///     fn name(&self) -> &'static str {
///         match self {
///             Self::Admin => "admin",
///             Self::ContentEditor => "content_editor",
///             Self::Root => "super-admin",
///         }
///     }
///     fn from_name(__centurion_name: &str) -> Option<Self> {
///         match __centurion_name {
///             "admin" => Some(Self::Admin),
///             "content_editor" => Some(Self::ContentEditor),
///             "super-admin" => Some(Self::Root),
///             _ => None,
///         }
///     }
/// }
///
/// // What `#[secured]` asks at compile time: known names expand to nothing, any other
/// // calls back the handler's error macro with the enum's name and its roles.
/// #[doc(hidden)]
/// macro_rules! __centurion_roles_declared_by_derive_Role_at_the_crate_root {
///     (@check "admin" => $callback:ident) => {};
///     (@check "content_editor" => $callback:ident) => {};
///     (@check "super-admin" => $callback:ident) => {};
///     (@check $role:literal => $callback:ident) => {
///         $callback! { "AppRole", "`admin`, `content_editor`, `super-admin`" }
///     };
/// }
/// #[doc(hidden)]
/// pub(crate) use __centurion_roles_declared_by_derive_Role_at_the_crate_root;
/// ```
#[proc_macro_derive(Role, attributes(role))]
pub fn derive_role(input: TokenStream) -> TokenStream {
    centurion_codegen::derive_role(input.into()).into()
}

/// Implements `AuthUser` for a struct from field attributes, plus `UserRecord` (so the
/// shipped user stores can build it) and, with an e-mail field, `HasEmail`.
///
/// ```
/// use centurion::{AuthUser, Role};
///
/// #[derive(Role, Clone, Copy, PartialEq, Debug)]
/// pub enum AppRole { Admin, Editor }
///
/// #[derive(AuthUser, Clone)]
/// #[auth_user(debug)]                     // Debug without the password hash
/// pub struct User {
///     #[auth_user(id)]
///     id: i64,
///     #[auth_user(username, email)]       // logs in with the e-mail address
///     email: String,
///     #[auth_user(password)]
///     password_hash: String,
///     #[auth_user(roles)]
///     roles: Vec<AppRole>,
///     #[auth_user(is_valid)]
///     active: bool,
///     display_name: String,               // not centurion's business
/// }
///
/// fn main() {
///     let user = User {
///         id: 1,
///         email: "ada@example.com".into(),
///         password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
///         roles: vec![AppRole::Admin],
///         active: true,
///         display_name: "Ada".into(),
///     };
///     assert_eq!(user.id(), "1");
///     assert_eq!(user.roles(), ["admin"]);
///     assert!(!format!("{user:?}").contains("argon2"));
/// }
/// ```
///
/// # Field attributes
///
/// | attribute | field type | provides |
/// |---|---|---|
/// | `#[auth_user(id)]` **required** | anything `Display` (and `TryFrom<i64>` for `UserRecord`): `i64`, `u32`, … | `AuthUser::id`, the token's `sub` |
/// | `#[auth_user(username)]` **required** | `String` (anything `AsRef<str> + From<String>`) | `AuthUser::username` |
/// | `#[auth_user(password)]` **required** | `String`: the PHC hash | `AuthUser::password_hash` |
/// | `#[auth_user(roles)]` | `Vec<R>`, `HashSet<R>` or `BTreeSet<R>`, `R` a `Role` enum or `String` | `AuthUser::roles` (none without it) |
/// | `#[auth_user(is_valid)]` | `bool` | `AuthUser::is_valid` (always `true` without it) |
/// | `#[auth_user(email)]` | `String` or `Option<String>` | `HasEmail::email` |
///
/// One field may carry both `username` and `email`. A field of the wrong type is reported
/// on the field; a missing required attribute on the struct; a duplicated one on the
/// second occurrence.
///
/// # Struct attributes
///
/// | attribute | meaning |
/// |---|---|
/// | `#[auth_user(KEY = path)]` | take `KEY` (any of the six above) from a method or function called as `path(&self)` instead of a field; it returns what the `AuthUser` method returns (`&str`, `Vec<&str>`, `bool`, `Option<&str>`; any `Display` for `id`) |
/// | `#[auth_user(no_user_record)]` | do not implement `UserRecord` (required when a key comes from a method, since stored fields cannot be put back through a method) |
/// | `#[auth_user(debug)]` | implement `Debug`, printing `"<redacted>"` for the password hash |
///
/// ```
/// use centurion::AuthUser;
///
/// #[derive(AuthUser)]
/// #[auth_user(no_user_record, is_valid = Self::allowed, roles = Self::role_names)]
/// pub struct Account {
///     #[auth_user(id)] key: u64,
///     #[auth_user(username)] login: String,
///     #[auth_user(password)] hash: String,
///     banned: bool,
///     admin: bool,
/// }
///
/// impl Account {
///     fn allowed(&self) -> bool { !self.banned }
///     fn role_names(&self) -> Vec<&str> { if self.admin { vec!["admin"] } else { vec![] } }
/// }
/// # fn main() {}
/// ```
///
/// # Keeping the password hash out of logs
///
/// Do not `#[derive(Debug)]` on a user type: its output would include the hash. Write
/// `#[auth_user(debug)]` instead, which generates a `Debug` that prints every field but
/// shows the password field as `"<redacted>"` (both together are a "conflicting
/// implementations of trait `Debug`" error). The extractor `CurrentUser<U>` prints only
/// the id and username in any case.
///
/// # `UserRecord`
///
/// `UserRecord::from_parts` builds the struct from a store's `UserParts`: the id through
/// `TryFrom<i64>` (`None`, "no such user", when it does not fit), username, password hash
/// and e-mail through `From<String>`, roles by name (names the role enum does not declare
/// are dropped), validity from `active`, and every field without an attribute from
/// `Default::default()`.
///
/// # Expansion
///
/// Only what is specific to the struct: each marked field is read (and, for `UserRecord`,
/// built) through a trait of `centurion::__private` called at the field's type, with the
/// field's span, so a field of the wrong type is one error on that field whose
/// `#[diagnostic::on_unimplemented]` message says what it must be. The traits are
/// implemented once in `centurion` for the types each kind of field accepts (`*Field`
/// traits without `UserRecord`, `*RecordField` traits, which also build the field, with
/// it). For the first example above:
///
/// ```ignore
/// #[automatically_derived]
/// impl ::centurion::__private::AuthUser for User {
///     fn id(&self) -> ::std::string::String {
///         <i64 as ::centurion::__private::IdField>::user_id(&self.id)
///     }
///     fn username(&self) -> &str {
///         <String as ::centurion::__private::UsernameRecordField>::text(&self.email)
///     }
///     fn password_hash(&self) -> &str {
///         <String as ::centurion::__private::PasswordRecordField>::text(&self.password_hash)
///     }
///     fn roles(&self) -> ::std::vec::Vec<&str> {
///         <Vec<AppRole> as ::centurion::__private::RolesRecordField>::names(&self.roles)
///     }
///     fn is_valid(&self) -> bool {
///         <bool as ::centurion::__private::IsValidRecordField>::flag(&self.active)
///     }
/// }
/// #[automatically_derived]
/// impl ::centurion::__private::HasEmail for User {
///     fn email(&self) -> ::core::option::Option<&str> {
///         <String as ::centurion::__private::EmailRecordField>::address(&self.email)
///     }
/// }
/// #[automatically_derived]
/// impl ::centurion::__private::UserRecord for User {
///     fn from_parts(
///         __centurion_parts: ::centurion::__private::UserParts,
///     ) -> ::core::option::Option<Self> {
///         ::core::option::Option::Some(Self {
///             id: <i64 as ::centurion::__private::StoredId>::from_stored(__centurion_parts.id)?,
///             email: <String as ::centurion::__private::UsernameRecordField>::from_stored(
///                 __centurion_parts.username,
///             ),
///             password_hash: <String as ::centurion::__private::PasswordRecordField>::from_stored(
///                 __centurion_parts.password_hash,
///             ),
///             roles: <Vec<AppRole> as ::centurion::__private::RolesRecordField>::from_stored(
///                 __centurion_parts.roles,
///             ),
///             active: <bool as ::centurion::__private::IsValidRecordField>::from_stored(
///                 __centurion_parts.active,
///             ),
///             display_name: <String as ::centurion::__private::DefaultField>::default_value(),
///         })
///     }
/// }
/// #[automatically_derived]
/// impl ::core::fmt::Debug for User {
///     fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
///         let mut __centurion_debug = ::core::fmt::Formatter::debug_struct(f, "User");
///         ::core::fmt::DebugStruct::field(&mut __centurion_debug, "id", &self.id);
///         ::core::fmt::DebugStruct::field(&mut __centurion_debug, "email", &self.email);
///         ::core::fmt::DebugStruct::field(&mut __centurion_debug, "password_hash", &"<redacted>");
///         ::core::fmt::DebugStruct::field(&mut __centurion_debug, "roles", &self.roles);
///         ::core::fmt::DebugStruct::field(&mut __centurion_debug, "active", &self.active);
///         ::core::fmt::DebugStruct::field(&mut __centurion_debug, "display_name", &self.display_name);
///         ::core::fmt::DebugStruct::finish(&mut __centurion_debug)
///     }
/// }
/// ```
#[proc_macro_derive(Permission, attributes(permission))]
pub fn derive_permission(input: TokenStream) -> TokenStream {
    centurion_codegen::derive_permission(input.into()).into()
}

/// Declares the crate's roles.
#[proc_macro]
pub fn roles(input: TokenStream) -> TokenStream {
    centurion_codegen::roles(input.into()).into()
}

#[proc_macro_derive(AuthUser, attributes(auth_user))]
pub fn derive_auth_user(input: TokenStream) -> TokenStream {
    centurion_codegen::derive_auth_user(input.into()).into()
}
