use centurion::secured;

#[secured(roles_accepted = "admin, editor")]
async fn dashboard() {}

fn main() {}
