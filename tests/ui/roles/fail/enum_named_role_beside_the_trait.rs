// `use centurion::Role` brings the trait `Role` into scope; an enum of the same name then
// clashes with it (the first error says so). Write `#[derive(centurion::Role)] enum Role`
// instead, as `ui/roles/pass/enum_named_role.rs` does.
use centurion::Role;

#[derive(Role)]
enum Role {
    Admin,
}

#[centurion::secured(roles = "admin")]
async fn dashboard() {}

fn main() {}
