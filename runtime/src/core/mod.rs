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
use crate::roles::RoleTable;
use crate::session::{Rotation, RotationOutcome, SessionRecord};
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

/// How long (seconds) a revocation outlives the last moment its token could be accepted
/// (`exp` + leeway): it covers clocks that differ between the instances of a fleet and the
/// store (Redis expires keys on its own clock). Instances whose clocks differ by more than
/// this may accept a revoked token once its record is gone; keep them synchronised (NTP).
pub(crate) const SKEW_MARGIN_SECS: u64 = 60;

/// Distinct ids for the instances of this process (see [`Core::id`]).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The shared state of an instance; see the [module docs](self).
pub(crate) struct Core {
    /// Tells this instance apart from the others of the process: what a request's cached
    /// verification is bound to.
    id: u64,
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
    /// The hierarchy and grants every verified token's roles are resolved with.
    roles: Option<&'static RoleTable>,
    clock: SharedClock,
    /// The smallest revocation stamp (`iat_ms`) this instance may give a flow: one past the
    /// last per-user not-before it recorded, so that a flow begun after
    /// [`Core::revoke_user`] (or [`Core::end_sessions_of`]) returns is never caught by it,
    /// whatever the clock says.
    issue_floor_ms: AtomicU64,
}

impl Core {
    /// Checks `config` and builds the core around the given stores and hooks.
    pub(crate) fn new(
        config: &Config,
        revocations: Arc<dyn DynRevocationStore>,
        hooks: Hooks,
        clock: SharedClock,
        roles: Option<&'static RoleTable>,
    ) -> Result<Self> {
        let settings = config.settings()?;
        let keys = if issues_nothing(config) {
            None
        } else {
            Some(KeySet::from_config(config)?)
        };
        #[cfg(feature = "oidc")]
        let providers = Providers::from_configs(
            &config.identity_providers,
            settings.issuer(),
            settings.longest_lifespan(),
            &clock,
        )?;
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
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            settings,
            keys,
            #[cfg(feature = "oidc")]
            providers,
            revocations,
            hasher,
            hooks,
            transport,
            verified: VerifiedTokens::new(config.verified_cache_bytes),
            roles,
            clock,
            issue_floor_ms: AtomicU64::new(0),
        })
    }

    /// This instance's id, unique in the process.
    pub(crate) fn id(&self) -> u64 {
        self.id
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
    /// fetched. A Flask token (feature `legacy`) has no `iss` (or the instance's own), so it
    /// goes to the instance's keys, where `verify_own` recognises it by its shape once the
    /// secret verified it; a provider's token never reaches that recognition.
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

    /// Signature and claim checks of a token of this instance of the expected kind, the
    /// roles and permissions it holds (resolved here once, and remembered with it by the
    /// cache), then the application's validators. An identity provider's token is refused: it is never a
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
        // This instance's tokens carry no scopes; a provider's tokens pass theirs below.
        let claims = jwt::verify_own(
            &compact,
            self.own_keys()?,
            &self.settings,
            kind,
            self.clock.secs(),
        )?
        .with_access(self.roles, &[]);
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
        // The roles and permissions it holds, resolved once (the cache remembers them): a
        // provider's scopes grant the declared permissions of the same name; this
        // instance's tokens carry none.
        let scopes = claims.scopes().to_vec();
        let claims = claims.with_access(self.roles, &scopes);
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

    /// The revocation stamp of a flow that begins now: the clock, raised to the issue
    /// floor. Read it at the very start of a login or refresh, before any store call: a
    /// per-user revocation that lands while the flow runs sets a not-before above it, so
    /// the tokens the flow issues are refused (the floor is read now, not at issue, for the
    /// same reason: a flow that began before a revocation keeps its earlier stamp).
    pub(crate) fn stamp_now(&self) -> u64 {
        self.clock
            .ms()
            .max(self.issue_floor_ms.load(Ordering::SeqCst))
    }

    /// The claims of a token of `kind` for `subject`, issued now, living `lifespan`
    /// seconds and stamped now (a token issued outside a login or refresh).
    pub(crate) fn draft(&self, subject: String, kind: TokenKind, lifespan: u64) -> Result<Draft> {
        let stamp = self.stamp_now();
        self.draft_stamped(subject, kind, lifespan, stamp)
    }

    /// The claims of a token of `kind` for `subject`, issued now, living `lifespan` seconds,
    /// carrying the revocation stamp of the flow that produces it.
    pub(crate) fn draft_stamped(
        &self,
        subject: String,
        kind: TokenKind,
        lifespan: u64,
        stamp_ms: u64,
    ) -> Result<Draft> {
        Ok(Draft::new(subject, kind, self.clock.ms(), lifespan, &self.settings)?.stamped(stamp_ms))
    }

    /// Signs a draft and tells the listeners.
    pub(crate) fn issue(&self, draft: Draft) -> Result<String> {
        Ok(self.issue_with_claims(draft)?.0)
    }

    /// Signs a draft, tells the listeners, and returns the claims too.
    pub(crate) fn issue_with_claims(&self, draft: Draft) -> Result<(String, Claims)> {
        let (token, claims) = draft.sign(self.keys()?)?;
        self.emit(TokenEvent::Issued {
            kind: claims.kind(),
            subject: claims.subject().to_owned(),
            jti: claims.jti().to_owned(),
            family: claims.family().map(str::to_owned),
        });
        Ok((token, claims))
    }

    /// The leeway `claims` are judged with: its provider's, else the instance's.
    fn leeway_for(&self, claims: &Claims) -> u64 {
        claims
            .origin()
            .map_or(self.settings.leeway(), ProviderOrigin::leeway)
    }

    /// Until when a revocation of a token expiring at `exp` must be kept: past the last
    /// moment any instance could accept it.
    fn keep_until(&self, exp: u64) -> u64 {
        exp.saturating_add(self.settings.leeway())
            .saturating_add(SKEW_MARGIN_SECS)
    }

    /// Until when a record about the token of `claims` (spent, revoked) must be kept: `exp`
    /// plus the leeway it is judged with (its provider's for a provider's token) plus the
    /// margin for clocks, or it is accepted again within the leeway.
    fn keep_claims_until(&self, claims: &Claims) -> u64 {
        claims
            .expires_at()
            .saturating_add(self.leeway_for(claims))
            .saturating_add(SKEW_MARGIN_SECS)
    }

    /// Marks a single-use token spent: `false` when it already was. The mark is kept until
    /// the token can no longer be accepted anywhere.
    pub(crate) async fn mark_spent(&self, claims: &Claims) -> Result<bool> {
        let until = self.keep_claims_until(claims);
        self.bounded(self.revocations.mark_spent(claims.jti(), until))
            .await
    }

    /// Revokes one token until it can no longer be accepted anywhere (a provider's under
    /// `{issuer}#{jti}`).
    pub(crate) async fn revoke_token(&self, claims: &Claims) -> Result<()> {
        let until = self.keep_claims_until(claims);
        self.bounded(
            self.revocations
                .revoke_token(&claims.revocation_jti(), until),
        )
        .await?;
        self.emit(TokenEvent::TokenRevoked {
            jti: claims.jti().to_owned(),
        });
        Ok(())
    }

    /// Ends the session of `family` (every access and refresh token of it is refused from
    /// now on); `true` when it was live.
    pub(crate) async fn revoke_family(&self, family: &str) -> Result<bool> {
        let ended = self.bounded(self.revocations.end_session(family)).await?;
        self.emit(TokenEvent::FamilyRevoked {
            family: family.to_owned(),
        });
        Ok(ended)
    }

    /// A spent refresh token came again: the store has deleted its session.
    pub(crate) fn reuse_detected(&self, claims: &Claims, family: &str) {
        tracing::warn!(user.id = %claims.subject(), family = %family, "refresh token reuse detected; session ended");
        self.emit(TokenEvent::ReuseDetected {
            subject: claims.subject().to_owned(),
            family: family.to_owned(),
        });
    }

    /// Stores a new session within the configured limits.
    pub(crate) async fn create_session(&self, record: &SessionRecord) -> Result<()> {
        self.bounded(
            self.revocations
                .create_session(record, self.settings.session_limits()),
        )
        .await
    }

    /// The rotation compare-and-set of a refresh.
    pub(crate) async fn rotate_session(&self, rotation: &Rotation<'_>) -> Result<RotationOutcome> {
        self.bounded(self.revocations.rotate_session(rotation))
            .await
    }

    /// The live sessions of `subject`, newest first.
    pub(crate) async fn sessions(&self, subject: &str) -> Result<Vec<SessionRecord>> {
        self.bounded(self.revocations.sessions(subject)).await
    }

    /// Ends the session of `subject` with the public id `id`.
    pub(crate) async fn end_session_of(&self, subject: &str, id: &str) -> Result<bool> {
        self.bounded(self.revocations.end_session_of(subject, id))
            .await
    }

    /// Ends every session of `subject` but the one of `except`, those of logins in flight
    /// included; sessions of logins this instance begins after the call returns live.
    pub(crate) async fn end_sessions_of(&self, subject: &str, except: Option<&str>) -> Result<u64> {
        let (not_before, until) = self.not_before_now();
        let ended = self
            .bounded(
                self.revocations
                    .end_sessions_of(subject, except, not_before, until),
            )
            .await?;
        self.issue_floor_ms.fetch_max(not_before, Ordering::SeqCst);
        self.emit(TokenEvent::SessionsRevoked {
            subject: subject.to_owned(),
            count: ended,
        });
        Ok(ended)
    }

    /// A not-before for a revocation made now (one past the clock and the issue floor, so
    /// it catches every flow that began until now), and how long to keep it: until every
    /// token this instance can issue now has expired everywhere.
    fn not_before_now(&self) -> (u64, u64) {
        let until = self.keep_until(
            self.clock
                .secs()
                .saturating_add(self.settings.longest_lifespan()),
        );
        let now_ms = self
            .clock
            .ms()
            .max(self.issue_floor_ms.load(Ordering::SeqCst));
        (now_ms.saturating_add(1), until)
    }

    /// Revokes every token of `subject` stamped until now (those of flows in flight
    /// included) and ends the user's sessions; tokens of flows this instance begins after
    /// the call returns are accepted.
    pub(crate) async fn revoke_user(&self, subject: &str) -> Result<()> {
        let (not_before, until) = self.not_before_now();
        self.bounded(self.revocations.revoke_user(subject, not_before, until))
            .await?;
        // Flows that begin from now on are stamped at least `not_before`, even in the
        // millisecond of the revocation (or while a test's clock stands still).
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
    /// An issuer that is not configured is a configuration error: nothing would ever
    /// check a revocation recorded under it.
    pub(crate) async fn revoke_external_user(&self, issuer: &str, subject: &str) -> Result<()> {
        #[cfg(feature = "oidc")]
        let leeway = self.providers.as_ref().and_then(|p| p.leeway_of(issuer));
        #[cfg(not(feature = "oidc"))]
        let leeway: Option<u64> = None;
        let Some(leeway) = leeway else {
            return Err(Error::config(format!(
                "`{issuer}` is not a configured identity provider's issuer: nothing was \
                 revoked (give the issuer exactly as configured, trailing `/` included)"
            )));
        };
        let key = jwt::external_key(issuer, subject);
        let now = self.clock.secs();
        // A token revoked here has `iat` <= now + leeway and lives at most the longest
        // lifespan (refused otherwise), and is accepted until `exp` + leeway: remembered
        // until the last moment it could be.
        let until = now
            .saturating_add(self.settings.longest_lifespan())
            .saturating_add(leeway.saturating_mul(2))
            .saturating_add(SKEW_MARGIN_SECS);
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
    use crate::session::{ClientInfo, SessionRecord};

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
            None,
        )
        .unwrap()
    }

    fn remembered(core: &Core) -> usize {
        core.verified.as_ref().map_or(0, |c| c.len())
    }

    /// An access and a refresh token of user 1, as a login issues them (with its session).
    async fn pair(core: &Core) -> (String, String) {
        let record = SessionRecord::new(
            "sid",
            "f",
            "1",
            core.clock().ms(),
            u64::MAX / 2,
            ClientInfo::default(),
        );
        core.create_session(&record).await.unwrap();
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
        let (access, refresh) = pair(&core).await;
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
        let (access, _) = pair(&core).await;
        core.verify_request_token(&access).await.unwrap();
        core.verify_request_token(&access).await.unwrap();
    }
}
