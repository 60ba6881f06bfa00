use centurion::AuthUser;

#[derive(AuthUser)]
struct User {
    #[auth_user(id = Self::key)]
    id: i64,
    #[auth_user(username)]
    username: String,
    #[auth_user(password)]
    password_hash: String,
}

fn main() {}
