//! [`RegistrationRoutes`]: registering an unconfirmed user and confirming it from the mail.

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

/// The registration routes: a new user is created inactive and mailed a confirmation
/// link; the token of that link activates it.
///
/// | route (default path) | body | answer |
/// | --- | --- | --- |
/// | `POST /auth/register` | `{"username", "email", "password"}` | 201 `{"username", "active": false}` |
/// | `POST /auth/confirm` | `{"token"}` | 200 `{"id", "username", "active": true}` (or the fields [`confirmed_body`](Self::confirmed_body) chooses) |
///
/// Registration does not tell whether an address is registered: for a taken address the
/// answer is the same 201 with the same body (which is why it holds no id), after the
/// same work, and the address's owner gets a mail saying someone tried
/// ([`Centurion::register`], [`AccountMail::registration`]). The mail is queued: the
/// answer does not wait for the mail server. Usernames and addresses follow the
/// [identity rules](crate::identity) (400 for one that breaks them, 409 for a taken
/// username), passwords the password policy (400 `WeakPassword`). New users get no roles
/// unless [`roles`](Self::roles) names some.
///
/// With a [`throttle`](Self::throttle), registrations count against its per-address
/// limit ([`Throttle::registration`]: 429 with `Retry-After` past it).
///
/// ```
/// # async fn demo() -> Result<(), centurion::Error> {
/// use axum::Router;
/// use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
/// use centurion::routes::RegistrationRoutes;
/// use centurion::{AuthUser, Centurion, memory::MemoryUserStore, testing::TestUser};
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
/// let app: Router = RegistrationRoutes::<TestUser>::new(mail)
///     .register_path("/signup")
///     .confirmed_body(|user| serde_json::json!({"username": user.username()}))
///     .router()
///     .layer(auth.layer());
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
pub struct RegistrationRoutes<U> {
    register: String,
    confirm: String,
    mail: AccountMail,
    throttle: Option<Throttle>,
    roles: Arc<[String]>,
    confirmed: Shape<U>,
    /// Whether `confirmed` is the application's (its fields unknown to the document).
    shaped: bool,
}

