//! No `Debug` (or `Display`) output leaks a token, a secret, a private key or a password
//! hash, whatever ends up in a log line.

use std::sync::Arc;

use centurion::password::PasswordHasher;
use centurion::testing::TestUser;
use centurion::{
    Centurion, Config, CurrentUser, NewUser, Secret, UserParts, VerificationKeyConfig,
};
use centurion_testkit::prelude::*;

const HASH: &str =
    "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo";

/// Asserts that `text` contains none of `secrets`, nor a recognisable fragment of them.
fn assert_clean(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{what} leaks `{secret}`: {text}");
        if secret.len() > 24 {
            let fragment = &secret[secret.len() / 2 - 8..secret.len() / 2 + 8];
            assert!(
                !text.contains(fragment),
                "{what} leaks part of a secret: {text}"
            );
        }
    }
}

#[tokio::test]
async fn token_pair_debug_hides_both_tokens() {
    let auth = auth();
    let pair = auth
        .issue_pair(&TestUser::new(7, "ada", &[]))
        .await
        .unwrap();
    let text = format!("{pair:?} {pair:#?}");
    assert_clean(
        "TokenPair",
        &text,
        &[&pair.access_token, &pair.refresh_token],
    );
    for token in [&pair.access_token, &pair.refresh_token] {
        let (h, p, s) = parts(token);
        assert_clean("TokenPair", &text, &[&h, &p, &s]);
    }
}

#[tokio::test]
async fn claims_debug_holds_no_token() {
    let auth = auth();
    let pair = auth
        .issue_pair(&TestUser::new(7, "ada", &["admin"]))
        .await
        .unwrap();
    let claims = auth.verify_access(&pair.access_token).await.unwrap();
    let text = format!("{claims:?} {claims:#?}");
    let (_, _, signature) = parts(&pair.access_token);
    assert_clean(
        "Claims",
        &text,
        &[&pair.access_token, &signature, TEST_SECRET],
    );
    assert!(
        text.contains("admin"),
        "the Debug output is still useful: {text}"
    );
}

#[tokio::test]
async fn error_debug_and_display_hold_no_token() {
    let auth = auth();
    let pair = auth
        .issue_pair(&TestUser::new(7, "ada", &[]))
        .await
        .unwrap();
    let (h, p, s) = parts(&pair.access_token);
    let forged = format!("{h}.{p}.{}", &s[..s.len() - 2]);
    for token in [
        pair.refresh_token.clone(),
        forged,
        format!("{}x", "a".repeat(10_000)),
    ] {
        let err = auth.verify_access(&token).await.unwrap_err();
        let text = format!("{err:?} {err} {}", err.to_json());
        assert_clean("Error", &text, &[&token, TEST_SECRET]);
        let (_, _, signature) = parts(&pair.refresh_token);
        assert_clean("Error", &text, &[&signature]);
    }
}

#[tokio::test]
async fn authentication_error_holds_no_password_or_hash() {
    let (builder, store) = shared_builder();
    let hasher = PasswordHasher::new(&cheap_passwords()).unwrap();
    let mut ada = TestUser::new(7, "ada", &[]);
    ada.password_hash = hasher.hash("correct-password").await.unwrap();
    let hash = ada.password_hash.clone();
    store.insert(ada);
    let auth = builder.build().unwrap();
    let err = auth
        .authenticate("ada", "wrong-password-123")
        .await
        .unwrap_err();
    let text = format!("{err:?} {err}");
    assert_clean("Error", &text, &["wrong-password-123", &hash]);
    let err = auth
        .authenticate("nobody", "wrong-password-123")
        .await
        .unwrap_err();
    assert_clean(
        "Error",
        &format!("{err:?} {err}"),
        &["wrong-password-123", "nobody"],
    );
}

#[test]
fn secret_debug_is_redacted() {
    let secret = Secret::new(TEST_SECRET);
    assert_clean("Secret", &format!("{secret:?} {secret:#?}"), &[TEST_SECRET]);
    assert_eq!(secret.expose(), TEST_SECRET);
}

#[test]
fn config_debug_hides_secrets_and_private_keys() {
    let private = key("rsa_private.pem");
    let config = Config {
        secret: Some(TEST_SECRET.into()),
        private_key_pem: Some(Secret::new(private.clone())),
        verification_keys: vec![VerificationKeyConfig {
            kid: "old".into(),
            algorithm: "HS256".into(),
            secret: Some(OTHER_SECRET.into()),
            public_key_pem: None,
        }],
        ..Config::default()
    };
    let text = format!("{config:?} {config:#?}");
    let body = private
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>();
    assert_clean(
        "Config",
        &text,
        &[TEST_SECRET, OTHER_SECRET, body[0], body[5]],
    );
}

#[test]
fn instance_and_builder_debug_hide_the_secret() {
    let builder = builder();
    assert_clean("CenturionBuilder", &format!("{builder:?}"), &[TEST_SECRET]);
    let auth = builder.build().unwrap();
    assert_clean("Centurion", &format!("{auth:?} {auth:#?}"), &[TEST_SECRET]);
    let rsa = Centurion::<TestUser>::builder()
        .algorithm("RS256")
        .key_pair_pem(&key("rsa_private.pem"), &key("rsa_public.pem"))
        .password(cheap_passwords())
        .user_store(centurion::memory::MemoryUserStore::new());
    let line = key("rsa_private.pem").lines().nth(3).unwrap().to_owned();
    assert_clean("CenturionBuilder", &format!("{rsa:?}"), &[&line]);
}

#[test]
fn user_debug_hides_the_password_hash() {
    let parts = UserParts {
        id: "7".into(),
        username: "ada".into(),
        email: Some("ada@example.com".into()),
        password_hash: HASH.into(),
        roles: vec!["admin".into()],
        active: true,
    };
    assert_clean("UserParts", &format!("{parts:?} {parts:#?}"), &[HASH]);
    let new_user = NewUser::new("ada", HASH).with_active(false);
    assert_clean("NewUser", &format!("{new_user:?}"), &[HASH]);
    let mut user = TestUser::new(7, "ada", &[]);
    user.password_hash = HASH.into();
    assert_clean("TestUser", &format!("{user:?}"), &[HASH]);
    let current = CurrentUser(Arc::new(user));
    assert_clean("CurrentUser", &format!("{current:?}"), &[HASH]);
}

#[tokio::test]
async fn password_hasher_debug_shows_parameters_only() {
    let hasher = PasswordHasher::new(&cheap_passwords()).unwrap();
    let text = format!("{hasher:?}");
    assert!(!text.contains("$argon2"), "{text}");
    assert!(text.contains("1024"), "{text}");
}
