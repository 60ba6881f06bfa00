//! `#[secured]` written above `#[axum::debug_handler]`: debug_handler sees the guard as an
//! ordinary `FromRequestParts` extractor and still infers the state type.
use axum::{Router, debug_handler, extract::State, routing::get};
use centurion::{Claims, Role, secured};

#[derive(Role)]
enum AppRole {
    Admin,
}

#[derive(Clone)]
struct AppState;

#[secured(roles = "admin")]
#[debug_handler]
async fn with_state(State(_state): State<AppState>, claims: Claims) -> String {
    claims.subject().to_owned()
}

#[secured]
#[debug_handler(state = AppState)]
async fn without_arguments() -> &'static str {
    "ok"
}

fn main() {
    let _app: Router = Router::new()
        .route("/a", get(with_state))
        .route("/b", get(without_arguments))
        .with_state(AppState);
}
