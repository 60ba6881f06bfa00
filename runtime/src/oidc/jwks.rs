//! A provider's JWKS document, read leniently one key at a time: a key that does not
//! parse, or that this provider may not use, is skipped; the others are kept.
//!
//! A key is kept only when all of these hold: `use` is absent or `sig`; `key_ops` is absent
//! or holds `verify`; it is an RSA key of at least 2048 bits, an EC key on P-256 (ES256) or
//! P-384 (ES384), or an Ed25519 key (never `oct`, which `DecodingKey::from_jwk` would turn into an HMAC secret,
//! and never a curve whose points jsonwebtoken would not check); its `alg`, when present,
//! is one the provider accepts. It then verifies exactly the provider's accepted
//! algorithms of its family (its own `alg` only, when it names one).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

/// Keys read from one document at most; the rest are ignored.
pub(super) const MAX_KEYS: usize = 100;

const RSA_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// One key of a provider, ready to verify.
pub(super) struct ProviderKey {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
    /// RFC 7638 thumbprint (SHA-256): the same key has the same thumbprint in every fetch.
    thumbprint: Arc<str>,
}

impl ProviderKey {
    /// Its `kid`, if it has one.
    pub(super) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether it verifies tokens of `alg`.
    pub(super) fn verifies(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }

    /// The key itself.
    pub(super) fn decoding_key(&self) -> &DecodingKey {
        &self.key
    }

    /// Its RFC 7638 thumbprint.
    pub(super) fn thumbprint(&self) -> &Arc<str> {
        &self.thumbprint
    }
}

/// What a document held: the usable keys, and how many were skipped.
pub(super) struct KeyDocument {
    pub(super) keys: Vec<ProviderKey>,
    pub(super) skipped: usize,
}

fn decoded_len(b64: &str) -> Option<usize> {
    URL_SAFE_NO_PAD.decode(b64).ok().map(|bytes| bytes.len())
}

/// The bit length of a big-endian unsigned integer in base64url.
fn modulus_bits(n: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(n).ok()?;
    let first = bytes.iter().position(|b| *b != 0)?;
    let significant = &bytes[first..];
    Some(significant.len() * 8 - significant[0].leading_zeros() as usize)
}

/// The algorithms `jwk` may verify for a provider that accepts `allowed`; empty when the
/// key may not be used at all.
fn usable_algorithms(jwk: &Jwk, allowed: &[Algorithm]) -> Vec<Algorithm> {
    let common = &jwk.common;
    if common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return Vec::new();
    }
    if common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return Vec::new();
    }
    let family: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            // Below 2048 bits RSA is breakable; above 8192 aws-lc refuses it anyway.
            let bits_ok = modulus_bits(&rsa.n).is_some_and(|bits| (2048..=8192).contains(&bits));
            let e_ok = decoded_len(&rsa.e).is_some_and(|len| (1..=8).contains(&len));
            if !(bits_ok && e_ok) {
                return Vec::new();
            }
            RSA_ALGORITHMS
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            // `from_ec_components` ignores `crv`: the curve decides the one algorithm the
            // key verifies, and its coordinates must have that curve's size.
            let (size, algorithm): (usize, &[Algorithm]) = match ec.curve {
                EllipticCurve::P256 => (32, &[Algorithm::ES256]),
                EllipticCurve::P384 => (48, &[Algorithm::ES384]),
                _ => return Vec::new(),
            };
            if decoded_len(&ec.x) != Some(size) || decoded_len(&ec.y) != Some(size) {
                return Vec::new();
            }
            algorithm
        }
        AlgorithmParameters::OctetKeyPair(okp) => {
            if okp.curve != EllipticCurve::Ed25519 || decoded_len(&okp.x) != Some(32) {
                return Vec::new();
            }
            &[Algorithm::EdDSA]
        }
        // `oct` would be an HMAC secret; unknown key types are of no use.
        _ => return Vec::new(),
    };
    let named = match common.key_algorithm {
        None => None,
        Some(named) => match Algorithm::try_from(named) {
            Ok(alg) => Some(alg),
            // An `alg` centurion cannot verify (RSA-OAEP, an unknown name): not a signing key
            // for us.
            Err(_) => return Vec::new(),
        },
    };
    family
        .iter()
        .copied()
        .filter(|alg| allowed.contains(alg) && named.is_none_or(|n| n == *alg))
        .collect()
}

