//! Faults behind a real Router served over TCP: the user store failing, hanging or
//! panicking, the revocation store down or hanging, and handlers that panic. Centurion
//! must answer 503 (never 500, never a pass) when a store cannot answer, within the store
//! timeout when it hangs; a panic must become the JSON error body; and the server must go
//! on answering, and recover when the store does.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use centurion::memory::{MemoryRevocationStore, MemoryUserStore};
use centurion::testing::TestUser;
use centurion::{
    Centurion, Claims, CurrentUser, Error, ErrorKind, NewUser, Result, RevocationStore, Role,
    Rotation, RotationOutcome, SessionLimits, SessionRecord, TokenRef, UserStore, secured,
};
use centurion_testkit::{Response as Answer, Server, TEST_SECRET, cheap_passwords};
use serde_json::{Value, json};
use tower_http::catch_panic::CatchPanicLayer;

/// How a flaky store behaves right now.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Mode {
    Up = 0,
    Down = 1,
    Hang = 2,
    Panic = 3,
}

#[derive(Default)]
struct Switch {
    mode: AtomicU8,
    calls: AtomicUsize,
}

impl Switch {
    fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Counts the call and fails, hangs or panics as the mode says.
    async fn gate(&self) -> Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match self.mode.load(Ordering::SeqCst) {
            0 => Ok(()),
            1 => Err(Error::store(std::io::Error::other(
                "connection refused: db.internal:5432",
            ))),
            2 => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            }
            _ => panic!("the store panicked"),
        }
    }
}

/// A memory user store behind a switch.
struct FlakyUsers {
    inner: MemoryUserStore<TestUser>,
    switch: Arc<Switch>,
}

impl UserStore<TestUser> for FlakyUsers {
    async fn lookup(&self, username: &str) -> Result<Option<TestUser>> {
        self.switch.gate().await?;
        self.inner.lookup(username).await
    }
    async fn identify(&self, id: &str) -> Result<Option<TestUser>> {
        self.switch.gate().await?;
        self.inner.identify(id).await
    }
    async fn update_password_hash(&self, id: &str, hash: &str) -> Result<()> {
        self.switch.gate().await?;
        self.inner.update_password_hash(id, hash).await
    }
    async fn create(&self, user: NewUser) -> Result<TestUser> {
        self.switch.gate().await?;
        self.inner.create(user).await
    }
    async fn activate(&self, id: &str) -> Result<()> {
        self.switch.gate().await?;
        self.inner.activate(id).await
    }
}

/// A memory revocation store behind a switch.
struct FlakyRevocations {
    inner: MemoryRevocationStore,
    switch: Arc<Switch>,
}

impl RevocationStore for FlakyRevocations {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<()> {
        self.switch.gate().await?;
        self.inner.revoke_token(jti, expires_at).await
    }
    async fn revoke_user(&self, subject: &str, not_before_ms: u64, expires_at: u64) -> Result<()> {
        self.switch.gate().await?;
        self.inner
            .revoke_user(subject, not_before_ms, expires_at)
            .await
    }
    async fn is_revoked(&self, token: &TokenRef<'_>) -> Result<bool> {
        self.switch.gate().await?;
        self.inner.is_revoked(token).await
    }
    async fn mark_spent(&self, jti: &str, expires_at: u64) -> Result<bool> {
        self.switch.gate().await?;
        self.inner.mark_spent(jti, expires_at).await
    }
    async fn create_session(&self, record: &SessionRecord, limits: &SessionLimits) -> Result<()> {
        self.switch.gate().await?;
        self.inner.create_session(record, limits).await
    }
    async fn rotate_session(&self, rotation: &Rotation<'_>) -> Result<RotationOutcome> {
        self.switch.gate().await?;
        self.inner.rotate_session(rotation).await
    }
    async fn sessions(&self, subject: &str) -> Result<Vec<SessionRecord>> {
        self.switch.gate().await?;
        self.inner.sessions(subject).await
    }
    async fn end_session(&self, family: &str) -> Result<bool> {
        self.switch.gate().await?;
        self.inner.end_session(family).await
    }
    async fn end_session_of(&self, subject: &str, id: &str) -> Result<bool> {
        self.switch.gate().await?;
        self.inner.end_session_of(subject, id).await
    }
    async fn end_sessions_of(
        &self,
        subject: &str,
        except: Option<&str>,
        not_before_ms: u64,
        expires_at: u64,
    ) -> Result<u64> {
        self.switch.gate().await?;
        self.inner
            .end_sessions_of(subject, except, not_before_ms, expires_at)
            .await
    }
}

