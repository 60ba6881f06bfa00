//! Registration and password-reset tokens: single use, of their own kind only, and a
//! reset revokes what the user held.

use centurion::memory::MemoryUserStore;
use centurion::testing::TestUser;
use centurion::{Centurion, ErrorKind};
use centurion_testkit::prelude::*;

fn instance() -> Centurion<TestUser> {
    Centurion::<TestUser>::builder()
        .secret(TEST_SECRET)
        .password(cheap_passwords())
        .user_store(MemoryUserStore::new())
        .build()
        .unwrap()
}

#[tokio::test]
async fn registration_creates_an_inactive_user_that_the_token_activates_once() {
    let auth = instance();
    let (user, token) = auth
        .register(
            "ada",
            Some("ada@example.com"),
            "a fine password",
            &["author"],
        )
        .await
        .unwrap()
        .created()
        .expect("a new user");
    assert!(!user.active);
    assert!(user.password_hash.starts_with("$argon2id$"));
    assert_eq!(
        auth.login("ada", "a fine password")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidUserError
    );
    let confirmed = auth.confirm_registration(&token).await.unwrap();
    assert!(confirmed.active);
    assert!(auth.login("ada", "a fine password").await.is_ok());
    let err = auth.confirm_registration(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RevokedTokenError);
}

#[tokio::test]
async fn registration_refuses_weak_passwords_and_taken_names() {
    let auth = instance();
    assert_eq!(
        auth.register("ada", None, "short", &[])
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::WeakPassword
    );
    auth.register("ada", None, "a fine password", &[])
        .await
        .unwrap();
    assert_eq!(
        auth.register("ada", None, "another password", &[])
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::UserExists
    );
}

#[tokio::test]
async fn reset_token_sets_a_new_password_once_and_revokes_old_tokens() {
    let auth = instance();
    let (user, registration) = auth
        .register("ada", None, "old password!", &[])
        .await
        .unwrap()
        .created()
        .expect("a new user");
    auth.confirm_registration(&registration).await.unwrap();
    let before = auth.login("ada", "old password!").await.unwrap();
    let reset = auth.issue_reset_token(&user).unwrap();
    auth.reset_password(&reset, "new password!").await.unwrap();
    assert_eq!(
        auth.verify_access(&before.access_token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::RevokedTokenError
    );
    assert_eq!(
        auth.login("ada", "old password!").await.unwrap_err().kind(),
        ErrorKind::AuthenticationError
    );
    // The second use of the reset token is refused and changes nothing.
    let err = auth
        .reset_password(&reset, "attacker password")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RevokedTokenError);
    assert_eq!(
        auth.login("ada", "attacker password")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::AuthenticationError
    );
}

#[tokio::test]
async fn reset_with_a_weak_password_does_not_spend_the_token() {
    let auth = instance();
    let (user, _) = auth
        .register("ada", None, "old password!", &[])
        .await
        .unwrap()
        .created()
        .expect("a new user");
    let reset = auth.issue_reset_token(&user).unwrap();
    assert_eq!(
        auth.reset_password(&reset, "short")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::WeakPassword
    );
    assert!(
        auth.reset_password(&reset, "a better password")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn reset_token_for_a_deleted_user_is_missing_user() {
    let auth = instance();
    let reset = auth
        .issue_reset_token(&TestUser::new(99, "ghost", &[]))
        .unwrap();
    assert_eq!(
        auth.reset_password(&reset, "a new password")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::MissingUserError
    );
}
