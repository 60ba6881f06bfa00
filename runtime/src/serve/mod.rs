//! Serving an axum application with a deadline on everything a client controls (feature
//! `serve`).
//!
//! [`axum::serve`](axum::serve()) runs hyper without a timer: hyper's HTTP/1 header-read timeout is then
//! silently off, idle keep-alive connections are never closed, nothing caps the number of
//! connections, and a graceful shutdown waits for the slowest client for ever. A client that
//! opens connections and sends half a request head on each takes every file descriptor of
//! the process. [`Server`] serves the same application (a [`Router`](axum::Router), or any
//! `Service<Request<Body>>` with axum's response type) with:
//!
//! - a **header-read timeout** (default 10 s): a connection that has not sent a complete
//!   request head this long after it was accepted (or, on an HTTP/1 keep-alive connection,
//!   after the previous response) is closed. It also bounds how long a new connection may
//!   take to say which protocol it speaks and, on HTTP/2, to start its first request;
//! - an **idle timeout** (default 60 s): a connection on which no request is being handled
//!   and no response is making progress is closed. Client pings and other HTTP/2 control
//!   frames do not keep it open, and neither do bytes a client sends after its response; a
//!   client that stops reading its response is closed too. On HTTP/1, hyper's header-read
//!   timer also runs between requests, so a keep-alive connection idles out after the
//!   shorter of the two;
//! - a **request timeout** (default 25 s): a request whose handler (reading the request body
//!   included) has not produced a response head in time is answered `408` with centurion's
//!   JSON error body (`{"error": "RequestTimeout", …}`, and `Connection: close` on HTTP/1),
//!   and its handler is dropped. A body trickled one byte at a time cannot hold a handler
//!   longer than this;
//! - a **connection cap** (default 1024), global and optionally per client address. At the
//!   global cap the server stops accepting: new connections wait in the kernel's listen
//!   backlog (see [`bind`]) and are served, in order, as soon as one closes. Past the
//!   per-address cap a new connection is closed at once;
//! - a **shutdown deadline** (default 30 s): when the shutdown future completes, the
//!   listener is closed, every connection is asked to finish (HTTP/1 closes after the
//!   response in flight, HTTP/2 sends `GOAWAY`), and whatever is still open at the deadline
//!   is closed, the handlers of HTTP/2 streams included. [`Server::serve`] then returns.
//!
//! Handlers still get [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo), exactly as
//! with `into_make_service_with_connect_info::<SocketAddr>()`, so
//! [`ClientAddr`](crate::http::ClientAddr) and the login throttle work unchanged. The server
//! speaks HTTP/1.1 and HTTP/2 over cleartext with prior knowledge (h2c); TLS belongs to a
//! proxy in front of it.
//!
//! ```
//! use std::time::Duration;
//! use axum::{Router, routing::get};
//! use centurion::serve::{self, Server};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let app = Router::new().route("/", get(|| async { "ok" }));
//! // A listen backlog larger than tokio's 128: waiting connections queue there.
//! let listener = serve::bind("127.0.0.1:0".parse().unwrap(), 4096)?;
//! # let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! # let _ = stop.send(());
//! # let shutdown_signal = async { let _ = stopped.await; };
//! let report = Server::new(listener, app)
//!     .header_read_timeout(Duration::from_secs(10))
//!     .idle_timeout(Duration::from_secs(60))
//!     .request_timeout(Some(Duration::from_secs(25)))
//!     .max_connections(1024)
//!     .shutdown_deadline(Duration::from_secs(30))
//!     .serve(shutdown_signal) // e.g. SIGTERM or Ctrl-C
//!     .await?;
//! println!("stopped after {:?}", report.elapsed);
//! # Ok(())
//! # }
//! ```
//!
//! ## What it does not bound
//!
//! - **Upgraded connections** (WebSockets) leave hyper when they upgrade: neither the idle
//!   timeout nor the shutdown deadline reaches them (they live in the task the handler
//!   spawned). They do keep their place under the connection caps until they close. An
//!   application with WebSockets bounds them itself.
//! - **Work per connection on HTTP/2**: a connection may carry up to 200 concurrent streams
//!   (hyper's default), so up to `max_connections × 200` handlers may run at once. Bound
//!   expensive work with its own limit (the password hasher's pool does, for hashing).
//! - **The descriptor limit**: keep [`max_connections`](Server::max_connections) below the
//!   process's `ulimit -n` minus what its pools use, or `accept` fails first (it is retried
//!   every second, and logged).
//! - **Streaming responses** that send nothing for longer than the idle timeout are closed:
//!   send something (a comment line, a heartbeat) more often than that.
//!
//! | file | what |
//! | --- | --- |
//! | `mod.rs` | [`Server`], its settings, the accept loop and the shutdown; [`bind`] |
//! | `connection.rs` | one connection: hyper's settings, the idle watchdog, the socket wrapper, the executor of HTTP/2 streams |
//! | `request.rs` | one request: `ConnectInfo`, the request timeout and its 408, the accounting of handlers and response bodies |
//! | `limits.rs` | the connection caps and `accept` |
//! | `stats.rs` | [`ServerStats`] |

