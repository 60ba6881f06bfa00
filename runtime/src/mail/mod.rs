//! E-mail for the registration and password-reset flows (flask-praetorian's
//! `send_registration_email` and `send_reset_email`).
//!
//! - [`AccountMail`]: the account mails themselves, addressed to the address **stored**
//!   for the account, never to one a client typed: the confirmation after a registration,
//!   "someone tried to register with your address" when the address was taken, and the
//!   whole "forgot password" flow with at most one reset mail per account per few minutes
//!   (`account.rs`).
//! - [`MailQueue`]: a bounded queue with a fixed number of sender tasks and a timeout per
//!   mail; when it is full, mail is dropped with a rate-limited warning (`queue.rs`).
//! - [`Mail`]: one message (recipient, subject, text body, optional HTML body).
//! - [`Mailer`]: what sends it. [`ConsoleMailer`] prints mail for development (`console.rs`);
//!   `SmtpMailer` (feature `smtp`) sends it over SMTP through lettre, plain, STARTTLS or
//!   TLS, with optional authentication and a send timeout (`smtp.rs`). [`SharedMailer`] holds either
//!   behind one type, chosen at start-up.
//! - [`MailTemplates`]: the text and HTML bodies of the mails, replaceable by the
//!   application; [`confirmation_mail`], [`reset_mail`] and [`address_taken_mail`] fill
//!   them in; [`link_with_token`] puts a token in a link's fragment (`templates.rs`).
//!
//! ```
//! # async fn demo() -> centurion::Result<()> {
//! use centurion::mail::{CaptureBuffer, ConsoleMailer, MailTemplates, Mailer, confirmation_mail, link_with_token};
//!
//! let out = CaptureBuffer::new();
//! let mailer = ConsoleMailer::new(out.clone());
//! let templates = MailTemplates::default();
//! let link = link_with_token("https://app.example.com/confirm", "eyJ0eXAi.eyJzdWIi.c2ln");
//! mailer.send(&confirmation_mail(&templates, "ada@example.com", "ada", &link)).await?;
//! assert!(out.contents().contains("https://app.example.com/confirm#token=eyJ0eXAi.eyJzdWIi.c2ln"));
//! # Ok(()) }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! ## Links and logs
//!
//! A mail's link holds a single-use token that grants an account action. It travels in
//! the URL **fragment** (`/reset#token=…`), which browsers never send to the server nor
//! in `Referer` headers, so it reaches no access log; the page reads it from
//! `location.hash` and removes it from the address bar. Centurion never logs a mail body
//! or a link at `info` level or above: [`Mail`]'s `Debug` output redacts both bodies, and
//! `SmtpMailer` logs only the recipient and the outcome. The exception is
//! [`ConsoleMailer`], whose whole job is to print the mail, link included: use it in
//! development only.
//!
//! ## Failures and time
//!
//! A failed send is returned as an [`Error`] of kind [`ErrorKind::StoreUnavailable`] (503,
//! "retry later") and logged at `warn`; it is never swallowed. `SmtpMailer` bounds every
//! send by its timeout (10 seconds by default), so a slow or dead mail server never holds
//! a request longer than that. Where the response must not wait for the mail, or reveal
//! whether one was sent (registration, "forgot password"), the mail goes through a
//! [`MailQueue`]: a fixed number of senders, a bounded queue, a timeout per mail, so a
//! hanging mail server or a flood of requests holds a bounded number of connections and
//! tasks.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};

mod account;
mod console;
mod queue;
#[cfg(feature = "smtp")]
mod smtp;
mod templates;

pub use self::account::AccountMail;
pub use self::queue::{MailQueue, MailQueueBuilder};

#[cfg(any(test, feature = "test-util"))]
pub use self::console::CaptureBuffer;
pub use self::console::ConsoleMailer;
#[cfg(feature = "smtp")]
#[cfg_attr(docsrs, doc(cfg(feature = "smtp")))]
pub use self::smtp::{SmtpMailer, SmtpMailerBuilder, SmtpTls};
pub use self::templates::{
    MailTemplate, MailTemplates, address_taken_mail, confirmation_mail, link_with_token, reset_mail,
};

