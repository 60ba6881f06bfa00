//! `GET /openapi.json` of the real quickstart binary (issue 17): the document validates
//! against the OpenAPI 3.1 schema with `openapi-spec-validator` (pinned in
//! `tests/openapi/requirements.txt`, installed by `.ci/run` into `tests/openapi/.venv`;
//! `OPENAPI_SPEC_VALIDATOR` names another executable), and every `/api/*` operation's
//! security requirement and error responses are what the contract's attribute says.
//! Without the validator the validation test prints `SKIPPED` (a failure under `CI=true`).
//!
//! The comparison with the guards actually mounted (`centurion::openapi::verify`) runs in
//! the binary's own unit test (`cargo test -p centurion-examples --bin quickstart`).

#[allow(unused_imports)]
mod support;

use serde_json::{Value, json};
use support::{Launch, expect_json};

fn document(launch: Launch) -> Value {
    let server = launch.start();
    let response = server.get("/openapi.json").send();
    assert_eq!(response.header("content-type"), Some("application/json"));
    expect_json(&response, 200)
}

/// Every route of the contract, and nothing else.
const OPERATIONS: [&str; 22] = [
    "POST /auth/register",
    "POST /auth/confirm",
    "POST /auth/login",
    "POST /auth/refresh",
    "POST /auth/logout",
    "POST /auth/password/forgot",
    "POST /auth/password/reset",
    "GET /api/me",
    "GET /api/admin",
    "POST /api/articles",
    "POST /api/account/password",
    "POST /auth/session",
    "POST /auth/session/refresh",
    "DELETE /auth/session",
    "GET /",
    "GET /healthz",
    "GET /.well-known/jwks.json",
    "GET /api/reports",
    "GET /api/sessions",
    "DELETE /api/sessions/{id}",
    "DELETE /api/sessions",
    "GET /openapi.json",
];

fn operations(doc: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                found.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    found.sort();
    found
}

/// (path, method, roles, any_of, permissions, fresh): the contract's attributes.
type Attribute = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    bool,
);

const SECURED: [Attribute; 8] = [
    ("/api/me", "get", &[], &[], &[], false),
    ("/api/admin", "get", &["admin"], &[], &[], false),
    (
        "/api/articles",
        "post",
        &[],
        &["editor", "author"],
        &[],
        false,
    ),
    ("/api/account/password", "post", &[], &[], &[], true),
    ("/api/reports", "get", &[], &[], &["reports:read"], false),
    ("/api/sessions", "get", &[], &[], &[], false),
    ("/api/sessions/{id}", "delete", &[], &[], &[], false),
    ("/api/sessions", "delete", &[], &[], &[], false),
];

