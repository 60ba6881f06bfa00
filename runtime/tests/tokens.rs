//! Issuing tokens: the pair at login, freshness, claims, custom claims, issuer and
//! audience, leeway, and the other token kinds.

use std::time::Duration;

use centurion::dangerous::sign_payload;
use centurion::testing::TestUser;
use centurion::{Centurion, ErrorKind, RESERVED_CLAIMS, TokenKind, TokenPair};
use centurion_testkit::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

fn ada() -> TestUser {
    TestUser::new(7, "ada", &["admin", "editor"])
}

#[tokio::test]
async fn login_returns_a_fresh_access_token_and_a_refresh_token() {
    let hasher = centurion::password::PasswordHasher::new(&cheap_passwords()).unwrap();
    let hash = hasher.hash("correct horse").await.unwrap();
    let auth = builder_with(centurion::memory::MemoryUserStore::new(), &hash).await;
    let pair = auth.login("ada", "correct horse").await.unwrap();
    let claims = auth.verify_access(&pair.access_token).await.unwrap();
    assert!(claims.is_fresh());
    assert_eq!(claims.kind(), TokenKind::Access);
    assert_eq!(claims.roles(), ["admin", "editor"]);
    assert_eq!(pair.token_type, "Bearer");
    assert_eq!(pair.expires_in, 15 * 60);
    let refresh = payload_of(&pair.refresh_token);
    assert_eq!(refresh["type"], "refresh");
    assert_eq!(refresh["sub"], claims.subject());
    assert_eq!(refresh["fam"], claims.family().unwrap());
    assert!(
        refresh.get("roles").is_none(),
        "roles travel in access tokens only"
    );
    assert_eq!(
        refresh["exp"].as_u64().unwrap() - refresh["iat"].as_u64().unwrap(),
        30 * 86_400
    );
}

/// An instance over a memory store holding ada with `hash`.
async fn builder_with(
    store: centurion::memory::MemoryUserStore<TestUser>,
    hash: &str,
) -> Centurion<TestUser> {
    use centurion::UserStore;
    store
        .create(centurion::NewUser::new("ada", hash).with_roles(["admin", "editor"]))
        .await
        .unwrap();
    Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .user_store(store)
        .build()
        .unwrap()
}

#[tokio::test]
async fn issue_pair_access_token_is_fresh() {
    let auth = auth();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let claims = auth.verify_access(&pair.access_token).await.unwrap();
    assert!(claims.is_fresh());
    assert!(centurion::check_fresh(&claims).is_ok());
}

#[tokio::test]
async fn access_token_after_refresh_is_not_fresh() {
    let (builder, store) = shared_builder();
    store.insert(ada());
    let auth = builder.build().unwrap();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let refreshed = auth.refresh(&pair.refresh_token).await.unwrap();
    let claims = auth.verify_access(&refreshed.access_token).await.unwrap();
    assert!(!claims.is_fresh());
    assert_eq!(
        centurion::check_fresh(&claims).unwrap_err().kind(),
        ErrorKind::FreshTokenRequired
    );
    // And after a second refresh still not.
    let again = auth.refresh(&refreshed.refresh_token).await.unwrap();
    assert!(
        !auth
            .verify_access(&again.access_token)
            .await
            .unwrap()
            .is_fresh()
    );
}

#[tokio::test]
async fn access_token_carries_the_documented_claims() {
    let auth = auth();
    let before = now();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let payload = payload_of(&pair.access_token);
    assert_eq!(payload["sub"], "7", "sub is the id as a string");
    assert_eq!(payload["type"], "access");
    assert_eq!(payload["fresh"], true);
    assert_eq!(payload["roles"], json!(["admin", "editor"]));
    let iat = payload["iat"].as_u64().unwrap();
    assert!(iat >= before && iat <= now());
    assert_eq!(payload["nbf"].as_u64().unwrap(), iat);
    assert_eq!(payload["exp"].as_u64().unwrap(), iat + 15 * 60);
    assert!(payload.get("iss").is_none());
    assert!(payload.get("aud").is_none());
    let header = header_of(&pair.access_token);
    assert_eq!(header["alg"], "HS256");
    assert_eq!(header["typ"], "JWT");
    assert!(header.get("kid").is_none());
}

