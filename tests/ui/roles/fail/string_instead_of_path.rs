centurion::roles!("auth::Role");

fn main() {}
