use centurion::Permission;

#[derive(Permission)]
enum Perm {
    #[permission(rename = "read reports")]
    ReportsRead,
    #[permission(rename = "say \"hi\"")]
    Quote,
}

fn main() {}
