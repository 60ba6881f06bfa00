use centurion::{Role, secured};

#[derive(Role)]
enum AppRole {
    Auditor,
}

#[secured(roles = "auditor", any_permission = "reports:read")]
async fn reports() {}

fn main() {}
