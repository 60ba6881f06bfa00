//! The guard takes one of axum's 16 argument slots: 15 remain for the handler.
use axum::{
    Json, Router,
    extract::{OriginalUri, Path, Query, State},
    http::{HeaderMap, Method, Uri, Version},
    routing::post,
};
use centurion::{Claims, CurrentUser, secured, testing::TestUser};
use std::collections::HashMap;

#[derive(Clone)]
struct AppState;

#[secured]
#[allow(clippy::too_many_arguments)]
async fn crowded(
    _state: State<AppState>,
    _path: Path<u32>,
    _query: Query<HashMap<String, String>>,
    _claims: Claims,
    _user: CurrentUser<TestUser>,
    _optional_claims: Option<Claims>,
    _method: Method,
    _uri: Uri,
    _original: OriginalUri,
    _version: Version,
    _headers: HeaderMap,
    _method2: Method,
    _uri2: Uri,
    _headers2: HeaderMap,
    _body: Json<serde_json::Value>,
) {
}

fn main() {
    let _app: Router = Router::new()
        .route("/{id}", post(crowded))
        .with_state(AppState);
}
