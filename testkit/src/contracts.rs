//! The store contracts, written once and run against every store: what
//! [`MemoryUserStore`](centurion::memory::MemoryUserStore) and
//! [`MemoryRevocationStore`](centurion::memory::MemoryRevocationStore) do is what the SQL
//! and Redis stores must do too, and a whole account's life over real stores.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use centurion::clock::ManualClock;
use centurion::identity::{email_key, identity_key};
use centurion::{
    ClientInfo, ErrorKind, NewUser, Registered, RevocationStore, Rotation, RotationOutcome,
    SessionLimits, SessionRecord, TokenRef, UserStore, testing::TestUser,
};

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
    let user = NewUser::new(
        username,
        format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$hash-of-{username}"),
    )
    .with_roles(roles.iter().copied())
    .with_active(active);
    match email {
        Some(email) => user.with_email(email),
        None => user,
    }
}

/// The contract of [`UserStore`] as [`MemoryUserStore`](centurion::memory::MemoryUserStore)
/// keeps it: look-ups and uniqueness by the keys of [`NewUser`] (the identity normal
/// form), never by the name or address as written. `tag` keeps names unique in a shared
/// database.
pub async fn user_store_semantics<S: UserStore<TestUser>>(store: &S, tag: &str) {
    let name = unique(&format!("Ada-{tag}"));
    let email = format!("{name}@Example.ORG");
    let ada = store
        .create(new_user(&name, Some(&email), &["admin", "editor"], true))
        .await
        .expect("create");
    assert_eq!(ada.username, name, "the name is stored as given");
    assert_eq!(ada.email.as_deref(), Some(email.as_str()));
    assert_eq!(ada.roles, ["admin", "editor"]);
    assert!(ada.active);

    // Look-ups by key.
    let found = store
        .lookup(&identity_key(&name))
        .await
        .unwrap()
        .expect("lookup by key");
    assert_eq!(found, ada);
    for typed in [name.to_uppercase(), name.to_lowercase()] {
        assert_eq!(
            store
                .lookup(&identity_key(&typed))
                .await
                .unwrap()
                .map(|u| u.id),
            Some(ada.id),
            "{typed} is the same account"
        );
    }
    assert_eq!(
        store.lookup(&name).await.unwrap(),
        None,
        "the store compares keys, not names (the key of {name} is lower case)"
    );
    let found = store
        .identify(&ada.id.to_string())
        .await
        .unwrap()
        .expect("identify");
    assert_eq!(found, ada);
    assert_eq!(store.lookup(&unique("nobody")).await.unwrap(), None);
    for bad in ["", "abc", "1.5", " 1", "99999999999999999999999", "-"] {
        assert_eq!(
            store.identify(bad).await.unwrap(),
            None,
            "identify({bad:?})"
        );
    }
    assert_eq!(store.identify(&i64::MAX.to_string()).await.unwrap(), None);
    for typed in [email.to_lowercase(), email.to_uppercase()] {
        assert_eq!(
            store
                .lookup_by_email(&email_key(&typed))
                .await
                .unwrap()
                .map(|u| u.id),
            Some(ada.id),
            "{typed}"
        );
    }
    assert_eq!(
        store
            .lookup_by_email(&email_key("nobody@example.org"))
            .await
            .unwrap(),
        None
    );

    // Uniqueness by key.
    for taken in [name.clone(), name.to_uppercase(), name.to_lowercase()] {
        let err = store
            .create(new_user(&taken, None, &[], true))
            .await
            .expect_err("a username with a taken key");
        assert_eq!(err.kind(), ErrorKind::UserExists, "{taken}");
        assert_eq!(err.status().as_u16(), 409);
    }
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
    // Users without e-mail do not collide.
    let other = store
        .create(new_user(&unique(&format!("other-{tag}")), None, &[], true))
        .await
        .expect("a user without e-mail");
    let plain = store
        .create(new_user(&unique(&format!("plain-{tag}")), None, &[], false))
        .await
        .expect("a second user without e-mail");
    let ids = [ada.id, other.id, plain.id];
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
    let back = store
        .lookup(&identity_key(&tricky))
        .await
        .unwrap()
        .expect("tricky lookup");
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
    let after = store.lookup(&identity_key(&name)).await.unwrap().unwrap();
    assert_eq!(after.password_hash, "$argon2id$new");
    assert_eq!(after.roles, ada.roles);
    let other_after = store
        .identify(&other.id.to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        other_after.password_hash, other.password_hash,
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

/// The identity rules over the store, with the keys [`NewUser::new`] computes: one
/// account per normal form, whatever the database's locale (regression, issue 12.2: on
/// PostgreSQL `lower()` mapped `İ` to `i`, and `Alice` could register beside `alice`).
pub async fn identity_rules<S: UserStore<TestUser>>(store: &S, tag: &str) {
    let n = unique(tag);
    let taken = |base: &str| format!("{base}-{n}");
    // Each first name is stored; each second one has the same key.
    for (first, second) in [
        ("alice", "Alice"),
        ("bob", "ＢＯＢ"),
        ("straße", "STRAẞE"),
        ("strasse2", "straße2"),
        ("οδυσσευς", "ΟΔΥΣΣΕΥΣ"),
        ("i\u{307}stanbul", "İstanbul"),
        ("kelvin", "\u{212A}elvin"),
    ] {
        store
            .create(new_user(&taken(first), None, &[], true))
            .await
            .unwrap_or_else(|e| panic!("create {first}: {e:?}"));
        let err = store
            .create(new_user(&taken(second), None, &[], true))
            .await
            .expect_err(second);
        assert_eq!(err.kind(), ErrorKind::UserExists, "{second} after {first}");
        assert!(
            store
                .lookup(&identity_key(&taken(second)))
                .await
                .unwrap()
                .is_some(),
            "{second} finds {first}"
        );
    }
    // Full case folding, never a locale's: İ (i + U+0307) is not i, nor ı.
    store
        .create(new_user(&taken("istanbul"), None, &[], true))
        .await
        .expect("istanbul beside i\u{307}stanbul");
    store
        .create(new_user(&taken("ıstanbul"), None, &[], true))
        .await
        .expect("ıstanbul (dotless) beside both");

    // Addresses: the key folds the local part and compares domains as DNS does.
    let victim = format!("victim-{n}@github.com");
    let owner = store
        .create(new_user(&taken("victim"), Some(&victim), &[], true))
        .await
        .expect("victim");
    for same in [
        format!("VICTIM-{n}@GitHub.COM"),
        format!("victim-{n}@ｇｉｔｈｕｂ.com"),
        format!("victim-{n}@github\u{3002}com"),
    ] {
        assert_eq!(
            store
                .lookup_by_email(&email_key(&same))
                .await
                .unwrap()
                .map(|u| u.id),
            Some(owner.id),
            "{same}"
        );
    }
    for other in [
        format!("victim-{n}@gİthub.com"),
        format!("victim-{n}@gіthub.com"),
    ] {
        assert_eq!(
            store.lookup_by_email(&email_key(&other)).await.unwrap(),
            None,
            "{other} is another domain"
        );
        store
            .create(new_user(&unique("look-alike"), Some(&other), &[], true))
            .await
            .unwrap_or_else(|e| panic!("{other} may register: it is another address: {e:?}"));
    }
}

/// Registrations: pending users, the take-over of expired ones, "address taken",
/// confirmation of pending users only, and the purge. `now` is any instant in ms.
pub async fn registration_semantics<S: UserStore<TestUser>>(store: &S, tag: &str) {
    let now: u64 = 1_800_000_000_000;
    let day = 24 * 3600 * 1000;
    let name = unique(&format!("reg-{tag}"));
    let email = format!("{name}@example.org");
    let pending = |name: &str, email: &str, at: u64| {
        new_user(name, Some(email), &[], false).pending_since(at)
    };

    // A registration made now creates a pending, inactive user.
    let Registered::Created(first) = store
        .register(pending(&name, &email, now), now - day)
        .await
        .expect("register")
    else {
        panic!("a new name and address are created");
    };
    assert!(!first.active);
    // The same name again: 409, whatever the address.
    let err = store
        .register(
            pending(&name.to_uppercase(), &unique("x@example.org"), now),
            now - day,
        )
        .await
        .expect_err("taken name");
    assert_eq!(err.kind(), ErrorKind::UserExists);
    let err = store
        .register(pending(&name, &email, now), now - day)
        .await
        .expect_err("taken name and address: the name decides");
    assert_eq!(err.kind(), ErrorKind::UserExists);
    // The same address under another name: nothing created, the owner named.
    let other = unique(&format!("reg2-{tag}"));
    match store
        .register(pending(&other, &email.to_uppercase(), now), now - day)
        .await
        .expect("taken address is not an error")
    {
        Registered::AddressTaken(owner) => assert_eq!(owner.id, first.id),
        Registered::Created(u) => panic!("created {u:?} on a taken address"),
    }
    assert_eq!(store.lookup(&identity_key(&other)).await.unwrap(), None);

    // Confirmation: only a pending registration made after the cut-off.
    assert!(
        !store.confirm(&first.id.to_string(), now + 1).await.unwrap(),
        "expired by the cut-off: not confirmed"
    );
    assert!(
        !store
            .identify(&first.id.to_string())
            .await
            .unwrap()
            .unwrap()
            .active
    );
    assert!(
        store
            .confirm(&first.id.to_string(), now - day)
            .await
            .unwrap()
    );
    assert!(
        store
            .identify(&first.id.to_string())
            .await
            .unwrap()
            .unwrap()
            .active
    );
    assert!(
        !store
            .confirm(&first.id.to_string(), now - day)
            .await
            .unwrap(),
        "already confirmed"
    );
    assert!(!store.confirm("nope", 0).await.unwrap());
    assert!(
        !store
            .confirm(&(first.id + 1_000_000).to_string(), 0)
            .await
            .unwrap()
    );
    // A user created directly (not a registration) is never confirmed by a token.
    let direct = store
        .create(new_user(
            &unique(&format!("direct-{tag}")),
            None,
            &[],
            false,
        ))
        .await
        .unwrap();
    assert!(!store.confirm(&direct.id.to_string(), 0).await.unwrap());
    assert!(
        !store
            .identify(&direct.id.to_string())
            .await
            .unwrap()
            .unwrap()
            .active
    );

    // A confirmed user keeps its name and address forever.
    let err = store
        .register(
            pending(&name, &unique("y@example.org"), now + 2 * day),
            now + day,
        )
        .await
        .expect_err("confirmed users do not expire");
    assert_eq!(err.kind(), ErrorKind::UserExists);

    // An unconfirmed registration past the cut-off frees its name and address: a new
    // registration takes them over (a new user with a new id).
    let squat = unique(&format!("squat-{tag}"));
    let squat_mail = format!("{squat}@example.org");
    let Registered::Created(old) = store
        .register(pending(&squat, &squat_mail, now), now - day)
        .await
        .unwrap()
    else {
        panic!("created");
    };
    // Not yet expired: both still held.
    assert_eq!(
        store
            .register(
                pending(&squat, &unique("z@example.org"), now + day - 1),
                now - 1
            )
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::UserExists
    );
    assert!(matches!(
        store
            .register(pending(&unique("w"), &squat_mail, now + day - 1), now - 1)
            .await
            .unwrap(),
        Registered::AddressTaken(o) if o.id == old.id
    ));
    // Expired (registered before the cut-off): taken over.
    let Registered::Created(new) = store
        .register(pending(&squat, &squat_mail, now + day + 1), now + 1)
        .await
        .expect("take over an expired registration")
    else {
        panic!("the expired registration's name and address are free");
    };
    assert_ne!(new.id, old.id, "a new user, never the old row");
    assert_eq!(store.identify(&old.id.to_string()).await.unwrap(), None);
    assert!(
        !store.confirm(&old.id.to_string(), 0).await.unwrap(),
        "the old registration's token confirms nothing"
    );

    // The purge deletes expired registrations only.
    let stale = store
        .register(
            pending(
                &unique(&format!("stale-{tag}")),
                &unique("s@example.org"),
                now,
            ),
            0,
        )
        .await
        .unwrap();
    let Registered::Created(stale) = stale else {
        panic!("created")
    };
    let purged = store.purge_unconfirmed(now + 1).await.unwrap();
    assert!(purged >= 1, "{purged}");
    assert_eq!(store.identify(&stale.id.to_string()).await.unwrap(), None);
    assert!(
        store
            .identify(&first.id.to_string())
            .await
            .unwrap()
            .is_some(),
        "confirmed"
    );
    assert!(
        store.identify(&new.id.to_string()).await.unwrap().is_some(),
        "not expired"
    );
    assert!(
        store
            .identify(&direct.id.to_string())
            .await
            .unwrap()
            .is_some(),
        "not a registration"
    );
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
        store
            .lookup(&identity_key(&name))
            .await
            .unwrap()
            .map(|u| u.id),
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

/// A session record of `subject` created (and stamped) at `ms`, live until `live_until`.
pub fn session(family: &str, subject: &str, ms: u64, live_until: u64) -> SessionRecord {
    let mut record = SessionRecord::new(
        &unique("sid"),
        family,
        subject,
        ms,
        live_until,
        ClientInfo::new(Some("contract-agent/1"), Some("192.0.2.1".parse().unwrap())),
    );
    record.label = Some("contract".into());
    record
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
            .is_revoked(&token(&jti, None, &sub, ms))
            .await
            .unwrap()
    );
    assert!(
        store
            .is_revoked(&token(&jti, Some(&fam), &sub, ms))
            .await
            .unwrap(),
        "a token of a session the store does not hold is refused"
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

    // A session: tokens of its family are accepted while it is live, for its user only.
    let record = session(&fam, &sub, ms, far);
    store
        .create_session(&record, &SessionLimits::default())
        .await
        .unwrap();
    assert!(
        !store
            .is_revoked(&token(&other, Some(&fam), &sub, ms))
            .await
            .unwrap()
    );
    assert!(
        store
            .is_revoked(&token(&other, Some(&fam), &unique("sub"), ms))
            .await
            .unwrap(),
        "a session is its user's"
    );
    assert!(store.end_session(&fam).await.unwrap());
    assert!(!store.end_session(&fam).await.unwrap(), "ended once");
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
    let past_sub = unique("past-sub");
    store
        .revoke_user(&past_sub, ms + 10_000, now - 10)
        .await
        .unwrap();
    assert!(
        !store
            .is_revoked(&token(&past, None, &past_sub, ms))
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
    let fs = unique("exp-fs");
    store
        .create_session(
            &session(&f, &fs, time.ms(), soon),
            &SessionLimits::default(),
        )
        .await
        .unwrap();
    store
        .revoke_user(&s, time.ms() + 60_000, soon)
        .await
        .unwrap();
    store.revoke_user(&s, 1, start - 100).await.unwrap(); // an earlier expiry does not shorten it
    assert!(store.mark_spent(&sp, soon).await.unwrap());
    if time.secs() < soon {
        assert!(store.is_revoked(&token(&j, None, &s, 0)).await.unwrap());
        assert!(
            !store
                .is_revoked(&token(&unique("x"), Some(&f), &fs, u64::MAX / 2))
                .await
                .unwrap(),
            "the session is live until its end"
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
        !store.is_revoked(&token(&j, None, &s, 0)).await.unwrap(),
        "expired entries no longer count"
    );
    assert!(
        store
            .is_revoked(&token(&j, Some(&f), &fs, u64::MAX / 2))
            .await
            .unwrap(),
        "an ended session no longer lets its tokens in"
    );
    assert!(store.sessions(&fs).await.unwrap().is_empty());
    assert!(
        store.mark_spent(&sp, far).await.unwrap(),
        "an expired spend can be spent again"
    );
    assert!(!store.mark_spent(&sp, far).await.unwrap());
}

/// A token of `family`'s session, stamped late enough for any not-before.
fn of_session<'a>(family: &'a str, subject: &'a str) -> TokenRef<'a> {
    token("j", Some(family), subject, u64::MAX / 2)
}

/// A rotation of `family`'s session from generation `presented`, minting `successor`.
#[allow(clippy::too_many_arguments)]
fn rotation<'a>(
    family: &'a str,
    subject: &'a str,
    presented: u64,
    now_ms: u64,
    grace_ms: u64,
    live_until: u64,
    successor: &'a str,
    client: &'a ClientInfo,
) -> Rotation<'a> {
    Rotation {
        family,
        subject,
        presented,
        now_ms,
        grace_ms,
        live_until,
        successor,
        client,
    }
}

/// The contract of the session half of [`RevocationStore`], as
/// [`MemoryRevocationStore`](centurion::memory::MemoryRevocationStore) keeps it: creating
/// within the limits, listing, the rotation compare-and-set (rotate, replay within the
/// grace window, reuse, a retried call), ending one, all but one, all; the not-befores
/// that end sessions of logins in flight; expiry; concurrent rotations.
pub async fn session_semantics<S: RevocationStore>(store: Arc<S>, tag: &str, time: &StoreTime) {
    let now = time.secs();
    let far = now + 3600;
    let ms = time.ms();
    let sub = unique(&format!("ssub-{tag}"));
    let limits = SessionLimits {
        per_user: 3,
        global: u64::MAX,
    };
    let fams: Vec<String> = (0..5).map(|i| unique(&format!("sfam{i}-{tag}"))).collect();

    // Create, list newest first, a retried create is no error.
    let mut records = Vec::new();
    for (i, fam) in fams.iter().take(3).enumerate() {
        let record = session(fam, &sub, ms - 10 + i as u64, far);
        store.create_session(&record, &limits).await.unwrap();
        records.push(record);
    }
    store.create_session(&records[2], &limits).await.unwrap();
    let listed = store.sessions(&sub).await.unwrap();
    assert_eq!(
        listed.iter().map(|r| r.family.as_str()).collect::<Vec<_>>(),
        [&fams[2], &fams[1], &fams[0]],
        "newest first"
    );
    assert_eq!(
        listed[2], records[0],
        "a record comes back as it was stored"
    );
    assert!(store.sessions(&unique("nobody")).await.unwrap().is_empty());

    // The per-user limit ends the oldest.
    let fourth = session(&fams[3], &sub, ms, far);
    store.create_session(&fourth, &limits).await.unwrap();
    let listed = store.sessions(&sub).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(
        listed.iter().all(|r| r.family != fams[0]),
        "the oldest ended"
    );
    assert!(store.is_revoked(&of_session(&fams[0], &sub)).await.unwrap());
    assert!(!store.is_revoked(&of_session(&fams[3], &sub)).await.unwrap());

    // Rotation: current → rotated; again within the grace window → the same successor;
    // from another user agent → reuse, the session ends.
    let firefox = ClientInfo::new(Some("Firefox"), Some("198.51.100.7".parse().unwrap()));
    let curl = ClientInfo::new(Some("curl"), None);
    let anonymous = ClientInfo::default();
    let f1 = &fams[1];
    let r = rotation(f1, &sub, 0, ms, 5000, far, "succ-1", &firefox);
    assert_eq!(
        store.rotate_session(&r).await.unwrap(),
        RotationOutcome::Rotated
    );
    assert_eq!(
        store.rotate_session(&r).await.unwrap(),
        RotationOutcome::Rotated,
        "a retried call of the same rotation"
    );
    let listed = store.sessions(&sub).await.unwrap();
    let rotated = listed.iter().find(|x| &x.family == f1).unwrap();
    assert_eq!(rotated.generation, 1);
    assert_eq!(rotated.last, firefox);
    assert_eq!(rotated.login, records[1].login, "the login's client stays");
    assert_eq!(rotated.last_used_at_ms, ms);
    assert_eq!(rotated.created_at_ms, records[1].created_at_ms);
    let again = rotation(f1, &sub, 0, ms + 4000, 5000, far, "succ-x", &firefox);
    assert_eq!(
        store.rotate_session(&again).await.unwrap(),
        RotationOutcome::Replayed("succ-1".into())
    );
    let agentless = rotation(f1, &sub, 0, ms + 5000, 5000, far, "succ-y", &anonymous);
    assert_eq!(
        store.rotate_session(&agentless).await.unwrap(),
        RotationOutcome::Replayed("succ-1".into()),
        "a client without a user agent cannot be told apart"
    );
    let other_agent = rotation(f1, &sub, 0, ms + 100, 5000, far, "succ-z", &curl);
    assert_eq!(
        store.rotate_session(&other_agent).await.unwrap(),
        RotationOutcome::Reused
    );
    assert!(
        store.is_revoked(&of_session(f1, &sub)).await.unwrap(),
        "reuse ends the session"
    );
    let next = rotation(f1, &sub, 1, ms + 200, 5000, far, "succ-2", &firefox);
    assert_eq!(
        store.rotate_session(&next).await.unwrap(),
        RotationOutcome::Ended
    );

    // Past the window, two generations behind, and with no window: reuse.
    let f2 = &fams[2];
    let r = |p: u64, at: u64, grace: u64, succ: &'static str| {
        rotation(f2, &sub, p, at, grace, far, succ, &firefox)
    };
    assert_eq!(
        store.rotate_session(&r(0, ms, 5000, "a")).await.unwrap(),
        RotationOutcome::Rotated
    );
    assert_eq!(
        store
            .rotate_session(&r(1, ms + 1, 5000, "b"))
            .await
            .unwrap(),
        RotationOutcome::Rotated
    );
    assert_eq!(
        store
            .rotate_session(&r(0, ms + 2, 5000, "c"))
            .await
            .unwrap(),
        RotationOutcome::Reused,
        "two generations behind"
    );
    let f3 = &fams[3];
    let r = |p: u64, at: u64, grace: u64, succ: &'static str| {
        rotation(f3, &sub, p, at, grace, far, succ, &firefox)
    };
    assert_eq!(
        store.rotate_session(&r(0, ms, 5000, "a")).await.unwrap(),
        RotationOutcome::Rotated
    );
    assert_eq!(
        store
            .rotate_session(&r(0, ms + 5001, 5000, "b"))
            .await
            .unwrap(),
        RotationOutcome::Reused,
        "past the grace window"
    );
    let f4 = &fams[4];
    store
        .create_session(&session(f4, &sub, ms, far), &limits)
        .await
        .unwrap();
    let r = |p: u64, at: u64, succ: &'static str| rotation(f4, &sub, p, at, 0, far, succ, &firefox);
    assert_eq!(
        store.rotate_session(&r(0, ms, "a")).await.unwrap(),
        RotationOutcome::Rotated
    );
    assert_eq!(
        store.rotate_session(&r(0, ms, "b")).await.unwrap(),
        RotationOutcome::Reused,
        "no window: every second use is a reuse"
    );
    // Another user's token cannot rotate a session; an unknown family is ended.
    let stranger = unique("stranger");
    let fam = unique("sfam-x");
    store
        .create_session(&session(&fam, &sub, ms, far), &limits)
        .await
        .unwrap();
    let foreign = rotation(&fam, &stranger, 0, ms, 5000, far, "s", &firefox);
    assert_eq!(
        store.rotate_session(&foreign).await.unwrap(),
        RotationOutcome::Ended
    );
    assert!(
        !store.is_revoked(&of_session(&fam, &sub)).await.unwrap(),
        "left alone"
    );
    let unknown = unique("sfam-unknown");
    let ghost = rotation(&unknown, &sub, 0, ms, 5000, far, "s", &firefox);
    assert_eq!(
        store.rotate_session(&ghost).await.unwrap(),
        RotationOutcome::Ended
    );

    // Ending one by its public id: only the user's own.
    let mine = store.sessions(&sub).await.unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert!(!store.end_session_of(&stranger, &mine[0].id).await.unwrap());
    assert!(!store.end_session_of(&sub, "no-such-id").await.unwrap());
    assert!(!store.is_revoked(&of_session(&fam, &sub)).await.unwrap());
    assert!(store.end_session_of(&sub, &mine[0].id).await.unwrap());
    assert!(store.is_revoked(&of_session(&fam, &sub)).await.unwrap());
    assert!(!store.end_session_of(&sub, &mine[0].id).await.unwrap());

    // All but one, also a login in flight (stamped before the not-before).
    let user = unique(&format!("suser-{tag}"));
    let big = SessionLimits::default();
    let (keep, other, late) = (unique("keep"), unique("other"), unique("late"));
    let t = time.ms();
    for fam in [&keep, &other] {
        store
            .create_session(&session(fam, &user, t - 5, far), &big)
            .await
            .unwrap();
    }
    let nb = t + 1;
    assert_eq!(
        store
            .end_sessions_of(&user, Some(&keep), nb, far)
            .await
            .unwrap(),
        1
    );
    assert!(
        !store.is_revoked(&of_session(&keep, &user)).await.unwrap(),
        "the kept one lives"
    );
    assert!(store.is_revoked(&of_session(&other, &user)).await.unwrap());
    let kept = store.sessions(&user).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0].stamp_ms, nb,
        "the kept session is stamped at the not-before"
    );
    // A login that began before (stamp t - 1) and lands now yields a dead session.
    let _ = store
        .create_session(&session(&late, &user, t - 1, far), &big)
        .await;
    assert!(store.is_revoked(&of_session(&late, &user)).await.unwrap());
    assert!(
        store
            .sessions(&user)
            .await
            .unwrap()
            .iter()
            .all(|r| r.family != late)
    );
    let late_rotation = rotation(&late, &user, 0, t, 5000, far, "s", &firefox);
    assert_eq!(
        store.rotate_session(&late_rotation).await.unwrap(),
        RotationOutcome::Ended
    );
    // A login that began after is live.
    let after = unique("after");
    store
        .create_session(&session(&after, &user, nb, far), &big)
        .await
        .unwrap();
    assert!(!store.is_revoked(&of_session(&after, &user)).await.unwrap());
    // The sessions' not-before never moves back.
    assert_eq!(
        store
            .end_sessions_of(&user, Some(&after), 1, far)
            .await
            .unwrap(),
        1
    );
    assert!(store.is_revoked(&of_session(&keep, &user)).await.unwrap());
    assert!(!store.is_revoked(&of_session(&after, &user)).await.unwrap());
    assert_eq!(
        store.end_sessions_of(&user, None, nb, far).await.unwrap(),
        1
    );
    assert!(store.sessions(&user).await.unwrap().is_empty());

    // A per-user revocation ends every session, also one whose login was in flight.
    let revoked = unique(&format!("srev-{tag}"));
    let (a, b) = (unique("ra"), unique("rb"));
    let t = time.ms();
    store
        .create_session(&session(&a, &revoked, t - 5, far), &big)
        .await
        .unwrap();
    store.revoke_user(&revoked, t + 1, far).await.unwrap();
    assert!(store.sessions(&revoked).await.unwrap().is_empty());
    assert!(store.is_revoked(&of_session(&a, &revoked)).await.unwrap());
    let _ = store
        .create_session(&session(&b, &revoked, t, far), &big)
        .await;
    assert!(
        store.is_revoked(&of_session(&b, &revoked)).await.unwrap(),
        "stamped before the revocation"
    );
    let c = unique("rc");
    store
        .create_session(&session(&c, &revoked, t + 1, far), &big)
        .await
        .unwrap();
    assert!(!store.is_revoked(&of_session(&c, &revoked)).await.unwrap());

    // The global limit fails closed.
    let err = store
        .create_session(
            &session(&unique("over"), &unique("sub"), time.ms(), far),
            &SessionLimits {
                per_user: 64,
                global: 1,
            },
        )
        .await
        .expect_err("the store holds live sessions already");
    assert_eq!(err.kind(), ErrorKind::Overloaded);
    assert_eq!(err.status().as_u16(), 503);

    // Concurrent logins of one user: the per-user limit holds exactly, however they
    // interleave (each trims the oldest and inserts as one step).
    let crowd = unique(&format!("crowd-{tag}"));
    let three = SessionLimits {
        per_user: 3,
        global: u64::MAX,
    };
    let t = time.ms();
    let tasks: Vec<_> = (0..16u64)
        .map(|i| {
            let (store, crowd) = (store.clone(), crowd.clone());
            tokio::spawn(async move {
                let fam = unique(&format!("crowd{i}"));
                store
                    .create_session(&session(&fam, &crowd, t + i, far), &three)
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("no panic").unwrap();
    }
    assert_eq!(
        store.sessions(&crowd).await.unwrap().len(),
        3,
        "16 concurrent logins under a limit of 3"
    );

    // Concurrent rotations of one generation: one rotates, the others get its successor.
    let user = unique(&format!("racer-{tag}"));
    let raced = unique("raced");
    store
        .create_session(&session(&raced, &user, time.ms(), far), &big)
        .await
        .unwrap();
    let t = time.ms();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (store, raced, user) = (store.clone(), raced.clone(), user.clone());
            tokio::spawn(async move {
                let client = ClientInfo::new(Some("Firefox"), None);
                let successor = format!("succ-{i}");
                let r = rotation(&raced, &user, 0, t, 5000, far, &successor, &client);
                (successor.clone(), store.rotate_session(&r).await.unwrap())
            })
        })
        .collect();
    let mut winner = None;
    let mut replayed = Vec::new();
    for task in tasks {
        match task.await.expect("no panic") {
            (succ, RotationOutcome::Rotated) => {
                assert!(winner.replace(succ).is_none(), "two rotations won");
            }
            (_, RotationOutcome::Replayed(succ)) => replayed.push(succ),
            (_, other) => panic!("a concurrent rotation within the window: {other:?}"),
        }
    }
    let winner = winner.expect("one rotation wins");
    assert_eq!(replayed.len(), 15);
    assert!(
        replayed.iter().all(|s| *s == winner),
        "all get the winner's pair"
    );

    // Outside a window (none), the same race ends the session.
    let raced = unique("raced0");
    store
        .create_session(&session(&raced, &user, time.ms(), far), &big)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (store, raced, user) = (store.clone(), raced.clone(), user.clone());
            tokio::spawn(async move {
                let client = ClientInfo::default();
                let successor = format!("succ-{i}");
                let r = rotation(&raced, &user, 0, t, 0, far, &successor, &client);
                store.rotate_session(&r).await.unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("no panic"));
    }
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == RotationOutcome::Rotated)
            .count(),
        1
    );
    assert!(outcomes.contains(&RotationOutcome::Reused), "{outcomes:?}");
    assert!(store.is_revoked(&of_session(&raced, &user)).await.unwrap());

    // Sessions end at their `live_until` (their end, or the idle timeout).
    let soon = time.secs() + 1;
    let brief = unique("brief");
    store
        .create_session(&session(&brief, &user, time.ms(), soon), &big)
        .await
        .unwrap();
    let idle = unique("idle");
    store
        .create_session(&session(&idle, &user, time.ms(), far), &big)
        .await
        .unwrap();
    // A rotation moves `live_until` (the idle timeout) to `soon`.
    let r = rotation(&idle, &user, 0, time.ms(), 5000, soon, "s", &firefox);
    assert_eq!(
        store.rotate_session(&r).await.unwrap(),
        RotationOutcome::Rotated
    );
    if time.secs() < soon {
        assert!(!store.is_revoked(&of_session(&brief, &user)).await.unwrap());
        assert!(!store.is_revoked(&of_session(&idle, &user)).await.unwrap());
    }
    time.pass(soon).await;
    assert!(store.is_revoked(&of_session(&brief, &user)).await.unwrap());
    assert!(store.is_revoked(&of_session(&idle, &user)).await.unwrap());
    let r = rotation(&idle, &user, 1, time.ms(), 5000, far, "t", &firefox);
    assert_eq!(
        store.rotate_session(&r).await.unwrap(),
        RotationOutcome::Ended
    );
    assert!(
        store
            .sessions(&user)
            .await
            .unwrap()
            .iter()
            .all(|r| r.family != brief && r.family != idle)
    );
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
        .expect("register")
        .created()
        .expect("a new user");
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

    let firefox = ClientInfo::new(Some("Firefox"), Some("192.0.2.10".parse().unwrap()));
    let curl = ClientInfo::new(Some("curl"), None);
    let pair = auth
        .login_from(&name, password, &firefox)
        .await
        .expect("login");
    let claims = auth
        .verify_access(&pair.access_token)
        .await
        .expect("verify");
    assert_eq!(claims.subject(), user.id.to_string());
    let sessions = auth.sessions(&claims).await.expect("list");
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0].current);
    assert_eq!(sessions[0].login, firefox);

    let next = auth
        .refresh_from(&pair.refresh_token, &firefox)
        .await
        .expect("refresh");
    auth.verify_access(&next.access_token)
        .await
        .expect("rotated access token");
    // The same client again, within the grace window: the same pair.
    let again = auth
        .refresh_from(&pair.refresh_token, &firefox)
        .await
        .expect("replay");
    assert_eq!(again, next);
    // Another client: reuse, the session ends.
    let err = auth
        .refresh_from(&pair.refresh_token, &curl)
        .await
        .expect_err("reuse");
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
