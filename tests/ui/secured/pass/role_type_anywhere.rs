//! `role_type = path` checks against any `Role` type, wherever it is declared (another
//! module, another crate, a hand-written impl).
use axum::{Router, routing::get};
use centurion::secured;

mod auth {
    pub mod roles {
        use centurion::Role;

        #[derive(Role)]
        #[role(rename_all = "kebab-case")]
        pub enum StaffRole {
            SuperAdmin,
            Editor,
        }
    }
}

struct HandWritten;

impl centurion::Role for HandWritten {
    const NAMES: &'static [&'static str] = &["reader"];
    fn name(&self) -> &'static str {
        "reader"
    }
    fn from_name(name: &str) -> Option<Self> {
        (name == "reader").then_some(HandWritten)
    }
}

#[secured(roles = "super-admin", any_of = "editor", role_type = auth::roles::StaffRole)]
async fn staff() {}

#[secured(roles = "reader", role_type = HandWritten)]
async fn reader() {}

fn main() {
    let _app: Router = Router::new()
        .route("/staff", get(staff))
        .route("/reader", get(reader));
}
