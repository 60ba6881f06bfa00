//! The configured instance: issues, refreshes, verifies and revokes tokens, and
//! authenticates users.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::response::Response;
use http::{HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::Map;

use crate::clock::{now_ms, now_secs};
use crate::config::{
    Config, CookieConfig, PasswordConfig, Secret, Settings, TokenLocation, VerificationKeyConfig,
};
use crate::cookies::Transport;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::KeySet;
use crate::memory::MemoryRevocationStore;
use crate::password::PasswordHasher;
use crate::store::{
    DynRevocationStore, DynUserStore, NewUser, RevocationStore, TokenRef, UserStore,
};
use crate::token::{self, Claims, ClaimsData, Expect, ExpectKind, TokenKind};
use crate::user::AuthUser;
use crate::user_cache::UserCache;
use crate::verified::VerifiedTokens;

/// A token lifecycle event, for audit logs (praetorian's token hooks). Identifiers only:
/// events never carry a token, password or hash.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenEvent {
    /// A token was issued.
    Issued {
        /// Its kind.
        kind: TokenKind,
        /// The user.
        subject: String,
        /// Its `jti`.
        jti: String,
        /// Its refresh family, for access and refresh tokens.
        family: Option<String>,
    },
    /// A refresh token was spent for a new pair.
    Refreshed {
        /// The user.
        subject: String,
        /// The family.
        family: String,
        /// The `jti` of the spent refresh token.
        spent_jti: String,
    },
    /// A spent refresh token was presented again; its family is revoked.
    ReuseDetected {
        /// The user.
        subject: String,
        /// The revoked family.
        family: String,
    },
    /// One token was revoked.
    TokenRevoked {
        /// Its `jti`.
        jti: String,
    },
    /// A refresh family was revoked.
    FamilyRevoked {
        /// The family.
        family: String,
    },
    /// Every token the user held was revoked.
    UserRevoked {
        /// The user.
        subject: String,
    },
}

type Validator = Arc<dyn Fn(&Claims) -> Result<()> + Send + Sync>;
type Listener = Arc<dyn Fn(&TokenEvent) + Send + Sync>;
pub(crate) type Responder = Arc<dyn Fn(&Error) -> Response + Send + Sync>;

/// The part of the instance that does not depend on the user type; request extensions
/// carry it to the guard and the `Claims` extractor.
pub(crate) struct Core {
    pub(crate) settings: Settings,
    pub(crate) keys: KeySet,
    pub(crate) revocations: Arc<dyn DynRevocationStore>,
    pub(crate) hasher: PasswordHasher,
    validators: Vec<Validator>,
    listeners: Vec<Listener>,
    pub(crate) responder: Option<Responder>,
    /// Where request tokens are read from, and the cookie settings.
    pub(crate) transport: Transport,
    /// Access tokens that passed verification; `None` when turned off.
    verified: Option<VerifiedTokens>,
}

impl Core {
    /// Runs a store call under the configured time limit. A call that completes at once
    /// (an in-memory store) is answered without arming a timer.
    async fn bounded<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
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

    fn emit(&self, event: TokenEvent) {
        for listener in &self.listeners {
            listener(&event);
        }
    }

    /// Signature and claim checks, then the application's validators.
    pub(crate) fn verify_claims(&self, token: &str, kind: ExpectKind) -> Result<Claims> {
        let expect = Expect {
            kind,
            now: now_secs(),
        };
        let data = token::verify(token, &self.keys, &self.settings, &expect)?;
        let claims = Claims::from_data(data);
        self.run_validators(&claims)?;
        Ok(claims)
    }

    fn run_validators(&self, claims: &Claims) -> Result<()> {
        self.validators
            .iter()
            .try_for_each(|validate| validate(claims))
    }

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
        if let Err(e) = token::check_times(claims.data(), self.settings.leeway(), now_secs()) {
            // Expired (or the clock went back): verify it in full should it come again.
            cache.remove(token);
            return Err(e);
        }
        self.run_validators(&claims)?;
        Ok(claims)
    }

    fn sign(&self, data: ClaimsData) -> Result<String> {
        let token = token::encode(&self.keys, &data)?;
        self.emit(TokenEvent::Issued {
            kind: data.kind,
            subject: data.sub,
            jti: data.jti,
            family: data.fam,
        });
        Ok(token)
    }

    fn base_claims(&self, subject: String, kind: TokenKind, lifespan: u64) -> Result<ClaimsData> {
        let ms = now_ms();
        let now = ms / 1000;
        Ok(ClaimsData {
            sub: subject,
            iat: now,
            iat_ms: Some(ms),
            nbf: now,
            exp: now.saturating_add(lifespan),
            jti: token::random_id()?,
            kind,
            fresh: None,
            roles: None,
            fam: None,
            iss: self.settings.issuer().map(str::to_owned),
            aud: self
                .settings
                .audience()
                .map(|a| token::Audience::One(a.to_owned())),
            custom: Map::new(),
        })
    }
}

