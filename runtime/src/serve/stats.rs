//! The live counters of a server.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Live counters of a [`Server`](super::Server), shared by its clones; for metrics and
/// tests.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// # let listener = centurion::serve::bind("127.0.0.1:0".parse().unwrap(), 128)?;
/// # let app: axum::Router = axum::Router::new();
/// let server = centurion::serve::Server::new(listener, app);
/// let stats = server.stats();
/// // … serve, then read them from another task:
/// println!("{} open, {} closed for idleness", stats.open_connections(), stats.idle_closed());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct ServerStats(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    open: AtomicUsize,
    accepted: AtomicU64,
    refused_per_address: AtomicU64,
    header_timeouts: AtomicU64,
    idle_closed: AtomicU64,
    request_timeouts: AtomicU64,
    forced: AtomicU64,
}

fn add(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl ServerStats {
    /// Connections open now (upgraded ones included).
    pub fn open_connections(&self) -> usize {
        self.0.open.load(Ordering::Relaxed)
    }

    /// Connections accepted and served so far (not those refused by the per-address cap).
    pub fn accepted(&self) -> u64 {
        self.0.accepted.load(Ordering::Relaxed)
    }

    /// Connections closed at once because their address was at its cap.
    pub fn refused_per_address(&self) -> u64 {
        self.0.refused_per_address.load(Ordering::Relaxed)
    }

    /// HTTP/1 connections closed by hyper's header-read timeout.
    pub fn header_timeouts(&self) -> u64 {
        self.0.header_timeouts.load(Ordering::Relaxed)
    }

    /// Connections closed by the idle watchdog (idle, silent, or not reading their
    /// response).
    pub fn idle_closed(&self) -> u64 {
        self.0.idle_closed.load(Ordering::Relaxed)
    }

    /// Requests answered 408 by the request timeout.
    pub fn request_timeouts(&self) -> u64 {
        self.0.request_timeouts.load(Ordering::Relaxed)
    }

    /// Connections closed at the shutdown deadline.
    pub fn forced(&self) -> u64 {
        self.0.forced.load(Ordering::Relaxed)
    }

    pub(super) fn record_opened(&self) {
        self.0.open.fetch_add(1, Ordering::Relaxed);
        add(&self.0.accepted);
    }

    pub(super) fn record_closed(&self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }

    pub(super) fn record_refused_per_address(&self) {
        add(&self.0.refused_per_address);
    }

    pub(super) fn record_header_timeout(&self) {
        add(&self.0.header_timeouts);
    }

    pub(super) fn record_idle_close(&self) {
        add(&self.0.idle_closed);
    }

    pub(super) fn record_request_timeout(&self) {
        add(&self.0.request_timeouts);
    }

    pub(super) fn record_forced(&self) {
        add(&self.0.forced);
    }
}
