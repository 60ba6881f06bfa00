//! Phase 4: code generation. Each entry point parses, checks, and either generates the
//! expansion or, on error, emits the `compile_error!`s beside the untouched item (or a stub
//! impl) so one mistake does not cascade into many.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{DeriveInput, FnArg, LitStr, Member};

use crate::ast::{Handler, ListedName, NamedEnum, SecuredItem, Source, UserStruct};
use crate::attr::{NameKind, RolesArg, SecuredArgs, UserKey};
use crate::errors::Errors;
use crate::openapi::{self, Docs};
use crate::valid::{self, CheckedName, CheckedUser, Hierarchy, Requirement};

/// The path as written, without the spaces `to_string` puts between tokens.
fn path_text(path: &syn::Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

// ---------------------------------------------------------------------------------------
// #[secured]
// ---------------------------------------------------------------------------------------

/// `#[secured(attr)] item`: the guard type, the requirement and the handler with its
/// guard parameter, or the errors beside the untouched handler.
pub fn secured(attr: TokenStream, item: TokenStream) -> TokenStream {
    secured_with(attr, item, Docs::Off)
}

/// [`secured`], told whether centurion's `utoipa` feature is on: then a `#[utoipa::path]`
/// below the handler is rewritten to document its requirement (see `openapi.rs`).
pub fn secured_with(attr: TokenStream, item: TokenStream, docs: Docs) -> TokenStream {
    // The order check points at the arguments, or at the function name without any.
    let args_span = attr.clone().into_iter().next().map(|token| token.span());
    let mut errors = Errors::default();
    let args = errors.push_result(syn::parse2::<SecuredArgs>(attr));
    let function = match SecuredItem::parse(item.clone()) {
        SecuredItem::Fn(function) => Some(function),
        SecuredItem::Other { what, span } => {
            let hint = if what == "an impl block" {
                "; put it on each handler function instead (handlers must be free functions)"
            } else {
                ""
            };
            errors.push(syn::Error::new(
                span,
                format!("`#[secured]` goes on an `async fn` handler, not on {what}{hint}"),
            ));
            None
        }
    };
    let (Some(mut args), Some(function)) = (args, function) else {
        return with_errors(errors, item);
    };
    errors.append(std::mem::take(&mut args.errors));
    let handler = Handler {
        args,
        item: function,
    };
    match valid::handler(&handler) {
        Ok(requirement) if errors.is_empty() => {
            secured_expansion(handler, &requirement, args_span, docs)
                .unwrap_or_else(|error| with_errors(Errors::from(error), item))
        }
        Ok(_) => with_errors(errors, item),
        Err(error) => {
            errors.push(error);
            with_errors(errors, item)
        }
    }
}

/// The original item, unchanged, after the errors.
fn with_errors(errors: Errors, item: TokenStream) -> TokenStream {
    let errors = errors.finish().err().map(syn::Error::into_compile_error);
    quote! { #errors #item }
}

fn secured_expansion(
    handler: Handler,
    requirement: &Requirement,
    args_span: Option<Span>,
    docs: Docs,
) -> syn::Result<TokenStream> {
    let Handler { mut item, .. } = handler;
    let span = args_span.unwrap_or_else(|| item.sig.ident.span());
    let documentation = openapi::document(&mut item, requirement, span, docs)?;
    let fn_name = item.sig.ident.unraw();
    let marker = format_ident!(
        "__centurion_secured_{}",
        fn_name,
        span = item.sig.ident.span()
    );
    let vis = &item.vis;
    // `#[cfg]`s on the handler apply to what we generate for it, too.
    let cfgs: Vec<_> = item
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"))
        .collect();
    let requirement_value = requirement_value(requirement);

    let guard: FnArg = syn::parse_quote!(_: ::centurion::__private::Guard<#marker>);
    item.sig.inputs.insert(0, guard);

    Ok(quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code, unreachable_pub)]
        #vis struct #marker {}

        #(#cfgs)*
        #[automatically_derived]
        impl ::centurion::__private::Secured for #marker {
            const REQUIREMENT: ::centurion::__private::Requirement = #requirement_value;
        }

        #documentation

        #item
    })
}

