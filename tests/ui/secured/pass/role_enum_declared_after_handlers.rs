//! The role check resolves through the crate root, so handlers may sit in modules
//! declared before the role enum, or above it in the same file.
use axum::{Router, routing::get};
use centurion::{Role, secured};

mod early {
    use centurion::secured;

    #[secured(roles = "admin")]
    pub async fn admin() {}
}

#[secured(any_of = "admin, editor")]
async fn above() {}

#[derive(Role)]
enum AppRole {
    Admin,
    Editor,
}

mod late {
    pub mod nested {
        use centurion::secured;

        #[secured(roles = "editor")]
        pub async fn editor() {}
    }
}

fn main() {
    let _app: Router = Router::new()
        .route("/a", get(early::admin))
        .route("/b", get(above))
        .route("/c", get(late::nested::editor));
}
