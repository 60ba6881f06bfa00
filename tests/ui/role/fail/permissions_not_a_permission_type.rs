use centurion::Role;

struct NotPermissions;

#[derive(Role)]
#[role(permissions = NotPermissions)]
enum AppRole {
    Auditor,
}

fn main() {}
