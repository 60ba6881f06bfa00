//! Where a request's token is read from (header, cookies, query), and the cookie transport
//! for browser clients with its CSRF protection.
//!
//! `mod.rs` finds the token, `cookies.rs` makes the session cookies ([`SessionCookies`],
//! [`ClearSessionCookies`]), `csrf.rs` computes and checks the CSRF token. The instance's
//! methods that use them ([`Centurion::session_cookies`](crate::Centurion::session_cookies)
//! and the others below) live with [`Centurion`](crate::Centurion).
//!
//! # Token locations
//!
//! [`Config::token_locations`](crate::Config::token_locations) lists where a request's
//! access token is looked for, **in order**; the first location that carries a token is
//! the one used and the others are not read:
//!
//! | location | reads | default |
//! | --- | --- | --- |
//! | [`TokenLocation::Header`] | `Authorization: Bearer <token>` | yes |
//! | [`TokenLocation::Cookies`] | the access cookie, with a CSRF check on unsafe methods | no |
//! | [`TokenLocation::Query`] | `?access_token=<token>`, on WebSocket upgrade requests only | no |
//!
//! With `["header", "cookies"]` (what [`CenturionBuilder::cookies`] sets up) a request
//! that carries both an `Authorization` header and an access cookie is authenticated by the
//! **header**, whoever the cookie names, and needs no CSRF token: a cross-site page can
//! make a browser send cookies but cannot make it send an `Authorization` header. When
//! other locations are configured too, an `Authorization` header with another scheme than
//! `Bearer` (say `Basic`, from a proxy in front of a staging site) is passed over, so the
//! cookie still authenticates; a malformed `Bearer` header is refused.
//!
//! The query location exists for WebSocket upgrades, where browsers cannot set headers. It
//! is read only on a `GET` carrying `Upgrade: websocket`; anywhere else the parameter is
//! ignored, so tokens do not end up in the URLs (and logs) of ordinary requests.
//!
//! # Cookies
//!
//! [`Centurion::session_cookies`](crate::Centurion::session_cookies) turns a [`TokenPair`](crate::TokenPair) into three `Set-Cookie` headers:
//!
//! | cookie | default name | `HttpOnly` | `Path` | `Max-Age` |
//! | --- | --- | --- | --- | --- |
//! | access token | `access_token` | yes | [`CookieConfig::path`](crate::CookieConfig::path) | the access token's lifetime |
//! | refresh token | `refresh_token` | yes | [`CookieConfig::refresh_path`](crate::CookieConfig::refresh_path) (default: `path`) | the refresh family's remaining lifetime |
//! | CSRF token | `csrf_token` | **no**: scripts read it | `path` | as the refresh cookie |
//!
//! All three carry `SameSite` ([`CookieConfig::same_site`](crate::CookieConfig::same_site), default `Lax`), `Secure` when
//! [`CookieConfig::secure`](crate::CookieConfig::secure) (the default) and the optional `Domain`. Secure cookies get
//! prefixed names the browser enforces: `__Host-` for a cookie on `Path=/` without
//! `Domain` (it cannot be set or overwritten by another host or path), `__Secure-` for the
//! others (say a refresh cookie restricted to `/auth/session`). Plain-HTTP development
//! needs `secure: false`, and gets unprefixed names.
//!
//! # CSRF
//!
//! Cookies are sent by the browser whoever made the page that triggers the request, so a
//! request authenticated by a cookie must prove it comes from the application's own
//! scripts. Centurion uses a *signed double submit*: the CSRF token is
//! `base64url(HMAC-SHA256(key, subject ‖ session))`, where the session is the refresh
//! family that the access and refresh tokens of one login share. The key is
//! [`CookieConfig::csrf_secret`](crate::CookieConfig::csrf_secret) or, by default, derived from the signing secret (or
//! private key), so every instance sharing the configuration computes the same tokens.
//!
//! The token is set as a cookie scripts can read and returned in the response body; the
//! application's script sends it back in the `X-CSRF-Token` header
//! ([`CookieConfig::csrf_header_name`](crate::CookieConfig::csrf_header_name)). A request whose access token came from a cookie
//! and whose method is unsafe (anything but `GET`, `HEAD`, `OPTIONS` and `TRACE`, so
//! `POST`, `PUT`, `PATCH` and `DELETE`) must carry the header, equal to the CSRF cookie and
//! to the token computed for the session of the access cookie, compared in constant time.
//! Otherwise the answer is [`ErrorKind::CSRFError`] (401). A token of another session, or
//! one made up without the key, never matches: a site that can plant cookies on a sibling
//! domain still cannot forge one. Requests authenticated by the header need no CSRF token.
//!
//! The token is bound to the session, not to one access token: it stays the same across
//! refreshes (so the refresh request, made when the access cookie has expired, is checked
//! against the refresh cookie's session) and changes at every login.
//!
//! # Example
//!
//! ```
//! use axum::{Router, http::HeaderMap, routing::{get, post}};
//! use centurion::{Centurion, Claims, CookieConfig, Error, JsonBody, SessionCookies, ClearSessionCookies};
//! use centurion::{memory::MemoryUserStore, testing::TestUser};
//!
//! #[derive(serde::Deserialize)]
//! struct Login { username: String, password: String }
//!
//! /// 200 `{"csrf_token": "…"}` and the three cookies.
//! async fn login(auth: Centurion<TestUser>, JsonBody(body): JsonBody<Login>) -> Result<SessionCookies, Error> {
//!     let pair = auth.login(&body.username, &body.password).await?;
//!     auth.session_cookies(&pair)
//! }
//!
//! /// Needs the refresh cookie and the `X-CSRF-Token` header.
//! async fn refresh(auth: Centurion<TestUser>, headers: HeaderMap) -> Result<SessionCookies, Error> {
//!     auth.refresh_from_cookies(&headers).await
//! }
//!
//! /// A DELETE with the access cookie: the CSRF header is checked before the handler runs.
//! async fn logout(auth: Centurion<TestUser>, claims: Claims) -> Result<(ClearSessionCookies, &'static str), Error> {
//!     auth.logout(&claims, None).await?;
//!     Ok((auth.clear_session_cookies()?, "logged out"))
//! }
//!
//! # fn main() -> Result<(), centurion::Error> {
//! let auth = Centurion::<TestUser>::builder()
//!     .secret("an-example-secret-of-at-least-32-bytes!!")
//!     .user_store(MemoryUserStore::new())
//!     // Header first, then cookies. `secure: false` for plain-HTTP development only.
//!     .cookies(CookieConfig { secure: false, refresh_path: Some("/auth/session".into()), ..CookieConfig::default() })
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/auth/session", post(login).delete(logout))
//!     .route("/auth/session/refresh", post(refresh))
//!     .layer(auth.layer());
//! # Ok(()) }
//! ```
//!
//! [`CenturionBuilder::cookies`]: crate::CenturionBuilder::cookies

