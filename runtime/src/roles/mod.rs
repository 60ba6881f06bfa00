//! Roles and permissions: the [`Role`] and [`Permission`] traits an application's enums
//! implement (usually with `#[derive(Role)]` and `#[derive(Permission)]`), and the
//! [`RoleTable`] the role derive precomputes: the hierarchy closed, the grants inherited.
//!
//! | file | what |
//! | --- | --- |
//! | `mod.rs` | [`Role`], [`RoleName`], [`Permission`], [`RoleTable`] |
//! | `access.rs` | the roles and permissions a verified token holds, resolved once |
//! | `check.rs` | what `#[secured]` and `roles!` evaluate at compile time (through `centurion::__private`) |
//!
//! # The rule
//!
//! A token holds the roles it carries and every role they include, transitively; it holds
//! a permission when one of those roles grants it, or when the token carries a scope of
//! the same name (tokens of an identity provider; this instance's own tokens carry no
//! scopes). Both are resolved once, when the token is verified, and remembered with it.

mod access;
mod check;

pub(crate) use self::access::Access;
pub use self::check::{
    Declared, ERRONEOUS, Lookup, Message, at_crate_root, undeclared, unknown_grant,
};

/// A closed set of role names declared by the application, usually with `#[derive(Role)]`.
///
/// The derive also fills [`Role::TABLE`] from `#[role(includes = …, grants = …)]` and lets
/// `#[secured]` check role and permission names at compile time. A hand-written
/// implementation keeps the default table: flat roles, no permissions.
///
/// ```
/// use centurion::Role;
///
/// #[derive(Clone, Copy, PartialEq, Debug)]
/// enum AppRole { Admin, Editor }
///
/// impl Role for AppRole {
///     const NAMES: &'static [&'static str] = &["admin", "editor"];
///     fn name(&self) -> &'static str {
///         match self { AppRole::Admin => "admin", AppRole::Editor => "editor" }
///     }
///     fn from_name(name: &str) -> Option<Self> {
///         match name { "admin" => Some(AppRole::Admin), "editor" => Some(AppRole::Editor), _ => None }
///     }
/// }
///
/// assert_eq!(AppRole::from_name("editor"), Some(AppRole::Editor));
/// assert_eq!(AppRole::Admin.name(), "admin");
/// assert!(AppRole::TABLE.is_flat());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a declared role type",
    label = "not a role enum",
    note = "declare the roles with `#[derive(centurion::Role)]` on a fieldless enum, or implement `centurion::Role`"
)]
pub trait Role: Sized + Send + Sync + 'static {
    /// Every declared role name.
    const NAMES: &'static [&'static str];

    /// The hierarchy and the permission grants, closed. Default: [`RoleTable::FLAT`].
    const TABLE: &'static RoleTable = &RoleTable::FLAT;

    /// This role's name as it appears in tokens and in `#[secured]`.
    fn name(&self) -> &'static str;

    /// The role with this name, if declared.
    fn from_name(name: &str) -> Option<Self>;
}

/// What [`Claims::has_role`](crate::Claims::has_role) and
/// [`Claims::require_role`](crate::Claims::require_role) take: a value of a role enum, so a
/// misspelt role is a compile error, or a name (`&str`, `String`, `Cow<str>`), for names
/// that come from data. A value of any role enum is taken and compared by its name: use the
/// enum the instance's roles are declared with.
///
/// ```
/// use centurion::{Role, RoleName};
///
/// #[derive(Role)]
/// enum AppRole { Admin, Editor }
///
/// assert_eq!(AppRole::Editor.role_name(), "editor");
/// assert_eq!("editor".role_name(), "editor");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is neither a declared role nor a role name",
    label = "not a role",
    note = "pass a value of the enum that derives `centurion::Role` (e.g. `AppRole::Editor`), or a role name as `&str`"
)]
pub trait RoleName {
    /// The role's name as tokens carry it.
    fn role_name(&self) -> &str;
}

impl<R: Role> RoleName for R {
    fn role_name(&self) -> &str {
        self.name()
    }
}

impl RoleName for &str {
    fn role_name(&self) -> &str {
        self
    }
}

impl RoleName for String {
    fn role_name(&self) -> &str {
        self
    }
}

impl RoleName for &String {
    fn role_name(&self) -> &str {
        self
    }
}

impl RoleName for std::borrow::Cow<'_, str> {
    fn role_name(&self) -> &str {
        self
    }
}