/// An access + refresh token pair, serialized as the login response body
/// `{"access_token", "refresh_token", "token_type": "Bearer", "expires_in"}`.
#[derive(Clone, Serialize, PartialEq, Eq)]
pub struct TokenPair {
    /// The access token.
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// Always `"Bearer"`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// The configured security instance for user type `U`; cheap to clone.
///
/// Build it once at start-up, add [`layer`](Self::layer) to the router, and take it in
/// handlers that log users in (it is itself an extractor).
///
/// ```
/// # async fn demo() -> Result<(), centurion::Error> {
/// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
///
/// let auth = Centurion::<TestUser>::builder()
///     .secret("an-example-secret-of-at-least-32-bytes!!")
///     .user_store(MemoryUserStore::new())
///     .build()?;
/// let user = TestUser::new(1, "ada", &["admin"]);
/// let pair = auth.issue_pair(&user).await?;
/// let claims = auth.verify_access(&pair.access_token).await?;
/// assert_eq!(claims.roles(), ["admin"]);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
pub struct Centurion<U> {
    pub(crate) core: Arc<Core>,
    pub(crate) users: Arc<dyn DynUserStore<U>>,
    user_cache: Option<Arc<UserCache<U>>>,
}

impl<U> Clone for Centurion<U> {
    fn clone(&self) -> Self {
        Self {
            core: Arc::clone(&self.core),
            users: Arc::clone(&self.users),
            user_cache: self.user_cache.clone(),
        }
    }
}

impl<U> fmt::Debug for Centurion<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Centurion")
            .field("settings", &self.core.settings)
            .finish_non_exhaustive()
    }
}

impl<U: AuthUser> Centurion<U> {
    /// Starts configuring an instance.
    pub fn builder() -> CenturionBuilder<U> {
        CenturionBuilder::new()
    }

