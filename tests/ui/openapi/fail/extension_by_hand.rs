//! `x-centurion` is written by `#[secured]`; other extensions are kept.
use centurion::secured;

#[secured]
#[utoipa::path(get, path = "/api/me", extensions(("x-internal" = json!(true)), ("x-centurion" = json!({}))))]
async fn me() -> &'static str {
    "you"
}

fn main() {}
