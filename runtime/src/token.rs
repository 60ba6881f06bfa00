//! Token claims, issuing and strict verification.
//!
//! A token's payload always holds `sub`, `iat`, `nbf`, `exp`, `jti` (128 random bits),
//! `type` (`access`, `refresh`, `service`, `registration` or `reset`) and, by kind,
//! `fresh`, `roles` and `fam` (the refresh family). `iss` and `aud` appear when
//! configured. Custom claims sit beside them and may not reuse any of these names.
//!
//! Verification is deliberately narrow. In order, a token is refused when it is:
//! larger than the size limit; not three base64url parts without padding and with
//! canonical trailing bits; a header that is not a JSON object with a known, allowed `alg`,
//! or that carries `crit`, `jwk`, `jku`, `x5u`, `x5c` or `cty`, a `typ` other than `JWT`,
//! or duplicate keys; signed with a key it cannot name (unknown `kid`, or a key bound to a
//! different algorithm); badly signed; a payload that is not a JSON object with the
//! required claims of the right types (duplicates refused); of the wrong kind; expired;
//! not yet valid (`nbf`), or issued in the future (`iat`); missing the configured `iss`
//! or `aud`.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::config::Settings;
use crate::error::{Error, ErrorKind};
use crate::keys::{KeySet, algorithm_from_name};

/// Claim names centurion writes itself; custom claims may not use them.
pub const RESERVED_CLAIMS: &[&str] = &[
    "sub", "iat", "iat_ms", "nbf", "exp", "jti", "type", "fresh", "roles", "fam", "iss", "aud",
];

/// The kind of a token. Each kind is accepted only where it belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// A short-lived token that authenticates requests.
    Access,
    /// A single-use token that buys a new access + refresh pair.
    Refresh,
    /// A long-lived, revocable token for machine clients; accepted wherever an access
    /// token is, never fresh, never refreshable (praetorian's "eternal" tokens).
    Service,
    /// A single-use token that confirms a registration.
    Registration,
    /// A single-use token that resets a password.
    Reset,
}

impl TokenKind {
    /// The value of the `type` claim.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
            TokenKind::Service => "service",
            TokenKind::Registration => "registration",
            TokenKind::Reset => "reset",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "access" => TokenKind::Access,
            "refresh" => TokenKind::Refresh,
            "service" => TokenKind::Service,
            "registration" => TokenKind::Registration,
            "reset" => TokenKind::Reset,
            _ => return None,
        })
    }

    /// Whether a token of this kind authenticates ordinary requests.
    pub(crate) fn authenticates(self) -> bool {
        matches!(self, TokenKind::Access | TokenKind::Service)
    }
}

/// The claims of a verified token.
///
/// It is also an axum extractor (see [`crate::extract`]): a handler that takes `Claims`
/// requires a valid access token. Cloning is cheap (one reference count).
///
/// ```
/// # async fn demo() -> Result<(), centurion::Error> {
/// # use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
/// let auth = Centurion::<TestUser>::builder()
///     .secret("an-example-secret-of-at-least-32-bytes!!")
///     .user_store(MemoryUserStore::new())
///     .build()?;
/// let user = TestUser::new(7, "ada", &["admin"]);
/// let pair = auth.issue_pair(&user).await?;
/// let claims = auth.verify_access(&pair.access_token).await?;
/// assert_eq!(claims.subject(), "7");
/// assert!(claims.has_role("admin"));
/// assert!(claims.is_fresh());
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Clone)]
pub struct Claims {
    inner: Arc<ClaimsData>,
}

#[derive(Clone, Serialize)]
pub(crate) struct ClaimsData {
    pub(crate) sub: String,
    pub(crate) iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) iat_ms: Option<u64>,
    pub(crate) nbf: u64,
    pub(crate) exp: u64,
    pub(crate) jti: String,
    #[serde(rename = "type", serialize_with = "ser_kind")]
    pub(crate) kind: TokenKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fresh: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) roles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fam: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) aud: Option<Audience>,
    #[serde(flatten)]
    pub(crate) custom: Map<String, Value>,
}

