//! `#[secured]` above `#[utoipa::path]`, with and without `responses(…)`, with a path
//! parameter, a user's own 403 and extension, and `#[cfg]`; secured handlers without
//! documentation beside them.
use axum::extract::Path;
use centurion::secured;

#[secured(roles = "admin")]
#[utoipa::path(get, path = "/api/admin", responses((status = 200, description = "Welcome")))]
async fn admin() -> &'static str {
    "welcome"
}

#[secured(permissions = "reports:read", fresh)]
#[utoipa::path(post, path = "/api/reports", responses(
    (status = 403, description = "Auditors only.", body = centurion::openapi::ErrorBody),
), extensions(("x-internal" = json!(true))))]
async fn reports() {}

#[secured(optional)]
#[utoipa::path(delete, path = "/api/sessions/{id}", params(("id" = String, Path)))]
async fn session(Path(id): Path<String>) -> String {
    id
}

#[cfg(any())]
#[secured]
#[utoipa::path(get, path = "/never")]
async fn never() {}

#[secured]
async fn undocumented() {}

#[secured(any_of = "editor, author")]
async fn r#type() {}

#[derive(centurion::Role)]
#[role(permissions = Perm)]
enum Role {
    #[role(grants = "reports:read")]
    Admin,
    Editor,
    Author,
}

#[derive(centurion::Permission)]
enum Perm {
    #[permission(rename = "reports:read")]
    ReportsRead,
}

fn main() {
    use utoipa::Path as _;
    let _ = (admin, reports, session, undocumented, r#type);
    let operation = __path_admin::operation();
    assert!(operation.extensions.unwrap().get("x-centurion").is_some());
}
