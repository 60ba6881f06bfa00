//! Signing and verification keys, parsed once at start-up.

use std::collections::HashMap;

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use crate::config::{Config, Secret};
use crate::error::Error;

/// The algorithms centurion knows by name. PS* and ES384 are left out on purpose: the
/// list is what the tests cover.
const KNOWN: &[(&str, Algorithm)] = &[
    ("HS256", Algorithm::HS256),
    ("HS384", Algorithm::HS384),
    ("HS512", Algorithm::HS512),
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("ES256", Algorithm::ES256),
    ("EdDSA", Algorithm::EdDSA),
];

/// Every algorithm a token's header may name: [`KNOWN`] and those only identity providers'
/// tokens use (RSASSA-PSS, ES384). `none` is not among them.
const IN_HEADERS: &[(&str, Algorithm)] = &[
    ("HS256", Algorithm::HS256),
    ("HS384", Algorithm::HS384),
    ("HS512", Algorithm::HS512),
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("EdDSA", Algorithm::EdDSA),
];

/// Parses an algorithm name exactly as it appears in a JWT header (`HS256`, `EdDSA`, …),
/// among those centurion's own keys use.
fn algorithm_from_name(name: &str) -> Option<Algorithm> {
    KNOWN.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

/// Parses the `alg` of a token header, exactly as written; `None` for `none` and for
/// names no source accepts.
pub(super) fn algorithm_in_header(name: &str) -> Option<Algorithm> {
    IN_HEADERS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

/// Whether centurion's own keys can be configured with `alg`.
pub(super) fn is_own_algorithm(alg: Algorithm) -> bool {
    KNOWN.iter().any(|(_, a)| *a == alg)
}

/// The name of an algorithm as headers write it.
pub(super) fn algorithm_name(alg: Algorithm) -> &'static str {
    IN_HEADERS
        .iter()
        .find(|(_, a)| *a == alg)
        .map_or("unknown", |(n, _)| n)
}

fn parse_algorithm(name: &str) -> Result<Algorithm, Error> {
    algorithm_from_name(name.trim()).ok_or_else(|| {
        let known: Vec<&str> = KNOWN.iter().map(|(n, _)| *n).collect();
        Error::config(format!(
            "unknown algorithm `{name}`; use one of {} (`none` is never accepted)",
            known.join(", ")
        ))
    })
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

fn min_secret_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

fn hmac_secret(alg: Algorithm, secret: Option<&Secret>, what: &str) -> Result<Vec<u8>, Error> {
    let name = algorithm_name(alg);
    let Some(secret) = secret else {
        return Err(Error::config(format!(
            "{what} uses {name} but has no `secret`; set a random secret of at least {} bytes",
            min_secret_len(alg)
        )));
    };
    let bytes = secret.expose().as_bytes();
    // Leading whitespace too: PEM keys pasted into YAML blocks or env vars often start
    // with a newline.
    if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        return Err(Error::config(format!(
            "{what}: the {name} secret is a PEM key; {name} signs with a shared secret. \
             Put PEM keys in `private_key_pem`/`public_key_pem` and choose RS256, ES256 or EdDSA"
        )));
    }
    if bytes.len() < min_secret_len(alg) {
        return Err(Error::config(format!(
            "{what}: the {name} secret is {} bytes; use at least {} random bytes \
             (for example the output of `openssl rand -base64 48`)",
            bytes.len(),
            min_secret_len(alg)
        )));
    }
    Ok(bytes.to_vec())
}

fn pem_error(what: &str, alg: Algorithm, part: &str) -> Error {
    let expected = match alg {
        Algorithm::ES256 => "a P-256 EC key",
        Algorithm::EdDSA => "an Ed25519 key",
        _ => "an RSA key",
    };
    Error::config(format!(
        "{what}: `{part}` is not a PEM {expected} usable with {}",
        algorithm_name(alg)
    ))
}

fn decoding_key_from_pem(alg: Algorithm, pem: &str, what: &str) -> Result<DecodingKey, Error> {
    let bytes = pem.as_bytes();
    let key = match alg {
        Algorithm::ES256 => DecodingKey::from_ec_pem(bytes),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(bytes),
        _ => DecodingKey::from_rsa_pem(bytes),
    };
    key.map_err(|_| pem_error(what, alg, "public_key_pem"))
}

fn encoding_key_from_pem(alg: Algorithm, pem: &str, what: &str) -> Result<EncodingKey, Error> {
    let bytes = pem.as_bytes();
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(bytes),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(bytes),
        _ => EncodingKey::from_rsa_pem(bytes),
    };
    key.map_err(|_| pem_error(what, alg, "private_key_pem"))
}

