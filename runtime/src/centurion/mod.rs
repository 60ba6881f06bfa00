//! [`Centurion`], the configured instance, with every method it has: issuing, refreshing,
//! verifying and revoking tokens, authenticating and registering users, the session
//! cookies, the layer. `builder.rs` configures it; `layer.rs` is the tower layer that hands
//! it to the extractors.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::Map;

use crate::core::{Core, TokenEvent};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{
    UsernamePolicy, email_key, identity_key, normalize_email, normalize_username,
};
use crate::jwt::{self, Claims, Draft, ExpectKind, TokenKind};
#[cfg(feature = "oidc")]
use crate::oidc::ProviderStatus;
use crate::password::{PasswordHasher, Work};
use crate::session::{ClientInfo, Rotation, RotationOutcome, SessionRecord};
use crate::store::{BoxFuture, DynUserStore, ImportedUser, NewUser, Registered};
use crate::transport::{ClearSessionCookies, SessionCookies};
use crate::user::AuthUser;
use crate::user_cache::UserCache;

mod builder;
mod layer;
mod session;

pub use self::builder::CenturionBuilder;
pub use self::layer::{CenturionLayer, CenturionService, ResponseFuture};
pub use self::session::{Authenticated, IssueTo, Session, SessionStart};

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
    core: Arc<Core>,
    users: Arc<dyn DynUserStore<U>>,
    username_policy: Arc<UsernamePolicy>,
    user_cache: Option<Arc<UserCache<U>>>,
    /// Users of identity providers' tokens, by `{issuer}#{subject}` (same settings as
    /// `user_cache`, kept apart so that no local id can name one).
    external_cache: Option<Arc<UserCache<U>>>,
    provision: Option<Provision<U>>,
}

/// The application's hook that makes a user for an identity provider's token whose user
/// the store does not know.
pub(crate) type Provision<U> =
    Arc<dyn Fn(Claims) -> BoxFuture<'static, Result<Option<U>>> + Send + Sync>;

/// Wraps an application's provisioning function.
pub(crate) fn provision<U, F, Fut>(hook: F) -> Provision<U>
where
    F: Fn(Claims) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<U>>> + Send + 'static,
{
    Arc::new(move |claims| Box::pin(hook(claims)))
}

impl<U> Clone for Centurion<U> {
    fn clone(&self) -> Self {
        Self {
            core: Arc::clone(&self.core),
            users: Arc::clone(&self.users),
            username_policy: Arc::clone(&self.username_policy),
            user_cache: self.user_cache.clone(),
            external_cache: self.external_cache.clone(),
            provision: self.provision.clone(),
        }
    }
}

/// What [`Centurion::register`] did. Answer the client the same way whichever it is
/// (the same status, the same body, built from [`username`](Self::username)), so that a
/// registration does not tell whether an address is registered; the mail differs (see
/// [`AccountMail::registration`](crate::mail::AccountMail::registration)).
pub enum Registration<U> {
    /// A new, unconfirmed user, and the token of its confirmation mail.
    Created {
        /// The user, inactive until confirmed.
        user: U,
        /// The single-use registration token to mail to the user's address.
        token: String,
    },
    /// The e-mail address is registered already: nothing was created. Its owner should
    /// get a mail saying someone tried to register with it.
    AddressTaken {
        /// The account that holds the address (possibly an unconfirmed registration).
        owner: U,
        /// The username that was asked for, in its stored form.
        username: String,
    },
}

impl<U: AuthUser> Registration<U> {
    /// The username that was asked for, in the form it is (or would have been) stored:
    /// the same for both outcomes, for the answer to the client.
    pub fn username(&self) -> &str {
        match self {
            Self::Created { user, .. } => user.username(),
            Self::AddressTaken { username, .. } => username,
        }
    }

    /// The new user and its registration token, if one was created.
    pub fn created(self) -> Option<(U, String)> {
        match self {
            Self::Created { user, token } => Some((user, token)),
            Self::AddressTaken { .. } => None,
        }
    }
}

impl<U: AuthUser> fmt::Debug for Registration<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Created { user, .. } => f
                .debug_struct("Created")
                .field("user_id", &user.id())
                .field("token", &"<redacted>")
                .finish(),
            Self::AddressTaken { owner, username } => f
                .debug_struct("AddressTaken")
                .field("owner_id", &owner.id())
                .field("username", username)
                .finish(),
        }
    }
}

impl<U> fmt::Debug for Centurion<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Centurion")
            .field("settings", self.core.settings())
            .finish_non_exhaustive()
    }
}

impl<U> Centurion<U> {
    /// The shared state, for the modules that work on an instance's behalf
    /// ([`dangerous`](crate::dangerous)).
    pub(crate) fn core(&self) -> &Arc<Core> {
        &self.core
    }
}

impl<U: AuthUser> Centurion<U> {
    /// Starts configuring an instance.
    pub fn builder() -> CenturionBuilder<U> {
        CenturionBuilder::new()
    }

