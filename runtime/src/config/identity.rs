//! [`IdentityProviderConfig`]: an identity provider whose access tokens an instance accepts
//! beside its own (feature `oidc`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::duration::de_duration;

/// The algorithms a provider's tokens may use when `algorithms` is left empty: every
/// asymmetric one centurion verifies. HMAC (`HS*`) and `none` are never accepted from a
/// provider, whatever the configuration says.
pub const DEFAULT_PROVIDER_ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// The largest leeway a provider may be given: 60 seconds.
pub const MAX_PROVIDER_LEEWAY: Duration = Duration::from_secs(60);

/// An identity provider (an OpenID Provider such as Keycloak, Auth0, Entra ID, Cognito,
/// Okta or Zitadel, or any OAuth 2.0 server that publishes a JWKS) whose JWT access tokens
/// the instance accepts beside its own. Needs the `oidc` feature.
///
/// A token is routed to its provider by its `iss` claim, which must equal [`issuer`]
/// byte for byte, before any key is chosen; a token whose `iss` is neither the instance's
/// own nor a configured provider's is refused. Keys come only from the provider's JWKS,
/// found through OpenID discovery (`{issuer}/.well-known/openid-configuration`, whose
/// `issuer` must equal the configured one) or at an explicit [`jwks_uri`]; never from a
/// token (`jku`, `x5u`, `jwk` and `x5c` are refused).
///
/// Every field but `issuer` and `audiences` has a default; in a configuration file:
///
/// ```
/// let config: centurion::Config = serde_json::from_str(r#"{
///     "secret": "an-example-secret-of-at-least-32-bytes!!",
///     "identity_providers": [{
///         "issuer": "https://login.example.com/realms/acme",
///         "audiences": ["https://api.example.com"],
///         "roles_claim": "realm_access.roles",
///         "leeway": "30s"
///     }]
/// }"#).unwrap();
/// assert_eq!(config.identity_providers[0].token_types, ["at+jwt", "JWT"]);
/// ```
///
/// or in code:
///
/// ```
/// use centurion::IdentityProviderConfig;
/// let provider = IdentityProviderConfig::discover("https://acme.eu.auth0.com/", "https://api.example.com")
///     .roles_claim("https://example.com/roles")
///     .rename_role("Administrators", "admin");
/// assert_eq!(provider.audiences, ["https://api.example.com"]);
/// ```
///
/// [`issuer`]: Self::issuer
/// [`jwks_uri`]: Self::jwks_uri
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityProviderConfig {
    /// The provider's issuer identifier: exactly the `iss` its tokens carry (mind a
    /// trailing `/`: Auth0 writes one, Keycloak does not). `https://`, or `http://` on a
    /// loopback address (`127.0.0.0/8`, `::1`, `localhost`) unless
    /// [`allow_insecure_http`](Self::allow_insecure_http) is set. Required.
    pub issuer: String,
    /// Where the provider's JWKS is. Default: found by OpenID discovery at
    /// `{issuer}/.well-known/openid-configuration`. Same URL rule as `issuer`.
    pub jwks_uri: Option<String>,
    /// The audiences this API answers to: a token's `aud` (a string or a list) must hold
    /// one of them. Required: a provider issues tokens for many APIs.
    pub audiences: Vec<String>,
    /// The algorithms accepted in this provider's tokens. Default:
    /// [`DEFAULT_PROVIDER_ALGORITHMS`] (RS256/384/512, PS256/384/512, ES256, ES384, EdDSA).
    /// `HS*` and `none` are refused here.
    pub algorithms: Vec<String>,
    /// The accepted values of the token header's `typ`, compared case-insensitively;
    /// `at+jwt` also accepts `application/at+jwt` (RFC 9068 §4), and a token without
    /// `typ` is accepted only when `JWT` is listed (Cognito writes none). Default
    /// `["at+jwt", "JWT"]`.
    pub token_types: Vec<String>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`. Default `30s`; at most `60s`.
    #[serde(deserialize_with = "de_duration")]
    pub leeway: Duration,
    /// Claims a token must carry besides `iss`, `sub`, `aud` and `exp` (always required),
    /// e.g. `["jti", "iat"]`. Default none.
    pub required_claims: Vec<String>,
    /// Where the roles are in a token: a claim name or a dotted path into nested objects,
    /// e.g. `roles`, `realm_access.roles`, `resource_access.my-api.roles`, `groups`,
    /// `cognito:groups`, `permissions`. A claim whose whole name is the path (Auth0's
    /// `https://example.com/roles`) is taken before the path is split at dots. The value
    /// is a list of strings (other entries are ignored) or one space-separated string.
    /// Default `roles`.
    pub roles_claim: String,
    /// When set, only roles starting with this prefix count, and the prefix is removed
    /// (`ROLE_`, `api:`); the others are ignored.
    pub role_prefix: Option<String>,
    /// Renames roles after the prefix is removed: provider name → the application's role
    /// name (`"Administrators" → "admin"`). Names not listed are kept as they are.
    pub role_names: BTreeMap<String, String>,
    /// Allows plain `http://` issuer and JWKS URLs on non-loopback hosts. Default `false`:
    /// keys fetched over an unauthenticated connection can be replaced by anyone on the
    /// path.
    pub allow_insecure_http: bool,
    /// PEM certificates trusted as roots for this provider's URLs besides the system's
    /// trust store: a provider behind a private certificate authority.
    pub tls_roots_pem: Option<String>,
    /// How long after the last fetch of a token naming a key id not in the key set
    /// (a rotation, or garbage) another fetch may be made. Default `10s`: a burst of
    /// tokens with random key ids costs one fetch per interval, and a key the provider
    /// adds is usable within this time (plus the fetch) of the previous fetch. At least 1 s.
    #[serde(deserialize_with = "de_duration")]
    pub unknown_kid_cooldown: Duration,
    /// How long keys keep working while the provider cannot be reached, counted from the
    /// last successful fetch. Default `24h`; past it this provider's tokens are refused until
    /// a fetch succeeds.
    #[serde(deserialize_with = "de_duration")]
    pub max_stale: Duration,
}

