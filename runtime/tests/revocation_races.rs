//! Revocations that race a login or a refresh in flight, interleaved deterministically: a
//! store pauses the flow at a chosen call ([`Pause`]), the test revokes (password change,
//! reset, "log out my other devices", ending one session), then lets the flow go on. No
//! pair a flow yields may outlive a revocation that landed while it ran. Every scenario
//! runs on the memory, SQLite, PostgreSQL and Redis stores.
//!
//! Run: `cargo test -p centurion --all-features --test revocation_races`.

use std::sync::Arc;
use std::time::Duration;

use centurion::testing::TestUser;
use centurion::{Centurion, ClientInfo, ErrorKind, Result, RevocationStore, TokenPair};
use centurion_testkit::hooked::{Hooked, Op, Pause, When};
use centurion_testkit::prelude::*;

const PASSWORD: &str = "correct horse battery staple";

/// An instance whose user store and revocation store both pause where the test says.
struct Race {
    auth: Centurion<TestUser>,
    pause: Arc<Pause>,
    ada: TestUser,
}

/// A user id no other test of this run (on a shared database) uses.
fn fresh_id() -> i64 {
    let text = centurion_testkit::unique("id");
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let n: u128 = digits.parse().unwrap_or(1);
    i64::try_from(n % (i64::MAX as u128 - 1)).unwrap() + 1
}

async fn race<S: RevocationStore>(revocations: S, configure: impl FnOnce(&mut Options)) -> Race {
    let mut options = Options::default();
    configure(&mut options);
    let pause = Pause::new();
    let users = SharedStore::new();
    let auth = Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .refresh_grace(options.grace)
        .user_store(Hooked::new(users.clone(), Arc::clone(&pause)))
        .revocation_store(Hooked::new(revocations, Arc::clone(&pause)))
        .build()
        .unwrap();
    let mut ada = TestUser::new(fresh_id(), &centurion_testkit::unique("ada"), &["editor"]);
    ada.password_hash = auth.hasher().hash(PASSWORD).await.unwrap();
    users.insert(ada.clone());
    Race { auth, pause, ada }
}

struct Options {
    grace: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(5),
        }
    }
}

impl Race {
    fn login(&self) -> tokio::task::JoinHandle<Result<TokenPair>> {
        let (auth, name) = (self.auth.clone(), self.ada.username.clone());
        tokio::spawn(async move { auth.login(&name, PASSWORD).await })
    }

    fn refresh(&self, token: &str) -> tokio::task::JoinHandle<Result<TokenPair>> {
        let (auth, token) = (self.auth.clone(), token.to_owned());
        tokio::spawn(async move { auth.refresh(&token).await })
    }

    fn id(&self) -> String {
        self.ada.id.to_string()
    }

    /// Every way the pair could still be used is refused.
    async fn assert_dead(&self, pair: &TokenPair) {
        assert_eq!(
            self.auth
                .verify_access(&pair.access_token)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::RevokedTokenError
        );
        assert_eq!(
            self.auth
                .refresh(&pair.refresh_token)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::RevokedTokenError
        );
    }
}

