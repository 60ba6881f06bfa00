//! Revocation outlives acceptance: a revoked or spent token is remembered until no
//! instance can accept it any more (`exp` + leeway + a margin for clock skew), and a
//! per-user revocation outlives every token the instance can issue. At the boundary, on
//! the instance's clock (moved, never slept).

use std::time::Duration;

use centurion::clock::ManualClock;
use centurion::testing::TestUser;
use centurion::{Centurion, ErrorKind};
use centurion_testkit::prelude::*;

const LEEWAY: u64 = 30;

fn ada() -> TestUser {
    TestUser::new(7, "ada", &["admin"])
}

/// An instance with a 30 s leeway on a manual clock, its memory stores on the same clock.
fn instance() -> (Centurion<TestUser>, ManualClock, SharedStore) {
    let clock = ManualClock::new();
    let (builder, store) = shared_builder();
    store.insert(ada());
    let auth = builder
        .clock(clock.clone())
        .leeway(Duration::from_secs(LEEWAY))
        .service_lifespan(Duration::from_secs(3600))
        .refresh_lifespan(Duration::from_secs(3600))
        .reset_lifespan(Duration::from_secs(600))
        .build()
        .unwrap();
    (auth, clock, store)
}

/// Moves the clock to `at` (Unix seconds) and half a second past it.
fn set(clock: &ManualClock, at: u64) {
    clock.set(std::time::UNIX_EPOCH + Duration::from_millis(at * 1000 + 500));
}

/// A token revoked now is still refused one second before the leeway lets it go; before
/// the fix its record was dropped at `exp`, so the leeway made it valid again.
#[tokio::test]
async fn a_revoked_token_is_refused_until_the_leeway_has_passed() {
    let (auth, clock, _) = instance();
    let token = auth.issue_service_token(&ada(), None).unwrap();
    let claims = auth.verify_access(&token).await.unwrap();
    auth.revoke_token(&claims).await.unwrap();
    let exp = claims.expires_at();
    for at in [exp - 1, exp, exp + 1, exp + LEEWAY - 1] {
        set(&clock, at);
        assert_eq!(
            auth.verify_access(&token).await.unwrap_err().kind(),
            ErrorKind::RevokedTokenError,
            "at exp{:+}",
            at as i64 - exp as i64
        );
    }
    set(&clock, exp + LEEWAY + 1);
    assert_eq!(
        auth.verify_access(&token).await.unwrap_err().kind(),
        ErrorKind::ExpiredAccessError,
        "past the leeway it is expired anyway"
    );
}

/// A reset token used once cannot be used again inside its leeway. (The reset revokes the
/// user's tokens too, which refuses the reset token a second time as well: two defences.)
#[tokio::test]
async fn a_spent_reset_token_stays_spent_until_the_leeway_has_passed() {
    let (auth, clock, store) = instance();
    let mut user = ada();
    user.password_hash = auth.hasher().hash("first password!").await.unwrap();
    store.insert(user.clone());
    let token = auth.issue_reset_token(&user).unwrap();
    let exp = payload_of(&token)["exp"].as_u64().unwrap();
    auth.reset_password(&token, "second password!")
        .await
        .unwrap();
    for at in [exp - 1, exp + 1, exp + LEEWAY - 1] {
        set(&clock, at);
        assert_eq!(
            auth.reset_password(&token, "third password!!")
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::RevokedTokenError,
            "at exp{:+}",
            at as i64 - exp as i64
        );
    }
    assert_eq!(
        store.get(7).unwrap().password_hash,
        auth.identify("7").await.unwrap().unwrap().password_hash
    );
    assert!(
        auth.hasher()
            .verify("second password!", &store.get(7).unwrap().password_hash)
            .await
            .unwrap(),
        "the second use changed nothing"
    );
}

/// A registration token confirmed once cannot confirm again inside its leeway.
#[tokio::test]
async fn a_spent_registration_token_stays_spent_until_the_leeway_has_passed() {
    let clock = ManualClock::new();
    let auth = builder()
        .clock(clock.clone())
        .leeway(Duration::from_secs(LEEWAY))
        .build()
        .unwrap();
    let (_, token) = auth
        .register("newcomer", None, "a long passphrase", &[])
        .await
        .unwrap()
        .created()
        .expect("a new user");
    let exp = payload_of(&token)["exp"].as_u64().unwrap();
    auth.confirm_registration(&token).await.unwrap();
    for at in [exp - 1, exp + 1, exp + LEEWAY - 1] {
        set(&clock, at);
        assert!(
            auth.confirm_registration(&token).await.is_err(),
            "a second confirmation at exp{:+}",
            at as i64 - exp as i64
        );
    }
}

/// A per-user revocation is remembered as long as any token issued before it can be
/// accepted: the longest lifespan the instance issues, plus the leeway.
#[tokio::test]
async fn a_per_user_revocation_outlives_every_token_issued_before_it() {
    let (auth, clock, _) = instance();
    let service = auth.issue_service_token(&ada(), None).unwrap();
    let exp = payload_of(&service)["exp"].as_u64().unwrap();
    auth.revoke_user("7").await.unwrap();
    set(&clock, exp + LEEWAY - 1);
    assert_eq!(
        auth.verify_access(&service).await.unwrap_err().kind(),
        ErrorKind::RevokedTokenError
    );
}

/// A service token cannot be issued for longer than the configured service lifespan, so
/// "the longest lifespan the instance issues" is known. Before the fix a ten-year token
/// was issued and outlived a revocation remembered for a year.
#[tokio::test]
async fn a_service_token_cannot_outlive_the_per_user_revocation() {
    let (auth, _, _) = instance();
    let err = auth
        .issue_service_token(&ada(), Some(Duration::from_secs(10 * 365 * 86_400)))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigurationError);
    assert!(err.message().contains("service_lifespan"), "{err:?}");
    // Up to the service lifespan is fine.
    let token = auth
        .issue_service_token(&ada(), Some(Duration::from_secs(3600)))
        .unwrap();
    auth.verify_access(&token).await.unwrap();
}
