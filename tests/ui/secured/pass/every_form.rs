//! Every form of `#[secured]`, routed with `Router::route(…, get(handler))` unchanged.
use axum::{
    Json, Router,
    extract::{Path, Query, State},
    routing::{get, post},
};
use centurion::{Claims, CurrentUser, Role, secured, testing::TestUser};
use std::collections::HashMap;

#[derive(Role)]
enum AppRole {
    Admin,
    Editor,
    Author,
    #[role(rename = "super-admin")]
    SuperAdmin,
}

#[derive(Clone)]
struct AppState;

#[secured]
async fn authenticated(claims: Claims) -> String {
    claims.subject().to_owned()
}

#[secured(roles = "admin")]
async fn admin_only() -> &'static str {
    "admin"
}

#[secured(roles = "admin, super-admin")]
async fn all_of(State(_state): State<AppState>) {}

#[secured(any_of = "editor, author")]
async fn any_of(Json(body): Json<serde_json::Value>) -> Json<serde_json::Value> {
    Json(body)
}

#[secured(roles = "admin", any_of = "editor, author", fresh)]
async fn everything(Path(id): Path<u32>, Query(q): Query<HashMap<String, String>>) -> String {
    format!("{id} {q:?}")
}

#[secured(fresh)]
async fn fresh_only(user: CurrentUser<TestUser>) -> String {
    user.username.clone()
}

#[secured(optional)]
async fn maybe_anonymous(claims: Option<Claims>) -> &'static str {
    if claims.is_some() { "known" } else { "anonymous" }
}

fn main() {
    let _app: Router = Router::new()
        .route("/authenticated", get(authenticated))
        .route("/admin", get(admin_only))
        .route("/all", get(all_of))
        .route("/any", post(any_of))
        .route("/everything/{id}", get(everything))
        .route("/fresh", get(fresh_only))
        .route("/maybe", get(maybe_anonymous))
        .with_state(AppState);
}
