//! The ready-made routes (`centurion::routes`) through a real `Router`, and the short
//! paths of issue 14: logout from the refresh token alone, `Option<JsonBody<T>>`, an error
//! responder that keeps the protocol headers, `create_user`, one style for role-denied
//! messages. The quickstart's end-to-end tests check the same routes against its contract
//! over HTTP; these pin what an application configures (paths, throttle, bodies).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use centurion::clock::ManualClock;
use centurion::mail::{AccountMail, CaptureBuffer, ConsoleMailer, MailQueue, MailTemplates};
use centurion::routes::{PasswordResetRoutes, RegistrationRoutes, SessionRoutes, TokenRoutes};
use centurion::testing::TestUser;
use centurion::throttle::{RateLimit, Throttle, ThrottleConfig};
use centurion::{
    AuthUser, Centurion, Claims, CookieConfig, Error, ErrorKind, JsonBody, TokenLocation,
    check_permissions, check_roles,
};
use centurion_testkit::prelude::*;
use http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery staple";

/// An answer: status, headers, body as JSON (`Null` when it is not JSON).
struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Value,
}

impl Reply {
    #[track_caller]
    fn error(&self, status: u16, name: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.body["error"], name, "{}", self.body);
        assert_eq!(self.body["status_code"], status, "{}", self.body);
    }
}

async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

