// With `roles!`, an unknown role lists the names the declared enum has, under its path.
centurion::roles!(auth::Role);

mod auth {
    #[derive(centurion::Role)]
    pub enum Role {
        Admin,
        Editor,
    }
}

#[centurion::secured(roles = "admni")]
async fn dashboard() {}

fn main() {}