impl Default for IdentityProviderConfig {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            jwks_uri: None,
            audiences: Vec::new(),
            algorithms: DEFAULT_PROVIDER_ALGORITHMS
                .iter()
                .map(|a| (*a).to_owned())
                .collect(),
            token_types: vec!["at+jwt".to_owned(), "JWT".to_owned()],
            leeway: Duration::from_secs(30),
            required_claims: Vec::new(),
            roles_claim: "roles".to_owned(),
            role_prefix: None,
            role_names: BTreeMap::new(),
            allow_insecure_http: false,
            tls_roots_pem: None,
            unknown_kid_cooldown: Duration::from_secs(10),
            max_stale: Duration::from_secs(24 * 3600),
        }
    }
}

impl IdentityProviderConfig {
    /// A provider found by OpenID discovery at `{issuer}/.well-known/openid-configuration`,
    /// whose tokens must name `audience`; every other setting at its default.
    pub fn discover(issuer: &str, audience: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            audiences: vec![audience.to_owned()],
            ..Self::default()
        }
    }

    /// Skips discovery: the JWKS is at `jwks_uri`.
    ///
    /// ```
    /// use centurion::IdentityProviderConfig;
    /// let cognito = IdentityProviderConfig::discover(
    ///     "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example", "my-client-id")
    ///     .jwks_uri("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example/.well-known/jwks.json")
    ///     .roles_claim("cognito:groups");
    /// assert!(cognito.jwks_uri.is_some());
    /// ```
    pub fn jwks_uri(mut self, uri: &str) -> Self {
        self.jwks_uri = Some(uri.to_owned());
        self
    }

    /// Adds an accepted audience.
    pub fn audience(mut self, audience: &str) -> Self {
        self.audiences.push(audience.to_owned());
        self
    }

    /// Where the roles are (see [`roles_claim`](Self::roles_claim)).
    pub fn roles_claim(mut self, path: &str) -> Self {
        path.clone_into(&mut self.roles_claim);
        self
    }

    /// Only roles with this prefix count, without it.
    pub fn role_prefix(mut self, prefix: &str) -> Self {
        self.role_prefix = Some(prefix.to_owned());
        self
    }

    /// Renames the provider's role `from` to the application's role `to`.
    pub fn rename_role(mut self, from: &str, to: &str) -> Self {
        self.role_names.insert(from.to_owned(), to.to_owned());
        self
    }

    /// The accepted algorithms (see [`algorithms`](Self::algorithms)).
    pub fn algorithms(mut self, names: &[&str]) -> Self {
        self.algorithms = names.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    /// The accepted header `typ` values (see [`token_types`](Self::token_types)).
    pub fn token_types(mut self, types: &[&str]) -> Self {
        self.token_types = types.iter().map(|t| (*t).to_owned()).collect();
        self
    }

    /// Trusts these PEM root certificates for this provider's URLs, besides the system's.
    pub fn tls_roots_pem(mut self, pem: &str) -> Self {
        self.tls_roots_pem = Some(pem.to_owned());
        self
    }

    /// Tolerated clock skew (at most 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Claims every token must carry besides `iss`, `sub`, `aud` and `exp`.
    pub fn require_claims(mut self, names: &[&str]) -> Self {
        self.required_claims = names.iter().map(|n| (*n).to_owned()).collect();
        self
    }
}
