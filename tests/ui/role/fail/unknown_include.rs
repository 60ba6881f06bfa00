use centurion::Role;

#[derive(Role)]
enum AppRole {
    Admin,
    Editor,
    #[role(includes = "admin, editr")]
    Owner,
}

fn main() {}
