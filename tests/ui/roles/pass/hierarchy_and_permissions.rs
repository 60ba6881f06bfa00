//! Issue 16: a hierarchy (`includes`, transitive), permissions declared once and granted to
//! roles (inherited along `includes`), and `#[secured]` requiring permissions with and
//! beside roles and `fresh`.
#![deny(warnings)]

use axum::{Router, routing::get};
use centurion::{Claims, Permission, Role, secured};

#[derive(Permission, Clone, Copy)]
#[permission(rename_all = "kebab-case")]
enum Perm {
    #[permission(rename = "reports:read")]
    ReportsRead,
    #[permission(rename = "reports:export")]
    ReportsExport,
    ArticlesPublish,
}

#[derive(Role, Clone, Copy)]
#[role(permissions = Perm)]
enum AppRole {
    #[role(grants = "reports:read")]
    Auditor,
    #[role(grants = "articles-publish")]
    Editor,
    #[role(includes = "auditor", grants = "reports:export")]
    Admin,
    #[role(includes = "admin, editor")]
    Owner,
}

#[secured(permissions = "reports:read")]
async fn reports() {}

#[secured(any_permission = "reports:read, reports:export")]
async fn any_report() {}

#[secured(roles = "admin", permissions = "reports:export, articles-publish", fresh)]
async fn everything(claims: Claims) -> String {
    claims.subject().to_owned()
}

#[secured(any_of = "owner, editor", any_permission = "articles-publish")]
async fn publish(claims: Claims) -> Result<(), centurion::Error> {
    claims.require_permission(Perm::ArticlesPublish)
}

fn main() {
    let table = AppRole::TABLE;
    assert_eq!(table.satisfies("owner"), ["owner", "admin", "auditor", "editor"]);
    assert_eq!(table.grants("owner"), ["reports:export", "reports:read", "articles-publish"]);
    assert_eq!(table.grants("auditor"), ["reports:read"]);
    assert_eq!(table.permission_type(), Some("Perm"));
    assert_eq!(Perm::NAMES, ["reports:read", "reports:export", "articles-publish"]);
    let _ = (AppRole::Owner.name(), Perm::ReportsExport.name());
    let _app: Router = Router::new()
        .route("/reports", get(reports))
        .route("/any", get(any_report))
        .route("/everything", get(everything))
        .route("/publish", get(publish));
}
