use centurion::{Role, secured};

#[derive(Role)]
enum AppRole {
    Admin,
}

#[secured(optional, roles = "admin")]
async fn dashboard() {}

fn main() {}
