use centurion::{Permission, Role};

#[derive(Permission)]
enum Perm {
    #[permission(rename = "reports:read")]
    ReportsRead,
    #[permission(rename = "reports:export")]
    ReportsExport,
}

#[derive(Role)]
#[role(permissions = Perm)]
enum AppRole {
    #[role(grants = "reports:raed")]
    Auditor,
}

fn main() {}
