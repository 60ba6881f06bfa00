mod auth {
    #[derive(centurion::Role)]
    pub enum Role {
        Admin,
    }

    centurion::roles!(Role);
}

fn main() {}
