use centurion::AuthUser;

#[derive(AuthUser)]
#[auth_user(username = Self::login)]
struct User {
    #[auth_user(id)]
    id: i64,
    first: String,
    #[auth_user(password)]
    password_hash: String,
}

impl User {
    fn login(&self) -> &str {
        &self.first
    }
}

fn main() {}
