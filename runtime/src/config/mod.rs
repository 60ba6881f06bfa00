//! Configuration: a serde-deserializable [`Config`] and the checks that turn it into
//! working settings.
//!
//! Applications load `Config` from TOML, environment variables or anything serde reads,
//! then hand it to [`CenturionBuilder::config`](crate::CenturionBuilder::config), or set
//! the same fields through the builder's methods. Durations are written as `15m`, `30d`,
//! `1h30m`, `2s` (humantime syntax).
//!
//! ```
//! let config: centurion::Config = serde_json::from_str(r#"{
//!     "secret": "an-example-secret-of-at-least-32-bytes!!",
//!     "access_lifespan": "10m",
//!     "refresh_lifespan": "7d",
//!     "issuer": "https://auth.example.com"
//! }"#).unwrap();
//! assert_eq!(config.access_lifespan.as_secs(), 600);
//! ```
//!
//! Every mistake is reported when the configuration is built, with a message that says
//! what to fix: a secret under 32 bytes (48 for HS384, 64 for HS512), an unknown
//! algorithm name, a PEM key where an HMAC secret belongs, a key pair whose halves do not
//! match, an access lifespan longer than the refresh lifespan.

use std::time::Duration;

use serde::Deserialize;

mod cookies;
mod duration;
mod identity;
mod legacy;
mod password;
mod secret;

pub use self::cookies::{CookieConfig, SameSite, TokenLocation};
pub use self::duration::parse_duration;
pub use self::identity::{
    DEFAULT_PROVIDER_ALGORITHMS, IdentityProviderConfig, MAX_PROVIDER_LEEWAY,
};
pub use self::legacy::LegacyConfig;
pub use self::password::PasswordConfig;
pub use self::secret::Secret;

use self::duration::{de_duration, de_opt_duration};
use crate::error::Error;
use crate::session::SessionLimits;

/// One verification key, kept for rotation: tokens whose header names its `kid` are
/// verified with it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct VerificationKeyConfig {
    /// The key id that tokens name in their `kid` header.
    pub kid: String,
    /// The algorithm this key verifies (`HS256`, `RS256`, `ES256`, `EdDSA`, …).
    pub algorithm: String,
    /// HMAC secret, for HS256/384/512.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// PEM public key, for the asymmetric algorithms.
    #[serde(default)]
    pub public_key_pem: Option<String>,
}

