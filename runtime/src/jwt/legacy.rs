//! A token source for migrations (feature `legacy`): the access tokens of flask-praetorian
//! and flask-jwt-extended services signing with the same HS256 secret, their refresh
//! honoured once, and what our own tokens carry so that those services accept them.
//!
//! A token's source is decided by its shape once its signature has verified:
//!
//! | source | shape |
//! | --- | --- |
//! | flask-praetorian | `id` and `rf_exp`, no `type`, no `sub` |
//! | flask-jwt-extended | `sub` and `type`, no `fam`, no `iat_ms`, and `csrf` or a UUID `jti` |
//! | this instance | anything else (every token we issue has `iat_ms`) |
//!
//! While a legacy source is on, only our access tokens are signed with the secret itself;
//! refresh, service, registration and reset tokens are signed with keys derived from it
//! (HMAC-SHA256(secret, `centurion <kind>`)), so a Flask service sharing the secret can
//! never take them for its own, and a token signed with the secret is only ever an access
//! token here (or, at `Centurion::refresh`, a legacy token exchanged once).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::claims::{ClaimsData, TokenKind};
use super::verify::is_uuid;
use crate::config::{LegacyConfig, Settings};
use crate::error::{Error, ErrorKind};

fn invalid(message: &'static str) -> Error {
    Error::new(ErrorKind::InvalidTokenError).with_message(message)
}

/// The kinds signed with a derived key while a legacy source is on.
const DERIVED_KINDS: [TokenKind; 4] = [
    TokenKind::Refresh,
    TokenKind::Service,
    TokenKind::Registration,
    TokenKind::Reset,
];

/// The derived keys and the crossing settings, built from the signing secret.
pub(super) struct LegacyKeys {
    derived: Vec<(TokenKind, EncodingKey, DecodingKey)>,
    config: LegacyConfig,
}

impl LegacyKeys {
    pub(super) fn new(secret: &[u8], config: &LegacyConfig) -> Result<Self, Error> {
        let mut derived = Vec::with_capacity(DERIVED_KINDS.len());
        for kind in DERIVED_KINDS {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).map_err(|_| {
                Error::new(ErrorKind::InternalError).with_message("cannot derive a key")
            })?;
            mac.update(b"centurion ");
            mac.update(kind.as_str().as_bytes());
            let key = mac.finalize().into_bytes();
            derived.push((
                kind,
                EncodingKey::from_secret(&key),
                DecodingKey::from_secret(&key),
            ));
        }
        Ok(Self {
            derived,
            config: config.clone(),
        })
    }

    /// The key that signs tokens of `kind`: `None` for access tokens (the secret itself).
    pub(super) fn signing_key(&self, kind: TokenKind) -> Option<&EncodingKey> {
        self.derived
            .iter()
            .find(|(k, ..)| *k == kind)
            .map(|(_, enc, _)| enc)
    }

    /// The kind whose derived key verifies this signature, if any.
    pub(super) fn derived_signer(
        &self,
        sig: &str,
        signed: &[u8],
        alg: Algorithm,
    ) -> Option<TokenKind> {
        if alg != Algorithm::HS256 {
            return None;
        }
        self.derived
            .iter()
            .find(|(_, _, dec)| {
                jsonwebtoken::crypto::verify(sig, signed, dec, Algorithm::HS256).unwrap_or(false)
            })
            .map(|(kind, ..)| *kind)
    }

    /// Adds what the Flask services need to an access token of ours: praetorian's `id`,
    /// `rls` and `rf_exp` (= `exp`, so it cannot refresh it), and the roles under
    /// jwt-extended's roles claim when that is not `roles`.
    pub(super) fn add_crossing_claims(&self, claims: &mut ClaimsData) -> Result<(), Error> {
        if claims.kind != TokenKind::Access {
            return Ok(());
        }
        let roles = claims.roles.clone().unwrap_or_default();
        let mut extra = Map::new();
        if self.config.praetorian {
            let id = match claims.sub.parse::<i64>() {
                Ok(n) if n.to_string() == claims.sub => Value::from(n),
                _ => Value::from(claims.sub.clone()),
            };
            extra.insert("id".into(), id);
            extra.insert("rls".into(), Value::from(roles.join(",")));
            extra.insert("rf_exp".into(), Value::from(claims.exp));
        }
        if self.config.jwt_extended && self.config.roles_claim != "roles" {
            extra.insert(self.config.roles_claim.clone(), Value::from(roles));
        }
        for (name, value) in extra {
            if claims.custom.insert(name.clone(), value).is_some() {
                return Err(
                    Error::new(ErrorKind::ClaimCollisionError).with_message(format!(
                        "the custom claim `{name}` collides with a claim the Flask services read"
                    )),
                );
            }
        }
        Ok(())
    }
}

/// Which Flask extension a token comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    Praetorian,
    JwtExtended,
}

