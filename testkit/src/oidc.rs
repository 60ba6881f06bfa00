//! A real OpenID Provider on 127.0.0.1: the `oidc-provider` package from npm, run by
//! `tests/oidc/provider.mjs` (our harness), with client-credentials grants that yield JWT
//! access tokens (resource indicators).
//!
//! The group is skipped loudly (a failure under `CI=true`) when `node` or the harness's
//! packages are missing: `npm ci --prefix tests/oidc` installs them. What the harness can
//! do (test-only token parameters `x_*`, `/__test/stats`, `/__test/config`, key reloads) is
//! described at the top of `provider.mjs`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::http::{Request, Response};
use crate::servers::{TempDir, skip};

/// The harness's default client.
pub const CLIENT_ID: &str = "centurion-test";
/// Its secret.
pub const CLIENT_SECRET: &str = "centurion-test-secret";
/// The harness's default resource indicator: the `aud` of its tokens.
pub const AUDIENCE: &str = "http://127.0.0.1:9999/api";

fn harness_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the testkit sits in the workspace")
        .join("tests/oidc")
}

/// Why the provider cannot run here, if it cannot.
pub fn unavailable() -> Option<String> {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !node.is_ok_and(|s| s.success()) {
        return Some("node is not installed (apt-get install nodejs npm)".to_owned());
    }
    if !harness_dir()
        .join("node_modules/oidc-provider/package.json")
        .exists()
    {
        return Some(
            "the OpenID Provider's packages are missing: run `npm ci --prefix tests/oidc`"
                .to_owned(),
        );
    }
    None
}

/// Whether the provider can run; reports the group skipped when not.
pub fn available_or_skip(group: &str) -> bool {
    match unavailable() {
        Some(why) => {
            skip(group, &why);
            false
        }
        None => true,
    }
}