fn ser_kind<S: serde::Serializer>(kind: &TokenKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.as_str())
}

/// `aud` may be one string or a list of strings (RFC 7519 §4.1.3).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub(crate) enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, aud: &str) -> bool {
        match self {
            Audience::One(a) => a == aud,
            Audience::Many(list) => list.iter().any(|a| a == aud),
        }
    }
}

impl Claims {
    pub(crate) fn from_data(data: ClaimsData) -> Self {
        Self {
            inner: Arc::new(data),
        }
    }

    pub(crate) fn data(&self) -> &ClaimsData {
        &self.inner
    }

    /// The `sub` claim: the user's [`AuthUser::id`](crate::AuthUser::id).
    pub fn subject(&self) -> &str {
        &self.inner.sub
    }

    /// The role names the token carries (empty for non-access kinds).
    pub fn roles(&self) -> &[String] {
        self.inner.roles.as_deref().unwrap_or(&[])
    }

    /// Whether the token carries `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles().iter().any(|r| r == role)
    }

    /// Whether this is a fresh access token (issued by a login, not by a refresh).
    pub fn is_fresh(&self) -> bool {
        self.inner.fresh == Some(true)
    }

    /// The token's kind.
    pub fn kind(&self) -> TokenKind {
        self.inner.kind
    }

    /// The token's unique id (`jti`).
    pub fn jti(&self) -> &str {
        &self.inner.jti
    }

    /// The refresh family (`fam`) of access and refresh tokens.
    pub fn family(&self) -> Option<&str> {
        self.inner.fam.as_deref()
    }

    /// `iat`, seconds since the Unix epoch.
    pub fn issued_at(&self) -> u64 {
        self.inner.iat
    }

    /// `exp`, seconds since the Unix epoch.
    pub fn expires_at(&self) -> u64 {
        self.inner.exp
    }

    /// `iss`, if present.
    pub fn issuer(&self) -> Option<&str> {
        self.inner.iss.as_deref()
    }

    /// One custom claim, if present.
    pub fn custom(&self, name: &str) -> Option<&Value> {
        self.inner.custom.get(name)
    }

    /// Every custom claim, deserialized into `T` (a struct with the claims as fields).
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// # use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// # let auth = Centurion::<TestUser>::builder()
    /// #     .secret("an-example-secret-of-at-least-32-bytes!!")
    /// #     .user_store(MemoryUserStore::new()).build()?;
    /// # let user = TestUser::new(7, "ada", &[]);
    /// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    /// struct Tenant { tenant: String }
    /// let pair = auth.issue_pair_with(&user, &Tenant { tenant: "acme".into() }).await?;
    /// let claims = auth.verify_access(&pair.access_token).await?;
    /// assert_eq!(claims.custom_claims::<Tenant>()?, Tenant { tenant: "acme".into() });
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn custom_claims<T: DeserializeOwned>(&self) -> Result<T, Error> {
        T::deserialize(&Value::Object(self.inner.custom.clone())).map_err(|e| {
            Error::new(ErrorKind::InvalidToken)
                .with_message(format!("custom claims do not fit: {e}"))
        })
    }

    pub(crate) fn custom_map(&self) -> &Map<String, Value> {
        &self.inner.custom
    }

    pub(crate) fn issued_at_ms(&self) -> u64 {
        self.inner
            .iat_ms
            .unwrap_or(self.inner.iat.saturating_mul(1000))
    }
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.inner;
        f.debug_struct("Claims")
            .field("sub", &d.sub)
            .field("type", &d.kind)
            .field("roles", &self.roles())
            .field("fresh", &self.is_fresh())
            .field("iat", &d.iat)
            .field("exp", &d.exp)
            .field("custom", &d.custom.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------
// Strict decoding of header and payload.

fn invalid(message: &'static str) -> Error {
    Error::new(ErrorKind::InvalidToken).with_message(message)
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

fn b64(part: &str) -> Result<Vec<u8>, Error> {
    // The standard engine refuses padding and non-canonical trailing bits.
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| invalid("the token is not valid base64url"))
}

struct ClaimsVisitor;

fn dup<E: de::Error>(name: &str) -> E {
    E::custom(format_args!("duplicate claim `{name}`"))
}

impl<'de> Visitor<'de> for ClaimsVisitor {
    type Value = ClaimsData;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ClaimsData, A::Error> {
        let mut sub = None;
        let mut iat = None;
        let mut iat_ms = None;
        let mut nbf = None;
        let mut exp = None;
        let mut jti = None;
        let mut kind = None;
        let mut fresh = None;
        let mut roles = None;
        let mut fam = None;
        let mut iss = None;
        let mut aud = None;
        let mut custom = Map::new();
        macro_rules! set {
            ($slot:ident, $name:literal, $ty:ty) => {{
                if $slot.is_some() {
                    return Err(dup($name));
                }
                $slot = Some(map.next_value::<$ty>()?);
            }};
        }
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "sub" => set!(sub, "sub", String),
                "iat" => set!(iat, "iat", u64),
                "iat_ms" => set!(iat_ms, "iat_ms", u64),
                "nbf" => set!(nbf, "nbf", u64),
                "exp" => set!(exp, "exp", u64),
                "jti" => set!(jti, "jti", String),
                "type" => {
                    if kind.is_some() {
                        return Err(dup("type"));
                    }
                    let s = map.next_value::<std::borrow::Cow<'de, str>>()?;
                    kind = Some(
                        TokenKind::parse(&s)
                            .ok_or_else(|| de::Error::custom("unknown token type"))?,
                    );
                }
                "fresh" => set!(fresh, "fresh", bool),
                "roles" => set!(roles, "roles", Vec<String>),
                "fam" => set!(fam, "fam", String),
                "iss" => set!(iss, "iss", String),
                "aud" => set!(aud, "aud", Audience),
                other => {
                    let value = map.next_value::<Value>()?;
                    if custom.insert(other.to_owned(), value).is_some() {
                        return Err(dup(other));
                    }
                }
            }
        }
        let missing = |name: &'static str| de::Error::missing_field(name);
        Ok(ClaimsData {
            sub: sub.ok_or_else(|| missing("sub"))?,
            iat: iat.ok_or_else(|| missing("iat"))?,
            iat_ms,
            nbf: nbf.ok_or_else(|| missing("nbf"))?,
            exp: exp.ok_or_else(|| missing("exp"))?,
            jti: jti.ok_or_else(|| missing("jti"))?,
            kind: kind.ok_or_else(|| missing("type"))?,
            fresh,
            roles,
            fam,
            iss,
            aud,
            custom,
        })
    }
}

