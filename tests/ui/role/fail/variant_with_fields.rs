use centurion::Role;

#[derive(Role)]
enum AppRole {
    Admin,
    Team(String),
}

fn main() {}
