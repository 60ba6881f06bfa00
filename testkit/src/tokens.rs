//! Token surgery: base64url, the parts of a compact token, payloads centurion would
//! accept, re-signing an edited header and payload with an instance's key, and the
//! committed test keys (`testkit/keys/`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use centurion::Centurion;
use serde_json::{Value, json};

/// base64url without padding, as JWT segments are.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict base64url decoding.
#[track_caller]
pub fn unb64(part: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(part).expect("valid base64url")
}

/// The three parts of a compact token.
#[track_caller]
pub fn parts(token: &str) -> (String, String, String) {
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        panic!("not a three-part token: {token}");
    };
    (h.to_owned(), p.to_owned(), s.to_owned())
}

/// The decoded header of a token (no verification).
#[track_caller]
pub fn header_of(token: &str) -> Value {
    serde_json::from_slice(&unb64(&parts(token).0)).expect("JSON header")
}

/// The decoded payload (claims) of a token (no verification).
#[track_caller]
pub fn payload_of(token: &str) -> Value {
    serde_json::from_slice(&unb64(&parts(token).1)).expect("JSON payload")
}

/// A payload centurion would accept as an access token, valid for ten minutes.
pub fn access_payload(sub: &str) -> Value {
    let now = crate::now();
    json!({
        "sub": sub,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": b64(unique_bytes()),
        "type": "access",
        "fresh": true,
        "roles": ["reader"],
    })
}

/// Sixteen bytes that differ between calls.
pub fn unique_bytes() -> [u8; 16] {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&n.to_le_bytes());
    out[8..].copy_from_slice(&(t as u64).to_le_bytes());
    out
}

/// The test's HS256 header.
pub fn hs256_header() -> Value {
    json!({"alg": "HS256", "typ": "JWT"})
}

/// `base64url(header).base64url(payload)` of two raw JSON texts.
pub fn signing_input(header_json: &str, payload_json: &str) -> String {
    format!("{}.{}", b64(header_json), b64(payload_json))
}

/// A token with exactly this header and payload text, signed by `auth`'s key.
#[track_caller]
pub fn sign_json_text<U>(auth: &Centurion<U>, header_json: &str, payload_json: &str) -> String {
    centurion::dangerous::sign_raw(auth, &signing_input(header_json, payload_json))
        .expect("signing works")
}

/// A committed test key (`testkit/keys/<name>`, PEM).
#[track_caller]
pub fn key(name: &str) -> String {
    let path = format!("{}/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}
