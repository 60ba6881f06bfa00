use centurion::AuthUser;

// The shipped stores number users with `i64`: an id they cannot convert is reported on
// the field (add `#[auth_user(no_user_record)]` to opt out of `UserRecord`).
#[derive(AuthUser)]
struct User {
    #[auth_user(id)]
    id: String,
    #[auth_user(username)]
    username: String,
    #[auth_user(password)]
    password_hash: String,
}

fn main() {}
