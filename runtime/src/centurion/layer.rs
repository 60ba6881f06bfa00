//! The tower layer: it puts the instance (and its core) into every request's extensions,
//! where the extractors find it, and applies the application's error responder to
//! centurion's error responses.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::Response;
use http::Request;

use super::Centurion;
use crate::core::Core;
use crate::error::Error;
use crate::user::AuthUser;

/// A tower layer that makes the instance available to extractors and, when an error
/// responder is configured, rewrites centurion's error responses.
///
/// ```
/// # fn demo() -> Result<(), centurion::Error> {
/// use axum::{Router, routing::get};
/// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
/// let auth = Centurion::<TestUser>::builder()
///     .secret("an-example-secret-of-at-least-32-bytes!!")
///     .user_store(MemoryUserStore::new())
///     .build()?;
/// let app: Router = Router::new().route("/", get(|| async { "hi" })).layer(auth.layer());
/// # Ok(()) }
/// # demo().unwrap();
/// ```
pub struct CenturionLayer<U> {
    auth: Centurion<U>,
}

impl<U> Clone for CenturionLayer<U> {
    fn clone(&self) -> Self {
        Self {
            auth: self.auth.clone(),
        }
    }
}

impl<U> std::fmt::Debug for CenturionLayer<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CenturionLayer")
    }
}

impl<U> CenturionLayer<U> {
    pub(super) fn new(auth: Centurion<U>) -> Self {
        Self { auth }
    }
}

impl<S, U> tower_layer::Layer<S> for CenturionLayer<U> {
    type Service = CenturionService<S, U>;

    fn layer(&self, inner: S) -> Self::Service {
        CenturionService {
            inner,
            auth: self.auth.clone(),
        }
    }
}

/// The service [`CenturionLayer`] wraps around a router or route.
pub struct CenturionService<S, U> {
    inner: S,
    auth: Centurion<U>,
}

impl<S: Clone, U> Clone for CenturionService<S, U> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            auth: self.auth.clone(),
        }
    }
}

impl<S, U> std::fmt::Debug for CenturionService<S, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CenturionService")
    }
}

impl<S, U, B> tower_service::Service<Request<B>> for CenturionService<S, U>
where
    S: tower_service::Service<Request<B>, Response = Response>,
    U: AuthUser,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let extensions = req.extensions_mut();
        extensions.insert(Arc::clone(&self.auth.core));
        extensions.insert(self.auth.clone());
        ResponseFuture {
            inner: self.inner.call(req),
            core: Arc::clone(&self.auth.core),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`CenturionService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        core: Arc<Core>,
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = std::task::ready!(this.inner.poll(cx))?;
        let Some(responder) = this.core.responder() else {
            return Poll::Ready(Ok(response));
        };
        match response.extensions().get::<Arc<Error>>() {
            Some(err) => Poll::Ready(Ok(keep_protocol_headers(&response, responder(err)))),
            None => Poll::Ready(Ok(response)),
        }
    }
}

/// The headers of centurion's error response that belong to the protocol rather than to
/// the body, carried over to the responder's response unless it sets them itself: the
/// `WWW-Authenticate` challenge of a 401 or 403 (RFC 6750) and the `Retry-After` of a 429.
fn keep_protocol_headers(original: &Response, mut replaced: Response) -> Response {
    for name in [http::header::WWW_AUTHENTICATE, http::header::RETRY_AFTER] {
        if replaced.headers().contains_key(&name) {
            continue;
        }
        for value in original.headers().get_all(&name) {
            replaced.headers_mut().append(name.clone(), value.clone());
        }
    }
    replaced
}
