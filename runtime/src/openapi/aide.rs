//! OpenAPI documents through [aide](https://docs.rs/aide) 0.15 (feature `aide`): the guard
//! documents itself as an operation input.
//!
//! aide builds each operation from its handler's argument types, asking every extractor for
//! its part ([`OperationInput`]). `#[secured]` makes its guard the handler's first
//! argument, so a `#[secured(…)]` handler routed with `api_route` documents its requirement
//! with no other attribute, whatever else it carries: the guard writes the `x-centurion`
//! extension (the exact requirement) and its 401 (and, for roles or permissions, 403)
//! responses with the [`ErrorBody`] schema. [`secure`], run once in `finish_api_with`,
//! declares the schemes the instance accepts and turns each `x-centurion` into the
//! operation's `security`, as utoipa's `Modify` does, since the schemes depend on the
//! instance's configuration. [`auth_routes`] adds the ready-made auth routes' operations,
//! and [`verify`](super::verify) checks a document against a router's guards, as with
//! utoipa.
//!
//! The other extractors a handler may take document what they read: [`JsonBody<T>`] its
//! request body (with `T: schemars::JsonSchema`) and a 400; `Claims` and `CurrentUser` a
//! 401; `Centurion`, `ClientInfo` and `ClientAddr` nothing.
//!
//! ```
//! use aide::axum::{ApiRouter, routing::get};
//! use aide::openapi::OpenApi;
//! use centurion::{Centurion, memory::MemoryUserStore, secured, testing::TestUser};
//!
//! #[derive(centurion::Role)]
//! enum Role { Admin }
//!
//! #[secured(roles = "admin")]
//! async fn admin() -> &'static str { "welcome" }
//!
//! # fn main() -> Result<(), centurion::Error> {
//! let auth = Centurion::<TestUser>::builder()
//!     .secret("an-example-secret-of-at-least-32-bytes!!")
//!     .user_store(MemoryUserStore::new())
//!     .build()?;
//! let schemes = auth.openapi();
//! let mut api = OpenApi::default();
//! let app: axum::Router = ApiRouter::new()
//!     .api_route("/api/admin", get(admin))
//!     .finish_api_with(&mut api, |api| centurion::openapi::aide::secure(api, &schemes))
//!     .layer(auth.layer());
//!
//! let doc = serde_json::to_value(&api).unwrap();
//! let operation = &doc["paths"]["/api/admin"]["get"];
//! assert_eq!(operation["security"], serde_json::json!([{"bearerAuth": ["admin"]}]));
//! assert_eq!(operation["x-centurion"]["roles"], serde_json::json!(["admin"]));
//! assert_eq!(
//!     operation["responses"]["403"]["content"]["application/json"]["schema"]["$ref"],
//!     "#/components/schemas/ErrorBody"
//! );
//! # Ok(()) }
//! ```

use aide::generate::GenContext;
use aide::openapi::{MediaType, Operation, PathItem, ReferenceOr, RequestBody, Response};
use aide::transform::TransformOpenApi;
use aide::{OperationInput, OperationOutput};
use schemars::JsonSchema;

use super::ErrorBody;
use super::auth_routes::{AuthRoutePaths, fragment};
use crate::centurion::Centurion;
use crate::docs::{DocRequirement, EXTENSION, SecurityDocs};
use crate::error::Error;
use crate::http::{ClientAddr, CurrentUser, Guard, JsonBody, Secured};
use crate::jwt::Claims;
use crate::session::ClientInfo;
use crate::transport::{ClearSessionCookies, SessionCookies};
use crate::user::AuthUser;

/// A response with the JSON error body.
fn error_response(ctx: &mut GenContext, description: &str) -> Response {
    Response {
        description: description.to_owned(),
        content: [("application/json".to_owned(), json_media::<ErrorBody>(ctx))].into(),
        ..Response::default()
    }
}

fn json_media<T: JsonSchema>(ctx: &mut GenContext) -> MediaType {
    MediaType {
        schema: Some(aide::openapi::SchemaObject {
            json_schema: ctx.schema.subschema_for::<T>(),
            example: None,
            external_docs: None,
        }),
        ..MediaType::default()
    }
}

const UNAUTHORIZED: &str = "No valid access token: missing, invalid, expired or revoked; or \
     the token is the session cookie and the CSRF header is missing or wrong (`CSRFError`).";

const UNAUTHORIZED_OPTIONAL: &str = "A token that is present but invalid, expired or \
     revoked, or a session cookie without its CSRF header (`CSRFError`); a request without a \
     token passes.";

/// Whether a `#[secured]` guard of the operation already documented its answers (aide
/// calls every input's `operation_input` before any `inferred_early_responses`): the
/// extractors behind it then add no second 401, which aide would report as a conflict.
fn guarded(operation: &Operation) -> bool {
    operation.extensions.contains_key(EXTENSION)
}

