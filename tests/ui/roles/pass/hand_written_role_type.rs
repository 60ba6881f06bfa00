//! `roles!` takes any `Role` implementation, hand-written ones too (flat, no permissions).
#![deny(warnings)]

use axum::{Router, routing::get};

centurion::roles!(self::external::StaffRole);

mod external {
    pub struct StaffRole;

    impl centurion::Role for StaffRole {
        const NAMES: &'static [&'static str] = &["staff", "manager"];
        fn name(&self) -> &'static str {
            "staff"
        }
        fn from_name(name: &str) -> Option<Self> {
            (name == "staff").then_some(StaffRole)
        }
    }
}

#[centurion::secured(roles = "manager")]
async fn manage() {}

fn main() {
    let _app: Router = Router::new().route("/m", get(manage));
}
