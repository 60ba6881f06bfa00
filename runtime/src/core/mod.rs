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
use crate::jwt::{self, Claims, Draft, ExpectKind, KeySet, TokenKind, VerifiedTokens};
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
    keys: KeySet,
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
        let keys = KeySet::from_config(config)?;
        let hasher = PasswordHasher::new(&config.password)?;
        let transport = Transport::from_config(config)?;
        Ok(Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            settings,
            keys,
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

    /// The signing and verification keys.
    pub(crate) fn keys(&self) -> &KeySet {
        &self.keys
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

    /// Signature and claim checks, the roles and permissions the token holds (resolved
    /// here once, and remembered with it by the cache), then the application's validators.
    pub(crate) fn verify_claims(&self, token: &str, kind: ExpectKind) -> Result<Claims> {
        // This instance's tokens carry no scopes; a provider's tokens pass theirs here.
        let claims = jwt::verify(token, &self.keys, &self.settings, kind, self.clock.secs())?
            .with_access(self.roles, &[]);
        self.run_validators(&claims)?;
        Ok(claims)
    }

    fn run_validators(&self, claims: &Claims) -> Result<()> {
        self.hooks
            .validators
            .iter()
            .try_for_each(|validate| validate(claims))
    }

    /// Refuses a revoked token (by its `jti`, its family or its user's not-before).
    pub(crate) async fn check_revoked(&self, claims: &Claims) -> Result<()> {
        let token = TokenRef {
            jti: claims.jti(),
            family: claims.family(),
            subject: claims.subject(),
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
            Some(cache) => self.verify_remembering(cache, token)?,
            None => self.verify_claims(token, ExpectKind::Authenticating)?,
        };
        self.check_revoked(&claims).await?;
        Ok(claims)
    }

    fn verify_remembering(&self, cache: &VerifiedTokens, token: &str) -> Result<Claims> {
        let Some(claims) = cache.get(token) else {
            let claims = self.verify_claims(token, ExpectKind::Authenticating)?;
            cache.insert(token, &claims);
            return Ok(claims);
        };
        if let Err(e) = jwt::check_times(&claims, self.settings.leeway(), self.clock.secs()) {
            // Expired (or the clock went back): verify it in full should it come again.
            cache.remove(token);
            return Err(e);
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
        let (token, claims) = draft.sign(&self.keys)?;
        self.emit(TokenEvent::Issued {
            kind: claims.kind(),
            subject: claims.subject().to_owned(),
            jti: claims.jti().to_owned(),
            family: claims.family().map(str::to_owned),
        });
        Ok((token, claims))
    }

    /// Until when a revocation of a token expiring at `exp` must be kept: past the last
    /// moment any instance could accept it.
    fn keep_until(&self, exp: u64) -> u64 {
        exp.saturating_add(self.settings.leeway())
            .saturating_add(SKEW_MARGIN_SECS)
    }

    /// Marks a single-use token spent: `false` when it already was. The mark is kept until
    /// the token can no longer be accepted anywhere.
    pub(crate) async fn mark_spent(&self, claims: &Claims) -> Result<bool> {
        let until = self.keep_until(claims.expires_at());
        self.bounded(self.revocations.mark_spent(claims.jti(), until))
            .await
    }

    /// Revokes one token until it can no longer be accepted anywhere.
    pub(crate) async fn revoke_token(&self, claims: &Claims) -> Result<()> {
        let until = self.keep_until(claims.expires_at());
        self.bounded(self.revocations.revoke_token(claims.jti(), until))
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

    /// The JWKS document of the public verification keys (empty `keys` for HMAC).
    pub(crate) fn jwks(&self) -> serde_json::Value {
        serde_json::to_value(self.keys.jwks()).unwrap_or_else(|_| serde_json::json!({"keys": []}))
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
