//! Helpers for tests of applications built on centurion.

use crate::user::{AuthUser, HasEmail, UserParts, UserRecord};

/// A plain user type for tests, examples and prototypes.
///
/// ```
/// use centurion::{AuthUser, testing::TestUser};
/// let user = TestUser::new(7, "ada", &["admin"]);
/// assert_eq!(user.id(), "7");
/// assert_eq!(user.roles(), ["admin"]);
/// assert!(!format!("{user:?}").contains("argon2"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TestUser {
    /// Numeric id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// E-mail address.
    pub email: Option<String>,
    /// PHC password hash.
    pub password_hash: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Whether the account is active.
    pub active: bool,
}

impl TestUser {
    /// An active user without a password hash.
    pub fn new(id: i64, username: &str, roles: &[&str]) -> Self {
        Self {
            id,
            username: username.to_owned(),
            email: None,
            password_hash: String::new(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            active: true,
        }
    }
}

impl std::fmt::Debug for TestUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("email", &self.email)
            .field("roles", &self.roles)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl AuthUser for TestUser {
    fn id(&self) -> String {
        self.id.to_string()
    }
    fn username(&self) -> &str {
        &self.username
    }
    fn password_hash(&self) -> &str {
        &self.password_hash
    }
    fn roles(&self) -> Vec<&str> {
        self.roles.iter().map(String::as_str).collect()
    }
    fn is_valid(&self) -> bool {
        self.active
    }
}

impl UserRecord for TestUser {
    fn from_parts(parts: UserParts) -> Option<Self> {
        Some(Self {
            id: parts.id.parse().ok()?,
            username: parts.username,
            email: parts.email,
            password_hash: parts.password_hash,
            roles: parts.roles,
            active: parts.active,
        })
    }
}

impl HasEmail for TestUser {
    fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }
}
