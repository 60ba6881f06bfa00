//! The cookie transport and its CSRF protection, through a real axum router: cookie
//! attributes, CSRF refusals, which location wins, cookie refresh with rotation and reuse
//! detection, logout.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use centurion::memory::MemoryUserStore;
use centurion::testing::TestUser;
use centurion::{
    Centurion, Claims, ClearSessionCookies, Config, CookieConfig, Error, ErrorKind, SameSite,
    Secret, SessionCookies, TokenLocation,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery staple";

// ---------------------------------------------------------------------------------------
// The application under test.

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

async fn login(
    auth: Centurion<TestUser>,
    Json(body): Json<Login>,
) -> Result<SessionCookies, Error> {
    let pair = auth.login(&body.username, &body.password).await?;
    auth.session_cookies(&pair)
}

async fn refresh(auth: Centurion<TestUser>, headers: HeaderMap) -> Result<SessionCookies, Error> {
    auth.refresh_from_cookies(&headers).await
}

async fn logout(
    auth: Centurion<TestUser>,
    claims: Claims,
) -> Result<(ClearSessionCookies, Json<Value>), Error> {
    auth.logout(&claims, None).await?;
    Ok((
        auth.clear_session_cookies()?,
        Json(json!({"message": "logged out"})),
    ))
}

async fn whoami(claims: Claims) -> Json<Value> {
    Json(json!({"sub": claims.subject()}))
}

#[centurion::secured]
async fn guarded(claims: Claims) -> Json<Value> {
    Json(json!({"sub": claims.subject()}))
}

struct App {
    auth: Centurion<TestUser>,
    router: Router,
}

/// Two users, `ada` (id 1) and `bob` (id 2), both with [`PASSWORD`].
async fn app_with(config: Config) -> App {
    let users = MemoryUserStore::<TestUser>::new();
    let auth = Centurion::<TestUser>::builder()
        .config(Config {
            secret: Some(Secret::new(centurion_testkit::TEST_SECRET)),
            password: centurion_testkit::cheap_passwords(),
            ..config
        })
        .user_store(users)
        .build()
        .expect("the test configuration is valid");
    for name in ["ada", "bob"] {
        let (_, token) = auth
            .register(name, None, PASSWORD, &["editor"])
            .await
            .expect("user created")
            .created()
            .expect("a new user");
        auth.confirm_registration(&token)
            .await
            .expect("user activated");
    }
    let router = Router::new()
        .route("/auth/session", post(login).delete(logout))
        .route("/auth/session/refresh", post(refresh))
        .route(
            "/api/whoami",
            get(whoami)
                .post(whoami)
                .put(whoami)
                .patch(whoami)
                .delete(whoami)
                .head(whoami)
                .options(whoami),
        )
        .route("/api/guarded", post(guarded))
        .layer(auth.layer());
    App { auth, router }
}

/// Header first, then cookies; plain HTTP (no `Secure`), refresh cookie on `/auth/session`.
fn cookie_config() -> Config {
    Config {
        token_locations: vec![TokenLocation::Header, TokenLocation::Cookies],
        cookies: CookieConfig {
            secure: false,
            refresh_path: Some("/auth/session".to_owned()),
            ..CookieConfig::default()
        },
        access_lifespan: std::time::Duration::from_secs(300),
        refresh_lifespan: std::time::Duration::from_secs(3600),
        ..Config::default()
    }
}

async fn app() -> App {
    app_with(cookie_config()).await
}

// ---------------------------------------------------------------------------------------
// A tiny client with a cookie jar.

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().expect("ASCII cookie").to_owned())
            .collect()
    }

    /// The `Set-Cookie` line of cookie `name`.
    fn set_cookie(&self, name: &str) -> String {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no Set-Cookie for {name} in {:?}", self.set_cookies()))
    }

    fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