    /// The password hasher (for registration and password changes).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.core.hasher
    }

    /// The user store's answer for `id`, bounded by the store timeout. Always asks the
    /// store (the user cache serves only [`CurrentUser`](crate::CurrentUser)).
    pub async fn identify(&self, id: &str) -> Result<Option<U>> {
        self.core.bounded(self.users.identify(id)).await
    }

    /// The user of a request: from the user cache when it is on and holds a recent copy,
    /// else from the store.
    pub(crate) async fn current_user(&self, id: &str) -> Result<Option<Arc<U>>> {
        let Some(cache) = &self.user_cache else {
            return Ok(self.identify(id).await?.map(Arc::new));
        };
        if let Some(user) = cache.get(id) {
            return Ok(Some(user));
        }
        let epoch = cache.begin_read(id);
        let user = self.identify(id).await?.map(Arc::new);
        if let Some(user) = &user {
            cache.put(id, user, epoch);
        }
        Ok(user)
    }

    /// Drops any cached copy of the user `id` (see
    /// [`CenturionBuilder::user_cache`]): call it after changing a user outside centurion,
    /// e.g. deactivating an account or changing its roles, so that this instance's next
    /// request reads the store. A no-op when the user cache is off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .user_cache(Duration::from_secs(2), 10_000)
    ///     .build()
    ///     .unwrap();
    /// auth.forget_user("42");
    /// ```
    pub fn forget_user(&self, id: &str) {
        if let Some(cache) = &self.user_cache {
            cache.forget(id);
        }
    }

    /// The user with this e-mail address, if the store supports e-mail look-ups.
    pub async fn lookup_by_email(&self, email: &str) -> Result<Option<U>> {
        self.core.bounded(self.users.lookup_by_email(email)).await
    }

    /// Checks a username and password.
    ///
    /// An unknown username costs one hash verification, like a wrong password, and gets the
    /// same [`ErrorKind::AuthenticationError`]. A password longer than the limit is refused
    /// before any hashing. A valid password of an invalid user is
    /// [`ErrorKind::InvalidUserError`]. A hash made with outdated parameters is replaced
    /// through the user store (a failure there is logged, not fatal).
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<U> {
        let core = &self.core;
        if core.hasher.is_too_long(password) {
            return Err(Error::new(ErrorKind::AuthenticationError));
        }
        let Some(user) = core.bounded(self.users.lookup(username)).await? else {
            core.hasher.verify_dummy(password).await?;
            return Err(Error::new(ErrorKind::AuthenticationError));
        };
        if !core.hasher.verify(password, user.password_hash()).await? {
            return Err(Error::new(ErrorKind::AuthenticationError));
        }
        if !user.is_valid() {
            return Err(Error::new(ErrorKind::InvalidUserError));
        }
        if core.hasher.needs_rehash(user.password_hash()) {
            match core.hasher.hash(password).await {
                Ok(hash) => {
                    let id = user.id();
                    let updated = core
                        .bounded(self.users.update_password_hash(&id, &hash))
                        .await;
                    self.forget_user(&id);
                    match updated {
                        Ok(()) => {
                            tracing::info!(user.id = %id, "upgraded an outdated password hash")
                        }
                        Err(e) => {
                            tracing::warn!(user.id = %id, error = %e, "could not upgrade a password hash")
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not rehash a password"),
            }
        }
        Ok(user)
    }

    /// [`authenticate`](Self::authenticate) and [`issue_pair`](Self::issue_pair) in one.
    pub async fn login(&self, username: &str, password: &str) -> Result<TokenPair> {
        let user = self.authenticate(username, password).await?;
        self.issue_pair(&user).await
    }

    /// Issues a fresh access token and a refresh token that starts a new family.
    pub async fn issue_pair(&self, user: &U) -> Result<TokenPair> {
        self.issue_pair_inner(user, Map::new())
    }

    /// Like [`issue_pair`](Self::issue_pair), with custom claims in the access token.
    /// A custom claim that reuses a reserved name is [`ErrorKind::ClaimCollisionError`].
    pub async fn issue_pair_with<C: Serialize + ?Sized>(
        &self,
        user: &U,
        custom: &C,
    ) -> Result<TokenPair> {
        self.issue_pair_inner(user, token::custom_map(custom)?)
    }

    fn issue_pair_inner(
        &self,
        user: &U,
        custom: Map<String, serde_json::Value>,
    ) -> Result<TokenPair> {
        let core = &self.core;
        let family = token::random_id()?;
        let mut refresh = core.base_claims(
            user.id(),
            TokenKind::Refresh,
            core.settings.refresh_lifespan(),
        )?;
        refresh.fam = Some(family.clone());
        let family_exp = refresh.exp;
        self.pair(user, family, family_exp, true, custom)
    }

    fn pair(
        &self,
        user: &U,
        family: String,
        family_exp: u64,
        fresh: bool,
        custom: Map<String, serde_json::Value>,
    ) -> Result<TokenPair> {
        let core = &self.core;
        let mut access =
            core.base_claims(user.id(), TokenKind::Access, core.settings.access_lifespan())?;
        access.fresh = Some(fresh);
        access.roles = Some(user.roles().into_iter().map(str::to_owned).collect());
        access.fam = Some(family.clone());
        access.exp = access.exp.min(family_exp);
        access.custom = custom;
        let expires_in = access.exp.saturating_sub(access.iat);
        let mut refresh = core.base_claims(user.id(), TokenKind::Refresh, 0)?;
        refresh.fam = Some(family);
        refresh.exp = family_exp;
        // The refresh token carries the session's custom claims to the next access token.
        refresh.custom = access.custom.clone();
        Ok(TokenPair {
            access_token: core.sign(access)?,
            refresh_token: core.sign(refresh)?,
            token_type: "Bearer",
            expires_in,
        })
    }

    /// Spends a refresh token for a new pair of the same family.
    ///
    /// The new access token is not fresh; the new refresh token expires with the family.
    /// The user is re-loaded: a deleted user is [`ErrorKind::MissingUserError`], an invalid
    /// one [`ErrorKind::InvalidUserError`], and the new access token carries the user's
    /// current roles. A refresh token presented a second time revokes its whole family and
    /// answers [`ErrorKind::RefreshReuseError`].
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        let claims = self
            .core
            .verify_claims(refresh_token, ExpectKind::Exactly(TokenKind::Refresh))?;
        self.rotate(&claims).await
    }

    /// The rotation of [`refresh`](Self::refresh), for the verified claims of a refresh
    /// token (the cookie flow checks CSRF between verification and rotation).
    pub(crate) async fn rotate(&self, claims: &Claims) -> Result<TokenPair> {
        let core = &self.core;
        let Some(family) = claims.family().map(str::to_owned) else {
            return Err(
                Error::new(ErrorKind::InvalidToken).with_message("the refresh token has no family")
            );
        };
        core.check_revoked(claims).await?;
        let user = self.load_valid(claims.subject()).await?;
        if !core
            .bounded(
                core.revocations
                    .mark_spent(claims.jti(), claims.expires_at()),
            )
            .await?
        {
            core.bounded(core.revocations.revoke_family(&family, claims.expires_at()))
                .await?;
            tracing::warn!(user.id = %claims.subject(), family = %family, "refresh token reuse detected; family revoked");
            core.emit(TokenEvent::ReuseDetected {
                subject: claims.subject().to_owned(),
                family,
            });
            return Err(Error::new(ErrorKind::RefreshReuseError));
        }
        let pair = self.pair(
            &user,
            family.clone(),
            claims.expires_at(),
            false,
            claims.custom_map().clone(),
        )?;
        core.emit(TokenEvent::Refreshed {
            subject: claims.subject().to_owned(),
            family,
            spent_jti: claims.jti().to_owned(),
        });
        Ok(pair)
    }

    async fn load_valid(&self, id: &str) -> Result<U> {
        let user = self
            .identify(id)
            .await?
            .ok_or_else(|| Error::new(ErrorKind::MissingUserError))?;
        if !user.is_valid() {
            return Err(Error::new(ErrorKind::InvalidUserError));
        }
        Ok(user)
    }

    /// Verifies an access (or service) token completely, revocation included.
    pub async fn verify_access(&self, token: &str) -> Result<Claims> {
        self.core.verify_request_token(token).await
    }

    /// Issues a long-lived service token (praetorian's "eternal" token) for machine
    /// clients: accepted wherever an access token is, never fresh, not refreshable, and
    /// revocable like any token. `lifespan` defaults to the configured service lifespan.
    pub fn issue_service_token(&self, user: &U, lifespan: Option<Duration>) -> Result<String> {
        let core = &self.core;
        let secs = lifespan.map_or(core.settings.service_lifespan(), |d| d.as_secs().max(1));
        let mut claims = core.base_claims(user.id(), TokenKind::Service, secs)?;
        claims.fresh = Some(false);
        claims.roles = Some(user.roles().into_iter().map(str::to_owned).collect());
        core.sign(claims)
    }

    /// Issues a single-use registration-confirmation token for `user`.
    pub fn issue_registration_token(&self, user: &U) -> Result<String> {
        let core = &self.core;
        core.sign(core.base_claims(
            user.id(),
            TokenKind::Registration,
            core.settings.registration_lifespan(),
        )?)
    }

    /// Issues a single-use password-reset token for `user`.
    pub fn issue_reset_token(&self, user: &U) -> Result<String> {
        let core = &self.core;
        core.sign(core.base_claims(user.id(), TokenKind::Reset, core.settings.reset_lifespan())?)
    }

    /// Creates an inactive user (the password checked and hashed) and returns it with a
    /// registration token to mail; [`confirm_registration`](Self::confirm_registration)
    /// activates it.
    pub async fn register(
        &self,
        username: &str,
        email: Option<&str>,
        password: &str,
        roles: &[&str],
    ) -> Result<(U, String)> {
        self.core.hasher.check_new_password(password)?;
        let hash = self.core.hasher.hash(password).await?;
        let user = self
            .core
            .bounded(self.users.create(NewUser {
                username: username.to_owned(),
                email: email.map(str::to_owned),
                password_hash: hash,
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                active: false,
            }))
            .await?;
        // Only a store that reuses the id of a deleted user could have it cached.
        self.forget_user(&user.id());
        let token = self.issue_registration_token(&user)?;
        Ok((user, token))
    }

    /// Spends a registration token and activates its user.
    pub async fn confirm_registration(&self, token: &str) -> Result<U> {
        let core = &self.core;
        let claims = core.verify_claims(token, ExpectKind::Exactly(TokenKind::Registration))?;
        core.check_revoked(&claims).await?;
        let id = claims.subject();
        self.identify(id)
            .await?
            .ok_or_else(|| Error::new(ErrorKind::MissingUserError))?;
        if !core
            .bounded(
                core.revocations
                    .mark_spent(claims.jti(), claims.expires_at()),
            )
            .await?
        {
            return Err(
                Error::new(ErrorKind::RevokedTokenError).with_message("the token was already used")
            );
        }
        let activated = core.bounded(self.users.activate(id)).await;
        self.forget_user(id);
        activated?;
        self.identify(id)
            .await?
            .ok_or_else(|| Error::new(ErrorKind::MissingUserError))
    }

    /// Spends a reset token, sets the new password and revokes every token the user held.
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Result<U> {
        let core = &self.core;
        let claims = core.verify_claims(token, ExpectKind::Exactly(TokenKind::Reset))?;
        core.check_revoked(&claims).await?;
        core.hasher.check_new_password(new_password)?;
        let user = self
            .identify(claims.subject())
            .await?
            .ok_or_else(|| Error::new(ErrorKind::MissingUserError))?;
        let hash = core.hasher.hash(new_password).await?;
        if !core
            .bounded(
                core.revocations
                    .mark_spent(claims.jti(), claims.expires_at()),
            )
            .await?
        {
            return Err(
                Error::new(ErrorKind::RevokedTokenError).with_message("the token was already used")
            );
        }
        self.set_password_hash(&user.id(), &hash).await?;
        Ok(user)
    }

    /// Checks and sets a new password for `user`, then revokes every token the user held
    /// (issue a new pair afterwards if the caller should stay logged in).
    pub async fn change_password(&self, user: &U, new_password: &str) -> Result<()> {
        self.core.hasher.check_new_password(new_password)?;
        let hash = self.core.hasher.hash(new_password).await?;
        self.set_password_hash(&user.id(), &hash).await
    }

    async fn set_password_hash(&self, id: &str, hash: &str) -> Result<()> {
        let updated = self
            .core
            .bounded(self.users.update_password_hash(id, hash))
            .await;
        self.forget_user(id);
        updated?;
        self.revoke_user(id).await
    }

    /// Revokes one token until it expires.
    pub async fn revoke_token(&self, claims: &Claims) -> Result<()> {
        let core = &self.core;
        core.bounded(
            core.revocations
                .revoke_token(claims.jti(), claims.expires_at()),
        )
        .await?;
        core.emit(TokenEvent::TokenRevoked {
            jti: claims.jti().to_owned(),
        });
        Ok(())
    }

    /// Revokes every access and refresh token of a family (one login session).
    pub async fn revoke_family(&self, family: &str) -> Result<()> {
        let core = &self.core;
        let until = now_secs().saturating_add(core.settings.refresh_lifespan());
        core.bounded(core.revocations.revoke_family(family, until))
            .await?;
        core.emit(TokenEvent::FamilyRevoked {
            family: family.to_owned(),
        });
        Ok(())
    }

    /// Revokes every token issued to user `id` until now (a per-user "not before").
    ///
    /// Tokens issued before the call returns are refused, also those issued in the same
    /// millisecond; tokens issued after it returns are accepted.
    pub async fn revoke_user(&self, id: &str) -> Result<()> {
        let core = &self.core;
        let until = now_secs().saturating_add(core.settings.longest_lifespan());
        let not_before = now_ms().saturating_add(1);
        // Whatever made the application cut the user off may have changed the user too.
        self.forget_user(id);
        core.bounded(core.revocations.revoke_user(id, not_before, until))
            .await?;
        // Return only once the clock has passed the boundary, so that a pair issued right
        // after this call (as change_password's callers do) is not caught by it.
        while now_ms() < not_before {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        core.emit(TokenEvent::UserRevoked {
            subject: id.to_owned(),
        });
        Ok(())
    }

    /// Logs out: revokes the access token and its family, and the family of
    /// `refresh_token` when given (it must belong to the same user).
    pub async fn logout(&self, access: &Claims, refresh_token: Option<&str>) -> Result<()> {
        self.revoke_token(access).await?;
        if let Some(family) = access.family() {
            self.revoke_family(family).await?;
        }
        if let Some(token) = refresh_token {
            let refresh = self
                .core
                .verify_claims(token, ExpectKind::Exactly(TokenKind::Refresh))?;
            if refresh.subject() != access.subject() {
                return Err(Error::new(ErrorKind::InvalidToken)
                    .with_message("the refresh token belongs to another user"));
            }
            if let Some(family) = refresh.family().filter(|f| Some(*f) != access.family()) {
                self.revoke_family(family).await?;
            }
        }
        Ok(())
    }

    /// An `Authorization: Bearer …` header with a fresh access token for `user`, for
    /// application tests (praetorian's `pack_header_for_user`).
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// # use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// # let auth = Centurion::<TestUser>::builder()
    /// #     .secret("an-example-secret-of-at-least-32-bytes!!")
    /// #     .user_store(MemoryUserStore::new()).build()?;
    /// let (name, value) = auth.pack_header_for_user(&TestUser::new(1, "ada", &[])).await?;
    /// let request = http::Request::get("/api/me").header(name, value).body(()).unwrap();
    /// assert!(request.headers()["authorization"].to_str().unwrap().starts_with("Bearer "));
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn pack_header_for_user(&self, user: &U) -> Result<(HeaderName, HeaderValue)> {
        let pair = self.issue_pair(user).await?;
        let value = HeaderValue::try_from(format!("Bearer {}", pair.access_token))
            .map_err(|_| Error::new(ErrorKind::InternalError))?;
        Ok((http::header::AUTHORIZATION, value))
    }

    /// The JWKS document of the public verification keys (empty `keys` for HMAC).
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::to_value(self.core.keys.jwks())
            .unwrap_or_else(|_| serde_json::json!({"keys": []}))
    }
}

/// Configures a [`Centurion`]. Every setting has a [`Config`] field of the same name.
///
/// ```
/// use std::time::Duration;
/// use centurion::{Centurion, ErrorKind, memory::MemoryUserStore, testing::TestUser};
///
/// let err = Centurion::<TestUser>::builder()
///     .secret("too short")
///     .user_store(MemoryUserStore::new())
///     .build()
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::ConfigurationError);
/// assert!(err.message().contains("at least 32"));
///
/// let auth = Centurion::<TestUser>::builder()
///     .secret("an-example-secret-of-at-least-32-bytes!!")
///     .access_lifespan(Duration::from_secs(300))
///     .issuer("https://auth.example.com")
///     .user_store(MemoryUserStore::new())
///     .build();
/// assert!(auth.is_ok());
/// ```
pub struct CenturionBuilder<U> {
    config: Config,
    users: Option<Arc<dyn DynUserStore<U>>>,
    revocations: Option<Arc<dyn DynRevocationStore>>,
    validators: Vec<Validator>,
    listeners: Vec<Listener>,
    responder: Option<Responder>,
}

