//! `#[secured]` documents itself through aide (feature `aide`): the guard as an operation
//! input, the instance's schemes (`openapi::aide::secure`), the ready-made routes'
//! operations (`openapi::aide::auth_routes`), checked with `openapi::verify` against the
//! guards the router runs and validated against the OpenAPI 3.1 schema.

use aide::axum::ApiRouter;
use aide::axum::routing::{get, post};
use aide::openapi::OpenApi;
use axum::Router;
use centurion::http::JsonBody;
use centurion::openapi::{AuthRoutePaths, verify};
use centurion::routes::{SessionRoutes, TokenRoutes};
use centurion::{
    Centurion, Claims, CookieConfig, CurrentUser, TokenLocation, memory::MemoryUserStore, secured,
    testing::TestUser,
};
use serde_json::{Value, json};

#[derive(centurion::Role)]
#[role(permissions = Perm)]
enum Role {
    #[role(grants = "reports:read")]
    Admin,
    Editor,
    Author,
}

#[derive(centurion::Permission)]
enum Perm {
    #[permission(rename = "reports:read")]
    ReportsRead,
    #[permission(rename = "reports:export")]
    ReportsExport,
}

#[secured]
async fn me(claims: Claims) -> String {
    claims.subject().to_owned()
}

#[secured(roles = "admin")]
async fn admin() -> &'static str {
    "welcome"
}

/// A fallible handler, as most are: `centurion::Error` documents the other refusals.
#[secured(any_of = "admin, editor")]
async fn profile(user: CurrentUser<TestUser>) -> Result<String, centurion::Error> {
    Ok(user.username.clone())
}

/// An article to publish.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct NewArticle {
    title: String,
}

#[secured(any_of = "editor, author")]
async fn publish(JsonBody(article): JsonBody<NewArticle>) -> String {
    article.title
}

#[secured(permissions = "reports:read", any_permission = "reports:export", fresh)]
async fn reports() -> &'static str {
    "reports"
}

#[secured(optional)]
async fn home() -> &'static str {
    "home"
}

async fn healthz() -> &'static str {
    "ok"
}

fn instance(cookies: bool) -> Centurion<TestUser> {
    let mut builder = Centurion::<TestUser>::builder()
        .secret("an-example-secret-of-at-least-32-bytes!!")
        .user_store(MemoryUserStore::new())
        .roles::<Role>();
    if cookies {
        builder = builder
            .token_locations(&[TokenLocation::Header, TokenLocation::Cookies])
            .cookies(CookieConfig::default());
    }
    builder.build().unwrap()
}

/// The application's router (aide-documented handlers and the real ready-made token and
/// cookie session routes) and its finished document.
fn app(auth: &Centurion<TestUser>) -> (Router, Value) {
    let tokens = TokenRoutes::<TestUser>::new();
    let session = SessionRoutes::<TestUser>::new();
    let paths = AuthRoutePaths {
        tokens: Some(tokens.paths()),
        registration: None,
        password_reset: None,
        session: Some(session.paths()),
        throttled: false,
    };
    let schemes = auth.openapi();
    let mut api = OpenApi::default();
    api.info.title = "aide".into();
    // Every conflict aide sees (two answers for one status) fails the test.
    aide::generate::on_error(|error| panic!("aide: {error}"));
    let router = ApiRouter::new()
        .api_route("/api/me", get(me))
        .api_route("/api/admin", get(admin))
        .api_route("/api/profile", get(profile))
        .api_route("/api/articles", post(publish))
        .api_route("/api/reports", get(reports))
        .api_route("/api/home", get(home))
        .api_route("/healthz", get(healthz))
        .finish_api_with(&mut api, |api| {
            let api = centurion::openapi::aide::auth_routes(api, &paths);
            centurion::openapi::aide::secure(api, &schemes)
        })
        .merge(tokens.router())
        .merge(session.router())
        .layer(auth.layer());
    (router, serde_json::to_value(&api).unwrap())
}

