//! A `#[derive(Role)]` at the crate root declares the crate's roles by itself, as before
//! `roles!` existed; `roles!` naming the same enum is allowed too.
#![deny(warnings)]

use axum::{Router, routing::get};
use centurion::{Role, secured};

centurion::roles!(AppRole);

#[derive(Role)]
enum AppRole {
    Admin,
}

mod api {
    #[centurion::secured(roles = "admin")]
    pub async fn admin() {}
}

#[secured(roles = "admin")]
async fn root_admin() {}

fn main() {
    let _app: Router = Router::new()
        .route("/a", get(api::admin))
        .route("/b", get(root_admin));
}