#[test]
fn every_api_operation_documents_its_attribute() {
    let doc = document(Launch::new());
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "centurion quickstart");
    let mut expected: Vec<String> = OPERATIONS.iter().map(|s| (*s).to_owned()).collect();
    // The document itself is served beside the documented routes, not described in them.
    expected.retain(|op| op != "GET /openapi.json");
    expected.sort();
    assert_eq!(operations(&doc), expected);

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["type"], "http");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["sessionCookie"]["in"], "cookie");
    assert_eq!(
        schemes["csrfToken"],
        json!({"type": "apiKey", "in": "header", "name": "X-CSRF-Token", "description": schemes["csrfToken"]["description"]})
    );
    assert!(schemes.get("oidc").is_none());

    for (path, method, roles, any_of, permissions, fresh) in SECURED {
        let op = &doc["paths"][path][method];
        let place = format!("{method} {path}");
        assert_eq!(
            op["x-centurion"],
            json!({"roles": roles, "any_of": any_of, "permissions": permissions,
                   "any_permission": [], "fresh": fresh, "optional": false}),
            "{place}"
        );
        // One alternative per role of any_of, each through the bearer token or the
        // cookie (with the CSRF header on unsafe methods).
        let mut security = Vec::new();
        let one_of: Vec<Option<&str>> = if any_of.is_empty() {
            vec![None]
        } else {
            any_of.iter().copied().map(Some).collect()
        };
        for role in one_of {
            let mut names: Vec<&str> = roles.to_vec();
            names.extend(role);
            names.extend(permissions);
            if fresh {
                names.push("fresh");
            }
            security.push(json!({"bearerAuth": names}));
            if method == "get" {
                security.push(json!({"sessionCookie": names}));
            } else {
                security.push(json!({"sessionCookie": names, "csrfToken": []}));
            }
        }
        assert_eq!(op["security"], Value::Array(security), "{place}");
        let error_body = json!("#/components/schemas/ErrorBody");
        assert_eq!(
            op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"], error_body,
            "{place}"
        );
        // A 403 when a role or permission is required, or when the handler loads the
        // user (`CurrentUser`: an inactive user is refused with 403).
        let loads_user = ["/api/me", "/api/account/password"].contains(&path);
        let forbids =
            !(roles.is_empty() && any_of.is_empty() && permissions.is_empty()) || loads_user;
        assert_eq!(
            op["responses"]["403"]["content"]["application/json"]["schema"]["$ref"] == error_body,
            forbids,
            "{place}: a 403 exactly when a role or permission is required or the user loaded"
        );
    }
    let error_body = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(
        error_body["required"],
        json!(["error", "message", "status_code"])
    );
    // The public routes say they are public.
    assert_eq!(doc["paths"]["/auth/login"]["post"]["security"], json!([{}]));
    assert_eq!(doc["paths"]["/healthz"]["get"]["security"], json!([{}]));
}

#[test]
fn with_an_identity_provider_its_scheme_is_offered() {
    // The provider need not be up: the server starts and fetches its keys later.
    let issuer = "http://127.0.0.1:9/realms/demo";
    let doc = document(
        Launch::new()
            .env("CENTURION_OIDC_ISSUER", issuer)
            .env("CENTURION_OIDC_AUDIENCE", "quickstart"),
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["oidc"]["openIdConnectUrl"],
        format!("{issuer}/.well-known/openid-configuration")
    );
    let reports = &doc["paths"]["/api/reports"]["get"]["security"];
    assert_eq!(
        reports.as_array().unwrap().last().unwrap(),
        &json!({"oidc": ["reports:read"]})
    );
    let password = &doc["paths"]["/api/account/password"]["post"]["security"];
    assert!(
        !password.to_string().contains("oidc"),
        "a provider's token is never fresh"
    );
}

/// The validator: `OPENAPI_SPEC_VALIDATOR`, or the venv `.ci/run` makes.
fn validator() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("OPENAPI_SPEC_VALIDATOR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/openapi/.venv/bin/openapi-spec-validator")
        });
    if path.exists() {
        return Some(path);
    }
    centurion_testkit::servers::skip(
        "quickstart-openapi",
        &format!(
            "no OpenAPI validator at {} (pip install -r tests/openapi/requirements.txt into tests/openapi/.venv)",
            path.display()
        ),
    );
    None
}

#[test]
fn the_document_validates_against_the_openapi_3_1_schema() {
    let Some(validator) = validator() else { return };
    let dir = std::env::temp_dir().join(format!("quickstart-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let launches = [
        ("plain", Launch::new()),
        (
            "oidc",
            Launch::new()
                .env("CENTURION_OIDC_ISSUER", "http://127.0.0.1:9/realms/demo")
                .env("CENTURION_OIDC_AUDIENCE", "quickstart"),
        ),
    ];
    for (name, launch) in launches {
        let file = dir.join(format!("{name}.json"));
        std::fs::write(&file, serde_json::to_vec_pretty(&document(launch)).unwrap()).unwrap();
        let out = std::process::Command::new(&validator)
            .args(["--schema", "3.1"])
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", validator.display()));
        assert!(
            out.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