mod connection;
mod limits;
mod request;
mod stats;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use http::Request;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

pub use self::stats::ServerStats;

use self::connection::{Shared, TrackedExecutor, hyper_builder, run_connection};
use self::limits::{ConnSlot, PerAddressLimit, accept_one};

/// Binds a TCP listener on `addr` with a listen backlog of `backlog` connections (the kernel
/// caps it at `net.core.somaxconn`).
///
/// [`tokio::net::TcpListener::bind`] listens with a backlog of 128. Connections beyond the
/// backlog that the server has not accepted yet are dropped by the kernel (or answered with
/// SYN cookies), and their clients retry after a second or more: a burst of a few thousand
/// connections then takes seconds to open. With [`Server`], the backlog is also where
/// connections wait while the server is at its connection cap, so give it room: 1024 to
/// 4096. `SO_REUSEADDR` is set, as the standard library does, so a restarted server can
/// bind while old connections linger in `TIME_WAIT`.
///
/// Call it inside a Tokio runtime.
///
/// # Errors
/// When the address cannot be bound (in use, not local, no permission).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let listener = centurion::serve::bind("127.0.0.1:0".parse().unwrap(), 4096)?;
/// assert!(listener.local_addr()?.port() > 0);
/// # Ok(())
/// # }
/// ```
pub fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Serves an axum application on a [`TcpListener`] with deadlines; see the [module
/// documentation](self).
///
/// Built with [`Server::new`] and the setters, run with [`Server::serve`].
pub struct Server<S> {
    listener: TcpListener,
    service: S,
    limits: Limits,
    stats: ServerStats,
}

/// The settings of a [`Server`].
#[derive(Clone, Debug)]
struct Limits {
    header_read_timeout: Duration,
    idle_timeout: Duration,
    request_timeout: Option<Duration>,
    max_connections: usize,
    max_connections_per_address: Option<usize>,
    shutdown_deadline: Duration,
    http2: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Some(Duration::from_secs(25)),
            max_connections: 1024,
            max_connections_per_address: None,
            shutdown_deadline: Duration::from_secs(30),
            http2: true,
        }
    }
}

/// What [`Server::serve`] reports when it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// From the end of the shutdown future to the last connection closed.
    pub elapsed: Duration,
    /// Connections still open at the shutdown deadline, closed without finishing.
    pub forced_connections: u64,
}

