//! Helpers shared by the integration tests: instances, stores, token surgery.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use centurion::memory::MemoryUserStore;
use centurion::testing::TestUser;
use centurion::{Centurion, CenturionBuilder, PasswordConfig, Result, UserStore};
use serde_json::{Value, json};

/// An HS256 secret of 40 bytes.
pub(crate) const SECRET: &str = "integration-test-secret-of-40-bytes!!!!!";

/// Another HS256 secret, for "wrong key" tests.
pub(crate) const OTHER_SECRET: &str = "another-integration-secret-of-40-bytes!!";

/// Argon2 parameters cheap enough for debug builds, where the cost does not matter.
pub(crate) fn cheap_passwords() -> PasswordConfig {
    PasswordConfig {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
        ..PasswordConfig::default()
    }
}

/// A builder with the test secret, cheap password hashing and an empty memory user store.
pub(crate) fn builder() -> CenturionBuilder<TestUser> {
    Centurion::<TestUser>::builder()
        .secret(SECRET)
        .password(cheap_passwords())
        .user_store(MemoryUserStore::new())
}

/// `builder().build()`.
pub(crate) fn auth() -> Centurion<TestUser> {
    builder().build().expect("the test configuration is valid")
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// base64url without padding.
pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict base64url decoding.
pub(crate) fn unb64(part: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(part).expect("valid base64url")
}

/// The three parts of a compact token.
pub(crate) fn parts(token: &str) -> (String, String, String) {
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        panic!("not a three-part token");
    };
    (h.to_owned(), p.to_owned(), s.to_owned())
}

/// The decoded header of a token (no verification).
pub(crate) fn header_of(token: &str) -> Value {
    serde_json::from_slice(&unb64(&parts(token).0)).expect("JSON header")
}

/// The decoded payload of a token (no verification).
pub(crate) fn payload_of(token: &str) -> Value {
    serde_json::from_slice(&unb64(&parts(token).1)).expect("JSON payload")
}

/// A payload centurion would accept as an access token, valid for ten minutes.
pub(crate) fn access_payload(sub: &str) -> Value {
    let now = now();
    json!({
        "sub": sub,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": b64(unique_bytes()),
        "type": "access",
        "fresh": true,
        "roles": ["reader"],
        "fam": "family-1",
    })
}

/// Sixteen bytes that differ between calls.
pub(crate) fn unique_bytes() -> [u8; 16] {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&n.to_le_bytes());
    out[8..].copy_from_slice(&(t as u64).to_le_bytes());
    out
}

/// The test's HS256 header.
pub(crate) fn hs256_header() -> Value {
    json!({"alg": "HS256", "typ": "JWT"})
}

/// `base64url(header).base64url(payload)` of two raw JSON texts.
pub(crate) fn signing_input(header_json: &str, payload_json: &str) -> String {
    format!("{}.{}", b64(header_json), b64(payload_json))
}

/// A token with exactly this header and payload text, signed by `auth`'s key.
pub(crate) fn sign_json_text<U>(
    auth: &Centurion<U>,
    header_json: &str,
    payload_json: &str,
) -> String {
    centurion::dangerous::sign_raw(auth, &signing_input(header_json, payload_json))
        .expect("signing works")
}

/// The path of a committed test key.
pub(crate) fn key(name: &str) -> String {
    let path = format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// A user store that can delete users, deactivate them and change their roles, and that
/// counts its look-ups. Clones share the users.
#[derive(Clone, Default)]
pub(crate) struct SharedStore {
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
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn insert(&self, user: TestUser) {
        self.inner.users.lock().unwrap().insert(user.id, user);
    }

    pub(crate) fn remove(&self, id: i64) {
        self.inner.users.lock().unwrap().remove(&id);
    }

    pub(crate) fn modify(&self, id: i64, f: impl FnOnce(&mut TestUser)) {
        f(self
            .inner
            .users
            .lock()
            .unwrap()
            .get_mut(&id)
            .expect("user exists"));
    }

    pub(crate) fn get(&self, id: i64) -> Option<TestUser> {
        self.inner.users.lock().unwrap().get(&id).cloned()
    }

    pub(crate) fn identify_calls(&self) -> u64 {
        self.inner.identify_calls.load(Ordering::SeqCst)
    }

    pub(crate) fn lookup_calls(&self) -> u64 {
        self.inner.lookup_calls.load(Ordering::SeqCst)
    }

    pub(crate) fn password_updates(&self) -> u64 {
        self.inner.password_updates.load(Ordering::SeqCst)
    }
}

impl UserStore<TestUser> for SharedStore {
    async fn lookup(&self, username: &str) -> Result<Option<TestUser>> {
        self.inner.lookup_calls.fetch_add(1, Ordering::SeqCst);
        Ok(self
            .inner
            .users
            .lock()
            .unwrap()
            .values()
            .find(|u| u.username == username)
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
pub(crate) fn shared_builder() -> (CenturionBuilder<TestUser>, SharedStore) {
    let store = SharedStore::new();
    let builder = Centurion::<TestUser>::builder()
        .secret(SECRET)
        .password(cheap_passwords())
        .user_store(store.clone());
    (builder, store)
}
