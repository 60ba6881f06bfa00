//! Tokens of identity providers: the rules of one provider ([`ProviderRules`]), checked on
//! a token before any key is chosen, and the [`Claims`] a token that passes maps to.
//!
//! The token has already been split and its header checked by [`Compact::parse`], the
//! same strict decoding the instance's own tokens go through. Here: the header's `typ` and
//! `alg` against the provider's lists (never `HS*`, never `none`), then the payload, parsed
//! strictly (a JSON object, no name twice at any depth), then its claims: `iss` exactly the
//! provider's, `sub` a non-empty string, `aud` holding one of the configured audiences,
//! `exp` required and `nbf`/`iat` not in the future (each with the provider's leeway), the
//! required claims present. Checking the claims first means a token that would be refused
//! anyway never makes the key set be fetched again.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserializer;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};

use super::claims::{Audience, Claims, ClaimsData, ProviderOrigin, TokenKind, external_key};
use super::keys::{algorithm_in_header, algorithm_name};
use super::verify::{Compact, invalid};
use crate::config::{IdentityProviderConfig, MAX_PROVIDER_LEEWAY};
use crate::error::{Error, ErrorKind};

/// The algorithms a provider may be configured with.
const PROVIDER_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// A `typ` value in the form the configured list is kept in: lowercase, without
/// `application/`.
fn normalized_typ(typ: &str) -> String {
    let lower = typ.to_ascii_lowercase();
    // RFC 7515 §4.1.9: `application/` may be left out of a media type in `typ`.
    match lower.strip_prefix("application/") {
        Some(rest) => rest.to_owned(),
        None => lower,
    }
}

/// Where the roles are in a token and how their names become the application's.
struct RoleMapping {
    /// The configured path, also tried as one claim name.
    path: String,
    segments: Vec<String>,
    prefix: Option<String>,
    renames: BTreeMap<String, String>,
}

impl RoleMapping {
    fn roles(&self, claims: &Map<String, Value>) -> Vec<String> {
        let found = claims.get(&self.path).or_else(|| {
            let (first, rest) = self.segments.split_first()?;
            rest.iter()
                .try_fold(claims.get(first)?, |value, segment| value.get(segment))
        });
        let names: Vec<&str> = match found {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            Some(Value::String(text)) => text.split_whitespace().collect(),
            _ => Vec::new(),
        };
        let mut roles: Vec<String> = Vec::with_capacity(names.len());
        for name in names {
            let name = match &self.prefix {
                Some(prefix) => match name.strip_prefix(prefix.as_str()) {
                    Some(rest) if !rest.is_empty() => rest,
                    _ => continue,
                },
                None => name,
            };
            let name = self.renames.get(name).map_or(name, String::as_str);
            if !roles.iter().any(|r| r == name) {
                roles.push(name.to_owned());
            }
        }
        roles
    }
}

/// What one provider's tokens must be, from its [`IdentityProviderConfig`].
pub(crate) struct ProviderRules {
    issuer: String,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    /// Accepted `typ` values, lowercase, without `application/`.
    token_types: Vec<String>,
    leeway: u64,
    required: Vec<String>,
    roles: RoleMapping,
    /// The longest `exp - iat` accepted, in seconds: the instance remembers a revocation of
    /// a provider's user for its longest token lifetime, so no longer-lived token may pass.
    max_lifetime: u64,
}

impl fmt::Debug for ProviderRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderRules")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

/// A configuration error about the provider `issuer`.
fn config_error(issuer: &str, message: impl fmt::Display) -> Error {
    Error::config(format!("identity provider `{issuer}`: {message}"))
}

