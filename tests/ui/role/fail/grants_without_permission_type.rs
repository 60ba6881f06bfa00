use centurion::Role;

#[derive(Role)]
enum AppRole {
    #[role(grants = "reports:read")]
    Auditor,
}

fn main() {}
