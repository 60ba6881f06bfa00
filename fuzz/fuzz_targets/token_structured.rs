//! Structure-aware token mutations: start from a token centurion issued, split it on
//! `.`, edit the header and payload JSON (set, remove, duplicate or escape members, shift
//! times, replace whole texts), re-encode, re-sign with the instance's key through
//! `centurion::dangerous::sign_raw` (or keep, strip, flip or replace the signature), then
//! present it where a token of some kind is expected.
//!
//! The oracle is independent of the verifier: whenever a token is accepted, the target
//! re-checks it with its own rules (strict base64url, a duplicate-free JSON object header
//! naming HS256 and no key or nesting parameters, an HS256 signature verified with
//! jsonwebtoken directly, a duplicate-free payload with the required claims of the right
//! types, the right kind, inside its validity window) and compares what the verifier
//! returned with what the payload says. And the other way: a token changed only in
//! custom claims must still be accepted, so the harness cannot pass by refusing all.

#![no_main]

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use arbitrary::Arbitrary;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use centurion::testing::TestUser;
use centurion::{Centurion, Claims, RESERVED_CLAIMS};
use jsonwebtoken::{Algorithm, DecodingKey};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// A JSON value; objects may repeat names, numbers may be anything.
#[derive(Arbitrary, Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Int(i) => write!(out, "{i}").unwrap(),
            J::UInt(u) => write!(out, "{u}").unwrap(),
            J::Float(f) => out.push_str(&serde_json::to_string(f).unwrap()),
            J::Str(s) => out.push_str(&serde_json::to_string(s).unwrap()),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            J::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(k).unwrap());
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn depth(&self) -> usize {
        match self {
            J::Arr(items) => 1 + items.iter().map(J::depth).max().unwrap_or(0),
            J::Obj(members) => 1 + members.iter().map(|(_, v)| v.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// Whether the value has an object that repeats a name (refused as a custom claim?
    /// no: nested duplicates are kept by serde_json's map, last one wins, so such a value
    /// does not round-trip; the completeness check skips them).
    fn has_nested_duplicates(&self) -> bool {
        match self {
            J::Arr(items) => items.iter().any(J::has_nested_duplicates),
            J::Obj(members) => {
                let mut seen = std::collections::HashSet::new();
                members.iter().any(|(k, _)| !seen.insert(k.as_str()))
                    || members.iter().any(|(_, v)| v.has_nested_duplicates())
            }
            _ => false,
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
enum Claim {
    Sub,
    Iat,
    IatMs,
    Nbf,
    Exp,
    Jti,
    Type,
    Fresh,
    Roles,
    Fam,
    Iss,
    Aud,
    Custom(String),
}

impl Claim {
    fn name(&self) -> &str {
        match self {
            Claim::Sub => "sub",
            Claim::Iat => "iat",
            Claim::IatMs => "iat_ms",
            Claim::Nbf => "nbf",
            Claim::Exp => "exp",
            Claim::Jti => "jti",
            Claim::Type => "type",
            Claim::Fresh => "fresh",
            Claim::Roles => "roles",
            Claim::Fam => "fam",
            Claim::Iss => "iss",
            Claim::Aud => "aud",
            Claim::Custom(name) => name,
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
enum Param {
    Alg,
    Typ,
    Kid,
    Crit,
    Jwk,
    Jku,
    X5u,
    X5c,
    X5t,
    Cty,
    B64,
    Other(String),
}

impl Param {
    fn name(&self) -> &str {
        match self {
            Param::Alg => "alg",
            Param::Typ => "typ",
            Param::Kid => "kid",
            Param::Crit => "crit",
            Param::Jwk => "jwk",
            Param::Jku => "jku",
            Param::X5u => "x5u",
            Param::X5c => "x5c",
            Param::X5t => "x5t",
            Param::Cty => "cty",
            Param::B64 => "b64",
            Param::Other(name) => name,
        }
    }
}

/// Interesting string values for `alg`, `typ`, `type` and the like.
#[derive(Arbitrary, Debug, Clone)]
enum Word {
    Hs256,
    Hs384,
    Hs512,
    Rs256,
    Es256,
    EdDsa,
    None,
    NoneMixed,
    Jwt,
    JwtLower,
    Access,
    Refresh,
    Service,
    Registration,
    Reset,
    Any(String),
}

impl Word {
    fn text(&self) -> String {
        let s = match self {
            Word::Hs256 => "HS256",
            Word::Hs384 => "HS384",
            Word::Hs512 => "HS512",
            Word::Rs256 => "RS256",
            Word::Es256 => "ES256",
            Word::EdDsa => "EdDSA",
            Word::None => "none",
            Word::NoneMixed => "nOnE",
            Word::Jwt => "JWT",
            Word::JwtLower => "jwt",
            Word::Access => "access",
            Word::Refresh => "refresh",
            Word::Service => "service",
            Word::Registration => "registration",
            Word::Reset => "reset",
            Word::Any(s) => s,
        };
        serde_json::to_string(s).unwrap()
    }
}

#[derive(Arbitrary, Debug, Clone)]
enum Op {
    SetClaim(Claim, J),
    SetClaimWord(Claim, Word),
    SetClaimText(Claim, String),
    RemoveClaim(Claim),
    AppendClaim(Claim, J),
    /// Sets a time claim to now + delta seconds.
    Shift(Claim, i32),
    /// Writes the claim's name with a `\u` escape, so a duplicate hides from naive checks.
    EscapeClaimName(Claim),
    SetParam(Param, J),
    SetParamWord(Param, Word),
    RemoveParam(Param),
    AppendParam(Param, Word),
    RawHeader(String),
    RawPayload(String),
    /// Leading whitespace before the header object.
    PadHeader(u8),
}

#[derive(Arbitrary, Debug, Clone)]
enum Signature {
    Resign,
    Keep,
    Empty,
    Strip,
    Flip(u16, u8),
    Truncate(u8),
    Append(Vec<u8>),
    Replace(Vec<u8>),
}

#[derive(Arbitrary, Debug, Clone)]
enum Encoding {
    Canonical,
    Padded,
    StandardAlphabet,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Start {
    Access,
    Refresh,
    Service,
    Registration,
    Reset,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Target {
    Access,
    Refresh,
    Registration,
    Reset,
}

#[derive(Arbitrary, Debug, Clone)]
struct Tweak {
    pos: u16,
    byte: u8,
    delete: bool,
}

#[derive(Arbitrary, Debug)]
struct Input {
    start: Start,
    ops: Vec<Op>,
    signature: Signature,
    encoding: Encoding,
    tweak: Option<Tweak>,
    target: Target,
}

/// A JSON object kept as ordered (name text, value text) members, names already encoded.
struct Members(Vec<(String, String)>);

impl Members {
    fn parse(json: &[u8]) -> Self {
        let map: serde_json::Map<String, Value> = serde_json::from_slice(json).unwrap();
        Self(
            map.into_iter()
                .map(|(k, v)| (serde_json::to_string(&k).unwrap(), v.to_string()))
                .collect(),
        )
    }

    fn key(name: &str) -> String {
        serde_json::to_string(name).unwrap()
    }

    fn set(&mut self, name: &str, value: String) {
        let key = Self::key(name);
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(member) => member.1 = value,
            None => self.0.push((key, value)),
        }
    }

    fn remove(&mut self, name: &str) {
        let key = Self::key(name);
        self.0.retain(|(k, _)| *k != key);
    }

    fn append(&mut self, name: &str, value: String) {
        self.0.push((Self::key(name), value));
    }

    fn escape(&mut self, name: &str) {
        let key = Self::key(name);
        if let Some(member) = self.0.iter_mut().find(|(k, _)| *k == key) {
            let mut escaped = String::from("\"");
            let mut chars = name.chars();
            if let Some(first) = chars.next() {
                if (first as u32) < 0x10000 {
                    write!(escaped, "\\u{:04x}", first as u32).unwrap();
                } else {
                    escaped.push(first);
                }
            }
            let rest: String = chars.collect();
            let rest = serde_json::to_string(&rest).unwrap();
            escaped.push_str(&rest[1..]);
            member.0 = escaped;
        }
    }

    fn text(&self) -> String {
        let inner: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        format!("{{{}}}", inner.join(","))
    }
}

/// Parses a JSON object without losing repeated names: `None` when it is not an object,
/// or when a name repeats.
fn unique_object(bytes: &[u8]) -> Option<BTreeMap<String, Value>> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Option<BTreeMap<String, Value>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            let mut dup = false;
            while let Some((k, v)) = map.next_entry::<String, Value>()? {
                dup |= out.insert(k, v).is_some();
            }
            Ok((!dup).then_some(out))
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde::Deserializer::deserialize_map(&mut de, V).ok()??;
    de.end().ok()?;
    Some(parsed)
}

/// The independent check of a token the verifier accepted; returns the payload.
fn accepted_token_is_sound(
    token: &str,
    kinds: &[&str],
    t0: u64,
    t1: u64,
) -> BTreeMap<String, Value> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        panic!("accepted a token that is not three parts: {token:?}");
    };
    let header = URL_SAFE_NO_PAD
        .decode(h)
        .expect("accepted a header that is not strict base64url");
    let payload = URL_SAFE_NO_PAD
        .decode(p)
        .expect("accepted a payload that is not strict base64url");
    URL_SAFE_NO_PAD
        .decode(s)
        .expect("accepted a signature that is not strict base64url");

    let header = unique_object(&header).unwrap_or_else(|| {
        panic!(
            "accepted a header that is not a duplicate-free object: {:?}",
            String::from_utf8_lossy(&header)
        )
    });
    assert_eq!(
        header.get("alg"),
        Some(&Value::from("HS256")),
        "accepted alg {header:?}"
    );
    for name in ["kid", "crit", "jwk", "jku", "x5u", "x5c", "cty", "b64"] {
        assert!(
            !header.contains_key(name),
            "accepted a header with `{name}`: {header:?}"
        );
    }
    if let Some(typ) = header.get("typ") {
        assert!(
            typ.as_str().is_some_and(|t| t.eq_ignore_ascii_case("JWT")),
            "accepted typ {typ}"
        );
    }
    let signing_input = &token[..h.len() + 1 + p.len()];
    let key = DecodingKey::from_secret(common::TEST_SECRET.as_bytes());
    assert!(
        jsonwebtoken::crypto::verify(s, signing_input.as_bytes(), &key, Algorithm::HS256)
            .unwrap_or(false),
        "accepted a token whose HS256 signature does not verify"
    );

    let claims = unique_object(&payload).unwrap_or_else(|| {
        panic!(
            "accepted a payload that is not a duplicate-free object: {:?}",
            String::from_utf8_lossy(&payload)
        )
    });
    assert!(
        claims.get("sub").is_some_and(Value::is_string),
        "sub: {claims:?}"
    );
    assert!(
        claims.get("jti").is_some_and(Value::is_string),
        "jti: {claims:?}"
    );
    let time = |name: &str| {
        claims.get(name).and_then(Value::as_u64).unwrap_or_else(|| {
            panic!("accepted `{name}` that is not an unsigned integer: {claims:?}")
        })
    };
    let (iat, nbf, exp) = (time("iat"), time("nbf"), time("exp"));
    assert!(exp > t0, "accepted an expired token: exp {exp}, now {t0}");
    assert!(
        nbf <= t1,
        "accepted a token before its nbf {nbf} (now {t1})"
    );
    assert!(
        iat <= t1,
        "accepted a token issued in the future: iat {iat} (now {t1})"
    );
    let kind = claims.get("type").and_then(Value::as_str);
    assert!(
        kind.is_some_and(|k| kinds.contains(&k)),
        "accepted type {kind:?} where {kinds:?} belong"
    );
    if let Some(roles) = claims.get("roles") {
        assert!(
            roles
                .as_array()
                .is_some_and(|r| r.iter().all(Value::is_string)),
            "accepted roles {roles}"
        );
    }
    if let Some(fresh) = claims.get("fresh") {
        assert!(fresh.is_boolean(), "accepted fresh {fresh}");
    }
    for name in ["fam", "iss"] {
        if let Some(v) = claims.get(name) {
            assert!(v.is_string(), "accepted {name} {v}");
        }
    }
    if let Some(ms) = claims.get("iat_ms") {
        assert!(ms.is_u64(), "accepted iat_ms {ms}");
    }
    if let Some(aud) = claims.get("aud") {
        let ok = aud.is_string()
            || aud
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_string));
        assert!(ok, "accepted aud {aud}");
    }
    claims
}

/// What the verifier returned agrees with the payload it accepted.
fn claims_agree(verified: &Claims, payload: &BTreeMap<String, Value>) {
    assert_eq!(Some(verified.subject()), payload["sub"].as_str());
    assert_eq!(Some(verified.jti()), payload["jti"].as_str());
    assert_eq!(Some(verified.expires_at()), payload["exp"].as_u64());
    let roles: Vec<&str> = payload
        .get("roles")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(verified.roles(), roles.as_slice());
    assert_eq!(
        verified.is_fresh(),
        payload.get("fresh") == Some(&Value::Bool(true))
    );
    assert_eq!(
        verified.family(),
        payload.get("fam").and_then(Value::as_str)
    );
    for (name, value) in payload {
        if !RESERVED_CLAIMS.contains(&name.as_str()) {
            assert_eq!(verified.custom(name), Some(value), "custom claim {name}");
        }
    }
}

fn start_token(auth: &Centurion<TestUser>, user: &TestUser, start: Start) -> String {
    common::rt().block_on(async {
        match start {
            Start::Access => auth.issue_pair(user).await.unwrap().access_token,
            Start::Refresh => auth.issue_pair(user).await.unwrap().refresh_token,
            Start::Service => auth.issue_service_token(user, None).unwrap(),
            Start::Registration => auth.issue_registration_token(user).unwrap(),
            Start::Reset => auth.issue_reset_token(user).unwrap(),
        }
    })
}

fn encode(bytes: &[u8], encoding: &Encoding) -> String {
    match encoding {
        Encoding::Canonical => URL_SAFE_NO_PAD.encode(bytes),
        Encoding::Padded => URL_SAFE.encode(bytes),
        Encoding::StandardAlphabet => STANDARD.encode(bytes),
    }
}

fn apply(
    op: &Op,
    header: &mut Members,
    payload: &mut Members,
    raw_header: &mut Option<String>,
    raw_payload: &mut Option<String>,
    pad: &mut usize,
) {
    match op {
        Op::SetClaim(c, v) => payload.set(c.name(), v.text()),
        Op::SetClaimWord(c, w) => payload.set(c.name(), w.text()),
        Op::SetClaimText(c, t) => payload.set(c.name(), t.clone()),
        Op::RemoveClaim(c) => payload.remove(c.name()),
        Op::AppendClaim(c, v) => payload.append(c.name(), v.text()),
        Op::Shift(c, delta) => {
            let t = i64::try_from(common::now()).unwrap_or(0) + i64::from(*delta);
            payload.set(c.name(), t.to_string());
        }
        Op::EscapeClaimName(c) => payload.escape(c.name()),
        Op::SetParam(p, v) => header.set(p.name(), v.text()),
        Op::SetParamWord(p, w) => header.set(p.name(), w.text()),
        Op::RemoveParam(p) => header.remove(p.name()),
        Op::AppendParam(p, w) => header.append(p.name(), w.text()),
        Op::RawHeader(t) => *raw_header = Some(t.clone()),
        Op::RawPayload(t) => *raw_payload = Some(t.clone()),
        Op::PadHeader(n) => *pad = usize::from(*n % 8),
    }
}

/// Whether the edit leaves a token the verifier must still accept: only custom claims
/// set (to plain, not too deep, duplicate-free values), canonical encoding, re-signed.
fn must_be_accepted(input: &Input) -> bool {
    let custom_only = input.ops.iter().all(|op| match op {
        Op::SetClaim(Claim::Custom(name), v) => {
            !RESERVED_CLAIMS.contains(&name.as_str())
                && v.depth() < 64
                && !v.has_nested_duplicates()
        }
        _ => false,
    });
    let kind_fits = matches!(
        (input.start, input.target),
        (Start::Access | Start::Service, Target::Access)
            | (Start::Refresh, Target::Refresh)
            | (Start::Registration, Target::Registration)
    );
    custom_only
        && kind_fits
        && matches!(input.signature, Signature::Resign)
        && matches!(input.encoding, Encoding::Canonical)
        && input.tweak.is_none()
}

fuzz_target!(|input: Input| {
    let f = common::fixture();
    let auth = &f.auth;
    let original = start_token(auth, &f.user, input.start);
    let mut parts = original.split('.');
    let (h, p, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let mut header = Members::parse(&URL_SAFE_NO_PAD.decode(h).unwrap());
    let mut payload = Members::parse(&URL_SAFE_NO_PAD.decode(p).unwrap());
    let (mut raw_header, mut raw_payload, mut pad) = (None, None, 0);
    for op in &input.ops {
        apply(
            op,
            &mut header,
            &mut payload,
            &mut raw_header,
            &mut raw_payload,
            &mut pad,
        );
    }
    let header_text = format!(
        "{}{}",
        " ".repeat(pad),
        raw_header.unwrap_or_else(|| header.text())
    );
    let payload_text = raw_payload.unwrap_or_else(|| payload.text());
    let signing_input = format!(
        "{}.{}",
        encode(header_text.as_bytes(), &input.encoding),
        encode(payload_text.as_bytes(), &input.encoding)
    );
    let mut token = match &input.signature {
        Signature::Resign => centurion::dangerous::sign_raw(auth, &signing_input).unwrap(),
        Signature::Keep => format!("{signing_input}.{s}"),
        Signature::Empty => format!("{signing_input}."),
        Signature::Strip => signing_input.clone(),
        Signature::Flip(pos, bits) => {
            let mut sig = URL_SAFE_NO_PAD.decode(s).unwrap();
            let i = usize::from(*pos) % sig.len();
            sig[i] ^= bits.max(&1);
            format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
        }
        Signature::Truncate(n) => {
            let sig = URL_SAFE_NO_PAD.decode(s).unwrap();
            let keep = usize::from(*n) % sig.len();
            format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(&sig[..keep]))
        }
        Signature::Append(extra) => {
            let mut sig = URL_SAFE_NO_PAD.decode(s).unwrap();
            sig.extend_from_slice(extra);
            format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
        }
        Signature::Replace(bytes) => format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(bytes)),
    };
    if let Some(tweak) = &input.tweak
        && !token.is_empty()
    {
        let mut bytes = token.into_bytes();
        let i = usize::from(tweak.pos) % bytes.len();
        if tweak.delete {
            bytes.remove(i);
        } else {
            bytes.insert(i, tweak.byte);
        }
        token = String::from_utf8_lossy(&bytes).into_owned();
    }

    let t0 = common::now();
    let (accepted, kinds): (Result<Option<Claims>, centurion::Error>, &[&str]) = common::rt()
        .block_on(async {
            match input.target {
                Target::Access => (
                    auth.verify_access(&token).await.map(Some),
                    &["access", "service"][..],
                ),
                Target::Refresh => (auth.refresh(&token).await.map(|_| None), &["refresh"][..]),
                Target::Registration => (
                    auth.confirm_registration(&token).await.map(|_| None),
                    &["registration"][..],
                ),
                Target::Reset => (
                    auth.reset_password(&token, common::PASSWORD)
                        .await
                        .map(|_| None),
                    &["reset"][..],
                ),
            }
        });
    let t1 = common::now();
    match accepted {
        Ok(verified) => {
            let payload = accepted_token_is_sound(&token, kinds, t0, t1);
            if let Some(claims) = verified {
                claims_agree(&claims, &payload);
            } else {
                // Everything but access verification loads the user named by `sub`.
                assert_eq!(payload["sub"], "1", "a token of another user was spent");
            }
        }
        Err(err) => {
            common::check_refusal(&err, &token);
            if must_be_accepted(&input) && token.len() <= 8192 {
                panic!("a token with only custom claims changed was refused: {err:?}\n{token}");
            }
        }
    }
});
