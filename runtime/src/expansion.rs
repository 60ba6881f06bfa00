//! What the code the macros generate calls, re-exported as `centurion::__private` (hidden,
//! not a public API: it changes without notice).
//!
//! `#[derive(AuthUser)]` reads each marked field through one of the traits below, called
//! at the field's type with a span on that type: a field of the wrong type gets one error,
//! on the field, whose `on_unimplemented` message says what the field must be. The traits
//! are implemented once here for the types each kind of field accepts, so every derive
//! expands only to what is specific to its struct. A struct without `UserRecord`
//! (`#[auth_user(no_user_record)]`) is read through the `*Field` traits; one with it
//! through the `*RecordField` traits, which also build the field from stored parts.

use crate::roles::{Role, RoleTable};
use crate::user::IdKind;

/// An element of a `#[auth_user(roles)]` field: a role enum or a string (the public
/// [`RoleName`](crate::RoleName) is what `Claims::has_role` takes).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot name a role",
    label = "the `roles` field holds `{Self}`",
    note = "a `#[auth_user(roles)]` field is a `Vec` of a `#[derive(Role)]` enum or of `String`"
)]
pub trait RoleElement {
    /// The name.
    fn role_name(&self) -> &str;

    /// The table of the role type (`None` for names held as strings).
    fn role_table() -> Option<&'static RoleTable>
    where
        Self: Sized,
    {
        None
    }
}

impl RoleElement for String {
    fn role_name(&self) -> &str {
        self
    }
}

impl RoleElement for &str {
    fn role_name(&self) -> &str {
        self
    }
}

impl RoleElement for std::borrow::Cow<'_, str> {
    fn role_name(&self) -> &str {
        self
    }
}

impl<T: Role> RoleElement for T {
    fn role_name(&self) -> &str {
        self.name()
    }

    fn role_table() -> Option<&'static RoleTable> {
        Some(T::TABLE)
    }
}

/// Builds a role-field element from a stored name.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be built from a stored role name",
    label = "the `roles` field holds `{Self}`",
    note = "a `#[auth_user(roles)]` field is a `Vec` of a `#[derive(Role)]` enum or of `String`"
)]
pub trait FromRoleName: Sized {
    /// `None` for names the type does not know.
    fn from_role_name(name: &str) -> Option<Self>;
}

impl FromRoleName for String {
    fn from_role_name(name: &str) -> Option<Self> {
        Some(name.to_owned())
    }
}

impl<T: Role> FromRoleName for T {
    fn from_role_name(name: &str) -> Option<Self> {
        T::from_name(name)
    }
}

// ---------------------------------------------------------------------------------------
// Reading the marked fields (`AuthUser`, `HasEmail`).

/// The type of an `#[auth_user(id)]` field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a user id",
    label = "the `#[auth_user(id)]` field",
    note = "the id travels in tokens as the `sub` string, so its type must implement `Display` (integers, `String` and UUIDs do)"
)]
pub trait IdField {
    /// The id as the token's `sub`.
    fn user_id(&self) -> String;
}

impl<T: std::fmt::Display + ?Sized> IdField for T {
    fn user_id(&self) -> String {
        self.to_string()
    }
}

/// The type of an `#[auth_user(username)]` field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold the username",
    label = "the `#[auth_user(username)]` field",
    note = "use `String`, or name a method on the struct: `#[auth_user(username = Self::method)]`"
)]
pub trait UsernameField {
    /// The username.
    fn text(&self) -> &str;
}

impl<T: AsRef<str> + ?Sized> UsernameField for T {
    fn text(&self) -> &str {
        self.as_ref()
    }
}

/// The type of an `#[auth_user(password)]` field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold the password hash",
    label = "the `#[auth_user(password)]` field",
    note = "the hash is a PHC string (`$argon2id$…`): use `String`"
)]
pub trait PasswordField {
    /// The PHC string.
    fn text(&self) -> &str;
}

impl<T: AsRef<str> + ?Sized> PasswordField for T {
    fn text(&self) -> &str {
        self.as_ref()
    }
}

/// The type of an `#[auth_user(roles)]` field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold the user's roles",
    label = "the `#[auth_user(roles)]` field",
    note = "use `Vec<R>` (or a `HashSet<R>` or `BTreeSet<R>`) where `R` is your `#[derive(Role)]` enum or `String`"
)]
pub trait RolesField {
    /// The role names.
    fn names(&self) -> Vec<&str>;
    /// The element type's role table.
    fn role_table() -> Option<&'static RoleTable>;
}

