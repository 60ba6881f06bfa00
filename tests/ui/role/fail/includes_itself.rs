use centurion::Role;

#[derive(Role)]
enum AppRole {
    #[role(includes = "admin")]
    Admin,
}

fn main() {}
