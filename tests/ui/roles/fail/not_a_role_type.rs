struct NotRoles;

centurion::roles!(NotRoles);

fn main() {}
