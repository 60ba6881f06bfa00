//! The quickstart's plumbing: settings from the environment, stores, mail, middleware,
//! start-up banner and graceful shutdown. The security itself lives in `quickstart.rs`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, Request};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use centurion::http::TrustedProxies;
use centurion::identity::identity_key;
use centurion::mail::{
    AccountMail, ConsoleMailer, MailQueue, MailTemplates, SharedMailer, SmtpMailer,
};
use centurion::memory::MemoryRevocationStore;
use centurion::redis::{RedisOptions, RedisRevocationStore};
use centurion::sql::SqlUserStore;
use centurion::throttle::{RateLimit, RedisThrottleStore, Throttle, ThrottleConfig};
use centurion::{
    Centurion, Claims, Config, ErrorKind, IdentityProviderConfig, ImportedUser, LegacyConfig, Role,
    Secret, UserStore,
};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::{AppRole, User};

/// `CENTURION_OIDC_*`: an OpenID Provider whose access tokens `/api/*` accepts.
pub(crate) struct OidcSettings {
    /// `CENTURION_OIDC_ISSUER`: its issuer URL (discovery at
    /// `{issuer}/.well-known/openid-configuration`).
    pub(crate) issuer: String,
    /// `CENTURION_OIDC_AUDIENCE`: the `aud` its tokens carry for this API (required with
    /// the issuer).
    pub(crate) audience: String,
    /// `CENTURION_OIDC_ROLES_CLAIM`: a dotted path to the roles (default `roles`).
    pub(crate) roles_claim: String,
}

impl OidcSettings {
    fn from_env() -> Result<Option<Self>, String> {
        let roles_claim = var("CENTURION_OIDC_ROLES_CLAIM");
        match (var("CENTURION_OIDC_ISSUER"), var("CENTURION_OIDC_AUDIENCE")) {
            (Some(issuer), Some(audience)) => Ok(Some(Self {
                issuer: issuer.trim().to_owned(),
                audience: audience.trim().to_owned(),
                roles_claim: roles_claim
                    .map_or_else(|| "roles".to_owned(), |c| c.trim().to_owned()),
            })),
            (Some(_), None) => Err(
                "CENTURION_OIDC_AUDIENCE is required when CENTURION_OIDC_ISSUER is set: the `aud` \
                 the provider's tokens carry for this API"
                    .into(),
            ),
            (None, Some(_)) => {
                Err("CENTURION_OIDC_AUDIENCE is set but CENTURION_OIDC_ISSUER is not".into())
            }
            (None, None) if roles_claim.is_some() => {
                Err("CENTURION_OIDC_ROLES_CLAIM is set but CENTURION_OIDC_ISSUER is not".into())
            }
            (None, None) => Ok(None),
        }
    }
}

