//! One request: the service hyper calls around the application. It adds
//! `ConnectInfo<SocketAddr>`, bounds the handler with the request timeout (a 408 with the
//! JSON error body), and tells the connection's watchdog when a handler runs and when a
//! response body is being sent.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, Request, Version, header};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Sleep, sleep};
use tower::ServiceExt;
use tower::util::Oneshot;
use tower_service::Service;

use super::connection::Activity;
use super::stats::ServerStats;
use crate::error::{Error, ErrorKind};

/// The per-connection service given to hyper.
#[derive(Clone)]
pub(super) struct ConnService<S> {
    inner: S,
    peer: SocketAddr,
    activity: Arc<Activity>,
    request_timeout: Option<Duration>,
    stats: ServerStats,
}

impl<S> ConnService<S> {
    pub(super) fn new(
        inner: S,
        peer: SocketAddr,
        activity: Arc<Activity>,
        request_timeout: Option<Duration>,
        stats: ServerStats,
    ) -> Self {
        Self {
            inner,
            peer,
            activity,
            request_timeout,
            stats,
        }
    }
}

impl<S> hyper::service::Service<Request<Incoming>> for ConnService<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<GuardedBody>;
    type Error = Infallible;
    type Future = RequestFuture<Oneshot<S, Request<Body>>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let handler = HandlerGuard::new(Arc::clone(&self.activity));
        let mut request = request.map(Body::new);
        // What `into_make_service_with_connect_info::<SocketAddr>()` would insert.
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let http1 = request.version() < Version::HTTP_2;
        RequestFuture {
            inner: self.inner.clone().oneshot(request),
            timeout: self.request_timeout,
            deadline: None,
            handler: Some(handler),
            http1,
            stats: self.stats.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The application's response future under the request timeout.
    pub(super) struct RequestFuture<F> {
        #[pin]
        inner: F,
        timeout: Option<Duration>,
        // Made when the application first waits (hyper polls right after `call`): a
        // request answered on its first poll costs no timer.
        #[pin]
        deadline: Option<Sleep>,
        handler: Option<HandlerGuard>,
        http1: bool,
        stats: ServerStats,
    }
}

impl<F> Future for RequestFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<http::Response<GuardedBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        // The application first: a deadline is only looked at (and armed) while it waits.
        let response = match this.inner.poll(cx) {
            Poll::Ready(Ok(response)) => response,
            Poll::Pending => {
                if this.deadline.is_none()
                    && let Some(timeout) = *this.timeout
                {
                    this.deadline.set(Some(sleep(timeout)));
                }
                match this.deadline.as_pin_mut().map(|d| d.poll(cx)) {
                    Some(Poll::Ready(())) => {
                        this.stats.record_request_timeout();
                        tracing::debug!("request not completed in time; answering 408");
                        // hyper drops this future, and with it the handler and the half-read
                        // body, once it is ready.
                        timeout_response(*this.http1)
                    }
                    _ => return Poll::Pending,
                }
            }
        };
        let guard = this.handler.take().map(HandlerGuard::into_body_guard);
        Poll::Ready(Ok(response.map(|inner| GuardedBody {
            inner,
            _guard: guard,
        })))
    }
}

/// The 408: centurion's JSON error body; on HTTP/1 the connection cannot be reused (the
/// request body may be half read), so it says `Connection: close` and hyper closes it.
fn timeout_response(http1: bool) -> Response {
    let mut response = Error::new(ErrorKind::RequestTimeout).default_response();
    if http1 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Counts a running handler; becomes a [`BodyGuard`] when the response head is ready.
struct HandlerGuard(Arc<Activity>);

impl HandlerGuard {
    fn new(activity: Arc<Activity>) -> Self {
        activity.handler_started();
        Self(activity)
    }

    fn into_body_guard(self) -> BodyGuard {
        // The body is counted before the handler stops being counted (in `drop`).
        self.0.body_started();
        BodyGuard(Arc::clone(&self.0))
    }
}

impl Drop for HandlerGuard {
    fn drop(&mut self) {
        self.0.handler_ended();
    }
}

/// Counts a response body until hyper has sent it (or dropped it).
struct BodyGuard(Arc<Activity>);

impl Drop for BodyGuard {
    fn drop(&mut self) {
        self.0.body_ended();
    }
}

/// The response body handed to hyper: the application's, and its guard.
pub(super) struct GuardedBody {
    inner: Body,
    _guard: Option<BodyGuard>,
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_408_is_the_json_error_body_and_closes_http1_connections() {
        let response = timeout_response(true);
        assert_eq!(response.status().as_u16(), 408);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[header::CONNECTION], "close");
        assert!(
            timeout_response(false)
                .headers()
                .get(header::CONNECTION)
                .is_none(),
            "HTTP/2 forbids connection headers"
        );
    }
}
