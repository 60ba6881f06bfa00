//! Keys: RS256, ES256 and EdDSA from PEM, rotation by `kid`, key confusion, and the JWKS
//! document. The PEM files under `tests/keys/` were made with openssl (see its README).

use std::sync::{Arc, LazyLock};

use centurion::memory::{MemoryRevocationStore, MemoryUserStore};
use centurion::testing::TestUser;
use centurion::{Centurion, ErrorKind, VerificationKeyConfig};
use centurion_testkit::prelude::*;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::Value;

fn ada() -> TestUser {
    TestUser::new(7, "ada", &["admin"])
}

/// One revocation store for every instance of these tests: sessions started by one
/// instance are known to the others, as with a fleet sharing Redis.
fn shared_revocations() -> Arc<MemoryRevocationStore> {
    static SHARED: LazyLock<Arc<MemoryRevocationStore>> = LazyLock::new(Arc::default);
    Arc::clone(&SHARED)
}

/// An instance signing with `alg` and the key pair `<stem>_private.pem`/`<stem>_public.pem`.
fn asymmetric(alg: &str, stem: &str, kid: Option<&str>) -> Centurion<TestUser> {
    let mut builder = Centurion::<TestUser>::builder()
        .algorithm(alg)
        .key_pair_pem(
            &key(&format!("{stem}_private.pem")),
            &key(&format!("{stem}_public.pem")),
        )
        .password(cheap_passwords())
        .user_store(MemoryUserStore::new())
        .revocation_store(shared_revocations());
    if let Some(kid) = kid {
        builder = builder.kid(kid);
    }
    builder.build().unwrap()
}

fn decoding_key(alg: Algorithm, stem: &str) -> DecodingKey {
    let pem = key(&format!("{stem}_public.pem"));
    match alg {
        Algorithm::ES256 => DecodingKey::from_ec_pem(pem.as_bytes()),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(pem.as_bytes()),
        _ => DecodingKey::from_rsa_pem(pem.as_bytes()),
    }
    .unwrap()
}

async fn round_trip(name: &str, alg: Algorithm, stem: &str) {
    let auth = asymmetric(name, stem, None);
    let pair = auth.issue_pair(&ada()).await.unwrap();
    assert_eq!(header_of(&pair.access_token)["alg"], name);
    let claims = auth.verify_access(&pair.access_token).await.unwrap();
    assert_eq!(claims.subject(), "7");
    // The token is a standard JWT: a bare jsonwebtoken decode with the public key agrees.
    let mut validation = Validation::new(alg);
    validation.validate_aud = false;
    let decoded =
        jsonwebtoken::decode::<Value>(&pair.access_token, &decoding_key(alg, stem), &validation)
            .unwrap();
    assert_eq!(decoded.claims["sub"], "7");
    // Tampering is detected.
    let (h, _, s) = parts(&pair.access_token);
    let mut payload = payload_of(&pair.access_token);
    payload["roles"] = serde_json::json!(["root"]);
    let tampered = format!("{h}.{}.{s}", b64(payload.to_string()));
    assert_eq!(
        auth.verify_access(&tampered).await.unwrap_err().kind(),
        ErrorKind::InvalidTokenError
    );
    // Another instance with the same key pair verifies it too.
    let other = asymmetric(name, stem, None);
    assert!(other.verify_access(&pair.access_token).await.is_ok());
}

#[tokio::test]
async fn rs256_from_pem_signs_and_verifies() {
    round_trip("RS256", Algorithm::RS256, "rsa").await;
}

#[tokio::test]
async fn es256_from_pem_signs_and_verifies() {
    round_trip("ES256", Algorithm::ES256, "ec").await;
}

#[tokio::test]
async fn eddsa_from_pem_signs_and_verifies() {
    round_trip("EdDSA", Algorithm::EdDSA, "ed25519").await;
}

#[tokio::test]
async fn token_signed_by_another_key_pair_is_refused() {
    let a = asymmetric("RS256", "rsa", None);
    let b = asymmetric("RS256", "rsa2", None);
    let pair = b.issue_pair(&ada()).await.unwrap();
    assert_eq!(
        a.verify_access(&pair.access_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidTokenError
    );
    let a = asymmetric("EdDSA", "ed25519", None);
    let b = asymmetric("EdDSA", "ed25519_2", None);
    let pair = b.issue_pair(&ada()).await.unwrap();
    assert_eq!(
        a.verify_access(&pair.access_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidTokenError
    );
}

#[tokio::test]
async fn hs256_token_signed_with_the_rsa_public_key_is_refused() {
    // Key confusion: the attacker knows the public key and signs an HS256 token with its
    // PEM bytes as the HMAC secret, hoping the verifier feeds the same bytes to HMAC.
    let auth = asymmetric("RS256", "rsa", None);
    let public_pem = key("rsa_public.pem");
    for secret in [public_pem.as_bytes(), public_pem.trim_end().as_bytes()] {
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &access_payload("7"),
            &EncodingKey::from_secret(secret),
        )
        .unwrap();
        assert_eq!(
            auth.verify_access(&token).await.unwrap_err().kind(),
            ErrorKind::InvalidTokenError
        );
    }
}

#[tokio::test]
async fn key_confusion_is_refused_even_with_hs256_in_the_allow_list() {
    let auth = Centurion::<TestUser>::builder()
        .algorithm("RS256")
        .key_pair_pem(&key("rsa_private.pem"), &key("rsa_public.pem"))
        .kid("rsa-1")
        .algorithms(&["RS256", "HS256"])
        .password(cheap_passwords())
        .user_store(MemoryUserStore::new())
        .build()
        .unwrap();
    let public_pem = key("rsa_public.pem");
    for kid in [None, Some("rsa-1".to_owned())] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = kid.clone();
        let token = jsonwebtoken::encode(
            &header,
            &access_payload("7"),
            &EncodingKey::from_secret(public_pem.as_bytes()),
        )
        .unwrap();
        assert_eq!(
            auth.verify_access(&token).await.unwrap_err().kind(),
            ErrorKind::InvalidTokenError,
            "{kid:?}"
        );
    }
}

