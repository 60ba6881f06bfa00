//! Where access tokens are read from, and the cookie transport for browser clients, with
//! CSRF protection.
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
//! [`Centurion::session_cookies`] turns a [`TokenPair`] into three `Set-Cookie` headers:
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
//! Otherwise the answer is [`ErrorKind::CsrfError`] (401). A token of another session, or
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
//! use axum::{Json, Router, http::HeaderMap, routing::{get, post}};
//! use centurion::{Centurion, Claims, CookieConfig, Error, SessionCookies, ClearSessionCookies};
//! use centurion::{memory::MemoryUserStore, testing::TestUser};
//!
//! #[derive(serde::Deserialize)]
//! struct Login { username: String, password: String }
//!
//! /// 200 `{"csrf_token": "…"}` and the three cookies.
//! async fn login(auth: Centurion<TestUser>, Json(body): Json<Login>) -> Result<SessionCookies, Error> {
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

use std::fmt;

use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use cookie::{Cookie, time::Duration as CookieDuration};
use hmac::{Hmac, Mac};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::centurion::{Centurion, TokenPair};
use crate::clock::now_secs;
use crate::config::{Config, SameSite, TokenLocation};
use crate::error::{Error, ErrorKind, Result};
use crate::extract::bearer_token;
use crate::token::{Claims, ExpectKind, TokenKind};
use crate::user::AuthUser;

// ---------------------------------------------------------------------------------------
// Settings derived from the configuration.

/// Where a request's token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenSource {
    Header,
    Cookie,
    Query,
}

/// The checked token locations, carried in `Core`.
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

struct CookieSettings {
    access_name: String,
    refresh_name: String,
    csrf_name: String,
    secure: bool,
    same_site: cookie::SameSite,
    domain: Option<String>,
    path: String,
    refresh_path: String,
    csrf_header: HeaderName,
    /// The header name as configured, for messages (`HeaderName` is lowercase).
    csrf_header_label: String,
    csrf_protect: bool,
    csrf_key: zeroize::Zeroizing<[u8; 32]>,
}

fn same_site(same_site: SameSite) -> cookie::SameSite {
    match same_site {
        SameSite::Strict => cookie::SameSite::Strict,
        SameSite::Lax => cookie::SameSite::Lax,
        SameSite::None => cookie::SameSite::None,
    }
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 32]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .map_err(|_| Error::new(ErrorKind::InternalError).with_message("HMAC key rejected"))?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().into())
}

fn check_cookie_name(what: &str, name: &str) -> Result<()> {
    // RFC 6265 cookie-name: a token (RFC 7230 tchar).
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(tchar) {
        return Err(Error::config(format!(
            "cookies.{what} `{name}` is not a valid cookie name (letters, digits and !#$%&'*+-.^_`|~)"
        )));
    }
    if name.starts_with("__Host-") || name.starts_with("__Secure-") {
        return Err(Error::config(format!(
            "cookies.{what} `{name}`: write the base name; the __Host-/__Secure- prefix is added when `secure` is set"
        )));
    }
    Ok(())
}

fn check_path(what: &str, path: &str) -> Result<()> {
    if !path.starts_with('/') || path.chars().any(|c| c.is_ascii_control() || c == ';') {
        return Err(Error::config(format!(
            "cookies.{what} `{path}` must start with `/` and hold no `;` or control characters"
        )));
    }
    Ok(())
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

    fn cookie_settings(&self) -> Result<&CookieSettings> {
        self.cookies.as_ref().ok_or_else(|| {
            Error::config(
                "session cookies are not configured: add `cookies` to token_locations \
                 (or call `.cookies(CookieConfig::default())` on the builder)",
            )
        })
    }

    /// The request's access token and where it was found, from the first configured
    /// location that has one.
    /// The request's token and where it came from. A header token is borrowed from the
    /// request (the common case costs no copy); cookie and query tokens are parsed out.
    pub(crate) fn find_token<'a>(
        &self,
        parts: &'a Parts,
    ) -> Result<Option<(std::borrow::Cow<'a, str>, TokenSource)>> {
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
                    Some(cookies) => cookie_value(&parts.headers, &cookies.access_name)?
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
        self.cookie_settings()?.check_csrf(&parts.headers, claims)
    }
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
                    return Err(Error::new(ErrorKind::InvalidToken).with_message(format!(
                        "the request carries more than one `{name}` cookie"
                    )));
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
            return Err(Error::new(ErrorKind::InvalidToken)
                .with_message(format!("the query string carries `{name}` more than once")));
        }
        found = Some(value.to_owned());
    }
    Ok(found.filter(|v| !v.is_empty()))
}

