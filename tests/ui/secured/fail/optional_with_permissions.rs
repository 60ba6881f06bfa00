use centurion::secured;

#[secured(optional, permissions = "reports:read")]
async fn home() {}

fn main() {}
