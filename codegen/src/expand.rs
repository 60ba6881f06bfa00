//! Phase 4: code generation. Each entry point parses, checks, and either generates the
//! expansion or, on error, emits the `compile_error!`s beside the untouched item (or a stub
//! impl) so one mistake does not cascade into many.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{DeriveInput, FnArg, LitStr, Member};

use crate::ast::{Handler, RoleEnum, RoleName, SecuredItem, Source, UserStruct};
use crate::attr::{SecuredArgs, UserKey};
use crate::errors::Errors;
use crate::valid::{self, CheckedRole, CheckedUser, Requirement};

/// The `macro_rules!` that `#[derive(Role)]` defines (and re-exports at the enum's
/// module) and `#[secured]` calls through `crate::`. Its name is what rustc prints when
/// no `#[derive(Role)]` sits at the crate root, so it says what is missing.
const DECLARED_ROLES: &str = "__centurion_roles_declared_by_derive_Role_at_the_crate_root";

// ---------------------------------------------------------------------------------------
// #[secured]
// ---------------------------------------------------------------------------------------

/// `#[secured(attr)] item`: the guard type, the requirement and the handler with its
/// guard parameter, or the errors beside the untouched handler.
pub fn secured(attr: TokenStream, item: TokenStream) -> TokenStream {
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
        Ok(requirement) if errors.is_empty() => secured_expansion(handler, &requirement),
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

fn secured_expansion(handler: Handler, requirement: &Requirement) -> TokenStream {
    let Handler { mut item, .. } = handler;
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
    let all_of = requirement.all_of.iter().map(|role| &role.lit);
    let any_of = requirement.any_of.iter().map(|role| &role.lit);
    let fresh = requirement.fresh;
    let optional = requirement.optional;
    let role_check = role_check(requirement);
    let role_check = (!role_check.is_empty()).then(|| {
        quote! {
            #(#cfgs)*
            const _: () = {
                #role_check
            };
        }
    });

    let guard: FnArg = syn::parse_quote!(_: ::centurion::__private::Guard<#marker>);
    item.sig.inputs.insert(0, guard);

    quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code, unreachable_pub)]
        #vis struct #marker {}

        #(#cfgs)*
        #[automatically_derived]
        impl ::centurion::__private::Secured for #marker {
            const REQUIREMENT: ::centurion::__private::Requirement =
                ::centurion::__private::Requirement {
                    all_of: &[#(#all_of),*],
                    any_of: &[#(#any_of),*],
                    fresh: #fresh,
                    optional: #optional,
                };
        }

        #role_check

        #item
    }
}