/// Reads a JWKS document: `{"keys": [...]}`. `Err` when it is not such a document; a
/// document without any usable key is a [`KeyDocument`] with no keys.
pub(super) fn parse(body: &[u8], allowed: &[Algorithm]) -> Result<KeyDocument, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the JWKS is not JSON ({e})"))?;
    let Some(entries) = value.get("keys").and_then(Value::as_array) else {
        return Err("the JWKS has no `keys` list".to_owned());
    };
    let mut keys = Vec::new();
    let mut skipped = entries.len().saturating_sub(MAX_KEYS);
    for entry in entries.iter().take(MAX_KEYS) {
        let Ok(jwk) = serde_json::from_value::<Jwk>(entry.clone()) else {
            skipped += 1;
            continue;
        };
        let algorithms = usable_algorithms(&jwk, allowed);
        let key = DecodingKey::from_jwk(&jwk).ok();
        let thumbprint = jwk.thumbprint(ThumbprintHash::SHA256).ok();
        match (algorithms.is_empty(), key, thumbprint) {
            (false, Some(key), Some(thumbprint)) => keys.push(ProviderKey {
                kid: jwk.common.key_id.clone(),
                algorithms,
                key,
                thumbprint: thumbprint.into(),
            }),
            _ => skipped += 1,
        }
    }
    Ok(KeyDocument { keys, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALL: &[Algorithm] = &[
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];

    fn b64(len: usize, first: u8) -> String {
        let mut bytes = vec![7u8; len];
        bytes[0] = first;
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn rsa(bits_bytes: usize, extra: Value) -> Value {
        let mut key = json!({"kty": "RSA", "kid": "r", "n": b64(bits_bytes, 0xc1), "e": "AQAB"});
        key.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        key
    }

    fn ec(crv: &str, size: usize) -> Value {
        json!({"kty": "EC", "kid": "e", "crv": crv, "x": b64(size, 1), "y": b64(size, 2)})
    }

    fn kept(keys: Vec<Value>, allowed: &[Algorithm]) -> Vec<Vec<Algorithm>> {
        let body = serde_json::to_vec(&json!({ "keys": keys })).unwrap();
        parse(&body, allowed)
            .unwrap()
            .keys
            .into_iter()
            .map(|k| k.algorithms)
            .collect()
    }

    #[test]
    fn rsa_keys_need_2048_bits() {
        assert_eq!(
            kept(vec![rsa(256, json!({}))], ALL),
            [vec![Algorithm::RS256, Algorithm::PS256]]
        );
        assert!(kept(vec![rsa(255, json!({}))], ALL).is_empty());
        assert!(kept(vec![rsa(128, json!({}))], ALL).is_empty());
        // A leading zero byte does not count.
        let mut padded = vec![0u8];
        padded.extend(vec![0x01u8; 255]);
        let key = json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(&padded), "e": "AQAB"});
        assert!(kept(vec![key], ALL).is_empty());
    }

    #[test]
    fn use_key_ops_and_alg_restrict_a_key() {
        assert!(kept(vec![rsa(256, json!({"use": "enc"}))], ALL).is_empty());
        assert_eq!(kept(vec![rsa(256, json!({"use": "sig"}))], ALL).len(), 1);
        assert!(kept(vec![rsa(256, json!({"key_ops": ["encrypt"]}))], ALL).is_empty());
        assert_eq!(
            kept(vec![rsa(256, json!({"key_ops": ["verify"]}))], ALL).len(),
            1
        );
        assert_eq!(
            kept(vec![rsa(256, json!({"alg": "PS256"}))], ALL),
            [vec![Algorithm::PS256]]
        );
        assert!(kept(vec![rsa(256, json!({"alg": "RS384"}))], ALL).is_empty());
        assert!(kept(vec![rsa(256, json!({"alg": "RSA-OAEP"}))], ALL).is_empty());
        assert!(kept(vec![rsa(256, json!({"alg": "HS256"}))], ALL).is_empty());
        assert!(kept(vec![rsa(256, json!({}))], &[Algorithm::ES256]).is_empty());
    }

    #[test]
    fn only_p256_p384_and_ed25519_curves_of_the_right_size() {
        assert_eq!(kept(vec![ec("P-256", 32)], ALL), [vec![Algorithm::ES256]]);
        assert_eq!(kept(vec![ec("P-384", 48)], ALL), [vec![Algorithm::ES384]]);
        assert!(kept(vec![ec("P-384", 48)], &[Algorithm::ES256]).is_empty());
        let mut named = ec("P-384", 48);
        named["alg"] = json!("ES256");
        assert!(
            kept(vec![named], ALL).is_empty(),
            "its alg is not its curve's"
        );
        assert!(kept(vec![ec("P-256", 48)], ALL).is_empty());
        assert!(kept(vec![ec("P-384", 32)], ALL).is_empty());
        assert!(kept(vec![ec("P-521", 66)], ALL).is_empty());
        let ed = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(32, 3)});
        assert_eq!(kept(vec![ed], ALL), [vec![Algorithm::EdDSA]]);
        let x448 = json!({"kty": "OKP", "crv": "Ed448", "x": b64(57, 3)});
        assert!(kept(vec![x448], ALL).is_empty());
    }

    #[test]
    fn hmac_and_unknown_keys_are_skipped_not_fatal() {
        let keys = vec![
            json!({"kty": "oct", "kid": "h", "k": b64(32, 1)}),
            json!({"kty": "oct", "kid": "h", "k": b64(32, 1), "alg": "HS256"}),
            json!({"kty": "weird"}),
            json!("not an object"),
            json!({"kty": "RSA"}),
            rsa(256, json!({})),
        ];
        let body = serde_json::to_vec(&json!({ "keys": keys })).unwrap();
        let doc = parse(&body, ALL).unwrap();
        assert_eq!(doc.keys.len(), 1);
        assert_eq!(doc.skipped, 5);
        assert!(parse(b"{}", ALL).is_err());
        assert!(parse(b"[]", ALL).is_err());
        assert!(parse(b"{\"keys\": {}}", ALL).is_err());
        assert!(parse(b"not json", ALL).is_err());
    }

    #[test]
    fn at_most_100_keys_are_read() {
        let keys: Vec<Value> = (0..150).map(|_| ec("P-256", 32)).collect();
        let body = serde_json::to_vec(&json!({ "keys": keys })).unwrap();
        let doc = parse(&body, ALL).unwrap();
        assert_eq!(doc.keys.len(), MAX_KEYS);
        assert_eq!(doc.skipped, 50);
    }
}
