//! What an API document says about security, independent of the OpenAPI library: the
//! `x-centurion` operation extension ([`DocRequirement`]), the schemes an instance accepts
//! ([`DocsConfig`]), the security requirement objects a requirement becomes
//! ([`DocsConfig::alternatives`]), and [`check_document`], the check a schema validator
//! does not make. `centurion::openapi` (feature `utoipa` or `aide`) builds on it.
//!
//! The mapping (OpenAPI 3.1 lets a non-OAuth scheme list "role names which are required for
//! the execution"; the objects of a `security` list are alternatives, the schemes inside
//! one object must all be satisfied):
//!
//! | `#[secured(…)]` | `security` (bearer and cookie accepted) |
//! | --- | --- |
//! | *(none)* | `[{bearerAuth: []}, {sessionCookie: []}]`, plus `csrfToken: []` beside the cookie on POST, PUT, PATCH and DELETE |
//! | `roles = "admin"` | `[{bearerAuth: ["admin"]}, {sessionCookie: ["admin"]}]` |
//! | `any_of = "editor, author"` | one object per role of `any_of` (a list means all of its names) |
//! | `permissions = "reports:read"`, `fresh` | the names in each list: `{bearerAuth: ["reports:read", "fresh"]}` |
//! | `any_permission = "a, b"` | one object per permission of `any_permission` |
//! | `optional` | the same, then `{}` (anonymous) |
//! | an identity provider | `{oidc: [<permissions>]}`: for OpenID Connect the list holds scopes, and only permissions can be met by scopes |
//!
//! The exact requirement is in `x-centurion` (`{"roles", "any_of", "permissions",
//! "any_permission", "fresh", "optional"}`), which tools can read without parsing lists.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The operation extension that carries a `#[secured]` handler's exact requirement.
pub const EXTENSION: &str = "x-centurion";

/// The word that stands for freshness in a security requirement's list.
pub const FRESH: &str = "fresh";

/// Security scheme names, as they appear under `components.securitySchemes`.
pub mod scheme {
    /// `Authorization: Bearer <JWT>` (type `http`, scheme `bearer`).
    pub const BEARER: &str = "bearerAuth";
    /// The access-token cookie (type `apiKey`, in `cookie`).
    pub const COOKIE: &str = "sessionCookie";
    /// The CSRF header a cookie-authenticated unsafe request carries (type `apiKey`, in
    /// `header`).
    pub const CSRF: &str = "csrfToken";
    /// The refresh-token cookie, read only by the cookie session's refresh route (type
    /// `apiKey`, in `cookie`).
    pub const REFRESH_COOKIE: &str = "refreshCookie";
    /// The first identity provider (`oidc_2`, `oidc_3`, … for the next ones).
    pub const OIDC: &str = "oidc";
}

/// A requirement as documented: the value of the `x-centurion` extension.
///
/// ```
/// use centurion::docs::DocRequirement;
/// let value = serde_json::json!({"roles": ["admin"], "fresh": true});
/// let requirement: DocRequirement = serde_json::from_value(value).unwrap();
/// assert!(requirement.can_forbid());
/// assert_eq!(requirement.name_lists(), [vec!["admin".to_owned(), "fresh".to_owned()]]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DocRequirement {
    /// Roles that must all be held.
    pub roles: Vec<String>,
    /// Roles of which one must be held (none when empty).
    pub any_of: Vec<String>,
    /// Permissions that must all be held.
    pub permissions: Vec<String>,
    /// Permissions of which one must be held (none when empty).
    pub any_permission: Vec<String>,
    /// Whether the token must come from a login, not a refresh.
    pub fresh: bool,
    /// Whether a request without a token passes anonymously.
    pub optional: bool,
}

impl DocRequirement {
    /// Whether the guard can answer 403 (a role or permission is asked for).
    ///
    /// ```
    /// assert!(!centurion::docs::DocRequirement::default().can_forbid());
    /// ```
    pub fn can_forbid(&self) -> bool {
        !(self.roles.is_empty()
            && self.any_of.is_empty()
            && self.permissions.is_empty()
            && self.any_permission.is_empty())
    }

