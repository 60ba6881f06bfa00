use centurion::Role;

#[derive(Role)]
enum AppRole {
    #[role(name = "boss")]
    Admin,
}

fn main() {}