/// What a legacy token is being verified for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Purpose {
    /// Authenticating a request.
    Access,
    /// The one-time exchange at refresh.
    Exchange,
}

/// A legacy token's source and its claims.
pub(super) type Routed = (Shape, Map<String, Value>);

/// A payload as a map, duplicate names refused (as for our own claims).
struct StrictMap(Map<String, Value>);

impl<'de> Deserialize<'de> for StrictMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = StrictMap;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object of claims")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictMap, A::Error> {
                let mut out = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value = map.next_value::<Value>()?;
                    if out.contains_key(&key) {
                        return Err(de::Error::custom("duplicate claim"));
                    }
                    out.insert(key, value);
                }
                Ok(StrictMap(out))
            }
        }
        d.deserialize_map(MapVisitor)
    }
}

fn shape_of(map: &Map<String, Value>, config: &LegacyConfig) -> Option<Shape> {
    let has = |k: &str| map.contains_key(k);
    if config.praetorian && has("id") && has("rf_exp") && !has("type") && !has("sub") {
        Some(Shape::Praetorian)
    } else if config.jwt_extended
        && has("sub")
        && has("type")
        && !has("fam")
        && !has("iat_ms")
        && (has("csrf") || map.get("jti").and_then(Value::as_str).is_some_and(is_uuid))
    {
        Some(Shape::JwtExtended)
    } else {
        None
    }
}

/// The legacy shape of a decoded payload, when that source is on; `None` for ours.
pub(super) fn route(payload: &[u8], config: &LegacyConfig) -> Result<Option<Routed>, Error> {
    let StrictMap(map) =
        serde_json::from_slice(payload).map_err(|_| invalid("the token claims are malformed"))?;
    Ok(shape_of(&map, config).map(|shape| (shape, map)))
}

/// Whether an unverified token looks like a legacy token of an enabled source: decides
/// only which verification `Centurion::refresh` runs, never whether a token is accepted.
pub(crate) fn looks_legacy(token: &str, settings: &Settings) -> bool {
    let Some(config) = settings.legacy() else {
        return false;
    };
    if token.len() > settings.max_token_bytes() {
        return false;
    }
    let Some(payload) = token.split('.').nth(1) else {
        return false;
    };
    let Ok(payload) = URL_SAFE_NO_PAD.decode(payload) else {
        return false;
    };
    serde_json::from_slice::<StrictMap>(&payload).is_ok_and(|m| shape_of(&m.0, config).is_some())
}

/// A non-negative number of seconds (PyJWT accepts floats; they are floored).
fn seconds(value: &Value, name: &'static str) -> Result<u64, Error> {
    let bad = || {
        Error::new(ErrorKind::InvalidTokenError)
            .with_message(format!("the token's `{name}` is not a time"))
    };
    if let Some(n) = value.as_u64() {
        return Ok(n);
    }
    match value.as_f64() {
        Some(f) if (0.0..1e15).contains(&f) => Ok(f.floor() as u64),
        _ => Err(bad()),
    }
}

fn required<'a>(map: &'a Map<String, Value>, name: &'static str) -> Result<&'a Value, Error> {
    map.get(name).ok_or_else(|| {
        Error::new(ErrorKind::InvalidTokenError)
            .with_message(format!("the token has no `{name}` claim"))
    })
}