impl<U> fmt::Debug for CenturionBuilder<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CenturionBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<U: AuthUser> CenturionBuilder<U> {
    fn new() -> Self {
        Self {
            config: Config::default(),
            users: None,
            revocations: None,
            validators: Vec::new(),
            listeners: Vec::new(),
            responder: None,
        }
    }

    /// Replaces every setting with `config`: call it first, then the methods that change
    /// single settings.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The HMAC signing secret (HS256 needs ≥ 32 bytes).
    pub fn secret(mut self, secret: impl Into<Secret>) -> Self {
        self.config.secret = Some(secret.into());
        self
    }

    /// The signing algorithm by name: `HS256` (default), `HS384`, `HS512`, `RS256`,
    /// `ES256`, `EdDSA`, …
    pub fn algorithm(mut self, name: &str) -> Self {
        name.clone_into(&mut self.config.algorithm);
        self
    }

    /// An asymmetric signing key pair in PEM.
    pub fn key_pair_pem(mut self, private_pem: &str, public_pem: &str) -> Self {
        self.config.private_key_pem = Some(Secret::new(private_pem));
        self.config.public_key_pem = Some(public_pem.to_owned());
        self
    }

    /// The `kid` of the signing key.
    pub fn kid(mut self, kid: &str) -> Self {
        self.config.kid = Some(kid.to_owned());
        self
    }

