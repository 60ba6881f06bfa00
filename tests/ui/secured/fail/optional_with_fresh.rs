use centurion::secured;

#[secured(fresh, optional)]
async fn dashboard() {}

fn main() {}
