use centurion::Role;

#[derive(Role)]
struct AppRole {
    name: String,
}

fn main() {}