impl<R: Secured> OperationInput for Guard<R> {
    fn operation_input(_: &mut GenContext, operation: &mut Operation) {
        let requirement = DocRequirement::from(&R::REQUIREMENT);
        if let Ok(value) = serde_json::to_value(requirement) {
            operation.extensions.insert(EXTENSION.to_owned(), value);
        }
    }

    fn inferred_early_responses(
        ctx: &mut GenContext,
        _: &mut Operation,
    ) -> Vec<(Option<u16>, Response)> {
        let requirement = DocRequirement::from(&R::REQUIREMENT);
        let mut unauthorized = match requirement.optional {
            true => UNAUTHORIZED_OPTIONAL.to_owned(),
            false => UNAUTHORIZED.to_owned(),
        };
        if requirement.fresh {
            unauthorized.push_str(
                " Or the token comes from a refresh, not a login (`FreshTokenRequired`).",
            );
        }
        let mut out = vec![(Some(401), error_response(ctx, &unauthorized))];
        if requirement.can_forbid() {
            out.push((
                Some(403),
                error_response(
                    ctx,
                    "The token lacks a required role or permission (`MissingRoleError`, `MissingPermissionError`).",
                ),
            ));
        }
        out
    }
}

impl OperationInput for Claims {
    fn inferred_early_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<u16>, Response)> {
        match guarded(operation) {
            true => Vec::new(),
            false => vec![(Some(401), error_response(ctx, UNAUTHORIZED))],
        }
    }
}

impl<U: AuthUser> OperationInput for CurrentUser<U> {
    fn inferred_early_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<u16>, Response)> {
        let inactive = "The token's user is gone or no longer valid (`InvalidUserError`).";
        let mut out = Vec::new();
        if !guarded(operation) {
            out.push((Some(401), error_response(ctx, UNAUTHORIZED)));
        }
        // A guard's own 403 (a missing role) comes first; this one joins its description.
        let forbidden = operation.responses.as_ref().is_some_and(|r| {
            r.responses
                .contains_key(&aide::openapi::StatusCode::Code(403))
        });
        if !forbidden && !guard_can_forbid(operation) {
            out.push((Some(403), error_response(ctx, inactive)));
        }
        out
    }
}

/// Whether the operation's guard documents a 403 of its own (roles or permissions).
fn guard_can_forbid(operation: &Operation) -> bool {
    operation
        .extensions
        .get(EXTENSION)
        .and_then(|value| serde_json::from_value::<DocRequirement>(value.clone()).ok())
        .is_some_and(|requirement| requirement.can_forbid())
}

/// A handler's `centurion::Error`: any other refusal, in the JSON error shape (the
/// `default` response; the guard and the extractors document their own statuses).
impl OperationOutput for Error {
    type Inner = ErrorBody;

    fn inferred_responses(ctx: &mut GenContext, _: &mut Operation) -> Vec<(Option<u16>, Response)> {
        let any = "Any other refusal, in the JSON error shape (`error` names it).";
        vec![(None, error_response(ctx, any))]
    }
}

/// The session cookies and their answer, `{"csrf_token"}`.
impl OperationOutput for SessionCookies {
    type Inner = Self;
}

/// The cookies, expired.
impl OperationOutput for ClearSessionCookies {
    type Inner = Self;
}

impl<T: JsonSchema> OperationInput for JsonBody<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        let body = RequestBody {
            content: [("application/json".to_owned(), json_media::<T>(ctx))].into(),
            required: true,
            ..RequestBody::default()
        };
        aide::operation::set_body(ctx, operation, body);
    }

    fn inferred_early_responses(
        ctx: &mut GenContext,
        _: &mut Operation,
    ) -> Vec<(Option<u16>, Response)> {
        let bad = "A body that is not this JSON (`InvalidRequest`).";
        vec![(Some(400), error_response(ctx, bad))]
    }
}

impl<U: AuthUser> OperationInput for Centurion<U> {}
impl OperationInput for ClientInfo {}
impl OperationInput for ClientAddr {}

/// Declares the schemes of `schemes` ([`Centurion::openapi`]) and writes the `security`
/// of every operation that carries `x-centurion`; run it once, in `finish_api_with`, after
/// [`auth_routes`] if the ready-made routes are documented.
///
/// ```
/// use aide::axum::ApiRouter;
/// use aide::openapi::OpenApi;
/// use centurion::docs::{DocsConfig, SecurityDocs};
///
/// let mut api = OpenApi::default();
/// let schemes = SecurityDocs::new(DocsConfig::bearer_only());
/// let _: axum::Router = ApiRouter::new()
///     .finish_api_with(&mut api, |api| centurion::openapi::aide::secure(api, &schemes));
/// let doc = serde_json::to_value(&api).unwrap();
/// assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
/// ```
pub fn secure<'a>(mut api: TransformOpenApi<'a>, schemes: &SecurityDocs) -> TransformOpenApi<'a> {
    let config = schemes.config();
    for (name, scheme) in config.schemes() {
        // `DocsConfig::schemes` writes OpenAPI's own JSON, which aide reads (a unit test
        // reads every kind).
        if let Ok(scheme) = serde_json::from_value(scheme) {
            api = api.security_scheme(&name, scheme);
        }
    }
    let Some(paths) = api.inner_mut().paths.as_mut() else {
        return api;
    };
    for item in paths.paths.values_mut() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        for (method, operation) in operations_mut(item) {
            let Some(value) = operation.extensions.get(EXTENSION) else {
                continue;
            };
            // An unreadable extension is left without `security`, which
            // `docs::check_document` reports.
            let Ok(requirement) = serde_json::from_value::<DocRequirement>(value.clone()) else {
                continue;
            };
            operation.security = config
                .alternatives(&requirement, method)
                .into_iter()
                .map(|object| object.into_iter().collect())
                .collect();
        }
    }
    api
}

