use centurion::secured;

struct NotRoles;

#[secured(roles = "admin", role_type = NotRoles)]
async fn dashboard() {}

fn main() {}
