//! Issue 16 over a real axum `Router`: the role hierarchy and permissions that `#[secured]`
//! checked at compile time, enforced per request from the token alone (no store call),
//! with the 403 bodies and `WWW-Authenticate` they answer, the runtime checks on `Claims`,
//! and the refusal of an instance that would check tokens without the role table.
//!
//! The roles are the test kit's `OrgRole` (another crate), declared with `roles!`:
//! `owner` includes `admin` and `editor`; `admin` and `auditor` grant `reports:read`;
//! `owner` also grants `reports:export`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::{
    Json, Router,
    body::Body,
    http::{Request, StatusCode, header},
    response::Response,
    routing::get,
};
use centurion::{
    AuthUser, Centurion, Claims, ErrorKind, UserParts, UserRecord, UserStore, secured,
};
use centurion_testkit::roles::{OrgRole, Perm};
use tower::ServiceExt;

centurion::roles!(OrgRole);

#[derive(AuthUser, Clone)]
struct User {
    #[auth_user(id)]
    id: i64,
    #[auth_user(username)]
    name: String,
    #[auth_user(password)]
    password_hash: String,
    #[auth_user(roles)]
    roles: Vec<OrgRole>,
}

/// A user store that counts how often it is asked for a user.
#[derive(Default)]
struct CountingStore {
    users: HashMap<i64, UserParts>,
    identified: AtomicUsize,
}

impl UserStore<User> for CountingStore {
    async fn lookup(&self, username: &str) -> centurion::Result<Option<User>> {
        Ok(self
            .users
            .values()
            .find(|parts| parts.username == username)
            .cloned()
            .and_then(User::from_parts))
    }

    async fn identify(&self, id: &str) -> centurion::Result<Option<User>> {
        self.identified.fetch_add(1, Ordering::SeqCst);
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        Ok(self.users.get(&id).cloned().and_then(User::from_parts))
    }

    async fn update_password_hash(&self, _id: &str, _hash: &str) -> centurion::Result<()> {
        Ok(())
    }
}

#[secured(roles = "admin")]
async fn admin() -> &'static str {
    "admin"
}

#[secured(roles = "editor")]
async fn editor() -> &'static str {
    "editor"
}

#[secured(roles = "auditor")]
async fn auditor() -> &'static str {
    "auditor"
}

#[secured(any_of = "auditor, editor")]
async fn auditor_or_editor() -> &'static str {
    "either"
}

#[secured(permissions = "reports:read")]
async fn reports() -> &'static str {
    "reports"
}

#[secured(permissions = "reports:read, reports:export")]
async fn export() -> &'static str {
    "export"
}

#[secured(any_permission = "reports:export, billing:read")]
async fn export_or_billing() -> &'static str {
    "export or billing"
}

#[secured(roles = "editor", permissions = "reports:read", fresh)]
async fn fresh_editor_reader() -> &'static str {
    "all of it"
}

/// What the token holds, as a handler sees it.
#[secured]
async fn held(claims: Claims) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "carried": claims.roles(),
        "effective": claims.effective_roles(),
        "permissions": claims.permissions(),
    }))
}

/// A decision the handler takes itself, with the attribute's 403.
#[secured]
async fn export_by_hand(claims: Claims) -> Result<&'static str, centurion::Error> {
    claims.require_permission(Perm::ReportsExport)?;
    Ok("exported")
}

fn parts(id: i64, roles: &[&str]) -> UserParts {
    UserParts {
        id: id.to_string(),
        username: format!("user{id}"),
        email: None,
        password_hash: String::new(),
        roles: roles.iter().map(|role| (*role).to_owned()).collect(),
        active: true,
    }
}

/// Users: 1 owner, 2 admin, 3 editor, 4 auditor, 5 author, 6 none.
const OWNER: i64 = 1;
const ADMIN: i64 = 2;
const EDITOR: i64 = 3;
const AUDITOR: i64 = 4;
const AUTHOR: i64 = 5;

struct TestApp {
    router: Router,
    auth: Centurion<User>,
    store: Arc<CountingStore>,
}

fn routes() -> Router {
    Router::new()
        .route("/admin", get(admin))
        .route("/editor", get(editor))
        .route("/auditor", get(auditor))
        .route("/auditor-or-editor", get(auditor_or_editor))
        .route("/reports", get(reports))
        .route("/export", get(export))
        .route("/export-or-billing", get(export_or_billing))
        .route("/fresh-editor-reader", get(fresh_editor_reader))
        .route("/held", get(held))
        .route("/export-by-hand", get(export_by_hand))
}

impl TestApp {
    fn new() -> TestApp {
        let mut store = CountingStore::default();
        for (id, roles) in [
            (OWNER, &["owner"][..]),
            (ADMIN, &["admin"]),
            (EDITOR, &["editor"]),
            (AUDITOR, &["auditor"]),
            (AUTHOR, &["author"]),
            (6, &[]),
        ] {
            store.users.insert(id, parts(id, roles));
        }
        let store = Arc::new(store);
        // No `.roles::<…>()`: the table comes from the user type's `Vec<OrgRole>`.
        let auth = Centurion::<User>::builder()
            .secret(centurion_testkit::TEST_SECRET)
            .user_store(Arc::clone(&store))
            .build()
            .expect("valid configuration");
        TestApp {
            router: routes().layer(auth.layer()),
            auth,
            store,
        }
    }

