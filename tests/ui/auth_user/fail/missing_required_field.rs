use centurion::AuthUser;

#[derive(AuthUser)]
struct User {
    #[auth_user(id)]
    id: i64,
    #[auth_user(username)]
    email: String,
    password_hash: String,
}

fn main() {}
