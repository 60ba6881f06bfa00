//! Phase 1: parsing the arguments of `#[secured(…)]`, `#[role(…)]`, `#[permission(…)]`,
//! `#[auth_user(…)]` and `roles!(…)`.
//!
//! Parsing only checks the shape of the arguments (which keys, which kind of value) and
//! keeps every syntax node for spans; what the arguments mean is checked in `valid.rs`.

use proc_macro2::Span;
use quote::ToTokens;
use syn::parse::{Lookahead1, Parse, ParseStream};
use syn::{Attribute, Ident, LitStr, Path, Token};

use crate::errors::Errors;

/// The keywords of every attribute this crate parses.
pub(crate) mod kw {
    syn::custom_keyword!(roles);
    syn::custom_keyword!(any_of);
    syn::custom_keyword!(permissions);
    syn::custom_keyword!(any_permission);
    syn::custom_keyword!(fresh);
    syn::custom_keyword!(optional);
    syn::custom_keyword!(role_type);

    syn::custom_keyword!(rename);
    syn::custom_keyword!(rename_all);
    syn::custom_keyword!(includes);
    syn::custom_keyword!(grants);

    syn::custom_keyword!(id);
    syn::custom_keyword!(username);
    syn::custom_keyword!(password);
    syn::custom_keyword!(is_valid);
    syn::custom_keyword!(email);
    syn::custom_keyword!(debug);
    syn::custom_keyword!(no_user_record);
}

/// The duplicate-key check of every attribute argument: keeps the first value and reports
/// the second occurrence, at the second occurrence ([`Errors::duplicate`]).
pub(crate) fn set_once<T>(
    slot: &mut Option<T>,
    value: T,
    second: impl ToTokens,
    what: &str,
    hint: &str,
    errors: &mut Errors,
) {
    if slot.is_some() {
        errors.duplicate(&second, what, hint);
    } else {
        *slot = Some(value);
    }
}

/// Parses `= "…"` after a key whose value must be a string literal.
fn string_value(input: ParseStream<'_>, key: &str, example: &str) -> syn::Result<LitStr> {
    if !input.peek(Token![=]) {
        return Err(input.error(format!("`{key}` needs a value: write `{key} = {example}`")));
    }
    input.parse::<Token![=]>()?;
    if input.peek(LitStr) {
        return input.parse();
    }
    Err(value_error(
        input,
        format!("`{key}` takes a string literal: write `{key} = {example}`"),
    ))
}

/// Parses `= path` after a key whose value must be a path.
fn path_value(input: ParseStream<'_>, key: &str, example: &str) -> syn::Result<Path> {
    if !input.peek(Token![=]) {
        return Err(input.error(format!("`{key}` needs a value: write `{key} = {example}`")));
    }
    input.parse::<Token![=]>()?;
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        return Err(syn::Error::new_spanned(
            &lit,
            format!(
                "`{key}` takes a path, not a string: write `{key} = {}`",
                lit.value()
            ),
        ));
    }
    input.parse().map_err(|_| {
        value_error(
            input,
            format!("`{key}` takes a path: write `{key} = {example}`"),
        )
    })
}

/// An error spanning the whole (unexpected) value up to the next comma.
fn value_error(input: ParseStream<'_>, message: String) -> syn::Error {
    let begin = input.cursor();
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if let proc_macro2::TokenTree::Punct(p) = &tt
                && p.as_char() == ','
            {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    });
    let end = input.cursor();
    if begin == end {
        syn::Error::new(begin.span(), message)
    } else {
        syn::Error::new_range(begin..end, message)
    }
}

/// Rejects `key = …` on a key that is a bare flag.
fn no_value(input: ParseStream<'_>, key: &str) -> syn::Result<()> {
    if input.peek(Token![=]) {
        return Err(value_error(
            input,
            format!("`{key}` takes no value: write just `{key}`"),
        ));
    }
    if input.peek(syn::token::Paren) {
        return Err(value_error(
            input,
            format!("`{key}` takes no value: write just `{key}`"),
        ));
    }
    Ok(())
}

/// Parses the comma between two arguments (or the end).
fn separator(input: ParseStream<'_>) -> syn::Result<()> {
    if !input.is_empty() {
        input
            .parse::<Token![,]>()
            .map_err(|_| input.error("expected `,` between arguments"))?;
    }
    Ok(())
}

