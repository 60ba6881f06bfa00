//! The Flask services of issue 18's migration tests: the apps in `tests/flask/`
//! (flask-praetorian and flask-jwt-extended, the real extensions from the Python registry,
//! pinned in `tests/flask/requirements.txt`) started on loopback with a shared secret.
//!
//! The interpreter is `CENTURION_FLASK_PYTHON` when set, else `tests/flask/.venv/bin/python`
//! (what `.ci/run` creates), else `python3`; one that cannot import the extensions makes
//! the group print `SKIPPED` (a failure under `CI=true`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use crate::servers::{free_port, skip, unique};

/// `tests/flask/` of the workspace.
pub fn flask_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests")
        .join("flask")
}

/// The Python interpreter with the Flask extensions, or why there is none.
pub fn flask_python() -> Result<PathBuf, String> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let candidates: Vec<PathBuf> = match std::env::var_os("CENTURION_FLASK_PYTHON") {
                Some(p) => vec![PathBuf::from(p)],
                None => vec![
                    flask_dir().join(".venv").join("bin").join("python"),
                    PathBuf::from("python3"),
                ],
            };
            for python in &candidates {
                let ok = Command::new(python)
                    .args([
                        "-c",
                        "import flask_praetorian, flask_jwt_extended, passlib, werkzeug, bcrypt",
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if ok {
                    return Ok(python.clone());
                }
            }
            Err(
                "no python with flask-praetorian and flask-jwt-extended (python3 -m venv \
                 tests/flask/.venv && tests/flask/.venv/bin/pip install -r \
                 tests/flask/requirements.txt, or set CENTURION_FLASK_PYTHON)"
                    .to_owned(),
            )
        })
        .clone()
}

/// Which Flask extension an app runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlaskKind {
    /// `tests/flask/praetorian_app.py`
    Praetorian,
    /// `tests/flask/jwt_extended_app.py`
    JwtExtended,
}

/// A running Flask app; stopped when dropped.
pub struct FlaskApp {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl FlaskApp {
    /// Starts the app with `secret` and `args` (`--users FILE`, `--access-seconds N`,
    /// `--refresh-seconds N`, `--roles-claim NAME`), or reports `group` skipped.
    pub fn start_or_skip(
        group: &str,
        kind: FlaskKind,
        secret: &str,
        args: &[&str],
    ) -> Option<Self> {
        let python = match flask_python() {
            Ok(p) => p,
            Err(why) => {
                skip(group, &why);
                return None;
            }
        };
        let script = match kind {
            FlaskKind::Praetorian => "praetorian_app.py",
            FlaskKind::JwtExtended => "jwt_extended_app.py",
        };
        let port = free_port();
        // werkzeug logs every request on stderr: kept in a file, shown if the app fails.
        let log = std::env::temp_dir().join(format!("{}.log", unique("flask")));
        let mut child = Command::new(python)
            .arg(flask_dir().join(script))
            .args([
                "--port",
                &port.to_string(),
                "--secret-env",
                "FLASK_SHARED_SECRET",
            ])
            .args(args)
            .env("FLASK_SHARED_SECRET", secret)
            .current_dir(flask_dir())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("a log file for the Flask app"))
            .spawn()
            .expect("start the Flask app");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the READY line");
        assert!(
            line.starts_with("READY "),
            "the {script} app did not start: {line:?}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Some(Self { child, port, log })
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for FlaskApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