#[derive(Default, Clone)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    /// Stores the cookies of an answer (a removal deletes).
    fn absorb(&mut self, answer: &Answer) {
        for line in answer.set_cookies() {
            let pair = line.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() || line.contains("Max-Age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

async fn send(router: &Router, req: Request<Body>) -> Answer {
    let res = router.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn request(method: Method, uri: &str, jar: &Jar, extra: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if !jar.0.is_empty() {
        builder = builder.header("cookie", jar.header());
    }
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).expect("request")
}

/// Logs `username` in through `/auth/session`; the jar holds the three cookies.
async fn session(app: &App, username: &str) -> (Jar, Answer) {
    let req = Request::post("/auth/session")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"username": username, "password": PASSWORD}).to_string(),
        ))
        .expect("request");
    let answer = send(&app.router, req).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "login failed: {}",
        answer.body
    );
    let mut jar = Jar::default();
    jar.absorb(&answer);
    (jar, answer)
}

fn attributes(line: &str) -> Vec<String> {
    line.split(';')
        .skip(1)
        .map(|a| a.trim().to_owned())
        .collect()
}

fn max_age(line: &str) -> u64 {
    attributes(line)
        .iter()
        .find_map(|a| {
            a.strip_prefix("Max-Age=")
                .map(|v| v.parse().expect("number"))
        })
        .expect("Max-Age")
}

// ---------------------------------------------------------------------------------------
// Cookie attributes.

#[tokio::test]
async fn login_sets_httponly_samesite_cookies_with_token_lifetimes() {
    let app = app().await;
    let (jar, answer) = session(&app, "ada").await;
    assert_eq!(answer.body["csrf_token"], jar.get("csrf_token"));
    assert_eq!(answer.headers["cache-control"], "no-store");

    let access = answer.set_cookie("access_token");
    let attrs = attributes(&access);
    assert!(attrs.contains(&"HttpOnly".to_owned()), "{access}");
    assert!(attrs.contains(&"SameSite=Lax".to_owned()), "{access}");
    assert!(attrs.contains(&"Path=/".to_owned()), "{access}");
    assert!(
        !attrs
            .iter()
            .any(|a| a == "Secure" || a.starts_with("Domain")),
        "{access}"
    );
    assert!((298..=300).contains(&max_age(&access)), "{access}");

    let refresh = answer.set_cookie("refresh_token");
    let attrs = attributes(&refresh);
    assert!(attrs.contains(&"HttpOnly".to_owned()), "{refresh}");
    assert!(
        attrs.contains(&"Path=/auth/session".to_owned()),
        "{refresh}"
    );
    assert!((3598..=3600).contains(&max_age(&refresh)), "{refresh}");

    let csrf = answer.set_cookie("csrf_token");
    let attrs = attributes(&csrf);
    assert!(
        !attrs.contains(&"HttpOnly".to_owned()),
        "scripts must read it: {csrf}"
    );
    assert!(attrs.contains(&"SameSite=Lax".to_owned()), "{csrf}");
    assert!(attrs.contains(&"Path=/".to_owned()), "{csrf}");
    assert!((3598..=3600).contains(&max_age(&csrf)), "{csrf}");
}

#[tokio::test]
async fn secure_cookies_get_host_prefix_on_root_path_and_secure_prefix_elsewhere() {
    let mut config = cookie_config();
    config.cookies.secure = true;
    config.cookies.same_site = SameSite::Strict;
    let app = app_with(config).await;
    let (_, answer) = session(&app, "ada").await;
    let access = answer.set_cookie("__Host-access_token");
    assert!(
        attributes(&access).contains(&"Secure".to_owned()),
        "{access}"
    );
    assert!(
        attributes(&access).contains(&"SameSite=Strict".to_owned()),
        "{access}"
    );
    assert!(
        attributes(&access).contains(&"Path=/".to_owned()),
        "{access}"
    );
    let refresh = answer.set_cookie("__Secure-refresh_token");
    assert!(
        attributes(&refresh).contains(&"Secure".to_owned()),
        "{refresh}"
    );
    assert!(
        attributes(&refresh).contains(&"Path=/auth/session".to_owned()),
        "{refresh}"
    );
    let csrf = answer.set_cookie("__Host-csrf_token");
    assert!(attributes(&csrf).contains(&"Secure".to_owned()), "{csrf}");
}

