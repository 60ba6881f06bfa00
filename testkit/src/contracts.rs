//! The store contracts, written once and run against every store: what
//! [`MemoryUserStore`](centurion::memory::MemoryUserStore) and
//! [`MemoryRevocationStore`](centurion::memory::MemoryRevocationStore) do is what the SQL
//! and Redis stores must do too, and a whole account's life over real stores.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use centurion::clock::ManualClock;
use centurion::{ErrorKind, NewUser, RevocationStore, TokenRef, UserStore, testing::TestUser};

use crate::{TEST_SECRET, cheap_passwords, unique};

/// The time a store keeps: a [`ManualClock`] the test moves (in-memory and SQL stores
/// built `with_clock`), or the real clock (Redis, which keeps time itself).
#[derive(Clone, Debug)]
pub enum StoreTime {
    /// The store reads this clock; the contract moves it instead of waiting.
    Manual(ManualClock),
    /// The store reads the system clock (or its server's); the contract waits.
    Real,
}

impl StoreTime {
    fn secs(&self) -> u64 {
        match self {
            StoreTime::Manual(clock) => {
                use centurion::clock::Clock;
                clock
                    .now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            }
            StoreTime::Real => crate::now_secs(),
        }
    }

    fn ms(&self) -> u64 {
        match self {
            StoreTime::Manual(clock) => {
                use centurion::clock::Clock;
                clock
                    .now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            }
            StoreTime::Real => crate::now_ms(),
        }
    }

