use centurion::secured;

#[secured(role_type = String)]
async fn dashboard() {}

fn main() {}
