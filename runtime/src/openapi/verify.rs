//! [`verify`]: a document against the guards a router actually runs.

use std::future::poll_fn;

use tower_service::Service;

use crate::docs::{self, DocRequirement, EXTENSION, SecurityDocs};
use crate::http::Introspect;

/// Sends one in-process probe per documented operation through `router` and compares what
/// the guard mounted at that method and path enforces (its `#[secured]` arguments) with the
/// operation's `x-centurion`, its `security` (as `schemes` writes it) and its 401/403
/// responses; then runs [`docs::check_document`]. Returns how many secured operations were
/// compared, or every mismatch: a wrong requirement, a secured handler documented as
/// public, a documented requirement that no guard answers (a 404, 405, or a public
/// handler), a missing 401 or 403.
///
/// The probe is a private request extension, which only code in the process can add: the
/// guard answers it with its requirement and refuses the request, so a secured handler
/// never runs. A **public** handler does run (with no body, `0` for each path parameter),
/// so call this on a test instance. Operations the document does not list are not seen:
/// compare the document's paths with your routes separately.
///
/// With utoipa (`tests/aide.rs` in the repository does the same with aide):
///
#[cfg_attr(feature = "utoipa", doc = "```")]
#[cfg_attr(not(feature = "utoipa"), doc = "```ignore")]
/// use centurion::{Centurion, memory::MemoryUserStore, secured, testing::TestUser};
/// use utoipa::Modify;
/// use utoipa_axum::{router::OpenApiRouter, routes};
///
/// #[derive(centurion::Role)]
/// enum Role { Editor, Author }
///
/// #[secured(any_of = "editor, author")]
/// #[utoipa::path(post, path = "/api/articles", responses((status = 201, description = "Created")))]
/// async fn publish() {}
///
/// # async fn demo() -> Result<(), centurion::Error> {
/// let auth = Centurion::<TestUser>::builder()
///     .secret("an-example-secret-of-at-least-32-bytes!!")
///     .user_store(MemoryUserStore::new())
///     .build()?;
/// let (router, mut api) = OpenApiRouter::new().routes(routes!(publish)).split_for_parts();
/// auth.openapi().modify(&mut api);
/// let mut doc = serde_json::to_value(&api).unwrap();
/// assert_eq!(centurion::openapi::verify(router.clone(), &doc, &auth.openapi()).await, Ok(1));
///
/// doc["paths"]["/api/articles"]["post"]["x-centurion"]["any_of"] = serde_json::json!(["editor"]);
/// let problems = centurion::openapi::verify(router, &doc, &auth.openapi()).await.unwrap_err();
/// assert!(problems[0].starts_with("POST /api/articles: the guard requires"));
/// # Ok(()) }
/// # fn main() {
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// # }
/// ```
pub async fn verify(
    router: axum::Router,
    doc: &serde_json::Value,
    schemes: &SecurityDocs,
) -> Result<usize, Vec<String>> {
    let mut problems = Vec::new();
    let mut checked = 0;
    for (method, path, operation) in docs::operations(doc) {
        let place = format!("{} {path}", method.to_uppercase());
        let probe = Introspect::default();
        let status = match probe_route(router.clone(), method, path, probe.clone()).await {
            Ok(status) => status,
            Err(problem) => {
                problems.push(format!("{place}: {problem}"));
                continue;
            }
        };
        let documented = match operation.get(EXTENSION) {
            None => None,
            Some(value) => match serde_json::from_value::<DocRequirement>(value.clone()) {
                Ok(requirement) => Some(requirement),
                Err(error) => {
                    problems.push(format!("{place}: unreadable {EXTENSION}: {error}"));
                    continue;
                }
            },
        };
        match (probe.answered(), documented) {
            (None, None) => {}
            (Some(guard), None) => problems.push(format!(
                "{place}: the handler is secured ({guard:?}) but the operation has no {EXTENSION}"
            )),
            (None, Some(_)) => problems.push(format!(
                "{place}: documented as secured, but no guard answered (status {status})"
            )),
            (Some(guard), Some(documented)) => {
                checked += 1;
                compare(
                    &place,
                    method,
                    operation,
                    &guard,
                    &documented,
                    schemes,
                    &mut problems,
                );
            }
        }
    }
    if let Err(more) = docs::check_document(doc) {
        problems.extend(more);
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(problems)
    }
}

fn compare(
    place: &str,
    method: &str,
    operation: &serde_json::Value,
    guard: &DocRequirement,
    documented: &DocRequirement,
    schemes: &SecurityDocs,
    problems: &mut Vec<String>,
) {
    if guard != documented {
        problems.push(format!(
            "{place}: the guard requires {guard:?}, the document says {documented:?}"
        ));
    }
    let expected =
        serde_json::to_value(schemes.config().alternatives(guard, method)).unwrap_or_default();
    if operation.get("security") != Some(&expected) {
        problems.push(format!(
            "{place}: security is {}, expected {expected}",
            operation
                .get("security")
                .unwrap_or(&serde_json::Value::Null)
        ));
    }
    let mut statuses = vec!["401"];
    if guard.can_forbid() {
        statuses.push("403");
    }
    for status in statuses {
        let response = &operation["responses"][status];
        let body = &response["content"]["application/json"]["schema"]["$ref"];
        if body != "#/components/schemas/ErrorBody" {
            problems.push(format!(
                "{place}: no {status} response with the ErrorBody schema"
            ));
        }
    }
}

/// Sends the probe; the response's status, or why the request could not be made.
async fn probe_route(
    mut router: axum::Router,
    method: &str,
    path: &str,
    probe: Introspect,
) -> Result<http::StatusCode, String> {
    let method = http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|error| error.to_string())?;
    let request = http::Request::builder()
        .method(method)
        .uri(concrete_path(path))
        .extension(probe)
        .body(axum::body::Body::empty())
        .map_err(|error| error.to_string())?;
    let ready =
        poll_fn(|cx| Service::<http::Request<axum::body::Body>>::poll_ready(&mut router, cx)).await;
    let Ok(()) = ready;
    let Ok(response) = router.call(request).await;
    Ok(response.status())
}

/// `/api/sessions/{id}` → `/api/sessions/0`.
fn concrete_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "0"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}
