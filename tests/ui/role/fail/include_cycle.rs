use centurion::Role;

#[derive(Role)]
enum AppRole {
    #[role(includes = "editor")]
    Admin,
    #[role(includes = "owner")]
    Editor,
    #[role(includes = "admin")]
    Owner,
}

fn main() {}