#[tokio::test]
async fn jti_has_at_least_128_random_bits_and_is_unique() {
    let auth = auth();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..50 {
        let pair = auth.issue_pair(&ada()).await.unwrap();
        for token in [&pair.access_token, &pair.refresh_token] {
            let jti = payload_of(token)["jti"].as_str().unwrap().to_owned();
            assert!(unb64(&jti).len() >= 16, "{jti}");
            assert!(seen.insert(jti), "jti repeated");
        }
        let fam = payload_of(&pair.access_token)["fam"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(unb64(&fam).len() >= 16);
        assert!(seen.insert(fam), "family repeated");
    }
}

#[tokio::test]
async fn token_pair_serializes_as_the_login_response() {
    let auth = auth();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let body = serde_json::to_value(&pair).unwrap();
    let mut keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "refresh_token", "token_type"]
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["access_token"], pair.access_token.as_str());
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Tenant {
    tenant: String,
    plan: u32,
    tags: Vec<String>,
}

#[tokio::test]
async fn custom_claims_round_trip() {
    let auth = auth();
    let custom = Tenant {
        tenant: "acme".into(),
        plan: 3,
        tags: vec!["eu".into()],
    };
    let pair = auth.issue_pair_with(&ada(), &custom).await.unwrap();
    let claims = auth.verify_access(&pair.access_token).await.unwrap();
    assert_eq!(claims.custom_claims::<Tenant>().unwrap(), custom);
    assert_eq!(claims.custom("tenant"), Some(&json!("acme")));
    assert_eq!(claims.custom("plan"), Some(&json!(3)));
    assert_eq!(claims.custom("missing"), None);
    // Reserved claims stay out of the custom map.
    assert_eq!(claims.custom("sub"), None);
    // The refresh token carries them too, so the session keeps them across rotations
    // (see custom_claims_survive_refresh).
    assert_eq!(
        payload_of(&pair.refresh_token).get("tenant"),
        Some(&json!("acme"))
    );
    // A struct that does not fit is an error, not a panic.
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Other {
        other: String,
    }
    assert_eq!(
        claims.custom_claims::<Other>().unwrap_err().kind(),
        ErrorKind::InvalidTokenError
    );
}

#[tokio::test]
async fn custom_claims_from_a_json_map_round_trip() {
    let auth = auth();
    let pair = auth
        .issue_pair_with(&ada(), &json!({"org": {"id": 4, "name": "x"}}))
        .await
        .unwrap();
    let claims = auth.verify_access(&pair.access_token).await.unwrap();
    assert_eq!(claims.custom("org"), Some(&json!({"id": 4, "name": "x"})));
}

/// What applications expect of custom claims: they describe the session (tenant, plan) and
/// should still be there after the access token is refreshed. Today `refresh` issues the
/// new access token with no custom claims at all.
#[tokio::test]
async fn custom_claims_survive_refresh() {
    let (builder, store) = shared_builder();
    store.insert(ada());
    let auth = builder.build().unwrap();
    let pair = auth
        .issue_pair_with(&ada(), &json!({"tenant": "acme"}))
        .await
        .unwrap();
    let refreshed = auth.refresh(&pair.refresh_token).await.unwrap();
    let claims = auth.verify_access(&refreshed.access_token).await.unwrap();
    assert_eq!(claims.custom("tenant"), Some(&json!("acme")));
}

#[tokio::test]
async fn custom_claim_colliding_with_a_reserved_name_is_refused_at_issue_time() {
    let auth = auth();
    for name in RESERVED_CLAIMS {
        let err = auth
            .issue_pair_with(&ada(), &json!({ *name: "x", "tenant": "acme" }))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ClaimCollisionError, "{name}");
        assert!(err.message().contains(name), "{}", err.message());
    }
    // The documented reserved names are all there.
    for name in [
        "sub", "iat", "nbf", "exp", "jti", "type", "fresh", "roles", "iss", "aud",
    ] {
        assert!(RESERVED_CLAIMS.contains(&name), "{name}");
    }
}

