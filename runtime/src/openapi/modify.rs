//! The utoipa side: [`SecurityDocs`] as a [`Modify`] that declares the instance's schemes
//! and writes each `#[secured]` operation's `security`.

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Components, OpenApi};
use utoipa::{Modify, PartialSchema, ToSchema};

use super::ErrorBody;
use crate::docs::{DocRequirement, DocsConfig, EXTENSION, SecurityDocs, SecurityObject};

impl Modify for SecurityDocs {
    fn modify(&self, api: &mut OpenApi) {
        let config = self.config();
        let components = api.components.get_or_insert_with(Components::new);
        add_schemes(components, config);
        components
            .schemas
            .entry(ErrorBody::name().into_owned())
            .or_insert_with(ErrorBody::schema);
        for item in api.paths.paths.values_mut() {
            for (method, operation) in operations_mut(item) {
                // An unreadable extension is left without `security`, which
                // `docs::check_document` reports.
                if let Some(requirement) = requirement_of(operation) {
                    operation.security = Some(security(config.alternatives(&requirement, method)));
                }
            }
        }
    }
}

fn add_schemes(components: &mut Components, config: &DocsConfig) {
    for (name, scheme) in config.schemes() {
        // `DocsConfig::schemes` writes OpenAPI's own JSON, which utoipa reads (a unit test
        // reads every kind).
        if let Ok(scheme) = serde_json::from_value::<SecurityScheme>(scheme) {
            components.add_security_scheme(name, scheme);
        }
    }
}

fn security(objects: Vec<SecurityObject>) -> Vec<SecurityRequirement> {
    objects
        .into_iter()
        .map(|object| {
            object.into_iter().fold(
                SecurityRequirement::default(),
                |requirement, (name, list)| requirement.add(name, list),
            )
        })
        .collect()
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

/// The requirement an operation documents in its `x-centurion` extension, if it has a
/// readable one.
///
/// ```
/// use utoipa::openapi::path::OperationBuilder;
/// let operation = OperationBuilder::new().build();
/// assert!(centurion::openapi::requirement_of(&operation).is_none());
/// ```
pub fn requirement_of(operation: &Operation) -> Option<DocRequirement> {
    let value = operation.extensions.as_ref()?.get(EXTENSION)?;
    serde_json::from_value(value.clone()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::CookieDocs;

    /// Every kind of scheme `DocsConfig::schemes` writes reads into utoipa's types and back
    /// unchanged, so none is dropped by `add_schemes`.
    #[test]
    fn every_scheme_reads_into_utoipa_unchanged() {
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
        let schemes = config.schemes();
        assert_eq!(schemes.len(), 5);
        for (name, json) in schemes {
            let read: SecurityScheme = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(serde_json::to_value(read).unwrap(), json, "{name}");
        }
    }
}
