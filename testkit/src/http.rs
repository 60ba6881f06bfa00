//! The raw HTTP/1.1 client of the test suites, and a Router served over TCP.
//!
//! It sends what well-behaved client libraries refuse to send (invalid UTF-8 in headers,
//! repeated headers, huge headers, bodies the server refuses before reading them) and
//! reads the whole answer. One request builder and one parser serve both ways of sending:
//! [`Request::send`] blocks (for tests of a server in another process, such as the
//! quickstart binary), [`Request::send_async`] and [`Client`] run on Tokio (for a Router
//! served in the test's own runtime by [`Server`]).

use std::io::{ErrorKind as IoErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use axum::Router;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// ---------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------

/// A response: status, headers (names lower-cased, in order) and the body.
#[derive(Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?} {}", self.status, self.headers, self.text())
    }
}

impl Response {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header of that name.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (showing the response) if it is not.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {self:?}"))
    }

    /// The `Set-Cookie` header that sets `name`.
    #[track_caller]
    pub fn set_cookie(&self, name: &str) -> SetCookie {
        let prefix = format!("{name}=");
        let raw = self
            .headers_named("set-cookie")
            .into_iter()
            .find(|v| v.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no Set-Cookie for {name}: {self:?}"));
        SetCookie::parse(raw)
    }

    /// Asserts a refusal: this status, the JSON body `{"error": name, "message",
    /// "status_code"}` (see [`assert_error`](crate::assert_error)), and for a 401 a
    /// `WWW-Authenticate: Bearer …` challenge.
    #[track_caller]
    pub fn assert_refused(&self, status: u16, error: &str) {
        crate::assert_error_named(self, status, error);
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

/// One parsed `Set-Cookie` header.
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    /// The attributes, names lower-cased, values as given (empty for flags).
    pub attributes: Vec<(String, String)>,
}

impl SetCookie {
    fn parse(raw: &str) -> Self {
        let mut parts = raw.split(';');
        let (name, value) = parts
            .next()
            .and_then(|p| p.split_once('='))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .unwrap_or_default();
        let attributes = parts
            .map(|p| match p.split_once('=') {
                Some((n, v)) => (n.trim().to_ascii_lowercase(), v.trim().to_owned()),
                None => (p.trim().to_ascii_lowercase(), String::new()),
            })
            .collect();
        Self {
            name,
            value,
            attributes,
        }
    }

    /// The value of an attribute (`""` for a flag), if present.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.attributes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `name=value`, for a `Cookie` header.
    pub fn pair(&self) -> String {
        format!("{}={}", self.name, self.value)
    }
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/// A request being built, to `127.0.0.1:<port>`; sent on a fresh connection with
/// `Connection: close`.
pub struct Request {
    port: u16,
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    chunked: bool,
}

impl Request {
    pub fn new(port: u16, method: &str, path: &str) -> Self {
        Self {
            port,
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
            chunked: false,
        }
    }

    /// Adds a header (the value may be any bytes, even invalid UTF-8).
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", format!("Bearer {token}"))
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, value: &Value) -> Self {
        self.raw_json(value.to_string())
    }

    /// These bytes as the body, with `Content-Type: application/json`.
    pub fn raw_json(self, body: impl Into<Vec<u8>>) -> Self {
        self.header("Content-Type", "application/json").body(body)
    }

    /// These bytes as the body, with no `Content-Type` unless one is added.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sends the body with `Transfer-Encoding: chunked` instead of `Content-Length`.
    pub fn chunked(mut self) -> Self {
        self.chunked = true;
        self
    }

    /// The bytes of the whole request.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n",
            self.method, self.path, self.port
        )
        .into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        match (&self.body, self.chunked) {
            (Some(_), true) => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
            (Some(body), false) => {
                out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
            }
            (None, _) if ["POST", "PUT", "PATCH"].contains(&self.method.as_str()) => {
                out.extend_from_slice(b"Content-Length: 0\r\n");
            }
            (None, _) => {}
        }
        out.extend_from_slice(b"\r\n");
        match (&self.body, self.chunked) {
            (Some(body), true) => {
                for chunk in body.chunks(16 * 1024) {
                    out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
            }
            (Some(body), false) => out.extend_from_slice(body),
            (None, _) => {}
        }
        out
    }

    /// Sends the request and reads the whole response, blocking; panics if there is none.
    #[track_caller]
    pub fn send(self) -> Response {
        let what = format!("{} {}", self.method, self.path);
        match self.try_send() {
            Ok(response) => response,
            Err(e) => panic!("{what}: no response: {e}"),
        }
    }

    /// Sends the request, blocking; the body is written by a second thread while this one
    /// reads, so a server that answers before reading a large body does not deadlock us.
    pub fn try_send(self) -> std::io::Result<Response> {
        send_blocking(self.port, &self.to_bytes())
    }

    /// Sends the request on Tokio and reads the whole response (within 30 s).
    pub async fn send_async(self) -> Response {
        raw_async(
            SocketAddr::from(([127, 0, 0, 1], self.port)),
            &self.to_bytes(),
        )
        .await
    }
}