impl ProviderRules {
    /// Checks `config` (all but its URLs, which the fetching side checks) and keeps what
    /// verification needs.
    pub(crate) fn from_config(config: &IdentityProviderConfig) -> Result<Self, Error> {
        let issuer = config.issuer.as_str();
        if issuer.trim().is_empty() {
            return Err(Error::config(
                "an identity provider has no `issuer`; set the issuer URL its tokens carry in `iss`",
            ));
        }
        if issuer.contains('#') || issuer.contains('?') {
            return Err(config_error(
                issuer,
                "an issuer identifier has no query or fragment (`?`, `#`)",
            ));
        }
        if config.audiences.is_empty() || config.audiences.iter().any(|a| a.trim().is_empty()) {
            return Err(config_error(
                issuer,
                "set `audiences`: the `aud` this API's tokens carry (a provider issues tokens for many APIs)",
            ));
        }
        if config.algorithms.is_empty() {
            return Err(config_error(
                issuer,
                "`algorithms` is empty; leave it out for the default list",
            ));
        }
        let mut algorithms = Vec::new();
        for name in &config.algorithms {
            match algorithm_in_header(name.trim()) {
                Some(alg) if PROVIDER_ALGORITHMS.contains(&alg) => {
                    if !algorithms.contains(&alg) {
                        algorithms.push(alg);
                    }
                }
                Some(Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) => {
                    return Err(config_error(
                        issuer,
                        format!(
                            "`{name}` is an HMAC algorithm; a provider's tokens are verified with its public keys only"
                        ),
                    ));
                }
                _ => {
                    let known: Vec<&str> = PROVIDER_ALGORITHMS
                        .iter()
                        .map(|a| algorithm_name(*a))
                        .collect();
                    return Err(config_error(
                        issuer,
                        format!(
                            "unknown algorithm `{name}`; use some of {}",
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        if config.token_types.is_empty() || config.token_types.iter().any(|t| t.trim().is_empty()) {
            return Err(config_error(
                issuer,
                "`token_types` must list the accepted `typ` values, e.g. [\"at+jwt\", \"JWT\"]",
            ));
        }
        if config.leeway > MAX_PROVIDER_LEEWAY {
            return Err(config_error(
                issuer,
                format!(
                    "a leeway of {} is more than the 60 s allowed",
                    humantime::format_duration(config.leeway)
                ),
            ));
        }
        let path = config.roles_claim.trim();
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(config_error(
                issuer,
                format!(
                    "`roles_claim` `{}` must be a claim name or a dotted path such as `realm_access.roles`",
                    config.roles_claim
                ),
            ));
        }
        if config.role_prefix.as_deref().is_some_and(str::is_empty) {
            return Err(config_error(
                issuer,
                "`role_prefix` is empty; remove it or set the prefix",
            ));
        }
        Ok(Self {
            issuer: config.issuer.clone(),
            audiences: config.audiences.clone(),
            algorithms,
            token_types: config
                .token_types
                .iter()
                .map(|t| normalized_typ(t.trim()))
                .collect(),
            leeway: config.leeway.as_secs(),
            required: config.required_claims.clone(),
            roles: RoleMapping {
                path: path.to_owned(),
                segments: path.split('.').map(str::to_owned).collect(),
                prefix: config.role_prefix.clone(),
                renames: config.role_names.clone(),
            },
            max_lifetime: u64::MAX,
        })
    }

    /// Refuses tokens that live longer than `seconds` from their `iat` to their `exp`.
    pub(crate) fn with_max_lifetime(mut self, seconds: u64) -> Self {
        self.max_lifetime = seconds;
        self
    }

    /// The issuer its tokens carry.
    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The tolerated clock skew, in seconds.
    pub(crate) fn leeway(&self) -> u64 {
        self.leeway
    }

    /// The accepted algorithms.
    pub(crate) fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// Checks everything about `token` that needs no key: the header's `typ` and `alg`,
    /// then the payload and its claims against `now` (seconds).
    pub(crate) fn check(&self, token: &Compact<'_>, now: u64) -> Result<Checked, Error> {
        let typ_ok = match token.typ() {
            Some(typ) => self.token_types.contains(&normalized_typ(typ)),
            None => self.token_types.iter().any(|t| t == "jwt"),
        };
        if !typ_ok {
            return Err(invalid(
                "the token header's `typ` is not one this provider's tokens carry",
            ));
        }
        if !self.algorithms.contains(&token.alg()) {
            return Err(invalid("the token's algorithm is not accepted"));
        }
        let payload = token.payload()?;
        let claims =
            strict_object(payload).map_err(|_| invalid("the token claims are malformed"))?;
        self.check_claims(claims, token, now)
    }

    fn check_claims(
        &self,
        claims: Map<String, Value>,
        token: &Compact<'_>,
        now: u64,
    ) -> Result<Checked, Error> {
        let malformed = |name: &str| {
            Error::new(ErrorKind::InvalidTokenError).with_message(format!(
                "the token's `{name}` claim is missing or malformed"
            ))
        };
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(invalid("the token's issuer is not accepted"));
        }
        let sub = match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            _ => return Err(malformed("sub")),
        };
        let aud = match claims.get("aud") {
            Some(Value::String(one)) => Audience::One(one.clone()),
            Some(Value::Array(items)) => Audience::Many(
                items
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| malformed("aud"))?,
            ),
            _ => return Err(malformed("aud")),
        };
        if !self.audiences.iter().any(|a| aud.contains(a)) {
            return Err(invalid("the token's audience is not accepted"));
        }
        let exp = numeric_date(&claims, "exp")?.ok_or_else(|| malformed("exp"))?;
        let nbf = numeric_date(&claims, "nbf")?;
        // `iat` is required (RFC 9068 2.2; OpenID Connect Core 2): a revocation of the
        // provider's user is judged by it and remembered only for the instance's longest
        // token lifetime, so a token must say when it was issued and not live longer.
        let iat = numeric_date(&claims, "iat")?.ok_or_else(|| malformed("iat"))?;
        if exp.saturating_sub(iat) > self.max_lifetime {
            return Err(
                Error::new(ErrorKind::InvalidTokenError).with_message(format!(
                    "the token lives longer than this instance accepts ({} s from `iat` to `exp`)",
                    self.max_lifetime
                )),
            );
        }
        if now >= exp.saturating_add(self.leeway) {
            return Err(Error::new(ErrorKind::ExpiredAccessError));
        }
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(self.leeway)) {
            return Err(Error::new(ErrorKind::EarlyTokenError));
        }
        if iat > now.saturating_add(self.leeway) {
            return Err(Error::new(ErrorKind::EarlyTokenError)
                .with_message("the token was issued in the future"));
        }
        let jti = match claims.get("jti") {
            Some(Value::String(jti)) if !jti.is_empty() => jti.clone(),
            None => synthetic_jti(token),
            Some(_) => return Err(malformed("jti")),
        };
        if let Some(name) = self
            .required
            .iter()
            .find(|name| claims.get(name.as_str()).is_none_or(Value::is_null))
        {
            return Err(Error::new(ErrorKind::InvalidTokenError)
                .with_message(format!("the token lacks the required claim `{name}`")));
        }
        let scopes = scopes(&claims).ok_or_else(|| malformed("scope"))?;
        let roles = self.roles.roles(&claims);
        Ok(Checked {
            data: ClaimsData {
                sub,
                iat,
                iat_ms: None,
                nbf: nbf.unwrap_or(0),
                exp,
                jti,
                kind: TokenKind::Access,
                fresh: None,
                roles: Some(roles),
                fam: None,
                generation: None,
                iss: Some(self.issuer.clone()),
                aud: Some(aud),
                custom: claims,
            },
            scopes,
            leeway: self.leeway,
        })
    }
}

/// A provider's token whose claims passed every check; its signature is still to verify.
pub(crate) struct Checked {
    data: ClaimsData,
    scopes: Vec<String>,
    leeway: u64,
}

impl Checked {
    /// The claims of the token, once its signature verified with the key of thumbprint
    /// `key` of the provider at position `provider`.
    pub(crate) fn into_claims(self, provider: usize, key: Arc<str>) -> Claims {
        let issuer = self.data.iss.as_deref().unwrap_or_default();
        let jti_key = external_key(issuer, &self.data.jti);
        let subject_key = external_key(issuer, &self.data.sub);
        Claims::from_provider(
            self.data,
            ProviderOrigin {
                provider,
                key,
                leeway: self.leeway,
                scopes: self.scopes,
                jti_key,
                subject_key,
            },
        )
    }
}

/// The `jti` of a provider's token without one: `sha256:` and the base64url SHA-256 of its
/// header and payload, so that revoking it by `jti` works, also for a copy of the token
/// whose (ECDSA) signature was re-encoded.
fn synthetic_jti(token: &Compact<'_>) -> String {
    let digest = Sha256::digest(token.signed().as_bytes());
    format!("sha256:{}", URL_SAFE_NO_PAD.encode(digest))
}

/// A NumericDate claim (RFC 7519 §2): a non-negative number of seconds, fractions dropped.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, Error> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let secs = match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                // Saturates at u64::MAX; the fraction is dropped on purpose.
                .map(|f| f as u64)
        }),
        _ => None,
    };
    secs.map(Some).ok_or_else(|| {
        Error::new(ErrorKind::InvalidTokenError)
            .with_message(format!("the token's `{name}` claim is malformed"))
    })
}

