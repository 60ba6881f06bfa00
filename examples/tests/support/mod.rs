//! The harness of the quickstart's end-to-end tests: the real `quickstart` binary started
//! on a free 127.0.0.1 port in a temporary working directory (its SQLite file lands
//! there), its stdout and stderr captured (console mail and logs). Requests go through the
//! test kit's raw HTTP client (`centurion_testkit::http`), which can also send what
//! well-behaved clients never do (invalid UTF-8, huge headers, bodies the server refuses
//! before reading them). Only this crate's tests can start the binary
//! (`CARGO_BIN_EXE_quickstart`), so the harness lives here and not in the kit.

#![allow(dead_code, unreachable_pub)]

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

pub use centurion_testkit::servers;
pub use centurion_testkit::tokens::payload_of as jwt_payload;
pub use centurion_testkit::{
    Request, Response, TEST_SECRET, TempDir, assert_error, assert_error_named, b64, expect_json,
    free_port, keys,
};

/// The users seeded at start: an editor, an author and a user without roles.
pub const SEED_USERS: &str = "ed:editor-pass-1:editor,au:author-pass-1:author,plain:plain-pass-12:";

/// The administrator created from `CENTURION_ADMIN_USERNAME` / `_PASSWORD`.
pub const ADMIN: (&str, &str) = ("root", "root-pass-12");

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
    /// `reset`); the token travels in the link's fragment.
    pub fn token(&self, route: &str) -> Option<String> {
        let marker = format!("/{route}#token=");
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
                ("CENTURION_SECRET".into(), TEST_SECRET.into()),
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

    /// Waits (up to 10 s) for the `count`-th mail to `to` holding a `/{route}#token=` link,
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
