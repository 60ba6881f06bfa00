//! The ready-made auth routes' part of a document, at the paths they are mounted at.
//!
//! Built once as JSON (so another OpenAPI library can read the same fragment) and read
//! into utoipa's types. The logout routes carry `x-centurion` like a `#[secured]` handler
//! (the token logout's access token is optional: the refresh token alone may log out), so
//! the instance's schemes write their `security` and [`verify`](super::verify) checks them
//! against what the ready-made handlers answer its probe.

// With the internal `openapi` feature alone (neither library), nothing reads the fragment.
#![cfg_attr(not(any(feature = "utoipa", feature = "aide")), allow(dead_code))]

use serde_json::{Map, Value, json};

use crate::docs::{EXTENSION, scheme};

/// `POST` login, refresh and logout (the token routes), at these paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenPaths {
    /// `{"username", "password"}` → a token pair (default `/auth/login`).
    pub login: String,
    /// `{"refresh_token"}` → the next pair (default `/auth/refresh`).
    pub refresh: String,
    /// Revokes the access token and, given `{"refresh_token"}`, its family (default
    /// `/auth/logout`).
    pub logout: String,
    /// The fields of the login's answer when the application shapes it
    /// ([`TokenRoutes::login_body`](crate::routes::TokenRoutes::login_body)); `None`: the
    /// `TokenPair`.
    pub login_fields: Option<Vec<String>>,
    /// The fields of the refresh's answer when the application shapes it
    /// ([`TokenRoutes::refresh_body`](crate::routes::TokenRoutes::refresh_body)); `None`:
    /// the `TokenPair`.
    pub refresh_fields: Option<Vec<String>>,
}

impl Default for TokenPaths {
    fn default() -> Self {
        TokenPaths {
            login: "/auth/login".into(),
            refresh: "/auth/refresh".into(),
            logout: "/auth/logout".into(),
            login_fields: None,
            refresh_fields: None,
        }
    }
}

/// `POST` registration and its confirmation, at these paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationPaths {
    /// `{"username", "email", "password"}` → 201 (default `/auth/register`).
    pub register: String,
    /// `{"token"}` → the confirmed user (default `/auth/confirm`).
    pub confirm: String,
    /// The fields of the confirmation's answer (default `id`, `username`, `active`).
    pub confirmed_fields: Vec<String>,
}

impl Default for RegistrationPaths {
    fn default() -> Self {
        RegistrationPaths {
            register: "/auth/register".into(),
            confirm: "/auth/confirm".into(),
            confirmed_fields: vec!["id".into(), "username".into(), "active".into()],
        }
    }
}

/// `POST` password forgotten and reset, at these paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordResetPaths {
    /// `{"email"}` → 202 whatever the address (default `/auth/password/forgot`).
    pub forgot: String,
    /// `{"token", "password"}` → 200 (default `/auth/password/reset`).
    pub reset: String,
    /// The fields of the reset's answer (default `id`, `message`).
    pub reset_fields: Vec<String>,
}

impl Default for PasswordResetPaths {
    fn default() -> Self {
        PasswordResetPaths {
            forgot: "/auth/password/forgot".into(),
            reset: "/auth/password/reset".into(),
            reset_fields: vec!["id".into(), "message".into()],
        }
    }
}

/// The cookie session: `POST` (log in) and `DELETE` (log out) at one path, and its
/// refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionPaths {
    /// Default `/auth/session`.
    pub session: String,
    /// Default `/auth/session/refresh`.
    pub refresh: String,
}

impl Default for SessionPaths {
    fn default() -> Self {
        SessionPaths {
            session: "/auth/session".into(),
            refresh: "/auth/session/refresh".into(),
        }
    }
}

/// Which groups of ready-made routes are mounted, where, and whether the routes that check
/// passwords or count per address are throttled (they then document 429 with
/// `Retry-After`). The default is every group at its default path, throttled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthRoutePaths {
    /// Login, refresh, logout.
    pub tokens: Option<TokenPaths>,
    /// Registration and confirmation.
    pub registration: Option<RegistrationPaths>,
    /// Password reset.
    pub password_reset: Option<PasswordResetPaths>,
    /// The cookie session (needs the session cookies configured).
    pub session: Option<SessionPaths>,
    /// Whether a throttle is given to the routes.
    pub throttled: bool,
}

impl Default for AuthRoutePaths {
    fn default() -> Self {
        AuthRoutePaths {
            tokens: Some(TokenPaths::default()),
            registration: Some(RegistrationPaths::default()),
            password_reset: Some(PasswordResetPaths::default()),
            session: Some(SessionPaths::default()),
            throttled: true,
        }
    }
}

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    })
}

fn throttled(description: &str) -> Value {
    let mut response = error(description);
    response["headers"] = json!({"Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }});
    response
}

fn json_body(schema: &str, required: bool) -> Value {
    json!({
        "required": required,
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}},
    })
}

