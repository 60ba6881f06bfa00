use centurion::Role;

#[derive(Role)]
enum AppRole {
    Admin,
    #[role(rename = "admin")]
    Administrator,
}

fn main() {}
