//! Phase 3: checks. Every function here reports all the mistakes it finds at once
//! (combined `syn::Error`s) and returns the checked model `expand.rs` generates from.

use std::collections::BTreeMap;

use syn::spanned::Spanned;
use syn::{FnArg, Ident, LitStr, Path};

use crate::ast::{Handler, RoleEnum, RoleName, Source, UserStruct};
use crate::attr::{RoleList, UserKey};
use crate::errors::Errors;

/// The most arguments axum accepts in a handler, the guard included.
const AXUM_MAX_ARGS: usize = 16;

// ---------------------------------------------------------------------------------------
// #[secured]
// ---------------------------------------------------------------------------------------

/// What a checked `#[secured(…)]` requires.
pub(crate) struct Requirement {
    pub(crate) all_of: Vec<RoleName>,
    pub(crate) any_of: Vec<RoleName>,
    pub(crate) fresh: bool,
    pub(crate) optional: bool,
    pub(crate) role_type: Option<Path>,
}

pub(crate) fn handler(handler: &Handler) -> syn::Result<Requirement> {
    let mut errors = Errors::default();
    signature(handler, &mut errors);

    let args = &handler.args;
    let all_of = args
        .roles
        .as_ref()
        .map(|list| role_list(list, &mut errors))
        .unwrap_or_default();
    let mut any_of = args
        .any_of
        .as_ref()
        .map(|list| role_list(list, &mut errors))
        .unwrap_or_default();

    // A role in both lists: `roles` already requires it, so it is noise in `any_of` (and
    // would make `any_of` trivially satisfied).
    any_of.retain(|role| {
        let twice = all_of.iter().any(|required| required.name == role.name);
        if twice {
            errors.push(syn::Error::new(
                role.lit.span(),
                format!(
                    "role `{}` is in both `roles` and `any_of`: `roles` already requires it, so remove it from `any_of`",
                    role.name
                ),
            ));
        }
        !twice
    });

    if let Some(optional) = &args.optional {
        let mut conflicting = Vec::new();
        if let Some(list) = &args.roles {
            conflicting.push(list.key.to_string());
        }
        if let Some(list) = &args.any_of {
            conflicting.push(list.key.to_string());
        }
        if args.fresh.is_some() {
            conflicting.push("fresh".to_owned());
        }
        if !conflicting.is_empty() {
            let listed = conflicting
                .iter()
                .map(|key| format!("`{key}`"))
                .collect::<Vec<_>>()
                .join(" and ");
            errors.push(syn::Error::new(
                optional.span,
                format!(
                    "`optional` lets requests without a token through, so it cannot be combined with {listed}: remove `optional` to require them, or remove {listed} to accept anonymous requests"
                ),
            ));
        }
    }

    if let Some((key, _)) = &args.role_type
        && args.roles.is_none()
        && args.any_of.is_none()
    {
        errors.push(syn::Error::new(
            key.span,
            "`role_type` checks the role names in `roles` and `any_of`, and this handler lists none: remove `role_type`",
        ));
    }

    errors.finish()?;
    Ok(Requirement {
        all_of,
        any_of,
        fresh: args.fresh.is_some(),
        optional: args.optional.is_some(),
        role_type: args.role_type.as_ref().map(|(_, path)| path.clone()),
    })
}

/// The handler must be a free `async fn` axum can call.
fn signature(handler: &Handler, errors: &mut Errors) {
    let sig = &handler.item.sig;
    let name = &sig.ident;
    if let Some(receiver) = sig.receiver() {
        errors.push(syn::Error::new_spanned(
            receiver,
            format!(
                "`#[secured]` cannot guard a method: axum handlers are free functions, so move `{name}` out of the `impl` block and take what it needs from `self` through an extractor such as `State`"
            ),
        ));
    }
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            format!("`#[secured]` handlers must be async: write `async fn {name}(…)`"),
        ));
    }
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new_spanned(
            constness,
            "`#[secured]` handlers cannot be `const`: remove `const`",
        ));
    }
    if let syn::Safety::Unsafe(unsafety) = &sig.safety {
        errors.push(syn::Error::new_spanned(
            unsafety,
            "axum handlers cannot be `unsafe fn`: remove `unsafe` and put an `unsafe { … }` block inside the body",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            "`#[secured]` handlers use the Rust ABI: remove the `extern` qualifier",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            "`#[secured]` handlers cannot be variadic",
        ));
    }
    let typed: Vec<&FnArg> = sig
        .inputs
        .iter()
        .filter(|arg| matches!(arg, FnArg::Typed(_)))
        .collect();
    if typed.len() >= AXUM_MAX_ARGS {
        let first_extra = typed[AXUM_MAX_ARGS - 1];
        errors.push(syn::Error::new_spanned(
            first_extra,
            format!(
                "too many extractors: `#[secured]` adds its guard as the first of axum's {AXUM_MAX_ARGS} handler arguments, so `{name}` can take at most {} (it takes {}); group some of them in a struct that implements `FromRequestParts`",
                AXUM_MAX_ARGS - 1,
                typed.len()
            ),
        ));
    }
}

