//! [`CenturionBuilder`]: settings (each a [`Config`] field) and plug-ins (stores, hooks,
//! clock), checked by [`CenturionBuilder::build`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;

use super::{Centurion, Provision, provision};
use crate::clock::{Clock, SharedClock};
use crate::config::{
    Config, CookieConfig, IdentityProviderConfig, LegacyConfig, PasswordConfig, Secret,
    TokenLocation, VerificationKeyConfig,
};
use crate::core::{Core, Hooks, TokenEvent};
use crate::error::{Error, Result};
use crate::identity::UsernamePolicy;
use crate::jwt::Claims;
use crate::memory::MemoryRevocationStore;
use crate::notice;
use crate::roles::{Role, RoleTable};
use crate::store::{DynRevocationStore, DynUserStore, RevocationStore, UserStore};
use crate::user::AuthUser;
use crate::user_cache::UserCache;

/// Configures a [`Centurion`].
///
/// Two kinds of methods. **Settings** each write [`Config`] fields, so an application can
/// load them from a file instead ([`config`](Self::config) replaces them all; call it
/// first). **Plug-ins** are code, with no `Config` field.
///
/// | settings method | [`Config`] field(s) |
/// | --- | --- |
/// | [`config`](Self::config) | all of them |
/// | [`secret`](Self::secret) | `secret` |
/// | [`algorithm`](Self::algorithm) | `algorithm` |
/// | [`key_pair_pem`](Self::key_pair_pem) | `private_key_pem`, `public_key_pem` |
/// | [`kid`](Self::kid) | `kid` |
/// | [`verification_key`](Self::verification_key) | `verification_keys` (adds one) |
/// | [`algorithms`](Self::algorithms) | `algorithms` |
/// | [`access_lifespan`](Self::access_lifespan), [`refresh_lifespan`](Self::refresh_lifespan), [`registration_lifespan`](Self::registration_lifespan), [`reset_lifespan`](Self::reset_lifespan), [`unconfirmed_lifespan`](Self::unconfirmed_lifespan), [`service_lifespan`](Self::service_lifespan) | the field of the same name |
/// | [`leeway`](Self::leeway), [`issuer`](Self::issuer), [`audience`](Self::audience) | the field of the same name |
/// | [`refresh_grace`](Self::refresh_grace), [`session_idle_timeout`](Self::session_idle_timeout) | the field of the same name |
/// | [`session_limits`](Self::session_limits) | `max_sessions_per_user`, `max_sessions` |
/// | [`max_token_bytes`](Self::max_token_bytes), [`verified_cache_bytes`](Self::verified_cache_bytes) | the field of the same name |
/// | [`user_cache`](Self::user_cache) | `user_cache_ttl`, `user_cache_capacity` |
/// | [`store_timeout`](Self::store_timeout) | `store_timeout` |
/// | [`password`](Self::password) | `password` |
/// | [`token_locations`](Self::token_locations) | `token_locations` |
/// | [`cookies`](Self::cookies) | `cookies`, and adds `cookies` to `token_locations` |
/// | [`query_parameter`](Self::query_parameter) | `query_parameter`, and adds `query` to `token_locations` |
/// | [`identity_provider`](Self::identity_provider) | `identity_providers` (adds one) |
/// | [`legacy_tokens`](Self::legacy_tokens) | `legacy` |
///
/// | plug-in method | what | default |
/// | --- | --- | --- |
/// | [`user_store`](Self::user_store) | where users live | none: required |
/// | [`revocation_store`](Self::revocation_store) | where revocations live | [`MemoryRevocationStore`] on the instance's clock |
/// | [`username_policy`](Self::username_policy) | what new usernames may hold | [`UsernamePolicy::default`] |
/// | [`validate_claims`](Self::validate_claims) | checks run on every received token | none |
/// | [`on_event`](Self::on_event) | listeners of [`TokenEvent`]s | none |
/// | [`error_responder`](Self::error_responder) | the error response | the JSON body of [`Error`] |
/// | [`clock`](Self::clock) | where time is read | [`SystemClock`](crate::clock::SystemClock) |
/// | [`provision_external_users`](Self::provision_external_users) | makes the user of an identity provider's token the store does not know | none: such a token's `CurrentUser` is [`MissingUserError`](crate::ErrorKind::MissingUserError) |
/// | [`roles`](Self::roles) | the role hierarchy and permission grants tokens are checked with | the table of the user type's role enum ([`AuthUser::role_table`]) |
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
    hooks: Hooks,
    clock: Option<SharedClock>,
    username_policy: UsernamePolicy,
    provision: Option<Provision<U>>,
    /// `.roles::<R>()`: the table and `R`'s name.
    roles: Option<(&'static RoleTable, &'static str)>,
}

