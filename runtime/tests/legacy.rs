//! Moving from Flask (issue 18, feature `legacy`): the hashes passlib and werkzeug wrote
//! (the committed samples in `tests/flask/hashes.json`, made by the real libraries with
//! `tests/flask/gen_hashes.py`), importing users, and flask-praetorian / flask-jwt-extended
//! tokens as those extensions shape them. The same points against the live Flask services
//! are in `examples/tests/flask_migration.rs`.

use std::time::{Duration, Instant};

use centurion::clock::ManualClock;
use centurion::dangerous::sign_payload;
use centurion::identity::{email_key, identity_key};
use centurion::memory::MemoryUserStore;
use centurion::testing::TestUser;
use centurion::{Centurion, ErrorKind, ImportedUser, LegacyConfig, UserStore};
use centurion_testkit::prelude::*;
use serde_json::{Value, json};

fn samples() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/flask/hashes.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("tests/flask/hashes.json"))
        .expect("JSON")
}

fn legacy_both() -> LegacyConfig {
    LegacyConfig {
        praetorian: true,
        jwt_extended: true,
        ..LegacyConfig::default()
    }
}

async fn store_with(users: &[(i64, &str, &[&str])]) -> MemoryUserStore<TestUser> {
    let store = MemoryUserStore::new();
    for (id, name, roles) in users {
        store
            .upsert(
                ImportedUser::new(
                    id.to_string(),
                    *name,
                    "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
                )
                .with_roles(roles.iter().copied()),
            )
            .await
            .unwrap();
    }
    store
}

/// An instance with legacy tokens on (both sources), users alice (1, admin+editor) and
/// bob (2), on a manual clock.
async fn legacy_auth(legacy: LegacyConfig) -> (Centurion<TestUser>, ManualClock) {
    let clock = ManualClock::new();
    let auth = Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .user_store(store_with(&[(1, "alice", &["admin", "editor"]), (2, "bob", &[])]).await)
        .clock(clock.clone())
        .legacy_tokens(legacy)
        .build()
        .unwrap();
    (auth, clock)
}

async fn plain_auth() -> Centurion<TestUser> {
    Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .user_store(store_with(&[(1, "alice", &["admin", "editor"])]).await)
        .build()
        .unwrap()
}

/// What flask-praetorian 1.6.2 mints for alice (recorded from the live extension).
fn praetorian_payload(now: u64) -> Value {
    json!({"iat": now, "exp": now + 900, "jti": "beaa91f5-5a04-46de-8dcc-6336f62a729f",
           "id": 1, "rls": "admin,editor", "rf_exp": now + 30 * 86400})
}

/// What flask-jwt-extended 4.7.4 mints for alice at login.
fn jwt_extended_payload(now: u64, kind: &str) -> Value {
    json!({"fresh": kind == "access", "iat": now, "jti": format!("93ee67b0-41e9-4d17-a38d-{kind}"),
           "type": kind, "sub": "1", "nbf": now, "csrf": "0043a58e-a201-493c-bedf-c0ca07b5fc93",
           "exp": now + 900, "roles": ["admin", "editor"]})
}

fn sign<U>(auth: &Centurion<U>, payload: &Value) -> String {
    sign_payload(auth, payload).unwrap()
}

// ---------------------------------------------------------------------------------------
// Hashes

#[tokio::test]
async fn every_passlib_and_werkzeug_sample_verifies_and_wrong_passwords_do_not() {
    let auth = plain_auth().await;
    let hasher = auth.hasher();
    let samples = samples();
    let hashes = samples["hashes"].as_array().unwrap();
    assert!(hashes.len() >= 40);
    for e in hashes {
        let (hash, scheme) = (e["hash"].as_str().unwrap(), e["scheme"].as_str().unwrap());
        let good = e["password"].as_str().unwrap();
        let wrong = e["wrong"].as_str().unwrap();
        hasher
            .check_stored_hash(hash)
            .unwrap_or_else(|e| panic!("{scheme}: {e}"));
        assert!(hasher.verify(good, hash).await.unwrap(), "{scheme} {hash}");
        assert!(!hasher.verify(wrong, hash).await.unwrap(), "{scheme} wrong");
        if let Some(also) = e["also_verifies"].as_str() {
            assert!(
                hasher.verify(also, hash).await.unwrap(),
                "{scheme}: 72-byte rule"
            );
        }
        // (The cheap argon2id sample has exactly the test suite's parameters.)
        if !hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$") {
            assert!(hasher.needs_rehash(hash), "{scheme} is rehashed at login");
        }
    }
}

