use centurion::secured;

mod roles {
    use centurion::Role;

    #[derive(Role)]
    pub enum AppRole {
        Admin,
        Editor,
    }
}

#[secured(roles = "admin", any_of = "editr", role_type = roles::AppRole)]
async fn dashboard() {}

fn main() {}
