//! One connection: hyper's settings, the idle watchdog, the socket wrapper that tells the
//! watchdog when a response makes progress, and the executor of HTTP/2 streams.
//!
//! The watchdog is one `select!` per connection with one timer, re-armed only when it
//! fires. A connection is **idle** when no handler is running and nothing has happened for
//! the idle timeout; something happens when a handler ends, a response body ends, or a
//! write makes progress while a response body is alive or after a write found the socket
//! full (hyper drops a body before it has flushed its tail). Reads never count, so pings,
//! settings frames and bytes sent after a response keep nothing open. Before the first
//! request the limit is the shorter of the header-read and idle timeouts: that bounds the
//! protocol detection of the HTTP/1-or-2 server (which runs before hyper's HTTP/1 timer
//! exists) and an HTTP/2 connection that never sends a request.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use http::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

use super::Limits;
use super::limits::ConnSlot;
use super::request::ConnService;
use super::stats::ServerStats;

/// How long a connection closed for idleness gets to close politely (an HTTP/2 `GOAWAY`, a
/// graceful HTTP/1 close) before it is dropped.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What every connection of one server shares.
pub(super) struct Shared {
    pub(super) builder: auto::Builder<TrackedExecutor>,
    pub(super) limits: Limits,
    pub(super) stats: ServerStats,
    /// Cancelled when the shutdown begins: every connection is asked to finish.
    pub(super) draining: CancellationToken,
    /// Cancelled at the shutdown deadline: every connection and stream is dropped.
    pub(super) force: CancellationToken,
}

/// hyper's HTTP/1-or-2 server with a timer (without one, hyper's header-read timeout is
/// silently off; a configured timeout without one panics on each connection).
pub(super) fn hyper_builder(
    limits: &Limits,
    executor: TrackedExecutor,
) -> auto::Builder<TrackedExecutor> {
    let mut builder = auto::Builder::new(executor);
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        // As axum::serve: the extended CONNECT protocol, for WebSockets over HTTP/2.
        .enable_connect_protocol();
    if limits.http2 {
        builder
    } else {
        builder.http1_only()
    }
}

/// Serves one connection until it ends, is idle, or the shutdown deadline passes.
pub(super) async fn run_connection<S>(
    stream: TcpStream,
    peer: SocketAddr,
    slot: ConnSlot,
    service: S,
    shared: Arc<Shared>,
) where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(ConnIo {
        stream,
        activity: Arc::clone(&activity),
        write_blocked: false,
        _slot: slot,
    });
    let service = ConnService::new(
        service,
        peer,
        Arc::clone(&activity),
        shared.limits.request_timeout,
        shared.stats.clone(),
    );
    let mut conn = pin!(shared.builder.serve_connection_with_upgrades(io, service));
    // Tokens of this connection's own: every wake-up polls them, and polling the shared
    // ones would take the same lock from every connection.
    let force = shared.force.child_token();
    let drain = shared.draining.child_token();
    let limits = &shared.limits;
    let first_request = limits.header_read_timeout.min(limits.idle_timeout);
    let mut check_at = Instant::now() + first_request;
    let mut draining = false;
    let mut closing_idle = false;
    loop {
        tokio::select! {
            // The deadline first: it also cancels the HTTP/2 stream tasks, which can let
            // the connection end "normally" in the same wake-up and go uncounted.
            biased;
            () = force.cancelled() => {
                shared.stats.record_forced();
                break;
            }
            result = conn.as_mut() => {
                if let Err(e) = result {
                    note_connection_error(&*e, peer, &shared.stats);
                }
                break;
            }
            () = drain.cancelled(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            () = sleep_until(check_at) => {
                let now = Instant::now();
                match activity.idle_deadline(first_request, limits.idle_timeout) {
                    // A handler is running: the request timeout bounds it.
                    None => check_at = now + limits.idle_timeout,
                    Some(deadline) if deadline > now => check_at = deadline,
                    // Still open a grace period after it was asked to close (a half-sent
                    // head, a client that does not read): drop it.
                    Some(_) if closing_idle => break,
                    Some(_) => {
                        closing_idle = true;
                        shared.stats.record_idle_close();
                        tracing::debug!(%peer, "closing an idle connection");
                        conn.as_mut().graceful_shutdown();
                        check_at = now + IDLE_CLOSE_GRACE;
                    }
                }
            }
        }
    }
}

