//! Fetching a provider's documents: the URL rule, a bounded GET, and how long an answer
//! may be kept (`Cache-Control`, `Age`).

use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{AGE, CACHE_CONTROL, HeaderMap};

use crate::error::Error;

/// Time to open a connection.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Time for a whole request, body included.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest document accepted.
pub(super) const MAX_BODY_BYTES: usize = 512 * 1024;
/// Redirects followed per request, each one checked against the URL rule.
const MAX_REDIRECTS: usize = 3;

/// Whether `url`'s host is a loopback address: `127.0.0.0/8`, `::1` or `localhost`.
pub(super) fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some(host) if host.eq_ignore_ascii_case("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// The URL rule: `https`, or `http` on a loopback host (or anywhere when `allow_http`);
/// no user name or password in it.
pub(super) fn check_url(url: &Url, allow_http: bool) -> Result<(), String> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("`{url}` holds credentials; remove them"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{url}` has no host"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http || is_loopback(url) => Ok(()),
        "http" => Err(format!(
            "`{url}` is plain http on a host that is not loopback; use https \
             (or set `allow_insecure_http` if the network path is trusted)"
        )),
        other => Err(format!("`{url}` has the scheme `{other}`; use https")),
    }
}

/// Parses `text` as a URL that follows the URL rule.
pub(super) fn parse_url(text: &str, allow_http: bool) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("`{text}` is not a URL ({e})"))?;
    check_url(&url, allow_http)?;
    Ok(url)
}

/// An answer: its status, its body (at most [`MAX_BODY_BYTES`]) and how long it may be
/// kept, when its headers say.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: Vec<u8>,
    pub(super) max_age: Freshness,
}

/// What an answer's `Cache-Control` and `Age` say about keeping it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Freshness {
    /// No `Cache-Control`, or none that says how long.
    Unknown,
    /// `no-store`, `no-cache`, or `max-age=0`.
    DoNotKeep,
    /// `max-age` minus `Age`, in seconds.
    Seconds(u64),
}

/// Reads `Cache-Control` (every value of the header, directives separated by commas, names
/// in any case) and `Age`. Only `max-age`, `no-store` and `no-cache` count.
pub(super) fn freshness(headers: &HeaderMap) -> Freshness {
    let mut max_age: Option<u64> = None;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(text) = value.to_str() else { continue };
        for directive in text.split(',') {
            let (name, arg) = match directive.split_once('=') {
                Some((name, arg)) => (name.trim(), Some(arg.trim().trim_matches('"'))),
                None => (directive.trim(), None),
            };
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return Freshness::DoNotKeep;
            }
            if name.eq_ignore_ascii_case("max-age") {
                let Some(secs) = arg
                    .filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()))
                    // Digits only; too many of them is a long time.
                    .map(|a| a.parse::<u64>().unwrap_or(u64::MAX))
                else {
                    return Freshness::DoNotKeep;
                };
                max_age = Some(max_age.map_or(secs, |m| m.min(secs)));
            }
        }
    }
    let Some(max_age) = max_age else {
        return Freshness::Unknown;
    };
    let age = headers
        .get(AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    match max_age.saturating_sub(age) {
        0 => Freshness::DoNotKeep,
        secs => Freshness::Seconds(secs),
    }
}

/// The HTTP clients of one provider: one without proxies, for loopback hosts, and one that
/// honours the `HTTPS_PROXY`/`NO_PROXY` environment, for the others.
pub(super) struct Fetcher {
    direct: reqwest::Client,
    proxied: reqwest::Client,
    allow_http: bool,
}

impl Fetcher {
    /// `roots_pem`: certificates trusted as roots besides the system's.
    pub(super) fn new(allow_http: bool, roots_pem: Option<&str>) -> Result<Self, Error> {
        let roots = match roots_pem {
            Some(pem) => {
                let roots = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                    Error::config(format!(
                        "tls_roots_pem holds no usable PEM certificate: {e}"
                    ))
                })?;
                if roots.is_empty() {
                    return Err(Error::config("tls_roots_pem holds no PEM certificate"));
                }
                roots
            }
            None => Vec::new(),
        };
        let build = |direct: bool| {
            let policy = reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    return attempt.error("too many redirects");
                }
                match check_url(attempt.url(), allow_http) {
                    Ok(()) => attempt.follow(),
                    Err(why) => attempt.error(format!("refused redirect: {why}")),
                }
            });
            let builder = reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(REQUEST_TIMEOUT)
                .redirect(policy)
                .retry(reqwest::retry::never())
                .tls_certs_merge(roots.iter().cloned())
                .user_agent(concat!("centurion/", env!("CARGO_PKG_VERSION")));
            let builder = if direct { builder.no_proxy() } else { builder };
            builder.build().map_err(|e| {
                Error::config(format!(
                    "cannot build the HTTP client for identity providers: {e}"
                ))
            })
        };
        Ok(Self {
            direct: build(true)?,
            proxied: build(false)?,
            allow_http,
        })
    }

    /// GETs `url` (which follows the URL rule) as JSON: the status, at most
    /// [`MAX_BODY_BYTES`] of body (more is an error), the freshness. Bounded by the
    /// connect and request timeouts; no decompression.
    pub(super) async fn get(&self, url: &Url) -> Result<Answer, String> {
        check_url(url, self.allow_http)?;
        let client = if is_loopback(url) {
            &self.direct
        } else {
            &self.proxied
        };
        let mut response = client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {}", describe(&e)))?;
        let status = response.status().as_u16();
        let max_age = freshness(response.headers());
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(format!("GET {url}: the answer is larger than 512 KiB"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("GET {url}: {}", describe(&e)))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(format!("GET {url}: the answer is larger than 512 KiB"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            body,
            max_age,
        })
    }
}

/// A reqwest error with its causes, on one line.
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "cannot connect".to_owned()
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn cache_control_says_how_long_an_answer_may_be_kept() {
        let f = |pairs: &[(&str, &str)]| freshness(&headers(pairs));
        assert_eq!(f(&[]), Freshness::Unknown);
        assert_eq!(f(&[("cache-control", "public")]), Freshness::Unknown);
        assert_eq!(
            f(&[("cache-control", "public, max-age=600")]),
            Freshness::Seconds(600)
        );
        assert_eq!(
            f(&[("cache-control", "Max-Age=\"600\", must-revalidate")]),
            Freshness::Seconds(600)
        );
        assert_eq!(
            f(&[("cache-control", "max-age=600"), ("age", "100")]),
            Freshness::Seconds(500)
        );
        assert_eq!(
            f(&[("cache-control", "max-age=600"), ("age", "900")]),
            Freshness::DoNotKeep
        );
        assert_eq!(
            f(&[
                ("cache-control", "max-age=600"),
                ("cache-control", "max-age=60")
            ]),
            Freshness::Seconds(60)
        );
        assert_eq!(f(&[("cache-control", "max-age=0")]), Freshness::DoNotKeep);
        assert_eq!(
            f(&[("cache-control", "max-age=600, no-cache")]),
            Freshness::DoNotKeep
        );
        assert_eq!(f(&[("cache-control", "NO-STORE")]), Freshness::DoNotKeep);
        assert_eq!(f(&[("cache-control", "max-age=-5")]), Freshness::DoNotKeep);
        assert_eq!(f(&[("cache-control", "max-age=")]), Freshness::DoNotKeep);
        assert_eq!(
            f(&[(
                "cache-control",
                "s-maxage=9, max-age=99999999999999999999999"
            )]),
            Freshness::Seconds(u64::MAX)
        );
    }

    #[test]
    fn http_is_for_loopback_only_unless_allowed() {
        let ok = |text: &str, allow: bool| parse_url(text, allow).is_ok();
        assert!(ok("https://idp.example.com/realms/a", false));
        assert!(ok("http://127.0.0.1:8080", false));
        assert!(ok("http://127.9.9.9", false));
        assert!(ok("http://[::1]:80/x", false));
        assert!(ok("http://LOCALHOST:1/", false));
        assert!(!ok("http://idp.example.com", false));
        assert!(ok("http://idp.example.com", true));
        assert!(!ok("http://10.0.0.1", false));
        assert!(!ok("http://localhost.example.com", false));
        assert!(!ok("http://127.0.0.1.nip.io", false));
        assert!(!ok("ftp://idp.example.com", true));
        assert!(!ok("file:///etc/passwd", true));
        assert!(!ok("https://user:pw@idp.example.com", false));
        assert!(!ok("not a url", false));
    }
}
