//! Issue 14: `roles!` may name a role enum of another crate (the test kit's), hierarchy
//! and permissions included.
#![deny(warnings)]

use axum::{Router, routing::get};

centurion::roles!(centurion_testkit::roles::OrgRole);

#[centurion::secured(roles = "owner", any_of = "auditor, admin")]
async fn manage() {}

#[centurion::secured(permissions = "reports:export")]
async fn export() {}

fn main() {
    let _app: Router = Router::new()
        .route("/m", get(manage))
        .route("/e", get(export));
}
