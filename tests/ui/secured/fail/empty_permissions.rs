use centurion::secured;

#[secured(any_permission = " ")]
async fn reports() {}

fn main() {}
