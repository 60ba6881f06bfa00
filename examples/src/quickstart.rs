//! The quickstart server: the tour of centurion, and what the README's first command runs.
//!
//! Its HTTP contract is fixed in `docs/QUICKSTART-API.md`. The `/auth/*` routes are the
//! ready-made ones of `centurion::routes` (see `auth_routes`); the password change
//! (`change_password`) is written by hand, as an example of the lower-level API. With no
//! environment set it uses an SQLite file in the working directory, in-memory revocations
//! and throttling, and prints mail to the console; `DATABASE_URL`, `REDIS_URL` and
//! `SMTP_URL` switch to PostgreSQL, Redis and SMTP. It serves through `centurion::serve`
//! with deadlines on every connection; `CENTURION_HEADER_TIMEOUT`, `CENTURION_IDLE_TIMEOUT`,
//! `CENTURION_REQUEST_TIMEOUT`, `CENTURION_MAX_CONNECTIONS`,
//! `CENTURION_MAX_CONNECTIONS_PER_ADDRESS` and `CENTURION_SHUTDOWN_DEADLINE` tune them
//! (`quickstart_serving.rs` lists the defaults).
//!
//! Identity and anonymous limits (see `quickstart_setup.rs`):
//!
//! - `CENTURION_UNCONFIRMED_LIFESPAN` (default `24h`): how long an unconfirmed
//!   registration holds its username and address.
//! - `CENTURION_RESET_MAIL_INTERVAL` (default `5m`): at most one reset mail per account per
//!   this long, however many clients ask.
//! - `CENTURION_TRUSTED_PROXIES` (default none): the proxies whose `X-Forwarded-For` is
//!   believed, for the per-address limits (30 registrations and 10 reset requests a
//!   minute) and the login throttle.
//!
//! `POST /auth/register` answers 201 `{"username", "active": false}` whether or not the
//! address was registered already (the owner of a taken address gets a mail instead of a
//! confirmation), so the body carries no id. Mail links carry their token in the fragment
//! (`/confirm#token=…`, `/reset#token=…`).
//!
//! `CENTURION_OIDC_ISSUER` and `CENTURION_OIDC_AUDIENCE` (with
//! `CENTURION_OIDC_ROLES_CLAIM`, default `roles`) make every `/api/*` route accept that
//! OpenID Provider's access tokens too; `/api/me` then answers the provider's user as its
//! token describes it (not stored: a stable negative `id`, `username` from
//! `preferred_username` or `sub`, `email`, the declared roles it carries).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use centurion::http::ClientAddr;
use centurion::mail::AccountMail;
use centurion::openapi::AuthRoutePaths;
use centurion::routes::{PasswordResetRoutes, RegistrationRoutes, TokenRoutes};
use centurion::throttle::Throttle;
use centurion::{
    AuthUser, Centurion, Claims, CurrentUser, Error, ErrorKind, JsonBody, Permission, Role, secured,
};
use serde::Deserialize;
use serde_json::{Value, json};

mod quickstart_openapi;
mod quickstart_serving;
mod quickstart_session;
mod quickstart_setup;
use quickstart_serving::Serving;
use quickstart_setup::Settings;

/// The application's permissions, declared once and granted to roles below; `#[secured]`
/// checks their names at compile time.
#[derive(Permission, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppPermission {
    /// Reads `/api/reports`.
    #[permission(rename = "reports:read")]
    ReportsRead,
}

/// The application's roles, declared once; `#[secured]` checks role names against them
/// at compile time. The hierarchy and the grants are closed by the derive, so a request
/// is checked from its token alone.
#[derive(Role, Clone, Copy, Debug, PartialEq, Eq)]
#[role(permissions = AppPermission)]
pub enum AppRole {
    /// Runs the place: `/api/admin`; reads the reports.
    #[role(grants = "reports:read")]
    Admin,
    /// Edits articles.
    Editor,
    /// Writes articles.
    Author,
    /// Whatever an admin or an editor may do.
    #[role(includes = "admin, editor")]
    Owner,
    /// Reads the reports, nothing else.
    #[role(grants = "reports:read")]
    Auditor,
}

