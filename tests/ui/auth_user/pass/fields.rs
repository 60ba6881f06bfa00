//! The field form: every key on a field, `username` and `email` sharing one, the roles
//! as a role enum, and the redacting `Debug`.
use centurion::{AuthUser, HasEmail, IdKind, Role, UserParts, UserRecord};

#[derive(Role, Debug, Clone, Copy, PartialEq)]
pub enum AppRole {
    Admin,
    Editor,
}

#[derive(AuthUser)]
#[auth_user(debug)]
pub struct User {
    #[auth_user(id)]
    id: u32,
    #[auth_user(username, email)]
    email: String,
    #[auth_user(password)]
    password_hash: String,
    #[auth_user(roles)]
    roles: Vec<AppRole>,
    #[auth_user(is_valid)]
    active: bool,
    nickname: Option<String>,
}

fn main() {
    let user = User::from_parts(UserParts {
        id: "7".to_owned(),
        username: "ada@example.com".to_owned(),
        email: None,
        password_hash: "$argon2id$v=19$secret".to_owned(),
        roles: vec!["editor".to_owned(), "retired-role".to_owned()],
        active: false,
    })
    .expect("7 fits in u32");
    assert_eq!(user.id(), "7");
    assert_eq!(user.username(), "ada@example.com");
    assert_eq!(user.email(), Some("ada@example.com"));
    assert_eq!(user.roles(), ["editor"]);
    assert!(!user.is_valid());
    assert_eq!(user.nickname, None);
    let debug = format!("{user:?}");
    assert!(!debug.contains("secret"), "{debug}");
    assert!(debug.contains("password_hash: \"<redacted>\""), "{debug}");

    let negative = UserParts {
        id: "-1".to_owned(),
        username: String::new(),
        email: None,
        password_hash: String::new(),
        roles: Vec::new(),
        active: true,
    };
    assert!(User::from_parts(negative).is_none(), "-1 does not fit in u32");
    assert_eq!(User::id_kind(), IdKind::Integer, "the stores number users of integer ids");
}