fn json_answer(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn reference(schema: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{schema}")})
}

fn strings(required: &[&str]) -> Value {
    let properties: Map<String, Value> = required
        .iter()
        .map(|name| ((*name).to_owned(), json!({"type": "string"})))
        .collect();
    json!({"type": "object", "required": required, "properties": properties})
}

/// An object with these fields, whose types the application chooses (utoipa has no
/// schema for "any value", so the fields are named in the description).
fn chosen_fields(fields: &[String]) -> Value {
    let description = match fields {
        [] => "The application's own answer.".to_owned(),
        fields => format!("The fields the application chose: {}.", fields.join(", ")),
    };
    json!({"type": "object", "description": description})
}

/// The `TokenPair` schema, or the fields the application chose for a pair's answer.
fn pair_or_chosen(fields: Option<&[String]>) -> Value {
    match fields {
        None => reference("TokenPair"),
        Some(fields) => chosen_fields(fields),
    }
}

/// An operation guarded like a plain `#[secured]` handler.
fn guarded(mut operation: Value) -> Value {
    operation[EXTENSION] = json!({
        "roles": [], "any_of": [], "permissions": [], "any_permission": [],
        "fresh": false, "optional": false,
    });
    operation["responses"]["401"] = error(
        "No valid access token: missing, invalid, expired or revoked; or the token is the \
         session cookie and the CSRF header is missing or wrong (`CSRFError`).",
    );
    operation
}

/// The token logout: the access token is optional (`x-centurion`'s `optional`), since
/// the refresh token in the body alone may end the session; without either it answers 401.
fn logout_by_either_token(operation: Value) -> Value {
    let mut operation = guarded(operation);
    operation[EXTENSION]["optional"] = json!(true);
    operation["responses"]["401"] = error(
        "Neither a valid (or expired) access token nor a refresh token; or an access token \
         refused for another reason (revoked, invalid, a cookie without its CSRF header); or \
         a refresh token that is invalid or not the access token's user's.",
    );
    operation
}

/// A public operation: `security: [{}]` says no credentials are needed, overriding a
/// document-wide requirement.
fn public(mut operation: Value, throttle: Option<&str>) -> Value {
    operation["security"] = json!([{}]);
    if let Some(description) = throttle {
        operation["responses"]["429"] = throttled(description);
    }
    operation
}

fn add(paths: &mut Map<String, Value>, path: &str, method: &str, operation: Value) {
    let item = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
    item[method] = operation;
}

/// The operations of the ready-made auth routes mounted as `paths` says, with their
/// request and answer schemas, error responses, cookies and CSRF behaviour: merge it into
/// the application's document before applying the instance's schemes
/// ([`Centurion::openapi`](crate::Centurion::openapi)), which write the logout routes'
/// `security`.
///
/// ```
/// use centurion::openapi::{AuthRoutePaths, TokenPaths, auth_routes};
/// let paths = AuthRoutePaths {
///     tokens: Some(TokenPaths { login: "/login".into(), ..TokenPaths::default() }),
///     registration: None,
///     password_reset: None,
///     session: None,
///     throttled: false,
/// };
/// let fragment = serde_json::to_value(auth_routes(&paths)).unwrap();
/// assert!(fragment["paths"]["/login"]["post"]["requestBody"].is_object());
/// assert!(fragment["paths"]["/login"]["post"]["responses"]["429"].is_null());
/// // The refresh token alone may log out, so the access token is optional there.
/// assert_eq!(fragment["paths"]["/auth/logout"]["post"]["x-centurion"]["optional"], true);
/// ```
#[cfg(feature = "utoipa")]
pub fn auth_routes(paths: &AuthRoutePaths) -> utoipa::openapi::OpenApi {
    use utoipa::{PartialSchema, ToSchema};
    let fragment = fragment(paths);
    // Cannot fail: the fragment is OpenAPI's own JSON built from constants, and the only
    // input, the application's paths, are map keys (any string reads). A unit test reads
    // every shape of it (`the_fragment_reads_into_utoipa_unchanged`).
    let mut api: utoipa::openapi::OpenApi =
        serde_json::from_value(fragment).expect("the auth routes' fragment is an OpenAPI document");
    // The same schema `#[secured]` documents, whichever part of a document comes first.
    if let Some(components) = &mut api.components {
        components.schemas.insert(
            super::ErrorBody::name().into_owned(),
            super::ErrorBody::schema(),
        );
    }
    api
}

/// The fragment as OpenAPI JSON (`openapi`, `info`, `paths`, `components`), without the
/// `ErrorBody` schema its error responses name: each library writes that one from its own
/// derive of [`ErrorBody`](super::ErrorBody).
pub(super) fn fragment(config: &AuthRoutePaths) -> Value {
    let throttle = |description: &'static str| config.throttled.then_some(description);
    let mut paths = Map::new();
    let bad_body = error("A malformed body (`InvalidRequest`).");
    let unavailable = error("A backing store is unavailable (`StoreUnavailable`).");
    if let Some(tokens) = &config.tokens {
        add(
            &mut paths,
            &tokens.login,
            "post",
            public(
                json!({
                    "tags": ["auth"],
                    "operationId": "auth_login",
                    "summary": "Log in with a username and password",
                    "requestBody": json_body("Credentials", true),
                    "responses": {
                        "200": json_answer("A new token pair.", pair_or_chosen(tokens.login_fields.as_deref())),
                        "400": bad_body,
                        "401": error("Bad credentials: one answer for an unknown user and a wrong password (`AuthenticationError`)."),
                        "403": error("The user is inactive (`InvalidUserError`)."),
                        "503": unavailable,
                    },
                }),
                throttle("Too many attempts for this account or address (`TooManyRequests`)."),
            ),
        );
        add(
            &mut paths,
            &tokens.refresh,
            "post",
            public(
                json!({
                    "tags": ["auth"],
                    "operationId": "auth_refresh",
                    "summary": "Trade a refresh token for the next pair (the token is spent)",
                    "requestBody": json_body("RefreshRequest", true),
                    "responses": {
                        "200": json_answer("The next token pair.", pair_or_chosen(tokens.refresh_fields.as_deref())),
                        "400": bad_body,
                        "401": error("The refresh token is invalid, expired, revoked or spent; a spent one presented after the grace window ends its session (`RefreshReuseError`)."),
                        "503": unavailable,
                    },
                }),
                None,
            ),
        );
        add(
            &mut paths,
            &tokens.logout,
            "post",
            logout_by_either_token(json!({
                "tags": ["auth"],
                "operationId": "auth_logout",
                "summary": "Revoke the access token and its family, and the family of the refresh token given",
                "description": "With a valid access token, its session ends (and the refresh token's, if one is given). \
                    Without one, or with an expired one, the refresh token in the body alone ends its session: \
                    the `{}` alternative of `security` is that case, not an anonymous logout.",
                "requestBody": json_body("LogoutRequest", false),
                "responses": {
                    "200": json_answer("Logged out.", reference("Message")),
                    "400": bad_body,
                },
            })),
        );
    }
    if let Some(registration) = &config.registration {
        add(
            &mut paths,
            &registration.register,
            "post",
            public(
                json!({
                    "tags": ["auth"],
                    "operationId": "auth_register",
                    "summary": "Register an inactive user and mail a confirmation link",
                    "description": "Answers the same 201 whether or not the address is registered already (its owner gets a mail instead of a confirmation).",
                    "requestBody": json_body("Registration", true),
                    "responses": {
                        "201": json_answer("Registered; the confirmation link is on its way.", json!({
                            "type": "object",
                            "required": ["username", "active"],
                            "properties": {"username": {"type": "string"}, "active": {"type": "boolean", "enum": [false]}},
                        })),
                        "400": error("A malformed body, a weak password, or a username or address the identity rules refuse (`InvalidRequest`, `WeakPassword`)."),
                        "409": error("The username is taken (`UserExists`)."),
                        "503": unavailable,
                    },
                }),
                throttle("Too many registrations from this address (`TooManyRequests`)."),
            ),
        );
        add(
            &mut paths,
            &registration.confirm,
            "post",
            public(
                json!({
                    "tags": ["auth"],
                    "operationId": "auth_confirm",
                    "summary": "Confirm a registration with the token of its link",
                    "requestBody": json_body("TokenRequest", true),
                    "responses": {
                        "200": json_answer("The user is active.", chosen_fields(&registration.confirmed_fields)),
                        "400": bad_body,
                        "401": error("The token is invalid, expired or not a registration token."),
                        "503": unavailable,
                    },
                }),
                None,
            ),
        );
    }
    if let Some(reset) = &config.password_reset {
        add(
            &mut paths,
            &reset.forgot,
            "post",
            public(
                json!({
                    "tags": ["auth"],
                    "operationId": "auth_password_forgot",
                    "summary": "Ask for a password-reset link",
                    "description": "Answers 202 at once whatever the address; the mail goes to the address stored for the account, if any.",
                    "requestBody": json_body("ForgotRequest", true),
                    "responses": {
                        "202": json_answer("Accepted.", reference("Message")),
                        "400": bad_body,
                    },
                }),
                throttle("Too many requests from this address (`TooManyRequests`)."),
            ),
        );
        add(
            &mut paths,
            &reset.reset,
            "post",
            public(
                json!({
                    "tags": ["auth"],
                    "operationId": "auth_password_reset",
                    "summary": "Set a new password with the token of a reset link",
                    "description": "Every token the user held is revoked and the reset token is spent.",
                    "requestBody": json_body("ResetRequest", true),
                    "responses": {
                        "200": json_answer("The password is changed.", chosen_fields(&reset.reset_fields)),
                        "400": error("A malformed body or a weak password (`InvalidRequest`, `WeakPassword`)."),
                        "401": error("The token is invalid, expired, spent or not a reset token."),
                        "503": unavailable,
                    },
                }),
                None,
            ),
        );
    }
    if let Some(session) = &config.session {
        let set_cookie = json!({"Set-Cookie": {
            "description": "The access and refresh tokens as HttpOnly, SameSite cookies, and the CSRF token as a cookie scripts can read (one header each).",
            "schema": {"type": "string"},
        }});
        let mut login = public(
            json!({
                "tags": ["auth"],
                "operationId": "auth_session_login",
                "summary": "Log in and receive the tokens as cookies",
                "requestBody": json_body("Credentials", true),
                "responses": {
                    "200": json_answer("Logged in. Send the CSRF token back in the CSRF header with every POST, PUT, PATCH and DELETE.", reference("CsrfToken")),
                    "400": bad_body,
                    "401": error("Bad credentials (`AuthenticationError`)."),
                    "403": error("The user is inactive (`InvalidUserError`)."),
                    "503": unavailable,
                },
            }),
            throttle("Too many attempts for this account or address (`TooManyRequests`)."),
        );
        login["responses"]["200"]["headers"] = set_cookie.clone();
        add(&mut paths, &session.session, "post", login);
        let mut logout = guarded(json!({
            "tags": ["auth"],
            "operationId": "auth_session_logout",
            "summary": "Revoke the session's tokens and clear its cookies",
            "description": "When the access cookie has expired (or is gone), the refresh cookie \
                with the CSRF header of its session ends the session instead.",
            "responses": {"200": json_answer("Logged out; the cookies are cleared.", reference("Message"))},
        }));
        logout["responses"]["200"]["headers"] = json!({"Set-Cookie": {
            "description": "The session's cookies, expired.",
            "schema": {"type": "string"},
        }});
        add(&mut paths, &session.session, "delete", logout);
        let mut refresh = json!({
            "tags": ["auth"],
            "operationId": "auth_session_refresh",
            "summary": "Trade the refresh cookie for new cookies (the old refresh token is spent)",
            "security": [{scheme::REFRESH_COOKIE: [], scheme::CSRF: []}],
            "responses": {
                "200": json_answer("New cookies.", reference("CsrfToken")),
                "401": error("No valid refresh cookie, or a missing or wrong CSRF header."),
                "503": unavailable,
            },
        });
        refresh["responses"]["200"]["headers"] = set_cookie;
        add(&mut paths, &session.refresh, "post", refresh);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "centurion auth routes", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {"schemas": schemas()},
    })
}