    /// The names listed for a bearer or cookie scheme, one list per way of satisfying the
    /// any-of lists: the roles, one role of `any_of`, the permissions, one permission of
    /// `any_permission`, and `fresh`.
    ///
    /// ```
    /// use centurion::docs::DocRequirement;
    /// let requirement = DocRequirement {
    ///     any_of: vec!["editor".into(), "author".into()],
    ///     ..DocRequirement::default()
    /// };
    /// assert_eq!(requirement.name_lists(), [vec!["editor".to_owned()], vec!["author".to_owned()]]);
    /// ```
    pub fn name_lists(&self) -> Vec<Vec<String>> {
        let one_of = |names: &[String]| -> Vec<Option<String>> {
            if names.is_empty() {
                vec![None]
            } else {
                names.iter().cloned().map(Some).collect()
            }
        };
        let mut lists = Vec::new();
        for role in one_of(&self.any_of) {
            for permission in one_of(&self.any_permission) {
                let mut list = self.roles.clone();
                list.extend(role.clone());
                list.extend(self.permissions.iter().cloned());
                list.extend(permission);
                if self.fresh {
                    list.push(FRESH.to_owned());
                }
                lists.push(list);
            }
        }
        lists
    }

    /// The permissions an identity provider's scopes must grant, one list per way of
    /// satisfying `any_permission` (a provider's roles come from a claim, not from scopes).
    fn scope_lists(&self) -> Vec<Vec<String>> {
        if self.any_permission.is_empty() {
            return vec![self.permissions.clone()];
        }
        self.any_permission
            .iter()
            .map(|permission| {
                let mut list = self.permissions.clone();
                list.push(permission.clone());
                list
            })
            .collect()
    }
}

/// The session cookie as documented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieDocs {
    /// The access cookie's name as browsers see it (with its `__Host-` or `__Secure-`
    /// prefix when the cookies are secure).
    pub access_cookie: String,
    /// The refresh cookie's name as browsers see it.
    pub refresh_cookie: String,
    /// The CSRF header's name, `None` when CSRF protection is off.
    pub csrf_header: Option<String>,
}

/// An identity provider as documented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcDocs {
    /// The security scheme's name: `oidc`, then `oidc_2`, `oidc_3`, …
    pub scheme: String,
    /// The issuer; its discovery document is `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
}

/// How an instance accepts tokens: what decides the security schemes and alternatives.
/// [`Centurion::openapi`](crate::Centurion::openapi) derives it from the configuration.
///
/// ```
/// use centurion::docs::{DocRequirement, DocsConfig};
/// let config = DocsConfig::bearer_only();
/// let security = config.alternatives(&DocRequirement::default(), "get");
/// assert_eq!(serde_json::to_value(security).unwrap(), serde_json::json!([{"bearerAuth": []}]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocsConfig {
    /// Tokens in `Authorization: Bearer`.
    pub bearer: bool,
    /// Tokens in a cookie.
    pub cookie: Option<CookieDocs>,
    /// Identity providers whose access tokens are accepted.
    pub oidc: Vec<OidcDocs>,
}

/// One security requirement object: scheme name → list.
pub type SecurityObject = BTreeMap<String, Vec<String>>;

/// Whether a request with this method and a cookie token needs the CSRF header.
///
/// ```
/// assert!(centurion::docs::is_unsafe("POST"));
/// assert!(!centurion::docs::is_unsafe("get"));
/// ```
pub fn is_unsafe(method: &str) -> bool {
    !["get", "head", "options", "trace"]
        .iter()
        .any(|safe| method.eq_ignore_ascii_case(safe))
}

impl DocsConfig {
    /// Bearer tokens only, the default configuration.
    pub fn bearer_only() -> Self {
        DocsConfig {
            bearer: true,
            cookie: None,
            oidc: Vec::new(),
        }
    }

    /// Adds an identity provider, named `oidc`, `oidc_2`, … in the order added.
    pub fn with_provider(mut self, issuer: &str) -> Self {
        let scheme = match self.oidc.len() {
            0 => scheme::OIDC.to_owned(),
            n => format!("{}_{}", scheme::OIDC, n + 1),
        };
        self.oidc.push(OidcDocs {
            scheme,
            issuer: issuer.to_owned(),
        });
        self
    }

