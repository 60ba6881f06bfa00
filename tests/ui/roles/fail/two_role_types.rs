mod staff {
    #[derive(centurion::Role)]
    pub enum Staff {
        Admin,
    }
}

mod customers {
    #[derive(centurion::Role)]
    pub enum Customer {
        Buyer,
    }
}

centurion::roles!(staff::Staff, customers::Customer);

fn main() {}
