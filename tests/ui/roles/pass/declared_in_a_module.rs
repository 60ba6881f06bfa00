//! Issue 14: a role enum in a module, declared by one line at the crate root, serves every
//! `#[secured]` of the crate, in any module; an enum used only by `#[secured]` draws no
//! `dead_code` warning.
#![deny(warnings)]

use axum::{Router, routing::get};

centurion::roles!(auth::Role);

mod auth {
    #[derive(centurion::Role)]
    pub enum Role {
        Admin,
        Editor,
    }
}

mod api {
    use centurion::secured;

    #[secured(roles = "admin")]
    pub async fn dashboard() {}

    pub mod nested {
        #[centurion::secured(any_of = "editor, admin")]
        pub async fn drafts() {}
    }
}

#[centurion::secured(roles = "editor")]
async fn at_the_root() {}

fn main() {
    let _app: Router = Router::new()
        .route("/dashboard", get(api::dashboard))
        .route("/drafts", get(api::nested::drafts))
        .route("/root", get(at_the_root));
}
