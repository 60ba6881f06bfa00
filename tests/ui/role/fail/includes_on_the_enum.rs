use centurion::Role;

#[derive(Role)]
#[role(includes = "admin")]
enum AppRole {
    Admin,
    Owner,
}

fn main() {}
