//! The refusal list of issue 2: every hostile or malformed token is refused with a precise
//! error kind, and none makes verification panic.

use centurion::dangerous::{sign_payload, sign_raw};
use centurion::testing::TestUser;
use centurion::{Centurion, Config, ErrorKind};
use centurion_testkit::prelude::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// Verifies `token` as an access token on a separate task so that a panic is reported as
/// such, and returns the error kind of the refusal.
async fn refused(auth: &Centurion<TestUser>, token: &str) -> ErrorKind {
    let auth = auth.clone();
    let token = token.to_owned();
    let outcome = tokio::spawn(async move { auth.verify_access(&token).await })
        .await
        .expect("verification must not panic");
    match outcome {
        Ok(claims) => panic!("the token was accepted: {claims:?}"),
        Err(err) => {
            assert_eq!(err.status().as_u16(), 401, "{err:?}");
            err.kind()
        }
    }
}

/// A valid access token of `auth`, for surgery.
async fn good_token(auth: &Centurion<TestUser>) -> String {
    let pair = auth
        .issue_pair(&TestUser::new(1, "ada", &["reader"]))
        .await
        .unwrap();
    auth.verify_access(&pair.access_token).await.unwrap();
    pair.access_token
}

fn with_header(auth: &Centurion<TestUser>, header: &Value) -> String {
    sign_json_text(auth, &header.to_string(), &access_payload("1").to_string())
}

#[tokio::test]
async fn control_a_crafted_valid_token_is_accepted() {
    // Guards the other tests: the payload and header helpers alone are acceptable.
    let auth = auth();
    let token = with_header(&auth, &hs256_header());
    let claims = auth.verify_access(&token).await.unwrap();
    assert_eq!(claims.subject(), "1");
    let token = sign_payload(&auth, &access_payload("1")).unwrap();
    assert!(auth.verify_access(&token).await.is_ok());
}

#[tokio::test]
async fn alg_none_is_refused_in_every_spelling() {
    let auth = auth();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "typ": "JWT"}).to_string();
        let input = signing_input(&header, &access_payload("1").to_string());
        // The classic form: an empty signature.
        assert_eq!(
            refused(&auth, &format!("{input}.")).await,
            ErrorKind::InvalidTokenError
        );
        // And with a signature that is valid for the instance's key.
        let signed = sign_raw(&auth, &input).unwrap();
        assert_eq!(
            refused(&auth, &signed).await,
            ErrorKind::InvalidTokenError,
            "{alg}"
        );
    }
}