/// Builds the error for an unexpected key: names the key, lists the expected ones and,
/// for spellings borrowed from other libraries, suggests the right one.
fn unknown_key(
    input: ParseStream<'_>,
    lookahead: Lookahead1<'_>,
    expected: &str,
    example_key: &str,
    suggest: fn(&str) -> Option<&'static str>,
) -> syn::Error {
    if let Ok(lit) = input.fork().parse::<LitStr>() {
        return syn::Error::new_spanned(
            &lit,
            format!(
                "expected {expected}, found a string literal: name the argument, like `{example_key} = {}`",
                lit.to_token_stream()
            ),
        );
    }
    match input.fork().call(<Ident as syn::ext::IdentExt>::parse_any) {
        Ok(ident) => {
            let name = ident.to_string();
            let mut message = format!("unknown argument `{name}`: expected {expected}");
            if let Some(better) = suggest(&name)
                && expected != format!("`{better}`")
            {
                message.push_str(&format!("; did you mean `{better}`?"));
            }
            syn::Error::new(ident.span(), message)
        }
        Err(_) => lookahead.error(),
    }
}

// ---------------------------------------------------------------------------------------
// #[secured(…)]
// ---------------------------------------------------------------------------------------

/// A list of names: `roles = "a, b"`, `any_of = "c, d"`, `permissions = "…"`,
/// `any_permission = "…"`, or, on a role variant, `includes = "…"` and `grants = "…"`.
pub(crate) struct NameList {
    /// The key, for errors about the whole argument.
    pub(crate) key: Ident,
    /// The string literal, for errors about the names in it.
    pub(crate) lit: LitStr,
}

/// The parsed arguments of `#[secured(…)]`.
///
/// A duplicated key does not stop parsing: the first value is kept and the duplicate is
/// reported in `errors`, beside whatever `valid.rs` finds.
#[derive(Default)]
pub(crate) struct SecuredArgs {
    pub(crate) errors: Errors,
    pub(crate) roles: Option<NameList>,
    pub(crate) any_of: Option<NameList>,
    pub(crate) permissions: Option<NameList>,
    pub(crate) any_permission: Option<NameList>,
    pub(crate) fresh: Option<kw::fresh>,
    pub(crate) optional: Option<kw::optional>,
    pub(crate) role_type: Option<(kw::role_type, Path)>,
}

const SECURED_KEYS: &str =
    "`roles`, `any_of`, `permissions`, `any_permission`, `fresh`, `optional` or `role_type`";

fn suggest_secured(name: &str) -> Option<&'static str> {
    Some(match name {
        "role" | "roles_required" | "all_of" | "required" | "require" | "requires" | "all" => {
            "roles"
        }
        "roles_accepted" | "any" | "anyof" | "any_roles" | "one_of" | "accepted" => "any_of",
        "permission"
        | "perms"
        | "perm"
        | "all_permissions"
        | "permissions_required"
        | "scopes"
        | "scope" => "permissions",
        "any_permissions" | "any_permission_of" | "permissions_any" | "any_scope"
        | "any_scopes" => "any_permission",
        "auth_accepted" | "optional_auth" | "anonymous" | "allow_anonymous" | "maybe" => "optional",
        "fresh_required" | "fresh_only" | "require_fresh" => "fresh",
        "role_enum" | "roles_type" | "role_ty" => "role_type",
        _ => return None,
    })
}