/// The user, as the SQL store keeps it. The password hash never appears in `Debug`.
#[derive(AuthUser, Clone)]
pub struct User {
    #[auth_user(id)]
    id: i64,
    #[auth_user(username)]
    username: String,
    #[auth_user(email)]
    email: Option<String>,
    #[auth_user(password)]
    password_hash: String,
    #[auth_user(roles)]
    roles: Vec<AppRole>,
    #[auth_user(is_valid)]
    active: bool,
}

/// What the hand-written handlers share besides the `Centurion` the layer provides.
#[derive(Clone)]
struct App {
    /// The login throttle and the per-address limits, shared with the ready-made routes.
    throttle: Throttle,
}

fn invalid(message: &'static str) -> Error {
    Error::new(ErrorKind::InvalidRequest).with_message(message)
}

/// The ready-made auth routes of `centurion::routes`, at the contract's paths:
/// registration and confirmation, login, refresh and logout, password forgot and reset,
/// and the cookie session (`quickstart_session.rs`). Logins go through the throttle,
/// registrations and reset requests count against its per-address limits, and the mail
/// goes through the bounded queue to the address stored for the account (a registration
/// with a taken address answers as for a new one, and its owner gets a mail instead).
/// Their OpenAPI operations are documented at the paths these groups mount them at.
fn auth_routes(mail: &AccountMail, throttle: &Throttle) -> (Router<App>, AuthRoutePaths) {
    let tokens = TokenRoutes::<User>::new().throttle(throttle.clone());
    let registration = RegistrationRoutes::<User>::new(mail.clone()).throttle(throttle.clone());
    let reset = PasswordResetRoutes::<User>::new(mail.clone()).throttle(throttle.clone());
    let session = quickstart_session::routes(throttle);
    let paths = AuthRoutePaths {
        tokens: Some(tokens.paths()),
        registration: Some(registration.paths()),
        password_reset: Some(reset.paths()),
        session: Some(session.paths()),
        throttled: true,
    };
    let router = Router::new()
        .merge(tokens.router())
        .merge(registration.router())
        .merge(reset.router())
        .merge(session.router());
    (router, paths)
}

// ----------------------------------------------------------------------------------------
// The API.

/// Any valid access token.
#[secured]
#[utoipa::path(get, path = "/api/me", tag = "api", responses(
    (status = 200, description = "The current user.", body = quickstart_openapi::Me),
))]
async fn me(user: CurrentUser<User>) -> Json<Value> {
    Json(json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "roles": user.roles.iter().map(Role::name).collect::<Vec<_>>(),
    }))
}

/// Admins only. The role travels in the token: no database hit.
#[secured(roles = "admin")]
#[utoipa::path(get, path = "/api/admin", tag = "api", responses(
    (status = 200, description = "Welcome.", body = quickstart_openapi::Welcome),
))]
async fn admin(claims: Claims) -> Json<Value> {
    Json(json!({"message": "welcome, administrator", "id": claims.subject()}))
}

/// Whoever holds `reports:read`: admins, owners (through `admin`) and auditors. The
/// permission comes from the token's roles: no database hit.
#[secured(permissions = "reports:read")]
#[utoipa::path(get, path = "/api/reports", tag = "api", responses(
    (status = 200, description = "The reports.", body = quickstart_openapi::Reports),
))]
async fn reports(claims: Claims) -> Json<Value> {
    Json(json!({"reports": ["signups", "logins"], "id": claims.subject()}))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewArticle {
    title: String,
}

/// Editors or authors. The guard runs before the body is parsed: an anonymous request
/// with a broken body gets 401, not 400.
#[secured(any_of = "editor, author")]
#[utoipa::path(post, path = "/api/articles", tag = "api", request_body = NewArticle, responses(
    (status = 201, description = "Created.", body = quickstart_openapi::Article),
    (status = 400, description = "A malformed body, or a title without 1 to 200 characters.", body = centurion::openapi::ErrorBody),
))]
async fn create_article(
    claims: Claims,
    JsonBody(article): JsonBody<NewArticle>,
) -> Result<impl IntoResponse, Error> {
    let title = article.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(invalid("the title must have 1 to 200 characters"));
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({"title": title, "author": claims.subject()})),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ChangePassword {
    old_password: String,
    password: String,
}