fn note_connection_error(
    e: &(dyn StdError + Send + Sync + 'static),
    peer: SocketAddr,
    stats: &ServerStats,
) {
    match e.downcast_ref::<hyper::Error>() {
        Some(e) if e.is_timeout() => {
            stats.record_header_timeout();
            tracing::debug!(%peer, "request head not received in time; connection closed");
        }
        // hyper's and h2's messages name what went wrong, never the bytes received.
        _ => tracing::debug!(%peer, error = %e, "connection ended with an error"),
    }
}

/// Spawns hyper's HTTP/2 stream tasks (one per request, running its handler) where the
/// shutdown can wait for them and the deadline can stop them. With `TokioExecutor` they
/// are detached: `serve` would return while handlers still run, and they would end only
/// when hyper next notices that their connection is gone.
#[derive(Clone)]
pub(super) struct TrackedExecutor {
    tracker: TaskTracker,
    force: CancellationToken,
}

impl TrackedExecutor {
    pub(super) fn new(tracker: TaskTracker, force: CancellationToken) -> Self {
        Self { tracker, force }
    }
}

impl<F> hyper::rt::Executor<F> for TrackedExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        let force = self.force.child_token();
        self.tracker.spawn(async move {
            tokio::select! {
                _ = fut => {}
                () = force.cancelled() => {}
            }
        });
    }
}

/// What the idle watchdog of one connection looks at.
pub(super) struct Activity {
    born: Instant,
    /// Handlers running (request head received, response head not produced yet).
    handlers: AtomicUsize,
    /// Response bodies not sent yet.
    bodies: AtomicUsize,
    /// Whether a request has started on this connection.
    served: AtomicBool,
    /// When something last happened, in milliseconds since `born`.
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            born: Instant::now(),
            handlers: AtomicUsize::new(0),
            bodies: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.fetch_max(ms, Ordering::SeqCst);
    }

    /// A handler starts. No timestamp: the watchdog does not look at the clock while a
    /// handler runs.
    pub(super) fn handler_started(&self) {
        self.served.store(true, Ordering::SeqCst);
        self.handlers.fetch_add(1, Ordering::SeqCst);
    }

    /// A handler has produced its response head (or was dropped).
    pub(super) fn handler_ended(&self) {
        self.touch();
        self.handlers.fetch_sub(1, Ordering::SeqCst);
    }

    /// A response body is handed to hyper; called before `handler_ended`, so the watchdog
    /// never sees a moment with neither.
    pub(super) fn body_started(&self) {
        self.bodies.fetch_add(1, Ordering::SeqCst);
    }

    /// hyper has sent (or dropped) a response body.
    pub(super) fn body_ended(&self) {
        self.touch();
        self.bodies.fetch_sub(1, Ordering::SeqCst);
    }

    fn sending_a_body(&self) -> bool {
        self.bodies.load(Ordering::SeqCst) > 0
    }

    /// When the connection becomes idle, or `None` while a handler runs.
    fn idle_deadline(&self, first_request: Duration, idle: Duration) -> Option<Instant> {
        if self.handlers.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let last = self.born + Duration::from_millis(self.last_ms.load(Ordering::SeqCst));
        let allowed = if self.served.load(Ordering::SeqCst) {
            idle
        } else {
            first_request
        };
        Some(last + allowed)
    }
}

/// The connection's socket, with what must live exactly as long as it: its slot under the
/// caps (kept through an HTTP upgrade, since the upgraded stream owns this), and the
/// watchdog's view of write progress.
struct ConnIo {
    stream: TcpStream,
    activity: Arc<Activity>,
    /// The last write found the socket full: the client is not keeping up with a response
    /// (possibly its tail, which hyper still holds after it dropped the body).
    write_blocked: bool,
    _slot: ConnSlot,
}

impl ConnIo {
    fn after_write(&mut self, polled: &Poll<io::Result<usize>>) {
        match polled {
            Poll::Pending => self.write_blocked = true,
            Poll::Ready(Ok(n)) if *n > 0 => {
                // Writes count while a response is being sent or flushed: the pings, acks
                // and settings of an idle HTTP/2 connection do not.
                if self.write_blocked || self.activity.sending_a_body() {
                    self.activity.touch();
                }
                self.write_blocked = false;
            }
            Poll::Ready(_) => {}
        }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.after_write(&polled);
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.after_write(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_is_counted_from_the_last_event_and_never_while_a_handler_runs() {
        let first = Duration::from_secs(10);
        let idle = Duration::from_secs(60);
        let activity = Activity::new();
        let born = Instant::now();
        assert_eq!(activity.idle_deadline(first, idle), Some(born + first));

        tokio::time::advance(Duration::from_secs(3)).await;
        activity.handler_started();
        assert_eq!(activity.idle_deadline(first, idle), None);
        tokio::time::advance(Duration::from_secs(100)).await;
        assert_eq!(activity.idle_deadline(first, idle), None, "a long handler");

        activity.body_started();
        activity.handler_ended();
        let ended = Instant::now();
        assert_eq!(activity.idle_deadline(first, idle), Some(ended + idle));
        tokio::time::advance(Duration::from_secs(5)).await;
        activity.body_ended();
        assert_eq!(
            activity.idle_deadline(first, idle),
            Some(Instant::now() + idle),
            "after the first request the idle timeout applies, from the body's end"
        );
    }
}