impl Parse for SecuredArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = SecuredArgs::default();
        let mut errors = Errors::default();
        let errors = &mut errors;
        let parsed = (|| -> syn::Result<()> {
            while !input.is_empty() {
                let lookahead = input.lookahead1();
                if lookahead.peek(kw::roles) {
                    let key: kw::roles = input.parse()?;
                    list_value(
                        input,
                        &mut args.roles,
                        Ident::new("roles", key.span),
                        "\"admin, editor\"",
                        "write every required role in one list, like `roles = \"admin, editor\"`",
                        errors,
                    )?;
                } else if lookahead.peek(kw::any_of) {
                    let key: kw::any_of = input.parse()?;
                    list_value(
                        input,
                        &mut args.any_of,
                        Ident::new("any_of", key.span),
                        "\"editor, author\"",
                        "write the accepted roles in one list, like `any_of = \"editor, author\"`",
                        errors,
                    )?;
                } else if lookahead.peek(kw::permissions) {
                    let key: kw::permissions = input.parse()?;
                    list_value(
                        input,
                        &mut args.permissions,
                        Ident::new("permissions", key.span),
                        "\"reports:read\"",
                        "write every required permission in one list, like `permissions = \"reports:read, reports:export\"`",
                        errors,
                    )?;
                } else if lookahead.peek(kw::any_permission) {
                    let key: kw::any_permission = input.parse()?;
                    list_value(
                        input,
                        &mut args.any_permission,
                        Ident::new("any_permission", key.span),
                        "\"reports:read, reports:export\"",
                        "write the accepted permissions in one list, like `any_permission = \"reports:read, reports:export\"`",
                        errors,
                    )?;
                } else if lookahead.peek(kw::fresh) {
                    let key: kw::fresh = input.parse()?;
                    no_value(input, "fresh")?;
                    set_once(
                        &mut args.fresh,
                        key,
                        key,
                        "`fresh` argument",
                        "write it once",
                        errors,
                    );
                } else if lookahead.peek(kw::optional) {
                    let key: kw::optional = input.parse()?;
                    no_value(input, "optional")?;
                    set_once(
                        &mut args.optional,
                        key,
                        key,
                        "`optional` argument",
                        "write it once",
                        errors,
                    );
                } else if lookahead.peek(kw::role_type) {
                    let key: kw::role_type = input.parse()?;
                    let path = path_value(input, "role_type", "crate::AppRole")?;
                    set_once(
                        &mut args.role_type,
                        (key, path),
                        key,
                        "`role_type` argument",
                        "name the role type once",
                        errors,
                    );
                } else {
                    return Err(unknown_key(
                        input,
                        lookahead,
                        SECURED_KEYS,
                        "roles",
                        suggest_secured,
                    ));
                }
                separator(input)?;
            }
            Ok(())
        })();
        // A malformed argument stops parsing: report it with the duplicates seen so far.
        if let Err(error) = parsed {
            errors.push(error);
            return Err(std::mem::take(errors).finish().unwrap_err());
        }
        args.errors = std::mem::take(errors);
        Ok(args)
    }
}

/// Parses `= "a, b"` after the list key `key` into `slot`, reporting a second one.
fn list_value(
    input: ParseStream<'_>,
    slot: &mut Option<NameList>,
    key: Ident,
    example: &str,
    hint: &str,
    errors: &mut Errors,
) -> syn::Result<()> {
    let name = key.to_string();
    let lit = string_value(input, &name, example)?;
    set_once(
        slot,
        NameList {
            key: key.clone(),
            lit,
        },
        &key,
        &format!("`{name}` argument"),
        hint,
        errors,
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// #[role(…)] and #[permission(…)] on a #[derive(Role)] or #[derive(Permission)] enum
// ---------------------------------------------------------------------------------------

/// Which derive an enum's attributes belong to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameKind {
    /// `#[derive(Role)]`, with `#[role(…)]`.
    Role,
    /// `#[derive(Permission)]`, with `#[permission(…)]`.
    Permission,
}

impl NameKind {
    /// The helper attribute, and the noun in messages: `role` or `permission`.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            NameKind::Role => "role",
            NameKind::Permission => "permission",
        }
    }

    /// The derive's name.
    pub(crate) fn derive(self) -> &'static str {
        match self {
            NameKind::Role => "Role",
            NameKind::Permission => "Permission",
        }
    }
}

/// The enum's attributes: `rename_all = "…"`, and for roles `permissions = Path`.
#[derive(Default)]
pub(crate) struct EnumAttrs {
    pub(crate) rename_all: Option<LitStr>,
    pub(crate) permissions: Option<(kw::permissions, Path)>,
}

/// A variant's attributes: `rename = "…"`, and for roles `includes = "…"` and
/// `grants = "…"`.
#[derive(Default)]
pub(crate) struct VariantAttrs {
    pub(crate) rename: Option<LitStr>,
    pub(crate) includes: Option<NameList>,
    pub(crate) grants: Option<NameList>,
}

fn helper_attrs(attrs: &[Attribute], kind: NameKind) -> impl Iterator<Item = &Attribute> {
    attrs
        .iter()
        .filter(move |attr| attr.path().is_ident(kind.noun()))
}