    /// Adds a verification-only key (a previous key, during a rotation).
    pub fn verification_key(mut self, key: VerificationKeyConfig) -> Self {
        self.config.verification_keys.push(key);
        self
    }

    /// The algorithms accepted in received tokens.
    pub fn algorithms(mut self, names: &[&str]) -> Self {
        self.config.algorithms = names.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    /// Lifetime of access tokens (default 15 minutes).
    pub fn access_lifespan(mut self, lifespan: Duration) -> Self {
        self.config.access_lifespan = lifespan;
        self
    }

    /// Lifetime of a refresh family (default 30 days).
    pub fn refresh_lifespan(mut self, lifespan: Duration) -> Self {
        self.config.refresh_lifespan = lifespan;
        self
    }

    /// Lifetime of registration-confirmation tokens (default 15 minutes).
    pub fn registration_lifespan(mut self, lifespan: Duration) -> Self {
        self.config.registration_lifespan = lifespan;
        self
    }

    /// Lifetime of password-reset tokens (default 15 minutes).
    pub fn reset_lifespan(mut self, lifespan: Duration) -> Self {
        self.config.reset_lifespan = lifespan;
        self
    }

    /// Default lifetime of service tokens (default 365 days).
    pub fn service_lifespan(mut self, lifespan: Duration) -> Self {
        self.config.service_lifespan = lifespan;
        self
    }

    /// Largest token accepted, in bytes (default 8192).
    pub fn max_token_bytes(mut self, limit: usize) -> Self {
        self.config.max_token_bytes = limit;
        self
    }

    /// Memory, in bytes, for remembering verified access tokens so a token sent again
    /// skips its signature and JSON (default 4 MiB; `0` turns it off). Expiry, validators
    /// and revocation are checked on every request either way.
    ///
    /// ```
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .verified_cache_bytes(0)
    ///     .build();
    /// assert!(auth.is_ok());
    /// ```
    pub fn verified_cache_bytes(mut self, budget: usize) -> Self {
        self.config.verified_cache_bytes = budget;
        self
    }

    /// Keeps users loaded by [`CurrentUser`](crate::CurrentUser) for up to `ttl`, at most
    /// `capacity` of them (default: off). A handler that needs the user then costs a
    /// user-store read once per `ttl` instead of once per request.
    ///
    /// What it trades: changes made through centurion (password change or rehash,
    /// activation, [`Centurion::revoke_user`]) take effect at once on this instance, but a
    /// change made elsewhere (another instance, an admin tool writing the database) is seen
    /// only after `ttl`, unless the application calls [`Centurion::forget_user`]. Token
    /// revocation is never cached, so revoking a user's tokens cuts them off at once
    /// everywhere. Keep `ttl` short (seconds), and read the user with
    /// [`Centurion::identify`] (never cached) before security decisions that need the
    /// latest record, such as checking an old password.
    ///
    /// ```
    /// use std::time::Duration;
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .user_cache(Duration::from_secs(2), 10_000)
    ///     .build();
    /// assert!(auth.is_ok());
    /// ```
    pub fn user_cache(mut self, ttl: Duration, capacity: usize) -> Self {
        self.config.user_cache_ttl = ttl;
        self.config.user_cache_capacity = capacity;
        self
    }

    /// How long one call to a user or revocation store may take before the request is
    /// answered with 503 (default 5 s; `None`: no limit).
    pub fn store_timeout(mut self, limit: Option<Duration>) -> Self {
        self.config.store_timeout = limit;
        self
    }

    /// Tolerated clock skew (default zero).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.config.leeway = leeway;
        self
    }

