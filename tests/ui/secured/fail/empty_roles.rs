use centurion::secured;

#[secured(roles = "")]
async fn dashboard() {}

fn main() {}
