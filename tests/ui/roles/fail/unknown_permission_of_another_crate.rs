centurion::roles!(centurion_testkit::roles::OrgRole);

#[centurion::secured(permissions = "reports:delete")]
async fn purge() {}

fn main() {}
