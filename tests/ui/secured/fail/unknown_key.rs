use centurion::secured;

#[secured(role = "admin")]
async fn dashboard() {}

fn main() {}
