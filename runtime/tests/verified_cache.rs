//! The cache of verified tokens (`verified_cache_bytes`): a token sent again skips its
//! signature and JSON, and nothing else. Every test runs with the cache on and off, and
//! must give the same answers both ways.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use centurion::clock::ManualClock;
use centurion::dangerous::sign_payload;
use centurion::testing::TestUser;
use centurion::{Centurion, CenturionBuilder, Error, ErrorKind};
use centurion_testkit::prelude::*;

/// The same instance twice: with the default cache and with none.
fn both(make: impl Fn() -> CenturionBuilder<TestUser>) -> [(&'static str, Centurion<TestUser>); 2] {
    [
        ("cache on", make().build().unwrap()),
        ("cache off", make().verified_cache_bytes(0).build().unwrap()),
    ]
}

async fn kind_of(auth: &Centurion<TestUser>, token: &str) -> Option<ErrorKind> {
    auth.verify_access(token).await.err().map(|e| e.kind())
}

#[tokio::test]
async fn a_remembered_token_still_expires() {
    let clock = ManualClock::new();
    for (mode, auth) in both(|| builder().clock(clock.clone())) {
        let mut payload = access_payload("1");
        let now = secs_on(&clock);
        let exp = now + 2;
        payload["iat"] = now.into();
        payload["nbf"] = now.into();
        payload["exp"] = exp.into();
        let token = sign_payload(&auth, &payload).unwrap();
        assert_eq!(kind_of(&auth, &token).await, None, "{mode}");
        assert_eq!(kind_of(&auth, &token).await, None, "{mode}");
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            kind_of(&auth, &token).await,
            None,
            "{mode}: one second left"
        );
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            kind_of(&auth, &token).await,
            Some(ErrorKind::ExpiredAccessError),
            "{mode}"
        );
    }
}

#[tokio::test]
async fn a_remembered_token_that_is_revoked_is_refused_at_once() {
    for (mode, auth) in both(builder) {
        let pair = auth
            .issue_pair(&TestUser::new(1, "ada", &["reader"]))
            .await
            .unwrap();
        let claims = auth.verify_access(&pair.access_token).await.unwrap();
        auth.verify_access(&pair.access_token).await.unwrap();
        auth.revoke_token(&claims).await.unwrap();
        assert_eq!(
            kind_of(&auth, &pair.access_token).await,
            Some(ErrorKind::RevokedTokenError),
            "{mode}"
        );

        // Revoking the user catches every remembered token of theirs too.
        let other = auth.issue_pair(&TestUser::new(2, "bo", &[])).await.unwrap();
        auth.verify_access(&other.access_token).await.unwrap();
        auth.revoke_user("2").await.unwrap();
        assert_eq!(
            kind_of(&auth, &other.access_token).await,
            Some(ErrorKind::RevokedTokenError),
            "{mode}"
        );
    }
}

#[tokio::test]
async fn the_validators_run_on_every_request() {
    let refuse = Arc::new(AtomicBool::new(false));
    let make = || {
        let refuse = Arc::clone(&refuse);
        builder().validate_claims(move |_| {
            if refuse.load(Ordering::SeqCst) {
                Err(Error::new(ErrorKind::InvalidTokenError)
                    .with_message("refused by the application"))
            } else {
                Ok(())
            }
        })
    };
    for (mode, auth) in both(make) {
        refuse.store(false, Ordering::SeqCst);
        let token = sign_payload(&auth, &access_payload("1")).unwrap();
        assert_eq!(kind_of(&auth, &token).await, None, "{mode}");
        refuse.store(true, Ordering::SeqCst);
        assert_eq!(
            kind_of(&auth, &token).await,
            Some(ErrorKind::InvalidTokenError),
            "{mode}"
        );
    }
}

#[tokio::test]
async fn no_edit_of_a_remembered_token_is_accepted() {
    for (mode, auth) in both(builder) {
        let token = sign_payload(&auth, &access_payload("1")).unwrap();
        auth.verify_access(&token).await.unwrap();
        for i in 0..token.len() {
            for replacement in ['A', '_', '.'] {
                if token.as_bytes()[i] == replacement as u8 {
                    continue;
                }
                let mut edited = token.clone().into_bytes();
                edited[i] = replacement as u8;
                let edited = String::from_utf8(edited).unwrap();
                assert!(
                    auth.verify_access(&edited).await.is_err(),
                    "{mode}: edit at {i} to {replacement} was accepted"
                );
            }
        }
        for cut in [1, token.len() / 2, token.len() - 1] {
            assert!(auth.verify_access(&token[..cut]).await.is_err(), "{mode}");
        }
        assert!(
            auth.verify_access(&format!("{token}A")).await.is_err(),
            "{mode}"
        );
        // The original is still good.
        assert_eq!(kind_of(&auth, &token).await, None, "{mode}");
    }
}

#[tokio::test]
async fn a_token_of_another_instance_is_refused_even_when_this_one_remembers_it() {
    // Two instances with different keys share nothing: a token remembered by one is
    // verified in full, and refused, by the other.
    let [(_, first), _] = both(builder);
    let [(_, second), _] = both(|| {
        Centurion::<TestUser>::builder()
            .secret(OTHER_SECRET)
            .password(cheap_passwords())
            .user_store(centurion::memory::MemoryUserStore::new())
    });
    let token = sign_payload(&first, &access_payload("1")).unwrap();
    first.verify_access(&token).await.unwrap();
    assert_eq!(
        kind_of(&second, &token).await,
        Some(ErrorKind::InvalidTokenError)
    );
}

#[tokio::test]
async fn a_tiny_budget_still_verifies_correctly() {
    // A budget smaller than one entry: nothing fits, every token is verified in full.
    let auth = builder().verified_cache_bytes(1).build().unwrap();
    for sub in ["1", "2", "3"] {
        let token = sign_payload(&auth, &access_payload(sub)).unwrap();
        let claims = auth.verify_access(&token).await.unwrap();
        assert_eq!(claims.subject(), sub);
        assert_eq!(auth.verify_access(&token).await.unwrap().subject(), sub);
    }
}
