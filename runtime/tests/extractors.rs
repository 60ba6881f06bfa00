//! The axum side, through a real `Router`: the layer, the `Claims` and `CurrentUser`
//! extractors and their `Option` forms, the `Authorization` header rules, the JSON error
//! body, the error responder, the claims hook, events, service tokens and
//! `pack_header_for_user`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::response::IntoResponse;
use axum::routing::get;
use centurion::testing::TestUser;
use centurion::{
    Centurion, CenturionBuilder, Claims, CurrentUser, Error, ErrorKind, TokenEvent, TokenKind,
};
use centurion_testkit::prelude::*;
use http::{HeaderValue, Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

fn ada() -> TestUser {
    TestUser::new(7, "ada", &["admin"])
}

async fn claims_handler(claims: Claims) -> axum::Json<Value> {
    axum::Json(json!({
        "sub": claims.subject(),
        "roles": claims.roles(),
        "fresh": claims.is_fresh(),
        "kind": format!("{:?}", claims.kind()),
    }))
}

async fn optional_claims(claims: Option<Claims>) -> String {
    claims.map_or_else(|| "anonymous".to_owned(), |c| c.subject().to_owned())
}

async fn user_twice(a: CurrentUser<TestUser>, b: CurrentUser<TestUser>) -> String {
    assert!(
        Arc::ptr_eq(&a.0, &b.0),
        "both extractors share one loaded user"
    );
    a.username.clone()
}

async fn everything(
    claims: Claims,
    again: Option<Claims>,
    user: CurrentUser<TestUser>,
    maybe: Option<CurrentUser<TestUser>>,
) -> String {
    assert_eq!(again.unwrap().jti(), claims.jti());
    assert!(maybe.is_some());
    format!("{} {}", claims.subject(), user.username)
}

async fn optional_user(user: Option<CurrentUser<TestUser>>) -> String {
    user.map_or_else(|| "anonymous".to_owned(), |u| u.username.clone())
}

fn app(auth: &Centurion<TestUser>) -> Router {
    Router::new()
        .route("/claims", get(claims_handler))
        .route("/optional", get(optional_claims))
        .route("/user", get(user_twice))
        .route("/everything", get(everything))
        .route("/optional-user", get(optional_user))
        .route("/public", get(|| async { "public" }))
        .layer(auth.layer())
}

/// An instance over a shared store that holds ada.
fn setup_with(
    configure: impl FnOnce(CenturionBuilder<TestUser>) -> CenturionBuilder<TestUser>,
) -> (Centurion<TestUser>, SharedStore) {
    let (builder, store) = shared_builder();
    store.insert(ada());
    (configure(builder).build().unwrap(), store)
}

fn setup() -> (Centurion<TestUser>, SharedStore) {
    setup_with(|b| b)
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    fn www_authenticate(&self) -> Option<&str> {
        self.headers
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap())
    }

    /// Asserts a JSON error of this name and status, in exactly the documented shape.
    fn assert_error(&self, name: &str, status: u16) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        let body = self.json();
        let object = body.as_object().expect("a JSON object");
        let mut keys: Vec<_> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["error", "message", "status_code"]);
        assert_eq!(body["error"], name);
        assert_eq!(body["status_code"], status);
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(
            self.headers.get(header::CONTENT_TYPE).unwrap(),
            "application/json"
        );
    }
}

