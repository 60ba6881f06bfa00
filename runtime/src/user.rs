//! What centurion needs to know about an application's users and roles.
//!
//! Most applications derive these traits: `#[derive(AuthUser)]` on the user struct (see the
//! crate docs). They are plain traits, so a hand-written implementation works the same. The
//! role and permission traits are in `roles/`.

use crate::roles::RoleTable;

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

    /// The role table tokens of these users are checked with (the hierarchy and the
    /// permission grants), or `None` for flat roles without permissions (the default).
    ///
    /// `#[derive(AuthUser)]` returns the table of the role enum its `#[auth_user(roles)]`
    /// field holds (`Vec<AppRole>` gives `AppRole::TABLE`; `Vec<String>` gives `None`).
    /// [`CenturionBuilder::roles`](crate::CenturionBuilder::roles) names one explicitly.
    fn role_table() -> Option<&'static RoleTable>
    where
        Self: Sized,
    {
        None
    }
}

/// The stored fields of a user, as the shipped user stores keep them.
///
/// Stores build the application's user type from these with [`UserRecord::from_parts`].
#[derive(Clone, PartialEq, Eq)]
pub struct UserParts {
    /// The id the store assigned (or an import gave), as text: the token's `sub`. For a
    /// user type of [`IdKind::Integer`] ids, a decimal integer (`"42"`); for
    /// [`IdKind::Uuid`], a UUID in its hyphenated lower-case form unless an import gave
    /// another string.
    pub id: String,
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

    /// Which ids the shipped stores give new users of this type: integers numbered by the
    /// store (the default) or random UUIDs. `#[derive(AuthUser)]` answers from the id
    /// field's type: integers give [`IdKind::Integer`], `String` and `uuid::Uuid` (feature
    /// `uuid`) [`IdKind::Uuid`].
    ///
    /// ```
    /// use centurion::{AuthUser, IdKind, UserRecord};
    ///
    /// #[derive(AuthUser)]
    /// struct User {
    ///     #[auth_user(id)]       id: String,       // or uuid::Uuid, with feature `uuid`
    ///     #[auth_user(username)] name: String,
    ///     #[auth_user(password)] hash: String,
    /// }
    ///
    /// assert_eq!(User::id_kind(), IdKind::Uuid);
    /// ```
    fn id_kind() -> IdKind {
        IdKind::Integer
    }
}

/// Which ids a shipped user store gives new users ([`UserRecord::id_kind`]).
///
/// A store keeps the users of one kind: the SQL store keeps integer ids in the column
/// `id` and the others in `uid` (see [`crate::sql`]), so a database of integer ids is
/// unchanged by a user type of UUIDs, whose store does not see its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdKind {
    /// Positive integers numbered by the store, never reused (`i64`, `u32`, …).
    Integer,
    /// Random (version 4) UUIDs, generated by the store in their hyphenated lower-case
    /// form (`uuid::Uuid` or `String`); an import may give other strings to a `String` id.
    Uuid,
}

/// A user type that exposes an e-mail address (for confirmation and reset mail).
pub trait HasEmail {
    /// The user's e-mail address, if known.
    fn email(&self) -> Option<&str>;
}
