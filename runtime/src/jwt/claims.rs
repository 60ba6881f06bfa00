//! What a token says: [`Claims`] (the public view), [`ClaimsData`] (the payload as signed),
//! [`TokenKind`], and the strict decoding of a payload (duplicates refused, required claims
//! of the right types).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};
use crate::roles::{Access, Permission, RoleName, RoleTable};

/// Claim names centurion writes itself; custom claims may not use them.
pub const RESERVED_CLAIMS: &[&str] = &[
    "sub", "iat", "iat_ms", "nbf", "exp", "jti", "type", "fresh", "roles", "fam", "gen", "iss",
    "aud",
];

/// The kind of a token. Each kind is accepted only where it belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// A short-lived token that authenticates requests.
    Access,
    /// A single-use token that buys a new access + refresh pair.
    Refresh,
    /// A long-lived, revocable token for machine clients; accepted wherever an access
    /// token is, never fresh, never refreshable (praetorian's "eternal" tokens).
    Service,
    /// A single-use token that confirms a registration.
    Registration,
    /// A single-use token that resets a password.
    Reset,
}

impl TokenKind {
    /// The value of the `type` claim.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
            TokenKind::Service => "service",
            TokenKind::Registration => "registration",
            TokenKind::Reset => "reset",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "access" => TokenKind::Access,
            "refresh" => TokenKind::Refresh,
            "service" => TokenKind::Service,
            "registration" => TokenKind::Registration,
            "reset" => TokenKind::Reset,
            _ => return None,
        })
    }

    /// Whether a token of this kind authenticates ordinary requests.
    pub(super) fn authenticates(self) -> bool {
        matches!(self, TokenKind::Access | TokenKind::Service)
    }
}

/// The claims of a verified token.
///
/// It is also an axum extractor (see [`crate::http`]): a handler that takes `Claims`
/// requires a valid access token. Cloning is cheap (a reference count or two).
///
/// A token of a configured identity provider (see
/// [`IdentityProviderConfig`](crate::IdentityProviderConfig)) gives the same `Claims`:
/// [`external_issuer`](Self::external_issuer) names its provider, [`roles`](Self::roles)
/// are those its provider's role mapping found, [`scopes`](Self::scopes) come from its
/// `scope` or `scp` claim, and [`raw_claims`](Self::raw_claims) is its whole payload. Such a
/// token is never fresh, never refreshes anything, and its [`kind`](Self::kind) is
/// [`TokenKind::Access`].
///
/// ```
/// # async fn demo() -> Result<(), centurion::Error> {
/// # use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
/// let auth = Centurion::<TestUser>::builder()
///     .secret("an-example-secret-of-at-least-32-bytes!!")
///     .user_store(MemoryUserStore::new())
///     .build()?;
/// let user = TestUser::new(7, "ada", &["admin"]);
/// let pair = auth.issue_pair(&user).await?;
/// let claims = auth.verify_access(&pair.access_token).await?;
/// assert_eq!(claims.subject(), "7");
/// assert!(claims.has_role("admin"));
/// assert!(claims.is_fresh());
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
///
/// # Roles and permissions
///
/// [`roles`](Claims::roles) are the names the token carries. When the instance has a role
/// table (the user type's role enum, or [`CenturionBuilder::roles`](crate::CenturionBuilder::roles)),
/// the token also holds every role those include and every permission they grant,
/// resolved once when the token was verified: [`has_role`](Claims::has_role),
/// [`effective_roles`](Claims::effective_roles), [`has_permission`](Claims::has_permission)
/// and [`permissions`](Claims::permissions) answer from them. A token of an identity
/// provider also holds a declared permission when one of its scopes has that name.
#[derive(Clone)]
pub struct Claims {
    inner: Arc<ClaimsData>,
    /// The roles and permissions held, resolved with the instance's role table.
    access: Arc<Access>,
    /// Set for tokens of an identity provider: which one, and with which key.
    origin: Option<Arc<ProviderOrigin>>,
}

/// Where a token of an identity provider came from: kept with its claims, so that a
/// remembered verification can be checked against the provider's current keys.
#[cfg_attr(not(feature = "oidc"), allow(dead_code))]
pub(crate) struct ProviderOrigin {
    /// The provider's position among the configured ones.
    pub(super) provider: usize,
    /// The RFC 7638 thumbprint of the key that verified the token.
    pub(super) key: Arc<str>,
    /// The provider's leeway, in seconds.
    pub(super) leeway: u64,
    /// The token's scopes (`scope`, `scp`).
    pub(super) scopes: Vec<String>,
    /// `{issuer}#{jti}` and `{issuer}#{sub}`: its revocation keys, made once.
    pub(super) jti_key: String,
    pub(super) subject_key: String,
}