impl<S> Server<S> {
    /// A server for `service` (an [`axum::Router`], or a router wrapped in more layers) on
    /// `listener`, with the defaults: header-read timeout 10 s, idle timeout 60 s, request
    /// timeout 25 s, at most 1024 connections (no per-address cap), shutdown deadline 30 s,
    /// HTTP/1 and HTTP/2.
    ///
    /// Bind the listener with [`bind`] for a listen backlog larger than tokio's 128.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let app: axum::Router = axum::Router::new();
    /// let listener = centurion::serve::bind("127.0.0.1:0".parse().unwrap(), 1024)?;
    /// let server = centurion::serve::Server::new(listener, app);
    /// println!("{server:?}"); // the address, the settings and the counters
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(listener: TcpListener, service: S) -> Self {
        Self {
            listener,
            service,
            limits: Limits::default(),
            stats: ServerStats::default(),
        }
    }

    /// A connection that has not sent a complete request head within `timeout` of being
    /// accepted, or of the end of the previous response on an HTTP/1 keep-alive connection,
    /// is closed (without an answer: the client has not said what it wants). It also bounds
    /// how long a new connection may take to show which protocol it speaks and, on HTTP/2,
    /// to start its first request. Default 10 s.
    ///
    /// The timer runs for the whole head, not per read: a head trickled one byte at a time
    /// is closed at the same moment as a silent one.
    ///
    /// # Panics
    /// If `timeout` is zero.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = centurion::serve::bind("127.0.0.1:0".parse().unwrap(), 128)?;
    /// # let app: axum::Router = axum::Router::new();
    /// use std::time::Duration;
    /// let server = centurion::serve::Server::new(listener, app)
    ///     .header_read_timeout(Duration::from_secs(5));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        assert!(!timeout.is_zero(), "header_read_timeout must be positive");
        self.limits.header_read_timeout = timeout;
        self
    }

    /// A connection with no request being handled and no response making progress for
    /// `timeout` is closed (HTTP/2 gets a `GOAWAY` first). Pings, settings and other control
    /// frames do not count as activity, and neither do bytes the client sends after its
    /// response. Default 60 s.
    ///
    /// On HTTP/1 the header-read timeout also runs between requests, so a keep-alive
    /// connection is closed after the shorter of the two.
    ///
    /// # Panics
    /// If `timeout` is zero.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = centurion::serve::bind("127.0.0.1:0".parse().unwrap(), 128)?;
    /// # let app: axum::Router = axum::Router::new();
    /// use std::time::Duration;
    /// let server = centurion::serve::Server::new(listener, app)
    ///     .idle_timeout(Duration::from_secs(30));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        assert!(!timeout.is_zero(), "idle_timeout must be positive");
        self.limits.idle_timeout = timeout;
        self
    }

    /// A request whose handler (reading the request body included) has not produced a
    /// response head within `timeout` is answered `408 Request Timeout` with the JSON error
    /// body of [`ErrorKind::RequestTimeout`](crate::ErrorKind::RequestTimeout), and its
    /// handler is dropped; on HTTP/1 the connection is closed after it. `None` turns it off
    /// (then a stalled handler or a trickled body holds its connection until the client
    /// leaves). Default 25 s.
    ///
    /// Keep it below the [shutdown deadline](Self::shutdown_deadline), so that a request
    /// that started before the shutdown is answered (at worst with 408) rather than cut.
    ///
    /// The 408 is produced outside the router, so the router's layers (request ids, traces)
    /// do not see it. An application that wants them there can add
    /// `tower_http::timeout::TimeoutLayer` inside the router with a shorter timeout, and
    /// keep this one as the backstop.
    ///
    /// # Panics
    /// If `timeout` is `Some(Duration::ZERO)`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = centurion::serve::bind("127.0.0.1:0".parse().unwrap(), 128)?;
    /// # let app: axum::Router = axum::Router::new();
    /// use std::time::Duration;
    /// let server = centurion::serve::Server::new(listener, app)
    ///     .request_timeout(Some(Duration::from_secs(10)));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn request_timeout(mut self, timeout: Option<Duration>) -> Self {
        assert!(
            timeout != Some(Duration::ZERO),
            "request_timeout must be positive (None turns it off)"
        );
        self.limits.request_timeout = timeout;
        self
    }

    /// At most `max` connections are open at once (upgraded ones included). At the cap the
    /// server stops accepting: new connections wait in the kernel's listen backlog until
    /// one closes, and are then served in order. Every connection closes within a bounded
    /// time (the timeouts above), so a waiting client is served or times out itself.
    /// Default 1024.
    ///
    /// Keep it below the process's descriptor limit (`ulimit -n`) minus what the
    /// application's pools use.
    ///
    /// # Panics
    /// If `max` is zero or above [`Semaphore::MAX_PERMITS`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = centurion::serve::bind("127.0.0.1:0".parse().unwrap(), 128)?;
    /// # let app: axum::Router = axum::Router::new();
    /// let server = centurion::serve::Server::new(listener, app)
    ///     .max_connections(4096);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        assert!(
            max > 0 && max <= Semaphore::MAX_PERMITS,
            "max_connections must be between 1 and Semaphore::MAX_PERMITS"
        );
        self.limits.max_connections = max;
        self
    }

    /// At most `max` connections from one client address (an IPv4-mapped IPv6 address
    /// counts as its IPv4 address); past it, a new connection from that address is closed
    /// at once, without an answer. It is what stops one host from holding every slot of
    /// [`max_connections`](Self::max_connections) with slow but well-formed traffic. Off
    /// by default: behind a reverse proxy every connection comes from the proxy's address.
    ///
    /// # Panics
    /// If `max` is `Some(0)`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = centurion::serve::bind("127.0.0.1:0".parse().unwrap(), 128)?;
    /// # let app: axum::Router = axum::Router::new();
    /// let server = centurion::serve::Server::new(listener, app)
    ///     .max_connections_per_address(Some(64));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn max_connections_per_address(mut self, max: Option<usize>) -> Self {
        assert!(
            max != Some(0),
            "max_connections_per_address must be positive (None turns it off)"
        );
        self.limits.max_connections_per_address = max;
        self
    }

    /// How long [`serve`](Self::serve) lets connections finish after the shutdown future
    /// completes before it closes them. Default 30 s.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = centurion::serve::bind("127.0.0.1:0".parse().unwrap(), 128)?;
    /// # let app: axum::Router = axum::Router::new();
    /// use std::time::Duration;
    /// let server = centurion::serve::Server::new(listener, app)
    ///     .shutdown_deadline(Duration::from_secs(10));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn shutdown_deadline(mut self, deadline: Duration) -> Self {
        self.limits.shutdown_deadline = deadline;
        self
    }

    /// Serve HTTP/2 (cleartext, prior knowledge) next to HTTP/1.1 (`true`, the default), or
    /// HTTP/1 only.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = centurion::serve::bind("127.0.0.1:0".parse().unwrap(), 128)?;
    /// # let app: axum::Router = axum::Router::new();
    /// let server = centurion::serve::Server::new(listener, app).http2(false);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn http2(mut self, enabled: bool) -> Self {
        self.limits.http2 = enabled;
        self
    }

    /// The live counters of this server (open connections, timeouts, …), for metrics and
    /// tests. Take them before [`serve`](Self::serve), which consumes the server; they keep
    /// counting.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = centurion::serve::bind("127.0.0.1:0".parse().unwrap(), 128)?;
    /// # let app: axum::Router = axum::Router::new();
    /// let server = centurion::serve::Server::new(listener, app);
    /// let stats = server.stats();
    /// assert_eq!(stats.open_connections(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn stats(&self) -> ServerStats {
        self.stats.clone()
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    /// As [`TcpListener::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

