//! Escape hatches that can break centurion's guarantees. Audit every use.

use crate::centurion::Centurion;
use crate::error::Result;
use crate::jwt;

/// Signs an arbitrary JSON payload with the instance's signing key and header, skipping
/// every rule centurion applies when it issues tokens.
///
/// For tests that need tokens centurion would never issue (expired, issued in the
/// future, wrong kind, missing claims). Never use it on a request path.
///
/// ```
/// # async fn demo() -> Result<(), centurion::Error> {
/// use centurion::{Centurion, ErrorKind, memory::MemoryUserStore, testing::TestUser};
/// let auth = Centurion::<TestUser>::builder()
///     .secret("an-example-secret-of-at-least-32-bytes!!")
///     .user_store(MemoryUserStore::new())
///     .build()?;
/// let forged = centurion::dangerous::sign_payload(&auth, &serde_json::json!({"sub": "1"}))?;
/// let err = auth.verify_access(&forged).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidTokenError); // no exp, iat, jti, type …
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
pub fn sign_payload<U>(auth: &Centurion<U>, payload: &serde_json::Value) -> Result<String> {
    jwt::sign_json(auth.core().keys()?, payload)
}

/// Signs `header_and_payload` (`base64url(header).base64url(payload)`, both chosen by the
/// caller) with the instance's signing key and returns the complete token.
pub fn sign_raw<U>(auth: &Centurion<U>, header_and_payload: &str) -> Result<String> {
    jwt::sign_raw(auth.core().keys()?, header_and_payload)
}
