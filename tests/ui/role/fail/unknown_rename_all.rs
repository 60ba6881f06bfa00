use centurion::Role;

#[derive(Role)]
#[role(rename_all = "kebab")]
enum AppRole {
    SuperAdmin,
}

fn main() {}
