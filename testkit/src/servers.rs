//! Real servers on 127.0.0.1 that a test starts and stops itself: PostgreSQL, Redis, and
//! an SMTP server (aiosmtpd) that writes every mail it accepts as JSON.
//!
//! A group whose server binary is missing prints `SKIPPED: <group>: <why>` to stderr and
//! returns, except when `CI=true`, where a missing binary fails the test.
//!
//! Binaries are found on `PATH`, in the usual system directories, or where these variables
//! point: `REDIS_SERVER` (the `redis-server` binary), `PG_BIN` (the directory holding
//! `initdb` and `pg_ctl`).

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Skipping
// ---------------------------------------------------------------------------------------

/// Whether this run is CI's (`CI=true`), where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Reports a group that cannot run: loudly on stderr, or as a failure on CI.
pub fn skip(group: &str, why: &str) {
    assert!(
        !in_ci(),
        "{group}: {why} (CI=true: a missing server binary is a failure, not a skip)"
    );
    // Straight to the process's stderr: libtest captures `eprintln!` of passing tests.
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {group}: {why}");
}

// ---------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------

/// A unique string per call in this process (and across processes), for names in shared
/// databases.
pub fn unique(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{tag}-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A directory removed (with its contents) on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(unique(&format!("centurion-{tag}")));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `name` on PATH or in the usual system directories.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            [
                "/usr/local/sbin",
                "/usr/local/bin",
                "/usr/sbin",
                "/usr/bin",
                "/sbin",
                "/bin",
            ]
            .map(PathBuf::from),
        )
        .map(|dir| dir.join(name))
        .find(|p| executable(p))
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn id_of(user: &str, flag: &str) -> Option<u32> {
    let out = Command::new("id").arg(flag).arg(user).output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// Waits until `addr` accepts TCP connections, or `limit` passes.
fn wait_for_port(port: u16, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

// ---------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------

/// A `redis-server` on 127.0.0.1 without persistence, killed on drop.
pub struct RedisServer {
    bin: PathBuf,
    port: u16,
    dir: TempDir,
    child: Option<Child>,
    extra: Vec<String>,
}

impl RedisServer {
    /// Starts a server on a free port, or reports the group skipped (`None`).
    pub fn start(group: &str) -> Option<Self> {
        Self::start_on(group, free_port())
    }

    /// Starts a server on a free port with more command-line options (e.g.
    /// `["--maxmemory", "10mb", "--maxmemory-policy", "volatile-lru"]`), or reports the
    /// group skipped.
    pub fn start_with_args(group: &str, args: &[&str]) -> Option<Self> {
        let mut server = Self::find(group)?;
        server.extra = args.iter().map(|a| (*a).to_owned()).collect();
        server.restart();
        Some(server)
    }

    /// Starts a server on `port` (one a test has kept free, say to build a client before
    /// the server is up), or reports the group skipped.
    pub fn start_on(group: &str, port: u16) -> Option<Self> {
        let mut server = Self::find(group)?;
        server.port = port;
        server.restart();
        Some(server)
    }

    /// A server not started yet, on a free port, or the group reported skipped.
    fn find(group: &str) -> Option<Self> {
        let bin = match std::env::var_os("REDIS_SERVER") {
            Some(path) => Some(PathBuf::from(path)).filter(|p| executable(p)),
            None => find_binary("redis-server"),
        };
        let Some(bin) = bin else {
            skip(
                group,
                "redis-server not found (install it: apt-get install -y redis-server; or set REDIS_SERVER)",
            );
            return None;
        };
        Some(Self {
            bin,
            port: free_port(),
            dir: TempDir::new("redis"),
            child: None,
            extra: Vec::new(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts the server (again) on the same port.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "redis-server is already running");
        let log = self.dir.path().join("redis.log");
        let child = Command::new(&self.bin)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--protected-mode", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        if !wait_for_port(self.port, Duration::from_secs(10)) {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            self.stop();
            panic!("redis-server did not start on port {}:\n{log}", self.port);
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing answers, as with a
    /// hung server or a network partition.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a [`pause`](Self::pause)d server (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("redis-server is running");
        let status = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} failed");
    }

    /// Kills the server (as a crash would) and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-CONT")
                .arg(child.id().to_string())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------

/// A throwaway PostgreSQL cluster on 127.0.0.1 (initdb in a temporary directory, started
/// with pg_ctl; run as the `postgres` user when the tests run as root), stopped and deleted
/// on drop.
pub struct PgServer {
    bin_dir: PathBuf,
    dir: TempDir,
    port: u16,
    run_as: Option<String>,
    running: bool,
}

fn pg_bin_dir() -> Option<PathBuf> {
    let has_tools = |d: &Path| executable(&d.join("initdb")) && executable(&d.join("pg_ctl"));
    if let Some(dir) = std::env::var_os("PG_BIN").map(PathBuf::from) {
        return has_tools(&dir).then_some(dir);
    }
    // The newest /usr/lib/postgresql/<major>/bin (Debian, Ubuntu).
    let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            Some((major, e.path().join("bin")))
        })
        .filter(|(_, d)| has_tools(d))
        .collect();
    versioned.sort();
    if let Some((_, dir)) = versioned.pop() {
        return Some(dir);
    }
    if let Some(dir) = find_binary("pg_config").and_then(|pg_config| {
        let out = Command::new(pg_config).arg("--bindir").output().ok()?;
        Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    }) && has_tools(&dir)
    {
        return Some(dir);
    }
    find_binary("initdb")
        .and_then(|p| std::fs::canonicalize(p).ok())
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .filter(|d| has_tools(d))
}

impl PgServer {
    /// Initialises and starts a cluster on a free port, or reports the group skipped.
    pub fn start(group: &str) -> Option<Self> {
        let Some(bin_dir) = pg_bin_dir() else {
            skip(
                group,
                "PostgreSQL server binaries (initdb, pg_ctl) not found (install postgresql; or set PG_BIN)",
            );
            return None;
        };
        let dir = TempDir::new("pg");
        let run_as = if is_root() {
            // initdb refuses to run as root: hand the directory to an unprivileged user.
            let Some(user) = ["postgres", "nobody"]
                .into_iter()
                .find(|u| id_of(u, "-u").is_some())
            else {
                skip(
                    group,
                    "running as root and no `postgres` user to run PostgreSQL as",
                );
                return None;
            };
            let (uid, gid) = (id_of(user, "-u"), id_of(user, "-g"));
            std::os::unix::fs::chown(dir.path(), uid, gid).expect("chown the cluster directory");
            Some(user.to_owned())
        } else {
            None
        };
        let mut server = Self {
            bin_dir,
            dir,
            port: free_port(),
            run_as,
            running: false,
        };
        let data = server.data_dir();
        let out = server
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        server.restart();
        Some(server)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, tool: &str) -> Command {
        let program = self.bin_dir.join(tool);
        match &self.run_as {
            None => Command::new(program),
            Some(user) if find_binary("runuser").is_some() => {
                let mut cmd = Command::new(find_binary("runuser").unwrap_or_default());
                cmd.args(["-u", user, "--"]).arg(program);
                cmd
            }
            Some(user) => {
                // `su` runs a shell command line: the arguments follow as "$@".
                let mut cmd = Command::new("su");
                cmd.args(["-s", "/bin/sh", user, "-c", "exec \"$0\" \"$@\""])
                    .arg(program);
                cmd
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of the `postgres` database, as the superuser `postgres` (trust auth).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Creates a database of its own (a unique name) with `options` appended to
    /// `CREATE DATABASE … TEMPLATE template0 ENCODING 'UTF8'` (e.g. `LOCALE_PROVIDER icu
    /// ICU_LOCALE 'tr-TR' LOCALE 'C.UTF-8'`), through `psql`; returns its URL.
    pub fn create_database(&self, options: &str) -> String {
        let name = unique("db").replace('-', "_");
        let out = self
            .command("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .args(["-v", "ON_ERROR_STOP=1", "-c"])
            .arg(format!(
                "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' {options}"
            ))
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "CREATE DATABASE failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Starts the cluster (again) on the same port.
    pub fn restart(&mut self) {
        assert!(!self.running, "postgres is already running");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 \
             -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log");
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(&log)
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .stdin(Stdio::null())
            .output()
            .expect("run pg_ctl start");
        if !out.status.success() {
            panic!(
                "pg_ctl start failed:\n{}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        self.running = true;
    }

    /// Stops the cluster at once (`-m immediate`, as a crash would).
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "immediate", "-w", "-t", "60", "stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        self.running = false;
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One cluster shared by the tests of a binary that run at the same time: started by the
/// first, stopped when the last drops its handle. Tests sharing it use unique names.
pub fn shared_postgres(group: &str) -> Option<Arc<PgServer>> {
    static SHARED: Mutex<Weak<PgServer>> = Mutex::new(Weak::new());
    let mut slot = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(server) = slot.upgrade() {
        return Some(server);
    }
    let server = Arc::new(PgServer::start(group)?);
    *slot = Arc::downgrade(&server);
    Some(server)
}

// ---------------------------------------------------------------------------------------
// SMTP (aiosmtpd)
// ---------------------------------------------------------------------------------------

/// A fresh directory for an SMTP server's files (removed with the server).
fn smtp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(&format!("centurion-mail-{name}")));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

/// Whether python3 can import aiosmtpd; `Err` says what is missing.
pub fn aiosmtpd_available() -> Result<(), String> {
    match Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => Ok(()),
        Ok(_) => Err("python3 cannot import aiosmtpd (pip install aiosmtpd)".into()),
        Err(e) => Err(format!("python3 not found: {e}")),
    }
}

impl SmtpServer {
    /// Starts aiosmtpd, or reports the group skipped when python3 or aiosmtpd is missing.
    pub fn start_or_skip(group: &str, name: &str, extra: &[&str]) -> Option<Self> {
        if let Err(why) = aiosmtpd_available() {
            skip(group, &why);
            return None;
        }
        Some(Self::start(name, extra))
    }
}

/// An SMTP server for tests: each accepted mail is parsed with Python's `email`
/// package and written as JSON (envelope, headers, decoded text and HTML bodies,
/// whether the session was authenticated and encrypted).
const SERVER: &str = r#"
import argparse, email, json, os, ssl, time
from email import policy
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--out", required=True)
p.add_argument("--mode", default="plain", choices=["plain", "starttls", "smtps"])
p.add_argument("--cert")
p.add_argument("--key")
p.add_argument("--auth")
a = p.parse_args()

class Handler:
    def __init__(self):
        self.n = 0
    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        rec = dict(
            mail_from=envelope.mail_from, rcpt_tos=envelope.rcpt_tos,
            subject=str(msg["subject"]), sender=str(msg["from"]), to=str(msg["to"]),
            text=text.get_content() if text is not None else None,
            html=html.get_content() if html is not None else None,
            authenticated=bool(session.authenticated),
            tls=session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
        )
        path = os.path.join(a.out, "%04d.json" % self.n)
        with open(path + ".tmp", "w") as f:
            json.dump(rec, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and a.auth is not None and \
        auth_data.login.decode() + ":" + auth_data.password.decode() == a.auth
    return AuthResult(success=ok, handled=False)

kw = {}
if a.mode != "plain":
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    if a.mode == "starttls":
        kw.update(tls_context=ctx, require_starttls=True)
    else:
        kw.update(ssl_context=ctx)
if a.auth:
    # With implicit TLS (smtps) aiosmtpd does not see its own TLS layer, so only STARTTLS
    # mode asks it to require TLS before AUTH; smtps is encrypted from the first byte.
    kw.update(authenticator=authenticator, auth_required=True, auth_require_tls=(a.mode == "starttls"))
c = Controller(Handler(), hostname="127.0.0.1", port=a.port, **kw)
c.start()
print("READY", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    c.stop()
"#;

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    out: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.out);
    }
}

impl SmtpServer {
    /// Starts aiosmtpd on a free port (`extra`: `--mode starttls|smtps`, `--cert`,
    /// `--key`, `--auth user:password`); panics when it does not come up.
    pub fn start(name: &str, extra: &[&str]) -> Self {
        let out = smtp_dir(name);
        let script = out.join("server.py");
        std::fs::write(&script, SERVER).unwrap();
        let mail_dir = out.join("mail");
        std::fs::create_dir_all(&mail_dir).unwrap();
        let port = free_port();
        let mut child = Command::new("python3")
            .arg(&script)
            .args(["--port", &port.to_string(), "--out"])
            .arg(&mail_dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(out.join("server.log")).unwrap())
            .spawn()
            .expect("start python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "READY", "aiosmtpd did not start");
        Self { child, port, out }
    }

    /// The next delivered mail (waits up to 10 s).
    pub fn mail(&self, n: usize) -> Value {
        let path = self.out.join("mail").join(format!("{n:04}.json"));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                return serde_json::from_str(&text).unwrap();
            }
            assert!(Instant::now() < deadline, "no mail {n} delivered");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many mails were delivered.
    pub fn count(&self) -> usize {
        std::fs::read_dir(self.out.join("mail"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                    .count()
            })
            .unwrap_or(0)
    }
}

/// A CA and a certificate for 127.0.0.1 signed by it, made with the openssl CLI.
pub struct TestCerts {
    dir: PathBuf,
}

impl Drop for TestCerts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl TestCerts {
    /// Makes the CA and the server's certificate; `Err` says why not (no openssl).
    pub fn make() -> Result<Self, String> {
        let dir = smtp_dir("certs");
        let run = |args: &[&str]| -> Result<(), String> {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .map_err(|e| format!("openssl not found: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "openssl {args:?} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
        };
        std::fs::write(
            dir.join("leaf.ext"),
            "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=centurion test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ])?;
        run(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
        ])?;
        run(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ])?;
        Ok(Self { dir })
    }

    /// The path of one of the files (`ca.pem`, `leaf.pem`, `leaf.key`).
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// The CA certificate, PEM.
    pub fn ca(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("ca.pem")).unwrap()
    }
}
