//! `#[secured]` handlers behind a real axum `Router`, driven with tower's `oneshot`:
//! the status of every form, the guard running before any other extractor, and when the
//! user store is (not) consulted.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::{
    Json, Router,
    body::Body,
    extract::{OriginalUri, Path, Query, State},
    http::{HeaderMap, Method, Request, StatusCode, Uri, Version, header},
    response::Response,
    routing::{get, post},
};
use centurion::{
    AuthUser, Centurion, Claims, CurrentUser, Role, UserParts, UserRecord, UserStore, secured,
};
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------
// The application under test: roles at the crate root, a derived user, a counting store.

#[derive(Role, Clone, Copy, Debug, PartialEq)]
enum AppRole {
    Admin,
    Editor,
    Author,
}

#[derive(AuthUser, Clone)]
#[auth_user(debug)]
struct User {
    #[auth_user(id)]
    id: i64,
    #[auth_user(username)]
    name: String,
    #[auth_user(password)]
    password_hash: String,
    #[auth_user(roles)]
    roles: Vec<AppRole>,
    #[auth_user(is_valid)]
    active: bool,
}

/// A user store that counts how often centurion asks it for a user.
#[derive(Default)]
struct CountingStore {
    users: HashMap<i64, UserParts>,
    identified: AtomicUsize,
}

impl CountingStore {
    fn identified(&self) -> usize {
        self.identified.load(Ordering::SeqCst)
    }
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

fn parts(id: i64, name: &str, roles: &[&str]) -> UserParts {
    UserParts {
        id: id.to_string(),
        username: name.to_owned(),
        email: None,
        password_hash: String::new(),
        roles: roles.iter().map(|role| (*role).to_owned()).collect(),
        active: true,
    }
}

#[derive(Clone)]
struct AppState {
    greeting: &'static str,
}

#[secured]
async fn authenticated(claims: Claims) -> String {
    format!("hello {}", claims.subject())
}

#[secured(roles = "admin")]
async fn admin_only() -> &'static str {
    "admin area"
}

#[secured(roles = "admin, editor")]
async fn admin_and_editor() -> &'static str {
    "both"
}

#[secured(any_of = "editor, author")]
async fn editor_or_author() -> &'static str {
    "either"
}

#[secured(roles = "admin", any_of = "editor, author")]
async fn admin_and_one_writer() -> &'static str {
    "admin and a writer"
}

#[secured(fresh)]
async fn fresh_only() -> &'static str {
    "fresh"
}

#[secured(roles = "admin", fresh)]
async fn fresh_admin() -> &'static str {
    "fresh admin"
}

#[secured(optional)]
async fn maybe_anonymous(claims: Option<Claims>) -> String {
    match claims {
        Some(claims) => format!("known {}", claims.subject()),
        None => "anonymous".to_owned(),
    }
}

#[secured(any_of = "editor, author")]
async fn create_post(Json(post): Json<serde_json::Value>) -> Json<serde_json::Value> {
    Json(post)
}

#[secured]
async fn profile(user: CurrentUser<User>, again: CurrentUser<User>) -> String {
    assert!(Arc::ptr_eq(&user.0, &again.0), "one user per request");
    format!("{} {:?}", user.name, user.roles)
}

#[secured(roles = "admin")]
async fn admin_with_claims(claims: Claims) -> String {
    claims.roles().join(",")
}

