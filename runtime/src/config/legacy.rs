//! [`LegacyConfig`]: accepting the tokens of Flask services during a migration.

use serde::Deserialize;

/// Which Flask extensions' tokens this instance accepts while services move over (feature
/// `legacy`; off by default). The Flask services must sign with the same HS256 `secret`.
///
/// With either extension on:
/// - their **access tokens** authenticate requests like ours, with the same checks (size,
///   HS256 only, `exp` with the configured leeway, `nbf`/`iat` not ahead, revocation by
///   `jti`, which they must carry); roles come from `rls` (praetorian) or the claim named
///   by `roles_claim` (jwt-extended), and the subject from `id` or `sub`;
/// - `Centurion::refresh` also takes **their refresh**, once: a praetorian token whose
///   `rf_exp` has not passed, or a jwt-extended refresh token, buys a normal pair whose
///   session ends no later than that deadline; the legacy token is then spent (presenting
///   it again is reuse and ends that session);
/// - our refresh, registration, reset and service tokens are signed with keys derived
///   from the secret, so that no Flask service can take them for access tokens.
///
/// With `praetorian` on, our access tokens also carry `id`, `rls` and `rf_exp` (equal to
/// `exp`, so praetorian cannot extend them) and a flask-praetorian service accepts them;
/// `audience` must then be unset (PyJWT refuses any `aud` praetorian does not expect).
/// A flask-jwt-extended service accepts our access tokens as they are (with the roles
/// also under `roles_claim` when it is not `roles`).
///
/// ```
/// let config: centurion::Config = serde_json::from_str(r#"{
///     "secret": "an-example-secret-of-at-least-32-bytes!!",
///     "legacy": {"praetorian": true, "jwt_extended": true, "roles_claim": "roles"}
/// }"#).unwrap();
/// assert!(config.legacy.praetorian && config.legacy.jwt_extended);
/// ```
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct LegacyConfig {
    /// Accept flask-praetorian tokens (`id`, `rls`, `rf_exp`, `jti`; no `type`).
    pub praetorian: bool,
    /// Accept flask-jwt-extended tokens (`sub`, `type`, `fresh`, `jti`).
    pub jwt_extended: bool,
    /// The claim holding the roles in flask-jwt-extended tokens (a list of strings, or one
    /// comma-separated string). Default `roles`.
    pub roles_claim: String,
}

impl Default for LegacyConfig {
    fn default() -> Self {
        Self {
            praetorian: false,
            jwt_extended: false,
            roles_claim: "roles".to_owned(),
        }
    }
}

impl LegacyConfig {
    /// Whether any legacy token source is on.
    pub fn enabled(&self) -> bool {
        self.praetorian || self.jwt_extended
    }
}
