//! `GET /openapi.json`: the quickstart's OpenAPI 3.1 document.
//!
//! The `/api/*` handlers carry `#[secured(…)]` above `#[utoipa::path(…)]`, so each
//! operation documents its requirement and its 401/403 answers itself; utoipa-axum's
//! `OpenApiRouter` routes them and collects their operations. The `/auth/*` routes are
//! documented by `centurion::openapi::auth_routes` at the paths they are mounted at, and
//! the instance's `openapi()` declares the schemes it accepts (bearer, the session cookie
//! with its CSRF header, the identity provider when `CENTURION_OIDC_ISSUER` is set) and
//! writes every secured operation's `security`. The document is serialised once, at start.

use axum::Router;
use axum::http::header;
use axum::routing::get;
use centurion::Centurion;
use centurion::openapi::{AuthRoutePaths, auth_routes};
use serde::Serialize;
use utoipa::Modify;
use utoipa::ToSchema;
use utoipa::openapi::{InfoBuilder, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{App, User};

/// The documented routes (`/api/*`, `/healthz`, the JWKS, the page) and `GET
/// /openapi.json` serving their document.
pub(crate) fn documented(auth: &Centurion<User>, auth_paths: &AuthRoutePaths) -> Router<App> {
    let (router, api) = OpenApiRouter::<App>::new()
        .routes(routes!(crate::me))
        .routes(routes!(crate::admin))
        .routes(routes!(crate::reports))
        .routes(routes!(crate::create_article))
        .routes(routes!(crate::change_password))
        .routes(routes!(crate::list_sessions, crate::revoke_other_sessions))
        .routes(routes!(crate::revoke_session))
        .routes(routes!(crate::healthz))
        .routes(routes!(crate::jwks))
        .routes(routes!(crate::index))
        .split_for_parts();
    let body = serde_json::to_vec(&finish(api, auth, auth_paths)).unwrap_or_default();
    router.route(
        "/openapi.json",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    )
}

/// The whole document: `info` replaced (utoipa-axum fills it from its own Cargo.toml),
/// the ready-made routes added at the paths they are mounted at, the instance's schemes
/// applied.
pub(crate) fn finish(
    mut api: OpenApi,
    auth: &Centurion<User>,
    auth_paths: &AuthRoutePaths,
) -> OpenApi {
    api.info = InfoBuilder::new()
        .title("centurion quickstart")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "The quickstart's HTTP contract. Every `/api/*` operation names, in its security \
             requirement, the roles, permissions and freshness its `#[secured]` attribute \
             requires; `x-centurion` holds the exact requirement. Errors are \
             `{\"error\", \"message\", \"status_code\"}`.",
        ))
        .build();
    api.merge(auth_routes(auth_paths));
    auth.openapi().modify(&mut api);
    api
}

// The answers' shapes, for the document only (the handlers build them with `json!`).

/// `GET /api/me`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Me {
    id: i64,
    username: String,
    email: Option<String>,
    roles: Vec<String>,
}

/// `GET /api/admin`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Welcome {
    message: String,
    /// The token's subject.
    id: String,
}

/// `GET /api/reports`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Reports {
    reports: Vec<String>,
    /// The token's subject.
    id: String,
}

/// `POST /api/articles`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Article {
    title: String,
    /// The token's subject.
    author: String,
}

/// A token pair, as `POST /auth/login` answers it.
#[derive(Serialize, ToSchema)]
pub(crate) struct Pair {
    access_token: String,
    refresh_token: String,
    token_type: String,
    expires_in: u64,
}

/// `POST /api/account/password`.
#[derive(Serialize, ToSchema)]
pub(crate) struct PasswordChanged {
    message: String,
    tokens: Pair,
}

/// One session of `GET /api/sessions`.
#[derive(Serialize, ToSchema)]
pub(crate) struct SessionInfo {
    id: String,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339; `created_at` until the first refresh.
    last_used_at: String,
    user_agent: Option<String>,
    ip: Option<String>,
    /// Whether this is the session of the token used.
    current: bool,
}

/// `DELETE /api/sessions`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Revoked {
    revoked: u64,
}

/// `{"message"}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Message {
    message: String,
}

/// `GET /healthz`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    status: String,
}

/// `GET /.well-known/jwks.json`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Jwks {
    keys: Vec<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    use centurion::memory::MemoryUserStore;
    use centurion::throttle::{Throttle, ThrottleConfig};
    use centurion::{Centurion, CookieConfig};

    use crate::{App, User};

    /// Every operation of the served document, sent through the quickstart's own router
    /// with the documentation probe: each `/api/*` and logout operation documents exactly
    /// the requirement of the guard mounted there, with its `security` and 401/403, and no
    /// secured route is documented as public.
    #[tokio::test]
    async fn documented_requirements_are_the_guards() {
        let auth = Centurion::<User>::builder()
            .secret("a-test-secret-of-at-least-32-bytes-long!")
            .user_store(MemoryUserStore::new())
            .roles::<crate::AppRole>()
            .token_locations(&crate::quickstart_session::TOKEN_LOCATIONS)
            .cookies(CookieConfig::default())
            .build()
            .unwrap();
        let mail = AccountMail::new(
            MailQueue::new(ConsoleMailer::new(std::io::sink())),
            MailTemplates::new("quickstart"),
            "http://127.0.0.1:3000",
        );
        let app = App {
            throttle: Throttle::in_memory(ThrottleConfig::default()).unwrap(),
        };
        let router = crate::routes(app, &mail, &auth, centurion::http::TrustedProxies::none());
        let served = {
            use axum::http::Request;
            use tower::ServiceExt;
            let request = Request::get("/openapi.json")
                .body(axum::body::Body::empty())
                .unwrap();
            let response = router.clone().oneshot(request).await.unwrap();
            let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            serde_json::from_slice::<serde_json::Value>(&body).unwrap()
        };
        // 8 /api operations, POST /auth/logout, DELETE /auth/session.
        assert_eq!(
            centurion::openapi::verify(router, &served, &auth.openapi()).await,
            Ok(10)
        );
    }
}