impl<U: AuthUser> std::fmt::Debug for RegistrationRoutes<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrationRoutes")
            .field("register", &self.register)
            .field("confirm", &self.confirm)
            .field("throttled", &self.throttle.is_some())
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl<U: AuthUser + HasEmail> RegistrationRoutes<U> {
    /// The two routes at their default paths, mailing through `mail`, without a
    /// throttle.
    ///
    /// ```
    /// # use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let mail = AccountMail::new(MailQueue::new(ConsoleMailer::stdout()), MailTemplates::default(), "https://example.com");
    /// use centurion::{routes::RegistrationRoutes, testing::TestUser};
    /// let app: axum::Router = RegistrationRoutes::<TestUser>::new(mail).router();
    /// # });
    /// ```
    pub fn new(mail: AccountMail) -> Self {
        Self {
            register: "/auth/register".to_owned(),
            confirm: "/auth/confirm".to_owned(),
            mail,
            throttle: None,
            roles: Arc::new([]),
            confirmed: Arc::new(
                |user: &U| json!({"id": id_value(user.id()), "username": user.username(), "active": true}),
            ),
            shaped: false,
        }
    }

    /// The registration route's path (default `/auth/register`).
    ///
    /// ```
    /// # use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let mail = AccountMail::new(MailQueue::new(ConsoleMailer::stdout()), MailTemplates::default(), "https://example.com");
    /// # use centurion::{routes::RegistrationRoutes, testing::TestUser};
    /// let routes = RegistrationRoutes::<TestUser>::new(mail).register_path("/signup");
    /// assert!(format!("{routes:?}").contains("\"/signup\""));
    /// # });
    /// ```
    pub fn register_path(mut self, path: &str) -> Self {
        path.clone_into(&mut self.register);
        self
    }

    /// The confirmation route's path (default `/auth/confirm`).
    ///
    /// ```
    /// # use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let mail = AccountMail::new(MailQueue::new(ConsoleMailer::stdout()), MailTemplates::default(), "https://example.com");
    /// # use centurion::{routes::RegistrationRoutes, testing::TestUser};
    /// let routes = RegistrationRoutes::<TestUser>::new(mail).confirm_path("/signup/confirm");
    /// assert!(format!("{routes:?}").contains("\"/signup/confirm\""));
    /// # });
    /// ```
    pub fn confirm_path(mut self, path: &str) -> Self {
        path.clone_into(&mut self.confirm);
        self
    }

    /// Registrations count against `throttle`'s per-address limit.
    ///
    /// ```
    /// # use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let mail = AccountMail::new(MailQueue::new(ConsoleMailer::stdout()), MailTemplates::default(), "https://example.com");
    /// use centurion::throttle::{Throttle, ThrottleConfig};
    /// # use centurion::{routes::RegistrationRoutes, testing::TestUser};
    /// let throttle = Throttle::in_memory(ThrottleConfig::default()).unwrap();
    /// let routes = RegistrationRoutes::<TestUser>::new(mail).throttle(throttle);
    /// assert!(format!("{routes:?}").contains("throttled: true"));
    /// # });
    /// ```
    pub fn throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// The roles every registered user gets (default none). Names the role table does not
    /// declare are refused when the user registers.
    ///
    /// ```
    /// # use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let mail = AccountMail::new(MailQueue::new(ConsoleMailer::stdout()), MailTemplates::default(), "https://example.com");
    /// # use centurion::{routes::RegistrationRoutes, testing::TestUser};
    /// let routes = RegistrationRoutes::<TestUser>::new(mail).roles(&["reader"]);
    /// assert!(format!("{routes:?}").contains("\"reader\""));
    /// # });
    /// ```
    pub fn roles(mut self, roles: &[&str]) -> Self {
        self.roles = roles.iter().map(|r| (*r).to_owned()).collect();
        self
    }

    /// The body of the confirmation's 200, from the activated user (default
    /// `{"id", "username", "active": true}`; the id as a number when it is an integer).
    ///
    /// ```
    /// # use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let mail = AccountMail::new(MailQueue::new(ConsoleMailer::stdout()), MailTemplates::default(), "https://example.com");
    /// use centurion::AuthUser;
    /// # use centurion::{routes::RegistrationRoutes, testing::TestUser};
    /// let routes = RegistrationRoutes::<TestUser>::new(mail)
    ///     .confirmed_body(|user| serde_json::json!({"username": user.username(), "next": "/login"}));
    /// # });
    /// ```
    pub fn confirmed_body(mut self, shape: impl Fn(&U) -> Value + Send + Sync + 'static) -> Self {
        self.confirmed = Arc::new(shape);
        self.shaped = true;
        self
    }

    /// Where these routes are mounted, for their OpenAPI operations
    /// ([`openapi::auth_routes`](crate::openapi::auth_routes)). With a
    /// [`confirmed_body`](Self::confirmed_body) of the application's, `confirmed_fields` is
    /// empty: name its fields there for the document.
    ///
    /// ```
    /// # use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let mail = AccountMail::new(MailQueue::new(ConsoleMailer::stdout()), MailTemplates::default(), "https://example.com");
    /// # use centurion::{routes::RegistrationRoutes, testing::TestUser};
    /// let paths = RegistrationRoutes::<TestUser>::new(mail).register_path("/signup").paths();
    /// assert_eq!(paths.register, "/signup");
    /// assert_eq!(paths.confirmed_fields, ["id", "username", "active"]);
    /// # });
    /// ```
    #[cfg(feature = "openapi")]
    pub fn paths(&self) -> crate::openapi::RegistrationPaths {
        crate::openapi::RegistrationPaths {
            register: self.register.clone(),
            confirm: self.confirm.clone(),
            confirmed_fields: match self.shaped {
                true => Vec::new(),
                false => ["id", "username", "active"].map(str::to_owned).to_vec(),
            },
        }
    }

    /// The router with the two routes, for any application state `S`.
    ///
    /// ```
    /// # use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let mail = AccountMail::new(MailQueue::new(ConsoleMailer::stdout()), MailTemplates::default(), "https://example.com");
    /// # use centurion::{routes::RegistrationRoutes, testing::TestUser};
    /// let app: axum::Router<()> = RegistrationRoutes::<TestUser>::new(mail).router();
    /// # });
    /// ```
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let (mail, roles) = (self.mail, self.roles);
        let register = match self.throttle {
            Some(throttle) => post(
                move |auth: Centurion<U>,
                      client: ClientAddr,
                      JsonBody(body): JsonBody<NewAccount>| {
                    let throttled = Some((throttle.clone(), client.ip()));
                    let (mail, roles) = (mail.clone(), Arc::clone(&roles));
                    async move { register(auth, throttled, mail, roles, body).await }
                },
            ),
            None => post(
                move |auth: Centurion<U>, JsonBody(body): JsonBody<NewAccount>| {
                    let (mail, roles) = (mail.clone(), Arc::clone(&roles));
                    async move { register(auth, None, mail, roles, body).await }
                },
            ),
        };
        let shape = self.confirmed;
        let confirm = post(
            move |auth: Centurion<U>, JsonBody(body): JsonBody<TokenBody>| {
                let shape = Arc::clone(&shape);
                async move {
                    let user = auth.confirm_registration(&body.token).await?;
                    Ok::<_, crate::Error>(Json(shape(&user)))
                }
            },
        );
        Router::new()
            .route(&self.register, register)
            .route(&self.confirm, confirm)
    }
}

#[derive(Deserialize)]
struct NewAccount {
    username: String,
    email: String,
    password: String,
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

async fn register<U: AuthUser + HasEmail>(
    auth: Centurion<U>,
    throttled: Option<(Throttle, IpAddr)>,
    mail: AccountMail,
    roles: Arc<[String]>,
    body: NewAccount,
) -> Result<(StatusCode, Json<Value>)> {
    if let Some((throttle, ip)) = throttled {
        throttle.registration(Some(ip)).await?;
    }
    let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
    let registration = auth
        .register(&body.username, Some(&body.email), &body.password, &roles)
        .await?;
    // Queued, whichever mail it is: neither the answer nor its timing tells them apart.
    mail.registration(&registration);
    Ok((
        StatusCode::CREATED,
        Json(json!({"username": registration.username(), "active": false})),
    ))
}
