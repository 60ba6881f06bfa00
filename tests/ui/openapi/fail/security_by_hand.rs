//! `#[secured]` documents the security from its arguments; a hand-written one could say
//! something else.
use centurion::secured;

#[secured(fresh)]
#[utoipa::path(get, path = "/api/admin", security(("bearerAuth" = [])), responses((status = 200, description = "Welcome")))]
async fn admin() -> &'static str {
    "welcome"
}

fn main() {}
