//! What `#[secured]`, `#[derive(Role)]` and `centurion::roles!` evaluate at compile time,
//! re-exported as `centurion::__private` (hidden, not a public API).
//!
//! Every name check is constant evaluation: a name the role type does not declare makes a
//! constant of the generated code panic with a [`Message`] built here (the declared names
//! listed), and the generated `panic!` carries the span of the user's string literal, so
//! the compiler reports `evaluation panicked: unknown role …` at that literal.
//!
//! Which role type `#[secured]` checks against ([`Lookup`]), in order:
//!
//! 1. `role_type = path` on the handler;
//! 2. the crate root's `__CENTURION_ROLES`, which `centurion::roles!(path)` defines;
//! 3. the crate root's `__CENTURION_ROLE_ENUM_OF_THIS_MODULE`, which `#[derive(Role)]`
//!    defines in the enum's module (so a role enum at the crate root declares itself).
//!
//! The generated code reads the two constants through glob imports in nested blocks
//! (`use crate::*` inside `use self::*` inside `use` [`undeclared`]`::*`): an inner glob
//! shadows an outer one, so the crate root's constants win, then the handler module's
//! `__CENTURION_ROLE_ENUM_OF_THIS_MODULE` (a role enum beside the handler: not a
//! declaration, but named in the error), then the `None`s of [`undeclared`].
//!
//! A role enum in another module, with no `roles!`, cannot be found from the handler (name
//! lookup reaches the crate root and the handler's module only), so the error then says
//! how to declare one instead of naming it.

use super::{Role, RoleTable};

/// Where a role type was declared, for messages.
#[derive(Clone, Copy)]
enum Source {
    /// `roles!(path)` or `role_type = path`: the path as written.
    Written(&'static str),
    /// `#[derive(Role)]`: its module (`module_path!()`, crate name first) and the enum.
    Derived {
        module: &'static str,
        name: &'static str,
    },
}

/// A role type, with what the checks need: its names, its table and where it was
/// declared.
#[derive(Clone, Copy)]
pub struct Declared {
    source: Source,
    roles: &'static [&'static str],
    table: &'static RoleTable,
}

impl Declared {
    /// The role type `R`, named `path` by the application (`roles!`, `role_type`).
    pub const fn of<R: Role>(path: &'static str) -> Self {
        Self {
            source: Source::Written(path),
            roles: R::NAMES,
            table: R::TABLE,
        }
    }

    /// The role type `R` derived as `name` in the module `module` (`module_path!()`).
    pub const fn derived<R: Role>(module: &'static str, name: &'static str) -> Self {
        Self {
            source: Source::Derived { module, name },
            roles: R::NAMES,
            table: R::TABLE,
        }
    }

    /// Whether this declaration serves the whole crate by itself: named by the
    /// application, or derived at the crate root.
    const fn at_root(&self) -> bool {
        match self.source {
            Source::Written(_) => true,
            Source::Derived { module, .. } => at_crate_root(module),
        }
    }

    /// The path to write in `roles!(…)`: as written, or the derive's module without the
    /// crate name, then the enum.
    const fn write_path(&self, message: Message) -> Message {
        match self.source {
            Source::Written(path) => message.push(path),
            Source::Derived { module, name } => {
                let bytes = module.as_bytes();
                let mut i = 0;
                while i + 1 < bytes.len() && !(bytes[i] == b':' && bytes[i + 1] == b':') {
                    i += 1;
                }
                if i + 1 < bytes.len() {
                    let (_, inner) = bytes.split_at(i + 2);
                    message.push_bytes(inner).push("::").push(name)
                } else {
                    message.push(name)
                }
            }
        }
    }
}

/// Whether `module` (a `module_path!()`) is a crate root: one segment, the crate's name.
pub const fn at_crate_root(module: &str) -> bool {
    let bytes = module.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b':' && bytes[i + 1] == b':' {
            return false;
        }
        i += 1;
    }
    true
}

/// The fallbacks of the lookup: no role type declared.
pub mod undeclared {
    use super::Declared;

    /// What `centurion::roles!` defines at the crate root; `None` without it.
    pub const __CENTURION_ROLES: Option<Declared> = None;

    /// What `#[derive(Role)]` defines beside the enum; `None` without one in sight.
    pub const __CENTURION_ROLE_ENUM_OF_THIS_MODULE: Option<Declared> = None;
}

/// The role type one `#[secured]` handler checks its names against, or why there is none.
#[derive(Clone, Copy)]
pub struct Lookup {
    found: Option<Declared>,
    /// A role enum derived elsewhere than the crate root, beside the handler: named in
    /// the error when nothing is declared.
    hint: Option<Declared>,
}