impl EnumAttrs {
    pub(crate) fn from_attrs(attrs: &[Attribute], kind: NameKind, errors: &mut Errors) -> Self {
        let noun = kind.noun();
        let mut out = EnumAttrs::default();
        for attr in helper_attrs(attrs, kind) {
            let parsed = attr.parse_args_with(|input: ParseStream<'_>| {
                while !input.is_empty() {
                    let lookahead = input.lookahead1();
                    if lookahead.peek(kw::rename_all) {
                        let key: kw::rename_all = input.parse()?;
                        let lit = string_value(input, "rename_all", "\"kebab-case\"")?;
                        set_once(
                            &mut out.rename_all,
                            lit,
                            key,
                            "`rename_all`",
                            "choose one naming rule",
                            errors,
                        );
                    } else if kind == NameKind::Role && lookahead.peek(kw::permissions) {
                        let key: kw::permissions = input.parse()?;
                        let path = path_value(input, "permissions", "Perm")?;
                        set_once(
                            &mut out.permissions,
                            (key, path),
                            key,
                            "`permissions`",
                            "name one permission type",
                            errors,
                        );
                    } else if lookahead.peek(kw::rename) {
                        let key: kw::rename = input.parse()?;
                        return Err(syn::Error::new(
                            key.span,
                            format!("`rename` goes on a variant, like `#[{noun}(rename = \"super-admin\")] SuperAdmin`; on the enum, use `rename_all = \"…\"`"),
                        ));
                    } else if kind == NameKind::Role
                        && (lookahead.peek(kw::includes) || lookahead.peek(kw::grants))
                    {
                        let key: Ident = input.parse()?;
                        return Err(syn::Error::new(
                            key.span(),
                            format!("`{key}` goes on a variant, like `#[role({key} = \"…\")] Owner`: each role lists what it {key}"),
                        ));
                    } else {
                        let expected = match kind {
                            NameKind::Role => "`rename_all` or `permissions`",
                            NameKind::Permission => "`rename_all`",
                        };
                        let suggest: fn(&str) -> Option<&'static str> = match kind {
                            NameKind::Role => |name| {
                                Some(match name {
                                    "rename_all_fields" | "case" => "rename_all",
                                    "permission" | "permission_type" | "perms" => "permissions",
                                    _ => return None,
                                })
                            },
                            NameKind::Permission => |name| {
                                matches!(name, "rename_all_fields" | "case").then_some("rename_all")
                            },
                        };
                        return Err(unknown_key(input, lookahead, expected, "rename_all", suggest));
                    }
                    separator(input)?;
                }
                Ok(())
            });
            errors.push_result(parsed.map_err(|e| empty_attr_hint(attr, e)));
        }
        out
    }
}

impl VariantAttrs {
    pub(crate) fn from_attrs(attrs: &[Attribute], kind: NameKind, errors: &mut Errors) -> Self {
        let noun = kind.noun();
        let mut out = VariantAttrs::default();
        for attr in helper_attrs(attrs, kind) {
            let parsed = attr.parse_args_with(|input: ParseStream<'_>| {
                while !input.is_empty() {
                    let lookahead = input.lookahead1();
                    if lookahead.peek(kw::rename) {
                        let key: kw::rename = input.parse()?;
                        let lit = string_value(input, "rename", "\"super-admin\"")?;
                        set_once(
                            &mut out.rename,
                            lit,
                            key,
                            "`rename`",
                            &format!("give the variant one {noun} name"),
                            errors,
                        );
                    } else if kind == NameKind::Role && lookahead.peek(kw::includes) {
                        let key: kw::includes = input.parse()?;
                        list_value(
                            input,
                            &mut out.includes,
                            Ident::new("includes", key.span),
                            "\"admin, editor\"",
                            "list every included role in one `includes`, like `includes = \"admin, editor\"`",
                            errors,
                        )?;
                    } else if kind == NameKind::Role && lookahead.peek(kw::grants) {
                        let key: kw::grants = input.parse()?;
                        list_value(
                            input,
                            &mut out.grants,
                            Ident::new("grants", key.span),
                            "\"reports:read\"",
                            "list every granted permission in one `grants`, like `grants = \"reports:read, reports:export\"`",
                            errors,
                        )?;
                    } else if lookahead.peek(kw::rename_all) {
                        let key: kw::rename_all = input.parse()?;
                        return Err(syn::Error::new(
                            key.span,
                            "`rename_all` goes on the enum; on a variant, use `rename = \"…\"`",
                        ));
                    } else if kind == NameKind::Role && lookahead.peek(kw::permissions) {
                        let key: kw::permissions = input.parse()?;
                        return Err(syn::Error::new(
                            key.span,
                            "`permissions` goes on the enum and names the permission type, like `#[role(permissions = Perm)]`; on a variant, `grants = \"…\"` lists what the role grants",
                        ));
                    } else {
                        let expected = match kind {
                            NameKind::Role => "`rename`, `includes` or `grants`",
                            NameKind::Permission => "`rename`",
                        };
                        let suggest: fn(&str) -> Option<&'static str> = match kind {
                            NameKind::Role => |name| {
                                Some(match name {
                                    "name" | "alias" => "rename",
                                    "include" | "inherits" | "extends" | "implies"
                                    | "contains" => "includes",
                                    "grant" | "perms" | "allows" => "grants",
                                    _ => return None,
                                })
                            },
                            NameKind::Permission => {
                                |name| matches!(name, "name" | "alias").then_some("rename")
                            }
                        };
                        return Err(unknown_key(input, lookahead, expected, "rename", suggest));
                    }
                    separator(input)?;
                }
                Ok(())
            });
            errors.push_result(parsed.map_err(|e| empty_attr_hint(attr, e)));
        }
        out
    }
}