    /// Lets the time pass `secs` (Unix seconds): moves the manual clock there, or waits.
    async fn pass(&self, secs: u64) {
        match self {
            StoreTime::Manual(clock) => clock.set(UNIX_EPOCH + Duration::from_secs(secs + 1)),
            StoreTime::Real => {
                while crate::now_secs() <= secs {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Store semantics, written once for every store
// ---------------------------------------------------------------------------------------

fn new_user(username: &str, email: Option<&str>, roles: &[&str], active: bool) -> NewUser {
    NewUser {
        username: username.to_owned(),
        email: email.map(str::to_owned),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$hash-of-{username}"),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        active,
    }
}

/// The contract of [`UserStore`] as [`MemoryUserStore`](centurion::memory::MemoryUserStore)
/// keeps it. `tag` keeps names unique in a shared database.
pub async fn user_store_semantics<S: UserStore<TestUser>>(store: &S, tag: &str) {
    let name = unique(&format!("ada-{tag}"));
    let email = format!("{name}@Example.ORG");
    let ada = store
        .create(new_user(&name, Some(&email), &["admin", "editor"], true))
        .await
        .expect("create");
    assert_eq!(ada.username, name);
    assert_eq!(ada.email.as_deref(), Some(email.as_str()));
    assert_eq!(ada.roles, ["admin", "editor"]);
    assert!(ada.active);

    // Lookups.
    let found = store.lookup(&name).await.unwrap().expect("lookup by name");
    assert_eq!(found, ada);
    let found = store
        .identify(&ada.id.to_string())
        .await
        .unwrap()
        .expect("identify");
    assert_eq!(found, ada);
    assert_eq!(store.lookup(&unique("nobody")).await.unwrap(), None);
    assert_eq!(
        store.lookup(&name.to_uppercase()).await.unwrap(),
        None,
        "usernames are exact"
    );
    for bad in ["", "abc", "1.5", " 1", "99999999999999999999999", "-"] {
        assert_eq!(
            store.identify(bad).await.unwrap(),
            None,
            "identify({bad:?})"
        );
    }
    assert_eq!(store.identify(&i64::MAX.to_string()).await.unwrap(), None);
    let by_email = store
        .lookup_by_email(&email.to_lowercase())
        .await
        .unwrap()
        .expect("lookup by e-mail, case-insensitive");
    assert_eq!(by_email.id, ada.id);
    assert_eq!(
        store
            .lookup_by_email(&email.to_uppercase())
            .await
            .unwrap()
            .map(|u| u.id),
        Some(ada.id)
    );
    assert_eq!(
        store.lookup_by_email("nobody@example.org").await.unwrap(),
        None
    );

    // Uniqueness.
    let err = store
        .create(new_user(&name, None, &[], true))
        .await
        .expect_err("duplicate username");
    assert_eq!(err.kind(), ErrorKind::UserExists);
    assert_eq!(err.status().as_u16(), 409);
    let err = store
        .create(new_user(
            &unique("other"),
            Some(&email.to_lowercase()),
            &[],
            true,
        ))
        .await
        .expect_err("duplicate e-mail in another case");
    assert_eq!(err.kind(), ErrorKind::UserExists);
    // Usernames are case-sensitive; users without e-mail do not collide.
    let upper = store
        .create(new_user(&name.to_uppercase(), None, &[], true))
        .await
        .expect("the upper-case name is another user");
    let plain = store
        .create(new_user(&unique(&format!("plain-{tag}")), None, &[], false))
        .await
        .expect("a second user without e-mail");
    let ids = [ada.id, upper.id, plain.id];
    assert!(ids[0] < ids[1] && ids[1] < ids[2], "ids grow: {ids:?}");
    assert!(plain.roles.is_empty());
    assert!(!plain.active);

    // Names that would break naive SQL.
    let tricky = format!("o'brien\"; DROP TABLE centurion_users; -- {tag} ✓");
    let t = store
        .create(new_user(
            &tricky,
            Some(&format!("{}@x.org", unique("q'uote"))),
            &["a,b", "c\"d"],
            true,
        ))
        .await
        .expect("tricky name");
    let back = store.lookup(&tricky).await.unwrap().expect("tricky lookup");
    assert_eq!(back, t);
    assert_eq!(back.roles, ["a,b", "c\"d"]);

    // Activation.
    store
        .activate(&plain.id.to_string())
        .await
        .expect("activate");
    assert!(
        store
            .identify(&plain.id.to_string())
            .await
            .unwrap()
            .unwrap()
            .active
    );
    store
        .activate("not-a-number")
        .await
        .expect("activate a non-numeric id: no-op");
    store
        .activate(&(plain.id + 1_000_000).to_string())
        .await
        .expect("activate unknown: no-op");

    // Password hash.
    store
        .update_password_hash(&ada.id.to_string(), "$argon2id$new")
        .await
        .expect("update");
    let after = store.lookup(&name).await.unwrap().unwrap();
    assert_eq!(after.password_hash, "$argon2id$new");
    assert_eq!(after.roles, ada.roles);
    let upper_after = store.lookup(&name.to_uppercase()).await.unwrap().unwrap();
    assert_eq!(
        upper_after.password_hash, upper.password_hash,
        "only one row changes"
    );
    store
        .update_password_hash("nope", "$x")
        .await
        .expect("non-numeric id: no-op");
    store
        .update_password_hash(&(plain.id + 1_000_000).to_string(), "$x")
        .await
        .expect("unknown id: no-op");
}

/// `n` concurrent registrations of one username (and of one e-mail address under other
/// names): exactly one user each time, and `n - 1` clean [`ErrorKind::UserExists`].
pub async fn concurrent_registrations<S: UserStore<TestUser>>(store: Arc<S>, n: usize, tag: &str) {
    let name = unique(&format!("race-{tag}"));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let store = store.clone();
            let name = name.clone();
            tokio::spawn(async move {
                store
                    .create(new_user(
                        &name,
                        Some(&format!("{name}-{i}@example.org")),
                        &[],
                        true,
                    ))
                    .await
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut exists = 0;
    for task in tasks {
        match task.await.expect("no panic") {
            Ok(user) => created.push(user),
            Err(e) if e.kind() == ErrorKind::UserExists => exists += 1,
            Err(e) => panic!("unexpected error from a concurrent registration: {e:?}"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one registration wins");
    assert_eq!(exists, n - 1);
    assert_eq!(
        store.lookup(&name).await.unwrap().map(|u| u.id),
        Some(created[0].id)
    );

    let email = format!("{}@example.org", unique(&format!("race-mail-{tag}")));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let store = store.clone();
            let email = email.clone();
            tokio::spawn(async move {
                let name = unique(&format!("race-mail-{i}"));
                store.create(new_user(&name, Some(&email), &[], true)).await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.expect("no panic") {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.kind(), ErrorKind::UserExists, "{e:?}"),
        }
    }
    assert_eq!(ok, 1, "exactly one registration of one e-mail address wins");
}

fn token<'a>(jti: &'a str, family: Option<&'a str>, subject: &'a str, iat: u64) -> TokenRef<'a> {
    TokenRef {
        jti,
        family,
        subject,
        issued_at_ms: iat,
    }
}

/// The contract of [`RevocationStore`] as
/// [`MemoryRevocationStore`](centurion::memory::MemoryRevocationStore) keeps it, on the
/// store's time (with [`StoreTime::Real`] it waits a second or two for entries to expire).
pub async fn revocation_semantics<S: RevocationStore>(store: Arc<S>, tag: &str, time: &StoreTime) {
    let now = time.secs();
    let far = now + 3600;
    let jti = unique(&format!("jti-{tag}"));
    let other = unique(&format!("jti-{tag}"));
    let fam = unique(&format!("fam-{tag}"));
    let sub = unique(&format!("sub-{tag}"));
    let ms = time.ms();

    assert!(
        !store
            .is_revoked(&token(&jti, Some(&fam), &sub, ms))
            .await
            .unwrap()
    );

    // One token.
    store.revoke_token(&jti, far).await.unwrap();
    assert!(
        store
            .is_revoked(&token(&jti, None, &sub, ms))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(&token(&other, None, &sub, ms))
            .await
            .unwrap()
    );
    assert!(
        store.mark_spent(&jti, far).await.unwrap(),
        "revoked and spent are separate"
    );

    // A family.
    store.revoke_family(&fam, far).await.unwrap();
    assert!(
        store
            .is_revoked(&token(&other, Some(&fam), &sub, ms))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(&token(&other, None, &sub, ms))
            .await
            .unwrap()
    );
    let fam2 = unique("fam2");
    assert!(
        !store
            .is_revoked(&token(&other, Some(&fam2), &sub, ms))
            .await
            .unwrap()
    );

    // A user's not-before (milliseconds, strict: issued before it).
    let nb = ms + 5;
    store.revoke_user(&sub, nb, far).await.unwrap();
    let fresh = unique("fresh");
    assert!(
        store
            .is_revoked(&token(&fresh, None, &sub, nb - 1))
            .await
            .unwrap()
    );
    assert!(
        store
            .is_revoked(&token(&fresh, None, &sub, 0))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(&token(&fresh, None, &sub, nb))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(&token(&fresh, None, &sub, nb + 1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(&token(&fresh, None, &unique("sub"), 0))
            .await
            .unwrap()
    );
    // It never moves back…
    store.revoke_user(&sub, nb - 1000, far).await.unwrap();
    assert!(
        store
            .is_revoked(&token(&fresh, None, &sub, nb - 1))
            .await
            .unwrap()
    );
    // …and moves forward.
    store.revoke_user(&sub, nb + 1000, far).await.unwrap();
    assert!(
        store
            .is_revoked(&token(&fresh, None, &sub, nb + 999))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(&token(&fresh, None, &sub, nb + 1000))
            .await
            .unwrap()
    );

    // Single use.
    let once = unique("once");
    assert!(store.mark_spent(&once, far).await.unwrap());
    assert!(!store.mark_spent(&once, far).await.unwrap());
    assert!(!store.mark_spent(&once, far + 10).await.unwrap());
    assert!(
        !store.mark_spent(&once, now - 10).await.unwrap(),
        "a live spend stays spent"
    );
    assert!(
        !store
            .is_revoked(&token(&once, None, &sub, nb + 2000))
            .await
            .unwrap(),
        "spent is not revoked"
    );
    assert!(store.mark_spent(&unique("once"), far).await.unwrap());

    // Far-future expiries are accepted.
    for exp in [u64::MAX, u64::MAX / 2, i64::MAX as u64 + 1] {
        let j = unique("far");
        store.revoke_token(&j, exp).await.unwrap();
        assert!(
            store
                .is_revoked(&token(&j, None, &sub, nb + 2000))
                .await
                .unwrap()
        );
        let s = unique("far-spent");
        assert!(store.mark_spent(&s, exp).await.unwrap());
        assert!(!store.mark_spent(&s, exp).await.unwrap());
        store
            .revoke_user(&unique("far-user"), ms, exp)
            .await
            .unwrap();
    }

    // Expiry in the past: nothing is remembered.
    let past = unique("past");
    store.revoke_token(&past, now - 10).await.unwrap();
    store.revoke_family(&past, now - 10).await.unwrap();
    let past_sub = unique("past-sub");
    store
        .revoke_user(&past_sub, ms + 10_000, now - 10)
        .await
        .unwrap();
    assert!(
        !store
            .is_revoked(&token(&past, Some(&past), &past_sub, ms))
            .await
            .unwrap()
    );
    let past_spent = unique("past-spent");
    assert!(store.mark_spent(&past_spent, now - 10).await.unwrap());
    assert!(
        store.mark_spent(&past_spent, now - 10).await.unwrap(),
        "an expired spend is forgotten"
    );

    // Concurrent spends of one jti: exactly one wins.
    let raced = unique("raced");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            let raced = raced.clone();
            tokio::spawn(async move { store.mark_spent(&raced, far).await })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        if task.await.expect("no panic").expect("mark_spent") {
            wins += 1;
        }
    }
    assert_eq!(wins, 1, "exactly one concurrent mark_spent returns true");

    // Entries stop counting at their expiry.
    let start = time.secs();
    let soon = start + 1;
    let (j, f, s, sp) = (
        unique("exp-j"),
        unique("exp-f"),
        unique("exp-s"),
        unique("exp-sp"),
    );
    store.revoke_token(&j, soon).await.unwrap();
    store.revoke_family(&f, soon).await.unwrap();
    store
        .revoke_user(&s, time.ms() + 60_000, soon)
        .await
        .unwrap();
    store.revoke_user(&s, 1, start - 100).await.unwrap(); // an earlier expiry does not shorten it
    assert!(store.mark_spent(&sp, soon).await.unwrap());
    if time.secs() < soon {
        assert!(store.is_revoked(&token(&j, None, &s, 0)).await.unwrap());
        assert!(
            store
                .is_revoked(&token(&unique("x"), Some(&f), &unique("y"), 0))
                .await
                .unwrap()
        );
        assert!(
            store
                .is_revoked(&token(&unique("x"), None, &s, 0))
                .await
                .unwrap()
        );
        assert!(!store.mark_spent(&sp, soon).await.unwrap());
    }
    time.pass(soon).await;
    assert!(
        !store.is_revoked(&token(&j, Some(&f), &s, 0)).await.unwrap(),
        "expired entries no longer count"
    );
    assert!(
        store.mark_spent(&sp, far).await.unwrap(),
        "an expired spend can be spent again"
    );
    assert!(!store.mark_spent(&sp, far).await.unwrap());
}

// ---------------------------------------------------------------------------------------
// Centurion over real stores
// ---------------------------------------------------------------------------------------

/// A [`Centurion`](centurion::Centurion) over the given stores.
pub fn centurion_with<S: UserStore<TestUser>, R: RevocationStore>(
    users: S,
    revocations: R,
) -> centurion::Centurion<TestUser> {
    centurion::Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .user_store(users)
        .revocation_store(revocations)
        .build()
        .expect("build centurion")
}

/// Registration, confirmation, login, refresh rotation with reuse detection, password
/// change revoking the user's tokens: the whole life of an account, over real stores.
pub async fn account_lifecycle(auth: &centurion::Centurion<TestUser>, tag: &str) {
    let name = unique(&format!("life-{tag}"));
    let email = format!("{name}@example.org");
    let password = "correct horse battery staple";
    let (user, confirm) = auth
        .register(&name, Some(&email), password, &["admin"])
        .await
        .expect("register");
    assert!(!user.active, "registration creates an inactive user");
    let err = auth
        .register(&name, None, password, &[])
        .await
        .expect_err("taken");
    assert_eq!(err.kind(), ErrorKind::UserExists);
    assert!(
        auth.login(&name, password).await.is_err(),
        "inactive users cannot log in"
    );

    let user = auth.confirm_registration(&confirm).await.expect("confirm");
    assert!(user.active);
    assert!(
        auth.confirm_registration(&confirm).await.is_err(),
        "single use"
    );
    assert_eq!(
        auth.lookup_by_email(&email.to_uppercase())
            .await
            .unwrap()
            .map(|u| u.id),
        Some(user.id)
    );

    let pair = auth.login(&name, password).await.expect("login");
    let claims = auth
        .verify_access(&pair.access_token)
        .await
        .expect("verify");
    assert_eq!(claims.subject(), user.id.to_string());

    let next = auth.refresh(&pair.refresh_token).await.expect("refresh");
    auth.verify_access(&next.access_token)
        .await
        .expect("rotated access token");
    let err = auth.refresh(&pair.refresh_token).await.expect_err("reuse");
    assert_eq!(err.kind(), ErrorKind::RefreshReuseError);
    let err = auth
        .verify_access(&next.access_token)
        .await
        .expect_err("family revoked");
    assert_eq!(err.kind(), ErrorKind::RevokedTokenError);

    let pair = auth.login(&name, password).await.expect("login again");
    auth.change_password(&user, "another long passphrase")
        .await
        .expect("change password");
    let err = auth
        .verify_access(&pair.access_token)
        .await
        .expect_err("revoked by the change");
    assert_eq!(err.kind(), ErrorKind::RevokedTokenError);
    assert!(
        auth.login(&name, password).await.is_err(),
        "the old password is gone"
    );
    let pair = auth
        .login(&name, "another long passphrase")
        .await
        .expect("new password");
    auth.verify_access(&pair.access_token)
        .await
        .expect("a token issued after the change");
}
