//! The harness of the quickstart's end-to-end tests: the real `quickstart` binary started
//! on a free 127.0.0.1 port in a temporary working directory (its SQLite file lands
//! there), its stdout and stderr captured (console mail and logs), and a small blocking
//! HTTP/1.1 client that can also send what well-behaved clients never do (invalid UTF-8,
//! huge headers, bodies the server refuses before reading them).

#![allow(dead_code, unreachable_pub)]

#[path = "../../../runtime/tests/support/servers.rs"]
pub mod servers;

use std::io::{ErrorKind as IoErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

pub use servers::{TempDir, free_port};

/// The signing secret every test server uses (at least 32 bytes).
pub const SECRET: &str = "e2e-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

/// The users seeded at start: an editor, an author and a user without roles.
pub const SEED_USERS: &str = "ed:editor-pass-1:editor,au:author-pass-1:author,plain:plain-pass-12:";

/// The administrator created from `CENTURION_ADMIN_USERNAME` / `_PASSWORD`.
pub const ADMIN: (&str, &str) = ("root", "root-pass-12");

// ---------------------------------------------------------------------------------------
// HTTP
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
    /// The first header of that name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every header of that name.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(n, _)| *n == name)
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

/// A request being built; [`send`](Self::send) sends it on a fresh connection.
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

    /// Sends the request and reads the whole response; panics if there is none.
    #[track_caller]
    pub fn send(self) -> Response {
        let what = format!("{} {}", self.method, self.path);
        match self.try_send() {
            Ok(response) => response,
            Err(e) => panic!("{what}: no response: {e}"),
        }
    }

    /// The bytes of the request head (request line and headers, up to the blank line).
    fn head(&self) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n",
            self.method, self.path, self.port
        )
        .into_bytes();
        for (name, value) in &self.headers {
            head.extend_from_slice(name.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value);
            head.extend_from_slice(b"\r\n");
        }
        match (&self.body, self.chunked) {
            (Some(_), true) => head.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
            (Some(body), false) => {
                head.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
            }
            (None, _) if ["POST", "PUT", "PATCH"].contains(&self.method.as_str()) => {
                head.extend_from_slice(b"Content-Length: 0\r\n");
            }
            (None, _) => {}
        }
        head.extend_from_slice(b"\r\n");
        head
    }

    fn body_bytes(&self) -> Vec<u8> {
        let Some(body) = &self.body else {
            return Vec::new();
        };
        if !self.chunked {
            return body.clone();
        }
        let mut out = Vec::with_capacity(body.len() + 64);
        for chunk in body.chunks(16 * 1024) {
            out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    }

    /// Sends the request; the body is written by a second thread while this one reads,
    /// so a server that answers before reading a large body does not deadlock us.
    pub fn try_send(self) -> std::io::Result<Response> {
        let stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        stream.set_write_timeout(Some(Duration::from_secs(60)))?;
        let mut payload = self.head();
        payload.extend_from_slice(&self.body_bytes());
        let mut writer = stream.try_clone()?;
        let mut reader = stream;
        std::thread::scope(|scope| {
            scope.spawn(move || {
                // The server may answer and close before reading everything: ignore that.
                let _ = writer.write_all(&payload);
                let _ = writer.flush();
            });
            read_response(&mut reader)
        })
    }
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
    parse_complete(&raw)
        .or_else(|| parse_until_close(&raw))
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
// Assertions
// ---------------------------------------------------------------------------------------

/// Asserts that `response` is the contract's JSON error with this status:
/// `{"error", "message", "status_code"}` and nothing else, `status_code` equal to the
/// HTTP status. Returns the error's name.
#[track_caller]
pub fn assert_error(response: &Response, status: u16) -> String {
    assert_eq!(response.status, status, "status: {response:?}");
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "an error is JSON: {response:?}"
    );
    let body = response.json();
    let object = body
        .as_object()
        .unwrap_or_else(|| panic!("the error body is an object: {response:?}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["error", "message", "status_code"],
        "error body keys: {response:?}"
    );
    let name = body["error"].as_str().unwrap_or_default();
    assert!(
        !name.is_empty(),
        "`error` is a non-empty string: {response:?}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "`message` is a non-empty string: {response:?}"
    );
    assert_eq!(
        body["status_code"].as_u64(),
        Some(u64::from(status)),
        "`status_code` equals the HTTP status: {response:?}"
    );
    name.to_owned()
}

/// [`assert_error`], and the error's name is `name`.
#[track_caller]
pub fn assert_error_named(response: &Response, status: u16, name: &str) {
    let got = assert_error(response, status);
    assert_eq!(got, name, "error name: {response:?}");
}

/// Asserts a successful status and returns the JSON body.
#[track_caller]
pub fn expect_json(response: &Response, status: u16) -> Value {
    assert_eq!(response.status, status, "status: {response:?}");
    assert!(
        response
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "JSON answer: {response:?}"
    );
    response.json()
}

/// The sorted keys of a JSON object.
#[track_caller]
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort_unstable();
    keys
}

