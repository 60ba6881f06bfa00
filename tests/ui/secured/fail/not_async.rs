use centurion::secured;

#[secured]
fn dashboard() -> &'static str {
    "hello"
}

fn main() {}
