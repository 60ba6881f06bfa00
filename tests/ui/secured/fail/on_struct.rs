use centurion::secured;

#[secured]
struct Dashboard;

fn main() {}