impl<U> fmt::Debug for CenturionBuilder<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CenturionBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<U: AuthUser> CenturionBuilder<U> {
    pub(super) fn new() -> Self {
        Self {
            config: Config::default(),
            users: None,
            revocations: None,
            hooks: Hooks::default(),
            clock: None,
            username_policy: UsernamePolicy::default(),
            provision: None,
            roles: None,
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

    /// How long an unconfirmed registration holds its username and e-mail address (default
    /// 24 hours); see [`Config::unconfirmed_lifespan`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .unconfirmed_lifespan(Duration::from_secs(3600))
    ///     .build();
    /// assert!(auth.is_ok());
    /// ```
    pub fn unconfirmed_lifespan(mut self, lifespan: Duration) -> Self {
        self.config.unconfirmed_lifespan = lifespan;
        self
    }

    /// What [`Centurion::register`] and [`Centurion::create_user`] accept as a new
    /// username beyond the rules every name follows (see [`crate::identity`]).
    ///
    /// ```
    /// use centurion::{Centurion, identity::UsernamePolicy, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .username_policy(UsernamePolicy::default().max_chars(32))
    ///     .build();
    /// assert!(auth.is_ok());
    /// ```
    pub fn username_policy(mut self, policy: UsernamePolicy) -> Self {
        self.username_policy = policy;
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

    /// The refresh grace window (default 5 s; zero turns it off): a refresh token presented
    /// again this soon after its first use, by a client with the same user agent (or
    /// none), gets the same new pair back instead of ending the session as a reuse.
    ///
    /// What it trades (RFC 9700 §4.14.2 asks for strict single use): a thief who replays a
    /// stolen refresh token within the window, with the victim's user agent, gets the pair
    /// the victim got instead of setting off reuse detection, so the theft is noticed at
    /// the next rotation rather than at this one. What it buys: two tabs, or a client on a
    /// flaky network that retries, no longer look like theft, so the defence does not have
    /// to be turned off in production. Every hit is a [`TokenEvent::RefreshReplayed`].
    ///
    /// "The same pair": the session keeps the claims of the pair its last rotation minted
    /// (not the tokens), and a replay signs them again. With HMAC, EdDSA and RSA
    /// (PKCS#1 v1.5) signatures that gives byte-identical tokens; `ES256` signatures are
    /// randomised, so the replay gets tokens with the same claims (the same `jti`s:
    /// revoking one revokes both) and another signature.
    ///
    /// ```
    /// use std::time::Duration;
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .refresh_grace(Duration::from_secs(2))
    ///     .build();
    /// assert!(auth.is_ok());
    /// ```
    pub fn refresh_grace(mut self, grace: Duration) -> Self {
        self.config.refresh_grace = grace;
        self
    }

    /// Ends a session that has not been refreshed for `idle` (default: never, only its
    /// absolute end). Its access and refresh tokens are refused from then on.
    ///
    /// ```
    /// use std::time::Duration;
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .session_idle_timeout(Some(Duration::from_secs(7 * 24 * 3600)))
    ///     .build();
    /// assert!(auth.is_ok());
    /// ```
    pub fn session_idle_timeout(mut self, idle: Option<Duration>) -> Self {
        self.config.session_idle_timeout = idle;
        self
    }

    /// Bounds on live sessions: `per_user` per user (default 64; a login beyond it ends the
    /// user's oldest session) and `global` in the whole store (default 1 000 000; a login
    /// beyond it is refused with 503 `Overloaded`).
    ///
    /// ```
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .session_limits(10, 100_000)
    ///     .build();
    /// assert!(auth.is_ok());
    /// ```
    pub fn session_limits(mut self, per_user: usize, global: u64) -> Self {
        self.config.max_sessions_per_user = per_user;
        self.config.max_sessions = global;
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
        self.hooks.validate(Arc::new(check));
        self
    }

    /// Adds a listener for [`TokenEvent`]s (for audit logs). Listeners run inline: keep
    /// them fast and hand slow work to a channel.
    pub fn on_event(mut self, listener: impl Fn(&TokenEvent) + Send + Sync + 'static) -> Self {
        self.hooks.listen(Arc::new(listener));
        self
    }

    /// Where request tokens are looked for, in order (default: the `Authorization` header
    /// only). See [`crate::transport`] for what each location reads and which one wins.
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

    /// Accepts the tokens of flask-praetorian and/or flask-jwt-extended services signing
    /// with the same HS256 secret, while they are being replaced (feature `legacy`); see
    /// [`LegacyConfig`] for everything it changes.
    ///
    /// ```
    /// use centurion::{Centurion, LegacyConfig, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .legacy_tokens(LegacyConfig { praetorian: true, ..LegacyConfig::default() })
    ///     .build();
    /// assert_eq!(auth.is_ok(), cfg!(feature = "legacy"));
    /// ```
    pub fn legacy_tokens(mut self, legacy: LegacyConfig) -> Self {
        self.config.legacy = legacy;
        self
    }

    /// Accepts the access tokens of an identity provider beside the instance's own (feature
    /// `oidc`; see [`crate::oidc`] for what happens to them). Call it once per provider.
    /// Without a signing key (`secret`, a key pair), the instance accepts only providers'
    /// tokens and issues none.
    ///
    /// ```
    /// use centurion::{Centurion, IdentityProviderConfig, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .identity_provider(
    ///         IdentityProviderConfig::discover("https://login.example.com/realms/acme", "https://api.example.com")
    ///             .roles_claim("realm_access.roles"),
    ///     )
    ///     .user_store(MemoryUserStore::new())
    ///     .build();
    /// # #[cfg(feature = "oidc")]
    /// assert!(auth.is_ok());
    /// ```
    pub fn identity_provider(mut self, provider: IdentityProviderConfig) -> Self {
        self.config.identity_providers.push(provider);
        self
    }

    /// Makes the user of an identity provider's token on first sight: when
    /// [`CurrentUser`](crate::CurrentUser) meets such a token and
    /// [`UserStore::identify_external`](crate::UserStore::identify_external) knows no user
    /// for it, `hook` gets the token's claims and returns the user (after creating it in
    /// the store, or built from the claims alone), or `None` to refuse it with
    /// [`MissingUserError`](crate::ErrorKind::MissingUserError). It runs under the store
    /// timeout; its users are cached like the others when the user cache is on.
    ///
    /// ```
    /// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .provision_external_users(|claims| async move {
    ///         let roles: Vec<&str> = claims.roles().iter().map(String::as_str).collect();
    ///         Ok(Some(TestUser::new(0, claims.subject(), &roles)))
    ///     })
    ///     .build();
    /// assert!(auth.is_ok());
    /// ```
    pub fn provision_external_users<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Claims) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<U>>> + Send + 'static,
    {
        self.provision = Some(provision(hook));
        self
    }

    /// Replaces the default JSON error response for every error the layer sees. The
    /// protocol headers of the replaced response stay: its `WWW-Authenticate` (401, and
    /// 403 for a missing role or permission) and its `Retry-After` (429) are copied onto
    /// the responder's response unless it sets them itself.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use axum::{Router, body::Body, http::Request, response::IntoResponse, routing::get};
    /// use centurion::{Centurion, Claims, memory::MemoryUserStore, testing::TestUser};
    /// use tower::ServiceExt;
    ///
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .error_responder(|err| (err.status(), format!("denied: {}", err.kind().name())).into_response())
    ///     .build()
    ///     .unwrap();
    /// let app: Router = Router::new()
    ///     .route("/", get(|_: Claims| async { "hi" }))
    ///     .layer(auth.layer());
    /// let response = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(response.status(), 401);
    /// assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    /// # });
    /// ```
    pub fn error_responder(
        mut self,
        responder: impl Fn(&Error) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.hooks.respond(Arc::new(responder));
        self
    }

    /// The clock every time is read from (default: [`SystemClock`](crate::clock::SystemClock)).
    /// Give the same clock to the stores that keep time
    /// ([`MemoryRevocationStore::with_clock`], the SQL revocation store's `with_clock`)
    /// so that they expire entries on the same time; see [`crate::clock`].
    ///
    /// ```
    /// use centurion::{Centurion, clock::SystemClock, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .clock(SystemClock)
    ///     .build();
    /// assert!(auth.is_ok());
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(SharedClock::new(clock));
        self
    }

    /// The role type whose hierarchy and permission grants every verified token is
    /// checked with (default: the role enum of the user type's `#[auth_user(roles)]`
    /// field, see [`AuthUser::role_table`]). Needed when the user type keeps its roles as
    /// strings but the application declares a role enum with `includes` or `grants`:
    /// without a table, roles are flat and no permission is held.
    ///
    /// ```
    /// use centurion::{Centurion, Role, memory::MemoryUserStore, testing::TestUser};
    ///
    /// #[derive(Role)]
    /// enum AppRole { Admin, #[role(includes = "admin")] Owner }
    ///
    /// let auth = Centurion::<TestUser>::builder()   // TestUser keeps roles as strings
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .roles::<AppRole>()
    ///     .build();
    /// assert!(auth.is_ok());
    /// ```
    ///
    /// An instance checks every token with one table: handlers whose names were checked
    /// against a role type with a hierarchy or permissions (through `roles!` or
    /// `role_type`) answer 500 `ConfigurationError` on an instance with another table or
    /// none, rather than refuse everyone for a reason nobody sees. Building fails when the
    /// user type's role enum is another one with a different table.
    pub fn roles<R: Role>(mut self) -> Self {
        self.roles = Some((R::TABLE, std::any::type_name::<R>()));
        self
    }

    /// Checks the configuration and builds the instance.
    ///
    /// In a debug build (this crate compiled with `debug_assertions`), the first call in a
    /// process times one small argon2 hash (about 0.1 ms optimized) and, when argon2 runs
    /// unoptimized, prints one warning on stderr (and through `tracing`): unoptimized it
    /// takes 0.5–1 s per hash unless the application's `Cargo.toml` raises its opt-level
    /// (`[profile.dev.package.argon2] opt-level = 3`, the same for `blake2`; the README's
    /// install section). `CENTURION_NO_DEBUG_WARNING=1` silences it without the probe.
    pub fn build(self) -> Result<Centurion<U>> {
        notice::warn_if_debug_build();
        let roles = match (self.roles, U::role_table()) {
            (Some((named, name)), Some(of_user)) if named != of_user => {
                return Err(Error::config(format!(
                    "`.roles::<{name}>()` names a role type other than the one the user type's `#[auth_user(roles)]` field holds: remove `.roles::<…>()`, or make them the same"
                )));
            }
            (Some((table, _)), _) => Some(table),
            (None, of_user) => of_user,
        };
        let clock = self.clock.unwrap_or_default();
        let users = self.users.ok_or_else(|| {
            Error::config("no user store: call .user_store(…) (MemoryUserStore for development)")
        });
        let revocations = self
            .revocations
            .unwrap_or_else(|| Arc::new(MemoryRevocationStore::new().with_clock_of(&clock)));
        let core = Core::new(&self.config, revocations, self.hooks, clock.clone(), roles)?;
        let cache = || {
            UserCache::new(
                self.config.user_cache_ttl,
                self.config.user_cache_capacity,
                clock.clone(),
            )
            .map(Arc::new)
        };
        Ok(Centurion {
            core: Arc::new(core),
            users: users?,
            username_policy: Arc::new(self.username_policy),
            user_cache: cache(),
            external_cache: cache(),
            provision: self.provision,
        })
    }
}
