//! Tuple structs, generic structs, string roles and an optional e-mail address.
use centurion::{AuthUser, HasEmail, UserParts, UserRecord};
use std::collections::BTreeSet;

#[derive(AuthUser, Debug)]
struct Tuple(
    #[auth_user(id)] i64,
    #[auth_user(username)] String,
    #[auth_user(password)] String,
    #[auth_user(roles)] BTreeSet<String>,
);

#[derive(AuthUser)]
struct WithExtra<T: Default + Send + Sync + 'static> {
    #[auth_user(id)]
    id: i64,
    #[auth_user(username)]
    name: String,
    #[auth_user(password)]
    hash: String,
    #[auth_user(email)]
    email: Option<String>,
    extra: T,
}

fn parts() -> UserParts {
    UserParts {
        id: "3".to_owned(),
        username: "bob".to_owned(),
        email: Some("bob@example.com".to_owned()),
        password_hash: "h".to_owned(),
        roles: vec!["b".to_owned(), "a".to_owned()],
        active: true,
    }
}

fn main() {
    let tuple = Tuple::from_parts(parts()).unwrap();
    assert_eq!(tuple.roles(), ["a", "b"]);
    assert_eq!(tuple.username(), "bob");
    assert!(tuple.is_valid(), "no is_valid: always valid");

    let user = WithExtra::<Vec<u8>>::from_parts(parts()).unwrap();
    assert_eq!(user.email(), Some("bob@example.com"));
    assert!(user.roles().is_empty(), "no roles field: no roles");
    assert!(user.extra.is_empty());
}
