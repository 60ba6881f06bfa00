//! Issue 14: an enum named `Role` works: derive it by its path (`use centurion::Role`
//! would bring the trait of the same name into scope, which the enum then clashes with).
#![deny(warnings)]

use axum::{Router, routing::get};
use centurion::{AuthUser, secured};

#[derive(centurion::Role, Clone, Copy, Debug, PartialEq)]
enum Role {
    Admin,
    Editor,
}

#[derive(AuthUser)]
struct User {
    #[auth_user(id)]
    id: i64,
    #[auth_user(username)]
    name: String,
    #[auth_user(password)]
    hash: String,
    #[auth_user(roles)]
    roles: Vec<Role>,
}

#[secured(roles = "admin")]
async fn admin() {}

#[secured(any_of = "editor")]
async fn edit() {}

fn main() {
    use centurion::Role as _;
    assert_eq!(Role::Admin.name(), "admin");
    let user = User { id: 1, name: "ada".into(), hash: String::new(), roles: vec![Role::Editor] };
    assert_eq!(user.roles(), ["editor"]);
    let _ = (&user.id, &user.name, &user.hash);
    let _app: Router = Router::new().route("/a", get(admin)).route("/e", get(edit));
}
