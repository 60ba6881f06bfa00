//! What `attacks.rs`, `faults.rs` and `properties.rs` share: a real HTTP server on
//! 127.0.0.1 serving a Router, a raw HTTP/1.1 client (so requests can carry what a
//! well-behaved client library would refuse to send), the JSON-error checks, token
//! surgery, and the committed test keys.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use centurion::PasswordConfig;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The HS256 secret of the instances under attack (40 bytes).
pub const SECRET: &str = "adversarial-suite-secret-of-40-bytes!!!!";

/// Argon2 parameters cheap enough for debug builds.
pub fn cheap_passwords() -> PasswordConfig {
    PasswordConfig {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
        ..PasswordConfig::default()
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// base64url without padding.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict base64url decoding.
pub fn unb64(part: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(part).expect("valid base64url")
}

/// The three parts of a compact token.
pub fn parts(token: &str) -> (String, String, String) {
    let v: Vec<&str> = token.split('.').collect();
    assert_eq!(v.len(), 3, "not a three-part token: {token}");
    (v[0].to_owned(), v[1].to_owned(), v[2].to_owned())
}

/// The decoded payload of a token (no verification).
pub fn payload_of(token: &str) -> Value {
    serde_json::from_slice(&unb64(&parts(token).1)).expect("JSON payload")
}

/// `base64url(header).base64url(payload)` of two JSON texts.
pub fn signing_input(header: &str, payload: &str) -> String {
    format!("{}.{}", b64(header), b64(payload))
}

/// A committed test key of the runtime's test suite (`runtime/tests/keys/<name>`).
pub fn key(name: &str) -> String {
    let path = format!(
        "{}/../runtime/tests/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// An answer read off the wire.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("a JSON body ({e}): {:?}", self.text()))
    }

    /// Asserts a refusal: this status, the JSON body `{"error": name, "message",
    /// "status_code"}`, `Content-Type: application/json`, and for a 401 a
    /// `WWW-Authenticate: Bearer …` challenge.
    #[track_caller]
    pub fn assert_refused(&self, status: u16, error: &str) {
        assert_eq!(self.status, status, "{self:?} {}", self.text());
        let body = self.json();
        assert_eq!(body["error"], error, "{body}");
        assert_eq!(body["status_code"], status, "{body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        assert_eq!(
            body.as_object().map(|o| o.len()),
            Some(3),
            "exactly error, message and status_code: {body}"
        );
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{self:?}"
        );
        if status == 401 {
            assert!(
                self.header("www-authenticate")
                    .is_some_and(|c| c.starts_with("Bearer")),
                "401 without a Bearer challenge: {self:?}"
            );
        }
    }

    /// Asserts a 401 JSON refusal of any kind, and returns its `error` name.
    #[track_caller]
    pub fn assert_unauthorized(&self) -> String {
        let name = self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error name: {}", self.text()))
            .to_owned();
        self.assert_refused(401, &name);
        name
    }
}

/// A Router served over TCP on 127.0.0.1, stopped when dropped. It dereferences to a
/// [`Client`] of itself.
pub struct Server {
    client: Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::ops::Deref for Server {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Server {
    /// Serves `router` on a free port.
    pub async fn start(router: Router) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("an address");
        let task = tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, service)
                .await
                .expect("the server runs");
        });
        Self {
            client: Client { addr },
            task,
        }
    }
}

/// Sends requests to a server; `Copy`, so tasks can take one.
#[derive(Clone, Copy, Debug)]
pub struct Client {
    pub addr: SocketAddr,
}

impl Client {
    /// Sends raw request bytes (a complete HTTP/1.1 request; `Connection: close` is
    /// expected so the answer ends with the connection) and reads the answer.
    pub async fn raw(&self, request: &[u8]) -> Answer {
        let fut = async {
            let mut stream = TcpStream::connect(self.addr).await.expect("connect");
            stream.write_all(request).await.expect("send");
            let mut bytes = Vec::new();
            stream.read_to_end(&mut bytes).await.expect("receive");
            bytes
        };
        let bytes = tokio::time::timeout(Duration::from_secs(30), fut)
            .await
            .expect("the server answers within 30 s");
        parse_answer(&bytes)
    }

    /// A request with these headers (each `(name, raw value bytes)`, repeated names kept)
    /// and body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &[u8])],
        body: &[u8],
    ) -> Answer {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n").into_bytes();
        for (name, value) in headers {
            req.extend_from_slice(name.as_bytes());
            req.extend_from_slice(b": ");
            req.extend_from_slice(value);
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(
            format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        req.extend_from_slice(body);
        self.raw(&req).await
    }

    /// `GET path` with an `Authorization: Bearer <token>` header.
    pub async fn get_bearer(&self, path: &str, token: &str) -> Answer {
        let value = format!("Bearer {token}");
        self.request("GET", path, &[("Authorization", value.as_bytes())], b"")
            .await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Answer {
        self.request(
            "POST",
            path,
            &[("Content-Type", b"application/json")],
            body.to_string().as_bytes(),
        )
        .await
    }
}

fn parse_answer(bytes: &[u8]) -> Answer {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = bytes[split + 4..].to_vec();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..eol])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}
