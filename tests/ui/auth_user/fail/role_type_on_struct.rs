use centurion::{AuthUser, Role};

#[derive(Role)]
enum AppRole {
    Admin,
}

#[derive(AuthUser)]
#[auth_user(role = AppRole)]
struct User {
    #[auth_user(id)]
    id: i64,
    #[auth_user(username)]
    email: String,
    #[auth_user(password)]
    password_hash: String,
    #[auth_user(roles)]
    roles: Vec<AppRole>,
}

fn main() {}
