//! The quickstart's connections have deadlines (issue 20, point 2): the real `quickstart`
//! binary, its descriptors counted in `/proc/<pid>/fd`, SIGTERM a real signal. Short
//! timeouts come from the environment (`CENTURION_HEADER_TIMEOUT` and the others of
//! `examples/src/quickstart_serving.rs`).
//!
//! Served through `axum::serve`, as before, the quickstart failed every one of these: the
//! half-sent heads kept their descriptors, idle connections stayed open, SIGTERM with a
//! stalled client never finished, and a trickled body was waited for.

// The harness re-exports what quickstart_e2e.rs uses, not all of it used here.
#[allow(unused_imports)]
mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use centurion_testkit::check_error_body;
use centurion_testkit::serving::{
    fd_count, h2_connect, h2_get, half_sent_heads, open_files_limit, read_response,
    read_until_closed, rss_kib, send_get, within,
};
use serde_json::Value;
use support::{Launch, Quickstart};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime")
}

fn addr(qs: &Quickstart) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], qs.port))
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// 5 000 connections that each send half a request head: with a header timeout of 1 s,
/// the server holds none of their descriptors shortly after, and serves other clients
/// meanwhile. (Through `axum::serve` the 5 000 descriptors stayed: 19 986 of them took
/// every descriptor of the process in the audit.)
#[test]
fn half_sent_heads_hold_no_descriptors_after_the_header_timeout() {
    // This process and the server each need a descriptor per connection.
    let limit = open_files_limit().unwrap_or(1024);
    let n = 5000.min(usize::try_from(limit.saturating_sub(500)).unwrap_or(0));
    if n < 5000 {
        println!("NOTE: ulimit -n is {limit}: opening {n} half-sent heads instead of 5000");
    }
    let qs = Launch::new()
        .env("CENTURION_HEADER_TIMEOUT", "1s")
        .env("CENTURION_MAX_CONNECTIONS", "10000")
        .start();
    let pid = qs.pid();
    let addr = addr(&qs);
    runtime().block_on(async {
        let base = fd_count(pid);
        let rss_base = rss_kib(pid);
        let mut peak = base;
        let started = Instant::now();
        let mut heads = half_sent_heads(addr, n, || peak = peak.max(fd_count(pid))).await;
        let sent = Instant::now();
        let rss_peak = rss_kib(pid);
        // Other clients are served while the heads are held.
        let health = centurion_testkit::Client { addr }
            .build("GET", "/healthz")
            .send_async()
            .await;
        assert_eq!(health.status, 200, "{health:?}");
        // Poll the server's descriptors until they are back to the baseline (or 10 s).
        let mut at_2_5_s = None;
        let mut drained = None;
        while Instant::now() < sent + secs(10) {
            let now = fd_count(pid);
            peak = peak.max(now);
            if at_2_5_s.is_none() && sent.elapsed() >= Duration::from_millis(2500) {
                at_2_5_s = Some(now);
            }
            if now <= base + 2 {
                drained = Some(sent.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let after = fd_count(pid);
        println!(
            "{n} half-sent heads (header timeout 1 s), opened in {:?}: server descriptors \
             {base} -> peak {peak} -> {after} (back to the baseline {drained:?} after the last \
             was sent; at 2.5 s: {at_2_5_s:?}); RSS {rss_base} -> {rss_peak} -> {} KiB",
            sent - started,
            rss_kib(pid)
        );
        assert!(
            peak >= base + n * 9 / 10,
            "the connections were not all open at once: peak {peak}, base {base}"
        );
        assert!(
            drained.is_some(),
            "descriptors still held 10 s after the last head: {after} (baseline {base})"
        );
        // Every client saw its connection closed, and none got an answer.
        let mut closed = 0;
        let mut answered = 0;
        for head in &mut heads {
            let (got, end) = read_until_closed(head, Duration::from_millis(50)).await;
            closed += usize::from(end.is_some());
            answered += usize::from(!got.is_empty());
        }
        assert_eq!(closed, n, "every half-sent head was closed");
        assert_eq!(answered, 0, "nobody got an answer to half a head");
    });
    qs.assert_healthy();
}

/// An idle keep-alive connection is closed after the idle timeout, on HTTP/1 and on
/// HTTP/2 (cleartext, prior knowledge), although the HTTP/2 client keeps pinging.
#[test]
fn idle_keep_alive_connections_are_closed() {
    let qs = Launch::new()
        .env("CENTURION_IDLE_TIMEOUT", "1s")
        .env("CENTURION_HEADER_TIMEOUT", "10s")
        .start();
    let addr = addr(&qs);
    runtime().block_on(async {
        let mut h1 = send_get(addr, "/healthz").await;
        let (head, _) = read_response(&mut h1, secs(5)).await.expect("an answer");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let (_, h1_closed) = read_until_closed(&mut h1, secs(8)).await;

        let mut h2 = h2_connect(addr, Some(Duration::from_millis(200))).await;
        let (status, body) = h2_get(&mut h2, addr, "/healthz").await;
        assert_eq!(status, 200, "{body}");
        let answered = Instant::now();
        let h2_closed = tokio::time::timeout(secs(8), h2.closed)
            .await
            .ok()
            .map(|closed| closed.expect("the h2 connection task") - answered);
        println!(
            "idle timeout 1 s: HTTP/1 keep-alive closed after {h1_closed:?}, HTTP/2 (pinging) after {h2_closed:?}"
        );
        let h1_closed = h1_closed.expect("the idle HTTP/1 connection is closed");
        assert!(within(h1_closed, 900, 3000), "{h1_closed:?}");
        let h2_closed = h2_closed.expect("the idle HTTP/2 connection is closed");
        assert!(within(h2_closed, 900, 3000), "{h2_closed:?}");
    });
}

/// SIGTERM with stalled clients (half a request head; a login whose body stopped after
/// 10 bytes) and an idle one: the idle one is closed at once, the stalled ones at the
/// shutdown deadline, and the process exits (status 0) right after it. (Through
/// `axum::serve` it never exited.)
#[test]
fn sigterm_with_stalled_clients_exits_by_the_shutdown_deadline() {
    let mut qs = Launch::new()
        .env("CENTURION_SHUTDOWN_DEADLINE", "2s")
        .env("CENTURION_HEADER_TIMEOUT", "10s")
        .start();
    let port = qs.port;
    let connect = || {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(secs(15)))
            .expect("a read timeout");
        stream
    };
    let mut half_head = connect();
    half_head
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: half")
        .expect("send half a head");
    let mut half_body = connect();
    half_body
        .write_all(
            b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"username\"",
        )
        .expect("send a head and 10 bytes of body");
    let mut idle = connect();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("send a keep-alive request");
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).expect("the answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    std::thread::sleep(Duration::from_millis(300));

    qs.terminate();
    let signalled = Instant::now();
    let mut rest = Vec::new();
    let idle_end = idle.read_to_end(&mut rest);
    let idle_closed = signalled.elapsed();
    let status = qs.wait_exit(secs(10));
    let took = signalled.elapsed();
    let stdout = qs.stdout();
    let half_head_end = half_head.read(&mut buf);
    let half_body_end = half_body.read(&mut buf);
    println!(
        "SIGTERM, shutdown deadline 2 s, two stalled clients: exit {status:?} after {took:?}; \
         the idle connection closed after {idle_closed:?}; the stalled ones read {half_head_end:?} / {half_body_end:?}"
    );
    let status = status.expect("the server exits after SIGTERM despite its stalled clients");
    assert!(status.success(), "exit status 0: {status}\n{}", qs.stderr());
    assert!(within(took, 1800, 5000), "{took:?}");
    assert!(idle_end.is_ok() && idle_closed < secs(1), "{idle_closed:?}");
    assert!(
        matches!(half_head_end, Ok(0) | Err(_)),
        "the half-sent head was closed: {half_head_end:?}"
    );
    assert!(
        matches!(half_body_end, Ok(0) | Err(_)),
        "the stalled body was closed: {half_body_end:?}"
    );
    assert!(
        stdout.contains("forced_connections=2"),
        "the log says what was cut: {stdout}"
    );
    assert!(stdout.contains("server stopped"), "{stdout}");
}

/// A body trickled one byte every 100 ms to `POST /auth/login` is answered 408 with the
/// JSON error body once the request timeout passes, and the connection is closed.
#[test]
fn a_trickled_body_is_answered_408_json() {
    let qs = Launch::new().env("CENTURION_REQUEST_TIMEOUT", "1s").start();
    let mut stream = TcpStream::connect(("127.0.0.1", qs.port)).expect("connect");
    stream
        .set_read_timeout(Some(secs(8)))
        .expect("a read timeout");
    stream
        .write_all(
            b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        )
        .expect("send the head");
    let started = Instant::now();
    let mut writer = stream.try_clone().expect("a second handle");
    let trickle = std::thread::spawn(move || {
        for _ in 0..40 {
            if writer.write_all(b" ").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let mut raw = Vec::new();
    let end = stream.read_to_end(&mut raw);
    let took = started.elapsed();
    let _ = trickle.join();
    let text = String::from_utf8_lossy(&raw);
    println!(
        "body trickled 1 byte/100 ms (request timeout 1 s): {:?} after {took:?} ({end:?})",
        text.lines().next()
    );
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    check_error_body(408, body.as_bytes());
    let json: Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(json["error"], "RequestTimeout", "{json}");
    assert!(within(took, 900, 3500), "{took:?}");
    qs.assert_healthy();
}

/// Bad serving settings stop the start with a message naming the variable.
#[test]
fn bad_serving_settings_are_refused_at_start_up() {
    for (name, value) in [
        ("CENTURION_HEADER_TIMEOUT", "0s"),
        ("CENTURION_IDLE_TIMEOUT", "soon"),
        ("CENTURION_REQUEST_TIMEOUT", "-1s"),
        ("CENTURION_SHUTDOWN_DEADLINE", "0ms"),
        ("CENTURION_MAX_CONNECTIONS", "0"),
        ("CENTURION_MAX_CONNECTIONS", "many"),
        ("CENTURION_MAX_CONNECTIONS_PER_ADDRESS", "-3"),
    ] {
        let dir = support::TempDir::new("quickstart-serving-bad");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_quickstart"))
            .current_dir(dir.path())
            .env_clear()
            .env("CENTURION_SECRET", support::TEST_SECRET)
            .env(
                "CENTURION_ADDR",
                format!("127.0.0.1:{}", support::free_port()),
            )
            .env(name, value)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn the quickstart");
        let deadline = Instant::now() + secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the quickstart") {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut text = String::new();
        if let Some(mut out) = child.stdout.take() {
            let _ = out.read_to_string(&mut text);
        }
        if let Some(mut err) = child.stderr.take() {
            let _ = err.read_to_string(&mut text);
        }
        let status = status.unwrap_or_else(|| panic!("{name}={value} was accepted: {text}"));
        assert!(!status.success(), "{name}={value} is refused: {text}");
        assert!(
            text.contains(name),
            "{name}={value}: the message names it: {text}"
        );
    }
}
