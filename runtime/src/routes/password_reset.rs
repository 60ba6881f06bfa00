//! [`PasswordResetRoutes`]: "forgot my password" and the reset from the mailed link.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Shape, id_value};
use crate::centurion::Centurion;
use crate::error::Result;
use crate::http::{ClientAddr, JsonBody};
use crate::mail::AccountMail;
use crate::throttle::Throttle;
use crate::user::{AuthUser, HasEmail};

/// The password-reset routes.
///
/// | route (default path) | body | answer |
/// | --- | --- | --- |
/// | `POST /auth/password/forgot` | `{"email"}` | 202 `{"message"}`, always |
/// | `POST /auth/password/reset` | `{"token", "password"}` | 200 `{"id", "message"}` (or the fields [`reset_body`](Self::reset_body) chooses); every token the user held is revoked, the reset token spent |
///
/// `forgot` answers 202 at once whatever the address: the look-up and the mail happen
/// afterwards on the mail queue ([`AccountMail::password_reset`]), so neither the answer
/// nor its timing says whether the address is known. The mail goes to the address stored
/// for the account, at most once per account per [`ThrottleConfig::reset_mails`]
/// window, counted in the throttle the [`AccountMail`] was given
/// ([`AccountMail::throttle`]: give it the application's to count across instances).
///
/// With a [`throttle`](Self::throttle), `forgot` requests count against its per-address
/// limit ([`Throttle::reset_request`]: 429 with `Retry-After` past it).
///
/// [`ThrottleConfig::reset_mails`]: crate::throttle::ThrottleConfig::reset_mails
///
/// ```
/// # async fn demo() -> Result<(), centurion::Error> {
/// use axum::{Router, body::Body, http::Request};
/// use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
/// use centurion::routes::PasswordResetRoutes;
/// use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
/// use tower::ServiceExt;
///
/// let auth = Centurion::<TestUser>::builder()
///     .secret("an-example-secret-of-at-least-32-bytes!!")
///     .user_store(MemoryUserStore::new())
///     .build()?;
/// let mail = AccountMail::new(
///     MailQueue::new(ConsoleMailer::stdout()),
///     MailTemplates::new("Example"),
///     "https://example.com",
/// );
/// let app: Router = PasswordResetRoutes::<TestUser>::new(mail).router().layer(auth.layer());
/// let forgot = Request::post("/auth/password/forgot")
///     .header("content-type", "application/json")
///     .body(Body::from(r#"{"email": "nobody@example.com"}"#))
///     .unwrap();
/// assert_eq!(app.oneshot(forgot).await.unwrap().status(), 202);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
pub struct PasswordResetRoutes<U> {
    forgot: String,
    reset: String,
    mail: AccountMail,
    throttle: Option<Throttle>,
    reset_body: Shape<U>,
    /// Whether `reset_body` is the application's (its fields unknown to the document).
    shaped: bool,
}

impl<U: AuthUser> std::fmt::Debug for PasswordResetRoutes<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordResetRoutes")
            .field("forgot", &self.forgot)
            .field("reset", &self.reset)
            .field("throttled", &self.throttle.is_some())
            .finish_non_exhaustive()
    }
}

impl<U: AuthUser + HasEmail> PasswordResetRoutes<U> {
    /// The two routes at their default paths, mailing through `mail`, without a
    /// throttle.
    ///
    /// ```
    /// # use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let mail = AccountMail::new(MailQueue::new(ConsoleMailer::stdout()), MailTemplates::default(), "https://example.com");
    /// use centurion::{routes::PasswordResetRoutes, testing::TestUser};
    /// let app: axum::Router = PasswordResetRoutes::<TestUser>::new(mail).router();
    /// # });
    /// ```
    pub fn new(mail: AccountMail) -> Self {
        Self {
            forgot: "/auth/password/forgot".to_owned(),
            reset: "/auth/password/reset".to_owned(),
            mail,
            throttle: None,
            reset_body: Arc::new(|user: &U| {
                json!({
                    "id": id_value(user.id()),
                    "message": "password changed; every session was logged out",
                })
            }),
            shaped: false,
        }
    }

    /// The "forgot" route's path (default `/auth/password/forgot`).
    ///
    /// ```
    /// # use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let mail = AccountMail::new(MailQueue::new(ConsoleMailer::stdout()), MailTemplates::default(), "https://example.com");
    /// # use centurion::{routes::PasswordResetRoutes, testing::TestUser};
    /// let routes = PasswordResetRoutes::<TestUser>::new(mail).forgot_path("/forgot");
    /// assert!(format!("{routes:?}").contains("\"/forgot\""));
    /// # });
    /// ```
    pub fn forgot_path(mut self, path: &str) -> Self {
        path.clone_into(&mut self.forgot);
        self
    }

    /// The reset route's path (default `/auth/password/reset`).
    ///
    /// ```
    /// # use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let mail = AccountMail::new(MailQueue::new(ConsoleMailer::stdout()), MailTemplates::default(), "https://example.com");
    /// # use centurion::{routes::PasswordResetRoutes, testing::TestUser};
    /// let routes = PasswordResetRoutes::<TestUser>::new(mail).reset_path("/reset");
    /// assert!(format!("{routes:?}").contains("\"/reset\""));
    /// # });
    /// ```
    pub fn reset_path(mut self, path: &str) -> Self {
        path.clone_into(&mut self.reset);
        self
    }