impl<R: RoleElement> RolesField for Vec<R> {
    fn names(&self) -> Vec<&str> {
        self.iter().map(R::role_name).collect()
    }
    fn role_table() -> Option<&'static RoleTable> {
        R::role_table()
    }
}

impl<R: RoleElement + Eq + std::hash::Hash> RolesField for std::collections::HashSet<R> {
    fn names(&self) -> Vec<&str> {
        self.iter().map(R::role_name).collect()
    }
    fn role_table() -> Option<&'static RoleTable> {
        R::role_table()
    }
}

impl<R: RoleElement + Ord> RolesField for std::collections::BTreeSet<R> {
    fn names(&self) -> Vec<&str> {
        self.iter().map(R::role_name).collect()
    }
    fn role_table() -> Option<&'static RoleTable> {
        R::role_table()
    }
}

/// The type of an `#[auth_user(is_valid)]` field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the validity flag",
    label = "the `#[auth_user(is_valid)]` field",
    note = "use a `bool` that is `true` for users who may log in, or name a method on the struct: `#[auth_user(is_valid = Self::method)]`"
)]
pub trait IsValidField {
    /// Whether the user may log in.
    fn flag(&self) -> bool;
}

impl IsValidField for bool {
    fn flag(&self) -> bool {
        *self
    }
}

/// The type of an `#[auth_user(email)]` field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold the e-mail address",
    label = "the `#[auth_user(email)]` field",
    note = "use `String` or `Option<String>`"
)]
pub trait EmailField {
    /// The address, if any.
    fn address(&self) -> Option<&str>;
}

impl EmailField for String {
    fn address(&self) -> Option<&str> {
        Some(self)
    }
}

impl EmailField for Option<String> {
    fn address(&self) -> Option<&str> {
        self.as_deref()
    }
}

// ---------------------------------------------------------------------------------------
// Reading and building (`AuthUser` and `UserRecord::from_parts`).
//
// With `UserRecord` the derive calls one trait per field for both, so a field of the wrong
// type is reported once: each `*RecordField` trait reads the field like its read-only
// twin above and also builds it from the stored parts.

/// An `#[auth_user(id)]` field of a type with `UserRecord`: which ids the shipped stores
/// give its users, and the field built from the stored id.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold the ids that the shipped user stores assign",
    label = "the `#[auth_user(id)]` field",
    note = "the shipped stores number users with integers (`i64`, `u32`, …) or give them UUIDs (`uuid::Uuid` with centurion's feature `uuid`, or `String`); for another type, add `#[auth_user(no_user_record)]` to the struct and implement `UserRecord` by hand"
)]
pub trait StoredId: Sized {
    /// Which ids the stores generate for this type.
    const KIND: IdKind;
    /// `None` when the stored id does not fit.
    fn from_stored(id: String) -> Option<Self>;
}

macro_rules! integer_ids {
    ($($int:ty),*) => {$(
        impl StoredId for $int {
            const KIND: IdKind = IdKind::Integer;
            fn from_stored(id: String) -> Option<Self> {
                <$int>::try_from(id.parse::<i64>().ok()?).ok()
            }
        }
    )*};
}

integer_ids!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

impl StoredId for String {
    const KIND: IdKind = IdKind::Uuid;
    fn from_stored(id: String) -> Option<Self> {
        (!id.is_empty()).then_some(id)
    }
}

#[cfg(feature = "uuid")]
impl StoredId for uuid::Uuid {
    const KIND: IdKind = IdKind::Uuid;
    fn from_stored(id: String) -> Option<Self> {
        uuid::Uuid::try_parse(&id).ok()
    }
}

/// An `#[auth_user(username)]` field of a type with `UserRecord`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold the username",
    label = "the `#[auth_user(username)]` field",
    note = "use `String`, or name a method on the struct: `#[auth_user(username = Self::method)]`"
)]
pub trait UsernameRecordField: Sized {
    /// The username.
    fn text(&self) -> &str;
    /// The field from the stored username.
    fn from_stored(value: String) -> Self;
}

impl<T: AsRef<str> + From<String>> UsernameRecordField for T {
    fn text(&self) -> &str {
        self.as_ref()
    }
    fn from_stored(value: String) -> Self {
        T::from(value)
    }
}

/// An `#[auth_user(password)]` field of a type with `UserRecord`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold the password hash",
    label = "the `#[auth_user(password)]` field",
    note = "the hash is a PHC string (`$argon2id$…`): use `String`"
)]
pub trait PasswordRecordField: Sized {
    /// The PHC string.
    fn text(&self) -> &str;
    /// The field from the stored PHC string.
    fn from_stored(value: String) -> Self;
}

