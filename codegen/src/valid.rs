//! Phase 3: checks. Every function here reports all the mistakes it finds at once
//! (combined `syn::Error`s) and returns the checked model `expand.rs` generates from.

use std::collections::BTreeMap;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, Ident, LitStr, Path};

use crate::ast::{Handler, ListedName, NamedEnum, Source, UserStruct};
use crate::attr::{NameKind, NameList, UserKey};
use crate::errors::Errors;

/// The most arguments axum accepts in a handler, the guard included.
const AXUM_MAX_ARGS: usize = 16;

// ---------------------------------------------------------------------------------------
// #[secured]
// ---------------------------------------------------------------------------------------

/// What a checked `#[secured(…)]` requires.
pub(crate) struct Requirement {
    pub(crate) all_of: Vec<ListedName>,
    pub(crate) any_of: Vec<ListedName>,
    pub(crate) all_permissions: Vec<ListedName>,
    pub(crate) any_permission: Vec<ListedName>,
    pub(crate) fresh: bool,
    pub(crate) optional: bool,
    pub(crate) role_type: Option<Path>,
}

impl Requirement {
    /// Every role name, in the order written.
    pub(crate) fn roles(&self) -> impl Iterator<Item = &ListedName> {
        self.all_of.iter().chain(&self.any_of)
    }

    /// Every permission name, in the order written.
    pub(crate) fn permissions(&self) -> impl Iterator<Item = &ListedName> {
        self.all_permissions.iter().chain(&self.any_permission)
    }
}

/// A name in both the all-of and the any-of list of one kind: noise in the any-of list
/// (and it would make that list trivially satisfied).
fn in_both(
    all: &[ListedName],
    any: &mut Vec<ListedName>,
    keys: (&str, &str),
    noun: &str,
    errors: &mut Errors,
) {
    let (all_key, any_key) = keys;
    any.retain(|name| {
        let twice = all.iter().any(|required| required.name == name.name);
        if twice {
            errors.push(syn::Error::new(
                name.lit.span(),
                format!(
                    "{noun} `{}` is in both `{all_key}` and `{any_key}`: `{all_key}` already requires it, so remove it from `{any_key}`",
                    name.name
                ),
            ));
        }
        !twice
    });
}