#[tokio::test]
async fn alg_none_is_refused_with_the_two_part_form() {
    let auth = auth();
    let header = json!({"alg": "none"}).to_string();
    let input = signing_input(&header, &access_payload("1").to_string());
    assert_eq!(refused(&auth, &input).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn stripped_signature_is_refused() {
    let auth = auth();
    let token = good_token(&auth).await;
    let (h, p, _) = parts(&token);
    assert_eq!(
        refused(&auth, &format!("{h}.{p}.")).await,
        ErrorKind::InvalidTokenError
    );
    assert_eq!(
        refused(&auth, &format!("{h}.{p}")).await,
        ErrorKind::InvalidTokenError
    );
}

#[tokio::test]
async fn all_zero_signature_is_refused() {
    let auth = auth();
    let token = good_token(&auth).await;
    let (h, p, s) = parts(&token);
    let zeros = b64(vec![0u8; unb64(&s).len()]);
    assert_eq!(
        refused(&auth, &format!("{h}.{p}.{zeros}")).await,
        ErrorKind::InvalidTokenError
    );
    // Also the wrong length of zeros.
    let zeros = b64([0u8; 1]);
    assert_eq!(
        refused(&auth, &format!("{h}.{p}.{zeros}")).await,
        ErrorKind::InvalidTokenError
    );
}

#[tokio::test]
async fn tampered_payload_is_refused() {
    let auth = auth();
    let token = good_token(&auth).await;
    let (h, _, s) = parts(&token);
    let mut payload = payload_of(&token);
    payload["roles"] = json!(["admin"]);
    let tampered = format!("{h}.{}.{s}", b64(payload.to_string()));
    assert_eq!(
        refused(&auth, &tampered).await,
        ErrorKind::InvalidTokenError
    );

    // A one-character change in the subject too.
    let mut payload = payload_of(&token);
    payload["sub"] = json!("2");
    let tampered = format!("{h}.{}.{s}", b64(payload.to_string()));
    assert_eq!(
        refused(&auth, &tampered).await,
        ErrorKind::InvalidTokenError
    );
}

#[tokio::test]
async fn tampered_header_is_refused() {
    let auth = auth();
    let token = good_token(&auth).await;
    let (_, p, s) = parts(&token);
    let header = json!({"alg": "HS256", "typ": "JWT", "x": 1}).to_string();
    let tampered = format!("{}.{p}.{s}", b64(header));
    assert_eq!(
        refused(&auth, &tampered).await,
        ErrorKind::InvalidTokenError
    );
}

#[tokio::test]
async fn token_signed_with_a_wrong_secret_is_refused() {
    let auth = auth();
    let other = Centurion::<TestUser>::builder()
        .secret(OTHER_SECRET)
        .password(cheap_passwords())
        .user_store(centurion::memory::MemoryUserStore::new())
        .build()
        .unwrap();
    let token = good_token(&other).await;
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn disallowed_algorithm_signed_with_the_right_secret_is_refused() {
    let auth = auth();
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = jsonwebtoken::encode(
            &Header::new(alg),
            &access_payload("1"),
            &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
        )
        .unwrap();
        assert_eq!(
            refused(&auth, &token).await,
            ErrorKind::InvalidTokenError,
            "{alg:?}"
        );
    }
    // The same payload signed as HS256 passes: only the algorithm was wrong.
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &access_payload("1"),
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap();
    assert!(auth.verify_access(&token).await.is_ok());
}

#[tokio::test]
async fn unknown_algorithm_names_are_refused() {
    let auth = auth();
    for alg in ["HS256 ", "hs256", "PS256", "ES384", "HS1", "", "RS256\u{0}"] {
        let token = with_header(&auth, &json!({"alg": alg}));
        assert_eq!(
            refused(&auth, &token).await,
            ErrorKind::InvalidTokenError,
            "{alg:?}"
        );
    }
    let token = with_header(&auth, &json!({"alg": 256}));
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
    let token = with_header(&auth, &json!({"typ": "JWT"}));
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn expired_access_token_is_refused() {
    let auth = auth();
    let now = now();
    let mut payload = access_payload("1");
    payload["iat"] = json!(now - 1000);
    payload["nbf"] = json!(now - 1000);
    payload["exp"] = json!(now - 10);
    let token = sign_payload(&auth, &payload).unwrap();
    assert_eq!(refused(&auth, &token).await, ErrorKind::ExpiredAccessError);
}

#[tokio::test]
async fn token_expiring_this_very_second_is_refused_without_leeway() {
    let auth = auth();
    let now = now();
    let mut payload = access_payload("1");
    payload["iat"] = json!(now - 100);
    payload["nbf"] = json!(now - 100);
    payload["exp"] = json!(now);
    let token = sign_payload(&auth, &payload).unwrap();
    assert_eq!(refused(&auth, &token).await, ErrorKind::ExpiredAccessError);
}

#[tokio::test]
async fn nbf_in_the_future_is_refused() {
    let auth = auth();
    let mut payload = access_payload("1");
    payload["nbf"] = json!(now() + 60);
    let token = sign_payload(&auth, &payload).unwrap();
    assert_eq!(refused(&auth, &token).await, ErrorKind::EarlyTokenError);
}

#[tokio::test]
async fn iat_in_the_future_is_refused() {
    let auth = auth();
    let mut payload = access_payload("1");
    payload["iat"] = json!(now() + 60);
    let token = sign_payload(&auth, &payload).unwrap();
    assert_eq!(refused(&auth, &token).await, ErrorKind::EarlyTokenError);
}

#[tokio::test]
async fn missing_exp_is_refused() {
    let auth = auth();
    let mut payload = access_payload("1");
    payload.as_object_mut().unwrap().remove("exp");
    let token = sign_payload(&auth, &payload).unwrap();
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn every_required_claim_is_required() {
    let auth = auth();
    for claim in ["sub", "iat", "nbf", "exp", "jti", "type"] {
        let mut payload = access_payload("1");
        payload.as_object_mut().unwrap().remove(claim);
        let token = sign_payload(&auth, &payload).unwrap();
        assert_eq!(
            refused(&auth, &token).await,
            ErrorKind::InvalidTokenError,
            "{claim}"
        );
    }
}

#[tokio::test]
async fn exp_as_a_string_is_refused() {
    let auth = auth();
    let mut payload = access_payload("1");
    payload["exp"] = json!((now() + 600).to_string());
    let token = sign_payload(&auth, &payload).unwrap();
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn claims_of_the_wrong_type_are_refused() {
    let auth = auth();
    let now = now();
    let cases = [
        ("exp", json!((now + 600) as f64 + 0.5)),
        ("exp", json!(-1)),
        ("exp", json!(null)),
        ("nbf", json!("0")),
        ("iat", json!(true)),
        ("sub", json!(1)),
        ("jti", json!(["a"])),
        ("type", json!("admin")),
        ("type", json!("ACCESS")),
        ("roles", json!("admin")),
        ("roles", json!([1])),
        ("fresh", json!("true")),
        ("aud", json!(5)),
        ("iss", json!({"x": 1})),
    ];
    for (claim, value) in cases {
        let mut payload = access_payload("1");
        payload[claim] = value.clone();
        let token = sign_payload(&auth, &payload).unwrap();
        assert_eq!(
            refused(&auth, &token).await,
            ErrorKind::InvalidTokenError,
            "{claim} = {value}"
        );
    }
}

#[tokio::test]
async fn payload_that_is_not_an_object_is_refused() {
    let auth = auth();
    for payload in ["[]", "\"sub\"", "null", "1", "", "{", "{}{}"] {
        let token = sign_json_text(&auth, &hs256_header().to_string(), payload);
        assert_eq!(
            refused(&auth, &token).await,
            ErrorKind::InvalidTokenError,
            "{payload}"
        );
    }
}

#[tokio::test]
async fn header_that_is_not_an_object_is_refused() {
    let auth = auth();
    for header in ["[\"HS256\"]", "\"HS256\"", "null", "", "{\"alg\":\"HS256\""] {
        let token = sign_json_text(&auth, header, &access_payload("1").to_string());
        assert_eq!(
            refused(&auth, &token).await,
            ErrorKind::InvalidTokenError,
            "{header}"
        );
    }
}

/// Regression: the header was parsed with a derived `Deserialize`, which also accepts a
/// JSON array, so a header `["HS256"]` was taken for `{"alg":"HS256"}` (fixed in token.rs).
#[tokio::test]
async fn header_as_a_json_array_is_refused() {
    let auth = auth();
    for header in [r#"["HS256"]"#, r#" ["HS256", null, "JWT"]"#] {
        let token = sign_json_text(&auth, header, &access_payload("1").to_string());
        assert_eq!(
            refused(&auth, &token).await,
            ErrorKind::InvalidTokenError,
            "{header}"
        );
    }
}

#[tokio::test]
async fn unknown_header_parameters_are_ignored() {
    // RFC 7515 §4: unknown parameters are ignored (unless named in `crit`).
    let auth = auth();
    let token = with_header(
        &auth,
        &json!({"alg": "HS256", "typ": "JWT", "x5t": "abc", "n": [1, {"a": 2}]}),
    );
    assert!(auth.verify_access(&token).await.is_ok());
}

#[tokio::test]
async fn unknown_crit_is_refused() {
    let auth = auth();
    let token = with_header(
        &auth,
        &json!({"alg": "HS256", "typ": "JWT", "crit": ["x-unknown"], "x-unknown": true}),
    );
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
    // Even a crit naming a registered parameter, and an empty crit, are not understood.
    let token = with_header(&auth, &json!({"alg": "HS256", "crit": ["exp"]}));
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
    let token = with_header(&auth, &json!({"alg": "HS256", "crit": []}));
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn embedded_jwk_header_is_refused() {
    let auth = auth();
    // An attacker's symmetric key, embedded in the header, and a token signed with it:
    // the classic "trust the key in the token" attack.
    let attacker_secret = "attacker-chosen-secret-of-plenty-bytes!!";
    let jwk = json!({"kty": "oct", "k": b64(attacker_secret)});
    let header = json!({"alg": "HS256", "typ": "JWT", "jwk": jwk});
    let input = signing_input(&header.to_string(), &access_payload("1").to_string());
    let sig = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &EncodingKey::from_secret(attacker_secret.as_bytes()),
        Algorithm::HS256,
    )
    .unwrap();
    assert_eq!(
        refused(&auth, &format!("{input}.{sig}")).await,
        ErrorKind::InvalidTokenError
    );
    // Refused even when the signature is the instance's own.
    let token = with_header(&auth, &header);
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn linked_key_headers_are_refused() {
    let auth = auth();
    for (name, value) in [
        ("jku", json!("https://attacker.example/jwks.json")),
        ("x5u", json!("https://attacker.example/cert.pem")),
        ("x5c", json!(["MIIB"])),
        ("cty", json!("JWT")),
        ("b64", json!(false)),
    ] {
        let mut header = hs256_header();
        header[name] = value;
        let token = with_header(&auth, &header);
        assert_eq!(
            refused(&auth, &token).await,
            ErrorKind::InvalidTokenError,
            "{name}"
        );
    }
}

#[tokio::test]
async fn typ_other_than_jwt_is_refused() {
    let auth = auth();
    for typ in ["at+jwt", "JWE", ""] {
        let token = with_header(&auth, &json!({"alg": "HS256", "typ": typ}));
        assert_eq!(
            refused(&auth, &token).await,
            ErrorKind::InvalidTokenError,
            "{typ}"
        );
    }
}

#[tokio::test]
async fn kid_path_traversal_is_refused() {
    let auth = auth();
    for kid in [
        "../../etc/passwd",
        "/dev/null",
        "..\\..\\boot.ini",
        "",
        "%2e%2e%2f",
    ] {
        let token = with_header(&auth, &json!({"alg": "HS256", "typ": "JWT", "kid": kid}));
        assert_eq!(
            refused(&auth, &token).await,
            ErrorKind::InvalidTokenError,
            "{kid}"
        );
    }
    // Also on an instance that does use kids.
    let keyed = builder().kid("k1").build().unwrap();
    let token = with_header(&keyed, &json!({"alg": "HS256", "kid": "../../etc/passwd"}));
    assert_eq!(refused(&keyed, &token).await, ErrorKind::InvalidTokenError);
    let token = with_header(&keyed, &json!({"alg": "HS256", "kid": "k1/../k1"}));
    assert_eq!(refused(&keyed, &token).await, ErrorKind::InvalidTokenError);
    let token = with_header(&keyed, &json!({"alg": "HS256", "kid": "k1"}));
    assert!(keyed.verify_access(&token).await.is_ok());
}

/// A payload whose base64url form has a length that is not a multiple of four, so that it
/// can be padded and has unused trailing bits.
fn unaligned_payload() -> String {
    let mut payload = access_payload("1");
    for n in 0.. {
        payload["pad"] = json!("x".repeat(n));
        if !b64(payload.to_string()).len().is_multiple_of(4) {
            return payload.to_string();
        }
    }
    unreachable!()
}

/// A header whose base64url form has a length that is not a multiple of four.
fn unaligned_header() -> String {
    for n in 0.. {
        let header = json!({"alg": "HS256", "typ": "JWT", "pad": "x".repeat(n)}).to_string();
        if !b64(&header).len().is_multiple_of(4) {
            return header;
        }
    }
    unreachable!()
}

/// The same bytes with a non-canonical last character: its unused low bits set.
fn non_canonical(part: &str) -> String {
    assert_ne!(part.len() % 4, 0, "an aligned part has no unused bits");
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = *part.as_bytes().last().unwrap();
    let index = ALPHABET.iter().position(|&c| c == last).unwrap();
    // 2 leftover characters carry 4 unused bits, 3 carry 2: bit 0 is unused in both.
    let changed = ALPHABET[index ^ 1] as char;
    let out = format!("{}{changed}", &part[..part.len() - 1]);
    // A lenient decoder reads the same bytes: only the encoding is non-canonical.
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    use base64::Engine as _;
    assert_eq!(lenient.decode(&out).unwrap(), unb64(part));
    out
}

#[tokio::test]
async fn control_unaligned_parts_are_accepted_when_canonical() {
    let auth = auth();
    let token = sign_json_text(&auth, &unaligned_header(), &unaligned_payload());
    assert!(auth.verify_access(&token).await.is_ok());
}

#[tokio::test]
async fn padded_base64_payload_is_refused() {
    let auth = auth();
    let h = b64(hs256_header().to_string());
    let p = b64(unaligned_payload());
    let pad = "=".repeat(4 - p.len() % 4);
    let token = sign_raw(&auth, &format!("{h}.{p}{pad}")).unwrap();
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn padded_base64_header_is_refused() {
    let auth = auth();
    let h = b64(unaligned_header());
    let pad = "=".repeat(4 - h.len() % 4);
    let p = b64(access_payload("1").to_string());
    let token = sign_raw(&auth, &format!("{h}{pad}.{p}")).unwrap();
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn padded_base64_signature_is_refused() {
    let auth = auth();
    let token = good_token(&auth).await;
    let (h, p, s) = parts(&token);
    assert_ne!(s.len() % 4, 0);
    let pad = "=".repeat(4 - s.len() % 4);
    assert_eq!(
        refused(&auth, &format!("{h}.{p}.{s}{pad}")).await,
        ErrorKind::InvalidTokenError
    );
}

#[tokio::test]
async fn standard_alphabet_base64_is_refused() {
    // `+` and `/` belong to the standard alphabet, not to base64url.
    let auth = auth();
    let token = good_token(&auth).await;
    let (h, p, s) = parts(&token);
    let std_sig = s.replace('-', "+").replace('_', "/");
    if std_sig != s {
        assert_eq!(
            refused(&auth, &format!("{h}.{p}.{std_sig}")).await,
            ErrorKind::InvalidTokenError
        );
    }
    let garbage = format!("{h}.{p}.{}+/", &s[..s.len() - 2]);
    assert_eq!(refused(&auth, &garbage).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn non_canonical_base64_signature_is_refused() {
    let auth = auth();
    let token = good_token(&auth).await;
    let (h, p, s) = parts(&token);
    let token = format!("{h}.{p}.{}", non_canonical(&s));
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn non_canonical_base64_payload_is_refused() {
    let auth = auth();
    let h = b64(hs256_header().to_string());
    let p = non_canonical(&b64(unaligned_payload()));
    let token = sign_raw(&auth, &format!("{h}.{p}")).unwrap();
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn non_canonical_base64_header_is_refused() {
    let auth = auth();
    let h = non_canonical(&b64(unaligned_header()));
    let p = b64(access_payload("1").to_string());
    let token = sign_raw(&auth, &format!("{h}.{p}")).unwrap();
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn token_of_200_kb_is_refused_as_too_large() {
    let auth = auth();
    let mut payload = access_payload("1");
    payload["blob"] = json!("a".repeat(200 * 1024));
    let token = sign_payload(&auth, &payload).unwrap();
    assert!(token.len() > 200 * 1024);
    assert_eq!(refused(&auth, &token).await, ErrorKind::TokenTooLarge);
    // Size is checked before any parsing: 200 KB of garbage gets the same answer.
    let garbage = "!".repeat(200 * 1024);
    assert_eq!(refused(&auth, &garbage).await, ErrorKind::TokenTooLarge);
}

#[tokio::test]
async fn token_just_over_the_configured_limit_is_refused() {
    let auth = builder()
        .config(Config {
            secret: Some(TEST_SECRET.into()),
            max_token_bytes: 1024,
            password: cheap_passwords(),
            ..Config::default()
        })
        .build()
        .unwrap();
    let mut payload = access_payload("1");
    payload["blob"] = json!("");
    let base = sign_payload(&auth, &payload).unwrap().len();
    // Grow the payload until the token is just over 1024 bytes.
    let mut n = 0;
    let token = loop {
        payload["blob"] = json!("a".repeat(n));
        let token = sign_payload(&auth, &payload).unwrap();
        if token.len() > 1024 {
            break token;
        }
        n += 1;
    };
    assert!(base <= 1024);
    assert!(token.len() <= 1028);
    assert_eq!(refused(&auth, &token).await, ErrorKind::TokenTooLarge);
}

/// `depth` nested arrays: `[[[…]]]`.
fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// An instance whose size limit lets a deeply nested token through to the parser.
fn roomy() -> Centurion<TestUser> {
    builder()
        .config(Config {
            secret: Some(TEST_SECRET.into()),
            max_token_bytes: 1 << 20,
            password: cheap_passwords(),
            ..Config::default()
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn deeply_nested_json_in_a_claim_is_refused() {
    let auth = roomy();
    let base = access_payload("1").to_string();
    let payload = format!("{},\"deep\":{}}}", &base[..base.len() - 1], nested(10_000));
    let token = sign_json_text(&auth, &hs256_header().to_string(), &payload);
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
    // With the default size limit the same token never reaches the parser.
    let strict = centurion_testkit::auth();
    let token = sign_json_text(&strict, &hs256_header().to_string(), &payload);
    assert_eq!(refused(&strict, &token).await, ErrorKind::TokenTooLarge);
}

#[tokio::test]
async fn deeply_nested_json_objects_in_a_claim_are_refused() {
    let auth = roomy();
    let base = access_payload("1").to_string();
    let deep = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let payload = format!("{},\"deep\":{deep}}}", &base[..base.len() - 1]);
    let token = sign_json_text(&auth, &hs256_header().to_string(), &payload);
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn deeply_nested_json_in_a_reserved_claim_is_refused() {
    let auth = roomy();
    let base = access_payload("1");
    let mut object = base.as_object().unwrap().clone();
    object.remove("roles");
    let text = Value::Object(object).to_string();
    let payload = format!("{},\"roles\":{}}}", &text[..text.len() - 1], nested(10_000));
    let token = sign_json_text(&auth, &hs256_header().to_string(), &payload);
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

/// Regression: unknown header parameters were skipped by serde without any depth limit,
/// so 10 000 nested arrays in one were accepted (fixed in token.rs).
#[tokio::test]
async fn deeply_nested_json_in_the_header_is_refused() {
    let auth = roomy();
    let header = format!("{{\"alg\":\"HS256\",\"deep\":{}}}", nested(10_000));
    let token = sign_json_text(&auth, &header, &access_payload("1").to_string());
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn moderately_nested_custom_claims_are_accepted() {
    // The nesting limit does not refuse ordinary structured claims.
    let auth = auth();
    let base = access_payload("1").to_string();
    let payload = format!("{},\"deep\":{}}}", &base[..base.len() - 1], nested(20));
    let token = sign_json_text(&auth, &hs256_header().to_string(), &payload);
    assert!(auth.verify_access(&token).await.is_ok());
}

/// The access payload as JSON text with `extra` (`"name":value`) appended as a further
/// member, so that a name can appear twice.
fn payload_with_member(extra: &str) -> String {
    let base = access_payload("1").to_string();
    format!("{},{extra}}}", &base[..base.len() - 1])
}

#[tokio::test]
async fn duplicate_sub_is_refused() {
    let auth = auth();
    let payload = payload_with_member("\"sub\":\"2\"");
    let token = sign_json_text(&auth, &hs256_header().to_string(), &payload);
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn duplicate_exp_is_refused() {
    let auth = auth();
    let payload = payload_with_member(&format!("\"exp\":{}", now() + 999_999));
    let token = sign_json_text(&auth, &hs256_header().to_string(), &payload);
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn every_duplicate_reserved_claim_is_refused() {
    let auth = auth();
    for (name, value) in [
        ("iat", json!(now())),
        ("nbf", json!(now())),
        ("jti", json!("other")),
        ("type", json!("access")),
        ("fresh", json!(true)),
        ("roles", json!(["admin"])),
        ("fam", json!("f2")),
        ("gen", json!(2)),
        ("iat_ms", json!(1)),
    ] {
        // Claims the base payload lacks are written twice.
        let twice = if access_payload("1").get(name).is_some() {
            format!("\"{name}\":{value}")
        } else {
            format!("\"{name}\":{value},\"{name}\":{value}")
        };
        let payload = payload_with_member(&twice);
        let token = sign_json_text(&auth, &hs256_header().to_string(), &payload);
        assert_eq!(
            refused(&auth, &token).await,
            ErrorKind::InvalidTokenError,
            "{name}"
        );
    }
}

#[tokio::test]
async fn duplicate_claim_spelled_with_escapes_is_refused() {
    let auth = auth();
    let payload = payload_with_member("\"s\\u0075b\":\"2\"");
    let token = sign_json_text(&auth, &hs256_header().to_string(), &payload);
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn duplicate_custom_claim_is_refused() {
    let auth = auth();
    let payload = payload_with_member("\"tenant\":\"a\",\"tenant\":\"b\"");
    let token = sign_json_text(&auth, &hs256_header().to_string(), &payload);
    assert_eq!(refused(&auth, &token).await, ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn duplicate_header_parameter_is_refused() {
    let auth = auth();
    for header in [
        r#"{"alg":"HS256","alg":"none"}"#,
        r#"{"alg":"none","alg":"HS256"}"#,
        r#"{"alg":"HS256","kid":"a","kid":"b"}"#,
        r#"{"alg":"HS256","typ":"JWT","typ":"JWT"}"#,
    ] {
        let token = sign_json_text(&auth, header, &access_payload("1").to_string());
        assert_eq!(
            refused(&auth, &token).await,
            ErrorKind::InvalidTokenError,
            "{header}"
        );
    }
}

#[tokio::test]
async fn refresh_token_cannot_be_used_as_access_token() {
    let auth = auth();
    let pair = auth
        .issue_pair(&TestUser::new(1, "ada", &[]))
        .await
        .unwrap();
    assert_eq!(
        refused(&auth, &pair.refresh_token).await,
        ErrorKind::MisusedRefreshToken
    );
}

#[tokio::test]
async fn access_token_cannot_be_used_as_refresh_token() {
    let auth = builder().build().unwrap();
    let pair = auth
        .issue_pair(&TestUser::new(1, "ada", &[]))
        .await
        .unwrap();
    let err = auth.refresh(&pair.access_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MisusedAccessToken);
    // A crafted access token with every claim a refresh token has is refused the same way.
    let token = sign_payload(&auth, &access_payload("1")).unwrap();
    assert_eq!(
        auth.refresh(&token).await.unwrap_err().kind(),
        ErrorKind::MisusedAccessToken
    );
}

#[tokio::test]
async fn service_token_cannot_be_used_as_refresh_token() {
    let auth = auth();
    let token = auth
        .issue_service_token(&TestUser::new(1, "bot", &[]), None)
        .unwrap();
    let err = auth.refresh(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MisusedAccessToken);
}

#[tokio::test]
async fn registration_token_cannot_be_used_as_access_token() {
    let auth = auth();
    let token = auth
        .issue_registration_token(&TestUser::new(1, "ada", &[]))
        .unwrap();
    assert_eq!(
        refused(&auth, &token).await,
        ErrorKind::MisusedRegistrationToken
    );
    let err = auth.refresh(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MisusedRegistrationToken);
}

#[tokio::test]
async fn reset_token_cannot_be_used_as_access_token() {
    let auth = auth();
    let token = auth
        .issue_reset_token(&TestUser::new(1, "ada", &[]))
        .unwrap();
    assert_eq!(refused(&auth, &token).await, ErrorKind::MisusedResetToken);
    let err = auth.refresh(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MisusedResetToken);
}

#[tokio::test]
async fn registration_and_reset_tokens_are_not_interchangeable() {
    let auth = auth();
    let user = TestUser::new(1, "ada", &[]);
    let reset = auth.issue_reset_token(&user).unwrap();
    let err = auth.confirm_registration(&reset).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MisusedResetToken);
    let registration = auth.issue_registration_token(&user).unwrap();
    let err = auth
        .reset_password(&registration, "a new password")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MisusedRegistrationToken);
    let pair = auth.issue_pair(&user).await.unwrap();
    let err = auth
        .confirm_registration(&pair.access_token)
        .await
        .unwrap_err();
    assert_eq!(err.status().as_u16(), 401);
    let err = auth
        .reset_password(&pair.refresh_token, "a new password")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MisusedRefreshToken);
}

#[tokio::test]
async fn expired_refresh_token_is_refused_as_expired_refresh() {
    let auth = auth();
    let now = now();
    let mut payload = access_payload("1");
    payload["type"] = json!("refresh");
    payload["iat"] = json!(now - 1000);
    payload["nbf"] = json!(now - 1000);
    payload["exp"] = json!(now - 1);
    let token = sign_payload(&auth, &payload).unwrap();
    assert_eq!(
        auth.refresh(&token).await.unwrap_err().kind(),
        ErrorKind::ExpiredRefreshError
    );
}

#[tokio::test]
async fn expired_reset_token_is_refused_as_expired() {
    let auth = auth();
    let now = now();
    let mut payload = access_payload("1");
    payload["type"] = json!("reset");
    payload["iat"] = json!(now - 1000);
    payload["nbf"] = json!(now - 1000);
    payload["exp"] = json!(now - 1);
    let token = sign_payload(&auth, &payload).unwrap();
    let err = auth
        .reset_password(&token, "a new password")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ExpiredTokenError);
}

#[tokio::test]
async fn garbage_tokens_are_refused_without_panicking() {
    let auth = auth();
    for token in [
        "",
        ".",
        "..",
        "...",
        "a.b.c",
        "a.b.c.d",
        "ééé.ééé.ééé",
        "\u{0}.\u{0}.\u{0}",
        "eyJhbGciOiJIUzI1NiJ9..",
        ".eyJzdWIiOiIxIn0.",
        "e30.e30.e30",
    ] {
        assert_eq!(
            refused(&auth, token).await,
            ErrorKind::InvalidTokenError,
            "{token:?}"
        );
    }
}