/// A closed set of permission names, usually declared with `#[derive(Permission)]` and
/// granted to roles with `#[role(permissions = …)]` and `#[role(grants = …)]`.
///
/// Handlers ask for a permission by its enum value, so a typo is a compile error:
/// `claims.require_permission(Perm::ReportsRead)?`.
///
/// ```
/// use centurion::Permission;
///
/// #[derive(Permission, Clone, Copy, PartialEq, Debug)]
/// enum Perm {
///     #[permission(rename = "reports:read")]
///     ReportsRead,
///     ArticlesPublish,                    // "articles_publish"
/// }
///
/// assert_eq!(Perm::NAMES, ["reports:read", "articles_publish"]);
/// assert_eq!(Perm::ReportsRead.name(), "reports:read");
/// assert_eq!(Perm::from_name("articles_publish"), Some(Perm::ArticlesPublish));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a declared permission type",
    label = "not a permission enum",
    note = "declare the permissions with `#[derive(centurion::Permission)]` on a fieldless enum, or implement `centurion::Permission`"
)]
pub trait Permission: Sized + Send + Sync + 'static {
    /// Every declared permission name.
    const NAMES: &'static [&'static str];

    /// This permission's name as it appears in `#[secured]` and in a provider's scopes.
    fn name(&self) -> &'static str;

    /// The permission with this name, if declared.
    fn from_name(name: &str) -> Option<Self>;
}

/// A role type's hierarchy and grants, closed at compile time by `#[derive(Role)]`.
///
/// For each role: the roles it satisfies (itself and every role it includes, transitively)
/// and the permissions it holds (its own grants and those of every role it includes).
/// Checking a token against it is a few string comparisons: nothing is walked per request.
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
/// let table = AppRole::TABLE;
/// assert_eq!(table.satisfies("owner"), ["owner", "admin", "editor"]);
/// assert_eq!(table.grants("owner"), ["reports:read"]);
/// assert!(table.grants("editor").is_empty());
/// assert_eq!(table.permissions(), ["reports:read"]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleTable {
    roles: &'static [RoleEntry],
    permissions: Option<PermissionNames>,
}

/// The permission type of a role table: its name as written and its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PermissionNames {
    type_name: &'static str,
    names: &'static [&'static str],
}

/// One role of a [`RoleTable`]. Built by the derive; not a public API.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleEntry {
    name: &'static str,
    satisfies: &'static [&'static str],
    grants: &'static [&'static str],
}

impl RoleEntry {
    /// A role, the roles it satisfies (itself first) and the permissions it holds, both
    /// closed. For the derive.
    #[doc(hidden)]
    pub const fn __new(
        name: &'static str,
        satisfies: &'static [&'static str],
        grants: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            satisfies,
            grants,
        }
    }
}

impl RoleTable {
    /// Flat roles without permissions: each role satisfies only itself.
    pub const FLAT: RoleTable = RoleTable {
        roles: &[],
        permissions: None,
    };

    /// A closed table, and the permission type's name and names when the role type has
    /// one. For the derive.
    #[doc(hidden)]
    pub const fn __new(
        roles: &'static [RoleEntry],
        permissions: Option<(&'static str, &'static [&'static str])>,
    ) -> Self {
        Self {
            roles,
            permissions: match permissions {
                Some((type_name, names)) => Some(PermissionNames { type_name, names }),
                None => None,
            },
        }
    }

    /// Whether no role includes another, nothing is granted and no permission is declared.
    pub const fn is_flat(&self) -> bool {
        if self.permissions.is_some() {
            return false;
        }
        let mut i = 0;
        while i < self.roles.len() {
            let role = &self.roles[i];
            if role.satisfies.len() > 1 || !role.grants.is_empty() {
                return false;
            }
            i += 1;
        }
        true
    }

    fn entry(&self, role: &str) -> Option<&'static RoleEntry> {
        let roles: &'static [RoleEntry] = self.roles;
        roles.iter().find(|entry| entry.name == role)
    }

    /// Every role that holding `role` satisfies: itself first, then what it includes,
    /// transitively. Empty for a name the table does not know (a flat table knows none;
    /// such a role satisfies only itself).
    pub fn satisfies(&self, role: &str) -> &'static [&'static str] {
        self.entry(role).map_or(&[], |entry| entry.satisfies)
    }

    /// Every permission holding `role` grants: its own and those of the roles it
    /// includes.
    pub fn grants(&self, role: &str) -> &'static [&'static str] {
        self.entry(role).map_or(&[], |entry| entry.grants)
    }

    /// Every declared permission name (empty when the role type has no permission type).
    pub fn permissions(&self) -> &'static [&'static str] {
        self.permissions.map_or(&[], |p| p.names)
    }

    /// The permission type's name as written in `#[role(permissions = …)]`.
    pub const fn permission_type(&self) -> Option<&'static str> {
        match self.permissions {
            Some(p) => Some(p.type_name),
            None => None,
        }
    }

    /// The declared permission names, `None` without a permission type (for the
    /// compile-time checks, which tell "no permission type" from "no such permission").
    const fn permission_names(&self) -> Option<&'static [&'static str]> {
        match self.permissions {
            Some(p) => Some(p.names),
            None => None,
        }
    }
}