/// `#[role]` / `#[permission]` / `#[auth_user]` without parentheses: say what belongs
/// inside.
fn empty_attr_hint(attr: &Attribute, error: syn::Error) -> syn::Error {
    if let syn::Meta::Path(path) = &attr.meta {
        let name = path.to_token_stream().to_string();
        return syn::Error::new_spanned(
            attr,
            format!("`#[{name}]` needs arguments, like `#[{name}(…)]`"),
        );
    }
    error
}

// ---------------------------------------------------------------------------------------
// #[auth_user(…)] on a #[derive(AuthUser)] struct and its fields
// ---------------------------------------------------------------------------------------

/// What an `#[auth_user(…)]` key provides.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum UserKey {
    Id,
    Username,
    Password,
    Roles,
    IsValid,
    Email,
}

impl UserKey {
    pub(crate) const ALL: [UserKey; 6] = [
        UserKey::Id,
        UserKey::Username,
        UserKey::Password,
        UserKey::Roles,
        UserKey::IsValid,
        UserKey::Email,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            UserKey::Id => "id",
            UserKey::Username => "username",
            UserKey::Password => "password",
            UserKey::Roles => "roles",
            UserKey::IsValid => "is_valid",
            UserKey::Email => "email",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// One `#[auth_user(…)]` argument.
pub(crate) enum UserArg {
    /// `id`, `username`, … without a value (on a field).
    Key { key: UserKey, span: Span },
    /// `id = path`, … (on the struct: the value is a method).
    Method {
        key: UserKey,
        span: Span,
        path: Path,
    },
    /// `debug` (on the struct).
    Debug(kw::debug),
    /// `no_user_record` (on the struct).
    NoUserRecord(kw::no_user_record),
}

const USER_KEYS: &str = "`id`, `username`, `password`, `roles`, `is_valid` or `email`";

fn suggest_user(name: &str) -> Option<&'static str> {
    Some(match name {
        "password_hash" | "hash" | "pw" | "passwd" | "pass" => "password",
        "role" => "roles",
        "name" | "login" | "user" | "user_name" => "username",
        "active" | "valid" | "enabled" | "is_active" => "is_valid",
        "mail" | "e_mail" => "email",
        "key" | "user_id" | "sub" | "pk" => "id",
        _ => return None,
    })
}

fn user_key(
    input: ParseStream<'_>,
    lookahead: &Lookahead1<'_>,
) -> syn::Result<Option<(UserKey, Span)>> {
    macro_rules! try_key {
        ($kw:ident, $key:expr) => {
            if lookahead.peek(kw::$kw) {
                let token: kw::$kw = input.parse()?;
                return Ok(Some(($key, token.span)));
            }
        };
    }
    try_key!(id, UserKey::Id);
    try_key!(username, UserKey::Username);
    try_key!(password, UserKey::Password);
    try_key!(roles, UserKey::Roles);
    try_key!(is_valid, UserKey::IsValid);
    try_key!(email, UserKey::Email);
    Ok(None)
}

/// Parses the arguments of every `#[auth_user(…)]` in `attrs`; `on_struct` selects the
/// container form (keys take `= path`, flags allowed) or the field form (bare keys).
pub(crate) fn user_args(attrs: &[Attribute], on_struct: bool, errors: &mut Errors) -> Vec<UserArg> {
    let mut out = Vec::new();
    for attr in attrs
        .iter()
        .filter(|attr| attr.path().is_ident("auth_user"))
    {
        let parsed = attr.parse_args_with(|input: ParseStream<'_>| {
            while !input.is_empty() {
                let lookahead = input.lookahead1();
                if let Some((key, span)) = user_key(input, &lookahead)? {
                    let name = key.name();
                    if on_struct {
                        if !input.peek(Token![=]) {
                            return Err(syn::Error::new(
                                span,
                                format!(
                                    "on the struct, `{name}` names a method: write `#[auth_user({name} = Self::method)]`, or put `#[auth_user({name})]` on the field that holds it"
                                ),
                            ));
                        }
                        let path = path_value(input, name, "Self::method")?;
                        out.push(UserArg::Method { key, span, path });
                    } else {
                        if input.peek(Token![=]) {
                            return Err(value_error(
                                input,
                                format!(
                                    "on a field, `{name}` takes no value: write `#[auth_user({name})]`; to use a method, put `#[auth_user({name} = Self::method)]` on the struct"
                                ),
                            ));
                        }
                        out.push(UserArg::Key { key, span });
                    }
                } else if lookahead.peek(kw::debug) {
                    let token: kw::debug = input.parse()?;
                    no_value(input, "debug")?;
                    if !on_struct {
                        return Err(syn::Error::new(
                            token.span,
                            "`debug` goes on the struct: `#[auth_user(debug)]` generates a `Debug` impl that redacts the password hash",
                        ));
                    }
                    out.push(UserArg::Debug(token));
                } else if lookahead.peek(kw::no_user_record) {
                    let token: kw::no_user_record = input.parse()?;
                    no_value(input, "no_user_record")?;
                    if !on_struct {
                        return Err(syn::Error::new(
                            token.span,
                            "`no_user_record` goes on the struct: `#[auth_user(no_user_record)]`",
                        ));
                    }
                    out.push(UserArg::NoUserRecord(token));
                } else if on_struct
                    && let Ok(ident) = input.fork().parse::<Ident>()
                    && ident == "role"
                {
                    return Err(syn::Error::new(
                        ident.span(),
                        "unknown argument `role`: the role type needs no declaring here, the type of the `#[auth_user(roles)]` field (like `Vec<AppRole>`) names it; remove `role = …`",
                    ));
                } else {
                    let expected = if on_struct {
                        "`id`, `username`, `password`, `roles`, `is_valid`, `email` (each `= Self::method`), `debug` or `no_user_record`"
                    } else {
                        USER_KEYS
                    };
                    return Err(unknown_key(input, lookahead, expected, "id", suggest_user));
                }
                separator(input)?;
            }
            Ok(())
        });
        errors.push_result(parsed.map_err(|e| empty_attr_hint(attr, e)));
    }
    out
}

// ---------------------------------------------------------------------------------------
// roles!(path)
// ---------------------------------------------------------------------------------------

/// The argument of `centurion::roles!(…)`: the path of the role type.
pub(crate) struct RolesArg {
    pub(crate) path: Path,
}

impl Parse for RolesArg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        const EXAMPLE: &str = "`centurion::roles!(auth::Role);`";
        if input.is_empty() {
            return Err(input.error(format!(
                "`roles!` names the application's role enum: write {EXAMPLE}"
            )));
        }
        if let Ok(lit) = input.fork().parse::<LitStr>() {
            return Err(syn::Error::new_spanned(
                &lit,
                format!(
                    "`roles!` takes a path, not a string: write `centurion::roles!({});`",
                    lit.value()
                ),
            ));
        }
        let path: Path = input.parse().map_err(|_| {
            value_error(
                input,
                format!("`roles!` takes the path of the role enum: write {EXAMPLE}"),
            )
        })?;
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
        if !input.is_empty() {
            return Err(value_error(
                input,
                format!(
                    "`roles!` names one role enum (its permissions come with it, from `#[role(permissions = …)]`): write {EXAMPLE}"
                ),
            ));
        }
        Ok(RolesArg { path })
    }
}
