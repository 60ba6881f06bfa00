//! The part of an instance that does not depend on the user type: settings, keys, the
//! revocation store, the hasher, the transport, the application's hooks, the cache of
//! verified tokens and the clock. [`Centurion`](crate::Centurion) holds it behind an `Arc`,
//! and the layer puts that `Arc` into every request's extensions for the extractors.
//!
//! Every token this instance issues or verifies, and every revocation it records, goes
//! through here, so the time is read in one place and every event reaches the listeners.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;

use axum::response::Response;

use crate::clock::SharedClock;
use crate::config::{Config, Settings};
use crate::error::{Error, ErrorKind, Result};
use crate::jwt::{
    self, Claims, Compact, Draft, ExpectKind, KeySet, ProviderOrigin, TokenKind, VerifiedTokens,
};
#[cfg(feature = "oidc")]
use crate::oidc::{ProviderStatus, Providers};
use crate::password::PasswordHasher;
use crate::store::{DynRevocationStore, TokenRef};
use crate::transport::Transport;

mod events;

pub use self::events::TokenEvent;

/// A check the application runs on every received token's claims.
pub(crate) type Validator = Arc<dyn Fn(&Claims) -> Result<()> + Send + Sync>;
/// A listener for [`TokenEvent`]s.
pub(crate) type Listener = Arc<dyn Fn(&TokenEvent) + Send + Sync>;
/// The application's replacement for the JSON error response.
pub(crate) type Responder = Arc<dyn Fn(&Error) -> Response + Send + Sync>;

/// What the application plugs into an instance besides its stores: claim validators,
/// event listeners and the error responder.
#[derive(Default)]
pub(crate) struct Hooks {
    validators: Vec<Validator>,
    listeners: Vec<Listener>,
    responder: Option<Responder>,
}

impl Hooks {
    /// Adds a claim validator.
    pub(crate) fn validate(&mut self, validator: Validator) {
        self.validators.push(validator);
    }

    /// Adds an event listener.
    pub(crate) fn listen(&mut self, listener: Listener) {
        self.listeners.push(listener);
    }

    /// Replaces the error responder.
    pub(crate) fn respond(&mut self, responder: Responder) {
        self.responder = Some(responder);
    }
}

/// Where a token goes to be verified, decided by its `iss` before any key is chosen.
enum Source {
    /// This instance's keys.
    Own,
    /// The identity provider at this position.
    #[cfg(feature = "oidc")]
    Provider(usize),
}

fn invalid(message: &'static str) -> Error {
    Error::new(ErrorKind::InvalidTokenError).with_message(message)
}

/// Whether `config` configures no signing key at all but identity providers: an instance
/// that accepts their tokens and issues none.
fn issues_nothing(config: &Config) -> bool {
    config.secret.is_none()
        && config.private_key_pem.is_none()
        && config.public_key_pem.is_none()
        && config.kid.is_none()
        && config.verification_keys.is_empty()
        && !config.identity_providers.is_empty()
}

/// The shared state of an instance; see the [module docs](self).
pub(crate) struct Core {
    settings: Settings,
    /// The signing and verification keys; `None` for an instance that only accepts
    /// identity providers' tokens.
    keys: Option<KeySet>,
    /// The identity providers whose tokens are accepted.
    #[cfg(feature = "oidc")]
    providers: Option<Providers>,
    revocations: Arc<dyn DynRevocationStore>,
    hasher: PasswordHasher,
    hooks: Hooks,
    /// Where request tokens are read from, and the cookie settings.
    transport: Transport,
    /// Access tokens that passed verification; `None` when turned off.
    verified: Option<VerifiedTokens>,
    clock: SharedClock,
    /// The smallest `iat_ms` this instance may write: one past the last per-user
    /// not-before it recorded, so that a token issued after [`Core::revoke_user`] returns
    /// is never caught by it, whatever the clock says.
    issue_floor_ms: AtomicU64,
}