#[tokio::test]
async fn unknown_and_malformed_formats_fail_with_an_error_naming_the_format() {
    let auth = plain_auth().await;
    let hasher = auth.hasher();
    let samples = samples();
    for e in samples["other_passlib"].as_array().unwrap() {
        let hash = e["hash"].as_str().unwrap();
        if e["expect"] == "verifies" {
            // passlib's $pbkdf2$ (SHA-1): one of ours.
            assert!(
                hasher
                    .verify(e["password"].as_str().unwrap(), hash)
                    .await
                    .unwrap()
            );
            continue;
        }
        let err = hasher.check_stored_hash(hash).unwrap_err();
        assert!(
            err.message().starts_with("unknown password hash format: "),
            "{}",
            err.message()
        );
        assert!(!err.message().contains(hash), "the hash is never echoed");
        assert!(
            !hasher
                .verify(e["password"].as_str().unwrap(), hash)
                .await
                .unwrap()
        );
    }
    for e in samples["malformed"].as_array().unwrap() {
        let hash = e["hash"].as_str().unwrap();
        let err = hasher.check_stored_hash(hash).unwrap_err();
        assert!(
            err.message().contains("password hash") || err.message().contains("hash:"),
            "{hash:?}: {}",
            err.message()
        );
        assert!(!hasher.verify("x", hash).await.unwrap());
    }
}

#[tokio::test]
async fn hostile_costs_are_refused_before_any_work() {
    let auth = plain_auth().await;
    let hasher = auth.hasher();
    let samples = samples();
    for e in samples["hostile"].as_array().unwrap() {
        let hash = e["hash"].as_str().unwrap();
        let err = hasher.check_stored_hash(hash).unwrap_err();
        assert!(
            err.message().contains("above the cost cap"),
            "{}",
            err.message()
        );
        let start = Instant::now();
        assert!(!hasher.verify("x", hash).await.unwrap());
        assert!(
            start.elapsed() < Duration::from_millis(200),
            "{hash}: {:?}",
            start.elapsed()
        );
    }
}