/// A subject: a non-empty string, or an integer (praetorian writes integer ids as numbers;
/// old jwt-extended apps with `JWT_VERIFY_SUB = False` did too), as its decimal string.
fn subject(value: &Value) -> Result<String, Error> {
    match value {
        Value::String(s) if !s.is_empty() && s.len() <= 255 => Ok(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        _ => Err(invalid("the token's subject is not a string or an integer")),
    }
}

fn role_list(value: Option<&Value>) -> Result<Vec<String>, Error> {
    let bad = || invalid("the token's roles are not a list of strings");
    let split = |s: &str| {
        s.split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(split(s)),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
            .collect(),
        Some(_) => Err(bad()),
    }
}

/// Claims a legacy token carries that are not handed on as custom claims.
const CONSUMED: &[&str] = &[
    "id", "rls", "rf_exp", "is_ert", "is_prt", "sub", "type", "fresh", "jti", "exp", "iat", "nbf",
    "iss", "aud", "csrf",
];

/// The claims of a legacy token whose signature verified with the secret, checked as
/// strictly as ours, for `purpose`. For the exchange, `exp` is the refresh deadline.
pub(super) fn claims(
    shape: Shape,
    mut map: Map<String, Value>,
    config: &LegacyConfig,
    purpose: Purpose,
    settings: &Settings,
    now: u64,
) -> Result<ClaimsData, Error> {
    let leeway = settings.leeway();
    let jti = match required(&map, "jti")? {
        Value::String(s) if !s.is_empty() && s.len() <= 255 => s.clone(),
        _ => return Err(invalid("the token's `jti` is not a string")),
    };
    let exp = seconds(required(&map, "exp")?, "exp")?;
    let iat = map.get("iat").map(|v| seconds(v, "iat")).transpose()?;
    let nbf = map.get("nbf").map(|v| seconds(v, "nbf")).transpose()?;
    if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(Error::new(ErrorKind::EarlyTokenError));
    }
    if iat.is_some_and(|iat| iat > now.saturating_add(leeway)) {
        return Err(Error::new(ErrorKind::EarlyTokenError)
            .with_message("the token was issued in the future"));
    }
    // PyJWT refuses an `aud` it was not asked for; so do we, unless it is ours.
    if let Some(aud) = map.get("aud") {
        let ours = settings.audience();
        let matches = match aud {
            Value::String(a) => Some(a.as_str()) == ours,
            Value::Array(list) => ours.is_some_and(|o| list.iter().any(|a| a.as_str() == Some(o))),
            _ => false,
        };
        if !matches {
            return Err(invalid("the token's audience is not accepted"));
        }
    }
    let iss = match map.get("iss") {
        None => None,
        Some(Value::String(s)) => {
            if settings.issuer().is_some_and(|ours| ours != s) {
                return Err(invalid("the token's issuer is not accepted"));
            }
            Some(s.clone())
        }
        Some(_) => return Err(invalid("the token's issuer is not a string")),
    };
    let expired_access = now >= exp.saturating_add(leeway);
    let (sub, roles, fresh, deadline) = match shape {
        Shape::Praetorian => {
            if map.contains_key("is_ert") {
                return Err(Error::new(ErrorKind::MisusedRegistrationToken));
            }
            if map.contains_key("is_prt") {
                return Err(Error::new(ErrorKind::MisusedResetToken));
            }
            let sub = subject(required(&map, "id")?)?;
            let rf_exp = seconds(required(&map, "rf_exp")?, "rf_exp")?;
            let roles = match map.get("rls") {
                None | Some(Value::String(_)) => role_list(map.get("rls"))?,
                Some(_) => return Err(invalid("the token's `rls` is not a string")),
            };
            match purpose {
                Purpose::Access if expired_access => {
                    return Err(Error::new(ErrorKind::ExpiredAccessError));
                }
                Purpose::Exchange if now >= rf_exp.saturating_add(leeway) => {
                    return Err(Error::new(ErrorKind::ExpiredRefreshError));
                }
                _ => {}
            }
            // praetorian has no freshness: never fresh here.
            (sub, roles, false, rf_exp)
        }
        Shape::JwtExtended => {
            let sub = subject(required(&map, "sub")?)?;
            let refresh = match required(&map, "type")? {
                Value::String(t) if t == "access" => false,
                Value::String(t) if t == "refresh" => true,
                _ => return Err(invalid("the token's `type` is not access or refresh")),
            };
            match (purpose, refresh) {
                (Purpose::Access, true) => {
                    return Err(Error::new(ErrorKind::MisusedRefreshToken));
                }
                (Purpose::Exchange, false) => {
                    return Err(Error::new(ErrorKind::MisusedAccessToken));
                }
                (Purpose::Access, false) if expired_access => {
                    return Err(Error::new(ErrorKind::ExpiredAccessError));
                }
                (Purpose::Exchange, true) if expired_access => {
                    return Err(Error::new(ErrorKind::ExpiredRefreshError));
                }
                _ => {}
            }
            let fresh = match map.get("fresh") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                // `fresh=timedelta`: fresh until that time.
                Some(v @ Value::Number(_)) => seconds(v, "fresh")? >= now,
                Some(_) => return Err(invalid("the token's `fresh` is not a boolean or a time")),
            };
            let roles = role_list(map.get(config.roles_claim.as_str()))?;
            map.remove(config.roles_claim.as_str());
            (sub, roles, fresh && purpose == Purpose::Access, exp)
        }
    };
    for name in CONSUMED {
        map.remove(*name);
    }
    // Our own reserved names cannot come through as custom claims.
    map.retain(|k, _| !super::claims::RESERVED_CLAIMS.contains(&k.as_str()));
    Ok(ClaimsData {
        sub,
        iat: iat.unwrap_or(0),
        iat_ms: None,
        nbf: nbf.unwrap_or(0),
        exp: match purpose {
            Purpose::Access => exp,
            Purpose::Exchange => deadline,
        },
        jti,
        kind: match purpose {
            Purpose::Access => TokenKind::Access,
            Purpose::Exchange => TokenKind::Refresh,
        },
        fresh: Some(fresh),
        roles: Some(roles),
        fam: None,
        generation: None,
        iss,
        aud: None,
        custom: map,
    })
}

/// The session id (refresh family) the exchange of the legacy token `jti` starts: fixed
/// by the `jti`, so presenting the spent token again ends exactly that session.
pub(crate) fn exchange_family(jti: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"centurion legacy session\0");
    hash.update(jti.as_bytes());
    let digest = hash.finalize();
    URL_SAFE_NO_PAD.encode(&digest[..16])
}
