use centurion::AuthUser;

/// An id that prints (so `AuthUser::id` works) but is none of the types the stores give
/// ids to (integers, `String`, `uuid::Uuid`).
struct AccountKey(String);

impl std::fmt::Display for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

// The shipped stores number users or give them UUIDs: an id of another type is reported
// on the field (add `#[auth_user(no_user_record)]` to opt out of `UserRecord`).
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
