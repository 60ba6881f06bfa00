use centurion::secured;

#[secured(fresh = true)]
async fn dashboard() {}

fn main() {}