    /// The security schemes to declare under `components.securitySchemes`, by name, as
    /// OpenAPI JSON: what both the utoipa and the aide integration declare.
    ///
    /// ```
    /// use centurion::docs::DocsConfig;
    /// let schemes = DocsConfig::bearer_only().with_provider("https://id.example.com/").schemes();
    /// assert_eq!(schemes[0].0, "bearerAuth");
    /// assert_eq!(schemes[0].1["scheme"], "bearer");
    /// assert_eq!(
    ///     schemes[1].1["openIdConnectUrl"],
    ///     "https://id.example.com/.well-known/openid-configuration"
    /// );
    /// ```
    pub fn schemes(&self) -> Vec<(String, serde_json::Value)> {
        let mut out = Vec::new();
        if self.bearer {
            out.push((
                scheme::BEARER.to_owned(),
                serde_json::json!({
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An access token in `Authorization: Bearer`. A security \
                        requirement lists the roles and permissions the token must hold, and \
                        `fresh` when it must come from a login rather than a refresh.",
                }),
            ));
        }
        if let Some(cookie) = &self.cookie {
            let api_key = |place: &str, name: &str, description: &str| {
                serde_json::json!({
                    "type": "apiKey", "in": place, "name": name, "description": description,
                })
            };
            out.push((
                scheme::COOKIE.to_owned(),
                api_key(
                    "cookie",
                    &cookie.access_cookie,
                    "The HttpOnly access-token cookie of a cookie session. A security \
                     requirement lists the roles and permissions its token must hold, as for \
                     the bearer token.",
                ),
            ));
            out.push((
                scheme::REFRESH_COOKIE.to_owned(),
                api_key(
                    "cookie",
                    &cookie.refresh_cookie,
                    "The HttpOnly refresh-token cookie of a cookie session.",
                ),
            ));
            if let Some(header) = &cookie.csrf_header {
                out.push((
                    scheme::CSRF.to_owned(),
                    api_key(
                        "header",
                        header,
                        "The session's CSRF token (from the session answer and its \
                         script-readable cookie), required beside the session cookie on POST, \
                         PUT, PATCH and DELETE.",
                    ),
                ));
            }
        }
        for provider in &self.oidc {
            out.push((
                provider.scheme.clone(),
                serde_json::json!({
                    "type": "openIdConnect",
                    "openIdConnectUrl": format!(
                        "{}/.well-known/openid-configuration",
                        provider.issuer.trim_end_matches('/')
                    ),
                    "description": format!(
                        "Access tokens of the identity provider {}; listed scopes are the \
                         permissions they must grant.",
                        provider.issuer
                    ),
                }),
            ));
        }
        out
    }

    /// The operation's `security` for this requirement and HTTP method: any one object
    /// satisfies it.
    pub fn alternatives(&self, requirement: &DocRequirement, method: &str) -> Vec<SecurityObject> {
        let mut out = Vec::new();
        for names in requirement.name_lists() {
            if self.bearer {
                out.push(SecurityObject::from([(
                    scheme::BEARER.to_owned(),
                    names.clone(),
                )]));
            }
            if let Some(cookie) = &self.cookie {
                let mut object = SecurityObject::from([(scheme::COOKIE.to_owned(), names.clone())]);
                if cookie.csrf_header.is_some() && is_unsafe(method) {
                    object.insert(scheme::CSRF.to_owned(), Vec::new());
                }
                out.push(object);
            }
        }
        // A fresh requirement cannot be met by a provider's token (only a login here makes
        // a fresh one), so providers are offered only without `fresh`.
        if !requirement.fresh {
            for provider in &self.oidc {
                for scopes in requirement.scope_lists() {
                    out.push(SecurityObject::from([(provider.scheme.clone(), scopes)]));
                }
            }
        }
        if requirement.optional {
            out.push(SecurityObject::new());
        }
        out
    }
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The operations of a document as `(method, path, operation)`.
pub(crate) fn operations(doc: &serde_json::Value) -> Vec<(&'static str, &str, &serde_json::Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                out.push((method, path.as_str(), operation));
            }
        }
    }
    out
}

