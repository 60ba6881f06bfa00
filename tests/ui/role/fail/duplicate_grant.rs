use centurion::{Permission, Role};

#[derive(Permission)]
enum Perm {
    #[permission(rename = "reports:read")]
    ReportsRead,
}

#[derive(Role)]
#[role(permissions = Perm)]
enum AppRole {
    #[role(grants = "reports:read, reports:read")]
    Auditor,
}

fn main() {}
