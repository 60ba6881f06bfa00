use centurion::AuthUser;

#[derive(AuthUser)]
struct User {
    #[auth_user(id)]
    id: i64,
    #[auth_user(username)]
    username: u64,
    #[auth_user(password)]
    password_hash: String,
}

fn main() {}
