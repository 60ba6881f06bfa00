use centurion::secured;

#[secured("admin")]
async fn dashboard() {}

fn main() {}
