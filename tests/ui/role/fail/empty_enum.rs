use centurion::Role;

#[derive(Role)]
enum AppRole {}

fn main() {}