fn schemas() -> Value {
    let mut pair = strings(&["access_token", "refresh_token", "token_type"]);
    pair["properties"]["token_type"]["enum"] = json!(["Bearer"]);
    pair["properties"]["expires_in"] = json!({
        "type": "integer", "minimum": 0, "description": "Seconds until the access token expires.",
    });
    pair["required"] = json!(["access_token", "refresh_token", "token_type", "expires_in"]);
    let logout = json!({"type": "object", "properties": {"refresh_token": {
        "type": "string", "description": "Also revokes this refresh token's family.",
    }}});
    let mut csrf = strings(&["csrf_token"]);
    csrf["properties"]["csrf_token"]["description"] =
        json!("Send it back in the CSRF header with every unsafe cookie-authenticated request.");
    json!({
        "Credentials": strings(&["username", "password"]),
        "TokenPair": pair,
        "RefreshRequest": strings(&["refresh_token"]),
        "LogoutRequest": logout,
        "Registration": strings(&["username", "email", "password"]),
        "TokenRequest": strings(&["token"]),
        "ForgotRequest": strings(&["email"]),
        "ResetRequest": strings(&["token", "password"]),
        "CsrfToken": csrf,
        "Message": strings(&["message"]),
    })
}

#[cfg(all(test, feature = "utoipa"))]
mod tests {
    use super::*;
    use utoipa::openapi::OpenApi;

    /// Every group, throttled or not, reads into utoipa's types and back unchanged.
    #[test]
    fn the_fragment_reads_into_utoipa_unchanged() {
        for throttled in [true, false] {
            let paths = AuthRoutePaths {
                throttled,
                ..AuthRoutePaths::default()
            };
            let fragment = fragment(&paths);
            let typed: OpenApi = serde_json::from_value(fragment.clone()).unwrap();
            assert_eq!(serde_json::to_value(&typed).unwrap(), fragment);
        }
    }
}
