use centurion::{Role, secured};

#[derive(Role)]
enum AppRole {
    Admin,
    Editor,
}

#[secured(any_of = "admin, editor, admin")]
async fn dashboard() {}

fn main() {}