// ---------------------------------------------------------------------------------------
// The application.

#[derive(Role, Clone, Copy, Debug, PartialEq, Eq)]
enum AppRole {
    Admin,
    Reader,
}

#[derive(serde::Deserialize)]
struct Login {
    username: String,
    password: String,
}

#[derive(serde::Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

async fn login(auth: Centurion<TestUser>, Json(b): Json<Login>) -> Result<Response> {
    Ok(Json(auth.login(&b.username, &b.password).await?).into_response())
}

async fn refresh(auth: Centurion<TestUser>, Json(b): Json<RefreshBody>) -> Result<Response> {
    Ok(Json(auth.refresh(&b.refresh_token).await?).into_response())
}

async fn me(user: CurrentUser<TestUser>) -> Json<Value> {
    Json(json!({"username": user.username}))
}

async fn claims(claims: Claims) -> Json<Value> {
    Json(json!({"sub": claims.subject()}))
}

#[secured(roles = "admin")]
async fn admin() -> &'static str {
    "ok"
}

#[secured]
async fn logout(auth: Centurion<TestUser>, claims: Claims) -> Result<Json<Value>> {
    auth.logout(&claims, None).await?;
    Ok(Json(json!({"message": "logged out"})))
}

async fn boom() -> &'static str {
    panic!("a handler bug")
}

#[secured]
async fn boom_after_auth(_claims: Claims) -> &'static str {
    panic!("a bug past the guard")
}

/// The panic handler of the quickstart (`examples/src/quickstart_setup.rs`): log, and
/// answer with centurion's JSON error body.
fn panic_answer(_panic: Box<dyn std::any::Any + Send>) -> Response {
    Error::new(ErrorKind::InternalError).into_response()
}

const PASSWORD: &str = "correct horse battery staple";
const STORE_TIMEOUT: Duration = Duration::from_millis(300);

struct App {
    auth: Centurion<TestUser>,
    server: Server,
    users: Arc<Switch>,
    revocations: Arc<Switch>,
    ada: TestUser,
}

impl App {
    async fn start() -> Self {
        let users = Arc::new(Switch::default());
        let revocations = Arc::new(Switch::default());
        let user_store = Arc::new(FlakyUsers {
            inner: MemoryUserStore::new(),
            switch: Arc::clone(&users),
        });
        let auth = Centurion::<TestUser>::builder()
            .secret(TEST_SECRET)
            .password(cheap_passwords())
            .store_timeout(Some(STORE_TIMEOUT))
            .user_store(Arc::clone(&user_store))
            .revocation_store(FlakyRevocations {
                inner: MemoryRevocationStore::new(),
                switch: Arc::clone(&revocations),
            })
            .build()
            .unwrap();
        let hash = auth.hasher().hash(PASSWORD).await.unwrap();
        let ada = user_store
            .create(NewUser::new("ada", hash).with_roles(["admin"]))
            .await
            .unwrap();
        let router = Router::new()
            .route("/auth/login", post(login))
            .route("/auth/refresh", post(refresh))
            .route("/auth/logout", post(logout))
            .route("/api/me", get(me))
            .route("/api/claims", get(claims))
            .route("/api/admin", get(admin))
            .route("/boom", get(boom))
            .route("/api/boom", get(boom_after_auth))
            .layer(auth.layer())
            .layer(CatchPanicLayer::custom(panic_answer));
        let server = Server::start(router).await;
        Self {
            auth,
            server,
            users,
            revocations,
            ada,
        }
    }

