use centurion::AuthUser;

/// A type that is not a string.
struct Login {
    _name: [u8; 16],
}

#[derive(AuthUser)]
struct User {
    #[auth_user(id)]
    id: i64,
    #[auth_user(username)]
    username: Login,
    #[auth_user(password)]
    password_hash: String,
}

fn main() {}
