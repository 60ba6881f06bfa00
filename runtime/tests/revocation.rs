//! Revocation: one token, a family, everything a user holds; failing closed when the store
//! is down; and the in-memory store forgetting expired entries.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use centurion::clock::ManualClock;
use centurion::memory::{MemoryRevocationStore, MemoryUserStore};
use centurion::testing::TestUser;
use centurion::{
    Centurion, Config, Error, ErrorKind, Result, RevocationStore, SessionLimits, TokenRef,
};
use centurion_testkit::contracts::session;
use centurion_testkit::hooked::{Hook, Hooked, Op, When};
use centurion_testkit::prelude::*;

fn ada() -> TestUser {
    TestUser::new(7, "ada", &["admin"])
}

#[tokio::test]
async fn revoked_token_is_refused_and_others_are_not() {
    let auth = auth();
    let a = auth.issue_pair(&ada()).await.unwrap();
    let b = auth.issue_pair(&ada()).await.unwrap();
    let claims = auth.verify_access(&a.access_token).await.unwrap();
    auth.revoke_token(&claims).await.unwrap();
    let err = auth.verify_access(&a.access_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RevokedTokenError);
    assert_eq!(err.status().as_u16(), 401);
    assert!(auth.verify_access(&b.access_token).await.is_ok());
}