impl<S> Server<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    /// Serves until `shutdown` completes; then stops accepting, lets the open connections
    /// finish for at most the shutdown deadline, closes the rest and returns what happened.
    ///
    /// # Errors
    /// None today: failures to accept a connection are logged and retried, as
    /// `axum::serve` does. The `io::Result` leaves room for the future.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum::{Router, routing::get};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let app = Router::new().route("/", get(|| async { "ok" }));
    /// let listener = centurion::serve::bind("127.0.0.1:0".parse().unwrap(), 1024)?;
    /// let addr = listener.local_addr()?;
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let server = tokio::spawn(
    ///     centurion::serve::Server::new(listener, app)
    ///         .shutdown_deadline(Duration::from_secs(5))
    ///         .serve(async { let _ = stopped.await; }),
    /// );
    ///
    /// let mut client = tokio::net::TcpStream::connect(addr).await?;
    /// client.write_all(b"GET / HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n").await?;
    /// let mut answer = String::new();
    /// client.read_to_string(&mut answer).await?;
    /// assert!(answer.starts_with("HTTP/1.1 200"));
    /// assert!(answer.ends_with("ok"));
    ///
    /// let _ = stop.send(());
    /// let report = server.await.expect("the server task")?;
    /// assert_eq!(report.forced_connections, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn serve<F>(self, shutdown: F) -> io::Result<ShutdownReport>
    where
        F: Future<Output = ()> + Send,
    {
        let Server {
            listener,
            service,
            limits,
            stats,
        } = self;
        if let Some(request) = limits.request_timeout
            && request >= limits.shutdown_deadline
        {
            tracing::warn!(
                request_timeout = ?request,
                shutdown_deadline = ?limits.shutdown_deadline,
                "the request timeout is not below the shutdown deadline: requests in flight at shutdown may be cut instead of answered"
            );
        }
        let tracker = TaskTracker::new();
        let draining = CancellationToken::new();
        let force = CancellationToken::new();
        let executor = TrackedExecutor::new(tracker.clone(), force.clone());
        let shared = Arc::new(Shared {
            builder: hyper_builder(&limits, executor),
            limits,
            stats: stats.clone(),
            draining: draining.clone(),
            force: force.clone(),
        });
        let slots = Arc::new(Semaphore::new(shared.limits.max_connections));
        let per_address = shared
            .limits
            .max_connections_per_address
            .map(PerAddressLimit::new);

        let mut shutdown = pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                biased;
                () = &mut shutdown => break,
                accepted = accept_one(&listener, &slots) => accepted,
            };
            let Some((stream, peer, permit)) = accepted else {
                break;
            };
            let address_slot = match &per_address {
                None => None,
                Some(limit) => match limit.try_take(peer.ip()) {
                    Some(slot) => Some(slot),
                    None => {
                        stats.record_refused_per_address();
                        tracing::debug!(%peer, "per-address connection cap reached; closing");
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let slot = ConnSlot::new(permit, address_slot, stats.clone());
            tracker.spawn(run_connection(
                stream,
                peer,
                slot,
                service.clone(),
                Arc::clone(&shared),
            ));
        }

        // Stop accepting: connections still waiting in the listen backlog are reset.
        drop(listener);
        let started = Instant::now();
        tracing::info!(
            open = stats.open_connections(),
            "no longer accepting connections; finishing the requests in flight"
        );
        draining.cancel();
        tracker.close();
        let forced_before = stats.forced();
        if timeout(shared.limits.shutdown_deadline, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                open = stats.open_connections(),
                deadline = ?shared.limits.shutdown_deadline,
                "shutdown deadline reached: closing the remaining connections"
            );
            force.cancel();
            tracker.wait().await;
        }
        Ok(ShutdownReport {
            elapsed: started.elapsed(),
            forced_connections: stats.forced() - forced_before,
        })
    }
}

impl<S> fmt::Debug for Server<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Limits {
            header_read_timeout,
            idle_timeout,
            request_timeout,
            max_connections,
            max_connections_per_address,
            shutdown_deadline,
            http2,
        } = &self.limits;
        f.debug_struct("Server")
            .field("local_addr", &self.listener.local_addr().ok())
            .field("header_read_timeout", header_read_timeout)
            .field("idle_timeout", idle_timeout)
            .field("request_timeout", request_timeout)
            .field("max_connections", max_connections)
            .field("max_connections_per_address", max_connections_per_address)
            .field("shutdown_deadline", shutdown_deadline)
            .field("http2", http2)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}