    fn user(&self, id: i64) -> User {
        User::from_parts(self.store.users[&id].clone()).expect("seeded user")
    }

    async fn token(&self, id: i64) -> String {
        self.auth
            .issue_pair(&self.user(id))
            .await
            .expect("issue")
            .access_token
    }

    async fn refreshed_token(&self, id: i64) -> String {
        let pair = self.auth.issue_pair(&self.user(id)).await.expect("issue");
        self.auth
            .refresh(&pair.refresh_token)
            .await
            .expect("refresh")
            .access_token
    }

    async fn get(&self, uri: &str, token: &str) -> Response {
        get_on(&self.router, uri, token).await
    }

    async fn status(&self, uri: &str, id: i64) -> StatusCode {
        self.get(uri, &self.token(id).await).await.status()
    }
}

async fn get_on(router: &Router, uri: &str, token: &str) -> Response {
    let request = Request::get(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    router.clone().oneshot(request).await.expect("infallible")
}

async fn json(response: Response) -> serde_json::Value {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    serde_json::from_slice(&bytes).expect("JSON body")
}

/// A 403 with the contract's error body naming `name`, and the RFC 6750 challenge.
async fn assert_forbidden(response: Response, name: &str, message: &str) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        "Bearer error=\"insufficient_scope\""
    );
    let body = json(response).await;
    assert_eq!(
        body,
        serde_json::json!({"error": name, "message": message, "status_code": 403})
    );
}

// ---------------------------------------------------------------------------------------
// The hierarchy.

#[tokio::test]
async fn a_role_satisfies_every_requirement_the_roles_it_includes_satisfy() {
    let app = TestApp::new();
    assert_eq!(app.status("/admin", OWNER).await, StatusCode::OK);
    assert_eq!(app.status("/editor", OWNER).await, StatusCode::OK);
    assert_eq!(
        app.status("/auditor-or-editor", OWNER).await,
        StatusCode::OK
    );
    assert_eq!(app.status("/admin", ADMIN).await, StatusCode::OK);
}

#[tokio::test]
async fn inclusion_goes_one_way_and_only_where_declared() {
    let app = TestApp::new();
    // `owner` does not include `auditor`, and `admin` does not include `owner`'s others.
    let response = app.get("/auditor", &app.token(OWNER).await).await;
    assert_forbidden(
        response,
        "MissingRoleError",
        "this action requires the role `auditor`",
    )
    .await;
    assert_eq!(app.status("/editor", ADMIN).await, StatusCode::FORBIDDEN);
    let response = app.get("/auditor-or-editor", &app.token(ADMIN).await).await;
    assert_forbidden(
        response,
        "MissingRoleError",
        "this action requires one of the roles `auditor`, `editor`",
    )
    .await;
}

#[tokio::test]
async fn the_token_carries_its_roles_and_holds_what_they_include() {
    let app = TestApp::new();
    let body = json(app.get("/held", &app.token(OWNER).await).await).await;
    assert_eq!(
        body,
        serde_json::json!({
            "carried": ["owner"],
            "effective": ["owner", "admin", "editor"],
            "permissions": ["reports:export", "reports:read"],
        })
    );
}

// ---------------------------------------------------------------------------------------
// Permissions.

#[tokio::test]
async fn a_permission_is_held_through_a_granting_role_or_one_that_includes_it() {
    let app = TestApp::new();
    for id in [OWNER, ADMIN, AUDITOR] {
        assert_eq!(
            app.status("/reports", id).await,
            StatusCode::OK,
            "user {id}"
        );
    }
    for id in [EDITOR, AUTHOR, 6] {
        let response = app.get("/reports", &app.token(id).await).await;
        assert_forbidden(
            response,
            "MissingPermissionError",
            "this action requires the permission `reports:read`",
        )
        .await;
    }
}

#[tokio::test]
async fn permissions_requires_every_listed_permission() {
    let app = TestApp::new();
    assert_eq!(app.status("/export", OWNER).await, StatusCode::OK);
    let response = app.get("/export", &app.token(AUDITOR).await).await;
    assert_forbidden(
        response,
        "MissingPermissionError",
        "this action requires the permission `reports:export`",
    )
    .await;
}

#[tokio::test]
async fn any_permission_requires_one_of_them() {
    let app = TestApp::new();
    assert_eq!(
        app.status("/export-or-billing", OWNER).await,
        StatusCode::OK
    );
    let response = app.get("/export-or-billing", &app.token(ADMIN).await).await;
    assert_forbidden(
        response,
        "MissingPermissionError",
        "this action requires one of the permissions `reports:export`, `billing:read`",
    )
    .await;
}

