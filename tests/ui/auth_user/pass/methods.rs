//! The method form: pieces that are not plain fields come from methods named on the
//! struct; `no_user_record` opts out of `UserRecord`.
use centurion::{AuthUser, HasEmail};
use uuid_like::Uuid;

mod uuid_like {
    #[derive(Clone, Copy)]
    pub struct Uuid(pub u128);
    impl std::fmt::Display for Uuid {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:032x}", self.0)
        }
    }
}

#[derive(AuthUser)]
#[auth_user(no_user_record, is_valid = Self::allowed, roles = Self::role_names)]
#[auth_user(email = contact)]
pub struct Account {
    #[auth_user(id)]
    key: Uuid,
    #[auth_user(username)]
    login: Box<str>,
    #[auth_user(password)]
    hash: String,
    banned: bool,
    admin: bool,
    emails: Vec<String>,
}

impl Account {
    fn allowed(&self) -> bool {
        !self.banned
    }
    fn role_names(&self) -> Vec<&str> {
        if self.admin { vec!["admin"] } else { Vec::new() }
    }
}

fn contact(account: &Account) -> Option<&str> {
    account.emails.first().map(String::as_str)
}

fn main() {
    let account = Account {
        key: Uuid(1),
        login: "ada".into(),
        hash: String::new(),
        banned: true,
        admin: true,
        emails: vec!["ada@example.com".to_owned()],
    };
    assert_eq!(account.id(), "00000000000000000000000000000001");
    assert_eq!(account.username(), "ada");
    assert_eq!(account.password_hash(), "");
    assert!(!account.is_valid());
    assert_eq!(account.roles(), ["admin"]);
    assert_eq!(account.email(), Some("ada@example.com"));
}
