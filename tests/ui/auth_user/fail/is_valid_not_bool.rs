use centurion::AuthUser;

#[derive(AuthUser)]
struct User {
    #[auth_user(id)]
    id: i64,
    #[auth_user(username)]
    username: String,
    #[auth_user(password)]
    password_hash: String,
    #[auth_user(is_valid)]
    status: String,
}

fn main() {}
