//! The signed double-submit CSRF token: `base64url(HMAC-SHA256(key, subject ‖ session))`,
//! and its check on cookie-authenticated requests (see the [transport docs](super#csrf)).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderName};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::jwt::Claims;

/// The CSRF key and where the token is sent back.
pub(super) struct Csrf {
    key: Zeroizing<[u8; 32]>,
    header: HeaderName,
    /// The header name as configured, for messages (`HeaderName` is lowercase).
    header_label: String,
    protect: bool,
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 32]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .map_err(|_| Error::new(ErrorKind::InternalError).with_message("HMAC key rejected"))?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().into())
}

impl Csrf {
    /// The CSRF settings of `config.cookies`; the key is `csrf_secret` or derived from the
    /// signing secret or private key.
    pub(super) fn from_config(config: &Config) -> Result<Self> {
        let c = &config.cookies;
        let header = HeaderName::try_from(c.csrf_header_name.as_str()).map_err(|_| {
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
        Ok(Self {
            key: Zeroizing::new(hmac_sha256(material, &[b"centurion csrf key v1"])?),
            header,
            header_label: c.csrf_header_name.clone(),
            protect: c.csrf_protect,
        })
    }

    /// The header the CSRF token travels in, as configured; `None` when the check is off.
    #[cfg(feature = "openapi")]
    pub(super) fn documented_header(&self) -> Option<&str> {
        self.protect.then_some(self.header_label.as_str())
    }

    /// The CSRF token of the session `claims` belong to: its refresh family, or the token
    /// itself for tokens without one.
    pub(super) fn token(&self, claims: &Claims) -> Result<String> {
        let binding = claims.family().unwrap_or(claims.jti());
        let mac = hmac_sha256(
            self.key.as_slice(),
            &[
                b"centurion-csrf-v1\0",
                claims.subject().as_bytes(),
                b"\0",
                binding.as_bytes(),
            ],
        )?;
        Ok(URL_SAFE_NO_PAD.encode(mac))
    }

    /// Checks the CSRF header against the CSRF cookie `cookie_name` and the token of
    /// `claims`' session, in constant time.
    pub(super) fn check(
        &self,
        headers: &HeaderMap,
        cookie_name: &str,
        claims: &Claims,
    ) -> Result<()> {
        if !self.protect {
            return Ok(());
        }
        let refuse = |message: String| Err(Error::new(ErrorKind::CSRFError).with_message(message));
        let mut values = headers.get_all(&self.header).iter();
        let sent = match (values.next(), values.next()) {
            (Some(value), None) => value.as_bytes(),
            (None, _) => {
                return refuse(format!(
                    "a request authenticated by a cookie needs the {} header",
                    self.header_label
                ));
            }
            (Some(_), Some(_)) => {
                return refuse(format!(
                    "the request carries more than one {} header",
                    self.header_label
                ));
            }
        };
        let Some(cookie) = super::cookie_value(headers, cookie_name)? else {
            return refuse(format!("the request carries no `{cookie_name}` cookie"));
        };
        let expected = self.token(claims)?;
        let matches = sent.ct_eq(cookie.as_bytes()) & sent.ct_eq(expected.as_bytes());
        if bool::from(matches) {
            Ok(())
        } else {
            refuse(format!(
                "the {} header does not match this session's CSRF token",
                self.header_label
            ))
        }
    }
}
