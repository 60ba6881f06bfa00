use centurion::AuthUser;

#[derive(AuthUser)]
enum User {
    Admin,
}

fn main() {}
