use centurion::AuthUser;

struct Settings;

#[derive(AuthUser)]
struct User {
    #[auth_user(id)]
    id: i64,
    #[auth_user(username)]
    username: String,
    #[auth_user(password)]
    password_hash: String,
    settings: Settings,
}

fn main() {}
