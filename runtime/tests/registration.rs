//! Registration (issue 12, point 4): one normal form for names and addresses, a taken
//! address answered as a new registration (same outcome shape, same work), unconfirmed
//! registrations that expire and free their name and address, and confirmation that only
//! ever activates a pending registration. Time moves on a `ManualClock`.

#![cfg(feature = "sqlite")]

use std::time::Duration;

use centurion::clock::ManualClock;
use centurion::memory::MemoryUserStore;
use centurion::sql::SqlUserStore;
use centurion::testing::TestUser;
use centurion::{Centurion, ErrorKind, Registration, UserStore};
use centurion_testkit::prelude::*;

const PASSWORD: &str = "a fine password";

fn on(store: impl UserStore<TestUser>, clock: &ManualClock) -> Centurion<TestUser> {
    Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .user_store(store)
        .clock(clock.clone())
        .unconfirmed_lifespan(Duration::from_secs(24 * 3600))
        .registration_lifespan(Duration::from_secs(48 * 3600))
        .build()
        .unwrap()
}

async fn sqlite() -> SqlUserStore<TestUser> {
    SqlUserStore::<TestUser>::connect("sqlite::memory:")
        .await
        .unwrap()
}

/// Regression (12.2): `Alice` could register beside `alice`, and look-alikes beside both.
#[tokio::test]
async fn usernames_in_another_case_or_form_are_taken_and_log_in_as_one() {
    let clock = ManualClock::new();
    for auth in [
        on(MemoryUserStore::new(), &clock),
        on(sqlite().await, &clock),
    ] {
        let (alice, token) = auth
            .register("alice", None, PASSWORD, &[])
            .await
            .unwrap()
            .created()
            .unwrap();
        auth.confirm_registration(&token).await.unwrap();
        for taken in ["Alice", "ALICE", "ａｌｉｃｅ"] {
            let err = auth.register(taken, None, PASSWORD, &[]).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UserExists, "{taken}");
        }
        for refused in [
            "al\u{200B}ice",
            "\u{202E}ecila",
            "p\u{430}ypal",
            "bob😀",
            "",
        ] {
            let err = auth
                .register(refused, None, PASSWORD, &[])
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{refused:?}");
        }
        for typed in ["alice", "ALICE", "ａｌｉｃｅ", "al\u{200B}ice"] {
            let user = auth.authenticate(typed, PASSWORD).await.unwrap();
            assert_eq!(user.id, alice.id, "{typed}");
        }
        // Stored as NFKC, case kept.
        let (ada, _) = auth
            .register("ＡＤＡ", Some("Ada@ＥＸＡＭＰＬＥ.org"), PASSWORD, &[])
            .await
            .unwrap()
            .created()
            .unwrap();
        assert_eq!(ada.username, "ADA");
        assert_eq!(ada.email.as_deref(), Some("Ada@example.org"));
    }
}

/// 12.4: a taken address answers with the same outcome shape, after the same work (one
/// hash, one store round trip), and creates nothing; a taken username is still 409.
#[tokio::test]
async fn a_taken_address_is_answered_as_a_new_registration() {
    let clock = ManualClock::new();
    for auth in [
        on(MemoryUserStore::new(), &clock),
        on(sqlite().await, &clock),
    ] {
        let (owner, _) = auth
            .register("owner", Some("owner@example.org"), PASSWORD, &[])
            .await
            .unwrap()
            .created()
            .unwrap();
        let hashes = auth.hasher().hashes();
        let again = auth
            .register("newcomer", Some("OWNER@Example.org"), PASSWORD, &[])
            .await
            .unwrap();
        assert_eq!(
            auth.hasher().hashes(),
            hashes + 1,
            "the same work: one hash"
        );
        assert_eq!(
            again.username(),
            "newcomer",
            "the answer names the asked username"
        );
        match &again {
            Registration::AddressTaken { owner: o, .. } => assert_eq!(o.id, owner.id),
            other => panic!("{other:?}"),
        }
        assert!(!format!("{again:?}").contains("eyJ"), "no token in Debug");
        assert_eq!(auth.lookup_by_username("newcomer").await.unwrap(), None);
        // The name was not taken by the attempt.
        auth.register("newcomer", Some("newcomer@example.org"), PASSWORD, &[])
            .await
            .unwrap()
            .created()
            .expect("the name is free");
        let err = auth
            .register("Owner", Some("fresh@example.org"), PASSWORD, &[])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UserExists);
    }
}