/// Everything the environment configures.
pub(crate) struct Settings {
    pub(crate) addr: String,
    pub(crate) database_url: String,
    pub(crate) redis_url: Option<String>,
    pub(crate) smtp_url: Option<String>,
    pub(crate) mail_from: String,
    pub(crate) secret: Option<String>,
    pub(crate) access_lifespan: Duration,
    pub(crate) refresh_lifespan: Duration,
    /// `CENTURION_USER_CACHE`: how long `CurrentUser` reuses a loaded user (`0s`: off).
    pub(crate) user_cache: Duration,
    /// `CENTURION_UNCONFIRMED_LIFESPAN`: how long an unconfirmed registration holds its
    /// username and address (default `24h`).
    pub(crate) unconfirmed_lifespan: Duration,
    /// `CENTURION_RESET_MAIL_INTERVAL`: at most one reset mail per account per this long,
    /// however many clients ask (default `5m`).
    pub(crate) reset_mail_interval: Duration,
    /// `CENTURION_TRUSTED_PROXIES`: the proxies whose `X-Forwarded-For` is believed
    /// (addresses and CIDR networks; default none: the client is the socket peer).
    pub(crate) trusted_proxies: TrustedProxies,
    /// `CENTURION_REFRESH_GRACE`: the refresh grace window (default `5s`, at most `5s`;
    /// `0s`: off).
    pub(crate) refresh_grace: Duration,
    /// `CENTURION_SESSION_IDLE`: sessions not refreshed for this long end (default: never).
    pub(crate) session_idle: Option<Duration>,
    /// `CENTURION_SESSIONS_PER_USER`: live sessions per user (default 64; the oldest ends).
    pub(crate) sessions_per_user: usize,
    pub(crate) admin: Option<(String, String)>,
    pub(crate) seed_users: Vec<(String, String, Vec<String>)>,
    pub(crate) public_url: String,
    pub(crate) oidc: Option<OidcSettings>,
    /// `CENTURION_LEGACY_TOKENS` and `CENTURION_LEGACY_ROLES_CLAIM`: the Flask services
    /// whose tokens are accepted during a migration.
    pub(crate) legacy: LegacyConfig,
    /// `CENTURION_IMPORT_USERS`: a JSON file of users to upsert at start.
    pub(crate) import_users: Option<String>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn duration_var(name: &str, default: Duration) -> Result<Duration, String> {
    match var(name) {
        Some(text) => centurion::config::parse_duration(&text).map_err(|e| format!("{name}: {e}")),
        None => Ok(default),
    }
}

impl Settings {
    pub(crate) fn from_env() -> Result<Self, String> {
        let admin =
            match (
                var("CENTURION_ADMIN_USERNAME"),
                var("CENTURION_ADMIN_PASSWORD"),
            ) {
                (Some(user), Some(password)) => Some((user, password)),
                (None, None) => None,
                _ => return Err(
                    "set both CENTURION_ADMIN_USERNAME and CENTURION_ADMIN_PASSWORD, or neither"
                        .into(),
                ),
            };
        let mut seed_users = Vec::new();
        for entry in var("CENTURION_SEED_USERS")
            .unwrap_or_default()
            .split(',')
            .filter(|e| !e.trim().is_empty())
        {
            let mut fields = entry.trim().splitn(3, ':');
            let (Some(name), Some(password)) = (fields.next(), fields.next()) else {
                return Err(format!(
                    "CENTURION_SEED_USERS: `{entry}` is not name:password:role1+role2"
                ));
            };
            let roles = fields
                .next()
                .unwrap_or("")
                .split('+')
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect();
            seed_users.push((name.to_owned(), password.to_owned(), roles));
        }
        let mut legacy = LegacyConfig::default();
        for source in var("CENTURION_LEGACY_TOKENS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match source {
                "praetorian" => legacy.praetorian = true,
                "jwt-extended" => legacy.jwt_extended = true,
                other => {
                    return Err(format!(
                        "CENTURION_LEGACY_TOKENS: `{other}` is not `praetorian` or `jwt-extended`"
                    ));
                }
            }
        }
        if let Some(claim) = var("CENTURION_LEGACY_ROLES_CLAIM") {
            legacy.roles_claim = claim.trim().to_owned();
        }
        Ok(Self {
            legacy,
            import_users: var("CENTURION_IMPORT_USERS"),
            addr: var("CENTURION_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into()),
            database_url: var("DATABASE_URL")
                .unwrap_or_else(|| "sqlite://centurion-quickstart.db".into()),
            redis_url: var("REDIS_URL"),
            smtp_url: var("SMTP_URL"),
            mail_from: var("MAIL_FROM")
                .unwrap_or_else(|| "Centurion quickstart <noreply@localhost>".into()),
            secret: var("CENTURION_SECRET"),
            access_lifespan: duration_var(
                "CENTURION_ACCESS_LIFESPAN",
                Duration::from_secs(15 * 60),
            )?,
            refresh_lifespan: duration_var(
                "CENTURION_REFRESH_LIFESPAN",
                Duration::from_secs(30 * 24 * 3600),
            )?,
            // Every change this server makes to a user goes through centurion, which drops
            // the cached copy, so the cache only delays changes made by other instances or
            // by hand in the database, by at most this long. Revocation is never cached.
            user_cache: duration_var("CENTURION_USER_CACHE", Duration::from_secs(2))?,
            unconfirmed_lifespan: duration_var(
                "CENTURION_UNCONFIRMED_LIFESPAN",
                Duration::from_secs(24 * 3600),
            )?,
            reset_mail_interval: duration_var(
                "CENTURION_RESET_MAIL_INTERVAL",
                Duration::from_secs(5 * 60),
            )?,
            trusted_proxies: TrustedProxies::parse(
                &var("CENTURION_TRUSTED_PROXIES").unwrap_or_default(),
            )
            .map_err(|e| format!("CENTURION_TRUSTED_PROXIES: {}", e.message()))?,
            refresh_grace: {
                let grace = duration_var("CENTURION_REFRESH_GRACE", Duration::from_secs(5))?;
                if grace > Duration::from_secs(5) {
                    return Err("CENTURION_REFRESH_GRACE: at most 5s".into());
                }
                grace
            },
            session_idle: match var("CENTURION_SESSION_IDLE") {
                Some(_) => Some(duration_var("CENTURION_SESSION_IDLE", Duration::ZERO)?),
                None => None,
            },
            sessions_per_user: match var("CENTURION_SESSIONS_PER_USER") {
                Some(n) => n
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or("CENTURION_SESSIONS_PER_USER: a number of sessions, at least 1")?,
                None => 64,
            },
            admin,
            seed_users,
            public_url: var("PUBLIC_URL")
                .unwrap_or_else(|| "http://127.0.0.1:3000".into())
                .trim_end_matches('/')
                .to_owned(),
            oidc: OidcSettings::from_env()?,
        })
    }
}

pub(crate) fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

/// The pieces `run` needs.
pub(crate) struct Parts {
    pub(crate) auth: Centurion<User>,
    pub(crate) mail: AccountMail,
    pub(crate) throttle: Throttle,
}

fn random_secret() -> Result<String, Box<dyn std::error::Error>> {
    let mut bytes = [0u8; 48];
    getrandom::fill(&mut bytes).map_err(|e| format!("no system randomness: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

pub(crate) async fn build(settings: &Settings) -> Result<Parts, Box<dyn std::error::Error>> {
    let secret = match &settings.secret {
        Some(secret) => secret.clone(),
        None => {
            tracing::warn!(
                "CENTURION_SECRET is not set: using a random secret; tokens die with this process"
            );
            random_secret()?
        }
    };
    let config = Config {
        secret: Some(Secret::new(secret)),
        access_lifespan: settings.access_lifespan,
        refresh_lifespan: settings.refresh_lifespan,
        user_cache_ttl: settings.user_cache,
        unconfirmed_lifespan: settings.unconfirmed_lifespan,
        refresh_grace: settings.refresh_grace,
        session_idle_timeout: settings.session_idle,
        max_sessions_per_user: settings.sessions_per_user,
        token_locations: crate::quickstart_session::TOKEN_LOCATIONS.to_vec(),
        cookies: crate::quickstart_session::cookie_config(&settings.public_url)?,
        legacy: settings.legacy.clone(),
        ..Config::default()
    };

    let mut limits = ThrottleConfig::default();
    limits.reset_mails = RateLimit::new(1, settings.reset_mail_interval);

    let users = SqlUserStore::<User>::connect(&settings.database_url).await?;
    tracing::info!(backend = users.pool().backend(), "user store ready");
    let mut builder = Centurion::<User>::builder()
        .config(config)
        .user_store(users.clone());
    if let Some(oidc) = &settings.oidc {
        // Keys are fetched in the background: the server starts even when the provider is
        // down, and refuses its tokens until they arrive.
        builder = builder
            .identity_provider(
                IdentityProviderConfig::discover(&oidc.issuer, &oidc.audience)
                    .roles_claim(&oidc.roles_claim),
            )
            .provision_external_users(|claims| async move { Ok(Some(provider_user(&claims))) });
        tracing::info!(issuer = %oidc.issuer, audience = %oidc.audience, roles_claim = %oidc.roles_claim, "accepting the identity provider's access tokens");
    }
    let (builder, throttle) = match &settings.redis_url {
        Some(url) => {
            let options = RedisOptions::default();
            let store = RedisRevocationStore::connect(url, options.clone()).await?;
            let throttle = Throttle::new(RedisThrottleStore::connect(url, options).await?, limits)?;
            tracing::info!("revocations and throttling in Redis");
            (builder.revocation_store(store), throttle)
        }
        None => (
            builder.revocation_store(MemoryRevocationStore::new()),
            Throttle::in_memory(limits)?,
        ),
    };
    let auth = builder.build().map_err(|e| {
        if e.message().starts_with("identity provider") {
            format!("CENTURION_OIDC_ISSUER: {}", e.message())
        } else {
            e.to_string()
        }
    })?;

    let mailer = match &settings.smtp_url {
        Some(url) => SharedMailer::new(
            SmtpMailer::builder(url)?
                .from(&settings.mail_from)
                .build()?,
        ),
        None => SharedMailer::new(ConsoleMailer::stdout()),
    };

    // A fixed number of senders and a bounded queue: a slow or hanging mail server, or a
    // flood of requests that mail, holds a bounded number of connections and tasks.
    let mail = AccountMail::new(
        MailQueue::new(mailer),
        MailTemplates::new("Centurion quickstart"),
        &settings.public_url,
    )
    .throttle(throttle.clone());

    if let Some((name, password)) = &settings.admin {
        seed(&auth, &users, name, password, &["admin".to_owned()], true).await?;
    }
    for (name, password, roles) in &settings.seed_users {
        seed(&auth, &users, name, password, roles, false).await?;
    }
    if let Some(path) = &settings.import_users {
        import_users(&auth, path).await?;
    }
    Ok(Parts {
        auth,
        mail,
        throttle,
    })
}

/// Upserts the users of `CENTURION_IMPORT_USERS` by id; any mistake stops the start with a
/// message naming the file and the entry.
async fn import_users(
    auth: &Centurion<User>,
    path: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("CENTURION_IMPORT_USERS: cannot read {path}: {e}"))?;
    let users: Vec<ImportedUser> = serde_json::from_str(&text).map_err(|e| {
        format!(
            "CENTURION_IMPORT_USERS: {path} is not a JSON list of \
             {{\"id\", \"username\", \"email\", \"password_hash\", \"roles\", \"active\"}}: {e}"
        )
    })?;
    let count = users.len();
    auth.import_users(users)
        .await
        .map_err(|e| format!("CENTURION_IMPORT_USERS: {path}: {}", e.message()))?;
    tracing::info!(count, "imported users");
    Ok(())
}

/// Deletes expired unconfirmed registrations every ten minutes (they already free their
/// username and address when they expire; this removes their rows).
pub(crate) fn purge_registrations_now_and_then(auth: Centurion<User>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(600));
        loop {
            every.tick().await;
            match auth.purge_unconfirmed_registrations().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "purged expired unconfirmed registrations"),
                Err(e) => tracing::warn!(error = %e, "could not purge expired registrations"),
            }
        }
    });
}