impl<'de> Deserialize<'de> for ClaimsData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ClaimsVisitor)
    }
}

/// What a verification expects, and the clock to check against.
pub(crate) struct Expect {
    pub(crate) kind: ExpectKind,
    pub(crate) now: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ExpectKind {
    /// Access or service token.
    Authenticating,
    Exactly(TokenKind),
}

fn misuse_error(expected: ExpectKind, got: TokenKind) -> Error {
    let kind = match got {
        TokenKind::Refresh => ErrorKind::MisusedRefreshToken,
        TokenKind::Registration => ErrorKind::MisusedRegistrationToken,
        TokenKind::Reset => ErrorKind::MisusedResetToken,
        TokenKind::Access | TokenKind::Service => match expected {
            ExpectKind::Exactly(TokenKind::Refresh) => ErrorKind::MisusedAccessToken,
            _ => ErrorKind::InvalidToken,
        },
    };
    let err = Error::new(kind);
    if kind == ErrorKind::InvalidToken {
        err.with_message("this kind of token cannot be used here")
    } else {
        err
    }
}

/// Verifies signature and claims; revocation is checked by the caller.
pub(crate) fn verify(
    token: &str,
    keys: &KeySet,
    settings: &Settings,
    expect: &Expect,
) -> Result<ClaimsData, Error> {
    if token.len() > settings.max_token_bytes() {
        return Err(Error::new(ErrorKind::TokenTooLarge));
    }
    let mut parts = token.splitn(4, '.');
    let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("a token has three dot-separated parts"));
    };
    if header_b64.is_empty() || payload_b64.is_empty() || sig_b64.is_empty() {
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
    if header.jwk.is_some() || header.jku.is_some() || header.x5u.is_some() || header.x5c.is_some()
    {
        return Err(invalid(
            "keys embedded in or linked from the token header are never trusted",
        ));
    }
    if header.cty.is_some() || header.b64.is_some() {
        return Err(invalid("nested or unencoded tokens are not accepted"));
    }
    if header
        .typ
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("JWT"))
    {
        return Err(invalid("the token header's `typ` is not JWT"));
    }
    let alg: Algorithm = algorithm_from_name(&header.alg)
        .ok_or_else(|| invalid("the token's algorithm is not accepted"))?;
    let key = keys
        .select(alg, header.kid.as_deref())
        .ok_or_else(|| invalid("the token's algorithm or key id is not accepted"))?;

    let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
    let valid = jsonwebtoken::crypto::verify(sig_b64, signed.as_bytes(), &key.key, alg)
        .map_err(|_| invalid("the token signature is malformed"))?;
    if !valid {
        return Err(invalid("the token signature does not verify"));
    }

    let payload = b64(payload_b64)?;
    let claims: ClaimsData =
        serde_json::from_slice(&payload).map_err(|_| invalid("the token claims are malformed"))?;

    let kind_ok = match expect.kind {
        ExpectKind::Authenticating => claims.kind.authenticates(),
        ExpectKind::Exactly(kind) => claims.kind == kind,
    };
    if !kind_ok {
        return Err(misuse_error(expect.kind, claims.kind));
    }

    check_times(&claims, settings.leeway(), expect.now)?;
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
    Ok(claims)
}

