//! What the serving tests share: a Router served by `centurion::serve::Server` in this
//! process, raw connections read with a limit or until the peer closes, half-sent request
//! heads, an HTTP/2 (prior knowledge) client, and what a server process holds (descriptors,
//! memory) read from `/proc`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use centurion::serve::{Server, ServerStats, ShutdownReport};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::http::Client;

// ---------------------------------------------------------------------------------------
// A Router served with deadlines
// ---------------------------------------------------------------------------------------

/// A Router served by `centurion::serve::Server` on 127.0.0.1, with its counters and a
/// shutdown trigger. Dropping it aborts the server.
pub struct Serving {
    pub addr: SocketAddr,
    pub stats: ServerStats,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<ShutdownReport>,
}

impl Serving {
    /// Serves `router` on a free port, with `configure` applied to the server's builder.
    pub async fn start(
        router: Router,
        configure: impl FnOnce(Server<Router>) -> Server<Router>,
    ) -> Self {
        let listener = centurion::serve::bind("127.0.0.1:0".parse().expect("an address"), 4096)
            .expect("a free port");
        let addr = listener.local_addr().expect("an address");
        let server = configure(Server::new(listener, router));
        let stats = server.stats();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .serve(async move {
                    let _ = stopped.await;
                })
                .await
                .expect("serve returns Ok")
        });
        Self {
            addr,
            stats,
            stop: Some(stop),
            task,
        }
    }

    /// Starts the shutdown; returns when it was asked for.
    pub fn shutdown(&mut self) -> Instant {
        let _ = self.stop.take().expect("shut down once").send(());
        Instant::now()
    }

    /// A client of this server (the test kit's raw HTTP/1.1 client).
    pub fn client(&self) -> Client {
        Client { addr: self.addr }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------------------------------
// Raw connections
// ---------------------------------------------------------------------------------------

/// Whether `d` lies between `lo_ms` and `hi_ms` milliseconds.
pub fn within(d: Duration, lo_ms: u64, hi_ms: u64) -> bool {
    d >= Duration::from_millis(lo_ms) && d <= Duration::from_millis(hi_ms)
}

/// Opens a connection and sends `GET path` without `Connection: close` (a keep-alive
/// request); the answer is read with [`read_response`].
pub async fn send_get(addr: SocketAddr, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .expect("send");
    stream
}

/// Reads until the peer closes the connection (end of stream or reset). Returns what was
/// read and how long after the call the close came, or `None` if it did not come within
/// `limit`.
pub async fn read_until_closed(
    stream: &mut TcpStream,
    limit: Duration,
) -> (Vec<u8>, Option<Duration>) {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let Some(left) = limit.checked_sub(start.elapsed()) else {
            return (out, None);
        };
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return (out, None),
            Ok(Ok(0) | Err(_)) => return (out, Some(start.elapsed())),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one HTTP/1 response whose body has a `Content-Length` (or none): the status line
/// and headers as text, and the body. `None` if it did not arrive whole within `limit`.
pub async fn read_response(stream: &mut TcpStream, limit: Duration) -> Option<(String, Vec<u8>)> {
    let read = async {
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            raw.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        while raw.len() < head_end + length {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            raw.extend_from_slice(&buf[..n]);
        }
        Some((head, raw[head_end..head_end + length].to_vec()))
    };
    tokio::time::timeout(limit, read).await.ok().flatten()
}

/// The start of a request head that never ends.
pub const HALF_HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\nUser-Agent: half-sent";

/// Opens `n` connections to `addr`, 500 at a time, and sends [`HALF_HEAD`] on each. After
/// each batch, `probe` is called (to read the server's descriptor count, say).
pub async fn half_sent_heads(
    addr: SocketAddr,
    n: usize,
    mut probe: impl FnMut(),
) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(n);
    while streams.len() < n {
        let batch = 500.min(n - streams.len());
        let tasks: Vec<_> = (0..batch)
            .map(|_| {
                tokio::spawn(async move {
                    let mut stream = TcpStream::connect(addr).await.expect("connect");
                    stream.write_all(HALF_HEAD).await.expect("send half a head");
                    stream
                })
            })
            .collect();
        for task in tasks {
            streams.push(task.await.expect("a connection"));
        }
        probe();
    }
    streams
}

// ---------------------------------------------------------------------------------------
// HTTP/2 with prior knowledge
// ---------------------------------------------------------------------------------------

/// An HTTP/2 client connection: the request sender, and a task that ends (with the time)
/// when the connection does.
pub struct H2 {
    pub send: hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    pub closed: JoinHandle<Instant>,
}

/// Opens an HTTP/2 connection (prior knowledge) to `addr`; with `ping_every`, the client
/// sends a PING that often, also while idle.
pub async fn h2_connect(addr: SocketAddr, ping_every: Option<Duration>) -> H2 {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let mut builder = hyper::client::conn::http2::Builder::new(TokioExecutor::new());
    builder.timer(TokioTimer::new());
    if let Some(every) = ping_every {
        builder
            .keep_alive_interval(every)
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true);
    }
    let (send, conn) = builder
        .handshake(TokioIo::new(stream))
        .await
        .expect("an HTTP/2 handshake");
    let closed = tokio::spawn(async move {
        let _ = conn.await;
        Instant::now()
    });
    H2 { send, closed }
}

/// `GET path` on an HTTP/2 connection: the status and the body as text.
pub async fn h2_get(h2: &mut H2, addr: SocketAddr, path: &str) -> (u16, String) {
    let request = http::Request::get(format!("http://{addr}{path}"))
        .body(Empty::<Bytes>::new())
        .expect("a request");
    let response = h2.send.send_request(request).await.expect("an answer");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

// ---------------------------------------------------------------------------------------
// What a process holds
// ---------------------------------------------------------------------------------------

/// The number of open descriptors of process `pid` (0 if it cannot be read).
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// The resident memory of process `pid`, in KiB (0 if it cannot be read).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The soft limit on open files of this process (children inherit it), if it can be read.
pub fn open_files_limit() -> Option<u64> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()?
        .lines()
        .find(|line| line.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}