/// A key that verifies tokens of exactly one algorithm.
pub(super) struct VerifyingKey {
    pub(super) alg: Algorithm,
    pub(super) key: DecodingKey,
}

/// The signing key.
pub(super) struct SigningKey {
    pub(super) kid: Option<String>,
    pub(super) alg: Algorithm,
    pub(super) key: EncodingKey,
}

/// Every key centurion uses, parsed once.
pub(crate) struct KeySet {
    pub(super) signing: SigningKey,
    /// The key matching the signing key: used for tokens without `kid`.
    primary: VerifyingKey,
    by_kid: HashMap<String, VerifyingKey>,
    allowed: Vec<Algorithm>,
    jwks: JwkSet,
    /// While legacy (Flask) tokens are on: the keys derived for our non-access kinds.
    #[cfg(feature = "legacy")]
    pub(super) legacy: Option<super::legacy::LegacyKeys>,
}

/// Installs jsonwebtoken's process-wide crypto provider for the backend centurion was
/// built with: aws-lc-rs when the `aws-lc` feature is on (also when `rust-crypto` is on
/// too, as with `--all-features`), RustCrypto otherwise.
///
/// jsonwebtoken cannot choose by itself once feature unification turns on both of its
/// backends, and then panics on first use. Building a [`Centurion`](crate::Centurion)
/// calls this; call it yourself before using jsonwebtoken directly (in tests that forge
/// tokens, say) in a process that may not have built one yet. A provider installed
/// earlier, by the application or a previous call, stays.
///
/// ```
/// centurion::install_crypto_provider();
/// let key = jsonwebtoken::EncodingKey::from_secret(b"an-example-secret-of-at-least-32-bytes!!");
/// let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &serde_json::json!({"sub": "1"}), &key);
/// assert!(token.is_ok());
/// ```
pub fn install_crypto_provider() {
    #[cfg(feature = "aws-lc")]
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}

#[cfg(not(any(feature = "aws-lc", feature = "rust-crypto")))]
compile_error!(
    "centurion needs a crypto backend: enable the `aws-lc` (default) or the `rust-crypto` feature"
);