impl<T: AsRef<str> + From<String>> PasswordRecordField for T {
    fn text(&self) -> &str {
        self.as_ref()
    }
    fn from_stored(value: String) -> Self {
        T::from(value)
    }
}

/// An `#[auth_user(roles)]` field of a type with `UserRecord` (stored names the element
/// type does not know are dropped).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold the user's roles",
    label = "the `#[auth_user(roles)]` field",
    note = "use `Vec<R>` (or a `HashSet<R>` or `BTreeSet<R>`) where `R` is your `#[derive(Role)]` enum or `String`"
)]
pub trait RolesRecordField: Sized {
    /// The role names.
    fn names(&self) -> Vec<&str>;
    /// The field from the stored names.
    fn from_stored(names: Vec<String>) -> Self;
    /// The element type's role table.
    fn role_table() -> Option<&'static RoleTable>;
}

fn known_roles<R: FromRoleName, C: FromIterator<R>>(names: Vec<String>) -> C {
    names
        .into_iter()
        .filter_map(|name| R::from_role_name(&name))
        .collect()
}

impl<R: RoleElement + FromRoleName> RolesRecordField for Vec<R> {
    fn names(&self) -> Vec<&str> {
        self.iter().map(R::role_name).collect()
    }
    fn from_stored(names: Vec<String>) -> Self {
        known_roles(names)
    }
    fn role_table() -> Option<&'static RoleTable> {
        R::role_table()
    }
}

impl<R: RoleElement + FromRoleName + Eq + std::hash::Hash> RolesRecordField
    for std::collections::HashSet<R>
{
    fn names(&self) -> Vec<&str> {
        self.iter().map(R::role_name).collect()
    }
    fn from_stored(names: Vec<String>) -> Self {
        known_roles(names)
    }
    fn role_table() -> Option<&'static RoleTable> {
        R::role_table()
    }
}

impl<R: RoleElement + FromRoleName + Ord> RolesRecordField for std::collections::BTreeSet<R> {
    fn names(&self) -> Vec<&str> {
        self.iter().map(R::role_name).collect()
    }
    fn from_stored(names: Vec<String>) -> Self {
        known_roles(names)
    }
    fn role_table() -> Option<&'static RoleTable> {
        R::role_table()
    }
}

/// An `#[auth_user(is_valid)]` field of a type with `UserRecord`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the validity flag",
    label = "the `#[auth_user(is_valid)]` field",
    note = "use a `bool` that is `true` for users who may log in, or name a method on the struct: `#[auth_user(is_valid = Self::method)]`"
)]
pub trait IsValidRecordField {
    /// Whether the user may log in.
    fn flag(&self) -> bool;
    /// The field from the stored `active` flag.
    fn from_stored(active: bool) -> Self;
}

impl IsValidRecordField for bool {
    fn flag(&self) -> bool {
        *self
    }
    fn from_stored(active: bool) -> Self {
        active
    }
}

/// An `#[auth_user(email)]` field of a type with `UserRecord`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold the e-mail address",
    label = "the `#[auth_user(email)]` field",
    note = "use `String` or `Option<String>`"
)]
pub trait EmailRecordField {
    /// The address, if any.
    fn address(&self) -> Option<&str>;
    /// The field from the stored address (an empty `String` when there is none).
    fn from_stored(email: Option<String>) -> Self;
}

impl EmailRecordField for String {
    fn address(&self) -> Option<&str> {
        Some(self)
    }
    fn from_stored(email: Option<String>) -> Self {
        email.unwrap_or_default()
    }
}

impl EmailRecordField for Option<String> {
    fn address(&self) -> Option<&str> {
        self.as_deref()
    }
    fn from_stored(email: Option<String>) -> Self {
        email
    }
}

/// A field without `#[auth_user(…)]`, filled with its default.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no default value to build users from stored fields with",
    label = "a field without `#[auth_user(…)]`",
    note = "`#[derive(AuthUser)]` implements `UserRecord` (the shipped user stores build users with it) by filling unmarked fields with `Default::default()`: implement `Default` for `{Self}`, or add `#[auth_user(no_user_record)]` to the struct and implement `UserRecord` by hand"
)]
pub trait DefaultField {
    /// The default.
    fn default_value() -> Self;
}

impl<T: Default> DefaultField for T {
    fn default_value() -> Self {
        T::default()
    }
}