/// Splits `"a, b"` into role names, reporting empty lists, empty names, names with
/// whitespace and names listed twice.
fn role_list(list: &RoleList, errors: &mut Errors) -> Vec<RoleName> {
    let key = list.key.to_string();
    let example = if key == "roles" {
        "\"admin, editor\""
    } else {
        "\"editor, author\""
    };
    let value = list.lit.value();
    let span = list.lit.span();
    if value.trim().is_empty() {
        let what = if key == "roles" {
            "to only require a valid token"
        } else {
            "if any authenticated user may call it"
        };
        errors.push(syn::Error::new(
            span,
            format!(
                "`{key}` is empty: list at least one role, like `{key} = {example}`, or remove `{key}` {what}"
            ),
        ));
        return Vec::new();
    }
    let mut names: Vec<RoleName> = Vec::new();
    let mut reported_empty = false;
    for part in value.split(',') {
        let name = part.trim();
        if name.is_empty() {
            if !reported_empty {
                reported_empty = true;
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "`{key}` has an empty role name: remove the extra comma, like `{key} = {example}`"
                    ),
                ));
            }
            continue;
        }
        if name.contains(char::is_whitespace) {
            let suggestion = name.split_whitespace().collect::<Vec<_>>().join(", ");
            errors.push(syn::Error::new(
                span,
                format!(
                    "role name `{name}` contains whitespace: separate roles with commas, like `{key} = \"{suggestion}\"`"
                ),
            ));
            continue;
        }
        if names.iter().any(|seen| seen.name == name) {
            errors.push(syn::Error::new(
                span,
                format!("role `{name}` is listed twice in `{key}`: list each role once"),
            ));
            continue;
        }
        names.push(RoleName {
            name: name.to_owned(),
            lit: LitStr::new(name, span),
        });
    }
    names
}

// ---------------------------------------------------------------------------------------
// #[derive(Role)]
// ---------------------------------------------------------------------------------------

/// How `rename_all` turns a variant name into a role name.
#[derive(Clone, Copy)]
pub(crate) enum RenameRule {
    Snake,
    Kebab,
    Lower,
    Upper,
    ScreamingSnake,
    Camel,
    Pascal,
}

impl RenameRule {
    const CHOICES: &'static str = "`snake_case` (the default), `kebab-case`, `lowercase`, `UPPERCASE`, `SCREAMING_SNAKE_CASE`, `camelCase` or `PascalCase`";

    fn from_str(rule: &str) -> Option<RenameRule> {
        Some(match rule {
            "snake_case" => RenameRule::Snake,
            "kebab-case" => RenameRule::Kebab,
            "lowercase" => RenameRule::Lower,
            "UPPERCASE" => RenameRule::Upper,
            "SCREAMING_SNAKE_CASE" => RenameRule::ScreamingSnake,
            "camelCase" => RenameRule::Camel,
            "PascalCase" => RenameRule::Pascal,
            _ => return None,
        })
    }

    /// Applies the rule to a variant name written in `PascalCase`.
    pub(crate) fn apply(self, variant: &str) -> String {
        let words = words(variant);
        let lower = || words.iter().map(|w| w.to_lowercase());
        let capitalized = || {
            words.iter().map(|w| {
                let mut chars = w.chars();
                match chars.next() {
                    Some(first) => first
                        .to_uppercase()
                        .chain(chars.flat_map(char::to_lowercase))
                        .collect(),
                    None => String::new(),
                }
            })
        };
        match self {
            RenameRule::Snake => lower().collect::<Vec<_>>().join("_"),
            RenameRule::Kebab => lower().collect::<Vec<_>>().join("-"),
            RenameRule::Lower => variant.to_lowercase(),
            RenameRule::Upper => variant.to_uppercase(),
            RenameRule::ScreamingSnake => words
                .iter()
                .map(|w| w.to_uppercase())
                .collect::<Vec<_>>()
                .join("_"),
            RenameRule::Camel => {
                let mut out = String::new();
                for (index, word) in capitalized().enumerate() {
                    if index == 0 {
                        out.push_str(&word.to_lowercase());
                    } else {
                        out.push_str(&word);
                    }
                }
                out
            }
            RenameRule::Pascal => capitalized().collect(),
        }
    }
}

