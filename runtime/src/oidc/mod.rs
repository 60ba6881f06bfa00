//! Access tokens of identity providers (feature `oidc`): the providers an instance trusts,
//! their keys, and the verification of their tokens.
//!
//! Configure a provider with an [`IdentityProviderConfig`] (its issuer, the audiences this
//! API answers to, where the roles are) through
//! [`CenturionBuilder::identity_provider`](crate::CenturionBuilder::identity_provider) or
//! `Config::identity_providers`. Its tokens then pass `#[secured]`, [`Claims`] and
//! [`CurrentUser`](crate::CurrentUser) like the instance's own:
//!
//! ```no_run
//! # async fn demo() -> Result<(), centurion::Error> {
//! use centurion::{Centurion, IdentityProviderConfig, memory::MemoryUserStore, testing::TestUser};
//! let auth = Centurion::<TestUser>::builder()
//!     // No signing key: this API accepts the provider's tokens and issues none.
//!     .identity_provider(
//!         IdentityProviderConfig::discover("https://login.example.com/realms/acme", "https://api.example.com")
//!             .roles_claim("realm_access.roles"),
//!     )
//!     .user_store(MemoryUserStore::new())
//!     .build()?;
//! let claims = auth.verify_access("eyJ…").await?;
//! assert_eq!(claims.external_issuer(), Some("https://login.example.com/realms/acme"));
//! # Ok(()) }
//! ```
//!
//! # Which tokens go where
//!
//! A token is routed by its `iss` claim before any key is chosen: the instance's own issuer
//! (or, when the instance writes no `iss`, a token without one) goes to the instance's
//! keys; a configured provider's issuer, compared byte for byte, to that provider's keys;
//! anything else is refused without any network activity. A provider's token is never
//! verified with the instance's keys, nor the instance's with a provider's. The strict
//! decoding of the instance's own tokens applies to providers' tokens too (size limit,
//! canonical base64url, no duplicate names, `crit`, `jwk`, `jku`, `x5u`, `x5c`, `cty`
//! refused); then the provider's rules: `typ`, algorithm (asymmetric only), `iss`, `aud`,
//! `sub`, `exp`, `nbf`, `iat` with the provider's leeway (at most 60 s), the required
//! claims. Keys come only from the configured or discovered JWKS URL.
//!
//! # Keys that do not cause outages
//!
//! Each provider has one task that fetches its keys, so fetches never pile up, and no lock
//! is held while one runs. With the defaults:
//!
//! | when | what |
//! | --- | --- |
//! | the instance is built (inside a Tokio runtime; else at the first token) | the first fetch starts; building never fails because a provider is down |
//! | no keys yet | fetches are retried after 0.5, 1, 2, 4 s, then every 5 s: keys arrive within about 10 s of the provider coming up. A token arriving while a fetch runs, or when a retry is due, waits for it (at most 5.5 s); otherwise it is refused (401) at once |
//! | keys held | refreshed after the answer's `max-age` (minus `Age`), kept within 1 min – 1 h; 5 min when it says nothing; ± 10 % |
//! | a token names an unknown key | if no fetch began in the last 10 s (`unknown_kid_cooldown`), one begins and the token waits for it (tokens arriving meanwhile share it); otherwise it is refused at once and a fetch begins when the 10 s are up. A burst of tokens with random key ids costs one fetch per 10 s, plus one at the end; a key the provider adds is usable within 10 s of the previous fetch |
//! | the provider is unreachable | the keys fetched before keep working for 24 h (`max_stale`) after the last success, retried after 5, 10, 20, 40 s, then every minute; past that, its tokens are refused |
//! | a fetch succeeds | the whole set is replaced: a key the provider removed stops verifying at once, remembered verifications included |
//!
//! A fetch connects within 2 s, ends within 5 s (discovery included), reads at most
//! 512 KiB, follows at most 3 redirects, each of which must follow the URL rule (`https`,
//! or `http` on loopback only unless `allow_insecure_http`), and uses no proxy for
//! loopback hosts. The discovery document is read again every hour and after the JWKS URL
//! answers 404 or 410; its `issuer` must equal the configured one byte for byte.
//!
//! # What a provider's token is
//!
//! Its [`Claims`] say which provider ([`Claims::external_issuer`]), carry the roles found at
//! the configured path (renamed, prefix removed), the scopes ([`Claims::scopes`]) and the
//! whole payload ([`Claims::raw_claims`]). It is never fresh (`#[secured(fresh)]` refuses
//! it: its provider, not this instance, saw the login), never refreshed, never a
//! registration or reset token. Revocation applies: by its `jti` (or, without one, by a
//! hash of its header and payload), and for its user by (issuer, subject), recorded under
//! `{issuer}#{jti}` and `{issuer}#{sub}`, so provider ids never meet the instance's. The
//! cache of verified tokens covers it, and a remembered verification is reused only while
//! the key that verified it is still in the provider's current key set.
//! [`CurrentUser`](crate::CurrentUser) loads its user with
//! [`UserStore::identify_external`](crate::UserStore::identify_external), then, when the
//! store knows none, with the hook given to
//! [`CenturionBuilder::provision_external_users`](crate::CenturionBuilder::provision_external_users).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::clock::SharedClock;
use crate::config::IdentityProviderConfig;
use crate::error::{Error, Result};
use crate::jwt::{Checked, Claims, Compact, ProviderOrigin, ProviderRules};

