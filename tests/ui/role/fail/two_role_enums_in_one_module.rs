//! Documented limit: each `#[derive(Role)]` leaves the same hidden constant in its module
//! (how `#[secured]` finds a role enum), so two role enums need two modules.
use centurion::Role;

#[derive(Role)]
enum StaffRole {
    Admin,
}

#[derive(Role)]
enum CustomerRole {
    Buyer,
}

fn main() {}