/// Splits `SuperAdmin`, `HTTPAdmin`, `Level2Admin` or `super_admin` into words.
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == '-' {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if c.is_uppercase() && !current.is_empty() {
            let prev = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_is_lower) {
                words.push(std::mem::take(&mut current));
            }
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// A checked role: the variant and its name.
pub(crate) struct CheckedRole<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) name: String,
}

pub(crate) fn role_enum<'a>(role: &RoleEnum<'a>, errors: &mut Errors) -> Vec<CheckedRole<'a>> {
    let input = role.input;
    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &input.generics,
            "a role enum cannot be generic: remove the generic parameters",
        ));
    }
    if role.variants.is_empty() {
        errors.push(syn::Error::new_spanned(
            &input.ident,
            format!(
                "`{}` has no variants, so it declares no roles: add one unit variant per role, like `enum {} {{ Admin, Editor }}`",
                input.ident, input.ident
            ),
        ));
    }
    let rule = match &role.attrs.rename_all {
        Some(lit) => match RenameRule::from_str(&lit.value()) {
            Some(rule) => rule,
            None => {
                errors.push(syn::Error::new_spanned(
                    lit,
                    format!(
                        "unknown `rename_all` rule {:?}: expected {}",
                        lit.value(),
                        RenameRule::CHOICES
                    ),
                ));
                RenameRule::Snake
            }
        },
        None => RenameRule::Snake,
    };

    let mut seen: BTreeMap<String, &Ident> = BTreeMap::new();
    let mut checked = Vec::new();
    for variant in &role.variants {
        let ident = variant.ident;
        if !matches!(variant.fields, syn::Fields::Unit) {
            errors.push(syn::Error::new_spanned(
                variant.fields,
                format!("role variants cannot hold data: write `{ident}`, a unit variant"),
            ));
        }
        let (name, span) = match &variant.attrs.rename {
            Some(lit) => (lit.value(), lit.span()),
            None => (
                rule.apply(&syn::ext::IdentExt::unraw(ident).to_string()),
                ident.span(),
            ),
        };
        if let Some(problem) = role_name_problem(&name) {
            errors.push(syn::Error::new(
                span,
                format!("invalid role name {name:?} for `{ident}`: {problem}"),
            ));
            continue;
        }
        if let Some(first) = seen.get(&name) {
            errors.push(syn::Error::new(
                span,
                format!(
                    "role name `{name}` of `{ident}` is already the name of `{first}`: give one of them another name with `#[role(rename = \"…\")]`"
                ),
            ));
            continue;
        }
        seen.insert(name.clone(), ident);
        checked.push(CheckedRole { ident, name });
    }
    checked
}

/// Why a role name could never be written in `#[secured(roles = "…")]`, if it couldn't.
fn role_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("role names cannot be empty")
    } else if name.contains(',') {
        Some(
            "role names cannot contain commas, which separate roles in `#[secured(roles = \"…\")]`",
        )
    } else if name.contains(char::is_whitespace) {
        Some("role names cannot contain whitespace; use `-` or `_` instead")
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------
// #[derive(AuthUser)]
// ---------------------------------------------------------------------------------------

/// The checked sources of a user's pieces, indexed by `UserKey::index`.
pub(crate) struct CheckedUser<'a> {
    pub(crate) sources: [Option<Source<'a>>; 6],
    pub(crate) debug: bool,
    pub(crate) user_record: bool,
}

impl<'a> CheckedUser<'a> {
    pub(crate) fn get(&self, key: UserKey) -> Option<&Source<'a>> {
        self.sources[key.index()].as_ref()
    }
}

