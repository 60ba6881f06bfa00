use centurion::secured;

#[secured(roles = ["admin", "editor"])]
async fn dashboard() {}

fn main() {}
