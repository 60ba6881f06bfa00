//! Set-up mistakes a newcomer sees without a `tracing` subscriber (issue 14, point 5): a
//! router whose secured handlers lack the layer answers a 500 whose body names the fix and
//! prints one line on stderr per process; a debug build where argon2 runs unoptimized warns
//! once, at `build()`, naming the profile override (and this workspace, which has it, does
//! not).
//!
//! Stderr is per process and the notices are once per process, so the stderr tests run this
//! test binary again as a child (`child_*` tests, which do nothing unless `NOTICE_CHILD` is
//! set) and count the lines it printed.

use std::process::Command;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use centurion::testing::TestUser;
use centurion::{Centurion, Claims, CurrentUser, secured};
use centurion_testkit::prelude::*;
use http::{Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

const CHILD: &str = "NOTICE_CHILD";
const LAYER_LINE: &str = "centurion: centurion's layer is missing: add `.layer(auth.layer())`";
const DEBUG_LINE: &str = "centurion: debug build: password hashing (argon2)";

#[secured]
async fn secured_handler() -> &'static str {
    "secret"
}

async fn claims_handler(claims: Claims) -> String {
    claims.subject().to_owned()
}

async fn user_handler(user: CurrentUser<TestUser>) -> String {
    user.username.clone()
}

/// Every kind of route that needs the layer, and none.
fn unlayered() -> Router {
    Router::new()
        .route("/secured", get(secured_handler))
        .route("/claims", get(claims_handler))
        .route("/user", get(user_handler))
}

async fn request(app: Router, path: &str, token: &str) -> (StatusCode, Value) {
    let request = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

async fn token() -> String {
    let auth = builder().build().unwrap();
    let ada = TestUser::new(7, "ada", &["admin"]);
    auth.issue_pair(&ada).await.unwrap().access_token
}

#[tokio::test]
async fn a_route_without_the_layer_answers_a_500_that_names_the_fix() {
    let token = token().await;
    for path in ["/secured", "/claims", "/user"] {
        let (status, body) = request(unlayered(), path, &token).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {body}");
        assert_eq!(body["error"], "InternalError", "{path}: {body}");
        assert_eq!(body["status_code"], 500, "{path}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with("authentication is not configured")
                && message.contains("add `.layer(auth.layer())` to the router"),
            "{path}: {message}"
        );
    }
}

#[derive(Clone, Debug, centurion::AuthUser)]
struct OtherUser {
    #[auth_user(id)]
    id: i64,
    #[auth_user(username)]
    name: String,
    #[auth_user(password)]
    hash: String,
    #[auth_user(roles)]
    roles: Vec<String>,
}

async fn other_user_handler(user: CurrentUser<OtherUser>) -> String {
    user.name.clone()
}

async fn other_instance_handler(_auth: Centurion<OtherUser>) -> &'static str {
    "reached"
}

/// The layer of a `Centurion<TestUser>` in front of handlers that ask for another user type.
fn layered_for_another_type(auth: &Centurion<TestUser>) -> Router {
    Router::new()
        .route("/other-user", get(other_user_handler))
        .route("/other-instance", get(other_instance_handler))
        .layer(auth.layer())
}

#[tokio::test]
async fn a_layer_of_another_user_type_answers_a_500_that_names_the_fix() {
    let auth = builder().build().unwrap();
    let ada = TestUser::new(7, "ada", &["admin"]);
    let token = auth.issue_pair(&ada).await.unwrap().access_token;
    for path in ["/other-user", "/other-instance"] {
        let (status, body) = request(layered_for_another_type(&auth), path, &token).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("no centurion layer for this handler's user type")
                && message.contains("`.layer(auth.layer())`"),
            "{path}: {message}"
        );
        // The type's name is for the operator's stderr, not for the client.
        assert!(!message.contains("OtherUser"), "{path}: {message}");
    }
}

/// Runs one `child_*` test of this binary in a process of its own and returns its stderr.
fn run_child(test: &str, configure: impl FnOnce(&mut Command)) -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1");
    configure(&mut command);
    let output = command.output().expect("run the test binary again");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{test} failed\n--- stdout\n{}\n--- stderr\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    stderr
}

fn lines_starting(stderr: &str, prefix: &str) -> usize {
    stderr
        .lines()
        .filter(|line| line.starts_with(prefix))
        .count()
}

#[tokio::test]
async fn child_requests_without_the_layer() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let token = token().await;
    for _ in 0..3 {
        for path in ["/secured", "/claims", "/user"] {
            let (status, _) = request(unlayered(), path, &token).await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}

#[test]
fn a_missing_layer_prints_one_line_on_stderr_per_process() {
    let stderr = run_child("child_requests_without_the_layer", |_| {});
    assert_eq!(lines_starting(&stderr, LAYER_LINE), 1, "stderr:\n{stderr}");
    let line = stderr.lines().find(|l| l.starts_with(LAYER_LINE)).unwrap();
    assert!(line.contains("a secured route answered 500"), "{line}");
    assert!(!line.contains(token_prefix()), "no token on stderr: {line}");
}

/// Every access token issued by the test secret starts with this header.
fn token_prefix() -> &'static str {
    "eyJ"
}

#[test]
fn child_builds_twice() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    builder().build().unwrap();
    builder().build().unwrap();
}

/// This workspace raises argon2's and blake2's opt-level in its dev profile, as the README
/// tells applications to: a debug build times a small hash, finds it optimized, and gives
/// no warning even with the silencing variable unset (before, every debug build warned
/// until the variable was set). The warning for unoptimized hashing, and that it names the
/// override, are pinned by the unit tests of `notice.rs` with a slow probe.
#[test]
fn a_debug_build_with_the_profile_override_gives_no_warning() {
    let stderr = run_child("child_builds_twice", |child| {
        child.env_remove("CENTURION_NO_DEBUG_WARNING");
    });
    assert_eq!(lines_starting(&stderr, DEBUG_LINE), 0, "stderr:\n{stderr}");
}

#[test]
fn the_debug_build_warning_is_silenced_by_its_variable() {
    for value in ["1", "yes"] {
        let stderr = run_child("child_builds_twice", |child| {
            child.env("CENTURION_NO_DEBUG_WARNING", value);
        });
        assert_eq!(lines_starting(&stderr, DEBUG_LINE), 0, "stderr:\n{stderr}");
    }
}