/// The time claims against `now`: expired, not yet valid, issued in the future. Run at
/// verification and again whenever a remembered verification is reused.
pub(crate) fn check_times(claims: &ClaimsData, leeway: u64, now: u64) -> Result<(), Error> {
    if now >= claims.exp.saturating_add(leeway) {
        return Err(Error::new(match claims.kind {
            TokenKind::Access | TokenKind::Service => ErrorKind::ExpiredAccessError,
            TokenKind::Refresh => ErrorKind::ExpiredRefreshError,
            TokenKind::Registration | TokenKind::Reset => ErrorKind::ExpiredToken,
        }));
    }
    if claims.nbf > now.saturating_add(leeway) {
        return Err(Error::new(ErrorKind::EarlyToken));
    }
    if claims.iat > now.saturating_add(leeway) {
        return Err(
            Error::new(ErrorKind::EarlyToken).with_message("the token was issued in the future")
        );
    }
    Ok(())
}

/// Random 128-bit identifier, base64url.
pub(crate) fn random_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| {
        Error::new(ErrorKind::InternalError).with_message("the system random source failed")
    })?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Refuses custom claims that are not an object or that reuse reserved names.
pub(crate) fn custom_map<T: Serialize + ?Sized>(custom: &T) -> Result<Map<String, Value>, Error> {
    let value = serde_json::to_value(custom).map_err(|e| {
        Error::new(ErrorKind::ClaimCollisionError)
            .with_message(format!("custom claims do not serialize: {e}"))
    })?;
    let map = match value {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        _ => {
            return Err(Error::new(ErrorKind::ClaimCollisionError)
                .with_message("custom claims must serialize to a JSON object"));
        }
    };
    if let Some(name) = map.keys().find(|k| RESERVED_CLAIMS.contains(&k.as_str())) {
        return Err(
            Error::new(ErrorKind::ClaimCollisionError).with_message(format!(
                "the custom claim `{name}` collides with a reserved claim"
            )),
        );
    }
    Ok(map)
}

/// Signs claims with the configured signing key.
pub(crate) fn encode(keys: &KeySet, claims: &ClaimsData) -> Result<String, Error> {
    let mut header = jsonwebtoken::Header::new(keys.signing.alg);
    header.kid = keys.signing.kid.clone();
    jsonwebtoken::encode(&header, claims, &keys.signing.key).map_err(|e| {
        Error::new(ErrorKind::InternalError).with_message(format!("signing failed: {e}"))
    })
}
