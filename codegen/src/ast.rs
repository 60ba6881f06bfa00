//! Phase 2: models of the macro inputs that keep the original syntax nodes, so later
//! phases can point errors at exactly what the user wrote.

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{DeriveInput, Fields, Ident, ItemFn, LitStr, Member, Path, Type};

use crate::attr::{self, EnumAttrs, NameKind, SecuredArgs, UserArg, UserKey, VariantAttrs};
use crate::errors::Errors;

// ---------------------------------------------------------------------------------------
// #[secured]
// ---------------------------------------------------------------------------------------

/// What `#[secured]` was put on.
pub(crate) enum SecuredItem {
    /// A function (async or not, checked later).
    Fn(Box<ItemFn>),
    /// Anything else: a struct, an impl block, a trait method without body, …
    Other { what: &'static str, span: Span },
}

impl SecuredItem {
    pub(crate) fn parse(tokens: TokenStream) -> SecuredItem {
        match syn::parse2::<syn::Item>(tokens.clone()) {
            Ok(syn::Item::Fn(item)) => SecuredItem::Fn(Box::new(item)),
            Ok(item) => {
                let (what, span) = describe_item(&item);
                SecuredItem::Other { what, span }
            }
            Err(_) => SecuredItem::Other {
                what: "this item",
                span: tokens
                    .into_iter()
                    .next()
                    .map_or_else(Span::call_site, |tt| tt.span()),
            },
        }
    }
}

/// Names the item kind and picks a short span for it (the keyword and name).
fn describe_item(item: &syn::Item) -> (&'static str, Span) {
    fn span(keyword: Span, ident: &Ident) -> Span {
        keyword.join(ident.span()).unwrap_or(ident.span())
    }
    match item {
        syn::Item::Struct(i) => ("a struct", span(i.struct_token.span, &i.ident)),
        syn::Item::Enum(i) => ("an enum", span(i.enum_token.span, &i.ident)),
        syn::Item::Impl(i) => ("an impl block", i.impl_token.span),
        syn::Item::Trait(i) => ("a trait", span(i.trait_token.span, &i.ident)),
        syn::Item::Mod(i) => ("a module", span(i.mod_token.span, &i.ident)),
        syn::Item::Const(i) => ("a const", span(i.const_token.span, &i.ident)),
        syn::Item::Static(i) => ("a static", span(i.static_token.span, &i.ident)),
        syn::Item::Type(i) => ("a type alias", span(i.type_token.span, &i.ident)),
        syn::Item::Use(i) => ("a `use` item", i.use_token.span),
        syn::Item::Union(i) => ("a union", span(i.union_token.span, &i.ident)),
        syn::Item::Macro(i) => ("a macro invocation", i.mac.path.span()),
        other => ("this item", other.span()),
    }
}

/// A handler under `#[secured(…)]`.
pub(crate) struct Handler {
    pub(crate) args: SecuredArgs,
    pub(crate) item: Box<ItemFn>,
}

// ---------------------------------------------------------------------------------------
// #[derive(Role)] and #[derive(Permission)]
// ---------------------------------------------------------------------------------------

/// An enum under `#[derive(Role)]` or `#[derive(Permission)]`.
pub(crate) struct NamedEnum<'a> {
    pub(crate) kind: NameKind,
    pub(crate) input: &'a DeriveInput,
    pub(crate) attrs: EnumAttrs,
    pub(crate) variants: Vec<NamedVariant<'a>>,
}

/// One variant of a role or permission enum.
pub(crate) struct NamedVariant<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) fields: &'a Fields,
    pub(crate) attrs: VariantAttrs,
}

impl<'a> NamedEnum<'a> {
    /// Reads the enum and its `#[role(…)]` (or `#[permission(…)]`) attributes; `None` for
    /// a struct or union.
    pub(crate) fn from_input(
        input: &'a DeriveInput,
        kind: NameKind,
        errors: &mut Errors,
    ) -> Option<Self> {
        let syn::Data::Enum(data) = &input.data else {
            let keyword = match &input.data {
                syn::Data::Struct(data) => data.struct_token.span,
                syn::Data::Union(data) => data.union_token.span,
                syn::Data::Enum(_) => unreachable!(),
            };
            let example = match kind {
                NameKind::Role => "enum AppRole { Admin, Editor }",
                NameKind::Permission => "enum Perm { ReportsRead, ArticlesPublish }",
            };
            errors.push(syn::Error::new(
                keyword
                    .join(input.ident.span())
                    .unwrap_or(input.ident.span()),
                format!(
                    "`#[derive({})]` needs an enum of unit variants, like `{example}`",
                    kind.derive()
                ),
            ));
            return None;
        };
        let attrs = EnumAttrs::from_attrs(&input.attrs, kind, errors);
        let variants = data
            .variants
            .iter()
            .map(|variant| NamedVariant {
                ident: &variant.ident,
                fields: &variant.fields,
                attrs: VariantAttrs::from_attrs(&variant.attrs, kind, errors),
            })
            .collect();
        Some(NamedEnum {
            kind,
            input,
            attrs,
            variants,
        })
    }
}