/// The compile-time check that every role `#[secured]` names is declared.
fn role_check(requirement: &Requirement) -> TokenStream {
    let roles = requirement.all_of.iter().chain(&requirement.any_of);
    match &requirement.role_type {
        None => roles.map(declared_by_macro).collect(),
        Some(role_type) => {
            let checks: Vec<_> = roles
                .map(|role| declared_by_type(role, role_type))
                .collect();
            if checks.is_empty() {
                return TokenStream::new();
            }
            quote! {
                    const fn __centurion_declares(names: &[&str], role: &str) -> bool {
                        let role = role.as_bytes();
                        let mut i = 0;
                        while i < names.len() {
                            let name = names[i].as_bytes();
                            if name.len() == role.len() {
                                let mut j = 0;
                                while j < name.len() && name[j] == role[j] {
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
                    #(#checks)*
            }
        }
    }
}

/// Asks the `macro_rules!` that `#[derive(Role)]` left at the crate root whether `role` is
/// declared. If it is not, the macro calls back the local `__centurion_unknown_role!` with
/// the enum's name and its role names; since the callback's tokens carry the span of the
/// user's string literal, the error points at the literal.
fn declared_by_macro(role: &RoleName) -> TokenStream {
    let span = role.lit.span();
    let lit = &role.lit;
    let message = format!("unknown role `{}`: the roles declared by `", role.name);
    let declared = format_ident!("{}", DECLARED_ROLES, span = span);
    quote_spanned! {span=>
        const _: () = {
            macro_rules! __centurion_unknown_role {
                ($role_enum:literal, $declared:literal) => {
                    ::core::compile_error! {
                        ::core::concat!(#message, $role_enum, "` are ", $declared)
                    }
                };
            }
            crate::#declared! { @check #lit => __centurion_unknown_role }
        };
    }
}

/// With `role_type = path`: a constant that fails to evaluate (pointing at the literal)
/// when `<path as Role>::NAMES` lacks the role.
fn declared_by_type(role: &RoleName, role_type: &syn::Path) -> TokenStream {
    let span = role.lit.span();
    let lit = &role.lit;
    let type_name = role_type.to_token_stream().to_string().replace(' ', "");
    let message = format!(
        "unknown role `{}`: `{type_name}` does not declare it (it is not in `<{type_name} as Role>::NAMES`)",
        role.name
    );
    let names = quote_spanned! {role_type.span()=>
        <#role_type as ::centurion::__private::Role>::NAMES
    };
    quote_spanned! {span=>
        const _: () = {
            if !__centurion_declares(#names, #lit) {
                ::core::panic!(#message);
            }
        };
    }
}

// ---------------------------------------------------------------------------------------
// #[derive(Role)]
// ---------------------------------------------------------------------------------------

/// `#[derive(Role)]` on `input`: the `Role` impl and the crate root's role-check macro,
/// or the errors and a stub impl.
pub fn derive_role(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<DeriveInput>(input) {
        Ok(input) => input,
        Err(error) => return error.into_compile_error(),
    };
    let mut errors = Errors::default();
    let roles =
        RoleEnum::from_input(&input, &mut errors).map(|role| valid::role_enum(&role, &mut errors));
    match (errors.finish(), roles) {
        (Ok(()), Some(roles)) => role_expansion(&input, &roles),
        (result, _) => {
            let error = result.err().map(syn::Error::into_compile_error);
            let stub = role_stub(&input);
            quote! { #error #stub }
        }
    }
}

fn role_expansion(input: &DeriveInput, roles: &[CheckedRole<'_>]) -> TokenStream {
    let ident = &input.ident;
    let names: Vec<LitStr> = roles
        .iter()
        .map(|role| LitStr::new(&role.name, role.ident.span()))
        .collect();
    let variants: Vec<_> = roles.iter().map(|role| role.ident).collect();
    let enum_name = LitStr::new(&ident.to_string(), Span::call_site());
    let declared = LitStr::new(
        &roles
            .iter()
            .map(|role| format!("`{}`", role.name))
            .collect::<Vec<_>>()
            .join(", "),
        Span::call_site(),
    );
    let declared_roles = format_ident!("{}", DECLARED_ROLES);
    quote! {
        #[automatically_derived]
        impl ::centurion::__private::Role for #ident {
            const NAMES: &'static [&'static str] = &[#(#names),*];

            #[inline]
            fn name(&self) -> &'static str {
                match self {
                    #(Self::#variants => #names,)*
                }
            }

            #[inline]
            fn from_name(__centurion_name: &str) -> ::core::option::Option<Self> {
                match __centurion_name {
                    #(#names => ::core::option::Option::Some(Self::#variants),)*
                    _ => ::core::option::Option::None,
                }
            }
        }

        #[doc(hidden)]
        #[allow(unused_macros)]
        macro_rules! #declared_roles {
            #((@check #names => $callback:ident) => {};)*
            (@check $role:literal => $callback:ident) => {
                $callback! { #enum_name, #declared }
            };
        }

        #[doc(hidden)]
        #[allow(unused_imports)]
        pub(crate) use #declared_roles;
    }
}

/// After an error: an impl that declares nothing, and a role macro that accepts every
/// name, so handlers naming roles do not report errors of their own.
fn role_stub(input: &DeriveInput) -> TokenStream {
    let ident = &input.ident;
    let declared_roles = format_ident!("{}", DECLARED_ROLES);
    let impl_stub = input.generics.params.is_empty().then(|| {
        quote! {
            #[automatically_derived]
            impl ::centurion::__private::Role for #ident {
                const NAMES: &'static [&'static str] = &[];
                fn name(&self) -> &'static str {
                    ::core::unreachable!()
                }
                fn from_name(_: &str) -> ::core::option::Option<Self> {
                    ::core::option::Option::None
                }
            }
        }
    });
    quote! {
        #impl_stub

        #[doc(hidden)]
        #[allow(unused_macros)]
        macro_rules! #declared_roles {
            (@check $role:literal => $callback:ident) => {};
        }

        #[doc(hidden)]
        #[allow(unused_imports)]
        pub(crate) use #declared_roles;
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
    quote! {
        #[automatically_derived]
        impl #impl_generics #private::UserRecord for #ident #ty_generics #where_clause {
            fn from_parts(#parts: #private::UserParts) -> ::core::option::Option<Self> {
                ::core::option::Option::Some(Self {
                    #(#inits,)*
                })
            }
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
