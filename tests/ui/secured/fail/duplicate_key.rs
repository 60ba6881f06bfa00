use centurion::{Role, secured};

#[derive(Role)]
enum AppRole {
    Admin,
    Editor,
}

#[secured(roles = "admin", roles = "editor")]
async fn dashboard() {}

fn main() {}