#[derive(Clone, Serialize)]
pub(super) struct ClaimsData {
    pub(super) sub: String,
    pub(super) iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) iat_ms: Option<u64>,
    pub(super) nbf: u64,
    pub(super) exp: u64,
    pub(super) jti: String,
    #[serde(rename = "type", serialize_with = "ser_kind")]
    pub(super) kind: TokenKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) fresh: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) roles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) fam: Option<String>,
    #[serde(rename = "gen", skip_serializing_if = "Option::is_none")]
    pub(super) generation: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) aud: Option<Audience>,
    #[serde(flatten)]
    pub(super) custom: Map<String, Value>,
}

fn ser_kind<S: serde::Serializer>(kind: &TokenKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.as_str())
}

/// `aud` may be one string or a list of strings (RFC 7519 §4.1.3).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub(super) enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub(super) fn contains(&self, aud: &str) -> bool {
        match self {
            Audience::One(a) => a == aud,
            Audience::Many(list) => list.iter().any(|a| a == aud),
        }
    }
}

impl Claims {
    pub(super) fn from_data(data: ClaimsData) -> Self {
        Self {
            inner: Arc::new(data),
            access: Arc::default(),
            origin: None,
        }
    }

    /// The claims of a token of an identity provider.
    #[cfg(feature = "oidc")]
    pub(super) fn from_provider(data: ClaimsData, origin: ProviderOrigin) -> Self {
        Self {
            inner: Arc::new(data),
            access: Arc::default(),
            origin: Some(Arc::new(origin)),
        }
    }

    /// Resolves the roles and permissions the token holds under `table`, from the roles it
    /// carries and `scopes`, the scopes it carries (a provider's tokens; this instance's
    /// own tokens carry none). Done once, when the token is verified.
    pub(crate) fn with_access(
        mut self,
        table: Option<&'static RoleTable>,
        scopes: &[String],
    ) -> Self {
        self.access = Arc::new(Access::resolve(table, self.roles(), scopes));
        self
    }