    async fn access(&self) -> String {
        self.auth.issue_pair(&self.ada).await.unwrap().access_token
    }

    async fn login(&self) -> Answer {
        self.server
            .post_json(
                "/auth/login",
                &json!({"username": "ada", "password": PASSWORD}),
            )
            .await
    }

    /// With both stores up, a login and a user-loading request succeed.
    async fn assert_alive(&self) {
        self.users.set(Mode::Up);
        self.revocations.set(Mode::Up);
        assert_eq!(self.login().await.status, 200);
        let token = self.access().await;
        let answer = self.server.get_bearer("/api/me", &token).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
}

/// A 503 StoreUnavailable JSON refusal that does not leak the store's error.
#[track_caller]
fn assert_unavailable(answer: &Answer) {
    answer.assert_refused(503, "StoreUnavailable");
    let text = answer.text();
    assert!(
        !text.contains("db.internal") && !text.contains("5432"),
        "the store's error leaked: {text}"
    );
}

// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_failing_user_store_answers_503_and_service_resumes() {
    let app = App::start().await;
    let pair = app.auth.issue_pair(&app.ada).await.unwrap();
    let s = &app.server;
    app.users.set(Mode::Down);
    assert_unavailable(&app.login().await);
    // Also an unknown user and a wrong password: the store is asked first.
    for body in [
        json!({"username": "nobody", "password": "x"}),
        json!({"username": "ada", "password": "wrong"}),
    ] {
        assert_unavailable(&s.post_json("/auth/login", &body).await);
    }
    assert_unavailable(&s.get_bearer("/api/me", &pair.access_token).await);
    assert_unavailable(
        &s.post_json(
            "/auth/refresh",
            &json!({"refresh_token": pair.refresh_token}),
        )
        .await,
    );
    // What needs no user store keeps working: the token alone authenticates.
    assert_eq!(
        s.get_bearer("/api/claims", &pair.access_token).await.status,
        200
    );
    assert_eq!(
        s.get_bearer("/api/admin", &pair.access_token).await.status,
        200
    );
    // The refresh that failed spent nothing: once the store is back it succeeds.
    app.assert_alive().await;
    let answer = s
        .post_json(
            "/auth/refresh",
            &json!({"refresh_token": pair.refresh_token}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
}

#[tokio::test]
async fn a_hanging_user_store_is_cut_off_at_the_store_timeout() {
    let app = App::start().await;
    let token = app.access().await;
    app.users.set(Mode::Hang);
    let limit = STORE_TIMEOUT + Duration::from_secs(2);
    for _ in 0..3 {
        let started = Instant::now();
        assert_unavailable(&app.login().await);
        assert!(started.elapsed() < limit, "{:?}", started.elapsed());
        let started = Instant::now();
        assert_unavailable(&app.server.get_bearer("/api/me", &token).await);
        assert!(started.elapsed() < limit, "{:?}", started.elapsed());
    }
    // Many at once: every one is answered within the limit, and requests that need no
    // store are answered meanwhile.
    let started = Instant::now();
    let client = *app.server;
    let hanging: Vec<_> = (0..16)
        .map(|_| {
            let token = token.clone();
            tokio::spawn(async move { client.get_bearer("/api/me", &token).await })
        })
        .collect();
    let fast = app.server.get_bearer("/api/claims", &token).await;
    assert_eq!(fast.status, 200);
    assert!(started.elapsed() < STORE_TIMEOUT, "{:?}", started.elapsed());
    for task in hanging {
        assert_unavailable(&task.await.unwrap());
    }
    assert!(started.elapsed() < limit * 2, "{:?}", started.elapsed());
    app.assert_alive().await;
}

#[tokio::test]
async fn a_panicking_handler_gets_the_json_error_body_and_the_server_stays_up() {
    let app = App::start().await;
    let token = app.access().await;
    for _ in 0..20 {
        let answer = app.server.request("GET", "/boom", &[], b"").await;
        answer.assert_refused(500, "InternalError");
        assert!(
            !answer.text().contains("a handler bug"),
            "the panic message leaked"
        );
        let answer = app.server.get_bearer("/api/boom", &token).await;
        answer.assert_refused(500, "InternalError");
        // The guard still runs before the panicking handler.
        app.server
            .request("GET", "/api/boom", &[], b"")
            .await
            .assert_refused(401, "MissingToken");
    }
    // A panic inside a store (a bug in the application's store) is caught the same way.
    app.users.set(Mode::Panic);
    let answer = app.server.get_bearer("/api/me", &token).await;
    answer.assert_refused(500, "InternalError");
    app.assert_alive().await;
}

#[tokio::test]
async fn a_revocation_store_outage_fails_closed() {
    let app = App::start().await;
    let pair = app.auth.issue_pair(&app.ada).await.unwrap();
    let s = &app.server;
    for mode in [Mode::Down, Mode::Hang] {
        app.revocations.set(mode);
        let started = Instant::now();
        // Every authenticated route: 503, never a pass.
        assert_unavailable(&s.get_bearer("/api/claims", &pair.access_token).await);
        assert_unavailable(&s.get_bearer("/api/admin", &pair.access_token).await);
        assert_unavailable(&s.get_bearer("/api/me", &pair.access_token).await);
        let logout = format!("Bearer {}", pair.access_token);
        assert_unavailable(
            &s.request(
                "POST",
                "/auth/logout",
                &[("Authorization", logout.as_bytes())],
                b"",
            )
            .await,
        );
        assert_unavailable(
            &s.post_json(
                "/auth/refresh",
                &json!({"refresh_token": pair.refresh_token}),
            )
            .await,
        );
        // A login cannot start a session: the session is stored in the revocation store.
        assert_unavailable(&app.login().await);
        // Hanging: each of the requests above was cut off at the store timeout.
        assert!(
            started.elapsed() < (STORE_TIMEOUT + Duration::from_secs(1)) * 7,
            "{mode:?}: {:?}",
            started.elapsed()
        );
        // Missing and malformed tokens are still refused as such (no store involved).
        s.request("GET", "/api/claims", &[], b"")
            .await
            .assert_refused(401, "MissingToken");
        s.get_bearer("/api/claims", "a.b.c")
            .await
            .assert_refused(401, "InvalidTokenError");
    }
    // Recovery: the same tokens work again, and nothing was spent or revoked meanwhile.
    app.revocations.set(Mode::Up);
    assert_eq!(
        s.get_bearer("/api/claims", &pair.access_token).await.status,
        200
    );
    let answer = s
        .post_json(
            "/auth/refresh",
            &json!({"refresh_token": pair.refresh_token}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(app.revocations.calls.load(Ordering::SeqCst) > 0);
    app.assert_alive().await;
}

#[tokio::test]
async fn a_revocation_recorded_before_an_outage_still_holds_after_it() {
    let app = App::start().await;
    let pair = app.auth.issue_pair(&app.ada).await.unwrap();
    let claims = app.auth.verify_access(&pair.access_token).await.unwrap();
    app.auth.revoke_token(&claims).await.unwrap();
    app.revocations.set(Mode::Down);
    assert_unavailable(
        &app.server
            .get_bearer("/api/claims", &pair.access_token)
            .await,
    );
    app.revocations.set(Mode::Up);
    app.server
        .get_bearer("/api/claims", &pair.access_token)
        .await
        .assert_refused(401, "RevokedTokenError");
    app.assert_alive().await;
}
