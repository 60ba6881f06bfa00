//! Serving with deadlines (`centurion::serve`, feature `serve`), against a real listener on
//! 127.0.0.1 in this process: idle and silent connections are closed on HTTP/1 and HTTP/2,
//! trickled heads and bodies are cut (a body with a 408 JSON answer), the connection caps
//! hold, the shutdown finishes what is in flight and meets its deadline, and handlers still
//! see the client's address. Timeouts are short (1 s); each test prints what it measured.
//!
//! hyper's timers and the watchdog run on Tokio's clock against real sockets, so these
//! tests wait in real time: pausing Tokio's clock would fire the timers before the bytes
//! in flight arrive.

#![cfg(feature = "serve")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Request};
use axum::response::Response;
use axum::routing::{get, post};
use centurion::http::ClientAddr;
use centurion_testkit::check_error_body;
use centurion_testkit::serving::{
    H2, Serving, h2_connect, h2_get, read_response, read_until_closed, send_get, within,
};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `GET /` → `ok`; `GET /ip` → the peer from `ConnectInfo`; `GET /client` → the address
/// `ClientAddr` resolves; `POST /echo` → the body's length; `GET /slow/{ms}` → `done` after
/// `ms` ms; `GET /hang` never answers; `GET /big/{n}` → `n` bytes.
fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .route(
            "/ip",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        )
        .route(
            "/client",
            get(|client: ClientAddr| async move { client.ip().to_string() }),
        )
        .route(
            "/echo",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .route(
            "/slow/{ms}",
            get(|Path(ms): Path<u64>| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                "done"
            }),
        )
        .route("/hang", get(std::future::pending::<&'static str>))
        .route(
            "/big/{n}",
            get(|Path(n): Path<usize>| async move { Body::from(vec![b'x'; n]) }),
        )
}

async fn start(
    configure: impl FnOnce(centurion::serve::Server<Router>) -> centurion::serve::Server<Router>,
) -> Serving {
    Serving::start(app(), configure).await
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------------------
// Idle and silent connections
// ---------------------------------------------------------------------------------------

/// HTTP/1 keep-alive: hyper's header-read timer starts again as soon as a response is done,
/// so an idle keep-alive connection is closed after the header-read timeout even when the
/// idle timeout is longer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h1_idle_keep_alive_is_closed_by_the_header_timeout() {
    let server = start(|s| s.header_read_timeout(secs(1)).idle_timeout(secs(30))).await;
    let mut c = send_get(server.addr, "/").await;
    let (head, body) = read_response(&mut c, secs(2)).await.expect("an answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"ok");
    let (_, closed) = read_until_closed(&mut c, secs(5)).await;
    let closed = closed.expect("the idle keep-alive connection is closed");
    println!("h1 idle keep-alive (header 1 s, idle 30 s): closed after {closed:?}");
    assert!(within(closed, 900, 2500), "{closed:?}");
    assert_eq!(server.stats.header_timeouts(), 1);
    assert_eq!(server.stats.idle_closed(), 0);
}

/// HTTP/1 keep-alive with an idle timeout shorter than the header timeout: the watchdog
/// closes it, and a second request within the idle time is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h1_idle_keep_alive_is_closed_by_the_idle_timeout() {
    let server = start(|s| s.header_read_timeout(secs(10)).idle_timeout(secs(1))).await;
    let mut c = send_get(server.addr, "/").await;
    read_response(&mut c, secs(2)).await.expect("an answer");
    tokio::time::sleep(ms(600)).await;
    c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    read_response(&mut c, secs(2))
        .await
        .expect("the second request on the connection is served");
    let (_, closed) = read_until_closed(&mut c, secs(5)).await;
    let closed = closed.expect("the idle keep-alive connection is closed");
    println!("h1 idle keep-alive (header 10 s, idle 1 s): closed after {closed:?}");
    assert!(within(closed, 900, 2500), "{closed:?}");
    assert_eq!(server.stats.idle_closed(), 1);
}

/// A client that connects and sends nothing: the HTTP/1-or-2 server reads the first bytes
/// before hyper's HTTP/1 timer exists, so without the watchdog it would wait for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_after_the_header_timeout() {
    let server = start(|s| s.header_read_timeout(secs(1)).idle_timeout(secs(30))).await;
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    let (got, closed) = read_until_closed(&mut c, secs(5)).await;
    let closed = closed.expect("the silent connection is closed");
    println!("silent connection (header 1 s, idle 30 s): closed after {closed:?}");
    assert!(got.is_empty());
    assert!(within(closed, 900, 2500), "{closed:?}");
    assert_eq!(server.stats.idle_closed(), 1);
    assert_eq!(server.stats.open_connections(), 0);
}