/// A POST from 192.0.2.1 (the connection info a real server gives), with an optional
/// bearer token and an optional JSON body.
fn post_to(path: &str, bearer: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut request = Request::post(path);
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let mut request = request.body(body).unwrap();
    let peer: SocketAddr = "192.0.2.1:40000".parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

fn login_body() -> Value {
    json!({"username": "ada", "password": PASSWORD})
}

/// An instance on a manual clock with ada, and the token routes at their default paths.
async fn token_app() -> (Centurion<TestUser>, ManualClock, Router) {
    let clock = ManualClock::new();
    let auth = builder()
        .clock(clock.clone())
        .access_lifespan(Duration::from_secs(60))
        .build()
        .unwrap();
    auth.create_user("ada", Some("ada@example.com"), PASSWORD, &[])
        .await
        .unwrap();
    let app = TokenRoutes::<TestUser>::new()
        .router()
        .route(
            "/me",
            get(|claims: Claims| async move { claims.subject().to_owned() }),
        )
        .layer(auth.layer());
    (auth, clock, app)
}

/// The pair of a login through the route.
async fn login(app: &Router) -> (String, String) {
    let reply = send(app, post_to("/auth/login", None, Some(login_body()))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut keys: Vec<&str> = reply
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "refresh_token", "token_type"]
    );
    (
        reply.body["access_token"].as_str().unwrap().to_owned(),
        reply.body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn refresh(app: &Router, refresh_token: &str) -> Reply {
    let body = json!({"refresh_token": refresh_token});
    send(app, post_to("/auth/refresh", None, Some(body))).await
}

// ---------------------------------------------------------------------------------------
// Logout
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn logout_with_an_expired_access_token_and_the_refresh_token_ends_the_session() {
    let (_, clock, app) = token_app().await;
    let (access, refresh_token) = login(&app).await;
    clock.advance(Duration::from_secs(3600));
    // The access token has expired: alone it cannot log out.
    send(&app, post_to("/auth/logout", Some(&access), None))
        .await
        .error(401, "ExpiredAccessError");
    // With the refresh token, it can.
    let body = json!({"refresh_token": refresh_token});
    let reply = send(&app, post_to("/auth/logout", Some(&access), Some(body))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body, json!({"message": "logged out"}));
    // The session is over: its refresh token is refused, and so is a second logout.
    assert_eq!(refresh(&app, &refresh_token).await.status, 401);
    let body = json!({"refresh_token": refresh_token});
    send(&app, post_to("/auth/logout", None, Some(body)))
        .await
        .error(401, "RevokedTokenError");
}

#[tokio::test]
async fn logout_with_the_refresh_token_alone() {
    let (_, _, app) = token_app().await;
    let (access, refresh_token) = login(&app).await;
    let (other_access, other_refresh) = login(&app).await;
    let body = json!({"refresh_token": refresh_token});
    let reply = send(&app, post_to("/auth/logout", None, Some(body))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(refresh(&app, &refresh_token).await.status, 401);
    let me = |token: &str| {
        Request::get("/me")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    send(&app, me(&access))
        .await
        .error(401, "RevokedTokenError");
    // Another session of the same user is untouched.
    assert_eq!(send(&app, me(&other_access)).await.status, 200);
    assert_eq!(refresh(&app, &other_refresh).await.status, 200);

    // Neither token, no body: the missing token.
    send(&app, post_to("/auth/logout", None, None))
        .await
        .error(401, "MissingToken");
    // An access token in the refresh token's place is no refresh token.
    let (access, _) = login(&app).await;
    let body = json!({"refresh_token": access});
    send(&app, post_to("/auth/logout", None, Some(body)))
        .await
        .error(401, "MisusedAccessToken");
}

#[tokio::test]
async fn only_an_absent_or_expired_access_token_lets_the_refresh_token_speak() {
    let (_, clock, app) = token_app().await;
    // A revoked access token is refused before the body is read, even with a live
    // refresh token of another session in it: that session stays.
    let (revoked, _) = login(&app).await;
    assert_eq!(
        send(&app, post_to("/auth/logout", Some(&revoked), None))
            .await
            .status,
        200
    );
    let (_, live_refresh) = login(&app).await;
    let body = json!({"refresh_token": live_refresh});
    send(&app, post_to("/auth/logout", Some(&revoked), Some(body)))
        .await
        .error(401, "RevokedTokenError");
    // A refresh token as the bearer token is refused too.
    let body = json!({"refresh_token": live_refresh});
    send(
        &app,
        post_to("/auth/logout", Some(&live_refresh), Some(body)),
    )
    .await
    .error(401, "MisusedRefreshToken");
    assert_eq!(refresh(&app, &live_refresh).await.status, 200);

    // A malformed body with an expired access token: the JSON 400, nothing revoked.
    let (access, refresh_token) = login(&app).await;
    clock.advance(Duration::from_secs(3600));
    let mut request = post_to("/auth/logout", Some(&access), None);
    *request.body_mut() = Body::from("{not json");
    request
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    send(&app, request).await.error(400, "InvalidRequest");
    assert_eq!(refresh(&app, &refresh_token).await.status, 200);
}

#[tokio::test]
async fn logout_without_a_body_ends_the_access_tokens_session() {
    let (_, _, app) = token_app().await;
    let (access, refresh_token) = login(&app).await;
    let reply = send(&app, post_to("/auth/logout", Some(&access), None)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(refresh(&app, &refresh_token).await.status, 401);
    // A body of whitespace is no body either.
    let (access, refresh_token) = login(&app).await;
    let mut request = post_to("/auth/logout", Some(&access), None);
    *request.body_mut() = Body::from(" \n");
    assert_eq!(send(&app, request).await.status, 200);
    assert_eq!(refresh(&app, &refresh_token).await.status, 401);
}

/// A logout naming another user's refresh token is refused, and refused before anything
/// is revoked: the caller's own session goes on, and so does the other user's.
#[tokio::test]
async fn a_logout_with_another_users_refresh_token_is_refused_and_revokes_nothing() {
    let (auth, _, app) = token_app().await;
    auth.create_user("grace", None, PASSWORD, &[])
        .await
        .unwrap();
    let (access, own_refresh) = login(&app).await;
    let grace = json!({"username": "grace", "password": PASSWORD});
    let reply = send(&app, post_to("/auth/login", None, Some(grace))).await;
    let other_refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
    let body = json!({"refresh_token": other_refresh});
    let reply = send(&app, post_to("/auth/logout", Some(&access), Some(body))).await;
    reply.error(401, "InvalidTokenError");
    let me = Request::get("/me")
        .header("authorization", format!("Bearer {access}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&app, me).await.status,
        200,
        "the caller's session ended"
    );
    assert_eq!(refresh(&app, &own_refresh).await.status, 200);
    assert_eq!(refresh(&app, &other_refresh).await.status, 200);
}

// ---------------------------------------------------------------------------------------
// Option<JsonBody<T>>
// ---------------------------------------------------------------------------------------

#[derive(serde::Deserialize)]
struct Note {
    text: String,
}

async fn optional_note(note: Option<JsonBody<Note>>) -> String {
    note.map_or_else(|| "none".to_owned(), |JsonBody(note)| note.text)
}

#[tokio::test]
async fn an_optional_json_body() {
    let app = Router::new().route("/note", post(optional_note));
    let raw = |content_type: Option<&str>, body: &'static str| {
        let mut request = Request::post("/note");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.body(Body::from(body)).unwrap()
    };
    let text = |request: Request<Body>| {
        let app: Router = app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .unwrap();
            let text: String = String::from_utf8(bytes.to_vec()).unwrap();
            (status, text)
        }
    };
    let json = Some("application/json");
    assert_eq!(text(raw(None, "")).await, (StatusCode::OK, "none".into()));
    assert_eq!(text(raw(json, "")).await, (StatusCode::OK, "none".into()));
    assert_eq!(
        text(raw(json, " \r\n")).await,
        (StatusCode::OK, "none".into())
    );
    assert_eq!(
        text(raw(json, r#"{"text": "hi"}"#)).await,
        (StatusCode::OK, "hi".into())
    );
    for (content_type, body, message) in [
        (json, "{not json", "the body is not valid JSON"),
        (json, r#"{"txt": 1}"#, "the body does not fit: "),
        (None, r#"{"text": "hi"}"#, "the body must be JSON"),
        (
            Some("text/plain"),
            r#"{"text": "hi"}"#,
            "the body must be JSON",
        ),
    ] {
        let (status, text) = text(raw(content_type, body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {text}");
        let error: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(error["error"], "InvalidRequest", "{body}");
        assert!(
            error["message"].as_str().unwrap().starts_with(message),
            "{body}: {error}"
        );
    }
    // A body over the limit is the JSON 400, not axum's plain text.
    let limited = app.clone().layer(axum::extract::DefaultBodyLimit::max(8));
    let response = limited
        .oneshot(raw(json, r#"{"text": "much too long"}"#))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

// ---------------------------------------------------------------------------------------
// The error responder keeps the protocol headers
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_error_responder_keeps_www_authenticate_and_retry_after() {
    let auth = builder()
        .error_responder(|err: &Error| {
            (err.status(), format!("custom {}", err.kind().name())).into_response()
        })
        .build()
        .unwrap();
    auth.create_user("ada", None, PASSWORD, &["editor"])
        .await
        .unwrap();
    let mut config = ThrottleConfig::default();
    config.address.free_failures = 1;
    config.account.free_failures = 1;
    let throttle = Throttle::in_memory(config).unwrap();
    let app = TokenRoutes::<TestUser>::new()
        .throttle(throttle)
        .router()
        .route("/claims", get(|_: Claims| async { "ok" }))
        .route(
            "/admin",
            get(|claims: Claims| async move { check_roles(&claims, &["admin"], &[]) }),
        )
        .layer(auth.layer());

    // 401: the challenge stays.
    let reply = send(&app, Request::get("/claims").body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, 401);
    let challenge = reply.headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");

    // 403 for a missing role: its insufficient_scope challenge stays.
    let (access, _) = login(&app).await;
    let request = Request::get("/admin")
        .header("authorization", format!("Bearer {access}"))
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.status, 403);
    let challenge = reply.headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");

    // 429: Retry-After stays.
    let wrong = json!({"username": "ada", "password": "wrong password!"});
    let mut throttled = None;
    for _ in 0..10 {
        let reply = send(&app, post_to("/auth/login", None, Some(wrong.clone()))).await;
        if reply.status == 429 {
            throttled = Some(reply);
            break;
        }
        assert_eq!(reply.status, 401);
    }
    let reply = throttled.expect("the throttle locks within ten failures");
    let retry_after: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0);
}

#[tokio::test]
async fn a_responder_that_sets_the_headers_keeps_its_own() {
    let auth = builder()
        .error_responder(|_: &Error| {
            (
                StatusCode::UNAUTHORIZED,
                [("www-authenticate", "Custom realm=\"app\"")],
                "no",
            )
                .into_response()
        })
        .build()
        .unwrap();
    let app = Router::new()
        .route("/claims", get(|_: Claims| async { "ok" }))
        .layer(auth.layer());
    let reply = send(&app, Request::get("/claims").body(Body::empty()).unwrap()).await;
    let challenges: Vec<_> = reply.headers.get_all("www-authenticate").iter().collect();
    assert_eq!(challenges, ["Custom realm=\"app\""]);
}

// ---------------------------------------------------------------------------------------
// create_user, the short path
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn create_user_makes_an_active_user_with_a_hashed_password_under_the_policy() {
    let (auth, _, app) = token_app().await;
    let bob = auth
        .create_user("Bob", Some("Bob@Example.com"), PASSWORD, &["editor"])
        .await
        .unwrap();
    assert!(bob.is_valid(), "active at once: no confirmation");
    assert!(bob.password_hash().starts_with("$argon2id$"), "hashed");
    assert!(!bob.password_hash().contains(PASSWORD));
    assert_eq!(bob.roles(), ["editor"]);
    // It logs in through the routes at once, by any form of its name.
    let body = json!({"username": "BOB", "password": PASSWORD});
    assert_eq!(
        send(&app, post_to("/auth/login", None, Some(body)))
            .await
            .status,
        200
    );
    // The password policy and the identity rules apply.
    let err = auth
        .create_user("carol", None, "short", &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WeakPassword);
    let err = auth
        .create_user("bob", None, PASSWORD, &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UserExists);
    let err = auth
        .create_user("dave", Some("bob@example.com"), PASSWORD, &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UserExists);
    let err = auth
        .create_user("e\u{200b}ve", None, PASSWORD, &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
}

// ---------------------------------------------------------------------------------------
// Role-denied messages
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_role_and_permission_refusal_says_what_the_action_requires() {
    let auth = auth();
    let pair = auth
        .issue_pair(&TestUser::new(1, "ada", &["author"]))
        .await
        .unwrap();
    let claims = auth.verify_access(&pair.access_token).await.unwrap();
    let refusals = [
        Error::new(ErrorKind::MissingRoleError),
        Error::new(ErrorKind::MissingPermissionError),
        check_roles(&claims, &["admin"], &[]).unwrap_err(),
        check_roles(&claims, &[], &["admin", "editor"]).unwrap_err(),
        check_permissions(&claims, &["reports:read"], &[]).unwrap_err(),
        check_permissions(&claims, &[], &["reports:read", "x:y"]).unwrap_err(),
        claims.require_role("admin").unwrap_err(),
    ];
    for refusal in refusals {
        assert_eq!(refusal.status(), StatusCode::FORBIDDEN);
        assert!(
            refusal.message().starts_with("this action requires "),
            "{}",
            refusal.message()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Paths, registration, reset, sessions
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn paths_are_the_applications() {
    let auth = auth();
    auth.create_user("ada", None, PASSWORD, &[]).await.unwrap();
    let app = TokenRoutes::<TestUser>::new()
        .login_path("/in")
        .refresh_path("/again")
        .logout_path("/out")
        .router()
        .layer(auth.layer());
    let reply = send(&app, post_to("/in", None, Some(login_body()))).await;
    assert_eq!(reply.status, 200);
    let refresh_token = reply.body["refresh_token"].as_str().unwrap().to_owned();
    let old = send(&app, post_to("/auth/login", None, Some(login_body()))).await;
    assert_eq!(old.status, 404);
    let body = json!({"refresh_token": refresh_token});
    let reply = send(&app, post_to("/again", None, Some(body))).await;
    assert_eq!(reply.status, 200);
    let body = json!({"refresh_token": reply.body["refresh_token"]});
    assert_eq!(
        send(&app, post_to("/out", None, Some(body))).await.status,
        200
    );
}

/// The answers' fields are the application's: the login's from the pair and the user, the
/// refresh's from the pair (the grace window's replay gets the same body), the
/// confirmation's and the reset's from the user.
#[tokio::test]
async fn the_answers_are_shaped_by_the_application() {
    let auth = auth();
    let out = CaptureBuffer::new();
    let queue = MailQueue::new(ConsoleMailer::new(out.clone()));
    let mail = AccountMail::new(
        queue.clone(),
        MailTemplates::new("Test"),
        "https://app.test",
    );
    let app = Router::new()
        .merge(
            TokenRoutes::<TestUser>::new()
                .login_body(|pair, user| {
                    json!({"token": pair.access_token, "renew": pair.refresh_token,
                           "user": {"name": user.username(), "roles": user.roles()}})
                })
                .refresh_body(
                    |pair| json!({"token": pair.access_token, "renew": pair.refresh_token}),
                )
                .router(),
        )
        .merge(
            RegistrationRoutes::<TestUser>::new(mail.clone())
                .confirmed_body(|user| json!({"welcome": user.username()}))
                .router(),
        )
        .merge(
            PasswordResetRoutes::<TestUser>::new(mail)
                .reset_body(|user| json!({"reset_for": user.username()}))
                .router(),
        )
        .route(
            "/me",
            get(|claims: Claims| async move { claims.subject().to_owned() }),
        )
        .layer(auth.layer());

    let new = json!({"username": "ada", "email": "ada@example.com", "password": PASSWORD});
    assert_eq!(
        send(&app, post_to("/auth/register", None, Some(new)))
            .await
            .status,
        201
    );
    queue.flush().await;
    let body = json!({"token": last_token(&out)});
    let reply = send(&app, post_to("/auth/confirm", None, Some(body))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body, json!({"welcome": "ada"}));

    let reply = send(&app, post_to("/auth/login", None, Some(login_body()))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["user"], json!({"name": "ada", "roles": []}));
    let access = reply.body["token"].as_str().unwrap().to_owned();
    let me = Request::get("/me")
        .header("authorization", format!("Bearer {access}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, me).await.status, 200);

    let body = json!({"refresh_token": reply.body["renew"]});
    let next = send(&app, post_to("/auth/refresh", None, Some(body.clone()))).await;
    assert_eq!(next.status, 200, "{}", next.body);
    let mut keys: Vec<&String> = next.body.as_object().unwrap().keys().collect();
    keys.sort_unstable();
    assert_eq!(keys, ["renew", "token"]);
    let replayed = send(&app, post_to("/auth/refresh", None, Some(body))).await;
    assert_eq!(replayed.body, next.body, "the grace window's replay");

    let body = json!({"email": "ada@example.com"});
    assert_eq!(
        send(&app, post_to("/auth/password/forgot", None, Some(body)))
            .await
            .status,
        202
    );
    queue.flush().await;
    let body = json!({"token": last_token(&out), "password": "a brand new passphrase"});
    let reply = send(&app, post_to("/auth/password/reset", None, Some(body))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body, json!({"reset_for": "ada"}));
}

/// The token of the last `#token=` link in the captured mail.
fn last_token(out: &CaptureBuffer) -> String {
    let text = out.contents();
    let start = text.rfind("#token=").expect("a mail with a link") + 7;
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect()
}

#[tokio::test]
async fn registration_confirmation_and_reset_through_the_routes() {
    let auth = auth();
    let out = CaptureBuffer::new();
    let queue = MailQueue::new(ConsoleMailer::new(out.clone()));
    let mail = AccountMail::new(
        queue.clone(),
        MailTemplates::new("Test"),
        "https://app.test",
    );
    let mut config = ThrottleConfig::default();
    config.registrations = RateLimit::new(3, Duration::from_secs(60));
    let throttle = Throttle::in_memory(config).unwrap();
    let app = Router::new()
        .merge(
            RegistrationRoutes::<TestUser>::new(mail.clone())
                .throttle(throttle.clone())
                .router(),
        )
        .merge(PasswordResetRoutes::<TestUser>::new(mail).router())
        .merge(TokenRoutes::<TestUser>::new().router())
        .layer(auth.layer());

    let new = json!({"username": "ada", "email": "ada@example.com", "password": PASSWORD});
    let reply = send(&app, post_to("/auth/register", None, Some(new))).await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.body, json!({"username": "ada", "active": false}));
    queue.flush().await;
    let confirmation = last_token(&out);
    // Not active before the confirmation.
    send(&app, post_to("/auth/login", None, Some(login_body())))
        .await
        .error(403, "InvalidUserError");

    // A taken address: the same answer; its owner gets a mail instead.
    let taken = json!({"username": "bob", "email": "ADA@example.com", "password": PASSWORD});
    let reply = send(&app, post_to("/auth/register", None, Some(taken))).await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.body, json!({"username": "bob", "active": false}));
    // The per-address limit: the third registration from 192.0.2.1 passes, the fourth not.
    let carol = json!({"username": "carol", "email": "c@example.com", "password": PASSWORD});
    assert_eq!(
        send(&app, post_to("/auth/register", None, Some(carol)))
            .await
            .status,
        201
    );
    let dave = json!({"username": "dave", "email": "d@example.com", "password": PASSWORD});
    let reply = send(&app, post_to("/auth/register", None, Some(dave))).await;
    reply.error(429, "TooManyRequests");
    assert!(reply.headers.contains_key("retry-after"));

    let body = json!({"token": confirmation});
    let reply = send(&app, post_to("/auth/confirm", None, Some(body))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let id = reply.body["id"]
        .as_i64()
        .expect("an integer id is a number");
    assert_eq!(
        reply.body,
        json!({"id": id, "username": "ada", "active": true})
    );
    assert_eq!(
        send(&app, post_to("/auth/login", None, Some(login_body())))
            .await
            .status,
        200
    );

    // Forgot: 202 whether the address is known or not.
    for email in ["nobody@example.com", "ada@example.com"] {
        let body = json!({"email": email});
        let reply = send(&app, post_to("/auth/password/forgot", None, Some(body))).await;
        assert_eq!(reply.status, 202);
        assert!(reply.body["message"].is_string());
    }
    queue.flush().await;
    let reset = last_token(&out);
    assert_ne!(reset, confirmation);
    let body = json!({"token": reset, "password": "a brand new passphrase"});
    let reply = send(
        &app,
        post_to("/auth/password/reset", None, Some(body.clone())),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["id"], id);
    // Spent.
    assert_eq!(
        send(&app, post_to("/auth/password/reset", None, Some(body)))
            .await
            .status,
        401
    );
    let body = json!({"username": "ada", "password": "a brand new passphrase"});
    assert_eq!(
        send(&app, post_to("/auth/login", None, Some(body)))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_throttled_route_without_connection_info_says_so() {
    let auth = auth();
    let throttle = Throttle::in_memory(ThrottleConfig::default()).unwrap();
    let app = TokenRoutes::<TestUser>::new()
        .throttle(throttle)
        .router()
        .layer(auth.layer());
    let mut request = post_to("/auth/login", None, Some(login_body()));
    request.extensions_mut().remove::<ConnectInfo<SocketAddr>>();
    send(&app, request).await.error(500, "InternalError");
}

#[tokio::test]
async fn the_cookie_session_routes() {
    let auth = builder()
        .token_locations(&[TokenLocation::Header, TokenLocation::Cookies])
        .cookies(CookieConfig {
            secure: false,
            refresh_path: Some("/auth/session".to_owned()),
            ..CookieConfig::default()
        })
        .build()
        .unwrap();
    auth.create_user("ada", None, PASSWORD, &[]).await.unwrap();
    let app = SessionRoutes::<TestUser>::new()
        .router()
        .layer(auth.layer());
    let mut request = post_to("/auth/session", None, Some(login_body()));
    request
        .headers_mut()
        .insert("user-agent", "Firefox".parse().unwrap());
    let reply = send(&app, request).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let csrf = reply.body["csrf_token"].as_str().unwrap().to_owned();
    let cookies: Vec<String> = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    assert_eq!(cookies.len(), 3, "{cookies:?}");
    let jar = cookies.join("; ");
    let access = cookies[0].split_once('=').unwrap().1.to_owned();
    let claims = auth.verify_access(&access).await.unwrap();
    let sessions = auth.sessions(&claims).await.unwrap();
    assert_eq!(sessions[0].login.user_agent.as_deref(), Some("Firefox"));

    let delete = |csrf: Option<&str>| {
        let mut request = Request::delete("/auth/session").header("cookie", jar.clone());
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request.body(Body::empty()).unwrap()
    };
    send(&app, delete(None)).await.error(401, "CSRFError");
    let reply = send(&app, delete(Some(&csrf))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers.get_all("set-cookie").iter().count(), 3);
    assert!(auth.verify_access(&access).await.is_err());
}

/// An expired access cookie does not block the cookie session's logout: the refresh
/// cookie, with the CSRF header of its session, ends the session and the cookies are
/// cleared. Without the CSRF header, or without a refresh cookie, nothing ends.
#[tokio::test]
async fn the_cookie_session_logs_out_with_an_expired_access_cookie() {
    let clock = ManualClock::new();
    let auth = builder()
        .clock(clock.clone())
        .access_lifespan(Duration::from_secs(60))
        .token_locations(&[TokenLocation::Header, TokenLocation::Cookies])
        .cookies(CookieConfig {
            secure: false,
            refresh_path: Some("/auth/session".to_owned()),
            ..CookieConfig::default()
        })
        .build()
        .unwrap();
    auth.create_user("ada", None, PASSWORD, &[]).await.unwrap();
    let app = SessionRoutes::<TestUser>::new()
        .router()
        .layer(auth.layer());
    let reply = send(&app, post_to("/auth/session", None, Some(login_body()))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let csrf = reply.body["csrf_token"].as_str().unwrap().to_owned();
    let cookies: Vec<String> = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let refresh_token = cookies
        .iter()
        .find_map(|c| c.strip_prefix("refresh_token="))
        .unwrap()
        .to_owned();
    clock.advance(Duration::from_secs(120));
    let delete = |jar: String, csrf: Option<&str>| {
        let mut request = Request::delete("/auth/session").header("cookie", jar);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request.body(Body::empty()).unwrap()
    };
    let access_only: Vec<&String> = cookies
        .iter()
        .filter(|c| !c.starts_with("refresh_token="))
        .collect();
    let access_only = access_only
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    send(&app, delete(access_only, Some(&csrf)))
        .await
        .error(401, "ExpiredAccessError");
    send(&app, delete(cookies.join("; "), None))
        .await
        .error(401, "CSRFError");
    assert!(
        auth.refresh(&refresh_token).await.is_ok(),
        "nothing ended yet"
    );

    // The refresh above rotated the session; log in again for a live refresh cookie.
    let reply = send(&app, post_to("/auth/session", None, Some(login_body()))).await;
    let csrf = reply.body["csrf_token"].as_str().unwrap().to_owned();
    let jar: Vec<String> = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let refresh_token = jar
        .iter()
        .find_map(|c| c.strip_prefix("refresh_token="))
        .unwrap()
        .to_owned();
    clock.advance(Duration::from_secs(120));
    let reply = send(&app, delete(jar.join("; "), Some(&csrf))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers.get_all("set-cookie").iter().count(), 3);
    assert!(
        auth.refresh(&refresh_token).await.is_err(),
        "the session ended"
    );
}

/// On an instance without session cookies, the session logout without a token is the
/// client's mistake (401), not a configuration error (it answered 500 while the fallback
/// to the refresh cookie asked for the cookie settings).
#[tokio::test]
async fn the_session_logout_without_a_token_is_401_without_cookies_configured() {
    let auth = builder().build().unwrap();
    let app = SessionRoutes::<TestUser>::new()
        .router()
        .layer(auth.layer());
    let request = Request::delete("/auth/session")
        .body(Body::empty())
        .unwrap();
    send(&app, request).await.error(401, "MissingToken");
}
