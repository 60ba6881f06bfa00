//! What the fuzz targets share: one instance with one user, a runtime, and the checks
//! every refusal must pass.

#![allow(dead_code)]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use centurion::memory::MemoryUserStore;
use centurion::testing::TestUser;
use centurion::{
    Centurion, CookieConfig, Error, NewUser, PasswordConfig, TokenLocation, UserStore,
};

/// The HS256 secret of the fuzzed instance.
pub const SECRET: &str = "fuzzing-secret-of-at-least-thirty-two-bytes!";
/// The one user's login.
pub const USERNAME: &str = "ada";
/// The one user's password.
pub const PASSWORD: &str = "correct horse battery";

/// The fuzzed instance and what it knows.
pub struct Fixture {
    pub auth: Centurion<TestUser>,
    /// The active user "ada" (id 1, role "reader").
    pub user: TestUser,
}

/// A single-threaded runtime shared by every run of a target.
pub fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
    })
}

/// Argon2 parameters cheap enough to hash on every run.
pub fn cheap_passwords() -> PasswordConfig {
    PasswordConfig {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
        pool_size: Some(1),
        ..PasswordConfig::default()
    }
}

/// The instance: HS256, header + cookies (not secure, so unprefixed names) + query for
/// WebSocket upgrades, user "ada" with password [`PASSWORD`].
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let users = Arc::new(MemoryUserStore::<TestUser>::new());
        let auth = Centurion::<TestUser>::builder()
            .secret(SECRET)
            .password(cheap_passwords())
            .token_locations(&[TokenLocation::Header])
            .cookies(CookieConfig {
                secure: false,
                ..CookieConfig::default()
            })
            .query_parameter("access_token")
            .store_timeout(Some(Duration::from_secs(5)))
            .user_store(Arc::clone(&users))
            .build()
            .expect("the fuzz configuration is valid");
        let user = rt().block_on(async {
            let hash = auth.hasher().hash(PASSWORD).await.expect("hashing works");
            seed(&*users, hash).await
        });
        Fixture { auth, user }
    })
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Every refusal of a token: 401 (or 503 for a store, which the fuzzed stores never are),
/// the JSON body `{"error", "message", "status_code"}`, and nothing of the input echoed.
pub fn check_refusal(err: &Error, input: &str) {
    let status = err.status().as_u16();
    assert!(
        status == 401 || status == 403,
        "refusal with status {status}: {err:?}"
    );
    let body = err.to_json();
    assert!(body["error"].is_string(), "{body}");
    assert!(body["message"].is_string(), "{body}");
    assert_eq!(body["status_code"], status, "{body}");
    // Messages are fixed texts with spaces; a token has none, so a space-free input of
    // some length inside a message would mean the message was built from the input.
    if input.len() >= 32 && !input.contains(' ') {
        assert!(
            !err.message().contains(input),
            "the error message echoes the input: {err:?}"
        );
    }
}

/// The JSON error body of a response with this status: `{"error", "message",
/// "status_code"}` with `status_code` equal to the status.
pub fn check_error_body(status: u16, body: &[u8]) {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "a {status} answer without a JSON body ({e}): {:?}",
            String::from_utf8_lossy(body)
        )
    });
    assert!(value["error"].is_string(), "{value}");
    assert!(value["message"].is_string(), "{value}");
    assert_eq!(value["status_code"], status, "{value}");
}

/// Creates a user in a store (for targets that build their own instance).
pub async fn seed<S: UserStore<TestUser>>(store: &S, hash: String) -> TestUser {
    store
        .create(NewUser {
            username: USERNAME.to_owned(),
            email: Some("ada@example.com".to_owned()),
            password_hash: hash,
            roles: vec!["reader".to_owned()],
            active: true,
        })
        .await
        .expect("creating the user works")
}