#[tokio::test]
async fn every_documented_requirement_is_the_guards() {
    let auth = instance(true);
    let (router, doc) = app(&auth);
    centurion::docs::check_document(&doc).unwrap();
    // me, admin, profile, articles, reports, home, the token logout and the session's
    // logout.
    assert_eq!(verify(router, &doc, &auth.openapi()).await, Ok(8));
}

#[tokio::test]
async fn security_and_answers_follow_the_attribute() {
    let auth = instance(true);
    let (_, doc) = app(&auth);
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    assert_eq!(
        op("/api/articles", "post")["security"],
        json!([
            {"bearerAuth": ["editor"]},
            {"sessionCookie": ["editor"], "csrfToken": []},
            {"bearerAuth": ["author"]},
            {"sessionCookie": ["author"], "csrfToken": []},
        ])
    );
    assert_eq!(
        op("/api/reports", "get")["security"],
        json!([
            {"bearerAuth": ["reports:read", "reports:export", "fresh"]},
            {"sessionCookie": ["reports:read", "reports:export", "fresh"]},
        ])
    );
    assert_eq!(
        op("/api/home", "get")["security"],
        json!([{"bearerAuth": []}, {"sessionCookie": []}, {}])
    );
    assert_eq!(
        op("/api/admin", "get")["x-centurion"],
        json!({"roles": ["admin"], "any_of": [], "permissions": [], "any_permission": [], "fresh": false, "optional": false})
    );
    for status in ["401", "403"] {
        assert_eq!(
            op("/api/admin", "get")["responses"][status]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
    }
    assert!(op("/api/me", "get")["responses"]["403"].is_null());
    // An optional guard's 401 says that no token passes.
    let home = op("/api/home", "get")["responses"]["401"]["description"].clone();
    assert!(
        home.as_str().unwrap().contains("without a token passes"),
        "{home}"
    );
    // A fallible handler: the guard's 401/403, and the error shape as the default answer.
    let profile = op("/api/profile", "get");
    for status in ["401", "403", "default"] {
        assert_eq!(
            profile["responses"][status]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody",
            "{status}: {profile}"
        );
    }
    // The JSON body documents itself, and its 400.
    let publish = op("/api/articles", "post");
    assert!(
        publish["requestBody"]["content"]["application/json"]["schema"].is_object(),
        "{publish}"
    );
    assert!(publish["responses"]["400"].is_object());
    // A public handler stays public; the ready-made public routes say so.
    assert!(op("/healthz", "get").get("security").is_none());
    assert_eq!(op("/auth/login", "post")["security"], json!([{}]));
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["csrfToken"]["name"], "X-CSRF-Token");
    assert!(doc["components"]["schemas"]["ErrorBody"]["properties"]["status_code"].is_object());
}

#[tokio::test]
async fn a_document_that_differs_from_the_guards_is_caught() {
    let auth = instance(false);
    let (router, doc) = app(&auth);
    let mut wrong = doc.clone();
    wrong["paths"]["/api/admin"]["get"]["x-centurion"]["roles"] = json!(["editor"]);
    let problems = verify(router, &wrong, &auth.openapi()).await.unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("GET /api/admin: the guard requires")),
        "{problems:?}"
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
        "aide-openapi",
        &format!(
            "no OpenAPI validator at {} (pip install -r tests/openapi/requirements.txt into tests/openapi/.venv)",
            path.display()
        ),
    );
    None
}

#[test]
fn the_aide_document_validates_against_the_openapi_3_1_schema() {
    let Some(validator) = validator() else { return };
    for cookies in [false, true] {
        let (_, doc) = app(&instance(cookies));
        let file = std::env::temp_dir().join(format!(
            "centurion-aide-{}-{cookies}.json",
            std::process::id()
        ));
        std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
        let out = std::process::Command::new(&validator)
            .args(["--schema", "3.1"])
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", validator.display()));
        let _ = std::fs::remove_file(&file);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
