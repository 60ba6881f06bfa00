//! `#[secured]` documents itself (feature `utoipa`): the rewritten `#[utoipa::path]`, the
//! instance's schemes, the ready-made routes' fragment, and `openapi::verify`, which
//! compares a document with the guards a router actually runs.

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use centurion::openapi::{AuthRoutePaths, auth_routes, verify};
use centurion::routes::{SessionRoutes, TokenRoutes};
use centurion::{
    Centurion, CookieConfig, TokenLocation, memory::MemoryUserStore, secured, testing::TestUser,
};
use serde_json::{Value, json};
use tower::ServiceExt;
use utoipa::Modify;
use utoipa_axum::{router::OpenApiRouter, routes};

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

/// Any valid token.
#[secured]
#[utoipa::path(get, path = "/api/me", responses((status = 200, description = "You")))]
async fn me() -> &'static str {
    "you"
}

#[secured(roles = "admin")]
#[utoipa::path(get, path = "/api/admin", responses((status = 200, description = "Welcome")))]
async fn admin() -> &'static str {
    "welcome"
}

#[secured(any_of = "editor, author")]
#[utoipa::path(post, path = "/api/articles", responses((status = 201, description = "Created")))]
async fn publish() -> &'static str {
    "created"
}

#[secured(permissions = "reports:read", any_permission = "reports:export", fresh)]
#[utoipa::path(get, path = "/api/reports", responses(
    (status = 200, description = "Reports"),
    (status = 403, description = "Auditors only.", body = centurion::openapi::ErrorBody),
))]
async fn reports() -> &'static str {
    "reports"
}

#[secured(optional)]
#[utoipa::path(delete, path = "/api/sessions/{id}", params(("id" = String, Path)))]
async fn end_session(Path(id): Path<String>) -> String {
    id
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

/// The token routes (at a path of the application's for logout), and with `session`
/// the cookie session routes: the real ready-made routes, documented from the builders
/// that mount them.
fn ready_made(session: bool) -> (Router, AuthRoutePaths) {
    let tokens = TokenRoutes::<TestUser>::new().logout_path("/auth/signout");
    let mut paths = AuthRoutePaths {
        tokens: Some(tokens.paths()),
        registration: None,
        password_reset: None,
        session: None,
        throttled: false,
    };
    let mut router = tokens.router();
    if session {
        let session = SessionRoutes::<TestUser>::new();
        paths.session = Some(session.paths());
        router = router.merge(session.router());
    }
    (router, paths)
}

/// The application's router and its finished document.
fn app(auth: &Centurion<TestUser>, session: bool) -> (Router, Value) {
    let (ready_made, fragment) = ready_made(session);
    let (router, mut api) = OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(admin))
        .routes(routes!(publish))
        .routes(routes!(reports))
        .routes(routes!(end_session))
        .split_for_parts();
    api.merge(auth_routes(&fragment));
    auth.openapi().modify(&mut api);
    let router = router.merge(ready_made).layer(auth.layer());
    (router, serde_json::to_value(&api).unwrap())
}

#[tokio::test]
async fn every_documented_requirement_is_the_guards() {
    let auth = instance(false);
    let (router, doc) = app(&auth, false);
    // me, admin, articles, reports, sessions/{id}, the ready-made logout (whose access
    // token is optional: the refresh token alone may log out)
    assert_eq!(verify(router, &doc, &auth.openapi()).await, Ok(6));
    assert_eq!(
        doc["paths"]["/auth/signout"]["post"]["security"],
        json!([{"bearerAuth": []}, {}])
    );

    let auth = instance(true);
    let (router, doc) = app(&auth, true);
    // and the cookie session's logout
    assert_eq!(verify(router, &doc, &auth.openapi()).await, Ok(7));
}