impl KeySet {
    pub(crate) fn from_config(config: &Config) -> Result<Self, Error> {
        install_crypto_provider();
        let alg = parse_algorithm(&config.algorithm)?;
        #[cfg(feature = "legacy")]
        let mut legacy = None;
        let (signing_key, primary) = if is_hmac(alg) {
            if config.private_key_pem.is_some() {
                return Err(Error::config(format!(
                    "`private_key_pem` is set but the algorithm is {}, which signs with `secret`; \
                     set `algorithm` to RS256, ES256 or EdDSA to sign with the PEM key",
                    algorithm_name(alg)
                )));
            }
            let secret = hmac_secret(alg, config.secret.as_ref(), "the signing key")?;
            #[cfg(feature = "legacy")]
            if config.legacy.enabled() {
                legacy = Some(super::legacy::LegacyKeys::new(&secret, &config.legacy)?);
            }
            (
                EncodingKey::from_secret(&secret),
                DecodingKey::from_secret(&secret),
            )
        } else {
            if config.secret.is_some() {
                return Err(Error::config(format!(
                    "`secret` is set but the algorithm is {}, which signs with `private_key_pem`; \
                     remove `secret` or choose HS256",
                    algorithm_name(alg)
                )));
            }
            let (Some(private), Some(public)) = (&config.private_key_pem, &config.public_key_pem)
            else {
                return Err(Error::config(format!(
                    "{} needs both `private_key_pem` and `public_key_pem`",
                    algorithm_name(alg)
                )));
            };
            let enc = encoding_key_from_pem(alg, private.expose(), "the signing key")?;
            let dec = decoding_key_from_pem(alg, public, "the signing key")?;
            check_pair(alg, &enc, &dec)?;
            (enc, dec)
        };
        let primary = VerifyingKey { alg, key: primary };

        let mut by_kid = HashMap::new();
        let mut jwks = JwkSet { keys: Vec::new() };
        if !is_hmac(alg) {
            jwks.keys.push(public_jwk(&primary, config.kid.as_deref())?);
        }
        if let Some(kid) = &config.kid {
            validate_kid(kid)?;
            by_kid.insert(
                kid.clone(),
                VerifyingKey {
                    alg,
                    key: primary.key.clone(),
                },
            );
        }
        if !config.verification_keys.is_empty() && config.kid.is_none() {
            return Err(Error::config(
                "`verification_keys` are set but the signing key has no `kid`; give it one so \
                 verifiers can tell the keys apart",
            ));
        }
        for vk in &config.verification_keys {
            validate_kid(&vk.kid)?;
            let what = format!("verification key `{}`", vk.kid);
            let valg = parse_algorithm(&vk.algorithm)?;
            let key = if is_hmac(valg) {
                DecodingKey::from_secret(&hmac_secret(valg, vk.secret.as_ref(), &what)?)
            } else {
                let Some(pem) = &vk.public_key_pem else {
                    return Err(Error::config(format!("{what} needs `public_key_pem`")));
                };
                decoding_key_from_pem(valg, pem, &what)?
            };
            let key = VerifyingKey { alg: valg, key };
            if !is_hmac(valg) {
                jwks.keys.push(public_jwk(&key, Some(&vk.kid))?);
            }
            if by_kid.insert(vk.kid.clone(), key).is_some() {
                return Err(Error::config(format!(
                    "two keys share the kid `{}`",
                    vk.kid
                )));
            }
        }

        let mut allowed: Vec<Algorithm> = Vec::new();
        if config.algorithms.is_empty() {
            allowed.push(alg);
            allowed.extend(by_kid.values().map(|k| k.alg));
        } else {
            for name in &config.algorithms {
                allowed.push(parse_algorithm(name)?);
            }
            if !allowed.contains(&alg) {
                return Err(Error::config(format!(
                    "`algorithms` does not list the signing algorithm {}; add it",
                    algorithm_name(alg)
                )));
            }
        }
        allowed.dedup();

        Ok(Self {
            signing: SigningKey {
                kid: config.kid.clone(),
                alg,
                key: signing_key,
            },
            primary,
            by_kid,
            allowed,
            jwks,
            #[cfg(feature = "legacy")]
            legacy,
        })
    }

    /// The key that verifies a token with this header, if any is configured and allowed.
    pub(super) fn select(&self, alg: Algorithm, kid: Option<&str>) -> Option<&VerifyingKey> {
        if !self.allowed.contains(&alg) {
            return None;
        }
        let key = match kid {
            Some(kid) => self.by_kid.get(kid)?,
            None => &self.primary,
        };
        // A key verifies exactly one algorithm: no RSA public key used as an HMAC secret.
        (key.alg == alg).then_some(key)
    }

    pub(crate) fn jwks(&self) -> &JwkSet {
        &self.jwks
    }
}

fn validate_kid(kid: &str) -> Result<(), Error> {
    let ok = !kid.is_empty()
        && kid.len() <= 128
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "kid `{kid}` must be 1–128 characters of letters, digits, `-`, `_`, `.` or `:`"
        )))
    }
}

fn check_pair(alg: Algorithm, enc: &EncodingKey, dec: &DecodingKey) -> Result<(), Error> {
    let probe = b"centurion key pair check";
    let ok = jsonwebtoken::crypto::sign(probe, enc, alg)
        .and_then(|sig| jsonwebtoken::crypto::verify(&sig, probe, dec, alg))
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "`private_key_pem` and `public_key_pem` are not two halves of one {} key pair",
            algorithm_name(alg)
        )))
    }
}

fn public_jwk(key: &VerifyingKey, kid: Option<&str>) -> Result<Jwk, Error> {
    let mut jwk = Jwk::from_decoding_key(&key.key, Some(key.alg)).map_err(|e| {
        Error::config(format!(
            "cannot describe the {} public key as a JWK: {e}",
            algorithm_name(key.alg)
        ))
    })?;
    jwk.common.key_id = kid.map(str::to_owned);
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    Ok(jwk)
}
