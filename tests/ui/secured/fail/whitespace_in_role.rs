use centurion::{Role, secured};

#[derive(Role)]
enum AppRole {
    Admin,
    Editor,
}

#[secured(roles = "admin editor")]
async fn dashboard() {}

fn main() {}
