//! Phase 4, the documentation part of `#[secured]`: how it cooperates with
//! `#[utoipa::path]`.
//!
//! Attribute macros expand from the outside in, so the order decides what is possible:
//!
//! - **`#[secured]` above `#[utoipa::path]`** (the order that works): `#[secured]` sees
//!   `#[utoipa::path(…)]` as a plain attribute of the function and rewrites its arguments
//!   before utoipa parses them. Its 401 (and 403) responses with the shared error body go
//!   *first* in `responses(…)`, so a response the user writes for the same status wins
//!   (utoipa inserts them into a map in order); `extensions(…)` gets `x-centurion`, the
//!   exact requirement, which the runtime's `Modify` turns into the operation's `security`.
//!   A hand-written `security(…)` or `x-centurion` is refused: the guard decides them.
//!   utoipa replaces a repeated key, so the rewrite merges into an existing `responses(…)`
//!   or `extensions(…)` instead of adding a second one.
//! - **`#[utoipa::path]` above `#[secured]`**: utoipa has already emitted
//!   `struct __path_<fn>;` with the operation built as code, which nothing can amend. With
//!   no `#[utoipa::path]` below it, `#[secured]` emits [`order_check`], which fails to
//!   compile exactly when that unit struct is in scope, with a type name that says what to
//!   do. It needs no feature and no dependency.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, ItemFn, LitStr, Meta};

use crate::ast::ListedName;
use crate::valid::Requirement;

/// Whether `#[secured]` may rewrite a `#[utoipa::path]` below it: the runtime's `utoipa`
/// feature, forwarded to the proc-macro crate (which cannot see the runtime's features).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Docs {
    /// No documentation integration: a `#[utoipa::path]` below is an error that names the
    /// feature to turn on.
    #[default]
    Off,
    /// `centurion`'s `utoipa` feature is on.
    Utoipa,
}

/// `#[utoipa::path(…)]` or `#[::utoipa::path(…)]`. A renamed import (`use utoipa::path as
/// doc;`) is not recognised; the order check then still catches one written above.
fn is_utoipa_path(attr: &Attribute) -> bool {
    let segments: Vec<String> = attr
        .path()
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    segments == ["utoipa", "path"]
}

/// What `#[secured]` adds for documentation: rewrites the `#[utoipa::path]` below the
/// handler in place (returning nothing to emit), or returns the order check when there is
/// none.
pub(crate) fn document(
    item: &mut ItemFn,
    requirement: &Requirement,
    span: Span,
    docs: Docs,
) -> syn::Result<TokenStream> {
    let current_user = takes_current_user(item);
    let name = item.sig.ident.clone();
    let cfgs: Vec<Attribute> = item
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"))
        .cloned()
        .collect();
    let mut paths = item.attrs.iter_mut().filter(|attr| is_utoipa_path(attr));
    let Some(path_attr) = paths.next() else {
        return Ok(order_check(&name, span, &cfgs));
    };
    if docs == Docs::Off {
        return Err(syn::Error::new(
            path_attr.span(),
            "`#[secured]` documents this handler's security in `#[utoipa::path]` only with \
             centurion's `utoipa` feature: `centurion = { version = \"…\", features = [\"utoipa\"] }`",
        ));
    }
    rewrite(path_attr, requirement, current_user)?;
    Ok(TokenStream::new())
}

/// Whether a parameter's type is `CurrentUser<…>` (by its last path segment): the
/// extractor then adds "the user no longer exists" (401) and "inactive" (403).
fn takes_current_user(item: &ItemFn) -> bool {
    item.sig.inputs.iter().any(|input| match input {
        syn::FnArg::Typed(typed) => match &*typed.ty {
            syn::Type::Path(path) => path
                .path
                .segments
                .last()
                .is_some_and(|segment| segment.ident == "CurrentUser"),
            _ => false,
        },
        syn::FnArg::Receiver(_) => false,
    })
}