#[tokio::test]
async fn security_follows_the_requirement_and_the_configuration() {
    let auth = instance(true);
    let (_, doc) = app(&auth, false);
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    assert_eq!(
        op("/api/me", "get")["security"],
        json!([{"bearerAuth": []}, {"sessionCookie": []}])
    );
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
        op("/api/sessions/{id}", "delete")["security"],
        json!([{"bearerAuth": []}, {"sessionCookie": [], "csrfToken": []}, {}])
    );
    // The user's own 403 wins over the generated one; the 401 stays ours.
    assert_eq!(
        op("/api/reports", "get")["responses"]["403"]["description"],
        "Auditors only."
    );
    let admin = op("/api/admin", "get");
    assert_eq!(
        admin["x-centurion"],
        json!({"roles": ["admin"], "any_of": [], "permissions": [], "any_permission": [], "fresh": false, "optional": false})
    );
    for status in ["401", "403"] {
        assert_eq!(
            admin["responses"][status]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
    }
    assert!(op("/api/me", "get")["responses"]["403"].is_null());
    let schemes = &doc["components"]["securitySchemes"];
    // The name browsers see: secure cookies on `/` carry the `__Host-` prefix.
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(
        schemes["sessionCookie"],
        json!({"type": "apiKey", "in": "cookie", "name": "__Host-access_token", "description": schemes["sessionCookie"]["description"]})
    );
    assert_eq!(schemes["csrfToken"]["name"], "X-CSRF-Token");
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    // The public routes say so, overriding any document-wide requirement.
    assert_eq!(op("/auth/login", "post")["security"], json!([{}]));
}

#[tokio::test]
async fn a_document_that_differs_from_the_guards_is_caught() {
    let auth = instance(false);
    let (router, doc) = app(&auth, false);
    let schemes = auth.openapi();

    let mut wrong = doc.clone();
    wrong["paths"]["/api/admin"]["get"]["x-centurion"]["roles"] = json!(["editor"]);
    let problems = verify(router.clone(), &wrong, &schemes).await.unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("GET /api/admin: the guard requires")),
        "{problems:?}"
    );

    let mut wrong = doc.clone();
    wrong["paths"]["/api/admin"]["get"]["security"] = json!([{"bearerAuth": []}]);
    let problems = verify(router.clone(), &wrong, &schemes).await.unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("GET /api/admin: security is")),
        "{problems:?}"
    );

    // A secured handler documented as public (the fragment's logout without its extension).
    let mut wrong = doc.clone();
    let logout = wrong["paths"]["/auth/signout"]["post"]
        .as_object_mut()
        .unwrap();
    logout.remove("x-centurion");
    logout.remove("security");
    let problems = verify(router.clone(), &wrong, &schemes).await.unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("POST /auth/signout: the handler is secured")),
        "{problems:?}"
    );

    // A documented requirement that no guard answers.
    let mut wrong = doc.clone();
    let item = wrong["paths"]
        .as_object_mut()
        .unwrap()
        .remove("/api/admin")
        .unwrap();
    wrong["paths"]["/api/administration"] = item;
    let problems = verify(router.clone(), &wrong, &schemes).await.unwrap_err();
    assert!(
        problems.iter().any(|p| p.contains(
            "GET /api/administration: documented as secured, but no guard answered (status 404"
        )),
        "{problems:?}"
    );

    let mut wrong = doc.clone();
    wrong["paths"]["/api/admin"]["get"]["responses"]
        .as_object_mut()
        .unwrap()
        .remove("403");
    let problems = verify(router.clone(), &wrong, &schemes).await.unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p == "GET /api/admin: no 403 response with the ErrorBody schema"),
        "{problems:?}"
    );

    // A scheme no component declares.
    let mut wrong = doc.clone();
    wrong["paths"]["/api/me"]["get"]["security"] = json!([{"apiKey": []}]);
    let problems = verify(router, &wrong, &schemes).await.unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("security names `apiKey`, which is not declared")),
        "{problems:?}"
    );
}