impl Core {
    /// Checks `config` and builds the core around the given stores and hooks.
    pub(crate) fn new(
        config: &Config,
        revocations: Arc<dyn DynRevocationStore>,
        hooks: Hooks,
        clock: SharedClock,
    ) -> Result<Self> {
        let settings = config.settings()?;
        let keys = if issues_nothing(config) {
            None
        } else {
            Some(KeySet::from_config(config)?)
        };
        #[cfg(feature = "oidc")]
        let providers =
            Providers::from_configs(&config.identity_providers, settings.issuer(), &clock)?;
        #[cfg(not(feature = "oidc"))]
        if !config.identity_providers.is_empty() {
            return Err(Error::config(
                "identity providers need centurion's `oidc` feature: features = [\"oidc\"]",
            ));
        }
        let hasher = PasswordHasher::new(&config.password)?;
        let transport = Transport::from_config(config)?;
        #[cfg(feature = "oidc")]
        if let Some(providers) = &providers {
            providers.start();
        }
        Ok(Self {
            settings,
            keys,
            #[cfg(feature = "oidc")]
            providers,
            revocations,
            hasher,
            hooks,
            transport,
            verified: VerifiedTokens::new(config.verified_cache_bytes),
            clock,
            issue_floor_ms: AtomicU64::new(0),
        })
    }

    /// The settings derived from the configuration.
    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The signing and verification keys; an error for an instance that issues no tokens.
    pub(crate) fn keys(&self) -> Result<&KeySet> {
        self.keys.as_ref().ok_or_else(|| {
            Error::config(
                "this instance has no signing key (only identity providers' tokens are accepted), \
                 so it issues no tokens; set `secret` or a key pair to issue them",
            )
        })
    }

    /// How each identity provider's keys are doing (empty without providers).
    #[cfg(feature = "oidc")]
    pub(crate) fn provider_status(&self) -> Vec<ProviderStatus> {
        self.providers
            .as_ref()
            .map_or_else(Vec::new, Providers::status)
    }

    /// The password hasher.
    pub(crate) fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// Where request tokens are read from.
    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The application's error responder, if it set one.
    pub(crate) fn responder(&self) -> Option<&Responder> {
        self.hooks.responder.as_ref()
    }