impl Lookup {
    /// From the constants the generated code found (see the [module docs](self)).
    pub const fn new(declared: Option<Declared>, derived: Option<Declared>) -> Self {
        match (declared, derived) {
            (Some(found), _) => Self {
                found: Some(found),
                hint: None,
            },
            (None, Some(derived)) if derived.at_root() => Self {
                found: Some(derived),
                hint: None,
            },
            (None, hint) => Self { found: None, hint },
        }
    }

    /// `role_type = path` on the handler.
    pub const fn role_type(declared: Declared) -> Self {
        Self {
            found: Some(declared),
            hint: None,
        }
    }

    /// The role type's table, if one was found.
    pub const fn table(&self) -> Option<&'static RoleTable> {
        match self.found {
            Some(declared) => Some(declared.table),
            None => None,
        }
    }

    /// The table a request must be resolved with, for the guard: the role type's, when it
    /// has a hierarchy or permissions (a flat one checks the same either way).
    pub const fn required_table(&self) -> Option<&'static RoleTable> {
        match self.found {
            Some(declared) if !declared.table.is_flat() => Some(declared.table),
            _ => None,
        }
    }

    /// Why the handler's names cannot be checked: no role type found.
    pub const fn missing(&self) -> Option<Message> {
        if self.found.is_some() {
            return None;
        }
        Some(match self.hint {
            Some(hint) => {
                let message = Message::new().push("the role enum `");
                let message = hint.write_path(message).push(
                    "` is not declared for `#[secured]`: declare it once at the crate root (main.rs or lib.rs) with `centurion::roles!(",
                );
                hint.write_path(message).push(");`")
            }
            None => Message::new().push(
                "no role enum is declared for `#[secured]`: derive one with `#[derive(centurion::Role)]` and declare it once at the crate root (main.rs or lib.rs) with `centurion::roles!(path::to::RoleEnum);`, or name it on this handler with `role_type = path::to::RoleEnum`",
            ),
        })
    }

    /// The error for `role` when the role type does not declare it (nothing when no role
    /// type was found: [`Lookup::missing`] reports that once).
    pub const fn unknown_role(&self, role: &str) -> Option<Message> {
        let Some(declared) = self.found else {
            return None;
        };
        if contains(declared.roles, role) {
            return None;
        }
        let message = Message::new()
            .push("unknown role `")
            .push(role)
            .push("`: the roles declared by `");
        Some(
            declared
                .write_path(message)
                .push("` are ")
                .push_names(declared.roles),
        )
    }

    /// The error for `permission` when the role type's permission type does not declare
    /// it, or when the role type has no permission type.
    pub const fn unknown_permission(&self, permission: &str) -> Option<Message> {
        let Some(declared) = self.found else {
            return None;
        };
        let (Some(names), Some(type_name)) = (
            declared.table.permission_names(),
            declared.table.permission_type(),
        ) else {
            let message = Message::new().push("`");
            let message = declared
                .write_path(message)
                .push("` has no permissions, so `#[secured]` cannot require `");
            let message = message.push(permission).push(
                "`: declare them with `#[derive(centurion::Permission)]` on an enum and name it on the role enum with `#[role(permissions = ThatEnum)]`",
            );
            return Some(message);
        };
        if contains(names, permission) {
            return None;
        }
        let message = Message::new()
            .push("unknown permission `")
            .push(permission)
            .push("`: the permissions declared by `")
            .push(type_name)
            .push("` (the permission type of `");
        Some(
            declared
                .write_path(message)
                .push("`) are ")
                .push_names(names),
        )
    }
}

/// The error for a `#[role(grants = …)]` name that the permission type `type_name` (with
/// the names `names`) does not declare.
pub const fn unknown_grant(
    names: &[&str],
    type_name: &str,
    permission: &str,
    role: &str,
) -> Option<Message> {
    if contains(names, permission) {
        return None;
    }
    Some(
        Message::new()
            .push("unknown permission `")
            .push(permission)
            .push("` granted to `")
            .push(role)
            .push("`: the permissions declared by `")
            .push(type_name)
            .push("` are ")
            .push_names(names),
    )
}

/// The names of a role or permission enum whose derive failed: every name passes a check
/// against them, so the one error is not followed by one per name. (A comma cannot be in a
/// declared name.)
pub const ERRONEOUS: &[&str] = &[","];