#[tokio::test]
async fn token_claiming_another_asymmetric_algorithm_is_refused() {
    // An ES256 instance never verifies RS256 or EdDSA, whatever the header says.
    let auth = asymmetric("ES256", "ec", None);
    let rsa = asymmetric("RS256", "rsa", None);
    let pair = rsa.issue_pair(&ada()).await.unwrap();
    assert_eq!(
        auth.verify_access(&pair.access_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidTokenError
    );
}

fn hmac_key(kid: &str, secret: &str) -> VerificationKeyConfig {
    VerificationKeyConfig {
        kid: kid.into(),
        algorithm: "HS256".into(),
        secret: Some(secret.into()),
        public_key_pem: None,
    }
}

#[tokio::test]
async fn rotated_hmac_key_still_verifies_its_tokens_by_kid() {
    let old = builder()
        .kid("2024")
        .revocation_store(shared_revocations())
        .build()
        .unwrap();
    let new = Centurion::<TestUser>::builder()
        .secret(OTHER_SECRET)
        .kid("2025")
        .verification_key(hmac_key("2024", TEST_SECRET))
        .password(cheap_passwords())
        .user_store(MemoryUserStore::new())
        .revocation_store(shared_revocations())
        .build()
        .unwrap();
    let old_pair = old.issue_pair(&ada()).await.unwrap();
    assert_eq!(header_of(&old_pair.access_token)["kid"], "2024");
    assert!(new.verify_access(&old_pair.access_token).await.is_ok());
    // New tokens are signed with the new key and name it.
    let new_pair = new.issue_pair(&ada()).await.unwrap();
    assert_eq!(header_of(&new_pair.access_token)["kid"], "2025");
    assert!(new.verify_access(&new_pair.access_token).await.is_ok());
    // The old instance does not know the new key.
    assert_eq!(
        old.verify_access(&new_pair.access_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidTokenError
    );
}

#[tokio::test]
async fn rotated_rsa_key_still_verifies_its_tokens_by_kid() {
    let old = asymmetric("RS256", "rsa", Some("rsa-2024"));
    let new = Centurion::<TestUser>::builder()
        .algorithm("EdDSA")
        .key_pair_pem(&key("ed25519_private.pem"), &key("ed25519_public.pem"))
        .kid("ed-2025")
        .verification_key(VerificationKeyConfig {
            kid: "rsa-2024".into(),
            algorithm: "RS256".into(),
            secret: None,
            public_key_pem: Some(key("rsa_public.pem")),
        })
        .password(cheap_passwords())
        .user_store(MemoryUserStore::new())
        .revocation_store(shared_revocations())
        .build()
        .unwrap();
    let pair = old.issue_pair(&ada()).await.unwrap();
    assert!(new.verify_access(&pair.access_token).await.is_ok());
    let pair = new.issue_pair(&ada()).await.unwrap();
    assert_eq!(header_of(&pair.access_token)["alg"], "EdDSA");
    assert!(new.verify_access(&pair.access_token).await.is_ok());
}

#[tokio::test]
async fn token_with_an_unknown_kid_is_refused() {
    let new = Centurion::<TestUser>::builder()
        .secret(OTHER_SECRET)
        .kid("2025")
        .verification_key(hmac_key("2024", TEST_SECRET))
        .password(cheap_passwords())
        .user_store(MemoryUserStore::new())
        .build()
        .unwrap();
    // Signed with a known secret but naming a kid nobody configured.
    let stranger = builder().kid("2023").build().unwrap();
    let pair = stranger.issue_pair(&ada()).await.unwrap();
    assert_eq!(
        new.verify_access(&pair.access_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidTokenError
    );
}

#[tokio::test]
async fn token_naming_the_wrong_kid_for_its_key_is_refused() {
    // Signed with the old secret but claiming the new key's kid.
    let new = Centurion::<TestUser>::builder()
        .secret(OTHER_SECRET)
        .kid("2025")
        .verification_key(hmac_key("2024", TEST_SECRET))
        .password(cheap_passwords())
        .user_store(MemoryUserStore::new())
        .build()
        .unwrap();
    let liar = builder().kid("2025").build().unwrap();
    let pair = liar.issue_pair(&ada()).await.unwrap();
    assert_eq!(
        new.verify_access(&pair.access_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidTokenError
    );
}

#[tokio::test]
async fn token_without_kid_is_verified_with_the_signing_key_only() {
    let new = Centurion::<TestUser>::builder()
        .secret(OTHER_SECRET)
        .kid("2025")
        .verification_key(hmac_key("2024", TEST_SECRET))
        .password(cheap_passwords())
        .user_store(MemoryUserStore::new())
        .build()
        .unwrap();
    // An old token without a kid is not tried against every rotated key.
    let no_kid = auth();
    let pair = no_kid.issue_pair(&ada()).await.unwrap();
    assert!(header_of(&pair.access_token).get("kid").is_none());
    assert_eq!(
        new.verify_access(&pair.access_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidTokenError
    );
}

#[tokio::test]
async fn rsa_public_key_is_refused_as_an_hmac_secret_in_the_configuration() {
    let err = Centurion::<TestUser>::builder()
        .secret(key("rsa_public.pem"))
        .password(cheap_passwords())
        .user_store(MemoryUserStore::new())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigurationError);
    let err = Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .kid("new")
        .verification_key(hmac_key("old", &key("rsa_public.pem")))
        .password(cheap_passwords())
        .user_store(MemoryUserStore::new())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigurationError);
}

fn jwks_keys(auth: &Centurion<TestUser>) -> Vec<Value> {
    let jwks = auth.jwks();
    jwks["keys"].as_array().expect("a `keys` array").clone()
}

#[test]
fn jwks_is_empty_for_hmac() {
    let auth = Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .kid("new")
        .verification_key(hmac_key("old", OTHER_SECRET))
        .password(cheap_passwords())
        .user_store(MemoryUserStore::new())
        .build()
        .unwrap();
    assert_eq!(auth.jwks(), serde_json::json!({"keys": []}));
    let text = auth.jwks().to_string();
    assert!(!text.contains(&b64(TEST_SECRET)) && !text.contains(TEST_SECRET));
}

#[test]
fn jwks_has_the_rsa_public_key_with_its_kid() {
    let keys = jwks_keys(&asymmetric("RS256", "rsa", Some("rsa-1")));
    assert_eq!(keys.len(), 1);
    let jwk = &keys[0];
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["kid"], "rsa-1");
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["use"], "sig");
    assert!(jwk["n"].is_string() && jwk["e"].is_string());
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(jwk.get(private).is_none(), "the JWKS leaks `{private}`");
    }
}

