// A role enum in a module, beside the handler, and no `roles!`: the error names the line
// to write, with the enum's path.
mod auth {
    #[derive(centurion::Role)]
    pub enum Role {
        Admin,
    }

    #[centurion::secured(roles = "admin")]
    pub async fn dashboard() {}
}

fn main() {}
