//! What the fuzz targets share beyond the workspace's test kit (`centurion_testkit`): one
//! instance with one user, a runtime, and the check every refused token must pass.

#![allow(dead_code)]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use centurion::memory::MemoryUserStore;
use centurion::testing::TestUser;
use centurion::{
    Centurion, CookieConfig, Error, NewUser, PasswordConfig, TokenLocation, UserStore,
};

// Each target uses some of these (the module is compiled into every target).
#[allow(unused_imports)]
pub use centurion_testkit::{TEST_SECRET, check_error_body, now};

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

/// The kit's cheap argon2 parameters, cheaper still (hashed on every run) and on one
/// hashing thread.
pub fn cheap_passwords() -> PasswordConfig {
    PasswordConfig {
        memory_kib: 64,
        pool_size: Some(1),
        ..centurion_testkit::cheap_passwords()
    }
}

/// The instance: HS256, header + cookies (not secure, so unprefixed names) + query for
/// WebSocket upgrades, user "ada" with password [`PASSWORD`].
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let users = Arc::new(MemoryUserStore::<TestUser>::new());
        let auth = Centurion::<TestUser>::builder()
            .secret(TEST_SECRET)
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

/// Creates a user in a store (for targets that build their own instance).
pub async fn seed<S: UserStore<TestUser>>(store: &S, hash: String) -> TestUser {
    store
        .create(NewUser::new(USERNAME, hash).with_email("ada@example.com").with_roles(["reader"]))
        .await
        .expect("creating the user works")
}