#[tokio::test]
async fn permissions_combine_with_roles_and_fresh() {
    let app = TestApp::new();
    // Every condition must hold: an owner holds `editor` and `reports:read`.
    assert_eq!(
        app.status("/fresh-editor-reader", OWNER).await,
        StatusCode::OK
    );
    // An editor lacks the permission; an admin lacks the role.
    let response = app
        .get("/fresh-editor-reader", &app.token(EDITOR).await)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(response).await["error"], "MissingPermissionError");
    let response = app
        .get("/fresh-editor-reader", &app.token(ADMIN).await)
        .await;
    assert_eq!(json(response).await["error"], "MissingRoleError");
    // A refreshed token has both but is not fresh.
    let response = app
        .get("/fresh-editor-reader", &app.refreshed_token(OWNER).await)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(response).await["error"], "FreshTokenRequired");
}

#[tokio::test]
async fn claims_require_permission_answers_as_the_attribute_does() {
    let app = TestApp::new();
    assert_eq!(app.status("/export-by-hand", OWNER).await, StatusCode::OK);
    let response = app.get("/export-by-hand", &app.token(ADMIN).await).await;
    assert_forbidden(
        response,
        "MissingPermissionError",
        "this action requires the permission `reports:export`",
    )
    .await;
}

#[tokio::test]
async fn roles_and_permissions_are_checked_without_the_user_store() {
    let app = TestApp::new();
    let token = app.token(OWNER).await;
    for uri in ["/admin", "/editor", "/reports", "/export", "/held"] {
        // Twice: the second request reads the verified-token cache, which keeps the
        // resolved roles and permissions.
        assert_eq!(app.get(uri, &token).await.status(), StatusCode::OK, "{uri}");
        assert_eq!(app.get(uri, &token).await.status(), StatusCode::OK, "{uri}");
    }
    assert_eq!(app.store.identified.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn claims_answer_from_the_resolved_roles() {
    let app = TestApp::new();
    let claims = app
        .auth
        .verify_access(&app.token(OWNER).await)
        .await
        .unwrap();
    // By the enum (a misspelt role does not compile) and by name (names from data).
    assert!(claims.has_role(OrgRole::Editor));
    assert!(!claims.has_role(OrgRole::Auditor));
    assert!(claims.require_role(OrgRole::Admin).is_ok());
    let refused = claims.require_role(OrgRole::Auditor).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::MissingRoleError);
    assert_eq!(refused.message(), "this action requires the role `auditor`");
    assert!(claims.has_role("editor"));
    assert!(!claims.has_role(String::from("auditor")));
    assert!(claims.require_role("admin").is_ok());
    assert_eq!(
        claims.require_role("auditor").unwrap_err().kind(),
        ErrorKind::MissingRoleError
    );
    assert!(claims.has_permission(Perm::ReportsRead));
    assert!(!claims.has_permission(Perm::BillingRead));
}

// ---------------------------------------------------------------------------------------
// The role table reaches the instance.

/// The same handlers, on an instance of `TestUser` (roles as strings), so without the
/// hierarchy unless the builder names the role type.
async fn string_roles_instance(with_table: bool) -> (Router, String) {
    use centurion::memory::MemoryUserStore;
    use centurion::testing::TestUser;
    let mut builder = Centurion::<TestUser>::builder()
        .secret(centurion_testkit::TEST_SECRET)
        .user_store(MemoryUserStore::new());
    if with_table {
        builder = builder.roles::<OrgRole>();
    }
    let auth = builder.build().expect("valid configuration");
    let token = auth
        .issue_pair(&TestUser::new(1, "ada", &["owner"]))
        .await
        .expect("issue")
        .access_token;
    (routes().layer(auth.layer()), token)
}

#[tokio::test]
async fn the_builder_names_the_role_type_when_the_user_type_holds_strings() {
    let (router, token) = string_roles_instance(true).await;
    assert_eq!(
        get_on(&router, "/editor", &token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        get_on(&router, "/export", &token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_instance_without_the_role_table_says_so_instead_of_refusing_silently() {
    let (router, token) = string_roles_instance(false).await;
    // The attribute's requirement, and the same decision taken in the handler with
    // `Claims::require_permission` (before, a silent 403).
    for uri in ["/reports", "/export-by-hand"] {
        let response = get_on(&router, uri, &token).await;
        assert_eq!(
            response.status(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "{uri}"
        );
        let body = json(response).await;
        assert_eq!(body["error"], "ConfigurationError");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains(".roles::<YourRoleEnum>()"),
            "{body}"
        );
    }
    // With the table, the handler's check answers as the attribute does.
    let (router, token) = string_roles_instance(true).await;
    assert_eq!(
        get_on(&router, "/export-by-hand", &token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_different_role_type_on_the_builder_is_a_configuration_error() {
    #[derive(centurion::Role)]
    enum Other {
        Admin,
    }
    let err = Centurion::<User>::builder()
        .secret(centurion_testkit::TEST_SECRET)
        .user_store(centurion::memory::MemoryUserStore::new())
        .roles::<Other>()
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigurationError);
    assert!(err.message().contains("Other"), "{}", err.message());
    let _ = Other::Admin;
}
