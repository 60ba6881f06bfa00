//! Refresh rotation: single use, a family expiry fixed at login, reuse revoking the whole
//! family, and the user re-loaded and re-checked at every refresh.

use std::time::Duration;

use centurion::clock::ManualClock;
use centurion::dangerous::sign_payload;
use centurion::testing::TestUser;
use centurion::{Centurion, ClientInfo, ErrorKind};
use centurion_testkit::prelude::*;
use serde_json::json;

fn ada() -> TestUser {
    TestUser::new(7, "ada", &["editor"])
}

/// An instance over a shared store that holds ada.
fn setup() -> (Centurion<TestUser>, SharedStore) {
    let (builder, store) = shared_builder();
    store.insert(ada());
    (builder.build().unwrap(), store)
}

/// [`setup`] with strict rotation: no grace window, every second use is a reuse.
fn strict() -> (Centurion<TestUser>, SharedStore) {
    let (builder, store) = shared_builder();
    store.insert(ada());
    (
        builder.refresh_grace(Duration::ZERO).build().unwrap(),
        store,
    )
}

/// [`setup`] on a clock the test moves.
fn clocked() -> (Centurion<TestUser>, ManualClock) {
    let clock = ManualClock::new();
    let (builder, store) = shared_builder();
    store.insert(ada());
    (builder.clock(clock.clone()).build().unwrap(), clock)
}

#[tokio::test]
async fn refresh_returns_a_new_pair_of_the_same_family() {
    let (auth, _) = setup();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let next = auth.refresh(&pair.refresh_token).await.unwrap();
    assert_ne!(next.access_token, pair.access_token);
    assert_ne!(next.refresh_token, pair.refresh_token);
    let family = payload_of(&pair.refresh_token)["fam"].clone();
    assert_eq!(payload_of(&next.refresh_token)["fam"], family);
    let claims = auth.verify_access(&next.access_token).await.unwrap();
    assert_eq!(Some(claims.family().unwrap()), family.as_str());
    assert_eq!(claims.subject(), "7");
    // The refreshed pair refreshes in turn.
    assert!(auth.refresh(&next.refresh_token).await.is_ok());
}

#[tokio::test]
async fn refresh_token_is_single_use() {
    let (auth, _) = strict();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    auth.refresh(&pair.refresh_token).await.unwrap();
    let err = auth.refresh(&pair.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshReuseError);
    assert_eq!(err.status().as_u16(), 401);
    // A third try is refused as revoked: the session is gone.
    let err = auth.refresh(&pair.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RevokedTokenError);
}

