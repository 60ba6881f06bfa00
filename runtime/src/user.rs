//! What centurion needs to know about an application's users and roles.
//!
//! Most applications derive these traits: `#[derive(AuthUser)]` on the user struct and
//! `#[derive(Role)]` on the role enum (see the crate docs). They are plain traits, so a
//! hand-written implementation works the same.

/// An application's user, as centurion sees it.
///
/// `#[derive(AuthUser)]` implements it from field attributes. By hand:
///
/// ```
/// use centurion::AuthUser;
///
/// struct Account { id: u64, login: String, hash: String, admin: bool, disabled: bool }
///
/// impl AuthUser for Account {
///     fn id(&self) -> String { self.id.to_string() }
///     fn username(&self) -> &str { &self.login }
///     fn password_hash(&self) -> &str { &self.hash }
///     fn roles(&self) -> Vec<&str> { if self.admin { vec!["admin"] } else { vec![] } }
///     fn is_valid(&self) -> bool { !self.disabled }
/// }
/// ```
pub trait AuthUser: Send + Sync + 'static {
    /// The stable identifier carried as the token's `sub` claim; the user store's
    /// [`identify`](crate::UserStore::identify) receives it back.
    fn id(&self) -> String;

    /// The name the user logs in with.
    fn username(&self) -> &str;

    /// The password hash as a PHC string (`$argon2id$v=19$…`).
    fn password_hash(&self) -> &str;

    /// The names of the user's roles, as they travel in tokens.
    fn roles(&self) -> Vec<&str>;

    /// Whether the user may authenticate at all (active, not banned). Defaults to `true`.
    fn is_valid(&self) -> bool {
        true
    }
}

/// A closed set of role names declared by the application, usually with `#[derive(Role)]`.
///
/// The derive also lets `#[secured]` check role names at compile time.
///
/// ```
/// use centurion::Role;
///
/// #[derive(Clone, Copy, PartialEq, Debug)]
/// enum AppRole { Admin, Editor }
///
/// impl Role for AppRole {
///     const NAMES: &'static [&'static str] = &["admin", "editor"];
///     fn name(&self) -> &'static str {
///         match self { AppRole::Admin => "admin", AppRole::Editor => "editor" }
///     }
///     fn from_name(name: &str) -> Option<Self> {
///         match name { "admin" => Some(AppRole::Admin), "editor" => Some(AppRole::Editor), _ => None }
///     }
/// }
///
/// assert_eq!(AppRole::from_name("editor"), Some(AppRole::Editor));
/// assert_eq!(AppRole::Admin.name(), "admin");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a declared role type",
    label = "not a role enum",
    note = "declare the roles with `#[derive(centurion::Role)]` on a fieldless enum, or implement `centurion::Role`"
)]
pub trait Role: Sized + Send + Sync + 'static {
    /// Every declared role name.
    const NAMES: &'static [&'static str];

    /// This role's name as it appears in tokens and in `#[secured]`.
    fn name(&self) -> &'static str;

    /// The role with this name, if declared.
    fn from_name(name: &str) -> Option<Self>;
}

/// The stored fields of a user, as the shipped user stores keep them.
///
/// Stores build the application's user type from these with [`UserRecord::from_parts`].
#[derive(Clone, PartialEq, Eq)]
pub struct UserParts {
    /// Numeric id assigned by the store.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// E-mail address, if the application records one.
    pub email: Option<String>,
    /// PHC string of the password hash.
    pub password_hash: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Whether the account is active.
    pub active: bool,
}

impl std::fmt::Debug for UserParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserParts")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password_hash", &"<redacted>")
            .field("roles", &self.roles)
            .field("active", &self.active)
            .finish()
    }
}

/// A user type the shipped stores ([`MemoryUserStore`](crate::memory::MemoryUserStore),
/// the SQL stores) can build from stored fields.
///
/// `#[derive(AuthUser)]` implements it too; fields without an `#[auth_user(…)]` attribute
/// take their `Default`.
pub trait UserRecord: AuthUser + Sized {
    /// Builds a user from stored fields; `None` when they do not fit the type (an id out
    /// of range, say), which stores treat as "no such user".
    fn from_parts(parts: UserParts) -> Option<Self>;
}

/// A user type that exposes an e-mail address (for confirmation and reset mail).
pub trait HasEmail {
    /// The user's e-mail address, if known.
    fn email(&self) -> Option<&str>;
}