    /// The password hasher (for registration and password changes).
    pub fn hasher(&self) -> &PasswordHasher {
        self.core.hasher()
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

    /// The user of an identity provider's token, as [`CurrentUser`](crate::CurrentUser)
    /// loads it: from the user cache when it is on, else
    /// [`UserStore::identify_external`](crate::UserStore::identify_external), else the
    /// provisioning hook. The instance's own tokens go to [`Self::current_user`].
    pub(crate) async fn current_user_of(&self, claims: &Claims) -> Result<Option<Arc<U>>> {
        let Some(issuer) = claims.external_issuer() else {
            return self.current_user(claims.subject()).await;
        };
        let key = jwt::external_key(issuer, claims.subject());
        let epoch = match &self.external_cache {
            Some(cache) => {
                if let Some(user) = cache.get(&key) {
                    return Ok(Some(user));
                }
                Some(cache.begin_read(&key))
            }
            None => None,
        };
        let mut user = self.identify_external(issuer, claims.subject()).await?;
        if user.is_none()
            && let Some(provision) = &self.provision
        {
            user = self.core.bounded(provision(claims.clone())).await?;
        }
        let user = user.map(Arc::new);
        if let (Some(cache), Some(epoch), Some(user)) = (&self.external_cache, epoch, &user) {
            cache.put(&key, user, epoch);
        }
        Ok(user)
    }

    /// The user the store links to the identity provider `issuer` and its `subject`
    /// ([`UserStore::identify_external`](crate::UserStore::identify_external)), bounded by
    /// the store timeout; never cached, never provisioned.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// # use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// # let auth = Centurion::<TestUser>::builder()
    /// #     .secret("an-example-secret-of-at-least-32-bytes!!")
    /// #     .user_store(MemoryUserStore::new()).build()?;
    /// // The in-memory store links no provider's users.
    /// assert!(auth.identify_external("https://idp.example.com", "abc").await?.is_none());
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn identify_external(&self, issuer: &str, subject: &str) -> Result<Option<U>> {
        self.core
            .bounded(self.users.identify_external(issuer, subject))
            .await
    }

    /// Drops any cached copy of the user of the identity provider `issuer` and its
    /// `subject` (like [`forget_user`](Self::forget_user) for the instance's own users).
    pub fn forget_external_user(&self, issuer: &str, subject: &str) {
        if let Some(cache) = &self.external_cache {
            cache.forget(&jwt::external_key(issuer, subject));
        }
    }

    /// Revokes every token the identity provider `issuer` issued to `subject` until now,
    /// judged by their `iat`: whole seconds on the provider's clock, so the cut-off is the
    /// next second plus the provider's leeway (a provider clock ahead by up to the leeway
    /// does not let an earlier token through; tokens it issues within that margin after the
    /// call are refused too; a provider's token must carry `iat`). Recorded
    /// under `{issuer}#{subject}`, apart from the instance's own user ids, for the
    /// instance's longest token lifetime (a provider's token that would outlive that is
    /// refused at verification, so none outlives its revocation).
    ///
    /// `issuer` must be a configured provider's issuer exactly as configured (mind a
    /// trailing `/`): any other value is a [`ConfigurationError`](crate::ErrorKind::ConfigurationError)
    /// and revokes nothing, so a typo cannot look like a revocation that took effect.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// # use centurion::{Centurion, ErrorKind, IdentityProviderConfig, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .identity_provider(IdentityProviderConfig::discover(
    ///         "https://idp.example.com",
    ///         "https://api.example.com",
    ///     ))
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// auth.revoke_external_user("https://idp.example.com", "user-7").await?;
    /// // Not the configured issuer (a trailing `/`): refused, nothing revoked.
    /// let typo = auth.revoke_external_user("https://idp.example.com/", "user-7").await;
    /// assert_eq!(typo.unwrap_err().kind(), ErrorKind::ConfigurationError);
    /// # Ok(()) }
    /// # #[cfg(feature = "oidc")]
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn revoke_external_user(&self, issuer: &str, subject: &str) -> Result<()> {
        self.forget_external_user(issuer, subject);
        self.core.revoke_external_user(issuer, subject).await
    }

    /// How each configured identity provider's keys are doing: how many are held, whether
    /// they may be used, how many fetches were made and failed, when the last one
    /// succeeded. Empty without providers. For health checks and dashboards.
    ///
    /// ```
    /// # fn demo() -> Result<(), centurion::Error> {
    /// # use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// assert!(auth.identity_providers().is_empty());
    /// # Ok(()) }
    /// # demo().unwrap();
    /// ```
    #[cfg(feature = "oidc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
    pub fn identity_providers(&self) -> Vec<ProviderStatus> {
        self.core.provider_status()
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

    /// The user with this e-mail address (compared by [`email_key`]), if the store
    /// supports e-mail look-ups. Never send mail to the address as typed: mail the
    /// [stored address](crate::HasEmail::email) of the user found (as
    /// [`AccountMail`](crate::mail::AccountMail) does).
    pub async fn lookup_by_email(&self, email: &str) -> Result<Option<U>> {
        let key = email_key(email);
        self.core.bounded(self.users.lookup_by_email(&key)).await
    }

    /// The user with this username (compared by [`identity_key`]: `ADA` finds `ada`).
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// let ada = auth.create_user("Ada", None, "correct horse battery", &[]).await?;
    /// assert_eq!(auth.lookup_by_username("ＡＤＡ").await?.map(|u| u.id), Some(ada.id));
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn lookup_by_username(&self, username: &str) -> Result<Option<U>> {
        let key = identity_key(username);
        self.core.bounded(self.users.lookup(&key)).await
    }

    /// Checks a username and password.
    ///
    /// The username is looked up by its [`identity_key`] (`Ada`, `ADA` and `ａｄａ` are one
    /// account). An unknown username costs what a wrong password costs (a verification
    /// against a dummy hash, or, when anonymous work has taken its share of the hashing
    /// pool, a wait as long as recent verifications took; see [`crate::password`]) and gets
    /// the same [`ErrorKind::AuthenticationError`]. A password longer than the limit is
    /// refused before any hashing. A valid password of an invalid user is
    /// [`ErrorKind::InvalidUserError`]. A hash made with outdated parameters is replaced
    /// through the user store (a failure there is logged, not fatal).
    ///
    /// The answer remembers when the check began: a session issued to it
    /// ([`issue_pair`](Self::issue_pair)) is refused if the user's tokens were revoked
    /// (password change, reset, [`revoke_user`](Self::revoke_user)) while the check ran.
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<Authenticated<U>> {
        let core = &self.core;
        // Before any store call: a revocation that lands from here on catches this login.
        let stamp_ms = core.stamp_now();
        let hasher = core.hasher();
        if hasher.is_too_long(password) {
            return Err(Error::new(ErrorKind::AuthenticationError));
        }
        let key = identity_key(username);
        let Some(user) = core.bounded(self.users.lookup(&key)).await? else {
            hasher.verify_dummy(password).await?;
            return Err(Error::new(ErrorKind::AuthenticationError));
        };
        if !hasher.verify(password, user.password_hash()).await? {
            return Err(Error::new(ErrorKind::AuthenticationError));
        }
        if !user.is_valid() {
            return Err(Error::new(ErrorKind::InvalidUserError));
        }
        if hasher.needs_rehash(user.password_hash()) {
            match hasher.hash(password).await {
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
        Ok(Authenticated { user, stamp_ms })
    }

    /// [`authenticate`](Self::authenticate) and [`issue_pair`](Self::issue_pair) in one.
    pub async fn login(&self, username: &str, password: &str) -> Result<TokenPair> {
        self.login_from(username, password, &ClientInfo::default())
            .await
    }

    /// [`login`](Self::login) from a known client (its user agent and address are kept
    /// with the session; see [`ClientInfo`]).
    pub async fn login_from(
        &self,
        username: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        let user = self.authenticate(username, password).await?;
        self.start_session(&user, SessionStart::new().client(client.clone()))
            .await
    }

    /// Starts a session for `user` (a user, or the answer of
    /// [`authenticate`](Self::authenticate)): a fresh access token and a refresh token of a
    /// new family.
    pub async fn issue_pair(&self, user: &impl IssueTo<U>) -> Result<TokenPair> {
        self.start_session(user, SessionStart::new()).await
    }

    /// Like [`issue_pair`](Self::issue_pair), with custom claims in the access token.
    /// A custom claim that reuses a reserved name is [`ErrorKind::ClaimCollisionError`].
    pub async fn issue_pair_with<C: Serialize + ?Sized>(
        &self,
        user: &impl IssueTo<U>,
        custom: &C,
    ) -> Result<TokenPair> {
        self.start_session(user, SessionStart::new().custom(custom)?)
            .await
    }

    /// Like [`issue_pair`](Self::issue_pair), for a known client.
    pub async fn issue_pair_from(
        &self,
        user: &impl IssueTo<U>,
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        self.start_session(user, SessionStart::new().client(client.clone()))
            .await
    }

    /// Starts a session: stores its record (within the session limits: the user's oldest
    /// session ends beyond the per-user limit, and a full store answers
    /// [`ErrorKind::Overloaded`]), then issues a fresh access token and a refresh token of
    /// generation 0. Every token is stamped with the moment the flow began (the login's,
    /// for an [`Authenticated`] user).
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, ClientInfo, SessionStart, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// let ada = TestUser::new(1, "ada", &[]);
    /// let start = SessionStart::new().client(ClientInfo::new(Some("Firefox"), None)).label("laptop");
    /// let pair = auth.start_session(&ada, start).await?;
    /// let claims = auth.verify_access(&pair.access_token).await?;
    /// let sessions = auth.sessions(&claims).await?;
    /// assert_eq!(sessions.len(), 1);
    /// assert!(sessions[0].current);
    /// assert_eq!(sessions[0].label.as_deref(), Some("laptop"));
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn start_session(
        &self,
        user: &impl IssueTo<U>,
        start: SessionStart,
    ) -> Result<TokenPair> {
        let core = &self.core;
        let stamp = user.stamp_ms().unwrap_or_else(|| core.stamp_now());
        let user = user.user();
        // A random family, or the one an exchanged Flask token names.
        let family = match &start.family {
            Some(family) => family.clone(),
            None => jwt::random_id()?,
        };
        let refresh = core
            .draft_stamped(
                user.id(),
                TokenKind::Refresh,
                core.settings().refresh_lifespan(),
                stamp,
            )?
            .expire_by(start.ends_by.unwrap_or(u64::MAX))
            .family(family.clone())
            .generation(0)
            .custom(start.custom.clone());
        // The session ends when its first refresh token does, and never later.
        let expires_at = refresh.expires_at();
        let fresh = !start.by_refresh;
        let access = self.access_draft(user, &family, expires_at, fresh, start.custom, stamp)?;
        let now_ms = core.clock().ms();
        let record = SessionRecord {
            id: jwt::random_id()?,
            family: family.clone(),
            subject: user.id(),
            created_at_ms: now_ms,
            stamp_ms: stamp,
            last_used_at_ms: now_ms,
            expires_at,
            live_until: self.live_until(expires_at),
            generation: 0,
            rotated_at_ms: now_ms,
            successor: None,
            login: start.client.clone(),
            last: start.client,
            label: start.label,
        };
        core.create_session(&record).await?;
        core.emit(TokenEvent::SessionStarted {
            subject: record.subject,
            session: record.id,
            family: family.clone(),
        });
        self.sign_pair(access, refresh, &family).await
    }

    /// Until when a session used now lives: its end, or sooner by the idle timeout, plus
    /// the leeway its tokens are accepted with.
    fn live_until(&self, expires_at: u64) -> u64 {
        let settings = self.core.settings();
        let end = match settings.session_idle_timeout() {
            Some(idle) => expires_at.min(self.core.clock().secs().saturating_add(idle)),
            None => expires_at,
        };
        end.saturating_add(settings.leeway())
    }

    /// The access token of a pair: the user's current roles, the session's family, never
    /// past the session's end.
    fn access_draft(
        &self,
        user: &U,
        family: &str,
        expires_by: u64,
        fresh: bool,
        custom: Map<String, serde_json::Value>,
        stamp: u64,
    ) -> Result<Draft> {
        let core = &self.core;
        Ok(core
            .draft_stamped(
                user.id(),
                TokenKind::Access,
                core.settings().access_lifespan(),
                stamp,
            )?
            .fresh(fresh)
            .roles(user.roles().into_iter().map(str::to_owned).collect())
            .family(family.to_owned())
            .expire_by(expires_by)
            .custom(custom))
    }

    /// Signs a pair, then asks the revocation store once more: a revocation that landed
    /// while the flow ran has already doomed the pair (its stamp is older), and the client
    /// hears it now instead of at its next request. The session is ended then.
    async fn sign_pair(&self, access: Draft, refresh: Draft, family: &str) -> Result<TokenPair> {
        let core = &self.core;
        let expires_in = access.lifetime();
        let (access_token, claims) = core.issue_with_claims(access)?;
        let refresh_token = core.issue(refresh)?;
        if let Err(e) = core.check_revoked(&claims).await {
            if e.kind() == ErrorKind::RevokedTokenError {
                core.revoke_family(family).await?;
            }
            return Err(e);
        }
        Ok(TokenPair {
            access_token,
            refresh_token,
            token_type: "Bearer",
            expires_in,
        })
    }

    /// Spends a refresh token for a new pair of the same session.
    ///
    /// The new access token is not fresh; the new refresh token expires with the session.
    /// The user is re-loaded: a deleted user is [`ErrorKind::MissingUserError`], an invalid
    /// one [`ErrorKind::InvalidUserError`], and the new access token carries the user's
    /// current roles.
    ///
    /// A refresh token presented again within the refresh grace window (default 5 s,
    /// [`CenturionBuilder::refresh_grace`]) of its first use gets the same pair back (two
    /// tabs refreshing at once; a client that lost the answer). Outside the window, or from
    /// a client with another user agent, it ends the whole session and answers
    /// [`ErrorKind::RefreshReuseError`]. A token of an ended session is
    /// [`ErrorKind::RevokedTokenError`].
    ///
    /// With [legacy tokens](CenturionBuilder::legacy_tokens) on, it also takes a
    /// flask-praetorian token whose `rf_exp` has not passed (even when its `exp` has) or a
    /// flask-jwt-extended refresh token, once: the answer is the pair of a new session that
    /// ends no later than the legacy token's refresh deadline, the legacy token is spent
    /// (and refused as an access token from then on), and presenting it again ends that
    /// session with [`ErrorKind::RefreshReuseError`] (no grace window).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        self.refresh_from(refresh_token, &ClientInfo::default())
            .await
    }

    /// [`refresh`](Self::refresh) from a known client: its user agent is compared inside
    /// the grace window, and both are kept as the session's last client.
    pub async fn refresh_from(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        #[cfg(feature = "legacy")]
        if jwt::looks_legacy(refresh_token, self.core.settings()) {
            return self.exchange_legacy(refresh_token, client).await;
        }
        let started = self.core.stamp_now();
        let claims = self
            .core
            .verify_claims(refresh_token, ExpectKind::Exactly(TokenKind::Refresh))?;
        self.rotate(&claims, client, started).await
    }

    /// The rotation of [`refresh`](Self::refresh), for the verified claims of a refresh
    /// token (the cookie flow checks CSRF between verification and rotation); `started` is
    /// the flow's stamp, read before anything else.
    pub(crate) async fn rotate(
        &self,
        claims: &Claims,
        client: &ClientInfo,
        started: u64,
    ) -> Result<TokenPair> {
        let core = &self.core;
        let Some(family) = claims.family() else {
            return Err(Error::new(ErrorKind::InvalidTokenError)
                .with_message("the refresh token has no family"));
        };
        core.check_revoked(claims).await?;
        let user = self.load_valid(claims.subject()).await?;
        let presented = claims.generation().unwrap_or(0);
        let custom = claims.custom_map().clone();
        let refresh = core
            .draft_stamped(user.id(), TokenKind::Refresh, 0, started)?
            .family(family.to_owned())
            .generation(presented.saturating_add(1))
            .expire_at(claims.expires_at())
            .custom(custom.clone());
        let access =
            self.access_draft(&user, family, claims.expires_at(), false, custom, started)?;
        let successor = jwt::pair_to_json(&access, &refresh)?;
        let rotation = Rotation {
            family,
            subject: claims.subject(),
            presented,
            now_ms: core.clock().ms(),
            grace_ms: core.settings().refresh_grace_ms(),
            live_until: self.live_until(claims.expires_at()),
            successor: &successor,
            client,
        };
        match core.rotate_session(&rotation).await? {
            RotationOutcome::Rotated => {
                core.emit(TokenEvent::Refreshed {
                    subject: claims.subject().to_owned(),
                    family: family.to_owned(),
                    spent_jti: claims.jti().to_owned(),
                });
                self.sign_pair(access, refresh, family).await
            }
            RotationOutcome::Replayed(successor) => {
                let (access, refresh) = jwt::pair_from_json(&successor)?;
                tracing::info!(user.id = %claims.subject(), family = %family, "a refresh token was presented again within the grace window");
                core.emit(TokenEvent::RefreshReplayed {
                    subject: claims.subject().to_owned(),
                    family: family.to_owned(),
                });
                self.sign_pair(access, refresh, family).await
            }
            RotationOutcome::Reused => {
                core.reuse_detected(claims, family);
                Err(Error::new(ErrorKind::RefreshReuseError))
            }
            RotationOutcome::Ended => Err(Error::new(ErrorKind::RevokedTokenError)),
        }
    }

    /// The one-time exchange of a Flask token at refresh (see [`refresh`](Self::refresh)).
    #[cfg(feature = "legacy")]
    async fn exchange_legacy(&self, token: &str, client: &ClientInfo) -> Result<TokenPair> {
        let core = &self.core;
        let claims = core.verify_claims(token, ExpectKind::LegacyExchange)?;
        // The session this exchange starts is named by the legacy jti, so a second
        // presentation ends exactly it, as reuse of one of our refresh tokens does.
        let family = jwt::exchange_family(claims.jti());
        if !core.mark_spent(&claims).await? {
            core.revoke_family(&family).await?;
            core.reuse_detected(&claims, &family);
            return Err(Error::new(ErrorKind::RefreshReuseError));
        }
        core.check_revoked(&claims).await?;
        let user = self.load_valid(claims.subject()).await?;
        // A praetorian token is its own access token: refused from now on.
        core.revoke_token(&claims).await?;
        let start = SessionStart::new()
            .client(client.clone())
            .exchanged(family, claims.expires_at());
        self.start_session(&user, start).await
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
    /// revocable like any token. `lifespan` defaults to the configured service lifespan,
    /// and may not exceed it ([`ErrorKind::ConfigurationError`]): a per-user revocation is
    /// remembered for the longest lifespan the instance can issue, so it must be known.
    ///
    /// ```
    /// # fn demo() -> Result<(), centurion::Error> {
    /// use std::time::Duration;
    /// use centurion::{Centurion, ErrorKind, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .service_lifespan(Duration::from_secs(86_400))
    ///     .build()?;
    /// let robot = TestUser::new(9, "robot", &[]);
    /// assert!(auth.issue_service_token(&robot, Some(Duration::from_secs(3_600))).is_ok());
    /// let err = auth.issue_service_token(&robot, Some(Duration::from_secs(86_401))).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::ConfigurationError);
    /// # Ok(()) }
    /// # demo().unwrap();
    /// ```
    pub fn issue_service_token(&self, user: &U, lifespan: Option<Duration>) -> Result<String> {
        let core = &self.core;
        let longest = core.settings().service_lifespan();
        let secs = lifespan.map_or(longest, |d| d.as_secs().max(1));
        if secs > longest {
            return Err(Error::config(format!(
                "a service token cannot live longer than service_lifespan ({}); raise \
                 service_lifespan to issue longer ones",
                humantime::format_duration(Duration::from_secs(longest))
            )));
        }
        let draft = core
            .draft(user.id(), TokenKind::Service, secs)?
            .fresh(false)
            .roles(user.roles().into_iter().map(str::to_owned).collect());
        core.issue(draft)
    }

    /// Issues a single-use registration-confirmation token for `user`.
    pub fn issue_registration_token(&self, user: &U) -> Result<String> {
        let core = &self.core;
        core.issue(core.draft(
            user.id(),
            TokenKind::Registration,
            core.settings().registration_lifespan(),
        )?)
    }

    /// Issues a single-use password-reset token for `user`.
    pub fn issue_reset_token(&self, user: &U) -> Result<String> {
        let core = &self.core;
        core.issue(core.draft(
            user.id(),
            TokenKind::Reset,
            core.settings().reset_lifespan(),
        )?)
    }

    /// Registers a user: checks the username ([`normalize_username`] with the instance's
    /// [`UsernamePolicy`]), the address ([`normalize_email`]) and the password, hashes the
    /// password as anonymous work ([`Work::Anonymous`]), and asks the store to create an
    /// unconfirmed, inactive user.
    ///
    /// - A username whose key is taken is [`ErrorKind::UserExists`] (409). An unconfirmed
    ///   registration older than the [unconfirmed
    ///   lifespan](crate::CenturionBuilder::unconfirmed_lifespan) no longer holds its name
    ///   or address: it is replaced.
    /// - An address whose key is taken is **not** an error:
    ///   [`Registration::AddressTaken`] comes back after the same work (the hash, the
    ///   store round trip), so the answer and its timing can be the same as for a new
    ///   registration, and the owner of the address gets a mail instead.
    /// - A name or address that breaks the [identity rules](crate::identity) is
    ///   [`ErrorKind::InvalidRequest`]; a weak password [`ErrorKind::WeakPassword`]; a
    ///   hashing pool whose anonymous share is taken [`ErrorKind::Overloaded`].
    ///
    /// [`confirm_registration`](Self::confirm_registration) activates the user.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, Registration, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// let first = auth.register("ada", Some("ada@example.org"), "correct horse battery", &[]).await?;
    /// let (ada, token) = first.created().expect("a new user");
    /// assert!(!ada.active);
    /// // The same address again: nothing is created, but nothing tells the client so.
    /// let again = auth.register("bob", Some("ADA@example.org"), "another passphrase", &[]).await?;
    /// assert_eq!(again.username(), "bob");
    /// assert!(matches!(again, Registration::AddressTaken { owner, .. } if owner.id == ada.id));
    /// assert!(auth.confirm_registration(&token).await?.active);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn register(
        &self,
        username: &str,
        email: Option<&str>,
        password: &str,
        roles: &[&str],
    ) -> Result<Registration<U>> {
        let new = self
            .new_user(username, email, password, roles, Work::Anonymous)
            .await?;
        let core = &self.core;
        let now = core.clock().ms();
        let lifespan = core.settings().unconfirmed_lifespan_ms();
        let display = new.username.clone();
        let registered = core
            .bounded(
                self.users
                    .register(new.pending_since(now), now.saturating_sub(lifespan)),
            )
            .await?;
        match registered {
            Registered::Created(user) => {
                // Only a store that reuses the id of a deleted user could have it cached.
                self.forget_user(&user.id());
                let token = self.issue_registration_token(&user)?;
                Ok(Registration::Created { user, token })
            }
            Registered::AddressTaken(owner) => Ok(Registration::AddressTaken {
                owner,
                username: display,
            }),
        }
    }

    /// Creates an active, confirmed user directly (an administrator, a seed, an import):
    /// the same checks as [`register`](Self::register), the password hashed as known work.
    /// A taken username or address is [`ErrorKind::UserExists`].
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, ErrorKind, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// let root = auth.create_user("root", None, "a long admin passphrase", &["admin"]).await?;
    /// assert!(root.active);
    /// auth.authenticate("ROOT", "a long admin passphrase").await?;
    /// let err = auth.create_user("Root", None, "whatever it is", &[]).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::UserExists);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn create_user(
        &self,
        username: &str,
        email: Option<&str>,
        password: &str,
        roles: &[&str],
    ) -> Result<U> {
        let new = self
            .new_user(username, email, password, roles, Work::Known)
            .await?;
        let user = self.core.bounded(self.users.create(new)).await?;
        self.forget_user(&user.id());
        Ok(user)
    }

    /// A checked, hashed [`NewUser`] (active; registration makes it pending).
    async fn new_user(
        &self,
        username: &str,
        email: Option<&str>,
        password: &str,
        roles: &[&str],
        work: Work,
    ) -> Result<NewUser> {
        let name = normalize_username(username, &self.username_policy)?;
        let address = email.map(normalize_email).transpose()?;
        let hasher = self.core.hasher();
        hasher.check_new_password(password)?;
        let hash = hasher.hash_for(password, work).await?;
        let mut new = NewUser::new(name.display(), hash).with_roles(roles.iter().copied());
        name.key().clone_into(&mut new.username_key);
        if let Some(address) = address {
            new = new.with_email(address.address());
            new.email_key = Some(address.key().to_owned());
        }
        Ok(new)
    }

    /// Upserts users brought from another system, by id, with the hashes it stored
    /// (argon2 PHC; with feature `legacy` also passlib's and werkzeug's formats). Every
    /// hash is checked first, without hashing: one of an unknown format, malformed or
    /// above the cost caps stops the import before any write, with an
    /// [`ErrorKind::InvalidRequest`] naming the entry (its position, id and username) and
    /// the format. A legacy hash is replaced by argon2id at the user's next successful
    /// login. Returns the users as stored.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, ImportedUser, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// let hash = auth.hasher().hash("correct horse battery staple").await?;
    /// let users: Vec<ImportedUser> = serde_json::from_value(serde_json::json!([
    ///     {"id": 41, "username": "ada", "email": "ada@example.com",
    ///      "password_hash": hash, "roles": ["admin"], "active": true}
    /// ])).unwrap();
    /// auth.import_users(users).await?;
    /// assert!(auth.identify("41").await?.is_some());
    /// auth.login("ada", "correct horse battery staple").await?;
    ///
    /// let bad: Vec<ImportedUser> = serde_json::from_value(serde_json::json!([
    ///     {"id": 42, "username": "bob", "password_hash": "$6$rounds=5000$salt$hash"}
    /// ])).unwrap();
    /// let err = auth.import_users(bad).await.unwrap_err();
    /// assert!(err.message().contains("entry 1 (id 42, username bob)"), "{}", err.message());
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn import_users(&self, users: Vec<ImportedUser>) -> Result<Vec<U>> {
        let name = |n: usize, u: &ImportedUser| {
            format!("entry {} (id {}, username {})", n + 1, u.id, u.username)
        };
        for (n, user) in users.iter().enumerate() {
            self.core
                .hasher()
                .check_stored_hash(&user.password_hash)
                .map_err(|e| {
                    Error::new(ErrorKind::InvalidRequest).with_message(format!(
                        "{}: {}",
                        name(n, user),
                        e.message()
                    ))
                })?;
        }
        let mut stored = Vec::with_capacity(users.len());
        for (n, user) in users.into_iter().enumerate() {
            let what = name(n, &user);
            let id = user.id.clone();
            let upserted = self.core.bounded(self.users.upsert(user)).await;
            self.forget_user(&id);
            stored.push(upserted.map_err(|e| {
                let message = format!("{what}: {}", e.message());
                Error::new(e.kind()).with_message(message)
            })?);
        }
        Ok(stored)
    }

    /// Spends a registration token and activates its user.
    ///
    /// Only an unconfirmed registration younger than the unconfirmed lifespan is
    /// activated. For any other user (already confirmed and active, or deactivated since,
    /// or an expired registration) the token is spent and nothing changes: the answer is
    /// [`ErrorKind::RevokedTokenError`] ("the registration is no longer pending"), so a
    /// confirmation link can never reactivate an account an administrator turned off.
    pub async fn confirm_registration(&self, token: &str) -> Result<U> {
        let core = &self.core;
        let claims = core.verify_claims(token, ExpectKind::Exactly(TokenKind::Registration))?;
        core.check_revoked(&claims).await?;
        let id = claims.subject();
        self.identify(id)
            .await?
            .ok_or_else(|| Error::new(ErrorKind::MissingUserError))?;
        if !core.mark_spent(&claims).await? {
            return Err(
                Error::new(ErrorKind::RevokedTokenError).with_message("the token was already used")
            );
        }
        let cutoff = core
            .clock()
            .ms()
            .saturating_sub(core.settings().unconfirmed_lifespan_ms());
        let confirmed = core.bounded(self.users.confirm(id, cutoff)).await;
        self.forget_user(id);
        if !confirmed? {
            return Err(Error::new(ErrorKind::RevokedTokenError)
                .with_message("the registration is no longer pending"));
        }
        self.identify(id)
            .await?
            .ok_or_else(|| Error::new(ErrorKind::MissingUserError))
    }

    /// Deletes the unconfirmed registrations older than the unconfirmed lifespan; returns
    /// how many. Expired registrations already free their name and address for new
    /// registrations; this removes their rows. Call it now and then (the quickstart does
    /// every ten minutes).
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// assert_eq!(auth.purge_unconfirmed_registrations().await?, 0);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn purge_unconfirmed_registrations(&self) -> Result<u64> {
        let core = &self.core;
        let cutoff = core
            .clock()
            .ms()
            .saturating_sub(core.settings().unconfirmed_lifespan_ms());
        core.bounded(self.users.purge_unconfirmed(cutoff)).await
    }

    /// Spends a reset token, sets the new password and revokes every token the user held.
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Result<U> {
        let core = &self.core;
        let claims = core.verify_claims(token, ExpectKind::Exactly(TokenKind::Reset))?;
        core.check_revoked(&claims).await?;
        core.hasher().check_new_password(new_password)?;
        let user = self
            .identify(claims.subject())
            .await?
            .ok_or_else(|| Error::new(ErrorKind::MissingUserError))?;
        // The holder of a reset token is not authenticated: anonymous work.
        let hash = core
            .hasher()
            .hash_for(new_password, Work::Anonymous)
            .await?;
        if !core.mark_spent(&claims).await? {
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
        self.core.hasher().check_new_password(new_password)?;
        let hash = self.core.hasher().hash(new_password).await?;
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
        self.core.revoke_token(claims).await
    }

    /// Ends the session of a family: every access and refresh token of that login is
    /// refused from now on.
    pub async fn revoke_family(&self, family: &str) -> Result<()> {
        self.core.revoke_family(family).await.map(drop)
    }

    /// Revokes every token of user `id` and ends the user's sessions (a per-user "not
    /// before").
    ///
    /// Refused from then on: every token issued before the call returns, also in the same
    /// millisecond, and every token a login or refresh that was already in flight issues
    /// (they are stamped with the moment their flow began). Tokens of flows this instance
    /// begins after the call returns are accepted. Across instances the not-before is read
    /// from this instance's clock and the stamps from the issuing instance's: a flow on an
    /// instance whose clock runs ahead by `d` survives if it began less than `d` before
    /// the revocation, so keep the clocks of a fleet synchronised (NTP: milliseconds).
    pub async fn revoke_user(&self, id: &str) -> Result<()> {
        // Whatever made the application cut the user off may have changed the user too.
        self.forget_user(id);
        self.core.revoke_user(id).await
    }

    /// The live sessions of the user of `claims`, newest first; the one `claims` belongs to
    /// is marked [`current`](Session::current). An identity provider's token has none here
    /// (its `sub` is the provider's, never one of this application's user ids).
    pub async fn sessions(&self, claims: &Claims) -> Result<Vec<Session>> {
        if claims.external_issuer().is_some() {
            return Ok(Vec::new());
        }
        let records = self.core.sessions(claims.subject()).await?;
        Ok(records
            .into_iter()
            .map(|r| Session::from_record(r, claims.family()))
            .collect())
    }

    /// The live sessions of user `id`, newest first (none marked current), e.g. for an
    /// administrator.
    pub async fn sessions_of(&self, id: &str) -> Result<Vec<Session>> {
        let records = self.core.sessions(id).await?;
        Ok(records
            .into_iter()
            .map(|r| Session::from_record(r, None))
            .collect())
    }

    /// Ends the session of user `id` whose public id is `session`: its access and refresh
    /// tokens are refused from now on. `false` when the user has no such live session.
    pub async fn revoke_session(&self, id: &str, session: &str) -> Result<bool> {
        let ended = self.core.end_session_of(id, session).await?;
        if ended {
            self.core.emit(TokenEvent::SessionRevoked {
                subject: id.to_owned(),
                session: session.to_owned(),
            });
        }
        Ok(ended)
    }

    /// Ends the session with the public id `session` of the user of `claims` (a user ending
    /// one of their own devices): `false` when that user has no such live session, and
    /// always for an identity provider's token, which has no sessions here.
    pub async fn revoke_own_session(&self, claims: &Claims, session: &str) -> Result<bool> {
        if claims.external_issuer().is_some() {
            return Ok(false);
        }
        self.revoke_session(claims.subject(), session).await
    }

    /// Ends every session of the user of `claims` except the one `claims` belongs to
    /// ("log out my other devices"), also those of logins still in flight; returns how
    /// many live sessions ended (none for an identity provider's token, which has no
    /// sessions here).
    pub async fn revoke_other_sessions(&self, claims: &Claims) -> Result<u64> {
        if claims.external_issuer().is_some() {
            return Ok(0);
        }
        self.core
            .end_sessions_of(claims.subject(), claims.family())
            .await
    }

    /// Ends every session of user `id`, also those of logins still in flight; returns how
    /// many live sessions ended. Tokens outside sessions (service tokens) stay valid; use
    /// [`revoke_user`](Self::revoke_user) to revoke everything.
    pub async fn revoke_sessions(&self, id: &str) -> Result<u64> {
        self.core.end_sessions_of(id, None).await
    }

    /// Logs out: ends the session of the access token (or revokes the token itself when it
    /// belongs to none), and the session of `refresh_token` when given (it must belong to
    /// the same user).
    pub async fn logout(&self, access: &Claims, refresh_token: Option<&str>) -> Result<()> {
        match access.family() {
            Some(family) => self.revoke_family(family).await?,
            None => self.revoke_token(access).await?,
        }
        if let Some(token) = refresh_token {
            let refresh = self
                .core
                .verify_claims(token, ExpectKind::Exactly(TokenKind::Refresh))?;
            // A provider's `sub` is not one of our user ids: its access token never
            // vouches for one of our refresh tokens.
            if refresh.subject() != access.subject() || access.external_issuer().is_some() {
                return Err(Error::new(ErrorKind::InvalidTokenError)
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
        self.core.jwks()
    }

    /// The layer to add to the router: it hands the instance to the extractors and applies
    /// the [error responder](CenturionBuilder::error_responder).
    ///
    /// ```
    /// # fn demo() -> Result<(), centurion::Error> {
    /// use axum::{Router, routing::get};
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// let app: Router = Router::new().route("/", get(|| async { "hi" })).layer(auth.layer());
    /// # Ok(()) }
    /// # demo().unwrap();
    /// ```
    pub fn layer(&self) -> CenturionLayer<U> {
        CenturionLayer::new(self.clone())
    }

    /// The session cookies for a pair just issued by [`login`](Self::login),
    /// [`issue_pair`](Self::issue_pair) or [`refresh`](Self::refresh), and the CSRF token.
    ///
    /// The access cookie lives as long as the access token, the refresh and CSRF cookies
    /// as long as the refresh family. Fails with [`ErrorKind::ConfigurationError`] when
    /// cookies are not a configured token location, and with the verification error when
    /// a token of the pair is no longer valid.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, CookieConfig, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .cookies(CookieConfig { secure: false, ..CookieConfig::default() })
    ///     .build()?;
    /// let pair = auth.issue_pair(&TestUser::new(1, "ada", &[])).await?;
    /// let cookies = auth.session_cookies(&pair)?;
    /// let access = cookies.set_cookie_headers()[0].to_str().unwrap();
    /// assert!(access.starts_with(&format!("access_token={};", pair.access_token)));
    /// assert!(access.contains("HttpOnly") && access.contains("SameSite=Lax"));
    /// assert!(access.contains("Max-Age=900"));
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn session_cookies(&self, pair: &TokenPair) -> Result<SessionCookies> {
        let core = &self.core;
        let settings = core.transport().cookies()?;
        let access = core.verify_claims(&pair.access_token, ExpectKind::Authenticating)?;
        let refresh =
            core.verify_claims(&pair.refresh_token, ExpectKind::Exactly(TokenKind::Refresh))?;
        settings.session(
            &pair.access_token,
            &access,
            &pair.refresh_token,
            &refresh,
            core.clock().secs(),
        )
    }

    /// The headers that delete the session cookies, for logout responses.
    ///
    /// ```
    /// # fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, CookieConfig, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .cookies(CookieConfig::default())
    ///     .build()?;
    /// let cleared = auth.clear_session_cookies()?;
    /// let access = cleared.set_cookie_headers()[0].to_str().unwrap();
    /// assert!(access.starts_with("__Host-access_token=;"));
    /// assert!(access.contains("Max-Age=0") && access.contains("Secure"));
    /// # Ok(()) }
    /// # demo().unwrap();
    /// ```
    pub fn clear_session_cookies(&self) -> Result<ClearSessionCookies> {
        self.core.transport().cookies()?.clear()
    }

    /// Refreshes the session of the refresh cookie: checks the CSRF header against it,
    /// spends the refresh token (rotation and reuse detection as in
    /// [`refresh`](Self::refresh)) and returns the new session cookies.
    ///
    /// The CSRF header is required whatever the request's method (refreshing changes
    /// state; route it as `POST`). A request without the refresh cookie is
    /// [`ErrorKind::MissingToken`]; without a matching CSRF header,
    /// [`ErrorKind::CSRFError`], and the refresh token is not spent.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, CookieConfig, ErrorKind, NewUser, UserStore};
    /// use centurion::{memory::MemoryUserStore, testing::TestUser};
    /// let users = MemoryUserStore::<TestUser>::new();
    /// let user = users.create(NewUser::new("ada", "")).await?;
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(users)
    ///     .cookies(CookieConfig { secure: false, ..CookieConfig::default() })
    ///     .refresh_grace(std::time::Duration::ZERO) // strict rotation, for this example
    ///     .build()?;
    /// let pair = auth.issue_pair(&user).await?;
    /// let csrf = auth.session_cookies(&pair)?.csrf_token().to_owned();
    ///
    /// // What the browser sends back: the refresh and CSRF cookies.
    /// let mut headers = http::HeaderMap::new();
    /// let cookie = format!("refresh_token={}; csrf_token={csrf}", pair.refresh_token);
    /// headers.insert("cookie", cookie.parse().unwrap());
    /// // Without the CSRF header: refused, and the refresh token is not spent.
    /// let err = auth.refresh_from_cookies(&headers).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::CSRFError);
    ///
    /// headers.insert("x-csrf-token", csrf.parse().unwrap());
    /// let renewed = auth.refresh_from_cookies(&headers).await?;
    /// assert_eq!(renewed.csrf_token(), csrf); // the same session
    /// // The spent refresh token again: reuse, the whole session is revoked.
    /// let err = auth.refresh_from_cookies(&headers).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::RefreshReuseError);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn refresh_from_cookies(&self, headers: &HeaderMap) -> Result<SessionCookies> {
        self.refresh_from_cookies_with(headers, &ClientInfo::from_headers(headers, None))
            .await
    }

    /// [`refresh_from_cookies`](Self::refresh_from_cookies) for a known client (see
    /// [`refresh_from`](Self::refresh_from)).
    pub async fn refresh_from_cookies_with(
        &self,
        headers: &HeaderMap,
        client: &ClientInfo,
    ) -> Result<SessionCookies> {
        let core = &self.core;
        let started = core.stamp_now();
        let settings = core.transport().cookies()?;
        let token = settings.refresh_token(headers)?;
        let claims = core.verify_claims(&token, ExpectKind::Exactly(TokenKind::Refresh))?;
        settings.check_csrf(headers, &claims)?;
        let pair = self.rotate(&claims, client, started).await?;
        self.session_cookies(&pair)
    }

    /// The CSRF token of the session `claims` belong to, for applications that render it
    /// into their pages instead of reading the CSRF cookie.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, CookieConfig, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .cookies(CookieConfig::default())
    ///     .build()?;
    /// let pair = auth.issue_pair(&TestUser::new(1, "ada", &[])).await?;
    /// let claims = auth.verify_access(&pair.access_token).await?;
    /// assert_eq!(auth.csrf_token(&claims)?, auth.session_cookies(&pair)?.csrf_token());
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn csrf_token(&self, claims: &Claims) -> Result<String> {
        self.core.transport().cookies()?.csrf_token(claims)
    }
}
