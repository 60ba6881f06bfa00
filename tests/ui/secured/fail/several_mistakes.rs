use centurion::secured;

#[secured(roles = "", any_of = "a,,b", fresh, fresh)]
fn dashboard() {}

fn main() {}
