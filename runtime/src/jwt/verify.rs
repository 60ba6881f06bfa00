//! Strict verification: the size limit, the compact form, the JOSE header, the key and
//! its algorithm, the signature, the payload, the kind, the times, `iss` and `aud`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::claims::{Claims, ClaimsData, TokenKind};
use super::keys::{KeySet, algorithm_in_header, is_own_algorithm};
use crate::config::Settings;
use crate::error::{Error, ErrorKind};

// ---------------------------------------------------------------------------------------
// Strict decoding of header and payload.

pub(super) fn invalid(message: &'static str) -> Error {
    Error::new(ErrorKind::InvalidTokenError).with_message(message)
}

/// Fields of the JOSE header. Duplicate keys are refused by the derive; unknown names
/// other than those below are ignored (RFC 7515 §4), except the ones we refuse.
///
/// A parameter written with the value `null` is present, not absent: `"kid": null` and
/// `"typ": null` are malformed (they must be strings), and `"crit": null`, `"jku": null`
/// and the like are refused like any other value of theirs. A plain `Option` field
/// would read `null` as "absent" (found by the `token_structured` fuzz target).
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: std::borrow::Cow<'a, str>,
    #[serde(default, deserialize_with = "string_if_present")]
    kid: Option<String>,
    #[serde(default, deserialize_with = "string_if_present")]
    typ: Option<String>,
    #[serde(default, deserialize_with = "if_present")]
    crit: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "if_present")]
    jwk: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "if_present")]
    jku: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "if_present")]
    x5u: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "if_present")]
    x5c: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "if_present")]
    cty: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "if_present")]
    b64: Option<IgnoredAny>,
    /// Every other parameter, parsed (so under serde_json's nesting limit) and dropped.
    /// Without it serde skips unknown values without any depth limit, and a header with
    /// 10 000 nested arrays in an unknown parameter was accepted.
    #[serde(flatten)]
    _other: OtherParams,
}

/// The header parameters centurion does not use: parsed and dropped, but each name at
/// most once. (A map kept the last of two `x5t`, so duplicates of unknown parameters
/// passed while duplicates of known ones were refused; found by the `token_structured`
/// fuzz target.)
struct OtherParams;

impl<'de> Deserialize<'de> for OtherParams {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ParamsVisitor;

        impl<'de> Visitor<'de> for ParamsVisitor {
            type Value = OtherParams;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("header parameters")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OtherParams, A::Error> {
                let mut seen = std::collections::HashSet::new();
                while let Some(name) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    if !seen.insert(name) {
                        return Err(de::Error::custom("duplicate header parameter"));
                    }
                }
                Ok(OtherParams)
            }
        }

        d.deserialize_map(ParamsVisitor)
    }
}

/// `Some` whenever the parameter is present, whatever its value (`null` included).
fn if_present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IgnoredAny>, D::Error> {
    IgnoredAny::deserialize(d).map(Some)
}

/// A parameter that, when present, must be a string (`null` included in "present").
fn string_if_present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

pub(super) fn b64(part: &str) -> Result<Vec<u8>, Error> {
    // The standard engine refuses padding and non-canonical trailing bits.
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| invalid("the token is not valid base64url"))
}

/// The kind of token a verification expects.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ExpectKind {
    /// Access or service token.
    Authenticating,
    Exactly(TokenKind),
    /// A flask-praetorian token or a flask-jwt-extended refresh token, exchanged once at
    /// refresh (feature `legacy`).
    #[cfg(feature = "legacy")]
    LegacyExchange,
}