use std::borrow::Cow;
use std::fmt;

use cookie::Cookie;
use http::request::Parts;
use http::{HeaderMap, Method, header};

use crate::config::{Config, TokenLocation};
use crate::error::{Error, ErrorKind, Result};
use crate::jwt::Claims;

mod cookies;
mod csrf;

pub use self::cookies::{ClearSessionCookies, SessionCookies};

pub(crate) use self::cookies::CookieSettings;

/// Where a request's token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenSource {
    Header,
    Cookie,
    Query,
}

/// The checked token locations and the cookie settings, carried in the instance's core.
pub(crate) struct Transport {
    locations: Vec<TokenLocation>,
    query_parameter: String,
    cookies: Option<CookieSettings>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("locations", &self.locations)
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub(crate) fn from_config(config: &Config) -> Result<Self> {
        let locations = config.token_locations.clone();
        if locations.is_empty() {
            return Err(Error::config(
                "token_locations is empty; list at least one of `header`, `cookies`, `query`",
            ));
        }
        for (i, location) in locations.iter().enumerate() {
            if locations[..i].contains(location) {
                return Err(Error::config(format!(
                    "token_locations names {location:?} twice"
                )));
            }
        }
        let query_parameter = config.query_parameter.clone();
        if query_parameter.is_empty()
            || !query_parameter
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(Error::config(format!(
                "query_parameter `{query_parameter}` must be letters, digits, `-`, `_` or `.`"
            )));
        }
        let cookies = if locations.contains(&TokenLocation::Cookies) {
            Some(CookieSettings::from_config(config)?)
        } else {
            None
        };
        Ok(Self {
            locations,
            query_parameter,
            cookies,
        })
    }

    /// Where tokens are accepted, as an API document's security schemes say it. The
    /// query location (read only on WebSocket upgrades) is not documented.
    #[cfg(feature = "openapi")]
    pub(crate) fn docs(&self) -> crate::docs::DocsConfig {
        crate::docs::DocsConfig {
            bearer: self.locations.contains(&TokenLocation::Header),
            cookie: self.cookies.as_ref().map(|cookies| cookies.docs()),
            oidc: Vec::new(),
        }
    }

    /// The session cookies' settings; a configuration error when cookies are not a token
    /// location.
    pub(crate) fn cookies(&self) -> Result<&CookieSettings> {
        self.cookies.as_ref().ok_or_else(|| {
            Error::config(
                "session cookies are not configured: add `cookies` to token_locations \
                 (or call `.cookies(CookieConfig::default())` on the builder)",
            )
        })
    }

    /// The request's token and where it came from, from the first configured location
    /// that has one. A header token is borrowed from the request (the common case costs no
    /// copy); cookie and query tokens are parsed out.
    pub(crate) fn find_token<'a>(
        &self,
        parts: &'a Parts,
    ) -> Result<Option<(Cow<'a, str>, TokenSource)>> {
        let several = self.locations.len() > 1;
        for location in &self.locations {
            let found = match location {
                TokenLocation::Header => {
                    if several && has_other_scheme(&parts.headers) {
                        continue;
                    }
                    bearer_token(&parts.headers)?.map(|t| (t.into(), TokenSource::Header))
                }
                TokenLocation::Cookies => match &self.cookies {
                    Some(cookies) => cookies
                        .access_token(&parts.headers)?
                        .map(|t| (t.into(), TokenSource::Cookie)),
                    None => None,
                },
                TokenLocation::Query => query_token(parts, &self.query_parameter)?
                    .map(|t| (t.into(), TokenSource::Query)),
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// The CSRF check for a request authenticated by a cookie.
    pub(crate) fn check_request_csrf(&self, parts: &Parts, claims: &Claims) -> Result<()> {
        if is_safe(&parts.method) {
            return Ok(());
        }
        self.cookies()?.check_csrf(&parts.headers, claims)
    }
}

/// Reads the bearer token of a request: `Ok(None)` when there is no `Authorization`
/// header, an error when it is malformed or repeated.
///
/// ```
/// let req = http::Request::get("/").header("authorization", "bearer abc.def.ghi").body(()).unwrap();
/// let (parts, _) = req.into_parts();
/// assert_eq!(centurion::transport::bearer_token(&parts.headers).unwrap(), Some("abc.def.ghi"));
/// ```
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Error::new(ErrorKind::InvalidTokenHeader)
            .with_message("the request carries more than one Authorization header"));
    }
    let malformed = || Error::new(ErrorKind::InvalidTokenHeader);
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed());
    }
    let token = token.trim_matches(' ');
    if token.is_empty() || token.contains(' ') {
        return Err(malformed());
    }
    Ok(Some(token))
}

