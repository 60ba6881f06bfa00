use centurion::AuthUser;

#[derive(AuthUser)]
struct User {
    #[auth_user(id)]
    id: i64,
    #[auth_user(username)]
    email: String,
    #[auth_user(username)]
    login: String,
    #[auth_user(password)]
    password_hash: String,
}

fn main() {}