/// One e-mail message.
///
/// Its `Debug` output shows the recipient and subject only: the bodies hold a
/// single-use link and are redacted.
///
/// ```
/// use centurion::mail::Mail;
/// let mail = Mail::new("ada@example.com", "Hello", "Open https://x.example/#token=secret");
/// assert!(!format!("{mail:?}").contains("secret"));
/// assert_eq!(mail.html, None);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient's address, e.g. `ada@example.com` or `Ada <ada@example.com>`.
    pub to: String,
    /// The subject line (a single line).
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// An optional HTML body, sent as an alternative to the text body.
    pub html: Option<String>,
}

impl Mail {
    /// A text-only mail.
    pub fn new(to: impl Into<String>, subject: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            to: to.into(),
            subject: subject.into(),
            text: text.into(),
            html: None,
        }
    }

    /// Adds an HTML body.
    ///
    /// ```
    /// use centurion::mail::Mail;
    /// let mail = Mail::new("ada@example.com", "Hi", "Hi").with_html("<p>Hi</p>");
    /// assert_eq!(mail.html.as_deref(), Some("<p>Hi</p>"));
    /// ```
    pub fn with_html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }
}

impl fmt::Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("text", &"<redacted>")
            .field("html", &self.html.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Sends mail.
///
/// Implement it to send through another service (an HTTP mail API, a queue). A failure
/// must be returned as an error, never swallowed; use
/// [`ErrorKind::StoreUnavailable`] for "the mail service is unavailable, retry later".
///
/// ```
/// use std::sync::Mutex;
/// use centurion::mail::{Mail, Mailer};
///
/// #[derive(Default)]
/// struct Outbox(Mutex<Vec<Mail>>);
///
/// impl Mailer for Outbox {
///     async fn send(&self, mail: &Mail) -> centurion::Result<()> {
///         self.0.lock().unwrap().push(mail.clone());
///         Ok(())
///     }
/// }
/// # async fn demo() -> centurion::Result<()> {
/// let outbox = Outbox::default();
/// outbox.send(&Mail::new("ada@example.com", "Hi", "Hello")).await?;
/// assert_eq!(outbox.0.lock().unwrap().len(), 1);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
/// ```
pub trait Mailer: Send + Sync + 'static {
    /// Sends one mail; returns once the mail is handed over (or has failed).
    fn send(&self, mail: &Mail) -> impl Future<Output = Result<()>> + Send;
}

impl<M: Mailer> Mailer for Arc<M> {
    fn send(&self, mail: &Mail) -> impl Future<Output = Result<()>> + Send {
        M::send(self, mail)
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Object-safe twin of [`Mailer`].
trait DynMailer: Send + Sync {
    fn send_dyn<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<()>>;
    fn describe(&self) -> &'static str;
}

impl<M: Mailer> DynMailer for M {
    fn send_dyn<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<()>> {
        Box::pin(Mailer::send(self, mail))
    }
    fn describe(&self) -> &'static str {
        std::any::type_name::<M>()
    }
}

/// Any [`Mailer`] behind one cloneable type, for a mailer chosen at start-up (SMTP when
/// configured, the console otherwise).
///
/// ```
/// # async fn demo() -> centurion::Result<()> {
/// use centurion::mail::{CaptureBuffer, ConsoleMailer, Mail, Mailer, SharedMailer};
///
/// let out = CaptureBuffer::new();
/// let mailer = SharedMailer::new(ConsoleMailer::new(out.clone()));
/// mailer.send(&Mail::new("ada@example.com", "Hi", "Hello")).await?;
/// assert!(out.contents().contains("ada@example.com"));
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Clone)]
pub struct SharedMailer(Arc<dyn DynMailer>);

impl SharedMailer {
    /// Wraps a mailer.
    pub fn new(mailer: impl Mailer) -> Self {
        Self(Arc::new(mailer))
    }
}

impl Mailer for SharedMailer {
    async fn send(&self, mail: &Mail) -> Result<()> {
        self.0.send_dyn(mail).await
    }
}

impl fmt::Debug for SharedMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedMailer")
            .field(&self.0.describe())
            .finish()
    }
}

/// A failed send: 503, "retry later", the cause kept for the server's logs.
fn mail_failed(source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(ErrorKind::StoreUnavailable)
        .with_message("the mail could not be sent; retry later")
        .with_source(source)
}