impl CookieSettings {
    fn from_config(config: &Config) -> Result<Self> {
        let c = &config.cookies;
        check_cookie_name("access_cookie_name", &c.access_cookie_name)?;
        check_cookie_name("refresh_cookie_name", &c.refresh_cookie_name)?;
        check_cookie_name("csrf_cookie_name", &c.csrf_cookie_name)?;
        let names = [
            &c.access_cookie_name,
            &c.refresh_cookie_name,
            &c.csrf_cookie_name,
        ];
        if names[0] == names[1] || names[0] == names[2] || names[1] == names[2] {
            return Err(Error::config(
                "cookies: the access, refresh and CSRF cookies need three different names",
            ));
        }
        check_path("path", &c.path)?;
        let refresh_path = c.refresh_path.clone().unwrap_or_else(|| c.path.clone());
        check_path("refresh_path", &refresh_path)?;
        if let Some(domain) = c.domain.as_deref().filter(|d| {
            d.is_empty()
                || d.chars()
                    .any(|ch| ch.is_ascii_control() || ch == ';' || ch.is_whitespace())
        }) {
            return Err(Error::config(format!(
                "cookies.domain `{domain}` is not a domain; remove it or write e.g. `example.com`"
            )));
        }
        if c.same_site == SameSite::None && !c.secure {
            return Err(Error::config(
                "cookies.same_site = none needs cookies.secure = true: browsers drop SameSite=None cookies without Secure",
            ));
        }
        let csrf_header = HeaderName::try_from(c.csrf_header_name.as_str()).map_err(|_| {
            Error::config(format!(
                "cookies.csrf_header_name `{}` is not a header name",
                c.csrf_header_name
            ))
        })?;
        let material: &[u8] = match (&c.csrf_secret, &config.secret, &config.private_key_pem) {
            (Some(secret), _, _) => {
                if secret.expose().len() < 32 {
                    return Err(Error::config(
                        "cookies.csrf_secret must be at least 32 bytes; remove it to derive the CSRF key from the signing key",
                    ));
                }
                secret.expose().as_bytes()
            }
            (None, Some(secret), _) => secret.expose().as_bytes(),
            (None, None, Some(pem)) => pem.expose().as_bytes(),
            (None, None, None) => {
                return Err(Error::config(
                    "cookies need a CSRF key: set cookies.csrf_secret, or a signing secret or private key",
                ));
            }
        };
        let csrf_key = zeroize::Zeroizing::new(hmac_sha256(material, &[b"centurion csrf key v1"])?);
        let prefixed = |base: &str, path: &str| -> String {
            if !c.secure {
                base.to_owned()
            } else if path == "/" && c.domain.is_none() {
                format!("__Host-{base}")
            } else {
                format!("__Secure-{base}")
            }
        };
        Ok(Self {
            access_name: prefixed(&c.access_cookie_name, &c.path),
            refresh_name: prefixed(&c.refresh_cookie_name, &refresh_path),
            csrf_name: prefixed(&c.csrf_cookie_name, &c.path),
            secure: c.secure,
            same_site: same_site(c.same_site),
            domain: c.domain.clone(),
            path: c.path.clone(),
            refresh_path,
            csrf_header,
            csrf_header_label: c.csrf_header_name.clone(),
            csrf_protect: c.csrf_protect,
            csrf_key,
        })
    }

    /// The CSRF token of the session `claims` belong to: its refresh family, or the token
    /// itself for tokens without one.
    fn csrf_token(&self, claims: &Claims) -> Result<String> {
        let binding = claims.family().unwrap_or(claims.jti());
        let mac = hmac_sha256(
            self.csrf_key.as_slice(),
            &[
                b"centurion-csrf-v1\0",
                claims.subject().as_bytes(),
                b"\0",
                binding.as_bytes(),
            ],
        )?;
        Ok(URL_SAFE_NO_PAD.encode(mac))
    }

