//! The quickstart server: the tour of centurion, and what the README's first command runs.
//!
//! Its HTTP contract is fixed in `docs/QUICKSTART-API.md`. With no environment set it
//! uses an SQLite file in the working directory, in-memory revocations and throttling,
//! and prints mail to the console; `DATABASE_URL`, `REDIS_URL` and `SMTP_URL` switch to
//! PostgreSQL, Redis and SMTP. It serves through `centurion::serve` with deadlines on every
//! connection; `CENTURION_HEADER_TIMEOUT`, `CENTURION_IDLE_TIMEOUT`,
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
use axum::routing::{get, post};
use axum::{Json, Router};
use centurion::http::ClientAddr;
use centurion::mail::AccountMail;
use centurion::throttle::Throttle;
use centurion::{
    AuthUser, Centurion, Claims, ClientInfo, CurrentUser, Error, ErrorKind, JsonBody, Permission,
    Role, secured,
};
use serde::Deserialize;
use serde_json::{Value, json};

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

/// What handlers share besides the `Centurion` the layer provides.
#[derive(Clone)]
struct App {
    /// The account mails, always to the address stored for the account, through a bounded
    /// queue.
    mail: AccountMail,
    throttle: Throttle,
}

fn invalid(message: &'static str) -> Error {
    Error::new(ErrorKind::InvalidRequest).with_message(message)
}

// ----------------------------------------------------------------------------------------
// Registration, confirmation, password reset.

#[derive(Deserialize)]
struct Register {
    username: String,
    email: String,
    password: String,
}

/// Registers an unconfirmed user and mails the confirmation link to the address.
///
/// Usernames and addresses follow the library's identity rules (`centurion::identity`):
/// compared in one normal form, refused when they hold invisible characters or mix
/// scripts. An address that is already registered gets the same 201 (and the same body,
/// which is why it holds no id) after the same work; its owner gets a mail saying someone
/// tried. Limited per client address (429 past the limit).
async fn register(
    auth: Centurion<User>,
    axum::extract::State(app): axum::extract::State<App>,
    client: ClientAddr,
    JsonBody(body): JsonBody<Register>,
) -> Result<impl IntoResponse, Error> {
    app.throttle.registration(Some(client.ip())).await?;
    let registration = auth
        .register(&body.username, Some(&body.email), &body.password, &[])
        .await?;
    // Queued: the answer does not wait for the mail server, nor tell which mail it is.
    app.mail.registration(&registration);
    Ok((
        StatusCode::CREATED,
        Json(json!({"username": registration.username(), "active": false})),
    ))
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

async fn confirm(
    auth: Centurion<User>,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<Json<Value>, Error> {
    let user = auth.confirm_registration(&body.token).await?;
    Ok(Json(
        json!({"id": user.id, "username": user.username, "active": true}),
    ))
}

#[derive(Deserialize)]
struct Forgot {
    email: String,
}

/// Answers 202 at once whatever the address; the look-up and the mail happen afterwards
/// on the mail queue, so neither the answer nor its timing says whether the address is
/// known. The mail goes to the address stored for the account (never to the address as
/// typed), at most once per account every few minutes. Limited per client address.
async fn forgot(
    auth: Centurion<User>,
    axum::extract::State(app): axum::extract::State<App>,
    client: ClientAddr,
    JsonBody(body): JsonBody<Forgot>,
) -> Result<impl IntoResponse, Error> {
    app.throttle.reset_request(Some(client.ip())).await?;
    app.mail.password_reset(&auth, &body.email);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"message": "if the address is known, a reset link is on its way"})),
    ))
}

#[derive(Deserialize)]
struct Reset {
    token: String,
    password: String,
}

async fn reset(
    auth: Centurion<User>,
    JsonBody(body): JsonBody<Reset>,
) -> Result<Json<Value>, Error> {
    let user = auth.reset_password(&body.token, &body.password).await?;
    Ok(Json(
        json!({"id": user.id, "message": "password changed; every session was logged out"}),
    ))
}