/// `scope` (space-separated) then `scp` (space-separated or a list), in order, without
/// repeats; `None` when either is of another type.
fn scopes(claims: &Map<String, Value>) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !out.iter().any(|s| s == name) {
            out.push(name.to_owned());
        }
    };
    match claims.get("scope") {
        None => {}
        Some(Value::String(text)) => text.split_whitespace().for_each(&mut add),
        Some(_) => return None,
    }
    match claims.get("scp") {
        None => {}
        Some(Value::String(text)) => text.split_whitespace().for_each(&mut add),
        Some(Value::Array(items)) => {
            for item in items {
                add(item.as_str()?);
            }
        }
        Some(_) => return None,
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------
// A JSON object with no name twice at any depth.

/// Parses `bytes` as one JSON object in which no object, at any depth, names a member
/// twice (serde_json's `Value` keeps the last of two), within serde_json's nesting limit.
fn strict_object(bytes: &[u8]) -> Result<Map<String, Value>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue.deserialize(&mut de)?;
    de.end()?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(de::Error::custom("the payload is not a JSON object")),
    }
}

struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number out of range"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(StrictValue)?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate name `{key}`")));
            }
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(edit: impl FnOnce(&mut IdentityProviderConfig)) -> Result<ProviderRules, Error> {
        let mut config = IdentityProviderConfig::discover("https://idp.example", "api");
        edit(&mut config);
        ProviderRules::from_config(&config)
    }

    #[test]
    fn duplicates_are_refused_at_every_depth() {
        assert!(strict_object(br#"{"a":1,"b":{"c":[{"d":1}]}}"#).is_ok());
        assert!(strict_object(br#"{"a":1,"a":2}"#).is_err());
        assert!(strict_object(br#"{"a":{"r":1,"r":1}}"#).is_err());
        assert!(strict_object(br#"{"a":[{"r":1,"\u0072":1}]}"#).is_err());
        assert!(strict_object(br#"[1]"#).is_err());
        assert!(strict_object(br#"{"a":1} {}"#).is_err());
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        assert!(strict_object(deep.as_bytes()).is_err());
    }

    #[test]
    fn roles_come_from_a_path_with_prefix_and_renames() {
        let claims = |json: Value| json.as_object().unwrap().clone();
        let mapping = |path: &str, prefix: Option<&str>, renames: &[(&str, &str)]| RoleMapping {
            path: path.to_owned(),
            segments: path.split('.').map(str::to_owned).collect(),
            prefix: prefix.map(str::to_owned),
            renames: renames
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        };
        let token = claims(serde_json::json!({
            "roles": ["admin", "admin", 7, "editor"],
            "realm_access": {"roles": ["ROLE_admin", "user", "ROLE_"]},
            "resource_access": {"my-api": {"roles": ["Writers"]}},
            "cognito:groups": ["a"],
            "scope": "x y",
            "https://example.com/roles": ["owner"],
        }));
        assert_eq!(
            mapping("roles", None, &[]).roles(&token),
            ["admin", "editor"]
        );
        assert_eq!(
            mapping("realm_access.roles", Some("ROLE_"), &[]).roles(&token),
            ["admin"]
        );
        assert_eq!(
            mapping(
                "resource_access.my-api.roles",
                None,
                &[("Writers", "author")]
            )
            .roles(&token),
            ["author"]
        );
        assert_eq!(mapping("cognito:groups", None, &[]).roles(&token), ["a"]);
        assert_eq!(mapping("scope", None, &[]).roles(&token), ["x", "y"]);
        assert_eq!(
            mapping("https://example.com/roles", None, &[]).roles(&token),
            ["owner"]
        );
        assert!(mapping("missing.path", None, &[]).roles(&token).is_empty());
        assert!(mapping("realm_access", None, &[]).roles(&token).is_empty());
    }

    #[test]
    fn scopes_come_from_scope_and_scp() {
        let of = |json: Value| scopes(json.as_object().unwrap());
        assert_eq!(
            of(serde_json::json!({"scope": "a b  a"})).unwrap(),
            ["a", "b"]
        );
        assert_eq!(
            of(serde_json::json!({"scp": ["c", "d"]})).unwrap(),
            ["c", "d"]
        );
        assert_eq!(of(serde_json::json!({"scp": "e f"})).unwrap(), ["e", "f"]);
        assert!(of(serde_json::json!({})).unwrap().is_empty());
        assert!(of(serde_json::json!({"scope": ["a"]})).is_none());
        assert!(of(serde_json::json!({"scp": [1]})).is_none());
    }

    #[test]
    fn configuration_mistakes_are_refused() {
        assert!(rules(|_| {}).is_ok());
        assert!(rules(|c| c.audiences.clear()).is_err());
        assert!(rules(|c| c.issuer = " ".into()).is_err());
        assert!(rules(|c| c.issuer = "https://idp.example/#x".into()).is_err());
        assert!(rules(|c| c.algorithms = vec!["HS256".into()]).is_err());
        assert!(rules(|c| c.algorithms = vec!["none".into()]).is_err());
        assert!(rules(|c| c.algorithms = vec!["ES512".into()]).is_err());
        assert!(rules(|c| c.algorithms = vec!["ES384".into()]).is_ok());
        assert!(rules(|c| c.leeway = std::time::Duration::from_secs(61)).is_err());
        assert!(rules(|c| c.leeway = std::time::Duration::from_secs(60)).is_ok());
        assert!(rules(|c| c.roles_claim = "a..b".into()).is_err());
        assert!(rules(|c| c.token_types.clear()).is_err());
    }

    #[test]
    fn typ_is_compared_without_case_and_application_prefix() {
        assert_eq!(normalized_typ("application/AT+JWT"), "at+jwt");
        assert_eq!(normalized_typ("JWT"), "jwt");
    }

    #[test]
    fn numeric_dates_accept_integers_and_fractions_only() {
        let of = |json: Value| numeric_date(json.as_object().unwrap(), "exp");
        assert_eq!(of(serde_json::json!({"exp": 10})).unwrap(), Some(10));
        assert_eq!(of(serde_json::json!({"exp": 10.9})).unwrap(), Some(10));
        assert_eq!(of(serde_json::json!({})).unwrap(), None);
        assert!(of(serde_json::json!({"exp": -1})).is_err());
        assert!(of(serde_json::json!({"exp": "10"})).is_err());
    }
}