fn misuse_error(expected: ExpectKind, got: TokenKind) -> Error {
    let kind = match got {
        TokenKind::Refresh => ErrorKind::MisusedRefreshToken,
        TokenKind::Registration => ErrorKind::MisusedRegistrationToken,
        TokenKind::Reset => ErrorKind::MisusedResetToken,
        TokenKind::Access | TokenKind::Service => match expected {
            ExpectKind::Exactly(TokenKind::Refresh) => ErrorKind::MisusedAccessToken,
            _ => ErrorKind::InvalidTokenError,
        },
    };
    let err = Error::new(kind);
    if kind == ErrorKind::InvalidTokenError {
        err.with_message("this kind of token cannot be used here")
    } else {
        err
    }
}

/// A token split into its parts, its header decoded and checked against the rules every
/// source shares: within the size limit, three canonical base64url parts, a JSON object
/// header without duplicate parameters, a known algorithm (never `none`), no `crit`, no
/// key embedded in or linked from the header (`jwk`, `jku`, `x5u`, `x5c`), no nested or
/// unencoded payload (`cty`, `b64`). What `typ` may be, which algorithms and which keys
/// are accepted is the source's to decide.
pub(crate) struct Compact<'a> {
    /// `header.payload`: what the signature covers.
    signed: &'a str,
    payload_b64: &'a str,
    signature: &'a str,
    alg: Algorithm,
    kid: Option<String>,
    typ: Option<String>,
    /// The payload's bytes, decoded once whoever asks first.
    payload: std::sync::OnceLock<Vec<u8>>,
}

impl<'a> Compact<'a> {
    /// Splits and decodes `token` and checks its header (see the type's docs).
    pub(crate) fn parse(token: &'a str, max_bytes: usize) -> Result<Self, Error> {
        if token.len() > max_bytes {
            return Err(Error::new(ErrorKind::TokenTooLarge));
        }
        let mut parts = token.splitn(4, '.');
        let (Some(header_b64), Some(payload_b64), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("a token has three dot-separated parts"));
        };
        if header_b64.is_empty() || payload_b64.is_empty() || signature.is_empty() {
            return Err(invalid("the token has an empty part"));
        }

        let header_json = b64(header_b64)?;
        // A derived struct also deserializes from a JSON array (`["HS256"]`); a JOSE header
        // is an object only.
        if header_json.trim_ascii_start().first() != Some(&b'{') {
            return Err(invalid("the token header is malformed"));
        }
        let header: Header<'_> = serde_json::from_slice(&header_json)
            .map_err(|_| invalid("the token header is malformed"))?;
        if header.crit.is_some() {
            return Err(invalid(
                "the token header names critical extensions this server does not support",
            ));
        }
        if header.jwk.is_some()
            || header.jku.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
        {
            return Err(invalid(
                "keys embedded in or linked from the token header are never trusted",
            ));
        }
        if header.cty.is_some() || header.b64.is_some() {
            return Err(invalid("nested or unencoded tokens are not accepted"));
        }
        let alg = algorithm_in_header(&header.alg)
            .ok_or_else(|| invalid("the token's algorithm is not accepted"))?;
        Ok(Self {
            signed: &token[..header_b64.len() + 1 + payload_b64.len()],
            payload_b64,
            signature,
            alg,
            kid: header.kid,
            typ: header.typ,
            payload: std::sync::OnceLock::new(),
        })
    }

    /// The header's algorithm.
    pub(crate) fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The header's `kid`, if any.
    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The header's `typ`, if any.
    pub(crate) fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// `header.payload` as the token carries them: what the signature covers.
    #[cfg(feature = "oidc")]
    pub(crate) fn signed(&self) -> &str {
        self.signed
    }

    /// Whether the signature verifies over the token's first two parts with `key` and the
    /// header's algorithm. The caller has checked that `key` belongs to that algorithm.
    // With `legacy`, the instance's own tokens use `signature_valid` (a derived key may
    // sign them); identity providers' tokens (`oidc`) use this.
    #[cfg_attr(all(feature = "legacy", not(feature = "oidc")), allow(dead_code))]
    pub(crate) fn signature_verifies(&self, key: &DecodingKey) -> Result<(), Error> {
        if self.signature_valid(key)? {
            Ok(())
        } else {
            Err(invalid("the token signature does not verify"))
        }
    }

    /// Whether the signature verifies with `key`: an error only when it is malformed.
    fn signature_valid(&self, key: &DecodingKey) -> Result<bool, Error> {
        jsonwebtoken::crypto::verify(self.signature, self.signed.as_bytes(), key, self.alg)
            .map_err(|_| invalid("the token signature is malformed"))
    }

    /// The decoded payload (not yet parsed, not yet trusted).
    pub(crate) fn payload(&self) -> Result<&[u8], Error> {
        if let Some(bytes) = self.payload.get() {
            return Ok(bytes);
        }
        let bytes = b64(self.payload_b64)?;
        Ok(self.payload.get_or_init(|| bytes))
    }

    /// The `iss` of the unverified payload, to choose the token's source and nothing
    /// else: `None` when the payload has no `iss`. A payload that is not a JSON object, an
    /// `iss` that is not a string, or two of them, are refused.
    #[cfg(feature = "oidc")]
    pub(crate) fn routing_issuer(&self) -> Result<Option<String>, Error> {
        let payload = self.payload()?;
        let mut de = serde_json::Deserializer::from_slice(payload);
        let peeked = IssuerOnly::deserialize(&mut de)
            .and_then(|iss| de.end().map(|()| iss))
            .map_err(|_| invalid("the token claims are malformed"))?;
        Ok(peeked.0)
    }
}