/// Everything centurion can be configured with, deserializable with serde.
///
/// Fields left out take the defaults shown on each. Use a `secret` (HMAC) or a
/// `private_key_pem` + `public_key_pem` pair (RS256, ES256, EdDSA) to sign.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Signing algorithm. Default `HS256`.
    pub algorithm: String,
    /// HMAC signing secret (HS256: ≥ 32 bytes, HS384: ≥ 48, HS512: ≥ 64).
    pub secret: Option<Secret>,
    /// PEM private key for asymmetric signing.
    pub private_key_pem: Option<Secret>,
    /// PEM public key matching `private_key_pem`.
    pub public_key_pem: Option<String>,
    /// `kid` header of tokens signed with the signing key. Required when
    /// `verification_keys` are configured.
    pub kid: Option<String>,
    /// Further keys that verify (never sign): the previous keys during a rotation.
    pub verification_keys: Vec<VerificationKeyConfig>,
    /// Algorithms accepted in received tokens. Default: those of the configured keys.
    pub algorithms: Vec<String>,
    /// Lifetime of access tokens. Default `15m`.
    #[serde(deserialize_with = "de_duration")]
    pub access_lifespan: Duration,
    /// Lifetime of a refresh family, fixed at login and never extended. Default `30d`.
    #[serde(deserialize_with = "de_duration")]
    pub refresh_lifespan: Duration,
    /// Lifetime of registration-confirmation tokens. Default `15m`.
    #[serde(deserialize_with = "de_duration")]
    pub registration_lifespan: Duration,
    /// Lifetime of password-reset tokens. Default `15m`.
    #[serde(deserialize_with = "de_duration")]
    pub reset_lifespan: Duration,
    /// How long an unconfirmed registration holds its username and e-mail address. Past
    /// it, the registration can no longer be confirmed, a new registration may take the
    /// name and address over, and [`Centurion::purge_unconfirmed_registrations`] deletes it.
    /// Default `24h`.
    ///
    /// [`Centurion::purge_unconfirmed_registrations`]: crate::Centurion::purge_unconfirmed_registrations
    #[serde(deserialize_with = "de_duration")]
    pub unconfirmed_lifespan: Duration,
    /// Default lifetime of service tokens. Default `365d`.
    #[serde(deserialize_with = "de_duration")]
    pub service_lifespan: Duration,
    /// How long after a refresh the refresh token it spent may be presented again and get
    /// the same new pair back instead of ending the session as a reuse (two tabs, or a
    /// client that lost the answer). Default `5s`; `0s` turns the window off (every second
    /// use is a reuse, RFC 9700's strict rotation). Inside the window, a client that sends
    /// another `User-Agent` than the one that refreshed is still treated as a reuse.
    #[serde(deserialize_with = "de_duration")]
    pub refresh_grace: Duration,
    /// A session not refreshed for this long ends, beside the absolute end that
    /// `refresh_lifespan` sets at login. Default: none.
    #[serde(deserialize_with = "de_opt_duration")]
    pub session_idle_timeout: Option<Duration>,
    /// Live sessions (logins) one user may have; a login beyond it ends the user's oldest
    /// session. Default 64.
    pub max_sessions_per_user: usize,
    /// Live sessions the revocation store may hold in all; a login beyond it is refused
    /// with 503 `Overloaded` (the store fails closed rather than grow without bound).
    /// Default 1 000 000.
    pub max_sessions: u64,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`. Default `0s`: issuer and verifier share
    /// a clock. Raise it (a few seconds) for fleets whose clocks drift.
    #[serde(deserialize_with = "de_duration")]
    pub leeway: Duration,
    /// `iss` written into tokens and required in received ones.
    pub issuer: Option<String>,
    /// `aud` written into tokens and required in received ones.
    pub audience: Option<String>,
    /// Largest token accepted, in bytes; larger ones are refused before parsing. Default 8192.
    pub max_token_bytes: usize,
    /// Memory, in bytes, for remembering access and service tokens that passed
    /// verification, so a token sent again skips its signature and JSON. Expiry, the
    /// validators and the revocation check still run on every request. Default 4 MiB
    /// (about 4000 tokens); `0` verifies every token in full every time.
    pub verified_cache_bytes: usize,
    /// How long a user loaded by `CurrentUser` is kept and reused. Default `0s`: off, every
    /// request reads the user store. Changes made through centurion take effect at once on
    /// this instance; changes made elsewhere (another instance, a database tool) are seen
    /// within this time, or at once after `Centurion::forget_user`. Revocations are never
    /// cached.
    #[serde(deserialize_with = "de_duration")]
    pub user_cache_ttl: Duration,
    /// How many users the user cache holds at most. Default 10000.
    pub user_cache_capacity: usize,
    /// Argon2id parameters and password rules.
    pub password: PasswordConfig,
    /// Optional `Duration` after which a per-request user-store call times out.
    #[serde(deserialize_with = "de_opt_duration")]
    pub store_timeout: Option<Duration>,
    /// Where request tokens are looked for, in order: `header`, `cookies`, `query`. The
    /// first location that carries a token wins (see [`crate::transport`]). Default
    /// `["header"]`.
    pub token_locations: Vec<TokenLocation>,
    /// The query parameter read when `query` is a token location (WebSocket upgrades
    /// only). Default `access_token` (RFC 6750 §2.3).
    pub query_parameter: String,
    /// How the session cookies are made, and CSRF protection; used when `cookies` is a
    /// token location.
    pub cookies: CookieConfig,
    /// Identity providers whose access tokens are accepted beside the instance's own
    /// (feature `oidc`). With providers and no signing key (`secret`, `private_key_pem`),
    /// the instance accepts only their tokens and issues none.
    pub identity_providers: Vec<IdentityProviderConfig>,
    /// Flask services whose tokens are accepted during a migration (feature `legacy`).
    /// Default: none.
    pub legacy: LegacyConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            algorithm: "HS256".to_owned(),
            secret: None,
            private_key_pem: None,
            public_key_pem: None,
            kid: None,
            verification_keys: Vec::new(),
            algorithms: Vec::new(),
            access_lifespan: Duration::from_secs(15 * 60),
            refresh_lifespan: Duration::from_secs(30 * 24 * 3600),
            registration_lifespan: Duration::from_secs(15 * 60),
            reset_lifespan: Duration::from_secs(15 * 60),
            unconfirmed_lifespan: Duration::from_secs(24 * 3600),
            service_lifespan: Duration::from_secs(365 * 24 * 3600),
            refresh_grace: Duration::from_secs(5),
            session_idle_timeout: None,
            max_sessions_per_user: 64,
            max_sessions: 1_000_000,
            leeway: Duration::ZERO,
            issuer: None,
            audience: None,
            max_token_bytes: 8192,
            verified_cache_bytes: 4 * 1024 * 1024,
            user_cache_ttl: Duration::ZERO,
            user_cache_capacity: 10_000,
            password: PasswordConfig::default(),
            store_timeout: Some(Duration::from_secs(5)),
            token_locations: vec![TokenLocation::Header],
            query_parameter: "access_token".to_owned(),
            cookies: CookieConfig::default(),
            identity_providers: Vec::new(),
            legacy: LegacyConfig::default(),
        }
    }
}

/// Lifespans and checks derived from a validated [`Config`], in the units tokens use.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    access_lifespan: u64,
    refresh_lifespan: u64,
    registration_lifespan: u64,
    reset_lifespan: u64,
    unconfirmed_lifespan_ms: u64,
    service_lifespan: u64,
    refresh_grace_ms: u64,
    session_idle_timeout: Option<u64>,
    session_limits: SessionLimits,
    leeway: u64,
    issuer: Option<String>,
    audience: Option<String>,
    max_token_bytes: usize,
    store_timeout: Option<Duration>,
    /// `Some` when a legacy token source is on.
    #[cfg_attr(not(feature = "legacy"), allow(dead_code))]
    legacy: Option<LegacyConfig>,
}

impl Settings {
    /// Lifetime of access tokens, in seconds.
    pub(crate) fn access_lifespan(&self) -> u64 {
        self.access_lifespan
    }

    /// Lifetime of a refresh family, in seconds.
    pub(crate) fn refresh_lifespan(&self) -> u64 {
        self.refresh_lifespan
    }

    /// Lifetime of registration tokens, in seconds.
    pub(crate) fn registration_lifespan(&self) -> u64 {
        self.registration_lifespan
    }

    /// Lifetime of reset tokens, in seconds.
    pub(crate) fn reset_lifespan(&self) -> u64 {
        self.reset_lifespan
    }

    /// How long an unconfirmed registration holds its name and address, in milliseconds.
    pub(crate) fn unconfirmed_lifespan_ms(&self) -> u64 {
        self.unconfirmed_lifespan_ms
    }

    /// Default lifetime of service tokens, in seconds.
    pub(crate) fn service_lifespan(&self) -> u64 {
        self.service_lifespan
    }

    /// The refresh grace window, in milliseconds (0: none).
    pub(crate) fn refresh_grace_ms(&self) -> u64 {
        self.refresh_grace_ms
    }

    /// The idle timeout of sessions, in seconds.
    pub(crate) fn session_idle_timeout(&self) -> Option<u64> {
        self.session_idle_timeout
    }

    /// The bounds on live sessions.
    pub(crate) fn session_limits(&self) -> &SessionLimits {
        &self.session_limits
    }

    /// Tolerated clock skew, in seconds.
    pub(crate) fn leeway(&self) -> u64 {
        self.leeway
    }

    /// The `iss` to write and require.
    pub(crate) fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The `aud` to write and require.
    pub(crate) fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// The largest token accepted, in bytes.
    pub(crate) fn max_token_bytes(&self) -> usize {
        self.max_token_bytes
    }

    /// How long one store call may take.
    pub(crate) fn store_timeout(&self) -> Option<Duration> {
        self.store_timeout
    }

    /// The legacy (Flask) token sources, when any is on.
    #[cfg_attr(not(feature = "legacy"), allow(dead_code))]
    pub(crate) fn legacy(&self) -> Option<&LegacyConfig> {
        self.legacy.as_ref()
    }

    /// The longest any token this instance issues can live: how long a per-user revocation
    /// must be remembered. Service tokens cannot be issued for longer than
    /// `service_lifespan`, so it is known.
    pub(crate) fn longest_lifespan(&self) -> u64 {
        self.refresh_lifespan
            .max(self.service_lifespan)
            .max(self.access_lifespan)
            .max(self.registration_lifespan)
            .max(self.reset_lifespan)
    }
}

fn whole_seconds(name: &str, value: Duration) -> Result<u64, Error> {
    if value.is_zero() {
        return Err(Error::config(format!(
            "{name} must be longer than zero, e.g. `15m`"
        )));
    }
    // Token times are whole seconds; round sub-second lifespans up to one second.
    Ok(value.as_secs() + u64::from(value.subsec_nanos() > 0))
}

impl Config {
    pub(crate) fn settings(&self) -> Result<Settings, Error> {
        let access = whole_seconds("access_lifespan", self.access_lifespan)?;
        let refresh = whole_seconds("refresh_lifespan", self.refresh_lifespan)?;
        if access > refresh {
            return Err(Error::config(format!(
                "access_lifespan ({}) is longer than refresh_lifespan ({}); make the access \
                 lifespan shorter than the refresh lifespan",
                humantime::format_duration(self.access_lifespan),
                humantime::format_duration(self.refresh_lifespan)
            )));
        }
        if self.max_token_bytes < 256 {
            return Err(Error::config(
                "max_token_bytes is below 256, smaller than any token centurion issues",
            ));
        }
        let p = &self.password;
        if p.min_length == 0 || p.min_length > p.max_length {
            return Err(Error::config(
                "password.min_length must be at least 1 and at most password.max_length",
            ));
        }
        if p.pool_size == Some(0) {
            return Err(Error::config("password.pool_size must be at least 1"));
        }
        if self.max_sessions_per_user == 0 || self.max_sessions == 0 {
            return Err(Error::config(
                "max_sessions_per_user and max_sessions must be at least 1",
            ));
        }
        let session_idle_timeout = match self.session_idle_timeout {
            Some(idle) => Some(whole_seconds("session_idle_timeout", idle)?),
            None => None,
        };
        for (name, value) in [("issuer", &self.issuer), ("audience", &self.audience)] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(Error::config(format!(
                    "{name} is empty; remove it or set a value"
                )));
            }
        }
        let legacy = self.legacy.enabled().then(|| self.legacy.clone());
        if let Some(legacy) = &legacy {
            if cfg!(not(feature = "legacy")) {
                return Err(Error::config(
                    "`legacy` token sources need centurion's `legacy` feature",
                ));
            }
            if self.algorithm != "HS256" || self.secret.is_none() {
                return Err(Error::config(
                    "`legacy` tokens are HS256 with the Flask services' secret: set `algorithm` \
                     to HS256 and `secret` to their SECRET_KEY / JWT_SECRET_KEY",
                ));
            }
            if legacy.praetorian && self.audience.is_some() {
                return Err(Error::config(
                    "`legacy.praetorian` cannot be combined with `audience`: flask-praetorian \
                     refuses every token that carries `aud`",
                ));
            }
            let claim = legacy.roles_claim.trim();
            const TAKEN: &[&str] = &[
                "sub", "iat", "iat_ms", "nbf", "exp", "jti", "type", "fresh", "fam", "iss", "aud",
                "id", "rls", "rf_exp", "csrf",
            ];
            if claim.is_empty() || TAKEN.contains(&claim) {
                return Err(Error::config(
                    "`legacy.roles_claim` must name a claim other than centurion's own \
                     (e.g. `roles`)",
                ));
            }
        }
        Ok(Settings {
            legacy,
            access_lifespan: access,
            refresh_lifespan: refresh,
            registration_lifespan: whole_seconds(
                "registration_lifespan",
                self.registration_lifespan,
            )?,
            reset_lifespan: whole_seconds("reset_lifespan", self.reset_lifespan)?,
            unconfirmed_lifespan_ms: whole_seconds(
                "unconfirmed_lifespan",
                self.unconfirmed_lifespan,
            )?
            .saturating_mul(1000),
            service_lifespan: whole_seconds("service_lifespan", self.service_lifespan)?,
            refresh_grace_ms: u64::try_from(self.refresh_grace.as_millis()).unwrap_or(u64::MAX),
            session_idle_timeout,
            session_limits: SessionLimits {
                per_user: self.max_sessions_per_user,
                global: self.max_sessions,
            },
            leeway: self.leeway.as_secs(),
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            max_token_bytes: self.max_token_bytes,
            store_timeout: self.store_timeout,
        })
    }
}