/// Whether `names` holds `name` (byte comparison: `==` on `str` is not `const`), or is
/// [`ERRONEOUS`].
const fn contains(names: &[&str], name: &str) -> bool {
    if names.len() == 1 && names[0].len() == 1 && names[0].as_bytes()[0] == b',' {
        return true;
    }
    let name = name.as_bytes();
    let mut i = 0;
    while i < names.len() {
        let candidate = names[i].as_bytes();
        if candidate.len() == name.len() {
            let mut j = 0;
            while j < name.len() && candidate[j] == name[j] {
                j += 1;
            }
            if j == name.len() {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// Room for one message; a longer one is cut at a character boundary.
const CAPACITY: usize = 2048;

/// An error message built during constant evaluation (no allocation there), for the
/// generated `panic!("{}", message.as_str())`.
pub struct Message {
    bytes: [u8; CAPACITY],
    len: usize,
}

impl Message {
    const fn new() -> Self {
        Self {
            bytes: [0; CAPACITY],
            len: 0,
        }
    }

    const fn push(self, text: &str) -> Self {
        self.push_bytes(text.as_bytes())
    }

    const fn push_bytes(mut self, bytes: &[u8]) -> Self {
        let mut i = 0;
        while i < bytes.len() && self.len < CAPACITY {
            self.bytes[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    /// `` `a`, `b`, `c` `` (or "none").
    const fn push_names(self, names: &[&str]) -> Self {
        if names.is_empty() {
            return self.push("none");
        }
        let mut message = self;
        let mut i = 0;
        while i < names.len() {
            if i > 0 {
                message = message.push(", ");
            }
            message = message.push("`").push(names[i]).push("`");
            i += 1;
        }
        message
    }

    /// The text (up to the last whole character when it was cut).
    pub const fn as_str(&self) -> &str {
        let (text, _) = self.bytes.split_at(self.len);
        match core::str::from_utf8(text) {
            Ok(text) => text,
            Err(error) => {
                let (whole, _) = text.split_at(error.valid_up_to());
                match core::str::from_utf8(whole) {
                    Ok(text) => text,
                    Err(_) => "",
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Declared, Lookup, at_crate_root, unknown_grant};
    use crate::roles::Role;

    #[derive(Clone, Copy)]
    struct Flat;

    impl Role for Flat {
        const NAMES: &'static [&'static str] = &["admin", "editor"];
        fn name(&self) -> &'static str {
            "admin"
        }
        fn from_name(_: &str) -> Option<Self> {
            None
        }
    }

    fn text(message: Option<super::Message>) -> String {
        message.map(|m| m.as_str().to_owned()).unwrap_or_default()
    }

    #[test]
    fn the_crate_root_is_a_single_segment() {
        assert!(at_crate_root("app"));
        assert!(!at_crate_root("app::auth"));
    }

    #[test]
    fn an_unknown_role_lists_the_declared_ones() {
        let lookup = Lookup::role_type(Declared::of::<Flat>("auth::Flat"));
        assert!(lookup.unknown_role("admin").is_none());
        assert_eq!(
            text(lookup.unknown_role("admni")),
            "unknown role `admni`: the roles declared by `auth::Flat` are `admin`, `editor`"
        );
    }

    #[test]
    fn a_derive_at_the_crate_root_declares_itself_and_elsewhere_is_named() {
        let root = Declared::derived::<Flat>("app", "Flat");
        assert!(Lookup::new(None, Some(root)).missing().is_none());
        let nested = Declared::derived::<Flat>("app::auth::inner", "Flat");
        assert_eq!(
            text(Lookup::new(None, Some(nested)).missing()),
            "the role enum `auth::inner::Flat` is not declared for `#[secured]`: declare it once at the crate root (main.rs or lib.rs) with `centurion::roles!(auth::inner::Flat);`"
        );
        // `roles!` wins over a derive, and with none of them the message says what to do.
        let declared = Declared::of::<Flat>("auth::Flat");
        assert!(
            Lookup::new(Some(declared), Some(nested))
                .missing()
                .is_none()
        );
        assert!(text(Lookup::new(None, None).missing()).starts_with("no role enum is declared"));
        assert!(Lookup::new(None, None).unknown_role("x").is_none());
    }

    #[test]
    fn permissions_need_a_permission_type() {
        let lookup = Lookup::role_type(Declared::of::<Flat>("Flat"));
        assert!(text(lookup.unknown_permission("reports:read")).starts_with(
            "`Flat` has no permissions, so `#[secured]` cannot require `reports:read`"
        ));
    }

    #[test]
    fn an_unknown_grant_names_the_role() {
        assert_eq!(
            text(unknown_grant(
                &["reports:read"],
                "Perm",
                "reports:raed",
                "auditor"
            )),
            "unknown permission `reports:raed` granted to `auditor`: the permissions declared by `Perm` are `reports:read`"
        );
    }

    #[test]
    fn a_long_message_is_cut_at_a_character_boundary() {
        let names: Vec<&str> = std::iter::repeat_n("ééééé", 400).collect();
        let message = unknown_grant(&names, "Perm", "x", "y").unwrap();
        assert!(message.as_str().len() <= super::CAPACITY);
        assert!(message.as_str().ends_with('é') || message.as_str().ends_with('`'));
    }
}
