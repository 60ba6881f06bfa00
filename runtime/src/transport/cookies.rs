//! The session cookies: their names (with the `__Host-` / `__Secure-` prefixes), their
//! attributes, the `Set-Cookie` headers that set and clear them, and the CSRF check of the
//! requests they authenticate.

use std::fmt;

use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use cookie::{Cookie, time::Duration as CookieDuration};
use http::{HeaderMap, HeaderValue, header};

use super::cookie_value;
use super::csrf::Csrf;
use crate::config::{Config, SameSite};
use crate::error::{Error, ErrorKind, Result};
use crate::jwt::Claims;

/// The checked cookie settings.
pub(crate) struct CookieSettings {
    access_name: String,
    refresh_name: String,
    csrf_name: String,
    secure: bool,
    same_site: cookie::SameSite,
    domain: Option<String>,
    path: String,
    refresh_path: String,
    csrf: Csrf,
}

fn same_site(same_site: SameSite) -> cookie::SameSite {
    match same_site {
        SameSite::Strict => cookie::SameSite::Strict,
        SameSite::Lax => cookie::SameSite::Lax,
        SameSite::None => cookie::SameSite::None,
    }
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

impl CookieSettings {
    pub(super) fn from_config(config: &Config) -> Result<Self> {
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
        let csrf = Csrf::from_config(config)?;
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
            csrf,
        })
    }

    /// The access cookie and the CSRF header, as an API document names them.
    #[cfg(feature = "openapi")]
    pub(super) fn docs(&self) -> crate::docs::CookieDocs {
        crate::docs::CookieDocs {
            access_cookie: self.access_name.clone(),
            refresh_cookie: self.refresh_name.clone(),
            csrf_header: self.csrf.documented_header().map(str::to_owned),
        }
    }

    /// The access cookie's token, if the request carries one.
    pub(super) fn access_token(&self, headers: &HeaderMap) -> Result<Option<String>> {
        cookie_value(headers, &self.access_name)
    }

    /// The refresh cookie's token; [`ErrorKind::MissingToken`] when the request has none.
    pub(crate) fn refresh_token(&self, headers: &HeaderMap) -> Result<String> {
        cookie_value(headers, &self.refresh_name)?.ok_or_else(|| {
            Error::new(ErrorKind::MissingToken)
                .with_message("the request carries no refresh cookie")
        })
    }

    /// The CSRF token of the session `claims` belong to.
    pub(crate) fn csrf_token(&self, claims: &Claims) -> Result<String> {
        self.csrf.token(claims)
    }

    /// The CSRF check of a request authenticated by a cookie of `claims`' session.
    pub(crate) fn check_csrf(&self, headers: &HeaderMap, claims: &Claims) -> Result<()> {
        self.csrf.check(headers, &self.csrf_name, claims)
    }

    /// The three cookies of a session: `access_token` and `refresh_token` (whose verified
    /// claims are `access` and `refresh`), and the CSRF token, with lifetimes counted from
    /// `now` (seconds).
    pub(crate) fn session(
        &self,
        access_token: &str,
        access: &Claims,
        refresh_token: &str,
        refresh: &Claims,
        now: u64,
    ) -> Result<SessionCookies> {
        if access.subject() != refresh.subject() || access.family() != refresh.family() {
            return Err(Error::new(ErrorKind::InternalError)
                .with_message("the access and refresh tokens are not of one session"));
        }
        let access_age = access.expires_at().saturating_sub(now);
        let refresh_age = refresh.expires_at().saturating_sub(now);
        let csrf_token = self.csrf.token(access)?;
        let cookies = [
            self.cookie(
                &self.access_name,
                access_token.to_owned(),
                &self.path,
                true,
                access_age,
            ),
            self.cookie(
                &self.refresh_name,
                refresh_token.to_owned(),
                &self.refresh_path,
                true,
                refresh_age,
            ),
            self.cookie(
                &self.csrf_name,
                csrf_token.clone(),
                &self.path,
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

    /// The headers that delete the session's cookies.
    pub(crate) fn clear(&self) -> Result<ClearSessionCookies> {
        let cookies = [
            (&self.access_name, &self.path, true),
            (&self.refresh_name, &self.refresh_path, true),
            (&self.csrf_name, &self.path, false),
        ];
        let set_cookies = cookies
            .into_iter()
            .map(|(name, path, http_only)| {
                let mut cookie = self.cookie(name, String::new(), path, http_only, 0);
                cookie.make_removal();
                header_value(&cookie)
            })
            .collect::<Result<_>>()?;
        Ok(ClearSessionCookies { set_cookies })
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

/// The `Set-Cookie` headers of a session (access, refresh and CSRF cookies) and its CSRF
/// token, made by [`Centurion::session_cookies`](crate::Centurion::session_cookies) and
/// [`Centurion::refresh_from_cookies`](crate::Centurion::refresh_from_cookies).
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
/// domain, empty values, `Max-Age=0`), made by
/// [`Centurion::clear_session_cookies`](crate::Centurion::clear_session_cookies). Use it
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
