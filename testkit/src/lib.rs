//! The test kit of the centurion workspace (`publish = false`): what the runtime's
//! integration tests, the cross-crate suites, the quickstart's end-to-end tests and the
//! fuzz targets share.
//!
//! | module | what |
//! | --- | --- |
//! | this page | [`TEST_SECRET`], [`cheap_passwords`], [`builder`] and [`auth`], the clock helpers, [`SharedStore`] |
//! | [`servers`] | PostgreSQL, Redis and SMTP servers a test starts and stops itself; the loud `SKIPPED` (a failure under `CI=true`) |
//! | [`flask`] | the flask-praetorian and flask-jwt-extended apps of the migration tests |
//! | [`oidc`] | a real OpenID Provider (oidc-provider from npm, `tests/oidc/provider.mjs`) on loopback |
//! | [`http`] | the raw HTTP/1.1 client, blocking or on Tokio, and a Router served over TCP |
//! | [`serving`] | a Router served with deadlines (`centurion::serve`), raw connections read until closed, half-sent heads, an HTTP/2 client, a process's descriptors and memory |
//! | [`tokens`] | token surgery: base64url, parts, re-signing edited headers and payloads, the committed test keys |
//! | [`assert`](mod@assert) | the error-body assertions |
//! | [`routes`] | the reference auth routes (login, refresh, confirm, reset, logout) |
//! | [`roles`] | a role enum with a hierarchy and permissions, from another crate than the suites |
//! | [`contracts`] | the store contracts, written once and run against every store |
//! | [`hooked`] | stores with a hook around every call: failing, hanging, pausing at a chosen call |
//! | [`prelude`] | what the runtime's integration tests glob-import |

#![allow(missing_docs, unreachable_pub)]

pub mod assert;
pub mod contracts;
pub mod flask;
pub mod hooked;
pub mod http;
pub mod oidc;
pub mod prelude;
pub mod roles;
pub mod routes;
pub mod servers;
pub mod serving;
pub mod tokens;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use centurion::memory::MemoryUserStore;
use centurion::testing::TestUser;
use centurion::{Centurion, CenturionBuilder, PasswordConfig, Result, UserStore};

pub use crate::assert::{assert_error, assert_error_named, check_error_body, expect_json, keys};
pub use crate::http::{Client, Request, Response, Server, SetCookie};
pub use crate::servers::{
    PgServer, RedisServer, SmtpServer, TempDir, free_port, in_ci, shared_postgres, skip, unique,
};
pub use crate::tokens::{
    access_payload, b64, header_of, hs256_header, key, parts, payload_of, sign_json_text,
    signing_input, unb64, unique_bytes,
};

/// The HS256 secret of every test instance (40 bytes).
pub const TEST_SECRET: &str = "centurion-test-suite-secret-of-40-bytes!";

/// Another HS256 secret, for "wrong key" tests.
pub const OTHER_SECRET: &str = "another-integration-secret-of-40-bytes!!";

/// Argon2 parameters cheap enough for debug builds, where the cost does not matter.
pub fn cheap_passwords() -> PasswordConfig {
    PasswordConfig {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
        ..PasswordConfig::default()
    }
}

/// A builder with the test secret, cheap password hashing and an empty memory user store.
pub fn builder() -> CenturionBuilder<TestUser> {
    Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .user_store(MemoryUserStore::new())
}

/// `builder().build()`.
pub fn auth() -> Centurion<TestUser> {
    builder().build().expect("the test configuration is valid")
}

/// Seconds since the Unix epoch, on the system clock.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Seconds since the Unix epoch, on the system clock (the name the store suites use).
pub fn now_secs() -> u64 {
    now()
}

/// Seconds since the Unix epoch on a test's clock (a [`ManualClock`] or any other).
///
/// [`ManualClock`]: centurion::clock::ManualClock
pub fn secs_on(clock: &impl centurion::clock::Clock) -> u64 {
    clock
        .now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// How many refreshes the storage-growth tests make: `CENTURION_GROWTH_REFRESHES`, or
/// 10 000 (a store that kept one entry per refresh would show 10 000 more).
pub fn growth_refreshes() -> usize {
    std::env::var("CENTURION_GROWTH_REFRESHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// Milliseconds since the Unix epoch, on the system clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A user store that can delete users, deactivate them and change their roles, and that
/// counts its look-ups. Clones share the users.
#[derive(Clone, Default)]
pub struct SharedStore {
    inner: Arc<SharedInner>,
}

#[derive(Default)]
struct SharedInner {
    users: Mutex<HashMap<i64, TestUser>>,
    identify_calls: AtomicU64,
    lookup_calls: AtomicU64,
    password_updates: AtomicU64,
}

impl SharedStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&self, user: TestUser) {
        self.inner.users.lock().unwrap().insert(user.id, user);
    }

    pub fn remove(&self, id: i64) {
        self.inner.users.lock().unwrap().remove(&id);
    }

    pub fn modify(&self, id: i64, f: impl FnOnce(&mut TestUser)) {
        f(self
            .inner
            .users
            .lock()
            .unwrap()
            .get_mut(&id)
            .expect("user exists"));
    }

    pub fn get(&self, id: i64) -> Option<TestUser> {
        self.inner.users.lock().unwrap().get(&id).cloned()
    }

    pub fn identify_calls(&self) -> u64 {
        self.inner.identify_calls.load(Ordering::SeqCst)
    }

    pub fn lookup_calls(&self) -> u64 {
        self.inner.lookup_calls.load(Ordering::SeqCst)
    }

    pub fn password_updates(&self) -> u64 {
        self.inner.password_updates.load(Ordering::SeqCst)
    }
}

impl UserStore<TestUser> for SharedStore {
    async fn lookup(&self, username_key: &str) -> Result<Option<TestUser>> {
        self.inner.lookup_calls.fetch_add(1, Ordering::SeqCst);
        Ok(self
            .inner
            .users
            .lock()
            .unwrap()
            .values()
            .find(|u| centurion::identity::identity_key(&u.username) == username_key)
            .cloned())
    }

    async fn identify(&self, id: &str) -> Result<Option<TestUser>> {
        self.inner.identify_calls.fetch_add(1, Ordering::SeqCst);
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        Ok(self.get(id))
    }

    async fn update_password_hash(&self, id: &str, hash: &str) -> Result<()> {
        self.inner.password_updates.fetch_add(1, Ordering::SeqCst);
        if let Ok(id) = id.parse::<i64>()
            && let Some(user) = self.inner.users.lock().unwrap().get_mut(&id)
        {
            hash.clone_into(&mut user.password_hash);
        }
        Ok(())
    }
}

/// A builder over a [`SharedStore`] (returned too, to change users behind the instance).
pub fn shared_builder() -> (CenturionBuilder<TestUser>, SharedStore) {
    let store = SharedStore::new();
    let builder = Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .user_store(store.clone());
    (builder, store)
}