/// Reads `iss` from a payload and skips the rest (without building it).
#[cfg(feature = "oidc")]
struct IssuerOnly(Option<String>);

#[cfg(feature = "oidc")]
impl<'de> Deserialize<'de> for IssuerOnly {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct IssVisitor;

        impl<'de> Visitor<'de> for IssVisitor {
            type Value = IssuerOnly;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of claims")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IssuerOnly, A::Error> {
                let mut iss = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "iss" {
                        if iss.is_some() {
                            return Err(de::Error::custom("duplicate claim `iss`"));
                        }
                        iss = Some(map.next_value::<String>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(IssuerOnly(iss))
            }
        }

        d.deserialize_map(IssVisitor)
    }
}

/// Verifies a token of this instance, already split by [`Compact::parse`] and routed to it:
/// signature and claims against the clock's `now` (seconds); revocation and the
/// application's validators are checked by the caller.
pub(crate) fn verify_own(
    token: &Compact<'_>,
    keys: &KeySet,
    settings: &Settings,
    expect: ExpectKind,
    now: u64,
) -> Result<Claims, Error> {
    if token.typ().is_some_and(|t| !t.eq_ignore_ascii_case("JWT")) {
        return Err(invalid("the token header's `typ` is not JWT"));
    }
    // Only the algorithms centurion's own keys can be configured with (not PS*, ES384).
    let alg = token.alg();
    if !is_own_algorithm(alg) {
        return Err(invalid("the token's algorithm is not accepted"));
    }
    let key = keys
        .select(alg, token.kid())
        .ok_or_else(|| invalid("the token's algorithm or key id is not accepted"))?;
    // While legacy (Flask) tokens are on, our other kinds are signed with derived keys:
    // `signed_as` is the kind the key allows, `None` for the secret itself (access only).
    #[cfg(feature = "legacy")]
    let signed_as = match (&keys.legacy, token.signature_valid(&key.key)?) {
        (_, true) => None,
        (Some(legacy), false) => Some(
            legacy
                .derived_signer(token.signature, token.signed.as_bytes(), alg)
                .ok_or_else(|| invalid("the token signature does not verify"))?,
        ),
        (None, false) => return Err(invalid("the token signature does not verify")),
    };
    #[cfg(not(feature = "legacy"))]
    token.signature_verifies(&key.key)?;

    let payload = token.payload()?;
    #[cfg(feature = "legacy")]
    if let Some(config) = settings.legacy() {
        // A Flask token: signed with the secret itself, then checked by its own rules.
        if let Some((shape, map)) = super::legacy::route(payload, config)? {
            if signed_as.is_some() {
                return Err(invalid("the token signature does not verify"));
            }
            let purpose = match expect {
                ExpectKind::Authenticating => super::legacy::Purpose::Access,
                ExpectKind::LegacyExchange => super::legacy::Purpose::Exchange,
                ExpectKind::Exactly(_) => {
                    return Err(invalid(
                        "a Flask token is accepted as an access token only (or once at refresh)",
                    ));
                }
            };
            let data = super::legacy::claims(shape, map, config, purpose, settings, now)?;
            return Ok(Claims::from_data(data));
        }
    }
    let claims: ClaimsData =
        serde_json::from_slice(payload).map_err(|_| invalid("the token claims are malformed"))?;
    // A flask-jwt-extended token has every claim ours have, but never `fam` nor `iat_ms`
    // (which every access and refresh token of ours carries), and it has jwt-extended's
    // marks: a `csrf` claim (written by default whatever the token location) or a UUID
    // `jti` (ours are 22 base64url characters). Refused unless turned on.
    if claims.fam.is_none()
        && claims.iat_ms.is_none()
        && matches!(claims.kind, TokenKind::Access | TokenKind::Refresh)
        && (claims.custom.contains_key("csrf") || is_uuid(&claims.jti))
    {
        return Err(invalid(
            "a flask-jwt-extended token is not accepted (see `legacy` in the configuration)",
        ));
    }
    #[cfg(feature = "legacy")]
    if settings.legacy().is_some() {
        let key_fits = match signed_as {
            None => claims.kind == TokenKind::Access,
            Some(kind) => claims.kind == kind,
        };
        if !key_fits {
            return Err(invalid("the token is not signed with the key of its kind"));
        }
    }

    let kind_ok = match expect {
        ExpectKind::Authenticating => claims.kind.authenticates(),
        ExpectKind::Exactly(kind) => claims.kind == kind,
        #[cfg(feature = "legacy")]
        ExpectKind::LegacyExchange => false,
    };
    if !kind_ok {
        return Err(misuse_error(expect, claims.kind));
    }

    times(&claims, settings.leeway(), now)?;
    if let Some(iss) = settings.issuer()
        && claims.iss.as_deref() != Some(iss)
    {
        return Err(invalid("the token's issuer is not accepted"));
    }
    if let Some(aud) = settings.audience()
        && !claims.aud.as_ref().is_some_and(|a| a.contains(aud))
    {
        return Err(invalid("the token's audience is not accepted"));
    }
    Ok(Claims::from_data(claims))
}

/// Whether `s` is a UUID in its hyphenated form (what Python's `str(uuid4())` writes).
pub(super) fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The time claims against `now` (seconds): expired, not yet valid, issued in the future.
/// Run at verification and again whenever a remembered verification is reused.
pub(crate) fn check_times(claims: &Claims, leeway: u64, now: u64) -> Result<(), Error> {
    times(claims.data(), leeway, now)
}

fn times(claims: &ClaimsData, leeway: u64, now: u64) -> Result<(), Error> {
    if now >= claims.exp.saturating_add(leeway) {
        return Err(Error::new(match claims.kind {
            TokenKind::Access | TokenKind::Service => ErrorKind::ExpiredAccessError,
            TokenKind::Refresh => ErrorKind::ExpiredRefreshError,
            TokenKind::Registration | TokenKind::Reset => ErrorKind::ExpiredTokenError,
        }));
    }
    if claims.nbf > now.saturating_add(leeway) {
        return Err(Error::new(ErrorKind::EarlyTokenError));
    }
    if claims.iat > now.saturating_add(leeway) {
        return Err(Error::new(ErrorKind::EarlyTokenError)
            .with_message("the token was issued in the future"));
    }
    Ok(())
}
