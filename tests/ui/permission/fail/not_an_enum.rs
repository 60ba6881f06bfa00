use centurion::Permission;

#[derive(Permission)]
struct Perm {
    read: bool,
}

fn main() {}
