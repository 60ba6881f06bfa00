//! How the quickstart serves: a listener with a listen backlog of 4096, and
//! `centurion::serve::Server` with deadlines on everything a client controls, from the
//! environment:
//!
//! | variable | default | what |
//! | --- | --- | --- |
//! | `CENTURION_HEADER_TIMEOUT` | `10s` | a connection that has not sent a full request head by then is closed (also between requests on a keep-alive connection) |
//! | `CENTURION_IDLE_TIMEOUT` | `60s` | a connection with no request in flight and no response making progress is closed |
//! | `CENTURION_REQUEST_TIMEOUT` | `25s` | a request not answered by then (reading its body included) gets 408 `RequestTimeout` |
//! | `CENTURION_MAX_CONNECTIONS` | `1024` | connections open at once; more wait in the listen backlog |
//! | `CENTURION_MAX_CONNECTIONS_PER_ADDRESS` | off | connections from one client address; more are closed at once (leave it off behind a proxy) |
//! | `CENTURION_SHUTDOWN_DEADLINE` | `30s` | after SIGTERM or Ctrl-C, what is still open by then is closed and the process exits |

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use centurion::serve::Server;
use tokio::net::TcpListener;

/// Connections that may wait for the server to accept them (capped by the kernel's
/// `net.core.somaxconn`); tokio's default, 128, turns a burst into seconds of SYN retries.
const LISTEN_BACKLOG: u32 = 4096;

/// Descriptors the process needs besides its connections (database and Redis pools, SMTP,
/// logs), for the start-up check of `CENTURION_MAX_CONNECTIONS` against `ulimit -n`.
const OTHER_DESCRIPTORS: u64 = 64;

/// The serving settings.
pub(crate) struct Serving {
    header_read_timeout: Duration,
    idle_timeout: Duration,
    request_timeout: Duration,
    max_connections: usize,
    max_connections_per_address: Option<usize>,
    shutdown_deadline: Duration,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn positive_duration(name: &str, default: Duration) -> Result<Duration, String> {
    let Some(text) = var(name) else {
        return Ok(default);
    };
    let duration = centurion::config::parse_duration(&text).map_err(|e| format!("{name}: {e}"))?;
    if duration.is_zero() {
        return Err(format!("{name}: must be longer than 0s"));
    }
    Ok(duration)
}

fn count(name: &str) -> Result<Option<usize>, String> {
    let Some(text) = var(name) else {
        return Ok(None);
    };
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "{name}: `{text}` is not a number of connections between 1 and 1000000"
        )),
    }
}

impl Serving {
    pub(crate) fn from_env() -> Result<Self, String> {
        Ok(Self {
            header_read_timeout: positive_duration(
                "CENTURION_HEADER_TIMEOUT",
                Duration::from_secs(10),
            )?,
            idle_timeout: positive_duration("CENTURION_IDLE_TIMEOUT", Duration::from_secs(60))?,
            request_timeout: positive_duration(
                "CENTURION_REQUEST_TIMEOUT",
                Duration::from_secs(25),
            )?,
            max_connections: count("CENTURION_MAX_CONNECTIONS")?.unwrap_or(1024),
            max_connections_per_address: count("CENTURION_MAX_CONNECTIONS_PER_ADDRESS")?,
            shutdown_deadline: positive_duration(
                "CENTURION_SHUTDOWN_DEADLINE",
                Duration::from_secs(30),
            )?,
        })
    }

    /// The server for `router` on `listener`, with these settings.
    pub(crate) fn server(&self, listener: TcpListener, router: Router) -> Server<Router> {
        if let Some(limit) = open_files_limit()
            && self.max_connections as u64 + OTHER_DESCRIPTORS > limit
        {
            tracing::warn!(
                max_connections = self.max_connections,
                open_files_limit = limit,
                "CENTURION_MAX_CONNECTIONS is close to the open-files limit (ulimit -n): \
                 accepting will fail before the cap is reached; raise the limit or lower the cap"
            );
        }
        Server::new(listener, router)
            .header_read_timeout(self.header_read_timeout)
            .idle_timeout(self.idle_timeout)
            .request_timeout(Some(self.request_timeout))
            .max_connections(self.max_connections)
            .max_connections_per_address(self.max_connections_per_address)
            .shutdown_deadline(self.shutdown_deadline)
    }
}

/// Binds `addr` (`host:port`; the first of its addresses that binds) with a listen backlog
/// of [`LISTEN_BACKLOG`].
pub(crate) async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host(addr).await? {
        match centurion::serve::bind(addr, LISTEN_BACKLOG) {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("CENTURION_ADDR: `{addr}` names no address"),
        )
    }))
}

/// The soft limit on open files of this process (Linux, from `/proc`), if it can be read.
fn open_files_limit() -> Option<u64> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()?
        .lines()
        .find(|line| line.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

/// What the shutdown did, for the log.
pub(crate) fn log_shutdown(report: &centurion::serve::ShutdownReport, addr: SocketAddr) {
    if report.forced_connections > 0 {
        tracing::warn!(
            %addr,
            elapsed = ?report.elapsed,
            forced_connections = report.forced_connections,
            "server stopped at the shutdown deadline, closing connections that had not finished"
        );
    } else {
        tracing::info!(%addr, elapsed = ?report.elapsed, "server stopped");
    }
}