/// A private JWKS made by the harness: `specs` are `ALG:KID` (`RS256:r1`, `ES256:e1`,
/// `PS256:p1`, `EdDSA:d1`). `with_alg: false` leaves `alg` out of the keys.
pub fn generate_keys(specs: &[&str], with_alg: bool) -> Value {
    let mut cmd = Command::new("node");
    cmd.arg(harness_dir().join("provider.mjs"))
        .arg("genkey")
        .args(specs);
    if !with_alg {
        cmd.arg("--no-alg");
    }
    let out = cmd.output().expect("run node provider.mjs genkey");
    assert!(
        out.status.success(),
        "genkey failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("genkey prints a JWKS")
}

/// The keys of `a` followed by those of `b`.
pub fn joined_keys(a: &Value, b: &Value) -> Value {
    let mut keys = a["keys"].as_array().cloned().unwrap_or_default();
    keys.extend(b["keys"].as_array().cloned().unwrap_or_default());
    serde_json::json!({ "keys": keys })
}

/// How to start the provider.
#[derive(Clone, Debug, Default)]
pub struct ProviderOptions {
    /// `--issuer` (`{port}` is replaced); default `http://127.0.0.1:PORT`.
    pub issuer: Option<String>,
    /// A fixed port; default any free one (kept across restarts).
    pub port: Option<u16>,
    /// More environment for the harness (`OIDC_AT_TTL`, `OIDC_JWKS_MAX_AGE`,
    /// `OIDC_ROLE_PATHS`, `OIDC_CLIENT_ROLES`, …).
    pub env: Vec<(String, String)>,
    /// Serve https with this certificate and key (PEM files) instead of http. The test
    /// kit's requests ([`OidcProvider::token`], the stats) speak plain http only: mint
    /// tokens with [`OidcProvider::sign`].
    pub tls: Option<(String, String)>,
}

/// A running provider, stopped (SIGTERM, then kill) on drop.
pub struct OidcProvider {
    dir: TempDir,
    options: ProviderOptions,
    port: u16,
    child: Option<Child>,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `application/x-www-form-urlencoded` of one value.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl OidcProvider {
    /// Starts the provider with these private keys (the first signs), or reports the
    /// group skipped (`None`).
    pub fn start(group: &str, keys: &Value, options: ProviderOptions) -> Option<Self> {
        if !available_or_skip(group) {
            return None;
        }
        Some(Self::start_available(keys, options))
    }

    /// Starts the provider; the caller checked [`available_or_skip`].
    pub fn start_available(keys: &Value, options: ProviderOptions) -> Self {
        let dir = TempDir::new("oidc");
        std::fs::write(dir.path().join("keys.json"), keys.to_string()).expect("write the keys");
        let mut provider = Self {
            dir,
            port: options.port.unwrap_or(0),
            options,
            child: None,
        };
        provider.restart();
        provider
    }

    /// Starts the provider again (after [`stop`](Self::stop)) on the same port, with the
    /// key file as it is now.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the provider is running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("provider.log"))
            .expect("open the log");
        let mut cmd = Command::new("node");
        cmd.arg(harness_dir().join("provider.mjs"))
            .args(["--port", &self.port.to_string()])
            .arg("--jwks")
            .arg(self.dir.path().join("keys.json"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        if let Some(issuer) = &self.options.issuer {
            cmd.args(["--issuer", issuer]);
        }
        if let Some((cert, key)) = &self.options.tls {
            cmd.args(["--tls-cert", cert, "--tls-key", key]);
        }
        for (name, value) in &self.options.env {
            cmd.env(name, value);
        }
        let mut child = cmd.spawn().expect("start node provider.mjs");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let Some(port) = line
            .trim()
            .strip_prefix("READY http://127.0.0.1:")
            .or_else(|| line.trim().strip_prefix("READY https://127.0.0.1:"))
            .and_then(|p| p.parse::<u16>().ok())
        else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the OpenID Provider did not start (stdout {line:?}):\n{}",
                self.log()
            );
        };
        self.port = port;
        self.child = Some(child);
    }

    /// Stops the provider (SIGTERM; it closes every connection) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            for _ in 0..200 {
                if child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What the provider wrote to stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("provider.log")).unwrap_or_default()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` (`https://` when serving TLS).
    pub fn base(&self) -> String {
        let scheme = if self.options.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The issuer its discovery document and tokens name.
    pub fn issuer(&self) -> String {
        match &self.options.issuer {
            Some(issuer) => issuer.replace("{port}", &self.port.to_string()),
            None => self.base(),
        }
    }

    /// Posts a client-credentials request of the default client with these extra form
    /// fields (`scope`, `resource`, `x_roles`, `x_alg`, `x_kid`, `x_typ`, `x_exp`,
    /// `x_claims`, `x_header`).
    pub fn token_response(&self, form: &[(&str, &str)]) -> Response {
        let mut body = String::from("grant_type=client_credentials");
        for (name, value) in form {
            body.push('&');
            body.push_str(name);
            body.push('=');
            body.push_str(&form_encode(value));
        }
        let credentials = STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
        Request::new(self.port, "POST", "/token")
            .header("Authorization", format!("Basic {credentials}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    }

    /// An access token (see [`token_response`](Self::token_response)); panics when the
    /// provider refuses.
    #[track_caller]
    pub fn token(&self, form: &[(&str, &str)]) -> String {
        let response = self.token_response(form);
        assert_eq!(response.status, 200, "token request refused: {response:?}");
        response.json()["access_token"]
            .as_str()
            .expect("an access_token")
            .to_owned()
    }

    /// `GET /__test/stats`: `{discovery, jwks, token, other, kids}` request counters.
    pub fn stats(&self) -> Value {
        Request::new(self.port, "GET", "/__test/stats")
            .send()
            .json()
    }

    /// How many times the JWKS was fetched so far.
    pub fn jwks_fetches(&self) -> u64 {
        self.stats()["jwks"].as_u64().expect("a count")
    }

    /// How many times the discovery document was fetched so far.
    pub fn discovery_fetches(&self) -> u64 {
        self.stats()["discovery"].as_u64().expect("a count")
    }

    /// `POST /__test/config`: `{"jwks_status", "discovery_status", "jwks_delay_ms",
    /// "jwks_max_age"}`, to fake an outage without stopping the process.
    pub fn configure(&self, knobs: &Value) {
        let response = Request::new(self.port, "POST", "/__test/config")
            .json(knobs)
            .send();
        assert_eq!(response.status, 200, "{response:?}");
    }

    /// The private keys in its key file.
    pub fn keys(&self) -> Value {
        let text = std::fs::read_to_string(self.dir.path().join("keys.json")).expect("read keys");
        serde_json::from_str(&text).expect("a JWKS")
    }

    /// Replaces the key file (the first key signs); the running provider reads it at once.
    pub fn set_keys(&self, keys: &Value) {
        std::fs::write(self.dir.path().join("keys.json"), keys.to_string()).expect("write keys");
        if self.child.is_some() {
            let response = Request::new(self.port, "POST", "/__test/reload").send();
            assert_eq!(response.status, 200, "{response:?}");
        }
    }

    /// A token over exactly these header and payload texts, signed with the provider's
    /// key `kid` (default: its first key), as the provider would sign: for tokens it
    /// would not issue (duplicate claims, odd headers, malformed claims).
    pub fn sign(&self, kid: Option<&str>, header_json: &str, payload_json: &str) -> String {
        let mut cmd = Command::new("node");
        cmd.arg(harness_dir().join("provider.mjs"))
            .arg("sign")
            .arg("--jwks")
            .arg(self.dir.path().join("keys.json"));
        if let Some(kid) = kid {
            cmd.args(["--kid", kid]);
        }
        let out = cmd
            .arg(header_json)
            .arg(payload_json)
            .output()
            .expect("run node provider.mjs sign");
        assert!(
            out.status.success(),
            "sign failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("a token")
            .trim()
            .to_owned()
    }

    /// The claims of this provider's access tokens for the default client, valid for ten
    /// minutes from `now` (seconds), with `overrides` merged in (`null` deletes a claim).
    pub fn claims(&self, now: u64, overrides: &Value) -> Value {
        let mut claims = serde_json::json!({
            "iss": self.issuer(), "sub": CLIENT_ID, "aud": AUDIENCE, "client_id": CLIENT_ID,
            "iat": now, "exp": now + 600, "jti": crate::b64(crate::unique_bytes()),
        });
        let map = claims.as_object_mut().expect("an object");
        for (name, value) in overrides.as_object().into_iter().flatten() {
            if value.is_null() {
                map.remove(name);
            } else {
                map.insert(name.clone(), value.clone());
            }
        }
        claims
    }

    /// Replaces the key file without telling the running provider (for a restart).
    pub fn write_keys(&self, keys: &Value) {
        std::fs::write(self.dir.path().join("keys.json"), keys.to_string()).expect("write keys");
    }
}
