use centurion::{Role, secured};

#[derive(Role)]
enum AppRole {
    Admin,
    Editor,
    #[role(rename = "super-admin")]
    SuperAdmin,
}

#[secured(roles = "admin")]
async fn dashboard() {}

mod articles {
    use centurion::secured;

    #[secured(any_of = "editor, authr")]
    pub async fn publish() {}
}

fn main() {}