/// Checks what a schema validator does not: every scheme a `security` names is declared
/// under `components.securitySchemes`, and every operation with `x-centurion` has a
/// `security` (the schemes were applied). Returns every problem found.
///
/// ```
/// let doc = serde_json::json!({
///     "paths": {"/x": {"get": {"security": [{"apiKey": []}], "responses": {}}}},
/// });
/// let problems = centurion::docs::check_document(&doc).unwrap_err();
/// assert!(problems[0].contains("`apiKey`"));
/// ```
pub fn check_document(doc: &serde_json::Value) -> Result<(), Vec<String>> {
    let declared = doc["components"]["securitySchemes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut problems = Vec::new();
    let mut check = |place: &str, security: Option<&serde_json::Value>| {
        for object in security.and_then(|s| s.as_array()).into_iter().flatten() {
            for name in object.as_object().into_iter().flat_map(|o| o.keys()) {
                if !declared.contains_key(name) {
                    problems.push(format!(
                        "{place}: security names `{name}`, which is not declared"
                    ));
                }
            }
        }
    };
    check("the document", doc.get("security"));
    let mut unapplied = Vec::new();
    for (method, path, operation) in operations(doc) {
        let place = format!("{} {path}", method.to_uppercase());
        check(&place, operation.get("security"));
        if operation.get(EXTENSION).is_some() && operation.get("security").is_none() {
            unapplied.push(format!(
                "{place}: {EXTENSION} without security (were the instance's schemes applied?)"
            ));
        }
    }
    problems.extend(unapplied);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// What [`Centurion::openapi`](crate::Centurion::openapi) returns: the schemes an
/// instance accepts, applied to a document by `centurion::openapi` (utoipa's `Modify`, or
/// `openapi::aide::secure`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityDocs {
    config: DocsConfig,
}

impl SecurityDocs {
    /// The schemes of `config` (for an application that documents another instance's
    /// configuration; [`Centurion::openapi`](crate::Centurion::openapi) is the usual way).
    pub fn new(config: DocsConfig) -> Self {
        SecurityDocs { config }
    }

    /// The configuration documented.
    pub fn config(&self) -> &DocsConfig {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both() -> DocsConfig {
        DocsConfig {
            bearer: true,
            cookie: Some(CookieDocs {
                access_cookie: "access_token".into(),
                refresh_cookie: "refresh_token".into(),
                csrf_header: Some("X-CSRF-Token".into()),
            }),
            oidc: Vec::new(),
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    fn json(objects: Vec<SecurityObject>) -> serde_json::Value {
        serde_json::to_value(objects).unwrap()
    }

    #[test]
    fn any_of_is_one_object_per_role_and_csrf_only_on_unsafe_methods() {
        let requirement = DocRequirement {
            any_of: names(&["editor", "author"]),
            ..DocRequirement::default()
        };
        assert_eq!(
            json(both().alternatives(&requirement, "post")),
            serde_json::json!([
                {"bearerAuth": ["editor"]},
                {"sessionCookie": ["editor"], "csrfToken": []},
                {"bearerAuth": ["author"]},
                {"sessionCookie": ["author"], "csrfToken": []},
            ])
        );
        assert_eq!(
            json(both().alternatives(&requirement, "get")),
            serde_json::json!([
                {"bearerAuth": ["editor"]},
                {"sessionCookie": ["editor"]},
                {"bearerAuth": ["author"]},
                {"sessionCookie": ["author"]},
            ])
        );
    }

    #[test]
    fn optional_ends_with_the_anonymous_alternative() {
        let requirement = DocRequirement {
            optional: true,
            ..DocRequirement::default()
        };
        let security = json(DocsConfig::bearer_only().alternatives(&requirement, "get"));
        assert_eq!(security, serde_json::json!([{"bearerAuth": []}, {}]));
    }

    #[test]
    fn providers_list_permissions_as_scopes_and_are_not_offered_for_fresh() {
        let config = DocsConfig::bearer_only()
            .with_provider("https://id.example")
            .with_provider("https://other.example");
        let requirement = DocRequirement {
            roles: names(&["admin"]),
            permissions: names(&["reports:read"]),
            any_permission: names(&["a", "b"]),
            ..DocRequirement::default()
        };
        assert_eq!(
            json(config.alternatives(&requirement, "get")),
            serde_json::json!([
                {"bearerAuth": ["admin", "reports:read", "a"]},
                {"bearerAuth": ["admin", "reports:read", "b"]},
                {"oidc": ["reports:read", "a"]},
                {"oidc": ["reports:read", "b"]},
                {"oidc_2": ["reports:read", "a"]},
                {"oidc_2": ["reports:read", "b"]},
            ])
        );
        let fresh = DocRequirement {
            fresh: true,
            ..DocRequirement::default()
        };
        assert_eq!(
            json(config.alternatives(&fresh, "post")),
            serde_json::json!([{"bearerAuth": ["fresh"]}])
        );
    }

    #[test]
    fn unknown_fields_in_the_extension_are_refused() {
        let wrong = serde_json::json!({"roles": [], "role": ["admin"]});
        assert!(serde_json::from_value::<DocRequirement>(wrong).is_err());
    }

    #[test]
    fn an_applied_extension_needs_security() {
        let doc = serde_json::json!({
            "paths": {"/x": {"post": {"x-centurion": {}, "responses": {}}}},
            "components": {"securitySchemes": {"bearerAuth": {}}},
        });
        let problems = check_document(&doc).unwrap_err();
        assert!(problems[0].starts_with("POST /x: x-centurion without security"));
    }
}
