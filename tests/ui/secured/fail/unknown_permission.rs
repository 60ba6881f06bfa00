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
    #[role(grants = "reports:read")]
    Auditor,
}

#[secured(permissions = "reports:raed")]
async fn reports() {}

fn main() {}
