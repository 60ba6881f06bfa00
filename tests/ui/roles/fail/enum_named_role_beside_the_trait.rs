// `use centurion::Role` brings the trait `Role` into scope; an enum of the same name then
// clashes with it. Write `#[derive(centurion::Role)] enum Role` instead (one error here,
// not one per use of the name).
use centurion::Role;

#[derive(Role)]
enum Role {
    Admin,
}

#[centurion::secured(roles = "admin")]
async fn dashboard() {}

fn main() {}