async fn send(app: Router, request: Request<Body>) -> Reply {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

fn get_with(path: &str, authorization: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    request.body(Body::empty()).unwrap()
}

async fn access_token(auth: &Centurion<TestUser>) -> String {
    auth.issue_pair(&ada()).await.unwrap().access_token
}

#[tokio::test]
async fn valid_bearer_token_reaches_the_handler() {
    let (auth, _) = setup();
    let token = access_token(&auth).await;
    let reply = send(
        app(&auth),
        get_with("/claims", Some(&format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        json!({"sub": "7", "roles": ["admin"], "fresh": true, "kind": "Access"})
    );
}

#[tokio::test]
async fn missing_header_is_401_missing_token_with_a_bare_bearer_challenge() {
    let (auth, _) = setup();
    let reply = send(app(&auth), get_with("/claims", None)).await;
    reply.assert_error("MissingToken", 401);
    assert_eq!(reply.www_authenticate(), Some("Bearer"));
}

#[tokio::test]
async fn malformed_header_is_401_invalid_token_header() {
    let (auth, _) = setup();
    let token = access_token(&auth).await;
    for value in [
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        token.clone(),
        format!("Basic {token}"),
        format!("Token {token}"),
        format!("Bearer {token} extra"),
        format!("Bearer\t{token}"),
        format!("Bearer: {token}"),
        format!("Bearertoken{token}"),
    ] {
        let reply = send(app(&auth), get_with("/claims", Some(&value))).await;
        reply.assert_error("InvalidTokenHeader", 401);
        assert!(
            reply.www_authenticate().unwrap().starts_with("Bearer"),
            "{value}"
        );
    }
}

#[tokio::test]
async fn non_utf8_header_is_401_invalid_token_header() {
    let (auth, _) = setup();
    let mut request = get_with("/claims", None);
    request.headers_mut().insert(
        header::AUTHORIZATION,
        HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
    );
    send(app(&auth), request)
        .await
        .assert_error("InvalidTokenHeader", 401);
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let (auth, _) = setup();
    let token = access_token(&auth).await;
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let reply = send(
            app(&auth),
            get_with("/claims", Some(&format!("{scheme} {token}"))),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{scheme}");
    }
}

#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let (auth, _) = setup();
    let token = access_token(&auth).await;
    let value = format!("Bearer {token}");
    let request = Request::get("/claims")
        .header(header::AUTHORIZATION, &value)
        .header(header::AUTHORIZATION, &value)
        .body(Body::empty())
        .unwrap();
    send(app(&auth), request)
        .await
        .assert_error("InvalidTokenHeader", 401);
    // Also when only one of them is a bearer token.
    let request = Request::get("/optional")
        .header(header::AUTHORIZATION, "Basic YTpi")
        .header(header::AUTHORIZATION, &value)
        .body(Body::empty())
        .unwrap();
    send(app(&auth), request)
        .await
        .assert_error("InvalidTokenHeader", 401);
}

#[tokio::test]
async fn invalid_token_is_401_with_an_invalid_token_challenge() {
    let (auth, _) = setup();
    let reply = send(app(&auth), get_with("/claims", Some("Bearer a.b.c"))).await;
    reply.assert_error("InvalidTokenError", 401);
    assert_eq!(
        reply.www_authenticate(),
        Some("Bearer error=\"invalid_token\"")
    );
}

#[tokio::test]
async fn refresh_token_in_the_header_is_refused() {
    let (auth, _) = setup();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let reply = send(
        app(&auth),
        get_with("/claims", Some(&format!("Bearer {}", pair.refresh_token))),
    )
    .await;
    reply.assert_error("MisusedRefreshToken", 401);
}

#[tokio::test]
async fn routes_without_extractors_need_no_token() {
    let (auth, _) = setup();
    let reply = send(app(&auth), get_with("/public", Some("Bearer garbage"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "public");
}

#[tokio::test]
async fn optional_claims_is_none_without_a_token() {
    let (auth, _) = setup();
    let reply = send(app(&auth), get_with("/optional", None)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "anonymous");
}

#[tokio::test]
async fn optional_claims_is_some_with_a_valid_token() {
    let (auth, _) = setup();
    let token = access_token(&auth).await;
    let reply = send(
        app(&auth),
        get_with("/optional", Some(&format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(reply.text(), "7");
}

#[tokio::test]
async fn optional_claims_refuses_a_bad_token() {
    let (auth, _) = setup();
    send(app(&auth), get_with("/optional", Some("Bearer a.b.c")))
        .await
        .assert_error("InvalidTokenError", 401);
    send(app(&auth), get_with("/optional", Some("Basic abc")))
        .await
        .assert_error("InvalidTokenHeader", 401);
    // An expired token is not silently treated as anonymous either.
    let mut payload = access_payload("7");
    payload["exp"] = json!(now() - 5);
    payload["iat"] = json!(now() - 100);
    payload["nbf"] = json!(now() - 100);
    let expired = centurion::dangerous::sign_payload(&auth, &payload).unwrap();
    send(
        app(&auth),
        get_with("/optional", Some(&format!("Bearer {expired}"))),
    )
    .await
    .assert_error("ExpiredAccessError", 401);
}

#[tokio::test]
async fn current_user_is_loaded_once_per_request() {
    let (auth, store) = setup();
    let token = access_token(&auth).await;
    let before = store.identify_calls();
    let reply = send(
        app(&auth),
        get_with("/user", Some(&format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "ada");
    assert_eq!(store.identify_calls() - before, 1);
    // Every request loads afresh.
    send(
        app(&auth),
        get_with("/user", Some(&format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(store.identify_calls() - before, 2);
}

#[tokio::test]
async fn token_is_verified_once_per_request_across_extractors() {
    let checks = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&checks);
    let (auth, store) = setup_with(|b| {
        b.validate_claims(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    });
    let token = access_token(&auth).await;
    let reply = send(
        app(&auth),
        get_with("/everything", Some(&format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), "7 ada");
    assert_eq!(checks.load(Ordering::SeqCst), 1);
    assert_eq!(store.identify_calls(), 1);
}

#[tokio::test]
async fn claims_extractor_never_loads_the_user() {
    let (auth, store) = setup();
    let token = access_token(&auth).await;
    send(
        app(&auth),
        get_with("/claims", Some(&format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(store.identify_calls() + store.lookup_calls(), 0);
}

#[tokio::test]
async fn current_user_of_a_deleted_user_is_401_missing_user() {
    let (auth, store) = setup();
    let token = access_token(&auth).await;
    store.remove(7);
    send(
        app(&auth),
        get_with("/user", Some(&format!("Bearer {token}"))),
    )
    .await
    .assert_error("MissingUserError", 401);
}

#[tokio::test]
async fn current_user_of_an_inactive_user_is_403_invalid_user() {
    let (auth, store) = setup();
    let token = access_token(&auth).await;
    store.modify(7, |u| u.active = false);
    let reply = send(
        app(&auth),
        get_with("/user", Some(&format!("Bearer {token}"))),
    )
    .await;
    reply.assert_error("InvalidUserError", 403);
    assert!(reply.www_authenticate().is_none());
}

#[tokio::test]
async fn optional_current_user_is_none_without_a_token_and_refuses_a_bad_one() {
    let (auth, store) = setup();
    let reply = send(app(&auth), get_with("/optional-user", None)).await;
    assert_eq!(reply.text(), "anonymous");
    assert_eq!(store.identify_calls(), 0);
    send(app(&auth), get_with("/optional-user", Some("Bearer x.y.z")))
        .await
        .assert_error("InvalidTokenError", 401);
    let token = access_token(&auth).await;
    let reply = send(
        app(&auth),
        get_with("/optional-user", Some(&format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(reply.text(), "ada");
}

#[tokio::test]
async fn missing_layer_is_a_500_not_a_pass() {
    let (auth, _) = setup();
    let token = access_token(&auth).await;
    let app = Router::new().route("/claims", get(claims_handler));
    let reply = send(app, get_with("/claims", Some(&format!("Bearer {token}")))).await;
    reply.assert_error("InternalError", 500);
}

#[tokio::test]
async fn error_responder_replaces_the_response() {
    let (auth, _) = setup_with(|b| {
        b.error_responder(|err: &Error| {
            (
                StatusCode::IM_A_TEAPOT,
                format!("custom {} {}", err.kind().name(), err.status().as_u16()),
            )
                .into_response()
        })
    });
    let reply = send(app(&auth), get_with("/claims", None)).await;
    assert_eq!(reply.status, StatusCode::IM_A_TEAPOT);
    assert_eq!(reply.text(), "custom MissingToken 401");
    let reply = send(app(&auth), get_with("/claims", Some("Bearer a.b.c"))).await;
    assert_eq!(reply.text(), "custom InvalidTokenError 401");
    // Successful responses pass untouched.
    let token = access_token(&auth).await;
    let reply = send(
        app(&auth),
        get_with("/claims", Some(&format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn validate_claims_hook_can_refuse_a_token() {
    let (auth, _) = setup_with(|b| {
        b.validate_claims(|claims| {
            if claims.subject() == "13" {
                Err(Error::new(ErrorKind::InvalidTokenError)
                    .with_message("this account is suspended"))
            } else {
                Ok(())
            }
        })
    });
    let good = access_token(&auth).await;
    let bad = auth
        .issue_pair(&TestUser::new(13, "mallory", &[]))
        .await
        .unwrap()
        .access_token;
    let reply = send(
        app(&auth),
        get_with("/claims", Some(&format!("Bearer {good}"))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = send(
        app(&auth),
        get_with("/claims", Some(&format!("Bearer {bad}"))),
    )
    .await;
    reply.assert_error("InvalidTokenError", 401);
    assert_eq!(reply.json()["message"], "this account is suspended");
    // The hook runs for direct verification too.
    assert_eq!(
        auth.verify_access(&bad).await.unwrap_err().message(),
        "this account is suspended"
    );
}

#[tokio::test]
async fn validate_claims_hook_runs_at_refresh() {
    let (auth, _) = setup_with(|b| {
        b.validate_claims(|claims| {
            if claims.kind() == TokenKind::Refresh {
                Err(Error::new(ErrorKind::RevokedTokenError))
            } else {
                Ok(())
            }
        })
    });
    let pair = auth.issue_pair(&ada()).await.unwrap();
    assert_eq!(
        auth.refresh(&pair.refresh_token).await.unwrap_err().kind(),
        ErrorKind::RevokedTokenError
    );
}

fn recording() -> (
    Arc<Mutex<Vec<TokenEvent>>>,
    impl Fn(&TokenEvent) + Send + Sync + 'static,
) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    (events, move |event: &TokenEvent| {
        sink.lock().unwrap().push(event.clone())
    })
}

#[tokio::test]
async fn on_event_receives_issued_refreshed_and_reuse_detected() {
    let (events, listener) = recording();
    let clock = centurion::clock::ManualClock::new();
    let (auth, _) = setup_with(|b| b.on_event(listener).clock(clock.clone()));
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let family = payload_of(&pair.refresh_token)["fam"]
        .as_str()
        .unwrap()
        .to_owned();
    let spent_jti = payload_of(&pair.refresh_token)["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    let issued = |seen: &[TokenEvent]| -> Vec<TokenKind> {
        seen.iter()
            .filter_map(|e| match e {
                TokenEvent::Issued {
                    kind,
                    subject,
                    family: f,
                    ..
                } => {
                    assert_eq!(subject, "7");
                    assert_eq!(f.as_deref(), Some(family.as_str()));
                    Some(*kind)
                }
                _ => None,
            })
            .collect()
    };
    {
        let seen = events.lock().unwrap();
        assert_eq!(seen.len(), 3, "{seen:?}");
        let kinds = issued(&seen);
        assert!(kinds.contains(&TokenKind::Access) && kinds.contains(&TokenKind::Refresh));
        assert!(seen.iter().any(|e| matches!(
            e,
            TokenEvent::SessionStarted { subject, family: f, .. } if subject == "7" && *f == family
        )));
    }
    events.lock().unwrap().clear();

    auth.refresh(&pair.refresh_token).await.unwrap();
    {
        let seen = events.lock().unwrap();
        assert_eq!(issued(&seen).len(), 2);
        assert!(seen.contains(&TokenEvent::Refreshed {
            subject: "7".into(),
            family: family.clone(),
            spent_jti: spent_jti.clone(),
        }));
    }
    events.lock().unwrap().clear();

    // Within the grace window: the same pair again, and an event saying so.
    auth.refresh(&pair.refresh_token).await.unwrap();
    {
        let seen = events.lock().unwrap();
        assert_eq!(issued(&seen).len(), 2);
        assert!(seen.contains(&TokenEvent::RefreshReplayed {
            subject: "7".into(),
            family: family.clone(),
        }));
    }
    events.lock().unwrap().clear();

    // Past it: reuse.
    clock.advance(std::time::Duration::from_secs(6));
    auth.refresh(&pair.refresh_token).await.unwrap_err();
    assert_eq!(
        *events.lock().unwrap(),
        [TokenEvent::ReuseDetected {
            subject: "7".into(),
            family,
        }]
    );
}

#[tokio::test]
async fn on_event_receives_revocations() {
    let (events, listener) = recording();
    let (auth, _) = setup_with(|b| b.on_event(listener));
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let claims = auth.verify_access(&pair.access_token).await.unwrap();
    events.lock().unwrap().clear();
    auth.revoke_token(&claims).await.unwrap();
    auth.revoke_family(claims.family().unwrap()).await.unwrap();
    auth.revoke_user("7").await.unwrap();
    assert_eq!(
        *events.lock().unwrap(),
        [
            TokenEvent::TokenRevoked {
                jti: claims.jti().to_owned()
            },
            TokenEvent::FamilyRevoked {
                family: claims.family().unwrap().to_owned()
            },
            TokenEvent::UserRevoked {
                subject: "7".into()
            },
        ]
    );
}

#[tokio::test]
async fn events_never_carry_a_token() {
    let (events, listener) = recording();
    let (auth, _) = setup_with(|b| b.on_event(listener));
    let pair = auth.issue_pair(&ada()).await.unwrap();
    auth.refresh(&pair.refresh_token).await.unwrap();
    let text = format!("{:?}", events.lock().unwrap());
    for token in [&pair.access_token, &pair.refresh_token] {
        let (_, _, signature) = parts(token);
        assert!(!text.contains(token.as_str()));
        assert!(!text.contains(&signature));
    }
}

#[tokio::test]
async fn service_token_is_accepted_as_access() {
    let (auth, _) = setup();
    let token = auth.issue_service_token(&ada(), None).unwrap();
    let reply = send(
        app(&auth),
        get_with("/claims", Some(&format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        json!({"sub": "7", "roles": ["admin"], "fresh": false, "kind": "Service"})
    );
    let reply = send(
        app(&auth),
        get_with("/user", Some(&format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(reply.text(), "ada");
}

#[tokio::test]
async fn service_token_is_never_fresh() {
    let (auth, _) = setup();
    let token = auth.issue_service_token(&ada(), None).unwrap();
    let claims = auth.verify_access(&token).await.unwrap();
    assert!(!claims.is_fresh());
    assert_eq!(
        centurion::check_fresh(&claims).unwrap_err().kind(),
        ErrorKind::FreshTokenRequired
    );
}

#[tokio::test]
async fn service_token_is_revocable_through_the_router() {
    let (auth, _) = setup();
    let token = auth.issue_service_token(&ada(), None).unwrap();
    let claims = auth.verify_access(&token).await.unwrap();
    auth.revoke_token(&claims).await.unwrap();
    send(
        app(&auth),
        get_with("/claims", Some(&format!("Bearer {token}"))),
    )
    .await
    .assert_error("RevokedTokenError", 401);
}

#[tokio::test]
async fn service_token_lifespan_defaults_to_a_year_and_can_be_chosen() {
    let (auth, _) = setup();
    let payload = payload_of(&auth.issue_service_token(&ada(), None).unwrap());
    assert_eq!(
        payload["exp"].as_u64().unwrap() - payload["iat"].as_u64().unwrap(),
        365 * 86_400
    );
    let payload = payload_of(
        &auth
            .issue_service_token(&ada(), Some(std::time::Duration::from_secs(7200)))
            .unwrap(),
    );
    assert_eq!(
        payload["exp"].as_u64().unwrap() - payload["iat"].as_u64().unwrap(),
        7200
    );
    assert_eq!(payload["type"], "service");
}

#[tokio::test]
async fn pack_header_for_user_authenticates_a_request() {
    let (auth, _) = setup();
    let (name, value) = auth.pack_header_for_user(&ada()).await.unwrap();
    assert_eq!(name, header::AUTHORIZATION);
    assert!(value.to_str().unwrap().starts_with("Bearer "));
    let request = Request::get("/claims")
        .header(name, value)
        .body(Body::empty())
        .unwrap();
    let reply = send(app(&auth), request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["fresh"], true);
}

#[tokio::test]
async fn instance_is_an_extractor_for_login_handlers() {
    let (auth, _) = setup();
    async fn login(auth: Centurion<TestUser>) -> String {
        auth.issue_pair(&TestUser::new(7, "ada", &[]))
            .await
            .unwrap()
            .access_token
    }
    let app = Router::new()
        .route("/login", get(login))
        .layer(auth.layer());
    let reply = send(app, get_with("/login", None)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(auth.verify_access(&reply.text()).await.is_ok());
}

#[test]
fn bearer_token_parsing_is_exposed_for_custom_extractors() {
    use centurion::transport::bearer_token;
    let mut headers = http::HeaderMap::new();
    assert_eq!(bearer_token(&headers).unwrap(), None);
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("bearer  abc "),
    );
    assert_eq!(bearer_token(&headers).unwrap(), Some("abc"));
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Digest abc"),
    );
    assert_eq!(
        bearer_token(&headers).unwrap_err().kind(),
        ErrorKind::InvalidTokenHeader
    );
}

/// A user store that is down.
struct DownUsers;

impl centurion::UserStore<TestUser> for DownUsers {
    async fn lookup(&self, _: &str) -> centurion::Result<Option<TestUser>> {
        Err(Error::store(std::io::Error::other("database is down")))
    }
    async fn identify(&self, _: &str) -> centurion::Result<Option<TestUser>> {
        Err(Error::store(std::io::Error::other("database is down")))
    }
    async fn update_password_hash(&self, _: &str, _: &str) -> centurion::Result<()> {
        Err(Error::store(std::io::Error::other("database is down")))
    }
}

#[tokio::test]
async fn user_store_failure_is_503_store_unavailable() {
    let auth = Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .user_store(DownUsers)
        .build()
        .unwrap();
    let token = access_token(&auth).await;
    // Claims need no store and still work.
    let reply = send(
        app(&auth),
        get_with("/claims", Some(&format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = send(
        app(&auth),
        get_with("/user", Some(&format!("Bearer {token}"))),
    )
    .await;
    reply.assert_error("StoreUnavailable", 503);
    assert!(!reply.text().contains("database"));
    assert_eq!(
        auth.authenticate("ada", "password")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::StoreUnavailable
    );
}

#[tokio::test]
async fn handler_can_take_the_refusal_itself() {
    // Without an error responder, an application can still handle refusals itself by
    // extracting `Result<Claims, centurion::Error>`.
    async fn lenient(claims: Result<Claims, Error>) -> String {
        match claims {
            Ok(claims) => claims.subject().to_owned(),
            Err(err) => format!("refused: {}", err.kind().name()),
        }
    }
    let (auth, _) = setup();
    let app = || {
        Router::new()
            .route("/lenient", get(lenient))
            .layer(auth.layer())
    };
    let reply = send(app(), get_with("/lenient", None)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "refused: MissingToken");
    let reply = send(app(), get_with("/lenient", Some("Bearer a.b.c"))).await;
    assert_eq!(reply.text(), "refused: InvalidTokenError");
}

#[tokio::test]
async fn oversized_token_in_the_header_is_401_token_too_large() {
    let (auth, _) = setup();
    let huge = format!("Bearer {}", "a".repeat(200 * 1024));
    send(app(&auth), get_with("/claims", Some(&huge)))
        .await
        .assert_error("TokenTooLarge", 401);
}

/// A middleware that reads the claims under the outer instance (and so verifies and
/// caches them for the request).
async fn peek_claims(
    claims: Result<Claims, Error>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let _ = claims;
    next.run(request).await
}

/// Two instances with different keys, one layer inside the other: the inner instance's
/// extractors do not take the outer one's verification for theirs (issue 12.7). Before the
/// fix the request's verified claims were shared, and a token of A passed B's extractors.
#[tokio::test]
async fn an_inner_instance_does_not_trust_the_verification_of_an_outer_one() {
    let (a, _) = setup();
    let (b_builder, b_users) = shared_builder();
    b_users.insert(ada());
    let b = b_builder.secret(OTHER_SECRET).build().unwrap();
    let inner = Router::new()
        .route("/b/claims", get(claims_handler))
        .route("/b/user", get(user_twice))
        .layer(b.layer());
    let app = inner
        .layer(axum::middleware::from_fn(peek_claims))
        .layer(a.layer());
    let token_of_a = access_token(&a).await;
    let bearer = format!("Bearer {token_of_a}");
    for path in ["/b/claims", "/b/user"] {
        send(app.clone(), get_with(path, Some(&bearer)))
            .await
            .assert_error("InvalidTokenError", 401);
    }
    // B's own tokens pass B's extractors (A's middleware refused nothing: it only peeked).
    let bearer = format!("Bearer {}", access_token(&b).await);
    let reply = send(app, get_with("/b/claims", Some(&bearer))).await;
    assert_eq!(reply.status, StatusCode::OK);
}
