//! The Flask tutorial port (`src/flask_tutorial.rs`) over HTTP: the real binary, started
//! in a temporary directory (its SQLite file lands there) on a port it picks and prints.
//! Register, log in, the protected `/user`, logout with revocation (with the access token,
//! and with the refresh token alone), and the refusals a client meets.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use centurion_testkit::{Request, Response, TEST_SECRET, TempDir, assert_error_named, keys};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

/// The running binary; killed when dropped.
struct Tutorial {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl Drop for Tutorial {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Tutorial {
    fn start() -> Self {
        let dir = TempDir::new("flask-tutorial");
        let mut child = Command::new(env!("CARGO_BIN_EXE_flask_tutorial"))
            .current_dir(dir.path())
            .env("SECRET_KEY", TEST_SECRET)
            .env("TUTORIAL_ADDR", "127.0.0.1:0")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the flask_tutorial binary");
        let stdout = child.stdout.take().expect("its stdout");
        let (lines, printed) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let line = printed
            .recv_timeout(Duration::from_secs(60))
            .expect("the tutorial prints where it listens");
        let port = line
            .rsplit(':')
            .next()
            .and_then(|port| port.trim().parse().ok())
            .unwrap_or_else(|| panic!("an address in {line:?}"));
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    fn post(&self, path: &str, body: &Value) -> Response {
        Request::new(self.port, "POST", path).json(body).send()
    }

    fn user(&self, access: &str) -> Response {
        Request::new(self.port, "GET", "/user")
            .bearer(access)
            .send()
    }

    fn login(&self, username: &str) -> (String, String) {
        let answer = self.post(
            "/auth/login",
            &json!({"username": username, "password": PASSWORD}),
        );
        assert_eq!(answer.status, 200, "{answer:?}");
        let body = answer.json();
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }
}

#[test]
fn the_tutorial_registers_logs_in_shows_the_user_and_logs_out() {
    let app = Tutorial::start();
    let ada = json!({"username": "ada", "email": "ada@example.com", "password": PASSWORD});
    assert_eq!(app.post("/auth/register", &ada).status, 201);
    // The same name again, in another case: taken.
    let again = json!({"username": "ADA", "email": "other@example.com", "password": PASSWORD});
    assert_error_named(&app.post("/auth/register", &again), 409, "UserExists");
    let weak = json!({"username": "bob", "email": "bob@example.com", "password": "short"});
    assert_error_named(&app.post("/auth/register", &weak), 400, "WeakPassword");
    assert_error_named(
        &app.post(
            "/auth/login",
            &json!({"username": "ada", "password": "wrong"}),
        ),
        401,
        "AuthenticationError",
    );

    // Active at once: log in and see the protected route.
    let (access, refresh) = app.login("ada");
    let user = app.user(&access);
    assert_eq!(user.status, 200, "{user:?}");
    let body = user.json();
    assert_eq!(keys(&body), ["email", "status", "username"], "{body}");
    assert_eq!(
        body,
        json!({"username": "ada", "email": "ada@example.com", "status": "active"})
    );
    assert_error_named(
        &Request::new(app.port, "GET", "/user").send(),
        401,
        "MissingToken",
    );

    // Logout with the access token: it and its refresh token stay refused.
    let logout = Request::new(app.port, "POST", "/auth/logout")
        .bearer(&access)
        .send();
    assert_eq!(logout.status, 200, "{logout:?}");
    assert_error_named(&app.user(&access), 401, "RevokedTokenError");
    let refreshed = app.post("/auth/refresh", &json!({"refresh_token": refresh}));
    assert_eq!(refreshed.status, 401, "{refreshed:?}");

    // Logout with the refresh token alone (a client whose access token expired).
    let (access, refresh) = app.login("ada");
    let logout = app.post("/auth/logout", &json!({"refresh_token": refresh}));
    assert_eq!(logout.status, 200, "{logout:?}");
    assert_error_named(&app.user(&access), 401, "RevokedTokenError");
    let refreshed = app.post("/auth/refresh", &json!({"refresh_token": refresh}));
    assert_eq!(refreshed.status, 401, "{refreshed:?}");

    // A fresh login still works.
    let (access, _) = app.login("ada");
    assert_eq!(app.user(&access).status, 200);
}