pub(crate) fn handler(handler: &Handler) -> syn::Result<Requirement> {
    let mut errors = Errors::default();
    signature(handler, &mut errors);

    let args = &handler.args;
    let mut list = |list: &Option<NameList>| {
        list.as_ref()
            .map(|list| name_list(list, &mut errors))
            .unwrap_or_default()
    };
    let all_of = list(&args.roles);
    let mut any_of = list(&args.any_of);
    let all_permissions = list(&args.permissions);
    let mut any_permission = list(&args.any_permission);
    in_both(
        &all_of,
        &mut any_of,
        ("roles", "any_of"),
        "role",
        &mut errors,
    );
    in_both(
        &all_permissions,
        &mut any_permission,
        ("permissions", "any_permission"),
        "permission",
        &mut errors,
    );

    let lists = [
        &args.roles,
        &args.any_of,
        &args.permissions,
        &args.any_permission,
    ];
    if let Some(optional) = &args.optional {
        let mut conflicting: Vec<String> = lists
            .iter()
            .filter_map(|list| list.as_ref().map(|list| list.key.to_string()))
            .collect();
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
        && lists.iter().all(|list| list.is_none())
    {
        errors.push(syn::Error::new(
            key.span,
            "`role_type` checks the names in `roles`, `any_of`, `permissions` and `any_permission`, and this handler lists none: remove `role_type`",
        ));
    }

    errors.finish()?;
    Ok(Requirement {
        all_of,
        any_of,
        all_permissions,
        any_permission,
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

/// How a list key's names are described in messages.
struct ListWords {
    noun: &'static str,
    example: &'static str,
    /// Why the list may be left out, for the "empty list" error.
    without: &'static str,
}

fn list_words(key: &str) -> ListWords {
    let (noun, example, without) = match key {
        "roles" => ("role", "\"admin, editor\"", "to only require a valid token"),
        "any_of" => (
            "role",
            "\"editor, author\"",
            "if any authenticated user may call it",
        ),
        "permissions" => (
            "permission",
            "\"reports:read\"",
            "to only require a valid token",
        ),
        "any_permission" => (
            "permission",
            "\"reports:read, reports:export\"",
            "if any authenticated user may call it",
        ),
        "includes" => ("role", "\"admin, editor\"", "if the role includes no other"),
        _ => (
            "permission",
            "\"reports:read\"",
            "if the role grants nothing",
        ),
    };
    ListWords {
        noun,
        example,
        without,
    }
}

/// Splits `"a, b"` into names, reporting empty lists, empty names, names with whitespace
/// and names listed twice.
pub(crate) fn name_list(list: &NameList, errors: &mut Errors) -> Vec<ListedName> {
    let key = list.key.to_string();
    let ListWords {
        noun,
        example,
        without,
    } = list_words(&key);
    let value = list.lit.value();
    let span = list.lit.span();
    if value.trim().is_empty() {
        errors.push(syn::Error::new(
            span,
            format!(
                "`{key}` is empty: list at least one {noun}, like `{key} = {example}`, or remove `{key}` {without}"
            ),
        ));
        return Vec::new();
    }
    let mut names: Vec<ListedName> = Vec::new();
    let mut reported_empty = false;
    for part in value.split(',') {
        let name = part.trim();
        if name.is_empty() {
            if !reported_empty {
                reported_empty = true;
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "`{key}` has an empty {noun} name: remove the extra comma, like `{key} = {example}`"
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
                    "{noun} name `{name}` contains whitespace: separate {noun}s with commas, like `{key} = \"{suggestion}\"`"
                ),
            ));
            continue;
        }
        if names.iter().any(|seen| seen.name == name) {
            errors.push(syn::Error::new(
                span,
                format!("{noun} `{name}` is listed twice in `{key}`: list each {noun} once"),
            ));
            continue;
        }
        names.push(ListedName {
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

/// A checked role or permission: the variant and its name.
pub(crate) struct CheckedName<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) name: String,
}

/// The checks every role or permission enum passes: not generic, at least one unit
/// variant, names valid and unique.
pub(crate) fn named_enum<'a>(named: &NamedEnum<'a>, errors: &mut Errors) -> Vec<CheckedName<'a>> {
    let input = named.input;
    let noun = named.kind.noun();
    let example = match named.kind {
        NameKind::Role => "Admin, Editor",
        NameKind::Permission => "ReportsRead, ArticlesPublish",
    };
    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &input.generics,
            format!("a {noun} enum cannot be generic: remove the generic parameters"),
        ));
    }
    if named.variants.is_empty() {
        errors.push(syn::Error::new_spanned(
            &input.ident,
            format!(
                "`{}` has no variants, so it declares no {noun}s: add one unit variant per {noun}, like `enum {} {{ {example} }}`",
                input.ident, input.ident
            ),
        ));
    }
    let rule = match &named.attrs.rename_all {
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
    for variant in &named.variants {
        let ident = variant.ident;
        if !matches!(variant.fields, syn::Fields::Unit) {
            errors.push(syn::Error::new_spanned(
                variant.fields,
                format!("{noun} variants cannot hold data: write `{ident}`, a unit variant"),
            ));
        }
        let (name, span) = match &variant.attrs.rename {
            Some(lit) => (lit.value(), lit.span()),
            None => (
                rule.apply(&syn::ext::IdentExt::unraw(ident).to_string()),
                ident.span(),
            ),
        };
        let problem = match named.kind {
            NameKind::Role => role_name_problem(&name),
            NameKind::Permission => permission_name_problem(&name),
        };
        if let Some(problem) = problem {
            errors.push(syn::Error::new(
                span,
                format!("invalid {noun} name {name:?} for `{ident}`: {problem}"),
            ));
            continue;
        }
        if let Some(first) = seen.get(&name) {
            errors.push(syn::Error::new(
                span,
                format!(
                    "{noun} name `{name}` of `{ident}` is already the name of `{first}`: give one of them another name with `#[{noun}(rename = \"…\")]`"
                ),
            ));
            continue;
        }
        seen.insert(name.clone(), ident);
        checked.push(CheckedName { ident, name });
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

/// Why a permission name is refused: permission names are OAuth scope tokens (RFC 6749
/// §3.3, printable ASCII but space, `"` and `\`), so a provider's scope can name one, and
/// carry no comma, which separates names in `#[secured(permissions = "…")]`.
fn permission_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("permission names cannot be empty")
    } else if name.contains(',') {
        Some(
            "permission names cannot contain commas, which separate permissions in `#[secured(permissions = \"…\")]`",
        )
    } else if !name
        .bytes()
        .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
    {
        Some(
            "permission names are OAuth scope tokens (RFC 6749 §3.3), so that a provider's scope can name one: printable ASCII without spaces, `\"` or `\\`, like `reports:read`",
        )
    } else {
        None
    }
}

/// A role enum's hierarchy and grants, checked and closed.
pub(crate) struct Hierarchy {
    /// Per role (in the order of [`named_enum`]'s result): every role it satisfies,
    /// itself first, then what it includes, depth first in the order written.
    pub(crate) satisfies: Vec<Vec<String>>,
    /// Per role: every permission it holds (its own grants, then those of the roles it
    /// satisfies), closed.
    pub(crate) grants: Vec<Vec<String>>,
    /// Every `grants` name as written, with the role granting it: the derive checks each
    /// against the permission type at compile time, pointing at the literal.
    pub(crate) written_grants: Vec<(ListedName, String)>,
}