#[tokio::test]
async fn a_domain_is_written_and_rules_out_the_host_prefix() {
    let mut config = cookie_config();
    config.cookies.secure = true;
    config.cookies.domain = Some("example.com".to_owned());
    let app = app_with(config).await;
    let (_, answer) = session(&app, "ada").await;
    let access = answer.set_cookie("__Secure-access_token");
    assert!(
        attributes(&access).contains(&"Domain=example.com".to_owned()),
        "{access}"
    );
}

#[tokio::test]
async fn cookie_settings_are_checked_at_build_time() {
    let build = |cookies: CookieConfig| {
        Centurion::<TestUser>::builder()
            .secret(centurion_testkit::TEST_SECRET)
            .user_store(MemoryUserStore::new())
            .cookies(cookies)
            .build()
            .map(|_| ())
            .unwrap_err()
    };
    let err = build(CookieConfig {
        secure: false,
        same_site: SameSite::None,
        ..CookieConfig::default()
    });
    assert_eq!(err.kind(), ErrorKind::ConfigurationError);
    assert!(err.message().contains("same_site"), "{}", err.message());

    let err = build(CookieConfig {
        access_cookie_name: "bad name".to_owned(),
        ..CookieConfig::default()
    });
    assert!(
        err.message().contains("access_cookie_name"),
        "{}",
        err.message()
    );

    let err = build(CookieConfig {
        refresh_path: Some("auth".to_owned()),
        ..CookieConfig::default()
    });
    assert!(err.message().contains("refresh_path"), "{}", err.message());

    let err = build(CookieConfig {
        csrf_secret: Some(Secret::new("short")),
        ..CookieConfig::default()
    });
    assert!(err.message().contains("csrf_secret"), "{}", err.message());
}

#[tokio::test]
async fn session_cookies_need_cookies_among_the_token_locations() {
    let app = app_with(Config::default()).await;
    let user = app.auth.identify("1").await.unwrap().unwrap();
    let pair = app.auth.issue_pair(&user).await.unwrap();
    let err = app.auth.session_cookies(&pair).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigurationError);
    assert!(
        err.message().contains("token_locations"),
        "{}",
        err.message()
    );
}

#[test]
fn cookie_settings_deserialize_from_config() {
    let config: Config = serde_json::from_value(json!({
        "token_locations": ["cookies", "header"],
        "cookies": {"secure": false, "same_site": "strict", "csrf_header_name": "X-XSRF-Token"}
    }))
    .unwrap();
    assert_eq!(
        config.token_locations,
        [TokenLocation::Cookies, TokenLocation::Header]
    );
    assert_eq!(config.cookies.same_site, SameSite::Strict);
    assert_eq!(config.cookies.csrf_header_name, "X-XSRF-Token");
    assert!(serde_json::from_value::<Config>(json!({"cookies": {"unknown": 1}})).is_err());
}

// ---------------------------------------------------------------------------------------
// CSRF.

#[tokio::test]
async fn a_cookie_authenticates_safe_methods_without_csrf() {
    let app = app().await;
    let (jar, _) = session(&app, "ada").await;
    for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
        let answer = send(
            &app.router,
            request(method.clone(), "/api/whoami", &jar, &[]),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{method}: {}", answer.body);
    }
}

#[tokio::test]
async fn cookie_authenticated_unsafe_methods_without_the_csrf_header_are_refused() {
    let app = app().await;
    let (jar, _) = session(&app, "ada").await;
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let answer = send(
            &app.router,
            request(method.clone(), "/api/whoami", &jar, &[]),
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method}");
        assert_eq!(answer.error(), "CSRFError", "{method}: {}", answer.body);
        assert_eq!(answer.body["status_code"], 401);
        assert_eq!(answer.headers["content-type"], "application/json");
    }
}