    fn check_csrf(&self, headers: &HeaderMap, claims: &Claims) -> Result<()> {
        if !self.csrf_protect {
            return Ok(());
        }
        let refuse = |message: String| Err(Error::new(ErrorKind::CsrfError).with_message(message));
        let mut values = headers.get_all(&self.csrf_header).iter();
        let sent = match (values.next(), values.next()) {
            (Some(value), None) => value.as_bytes(),
            (None, _) => {
                return refuse(format!(
                    "a request authenticated by a cookie needs the {} header",
                    self.csrf_header_label
                ));
            }
            (Some(_), Some(_)) => {
                return refuse(format!(
                    "the request carries more than one {} header",
                    self.csrf_header_label
                ));
            }
        };
        let Some(cookie) = cookie_value(headers, &self.csrf_name)? else {
            return refuse(format!(
                "the request carries no `{}` cookie",
                self.csrf_name
            ));
        };
        let expected = self.csrf_token(claims)?;
        let matches = sent.ct_eq(cookie.as_bytes()) & sent.ct_eq(expected.as_bytes());
        if bool::from(matches) {
            Ok(())
        } else {
            refuse(format!(
                "the {} header does not match this session's CSRF token",
                self.csrf_header_label
            ))
        }
    }

    fn cookie(
        &self,
        name: &str,
        value: String,
        path: &str,
        http_only: bool,
        max_age: u64,
    ) -> Cookie<'static> {
        let mut builder = Cookie::build((name.to_owned(), value))
            .path(path.to_owned())
            .http_only(http_only)
            .secure(self.secure)
            .same_site(self.same_site)
            .max_age(CookieDuration::seconds(
                i64::try_from(max_age).unwrap_or(i64::MAX),
            ));
        if let Some(domain) = &self.domain {
            builder = builder.domain(domain.clone());
        }
        builder.build()
    }
}

fn header_value(cookie: &Cookie<'_>) -> Result<HeaderValue> {
    HeaderValue::try_from(cookie.to_string()).map_err(|_| {
        Error::new(ErrorKind::InternalError).with_message("a cookie is not a valid header value")
    })
}

fn append_set_cookies(res: &mut ResponseParts, values: &[HeaderValue]) {
    let headers = res.headers_mut();
    for value in values {
        headers.append(header::SET_COOKIE, value.clone());
    }
    // Responses that set credentials must not be stored by shared caches.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

// ---------------------------------------------------------------------------------------
// The response parts.

/// The `Set-Cookie` headers of a session (access, refresh and CSRF cookies) and its CSRF
/// token, made by [`Centurion::session_cookies`] and [`Centurion::refresh_from_cookies`].
///
/// As a response it is `200 {"csrf_token": "…"}` with the cookies; as a part of a tuple
/// response ([`IntoResponseParts`]) it adds only the headers. Either way it sets
/// `Cache-Control: no-store` unless the response has a `Cache-Control` already.
///
/// ```
/// # async fn demo() -> Result<(), centurion::Error> {
/// use axum::response::IntoResponse;
/// use centurion::{Centurion, CookieConfig, memory::MemoryUserStore, testing::TestUser};
/// let auth = Centurion::<TestUser>::builder()
///     .secret("an-example-secret-of-at-least-32-bytes!!")
///     .user_store(MemoryUserStore::new())
///     .cookies(CookieConfig::default())
///     .build()?;
/// let pair = auth.issue_pair(&TestUser::new(1, "ada", &[])).await?;
/// let cookies = auth.session_cookies(&pair)?;
/// let csrf = cookies.csrf_token().to_owned();
/// let response = cookies.into_response();
/// let set: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
/// assert_eq!(set.len(), 3);
/// assert!(set[0].to_str().unwrap().starts_with("__Host-access_token="));
/// assert!(set[2].to_str().unwrap().starts_with(&format!("__Host-csrf_token={csrf};")));
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
#[must_use = "the cookies are set only when this is part of the response"]
pub struct SessionCookies {
    set_cookies: Vec<HeaderValue>,
    csrf_token: String,
    expires_in: u64,
}

impl SessionCookies {
    /// The CSRF token the client must send back in the CSRF header (also in the CSRF
    /// cookie).
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }

    /// Seconds until the access cookie expires.
    pub fn expires_in(&self) -> u64 {
        self.expires_in
    }

    /// The `Set-Cookie` header values: access, refresh and CSRF cookie, in that order.
    pub fn set_cookie_headers(&self) -> &[HeaderValue] {
        &self.set_cookies
    }
}