#[tokio::test]
async fn an_imported_flask_hash_logs_in_and_is_replaced_by_argon2id() {
    let samples = samples();
    let store = std::sync::Arc::new(MemoryUserStore::<TestUser>::new());
    let auth = Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .user_store(store.clone())
        .build()
        .unwrap();
    let picks: Vec<&Value> = samples["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["hash_seconds_python"].as_f64().is_some_and(|s| s < 0.05))
        .collect();
    assert!(picks.len() >= 5);
    let users: Vec<ImportedUser> = picks
        .iter()
        .enumerate()
        .map(|(n, e)| {
            serde_json::from_value(json!({
                "id": 100 + n, "username": format!("u{n}"), "email": format!("u{n}@example.com"),
                "password_hash": e["hash"], "roles": ["editor"], "active": true,
            }))
            .unwrap()
        })
        .collect();
    auth.import_users(users).await.unwrap();
    for (n, e) in picks.iter().enumerate() {
        let name = format!("u{n}");
        let err = auth
            .login(&name, e["wrong"].as_str().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AuthenticationError);
        let before = store.lookup(&name).await.unwrap().unwrap().password_hash;
        assert_eq!(
            before,
            e["hash"].as_str().unwrap(),
            "a failed login keeps the hash"
        );
        let pair = auth
            .login(&name, e["password"].as_str().unwrap())
            .await
            .unwrap();
        let claims = auth.verify_access(&pair.access_token).await.unwrap();
        assert_eq!(claims.subject(), (100 + n).to_string());
        let after = store.lookup(&name).await.unwrap().unwrap().password_hash;
        assert!(
            after.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{after}"
        );
        auth.login(&name, e["password"].as_str().unwrap())
            .await
            .unwrap();
    }
    // Ids handed out later stay above the imported ones.
    let user = auth
        .create_user("newcomer", None, "a long enough password", &[])
        .await
        .unwrap();
    assert!(user.id >= 100 + picks.len() as i64, "{}", user.id);
}

#[tokio::test]
async fn an_import_with_an_unknown_format_writes_nothing_and_names_the_entry() {
    let store = std::sync::Arc::new(MemoryUserStore::<TestUser>::new());
    let auth = Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .user_store(store.clone())
        .build()
        .unwrap();
    let users: Vec<ImportedUser> = serde_json::from_value(json!([
        {"id": 1, "username": "ok", "password_hash": "$2b$04$pL4DaBposYdorF39KypqI.vvPaXUcGn1ZP7b2xqSqDTMoChU3Qz6e"},
        {"id": "2", "username": "old", "password_hash": "$6$rounds=656000$abc$def"},
    ]))
    .unwrap();
    let err = auth.import_users(users).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert_eq!(
        err.message(),
        "entry 2 (id 2, username old): unknown password hash format: sha512_crypt ($6$)"
    );
    assert!(store.lookup("ok").await.unwrap().is_none());
}

#[tokio::test]
async fn an_import_run_twice_updates_by_id() {
    let store = std::sync::Arc::new(MemoryUserStore::<TestUser>::new());
    let auth = Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .user_store(store.clone())
        .build()
        .unwrap();
    let hash = auth
        .hasher()
        .hash("correct horse battery staple")
        .await
        .unwrap();
    let user = |name: &str, roles: Value| -> ImportedUser {
        serde_json::from_value(json!({"id": 7, "username": name, "password_hash": hash,
                                      "roles": roles, "active": true}))
        .unwrap()
    };
    auth.import_users(vec![user("ada", json!(["admin"]))])
        .await
        .unwrap();
    auth.import_users(vec![user("ada2", json!([]))])
        .await
        .unwrap();
    assert!(store.lookup("ada").await.unwrap().is_none());
    let ada = store.identify("7").await.unwrap().unwrap();
    assert_eq!(ada.username, "ada2");
    assert!(ada.roles.is_empty());
    // A username held by another id is refused.
    let other: ImportedUser =
        serde_json::from_value(json!({"id": 8, "username": "ada2", "password_hash": hash}))
            .unwrap();
    let err = auth.import_users(vec![other]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UserExists);
    assert!(err.message().starts_with("entry 1 (id 8, username ada2)"));
}

// ---------------------------------------------------------------------------------------
// Their tokens

#[tokio::test]
async fn flask_tokens_are_refused_when_legacy_tokens_are_off() {
    // Before issue 18 a flask-jwt-extended token signed with the same secret passed as an
    // access token of ours: it has `sub`, `iat`, `nbf`, `exp`, `jti` and `type`.
    let auth = plain_auth().await;
    let now = now();
    // Without `csrf` (JWT_COOKIE_CSRF_PROTECT = False) its UUID `jti` still tells it apart.
    let mut no_csrf = jwt_extended_payload(now, "access");
    no_csrf.as_object_mut().unwrap().remove("csrf");
    no_csrf["jti"] = json!("c7360d3d-8e0e-4c5f-9f0a-2b1f3c4d5e6f");
    for payload in [
        jwt_extended_payload(now, "access"),
        jwt_extended_payload(now, "refresh"),
        no_csrf,
        praetorian_payload(now),
    ] {
        let token = sign(&auth, &payload);
        let err = auth.verify_access(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidTokenError, "{payload}");
        assert!(auth.refresh(&token).await.is_err());
    }
}

#[tokio::test]
async fn praetorian_access_tokens_are_accepted_with_their_roles() {
    let (auth, clock) = legacy_auth(legacy_both()).await;
    let now = secs_on(&clock);
    let claims = auth
        .verify_access(&sign(&auth, &praetorian_payload(now)))
        .await
        .unwrap();
    assert_eq!(claims.subject(), "1");
    assert_eq!(claims.roles(), ["admin", "editor"]);
    assert!(!claims.is_fresh(), "praetorian has no freshness");
    assert!(auth.identify(claims.subject()).await.unwrap().is_some());

    // A string id, spaces in rls, an empty rls.
    let mut p = praetorian_payload(now);
    p["id"] = json!("2");
    p["rls"] = json!("");
    p["jti"] = json!("another");
    let claims = auth.verify_access(&sign(&auth, &p)).await.unwrap();
    assert_eq!((claims.subject(), claims.roles().len()), ("2", 0));
}

/// A Flask token's roles go through the instance's role table like ours (`with_access`
/// after verification, in `Core`): `owner` includes `admin` and `editor` and grants
/// `reports:export`, with the cache of verified tokens off and on (a second verification
/// is a hit), for praetorian's `rls` and jwt-extended's roles claim alike.
#[tokio::test]
async fn flask_tokens_get_the_role_hierarchy_and_its_permissions() {
    use centurion_testkit::roles::{OrgRole, Perm};
    for cache in [0, 1 << 20] {
        let clock = ManualClock::new();
        let auth = Centurion::<TestUser>::builder()
            .secret(TEST_SECRET)
            .password(cheap_passwords())
            .user_store(store_with(&[(1, "alice", &["owner"])]).await)
            .clock(clock.clone())
            .legacy_tokens(legacy_both())
            .roles::<OrgRole>()
            .verified_cache_bytes(cache)
            .build()
            .unwrap();
        let now = secs_on(&clock);
        let mut praetorian = praetorian_payload(now);
        praetorian["rls"] = json!("owner");
        let mut extended = jwt_extended_payload(now, "access");
        extended["roles"] = json!(["owner"]);
        for token in [sign(&auth, &praetorian), sign(&auth, &extended)] {
            for _ in 0..2 {
                let claims = auth.verify_access(&token).await.unwrap();
                assert!(
                    claims.has_role("owner")
                        && claims.has_role("admin")
                        && claims.has_role("editor"),
                    "cache {cache}: {:?}",
                    claims.roles()
                );
                assert!(!claims.has_role("auditor"));
                assert!(claims.has_permission(Perm::ReportsExport), "cache {cache}");
                assert!(claims.has_permission(Perm::ReportsRead), "cache {cache}");
                assert!(!claims.has_permission(Perm::BillingRead));
            }
        }
    }
}

#[tokio::test]
async fn praetorian_tokens_pass_the_same_strict_checks_as_ours() {
    let (auth, clock) = legacy_auth(legacy_both()).await;
    let now = secs_on(&clock);
    let refused = |edit: &dyn Fn(&mut Value)| {
        let mut p = praetorian_payload(now);
        edit(&mut p);
        sign(&auth, &p)
    };
    let cases: Vec<(&str, String, ErrorKind)> = vec![
        (
            "no jti",
            refused(&|p| drop(p.as_object_mut().unwrap().remove("jti"))),
            ErrorKind::InvalidTokenError,
        ),
        (
            "jti not a string",
            refused(&|p| p["jti"] = json!(5)),
            ErrorKind::InvalidTokenError,
        ),
        (
            "no exp",
            refused(&|p| drop(p.as_object_mut().unwrap().remove("exp"))),
            ErrorKind::InvalidTokenError,
        ),
        (
            "expired",
            refused(&|p| p["exp"] = json!(now - 1)),
            ErrorKind::ExpiredAccessError,
        ),
        (
            "iat ahead",
            refused(&|p| p["iat"] = json!(now + 30)),
            ErrorKind::EarlyTokenError,
        ),
        (
            "aud",
            refused(&|p| p["aud"] = json!("x")),
            ErrorKind::InvalidTokenError,
        ),
        (
            "id an object",
            refused(&|p| p["id"] = json!({"a": 1})),
            ErrorKind::InvalidTokenError,
        ),
        (
            "rls a list",
            refused(&|p| p["rls"] = json!(["admin"])),
            ErrorKind::InvalidTokenError,
        ),
        (
            "registration",
            refused(&|p| p["is_ert"] = json!(true)),
            ErrorKind::MisusedRegistrationToken,
        ),
        (
            "reset",
            refused(&|p| p["is_prt"] = json!(true)),
            ErrorKind::MisusedResetToken,
        ),
    ];
    for (what, token, kind) in cases {
        let err = auth.verify_access(&token).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{what}: {}", err.message());
    }
    // Another key, another algorithm.
    let other = Centurion::<TestUser>::builder()
        .secret(OTHER_SECRET)
        .user_store(MemoryUserStore::new())
        .build()
        .unwrap();
    let forged = sign(&other, &praetorian_payload(now));
    assert!(auth.verify_access(&forged).await.is_err());
    let (h, p, _) = parts(&sign(&auth, &praetorian_payload(now)));
    let hs512 = sign_json_text(
        &auth,
        r#"{"alg":"HS512","typ":"JWT"}"#,
        &String::from_utf8(unb64(&p)).unwrap(),
    );
    assert!(auth.verify_access(&hs512).await.is_err());
    let _ = h;
    // Too large.
    let mut big = praetorian_payload(now);
    big["pad"] = json!("x".repeat(9000));
    assert_eq!(
        auth.verify_access(&sign(&auth, &big))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::TokenTooLarge
    );
}

#[tokio::test]
async fn a_revoked_legacy_jti_is_refused() {
    let (auth, clock) = legacy_auth(legacy_both()).await;
    let now = secs_on(&clock);
    for payload in [praetorian_payload(now), jwt_extended_payload(now, "access")] {
        let token = sign(&auth, &payload);
        let claims = auth.verify_access(&token).await.unwrap();
        auth.revoke_token(&claims).await.unwrap();
        let err = auth.verify_access(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RevokedTokenError);
    }
    // A per-user revocation reaches legacy tokens through their `iat`.
    let token = sign(
        &auth,
        &json!({"id": 2, "jti": "j-bob", "exp": now + 900,
                                    "rf_exp": now + 9000, "iat": now}),
    );
    auth.verify_access(&token).await.unwrap();
    auth.revoke_user("2").await.unwrap();
    assert_eq!(
        auth.verify_access(&token).await.unwrap_err().kind(),
        ErrorKind::RevokedTokenError
    );
}

#[tokio::test]
async fn jwt_extended_tokens_are_accepted_as_access_tokens_only() {
    let (auth, clock) = legacy_auth(legacy_both()).await;
    let now = secs_on(&clock);
    let claims = auth
        .verify_access(&sign(&auth, &jwt_extended_payload(now, "access")))
        .await
        .unwrap();
    assert_eq!(claims.subject(), "1");
    assert_eq!(claims.roles(), ["admin", "editor"]);
    assert!(claims.is_fresh());
    // A refresh token of theirs is no access token.
    let err = auth
        .verify_access(&sign(&auth, &jwt_extended_payload(now, "refresh")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MisusedRefreshToken);
    // `fresh` as a timestamp; an integer `sub` (JWT_VERIFY_SUB = False apps).
    let mut p = jwt_extended_payload(now, "access");
    p["fresh"] = json!(now as f64 + 60.5);
    p["sub"] = json!(2);
    let claims = auth.verify_access(&sign(&auth, &p)).await.unwrap();
    assert!(claims.is_fresh());
    assert_eq!(claims.subject(), "2");
    p["fresh"] = json!(now - 1);
    assert!(
        !auth
            .verify_access(&sign(&auth, &p))
            .await
            .unwrap()
            .is_fresh()
    );
    // No jti: refused (revocation needs it); no exp: refused (it would never expire).
    for missing in ["jti", "exp"] {
        let mut p = jwt_extended_payload(now, "access");
        p.as_object_mut().unwrap().remove(missing);
        assert!(
            auth.verify_access(&sign(&auth, &p)).await.is_err(),
            "{missing}"
        );
    }
    // Another type (reset tokens of some app) is refused.
    let mut p = jwt_extended_payload(now, "access");
    p["type"] = json!("reset");
    assert!(auth.verify_access(&sign(&auth, &p)).await.is_err());
}

#[tokio::test]
async fn the_jwt_extended_roles_claim_is_configurable() {
    let (auth, clock) = legacy_auth(LegacyConfig {
        jwt_extended: true,
        roles_claim: "perms".into(),
        ..LegacyConfig::default()
    })
    .await;
    let now = secs_on(&clock);
    let mut p = jwt_extended_payload(now, "access");
    p.as_object_mut().unwrap().remove("roles");
    p["perms"] = json!("admin, editor");
    let claims = auth.verify_access(&sign(&auth, &p)).await.unwrap();
    assert_eq!(claims.roles(), ["admin", "editor"]);
    // praetorian is off here: its tokens are refused.
    assert!(
        auth.verify_access(&sign(&auth, &praetorian_payload(now)))
            .await
            .is_err()
    );
    // Our access tokens carry the roles under that name too.
    let user = TestUser::new(1, "alice", &["admin"]);
    let pair = auth.issue_pair(&user).await.unwrap();
    assert_eq!(payload_of(&pair.access_token)["perms"], json!(["admin"]));
}

// ---------------------------------------------------------------------------------------
// Our tokens, as the Flask services see them

fn verifies_with_secret(token: &str) -> bool {
    centurion::install_crypto_provider();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(TEST_SECRET.as_bytes()),
        &validation,
    )
    .is_ok()
}

#[tokio::test]
async fn only_our_access_tokens_are_signed_with_the_shared_secret() {
    let (auth, _clock) = legacy_auth(legacy_both()).await;
    let user = TestUser::new(1, "alice", &["admin", "editor"]);
    let pair = auth.issue_pair(&user).await.unwrap();
    assert!(verifies_with_secret(&pair.access_token));
    assert!(!verifies_with_secret(&pair.refresh_token));
    assert!(!verifies_with_secret(
        &auth.issue_registration_token(&user).unwrap()
    ));
    assert!(!verifies_with_secret(
        &auth.issue_reset_token(&user).unwrap()
    ));
    assert!(!verifies_with_secret(
        &auth.issue_service_token(&user, None).unwrap()
    ));
    // They still work here, each only where it belongs.
    auth.verify_access(&auth.issue_service_token(&user, None).unwrap())
        .await
        .unwrap();
    let err = auth.verify_access(&pair.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MisusedRefreshToken);
    auth.refresh(&pair.refresh_token).await.unwrap();
    // Without legacy tokens every kind is signed with the secret, as before.
    let plain = plain_auth().await;
    let pair = plain.issue_pair(&user).await.unwrap();
    assert!(verifies_with_secret(&pair.refresh_token));
}

#[tokio::test]
async fn a_token_signed_with_the_secret_is_never_one_of_our_other_kinds() {
    // A Flask service has the secret: what it signs is at most an access token here.
    let (auth, clock) = legacy_auth(legacy_both()).await;
    let now = secs_on(&clock);
    let mut p = access_payload("1");
    p["iat_ms"] = json!(now * 1000);
    p["type"] = json!("refresh");
    p.as_object_mut().unwrap().remove("roles");
    p.as_object_mut().unwrap().remove("fresh");
    let token = sign(&auth, &p);
    assert!(auth.refresh(&token).await.is_err());
    for kind in ["registration", "reset"] {
        p["type"] = json!(kind);
        let token = sign(&auth, &p);
        assert!(auth.confirm_registration(&token).await.is_err());
        assert!(
            auth.reset_password(&token, "a long new password")
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn praetorian_crossing_claims_are_in_access_tokens_only() {
    let (auth, _clock) = legacy_auth(legacy_both()).await;
    let user = TestUser::new(1, "alice", &["admin", "editor"]);
    let pair = auth.issue_pair(&user).await.unwrap();
    let access = payload_of(&pair.access_token);
    assert_eq!(access["id"], json!(1));
    assert_eq!(access["rls"], json!("admin,editor"));
    assert_eq!(
        access["rf_exp"], access["exp"],
        "rf_exp = exp: praetorian cannot extend it"
    );
    assert!(access.get("aud").is_none());
    let refresh = payload_of(&pair.refresh_token);
    assert!(refresh.get("id").is_none() && refresh.get("rf_exp").is_none());
    // Still ours: verified as ours (with its family), not as a praetorian token.
    let claims = auth.verify_access(&pair.access_token).await.unwrap();
    assert!(claims.family().is_some());
    // And after a refresh.
    let pair = auth.refresh(&pair.refresh_token).await.unwrap();
    assert_eq!(payload_of(&pair.access_token)["rls"], json!("admin,editor"));
    // A custom claim named like theirs is refused at issue time.
    let err = auth
        .issue_pair_with(&user, &json!({"rls": "owner"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ClaimCollisionError);
}

#[test]
fn legacy_praetorian_refuses_an_audience() {
    let err = Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .audience("api")
        .user_store(MemoryUserStore::new())
        .legacy_tokens(legacy_both())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigurationError);
    assert!(err.message().contains("aud"), "{}", err.message());
}

// ---------------------------------------------------------------------------------------
// Their refresh, honoured once

#[tokio::test]
async fn an_expired_praetorian_token_is_exchanged_once_for_a_session_ending_at_rf_exp() {
    let (auth, clock) = legacy_auth(legacy_both()).await;
    let now = secs_on(&clock);
    let mut p = praetorian_payload(now);
    p["rf_exp"] = json!(now + 3600);
    let token = sign(&auth, &p);
    clock.advance(Duration::from_secs(1000)); // past exp, before rf_exp
    assert_eq!(
        auth.verify_access(&token).await.unwrap_err().kind(),
        ErrorKind::ExpiredAccessError
    );
    let pair = auth.refresh(&token).await.unwrap();
    let claims = auth.verify_access(&pair.access_token).await.unwrap();
    assert_eq!(claims.subject(), "1");
    assert_eq!(claims.roles(), ["admin", "editor"]);
    assert!(!claims.is_fresh());
    let refresh = payload_of(&pair.refresh_token);
    assert_eq!(
        refresh["exp"],
        json!(now + 3600),
        "the session ends at rf_exp"
    );
    // Our rotation goes on within that session, never past rf_exp.
    let next = auth.refresh(&pair.refresh_token).await.unwrap();
    assert_eq!(payload_of(&next.refresh_token)["exp"], json!(now + 3600));
    assert!(payload_of(&next.access_token)["exp"].as_u64().unwrap() <= now + 3600);

    // The legacy token is spent: again is reuse, and ends the session it started.
    let err = auth.refresh(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshReuseError);
    let err = auth.verify_access(&next.access_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RevokedTokenError);
}

#[tokio::test]
async fn an_unexpired_praetorian_token_is_exchanged_and_then_refused_as_access() {
    let (auth, clock) = legacy_auth(legacy_both()).await;
    let token = sign(&auth, &praetorian_payload(secs_on(&clock)));
    auth.verify_access(&token).await.unwrap();
    auth.refresh(&token).await.unwrap();
    assert_eq!(
        auth.verify_access(&token).await.unwrap_err().kind(),
        ErrorKind::RevokedTokenError
    );
}

#[tokio::test]
async fn a_praetorian_token_past_rf_exp_is_not_exchanged() {
    let (auth, clock) = legacy_auth(legacy_both()).await;
    let now = secs_on(&clock);
    let mut p = praetorian_payload(now);
    p["exp"] = json!(now + 10);
    p["rf_exp"] = json!(now + 20);
    let token = sign(&auth, &p);
    clock.advance(Duration::from_secs(21));
    assert_eq!(
        auth.refresh(&token).await.unwrap_err().kind(),
        ErrorKind::ExpiredRefreshError
    );
}

#[tokio::test]
async fn a_jwt_extended_refresh_token_is_exchanged_once() {
    let (auth, clock) = legacy_auth(legacy_both()).await;
    let now = secs_on(&clock);
    let token = sign(&auth, &jwt_extended_payload(now, "refresh"));
    let pair = auth.refresh(&token).await.unwrap();
    assert_eq!(payload_of(&pair.refresh_token)["exp"], json!(now + 900));
    auth.verify_access(&pair.access_token).await.unwrap();
    assert_eq!(
        auth.refresh(&token).await.unwrap_err().kind(),
        ErrorKind::RefreshReuseError
    );
    // Their access token is no refresh token.
    let access = sign(&auth, &jwt_extended_payload(now, "access"));
    assert_eq!(
        auth.refresh(&access).await.unwrap_err().kind(),
        ErrorKind::MisusedAccessToken
    );
}

#[tokio::test]
async fn the_exchange_reloads_the_user() {
    let (auth, clock) = legacy_auth(legacy_both()).await;
    let now = secs_on(&clock);
    let mut p = praetorian_payload(now);
    p["id"] = json!(99);
    let err = auth.refresh(&sign(&auth, &p)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingUserError);
}

// ---------------------------------------------------------------------------------------
// UserStore::upsert on every shipped store

/// What `upsert` promises, on one store; `tag` keeps names and ids apart on a shared
/// database.
async fn upsert_contract<S: UserStore<TestUser>>(store: &S, tag: &str, base: i64) {
    let imported = |id: i64, name: &str, email: &str, roles: &[&str], active: bool| {
        ImportedUser::new(
            id.to_string(),
            format!("{tag}-{name}"),
            "$2b$04$pL4DaBposYdorF39KypqI.vvPaXUcGn1ZP7b2xqSqDTMoChU3Qz6e",
        )
        .with_email(format!("{tag}-{email}"))
        .with_roles(roles.iter().copied())
        .with_active(active)
    };
    let x = store
        .upsert(imported(base, "ada", "ada@example.com", &["admin"], true))
        .await
        .unwrap();
    assert_eq!(x.id, base);
    let found = store.identify(&base.to_string()).await.unwrap().unwrap();
    assert_eq!(
        (found.username.as_str(), found.roles.len()),
        (format!("{tag}-ada").as_str(), 1)
    );
    assert!(
        found.password_hash.starts_with("$2b$04$"),
        "stored as given"
    );
    // Again, by id: every field replaced.
    store
        .upsert(imported(base, "ada2", "ada2@example.com", &[], false))
        .await
        .unwrap();
    assert!(store.lookup(&format!("{tag}-ada")).await.unwrap().is_none());
    let found = store.lookup(&format!("{tag}-ada2")).await.unwrap().unwrap();
    assert_eq!(found.id, base);
    assert!(!found.active && found.roles.is_empty());
    // Another id may not take its username or (case-insensitively) its address.
    let err = store
        .upsert(imported(base + 1, "ada2", "other@example.com", &[], true))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UserExists);
    let shouting =
        imported(base + 1, "bob", "x", &[], true).with_email(format!("{tag}-ADA2@example.com"));
    let err = store.upsert(shouting).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UserExists);
    // Compared by the identity keys, as `create` compares them: the same username in
    // capitals or in full-width letters is held by `base` too.
    for name in [format!("{tag}-ADA2"), format!("{tag}-ａｄａ2")] {
        let err = store
            .upsert(ImportedUser::new(
                (base + 1).to_string(),
                name.clone(),
                "$2b$04$x",
            ))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UserExists, "{name}");
    }
    // The keys are stored: look-ups by key find the imported user, whatever the case of
    // the name or address it was imported with.
    store
        .upsert(
            imported(base, "Ada3", "x", &[], true).with_email(format!("{tag}-Ada3@Example.COM")),
        )
        .await
        .unwrap();
    let by_name = store
        .lookup(&identity_key(&format!("{tag}-ADA3")))
        .await
        .unwrap()
        .map(|u| u.id);
    let by_email = store
        .lookup_by_email(&email_key(&format!("{tag}-ada3@example.com")))
        .await
        .unwrap()
        .map(|u| u.id);
    assert_eq!((by_name, by_email), (Some(base), Some(base)));
    // Its old name's key was freed: another id may take it now.
    assert!(
        store
            .lookup(&identity_key(&format!("{tag}-ada2")))
            .await
            .unwrap()
            .is_none()
    );
    // Ids it cannot hold.
    for id in ["abc", "0", "-3", ""] {
        let mut bad = imported(0, "bad", "bad@example.com", &[], true);
        bad.id = id.to_owned();
        assert_eq!(
            store.upsert(bad).await.unwrap_err().kind(),
            ErrorKind::InvalidRequest,
            "{id:?}"
        );
    }
    // Ids handed out later stay above the imported one.
    let created = store
        .create(centurion::NewUser::new(format!("{tag}-later"), ""))
        .await
        .unwrap();
    assert!(created.id > base, "{} after {base}", created.id);
}

#[tokio::test]
async fn memory_store_upserts_by_id() {
    upsert_contract(&MemoryUserStore::<TestUser>::new(), "mem", 500).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_store_upserts_by_id() {
    let dir = centurion_testkit::TempDir::new("legacy-upsert");
    let url = format!("sqlite://{}", dir.path().join("users.db").display());
    let store = centurion::sql::SqlUserStore::<TestUser>::connect(&url)
        .await
        .unwrap();
    upsert_contract(&store, "lite", 500).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_upserts_by_id() {
    let Some(pg) = centurion_testkit::shared_postgres("postgres (legacy import)") else {
        return;
    };
    let store = centurion::sql::SqlUserStore::<TestUser>::connect(&pg.url())
        .await
        .unwrap();
    // A base no other test of the shared cluster reaches, different on every run.
    let base = 1_000_000 + i64::from(std::process::id() % 100_000) * 10;
    upsert_contract(&store, &format!("pg{base}"), base).await;
}
