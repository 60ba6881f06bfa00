use axum::{Router, routing::get};
use centurion::secured;

// The mistake is reported once; the handler is still emitted, so the route below does
// not add errors of its own.
#[secured(rolse = "admin")]
async fn dashboard() -> &'static str {
    "hello"
}

fn main() {
    let _app: Router = Router::new().route("/", get(dashboard));
}
