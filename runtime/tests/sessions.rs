//! Sessions through the instance's API: listed (newest first, the current one marked, the
//! client kept), ended one by one, all but the current one, or all; the per-user and global
//! limits; the idle timeout.

use std::time::Duration;

use centurion::clock::ManualClock;
use centurion::testing::TestUser;
use centurion::{Centurion, ClientInfo, ErrorKind, SessionStart, TokenEvent};
use centurion_testkit::keys;
use centurion_testkit::prelude::*;

fn ada() -> TestUser {
    TestUser::new(7, "ada", &["editor"])
}

fn instance(
    configure: impl FnOnce(
        centurion::CenturionBuilder<TestUser>,
    ) -> centurion::CenturionBuilder<TestUser>,
) -> Centurion<TestUser> {
    let (builder, store) = shared_builder();
    store.insert(ada());
    store.insert(TestUser::new(8, "bob", &[]));
    configure(builder).build().unwrap()
}

#[tokio::test]
async fn sessions_are_listed_newest_first_with_their_clients() {
    let clock = ManualClock::new();
    let auth = instance(|b| b.clock(clock.clone()));
    let laptop = ClientInfo::new(Some("Laptop/1"), Some("192.0.2.1".parse().unwrap()));
    let phone = ClientInfo::new(Some("Phone/2"), Some("198.51.100.2".parse().unwrap()));
    let first = auth
        .start_session(
            &ada(),
            SessionStart::new().client(laptop.clone()).label("work"),
        )
        .await
        .unwrap();
    clock.advance(Duration::from_secs(1));
    let second = auth.issue_pair_from(&ada(), &phone).await.unwrap();
    auth.issue_pair(&TestUser::new(8, "bob", &[]))
        .await
        .unwrap();

    let claims = auth.verify_access(&second.access_token).await.unwrap();
    let sessions = auth.sessions(&claims).await.unwrap();
    assert_eq!(sessions.len(), 2, "bob's session is not ada's");
    assert_eq!(sessions[0].login, phone);
    assert!(sessions[0].current);
    assert_eq!(sessions[1].login, laptop);
    assert_eq!(sessions[1].label.as_deref(), Some("work"));
    assert!(!sessions[1].current);
    assert!(sessions[0].created_at > sessions[1].created_at);
    assert_eq!(sessions[1].last_used_at, sessions[1].created_at);

    // A refresh moves last_used_at and the last client, and keeps the login's.
    clock.advance(Duration::from_secs(1));
    let moved = ClientInfo::new(Some("Laptop/1"), Some("203.0.113.9".parse().unwrap()));
    auth.refresh_from(&first.refresh_token, &moved)
        .await
        .unwrap();
    let sessions = auth.sessions_of("7").await.unwrap();
    let laptop_session = sessions.iter().find(|s| s.login == laptop).unwrap();
    assert_eq!(laptop_session.last, moved);
    assert!(laptop_session.last_used_at > laptop_session.created_at);
    assert!(
        sessions.iter().all(|s| !s.current),
        "no token, no current session"
    );

    // The JSON shape the quickstart serves.
    let json = serde_json::to_value(&sessions[0]).unwrap();
    assert_eq!(
        keys(&json),
        [
            "created_at",
            "current",
            "expires_at",
            "id",
            "ip",
            "label",
            "last_used_at",
            "user_agent"
        ]
    );
    assert!(json["created_at"].as_str().unwrap().ends_with('Z'));
    // Debug output holds no family, no successor.
    let debug = format!("{:?}", sessions);
    let family = payload_of(&first.refresh_token)["fam"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!debug.contains(&family), "{debug}");
}

