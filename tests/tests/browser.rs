//! The quickstart's page in a real browser: Debian's headless Chromium, driven by
//! `tests/browser/quickstart.mjs` (playwright-core from npm, no downloaded browser), through
//! login with the cookie routes, `/api/me`, a protected POST with and without the CSRF
//! header, a cookie refresh and logout. Screenshots land in `target/browser/`.
//!
//! Needs `node`, Chromium (`/usr/bin/chromium`, or `CHROMIUM`) and
//! `npm ci --prefix tests/browser`. When one is missing the test prints
//! `SKIPPED: browser: <why>` and passes, except under `CI=true`, where it fails.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Skips loudly (straight to stderr, past the harness's capture), or fails in CI.
fn skip(why: &str) {
    centurion_testkit::skip("browser", why);
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

fn on_path(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Builds the quickstart and returns its executable, as cargo reports it.
fn build_quickstart(root: &Path) -> PathBuf {
    let output = Command::new(env!("CARGO"))
        .args([
            "build",
            "-p",
            "centurion-examples",
            "--bin",
            "quickstart",
            "--message-format=json",
        ])
        .current_dir(root)
        .output()
        .expect("cargo runs");
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<_> = stderr.lines().rev().take(60).collect();
        let tail: Vec<_> = tail.into_iter().rev().collect();
        panic!("cargo build of the quickstart failed:\n{}", tail.join("\n"));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "quickstart")
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .expect("cargo reports the quickstart executable")
}

#[test]
fn quickstart_page_logs_in_posts_with_csrf_and_logs_out_in_chromium() {
    let root = workspace_root();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    if !Path::new(&chromium).exists() {
        return skip(&format!(
            "no Chromium at {chromium} (apt-get install chromium chromium-driver)"
        ));
    }
    if !on_path("node") {
        return skip("node is not installed (apt-get install nodejs npm)");
    }
    let browser_dir = root.join("tests/browser");
    if !browser_dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        return skip("playwright-core is not installed (npm ci --prefix tests/browser)");
    }

    let quickstart = build_quickstart(&root);
    let mut child = Command::new("node")
        .arg(browser_dir.join("quickstart.mjs"))
        .current_dir(&root)
        .env("QUICKSTART_BIN", &quickstart)
        .env("CHROMIUM", &chromium)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    // Read both pipes on threads so a chatty child never blocks on a full pipe.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(240);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting on node") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    match status {
        Some(status) if status.success() => {
            assert!(
                out.contains("browser: passed"),
                "the script did not finish:\n{out}\n{err}"
            );
        }
        Some(status) => panic!("the browser test failed ({status}):\n{out}\n{err}"),
        None => panic!("the browser test took longer than 240 s:\n{out}\n{err}"),
    }
}