#[tokio::test]
async fn cookie_authenticated_unsafe_methods_with_the_csrf_header_pass() {
    let app = app().await;
    let (jar, _) = session(&app, "ada").await;
    let csrf = jar.get("csrf_token").to_owned();
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let answer = send(
            &app.router,
            request(
                method.clone(),
                "/api/whoami",
                &jar,
                &[("x-csrf-token", &csrf)],
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{method}: {}", answer.body);
        assert_eq!(answer.body["sub"], "1");
    }
}

#[tokio::test]
async fn the_secured_guard_checks_csrf_before_the_handler() {
    let app = app().await;
    let (jar, _) = session(&app, "ada").await;
    let answer = send(
        &app.router,
        request(Method::POST, "/api/guarded", &jar, &[]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error(), "CSRFError");
    let csrf = jar.get("csrf_token").to_owned();
    let answer = send(
        &app.router,
        request(
            Method::POST,
            "/api/guarded",
            &jar,
            &[("x-csrf-token", &csrf)],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn a_wrong_csrf_token_is_refused() {
    let app = app().await;
    let (jar, _) = session(&app, "ada").await;
    let csrf = jar.get("csrf_token").to_owned();
    let mut tampered = csrf.clone().into_bytes();
    tampered[0] = if tampered[0] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for wrong in [tampered.as_str(), "", "x", &csrf[..csrf.len() - 1]] {
        let answer = send(
            &app.router,
            request(
                Method::POST,
                "/api/whoami",
                &jar,
                &[("x-csrf-token", wrong)],
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{wrong:?}");
        assert_eq!(answer.error(), "CSRFError", "{wrong:?}");
    }
    // The same wrong value in cookie and header: a plain double submit would pass it.
    let mut forged = jar.clone();
    forged.0.insert("csrf_token".to_owned(), tampered.clone());
    let answer = send(
        &app.router,
        request(
            Method::POST,
            "/api/whoami",
            &forged,
            &[("x-csrf-token", &tampered)],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error(), "CSRFError");
}

#[tokio::test]
async fn a_csrf_token_of_another_session_is_refused() {
    let app = app().await;
    let (ada, _) = session(&app, "ada").await;
    let (bob, _) = session(&app, "bob").await;
    // Ada's second login: the same user, another session.
    let (ada2, _) = session(&app, "ada").await;
    assert_ne!(ada.get("csrf_token"), ada2.get("csrf_token"));
    for other in [&bob, &ada2] {
        // An attacker who planted their own valid CSRF token as cookie and header.
        let mut jar = ada.clone();
        let foreign = other.get("csrf_token").to_owned();
        jar.0.insert("csrf_token".to_owned(), foreign.clone());
        let answer = send(
            &app.router,
            request(
                Method::POST,
                "/api/whoami",
                &jar,
                &[("x-csrf-token", &foreign)],
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.error(), "CSRFError");
    }
}

#[tokio::test]
async fn a_csrf_header_without_the_csrf_cookie_is_refused() {
    let app = app().await;
    let (mut jar, _) = session(&app, "ada").await;
    let csrf = jar.0.remove("csrf_token").unwrap();
    let answer = send(
        &app.router,
        request(
            Method::POST,
            "/api/whoami",
            &jar,
            &[("x-csrf-token", &csrf)],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error(), "CSRFError");
}

#[tokio::test]
async fn two_csrf_headers_are_refused() {
    let app = app().await;
    let (jar, _) = session(&app, "ada").await;
    let csrf = jar.get("csrf_token").to_owned();
    let answer = send(
        &app.router,
        request(
            Method::POST,
            "/api/whoami",
            &jar,
            &[("x-csrf-token", &csrf), ("x-csrf-token", &csrf)],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error(), "CSRFError");
}

#[tokio::test]
async fn csrf_protection_can_be_turned_off() {
    let mut config = cookie_config();
    config.cookies.csrf_protect = false;
    let app = app_with(config).await;
    let (jar, _) = session(&app, "ada").await;
    let answer = send(&app.router, request(Method::POST, "/api/whoami", &jar, &[])).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn a_configured_csrf_secret_changes_the_tokens() {
    let (_, derived) = session(&app().await, "ada").await;
    let mut config = cookie_config();
    config.cookies.csrf_secret = Some(Secret::new("a-separate-csrf-secret-of-32-bytes-or-more"));
    let app = app_with(config).await;
    let (jar, answer) = session(&app, "ada").await;
    assert_ne!(answer.body["csrf_token"], derived.body["csrf_token"]);
    let csrf = jar.get("csrf_token").to_owned();
    let answer = send(
        &app.router,
        request(
            Method::POST,
            "/api/whoami",
            &jar,
            &[("x-csrf-token", &csrf)],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

// ---------------------------------------------------------------------------------------
// Which location wins.

async fn bearer(app: &App, id: &str) -> String {
    let user = app.auth.identify(id).await.unwrap().unwrap();
    format!(
        "Bearer {}",
        app.auth.issue_pair(&user).await.unwrap().access_token
    )
}

#[tokio::test]
async fn a_header_token_needs_no_csrf() {
    let app = app().await;
    let auth = bearer(&app, "1").await;
    let answer = send(
        &app.router,
        request(
            Method::POST,
            "/api/whoami",
            &Jar::default(),
            &[("authorization", &auth)],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn the_header_wins_over_a_disagreeing_cookie() {
    let app = app().await;
    let (bob_cookies, _) = session(&app, "bob").await;
    let ada_header = bearer(&app, "1").await;
    // Both locations, different users, unsafe method, no CSRF header: the header decides,
    // and a header-borne token needs no CSRF token.
    let answer = send(
        &app.router,
        request(
            Method::POST,
            "/api/whoami",
            &bob_cookies,
            &[("authorization", &ada_header)],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["sub"], "1");
    // A broken bearer header is refused, not passed over for the cookie.
    let answer = send(
        &app.router,
        request(
            Method::GET,
            "/api/whoami",
            &bob_cookies,
            &[("authorization", "Bearer not-a-token")],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_configured_order_decides_which_location_wins() {
    let mut config = cookie_config();
    config.token_locations = vec![TokenLocation::Cookies, TokenLocation::Header];
    let app = app_with(config).await;
    let (bob_cookies, _) = session(&app, "bob").await;
    let ada_header = bearer(&app, "1").await;
    let answer = send(
        &app.router,
        request(
            Method::GET,
            "/api/whoami",
            &bob_cookies,
            &[("authorization", &ada_header)],
        ),
    )
    .await;
    assert_eq!(answer.body["sub"], "2", "{}", answer.body);
    // The cookie won, so the unsafe method needs the CSRF header.
    let answer = send(
        &app.router,
        request(
            Method::POST,
            "/api/whoami",
            &bob_cookies,
            &[("authorization", &ada_header)],
        ),
    )
    .await;
    assert_eq!(answer.error(), "CSRFError");
}

#[tokio::test]
async fn another_authorization_scheme_is_passed_over_for_the_cookie() {
    let app = app().await;
    let (jar, _) = session(&app, "ada").await;
    let answer = send(
        &app.router,
        request(
            Method::GET,
            "/api/whoami",
            &jar,
            &[("authorization", "Basic dXNlcjpwYXNz")],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn cookies_are_not_read_unless_configured() {
    let cookie_app = app().await;
    let (jar, _) = session(&cookie_app, "ada").await;
    let header_only = app_with(Config::default()).await;
    let answer = send(
        &header_only.router,
        request(Method::GET, "/api/whoami", &jar, &[]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error(), "MissingToken");
}

#[tokio::test]
async fn two_different_access_cookies_are_refused() {
    let app = app().await;
    let (ada, _) = session(&app, "ada").await;
    let (bob, _) = session(&app, "bob").await;
    let cookie = format!(
        "access_token={}; access_token={}",
        ada.get("access_token"),
        bob.get("access_token")
    );
    let req = Request::get("/api/whoami")
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap();
    let answer = send(&app.router, req).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("more than one"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn a_query_token_is_read_on_websocket_upgrades_only() {
    let mut config = cookie_config();
    config.token_locations.push(TokenLocation::Query);
    let app = app_with(config).await;
    let auth = bearer(&app, "1").await;
    let token = auth.trim_start_matches("Bearer ");
    let uri = format!("/api/whoami?access_token={token}");
    let upgrade = [("connection", "upgrade"), ("upgrade", "websocket")];
    let answer = send(
        &app.router,
        request(Method::GET, &uri, &Jar::default(), &upgrade),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["sub"], "1");
    // An ordinary request: the parameter is ignored.
    let answer = send(
        &app.router,
        request(Method::GET, &uri, &Jar::default(), &[]),
    )
    .await;
    assert_eq!(answer.error(), "MissingToken");
    // Not configured: ignored even on upgrades.
    let plain = app_with(cookie_config()).await;
    let answer = send(
        &plain.router,
        request(Method::GET, &uri, &Jar::default(), &upgrade),
    )
    .await;
    assert_eq!(answer.error(), "MissingToken");
}

// ---------------------------------------------------------------------------------------
// Refresh by cookie, logout.

async fn refresh_with(app: &App, jar: &Jar, csrf: Option<&str>) -> Answer {
    let headers: Vec<(&str, &str)> = csrf.map(|c| ("x-csrf-token", c)).into_iter().collect();
    send(
        &app.router,
        request(Method::POST, "/auth/session/refresh", jar, &headers),
    )
    .await
}

/// Two tabs of one browser refresh with the same cookie at once: inside the grace window
/// both get the same new cookies (byte for byte with HS256), and the session lives on.
#[tokio::test]
async fn refresh_by_cookie_twice_within_the_grace_window_gets_the_same_cookies() {
    let app = app().await;
    let (jar, _) = session(&app, "ada").await;
    let csrf = jar.get("csrf_token").to_owned();
    let first = refresh_with(&app, &jar, Some(&csrf)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = refresh_with(&app, &jar, Some(&csrf)).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    for name in ["access_token", "refresh_token", "csrf_token"] {
        assert_eq!(first.set_cookie(name), second.set_cookie(name), "{name}");
    }
    let mut renewed = jar.clone();
    renewed.absorb(&second);
    let ok = send(
        &app.router,
        request(Method::GET, "/api/whoami", &renewed, &[]),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let next = refresh_with(&app, &renewed, Some(&csrf)).await;
    assert_eq!(
        next.status,
        StatusCode::OK,
        "the successor refreshes in turn"
    );
}

#[tokio::test]
async fn refresh_by_cookie_rotates_and_detects_reuse() {
    // Strict rotation: no grace window, so the second use is a reuse at once.
    let app = app_with(Config {
        refresh_grace: std::time::Duration::ZERO,
        ..cookie_config()
    })
    .await;
    let (jar, _) = session(&app, "ada").await;
    let csrf = jar.get("csrf_token").to_owned();

    let answer = refresh_with(&app, &jar, Some(&csrf)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.body["csrf_token"], csrf,
        "the session, and so its CSRF token, stays"
    );
    let mut renewed = jar.clone();
    renewed.absorb(&answer);
    assert_ne!(renewed.get("access_token"), jar.get("access_token"));
    assert_ne!(renewed.get("refresh_token"), jar.get("refresh_token"));
    let refresh_line = answer.set_cookie("refresh_token");
    assert!(attributes(&refresh_line).contains(&"Path=/auth/session".to_owned()));
    assert!(attributes(&refresh_line).contains(&"HttpOnly".to_owned()));

    // The new cookies work, with the same CSRF token.
    let ok = send(
        &app.router,
        request(
            Method::POST,
            "/api/whoami",
            &renewed,
            &[("x-csrf-token", &csrf)],
        ),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);

    // The spent refresh cookie again: reuse, the whole session is revoked.
    let reuse = refresh_with(&app, &jar, Some(&csrf)).await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reuse.error(), "RefreshReuseError");
    let revoked = send(
        &app.router,
        request(Method::GET, "/api/whoami", &renewed, &[]),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(revoked.error(), "RevokedTokenError");
    let again = refresh_with(&app, &renewed, Some(&csrf)).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_by_cookie_without_csrf_is_refused_and_spends_nothing() {
    let app = app().await;
    let (jar, _) = session(&app, "ada").await;
    let csrf = jar.get("csrf_token").to_owned();
    let (bob, _) = session(&app, "bob").await;

    let missing = refresh_with(&app, &jar, None).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.error(), "CSRFError");
    let wrong = refresh_with(&app, &jar, Some(bob.get("csrf_token"))).await;
    assert_eq!(wrong.error(), "CSRFError");
    assert!(missing.set_cookies().is_empty() && wrong.set_cookies().is_empty());

    // The refresh token was not spent by the refused attempts.
    let answer = refresh_with(&app, &jar, Some(&csrf)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn refresh_without_a_refresh_cookie_is_missing_token() {
    let app = app().await;
    let (mut jar, _) = session(&app, "ada").await;
    jar.0.remove("refresh_token");
    let csrf = jar.get("csrf_token").to_owned();
    let answer = refresh_with(&app, &jar, Some(&csrf)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error(), "MissingToken");
    // An access token in the refresh cookie is the wrong kind.
    jar.0.insert(
        "refresh_token".to_owned(),
        jar.get("access_token").to_owned(),
    );
    let answer = refresh_with(&app, &jar, Some(&csrf)).await;
    assert_eq!(answer.error(), "MisusedAccessToken");
}

#[tokio::test]
async fn logout_clears_the_cookies_and_revokes_the_session() {
    let app = app().await;
    let (jar, _) = session(&app, "ada").await;
    let csrf = jar.get("csrf_token").to_owned();

    let refused = send(
        &app.router,
        request(Method::DELETE, "/auth/session", &jar, &[]),
    )
    .await;
    assert_eq!(refused.error(), "CSRFError");

    let answer = send(
        &app.router,
        request(
            Method::DELETE,
            "/auth/session",
            &jar,
            &[("x-csrf-token", &csrf)],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    for (name, path) in [
        ("access_token", "Path=/"),
        ("refresh_token", "Path=/auth/session"),
        ("csrf_token", "Path=/"),
    ] {
        let line = answer.set_cookie(name);
        assert!(line.starts_with(&format!("{name}=;")), "{line}");
        assert_eq!(max_age(&line), 0, "{line}");
        assert!(attributes(&line).contains(&path.to_owned()), "{line}");
    }
    let mut cleared = jar.clone();
    cleared.absorb(&answer);
    assert!(cleared.0.is_empty(), "{:?}", cleared.0);

    // The old cookies no longer work: the access token and its session are revoked.
    let answer = send(&app.router, request(Method::GET, "/api/whoami", &jar, &[])).await;
    assert_eq!(answer.error(), "RevokedTokenError");
    let answer = refresh_with(&app, &jar, Some(&csrf)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cleared_secure_cookies_keep_their_prefixes_and_secure() {
    let mut config = cookie_config();
    config.cookies.secure = true;
    let app = app_with(config).await;
    let cleared = app.auth.clear_session_cookies().unwrap();
    let lines: Vec<_> = cleared
        .set_cookie_headers()
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(lines[0].starts_with("__Host-access_token=;"), "{lines:?}");
    assert!(
        lines[1].starts_with("__Secure-refresh_token=;"),
        "{lines:?}"
    );
    assert!(lines.iter().all(|l| l.contains("; Secure")), "{lines:?}");
}
