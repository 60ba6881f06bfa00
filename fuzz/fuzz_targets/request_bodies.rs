//! Request bodies of the login, refresh, logout, registration-confirmation and
//! password-reset routes, through the test kit's reference auth routes
//! (`centurion_testkit::routes`, built like the quickstart's): `JsonBody` (whose
//! rejections answer with centurion's JSON error body, 400), handlers that call `login`,
//! `refresh`, `logout`, `confirm_registration` and `reset_password`.
//!
//! Bodies are arbitrary bytes in which the bytes 0x01–0x05 stand for a valid access token,
//! refresh token, registration token, the username and the password, so the fuzzer reaches
//! the handlers with credentials that work. The oracle: never a 5xx, every refusal is the
//! JSON error body with its status, and a success only with the right credentials (a login
//! with exactly the user's name and password, a refresh with exactly the issued refresh
//! token, a confirmation with exactly the registration token).

#![no_main]

mod common;

use arbitrary::Arbitrary;
use axum::Router;
use axum::body::Body as HttpBody;
use centurion::Centurion;
use centurion::testing::TestUser;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tower::ServiceExt;

/// The kit's reference auth routes behind the fuzzed instance's layer.
fn router(auth: &Centurion<TestUser>) -> Router {
    centurion_testkit::routes::auth_routes().layer(auth.layer())
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Route {
    Login,
    Refresh,
    Confirm,
    Reset,
    Logout,
}

#[derive(Arbitrary, Debug)]
enum ContentType {
    Json,
    JsonCharset,
    Plain,
    Missing,
    Other(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    route: Route,
    content_type: ContentType,
    /// Logout: send the access token in the Authorization header.
    bearer: bool,
    body: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let f = common::fixture();
    let auth = &f.auth;
    let (pair, registration) = common::rt().block_on(async {
        (
            auth.issue_pair(&f.user).await.unwrap(),
            auth.issue_registration_token(&f.user).unwrap(),
        )
    });
    let mut body = Vec::with_capacity(input.body.len());
    for &b in &input.body {
        match b {
            1 => body.extend_from_slice(pair.access_token.as_bytes()),
            2 => body.extend_from_slice(pair.refresh_token.as_bytes()),
            3 => body.extend_from_slice(registration.as_bytes()),
            4 => body.extend_from_slice(common::USERNAME.as_bytes()),
            5 => body.extend_from_slice(common::PASSWORD.as_bytes()),
            b => body.push(b),
        }
    }
    let path = match input.route {
        Route::Login => "/auth/login",
        Route::Refresh => "/auth/refresh",
        Route::Confirm => "/auth/confirm",
        Route::Reset => "/auth/password/reset",
        Route::Logout => "/auth/logout",
    };
    let mut request = http::Request::post(path);
    match &input.content_type {
        ContentType::Json => request = request.header("content-type", "application/json"),
        ContentType::JsonCharset => {
            request = request.header("content-type", "application/json; charset=utf-8")
        }
        ContentType::Plain => request = request.header("content-type", "text/plain"),
        ContentType::Missing => {}
        ContentType::Other(s) => {
            if http::HeaderValue::try_from(s.as_str()).is_err() {
                return;
            }
            request = request.header("content-type", s.as_str());
        }
    }
    if input.bearer {
        request = request.header("authorization", format!("Bearer {}", pair.access_token));
    }
    let request = request.body(HttpBody::from(body.clone())).unwrap();
    let (status, response) = common::rt().block_on(async {
        let response = router(auth).oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, bytes)
    });
    assert!(
        status < 500,
        "answered {status}: {:?}",
        String::from_utf8_lossy(&response)
    );
    if status != 200 {
        common::check_error_body(status, &response);
        return;
    }
    let sent: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match input.route {
        Route::Login => {
            assert_eq!(
                sent["username"],
                common::USERNAME,
                "logged in as someone else"
            );
            assert_eq!(
                sent["password"],
                common::PASSWORD,
                "logged in with a wrong password"
            );
            let tokens: Value = serde_json::from_slice(&response).unwrap();
            let access = tokens["access_token"].as_str().unwrap().to_owned();
            let claims = common::rt().block_on(auth.verify_access(&access)).unwrap();
            assert_eq!(claims.subject(), "1");
        }
        Route::Refresh => {
            assert_eq!(
                sent["refresh_token"],
                pair.refresh_token.as_str(),
                "refreshed with another token"
            );
        }
        Route::Confirm => {
            assert_eq!(
                sent["token"],
                registration.as_str(),
                "confirmed with another token"
            );
        }
        Route::Reset => panic!("a password reset without a reset token succeeded"),
        Route::Logout => assert!(input.bearer, "logged out without an access token"),
    }
});