/// The probe changes nothing for requests from the network: the guard still guards, and
/// its answers are the JSON error body the document promises.
#[tokio::test]
async fn the_documented_guard_still_guards() {
    let auth = instance(false);
    let (router, _) = app(&auth, false);
    let token = |roles: &'static [&'static str]| {
        let auth = auth.clone();
        async move {
            auth.issue_pair(&TestUser::new(1, "ada", roles))
                .await
                .unwrap()
                .access_token
        }
    };
    let get = |token: Option<String>| {
        let mut request = http::Request::get("/api/admin");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.body(Body::empty()).unwrap()
    };
    let refused = router.clone().oneshot(get(None)).await.unwrap();
    assert_eq!(refused.status(), 401);
    let body = axum::body::to_bytes(refused.into_body(), 1 << 16)
        .await
        .unwrap();
    let body: centurion::openapi::ErrorBody = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (body.error.as_str(), body.status_code),
        ("MissingToken", 401)
    );
    let editor = router
        .clone()
        .oneshot(get(Some(token(&["editor"]).await)))
        .await
        .unwrap();
    assert_eq!(editor.status(), 403);
    let admin = router
        .oneshot(get(Some(token(&["admin"]).await)))
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
}

/// The fragment of every group validates with the instance's schemes applied: the names
/// its `security` uses are declared.
#[test]
fn the_ready_made_routes_name_only_declared_schemes() {
    let auth = instance(true);
    let mut api = auth_routes(&AuthRoutePaths::default());
    auth.openapi().modify(&mut api);
    let doc = serde_json::to_value(&api).unwrap();
    centurion::docs::check_document(&doc).unwrap();
    assert_eq!(
        doc["paths"]["/auth/session/refresh"]["post"]["security"],
        json!([{"refreshCookie": [], "csrfToken": []}])
    );
    assert_eq!(
        doc["paths"]["/auth/session"]["delete"]["security"],
        json!([{"bearerAuth": []}, {"sessionCookie": [], "csrfToken": []}])
    );
    assert!(
        doc["paths"]["/auth/login"]["post"]["responses"]["429"]["headers"]["Retry-After"]
            .is_object()
    );

    // Without cookies, the session routes name schemes nobody declared.
    let auth = instance(false);
    let mut api = auth_routes(&AuthRoutePaths::default());
    auth.openapi().modify(&mut api);
    let problems =
        centurion::docs::check_document(&serde_json::to_value(&api).unwrap()).unwrap_err();
    assert!(
        problems.iter().any(|p| p.contains("`refreshCookie`")),
        "{problems:?}"
    );
}

/// A shaped answer is documented as the application's own, not as the `TokenPair`.
#[test]
fn shaped_answers_are_documented_as_the_applications() {
    let plain = TokenRoutes::<TestUser>::new();
    let shaped = TokenRoutes::<TestUser>::new()
        .login_body(|pair, _| json!({"token": pair.access_token}))
        .refresh_body(|pair| json!({"token": pair.access_token}));
    let document = |tokens: &TokenRoutes<TestUser>| {
        let mut paths = tokens.paths();
        if paths.refresh_fields.is_some() {
            paths.refresh_fields = Some(vec!["token".into()]);
        }
        let fragment = AuthRoutePaths {
            tokens: Some(paths),
            registration: None,
            password_reset: None,
            session: None,
            throttled: false,
        };
        serde_json::to_value(auth_routes(&fragment)).unwrap()
    };
    let answer = |doc: &Value, path: &str| {
        doc["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
            .clone()
    };
    let doc = document(&plain);
    for path in ["/auth/login", "/auth/refresh"] {
        assert_eq!(
            answer(&doc, path),
            json!({"$ref": "#/components/schemas/TokenPair"})
        );
    }
    let doc = document(&shaped);
    assert_eq!(
        answer(&doc, "/auth/login")["description"],
        "The application's own answer."
    );
    assert_eq!(
        answer(&doc, "/auth/refresh")["description"],
        "The fields the application chose: token."
    );
}
