use centurion::{Permission, Role, secured};

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
    Auditor,
}

#[secured(permissions = "reports:read", any_permission = "reports:read, reports:export")]
async fn reports() {}

fn main() {}
