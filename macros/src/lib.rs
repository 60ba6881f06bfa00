//! Procedural macros for [centurion](https://docs.rs/centurion): `#[secured]`,
//! `#[derive(Role)]`, `#[derive(Permission)]`, `roles!` and `#[derive(AuthUser)]`.
//!
//! Use them through the `centurion` crate, which re-exports them; the code they generate
//! names only `::centurion::__private`, so an application depends on `centurion` alone.
//!
//! This crate holds only the entry points: the phases (`attr.rs` parses the arguments,
//! `ast.rs` models the input while keeping its syntax nodes for spans, `valid.rs` checks
//! it, collecting every mistake, `expand.rs` generates the code) are the plain library
//! `centurion-codegen`.

use proc_macro::TokenStream;

/// Guards an axum handler: the request needs a valid access token (and the roles,
/// permissions and freshness the arguments ask for) before any other extractor runs.
///
/// ```
/// use axum::{Router, routing::{get, post}};
/// use centurion::{Claims, JsonBody, Role, secured};
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
/// async fn publish(JsonBody(post): JsonBody<serde_json::Value>) {}
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
/// | `permissions = "p, q"` | the token holds **every** listed permission | 403 `MissingPermissionError` |
/// | `any_permission = "p, q"` | the token holds **at least one** listed permission | 403 `MissingPermissionError` |
/// | `fresh` | the access token comes from a login, not a refresh (jwt-extended's `fresh=True`) | 401 `FreshTokenRequired` |
/// | `optional` | a request **without** a token passes anonymously; a present but invalid token still fails (praetorian's `auth_accepted`) | 401 for a bad token |
/// | `role_type = path::To::Enum` | check the names against this role type instead of the crate's declaration (see below) | compile error |
///
/// `roles`, `any_of`, `permissions`, `any_permission` and `fresh` combine: every given
/// condition must hold. Names are separated by commas; surrounding whitespace is ignored.
/// `optional` cannot be combined with the others (an anonymous request has none of them).
/// A 403 carries `WWW-Authenticate: Bearer error="insufficient_scope"` (RFC 6750 §3.1).
///
/// Roles and permissions are read from the token: a handler that only checks them never
/// touches the user store. A token holds the roles it carries, every role they include
/// (`#[role(includes = …)]`), and every permission those grant (`#[role(grants = …)]`),
/// resolved once when the token is verified. Ask for [`CurrentUser<U>`] to load the user
/// (once per request) and [`Claims`] for the verified token; the guard has already
/// verified it, so they do not verify it again.
///
/// # Permissions
///
/// Permissions are declared once, with `#[derive(Permission)]`, and granted to roles on
/// the role enum; a role that includes another holds its permissions too:
///
/// ```
/// use centurion::{Claims, Permission, Role, secured};
///
/// #[derive(Permission, Clone, Copy)]
/// enum Perm {
///     #[permission(rename = "reports:read")]
///     ReportsRead,
///     #[permission(rename = "reports:export")]
///     ReportsExport,
/// }
///
/// #[derive(Role)]
/// #[role(permissions = Perm)]
/// enum AppRole {
///     #[role(grants = "reports:read")]
///     Auditor,
///     #[role(includes = "auditor", grants = "reports:export")]
///     Admin,
/// }
///
/// #[secured(permissions = "reports:read")]           // auditors and admins
/// async fn reports() {}
///
/// #[secured(roles = "admin", any_permission = "reports:export", fresh)]
/// async fn export() {}
///
/// // In the handler, a decision of its own, with the same 403:
/// #[secured]
/// async fn maybe_export(claims: Claims) -> Result<(), centurion::Error> {
///     claims.require_permission(Perm::ReportsExport)  // a typo does not compile
/// }
/// # fn main() {}
/// ```
///
/// An identity provider's token (RFC 9068) holds a declared permission also when one of
/// its scopes has the permission's name; this instance's own tokens carry no scopes.
///
/// # Names are checked at compile time
///
/// Every name in `roles`, `any_of`, `permissions` and `any_permission` must be declared by
/// the application's role enum (or its permission type); a typo is a compile error at the
/// string literal that lists the declared names:
///
/// ```text
/// error[E0080]: evaluation panicked: unknown role `admni`: the roles declared by `auth::Role` are `admin`, `editor`
///   --> src/main.rs:12:19
///    |
/// 12 | #[secured(roles = "admni")]
///    |                   ^^^^^^^ evaluation of `<__centurion_secured_purge as centurion::http::Secured>::REQUIREMENT::_` failed here
/// ```
///
/// **Where the role enum is declared.** One line at the crate root (`main.rs` or
/// `lib.rs`) names it, wherever it lives, in this crate or another:
///
/// ```
/// centurion::roles!(auth::Role);
///
/// mod auth {
///     #[derive(centurion::Role)]
///     pub enum Role { Admin, Editor }
/// }
///
/// mod api {
///     #[centurion::secured(roles = "admin")]         // checked against `auth::Role`
///     pub async fn dashboard() {}
/// }
/// # fn main() {}
/// ```
///
/// A `#[derive(Role)]` at the crate root declares itself, so a small application needs no
/// `roles!`. Without either, the error says what to write: `centurion::roles!(auth::Role);`
/// when the role enum is beside the handler, and how to declare one otherwise. A handler
/// can also name its role type itself with `role_type`, which takes any `Role`
/// implementation, derived or written by hand, and lists the declared names the same way:
///
/// ```
/// # use centurion::secured;
/// mod staff {
///     #[derive(centurion::Role)]
///     pub enum StaffRole { Admin, Editor }
/// }
///
/// #[secured(roles = "admin", role_type = staff::StaffRole)]
/// async fn staff_only() {}
/// # fn main() {}
/// ```
///
/// # Expansion
///
/// ```
/// # use centurion::{Claims, Permission, Role, secured};
/// # #[derive(Permission)] enum Perm { #[permission(rename = "reports:read")] ReportsRead }
/// # #[derive(Role)] #[role(permissions = Perm)] enum AppRole { Admin }
/// #[secured(roles = "admin", permissions = "reports:read", fresh)]
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
///     const REQUIREMENT: ::centurion::__private::Requirement = {
///         // The role type: the crate root's `roles!` (or root `#[derive(Role)]`) shadows
///         // a role enum beside the handler, which shadows the `None`s of `undeclared`.
///         #[allow(unused_imports)]
///         use ::centurion::__private::undeclared::*;
///         {
///             #[allow(unused_imports)]
///             use self::*;
///             {
///                 #[allow(unused_imports)]
///                 use crate::*;
///                 const __CENTURION_LOOKUP: ::centurion::__private::Lookup =
///                     ::centurion::__private::Lookup::new(
///                         __CENTURION_ROLES,
///                         __CENTURION_ROLE_ENUM_OF_THIS_MODULE,
///                     );
///                 // One check per name, each `panic!` spanned at the name's literal.
///                 const _: () = if let ::core::option::Option::Some(__centurion_message) =
///                     __CENTURION_LOOKUP.missing()
///                 {
///                     ::core::panic!("{}", __centurion_message.as_str())
///                 };
///                 const _: () = if let ::core::option::Option::Some(__centurion_message) =
///                     __CENTURION_LOOKUP.unknown_role("admin")
///                 {
///                     ::core::panic!("{}", __centurion_message.as_str())
///                 };
///                 const _: () = if let ::core::option::Option::Some(__centurion_message) =
///                     __CENTURION_LOOKUP.unknown_permission("reports:read")
///                 {
///                     ::core::panic!("{}", __centurion_message.as_str())
///                 };
///                 ::centurion::__private::Requirement {
///                     all_of: &["admin"],
///                     any_of: &[],
///                     all_permissions: &["reports:read"],
///                     any_permission: &[],
///                     fresh: true,
///                     optional: false,
///                     // The role type's table when it has a hierarchy or permissions:
///                     // the guard refuses (500) an instance that resolves tokens without it.
///                     table: __CENTURION_LOOKUP.required_table(),
///                 }
///             }
///         }
///     };
/// }
///
/// pub async fn purge(
///     _: ::centurion::__private::Guard<__centurion_secured_purge>,
///     claims: Claims,
/// ) -> String {
///     claims.subject().to_owned()
/// }
/// ```
///
/// With `role_type = path` the block holds no `use`: its lookup is
/// `Lookup::role_type(Declared::of::<path>("path"))`. Without names (bare, `fresh`,
/// `optional`) `REQUIREMENT` is the plain struct with `table: None`.
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
/// - With `#[utoipa::path]` (centurion's `utoipa` feature), write `#[secured]` **above**
///   it: `#[secured]` then adds its 401 (and, for roles or permissions, 403) responses
///   with the JSON error body before yours, and an `x-centurion` extension with the exact
///   requirement, which `Centurion::openapi` turns into the operation's `security`. Do
///   not write `security(…)` there; it is an error. Below `#[utoipa::path]`, the
///   operation is already built, and the compiler says "expected
///   `write_secured_above_utoipa_path_so_it_can_document_the_security`, found
///   `__path_<handler>`". (The check can also fire when a glob import brings another
///   module's documented handler of the same name into scope; rename one of them.)
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
    let docs = if cfg!(feature = "utoipa") {
        centurion_codegen::Docs::Utoipa
    } else {
        centurion_codegen::Docs::Off
    };
    centurion_codegen::secured_with(attr.into(), item.into(), docs).into()
}

