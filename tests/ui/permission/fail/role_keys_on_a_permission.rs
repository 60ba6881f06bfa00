use centurion::Permission;

#[derive(Permission)]
enum Perm {
    #[permission(grants = "x")]
    ReportsRead,
}

fn main() {}
