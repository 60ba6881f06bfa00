//! `#[utoipa::path]` above `#[secured]` has already built the operation when `#[secured]`
//! runs, so the order is an error that says which one is right.
use centurion::secured;

#[utoipa::path(get, path = "/api/admin", responses((status = 200, description = "Welcome")))]
#[secured(fresh)]
async fn admin() -> &'static str {
    "welcome"
}

fn main() {}