/// 12.4: an unconfirmed registration holds its name and address for the unconfirmed
/// lifespan only; then it cannot be confirmed, a new registration takes both over, and
/// the purge deletes it.
#[tokio::test]
async fn unconfirmed_registrations_expire_and_free_their_name_and_address() {
    let clock = ManualClock::new();
    for auth in [
        on(MemoryUserStore::new(), &clock),
        on(sqlite().await, &clock),
    ] {
        let tag = centurion_testkit::unique("sq").replace('-', "");
        let name = format!("squatter{tag}");
        let email = format!("victim{tag}@example.org");
        let (squat, stale_token) = auth
            .register(&name, Some(&email), PASSWORD, &[])
            .await
            .unwrap()
            .created()
            .unwrap();
        clock.advance(Duration::from_secs(24 * 3600 - 1));
        assert_eq!(
            auth.register(&name, Some("x@example.org"), PASSWORD, &[])
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::UserExists
        );
        assert!(matches!(
            auth.register("someone", Some(&email), PASSWORD, &[])
                .await
                .unwrap(),
            Registration::AddressTaken { .. }
        ));
        clock.advance(Duration::from_secs(2));
        // Expired: the token (still valid as a token) confirms nothing.
        let err = auth.confirm_registration(&stale_token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RevokedTokenError);
        assert!(
            !auth
                .identify(&squat.id.to_string())
                .await
                .unwrap()
                .unwrap()
                .active
        );
        // The owner of the address registers it, under the squatted name even.
        let (mine, token) = auth
            .register(&name, Some(&email), "the owner's password", &[])
            .await
            .unwrap()
            .created()
            .expect("the expired registration freed both");
        assert_ne!(mine.id, squat.id);
        assert_eq!(auth.identify(&squat.id.to_string()).await.unwrap(), None);
        auth.confirm_registration(&token).await.unwrap();
        auth.authenticate(&name, "the owner's password")
            .await
            .unwrap();

        // The purge removes what expired and nothing else.
        let (stale, _) = auth
            .register(&format!("stale{tag}"), None, PASSWORD, &[])
            .await
            .unwrap()
            .created()
            .unwrap();
        assert_eq!(auth.purge_unconfirmed_registrations().await.unwrap(), 0);
        clock.advance(Duration::from_secs(24 * 3600 + 1));
        assert_eq!(auth.purge_unconfirmed_registrations().await.unwrap(), 1);
        assert_eq!(auth.identify(&stale.id.to_string()).await.unwrap(), None);
        assert!(auth.identify(&mine.id.to_string()).await.unwrap().is_some());
    }
}

/// 12.4 regression: a confirmation token used after an administrator activated and then
/// deactivated the account reactivated it; it must change nothing (and is spent).
#[tokio::test]
async fn confirming_does_nothing_for_a_deactivated_or_active_account() {
    let clock = ManualClock::new();
    let store = sqlite().await;
    let auth = on(store.clone(), &clock);
    let (user, token) = auth
        .register("dora", None, PASSWORD, &[])
        .await
        .unwrap()
        .created()
        .unwrap();
    // An administrator activates the account, then turns it off.
    store.activate(&user.id.to_string()).await.unwrap();
    let centurion::sql::SqlPool::Sqlite(pool) = store.pool() else {
        unreachable!()
    };
    sqlx::query("UPDATE centurion_users SET active = 0 WHERE id = $1")
        .bind(user.id)
        .execute(pool)
        .await
        .unwrap();
    auth.forget_user(&user.id.to_string());
    let err = auth.confirm_registration(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RevokedTokenError);
    assert_eq!(err.message(), "the registration is no longer pending");
    assert!(
        !auth
            .identify(&user.id.to_string())
            .await
            .unwrap()
            .unwrap()
            .active
    );
    // The token is spent all the same.
    let err = auth.confirm_registration(&token).await.unwrap_err();
    assert_eq!(err.message(), "the token was already used");

    // Already active (confirmed by an administrator): unchanged, the token spent.
    let (eve, token) = auth
        .register("eve", None, PASSWORD, &[])
        .await
        .unwrap()
        .created()
        .unwrap();
    store.activate(&eve.id.to_string()).await.unwrap();
    let err = auth.confirm_registration(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RevokedTokenError);
    assert!(
        auth.identify(&eve.id.to_string())
            .await
            .unwrap()
            .unwrap()
            .active
    );
}

/// `create_user`: active and confirmed, the same identity rules, known-user hashing.
#[tokio::test]
async fn create_user_makes_an_active_user_under_the_same_rules() {
    let clock = ManualClock::new();
    let auth = on(MemoryUserStore::new(), &clock);
    let root = auth
        .create_user("Root", Some("root@example.org"), PASSWORD, &["admin"])
        .await
        .unwrap();
    assert!(root.active);
    assert_eq!(root.roles, ["admin"]);
    auth.authenticate("root", PASSWORD).await.unwrap();
    for (name, email, kind) in [
        ("ROOT", None, ErrorKind::UserExists),
        ("other", Some("ROOT@example.org"), ErrorKind::UserExists),
        ("bad name", None, ErrorKind::InvalidRequest),
        ("ok", Some("not-an-address"), ErrorKind::InvalidRequest),
    ] {
        let err = auth
            .create_user(name, email, PASSWORD, &[])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{name} {email:?}");
    }
    let err = auth
        .create_user("weak", None, "short", &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WeakPassword);
    // A created user is no registration: its confirmation cannot exist, and the purge
    // never deletes it.
    clock.advance(Duration::from_secs(100 * 24 * 3600));
    assert_eq!(auth.purge_unconfirmed_registrations().await.unwrap(), 0);
    assert!(auth.lookup_by_username("root").await.unwrap().is_some());
}
