use centurion::Permission;

#[derive(Permission)]
enum Perm {
    #[permission(rename = "reports_read")]
    Reports,
    ReportsRead,
}

fn main() {}