/// Declares the crate's role enum, at the crate root: every `#[secured]` of the crate
/// checks its role and permission names against it.
///
/// ```
/// centurion::roles!(auth::Role);         // the path from the crate root, or another crate's
///
/// mod auth {
///     #[derive(centurion::Role)]
///     pub enum Role { Admin, Editor }
/// }
///
/// #[centurion::secured(any_of = "admin, editor")]
/// async fn drafts() {}
/// # fn main() {}
/// ```
///
/// It takes any type that implements `Role` (derived or by hand); the permissions come
/// with it (`#[role(permissions = …)]`). Not needed when the `#[derive(Role)]` enum is at
/// the crate root. Written in a module instead of the crate root, or naming a type that
/// is not a role type, it is a compile error.
///
/// # Expansion
///
/// ```ignore
/// #[doc(hidden)]
/// #[allow(dead_code)]
/// const __CENTURION_ROLES: ::core::option::Option<::centurion::__private::Declared> =
///     ::core::option::Option::Some(
///         ::centurion::__private::Declared::of::<auth::Role>("auth::Role"),
///     );
/// const _: () = if !::centurion::__private::at_crate_root(::core::module_path!()) {
///     ::core::panic!(
///         "`centurion::roles!` goes at the crate root (main.rs or lib.rs), where every `#[secured]` of the crate finds it"
///     )
/// };
/// ```
///
/// `#[secured]` reads `__CENTURION_ROLES` through `use crate::*` (see its expansion).
#[proc_macro]
pub fn roles(input: TokenStream) -> TokenStream {
    centurion_codegen::roles(input.into()).into()
}