/// The `Requirement` constant, with the compile-time checks of its names beside it.
///
/// Without names it is the plain struct. With names, a block that finds the role type
/// (`role_type`, or the crate's declaration, see `runtime/src/roles/check.rs`), checks
/// each name against it in a constant whose `panic!` carries the span of the name's
/// literal, and hands the role type's table to the guard.
fn requirement_value(requirement: &Requirement) -> TokenStream {
    let lits = |names: &[ListedName]| -> Vec<LitStr> {
        names.iter().map(|name| name.lit.clone()).collect()
    };
    let all_of = lits(&requirement.all_of);
    let any_of = lits(&requirement.any_of);
    let all_permissions = lits(&requirement.all_permissions);
    let any_permission = lits(&requirement.any_permission);
    let fresh = requirement.fresh;
    let optional = requirement.optional;
    let value = |table: TokenStream| {
        quote! {
            ::centurion::__private::Requirement {
                all_of: &[#(#all_of),*],
                any_of: &[#(#any_of),*],
                all_permissions: &[#(#all_permissions),*],
                any_permission: &[#(#any_permission),*],
                fresh: #fresh,
                optional: #optional,
                table: #table,
            }
        }
    };
    let Some(first) = requirement.roles().chain(requirement.permissions()).next() else {
        return value(quote!(::core::option::Option::None));
    };

    let lookup = match &requirement.role_type {
        Some(path) => {
            let text = path_text(path);
            quote_spanned! {path.span()=>
                ::centurion::__private::Lookup::role_type(
                    ::centurion::__private::Declared::of::<#path>(#text)
                )
            }
        }
        None => quote! {
            ::centurion::__private::Lookup::new(__CENTURION_ROLES, __CENTURION_ROLE_ENUM_OF_THIS_MODULE)
        },
    };
    let missing = name_check(&first.lit, quote!(missing()));
    let roles = requirement.roles().map(|role| {
        let lit = &role.lit;
        name_check(lit, quote!(unknown_role(#lit)))
    });
    let permissions = requirement.permissions().map(|permission| {
        let lit = &permission.lit;
        name_check(lit, quote!(unknown_permission(#lit)))
    });
    let value = value(quote!(__CENTURION_LOOKUP.required_table()));
    let checked = quote! {
        const __CENTURION_LOOKUP: ::centurion::__private::Lookup = #lookup;
        #missing
        #(#roles)*
        #(#permissions)*
        #value
    };
    if requirement.role_type.is_some() {
        return quote!({ #checked });
    }
    // The crate root's declaration shadows the handler module's, which shadows the
    // fallbacks: inner glob imports win over outer ones.
    quote! {
        {
            #[allow(unused_imports)]
            use ::centurion::__private::undeclared::*;
            {
                #[allow(unused_imports)]
                use self::*;
                {
                    #[allow(unused_imports)]
                    use crate::*;
                    #checked
                }
            }
        }
    }
}

/// `const _: () = if let Some(m) = __CENTURION_LOOKUP.<call> { panic!("{}", m) };`, the
/// `panic!` spanned at `lit` so the compiler reports the message there.
fn name_check(lit: &LitStr, call: TokenStream) -> TokenStream {
    quote_spanned! {lit.span()=>
        const _: () = if let ::core::option::Option::Some(__centurion_message) =
            __CENTURION_LOOKUP.#call
        {
            ::core::panic!("{}", __centurion_message.as_str())
        };
    }
}

// ---------------------------------------------------------------------------------------
// centurion::roles!(path)
// ---------------------------------------------------------------------------------------

/// `roles!(path)` at the crate root: the declaration every `#[secured]` of the crate
/// checks its names against.
pub fn roles(input: TokenStream) -> TokenStream {
    let arg = match syn::parse2::<RolesArg>(input) {
        Ok(arg) => arg,
        Err(error) => return error.into_compile_error(),
    };
    let path = &arg.path;
    let text = path_text(path);
    let declared = quote_spanned! {path.span()=>
        ::centurion::__private::Declared::of::<#path>(#text)
    };
    quote! {
        #[doc(hidden)]
        #[allow(dead_code)]
        const __CENTURION_ROLES: ::core::option::Option<::centurion::__private::Declared> =
            ::core::option::Option::Some(#declared);

        const _: () = if !::centurion::__private::at_crate_root(::core::module_path!()) {
            ::core::panic!(
                "`centurion::roles!` goes at the crate root (main.rs or lib.rs), where every `#[secured]` of the crate finds it"
            )
        };
    }
}

// ---------------------------------------------------------------------------------------
// #[derive(Role)] and #[derive(Permission)]
// ---------------------------------------------------------------------------------------

/// `#[derive(Role)]` on `input`: the `Role` impl with its closed table, and the hint that
/// lets `#[secured]` find the enum; or the errors and a stub impl.
pub fn derive_role(input: TokenStream) -> TokenStream {
    derive_named(input, NameKind::Role)
}

/// `#[derive(Permission)]` on `input`: the `Permission` impl, or the errors and a stub.
pub fn derive_permission(input: TokenStream) -> TokenStream {
    derive_named(input, NameKind::Permission)
}

fn derive_named(input: TokenStream, kind: NameKind) -> TokenStream {
    let input = match syn::parse2::<DeriveInput>(input) {
        Ok(input) => input,
        Err(error) => return error.into_compile_error(),
    };
    let mut errors = Errors::default();
    let checked = NamedEnum::from_input(&input, kind, &mut errors).map(|named| {
        let names = valid::named_enum(&named, &mut errors);
        let hierarchy =
            (kind == NameKind::Role).then(|| valid::hierarchy(&named, &names, &mut errors));
        (named, names, hierarchy)
    });
    match (errors.finish(), checked) {
        (Ok(()), Some((named, names, hierarchy))) => {
            named_expansion(&named, &names, hierarchy.as_ref())
        }
        (result, _) => {
            let error = result.err().map(syn::Error::into_compile_error);
            let stub = named_stub(&input, kind);
            quote! { #error #stub }
        }
    }
}

fn named_expansion(
    named: &NamedEnum<'_>,
    names: &[CheckedName<'_>],
    hierarchy: Option<&Hierarchy>,
) -> TokenStream {
    let ident = &named.input.ident;
    let lits: Vec<LitStr> = names
        .iter()
        .map(|name| LitStr::new(&name.name, name.ident.span()))
        .collect();
    let variants: Vec<_> = names.iter().map(|name| name.ident).collect();
    let common = quote! {
        const NAMES: &'static [&'static str] = &[#(#lits),*];

        #[inline]
        fn name(&self) -> &'static str {
            match self {
                #(Self::#variants => #lits,)*
            }
        }

        #[inline]
        fn from_name(__centurion_name: &str) -> ::core::option::Option<Self> {
            match __centurion_name {
                #(#lits => ::core::option::Option::Some(Self::#variants),)*
                _ => ::core::option::Option::None,
            }
        }
    };
    let Some(hierarchy) = hierarchy else {
        return quote! {
            #[automatically_derived]
            impl ::centurion::__private::Permission for #ident {
                #common
            }
        };
    };

    let entries = names.iter().enumerate().map(|(i, name)| {
        let role = &name.name;
        let satisfies = &hierarchy.satisfies[i];
        let grants = &hierarchy.grants[i];
        quote! {
            ::centurion::__private::RoleEntry::__new(#role, &[#(#satisfies),*], &[#(#grants),*])
        }
    });
    let (permissions, grant_checks) = match &named.attrs.permissions {
        Some((_, path)) => {
            let text = path_text(path);
            let names = quote_spanned! {path.span()=>
                <#path as ::centurion::__private::Permission>::NAMES
            };
            let checks = hierarchy.written_grants.iter().map(|(granted, role)| {
                let lit = &granted.lit;
                quote_spanned! {lit.span()=>
                    const _: () = if let ::core::option::Option::Some(__centurion_message) =
                        ::centurion::__private::unknown_grant(#names, #text, #lit, #role)
                    {
                        ::core::panic!("{}", __centurion_message.as_str())
                    };
                }
            });
            (
                quote!(::core::option::Option::Some((#text, #names))),
                quote!(#(#checks)*),
            )
        }
        None => (quote!(::core::option::Option::None), TokenStream::new()),
    };
    let enum_name = LitStr::new(&ident.unraw().to_string(), Span::call_site());
    quote! {
        #[automatically_derived]
        impl ::centurion::__private::Role for #ident {
            #common

            const TABLE: &'static ::centurion::__private::RoleTable =
                &::centurion::__private::RoleTable::__new(&[#(#entries),*], #permissions);
        }

        #grant_checks

        // Lets `#[secured]` find this enum: at the crate root it declares the crate's
        // roles; elsewhere `#[secured]` names it when no `centurion::roles!` does.
        #[doc(hidden)]
        #[allow(dead_code)]
        const __CENTURION_ROLE_ENUM_OF_THIS_MODULE: ::core::option::Option<::centurion::__private::Declared> =
            ::core::option::Option::Some(::centurion::__private::Declared::derived::<#ident>(
                ::core::module_path!(),
                #enum_name,
            ));
    }
}

/// After an error: an impl whose names are the "erroneous" marker, under which every
/// name passes, so handlers and role enums naming them do not report errors of their own.
fn named_stub(input: &DeriveInput, kind: NameKind) -> TokenStream {
    if !input.generics.params.is_empty() || !matches!(input.data, syn::Data::Enum(_)) {
        return TokenStream::new();
    }
    let ident = &input.ident;
    let body = quote! {
        const NAMES: &'static [&'static str] = ::centurion::__private::ERRONEOUS;
        fn name(&self) -> &'static str {
            ::core::unreachable!()
        }
        fn from_name(_: &str) -> ::core::option::Option<Self> {
            ::core::option::Option::None
        }
    };
    match kind {
        NameKind::Permission => quote! {
            #[automatically_derived]
            impl ::centurion::__private::Permission for #ident {
                #body
            }
        },
        NameKind::Role => {
            let enum_name = LitStr::new(&ident.unraw().to_string(), Span::call_site());
            quote! {
                #[automatically_derived]
                impl ::centurion::__private::Role for #ident {
                    #body
                }

                #[doc(hidden)]
                #[allow(dead_code)]
                const __CENTURION_ROLE_ENUM_OF_THIS_MODULE: ::core::option::Option<::centurion::__private::Declared> =
                    ::core::option::Option::Some(::centurion::__private::Declared::derived::<#ident>(
                        ::core::module_path!(),
                        #enum_name,
                    ));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// #[derive(AuthUser)]
// ---------------------------------------------------------------------------------------

/// `#[derive(AuthUser)]` on `input`: the `AuthUser`, `HasEmail`, `UserRecord` and `Debug`
/// impls it asks for, or the errors and a stub impl.
pub fn derive_auth_user(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<DeriveInput>(input) {
        Ok(input) => input,
        Err(error) => return error.into_compile_error(),
    };
    let mut errors = Errors::default();
    let user = UserStruct::from_input(&input, &mut errors);
    let checked = user
        .as_ref()
        .map(|user| valid::user_struct(user, &mut errors));
    match (errors.finish(), user, checked) {
        (Ok(()), Some(user), Some(checked)) => auth_user_expansion(&user, &checked),
        (result, _, _) => {
            let error = result.err().map(syn::Error::into_compile_error);
            let stub = auth_user_stub(&input);
            quote! { #error #stub }
        }
    }
}

/// `::centurion::__private`, spanned so errors in what follows point at `span`.
fn private_path(span: Span) -> TokenStream {
    quote_spanned!(span=> ::centurion::__private)
}

fn auth_user_expansion(user: &UserStruct<'_>, checked: &CheckedUser<'_>) -> TokenStream {
    let input = user.input;
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let private = private_path(Span::call_site());
    let record = checked.user_record;

    // Each piece calls a `centurion::__private` field trait at the field's type, spanned
    // there: a type that does not fit is reported on the field, with the trait's message.
    // With `UserRecord`, the `*RecordField` trait that `from_parts` calls too, so a wrong
    // type is reported once.
    let get = |key: UserKey, helper: &str, method: &str| -> Option<TokenStream> {
        Some(match checked.get(key)? {
            Source::Field { member, ty, .. } => {
                let helper = if record && key != UserKey::Id {
                    field_trait(&helper.replace("Field", "RecordField"), ty.span())
                } else {
                    field_trait(helper, ty.span())
                };
                let method = format_ident!("{}", method, span = ty.span());
                quote_spanned! {ty.span()=> <#ty as #helper>::#method(&self.#member) }
            }
            Source::Method { path, .. } => quote_spanned! {path.span()=> #path(self) },
        })
    };
    let id = match checked.get(UserKey::Id) {
        Some(Source::Method { path, .. }) => quote_spanned! {path.span()=>
            ::std::string::ToString::to_string(&#path(self))
        },
        _ => get(UserKey::Id, "IdField", "user_id").unwrap_or_default(),
    };
    let username = get(UserKey::Username, "UsernameField", "text");
    let password = get(UserKey::Password, "PasswordField", "text");
    let roles = get(UserKey::Roles, "RolesField", "names")
        .unwrap_or_else(|| quote!(::std::vec::Vec::new()));
    // The role enum's table, from the roles field's type (a method gives no table).
    let role_table = match checked.get(UserKey::Roles) {
        Some(Source::Field { ty, .. }) => {
            let helper = if record {
                field_trait("RolesRecordField", ty.span())
            } else {
                field_trait("RolesField", ty.span())
            };
            Some(quote_spanned! {ty.span()=>
                fn role_table() -> ::core::option::Option<&'static #private::RoleTable> {
                    <#ty as #helper>::role_table()
                }
            })
        }
        _ => None,
    };
    let is_valid = get(UserKey::IsValid, "IsValidField", "flag").map(|body| {
        quote! {
            fn is_valid(&self) -> bool {
                #body
            }
        }
    });
    let has_email = get(UserKey::Email, "EmailField", "address").map(|body| {
        quote! {
            #[automatically_derived]
            impl #impl_generics #private::HasEmail for #ident #ty_generics #where_clause {
                fn email(&self) -> ::core::option::Option<&str> {
                    #body
                }
            }
        }
    });
    let user_record = record.then(|| user_record(user));
    let debug = checked.debug.then(|| redacted_debug(user, checked));

    quote! {
        #[automatically_derived]
        impl #impl_generics #private::AuthUser for #ident #ty_generics #where_clause {
            fn id(&self) -> ::std::string::String {
                #id
            }

            fn username(&self) -> &str {
                #username
            }

            fn password_hash(&self) -> &str {
                #password
            }

            fn roles(&self) -> ::std::vec::Vec<&str> {
                #roles
            }

            #is_valid

            #role_table
        }

        #has_email
        #user_record

        #debug
    }
}

/// `::centurion::__private::<name>`, the trait name spanned at `span` (the field's type).
fn field_trait(name: &str, span: Span) -> TokenStream {
    let private = private_path(span);
    let name = format_ident!("{}", name, span = span);
    quote_spanned! {span=> #private::#name }
}

/// `UserRecord::from_parts`: marked fields from the stored parts, every other field from
/// `Default`.
fn user_record(user: &UserStruct<'_>) -> TokenStream {
    let input = user.input;
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let private = private_path(Span::call_site());
    let parts = quote!(__centurion_parts);
    let inits = user.fields.iter().map(|field| {
        let member = &field.member;
        let ty = field.ty;
        let span = ty.span();
        // Spanned at the field's type, so a type that does not fit is reported there.
        let parts = syn::Ident::new("__centurion_parts", span);
        let key = UserKey::ALL
            .into_iter()
            .find(|key| field.keys.iter().any(|(k, _)| k == key));
        let from = |helper: &str, part: &str| {
            let helper = field_trait(helper, span);
            let part = format_ident!("{}", part, span = span);
            quote_spanned! {span=> <#ty as #helper>::from_stored(#parts.#part) }
        };
        let value = match key {
            Some(UserKey::Id) => {
                let call = from("StoredId", "id");
                quote_spanned! {span=> #call? }
            }
            Some(UserKey::Username) => from("UsernameRecordField", "username"),
            Some(UserKey::Password) => from("PasswordRecordField", "password_hash"),
            Some(UserKey::Roles) => from("RolesRecordField", "roles"),
            Some(UserKey::IsValid) => from("IsValidRecordField", "active"),
            Some(UserKey::Email) => from("EmailRecordField", "email"),
            None => {
                let helper = field_trait("DefaultField", span);
                quote_spanned! {span=> <#ty as #helper>::default_value() }
            }
        };
        quote! { #member: #value }
    });
    // Which ids the stores give new users: the id field's type says.
    let id_kind = user
        .fields
        .iter()
        .find(|field| field.keys.iter().any(|(k, _)| *k == UserKey::Id))
        .map(|field| {
            let ty = field.ty;
            let span = ty.span();
            let helper = field_trait("StoredId", span);
            let private = private_path(span);
            quote_spanned! {span=>
                fn id_kind() -> #private::IdKind {
                    <#ty as #helper>::KIND
                }
            }
        });
    quote! {
        #[automatically_derived]
        impl #impl_generics #private::UserRecord for #ident #ty_generics #where_clause {
            fn from_parts(#parts: #private::UserParts) -> ::core::option::Option<Self> {
                ::core::option::Option::Some(Self {
                    #(#inits,)*
                })
            }
            #id_kind
        }
    }
}

/// `#[auth_user(debug)]`: `Debug` that prints every field but the password hash.
fn redacted_debug(user: &UserStruct<'_>, checked: &CheckedUser<'_>) -> TokenStream {
    let input = user.input;
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let password = match checked.get(UserKey::Password) {
        Some(Source::Field { member, .. }) => Some(member),
        _ => None,
    };
    let name = LitStr::new(&ident.to_string(), ident.span());
    let fields = user.fields.iter().map(|field| {
        let member = &field.member;
        let value = if password == Some(member) {
            quote!(&"<redacted>")
        } else {
            quote!(&self.#member)
        };
        match member {
            Member::Named(field_name) => {
                let label = LitStr::new(&field_name.unraw().to_string(), field_name.span());
                quote! { ::core::fmt::DebugStruct::field(&mut __centurion_debug, #label, #value); }
            }
            Member::Unnamed(_) => {
                quote! { ::core::fmt::DebugTuple::field(&mut __centurion_debug, #value); }
            }
        }
    });
    let (start, finish) = if user.named {
        (
            quote!(::core::fmt::Formatter::debug_struct(f, #name)),
            quote!(::core::fmt::DebugStruct::finish(&mut __centurion_debug)),
        )
    } else {
        (
            quote!(::core::fmt::Formatter::debug_tuple(f, #name)),
            quote!(::core::fmt::DebugTuple::finish(&mut __centurion_debug)),
        )
    };
    quote! {
        #[automatically_derived]
        impl #impl_generics ::core::fmt::Debug for #ident #ty_generics #where_clause {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut __centurion_debug = #start;
                #(#fields)*
                #finish
            }
        }
    }
}

/// After an error: an `AuthUser` impl with no behaviour, so code using the type as a user
/// does not report errors of its own.
fn auth_user_stub(input: &DeriveInput) -> TokenStream {
    if !matches!(input.data, syn::Data::Struct(_)) && !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics ::centurion::__private::AuthUser for #ident #ty_generics #where_clause {
            fn id(&self) -> ::std::string::String {
                ::core::unreachable!()
            }
            fn username(&self) -> &str {
                ::core::unreachable!()
            }
            fn password_hash(&self) -> &str {
                ::core::unreachable!()
            }
            fn roles(&self) -> ::std::vec::Vec<&str> {
                ::core::unreachable!()
            }
        }
    }
}
