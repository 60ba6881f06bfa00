use centurion::Role;

#[derive(Role)]
enum AppRole {
    #[role(rename = "admin, root")]
    Admin,
}

fn main() {}
