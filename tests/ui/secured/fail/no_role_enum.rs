use centurion::secured;

#[secured(roles = "admin")]
async fn dashboard() {}

fn main() {}