/// The answer of a flow that raced a revocation: refused, as revoked.
#[track_caller]
fn assert_refused(outcome: Result<TokenPair>) {
    match outcome {
        Ok(_) => panic!("a flow in flight during a revocation yielded a pair"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::RevokedTokenError, "{e:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// The scenarios, each on a fresh instance over the given store.

/// The password is changed while a login with the old password is past the user look-up
/// (its hash check takes time): the login's pair must not survive the change.
async fn scenario_login_in_flight_during_a_password_change<S: RevocationStore>(store: S) {
    let r = race(store, |_| {}).await;
    let mut paused = r.pause.arm(Op::Lookup, When::After);
    let login = r.login();
    paused.reached().await;
    r.auth
        .change_password(&r.ada, "a brand new passphrase")
        .await
        .unwrap();
    paused.resume();
    assert_refused(login.await.unwrap());
    assert!(
        r.auth.sessions_of(&r.id()).await.unwrap().is_empty(),
        "no session is left of the raced login"
    );
    // A login that begins afterwards, with the new password, works.
    let pair = r
        .auth
        .login(&r.ada.username, "a brand new passphrase")
        .await
        .unwrap();
    r.auth.verify_access(&pair.access_token).await.unwrap();
}

/// A password reset (by mail link) while a login with the old password is in flight.
async fn scenario_login_in_flight_during_a_password_reset<S: RevocationStore>(store: S) {
    let r = race(store, |_| {}).await;
    let token = r.auth.issue_reset_token(&r.ada).unwrap();
    let mut paused = r.pause.arm(Op::Lookup, When::After);
    let login = r.login();
    paused.reached().await;
    r.auth
        .reset_password(&token, "a brand new passphrase")
        .await
        .unwrap();
    paused.resume();
    assert_refused(login.await.unwrap());
    assert!(r.auth.sessions_of(&r.id()).await.unwrap().is_empty());
}

/// The same with `revoke_user` (a reset, an administrator) landing after the session was
/// stored but before the login answered.
async fn scenario_login_in_flight_during_a_revocation_after_its_session_is_stored<
    S: RevocationStore,
>(
    store: S,
) {
    let r = race(store, |_| {}).await;
    let mut paused = r.pause.arm(Op::CreateSession, When::After);
    let login = r.login();
    paused.reached().await;
    r.auth.revoke_user(&r.id()).await.unwrap();
    paused.resume();
    assert_refused(login.await.unwrap());
    assert!(r.auth.sessions_of(&r.id()).await.unwrap().is_empty());
}

/// "Log out my other devices" (`DELETE /api/sessions`) while a login is in flight: the
/// new login is one of the others.
async fn scenario_login_in_flight_while_other_sessions_are_ended<S: RevocationStore>(store: S) {
    let r = race(store, |_| {}).await;
    let current = r.auth.login(&r.ada.username, PASSWORD).await.unwrap();
    let claims = r.auth.verify_access(&current.access_token).await.unwrap();
    let mut paused = r.pause.arm(Op::Lookup, When::After);
    let login = r.login();
    paused.reached().await;
    assert_eq!(r.auth.revoke_other_sessions(&claims).await.unwrap(), 0);
    paused.resume();
    assert_refused(login.await.unwrap());
    // The current session lives on, alone.
    r.auth.verify_access(&current.access_token).await.unwrap();
    let sessions = r.auth.sessions(&claims).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0].current);
    let next = r.auth.refresh(&current.refresh_token).await.unwrap();
    r.auth.verify_access(&next.access_token).await.unwrap();
}

/// A refresh past its revocation check when the user is revoked: its rotation finds the
/// session gone.
async fn scenario_refresh_in_flight_during_a_revocation<S: RevocationStore>(store: S) {
    let r = race(store, |_| {}).await;
    let pair = r.auth.issue_pair(&r.ada).await.unwrap();
    let mut paused = r.pause.arm(Op::IsRevoked, When::After);
    let refresh = r.refresh(&pair.refresh_token);
    paused.reached().await;
    r.auth.revoke_user(&r.id()).await.unwrap();
    paused.resume();
    assert_refused(refresh.await.unwrap());
    r.assert_dead(&pair).await;
}

/// A refresh whose rotation is done when the user is revoked: the revocation ends the
/// session (whose tokens all name it), and the pair the refresh minted is stamped with the
/// refresh's start, before the revocation. Either refuses the pair; the session is what
/// this test sees fail first (with the refresh's stamp taken at issue instead, it still
/// passes: the stamp is the second layer here, the first for a login).
async fn scenario_refresh_rotated_during_a_revocation<S: RevocationStore>(store: S) {
    let r = race(store, |_| {}).await;
    let pair = r.auth.issue_pair(&r.ada).await.unwrap();
    let mut paused = r.pause.arm(Op::RotateSession, When::After);
    let refresh = r.refresh(&pair.refresh_token);
    paused.reached().await;
    r.auth.revoke_user(&r.id()).await.unwrap();
    paused.resume();
    assert_refused(refresh.await.unwrap());
    r.assert_dead(&pair).await;
}

/// `DELETE /api/sessions/{id}` of a session whose refresh is in flight, before and after
/// its rotation: nothing of the session survives.
async fn scenario_session_ended_while_its_refresh_is_in_flight<S: RevocationStore + Clone>(
    store: S,
) {
    for when in [When::Before, When::After] {
        let r = race(store.clone(), |_| {}).await;
        let pair = r.auth.issue_pair(&r.ada).await.unwrap();
        let claims = r.auth.verify_access(&pair.access_token).await.unwrap();
        let id = r.auth.sessions(&claims).await.unwrap()[0].id.clone();
        let mut paused = r.pause.arm(Op::RotateSession, when);
        let refresh = r.refresh(&pair.refresh_token);
        paused.reached().await;
        assert!(r.auth.revoke_session(&r.id(), &id).await.unwrap());
        paused.resume();
        assert_refused(refresh.await.unwrap());
        r.assert_dead(&pair).await;
    }
}

/// Two refreshes with one token, the second arriving while the first is between its
/// rotation and its answer: inside the grace window both answer with the same pair, and
/// the session lives on; without a window the second one ends the session.
async fn scenario_two_refreshes_with_one_token<S: RevocationStore>(store: S, grace: bool) {
    let r = race(store, |o| {
        if !grace {
            o.grace = Duration::ZERO;
        }
    })
    .await;
    let pair = r.auth.issue_pair(&r.ada).await.unwrap();
    let mut paused = r.pause.arm(Op::RotateSession, When::After);
    let first = r.refresh(&pair.refresh_token);
    paused.reached().await;
    let second = r.auth.refresh(&pair.refresh_token).await;
    paused.resume();
    let first = first.await.unwrap();
    if grace {
        let (first, second) = (first.unwrap(), second.unwrap());
        assert_eq!(first, second, "one pair for both");
        r.auth.verify_access(&first.access_token).await.unwrap();
        r.auth.refresh(&first.refresh_token).await.unwrap();
    } else {
        assert_eq!(second.unwrap_err().kind(), ErrorKind::RefreshReuseError);
        // The first one's pair is refused: its session ended under it.
        assert_refused(first);
        r.assert_dead(&pair).await;
    }
}

/// Two clients race with one token, one of them another user agent (a thief): reuse.
async fn scenario_a_thief_racing_inside_the_window_is_a_reuse<S: RevocationStore>(store: S) {
    let r = race(store, |_| {}).await;
    let owner = ClientInfo::new(Some("Firefox/140"), Some("192.0.2.1".parse().unwrap()));
    let thief = ClientInfo::new(Some("python-requests/2.32"), None);
    let pair = r.auth.issue_pair_from(&r.ada, &owner).await.unwrap();
    let next = r
        .auth
        .refresh_from(&pair.refresh_token, &owner)
        .await
        .unwrap();
    assert_eq!(
        r.auth
            .refresh_from(&pair.refresh_token, &thief)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::RefreshReuseError
    );
    r.assert_dead(&next).await;
}

// ---------------------------------------------------------------------------------------
// Every scenario on every store.

macro_rules! on_every_store {
    ($($name:ident => $scenario:expr;)*) => {
        mod memory {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let store = Arc::new(centurion::memory::MemoryRevocationStore::new());
                    ($scenario)(store).await;
                }
            )*
        }

        #[cfg(feature = "sqlite")]
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let dir = centurion_testkit::TempDir::new("races");
                    let url = format!("sqlite://{}", dir.path().join("races.db").display());
                    let store = centurion::sql::SqlRevocationStore::connect(&url).await.unwrap();
                    ($scenario)(store).await;
                }
            )*
        }

        #[cfg(feature = "postgres")]
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(pg) = centurion_testkit::shared_postgres("revocation races on PostgreSQL") else {
                        return;
                    };
                    let store = centurion::sql::SqlRevocationStore::connect(&pg.url()).await.unwrap();
                    ($scenario)(store).await;
                }
            )*
        }

        #[cfg(feature = "redis")]
        mod redis {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(server) = centurion_testkit::RedisServer::start("revocation races on Redis") else {
                        return;
                    };
                    let store = centurion::redis::RedisRevocationStore::connect(
                        &server.url(),
                        centurion::redis::RedisOptions::default(),
                    )
                    .await
                    .unwrap();
                    ($scenario)(store).await;
                }
            )*
        }
    };
}

on_every_store! {
    login_in_flight_during_a_password_change => scenario_login_in_flight_during_a_password_change;
    login_in_flight_during_a_password_reset => scenario_login_in_flight_during_a_password_reset;
    login_in_flight_during_a_revocation_after_its_session_is_stored => scenario_login_in_flight_during_a_revocation_after_its_session_is_stored;
    login_in_flight_while_other_sessions_are_ended => scenario_login_in_flight_while_other_sessions_are_ended;
    refresh_in_flight_during_a_revocation => scenario_refresh_in_flight_during_a_revocation;
    refresh_rotated_during_a_revocation => scenario_refresh_rotated_during_a_revocation;
    session_ended_while_its_refresh_is_in_flight => scenario_session_ended_while_its_refresh_is_in_flight;
    two_refreshes_with_one_token_inside_the_grace_window => |s| scenario_two_refreshes_with_one_token(s, true);
    two_refreshes_with_one_token_without_a_window => |s| scenario_two_refreshes_with_one_token(s, false);
    a_thief_racing_inside_the_window_is_a_reuse => scenario_a_thief_racing_inside_the_window_is_a_reuse;
}
