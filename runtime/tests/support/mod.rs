//! Shared helpers for the backend suites: real servers on 127.0.0.1 that a test starts and
//! stops itself, and store-semantics checks written once and run against every store.
//!
//! A suite whose server binary is missing prints `SKIPPED: <group>: <why>` to stderr and
//! returns, except when `CI=true`, where a missing binary fails the test.
//!
//! Binaries are found on `PATH`, in the usual system directories, or where these variables
//! point: `REDIS_SERVER` (the `redis-server` binary), `PG_BIN` (the directory holding
//! `initdb` and `pg_ctl`).

#![allow(dead_code, unreachable_pub)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use centurion::{ErrorKind, NewUser, RevocationStore, TokenRef, UserStore, testing::TestUser};

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

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
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
}

impl RedisServer {
    /// Starts a server on a free port, or reports the group skipped (`None`).
    pub fn start(group: &str) -> Option<Self> {
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
        let mut server = Self {
            bin,
            port: free_port(),
            dir: TempDir::new("redis"),
            child: None,
        };
        server.restart();
        Some(server)
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
// Store semantics, written once for every store
// ---------------------------------------------------------------------------------------

fn new_user(username: &str, email: Option<&str>, roles: &[&str], active: bool) -> NewUser {
    NewUser {
        username: username.to_owned(),
        email: email.map(str::to_owned),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$hash-of-{username}"),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        active,
    }
}

/// The contract of [`UserStore`] as [`MemoryUserStore`](centurion::memory::MemoryUserStore)
/// keeps it. `tag` keeps names unique in a shared database.
pub async fn user_store_semantics<S: UserStore<TestUser>>(store: &S, tag: &str) {
    let name = unique(&format!("ada-{tag}"));
    let email = format!("{name}@Example.ORG");
    let ada = store
        .create(new_user(&name, Some(&email), &["admin", "editor"], true))
        .await
        .expect("create");
    assert_eq!(ada.username, name);
    assert_eq!(ada.email.as_deref(), Some(email.as_str()));
    assert_eq!(ada.roles, ["admin", "editor"]);
    assert!(ada.active);

    // Lookups.
    let found = store.lookup(&name).await.unwrap().expect("lookup by name");
    assert_eq!(found, ada);
    let found = store
        .identify(&ada.id.to_string())
        .await
        .unwrap()
        .expect("identify");
    assert_eq!(found, ada);
    assert_eq!(store.lookup(&unique("nobody")).await.unwrap(), None);
    assert_eq!(
        store.lookup(&name.to_uppercase()).await.unwrap(),
        None,
        "usernames are exact"
    );
    for bad in ["", "abc", "1.5", " 1", "99999999999999999999999", "-"] {
        assert_eq!(
            store.identify(bad).await.unwrap(),
            None,
            "identify({bad:?})"
        );
    }
    assert_eq!(store.identify(&i64::MAX.to_string()).await.unwrap(), None);
    let by_email = store
        .lookup_by_email(&email.to_lowercase())
        .await
        .unwrap()
        .expect("lookup by e-mail, case-insensitive");
    assert_eq!(by_email.id, ada.id);
    assert_eq!(
        store
            .lookup_by_email(&email.to_uppercase())
            .await
            .unwrap()
            .map(|u| u.id),
        Some(ada.id)
    );
    assert_eq!(
        store.lookup_by_email("nobody@example.org").await.unwrap(),
        None
    );

    // Uniqueness.
    let err = store
        .create(new_user(&name, None, &[], true))
        .await
        .expect_err("duplicate username");
    assert_eq!(err.kind(), ErrorKind::UserExists);
    assert_eq!(err.status().as_u16(), 409);
    let err = store
        .create(new_user(
            &unique("other"),
            Some(&email.to_lowercase()),
            &[],
            true,
        ))
        .await
        .expect_err("duplicate e-mail in another case");
    assert_eq!(err.kind(), ErrorKind::UserExists);
    // Usernames are case-sensitive; users without e-mail do not collide.
    let upper = store
        .create(new_user(&name.to_uppercase(), None, &[], true))
        .await
        .expect("the upper-case name is another user");
    let plain = store
        .create(new_user(&unique(&format!("plain-{tag}")), None, &[], false))
        .await
        .expect("a second user without e-mail");
    let ids = [ada.id, upper.id, plain.id];
    assert!(ids[0] < ids[1] && ids[1] < ids[2], "ids grow: {ids:?}");
    assert!(plain.roles.is_empty());
    assert!(!plain.active);

    // Names that would break naive SQL.
    let tricky = format!("o'brien\"; DROP TABLE centurion_users; -- {tag} ✓");
    let t = store
        .create(new_user(
            &tricky,
            Some(&format!("{}@x.org", unique("q'uote"))),
            &["a,b", "c\"d"],
            true,
        ))
        .await
        .expect("tricky name");
    let back = store.lookup(&tricky).await.unwrap().expect("tricky lookup");
    assert_eq!(back, t);
    assert_eq!(back.roles, ["a,b", "c\"d"]);

    // Activation.
    store
        .activate(&plain.id.to_string())
        .await
        .expect("activate");
    assert!(
        store
            .identify(&plain.id.to_string())
            .await
            .unwrap()
            .unwrap()
            .active
    );
    store
        .activate("not-a-number")
        .await
        .expect("activate a non-numeric id: no-op");
    store
        .activate(&(plain.id + 1_000_000).to_string())
        .await
        .expect("activate unknown: no-op");

    // Password hash.
    store
        .update_password_hash(&ada.id.to_string(), "$argon2id$new")
        .await
        .expect("update");
    let after = store.lookup(&name).await.unwrap().unwrap();
    assert_eq!(after.password_hash, "$argon2id$new");
    assert_eq!(after.roles, ada.roles);
    let upper_after = store.lookup(&name.to_uppercase()).await.unwrap().unwrap();
    assert_eq!(
        upper_after.password_hash, upper.password_hash,
        "only one row changes"
    );
    store
        .update_password_hash("nope", "$x")
        .await
        .expect("non-numeric id: no-op");
    store
        .update_password_hash(&(plain.id + 1_000_000).to_string(), "$x")
        .await
        .expect("unknown id: no-op");
}

/// `n` concurrent registrations of one username (and of one e-mail address under other
/// names): exactly one user each time, and `n - 1` clean [`ErrorKind::UserExists`].
pub async fn concurrent_registrations<S: UserStore<TestUser>>(store: Arc<S>, n: usize, tag: &str) {
    let name = unique(&format!("race-{tag}"));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let store = store.clone();
            let name = name.clone();
            tokio::spawn(async move {
                store
                    .create(new_user(
                        &name,
                        Some(&format!("{name}-{i}@example.org")),
                        &[],
                        true,
                    ))
                    .await
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut exists = 0;
    for task in tasks {
        match task.await.expect("no panic") {
            Ok(user) => created.push(user),
            Err(e) if e.kind() == ErrorKind::UserExists => exists += 1,
            Err(e) => panic!("unexpected error from a concurrent registration: {e:?}"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one registration wins");
    assert_eq!(exists, n - 1);
    assert_eq!(
        store.lookup(&name).await.unwrap().map(|u| u.id),
        Some(created[0].id)
    );

    let email = format!("{}@example.org", unique(&format!("race-mail-{tag}")));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let store = store.clone();
            let email = email.clone();
            tokio::spawn(async move {
                let name = unique(&format!("race-mail-{i}"));
                store.create(new_user(&name, Some(&email), &[], true)).await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.expect("no panic") {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.kind(), ErrorKind::UserExists, "{e:?}"),
        }
    }
    assert_eq!(ok, 1, "exactly one registration of one e-mail address wins");
}

fn token<'a>(jti: &'a str, family: Option<&'a str>, subject: &'a str, iat: u64) -> TokenRef<'a> {
    TokenRef {
        jti,
        family,
        subject,
        issued_at_ms: iat,
    }
}

/// The contract of [`RevocationStore`] as
/// [`MemoryRevocationStore`](centurion::memory::MemoryRevocationStore) keeps it.
/// Takes about two seconds (it waits for entries to expire).
pub async fn revocation_semantics<S: RevocationStore>(store: Arc<S>, tag: &str) {
    let now = now_secs();
    let far = now + 3600;
    let jti = unique(&format!("jti-{tag}"));
    let other = unique(&format!("jti-{tag}"));
    let fam = unique(&format!("fam-{tag}"));
    let sub = unique(&format!("sub-{tag}"));
    let ms = now_ms();

    assert!(
        !store
            .is_revoked(&token(&jti, Some(&fam), &sub, ms))
            .await
            .unwrap()
    );

    // One token.
    store.revoke_token(&jti, far).await.unwrap();
    assert!(
        store
            .is_revoked(&token(&jti, None, &sub, ms))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(&token(&other, None, &sub, ms))
            .await
            .unwrap()
    );
    assert!(
        store.mark_spent(&jti, far).await.unwrap(),
        "revoked and spent are separate"
    );

    // A family.
    store.revoke_family(&fam, far).await.unwrap();
    assert!(
        store
            .is_revoked(&token(&other, Some(&fam), &sub, ms))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(&token(&other, None, &sub, ms))
            .await
            .unwrap()
    );
    let fam2 = unique("fam2");
    assert!(
        !store
            .is_revoked(&token(&other, Some(&fam2), &sub, ms))
            .await
            .unwrap()
    );

    // A user's not-before (milliseconds, strict: issued before it).
    let nb = ms + 5;
    store.revoke_user(&sub, nb, far).await.unwrap();
    let fresh = unique("fresh");
    assert!(
        store
            .is_revoked(&token(&fresh, None, &sub, nb - 1))
            .await
            .unwrap()
    );
    assert!(
        store
            .is_revoked(&token(&fresh, None, &sub, 0))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(&token(&fresh, None, &sub, nb))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(&token(&fresh, None, &sub, nb + 1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(&token(&fresh, None, &unique("sub"), 0))
            .await
            .unwrap()
    );
    // It never moves back…
    store.revoke_user(&sub, nb - 1000, far).await.unwrap();
    assert!(
        store
            .is_revoked(&token(&fresh, None, &sub, nb - 1))
            .await
            .unwrap()
    );
    // …and moves forward.
    store.revoke_user(&sub, nb + 1000, far).await.unwrap();
    assert!(
        store
            .is_revoked(&token(&fresh, None, &sub, nb + 999))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(&token(&fresh, None, &sub, nb + 1000))
            .await
            .unwrap()
    );

    // Single use.
    let once = unique("once");
    assert!(store.mark_spent(&once, far).await.unwrap());
    assert!(!store.mark_spent(&once, far).await.unwrap());
    assert!(!store.mark_spent(&once, far + 10).await.unwrap());
    assert!(
        !store.mark_spent(&once, now - 10).await.unwrap(),
        "a live spend stays spent"
    );
    assert!(
        !store
            .is_revoked(&token(&once, None, &sub, nb + 2000))
            .await
            .unwrap(),
        "spent is not revoked"
    );
    assert!(store.mark_spent(&unique("once"), far).await.unwrap());

    // Far-future expiries are accepted.
    for exp in [u64::MAX, u64::MAX / 2, i64::MAX as u64 + 1] {
        let j = unique("far");
        store.revoke_token(&j, exp).await.unwrap();
        assert!(
            store
                .is_revoked(&token(&j, None, &sub, nb + 2000))
                .await
                .unwrap()
        );
        let s = unique("far-spent");
        assert!(store.mark_spent(&s, exp).await.unwrap());
        assert!(!store.mark_spent(&s, exp).await.unwrap());
        store
            .revoke_user(&unique("far-user"), ms, exp)
            .await
            .unwrap();
    }

    // Expiry in the past: nothing is remembered.
    let past = unique("past");
    store.revoke_token(&past, now - 10).await.unwrap();
    store.revoke_family(&past, now - 10).await.unwrap();
    let past_sub = unique("past-sub");
    store
        .revoke_user(&past_sub, ms + 10_000, now - 10)
        .await
        .unwrap();
    assert!(
        !store
            .is_revoked(&token(&past, Some(&past), &past_sub, ms))
            .await
            .unwrap()
    );
    let past_spent = unique("past-spent");
    assert!(store.mark_spent(&past_spent, now - 10).await.unwrap());
    assert!(
        store.mark_spent(&past_spent, now - 10).await.unwrap(),
        "an expired spend is forgotten"
    );

    // Concurrent spends of one jti: exactly one wins.
    let raced = unique("raced");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            let raced = raced.clone();
            tokio::spawn(async move { store.mark_spent(&raced, far).await })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        if task.await.expect("no panic").expect("mark_spent") {
            wins += 1;
        }
    }
    assert_eq!(wins, 1, "exactly one concurrent mark_spent returns true");

    // Entries stop counting at their expiry.
    let start = now_secs();
    let soon = start + 1;
    let (j, f, s, sp) = (
        unique("exp-j"),
        unique("exp-f"),
        unique("exp-s"),
        unique("exp-sp"),
    );
    store.revoke_token(&j, soon).await.unwrap();
    store.revoke_family(&f, soon).await.unwrap();
    store
        .revoke_user(&s, now_ms() + 60_000, soon)
        .await
        .unwrap();
    store.revoke_user(&s, 1, start - 100).await.unwrap(); // an earlier expiry does not shorten it
    assert!(store.mark_spent(&sp, soon).await.unwrap());
    if now_secs() < soon {
        assert!(store.is_revoked(&token(&j, None, &s, 0)).await.unwrap());
        assert!(
            store
                .is_revoked(&token(&unique("x"), Some(&f), &unique("y"), 0))
                .await
                .unwrap()
        );
        assert!(
            store
                .is_revoked(&token(&unique("x"), None, &s, 0))
                .await
                .unwrap()
        );
        assert!(!store.mark_spent(&sp, soon).await.unwrap());
    }
    while now_secs() <= soon {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !store.is_revoked(&token(&j, Some(&f), &s, 0)).await.unwrap(),
        "expired entries no longer count"
    );
    assert!(
        store.mark_spent(&sp, far).await.unwrap(),
        "an expired spend can be spent again"
    );
    assert!(!store.mark_spent(&sp, far).await.unwrap());
}

// ---------------------------------------------------------------------------------------
// Centurion over real stores
// ---------------------------------------------------------------------------------------

/// A test secret (HS256).
pub const SECRET: &str = "a-test-secret-of-at-least-32-bytes-long!";

/// Cheap argon2 parameters: these suites test stores, not hashing.
pub fn cheap_passwords() -> centurion::PasswordConfig {
    centurion::PasswordConfig {
        memory_kib: 1024,
        iterations: 1,
        ..centurion::PasswordConfig::default()
    }
}

/// A [`Centurion`](centurion::Centurion) over the given stores.
pub fn centurion_with<S: UserStore<TestUser>, R: RevocationStore>(
    users: S,
    revocations: R,
) -> centurion::Centurion<TestUser> {
    centurion::Centurion::<TestUser>::builder()
        .secret(SECRET)
        .password(cheap_passwords())
        .user_store(users)
        .revocation_store(revocations)
        .build()
        .expect("build centurion")
}

/// Registration, confirmation, login, refresh rotation with reuse detection, password
/// change revoking the user's tokens: the whole life of an account, over real stores.
pub async fn account_lifecycle(auth: &centurion::Centurion<TestUser>, tag: &str) {
    let name = unique(&format!("life-{tag}"));
    let email = format!("{name}@example.org");
    let password = "correct horse battery staple";
    let (user, confirm) = auth
        .register(&name, Some(&email), password, &["admin"])
        .await
        .expect("register");
    assert!(!user.active, "registration creates an inactive user");
    let err = auth
        .register(&name, None, password, &[])
        .await
        .expect_err("taken");
    assert_eq!(err.kind(), ErrorKind::UserExists);
    assert!(
        auth.login(&name, password).await.is_err(),
        "inactive users cannot log in"
    );

    let user = auth.confirm_registration(&confirm).await.expect("confirm");
    assert!(user.active);
    assert!(
        auth.confirm_registration(&confirm).await.is_err(),
        "single use"
    );
    assert_eq!(
        auth.lookup_by_email(&email.to_uppercase())
            .await
            .unwrap()
            .map(|u| u.id),
        Some(user.id)
    );

    let pair = auth.login(&name, password).await.expect("login");
    let claims = auth
        .verify_access(&pair.access_token)
        .await
        .expect("verify");
    assert_eq!(claims.subject(), user.id.to_string());

    let next = auth.refresh(&pair.refresh_token).await.expect("refresh");
    auth.verify_access(&next.access_token)
        .await
        .expect("rotated access token");
    let err = auth.refresh(&pair.refresh_token).await.expect_err("reuse");
    assert_eq!(err.kind(), ErrorKind::RefreshReuseError);
    let err = auth
        .verify_access(&next.access_token)
        .await
        .expect_err("family revoked");
    assert_eq!(err.kind(), ErrorKind::RevokedTokenError);

    let pair = auth.login(&name, password).await.expect("login again");
    tokio::time::sleep(Duration::from_millis(5)).await;
    auth.change_password(&user, "another long passphrase")
        .await
        .expect("change password");
    let err = auth
        .verify_access(&pair.access_token)
        .await
        .expect_err("revoked by the change");
    assert_eq!(err.kind(), ErrorKind::RevokedTokenError);
    assert!(
        auth.login(&name, password).await.is_err(),
        "the old password is gone"
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    let pair = auth
        .login(&name, "another long passphrase")
        .await
        .expect("new password");
    auth.verify_access(&pair.access_token)
        .await
        .expect("a token issued after the change");
}
