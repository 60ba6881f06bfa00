//! The same mistake with a bare `#[secured]`: the error points at the handler's name.
use centurion::secured;

#[utoipa::path(get, path = "/api/me", responses((status = 200, description = "You")))]
#[secured]
async fn me() -> &'static str {
    "you"
}

fn main() {}