/// `GET`, `HEAD`, `OPTIONS` and `TRACE` change nothing and need no CSRF token; every other
/// method does.
fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Whether the request has a single `Authorization` header of another scheme than Bearer.
///
/// The scheme ends at the first space or tab: `Bearer\t<token>` is a malformed Bearer
/// header (refused), not a scheme called "Bearer\t<token>" to pass over for the cookie.
fn has_other_scheme(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value
            .to_str()
            .ok()
            .and_then(|v| v.split([' ', '\t']).next())
            .is_some_and(|scheme| !scheme.is_empty() && !scheme.eq_ignore_ascii_case("bearer")),
        _ => false,
    }
}

/// The value of cookie `name`: `None` when absent or empty, an error when the request
/// carries it more than once with different values (a cookie planted by a sibling domain
/// or an old path must not silently win).
fn cookie_value(headers: &HeaderMap, name: &str) -> Result<Option<String>> {
    let mut found: Option<String> = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else {
            continue;
        };
        for cookie in Cookie::split_parse(text).flatten() {
            if cookie.name() != name || cookie.value().is_empty() {
                continue;
            }
            match &found {
                Some(previous) if previous != cookie.value() => {
                    return Err(
                        Error::new(ErrorKind::InvalidTokenError).with_message(format!(
                            "the request carries more than one `{name}` cookie"
                        )),
                    );
                }
                Some(_) => {}
                None => found = Some(cookie.value().to_owned()),
            }
        }
    }
    Ok(found)
}

/// The token in the query string, read on WebSocket upgrade requests only.
fn query_token(parts: &Parts, name: &str) -> Result<Option<String>> {
    let upgrade = parts.method == Method::GET
        && parts
            .headers
            .get_all(header::UPGRADE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|p| p.trim().eq_ignore_ascii_case("websocket"));
    let Some(query) = parts.uri.query().filter(|_| upgrade) else {
        return Ok(None);
    };
    let mut found = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != name {
            continue;
        }
        if found.is_some() {
            return Err(Error::new(ErrorKind::InvalidTokenError)
                .with_message(format!("the query string carries `{name}` more than once")));
        }
        found = Some(value.to_owned());
    }
    Ok(found.filter(|v| !v.is_empty()))
}