    /// `iss` to write and require.
    pub fn issuer(mut self, issuer: &str) -> Self {
        self.config.issuer = Some(issuer.to_owned());
        self
    }

    /// `aud` to write and require.
    pub fn audience(mut self, audience: &str) -> Self {
        self.config.audience = Some(audience.to_owned());
        self
    }

    /// Argon2id parameters and password rules.
    pub fn password(mut self, password: PasswordConfig) -> Self {
        self.config.password = password;
        self
    }

    /// The user store (required).
    pub fn user_store(mut self, store: impl UserStore<U>) -> Self {
        self.users = Some(Arc::new(store));
        self
    }

    /// The revocation store (default: [`MemoryRevocationStore`]).
    pub fn revocation_store(mut self, store: impl RevocationStore) -> Self {
        self.revocations = Some(Arc::new(store));
        self
    }

    /// Adds a check run on the claims of every received token after the built-in checks
    /// (jwt-extended's token verification loader). Return an error to refuse the token.
    pub fn validate_claims(
        mut self,
        check: impl Fn(&Claims) -> Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.validators.push(Arc::new(check));
        self
    }

    /// Adds a listener for [`TokenEvent`]s (for audit logs). Listeners run inline: keep
    /// them fast and hand slow work to a channel.
    pub fn on_event(mut self, listener: impl Fn(&TokenEvent) + Send + Sync + 'static) -> Self {
        self.listeners.push(Arc::new(listener));
        self
    }

