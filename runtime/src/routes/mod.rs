//! Ready-made auth routes: the login, refresh and logout routes, registration with its
//! confirmation, the password reset, and the cookie session, each group a small builder
//! whose [`router`](TokenRoutes::router) returns an [`axum::Router`] to merge into the
//! application's.
//!
//! | group | mounts (default paths) |
//! | --- | --- |
//! | [`TokenRoutes`] | `POST /auth/login`, `POST /auth/refresh`, `POST /auth/logout` |
//! | [`RegistrationRoutes`] | `POST /auth/register`, `POST /auth/confirm` |
//! | [`PasswordResetRoutes`] | `POST /auth/password/forgot`, `POST /auth/password/reset` |
//! | [`SessionRoutes`] | `POST /auth/session`, `DELETE /auth/session`, `POST /auth/session/refresh` |
//!
//! Every path can be changed, each group mounted or not. The routes are built only from
//! [`Centurion`](crate::Centurion)'s public methods and the extractors, as an application
//! would write them by hand; write your own for a flow they do not cover. They need the
//! instance's [layer](crate::Centurion::layer) on the router (as every extractor does),
//! read their bodies with [`JsonBody`](crate::JsonBody) (a bad body is the JSON 400), and
//! answer every failure with the JSON error body of [`Error`](crate::Error).
//!
//! Given a [`Throttle`](crate::throttle::Throttle), the routes that check passwords go
//! through its login throttle, and registration and reset requests count against its
//! per-address limits. The client's address then comes from
//! [`ClientAddr`](crate::http::ClientAddr): serve the application with connection info
//! (`centurion::serve`, or `into_make_service_with_connect_info::<SocketAddr>()`), and add
//! [`TrustedProxies`](crate::http::TrustedProxies) as an extension behind a proxy;
//! without connection info a throttled route answers 500 and logs why, rather than
//! silently counting nobody.
//!
//! ```
//! # async fn demo() -> Result<(), centurion::Error> {
//! use axum::Router;
//! use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
//! use centurion::routes::{PasswordResetRoutes, RegistrationRoutes, TokenRoutes};
//! use centurion::throttle::{Throttle, ThrottleConfig};
//! use centurion::{Centurion, memory::MemoryUserStore, testing::TestUser};
//!
//! let auth = Centurion::<TestUser>::builder()
//!     .secret("an-example-secret-of-at-least-32-bytes!!")
//!     .user_store(MemoryUserStore::new())
//!     .build()?;
//! let throttle = Throttle::in_memory(ThrottleConfig::default())?;
//! let mail = AccountMail::new(
//!     MailQueue::new(ConsoleMailer::stdout()),
//!     MailTemplates::new("Example"),
//!     "https://example.com",
//! )
//! .throttle(throttle.clone());
//!
//! let app: Router = Router::new()
//!     .merge(TokenRoutes::<TestUser>::new().throttle(throttle.clone()).router())
//!     .merge(RegistrationRoutes::<TestUser>::new(mail.clone()).throttle(throttle.clone()).router())
//!     .merge(PasswordResetRoutes::<TestUser>::new(mail).throttle(throttle).router())
//!     .layer(auth.layer());
//! # Ok(()) }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
//! ```

mod password_reset;
mod registration;
mod session;
mod tokens;

pub use self::password_reset::PasswordResetRoutes;
pub use self::registration::RegistrationRoutes;
pub use self::session::SessionRoutes;
pub use self::tokens::TokenRoutes;

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

/// The application's choice of a user's fields in an answer.
type Shape<U> = Arc<dyn Fn(&U) -> Value + Send + Sync>;

/// `{"username", "password"}`: the body of the routes that log in.
#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// A user's id as JSON: a number when it is an integer's canonical text (the ids of the
/// shipped stores), otherwise the string.
fn id_value(id: String) -> Value {
    match id.parse::<i64>() {
        Ok(n) if n.to_string() == id => Value::from(n),
        _ => Value::String(id),
    }
}

#[cfg(test)]
mod tests {
    use super::id_value;

    #[test]
    fn integer_ids_are_numbers_and_others_strings() {
        assert_eq!(id_value("42".into()), serde_json::json!(42));
        assert_eq!(id_value("-7".into()), serde_json::json!(-7));
        assert_eq!(id_value("007".into()), serde_json::json!("007"));
        assert_eq!(id_value("+7".into()), serde_json::json!("+7"));
        let uuid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
        assert_eq!(id_value(uuid.into()), serde_json::json!(uuid));
        assert_eq!(
            id_value("99999999999999999999".into()),
            serde_json::json!("99999999999999999999")
        );
    }
}