/// HTTP/2: hyper has no idle timeout for it at all; the watchdog closes the connection
/// after the idle timeout although the client pings every 200 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_idle_connection_is_closed_despite_client_pings() {
    let server = start(|s| s.header_read_timeout(secs(10)).idle_timeout(secs(1))).await;
    let mut h2 = h2_connect(server.addr, Some(ms(200))).await;
    let (status, body) = h2_get(&mut h2, server.addr, "/").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let answered = Instant::now();
    let closed_at = tokio::time::timeout(secs(5), h2.closed)
        .await
        .expect("the h2 connection is closed")
        .unwrap();
    let closed = closed_at - answered;
    println!("h2 idle, client pings every 200 ms (idle 1 s): closed after {closed:?}");
    assert!(within(closed, 900, 2500), "{closed:?}");
    assert_eq!(server.stats.idle_closed(), 1);
}

/// An HTTP/2 connection that never sends a request is closed after the header timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_connection_without_requests_is_closed_after_the_header_timeout() {
    let server = start(|s| s.header_read_timeout(secs(1)).idle_timeout(secs(30))).await;
    let opened = Instant::now();
    let h2 = h2_connect(server.addr, None).await;
    let closed_at = tokio::time::timeout(secs(5), h2.closed)
        .await
        .expect("the h2 connection is closed")
        .unwrap();
    let closed = closed_at - opened;
    println!("h2 without a request (header 1 s, idle 30 s): closed after {closed:?}");
    assert!(within(closed, 900, 2500), "{closed:?}");
}

/// A long download that keeps making progress is not cut by the idle timeout; one whose
/// client stops reading is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_progressing_download_stays_and_a_stalled_reader_is_closed() {
    const SIZE: usize = 8 * 1024 * 1024;
    let server = start(|s| s.idle_timeout(secs(1))).await;

    // A slow but steady reader: 8 MiB in steps of at most 64 KiB, 20 ms apart (> 2 s).
    let mut c = send_get(server.addr, &format!("/big/{SIZE}")).await;
    let start = Instant::now();
    let mut got = 0usize;
    let mut head_len = None;
    let mut buf = vec![0u8; 64 * 1024];
    while head_len.is_none_or(|h| got < h + SIZE) {
        let n = tokio::time::timeout(secs(3), c.read(&mut buf))
            .await
            .expect("the download stalled")
            .unwrap();
        assert!(n > 0, "closed after {got} bytes");
        if head_len.is_none() {
            let at = buf[..n]
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .expect("the head in the first read");
            head_len = Some(got + at + 4);
        }
        got += n;
        tokio::time::sleep(ms(20)).await;
    }
    let slow = start.elapsed();
    println!("slow reader: 8 MiB read in {slow:?} with idle 1 s, not cut");
    assert!(slow > ms(1500), "the reader was not slow: {slow:?}");
    assert_eq!(got, head_len.unwrap() + SIZE, "the whole body arrived");
    // Once the whole response is in the kernel's buffers the connection is idle: it may be
    // closed while the client drains them (the FIN comes after the data).
    let (rest, _) = read_until_closed(&mut c, secs(3)).await;
    assert!(rest.is_empty());
    drop(c);
    let closed_before = server.stats.idle_closed();

    // A reader that never reads: the server's writes stall, the connection is closed.
    let mut c = send_get(server.addr, &format!("/big/{SIZE}")).await;
    let start = Instant::now();
    while server.stats.idle_closed() == closed_before && start.elapsed() < secs(6) {
        tokio::time::sleep(ms(20)).await;
    }
    let elapsed = start.elapsed();
    println!("stalled reader: closed by the watchdog after {elapsed:?}");
    assert_eq!(server.stats.idle_closed(), closed_before + 1);
    assert!(within(elapsed, 900, 4000), "{elapsed:?}");
    let (_, closed) = read_until_closed(&mut c, secs(10)).await;
    assert!(closed.is_some());
}

// ---------------------------------------------------------------------------------------
// Trickled heads and bodies
// ---------------------------------------------------------------------------------------