    /// Where request tokens are looked for, in order (default: the `Authorization` header
    /// only). See [`crate::cookies`] for what each location reads and which one wins.
    ///
    /// ```
    /// use centurion::{Centurion, TokenLocation, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .token_locations(&[TokenLocation::Header, TokenLocation::Query])
    ///     .build();
    /// assert!(auth.is_ok());
    /// ```
    pub fn token_locations(mut self, locations: &[TokenLocation]) -> Self {
        self.config.token_locations = locations.to_vec();
        self
    }

    /// Turns on the cookie transport with these settings: adds
    /// [`TokenLocation::Cookies`] after the locations already configured (so the header,
    /// when configured, wins) and sets how the session cookies are made.
    ///
    /// ```
    /// use centurion::{Centurion, CookieConfig, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .cookies(CookieConfig { refresh_path: Some("/auth/session".into()), ..CookieConfig::default() })
    ///     .build();
    /// assert!(auth.is_ok());
    /// ```
    pub fn cookies(mut self, cookies: CookieConfig) -> Self {
        if !self
            .config
            .token_locations
            .contains(&TokenLocation::Cookies)
        {
            self.config.token_locations.push(TokenLocation::Cookies);
        }
        self.config.cookies = cookies;
        self
    }

    /// Accepts access tokens in the query parameter `name` of WebSocket upgrade requests
    /// (adds [`TokenLocation::Query`] after the locations already configured).
    pub fn query_parameter(mut self, name: &str) -> Self {
        if !self.config.token_locations.contains(&TokenLocation::Query) {
            self.config.token_locations.push(TokenLocation::Query);
        }
        name.clone_into(&mut self.config.query_parameter);
        self
    }

    /// Replaces the default JSON error response for every error the layer sees.
    pub fn error_responder(
        mut self,
        responder: impl Fn(&Error) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.responder = Some(Arc::new(responder));
        self
    }