#[tokio::test]
async fn custom_claims_that_are_not_an_object_are_refused() {
    let auth = auth();
    for custom in [json!(1), json!("tenant"), json!(["a"])] {
        let err = auth.issue_pair_with(&ada(), &custom).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ClaimCollisionError, "{custom}");
    }
    // `()` / null means "no custom claims".
    assert!(auth.issue_pair_with(&ada(), &()).await.is_ok());
}

#[tokio::test]
async fn issuer_and_audience_are_written_when_configured() {
    let auth = builder()
        .issuer("https://a.example")
        .audience("api")
        .build()
        .unwrap();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let payload = payload_of(&pair.access_token);
    assert_eq!(payload["iss"], "https://a.example");
    assert_eq!(payload["aud"], "api");
    let claims = auth.verify_access(&pair.access_token).await.unwrap();
    assert_eq!(claims.issuer(), Some("https://a.example"));
    assert_eq!(payload_of(&pair.refresh_token)["iss"], "https://a.example");
}

#[tokio::test]
async fn token_lacking_iss_is_refused_when_an_issuer_is_configured() {
    let strict = builder().issuer("https://a.example").build().unwrap();
    let plain = auth();
    let pair = plain.issue_pair(&ada()).await.unwrap();
    let err = strict.verify_access(&pair.access_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn token_from_another_issuer_is_refused() {
    let a = builder().issuer("https://a.example").build().unwrap();
    let b = builder().issuer("https://b.example").build().unwrap();
    let pair = a.issue_pair(&ada()).await.unwrap();
    assert!(a.verify_access(&pair.access_token).await.is_ok());
    let err = b.verify_access(&pair.access_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidTokenError);
    // Refresh tokens too.
    let err = b.refresh(&pair.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn token_lacking_aud_is_refused_when_an_audience_is_configured() {
    let strict = builder().audience("api").build().unwrap();
    let pair = auth().issue_pair(&ada()).await.unwrap();
    let err = strict.verify_access(&pair.access_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn token_for_another_audience_is_refused() {
    let api = builder().audience("api").build().unwrap();
    let admin = builder().audience("admin").build().unwrap();
    let pair = api.issue_pair(&ada()).await.unwrap();
    let err = admin.verify_access(&pair.access_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidTokenError);
}

#[tokio::test]
async fn audience_as_a_list_is_accepted_when_it_contains_ours() {
    let auth = builder().audience("api").build().unwrap();
    let mut payload = access_payload("1");
    payload["aud"] = json!(["other", "api"]);
    assert!(
        auth.verify_access(&sign_payload(&auth, &payload).unwrap())
            .await
            .is_ok()
    );
    payload["aud"] = json!(["other", "more"]);
    let err = auth
        .verify_access(&sign_payload(&auth, &payload).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidTokenError);
}

/// A token whose `exp` lies `ago` seconds in the past.
fn expired_by(auth: &Centurion<TestUser>, ago: u64) -> String {
    let now = now();
    let mut payload = access_payload("1");
    payload["iat"] = json!(now - 600);
    payload["nbf"] = json!(now - 600);
    payload["exp"] = json!(now - ago);
    sign_payload(auth, &payload).unwrap()
}

#[tokio::test]
async fn leeway_is_zero_by_default() {
    let auth = auth();
    let err = auth.verify_access(&expired_by(&auth, 1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ExpiredAccessError);
}

#[tokio::test]
async fn leeway_tolerates_recent_expiry() {
    let auth = builder().leeway(Duration::from_secs(30)).build().unwrap();
    assert!(auth.verify_access(&expired_by(&auth, 3)).await.is_ok());
    let err = auth
        .verify_access(&expired_by(&auth, 60))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ExpiredAccessError);
}

#[tokio::test]
async fn leeway_tolerates_nbf_and_iat_slightly_ahead() {
    let auth = builder().leeway(Duration::from_secs(30)).build().unwrap();
    let now = now();
    let mut payload = access_payload("1");
    payload["iat"] = json!(now + 3);
    payload["nbf"] = json!(now + 3);
    assert!(
        auth.verify_access(&sign_payload(&auth, &payload).unwrap())
            .await
            .is_ok()
    );
    payload["iat"] = json!(now + 120);
    let err = auth
        .verify_access(&sign_payload(&auth, &payload).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::EarlyTokenError);
    payload["iat"] = json!(now);
    payload["nbf"] = json!(now + 120);
    let err = auth
        .verify_access(&sign_payload(&auth, &payload).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::EarlyTokenError);
}

#[tokio::test]
async fn access_lifespan_is_configurable() {
    let auth = builder()
        .access_lifespan(Duration::from_secs(60))
        .build()
        .unwrap();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    assert_eq!(pair.expires_in, 60);
    let claims = auth.verify_access(&pair.access_token).await.unwrap();
    assert_eq!(claims.expires_at() - claims.issued_at(), 60);
}

#[tokio::test]
async fn registration_and_reset_tokens_live_fifteen_minutes_and_carry_no_roles() {
    let auth = auth();
    for token in [
        auth.issue_registration_token(&ada()).unwrap(),
        auth.issue_reset_token(&ada()).unwrap(),
    ] {
        let payload = payload_of(&token);
        assert_eq!(
            payload["exp"].as_u64().unwrap() - payload["iat"].as_u64().unwrap(),
            15 * 60
        );
        assert!(payload.get("roles").is_none());
        assert!(payload.get("fresh").is_none());
        assert_eq!(payload["sub"], "7");
    }
    assert_eq!(
        payload_of(&auth.issue_reset_token(&ada()).unwrap())["type"],
        "reset"
    );
    assert_eq!(
        payload_of(&auth.issue_registration_token(&ada()).unwrap())["type"],
        "registration"
    );
}

#[tokio::test]
async fn roles_are_read_from_the_token_without_a_store_hit() {
    let (builder, store) = shared_builder();
    let auth = builder.build().unwrap();
    // The user is not even in the store: verification never looks.
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let claims = auth.verify_access(&pair.access_token).await.unwrap();
    assert!(claims.has_role("admin"));
    assert!(!claims.has_role("root"));
    assert!(centurion::check_roles(&claims, &["admin", "editor"], &[]).is_ok());
    assert_eq!(store.identify_calls() + store.lookup_calls(), 0);
}

#[tokio::test]
async fn check_roles_requires_all_of_and_one_of_any_of() {
    use centurion::check_roles;
    let auth = auth();
    let claims_of = |roles: &'static [&'static str]| {
        let auth = &auth;
        async move {
            let pair = auth
                .issue_pair(&TestUser::new(1, "ada", roles))
                .await
                .unwrap();
            auth.verify_access(&pair.access_token).await.unwrap()
        }
    };
    let held = claims_of(&["editor", "author"]).await;
    assert!(check_roles(&held, &[], &[]).is_ok());
    assert!(check_roles(&held, &["editor"], &[]).is_ok());
    assert!(check_roles(&held, &["editor", "author"], &["admin", "author"]).is_ok());
    let err = check_roles(&held, &["editor", "admin"], &[]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingRoleError);
    assert_eq!(err.status().as_u16(), 403);
    assert_eq!(err.message(), "this action requires the role `admin`");
    let err = check_roles(&held, &[], &["admin", "root"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingRoleError);
    assert_eq!(
        err.message(),
        "this action requires one of the roles `admin`, `root`"
    );
    // Both conditions at once: all_of satisfied, any_of not.
    assert!(check_roles(&held, &["editor"], &["admin"]).is_err());
    assert!(check_roles(&claims_of(&[]).await, &["admin"], &[]).is_err());
}

#[tokio::test]
async fn token_pair_equality_and_clone_are_plain() {
    let auth = auth();
    let pair: TokenPair = auth.issue_pair(&ada()).await.unwrap();
    assert_eq!(pair.clone(), pair);
}
