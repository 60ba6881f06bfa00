//! Authorization headers, cookies, CSRF headers and query strings through a real axum
//! `Router` with centurion's layer, token locations header → cookies → query.
//!
//! Header values are built from arbitrary text and bytes mixed with real tokens (an access
//! token of user 1 and of user 2, a refresh token, the session's CSRF token), so the
//! fuzzer explores smuggling with credentials that would work. The oracle:
//!
//! - never a 5xx; every refusal is the JSON error body with its status;
//! - `bearer_token` agrees with the header's shape, and a 200 names the subject of the
//!   token the header carries (the header wins over the cookie; a malformed or
//!   unverifiable Bearer header is refused, never passed over for a cookie);
//! - several `Authorization` headers are never a 200 on a route that needs a token;
//! - a cookie-authenticated unsafe request succeeds only with the session's CSRF token;
//! - a query-string token counts only on a `GET` WebSocket upgrade;
//! - a refresh by cookie succeeds only with the refresh cookie and the CSRF header.

#![no_main]

mod common;

use arbitrary::Arbitrary;
use axum::body::Body;
use axum::response::IntoResponse;
use axum::routing::any;
use axum::{Router, http::HeaderMap};
use centurion::testing::TestUser;
use centurion::{Centurion, Claims, CurrentUser, Error, SessionCookies};
use http::{HeaderName, HeaderValue, Method, Request};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Verb {
    Get,
    Post,
    Delete,
    Put,
    Head,
    Options,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Route {
    Claims,
    Maybe,
    Me,
    Refresh,
}

#[derive(Arbitrary, Debug, Clone)]
enum Name {
    Authorization,
    Cookie,
    Csrf,
    Upgrade,
    Other(String),
}

#[derive(Arbitrary, Debug, Clone)]
enum Piece {
    Text(String),
    Bytes(Vec<u8>),
    Bearer,
    Space,
    Tab,
    Semicolon,
    Equals,
    AccessCookieName,
    RefreshCookieName,
    CsrfCookieName,
    Access,
    OtherAccess,
    Refresh,
    Csrf,
    Websocket,
}

#[derive(Arbitrary, Debug)]
struct Input {
    verb: Verb,
    route: Route,
    query: Option<Vec<Piece>>,
    headers: Vec<(Name, Vec<Piece>)>,
}

/// The credentials of one run.
struct Tokens {
    access: String,
    other_access: String,
    refresh: String,
    csrf: String,
}

fn render(pieces: &[Piece], tokens: &Tokens) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Text(s) => out.extend_from_slice(s.as_bytes()),
            Piece::Bytes(b) => out.extend_from_slice(b),
            Piece::Bearer => out.extend_from_slice(b"Bearer"),
            Piece::Space => out.push(b' '),
            Piece::Tab => out.push(b'\t'),
            Piece::Semicolon => out.push(b';'),
            Piece::Equals => out.push(b'='),
            Piece::AccessCookieName => out.extend_from_slice(b"access_token"),
            Piece::RefreshCookieName => out.extend_from_slice(b"refresh_token"),
            Piece::CsrfCookieName => out.extend_from_slice(b"csrf_token"),
            Piece::Access => out.extend_from_slice(tokens.access.as_bytes()),
            Piece::OtherAccess => out.extend_from_slice(tokens.other_access.as_bytes()),
            Piece::Refresh => out.extend_from_slice(tokens.refresh.as_bytes()),
            Piece::Csrf => out.extend_from_slice(tokens.csrf.as_bytes()),
            Piece::Websocket => out.extend_from_slice(b"websocket"),
        }
    }
    out
}

async fn claims(claims: Claims) -> String {
    claims.subject().to_owned()
}

async fn maybe(claims: Option<Claims>) -> String {
    claims.map_or_else(|| "anonymous".to_owned(), |c| c.subject().to_owned())
}

async fn me(user: CurrentUser<TestUser>) -> String {
    user.id.to_string()
}

async fn refresh(auth: Centurion<TestUser>, headers: HeaderMap) -> Result<SessionCookies, Error> {
    auth.refresh_from_cookies(&headers).await
}

fn router(auth: &Centurion<TestUser>) -> Router {
    Router::new()
        .route("/claims", any(claims))
        .route("/maybe", any(maybe))
        .route("/me", any(me))
        .route("/refresh", any(refresh))
        .fallback(|| async { Error::new(centurion::ErrorKind::InvalidRequest).into_response() })
        .layer(auth.layer())
}

/// The single `Authorization` header's scheme is something other than Bearer: then the
/// cookie location is consulted (documented in `centurion::cookies`).
fn other_scheme(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        (Some(v), None) => v
            .to_str()
            .ok()
            .and_then(|v| v.split([' ', '\t']).next())
            .is_some_and(|s| !s.is_empty() && !s.eq_ignore_ascii_case("bearer")),
        _ => false,
    }
}

fn value_contains(headers: &HeaderMap, name: &HeaderName, needle: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.as_bytes()
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    })
}