/// The grace window (default 5 s): the spent token again, soon after, gets the pair its
/// first use got, byte for byte (HS256 signs deterministically); after the window it is a
/// reuse and ends the session.
#[tokio::test]
async fn a_spent_refresh_token_within_the_grace_window_gets_the_same_pair() {
    let (auth, clock) = clocked();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let next = auth.refresh(&pair.refresh_token).await.unwrap();
    clock.advance(Duration::from_millis(4_900));
    let again = auth.refresh(&pair.refresh_token).await.unwrap();
    assert_eq!(again, next, "the same pair, byte for byte");
    assert!(auth.verify_access(&next.access_token).await.is_ok());
    assert_eq!(payload_of(&next.refresh_token)["gen"], 1);
    // The successor is current: it rotates, and then it is the one with a window.
    let third = auth.refresh(&next.refresh_token).await.unwrap();
    assert_eq!(payload_of(&third.refresh_token)["gen"], 2);
    assert_eq!(auth.refresh(&next.refresh_token).await.unwrap(), third);
    // Two generations behind: a reuse even inside a window.
    assert_eq!(
        auth.refresh(&pair.refresh_token).await.unwrap_err().kind(),
        ErrorKind::RefreshReuseError
    );
    assert_eq!(
        auth.verify_access(&third.access_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::RevokedTokenError
    );
}

#[tokio::test]
async fn a_spent_refresh_token_after_the_grace_window_ends_the_session() {
    let (auth, clock) = clocked();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let next = auth.refresh(&pair.refresh_token).await.unwrap();
    clock.advance(Duration::from_millis(5_001));
    assert_eq!(
        auth.refresh(&pair.refresh_token).await.unwrap_err().kind(),
        ErrorKind::RefreshReuseError
    );
    for token in [&pair.access_token, &next.access_token] {
        assert_eq!(
            auth.verify_access(token).await.unwrap_err().kind(),
            ErrorKind::RevokedTokenError
        );
    }
    assert_eq!(
        auth.refresh(&next.refresh_token).await.unwrap_err().kind(),
        ErrorKind::RevokedTokenError
    );
}

/// Inside the window, a client that tells another user agent than the one that refreshed
/// is not taken for the same client: reuse.
#[tokio::test]
async fn a_spent_refresh_token_from_another_user_agent_is_a_reuse() {
    let (auth, _) = setup();
    let firefox = ClientInfo::new(Some("Mozilla/5.0 Firefox/140.0"), None);
    let curl = ClientInfo::new(Some("curl/8.5"), None);
    let pair = auth.issue_pair_from(&ada(), &firefox).await.unwrap();
    let next = auth
        .refresh_from(&pair.refresh_token, &firefox)
        .await
        .unwrap();
    assert_eq!(
        auth.refresh_from(&pair.refresh_token, &curl)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::RefreshReuseError
    );
    assert!(auth.verify_access(&next.access_token).await.is_err());
}

/// Two tabs (or a retrying client) refresh with one token at the same moment: inside the
/// window every one of them gets the same pair, and the session lives on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_of_one_token_get_one_pair_within_the_grace_window() {
    let (auth, _) = setup();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let auth = auth.clone();
        let token = pair.refresh_token.clone();
        tasks.push(tokio::spawn(async move { auth.refresh(&token).await }));
    }
    let mut pairs = Vec::new();
    for task in tasks {
        pairs.push(task.await.unwrap().expect("every refresh succeeds"));
    }
    assert!(pairs.iter().all(|p| *p == pairs[0]), "one pair for all");
    assert!(auth.verify_access(&pairs[0].access_token).await.is_ok());
    assert!(auth.refresh(&pairs[0].refresh_token).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_of_one_token_without_a_window_end_the_session() {
    let (auth, _) = strict();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let auth = auth.clone();
        let token = pair.refresh_token.clone();
        tasks.push(tokio::spawn(async move { auth.refresh(&token).await }));
    }
    let mut ok = Vec::new();
    let mut reuse = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(pair) => ok.push(pair),
            Err(e) if e.kind() == ErrorKind::RefreshReuseError => reuse += 1,
            Err(e) => assert!(matches!(e.kind(), ErrorKind::RevokedTokenError), "{e:?}"),
        }
    }
    assert!(ok.len() <= 1, "at most one succeeds");
    assert!(reuse >= 1);
    for pair in ok {
        assert!(
            auth.verify_access(&pair.access_token).await.is_err(),
            "the session ended"
        );
    }
}

#[tokio::test]
async fn family_expiry_is_fixed_at_login_and_never_extended() {
    let clock = ManualClock::new();
    let (builder, store) = shared_builder();
    store.insert(ada());
    let auth = builder.clock(clock.clone()).build().unwrap();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let original_exp = payload_of(&pair.refresh_token)["exp"].as_u64().unwrap();
    let original_iat = payload_of(&pair.refresh_token)["iat"].as_u64().unwrap();
    // Let the clock move on by a whole second, so that an implementation computing
    // `now + refresh_lifespan` at refresh time would give a later expiry.
    clock.advance(Duration::from_millis(1100));
    let mut token = pair.refresh_token;
    for _ in 0..3 {
        let next = auth.refresh(&token).await.unwrap();
        let payload = payload_of(&next.refresh_token);
        assert!(payload["iat"].as_u64().unwrap() > original_iat);
        assert_eq!(payload["exp"].as_u64().unwrap(), original_exp);
        token = next.refresh_token;
    }
}

#[tokio::test]
async fn refreshed_access_token_never_outlives_its_family() {
    let clock = ManualClock::new();
    let (builder, store) = shared_builder();
    store.insert(ada());
    let auth = builder
        .clock(clock.clone())
        .access_lifespan(Duration::from_secs(60))
        .refresh_lifespan(Duration::from_secs(60))
        .build()
        .unwrap();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let family_exp = payload_of(&pair.refresh_token)["exp"].as_u64().unwrap();
    clock.advance(Duration::from_millis(1100));
    let next = auth.refresh(&pair.refresh_token).await.unwrap();
    let access = payload_of(&next.access_token);
    assert_eq!(access["exp"].as_u64().unwrap(), family_exp);
    assert!(next.expires_in < 60);
}

#[tokio::test]
async fn expired_family_cannot_be_refreshed() {
    let (auth, _) = setup();
    let now = now();
    let token = sign_payload(
        &auth,
        &json!({
            "sub": "7", "iat": now - 100, "nbf": now - 100, "exp": now - 1,
            "jti": b64(unique_bytes()), "type": "refresh", "fam": "old-family",
        }),
    )
    .unwrap();
    let err = auth.refresh(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ExpiredRefreshError);
}

#[tokio::test]
async fn refresh_token_without_a_family_is_refused() {
    let (auth, _) = setup();
    let now = now();
    let token = sign_payload(
        &auth,
        &json!({
            "sub": "7", "iat": now, "nbf": now, "exp": now + 60,
            "jti": b64(unique_bytes()), "type": "refresh",
        }),
    )
    .unwrap();
    assert_eq!(
        auth.refresh(&token).await.unwrap_err().kind(),
        ErrorKind::InvalidTokenError
    );
}