mod fetch;
mod jwks;
mod keyset;

use self::keyset::RemoteKeys;

/// How one identity provider's keys are doing, from
/// [`Centurion::identity_providers`](crate::Centurion::identity_providers).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderStatus {
    /// The provider's issuer.
    pub issuer: String,
    /// How many usable keys its current key set holds.
    pub keys: usize,
    /// Whether its tokens can be verified now: keys were fetched, less than `max_stale` ago.
    pub usable: bool,
    /// Key-set fetches made so far (discovery included in each), successful or not.
    pub fetches: u64,
    /// How many of them failed.
    pub failures: u64,
    /// When the current keys were fetched.
    pub last_success: Option<SystemTime>,
}

/// One configured provider: its rules and its keys.
struct Provider {
    rules: ProviderRules,
    keys: RemoteKeys,
}

/// The identity providers of an instance.
pub(crate) struct Providers {
    list: Vec<Provider>,
}

impl Providers {
    /// Checks `configs` and prepares their key sets; `None` when there are none. Nothing
    /// is fetched yet (see [`start`](Self::start)). `own_issuer` is the instance's `iss`,
    /// which no provider may share; `max_lifetime` (seconds) is the longest a provider's
    /// token may live from `iat` to `exp` (how long a revocation is remembered).
    pub(crate) fn from_configs(
        configs: &[IdentityProviderConfig],
        own_issuer: Option<&str>,
        max_lifetime: u64,
        clock: &SharedClock,
    ) -> Result<Option<Self>> {
        if configs.is_empty() {
            return Ok(None);
        }
        let mut list: Vec<Provider> = Vec::with_capacity(configs.len());
        for config in configs {
            let rules = ProviderRules::from_config(config)?.with_max_lifetime(max_lifetime);
            if own_issuer == Some(rules.issuer()) {
                return Err(Error::config(format!(
                    "identity provider `{}` has this instance's own issuer; give the instance another `issuer`",
                    rules.issuer()
                )));
            }
            if list.iter().any(|p| p.rules.issuer() == rules.issuer()) {
                return Err(Error::config(format!(
                    "identity provider `{}` is configured twice",
                    rules.issuer()
                )));
            }
            let keys = RemoteKeys::new(config, rules.algorithms(), clock.clone())?;
            list.push(Provider { rules, keys });
        }
        Ok(Some(Self { list }))
    }

    /// Starts fetching every provider's keys, when called inside a Tokio runtime.
    pub(crate) fn start(&self) {
        for provider in &self.list {
            provider.keys.start();
        }
    }

    /// The position of the provider whose issuer is exactly `issuer`.
    pub(crate) fn position(&self, issuer: &str) -> Option<usize> {
        self.list.iter().position(|p| p.rules.issuer() == issuer)
    }

    /// The leeway (seconds) of the provider whose issuer is exactly `issuer`.
    pub(crate) fn leeway_of(&self, issuer: &str) -> Option<u64> {
        self.list
            .iter()
            .find(|p| p.rules.issuer() == issuer)
            .map(|p| p.rules.leeway())
    }

    /// Verifies `token`, routed to the provider at `position`, against `now` (seconds):
    /// its rules first, then its key (which may wait for a fetch), then its signature.
    pub(crate) async fn verify(
        &self,
        position: usize,
        token: &Compact<'_>,
        now: u64,
    ) -> Result<Claims> {
        let provider = &self.list[position];
        let checked: Checked = provider.rules.check(token, now)?;
        let key = provider.keys.key_for(token.kid(), token.alg()).await?;
        token.signature_verifies(key.decoding_key())?;
        Ok(checked.into_claims(position, std::sync::Arc::clone(key.thumbprint())))
    }

    /// Whether a remembered verification of a provider's token may still be used: the key
    /// that verified it is in its provider's current, usable key set.
    pub(crate) fn still_holds(&self, origin: &ProviderOrigin) -> bool {
        self.list
            .get(origin.provider())
            .is_some_and(|p| p.keys.holds(origin.key()))
    }

    /// How each provider's keys are doing.
    pub(crate) fn status(&self) -> Vec<ProviderStatus> {
        self.list
            .iter()
            .map(|p| {
                let c = p.keys.counters();
                ProviderStatus {
                    issuer: p.rules.issuer().to_owned(),
                    keys: c.keys,
                    usable: c.usable,
                    fetches: c.fetches,
                    failures: c.failures,
                    last_success: c
                        .last_success_ms
                        .map(|ms| UNIX_EPOCH + Duration::from_millis(ms)),
                }
            })
            .collect()
    }
}