// ---------------------------------------------------------------------------------------
// #[derive(AuthUser)]
// ---------------------------------------------------------------------------------------

/// Where one piece of the user (id, username, …) comes from.
#[derive(Clone)]
pub(crate) enum Source<'a> {
    /// A field marked `#[auth_user(key)]`.
    Field {
        member: Member,
        ty: &'a Type,
        /// The key inside the field's attribute, for duplicate errors.
        span: Span,
    },
    /// A method named on the struct with `#[auth_user(key = path)]`.
    Method { path: Path, span: Span },
}

impl Source<'_> {
    pub(crate) fn span(&self) -> Span {
        match self {
            Source::Field { span, .. } | Source::Method { span, .. } => *span,
        }
    }
}

/// One field of a user struct.
pub(crate) struct UserField<'a> {
    pub(crate) member: Member,
    pub(crate) ty: &'a Type,
    /// The keys this field provides, with the span of each key.
    pub(crate) keys: Vec<(UserKey, Span)>,
}

/// A struct under `#[derive(AuthUser)]`.
pub(crate) struct UserStruct<'a> {
    pub(crate) input: &'a DeriveInput,
    pub(crate) fields: Vec<UserField<'a>>,
    /// Whether the fields are named (`{ a: T }`) or positional (`(T)`).
    pub(crate) named: bool,
    /// Every source given for each key, in the order written (fields first, then the
    /// struct's methods); `valid.rs` reports any second one.
    pub(crate) sources: [Vec<Source<'a>>; 6],
    pub(crate) debug: Vec<attr::kw::debug>,
    pub(crate) no_user_record: Vec<attr::kw::no_user_record>,
    /// Whether an `#[auth_user(…)]` failed to parse: then a "missing" key may only be
    /// the one that failed, and is not reported again.
    pub(crate) attr_errors: bool,
}

impl<'a> UserStruct<'a> {
    /// Reads the struct and its `#[auth_user(…)]` attributes; `None` for an enum or union.
    pub(crate) fn from_input(input: &'a DeriveInput, errors: &mut Errors) -> Option<Self> {
        let data = match &input.data {
            syn::Data::Struct(data) => data,
            syn::Data::Enum(data) => {
                errors.push(syn::Error::new(
                    data.enum_token.span.join(input.ident.span()).unwrap_or(input.ident.span()),
                    "`#[derive(AuthUser)]` needs a struct with fields, like `struct User { #[auth_user(id)] id: i64, … }`",
                ));
                return None;
            }
            syn::Data::Union(data) => {
                errors.push(syn::Error::new(
                    data.union_token.span.join(input.ident.span()).unwrap_or(input.ident.span()),
                    "`#[derive(AuthUser)]` needs a struct with fields, like `struct User { #[auth_user(id)] id: i64, … }`",
                ));
                return None;
            }
        };
        let named = matches!(data.fields, Fields::Named(_));
        let mut sources: [Vec<Source<'a>>; 6] = Default::default();
        let mut fields = Vec::new();
        for (index, field) in data.fields.iter().enumerate() {
            let member = match &field.ident {
                Some(ident) => Member::Named(ident.clone()),
                None => Member::Unnamed(syn::Index {
                    index: index as u32,
                    span: field.ty.span(),
                }),
            };
            let mut keys = Vec::new();
            for arg in attr::user_args(&field.attrs, false, errors) {
                if let UserArg::Key { key, span } = arg {
                    keys.push((key, span));
                    sources[key.index()].push(Source::Field {
                        member: member.clone(),
                        ty: &field.ty,
                        span,
                    });
                }
            }
            fields.push(UserField {
                member,
                ty: &field.ty,
                keys,
            });
        }
        let mut debug = Vec::new();
        let mut no_user_record = Vec::new();
        for arg in attr::user_args(&input.attrs, true, errors) {
            match arg {
                UserArg::Method { key, span, path } => {
                    sources[key.index()].push(Source::Method { path, span });
                }
                UserArg::Debug(token) => debug.push(token),
                UserArg::NoUserRecord(token) => no_user_record.push(token),
                UserArg::Key { .. } => {}
            }
        }
        Some(UserStruct {
            input,
            fields,
            named,
            sources,
            debug,
            no_user_record,
            attr_errors: !errors.is_empty(),
        })
    }
}

/// One name of a name list (see `valid.rs`).
pub(crate) struct ListedName {
    pub(crate) name: String,
    /// The literal the name was written in: errors and the compile-time check point here.
    pub(crate) lit: LitStr,
}