#[tokio::test]
async fn reuse_revokes_the_whole_family() {
    let (auth, _) = setup();
    let first = auth.issue_pair(&ada()).await.unwrap();
    let second = auth.refresh(&first.refresh_token).await.unwrap();
    let third = auth.refresh(&second.refresh_token).await.unwrap();
    assert!(auth.verify_access(&third.access_token).await.is_ok());
    // An attacker (or a confused client) presents a spent refresh token.
    let err = auth.refresh(&first.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshReuseError);
    // Every access token of the family is refused now, the newest included …
    for access in [
        &first.access_token,
        &second.access_token,
        &third.access_token,
    ] {
        let err = auth.verify_access(access).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RevokedTokenError);
    }
    // … and so is the newest, still unspent refresh token.
    let err = auth.refresh(&third.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RevokedTokenError);
}

#[tokio::test]
async fn reuse_leaves_other_families_of_the_user_alone() {
    let (auth, _) = strict();
    let laptop = auth.issue_pair(&ada()).await.unwrap();
    let phone = auth.issue_pair(&ada()).await.unwrap();
    auth.refresh(&laptop.refresh_token).await.unwrap();
    auth.refresh(&laptop.refresh_token).await.unwrap_err();
    assert!(auth.verify_access(&phone.access_token).await.is_ok());
    assert!(auth.refresh(&phone.refresh_token).await.is_ok());
}

#[tokio::test]
async fn refresh_of_a_deleted_user_is_refused_as_missing_user() {
    let (auth, store) = setup();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    store.remove(7);
    let err = auth.refresh(&pair.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingUserError);
    assert_eq!(err.status().as_u16(), 401);
}

#[tokio::test]
async fn refresh_of_an_inactive_user_is_refused_as_invalid_user() {
    let (auth, store) = setup();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    store.modify(7, |u| u.active = false);
    let err = auth.refresh(&pair.refresh_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidUserError);
    assert_eq!(err.status().as_u16(), 403);
}

#[tokio::test]
async fn refresh_reloads_the_users_current_roles() {
    let (auth, store) = setup();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    assert_eq!(
        auth.verify_access(&pair.access_token)
            .await
            .unwrap()
            .roles(),
        ["editor"]
    );
    store.modify(7, |u| u.roles = vec!["admin".into(), "author".into()]);
    let before = store.identify_calls();
    let next = auth.refresh(&pair.refresh_token).await.unwrap();
    assert!(store.identify_calls() > before, "the user is re-loaded");
    let claims = auth.verify_access(&next.access_token).await.unwrap();
    assert_eq!(claims.roles(), ["admin", "author"]);
    // Roles removed are gone too.
    store.modify(7, |u| u.roles.clear());
    let last = auth.refresh(&next.refresh_token).await.unwrap();
    assert!(
        auth.verify_access(&last.access_token)
            .await
            .unwrap()
            .roles()
            .is_empty()
    );
}

#[tokio::test]
async fn refresh_token_of_a_revoked_family_is_refused() {
    let (auth, _) = setup();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let family = payload_of(&pair.refresh_token)["fam"]
        .as_str()
        .unwrap()
        .to_owned();
    auth.revoke_family(&family).await.unwrap();
    assert_eq!(
        auth.refresh(&pair.refresh_token).await.unwrap_err().kind(),
        ErrorKind::RevokedTokenError
    );
}

#[tokio::test]
async fn logout_revokes_the_session() {
    let (auth, _) = setup();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let claims = auth.verify_access(&pair.access_token).await.unwrap();
    auth.logout(&claims, Some(&pair.refresh_token))
        .await
        .unwrap();
    assert_eq!(
        auth.verify_access(&pair.access_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::RevokedTokenError
    );
    assert_eq!(
        auth.refresh(&pair.refresh_token).await.unwrap_err().kind(),
        ErrorKind::RevokedTokenError
    );
}

#[tokio::test]
async fn logout_refuses_a_refresh_token_of_another_user() {
    let (auth, store) = setup();
    store.insert(TestUser::new(8, "bob", &[]));
    let ada_pair = auth.issue_pair(&ada()).await.unwrap();
    let bob_pair = auth
        .issue_pair(&TestUser::new(8, "bob", &[]))
        .await
        .unwrap();
    let claims = auth.verify_access(&ada_pair.access_token).await.unwrap();
    let err = auth
        .logout(&claims, Some(&bob_pair.refresh_token))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidTokenError);
    assert!(auth.refresh(&bob_pair.refresh_token).await.is_ok());
}