#[secured(roles = "admin")]
#[allow(clippy::too_many_arguments)]
async fn fifteen_extractors(
    State(state): State<AppState>,
    Path(id): Path<u32>,
    Query(query): Query<HashMap<String, String>>,
    claims: Claims,
    user: CurrentUser<User>,
    same_user: Option<CurrentUser<User>>,
    method: Method,
    uri: Uri,
    OriginalUri(original): OriginalUri,
    version: Version,
    headers: HeaderMap,
    _method_again: Method,
    _uri_again: Uri,
    _headers_again: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> String {
    assert!(same_user.is_some());
    assert_eq!(uri, original);
    assert_eq!(version, Version::HTTP_11);
    assert!(headers.contains_key(header::AUTHORIZATION));
    format!(
        "{} {id} {} {} {} {method} {body}",
        state.greeting,
        query["q"],
        claims.subject(),
        user.name
    )
}

struct TestApp {
    router: Router,
    auth: Centurion<User>,
    store: Arc<CountingStore>,
}

impl TestApp {
    fn new() -> TestApp {
        let mut store = CountingStore::default();
        for user in [
            parts(1, "ada", &["admin"]),
            parts(2, "grace", &["admin", "editor"]),
            parts(3, "linus", &["author"]),
            parts(4, "nobody", &[]),
        ] {
            store.users.insert(user.id.parse().unwrap(), user);
        }
        let store = Arc::new(store);
        let auth = Centurion::<User>::builder()
            .secret("a-test-secret-that-is-at-least-32-bytes-long")
            .user_store(Arc::clone(&store))
            .build()
            .expect("valid configuration");
        let router = Router::new()
            .route("/authenticated", get(authenticated))
            .route("/admin", get(admin_only))
            .route("/admin-and-editor", get(admin_and_editor))
            .route("/editor-or-author", get(editor_or_author))
            .route("/admin-and-one-writer", get(admin_and_one_writer))
            .route("/fresh", get(fresh_only))
            .route("/fresh-admin", get(fresh_admin))
            .route("/maybe", get(maybe_anonymous))
            .route("/posts", post(create_post))
            .route("/profile", get(profile))
            .route("/admin-claims", get(admin_with_claims))
            .route("/crowded/{id}", post(fifteen_extractors))
            .with_state(AppState { greeting: "hi" })
            .layer(auth.layer());
        TestApp {
            router,
            auth,
            store,
        }
    }

    fn user(&self, id: i64) -> User {
        User::from_parts(self.store.users[&id].clone()).expect("seeded user")
    }

    /// A fresh access token, as a login issues.
    async fn token(&self, id: i64) -> String {
        self.auth
            .issue_pair(&self.user(id))
            .await
            .expect("issue")
            .access_token
    }

    /// An access token obtained by refreshing: valid but not fresh.
    async fn refreshed_token(&self, id: i64) -> String {
        let pair = self.auth.issue_pair(&self.user(id)).await.expect("issue");
        self.auth
            .refresh(&pair.refresh_token)
            .await
            .expect("refresh")
            .access_token
    }

    async fn send(&self, request: Request<Body>) -> Response {
        self.router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible")
    }

    async fn get(&self, uri: &str, token: Option<&str>) -> (StatusCode, String) {
        let mut request = Request::get(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = self.send(request.body(Body::empty()).unwrap()).await;
        status_and_body(response).await
    }

    async fn post_json(&self, uri: &str, token: Option<&str>, body: &str) -> (StatusCode, String) {
        let mut request = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = self
            .send(request.body(Body::from(body.to_owned())).unwrap())
            .await;
        status_and_body(response).await
    }
}

async fn status_and_body(response: Response) -> (StatusCode, String) {
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, String::from_utf8(bytes.to_vec()).expect("utf-8"))
}

fn error_name(body: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(body).expect("JSON error body");
    json["error"].as_str().expect("error name").to_owned()
}

// ---------------------------------------------------------------------------------------
// Every form: 200, 401, 403.

#[tokio::test]
async fn bare_secured_requires_a_valid_token() {
    let app = TestApp::new();
    let (status, body) = app.get("/authenticated", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_name(&body), "MissingToken");

    let (status, _) = app.get("/authenticated", Some("not-a-jwt")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let token = app.token(4).await;
    let (status, body) = app.get("/authenticated", Some(&token)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "hello 4"));
}

#[tokio::test]
async fn roles_requires_every_listed_role() {
    let app = TestApp::new();
    assert_eq!(app.get("/admin", None).await.0, StatusCode::UNAUTHORIZED);

    let (status, body) = app.get("/admin", Some(&app.token(4).await)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_name(&body), "MissingRoleError");
    assert_eq!(
        app.get("/admin", Some(&app.token(1).await)).await.0,
        StatusCode::OK
    );

    let only_admin = app.token(1).await;
    assert_eq!(
        app.get("/admin-and-editor", Some(&only_admin)).await.0,
        StatusCode::FORBIDDEN
    );
    let both = app.token(2).await;
    assert_eq!(
        app.get("/admin-and-editor", Some(&both)).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn any_of_accepts_any_one_listed_role() {
    let app = TestApp::new();
    assert_eq!(
        app.get("/editor-or-author", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/editor-or-author", Some(&app.token(1).await))
            .await
            .0,
        StatusCode::FORBIDDEN,
        "admin is neither editor nor author"
    );
    assert_eq!(
        app.get("/editor-or-author", Some(&app.token(2).await))
            .await
            .0,
        StatusCode::OK,
        "editor"
    );
    assert_eq!(
        app.get("/editor-or-author", Some(&app.token(3).await))
            .await
            .0,
        StatusCode::OK,
        "author"
    );
}

#[tokio::test]
async fn roles_and_any_of_together_require_both_conditions() {
    let app = TestApp::new();
    let uri = "/admin-and-one-writer";
    assert_eq!(app.get(uri, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get(uri, Some(&app.token(1).await)).await.0,
        StatusCode::FORBIDDEN,
        "admin without a writer role"
    );
    assert_eq!(
        app.get(uri, Some(&app.token(3).await)).await.0,
        StatusCode::FORBIDDEN,
        "a writer without admin"
    );
    assert_eq!(
        app.get(uri, Some(&app.token(2).await)).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn fresh_rejects_an_access_token_from_a_refresh() {
    let app = TestApp::new();
    assert_eq!(app.get("/fresh", None).await.0, StatusCode::UNAUTHORIZED);

    let (status, body) = app.get("/fresh", Some(&app.refreshed_token(4).await)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_name(&body), "FreshTokenRequired");
    assert_eq!(
        app.get("/fresh", Some(&app.token(4).await)).await.0,
        StatusCode::OK
    );

    // Combined with roles: a fresh token without the role is still forbidden.
    assert_eq!(
        app.get("/fresh-admin", Some(&app.token(4).await)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/fresh-admin", Some(&app.refreshed_token(1).await))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/fresh-admin", Some(&app.token(1).await)).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn optional_lets_anonymous_requests_through_but_not_bad_tokens() {
    let app = TestApp::new();
    assert_eq!(
        app.get("/maybe", None).await,
        (StatusCode::OK, "anonymous".to_owned())
    );
    assert_eq!(
        app.get("/maybe", Some(&app.token(3).await)).await,
        (StatusCode::OK, "known 3".to_owned())
    );
    let (status, _) = app.get("/maybe", Some("not-a-jwt")).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a present token must be valid"
    );
}

// ---------------------------------------------------------------------------------------
// The guard runs before every other extractor.

#[tokio::test]
async fn unauthenticated_post_with_malformed_json_gets_401_not_400() {
    let app = TestApp::new();
    let (status, body) = app.post_json("/posts", None, "{not json").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_name(&body), "MissingToken");

    let (status, _) = app
        .post_json("/posts", Some(&app.token(1).await), "{not json")
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "missing roles are reported before the body is parsed"
    );

    let (status, _) = app
        .post_json("/posts", Some(&app.token(3).await), "{not json")
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "only an authorized request reaches the Json extractor"
    );

    let (status, body) = app
        .post_json("/posts", Some(&app.token(3).await), r#"{"title":"hi"}"#)
        .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"title":"hi"}"#)
    );
}

#[tokio::test]
async fn a_handler_with_fifteen_extractors_is_guarded() {
    let app = TestApp::new();
    let uri = "/crowded/42?q=search";
    let (status, _) = app.post_json(uri, None, "{broken").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.post_json(uri, Some(&app.token(3).await), "{}").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let before = app.store.identified();
    let (status, body) = app
        .post_json(uri, Some(&app.token(1).await), r#"{"n":1}"#)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, r#"hi 42 search 1 ada POST {"n":1}"#);
    assert_eq!(
        app.store.identified() - before,
        1,
        "CurrentUser and Option<CurrentUser> share one load"
    );
}

// ---------------------------------------------------------------------------------------
// The user store: at most once per request, never for role checks.

#[tokio::test]
async fn current_user_is_loaded_at_most_once_per_request() {
    let app = TestApp::new();
    let token = app.token(2).await;
    let before = app.store.identified();
    let (status, body) = app.get("/profile", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "grace [Admin, Editor]");
    assert_eq!(app.store.identified() - before, 1);

    app.get("/profile", Some(&token)).await;
    assert_eq!(
        app.store.identified() - before,
        2,
        "once per request, not cached across"
    );
}

#[tokio::test]
async fn role_only_handlers_never_touch_the_user_store() {
    let app = TestApp::new();
    let admin = app.token(1).await;
    let nobody = app.token(4).await;
    let before = app.store.identified();
    for (uri, token, expected) in [
        ("/admin", &admin, StatusCode::OK),
        ("/admin", &nobody, StatusCode::FORBIDDEN),
        ("/admin-claims", &admin, StatusCode::OK),
        ("/authenticated", &nobody, StatusCode::OK),
        ("/maybe", &nobody, StatusCode::OK),
    ] {
        assert_eq!(app.get(uri, Some(token)).await.0, expected, "{uri}");
    }
    assert_eq!(app.get("/admin-claims", Some(&admin)).await.1, "admin");
    assert_eq!(app.store.identified(), before, "roles travel in the token");
}

#[tokio::test]
async fn derived_user_round_trips_through_the_store() {
    let app = TestApp::new();
    let user = app.user(2);
    assert_eq!(user.id(), "2");
    assert_eq!(user.roles(), ["admin", "editor"]);
    assert!(user.is_valid());
    assert_eq!(AppRole::from_name("author"), Some(AppRole::Author));
    let debug = format!("{user:?}");
    assert!(
        debug.contains("<redacted>") && debug.contains("grace"),
        "{debug}"
    );
}
