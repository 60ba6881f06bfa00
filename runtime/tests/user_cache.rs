//! The user cache (`CenturionBuilder::user_cache`): `CurrentUser` reads the store once per
//! time-to-live instead of once per request, and nothing centurion changes is served stale.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use centurion::clock::ManualClock;
use centurion::testing::TestUser;
use centurion::{Centurion, CurrentUser};
use centurion_testkit::prelude::*;
use tower::ServiceExt;

async fn me(user: CurrentUser<TestUser>) -> String {
    format!("{}:{}", user.username, user.roles.join("+"))
}

fn app(auth: &Centurion<TestUser>) -> Router {
    Router::new().route("/me", get(me)).layer(auth.layer())
}

async fn get_me(auth: &Centurion<TestUser>, token: &str) -> (StatusCode, String) {
    let request = Request::get("/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app(auth).oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn cached(ttl: Duration) -> (Centurion<TestUser>, SharedStore) {
    let (builder, store) = shared_builder();
    store.insert(TestUser::new(1, "ada", &["reader"]));
    (builder.user_cache(ttl, 100).build().unwrap(), store)
}

async fn token_of(auth: &Centurion<TestUser>, store: &SharedStore) -> String {
    let user = store.get(1).unwrap();
    auth.issue_pair(&user).await.unwrap().access_token
}

#[tokio::test]
async fn off_by_default_every_request_reads_the_store() {
    let (builder, store) = shared_builder();
    store.insert(TestUser::new(1, "ada", &["reader"]));
    let auth = builder.build().unwrap();
    let token = token_of(&auth, &store).await;
    for _ in 0..3 {
        assert_eq!(get_me(&auth, &token).await.0, StatusCode::OK);
    }
    assert_eq!(store.identify_calls(), 3);
}

#[tokio::test]
async fn on_the_store_is_read_once_per_time_to_live() {
    let clock = ManualClock::new();
    let (builder, store) = shared_builder();
    store.insert(TestUser::new(1, "ada", &["reader"]));
    let auth = builder
        .clock(clock.clone())
        .user_cache(Duration::from_secs(2), 100)
        .build()
        .unwrap();
    let token = token_of(&auth, &store).await;
    for _ in 0..5 {
        assert_eq!(
            get_me(&auth, &token).await,
            (StatusCode::OK, "ada:reader".into())
        );
    }
    assert_eq!(store.identify_calls(), 1);
    // A change made behind centurion's back is seen once the time is up.
    store.modify(1, |u| u.roles = vec!["editor".into()]);
    assert_eq!(get_me(&auth, &token).await.1, "ada:reader", "still cached");
    clock.advance(Duration::from_millis(1900));
    assert_eq!(
        get_me(&auth, &token).await.1,
        "ada:reader",
        "cached for 2 s"
    );
    clock.advance(Duration::from_millis(200));
    assert_eq!(get_me(&auth, &token).await.1, "ada:editor");
    assert_eq!(store.identify_calls(), 2);
}

#[tokio::test]
async fn forget_user_makes_the_next_request_read_the_store() {
    let (auth, store) = cached(Duration::from_secs(600));
    let token = token_of(&auth, &store).await;
    assert_eq!(get_me(&auth, &token).await.0, StatusCode::OK);
    store.modify(1, |u| u.active = false);
    auth.forget_user("1");
    assert_eq!(get_me(&auth, &token).await.0, StatusCode::FORBIDDEN);
    // Forgetting an unknown user, or any user with the cache off, is harmless.
    auth.forget_user("no-such-user");
}

#[tokio::test]
async fn a_deactivated_user_stays_out_while_cached_as_inactive() {
    let (auth, store) = cached(Duration::from_secs(600));
    store.modify(1, |u| u.active = false);
    let token = token_of(&auth, &store).await;
    for _ in 0..2 {
        assert_eq!(get_me(&auth, &token).await.0, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn a_user_missing_from_the_store_is_not_remembered() {
    let (auth, store) = cached(Duration::from_secs(600));
    let token = token_of(&auth, &store).await;
    store.remove(1);
    assert_eq!(get_me(&auth, &token).await.0, StatusCode::UNAUTHORIZED);
    store.insert(TestUser::new(1, "ada", &["admin"]));
    assert_eq!(
        get_me(&auth, &token).await,
        (StatusCode::OK, "ada:admin".into())
    );
}

#[tokio::test]
async fn changes_made_through_centurion_are_never_served_stale() {
    let (auth, store) = cached(Duration::from_secs(600));
    store.modify(1, |u| u.password_hash = String::new());
    let token = token_of(&auth, &store).await;
    assert_eq!(get_me(&auth, &token).await.0, StatusCode::OK);
    let calls = store.identify_calls();

    // A password change drops the cached copy (and revokes the user's tokens).
    let user = store.get(1).unwrap();
    auth.change_password(&user, "a brand new password")
        .await
        .unwrap();
    assert_eq!(
        get_me(&auth, &token).await.0,
        StatusCode::UNAUTHORIZED,
        "revoked"
    );
    let fresh = token_of(&auth, &store).await;
    assert_eq!(get_me(&auth, &fresh).await.0, StatusCode::OK);
    assert_eq!(
        store.identify_calls(),
        calls + 1,
        "re-read after the change"
    );
    assert!(
        !store.get(1).unwrap().password_hash.is_empty(),
        "the store got the new hash"
    );

    // So does revoke_user, which applications call when they cut a user off.
    store.modify(1, |u| u.roles = vec!["editor".into()]);
    auth.revoke_user("1").await.unwrap();
    let after = token_of(&auth, &store).await;
    assert_eq!(get_me(&auth, &after).await.1, "ada:editor");
}

#[tokio::test]
async fn a_rehash_at_login_drops_the_cached_copy() {
    let (builder, store) = shared_builder();
    // A hash with weaker parameters than the instance's, so login rehashes it.
    let weak = Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(centurion::PasswordConfig {
            memory_kib: 512,
            iterations: 1,
            parallelism: 1,
            ..centurion::PasswordConfig::default()
        })
        .user_store(centurion::memory::MemoryUserStore::new())
        .build()
        .unwrap();
    let mut ada = TestUser::new(1, "ada", &["reader"]);
    ada.password_hash = weak.hasher().hash("correct horse battery").await.unwrap();
    let old_hash = ada.password_hash.clone();
    store.insert(ada);
    let auth = builder
        .user_cache(Duration::from_secs(600), 100)
        .build()
        .unwrap();
    let token = token_of(&auth, &store).await;
    assert_eq!(get_me(&auth, &token).await.0, StatusCode::OK);
    let calls = store.identify_calls();
    auth.login("ada", "correct horse battery").await.unwrap();
    assert_ne!(store.get(1).unwrap().password_hash, old_hash, "rehashed");
    assert_eq!(get_me(&auth, &token).await.0, StatusCode::OK);
    assert_eq!(
        store.identify_calls(),
        calls + 1,
        "re-read after the rehash"
    );
}

#[tokio::test]
async fn activation_is_seen_at_once() {
    let auth = builder()
        .user_cache(Duration::from_secs(600), 100)
        .build()
        .unwrap();
    let (user, registration) = auth
        .register("dee", None, "a long enough password", &[])
        .await
        .unwrap()
        .created()
        .expect("a new user");
    let token = auth.issue_pair(&user).await.unwrap().access_token;
    // Inactive, and cached as such.
    assert_eq!(get_me(&auth, &token).await.0, StatusCode::FORBIDDEN);
    assert_eq!(get_me(&auth, &token).await.0, StatusCode::FORBIDDEN);
    auth.confirm_registration(&registration).await.unwrap();
    assert_eq!(get_me(&auth, &token).await, (StatusCode::OK, "dee:".into()));
}