impl fmt::Debug for SessionCookies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCookies")
            .field("cookies", &self.set_cookies.len())
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

impl IntoResponseParts for SessionCookies {
    type Error = std::convert::Infallible;

    fn into_response_parts(
        self,
        mut res: ResponseParts,
    ) -> std::result::Result<ResponseParts, Self::Error> {
        append_set_cookies(&mut res, &self.set_cookies);
        Ok(res)
    }
}

impl IntoResponse for SessionCookies {
    fn into_response(self) -> Response {
        let body = axum::Json(serde_json::json!({"csrf_token": self.csrf_token}));
        (self, body).into_response()
    }
}

/// The `Set-Cookie` headers that delete the session cookies (same names, paths and
/// domain, empty values, `Max-Age=0`), made by [`Centurion::clear_session_cookies`]. Use it
/// as a part of a tuple response.
#[derive(Debug, Clone)]
#[must_use = "the cookies are cleared only when this is part of the response"]
pub struct ClearSessionCookies {
    set_cookies: Vec<HeaderValue>,
}

impl ClearSessionCookies {
    /// The `Set-Cookie` header values: access, refresh and CSRF cookie, in that order.
    pub fn set_cookie_headers(&self) -> &[HeaderValue] {
        &self.set_cookies
    }
}

impl IntoResponseParts for ClearSessionCookies {
    type Error = std::convert::Infallible;

    fn into_response_parts(
        self,
        mut res: ResponseParts,
    ) -> std::result::Result<ResponseParts, Self::Error> {
        append_set_cookies(&mut res, &self.set_cookies);
        Ok(res)
    }
}

// ---------------------------------------------------------------------------------------
// The instance's cookie API.

impl<U: AuthUser> Centurion<U> {
    /// The session cookies for a pair just issued by [`login`](Self::login),
    /// [`issue_pair`](Self::issue_pair) or [`refresh`](Self::refresh), and the CSRF token.
    ///
    /// The access cookie lives as long as the access token, the refresh and CSRF cookies
    /// as long as the refresh family. Fails with [`ErrorKind::ConfigurationError`] when
    /// cookies are not a configured token location, and with the verification error when
    /// a token of the pair is no longer valid.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, CookieConfig, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .cookies(CookieConfig { secure: false, ..CookieConfig::default() })
    ///     .build()?;
    /// let pair = auth.issue_pair(&TestUser::new(1, "ada", &[])).await?;
    /// let cookies = auth.session_cookies(&pair)?;
    /// let access = cookies.set_cookie_headers()[0].to_str().unwrap();
    /// assert!(access.starts_with(&format!("access_token={};", pair.access_token)));
    /// assert!(access.contains("HttpOnly") && access.contains("SameSite=Lax"));
    /// assert!(access.contains("Max-Age=900"));
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn session_cookies(&self, pair: &TokenPair) -> Result<SessionCookies> {
        let core = &self.core;
        let settings = core.transport.cookie_settings()?;
        let access = core.verify_claims(&pair.access_token, ExpectKind::Authenticating)?;
        let refresh =
            core.verify_claims(&pair.refresh_token, ExpectKind::Exactly(TokenKind::Refresh))?;
        if access.subject() != refresh.subject() || access.family() != refresh.family() {
            return Err(Error::new(ErrorKind::InternalError)
                .with_message("the access and refresh tokens are not of one session"));
        }
        let now = now_secs();
        let access_age = access.expires_at().saturating_sub(now);
        let refresh_age = refresh.expires_at().saturating_sub(now);
        let csrf_token = settings.csrf_token(&access)?;
        let cookies = [
            settings.cookie(
                &settings.access_name,
                pair.access_token.clone(),
                &settings.path,
                true,
                access_age,
            ),
            settings.cookie(
                &settings.refresh_name,
                pair.refresh_token.clone(),
                &settings.refresh_path,
                true,
                refresh_age,
            ),
            settings.cookie(
                &settings.csrf_name,
                csrf_token.clone(),
                &settings.path,
                false,
                refresh_age,
            ),
        ];
        Ok(SessionCookies {
            set_cookies: cookies.iter().map(header_value).collect::<Result<_>>()?,
            csrf_token,
            expires_in: access_age,
        })
    }