#[tokio::test]
async fn revoked_family_refuses_its_access_and_refresh_tokens() {
    let (builder, store) = shared_builder();
    store.insert(ada());
    let auth = builder.build().unwrap();
    let session = auth.issue_pair(&ada()).await.unwrap();
    let other = auth.issue_pair(&ada()).await.unwrap();
    let claims = auth.verify_access(&session.access_token).await.unwrap();
    auth.revoke_family(claims.family().unwrap()).await.unwrap();
    assert_eq!(
        auth.verify_access(&session.access_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::RevokedTokenError
    );
    assert_eq!(
        auth.refresh(&session.refresh_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::RevokedTokenError
    );
    assert!(auth.verify_access(&other.access_token).await.is_ok());
    assert!(auth.refresh(&other.refresh_token).await.is_ok());
}

#[tokio::test]
async fn revoked_user_tokens_issued_before_are_refused() {
    let (builder, store) = shared_builder();
    store.insert(ada());
    let auth = builder.build().unwrap();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let service = auth.issue_service_token(&ada(), None).unwrap();
    let bob = auth
        .issue_pair(&TestUser::new(8, "bob", &[]))
        .await
        .unwrap();
    // Revoked within the same second (and most likely the same millisecond) as the issue.
    auth.revoke_user("7").await.unwrap();
    for token in [&pair.access_token, &service] {
        assert_eq!(
            auth.verify_access(token).await.unwrap_err().kind(),
            ErrorKind::RevokedTokenError
        );
    }
    assert_eq!(
        auth.refresh(&pair.refresh_token).await.unwrap_err().kind(),
        ErrorKind::RevokedTokenError
    );
    assert!(auth.verify_access(&bob.access_token).await.is_ok());
}

#[tokio::test]
async fn revoked_user_tokens_issued_after_are_accepted() {
    let clock = ManualClock::new();
    let auth = builder().clock(clock.clone()).build().unwrap();
    auth.revoke_user("7").await.unwrap();
    // Well after the revocation (a later millisecond, the same second or not).
    clock.advance(Duration::from_millis(5));
    let pair = auth.issue_pair(&ada()).await.unwrap();
    assert!(auth.verify_access(&pair.access_token).await.is_ok());
}

/// `change_password` documents "issue a new pair afterwards if the caller should stay
/// logged in"; doing exactly that immediately must work. `revoke_user` sets the user's
/// "not before" to `now_ms() + 1` and the store refuses `issued_at_ms < not_before`, so a
/// pair issued in the same millisecond as the revocation is refused.
#[tokio::test]

async fn revoked_user_tokens_issued_right_after_are_accepted() {
    let auth = auth();
    for round in 0..200 {
        auth.revoke_user("7").await.unwrap();
        let pair = auth.issue_pair(&ada()).await.unwrap();
        let result = auth.verify_access(&pair.access_token).await;
        assert!(result.is_ok(), "round {round}: {result:?}");
    }
}

#[tokio::test]
async fn change_password_revokes_every_token_the_user_held() {
    let store = MemoryUserStore::<TestUser>::new();
    let auth = Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .user_store(store)
        .build()
        .unwrap();
    let (user, _) = auth
        .register("ada", None, "first password", &["admin"])
        .await
        .unwrap()
        .created()
        .expect("a new user");
    let before = auth.issue_pair(&user).await.unwrap();
    auth.change_password(&user, "second password")
        .await
        .unwrap();
    assert_eq!(
        auth.verify_access(&before.access_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::RevokedTokenError
    );
    // The old password no longer works (the account is not activated, but the password
    // is checked first).
    assert_eq!(
        auth.authenticate("ada", "first password")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::AuthenticationError
    );
}

#[tokio::test]
async fn service_token_is_revocable() {
    let auth = auth();
    let token = auth.issue_service_token(&ada(), None).unwrap();
    let claims = auth.verify_access(&token).await.unwrap();
    auth.revoke_token(&claims).await.unwrap();
    assert_eq!(
        auth.verify_access(&token).await.unwrap_err().kind(),
        ErrorKind::RevokedTokenError
    );
}

/// With a leeway, a token is accepted until `exp` plus the leeway: a revocation (of the
/// token, its family, its user) must last as long, not end at `exp` and let the token in
/// again for the rest of the leeway.
#[tokio::test]
async fn revocations_last_through_the_leeway() {
    let clock = ManualClock::new();
    let (builder, store) = shared_builder();
    store.insert(ada());
    let auth = builder
        .leeway(Duration::from_secs(30))
        .access_lifespan(Duration::from_secs(60))
        .refresh_lifespan(Duration::from_secs(600))
        .clock(clock.clone())
        .build()
        .unwrap();
    let one = auth.issue_pair(&ada()).await.unwrap();
    let family = auth.issue_pair(&ada()).await.unwrap();
    let claims = auth.verify_access(&one.access_token).await.unwrap();
    auth.revoke_token(&claims).await.unwrap();
    let claims = auth.verify_access(&family.access_token).await.unwrap();
    auth.revoke_family(claims.family().unwrap()).await.unwrap();
    let user = auth
        .issue_pair(&TestUser::new(8, "bob", &[]))
        .await
        .unwrap();
    auth.revoke_user("8").await.unwrap();

    // Past `exp` (60 s), within the leeway: still revoked, not accepted again.
    clock.advance(Duration::from_secs(70));
    for token in [&one.access_token, &family.access_token, &user.access_token] {
        assert_eq!(
            auth.verify_access(token).await.unwrap_err().kind(),
            ErrorKind::RevokedTokenError
        );
    }
    // The refresh tokens past the family's end (600 s), within the leeway: still revoked.
    clock.advance(Duration::from_secs(540));
    for token in [&family.refresh_token, &user.refresh_token] {
        assert_eq!(
            auth.refresh(token).await.unwrap_err().kind(),
            ErrorKind::RevokedTokenError
        );
    }
    // Past the leeway: expired.
    clock.advance(Duration::from_secs(30));
    assert_eq!(
        auth.verify_access(&one.access_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::ExpiredAccessError
    );
}

/// A hook that makes every call fail, as a store that is down.
struct Down;

impl Hook for Down {
    async fn around(&self, _: Op, _: When) -> Result<()> {
        Err(Error::store(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "redis is down",
        )))
    }
}

/// A pair and a service token of ada from an instance whose store works, with the secret
/// of the instance under test.
async fn tokens_from_a_working_instance() -> (centurion::TokenPair, String) {
    let auth = auth();
    let pair = auth.issue_pair(&ada()).await.unwrap();
    let service = auth.issue_service_token(&ada(), None).unwrap();
    (pair, service)
}

#[tokio::test]
async fn revocation_store_failure_fails_closed() {
    let (builder, store) = shared_builder();
    store.insert(ada());
    let down = Hooked::new(MemoryRevocationStore::new(), Arc::new(Down));
    let auth = builder.revocation_store(down).build().unwrap();
    // No session can start…
    let err = auth.issue_pair(&ada()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
    // …and no token is accepted.
    let (pair, service) = tokens_from_a_working_instance().await;
    let err = auth.verify_access(&pair.access_token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
    assert_eq!(err.status().as_u16(), 503);
    // The cause is kept for logs, never shown to clients.
    assert!(!err.message().contains("redis"));
    assert!(std::error::Error::source(&err).is_some());
    assert_eq!(
        auth.refresh(&pair.refresh_token).await.unwrap_err().kind(),
        ErrorKind::StoreUnavailable
    );
    assert_eq!(
        auth.verify_access(&service).await.unwrap_err().kind(),
        ErrorKind::StoreUnavailable
    );
    assert_eq!(
        auth.revoke_user("7").await.unwrap_err().kind(),
        ErrorKind::StoreUnavailable
    );
}

/// A hook under which no call ever answers, and that tells when one was made.
struct Hang(AtomicBool);

impl Hook for Hang {
    async fn around(&self, _: Op, _: When) -> Result<()> {
        self.0.store(true, Ordering::SeqCst);
        std::future::pending().await
    }
}

#[tokio::test]
async fn hanging_revocation_store_times_out_closed() {
    let hang = Arc::new(Hang(AtomicBool::new(false)));
    let auth = Centurion::<TestUser>::builder()
        .config(Config {
            secret: Some(TEST_SECRET.into()),
            store_timeout: Some(Duration::from_millis(50)),
            password: cheap_passwords(),
            ..Config::default()
        })
        .user_store(MemoryUserStore::new())
        .revocation_store(Hooked::new(MemoryRevocationStore::new(), Arc::clone(&hang)))
        .build()
        .unwrap();
    let (pair, _) = tokens_from_a_working_instance().await;
    let err = tokio::time::timeout(
        Duration::from_secs(5),
        auth.verify_access(&pair.access_token),
    )
    .await
    .expect("the store timeout applies")
    .unwrap_err();
    assert!(hang.0.load(Ordering::SeqCst));
    assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
}

fn now_ms() -> u64 {
    now() * 1000
}

#[tokio::test]
async fn memory_store_answers_each_revocation_rule() {
    let store = MemoryRevocationStore::new();
    let far = now() + 3600;
    let token = |jti, family, subject, issued_at_ms| TokenRef {
        jti,
        family,
        subject,
        issued_at_ms,
    };
    assert!(
        !store
            .is_revoked(&token("t1", None, "7", now_ms()))
            .await
            .unwrap()
    );
    store.revoke_token("t1", far).await.unwrap();
    assert!(
        store
            .is_revoked(&token("t1", None, "7", now_ms()))
            .await
            .unwrap()
    );
    store
        .create_session(
            &session("f2", "7", now_ms(), far),
            &SessionLimits::default(),
        )
        .await
        .unwrap();
    assert!(
        !store
            .is_revoked(&token("t2", Some("f2"), "7", now_ms()))
            .await
            .unwrap()
    );
    store.end_session("f2").await.unwrap();
    assert!(
        store
            .is_revoked(&token("t2", Some("f2"), "7", now_ms()))
            .await
            .unwrap()
    );
    assert!(
        store
            .is_revoked(&token("t2", Some("f3"), "7", now_ms()))
            .await
            .unwrap(),
        "a family without a session"
    );
    store.revoke_user("8", 5_000, far).await.unwrap();
    assert!(
        store
            .is_revoked(&token("t3", None, "8", 4_999))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(&token("t3", None, "8", 5_000))
            .await
            .unwrap()
    );
    // A later "not before" wins; an earlier one never lowers it.
    store.revoke_user("8", 3_000, far).await.unwrap();
    assert!(
        store
            .is_revoked(&token("t3", None, "8", 4_999))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn memory_store_mark_spent_is_once_only() {
    let store = MemoryRevocationStore::new();
    let far = now() + 3600;
    assert!(store.mark_spent("r1", far).await.unwrap());
    assert!(!store.mark_spent("r1", far).await.unwrap());
    assert!(store.mark_spent("r2", far).await.unwrap());
}

#[tokio::test]
async fn memory_store_ignores_expired_entries() {
    let store = MemoryRevocationStore::new();
    let past = now() - 1;
    store.revoke_token("t1", past).await.unwrap();
    store.revoke_user("7", u64::MAX, past).await.unwrap();
    let token = TokenRef {
        jti: "t1",
        family: None,
        subject: "7",
        issued_at_ms: 0,
    };
    assert!(!store.is_revoked(&token).await.unwrap());
}

#[tokio::test]
async fn memory_store_purges_expired_entries() {
    let store = MemoryRevocationStore::new();
    let past = now() - 1;
    let far = now() + 3600;
    // Some live entries that must survive every purge.
    for i in 0..100 {
        store.revoke_token(&format!("live-{i}"), far).await.unwrap();
    }
    let mut peak = 0;
    for i in 0..20_000 {
        match i % 4 {
            0 => store.revoke_token(&format!("t{i}"), past).await.unwrap(),
            1 => store
                .create_session(
                    &session(&format!("f{i}"), &format!("u{i}"), 0, past),
                    &SessionLimits::default(),
                )
                .await
                .unwrap(),
            2 => store.revoke_user(&format!("u{i}"), 1, past).await.unwrap(),
            _ => {
                store.mark_spent(&format!("s{i}"), past).await.unwrap();
            }
        }
        peak = peak.max(store.len());
    }
    // Memory stays bounded: a fraction of the 20 100 entries written.
    assert!(peak < 5_000, "peak {peak}");
    for i in 0..100 {
        let token = TokenRef {
            jti: &format!("live-{i}"),
            family: None,
            subject: "x",
            issued_at_ms: 0,
        };
        assert!(
            store.is_revoked(&token).await.unwrap(),
            "live-{i} was purged"
        );
    }
}

#[tokio::test]
async fn memory_store_len_shrinks_when_expired_entries_are_purged() {
    let store = MemoryRevocationStore::new();
    let past = now() - 1;
    let mut lens = Vec::new();
    for i in 0..3_000 {
        store.revoke_token(&format!("t{i}"), past).await.unwrap();
        lens.push(store.len());
    }
    assert!(
        lens.windows(2).any(|w| w[1] < w[0]),
        "the store never shrank: max {:?}",
        lens.iter().max()
    );
    assert!(store.len() < 3_000);
}
