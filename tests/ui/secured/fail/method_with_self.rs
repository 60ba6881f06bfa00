use centurion::secured;

struct Api;

impl Api {
    #[secured]
    async fn dashboard(&self) -> &'static str {
        "hello"
    }
}

fn main() {}