/// The decoded payload (claims) of a JWT, unverified.
#[track_caller]
pub fn jwt_payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON payload")
}

/// Base64url without padding, as JWT segments are.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

// ---------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------

/// An access and refresh token, from a login or refresh answer.
#[derive(Debug, Clone)]
pub struct Pair {
    pub access: String,
    pub refresh: String,
}

impl Pair {
    /// Checks the contract's shape `{"access_token", "refresh_token", "token_type":
    /// "Bearer", "expires_in"}` and takes the tokens.
    #[track_caller]
    pub fn from_answer(response: &Response) -> Self {
        let body = expect_json(response, 200);
        assert_eq!(
            keys(&body),
            ["access_token", "expires_in", "refresh_token", "token_type"],
            "token answer shape: {body}"
        );
        assert_eq!(body["token_type"], "Bearer", "{body}");
        assert!(
            body["expires_in"].as_u64().is_some_and(|s| s > 0),
            "expires_in is a positive number of seconds: {body}"
        );
        let access = body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        let refresh = body["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned();
        assert_eq!(access.split('.').count(), 3, "a JWT: {access}");
        assert_eq!(refresh.split('.').count(), 3, "a JWT: {refresh}");
        assert_ne!(access, refresh);
        Self { access, refresh }
    }
}

// ---------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------

/// A captured output stream of the child.
type Captured = Arc<Mutex<Vec<u8>>>;

fn capture(stream: impl Read + Send + 'static, into: Captured) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut stream = stream;
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => into
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&buf[..n]),
            }
        }
    })
}

fn contents(captured: &Captured) -> String {
    String::from_utf8_lossy(&captured.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// One mail the console mailer printed.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl Mail {
    /// The token of the link in this mail whose path ends in `/{route}` (`confirm` or
    /// `reset`).
    pub fn token(&self, route: &str) -> Option<String> {
        let marker = format!("/{route}?token=");
        let start = self.text.find(&marker)? + marker.len();
        let token: String = self.text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "-._~".contains(*c))
            .collect();
        (!token.is_empty()).then_some(token)
    }
}

const MAIL_START: &str = "----- mail (centurion ConsoleMailer, development only) -----\n";
const MAIL_END: &str = "----- end of mail -----\n";

/// The mails in `stdout`.
pub fn parse_mails(stdout: &str) -> Vec<Mail> {
    let mut mails = Vec::new();
    let mut rest = stdout;
    while let Some(start) = rest.find(MAIL_START) {
        let after = &rest[start + MAIL_START.len()..];
        let Some(end) = after.find(MAIL_END) else {
            break;
        };
        let block = &after[..end];
        let field = |name: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        mails.push(Mail {
            to: field("To:"),
            subject: field("Subject:"),
            text: block.to_owned(),
        });
        rest = &after[end + MAIL_END.len()..];
    }
    mails
}

