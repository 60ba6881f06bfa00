//! A `String` id: the shipped stores give these users random UUIDs (`IdKind::Uuid`), and
//! `from_parts` takes any non-empty stored id.
use centurion::{AuthUser, IdKind, UserParts, UserRecord};

#[derive(AuthUser)]
pub struct User {
    #[auth_user(id)]
    id: String,
    #[auth_user(username)]
    name: String,
    #[auth_user(password)]
    hash: String,
}

fn parts(id: &str) -> UserParts {
    UserParts {
        id: id.to_owned(),
        username: "ada".to_owned(),
        email: None,
        password_hash: "h".to_owned(),
        roles: Vec::new(),
        active: true,
    }
}

fn main() {
    assert_eq!(User::id_kind(), IdKind::Uuid);
    let id = "9b2f3c1e-0d4a-4c3b-8e7f-112233445566";
    let user = User::from_parts(parts(id)).expect("a UUID fits a String id");
    assert_eq!(user.id(), id);
    assert_eq!(user.id, id);
    assert_eq!(User::from_parts(parts("legacy-42")).unwrap().id(), "legacy-42");
    assert!(User::from_parts(parts("")).is_none(), "an empty id is no id");
    let _ = (user.name, user.hash);
}