/// The one hand-written auth flow, an example of the lower-level API the ready-made routes
/// are built from.
///
/// Needs a fresh token (straight from a login). The old password is checked under the
/// login throttle (a wrong one counts against the account and the client address). Every
/// other token of the user is revoked; the answer carries a new pair so this client stays
/// logged in.
#[secured(fresh)]
#[utoipa::path(post, path = "/api/account/password", tag = "api", request_body = ChangePassword, responses(
    (status = 200, description = "Changed; every other token of the user is revoked, and a new pair is in `tokens`.", body = quickstart_openapi::PasswordChanged),
    (status = 400, description = "A malformed body or a weak password (`InvalidRequest`, `WeakPassword`).", body = centurion::openapi::ErrorBody),
    (status = 429, description = "Too many wrong old passwords (`TooManyRequests`).", body = centurion::openapi::ErrorBody,
        headers(("Retry-After" = u64, description = "Seconds to wait."))),
))]
async fn change_password(
    auth: Centurion<User>,
    axum::extract::State(app): axum::extract::State<App>,
    client: ClientAddr,
    user: CurrentUser<User>,
    JsonBody(body): JsonBody<ChangePassword>,
) -> Result<Json<Value>, Error> {
    // The old password is checked against the stored record, never a cached copy.
    let stored = auth
        .identify(&user.id.to_string())
        .await?
        .ok_or_else(|| Error::new(ErrorKind::MissingUserError))?;
    // CurrentUser checked a copy up to CENTURION_USER_CACHE old: check the record itself.
    if !stored.is_valid() {
        return Err(Error::new(ErrorKind::InvalidUserError));
    }
    app.throttle
        .check_password(&auth, Some(client.ip()), &stored, &body.old_password)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::AuthenticationError => e.with_message("the old password is wrong"),
            _ => e,
        })?;
    auth.change_password(&stored, &body.password).await?;
    let pair = auth.issue_pair(&stored).await?;
    Ok(Json(
        json!({"message": "password changed; other sessions were logged out", "tokens": pair}),
    ))
}

// ----------------------------------------------------------------------------------------
// Sessions (devices).

/// The user's live sessions, newest first, in the contract's shape.
#[secured]
#[utoipa::path(get, path = "/api/sessions", tag = "api", responses(
    (status = 200, description = "The user's live sessions, newest first.", body = Vec<quickstart_openapi::SessionInfo>),
))]
async fn list_sessions(auth: Centurion<User>, claims: Claims) -> Result<Json<Value>, Error> {
    let sessions = auth.sessions(&claims).await?;
    let list: Vec<Value> = sessions
        .iter()
        .map(|session| {
            let full = serde_json::to_value(session).unwrap_or_default();
            json!({
                "id": full["id"],
                "created_at": full["created_at"],
                "last_used_at": full["last_used_at"],
                "user_agent": full["user_agent"],
                "ip": full["ip"],
                "current": full["current"],
            })
        })
        .collect();
    Ok(Json(Value::Array(list)))
}

