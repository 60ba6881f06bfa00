//! The cookie transport's settings: [`TokenLocation`], [`CookieConfig`], [`SameSite`].
//! What they do is described with the transport, in [`crate::transport`].

use serde::Deserialize;

use super::Secret;

/// A place a request's access token is read from. See [the transport's docs](crate::transport#token-locations).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TokenLocation {
    /// `Authorization: Bearer <token>` (`"header"`).
    Header,
    /// The access cookie set by [`Centurion::session_cookies`](crate::Centurion::session_cookies) (`"cookies"`); unsafe
    /// methods need the CSRF header.
    Cookies,
    /// A query-string parameter, [`Config::query_parameter`](crate::Config::query_parameter) (`"query"`), read on WebSocket
    /// upgrade requests only.
    Query,
}

/// The `SameSite` attribute of the session cookies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SameSite {
    /// Sent only with requests made by the site itself (`"strict"`); a link from another
    /// site opens the application logged out.
    Strict,
    /// Also sent with top-level navigations from other sites, not with their subrequests or
    /// form POSTs (`"lax"`, the default).
    #[default]
    Lax,
    /// Sent with every request, cross-site ones included (`"none"`); needs `secure`. Only
    /// for applications embedded in other sites, and then the CSRF check is what protects.
    None,
}

/// How the session cookies are made, and the CSRF settings.
///
/// Every field has a default; write the ones to change with struct-update syntax. In a
/// serde [`Config`](crate::Config) it is the `cookies` table:
///
/// ```
/// let config: centurion::Config = serde_json::from_str(r#"{
///     "secret": "an-example-secret-of-at-least-32-bytes!!",
///     "token_locations": ["header", "cookies"],
///     "cookies": {"same_site": "strict", "refresh_path": "/auth/session"}
/// }"#).unwrap();
/// assert!(config.cookies.secure);
/// assert_eq!(config.cookies.same_site, centurion::SameSite::Strict);
/// ```
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct CookieConfig {
    /// Whether cookies carry `Secure` (sent over HTTPS only) and get the `__Host-` /
    /// `__Secure-` name prefixes. Default `true`; set `false` for plain-HTTP development.
    pub secure: bool,
    /// The `SameSite` attribute. Default `Lax`.
    pub same_site: SameSite,
    /// The `Domain` attribute. Default none: the cookies go to the exact host that set them.
    pub domain: Option<String>,
    /// The `Path` of the access and CSRF cookies. Default `/`.
    pub path: String,
    /// The `Path` of the refresh cookie; restrict it to the refresh (and logout) route so
    /// the refresh token travels only where it is spent. Default: `path`.
    pub refresh_path: Option<String>,
    /// Base name of the access cookie (before any prefix). Default `access_token`.
    pub access_cookie_name: String,
    /// Base name of the refresh cookie. Default `refresh_token`.
    pub refresh_cookie_name: String,
    /// Base name of the CSRF cookie, the one scripts read. Default `csrf_token`.
    pub csrf_cookie_name: String,
    /// The request header that carries the CSRF token. Default `X-CSRF-Token`.
    pub csrf_header_name: String,
    /// Whether cookie-authenticated unsafe requests need the CSRF token. Default `true`;
    /// turn it off only when something else (a strict `SameSite` plus an origin check, say)
    /// protects every unsafe route.
    pub csrf_protect: bool,
    /// Key of the CSRF tokens (at least 32 bytes). Default: derived from the signing
    /// secret or private key. Set it to make CSRF tokens independent of the signing key.
    pub csrf_secret: Option<Secret>,
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self {
            secure: true,
            same_site: SameSite::Lax,
            domain: None,
            path: "/".to_owned(),
            refresh_path: None,
            access_cookie_name: "access_token".to_owned(),
            refresh_cookie_name: "refresh_token".to_owned(),
            csrf_cookie_name: "csrf_token".to_owned(),
            csrf_header_name: "X-CSRF-Token".to_owned(),
            csrf_protect: true,
            csrf_secret: None,
        }
    }
}