    /// The role table the token's roles and permissions were resolved with.
    pub(crate) fn role_table(&self) -> Option<&'static RoleTable> {
        self.access.table()
    }

    /// About how many heap bytes the resolved roles and permissions take.
    pub(super) fn access_bytes(&self) -> u64 {
        self.access.heap_bytes()
    }

    pub(super) fn data(&self) -> &ClaimsData {
        &self.inner
    }

    /// The `sub` claim: the user's [`AuthUser::id`](crate::AuthUser::id).
    pub fn subject(&self) -> &str {
        &self.inner.sub
    }

    /// The role names the token carries (empty for non-access kinds), without the roles
    /// they include: see [`effective_roles`](Claims::effective_roles).
    pub fn roles(&self) -> &[String] {
        self.inner.roles.as_deref().unwrap_or(&[])
    }

    /// Whether the token holds `role`: carries it, or carries a role that includes it.
    ///
    /// `role` is a value of the role enum (`AppRole::Admin`: a misspelt role does not
    /// compile) or, for names that come from data, a `&str`.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, Role, memory::MemoryUserStore, testing::TestUser};
    ///
    /// #[derive(Role)]
    /// enum AppRole { Admin, Editor, #[role(includes = "admin, editor")] Owner }
    ///
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .roles::<AppRole>()
    ///     .build()?;
    /// let pair = auth.issue_pair(&TestUser::new(1, "ada", &["owner"])).await?;
    /// let claims = auth.verify_access(&pair.access_token).await?;
    /// assert_eq!(claims.roles(), ["owner"]);
    /// assert!(claims.has_role(AppRole::Admin));
    /// assert_eq!(claims.effective_roles(), ["owner", "admin", "editor"]);
    /// assert!(claims.require_role(AppRole::Editor).is_ok());
    /// assert!(claims.has_role("editor")); // a name read from data
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn has_role(&self, role: impl RoleName) -> bool {
        self.access.holds_role(self.roles(), role.role_name())
    }

    /// [`has_role`](Claims::has_role), as the 403 [`ErrorKind::MissingRoleError`] that
    /// `#[secured(roles = …)]` answers.
    pub fn require_role(&self, role: impl RoleName) -> Result<(), Error> {
        let name = role.role_name();
        if self.access.holds_role(self.roles(), name) {
            Ok(())
        } else {
            Err(missing_role(name))
        }
    }

    /// Every role the token holds: those it carries and those they include,
    /// transitively (the declared ones first, in the order found).
    pub fn effective_roles(&self) -> Vec<&str> {
        self.access.roles(self.roles())
    }

    /// Whether the token holds `permission`: a role it holds grants it, or (a provider's
    /// token) one of its scopes is the permission's name.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, ErrorKind, Permission, Role, memory::MemoryUserStore, testing::TestUser};
    ///
    /// #[derive(Permission, Clone, Copy)]
    /// enum Perm { #[permission(rename = "reports:read")] ReportsRead, ArticlesDelete }
    ///
    /// #[derive(Role)]
    /// #[role(permissions = Perm)]
    /// enum AppRole { #[role(grants = "reports:read")] Auditor, Author }
    ///
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .roles::<AppRole>()
    ///     .build()?;
    /// let pair = auth.issue_pair(&TestUser::new(1, "ada", &["auditor"])).await?;
    /// let claims = auth.verify_access(&pair.access_token).await?;
    /// assert!(claims.has_permission(Perm::ReportsRead));
    /// assert_eq!(claims.permissions(), ["reports:read"]);
    /// let refused = claims.require_permission(Perm::ArticlesDelete).unwrap_err();
    /// assert_eq!(refused.kind(), ErrorKind::MissingPermissionError);
    /// assert_eq!(refused.message(), "this action requires the permission `articles_delete`");
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn has_permission<P: Permission>(&self, permission: P) -> bool {
        self.holds_permission(permission.name())
    }

    /// [`has_permission`](Claims::has_permission), as the 403
    /// [`ErrorKind::MissingPermissionError`] that `#[secured(permissions = …)]` answers.
    ///
    /// When the instance's role table does not declare the permission at all (it was built
    /// without `.roles::<…>()` or with another role type), no token could ever hold it: that
    /// is the 500 [`ErrorKind::ConfigurationError`] naming the fix, as the attribute
    /// answers, not a 403 for a reason nobody sees.
    pub fn require_permission<P: Permission>(&self, permission: P) -> Result<(), Error> {
        let name = permission.name();
        if self.holds_permission(name) {
            return Ok(());
        }
        let declared = self
            .role_table()
            .is_some_and(|table| table.permissions().contains(&name));
        if !declared {
            let fix = format!(
                "the permission `{name}` is not declared by this Centurion instance's role table, so no token can hold it: build it with `.roles::<YourRoleEnum>()` (the enum whose `#[role(permissions = …)]` declares it), or hold that enum in the user type's `#[auth_user(roles)]` field"
            );
            tracing::error!("{fix}");
            return Err(Error::config(fix));
        }
        Err(missing_permission(name))
    }

    /// Every permission the token holds.
    pub fn permissions(&self) -> &[&'static str] {
        self.access.permissions()
    }

    /// Whether the permission named `name` is held (the names `#[secured]` checked at
    /// compile time).
    pub(crate) fn holds_permission(&self, name: &str) -> bool {
        self.access.holds_permission(name)
    }

    /// Whether this is a fresh access token (issued by a login, not by a refresh).
    pub fn is_fresh(&self) -> bool {
        self.inner.fresh == Some(true)
    }

    /// The token's kind.
    pub fn kind(&self) -> TokenKind {
        self.inner.kind
    }

    /// The token's unique id (`jti`).
    pub fn jti(&self) -> &str {
        &self.inner.jti
    }

    /// The refresh family (`fam`) of access and refresh tokens.
    pub fn family(&self) -> Option<&str> {
        self.inner.fam.as_deref()
    }

    /// The refresh generation (`gen`) of a refresh token: 0 for the token a login issued,
    /// one more at each refresh. `None` for other kinds.
    pub fn generation(&self) -> Option<u64> {
        self.inner.generation
    }

    /// `iat`, seconds since the Unix epoch.
    pub fn issued_at(&self) -> u64 {
        self.inner.iat
    }

    /// `exp`, seconds since the Unix epoch.
    pub fn expires_at(&self) -> u64 {
        self.inner.exp
    }

    /// `iss`, if present.
    pub fn issuer(&self) -> Option<&str> {
        self.inner.iss.as_deref()
    }

    /// The issuer of a token of a configured identity provider; `None` for the instance's
    /// own tokens.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// # use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// # let auth = Centurion::<TestUser>::builder()
    /// #     .secret("an-example-secret-of-at-least-32-bytes!!")
    /// #     .user_store(MemoryUserStore::new()).build()?;
    /// let pair = auth.issue_pair(&TestUser::new(7, "ada", &[])).await?;
    /// let claims = auth.verify_access(&pair.access_token).await?;
    /// assert_eq!(claims.external_issuer(), None);
    /// assert!(claims.scopes().is_empty());
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn external_issuer(&self) -> Option<&str> {
        self.origin.as_ref().and(self.inner.iss.as_deref())
    }

    /// The scopes of a provider's token: its `scope` claim (space-separated) and its `scp`
    /// claim (space-separated, or a list), in order, without repeats. Empty for the
    /// instance's own tokens.
    pub fn scopes(&self) -> &[String] {
        self.origin.as_ref().map_or(&[], |o| &o.scopes)
    }

    /// Whether the token carries the scope `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().iter().any(|s| s == scope)
    }

    /// Every claim of the token as it was signed: the whole payload of a provider's token,
    /// and for the instance's own tokens the registered claims, centurion's and the custom
    /// ones. A copy: prefer [`custom`](Self::custom) for one claim.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// # use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// # let auth = Centurion::<TestUser>::builder()
    /// #     .secret("an-example-secret-of-at-least-32-bytes!!")
    /// #     .user_store(MemoryUserStore::new()).build()?;
    /// let pair = auth.issue_pair(&TestUser::new(7, "ada", &["admin"])).await?;
    /// let raw = auth.verify_access(&pair.access_token).await?.raw_claims();
    /// assert_eq!(raw["sub"], "7");
    /// assert_eq!(raw["type"], "access");
    /// assert_eq!(raw["roles"], serde_json::json!(["admin"]));
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn raw_claims(&self) -> Map<String, Value> {
        if self.origin.is_some() {
            return self.inner.custom.clone();
        }
        match serde_json::to_value(&*self.inner) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// One custom claim, if present. For a provider's token, any claim of its payload.
    pub fn custom(&self, name: &str) -> Option<&Value> {
        self.inner.custom.get(name)
    }

    /// Every custom claim, deserialized into `T` (a struct with the claims as fields).
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// # use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
    /// # let auth = Centurion::<TestUser>::builder()
    /// #     .secret("an-example-secret-of-at-least-32-bytes!!")
    /// #     .user_store(MemoryUserStore::new()).build()?;
    /// # let user = TestUser::new(7, "ada", &[]);
    /// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    /// struct Tenant { tenant: String }
    /// let pair = auth.issue_pair_with(&user, &Tenant { tenant: "acme".into() }).await?;
    /// let claims = auth.verify_access(&pair.access_token).await?;
    /// assert_eq!(claims.custom_claims::<Tenant>()?, Tenant { tenant: "acme".into() });
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn custom_claims<T: DeserializeOwned>(&self) -> Result<T, Error> {
        T::deserialize(&Value::Object(self.inner.custom.clone())).map_err(|e| {
            Error::new(ErrorKind::InvalidTokenError)
                .with_message(format!("custom claims do not fit: {e}"))
        })
    }

    pub(crate) fn custom_map(&self) -> &Map<String, Value> {
        &self.inner.custom
    }

    /// The revocation stamp (`iat_ms`): the moment, in Unix milliseconds, the login or
    /// refresh that produced this token began (for tokens issued outside such a flow, their
    /// issue). A per-user revocation refuses tokens stamped before it, so a flow that was
    /// in flight when the revocation landed never yields a usable token. `iat` stays the
    /// real issue time.
    pub(crate) fn issued_at_ms(&self) -> u64 {
        self.inner
            .iat_ms
            .unwrap_or(self.inner.iat.saturating_mul(1000))
    }

    /// Where a provider's token came from; `None` for the instance's own tokens.
    pub(crate) fn origin(&self) -> Option<&ProviderOrigin> {
        self.origin.as_deref()
    }

    /// The key under which a revocation of this one token is recorded: its `jti`, and for
    /// a provider's token `{issuer}#{jti}`, so a provider's ids never meet this instance's
    /// (which never hold `#`) nor another provider's (issuers hold no `#`).
    pub(crate) fn revocation_jti(&self) -> Cow<'_, str> {
        match &self.origin {
            Some(origin) => Cow::Borrowed(&origin.jti_key),
            None => Cow::Borrowed(&self.inner.jti),
        }
    }

    /// The key under which a revocation of every token of this token's user is recorded:
    /// its `sub`, and for a provider's token `{issuer}#{sub}`.
    pub(crate) fn revocation_subject(&self) -> Cow<'_, str> {
        match &self.origin {
            Some(origin) => Cow::Borrowed(&origin.subject_key),
            None => Cow::Borrowed(&self.inner.sub),
        }
    }
}