    /// The headers that delete the session cookies, for logout responses.
    ///
    /// ```
    /// # fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, CookieConfig, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .cookies(CookieConfig::default())
    ///     .build()?;
    /// let cleared = auth.clear_session_cookies()?;
    /// let access = cleared.set_cookie_headers()[0].to_str().unwrap();
    /// assert!(access.starts_with("__Host-access_token=;"));
    /// assert!(access.contains("Max-Age=0") && access.contains("Secure"));
    /// # Ok(()) }
    /// # demo().unwrap();
    /// ```
    pub fn clear_session_cookies(&self) -> Result<ClearSessionCookies> {
        let settings = self.core.transport.cookie_settings()?;
        let cookies = [
            (&settings.access_name, &settings.path, true),
            (&settings.refresh_name, &settings.refresh_path, true),
            (&settings.csrf_name, &settings.path, false),
        ];
        let set_cookies = cookies
            .into_iter()
            .map(|(name, path, http_only)| {
                let mut cookie = settings.cookie(name, String::new(), path, http_only, 0);
                cookie.make_removal();
                header_value(&cookie)
            })
            .collect::<Result<_>>()?;
        Ok(ClearSessionCookies { set_cookies })
    }

    /// Refreshes the session of the refresh cookie: checks the CSRF header against it,
    /// spends the refresh token (rotation and reuse detection as in
    /// [`refresh`](Self::refresh)) and returns the new session cookies.
    ///
    /// The CSRF header is required whatever the request's method (refreshing changes
    /// state; route it as `POST`). A request without the refresh cookie is
    /// [`ErrorKind::MissingToken`]; without a matching CSRF header,
    /// [`ErrorKind::CsrfError`], and the refresh token is not spent.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, CookieConfig, ErrorKind, NewUser, UserStore};
    /// use centurion::{memory::MemoryUserStore, testing::TestUser};
    /// let users = MemoryUserStore::<TestUser>::new();
    /// let user = users.create(NewUser { username: "ada".into(), email: None,
    ///     password_hash: String::new(), roles: vec![], active: true }).await?;
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(users)
    ///     .cookies(CookieConfig { secure: false, ..CookieConfig::default() })
    ///     .build()?;
    /// let pair = auth.issue_pair(&user).await?;
    /// let csrf = auth.session_cookies(&pair)?.csrf_token().to_owned();
    ///
    /// // What the browser sends back: the refresh and CSRF cookies.
    /// let mut headers = http::HeaderMap::new();
    /// let cookie = format!("refresh_token={}; csrf_token={csrf}", pair.refresh_token);
    /// headers.insert("cookie", cookie.parse().unwrap());
    /// // Without the CSRF header: refused, and the refresh token is not spent.
    /// let err = auth.refresh_from_cookies(&headers).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::CsrfError);
    ///
    /// headers.insert("x-csrf-token", csrf.parse().unwrap());
    /// let renewed = auth.refresh_from_cookies(&headers).await?;
    /// assert_eq!(renewed.csrf_token(), csrf); // the same session
    /// // The spent refresh token again: reuse, the whole session is revoked.
    /// let err = auth.refresh_from_cookies(&headers).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::RefreshReuseError);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn refresh_from_cookies(&self, headers: &HeaderMap) -> Result<SessionCookies> {
        let core = &self.core;
        let settings = core.transport.cookie_settings()?;
        let token = cookie_value(headers, &settings.refresh_name)?.ok_or_else(|| {
            Error::new(ErrorKind::MissingToken)
                .with_message("the request carries no refresh cookie")
        })?;
        let claims = core.verify_claims(&token, ExpectKind::Exactly(TokenKind::Refresh))?;
        settings.check_csrf(headers, &claims)?;
        let pair = self.rotate(&claims).await?;
        self.session_cookies(&pair)
    }

    /// The CSRF token of the session `claims` belong to, for applications that render it
    /// into their pages instead of reading the CSRF cookie.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, CookieConfig, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .cookies(CookieConfig::default())
    ///     .build()?;
    /// let pair = auth.issue_pair(&TestUser::new(1, "ada", &[])).await?;
    /// let claims = auth.verify_access(&pair.access_token).await?;
    /// assert_eq!(auth.csrf_token(&claims)?, auth.session_cookies(&pair)?.csrf_token());
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn csrf_token(&self, claims: &Claims) -> Result<String> {
        self.core.transport.cookie_settings()?.csrf_token(claims)
    }
}