// ----------------------------------------------------------------------------------------
// Login, refresh, logout.

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// Logs in: the session remembers the client (user agent, address) for the session list.
/// The pair is stamped with the moment the login began, so a password change that lands
/// while the password is being checked refuses it.
async fn login(
    auth: Centurion<User>,
    axum::extract::State(app): axum::extract::State<App>,
    client: ClientAddr,
    info: ClientInfo,
    JsonBody(body): JsonBody<Login>,
) -> Result<Response, Error> {
    let user = app
        .throttle
        .authenticate(&auth, Some(client.ip()), &body.username, &body.password)
        .await?;
    Ok(Json(auth.issue_pair_from(&user, &info).await?).into_response())
}

#[derive(Deserialize)]
struct Refresh {
    refresh_token: String,
}

/// Refreshes: within the grace window a spent token from the same client gets the same
/// pair again; otherwise a spent token ends its session.
async fn refresh(
    auth: Centurion<User>,
    info: ClientInfo,
    JsonBody(body): JsonBody<Refresh>,
) -> Result<Response, Error> {
    Ok(Json(auth.refresh_from(&body.refresh_token, &info).await?).into_response())
}

#[derive(Deserialize, Default)]
struct Logout {
    refresh_token: Option<String>,
}

/// Logs out: the access token and its family are revoked, and the family of the
/// refresh token in the (optional) body. A body that cannot be read (too large, cut
/// off) is a JSON 400 like every other bad body, not axum's plain-text rejection.
#[secured]
async fn logout(
    auth: Centurion<User>,
    claims: Claims,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, Error> {
    let body = body.map_err(|_| invalid("the body cannot be read"))?;
    let body: Logout = if body.iter().all(u8::is_ascii_whitespace) {
        Logout::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|_| invalid("the body must be {\"refresh_token\": \"…\"} or empty"))?
    };
    auth.logout(&claims, body.refresh_token.as_deref()).await?;
    Ok(Json(json!({"message": "logged out"})))
}

// ----------------------------------------------------------------------------------------
// The API.

/// Any valid access token.
#[secured]
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
async fn admin(claims: Claims) -> Json<Value> {
    Json(json!({"message": "welcome, administrator", "id": claims.subject()}))
}

/// Whoever holds `reports:read`: admins, owners (through `admin`) and auditors. The
/// permission comes from the token's roles: no database hit.
#[secured(permissions = "reports:read")]
async fn reports(claims: Claims) -> Json<Value> {
    Json(json!({"reports": ["signups", "logins"], "id": claims.subject()}))
}

#[derive(Deserialize)]
struct NewArticle {
    title: String,
}

/// Editors or authors. The guard runs before the body is parsed: an anonymous request
/// with a broken body gets 401, not 400.
#[secured(any_of = "editor, author")]
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

#[derive(Deserialize)]
struct ChangePassword {
    old_password: String,
    password: String,
}

/// Needs a fresh token (straight from a login). The old password is checked under the
/// login throttle (a wrong one counts against the account and the client address). Every
/// other token of the user is revoked; the answer carries a new pair so this client stays
/// logged in.
#[secured(fresh)]
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
async fn revoke_other_sessions(
    auth: Centurion<User>,
    claims: Claims,
) -> Result<Json<Value>, Error> {
    let revoked = auth.revoke_other_sessions(&claims).await?;
    Ok(Json(json!({"revoked": revoked})))
}

// ----------------------------------------------------------------------------------------

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

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

async fn index() -> Html<&'static str> {
    Html(include_str!("quickstart.html"))
}

fn routes(app: App, auth: &Centurion<User>, trusted: centurion::http::TrustedProxies) -> Router {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/confirm", post(confirm))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/password/forgot", post(forgot))
        .route("/auth/password/reset", post(reset))
        .route("/api/me", get(me))
        .route("/api/admin", get(admin))
        .route("/api/reports", get(reports))
        .route("/api/articles", post(create_article))
        .route("/api/account/password", post(change_password))
        .route(
            "/api/sessions",
            get(list_sessions).delete(revoke_other_sessions),
        )
        .route("/api/sessions/{id}", axum::routing::delete(revoke_session))
        .route("/healthz", get(healthz))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/", get(index))
        .route("/confirm", get(index))
        .route("/reset", get(index))
        .merge(quickstart_session::routes())
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
        mail: parts.mail,
        throttle: parts.throttle,
    };
    quickstart_setup::purge_registrations_now_and_then(parts.auth.clone());
    let router = quickstart_setup::with_middleware(routes(
        app,
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
