use centurion::AuthUser;

/// An id that prints (so `AuthUser::id` works) but cannot come from the stores' `i64`.
struct AccountKey(String);

impl std::fmt::Display for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

// The shipped stores number users with `i64`: an id they cannot convert is reported on
// the field (add `#[auth_user(no_user_record)]` to opt out of `UserRecord`).
#[derive(AuthUser)]
struct User {
    #[auth_user(id)]
    id: AccountKey,
    #[auth_user(username)]
    username: String,
    #[auth_user(password)]
    password_hash: String,
}

fn main() {}