/// The user of an identity provider's token, as `/api/me` shows it: not stored (the
/// provider keeps its users), built from the token whenever the user cache does not hold
/// it. Its `id` is negative, derived from the issuer and the subject, so it is stable and
/// never a stored user's (those count from 1); `username` is the `preferred_username` claim
/// or the subject; `email` the `email` claim; `roles` the token's roles this application
/// declares.
fn provider_user(claims: &Claims) -> User {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    claims.external_issuer().hash(&mut hasher);
    claims.subject().hash(&mut hasher);
    let id = -1 - i64::try_from(hasher.finish() >> 2).unwrap_or(0);
    let text = |name: &str| {
        claims
            .custom(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    User {
        id,
        username: text("preferred_username").unwrap_or_else(|| claims.subject().to_owned()),
        email: text("email"),
        password_hash: String::new(),
        roles: claims
            .roles()
            .iter()
            .filter_map(|r| AppRole::from_name(r))
            .collect(),
        active: true,
    }
}

/// Creates an active user; an existing one keeps its roles and, when `update` is set,
/// gets the password given here.
async fn seed(
    auth: &Centurion<User>,
    users: &SqlUserStore<User>,
    name: &str,
    password: &str,
    roles: &[String],
    update: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
    match auth.create_user(name, None, password, &roles).await {
        Ok(_) => tracing::info!(username = name, "seeded a user"),
        Err(e) if e.kind() == ErrorKind::UserExists => {
            if update && let Some(user) = users.lookup(&identity_key(name)).await? {
                let id = centurion::AuthUser::id(&user);
                let hash = auth.hasher().hash(password).await?;
                users.update_password_hash(&id, &hash).await?;
                users.activate(&id).await?;
                auth.forget_user(&id);
                tracing::info!(username = name, "updated the seeded user");
            }
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

pub(crate) fn with_middleware(router: Router) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    router
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| -> Response {
                tracing::error!("a handler panicked");
                centurion::Error::new(ErrorKind::InternalError).into_response()
            },
        ))
        .layer(
            TraceLayer::new_for_http()
                // centurion logs its own 5xx answers, at most once per 10 s per kind
                // during an outage, with the count of those held back: one line per failed
                // request here would be the flood it avoids.
                .on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG))
                .make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // Only method, path and ids: never headers, bodies or query strings (tokens).
                    tracing::info_span!(
                        "request",
                        request_id = %id,
                        method = %req.method(),
                        path = %req.uri().path(),
                        user_id = tracing::field::Empty,
                    )
                }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
}

pub(crate) fn print_banner(addr: SocketAddr, settings: &Settings) {
    let base = format!("http://{addr}");
    println!("centurion quickstart listening on {base}");
    println!("  database: {}", redact_url(&settings.database_url));
    if let Some(oidc) = &settings.oidc {
        println!(
            "  identity provider: {} (aud {}, roles from `{}`)",
            oidc.issuer, oidc.audience, oidc.roles_claim
        );
    }
    println!("  try:");
    println!(
        "    curl -s -X POST {base}/auth/register -H 'content-type: application/json' \\\n      -d '{{\"username\":\"ada\",\"email\":\"ada@example.com\",\"password\":\"correct horse battery\"}}'"
    );
    println!(
        "    curl -s -X POST {base}/auth/login -H 'content-type: application/json' \\\n      -d '{{\"username\":\"ada\",\"password\":\"correct horse battery\"}}'"
    );
    println!("    curl -s {base}/api/me -H \"Authorization: Bearer $ACCESS_TOKEN\"");
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
