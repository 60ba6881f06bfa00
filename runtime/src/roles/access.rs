//! The roles and permissions a verified token holds, resolved once when it is verified
//! (and remembered with it by the cache of verified tokens), so a requirement is a few
//! string comparisons in small sets.

use super::RoleTable;

/// What a token's principal holds beyond the role names it carries: every declared role
/// those satisfy through the hierarchy, and every permission they grant or a scope names.
#[derive(Debug, Default)]
pub(crate) struct Access {
    /// The table the access was resolved with; `None` when the instance has none.
    table: Option<&'static RoleTable>,
    /// Every declared role held, closed over the hierarchy, in the order found.
    roles: Box<[&'static str]>,
    /// Every declared permission held.
    permissions: Box<[&'static str]>,
}

/// Appends `name` unless it is already there (the sets are a handful of names).
fn add(set: &mut Vec<&'static str>, name: &'static str) {
    if !set.contains(&name) {
        set.push(name);
    }
}

impl Access {
    /// Resolves what a token carrying the role names `carried` and the scopes `scopes`
    /// holds under `table`: each carried role adds the roles it satisfies and the
    /// permissions it grants; each scope that names a declared permission adds it. Names
    /// the table does not declare add nothing (a carried one still satisfies a
    /// requirement of its own name, see [`Access::holds_role`]).
    pub(crate) fn resolve(
        table: Option<&'static RoleTable>,
        carried: &[String],
        scopes: &[String],
    ) -> Self {
        let Some(table) = table else {
            return Self::default();
        };
        let mut roles = Vec::new();
        let mut permissions = Vec::new();
        for name in carried {
            for &role in table.satisfies(name) {
                add(&mut roles, role);
            }
            for &permission in table.grants(name) {
                add(&mut permissions, permission);
            }
        }
        for scope in scopes {
            if let Some(&permission) = table.permissions().iter().find(|p| **p == scope) {
                add(&mut permissions, permission);
            }
        }
        Self {
            table: Some(table),
            roles: roles.into(),
            permissions: permissions.into(),
        }
    }

    /// About how many heap bytes this takes (for the verified-token cache's budget).
    pub(crate) fn heap_bytes(&self) -> u64 {
        let pointers = self.roles.len() + self.permissions.len();
        (size_of::<Self>() + 16 + pointers * size_of::<&str>()) as u64
    }

    /// The table this access was resolved with.
    pub(crate) fn table(&self) -> Option<&'static RoleTable> {
        self.table
    }

    /// Whether `role` is held: carried, or satisfied through the hierarchy.
    pub(crate) fn holds_role(&self, carried: &[String], role: &str) -> bool {
        self.roles.contains(&role) || carried.iter().any(|c| c == role)
    }

    /// Every role held: the declared ones closed over the hierarchy, then carried names
    /// the table does not declare.
    pub(crate) fn roles<'a>(&'a self, carried: &'a [String]) -> Vec<&'a str> {
        let mut all: Vec<&str> = self.roles.to_vec();
        for name in carried {
            if !all.contains(&name.as_str()) {
                all.push(name);
            }
        }
        all
    }

    /// Every permission held.
    pub(crate) fn permissions(&self) -> &[&'static str] {
        &self.permissions
    }

    /// Whether `permission` is held.
    pub(crate) fn holds_permission(&self, permission: &str) -> bool {
        self.permissions.contains(&permission)
    }
}

#[cfg(test)]
mod tests {
    use super::Access;
    use crate::roles::{RoleEntry, RoleTable};

    /// owner ⊇ admin, editor; admin grants reports:read; auditor grants reports:read.
    static TABLE: RoleTable = RoleTable::__new(
        &[
            RoleEntry::__new("admin", &["admin"], &["reports:read"]),
            RoleEntry::__new("editor", &["editor"], &[]),
            RoleEntry::__new("owner", &["owner", "admin", "editor"], &["reports:read"]),
            RoleEntry::__new("auditor", &["auditor"], &["reports:read"]),
        ],
        Some(("Perm", &["reports:read", "reports:write"])),
    );

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn carried_roles_are_closed_over_the_table() {
        let carried = names(&["owner"]);
        let access = Access::resolve(Some(&TABLE), &carried, &[]);
        assert!(access.holds_role(&carried, "admin"));
        assert!(access.holds_role(&carried, "editor"));
        assert!(!access.holds_role(&carried, "auditor"));
        assert_eq!(access.roles(&carried), ["owner", "admin", "editor"]);
        assert_eq!(access.permissions(), ["reports:read"]);
    }

    #[test]
    fn without_a_table_roles_are_flat_and_nothing_is_granted() {
        let carried = names(&["owner"]);
        let access = Access::resolve(None, &carried, &names(&["reports:read"]));
        assert!(access.holds_role(&carried, "owner"));
        assert!(!access.holds_role(&carried, "admin"));
        assert!(access.permissions().is_empty());
    }

    #[test]
    fn undeclared_names_satisfy_only_themselves() {
        let carried = names(&["intern"]);
        let access = Access::resolve(Some(&TABLE), &carried, &[]);
        assert!(access.holds_role(&carried, "intern"));
        assert!(!access.holds_role(&carried, "admin"));
        assert_eq!(access.roles(&carried), ["intern"]);
    }

    #[test]
    fn a_scope_naming_a_declared_permission_grants_it_and_others_do_not() {
        let scopes = names(&["openid", "reports:write", "admin"]);
        let access = Access::resolve(Some(&TABLE), &[], &scopes);
        assert_eq!(access.permissions(), ["reports:write"]);
        assert!(!access.holds_role(&[], "admin"));
    }
}