/// Declares the application's roles: implements `Role` for an enum of unit variants, with
/// its hierarchy and permission grants closed at compile time, and lets `#[secured]`
/// check role names.
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
/// Tokens carry roles by these names, so other services can read them. An enum named
/// `Role` works: derive it by path, `#[derive(centurion::Role)] enum Role { … }`
/// (`use centurion::Role` would bring the trait of that name into scope, which the enum
/// then clashes with).
///
/// # Attributes
///
/// | attribute | on | meaning |
/// |---|---|---|
/// | `#[role(rename = "name")]` | a variant | the variant's role name |
/// | `#[role(rename_all = "rule")]` | the enum | how variant names become role names: `snake_case` (the default), `kebab-case`, `lowercase`, `UPPERCASE`, `SCREAMING_SNAKE_CASE`, `camelCase` or `PascalCase` |
/// | `#[role(includes = "a, b")]` | a variant | the role satisfies every requirement `a` or `b` satisfies (transitively) |
/// | `#[role(permissions = Perm)]` | the enum | the `#[derive(Permission)]` type whose names the roles grant |
/// | `#[role(grants = "p, q")]` | a variant | the permissions the role grants (and every role that includes it) |
///
/// Role names must be unique, non-empty, and free of commas and whitespace (which
/// separate names in `#[secured(roles = "…")]`). The enum must have at least one
/// variant, every variant must be a unit variant, and it cannot be generic. `includes`
/// names roles of the same enum, never the role itself, and never closes a cycle;
/// `grants` needs `permissions` on the enum and names each permission once; each of
/// these mistakes is a compile error at the name (an unknown granted permission too,
/// listing the declared ones).
///
/// ```
/// use centurion::{Permission, Role};
///
/// #[derive(Permission)]
/// enum Perm { #[permission(rename = "reports:read")] ReportsRead }
///
/// #[derive(Role)]
/// #[role(permissions = Perm)]
/// enum AppRole {
///     #[role(grants = "reports:read")]
///     Admin,
///     Editor,
///     #[role(includes = "admin, editor")]
///     Owner,
/// }
///
/// assert_eq!(AppRole::TABLE.satisfies("owner"), ["owner", "admin", "editor"]);
/// assert_eq!(AppRole::TABLE.grants("owner"), ["reports:read"]);
/// ```
///
/// # Where to put it
///
/// Anywhere. At the crate root it declares the crate's roles by itself; elsewhere (or in
/// another crate), declare it once at the crate root with `centurion::roles!(path)`, or
/// name it on a handler with `#[secured(role_type = …)]`. One module holds at most one
/// `#[derive(Role)]` (each leaves the hidden constant `#[secured]` looks for).
///
/// # Expansion
///
/// For the enum above:
///
/// ```ignore
/// #[automatically_derived]
/// impl ::centurion::__private::Role for AppRole {
///     const NAMES: &'static [&'static str] = &["admin", "editor", "owner"];
///     #[inline]
///     fn name(&self) -> &'static str {
///         match self {
///             Self::Admin => "admin",
///             Self::Editor => "editor",
///             Self::Owner => "owner",
///         }
///     }
///     #[inline]
///     fn from_name(__centurion_name: &str) -> ::core::option::Option<Self> {
///         match __centurion_name {
///             "admin" => ::core::option::Option::Some(Self::Admin),
///             "editor" => ::core::option::Option::Some(Self::Editor),
///             "owner" => ::core::option::Option::Some(Self::Owner),
///             _ => ::core::option::Option::None,
///         }
///     }
///     // Per role: the roles it satisfies (closed) and the permissions it holds (closed).
///     const TABLE: &'static ::centurion::__private::RoleTable =
///         &::centurion::__private::RoleTable::__new(
///             &[
///                 ::centurion::__private::RoleEntry::__new("admin", &["admin"], &["reports:read"]),
///                 ::centurion::__private::RoleEntry::__new("editor", &["editor"], &[]),
///                 ::centurion::__private::RoleEntry::__new(
///                     "owner",
///                     &["owner", "admin", "editor"],
///                     &["reports:read"],
///                 ),
///             ],
///             ::core::option::Option::Some((
///                 "Perm",
///                 <Perm as ::centurion::__private::Permission>::NAMES,
///             )),
///         );
/// }
///
/// // One check per granted name, spanned at its literal.
/// const _: () = if let ::core::option::Option::Some(__centurion_message) =
///     ::centurion::__private::unknown_grant(
///         <Perm as ::centurion::__private::Permission>::NAMES,
///         "Perm",
///         "reports:read",
///         "admin",
///     )
/// {
///     ::core::panic!("{}", __centurion_message.as_str())
/// };
///
/// // What `#[secured]` finds beside it, or at the crate root. Nothing silences
/// // `dead_code` on the user's items, yet an enum only `#[secured]` uses draws no
/// // warning (pinned by `tests/ui/roles/pass/only_used_by_secured.rs`).
/// #[doc(hidden)]
/// #[allow(dead_code)]
/// const __CENTURION_ROLE_ENUM_OF_THIS_MODULE: ::core::option::Option<::centurion::__private::Declared> =
///     ::core::option::Option::Some(::centurion::__private::Declared::derived::<AppRole>(
///         ::core::module_path!(),
///         "AppRole",
///     ));
/// ```
#[proc_macro_derive(Role, attributes(role))]
pub fn derive_role(input: TokenStream) -> TokenStream {
    centurion_codegen::derive_role(input.into()).into()
}