/// A head trickled one byte every 100 ms: hyper's header timer is a total, not per read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_head_is_closed_after_the_header_timeout() {
    let server = start(|s| s.header_read_timeout(secs(1)).idle_timeout(secs(30))).await;
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    let start = Instant::now();
    let head =
        b"GET / HTTP/1.1\r\nHost: t\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut closed_at = None;
    for byte in head {
        if c.write_all(&[*byte]).await.is_err() {
            closed_at = Some(start.elapsed());
            break;
        }
        tokio::time::sleep(ms(100)).await;
        if start.elapsed() > secs(3) {
            break;
        }
    }
    let closed = match closed_at {
        Some(t) => t,
        None => {
            let (got, closed) = read_until_closed(&mut c, ms(100)).await;
            assert!(got.is_empty(), "no answer to half a head");
            closed
                .map(|_| start.elapsed())
                .expect("the trickled head is closed")
        }
    };
    println!("head trickled 1 byte/100 ms (header 1 s): closed after {closed:?}");
    assert!(within(closed, 900, 2500), "{closed:?}");
    assert_eq!(server.stats.header_timeouts(), 1);
}

/// A body trickled one byte every 100 ms: the handler cannot finish reading it within the
/// request timeout; the client gets 408 with the JSON error body, and the connection is
/// closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_is_answered_408_json() {
    let server = start(|s| s.request_timeout(Some(secs(1)))).await;
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    c.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n")
        .await
        .unwrap();
    let start = Instant::now();
    let (mut rd, mut wr) = c.into_split();
    let writer = tokio::spawn(async move {
        for _ in 0..100 {
            if wr.write_all(b"x").await.is_err() {
                break;
            }
            tokio::time::sleep(ms(100)).await;
        }
    });
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let mut closed = None;
    while closed.is_none() && start.elapsed() < secs(5) {
        match tokio::time::timeout(secs(5), rd.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => closed = Some(start.elapsed()),
            Ok(Ok(n)) => raw.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    writer.abort();
    let text = String::from_utf8_lossy(&raw);
    println!(
        "body trickled 1 byte/100 ms (request timeout 1 s): {:?}, closed after {closed:?}",
        text.lines().next()
    );
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("connection: close"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    check_error_body(408, body.as_bytes());
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["error"], "RequestTimeout");
    let closed = closed.expect("closed after the 408");
    assert!(within(closed, 900, 2500), "{closed:?}");
    assert_eq!(server.stats.request_timeouts(), 1);
}

/// On HTTP/2 a stalled handler gets the same 408 on its stream (without the connection
/// header HTTP/2 forbids), and the connection stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_stalled_handler_is_answered_408_json() {
    let server = start(|s| s.request_timeout(Some(secs(1)))).await;
    let mut h2 = h2_connect(server.addr, None).await;
    let start = Instant::now();
    let (status, body) = h2_get(&mut h2, server.addr, "/hang").await;
    let took = start.elapsed();
    println!("h2 stalled handler (request timeout 1 s): {status} after {took:?}: {body}");
    assert_eq!(status, 408);
    check_error_body(408, body.as_bytes());
    assert!(within(took, 900, 2500), "{took:?}");
    let (status, body) = h2_get(&mut h2, server.addr, "/").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
}

// ---------------------------------------------------------------------------------------
// Connection caps
// ---------------------------------------------------------------------------------------

/// At the cap the server stops accepting: connection N+1 gets a TCP connection (the
/// kernel's backlog) but is not served until one of the N closes, and then at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_new_connections_wait_for_a_free_slot() {
    let server = start(|s| s.max_connections(2)).await;
    let mut first = send_get(server.addr, "/").await;
    read_response(&mut first, secs(2)).await.unwrap();
    let mut second = send_get(server.addr, "/").await;
    read_response(&mut second, secs(2)).await.unwrap();
    assert_eq!(server.stats.open_connections(), 2);

    let mut third = send_get(server.addr, "/").await;
    assert!(
        read_response(&mut third, ms(700)).await.is_none(),
        "connection 3 was served while 2 were open"
    );
    assert_eq!(server.stats.accepted(), 2);
    drop(first);
    let freed = Instant::now();
    let (head, _) = read_response(&mut third, secs(2))
        .await
        .expect("connection 3 is served once a slot frees");
    let waited = freed.elapsed();
    println!("cap 2: connection 3 served {waited:?} after connection 1 closed");
    assert!(head.starts_with("HTTP/1.1 200"));
    assert!(waited < ms(500), "{waited:?}");
    drop(second);
}

