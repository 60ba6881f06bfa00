//! The runtime role check is typed: a permission (or any other value) is not a role.
use centurion::{Claims, Permission, Role};

#[derive(Permission, Clone, Copy)]
enum Perm {
    ReportsRead,
}

#[derive(Role, Clone, Copy)]
#[role(permissions = Perm)]
enum AppRole {
    #[role(grants = "reports_read")]
    Editor,
}

fn check(claims: &Claims) -> Result<(), centurion::Error> {
    claims.require_role(AppRole::Editor)?;
    claims.require_role(Perm::ReportsRead)
}

fn main() {
    let _ = check;
}
