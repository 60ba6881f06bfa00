//! Issue 14: a role enum (and its permission type) that only `#[secured]` uses draws no
//! `dead_code` warning.
#![deny(warnings)]

use axum::{Router, routing::get};
use centurion::{Permission, Role, secured};

#[derive(Permission)]
enum Perm {
    #[permission(rename = "reports:read")]
    ReportsRead,
}

#[derive(Role)]
#[role(permissions = Perm)]
enum AppRole {
    #[role(grants = "reports:read")]
    Admin,
    Editor,
}

#[secured(roles = "admin")]
async fn admin() {}

#[secured(any_of = "editor", permissions = "reports:read")]
async fn reports() {}

fn main() {
    let _app: Router = Router::new()
        .route("/admin", get(admin))
        .route("/reports", get(reports));
}
