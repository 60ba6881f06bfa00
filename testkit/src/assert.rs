//! The error-body assertions: every refusal is `{"error", "message", "status_code"}` and
//! nothing else, `application/json`, with `status_code` equal to the HTTP status.

use serde_json::Value;

use crate::http::Response;

/// Asserts that `response` is the contract's JSON error with this status:
/// `{"error", "message", "status_code"}` and nothing else, `status_code` equal to the
/// HTTP status. Returns the error's name.
#[track_caller]
pub fn assert_error(response: &Response, status: u16) -> String {
    assert_eq!(response.status, status, "status: {response:?}");
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "an error is JSON: {response:?}"
    );
    let body = response.json();
    let object = body
        .as_object()
        .unwrap_or_else(|| panic!("the error body is an object: {response:?}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["error", "message", "status_code"],
        "error body keys: {response:?}"
    );
    let name = body["error"].as_str().unwrap_or_default();
    assert!(
        !name.is_empty(),
        "`error` is a non-empty string: {response:?}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "`message` is a non-empty string: {response:?}"
    );
    assert_eq!(
        body["status_code"].as_u64(),
        Some(u64::from(status)),
        "`status_code` equals the HTTP status: {response:?}"
    );
    name.to_owned()
}

/// [`assert_error`], and the error's name is `name`.
#[track_caller]
pub fn assert_error_named(response: &Response, status: u16, name: &str) {
    let got = assert_error(response, status);
    assert_eq!(got, name, "error name: {response:?}");
}

/// The JSON error body of a response with this status, from its raw bytes (for code that
/// has no [`Response`], such as the fuzz targets): `{"error", "message", "status_code"}`
/// with `status_code` equal to the status.
#[track_caller]
pub fn check_error_body(status: u16, body: &[u8]) {
    let value: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "a {status} answer without a JSON body ({e}): {:?}",
            String::from_utf8_lossy(body)
        )
    });
    assert!(value["error"].is_string(), "{value}");
    assert!(value["message"].is_string(), "{value}");
    assert_eq!(value["status_code"], status, "{value}");
}

/// Asserts a successful status and returns the JSON body.
#[track_caller]
pub fn expect_json(response: &Response, status: u16) -> Value {
    assert_eq!(response.status, status, "status: {response:?}");
    assert!(
        response
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "JSON answer: {response:?}"
    );
    response.json()
}

/// The sorted keys of a JSON object.
#[track_caller]
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort_unstable();
    keys
}
