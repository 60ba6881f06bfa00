//! A role enum with a hierarchy and permissions, the quickstart's, declared in another
//! crate than the suites that use it: the cross-crate case of `centurion::roles!`.

use centurion::{Permission, Role};

/// The permissions of [`OrgRole`].
#[derive(Permission, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Perm {
    /// Granted to `admin` (so to `owner`) and `auditor`.
    #[permission(rename = "reports:read")]
    ReportsRead,
    /// Granted to `owner` only.
    #[permission(rename = "reports:export")]
    ReportsExport,
    /// Granted to nobody: held only through a scope of the same name.
    #[permission(rename = "billing:read")]
    BillingRead,
}

/// `owner` includes `admin` and `editor`; `admin` and `auditor` grant `reports:read`;
/// `owner` adds `reports:export`.
#[derive(Role, Clone, Copy, Debug, PartialEq, Eq)]
#[role(permissions = Perm)]
pub enum OrgRole {
    #[role(grants = "reports:read")]
    Admin,
    Editor,
    Author,
    #[role(includes = "admin, editor", grants = "reports:export")]
    Owner,
    #[role(grants = "reports:read")]
    Auditor,
}