/// Checks `includes` (known names, no role including itself, no cycle) and `grants`
/// (only with a permission type, each once), and closes both.
pub(crate) fn hierarchy(
    named: &NamedEnum<'_>,
    roles: &[CheckedName<'_>],
    errors: &mut Errors,
) -> Hierarchy {
    let enum_name = &named.input.ident;
    let index_of = |name: &str| roles.iter().position(|role| role.name == name);
    let declared = || {
        roles
            .iter()
            .map(|role| format!("`{}`", role.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // The variants whose names passed: `roles[i]` is the variant `variant_of[i]`.
    let variants: Vec<_> = roles
        .iter()
        .map(|role| {
            named
                .variants
                .iter()
                .find(|variant| variant.ident == role.ident)
                .expect("a checked role comes from a variant")
        })
        .collect();

    // Direct includes, by index, with the literal they were written in.
    let mut includes: Vec<Vec<(usize, Span)>> = vec![Vec::new(); roles.len()];
    for (i, variant) in variants.iter().enumerate() {
        let Some(list) = &variant.attrs.includes else {
            continue;
        };
        for included in name_list(list, errors) {
            let span = included.lit.span();
            match index_of(&included.name) {
                Some(j) if j == i => errors.push(syn::Error::new(
                    span,
                    format!(
                        "`{}` cannot include itself: `includes` lists the other roles it satisfies",
                        roles[i].name
                    ),
                )),
                Some(j) => includes[i].push((j, span)),
                None => errors.push(syn::Error::new(
                    span,
                    format!(
                        "unknown role `{}` in `includes` of `{}`: the roles declared by `{enum_name}` are {}",
                        included.name,
                        roles[i].name,
                        declared()
                    ),
                )),
            }
        }
    }
    report_cycles(roles, &includes, errors);

    // Grants, as written.
    let mut own_grants: Vec<Vec<String>> = vec![Vec::new(); roles.len()];
    let mut written_grants = Vec::new();
    for (i, variant) in variants.iter().enumerate() {
        let Some(list) = &variant.attrs.grants else {
            continue;
        };
        if named.attrs.permissions.is_none() {
            errors.push(syn::Error::new(
                list.lit.span(),
                format!(
                    "`{}` grants permissions, but `{enum_name}` has no permission type: declare the permissions with `#[derive(centurion::Permission)]` on an enum and name it on `{enum_name}` with `#[role(permissions = ThatEnum)]`",
                    roles[i].name
                ),
            ));
            continue;
        }
        for granted in name_list(list, errors) {
            own_grants[i].push(granted.name.clone());
            written_grants.push((granted, roles[i].name.clone()));
        }
    }

    // Closures: depth first from each role, each role once (so a cycle, reported above,
    // cannot loop).
    let mut satisfies = Vec::with_capacity(roles.len());
    let mut grants = Vec::with_capacity(roles.len());
    for start in 0..roles.len() {
        let mut order = Vec::new();
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            if order.contains(&i) {
                continue;
            }
            order.push(i);
            for &(j, _) in includes[i].iter().rev() {
                stack.push(j);
            }
        }
        let mut held: Vec<String> = Vec::new();
        for &i in &order {
            for permission in &own_grants[i] {
                if !held.contains(permission) {
                    held.push(permission.clone());
                }
            }
        }
        satisfies.push(order.iter().map(|&i| roles[i].name.clone()).collect());
        grants.push(held);
    }
    Hierarchy {
        satisfies,
        grants,
        written_grants,
    }
}

/// Reports every cycle of `includes` once, at the include that closes it.
fn report_cycles(roles: &[CheckedName<'_>], includes: &[Vec<(usize, Span)>], errors: &mut Errors) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    fn visit(
        i: usize,
        roles: &[CheckedName<'_>],
        includes: &[Vec<(usize, Span)>],
        marks: &mut [Mark],
        path: &mut Vec<usize>,
        errors: &mut Errors,
    ) {
        marks[i] = Mark::OnPath;
        path.push(i);
        for &(j, span) in &includes[i] {
            match marks[j] {
                Mark::New => visit(j, roles, includes, marks, path, errors),
                Mark::OnPath => {
                    let from = path.iter().position(|&k| k == j).unwrap_or(0);
                    let circle = path[from..]
                        .iter()
                        .chain(std::iter::once(&j))
                        .map(|&k| format!("`{}`", roles[k].name))
                        .collect::<Vec<_>>()
                        .join(" → ");
                    errors.push(syn::Error::new(
                        span,
                        format!(
                            "`{}` includes `{}`, which already includes `{}`: roles cannot include each other in a cycle ({circle}); remove one of these includes",
                            roles[i].name, roles[j].name, roles[i].name
                        ),
                    ));
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks[i] = Mark::Done;
    }
    let mut marks = vec![Mark::New; roles.len()];
    for start in 0..roles.len() {
        if marks[start] == Mark::New {
            visit(start, roles, includes, &mut marks, &mut Vec::new(), errors);
        }
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