#[tokio::test]
async fn ending_one_the_others_or_all() {
    let (events, listener) = {
        let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&events);
        (events, move |e: &TokenEvent| {
            sink.lock().unwrap().push(e.clone())
        })
    };
    let auth = instance(|b| b.on_event(listener));
    let pairs = [
        auth.issue_pair(&ada()).await.unwrap(),
        auth.issue_pair(&ada()).await.unwrap(),
        auth.issue_pair(&ada()).await.unwrap(),
        auth.issue_pair(&ada()).await.unwrap(),
    ];
    let bob = auth
        .issue_pair(&TestUser::new(8, "bob", &[]))
        .await
        .unwrap();
    let claims = auth.verify_access(&pairs[0].access_token).await.unwrap();
    let bob_claims = auth.verify_access(&bob.access_token).await.unwrap();

    // One, by its public id: only the user's own.
    let id = auth
        .sessions(&claims)
        .await
        .unwrap()
        .into_iter()
        .find(|s| !s.current)
        .unwrap()
        .id;
    assert!(
        !auth.revoke_session("8", &id).await.unwrap(),
        "bob cannot end ada's"
    );
    assert!(auth.revoke_session("7", &id).await.unwrap());
    assert!(!auth.revoke_session("7", &id).await.unwrap(), "once");
    assert!(
        events
            .lock()
            .unwrap()
            .contains(&TokenEvent::SessionRevoked {
                subject: "7".into(),
                session: id.clone()
            })
    );
    let live = auth.sessions(&claims).await.unwrap();
    assert_eq!(live.len(), 3);
    assert!(live.iter().all(|s| s.id != id));

    // All but the current one.
    assert_eq!(auth.revoke_other_sessions(&claims).await.unwrap(), 2);
    for pair in &pairs[1..] {
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
    auth.verify_access(&pairs[0].access_token).await.unwrap();
    let next = auth.refresh(&pairs[0].refresh_token).await.unwrap();
    auth.verify_access(&bob.access_token).await.unwrap();
    assert!(
        events
            .lock()
            .unwrap()
            .contains(&TokenEvent::SessionsRevoked {
                subject: "7".into(),
                count: 2
            })
    );

    // A new login right after is live (the not-before is behind it).
    let fresh = auth.issue_pair(&ada()).await.unwrap();
    auth.verify_access(&fresh.access_token).await.unwrap();

    // All.
    assert_eq!(auth.revoke_sessions("7").await.unwrap(), 2);
    assert!(auth.sessions(&claims).await.unwrap().is_empty());
    assert!(auth.verify_access(&next.access_token).await.is_err());
    assert!(auth.verify_access(&fresh.access_token).await.is_err());
    assert_eq!(auth.sessions(&bob_claims).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_per_user_limit_ends_the_oldest_session() {
    let clock = ManualClock::new();
    let auth = instance(|b| b.clock(clock.clone()).session_limits(2, 1_000));
    let mut pairs = Vec::new();
    for _ in 0..3 {
        pairs.push(auth.issue_pair(&ada()).await.unwrap());
        clock.advance(Duration::from_millis(10));
    }
    assert_eq!(
        auth.verify_access(&pairs[0].access_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::RevokedTokenError,
        "the oldest ended"
    );
    for pair in &pairs[1..] {
        auth.verify_access(&pair.access_token).await.unwrap();
    }
    assert_eq!(auth.sessions_of("7").await.unwrap().len(), 2);
}

#[tokio::test]
async fn the_global_limit_fails_closed() {
    let auth = instance(|b| b.session_limits(64, 2));
    auth.issue_pair(&ada()).await.unwrap();
    auth.issue_pair(&TestUser::new(8, "bob", &[]))
        .await
        .unwrap();
    let err = auth.issue_pair(&ada()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Overloaded);
    assert_eq!(err.status().as_u16(), 503);
    // Ending one makes room.
    assert_eq!(auth.revoke_sessions("8").await.unwrap(), 1);
    auth.issue_pair(&ada()).await.unwrap();
}

#[tokio::test]
async fn an_idle_session_ends() {
    let clock = ManualClock::new();
    let auth = instance(|b| {
        b.clock(clock.clone())
            .access_lifespan(Duration::from_secs(600))
            .session_idle_timeout(Some(Duration::from_secs(60)))
    });
    let pair = auth.issue_pair(&ada()).await.unwrap();
    // Refreshed within the idle time, the session lives on past it.
    clock.advance(Duration::from_secs(50));
    let next = auth.refresh(&pair.refresh_token).await.unwrap();
    clock.advance(Duration::from_secs(50));
    auth.verify_access(&next.access_token).await.unwrap();
    // Not refreshed for longer: ended, its (unexpired) access token with it.
    clock.advance(Duration::from_secs(11));
    assert_eq!(
        auth.verify_access(&next.access_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::RevokedTokenError
    );
    assert_eq!(
        auth.refresh(&next.refresh_token).await.unwrap_err().kind(),
        ErrorKind::RevokedTokenError
    );
    assert!(auth.sessions_of("7").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_token_of_a_family_without_a_session_is_refused() {
    // A refresh token of a family the store does not hold (issued before sessions existed,
    // or its session lost): refused, never a new session.
    let auth = instance(|b| b);
    let now = now();
    let token = centurion::dangerous::sign_payload(
        &auth,
        &serde_json::json!({
            "sub": "7", "iat": now, "nbf": now, "exp": now + 600,
            "jti": b64(unique_bytes()), "type": "refresh", "fam": "a-family-from-0.0",
        }),
    )
    .unwrap();
    assert_eq!(
        auth.refresh(&token).await.unwrap_err().kind(),
        ErrorKind::RevokedTokenError
    );
    assert!(auth.sessions_of("7").await.unwrap().is_empty());
}
