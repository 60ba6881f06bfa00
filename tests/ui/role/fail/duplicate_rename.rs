use centurion::Role;

#[derive(Role)]
enum AppRole {
    #[role(rename = "boss", rename = "chief")]
    Admin,
}

fn main() {}