pub(crate) fn user_struct<'a>(user: &UserStruct<'a>, errors: &mut Errors) -> CheckedUser<'a> {
    let ident = &user.input.ident;
    let mut sources: [Option<Source<'a>>; 6] = Default::default();
    for key in UserKey::ALL {
        let given = &user.sources[key.index()];
        let name = key.name();
        let mut iter = given.iter();
        let Some(first) = iter.next() else { continue };
        for second in iter {
            let already = match first {
                Source::Field { member, .. } => match member {
                    syn::Member::Named(field) => format!("field `{field}`"),
                    syn::Member::Unnamed(index) => format!("field `{}`", index.index),
                },
                Source::Method { path, .. } => {
                    format!(
                        "method `{}`",
                        quote::ToTokens::to_token_stream(path)
                            .to_string()
                            .replace(' ', "")
                    )
                }
            };
            errors.duplicate(
                second.span(),
                &format!("`{name}`"),
                &format!(
                    "`{name}` already comes from {already}; mark exactly one field (or method) as `{name}`"
                ),
            );
        }
        sources[key.index()] = Some(first.clone());
    }

    // One field may be both `username` and `email` (users who log in with their address);
    // any other pair is a mistake.
    for field in &user.fields {
        if let Some(((first, _), rest)) = field.keys.split_first() {
            for (key, span) in rest {
                let pair = [*first, *key];
                let allowed = pair.contains(&UserKey::Username) && pair.contains(&UserKey::Email);
                if !allowed && first != key {
                    errors.push(syn::Error::new(
                        *span,
                        format!(
                            "one field cannot be both `{}` and `{}`: only `username` and `email` may share a field",
                            first.name(),
                            key.name()
                        ),
                    ));
                }
            }
        }
    }

    let missing: Vec<&str> = [UserKey::Id, UserKey::Username, UserKey::Password]
        .into_iter()
        .filter(|key| sources[key.index()].is_none())
        .map(UserKey::name)
        .collect();
    if !missing.is_empty() && !user.attr_errors {
        let attrs = missing
            .iter()
            .map(|key| format!("`#[auth_user({key})]`"))
            .collect::<Vec<_>>()
            .join(", ");
        let example = match missing[0] {
            "id" => "#[auth_user(id)] id: i64",
            "username" => "#[auth_user(username)] email: String",
            _ => "#[auth_user(password)] password_hash: String",
        };
        errors.push(syn::Error::new_spanned(
            ident,
            format!(
                "`{ident}` is missing {attrs}: mark the field that holds it, like `{example}` (or name a method on the struct: `#[auth_user({} = Self::method)]`)",
                missing[0]
            ),
        ));
    }

    for extra in user.debug.iter().skip(1) {
        errors.duplicate(extra.span, "`debug`", "write it once");
    }
    for extra in user.no_user_record.iter().skip(1) {
        errors.duplicate(extra.span, "`no_user_record`", "write it once");
    }

    let user_record = user.no_user_record.is_empty();
    if user_record {
        let from_method = UserKey::ALL
            .into_iter()
            .find_map(|key| match &sources[key.index()] {
                Some(Source::Method { path, .. }) => Some((key, path)),
                _ => None,
            });
        if let Some((key, path)) = from_method {
            let key = key.name();
            errors.push(syn::Error::new(
                path.span(),
                format!(
                    "`{key}` comes from a method, so `#[derive(AuthUser)]` cannot build a `{ident}` from stored fields (`UserRecord`, used by the shipped user stores): add `#[auth_user(no_user_record)]` to the struct and implement `UserRecord` by hand if you need it, or mark a field as `{key}`"
                ),
            ));
        }
    }

    CheckedUser {
        sources,
        debug: !user.debug.is_empty(),
        user_record,
    }
}

#[cfg(test)]
mod tests {
    use super::RenameRule;

    #[test]
    fn rename_rules_split_words_at_case_changes_acronyms_and_digits() {
        let cases = [
            ("Admin", "admin", "admin", "ADMIN", "admin", "Admin"),
            (
                "SuperAdmin",
                "super_admin",
                "super-admin",
                "SUPER_ADMIN",
                "superAdmin",
                "SuperAdmin",
            ),
            (
                "HTTPAuditor",
                "http_auditor",
                "http-auditor",
                "HTTP_AUDITOR",
                "httpAuditor",
                "HttpAuditor",
            ),
            (
                "Level2Support",
                "level2_support",
                "level2-support",
                "LEVEL2_SUPPORT",
                "level2Support",
                "Level2Support",
            ),
        ];
        for (variant, snake, kebab, screaming, camel, pascal) in cases {
            assert_eq!(RenameRule::Snake.apply(variant), snake);
            assert_eq!(RenameRule::Kebab.apply(variant), kebab);
            assert_eq!(RenameRule::ScreamingSnake.apply(variant), screaming);
            assert_eq!(RenameRule::Camel.apply(variant), camel);
            assert_eq!(RenameRule::Pascal.apply(variant), pascal);
            assert_eq!(RenameRule::Lower.apply(variant), variant.to_lowercase());
            assert_eq!(RenameRule::Upper.apply(variant), variant.to_uppercase());
        }
    }
}