    /// "Forgot" requests count against `throttle`'s per-address limit.
    ///
    /// ```
    /// # use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let mail = AccountMail::new(MailQueue::new(ConsoleMailer::stdout()), MailTemplates::default(), "https://example.com");
    /// use centurion::throttle::{Throttle, ThrottleConfig};
    /// # use centurion::{routes::PasswordResetRoutes, testing::TestUser};
    /// let throttle = Throttle::in_memory(ThrottleConfig::default()).unwrap();
    /// let routes = PasswordResetRoutes::<TestUser>::new(mail).throttle(throttle);
    /// assert!(format!("{routes:?}").contains("throttled: true"));
    /// # });
    /// ```
    pub fn throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// The body of the reset's 200, from the user whose password changed (default
    /// `{"id", "message"}`; the id as a number when it is an integer).
    ///
    /// ```
    /// # use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let mail = AccountMail::new(MailQueue::new(ConsoleMailer::stdout()), MailTemplates::default(), "https://example.com");
    /// # use centurion::{routes::PasswordResetRoutes, testing::TestUser};
    /// let routes = PasswordResetRoutes::<TestUser>::new(mail)
    ///     .reset_body(|_| serde_json::json!({"message": "password changed"}));
    /// # });
    /// ```
    pub fn reset_body(mut self, shape: impl Fn(&U) -> Value + Send + Sync + 'static) -> Self {
        self.reset_body = Arc::new(shape);
        self.shaped = true;
        self
    }

    /// Where these routes are mounted, for their OpenAPI operations
    /// ([`openapi::auth_routes`](crate::openapi::auth_routes)). With a
    /// [`reset_body`](Self::reset_body) of the application's, `reset_fields` is empty: name
    /// its fields there for the document.
    ///
    /// ```
    /// # use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let mail = AccountMail::new(MailQueue::new(ConsoleMailer::stdout()), MailTemplates::default(), "https://example.com");
    /// # use centurion::{routes::PasswordResetRoutes, testing::TestUser};
    /// let paths = PasswordResetRoutes::<TestUser>::new(mail).paths();
    /// assert_eq!(paths.forgot, "/auth/password/forgot");
    /// assert_eq!(paths.reset_fields, ["id", "message"]);
    /// # });
    /// ```
    #[cfg(feature = "openapi")]
    pub fn paths(&self) -> crate::openapi::PasswordResetPaths {
        crate::openapi::PasswordResetPaths {
            forgot: self.forgot.clone(),
            reset: self.reset.clone(),
            reset_fields: match self.shaped {
                true => Vec::new(),
                false => ["id", "message"].map(str::to_owned).to_vec(),
            },
        }
    }

    /// The router with the two routes, for any application state `S`.
    ///
    /// ```
    /// # use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let mail = AccountMail::new(MailQueue::new(ConsoleMailer::stdout()), MailTemplates::default(), "https://example.com");
    /// # use centurion::{routes::PasswordResetRoutes, testing::TestUser};
    /// let app: axum::Router<()> = PasswordResetRoutes::<TestUser>::new(mail).router();
    /// # });
    /// ```
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let mail = self.mail;
        let forgot = match self.throttle {
            Some(throttle) => post(
                move |auth: Centurion<U>, client: ClientAddr, JsonBody(body): JsonBody<Forgot>| {
                    let throttled = Some((throttle.clone(), client.ip()));
                    let mail = mail.clone();
                    async move { forgot(auth, throttled, mail, body).await }
                },
            ),
            None => post(
                move |auth: Centurion<U>, JsonBody(body): JsonBody<Forgot>| {
                    let mail = mail.clone();
                    async move { forgot(auth, None, mail, body).await }
                },
            ),
        };
        let shape = self.reset_body;
        let reset = post(move |auth: Centurion<U>, JsonBody(body): JsonBody<Reset>| {
            let shape = Arc::clone(&shape);
            async move {
                let user = auth.reset_password(&body.token, &body.password).await?;
                Ok::<_, crate::Error>(Json(shape(&user)))
            }
        });
        Router::new()
            .route(&self.forgot, forgot)
            .route(&self.reset, reset)
    }
}

#[derive(Deserialize)]
struct Forgot {
    email: String,
}

#[derive(Deserialize)]
struct Reset {
    token: String,
    password: String,
}

async fn forgot<U: AuthUser + HasEmail>(
    auth: Centurion<U>,
    throttled: Option<(Throttle, IpAddr)>,
    mail: AccountMail,
    body: Forgot,
) -> Result<(StatusCode, Json<Value>)> {
    if let Some((throttle, ip)) = throttled {
        throttle.reset_request(Some(ip)).await?;
    }
    mail.password_reset(&auth, &body.email);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"message": "if the address is known, a reset link is on its way"})),
    ))
}