/// `stdout` without the mail blocks: what is left is the log and the banner.
pub fn strip_mails(stdout: &str) -> String {
    let mut out = String::new();
    let mut rest = stdout;
    while let Some(start) = rest.find(MAIL_START) {
        out.push_str(&rest[..start]);
        match rest[start..].find(MAIL_END) {
            Some(end) => rest = &rest[start + end + MAIL_END.len()..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// How a server is started: the environment on top of the defaults.
#[derive(Clone)]
pub struct Launch {
    env: Vec<(String, String)>,
}

impl Default for Launch {
    fn default() -> Self {
        Self::new()
    }
}

impl Launch {
    /// The defaults: the test secret, the seeded users and administrator, no colours.
    pub fn new() -> Self {
        Self {
            env: vec![
                ("CENTURION_SECRET".into(), SECRET.into()),
                ("CENTURION_SEED_USERS".into(), SEED_USERS.into()),
                ("CENTURION_ADMIN_USERNAME".into(), ADMIN.0.into()),
                ("CENTURION_ADMIN_PASSWORD".into(), ADMIN.1.into()),
                ("NO_COLOR".into(), "1".into()),
            ],
        }
    }

    /// Sets (or replaces) one variable.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Removes one variable.
    pub fn without(mut self, name: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self
    }

    /// Starts the server in a new temporary directory.
    pub fn start(self) -> Quickstart {
        Quickstart::start_in(TempDir::new("quickstart-e2e"), self)
    }
}

/// The running `quickstart` binary; stopped (SIGTERM, then SIGKILL) on drop.
pub struct Quickstart {
    pub port: u16,
    child: Option<Child>,
    dir: TempDir,
    launch: Launch,
    stdout: Captured,
    stderr: Captured,
    readers: Vec<JoinHandle<()>>,
}

impl Quickstart {
    /// A server with the default settings.
    pub fn start() -> Self {
        Launch::new().start()
    }

    fn start_in(dir: TempDir, launch: Launch) -> Self {
        let mut server = Self {
            port: 0,
            child: None,
            dir,
            launch,
            stdout: Captured::default(),
            stderr: Captured::default(),
            readers: Vec::new(),
        };
        server.boot();
        server
    }

    /// Spawns the binary and waits for `/healthz`; retries on another port if the one
    /// picked was taken in the meantime.
    fn boot(&mut self) {
        for attempt in 0..5 {
            self.port = free_port();
            let base = format!("http://127.0.0.1:{}", self.port);
            let mut command = Command::new(env!("CARGO_BIN_EXE_quickstart"));
            command
                .current_dir(self.dir.path())
                .env_clear()
                .env("CENTURION_ADDR", format!("127.0.0.1:{}", self.port))
                .env("PUBLIC_URL", &base);
            if let Some(path) = std::env::var_os("PATH") {
                command.env("PATH", path);
            }
            for (name, value) in &self.launch.env {
                command.env(name, value);
            }
            let mut child = command
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn the quickstart binary");
            let out = child.stdout.take().expect("piped stdout");
            let err = child.stderr.take().expect("piped stderr");
            self.readers.push(capture(out, self.stdout.clone()));
            self.readers.push(capture(err, self.stderr.clone()));
            self.child = Some(child);
            match self.wait_ready() {
                Ok(()) => return,
                Err(why) => {
                    let stderr = self.stderr();
                    let _ = self.kill_hard();
                    if stderr.contains("in use") && attempt < 4 {
                        continue;
                    }
                    panic!(
                        "the quickstart did not start: {why}\n--- stdout\n{}\n--- stderr\n{stderr}",
                        self.stdout()
                    );
                }
            }
        }
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("it exited with {status}"));
            }
            if let Ok(response) = self.get("/healthz").try_send()
                && response.status == 200
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err("no answer on /healthz within 60 s".into())
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }

    /// Sends a signal (`-TERM`, `-INT`, …) with `kill`.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} failed");
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        self.signal("-TERM");
    }

    /// Waits for the process to exit, at most `limit`; `None` if it did not.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            let child = self.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                self.join_readers();
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }

    fn kill_hard(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = child.kill();
        let status = child.wait().ok();
        self.join_readers();
        status
    }

    /// Stops the server gracefully (SIGTERM, then SIGKILL after 10 s) and returns how it
    /// ended.
    pub fn stop(&mut self) -> ExitStatus {
        if self.child.is_none() {
            panic!("the server is not running");
        }
        self.terminate();
        match self.wait_exit(Duration::from_secs(10)) {
            Some(status) => status,
            None => {
                let status = self.kill_hard().expect("kill the server");
                panic!("the server ignored SIGTERM for 10 s (killed: {status})");
            }
        }
    }

    /// Stops the server and starts it again in the same directory with the same settings
    /// (on a new port).
    pub fn restart(&mut self) {
        let status = self.stop();
        assert!(status.success(), "graceful stop: {status}");
        self.boot();
    }

    /// Changes one variable for the next (re)start.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.launch = self.launch.clone().env(name, value);
    }

    /// Starts the server again after it exited, in the same directory with the same
    /// settings (on a new port).
    pub fn restart_stopped(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        self.boot();
    }

    /// The working directory (where the SQLite file lives).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Everything the server printed on stdout so far (logs, banner, mail).
    pub fn stdout(&self) -> String {
        contents(&self.stdout)
    }

    /// Everything the server printed on stderr so far.
    pub fn stderr(&self) -> String {
        contents(&self.stderr)
    }

    /// The mails printed so far.
    pub fn mails(&self) -> Vec<Mail> {
        parse_mails(&self.stdout())
    }

    /// The mails printed so far to `to`.
    pub fn mails_to(&self, to: &str) -> Vec<Mail> {
        self.mails().into_iter().filter(|m| m.to == to).collect()
    }

    /// Waits (up to 10 s) for the `count`-th mail to `to` holding a `/{route}?token=` link,
    /// and returns its token.
    #[track_caller]
    pub fn wait_token(&self, to: &str, route: &str, count: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let tokens: Vec<String> = self
                .mails_to(to)
                .iter()
                .filter_map(|m| m.token(route))
                .collect();
            if tokens.len() >= count {
                return tokens[count - 1].clone();
            }
            assert!(
                Instant::now() < deadline,
                "no mail #{count} to {to} with a /{route} link within 10 s; stdout:\n{}",
                self.stdout()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    // --- requests --------------------------------------------------------------------

    pub fn request(&self, method: &str, path: &str) -> Request {
        Request::new(self.port, method, path)
    }

    pub fn get(&self, path: &str) -> Request {
        self.request("GET", path)
    }

    pub fn post(&self, path: &str) -> Request {
        self.request("POST", path)
    }

    /// `POST path` with a JSON body.
    pub fn post_json(&self, path: &str, body: &Value) -> Response {
        self.post(path).json(body).send()
    }

    /// `POST /auth/login`.
    pub fn login_answer(&self, username: &str, password: &str) -> Response {
        self.post_json(
            "/auth/login",
            &serde_json::json!({"username": username, "password": password}),
        )
    }

    /// A successful login's tokens.
    #[track_caller]
    pub fn login(&self, username: &str, password: &str) -> Pair {
        Pair::from_answer(&self.login_answer(username, password))
    }

    /// `POST /auth/refresh`.
    pub fn refresh_answer(&self, refresh_token: &str) -> Response {
        self.post_json(
            "/auth/refresh",
            &serde_json::json!({"refresh_token": refresh_token}),
        )
    }

    /// `GET /api/me` with this access token.
    pub fn me(&self, access: &str) -> Response {
        self.get("/api/me").bearer(access).send()
    }

    /// Registers a user (201) and returns the token of the confirmation mail.
    #[track_caller]
    pub fn register(&self, username: &str, email: &str, password: &str) -> String {
        let before = self
            .mails_to(email)
            .iter()
            .filter(|m| m.token("confirm").is_some())
            .count();
        let response = self.post_json(
            "/auth/register",
            &serde_json::json!({"username": username, "email": email, "password": password}),
        );
        let body = expect_json(&response, 201);
        assert_eq!(body["username"], username, "{body}");
        assert_eq!(body["active"], false, "{body}");
        self.wait_token(email, "confirm", before + 1)
    }

    /// Registers and confirms a user.
    #[track_caller]
    pub fn register_confirmed(&self, username: &str, email: &str, password: &str) {
        let token = self.register(username, email, password);
        let response = self.post_json("/auth/confirm", &serde_json::json!({"token": token}));
        let body = expect_json(&response, 200);
        assert_eq!(body["active"], true, "{body}");
    }

    /// Asserts `/healthz` still answers 200.
    #[track_caller]
    pub fn assert_healthy(&self) {
        let response = self.get("/healthz").send();
        assert_eq!(response.status, 200, "/healthz: {response:?}");
    }
}

impl Drop for Quickstart {
    fn drop(&mut self) {
        if self.child.is_some() {
            if let Some(pid) = self.child.as_ref().map(Child::id) {
                let _ = Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
            }
            if self.wait_exit(Duration::from_secs(5)).is_none() {
                let _ = self.kill_hard();
            }
        }
    }
}
