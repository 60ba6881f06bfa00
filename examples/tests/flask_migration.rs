//! Issue 18 against the real Flask extensions: the quickstart beside a flask-praetorian
//! and a flask-jwt-extended service (`tests/flask/`, started by the test kit on loopback)
//! on one secret. Users with hashes made by passlib and werkzeug are imported into the
//! quickstart and into both apps; tokens cross both ways; their refresh is exchanged once.
//!
//! Without a Python that has the extensions the group prints `SKIPPED` (a failure under
//! `CI=true`); `.ci/run` makes `tests/flask/.venv`.

#[allow(unused_imports)]
mod support;

use std::time::{Duration, Instant};

use centurion_testkit::flask::{FlaskApp, FlaskKind};
use serde_json::{Value, json};
use support::{Launch, Pair, Quickstart, Request, Response, TEST_SECRET, TempDir, jwt_payload};

const GROUP: &str = "flask migration (issue 18)";

fn samples() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/flask/hashes.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// One user per hash format, plus alice (1, admin + editor, passlib's pbkdf2-sha512, the
/// praetorian default) and bob (2, no roles, werkzeug's default scrypt). Returns the
/// users file and `(username, password)` of each user.
fn import_file(dir: &TempDir) -> (String, Vec<(String, String)>) {
    let samples = samples();
    let mut users = Vec::new();
    let mut logins = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in samples["hashes"].as_array().unwrap() {
        let scheme = e["scheme"].as_str().unwrap();
        if !seen.insert(scheme.to_owned()) {
            continue;
        }
        let n = users.len();
        let (id, name, roles) = match n {
            0 => (1, "alice".to_owned(), json!(["admin", "editor"])),
            _ => (100 + n, format!("u{n}"), json!(["editor"])),
        };
        users.push(
            json!({"id": id, "username": name, "email": format!("{name}@example.com"),
                          "password_hash": e["hash"], "roles": roles, "active": true}),
        );
        logins.push((name, e["password"].as_str().unwrap().to_owned()));
    }
    let bob = samples["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["scheme"] == "werkzeug default")
        .unwrap();
    users.push(
        json!({"id": 2, "username": "bob", "email": "bob@example.com",
                      "password_hash": bob["hash"], "roles": [], "active": true}),
    );
    logins.push(("bob".into(), bob["password"].as_str().unwrap().to_owned()));
    let path = dir.path().join("import_users.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&users).unwrap()).unwrap();
    (path.to_string_lossy().into_owned(), logins)
}

fn flask(kind: FlaskKind, users: &str, extra: &[&str]) -> Option<FlaskApp> {
    let mut args = vec!["--users", users];
    args.extend_from_slice(extra);
    FlaskApp::start_or_skip(GROUP, kind, TEST_SECRET, &args)
}

fn flask_post(app: &FlaskApp, path: &str, body: &Value) -> Response {
    Request::new(app.port(), "POST", path).json(body).send()
}

fn flask_get(app: &FlaskApp, path: &str, token: &str) -> Response {
    Request::new(app.port(), "GET", path).bearer(token).send()
}

fn flask_login(app: &FlaskApp, name: &str, password: &str) -> Value {
    let answer = flask_post(
        app,
        "/login",
        &json!({"username": name, "password": password}),
    );
    assert_eq!(answer.status, 200, "{name} at Flask: {}", answer.text());
    answer.json()
}

fn legacy_quickstart(users: &str) -> Quickstart {
    Launch::new()
        .env("CENTURION_LEGACY_TOKENS", "praetorian,jwt-extended")
        .env("CENTURION_IMPORT_USERS", users)
        .start()
}

#[test]
fn imported_flask_hashes_log_in_at_both_and_again_after_the_upgrade() {
    let dir = TempDir::new("flask-import");
    let (users, logins) = import_file(&dir);
    let Some(jwt_ext) = flask(FlaskKind::JwtExtended, &users, &[]) else {
        return;
    };
    let qs = legacy_quickstart(&users);
    for (name, password) in &logins {
        // The Flask app verifies its own hashes (passlib, werkzeug)…
        flask_login(&jwt_ext, name, password);
        // …and so does centurion, which then stores argon2id and still logs them in.
        let wrong = qs.login_answer(name, &format!("{password}!"));
        assert_eq!(wrong.status, 401, "{name}: {}", wrong.text());
        qs.login(name, password);
        qs.login(name, password);
    }
}

#[test]
fn an_unknown_hash_format_stops_the_start_naming_the_entry() {
    let dir = TempDir::new("flask-import-bad");
    let path = dir.path().join("users.json");
    std::fs::write(
        &path,
        json!([{"id": 5, "username": "old", "password_hash": "$5$rounds=535000$salt$hash"}])
            .to_string(),
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .current_dir(dir.path())
        .env("CENTURION_SECRET", TEST_SECRET)
        .env("CENTURION_ADDR", "127.0.0.1:0")
        .env("CENTURION_IMPORT_USERS", &path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("entry 1 (id 5, username old): unknown password hash format: sha256_crypt"),
        "{stderr}"
    );
}

#[test]
fn flask_tokens_are_accepted_with_their_roles_and_ours_by_them() {
    let dir = TempDir::new("flask-tokens");
    let (users, logins) = import_file(&dir);
    let Some(praetorian) = flask(FlaskKind::Praetorian, &users, &[]) else {
        return;
    };
    let Some(jwt_ext) = flask(FlaskKind::JwtExtended, &users, &[]) else {
        return;
    };
    let qs = legacy_quickstart(&users);
    let alice_pw = &logins[0].1;
    let bob_pw = &logins.last().unwrap().1;

    // flask-praetorian's tokens at the quickstart.
    let p_alice = flask_login(&praetorian, "alice", alice_pw)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = qs.me(&p_alice);
    assert_eq!(me.status, 200, "{}", me.text());
    assert_eq!(me.json()["id"], 1);
    assert_eq!(me.json()["roles"], json!(["admin", "editor"]));
    assert_eq!(qs.get("/api/admin").bearer(&p_alice).send().status, 200);
    // bob's praetorian hash is werkzeug's: praetorian cannot check it (its passlib
    // context refuses werkzeug formats), so bob's token comes from jwt-extended below.

    // flask-jwt-extended's tokens at the quickstart.
    let j = flask_login(&jwt_ext, "alice", alice_pw);
    let j_access = j["access_token"].as_str().unwrap();
    let j_refresh = j["refresh_token"].as_str().unwrap();
    assert_eq!(qs.me(j_access).status, 200);
    assert_eq!(qs.get("/api/admin").bearer(j_access).send().status, 200);
    let j_bob = flask_login(&jwt_ext, "bob", bob_pw);
    let j_bob_access = j_bob["access_token"].as_str().unwrap();
    assert_eq!(qs.me(j_bob_access).json()["id"], 2);
    assert_eq!(qs.get("/api/admin").bearer(j_bob_access).send().status, 403);
    // Their refresh token is no access token.
    assert_eq!(qs.me(j_refresh).status, 401);
    // A blocklisted-at-Flask token is a Flask matter; revoking it here is ours: logout.
    let out = qs.post("/auth/logout").bearer(j_bob_access).send();
    assert_eq!(out.status, 200, "{}", out.text());
    assert_eq!(qs.me(j_bob_access).status, 401);

    // The quickstart's access token at both Flask services.
    let ours = qs.login("alice", alice_pw);
    let claims = jwt_payload(&ours.access);
    assert_eq!(claims["id"], 1);
    assert_eq!(claims["rls"], "admin,editor");
    assert_eq!(claims["rf_exp"], claims["exp"]);
    assert_eq!(
        flask_get(&praetorian, "/protected", &ours.access).status,
        200
    );
    assert_eq!(flask_get(&praetorian, "/admin", &ours.access).status, 200);
    assert_eq!(flask_get(&praetorian, "/editor", &ours.access).status, 200);
    assert_eq!(flask_get(&jwt_ext, "/protected", &ours.access).status, 200);
    assert_eq!(flask_get(&jwt_ext, "/admin", &ours.access).status, 200);
    assert_eq!(flask_get(&jwt_ext, "/fresh", &ours.access).status, 200);
    // Only the access token: our refresh token is no token at all to them.
    let theirs = Request::new(jwt_ext.port(), "POST", "/refresh")
        .bearer(&ours.refresh)
        .send();
    assert_eq!(theirs.status, 422, "{}", theirs.text());
    assert_eq!(flask_get(&jwt_ext, "/protected", &ours.refresh).status, 422);
    assert_eq!(
        flask_get(&praetorian, "/protected", &ours.refresh).status,
        401
    );
    // A refreshed (not fresh) access token of ours is not fresh to jwt-extended either.
    let renewed = Pair::from_answer(&qs.refresh_answer(&ours.refresh));
    assert_eq!(flask_get(&jwt_ext, "/fresh", &renewed.access).status, 401);
    assert_eq!(
        flask_get(&praetorian, "/admin", &renewed.access).status,
        200
    );
}

#[test]
fn flask_tokens_are_refused_without_the_legacy_option() {
    let dir = TempDir::new("flask-off");
    let (users, logins) = import_file(&dir);
    let Some(praetorian) = flask(FlaskKind::Praetorian, &users, &[]) else {
        return;
    };
    let Some(jwt_ext) = flask(FlaskKind::JwtExtended, &users, &[]) else {
        return;
    };
    let qs = Launch::new().env("CENTURION_IMPORT_USERS", &users).start();
    let p = flask_login(&praetorian, "alice", &logins[0].1);
    let j = flask_login(&jwt_ext, "alice", &logins[0].1);
    for token in [
        p["access_token"].as_str().unwrap(),
        j["access_token"].as_str().unwrap(),
    ] {
        assert_eq!(qs.me(token).status, 401);
        assert_eq!(qs.refresh_answer(token).status, 401);
    }
    assert_eq!(
        qs.refresh_answer(j["refresh_token"].as_str().unwrap())
            .status,
        401
    );
}

#[test]
fn their_refresh_is_exchanged_once_for_a_session_ending_at_their_deadline() {
    let dir = TempDir::new("flask-refresh");
    let (users, logins) = import_file(&dir);
    let Some(praetorian) = flask(
        FlaskKind::Praetorian,
        &users,
        &["--access-seconds", "1", "--refresh-seconds", "120"],
    ) else {
        return;
    };
    let Some(jwt_ext) = flask(FlaskKind::JwtExtended, &users, &[]) else {
        return;
    };
    let qs = legacy_quickstart(&users);
    let alice_pw = &logins[0].1;

    // praetorian: an access token past its exp, before rf_exp.
    let p = flask_login(&praetorian, "alice", alice_pw)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let rf_exp = jwt_payload(&p)["rf_exp"].as_u64().unwrap();
    let exp = jwt_payload(&p)["exp"].as_u64().unwrap();
    let deadline = Instant::now() + Duration::from_millis(2100);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(centurion_testkit::now() > exp);
    assert_eq!(qs.me(&p).status, 401, "expired as an access token");
    let pair = Pair::from_answer(&qs.refresh_answer(&p));
    assert_eq!(qs.me(&pair.access).json()["id"], 1);
    let session_end = jwt_payload(&pair.refresh)["exp"].as_u64().unwrap();
    assert!(session_end <= rf_exp, "{session_end} > rf_exp {rf_exp}");
    // Spent: a second exchange is reuse and ends the session it started.
    let again = qs.refresh_answer(&p);
    assert_eq!(again.status, 401, "{}", again.text());
    assert_eq!(qs.me(&pair.access).status, 401);

    // jwt-extended: its refresh token, once.
    let j = flask_login(&jwt_ext, "alice", alice_pw);
    let j_refresh = j["refresh_token"].as_str().unwrap();
    let pair = Pair::from_answer(&qs.refresh_answer(j_refresh));
    assert_eq!(qs.me(&pair.access).status, 200);
    assert!(
        jwt_payload(&pair.refresh)["exp"].as_u64().unwrap()
            <= jwt_payload(j_refresh)["exp"].as_u64().unwrap()
    );
    assert_eq!(qs.refresh_answer(j_refresh).status, 401);
    // Their access token is no refresh token.
    assert_eq!(
        qs.refresh_answer(j["access_token"].as_str().unwrap())
            .status,
        401
    );
}

#[test]
fn praetorian_cannot_extend_an_access_token_of_ours() {
    let dir = TempDir::new("flask-extend");
    let (users, logins) = import_file(&dir);
    let Some(praetorian) = flask(FlaskKind::Praetorian, &users, &[]) else {
        return;
    };
    let qs = Launch::new()
        .env("CENTURION_LEGACY_TOKENS", "praetorian")
        .env("CENTURION_IMPORT_USERS", &users)
        .env("CENTURION_ACCESS_LIFESPAN", "1s")
        .start();
    let ours = qs.login("alice", &logins[0].1);
    let exp = jwt_payload(&ours.access)["exp"].as_u64().unwrap();
    while centurion_testkit::now() <= exp {
        std::thread::sleep(Duration::from_millis(100));
    }
    // praetorian refreshes only tokens past exp and before rf_exp: ours have rf_exp = exp.
    let answer = Request::new(praetorian.port(), "POST", "/refresh")
        .bearer(&ours.access)
        .send();
    assert_eq!(answer.status, 401, "{}", answer.text());
    assert_eq!(answer.json()["error"], "ExpiredRefreshError");
}