/// The revocation key of a provider's identifier `id` (a `jti` or a `sub`): `{issuer}#{id}`.
pub(crate) fn external_key(issuer: &str, id: &str) -> String {
    format!("{issuer}#{id}")
}

#[cfg_attr(not(feature = "oidc"), allow(dead_code))]
impl ProviderOrigin {
    /// The provider's position among the configured ones.
    pub(crate) fn provider(&self) -> usize {
        self.provider
    }

    /// The thumbprint of the key that verified the token.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// The provider's leeway, in seconds.
    pub(crate) fn leeway(&self) -> u64 {
        self.leeway
    }

    /// About how many heap bytes it takes, for the cache's budget.
    pub(crate) fn heap_bytes(&self) -> u64 {
        let strings: usize = self.scopes.iter().map(|s| s.len() + 24).sum::<usize>()
            + self.jti_key.len()
            + self.subject_key.len();
        (size_of::<Self>() + self.key.len() + strings) as u64
    }
}

/// The 403 for a missing role: the same for `#[secured]` and [`Claims::require_role`].
pub(crate) fn missing_role(role: &str) -> Error {
    Error::new(ErrorKind::MissingRoleError)
        .with_message(format!("this action requires the role `{role}`"))
}

/// The 403 for a missing permission: the same for `#[secured]` and
/// [`Claims::require_permission`].
pub(crate) fn missing_permission(permission: &str) -> Error {
    Error::new(ErrorKind::MissingPermissionError).with_message(format!(
        "this action requires the permission `{permission}`"
    ))
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.inner;
        f.debug_struct("Claims")
            .field("sub", &d.sub)
            .field("external_issuer", &self.external_issuer())
            .field("type", &d.kind)
            .field("roles", &self.roles())
            .field("permissions", &self.permissions())
            .field("fresh", &self.is_fresh())
            .field("iat", &d.iat)
            .field("exp", &d.exp)
            .field("custom", &d.custom.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

struct ClaimsVisitor;

fn dup<E: de::Error>(name: &str) -> E {
    E::custom(format_args!("duplicate claim `{name}`"))
}

impl<'de> Visitor<'de> for ClaimsVisitor {
    type Value = ClaimsData;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ClaimsData, A::Error> {
        let mut sub = None;
        let mut iat = None;
        let mut iat_ms = None;
        let mut nbf = None;
        let mut exp = None;
        let mut jti = None;
        let mut kind = None;
        let mut fresh = None;
        let mut roles = None;
        let mut fam = None;
        let mut generation = None;
        let mut iss = None;
        let mut aud = None;
        let mut custom = Map::new();
        macro_rules! set {
            ($slot:ident, $name:literal, $ty:ty) => {{
                if $slot.is_some() {
                    return Err(dup($name));
                }
                $slot = Some(map.next_value::<$ty>()?);
            }};
        }
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "sub" => set!(sub, "sub", String),
                "iat" => set!(iat, "iat", u64),
                "iat_ms" => set!(iat_ms, "iat_ms", u64),
                "nbf" => set!(nbf, "nbf", u64),
                "exp" => set!(exp, "exp", u64),
                "jti" => set!(jti, "jti", String),
                "type" => {
                    if kind.is_some() {
                        return Err(dup("type"));
                    }
                    let s = map.next_value::<Cow<'de, str>>()?;
                    kind = Some(
                        TokenKind::parse(&s)
                            .ok_or_else(|| de::Error::custom("unknown token type"))?,
                    );
                }
                "fresh" => set!(fresh, "fresh", bool),
                "roles" => set!(roles, "roles", Vec<String>),
                "fam" => set!(fam, "fam", String),
                "gen" => set!(generation, "gen", u64),
                "iss" => set!(iss, "iss", String),
                "aud" => set!(aud, "aud", Audience),
                other => {
                    let value = map.next_value::<Value>()?;
                    if custom.insert(other.to_owned(), value).is_some() {
                        return Err(dup(other));
                    }
                }
            }
        }
        let missing = |name: &'static str| de::Error::missing_field(name);
        Ok(ClaimsData {
            sub: sub.ok_or_else(|| missing("sub"))?,
            iat: iat.ok_or_else(|| missing("iat"))?,
            iat_ms,
            nbf: nbf.ok_or_else(|| missing("nbf"))?,
            exp: exp.ok_or_else(|| missing("exp"))?,
            jti: jti.ok_or_else(|| missing("jti"))?,
            kind: kind.ok_or_else(|| missing("type"))?,
            fresh,
            roles,
            fam,
            generation,
            iss,
            aud,
            custom,
        })
    }
}

impl<'de> Deserialize<'de> for ClaimsData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ClaimsVisitor)
    }
}