/// Past the per-address cap a connection is closed at once, without an answer; the
/// address gets its slot back when one of its connections closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_per_address_cap_a_connection_is_closed_at_once() {
    let server = start(|s| s.max_connections_per_address(Some(2))).await;
    let mut a = send_get(server.addr, "/").await;
    read_response(&mut a, secs(2)).await.unwrap();
    let mut b = send_get(server.addr, "/").await;
    read_response(&mut b, secs(2)).await.unwrap();
    let mut c = send_get(server.addr, "/").await;
    let (got, closed) = read_until_closed(&mut c, secs(2)).await;
    let closed = closed.expect("the third connection from one address is closed");
    println!(
        "per-address cap 2: third connection closed after {closed:?}, {} bytes",
        got.len()
    );
    assert!(got.is_empty());
    assert!(closed < ms(500), "{closed:?}");
    assert_eq!(server.stats.refused_per_address(), 1);
    drop(a);
    let deadline = Instant::now() + secs(2);
    while server.stats.open_connections() > 1 && Instant::now() < deadline {
        tokio::time::sleep(ms(10)).await;
    }
    let mut d = send_get(server.addr, "/").await;
    assert!(read_response(&mut d, secs(2)).await.is_some());
    drop(b);
}

// ---------------------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------------------

/// On shutdown: an idle connection is closed at once, a request in flight finishes, and a
/// stalled request (request timeout off), a half-sent head and a stalled HTTP/2 stream are
/// closed at the deadline, their handlers dropped; the listener is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_what_is_in_flight_and_meets_the_deadline() {
    // Every stalled handler holds a clone: none may outlive the deadline.
    let held = std::sync::Arc::new(());
    let handlers = std::sync::Arc::clone(&held);
    let router = app().route(
        "/held",
        get(move || {
            let held = std::sync::Arc::clone(&handlers);
            async move {
                let _held = held;
                std::future::pending::<&'static str>().await
            }
        }),
    );
    let mut server = Serving::start(router, |s| {
        s.request_timeout(None)
            .shutdown_deadline(secs(1))
            .header_read_timeout(secs(10))
    })
    .await;
    let mut stalled = send_get(server.addr, "/held").await;
    let mut in_flight = send_get(server.addr, "/slow/400").await;
    let mut idle = send_get(server.addr, "/").await;
    read_response(&mut idle, secs(2)).await.unwrap();
    let mut half = TcpStream::connect(server.addr).await.unwrap();
    half.write_all(b"GET / HTTP/1.1\r\nHost:").await.unwrap();
    let mut h2: H2 = h2_connect(server.addr, None).await;
    let addr = server.addr;
    let h2_hang = tokio::spawn(async move {
        let request = http::Request::get(format!("http://{addr}/held"))
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        h2.send.send_request(request).await.map(|r| r.status())
    });
    tokio::time::sleep(ms(100)).await;
    assert_eq!(server.stats.open_connections(), 5);
    assert_eq!(
        std::sync::Arc::strong_count(&held),
        4,
        "this test, the router and the two stalled handlers hold it"
    );

    let signalled = server.shutdown();
    let (idle_rest, idle_closed) = read_until_closed(&mut idle, secs(3)).await;
    let (head, body) = read_response(&mut in_flight, secs(3))
        .await
        .expect("the request in flight is answered during the shutdown");
    let report = tokio::time::timeout(secs(5), &mut server.task)
        .await
        .expect("serve returns")
        .unwrap();
    let returned = signalled.elapsed();
    // Checked at once: serve returns only when every handler, HTTP/2 streams' included, is
    // gone (and the router with the last of them).
    let holders_left = std::sync::Arc::strong_count(&held);
    let (_, stalled_closed) = read_until_closed(&mut stalled, secs(1)).await;
    let (_, half_closed) = read_until_closed(&mut half, secs(1)).await;
    let h2_result = tokio::time::timeout(secs(1), h2_hang).await;
    println!(
        "shutdown (deadline 1 s): idle closed after {idle_closed:?}, in flight got {:?}, serve returned after {returned:?}, {report:?}",
        head.lines().next(),
    );
    assert!(idle_rest.is_empty());
    assert!(idle_closed.expect("the idle connection is closed") < ms(500));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"done");
    assert!(within(returned, 950, 2500), "{returned:?}");
    assert_eq!(
        report.forced_connections, 3,
        "the stalled h1 request, the half head, the stalled h2 stream"
    );
    assert!(
        stalled_closed.is_some(),
        "the stalled client is still connected"
    );
    assert!(
        half_closed.is_some(),
        "the half-sent head is still connected"
    );
    assert!(
        matches!(h2_result, Ok(Ok(Err(_)))),
        "the stalled h2 stream did not end: {h2_result:?}"
    );
    assert_eq!(server.stats.open_connections(), 0);
    assert_eq!(
        holders_left, 1,
        "a stalled handler (or the router) outlived the shutdown"
    );
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "the listener is closed"
    );
}