/// Ends one of the user's sessions: its tokens are refused from the next request on.
#[secured]
#[utoipa::path(delete, path = "/api/sessions/{id}", tag = "api", params(("id" = String, Path, description = "A session's id, from `GET /api/sessions`.")), responses(
    (status = 200, description = "That session's tokens are refused from now on.", body = quickstart_openapi::Message),
    (status = 404, description = "Not one of the user's sessions.", body = centurion::openapi::ErrorBody),
))]
async fn revoke_session(
    auth: Centurion<User>,
    claims: Claims,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, Error> {
    if auth.revoke_own_session(&claims, &id).await? {
        Ok(Json(json!({"message": "session ended"})).into_response())
    } else {
        let body = json!({"error": "NotFound", "message": "no such session", "status_code": 404});
        Ok((StatusCode::NOT_FOUND, Json(body)).into_response())
    }
}

/// Ends every session of the user but the current one ("log out my other devices"),
/// also logins still in flight.
#[secured]
#[utoipa::path(delete, path = "/api/sessions", tag = "api", responses(
    (status = 200, description = "Every other session of the user is revoked.", body = quickstart_openapi::Revoked),
))]
async fn revoke_other_sessions(
    auth: Centurion<User>,
    claims: Claims,
) -> Result<Json<Value>, Error> {
    let revoked = auth.revoke_other_sessions(&claims).await?;
    Ok(Json(json!({"revoked": revoked})))
}

// ----------------------------------------------------------------------------------------

#[utoipa::path(get, path = "/healthz", tag = "meta", security(()), responses(
    (status = 200, description = "Up.", body = quickstart_openapi::Health),
))]
async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "meta", security(()), responses(
    (status = 200, description = "The public verification keys (empty `keys` with HMAC).", body = quickstart_openapi::Jwks),
))]
async fn jwks(auth: Centurion<User>) -> Json<Value> {
    Json(auth.jwks())
}

async fn not_found() -> Response {
    let body = json!({"error": "NotFound", "message": "no such route", "status_code": 404});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

async fn method_not_allowed() -> Response {
    let body = json!({"error": "MethodNotAllowed", "message": "this route does not take that method", "status_code": 405});
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

#[utoipa::path(get, path = "/", tag = "meta", security(()), responses(
    (status = 200, description = "A small page that logs in with the cookie routes.", content_type = "text/html", body = String),
))]
async fn index() -> Html<&'static str> {
    Html(include_str!("quickstart.html"))
}

fn routes(
    app: App,
    mail: &AccountMail,
    auth: &Centurion<User>,
    trusted: centurion::http::TrustedProxies,
) -> Router {
    let (auth_routes, documented_paths) = auth_routes(mail, &app.throttle);
    Router::new()
        .merge(auth_routes)
        .merge(quickstart_openapi::documented(auth, &documented_paths))
        .route("/confirm", get(index))
        .route("/reset", get(index))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
        .layer(auth.layer())
        .layer(axum::Extension(trusted))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    quickstart_setup::init_tracing();
    let settings = Settings::from_env().and_then(|settings| Ok((settings, Serving::from_env()?)));
    let (settings, serving) = match settings {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("quickstart: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match run(settings, serving).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quickstart: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings, serving: Serving) -> Result<(), Box<dyn std::error::Error>> {
    let parts = quickstart_setup::build(&settings).await?;
    let app = App {
        throttle: parts.throttle,
    };
    quickstart_setup::purge_registrations_now_and_then(parts.auth.clone());
    let router = quickstart_setup::with_middleware(routes(
        app,
        &parts.mail,
        &parts.auth,
        settings.trusted_proxies.clone(),
    ));
    // Not axum::serve: it has no header-read, idle or request timeout, no connection cap
    // and no shutdown deadline (quickstart_serving.rs).
    let listener = quickstart_serving::bind(&settings.addr).await?;
    let addr = listener.local_addr()?;
    quickstart_setup::print_banner(addr, &settings);
    let report = serving
        .server(listener, router)
        .serve(quickstart_setup::shutdown_signal())
        .await?;
    quickstart_serving::log_shutdown(&report, addr);
    Ok(())
}