    /// Checks the configuration and builds the instance.
    pub fn build(self) -> Result<Centurion<U>> {
        let settings = self.config.settings()?;
        let keys = KeySet::from_config(&self.config)?;
        let hasher = PasswordHasher::new(&self.config.password)?;
        let transport = Transport::from_config(&self.config)?;
        let users = self.users.ok_or_else(|| {
            Error::config("no user store: call .user_store(…) (MemoryUserStore for development)")
        })?;
        let revocations = self
            .revocations
            .unwrap_or_else(|| Arc::new(MemoryRevocationStore::new()));
        Ok(Centurion {
            core: Arc::new(Core {
                settings,
                keys,
                revocations,
                hasher,
                validators: self.validators,
                listeners: self.listeners,
                responder: self.responder,
                transport,
                verified: VerifiedTokens::new(self.config.verified_cache_bytes),
            }),
            users,
            user_cache: UserCache::new(self.config.user_cache_ttl, self.config.user_cache_capacity)
                .map(Arc::new),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::memory::MemoryUserStore;
    use crate::testing::TestUser;
    use crate::{Centurion, PasswordConfig};

    fn auth(cache_bytes: usize) -> Centurion<TestUser> {
        Centurion::<TestUser>::builder()
            .secret("unit-test-secret-of-at-least-32-bytes!!!")
            .password(PasswordConfig {
                memory_kib: 64,
                iterations: 1,
                pool_size: Some(1),
                ..PasswordConfig::default()
            })
            .user_store(MemoryUserStore::new())
            .verified_cache_bytes(cache_bytes)
            .build()
            .unwrap()
    }

    fn remembered(auth: &Centurion<TestUser>) -> usize {
        auth.core.verified.as_ref().map_or(0, |c| c.len())
    }

    #[tokio::test]
    async fn a_verified_access_token_is_remembered_and_reused() {
        let auth = auth(1 << 20);
        let pair = auth
            .issue_pair(&TestUser::new(1, "ada", &["admin"]))
            .await
            .unwrap();
        assert_eq!(remembered(&auth), 0);
        auth.verify_access(&pair.access_token).await.unwrap();
        assert_eq!(remembered(&auth), 1);
        let again = auth.verify_access(&pair.access_token).await.unwrap();
        assert_eq!(again.subject(), "1");
        assert_eq!(remembered(&auth), 1);
        // A refresh token is refused as an access token and never remembered.
        assert!(auth.verify_access(&pair.refresh_token).await.is_err());
        // Neither is a token that fails verification.
        let mut forged = pair.access_token.clone();
        forged.push('A');
        assert!(auth.verify_access(&forged).await.is_err());
        assert_eq!(remembered(&auth), 1);
    }

    /// Claims as a verified access token of user 7 would carry, expiring at `exp`.
    fn access_claims(exp: u64) -> crate::Claims {
        crate::Claims::from_data(crate::token::ClaimsData {
            sub: "7".into(),
            iat: 1,
            iat_ms: None,
            nbf: 1,
            exp,
            jti: "planted".into(),
            kind: crate::TokenKind::Access,
            fresh: None,
            roles: Some(vec!["admin".into()]),
            fam: None,
            iss: None,
            aud: None,
            custom: serde_json::Map::new(),
        })
    }

    #[tokio::test]
    async fn a_remembered_token_is_not_verified_again() {
        // A string that is no token at all, planted in the cache: accepted, so a hit really
        // skips verification (and nothing else could have accepted it).
        let auth = auth(1 << 20);
        let cache = auth.core.verified.as_ref().unwrap();
        cache.insert("planted", &access_claims(u64::MAX / 2));
        assert_eq!(auth.verify_access("planted").await.unwrap().subject(), "7");
        // The same with the cache off: refused.
        assert!(self::auth(0).verify_access("planted").await.is_err());
    }

    #[tokio::test]
    async fn an_expired_remembered_token_is_refused_and_dropped() {
        let auth = auth(1 << 20);
        let cache = auth.core.verified.as_ref().unwrap();
        cache.insert("planted", &access_claims(2));
        assert_eq!(remembered(&auth), 1);
        let err = auth.verify_access("planted").await.unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::ExpiredAccessError);
        assert_eq!(remembered(&auth), 0);
    }

    #[tokio::test]
    async fn a_zero_budget_remembers_nothing() {
        let auth = auth(0);
        assert!(auth.core.verified.is_none());
        let pair = auth
            .issue_pair(&TestUser::new(1, "ada", &[]))
            .await
            .unwrap();
        auth.verify_access(&pair.access_token).await.unwrap();
        auth.verify_access(&pair.access_token).await.unwrap();
    }
}