/// Declares the application's permissions: implements `Permission` for an enum of unit
/// variants, whose names `#[role(grants = …)]` and `#[secured(permissions = …)]` use.
///
/// ```
/// use centurion::Permission;
///
/// #[derive(Permission, Clone, Copy, PartialEq, Debug)]
/// pub enum Perm {
///     #[permission(rename = "reports:read")]
///     ReportsRead,                    // "reports:read"
///     ArticlesPublish,                // "articles_publish"
/// }
///
/// fn main() {
///     assert_eq!(Perm::NAMES, ["reports:read", "articles_publish"]);
///     assert_eq!(Perm::from_name("reports:read"), Some(Perm::ReportsRead));
/// }
/// ```
///
/// | attribute | on | meaning |
/// |---|---|---|
/// | `#[permission(rename = "name")]` | a variant | the variant's permission name |
/// | `#[permission(rename_all = "rule")]` | the enum | as for `#[derive(Role)]` (default `snake_case`) |
///
/// Permission names are OAuth scope tokens (RFC 6749 §3.3: printable ASCII without
/// spaces, `"` or `\`), so an identity provider's scope can name one, and carry no comma;
/// they are unique and non-empty. The enum must have at least one unit variant and
/// cannot be generic.
///
/// # Expansion
///
/// ```ignore
/// #[automatically_derived]
/// impl ::centurion::__private::Permission for Perm {
///     const NAMES: &'static [&'static str] = &["reports:read", "articles_publish"];
///     #[inline]
///     fn name(&self) -> &'static str {
///         match self {
///             Self::ReportsRead => "reports:read",
///             Self::ArticlesPublish => "articles_publish",
///         }
///     }
///     #[inline]
///     fn from_name(__centurion_name: &str) -> ::core::option::Option<Self> {
///         match __centurion_name {
///             "reports:read" => ::core::option::Option::Some(Self::ReportsRead),
///             "articles_publish" => ::core::option::Option::Some(Self::ArticlesPublish),
///             _ => ::core::option::Option::None,
///         }
///     }
/// }
/// ```
///
/// Nothing else, and no `#[allow]` on the user's items: a permission enum only
/// `#[secured]` and the role enum's grants use still draws no `dead_code` warning
/// (pinned by `tests/ui/roles/pass/only_used_by_secured.rs`).
#[proc_macro_derive(Permission, attributes(permission))]
pub fn derive_permission(input: TokenStream) -> TokenStream {
    centurion_codegen::derive_permission(input.into()).into()
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
/// | `#[auth_user(roles)]` | `Vec<R>`, `HashSet<R>` or `BTreeSet<R>`, `R` a `Role` enum or `String` | `AuthUser::roles` (none without it), and `AuthUser::role_table` (`R`'s hierarchy and grants) |
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
/// `UserRecord::from_parts` builds the struct from a store's `UserParts`: the id from its
/// text (an integer type parses it, `None`, "no such user", when it does not fit; `String`
/// takes it; `uuid::Uuid`, with centurion's feature `uuid`, parses it), username, password hash
/// and e-mail through `From<String>`, roles by name (names the role enum does not declare
/// are dropped), validity from `active`, and every field without an attribute from
/// `Default::default()`. `UserRecord::id_kind` tells the shipped stores which ids to give
/// new users: numbers for an integer id field, random UUIDs for `String` and `uuid::Uuid`
/// (the SQL store keeps them in the column `uid`). Another id type is a compile error on
/// the field; add `#[auth_user(no_user_record)]` and implement `UserRecord` by hand for it.
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
///     // The role enum's hierarchy and grants, for the instance to check tokens with.
///     fn role_table() -> ::core::option::Option<&'static ::centurion::__private::RoleTable> {
///         <Vec<AppRole> as ::centurion::__private::RolesRecordField>::role_table()
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
///     // Which ids the shipped stores give new users (integers here).
///     fn id_kind() -> ::centurion::__private::IdKind {
///         <i64 as ::centurion::__private::StoredId>::KIND
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
#[proc_macro_derive(AuthUser, attributes(auth_user))]
pub fn derive_auth_user(input: TokenStream) -> TokenStream {
    centurion_codegen::derive_auth_user(input.into()).into()
}
