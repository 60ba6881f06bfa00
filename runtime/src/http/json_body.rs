//! [`JsonBody`]: a JSON request body whose refusals are centurion's JSON error body.

use axum::extract::{FromRequest, OptionalFromRequest};

use crate::error::{Error, ErrorKind, Result};

/// A JSON request body whose refusals are centurion's JSON error body: `400
/// InvalidRequest` with a message that says what is wrong, where axum's own [`Json`]
/// answers in plain text (and with 415 or 422). Use it for the bodies of the routes that
/// log in, refresh, register and reset, so that every bad input a client can send gets the
/// same error shape as a refused token.
///
/// | the body | message |
/// | --- | --- |
/// | no `Content-Type: application/json` | `the body must be JSON (Content-Type: application/json)` |
/// | not JSON | `the body is not valid JSON` |
/// | JSON of the wrong shape | `the body does not fit: ` and serde's account (a missing field, a wrong type) |
/// | unreadable (over the body limit, cut off) | `the body cannot be read` |
///
/// Put it last among the handler's arguments (it consumes the body); with `#[secured]` the
/// token is checked before the body is read.
///
/// `Option<JsonBody<T>>` takes an optional body: an empty body (or one of whitespace
/// only) is `None`, whatever its `Content-Type`; any other body is read as above, and a
/// bad one is the same JSON 400, never `None`.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use axum::{Router, body::Body, http::Request, routing::post};
/// use centurion::JsonBody;
/// use tower::ServiceExt;
///
/// #[derive(serde::Deserialize)]
/// struct Logout { refresh_token: String }
///
/// async fn logout(body: Option<JsonBody<Logout>>) -> String {
///     match body {
///         Some(JsonBody(body)) => format!("also {}", body.refresh_token),
///         None => "no body".to_owned(),
///     }
/// }
///
/// let app = Router::new().route("/logout", post(logout));
/// let send = |body: &'static str| {
///     let request = Request::post("/logout")
///         .header("content-type", "application/json")
///         .body(Body::from(body))
///         .unwrap();
///     app.clone().oneshot(request)
/// };
/// let empty = send("").await.unwrap();
/// let body = axum::body::to_bytes(empty.into_body(), 1 << 16).await.unwrap();
/// assert_eq!(&body[..], b"no body");
/// assert_eq!(send(r#"{"refresh_token": "r"}"#).await.unwrap().status(), 200);
/// assert_eq!(send("{not json").await.unwrap().status(), 400);
/// # });
/// ```
///
/// [`Json`]: axum::Json
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use axum::{Router, body::Body, http::Request, routing::post};
/// use centurion::JsonBody;
/// use tower::ServiceExt;
///
/// #[derive(serde::Deserialize)]
/// struct Login { username: String }
///
/// async fn login(JsonBody(login): JsonBody<Login>) -> String {
///     login.username
/// }
///
/// let app = Router::new().route("/login", post(login));
/// let request = Request::post("/login")
///     .header("content-type", "application/json")
///     .body(Body::from(r#"{"user": "ada"}"#))
///     .unwrap();
/// let response = app.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 400);
/// let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
/// let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
/// assert_eq!(body["error"], "InvalidRequest");
/// let message = body["message"].as_str().unwrap();
/// assert!(message.starts_with("the body does not fit: "), "{message}");
/// assert!(message.contains("missing field `username`"), "{message}");
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self> {
        use axum::extract::rejection::JsonRejection;
        match <axum::Json<T> as FromRequest<S>>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => {
                let message = match rejection {
                    JsonRejection::MissingJsonContentType(_) => {
                        "the body must be JSON (Content-Type: application/json)".to_owned()
                    }
                    JsonRejection::JsonSyntaxError(_) => "the body is not valid JSON".to_owned(),
                    JsonRejection::JsonDataError(e) => {
                        format!("the body does not fit: {}", e.body_text())
                    }
                    _ => "the body cannot be read".to_owned(),
                };
                Err(Error::new(ErrorKind::InvalidRequest).with_message(message))
            }
        }
    }
}

impl<S: Send + Sync, T: serde::de::DeserializeOwned> OptionalFromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Option<Self>> {
        let content_type = req.headers().get(http::header::CONTENT_TYPE).cloned();
        // Read through the request, so the application's body limit applies.
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| {
                Error::new(ErrorKind::InvalidRequest).with_message("the body cannot be read")
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        // What the JSON reading looks at: the content type and the bytes.
        let mut request = axum::extract::Request::new(axum::body::Body::from(bytes));
        if let Some(content_type) = content_type {
            request
                .headers_mut()
                .insert(http::header::CONTENT_TYPE, content_type);
        }
        <Self as FromRequest<S>>::from_request(request, state)
            .await
            .map(Some)
    }
}