fuzz_target!(|input: Input| {
    let f = common::fixture();
    let auth = &f.auth;
    let tokens = common::rt().block_on(async {
        let pair = auth.issue_pair(&f.user).await.unwrap();
        let other = auth
            .issue_pair(&TestUser::new(2, "bob", &["admin"]))
            .await
            .unwrap();
        let verified = auth.verify_access(&pair.access_token).await.unwrap();
        Tokens {
            csrf: auth.csrf_token(&verified).unwrap(),
            access: pair.access_token,
            other_access: other.access_token,
            refresh: pair.refresh_token,
        }
    });

    let path = match input.route {
        Route::Claims => "/claims",
        Route::Maybe => "/maybe",
        Route::Me => "/me",
        Route::Refresh => "/refresh",
    };
    let uri = match &input.query {
        Some(q) => {
            let q = render(q, &tokens);
            let Ok(q) = std::str::from_utf8(&q) else {
                return;
            };
            format!("{path}?{q}")
        }
        None => path.to_owned(),
    };
    let method = match input.verb {
        Verb::Get => Method::GET,
        Verb::Post => Method::POST,
        Verb::Delete => Method::DELETE,
        Verb::Put => Method::PUT,
        Verb::Head => Method::HEAD,
        Verb::Options => Method::OPTIONS,
    };
    let Ok(uri) = uri.parse::<http::Uri>() else {
        return;
    };
    let mut headers = HeaderMap::new();
    for (name, pieces) in &input.headers {
        let name = match name {
            Name::Authorization => http::header::AUTHORIZATION,
            Name::Cookie => http::header::COOKIE,
            Name::Csrf => HeaderName::from_static("x-csrf-token"),
            Name::Upgrade => http::header::UPGRADE,
            Name::Other(n) => match HeaderName::try_from(n.as_str()) {
                Ok(n) => n,
                Err(_) => continue,
            },
        };
        let Ok(value) = HeaderValue::from_bytes(&render(pieces, &tokens)) else {
            continue;
        };
        headers.append(name, value);
    }

    // bearer_token on its own: what it returns is the header's token, exactly.
    let bearer = centurion::transport::bearer_token(&headers);
    let auth_headers: Vec<&HeaderValue> = headers
        .get_all(http::header::AUTHORIZATION)
        .iter()
        .collect();
    match &bearer {
        Ok(None) => assert!(auth_headers.is_empty()),
        Ok(Some(token)) => {
            assert_eq!(auth_headers.len(), 1);
            let value = auth_headers[0].to_str().unwrap();
            assert!(value[..6].eq_ignore_ascii_case("bearer") && value.as_bytes()[6] == b' ');
            assert_eq!(*token, value[7..].trim_matches(' '));
            assert!(!token.is_empty() && !token.contains(' '));
        }
        Err(err) => {
            assert!(!auth_headers.is_empty());
            common::check_refusal(err, "");
        }
    }

    let mut request = Request::builder().method(method.clone()).uri(uri);
    *request.headers_mut().unwrap() = headers.clone();
    let request = request.body(Body::empty()).unwrap();
    let (status, body) = common::rt().block_on(async {
        let response = router(auth).oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, body)
    });

    assert!(
        status < 500,
        "answered {status}: {:?}",
        String::from_utf8_lossy(&body)
    );
    if status != 200 {
        if method != Method::HEAD {
            common::check_error_body(status, &body);
        }
        return;
    }
    if input.route == Route::Refresh {
        assert!(
            value_contains(&headers, &http::header::COOKIE, &tokens.refresh),
            "refreshed without the refresh cookie"
        );
        assert!(
            value_contains(
                &headers,
                &HeaderName::from_static("x-csrf-token"),
                &tokens.csrf
            ),
            "refreshed without the CSRF header"
        );
        return;
    }
    if method == Method::HEAD {
        return;
    }
    let subject = String::from_utf8_lossy(&body).into_owned();
    if subject == "anonymous" {
        assert_eq!(input.route, Route::Maybe);
        assert!(
            auth_headers.is_empty() || other_scheme(&headers),
            "a token was ignored"
        );
        return;
    }
    assert!(
        auth_headers.len() <= 1,
        "authenticated with several Authorization headers"
    );
    let expected = |token: &str| {
        if token == tokens.access {
            "1"
        } else if token == tokens.other_access {
            "2"
        } else {
            panic!("authenticated by an unexpected token {token:?}")
        }
    };
    match bearer {
        Ok(Some(token)) => assert_eq!(subject, expected(token), "the header's token must win"),
        Err(_) => assert!(
            other_scheme(&headers),
            "a malformed Bearer header was passed over"
        ),
        Ok(None) => {}
    }
    if matches!(bearer, Ok(None)) || other_scheme(&headers) {
        // Authenticated by the cookie or the query string.
        let by_cookie = value_contains(&headers, &http::header::COOKIE, &tokens.access)
            || value_contains(&headers, &http::header::COOKIE, &tokens.other_access);
        if by_cookie {
            let safe = matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
            if !safe {
                assert!(
                    value_contains(
                        &headers,
                        &HeaderName::from_static("x-csrf-token"),
                        &tokens.csrf
                    ),
                    "an unsafe cookie-authenticated request passed without the CSRF token"
                );
                assert_eq!(
                    subject, "1",
                    "the CSRF token of user 1 let user 2's cookie through"
                );
            }
        } else {
            assert_eq!(method, Method::GET, "a query token outside a GET");
            assert!(
                headers.get_all(http::header::UPGRADE).iter().any(|v| v
                    .to_str()
                    .is_ok_and(|v| v.to_ascii_lowercase().contains("websocket"))),
                "a query token outside a WebSocket upgrade"
            );
        }
    }
});