/// Sends raw bytes and reads the answer, blocking.
pub fn send_blocking(port: u16, payload: &[u8]) -> std::io::Result<Response> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = stream;
    std::thread::scope(|scope| {
        scope.spawn(move || {
            // The server may answer and close before reading everything: ignore that.
            let _ = writer.write_all(payload);
            let _ = writer.flush();
        });
        read_response(&mut reader)
    })
}

/// Reads until the server closes the connection (we always send `Connection: close`),
/// then parses the response. A reset after a complete response is not an error.
fn read_response(stream: &mut TcpStream) -> std::io::Result<Response> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                if let Some(response) = parse_complete(&raw) {
                    let _ = stream.shutdown(Shutdown::Both);
                    return Ok(response);
                }
            }
            Err(e) if e.kind() == IoErrorKind::Interrupted => {}
            Err(e) => {
                return parse_complete(&raw).ok_or(e);
            }
        }
    }
    parse(&raw)
}

/// Sends raw bytes (a complete HTTP/1.1 request; `Connection: close` is expected so the
/// answer ends with the connection) on Tokio and reads the answer; panics without one
/// within 30 s.
pub async fn raw_async(addr: SocketAddr, request: &[u8]) -> Response {
    let fut = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request).await.expect("send");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.expect("receive");
        bytes
    };
    let bytes = tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .expect("the server answers within 30 s");
    parse(&bytes).unwrap_or_else(|e| panic!("{e}"))
}

/// The response in `raw`, complete or delimited by the end of the connection.
fn parse(raw: &[u8]) -> std::io::Result<Response> {
    parse_complete(raw)
        .or_else(|| parse_until_close(raw))
        .ok_or_else(|| {
            std::io::Error::new(
                IoErrorKind::UnexpectedEof,
                format!(
                    "incomplete response: {:?}",
                    String::from_utf8_lossy(&raw[..raw.len().min(500)])
                ),
            )
        })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Headers as (lower-cased name, value) pairs.
type Headers = Vec<(String, String)>;

/// The status, the headers and where the body starts.
fn parse_head(raw: &[u8]) -> Option<(u16, Headers, usize)> {
    let end = find(raw, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some((status, headers, end + 4))
}

/// The response, if `raw` holds all of it (by `Content-Length` or a chunked body's end).
fn parse_complete(raw: &[u8]) -> Option<Response> {
    let (status, headers, start) = parse_head(raw)?;
    let rest = &raw[start..];
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        decode_chunked(rest)?
    } else if let Some(length) = header("content-length") {
        let length: usize = length.parse().ok()?;
        if rest.len() < length {
            return None;
        }
        rest[..length].to_vec()
    } else if status == 204 || status == 304 {
        Vec::new()
    } else {
        return None;
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

/// A response delimited by the end of the connection.
fn parse_until_close(raw: &[u8]) -> Option<Response> {
    let (status, headers, start) = parse_head(raw)?;
    Some(Response {
        status,
        headers,
        body: raw[start..].to_vec(),
    })
}

fn decode_chunked(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = find(rest, b"\r\n")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        if rest.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

// ---------------------------------------------------------------------------------------
// A Router over TCP
// ---------------------------------------------------------------------------------------

/// A Router served over TCP on 127.0.0.1 (with `ConnectInfo<SocketAddr>`), stopped when
/// dropped. It dereferences to a [`Client`] of itself.
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
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

/// Sends requests to a server on Tokio; `Copy`, so tasks can take one.
#[derive(Clone, Copy, Debug)]
pub struct Client {
    pub addr: SocketAddr,
}

impl Client {
    /// A request to this server, to be sent with [`Request::send_async`].
    pub fn build(&self, method: &str, path: &str) -> Request {
        Request::new(self.addr.port(), method, path)
    }

    /// Sends raw request bytes (a complete HTTP/1.1 request; `Connection: close` is
    /// expected so the answer ends with the connection) and reads the answer.
    pub async fn raw(&self, request: &[u8]) -> Response {
        raw_async(self.addr, request).await
    }

    /// A request with these headers (each `(name, raw value bytes)`, repeated names kept)
    /// and body (sent with its `Content-Length`, even when empty).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &[u8])],
        body: &[u8],
    ) -> Response {
        let mut request = self.build(method, path).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send_async().await
    }

    /// `GET path` with an `Authorization: Bearer <token>` header.
    pub async fn get_bearer(&self, path: &str, token: &str) -> Response {
        self.build("GET", path).bearer(token).send_async().await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.build("POST", path).json(body).send_async().await
    }
}