fn rewrite(
    path_attr: &mut Attribute,
    requirement: &Requirement,
    current_user: bool,
) -> syn::Result<()> {
    let Meta::List(list) = &mut path_attr.meta else {
        return Err(syn::Error::new(
            path_attr.span(),
            "expected `#[utoipa::path(method, path = \"…\", …)]`",
        ));
    };
    let span = list.path.span();
    let mut entries = split_top_level(list.tokens.clone());
    let unsafe_method = entries.iter().any(names_unsafe_method);
    let ours_responses = responses(requirement, current_user, unsafe_method, span);
    let ours_extension = extension(requirement, span);
    let (mut saw_responses, mut saw_extensions) = (false, false);
    for entry in &mut entries {
        let Some((key, group)) = keyed_group(entry) else {
            continue;
        };
        if key == "responses" {
            saw_responses = true;
            *entry = with_group(&key, quote!(#ours_responses, #group));
        } else if key == "extensions" {
            saw_extensions = true;
            if group.to_string().contains("\"x-centurion\"") {
                return Err(syn::Error::new(
                    key.span(),
                    "`#[secured]` writes the `x-centurion` extension from its arguments: remove it here",
                ));
            }
            *entry = with_group(&key, quote!(#group, #ours_extension));
        } else if key == "security" {
            return Err(syn::Error::new(
                key.span(),
                "`#[secured]` documents this operation's security from its arguments: \
                 remove `security(…)` here",
            ));
        }
    }
    if !saw_responses {
        entries.push(quote_spanned!(span=> responses(#ours_responses)));
    }
    if !saw_extensions {
        entries.push(quote_spanned!(span=> extensions(#ours_extension)));
    }
    list.tokens = quote!(#(#entries),*);
    Ok(())
}

/// Splits `get, path = "/x", responses(…)` at its top-level commas. A comma inside a
/// generic type (`body = Map<K, V>`) splits too, which is harmless: the pieces are joined
/// with commas again and only `key(…)` entries are replaced.
fn split_top_level(tokens: TokenStream) -> Vec<TokenStream> {
    let mut entries = vec![TokenStream::new()];
    for token in tokens {
        match &token {
            TokenTree::Punct(punct) if punct.as_char() == ',' => entries.push(TokenStream::new()),
            _ => {
                if let Some(entry) = entries.last_mut() {
                    entry.extend([token]);
                }
            }
        }
    }
    entries.retain(|entry| !entry.is_empty());
    entries
}

/// `key(…)` → `(key, …)`.
fn keyed_group(entry: &TokenStream) -> Option<(Ident, TokenStream)> {
    let mut tokens = entry.clone().into_iter();
    match (tokens.next(), tokens.next(), tokens.next()) {
        (Some(TokenTree::Ident(key)), Some(TokenTree::Group(group)), None)
            if group.delimiter() == Delimiter::Parenthesis =>
        {
            Some((key, group.stream()))
        }
        _ => None,
    }
}

fn with_group(key: &Ident, inner: TokenStream) -> TokenStream {
    let mut group = Group::new(Delimiter::Parenthesis, inner);
    group.set_span(key.span());
    quote!(#key #group)
}

/// A method entry (`post`) or `method(get, post)` naming POST, PUT, PATCH or DELETE: a
/// cookie-authenticated request then also needs the CSRF header.
fn names_unsafe_method(entry: &TokenStream) -> bool {
    let is_unsafe =
        |ident: &Ident| ["post", "put", "patch", "delete"].contains(&ident.to_string().as_str());
    let tokens: Vec<TokenTree> = entry.clone().into_iter().collect();
    match tokens.as_slice() {
        [TokenTree::Ident(method)] => is_unsafe(method),
        [TokenTree::Ident(key), TokenTree::Group(group)] if key == "method" => group
            .stream()
            .into_iter()
            .any(|token| matches!(&token, TokenTree::Ident(method) if is_unsafe(method))),
        _ => false,
    }
}

fn quoted(names: &[ListedName]) -> String {
    names
        .iter()
        .map(|name| format!("`{}`", name.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The error responses the guard (and a `CurrentUser` parameter) can produce, in utoipa's
/// tuple syntax with the shared error body: utoipa collects `ErrorBody` as a component
/// from `body = …`.
fn responses(
    requirement: &Requirement,
    current_user: bool,
    unsafe_method: bool,
    span: Span,
) -> TokenStream {
    let mut unauthorized = if requirement.optional {
        "A token was sent and it is invalid, expired or revoked (a request without one passes)"
            .to_owned()
    } else {
        "No valid access token: missing, invalid, expired or revoked".to_owned()
    };
    if requirement.fresh {
        unauthorized
            .push_str("; or the token comes from a refresh, not a login (`FreshTokenRequired`)");
    }
    if unsafe_method {
        unauthorized.push_str("; or the token is the session cookie and the CSRF header is missing or wrong (`CSRFError`)");
    }
    if current_user {
        unauthorized.push_str("; or the token's user no longer exists (`MissingUserError`)");
    }
    unauthorized.push('.');
    let mut forbidden = Vec::new();
    if !requirement.all_of.is_empty() {
        forbidden.push(format!("every role of {}", quoted(&requirement.all_of)));
    }
    if !requirement.any_of.is_empty() {
        forbidden.push(format!("one role of {}", quoted(&requirement.any_of)));
    }
    if !requirement.all_permissions.is_empty() {
        forbidden.push(format!(
            "every permission of {}",
            quoted(&requirement.all_permissions)
        ));
    }
    if !requirement.any_permission.is_empty() {
        forbidden.push(format!(
            "one permission of {}",
            quoted(&requirement.any_permission)
        ));
    }
    let mut forbidden_text = Vec::new();
    if !forbidden.is_empty() {
        forbidden_text.push(format!(
            "The token does not hold {} (`MissingRoleError`, `MissingPermissionError`)",
            forbidden.join(", and ")
        ));
    }
    if current_user {
        forbidden_text.push("The token's user is inactive (`InvalidUserError`)".to_owned());
    }
    let error_body = quote_spanned!(span=> ::centurion::__private::utoipa::ErrorBody);
    let challenge = quote_spanned!(span=>
        headers(("WWW-Authenticate" = String, description = "`Bearer`, with the RFC 6750 error code when a token was sent"))
    );
    let unauthorized = LitStr::new(&unauthorized, span);
    let mut tokens = quote_spanned! {span=>
        (status = 401, description = #unauthorized, body = #error_body, #challenge)
    };
    if !forbidden_text.is_empty() {
        let forbidden = LitStr::new(&format!("{}.", forbidden_text.join("; or ")), span);
        tokens.extend(quote_spanned! {span=>
            , (status = 403, description = #forbidden, body = #error_body)
        });
    }
    tokens
}

/// `("x-centurion" = json!({…}))`: the exact requirement, for the runtime's `Modify`, for
/// tools, and for the test that compares it with the guard (`json!` is utoipa's own).
fn extension(requirement: &Requirement, span: Span) -> TokenStream {
    let names = |names: &[ListedName]| -> Vec<LitStr> {
        names
            .iter()
            .map(|name| LitStr::new(&name.name, span))
            .collect()
    };
    let roles = names(&requirement.all_of);
    let any_of = names(&requirement.any_of);
    let permissions = names(&requirement.all_permissions);
    let any_permission = names(&requirement.any_permission);
    let (fresh, optional) = (requirement.fresh, requirement.optional);
    quote_spanned! {span=>
        ("x-centurion" = json!({
            "roles": [#(#roles),*],
            "any_of": [#(#any_of),*],
            "permissions": [#(#permissions),*],
            "any_permission": [#(#any_permission),*],
            "fresh": #fresh,
            "optional": #optional
        }))
    }
}

/// A `match` whose only arm is the identifier `__path_<fn>`. When `#[utoipa::path]` sits
/// above `#[secured]`, it has already emitted `struct __path_<fn>;` beside the handler, the
/// identifier resolves to that unit struct, and the pattern's type clashes with the
/// scrutinee's, whose name says what to do. Otherwise the identifier is a fresh binding and
/// the check compiles to nothing.
///
/// Known false positive: a glob import that brings another module's documented
/// `__path_<same name>` into scope; renaming the handler avoids it.
fn order_check(name: &Ident, span: Span, cfgs: &[Attribute]) -> TokenStream {
    let name = syn::ext::IdentExt::unraw(name);
    let probe = format_ident!("__path_{}", name, span = span);
    quote_spanned! {span=>
        #(#cfgs)*
        const _: () = {
            #[allow(non_snake_case, unused_variables, dead_code, unreachable_patterns, clippy::all)]
            fn __centurion_attribute_order(
                order: ::centurion::__private::write_secured_above_utoipa_path_so_it_can_document_the_security,
            ) {
                match order {
                    #probe => {}
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::Docs;
    use crate::expand::secured_with;

    /// The rewritten `#[utoipa::path]` of the expansion, as text.
    fn rewritten(attr: TokenStream, item: TokenStream) -> String {
        let out = secured_with(attr, item, Docs::Utoipa);
        let file: syn::File = syn::parse2(out).expect("the expansion parses");
        let function = file
            .items
            .iter()
            .find_map(|item| match item {
                syn::Item::Fn(function) => Some(function),
                _ => None,
            })
            .expect("the handler is emitted");
        let attr = function
            .attrs
            .iter()
            .find(|attr| super::is_utoipa_path(attr))
            .expect("the path attribute is kept");
        quote::ToTokens::to_token_stream(attr).to_string()
    }

    use proc_macro2::TokenStream;

    #[test]
    fn our_responses_go_first_and_the_extension_is_added() {
        let attr = rewritten(
            quote!(
                roles = "admin",
                any_of = "editor, author",
                any_permission = "a, b",
                fresh
            ),
            quote! {
                #[utoipa::path(post, path = "/x", responses((status = 201, description = "Created")))]
                async fn purge() {}
            },
        );
        let responses = attr.find("responses").unwrap();
        let ours = attr[responses..].find("status = 401").unwrap();
        assert!(ours < attr[responses..].find("status = 201").unwrap());
        assert_eq!(attr.matches("responses").count(), 1, "{attr}");
        assert!(attr.contains("status = 403"));
        assert!(attr.contains("one permission of `a`, `b`"));
        assert!(
            attr.contains("CSRFError"),
            "a POST mentions the CSRF header: {attr}"
        );
        assert!(attr.contains("\"x-centurion\" = json !"));
        assert!(
            attr.contains("\"any_permission\" : [\"a\" , \"b\"]"),
            "{attr}"
        );
        assert!(attr.contains("\"fresh\" : true"));
    }

    #[test]
    fn existing_extensions_are_kept_and_missing_keys_added() {
        let attr = rewritten(
            quote!(),
            quote! {
                #[utoipa::path(get, path = "/x", extensions(("x-internal" = json!(true))))]
                async fn me(user: centurion::CurrentUser<User>) {}
            },
        );
        assert_eq!(attr.matches("extensions").count(), 1, "{attr}");
        assert!(attr.contains("\"x-internal\""));
        assert!(attr.contains("\"x-centurion\""));
        assert!(attr.contains("responses ((status = 401"), "{attr}");
        assert!(
            !attr.contains("CSRFError"),
            "a GET needs no CSRF header: {attr}"
        );
        assert!(
            attr.contains("InvalidUserError"),
            "CurrentUser can answer 403: {attr}"
        );
        assert!(!attr.contains("MissingRoleError"));
    }

    fn errors_of(attr: TokenStream, item: TokenStream, docs: Docs) -> String {
        secured_with(attr, item, docs).to_string()
    }

    #[test]
    fn security_and_x_centurion_written_by_hand_are_refused() {
        let security = errors_of(
            quote!(),
            quote! {
                #[utoipa::path(get, path = "/x", security(("bearerAuth" = [])))]
                async fn me() {}
            },
            Docs::Utoipa,
        );
        assert!(security.contains("remove `security(…)` here"), "{security}");
        let extension = errors_of(
            quote!(),
            quote! {
                #[utoipa::path(get, path = "/x", extensions(("x-centurion" = json!({}))))]
                async fn me() {}
            },
            Docs::Utoipa,
        );
        assert!(
            extension.contains("writes the `x-centurion` extension"),
            "{extension}"
        );
    }

    #[test]
    fn without_the_feature_a_path_below_names_the_feature() {
        let out = errors_of(
            quote!(roles = "admin"),
            quote! {
                #[utoipa::path(get, path = "/x")]
                async fn admin() {}
            },
            Docs::Off,
        );
        assert!(
            out.contains("only with centurion's `utoipa` feature"),
            "{out}"
        );
    }

    #[test]
    fn without_a_path_below_the_order_check_is_emitted() {
        let out = errors_of(
            quote!(),
            quote!(
                async fn r#me() {}
            ),
            Docs::Utoipa,
        );
        assert!(out.contains("__centurion_attribute_order"));
        assert!(out.contains("__path_me =>"), "{out}");
    }
}