/// Adds the ready-made auth routes' operations, mounted as `paths` says (build it from the
/// route groups' `paths()`), with their schemas; run [`secure`] after it so that the
/// logout routes get their `security`.
///
/// ```
/// use aide::axum::ApiRouter;
/// use aide::openapi::OpenApi;
/// use centurion::docs::{DocsConfig, SecurityDocs};
/// use centurion::openapi::AuthRoutePaths;
///
/// let mut api = OpenApi::default();
/// let schemes = SecurityDocs::new(DocsConfig::bearer_only());
/// let paths = AuthRoutePaths { session: None, ..AuthRoutePaths::default() };
/// let _: axum::Router = ApiRouter::new().finish_api_with(&mut api, |api| {
///     let api = centurion::openapi::aide::auth_routes(api, &paths);
///     centurion::openapi::aide::secure(api, &schemes)
/// });
/// let doc = serde_json::to_value(&api).unwrap();
/// assert!(doc["paths"]["/auth/login"]["post"]["requestBody"].is_object());
/// assert_eq!(doc["paths"]["/auth/logout"]["post"]["security"], serde_json::json!([{"bearerAuth": []}, {}]));
/// assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
/// ```
pub fn auth_routes<'a>(
    mut api: TransformOpenApi<'a>,
    paths: &AuthRoutePaths,
) -> TransformOpenApi<'a> {
    let fragment = fragment(paths);
    let inner = api.inner_mut();
    let documented = inner.paths.get_or_insert_with(Default::default);
    if let Some(items) = fragment["paths"].as_object() {
        for (path, item) in items {
            // The fragment is OpenAPI's own JSON; a unit test reads every shape of it.
            if let Ok(item) = serde_json::from_value::<PathItem>(item.clone()) {
                documented
                    .paths
                    .insert(path.clone(), ReferenceOr::Item(item));
            }
        }
    }
    let components = inner.components.get_or_insert_with(Default::default);
    if let Some(schemas) = fragment["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            if let Ok(schema) = serde_json::from_value(schema.clone()) {
                components.schemas.insert(name.clone(), schema);
            }
        }
    }
    if !components.schemas.contains_key("ErrorBody") {
        let schema = schemars::SchemaGenerator::default().into_root_schema_for::<ErrorBody>();
        let mut schema = schema.to_value();
        if let Some(object) = schema.as_object_mut() {
            object.remove("$schema");
        }
        if let Ok(schema) = serde_json::from_value(schema) {
            components.schemas.insert("ErrorBody".to_owned(), schema);
        }
    }
    api
}

/// The operations of a path item with their lower-case method names.
fn operations_mut(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    let PathItem {
        get,
        put,
        post,
        delete,
        options,
        head,
        patch,
        trace,
        ..
    } = item;
    [
        ("get", get),
        ("put", put),
        ("post", post),
        ("delete", delete),
        ("options", options),
        ("head", head),
        ("patch", patch),
        ("trace", trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_mut().map(|operation| (method, operation)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::{CookieDocs, DocsConfig};

    /// Every kind of scheme `DocsConfig::schemes` writes reads into aide's types and back
    /// unchanged, so `secure` drops none.
    #[test]
    fn every_scheme_reads_into_aide_unchanged() {
        let config = DocsConfig {
            bearer: true,
            cookie: Some(CookieDocs {
                access_cookie: "access_token".into(),
                refresh_cookie: "refresh_token".into(),
                csrf_header: Some("X-CSRF-Token".into()),
            }),
            oidc: Vec::new(),
        }
        .with_provider("https://id.example.com");
        for (name, json) in config.schemes() {
            let read: aide::openapi::SecurityScheme = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(serde_json::to_value(read).unwrap(), json, "{name}");
        }
    }

    /// Every operation and schema of the ready-made routes' fragment reads into aide's
    /// types: `auth_routes` drops none (aide writes back some defaults, e.g. `style`).
    #[test]
    fn the_fragment_reads_into_aide() {
        let doc = fragment(&AuthRoutePaths::default());
        for (path, item) in doc["paths"].as_object().unwrap() {
            serde_json::from_value::<PathItem>(item.clone())
                .unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            serde_json::from_value::<aide::openapi::SchemaObject>(schema.clone())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