#[test]
fn jwks_has_the_ec_and_ed25519_public_keys() {
    let jwk = &jwks_keys(&asymmetric("ES256", "ec", Some("ec-1")))[0];
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert_eq!(jwk["kid"], "ec-1");
    assert!(jwk.get("d").is_none());
    let jwk = &jwks_keys(&asymmetric("EdDSA", "ed25519", Some("ed-1")))[0];
    assert_eq!(jwk["kty"], "OKP");
    assert_eq!(jwk["crv"], "Ed25519");
    assert_eq!(jwk["kid"], "ed-1");
    assert!(jwk.get("d").is_none());
}

#[test]
fn jwks_lists_the_rotated_public_keys_too() {
    let auth = Centurion::<TestUser>::builder()
        .algorithm("ES256")
        .key_pair_pem(&key("ec_private.pem"), &key("ec_public.pem"))
        .kid("ec-2025")
        .verification_key(VerificationKeyConfig {
            kid: "rsa-2024".into(),
            algorithm: "RS256".into(),
            secret: None,
            public_key_pem: Some(key("rsa_public.pem")),
        })
        .password(cheap_passwords())
        .user_store(MemoryUserStore::new())
        .revocation_store(shared_revocations())
        .build()
        .unwrap();
    let mut kids: Vec<String> = jwks_keys(&auth)
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    assert_eq!(kids, ["ec-2025", "rsa-2024"]);
}

#[tokio::test]
async fn jwks_keys_verify_the_instances_tokens() {
    // A third party that only fetches the JWKS can verify tokens.
    for (name, alg, stem) in [
        ("RS256", Algorithm::RS256, "rsa"),
        ("ES256", Algorithm::ES256, "ec"),
        ("EdDSA", Algorithm::EdDSA, "ed25519"),
    ] {
        let auth = asymmetric(name, stem, Some("k"));
        let jwk: Jwk = serde_json::from_value(jwks_keys(&auth)[0].clone()).unwrap();
        let pair = auth.issue_pair(&ada()).await.unwrap();
        let key = DecodingKey::from_jwk(&jwk).unwrap();
        let decoded =
            jsonwebtoken::decode::<Value>(&pair.access_token, &key, &Validation::new(alg)).unwrap();
        assert_eq!(decoded.claims["sub"], "7", "{name}");
    }
}
