use centurion::AuthUser;

#[derive(AuthUser)]
struct User {
    #[auth_user(id)]
    id: i64,
    #[auth_user(username)]
    username: String,
    #[auth_user(password_hash)]
    password_hash: String,
}

fn main() {}
