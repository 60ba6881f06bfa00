use centurion::secured;

mod roles {
    use centurion::Role;

    #[derive(Role)]
    pub enum AppRole {
        Admin,
    }
}

#[secured(roles = "admin")]
async fn dashboard() {}

fn main() {}
