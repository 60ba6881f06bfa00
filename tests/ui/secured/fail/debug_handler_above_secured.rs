//! Documented limit: `#[secured]` must be written above `#[axum::debug_handler]`. Below
//! it, `#[secured]` adds the guard argument after `debug_handler` has generated a call
//! with the original arguments.
use centurion::secured;

#[axum::debug_handler]
#[secured]
async fn dashboard() -> &'static str {
    "hello"
}

fn main() {}