    /// The instance's clock.
    pub(crate) fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Runs a store call under the configured time limit. A call that completes at once
    /// (an in-memory store) is answered without arming a timer.
    pub(crate) async fn bounded<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        let Some(limit) = self.settings.store_timeout() else {
            return fut.await;
        };
        let mut fut = std::pin::pin!(fut);
        let first = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
        if let Poll::Ready(outcome) = first {
            return outcome;
        }
        tokio::time::timeout(limit, fut).await.unwrap_or_else(|_| {
            Err(Error::new(ErrorKind::StoreUnavailable).with_message("a backing store timed out"))
        })
    }

    /// Tells every listener.
    pub(crate) fn emit(&self, event: TokenEvent) {
        for listener in &self.hooks.listeners {
            listener(&event);
        }
    }

    /// Where `token` goes: by its `iss`, before any key is chosen. Without identity
    /// providers every token is the instance's to verify (as it always was). With them: the
    /// instance's own issuer, or no `iss` at all, goes to the instance's keys (which refuse a
    /// token without the `iss` they require); a provider's issuer, compared byte for byte,
    /// to that provider; any other issuer is refused here, with no key chosen and nothing
    /// fetched.
    fn source_of(&self, token: &Compact<'_>) -> Result<Source> {
        #[cfg(feature = "oidc")]
        if let Some(providers) = &self.providers
            && let Some(issuer) = token.routing_issuer()?
            && self.settings.issuer() != Some(issuer.as_str())
        {
            return providers
                .position(&issuer)
                .map(Source::Provider)
                .ok_or_else(|| invalid("the token's issuer is not accepted"));
        }
        #[cfg(not(feature = "oidc"))]
        let _ = token;
        Ok(Source::Own)
    }

    /// The instance's own keys, for a token routed to them.
    fn own_keys(&self) -> Result<&KeySet> {
        self.keys
            .as_ref()
            .ok_or_else(|| invalid("this server accepts only its identity providers' tokens"))
    }

    /// Signature and claim checks of a token of this instance of the expected kind, then
    /// the application's validators. An identity provider's token is refused: it is never a
    /// refresh, registration or reset token.
    pub(crate) fn verify_claims(&self, token: &str, kind: ExpectKind) -> Result<Claims> {
        let compact = Compact::parse(token, self.settings.max_token_bytes())?;
        match self.source_of(&compact)? {
            Source::Own => {}
            #[cfg(feature = "oidc")]
            Source::Provider(_) => {
                return Err(match kind {
                    ExpectKind::Exactly(TokenKind::Refresh) => {
                        Error::new(ErrorKind::MisusedAccessToken)
                    }
                    _ => invalid("an identity provider's token cannot be used here"),
                });
            }
        }
        let claims = jwt::verify_own(
            &compact,
            self.own_keys()?,
            &self.settings,
            kind,
            self.clock.secs(),
        )?;
        self.run_validators(&claims)?;
        Ok(claims)
    }

    /// Full verification of a token that authenticates a request, from whichever source
    /// its `iss` names, then the application's validators. A provider's token whose key
    /// is not in the provider's key set may wait for a fetch of it.
    async fn verify_authenticating(&self, token: &str) -> Result<Claims> {
        let compact = Compact::parse(token, self.settings.max_token_bytes())?;
        let now = self.clock.secs();
        let claims = match self.source_of(&compact)? {
            Source::Own => jwt::verify_own(
                &compact,
                self.own_keys()?,
                &self.settings,
                ExpectKind::Authenticating,
                now,
            )?,
            #[cfg(feature = "oidc")]
            Source::Provider(position) => match &self.providers {
                Some(providers) => providers.verify(position, &compact, now).await?,
                None => return Err(Error::new(ErrorKind::InternalError)),
            },
        };
        self.run_validators(&claims)?;
        Ok(claims)
    }

    fn run_validators(&self, claims: &Claims) -> Result<()> {
        self.hooks
            .validators
            .iter()
            .try_for_each(|validate| validate(claims))
    }

    /// Refuses a revoked token (by its `jti`, its family or its user's not-before). A
    /// provider's token is looked up under `{issuer}#{jti}` and `{issuer}#{sub}`.
    pub(crate) async fn check_revoked(&self, claims: &Claims) -> Result<()> {
        let jti = claims.revocation_jti();
        let subject = claims.revocation_subject();
        let token = TokenRef {
            jti: &jti,
            family: claims.family(),
            subject: &subject,
            issued_at_ms: claims.issued_at_ms(),
        };
        if self.bounded(self.revocations.is_revoked(&token)).await? {
            return Err(Error::new(ErrorKind::RevokedTokenError));
        }
        Ok(())
    }

    /// Full verification of a token that authenticates a request (an access or a service
    /// token), then the revocation check. A token verified before is taken from the cache of
    /// verified tokens: its signature and JSON are not looked at again, but its time claims,
    /// the validators and the revocation check are, every time.
    pub(crate) async fn verify_request_token(&self, token: &str) -> Result<Claims> {
        let claims = match &self.verified {
            Some(cache) => self.verify_remembering(cache, token).await?,
            None => self.verify_authenticating(token).await?,
        };
        self.check_revoked(&claims).await?;
        Ok(claims)
    }

    async fn verify_remembering(&self, cache: &VerifiedTokens, token: &str) -> Result<Claims> {
        let Some(claims) = cache.get(token) else {
            let claims = self.verify_authenticating(token).await?;
            cache.insert(token, &claims);
            return Ok(claims);
        };
        if let Err(e) = jwt::check_times(&claims, self.leeway_for(&claims), self.clock.secs()) {
            // Expired (or the clock went back): verify it in full should it come again.
            cache.remove(token);
            return Err(e);
        }
        #[cfg(feature = "oidc")]
        if let Some(origin) = claims.origin()
            && !self
                .providers
                .as_ref()
                .is_some_and(|p| p.still_holds(origin))
        {
            // Its key left the provider's key set (or the set is too old): verify it again,
            // which refuses it unless the key is found.
            cache.remove(token);
            let claims = self.verify_authenticating(token).await?;
            cache.insert(token, &claims);
            return Ok(claims);
        }
        self.run_validators(&claims)?;
        Ok(claims)
    }

    /// The claims of a token of `kind` for `subject`, issued now and living `lifespan`
    /// seconds.
    pub(crate) fn draft(&self, subject: String, kind: TokenKind, lifespan: u64) -> Result<Draft> {
        let floor = self.issue_floor_ms.load(Ordering::SeqCst);
        Ok(
            Draft::new(subject, kind, self.clock.ms(), lifespan, &self.settings)?
                .issued_at_ms_at_least(floor),
        )
    }

    /// Signs a draft and tells the listeners.
    pub(crate) fn issue(&self, draft: Draft) -> Result<String> {
        let (token, claims) = draft.sign(self.keys()?)?;
        self.emit(TokenEvent::Issued {
            kind: claims.kind(),
            subject: claims.subject().to_owned(),
            jti: claims.jti().to_owned(),
            family: claims.family().map(str::to_owned),
        });
        Ok(token)
    }

    /// The leeway `claims` are judged with: its provider's, else the instance's.
    fn leeway_for(&self, claims: &Claims) -> u64 {
        claims
            .origin()
            .map_or(self.settings.leeway(), ProviderOrigin::leeway)
    }

    /// The last second a token with `claims` is accepted: `exp` plus the leeway it is
    /// judged with. A record about the token (spent, revoked) must last until then, not
    /// only until `exp`, or the token is accepted again within the leeway.
    fn accepted_until(&self, claims: &Claims) -> u64 {
        claims.expires_at().saturating_add(self.leeway_for(claims))
    }

    /// Marks a single-use token spent: `false` when it already was.
    pub(crate) async fn mark_spent(&self, claims: &Claims) -> Result<bool> {
        self.bounded(
            self.revocations
                .mark_spent(claims.jti(), self.accepted_until(claims)),
        )
        .await
    }

    /// Revokes one token for as long as it would be accepted (a provider's under
    /// `{issuer}#{jti}`).
    pub(crate) async fn revoke_token(&self, claims: &Claims) -> Result<()> {
        self.bounded(
            self.revocations
                .revoke_token(&claims.revocation_jti(), self.accepted_until(claims)),
        )
        .await?;
        self.emit(TokenEvent::TokenRevoked {
            jti: claims.jti().to_owned(),
        });
        Ok(())
    }

    /// Revokes every token of a family, for as long as a family can live.
    pub(crate) async fn revoke_family(&self, family: &str) -> Result<()> {
        let until = self
            .clock
            .secs()
            .saturating_add(self.settings.refresh_lifespan())
            .saturating_add(self.settings.leeway());
        self.bounded(self.revocations.revoke_family(family, until))
            .await?;
        self.emit(TokenEvent::FamilyRevoked {
            family: family.to_owned(),
        });
        Ok(())
    }

    /// A spent refresh token came again: its family is revoked until the family ends.
    pub(crate) async fn revoke_reused_family(&self, claims: &Claims, family: String) -> Result<()> {
        self.bounded(
            self.revocations
                .revoke_family(&family, self.accepted_until(claims)),
        )
        .await?;
        tracing::warn!(user.id = %claims.subject(), family = %family, "refresh token reuse detected; family revoked");
        self.emit(TokenEvent::ReuseDetected {
            subject: claims.subject().to_owned(),
            family,
        });
        Ok(())
    }

    /// Revokes every token issued to `subject` until now: those issued in the current
    /// millisecond too, and none this instance issues after the call returns.
    pub(crate) async fn revoke_user(&self, subject: &str) -> Result<()> {
        let until = self
            .clock
            .secs()
            .saturating_add(self.settings.longest_lifespan())
            .saturating_add(self.settings.leeway());
        let now_ms = self
            .clock
            .ms()
            .max(self.issue_floor_ms.load(Ordering::SeqCst));
        let not_before = now_ms.saturating_add(1);
        self.bounded(self.revocations.revoke_user(subject, not_before, until))
            .await?;
        // Tokens issued from now on carry an `iat_ms` of at least `not_before`, even in
        // the millisecond of the revocation (or while a test's clock stands still).
        self.issue_floor_ms.fetch_max(not_before, Ordering::SeqCst);
        self.emit(TokenEvent::UserRevoked {
            subject: subject.to_owned(),
        });
        Ok(())
    }

    /// Revokes every token the identity provider `issuer` issued to `subject` until now,
    /// recorded under `{issuer}#{subject}`. A provider's `iat` comes from its clock and
    /// whole seconds: the not-before is the next second plus the provider's leeway, so a
    /// token it issued before the call is caught even when its clock runs ahead by up to the
    /// leeway (and tokens it issues in that margin after the call are refused too).
    pub(crate) async fn revoke_external_user(&self, issuer: &str, subject: &str) -> Result<()> {
        #[cfg(feature = "oidc")]
        let leeway = self
            .providers
            .as_ref()
            .and_then(|p| p.leeway_of(issuer))
            .unwrap_or(0);
        #[cfg(not(feature = "oidc"))]
        let leeway = 0;
        let key = jwt::external_key(issuer, subject);
        let now = self.clock.secs();
        let until = now
            .saturating_add(self.settings.longest_lifespan())
            .saturating_add(leeway);
        let not_before = now
            .saturating_add(1)
            .saturating_add(leeway)
            .saturating_mul(1000);
        self.bounded(self.revocations.revoke_user(&key, not_before, until))
            .await?;
        self.emit(TokenEvent::UserRevoked { subject: key });
        Ok(())
    }

    /// The JWKS document of the public verification keys (empty `keys` for HMAC).
    pub(crate) fn jwks(&self) -> serde_json::Value {
        self.keys
            .as_ref()
            .and_then(|keys| serde_json::to_value(keys.jwks()).ok())
            .unwrap_or_else(|| serde_json::json!({"keys": []}))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{Core, Hooks};
    use crate::clock::SharedClock;
    use crate::config::{Config, PasswordConfig, Secret};
    use crate::error::ErrorKind;
    use crate::jwt::{Claims, Draft, TokenKind};
    use crate::memory::MemoryRevocationStore;

    fn core(cache_bytes: usize) -> Core {
        let config = Config {
            secret: Some(Secret::new("unit-test-secret-of-at-least-32-bytes!!!")),
            password: PasswordConfig {
                memory_kib: 64,
                iterations: 1,
                pool_size: Some(1),
                ..PasswordConfig::default()
            },
            verified_cache_bytes: cache_bytes,
            ..Config::default()
        };
        Core::new(
            &config,
            Arc::new(MemoryRevocationStore::new()),
            Hooks::default(),
            SharedClock::system(),
        )
        .unwrap()
    }

    fn remembered(core: &Core) -> usize {
        core.verified.as_ref().map_or(0, |c| c.len())
    }

    /// An access and a refresh token of user 1, as a login issues them.
    fn pair(core: &Core) -> (String, String) {
        let access = core
            .draft("1".into(), TokenKind::Access, 900)
            .unwrap()
            .fresh(true)
            .roles(vec!["admin".into()])
            .family("f".into());
        let refresh = core
            .draft("1".into(), TokenKind::Refresh, 3600)
            .unwrap()
            .family("f".into());
        (core.issue(access).unwrap(), core.issue(refresh).unwrap())
    }

    #[tokio::test]
    async fn a_verified_access_token_is_remembered_and_reused() {
        let core = core(1 << 20);
        let (access, refresh) = pair(&core);
        assert_eq!(remembered(&core), 0);
        core.verify_request_token(&access).await.unwrap();
        assert_eq!(remembered(&core), 1);
        let again = core.verify_request_token(&access).await.unwrap();
        assert_eq!(again.subject(), "1");
        assert_eq!(remembered(&core), 1);
        // A refresh token is refused as an access token and never remembered.
        assert!(core.verify_request_token(&refresh).await.is_err());
        // Neither is a token that fails verification.
        let mut forged = access.clone();
        forged.push('A');
        assert!(core.verify_request_token(&forged).await.is_err());
        assert_eq!(remembered(&core), 1);
    }

    /// Claims as a verified access token of user 7 would carry, expiring at `exp`.
    fn access_claims(exp: u64) -> Claims {
        let settings = Config {
            secret: Some(Secret::new("unit-test-secret-of-at-least-32-bytes!!!")),
            ..Config::default()
        }
        .settings()
        .unwrap();
        Draft::new("7".into(), TokenKind::Access, 1000, 0, &settings)
            .unwrap()
            .roles(vec!["admin".into()])
            .expire_at(exp)
            .into_claims()
    }

    #[tokio::test]
    async fn a_remembered_token_is_not_verified_again() {
        // A string that is no token at all, planted in the cache: accepted, so a hit really
        // skips verification (and nothing else could have accepted it).
        let core = core(1 << 20);
        let cache = core.verified.as_ref().unwrap();
        cache.insert("planted", &access_claims(u64::MAX / 2));
        assert_eq!(
            core.verify_request_token("planted")
                .await
                .unwrap()
                .subject(),
            "7"
        );
        // The same with the cache off: refused.
        assert!(self::core(0).verify_request_token("planted").await.is_err());
    }

    #[tokio::test]
    async fn an_expired_remembered_token_is_refused_and_dropped() {
        let core = core(1 << 20);
        let cache = core.verified.as_ref().unwrap();
        cache.insert("planted", &access_claims(2));
        assert_eq!(remembered(&core), 1);
        let err = core.verify_request_token("planted").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ExpiredAccessError);
        assert_eq!(remembered(&core), 0);
    }

    #[tokio::test]
    async fn a_zero_budget_remembers_nothing() {
        let core = core(0);
        assert!(core.verified.is_none());
        let (access, _) = pair(&core);
        core.verify_request_token(&access).await.unwrap();
        core.verify_request_token(&access).await.unwrap();
    }
}