/// With nothing stalled, the shutdown returns as soon as the last request is answered, and
/// that answer says `Connection: close`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_returns_as_soon_as_nothing_is_in_flight() {
    let mut server = start(|s| s.shutdown_deadline(secs(5))).await;
    let mut c = send_get(server.addr, "/slow/200").await;
    tokio::time::sleep(ms(50)).await;
    let signalled = server.shutdown();
    let (head, _) = read_response(&mut c, secs(2)).await.unwrap();
    let report = (&mut server.task).await.unwrap();
    let returned = signalled.elapsed();
    println!("shutdown with one 200 ms request in flight: returned after {returned:?}, {report:?}");
    assert!(head.starts_with("HTTP/1.1 200"));
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    assert!(returned < ms(1500), "{returned:?}");
    assert_eq!(report.forced_connections, 0);
}

// ---------------------------------------------------------------------------------------
// The client's address
// ---------------------------------------------------------------------------------------

/// `ConnectInfo<SocketAddr>` and `ClientAddr` (what the login throttle keys on) see the
/// client on HTTP/1 and on HTTP/2, as with `into_make_service_with_connect_info`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_info_and_client_addr_reach_handlers_on_http1_and_http2() {
    let server = start(|s| s).await;
    let mut c = send_get(server.addr, "/ip").await;
    let local = c.local_addr().unwrap();
    let (_, body) = read_response(&mut c, secs(2)).await.unwrap();
    assert_eq!(String::from_utf8(body).unwrap(), local.to_string());
    let answer = server.client().build("GET", "/client").send_async().await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.text(), "127.0.0.1");

    let mut h2 = h2_connect(server.addr, None).await;
    let (status, body) = h2_get(&mut h2, server.addr, "/ip").await;
    assert_eq!(status, 200);
    let peer: SocketAddr = body.parse().unwrap();
    assert!(peer.ip().is_loopback(), "{peer}");
    assert_ne!(peer, local, "a new connection, a new port");
    let (status, body) = h2_get(&mut h2, server.addr, "/client").await;
    println!("ConnectInfo: h1 {local}; h2 {peer}; ClientAddr over h2: {body}");
    assert_eq!((status, body.as_str()), (200, "127.0.0.1"));
}

// ---------------------------------------------------------------------------------------
// Upgrades
// ---------------------------------------------------------------------------------------

/// An upgraded connection (what a WebSocket is) leaves hyper, so the idle timeout does not
/// reach it; it keeps its slot under the cap until it closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_connection_keeps_its_slot_until_it_closes() {
    async fn upgrade(request: Request) -> Response {
        tokio::spawn(async move {
            let Ok(upgraded) = hyper::upgrade::on(request).await else {
                return;
            };
            let mut io = TokioIo::new(upgraded);
            let mut buf = [0u8; 64];
            while let Ok(n) = io.read(&mut buf).await {
                if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
        Response::builder()
            .status(101)
            .header("connection", "upgrade")
            .header("upgrade", "echo")
            .body(Body::empty())
            .unwrap()
    }
    let router = Router::new().route("/up", get(upgrade));
    let server = Serving::start(router, |s| {
        s.idle_timeout(secs(1))
            .header_read_timeout(secs(1))
            .max_connections(1)
    })
    .await;
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    c.write_all(b"GET /up HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n")
        .await
        .unwrap();
    let (head, _) = read_response(&mut c, secs(2)).await.unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tokio::time::sleep(ms(2500)).await;
    c.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    tokio::time::timeout(secs(1), c.read_exact(&mut buf))
        .await
        .expect("the upgraded connection was closed by the idle timeout")
        .unwrap();
    assert_eq!(&buf, b"ping");
    assert_eq!(server.stats.open_connections(), 1);
    // The cap (1) still counts it: a second connection waits.
    let mut other = send_get(server.addr, "/").await;
    assert!(read_response(&mut other, ms(500)).await.is_none());
    drop(c);
    assert!(read_response(&mut other, secs(2)).await.is_some());
    println!("upgrade: alive after 2.5 s with idle 1 s; held the only slot until closed");
}
