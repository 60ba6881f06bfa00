//! E-mail for the registration and password-reset flows (flask-praetorian's
//! `send_registration_email` and `send_reset_email`).
//!
//! - [`Mail`]: one message (recipient, subject, text body, optional HTML body).
//! - [`Mailer`]: what sends it. [`ConsoleMailer`] prints mail for development;
//!   `SmtpMailer` (feature `smtp`) sends it over SMTP through lettre, plain, STARTTLS or
//!   TLS, with optional authentication and a send timeout. [`SharedMailer`] holds either
//!   behind one type, chosen at start-up.
//! - [`MailTemplates`]: the text and HTML bodies of the two mails, replaceable by the
//!   application; [`confirmation_mail`] and [`reset_mail`] fill them in.
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
//! assert!(out.contents().contains("https://app.example.com/confirm?token=eyJ0eXAi.eyJzdWIi.c2ln"));
//! # Ok(()) }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! ## Links and logs
//!
//! A mail's link holds a single-use token that grants an account action, so centurion
//! never logs a mail body or a link at `info` level or above: [`Mail`]'s `Debug` output
//! redacts both bodies, and `SmtpMailer` logs only the recipient and the outcome. The
//! exception is [`ConsoleMailer`], whose whole job is to print the mail, link included:
//! use it in development only.
//!
//! ## Failures and time
//!
//! A failed send is returned as an [`Error`] of kind [`ErrorKind::StoreUnavailable`] (503,
//! "retry later") and logged at `warn`; it is never swallowed. `SmtpMailer` bounds every
//! send by its timeout (10 seconds by default), so a slow or dead mail server never holds
//! a request longer than that. Where the response must not reveal whether a mail was
//! sent (the "forgot password" route answers the same for known and unknown addresses,
//! in the same time), hand the mail to [`SharedMailer::send_in_background`], which sends
//! it on a task of its own and logs a failure.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use crate::error::{Error, ErrorKind, Result};

/// One e-mail message.
///
/// Its `Debug` output shows the recipient and subject only: the bodies hold a
/// single-use link and are redacted.
///
/// ```
/// use centurion::mail::Mail;
/// let mail = Mail::new("ada@example.com", "Hello", "Open https://x.example/?token=secret");
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
/// mailer
///     .send_in_background(Mail::new("bob@example.com", "Hi", "Hello"))
///     .await
///     .unwrap()?;
/// assert!(out.contents().contains("bob@example.com"));
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

    /// Sends `mail` on a task of its own and returns at once, so the caller's response
    /// time says nothing about the mail (use it where the answer must be the same whether
    /// or not a mail goes out). A failure is logged at `warn` by the mailer and also
    /// returned through the handle, which callers may await or drop.
    ///
    /// Needs a Tokio runtime.
    pub fn send_in_background(&self, mail: Mail) -> tokio::task::JoinHandle<Result<()>> {
        let mailer = Arc::clone(&self.0);
        tokio::spawn(async move {
            let result = mailer.send_dyn(&mail).await;
            if let Err(e) = &result {
                tracing::warn!(to = %mail.to, error = %e, "a mail sent in the background failed");
            }
            result
        })
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

/// A development mailer that prints each mail — recipient, subject and text body, link
/// included — to standard output or to a writer of your choice.
///
/// **It prints the single-use links in clear, by design**: that is its job. Use it in
/// development and tests only, never where the output reaches shared logs.
///
/// ```
/// # async fn demo() -> centurion::Result<()> {
/// use centurion::mail::{CaptureBuffer, ConsoleMailer, Mail, Mailer};
///
/// let out = CaptureBuffer::new();
/// let mailer = ConsoleMailer::new(out.clone());
/// mailer.send(&Mail::new("ada@example.com", "Confirm", "Open https://x.example/c?token=t")).await?;
/// let printed = out.contents();
/// assert!(printed.contains("To: ada@example.com"));
/// assert!(printed.contains("https://x.example/c?token=t"));
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
/// ```
pub struct ConsoleMailer {
    out: Mutex<Box<dyn Write + Send>>,
}

impl ConsoleMailer {
    /// Prints to standard output.
    ///
    /// ```
    /// let mailer = centurion::mail::ConsoleMailer::stdout();
    /// # let _ = mailer;
    /// ```
    pub fn stdout() -> Self {
        Self::new(std::io::stdout())
    }

    /// Prints to `writer` (a [`CaptureBuffer`] in tests).
    pub fn new(writer: impl Write + Send + 'static) -> Self {
        Self {
            out: Mutex::new(Box::new(writer)),
        }
    }

    fn print(&self, mail: &Mail) -> std::io::Result<()> {
        let mut out = self
            .out
            .lock()
            .map_err(|_| std::io::Error::other("the console mailer's lock is poisoned"))?;
        let mut text = String::new();
        text.push_str("----- mail (centurion ConsoleMailer, development only) -----\n");
        text.push_str(&format!("To: {}\nSubject: {}\n", mail.to, mail.subject));
        if let Some(html) = &mail.html {
            text.push_str(&format!(
                "(an HTML alternative of {} bytes is not shown)\n",
                html.len()
            ));
        }
        text.push('\n');
        text.push_str(mail.text.trim_end());
        text.push_str("\n----- end of mail -----\n");
        out.write_all(text.as_bytes())?;
        out.flush()
    }
}

impl Default for ConsoleMailer {
    fn default() -> Self {
        Self::stdout()
    }
}

impl fmt::Debug for ConsoleMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleMailer").finish_non_exhaustive()
    }
}

impl Mailer for ConsoleMailer {
    async fn send(&self, mail: &Mail) -> Result<()> {
        self.print(mail).map_err(|e| {
            tracing::warn!(to = %mail.to, error = %e, "the console mailer could not print a mail");
            mail_failed(e)
        })
    }
}

/// A cloneable in-memory writer, to capture what a [`ConsoleMailer`] prints.
///
/// ```
/// use std::io::Write;
/// use centurion::mail::CaptureBuffer;
/// let buffer = CaptureBuffer::new();
/// buffer.clone().write_all(b"hello").unwrap();
/// assert_eq!(buffer.contents(), "hello");
/// ```
#[derive(Clone, Default)]
pub struct CaptureBuffer(Arc<Mutex<Vec<u8>>>);

impl CaptureBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything written so far, as text (invalid UTF-8 replaced).
    pub fn contents(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Empties the buffer.
    pub fn clear(&self) {
        if let Ok(mut b) = self.0.lock() {
            b.clear();
        }
    }
}

impl Write for CaptureBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for CaptureBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.0.lock().map_or(0, |b| b.len());
        f.debug_struct("CaptureBuffer").field("len", &len).finish()
    }
}

/// The subject, text body and optional HTML body of one kind of mail.
///
/// Placeholders `{{username}}`, `{{link}}` and `{{app_name}}` are replaced when the mail
/// is built; in the HTML body the values are HTML-escaped, in the subject line breaks
/// become spaces. Other text, unknown placeholders included, is kept as written, and a
/// value is never scanned for placeholders itself.
///
/// ```
/// use centurion::mail::MailTemplate;
/// let template = MailTemplate::new("Welcome, {{username}}", "Confirm: {{link}}")
///     .with_html("<a href=\"{{link}}\">confirm</a> {{username}}");
/// let mail = template.render("Centurion", "x@example.com", "<ada>", "https://a.example/c?token=t&x=1");
/// assert_eq!(mail.subject, "Welcome, <ada>");
/// assert_eq!(mail.text, "Confirm: https://a.example/c?token=t&x=1");
/// assert_eq!(
///     mail.html.as_deref(),
///     Some("<a href=\"https://a.example/c?token=t&amp;x=1\">confirm</a> &lt;ada&gt;")
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailTemplate {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, if the mail should have one.
    pub html: Option<String>,
}

impl MailTemplate {
    /// A template with a subject and a text body, and no HTML body.
    pub fn new(subject: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            text: text.into(),
            html: None,
        }
    }

    /// Adds an HTML body.
    pub fn with_html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }

    /// Fills in the placeholders and addresses the mail to `to`.
    pub fn render(&self, app_name: &str, to: &str, username: &str, link: &str) -> Mail {
        let vars = [
            ("username", username),
            ("link", link),
            ("app_name", app_name),
        ];
        let subject = fill(&self.subject, &vars, false)
            .replace(['\r', '\n'], " ")
            .trim()
            .to_owned();
        Mail {
            to: to.to_owned(),
            subject,
            text: fill(&self.text, &vars, false),
            html: self.html.as_ref().map(|h| fill(h, &vars, true)),
        }
    }
}

/// The templates of the confirmation and reset mails, with the application's name.
///
/// Replace any field to change the wording; the defaults are short English texts with an
/// HTML alternative.
///
/// ```
/// use centurion::mail::{MailTemplate, MailTemplates, reset_mail};
///
/// let mut templates = MailTemplates::new("Quickstart");
/// templates.reset = MailTemplate::new("{{app_name}}: new password", "Hi {{username}}, go to {{link}}");
/// let mail = reset_mail(&templates, "ada@example.com", "ada", "https://q.example/reset?token=t");
/// assert_eq!(mail.subject, "Quickstart: new password");
/// assert_eq!(mail.text, "Hi ada, go to https://q.example/reset?token=t");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailTemplates {
    /// Replaces `{{app_name}}`.
    pub app_name: String,
    /// The registration-confirmation mail.
    pub confirmation: MailTemplate,
    /// The password-reset mail.
    pub reset: MailTemplate,
}

impl MailTemplates {
    /// The default templates, naming the application `app_name`.
    pub fn new(app_name: impl Into<String>) -> Self {
        Self {
            app_name: app_name.into(),
            confirmation: MailTemplate::new(
                "Confirm your registration at {{app_name}}",
                "Hello {{username}},\n\n\
                 please confirm your registration at {{app_name}} by opening this link:\n\n\
                 {{link}}\n\n\
                 The link works once and expires. If you did not register, ignore this mail.\n",
            )
            .with_html(
                "<!DOCTYPE html>\n<html><body>\n<p>Hello {{username}},</p>\n\
                 <p>please confirm your registration at {{app_name}} by opening this link:</p>\n\
                 <p><a href=\"{{link}}\">{{link}}</a></p>\n\
                 <p>The link works once and expires. If you did not register, ignore this mail.</p>\n\
                 </body></html>\n",
            ),
            reset: MailTemplate::new(
                "Reset your password at {{app_name}}",
                "Hello {{username}},\n\n\
                 someone asked to reset your password at {{app_name}}. To choose a new one, open this link:\n\n\
                 {{link}}\n\n\
                 The link works once and expires. If you did not ask for it, ignore this mail: \
                 your password stays as it is.\n",
            )
            .with_html(
                "<!DOCTYPE html>\n<html><body>\n<p>Hello {{username}},</p>\n\
                 <p>someone asked to reset your password at {{app_name}}. To choose a new one, open this link:</p>\n\
                 <p><a href=\"{{link}}\">{{link}}</a></p>\n\
                 <p>The link works once and expires. If you did not ask for it, ignore this mail: \
                 your password stays as it is.</p>\n\
                 </body></html>\n",
            ),
        }
    }
}

impl Default for MailTemplates {
    /// The default templates for an application named "Centurion".
    fn default() -> Self {
        Self::new("Centurion")
    }
}

/// The registration-confirmation mail for `username` at `to`, holding `link`.
///
/// ```
/// use centurion::mail::{MailTemplates, confirmation_mail};
/// let mail = confirmation_mail(&MailTemplates::default(), "ada@example.com", "ada", "https://a.example/c?token=t");
/// assert!(mail.text.contains("https://a.example/c?token=t"));
/// assert!(mail.html.unwrap().contains("href=\"https://a.example/c?token=t\""));
/// ```
pub fn confirmation_mail(templates: &MailTemplates, to: &str, username: &str, link: &str) -> Mail {
    templates
        .confirmation
        .render(&templates.app_name, to, username, link)
}

/// The password-reset mail for `username` at `to`, holding `link`.
///
/// ```
/// use centurion::mail::{MailTemplates, reset_mail};
/// let mail = reset_mail(&MailTemplates::default(), "ada@example.com", "ada", "https://a.example/r?token=t");
/// assert!(mail.subject.starts_with("Reset your password"));
/// assert!(mail.text.contains("https://a.example/r?token=t"));
/// ```
pub fn reset_mail(templates: &MailTemplates, to: &str, username: &str, link: &str) -> Mail {
    templates
        .reset
        .render(&templates.app_name, to, username, link)
}

/// The link to mail: `base` with `token` appended as the `token` query parameter.
///
/// A `base` ending in `=` (such as `https://app.example.com/#/confirm?token=`) gets the
/// token appended as it is; otherwise `?token=` or, when `base` already has a query,
/// `&token=` is added. Characters outside the URL-safe set are percent-encoded (JWTs
/// have none).
///
/// ```
/// use centurion::mail::link_with_token;
/// assert_eq!(link_with_token("https://a.example/confirm", "x.y.z"), "https://a.example/confirm?token=x.y.z");
/// assert_eq!(link_with_token("https://a.example/c?lang=en", "t"), "https://a.example/c?lang=en&token=t");
/// assert_eq!(link_with_token("https://a.example/#/c?t=", "a b"), "https://a.example/#/c?t=a%20b");
/// ```
pub fn link_with_token(base: &str, token: &str) -> String {
    let mut link = String::with_capacity(base.len() + token.len() + 8);
    link.push_str(base);
    if !base.ends_with('=') {
        link.push_str(if base.contains('?') {
            if base.ends_with('?') || base.ends_with('&') {
                "token="
            } else {
                "&token="
            }
        } else {
            "?token="
        });
    }
    for byte in token.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            link.push(char::from(byte));
        } else {
            link.push_str(&format!("%{byte:02X}"));
        }
    }
    link
}

/// Replaces `{{name}}` placeholders in one pass (values are never re-scanned).
fn fill(template: &str, vars: &[(&str, &str)], html: bool) -> String {
    let mut out = String::with_capacity(template.len() + 128);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim();
        match vars.iter().find(|(n, _)| *n == name) {
            Some((_, value)) if html => out.push_str(&escape_html(value)),
            Some((_, value)) => out.push_str(value),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn escape_html(value: &str) -> Cow<'_, str> {
    if !value.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 16);
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A failed send: 503, "retry later", the cause kept for the server's logs.
fn mail_failed(source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(ErrorKind::StoreUnavailable)
        .with_message("the mail could not be sent; retry later")
        .with_source(source)
}

#[cfg(feature = "smtp")]
#[cfg_attr(docsrs, doc(cfg(feature = "smtp")))]
pub use self::smtp::{SmtpMailer, SmtpMailerBuilder, SmtpTls};

#[cfg(feature = "smtp")]
mod smtp {
    use std::fmt;
    use std::time::Duration;

    use lettre::message::{Mailbox, MultiPart, header::ContentType};
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    use lettre::transport::smtp::extension::ClientId;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

    use super::{Mail, Mailer, mail_failed};
    use crate::error::{Error, ErrorKind, Result};

    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// How an [`SmtpMailer`] secures its connection.
    ///
    /// ```
    /// use centurion::mail::{SmtpMailer, SmtpTls};
    /// let b = SmtpMailer::builder("smtp://mail.example.com:587?tls=starttls").unwrap();
    /// assert_eq!(b.tls(), SmtpTls::StartTls);
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum SmtpTls {
        /// No encryption (`smtp://…`, or `?tls=none`): for a relay on the same host or a
        /// development server.
        None,
        /// STARTTLS when the server offers it, plain otherwise (`?tls=opportunistic`).
        Opportunistic,
        /// STARTTLS required (`?tls=starttls` or `?tls=required`, usually port 587).
        StartTls,
        /// TLS from the first byte (`smtps://…`, port 465 by default).
        Wrapper,
    }

    /// Configures an [`SmtpMailer`]; start with [`SmtpMailer::builder`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use centurion::mail::SmtpMailer;
    ///
    /// let ca_pem = b"-----BEGIN CERTIFICATE-----..."; // your relay's private CA
    /// let builder = SmtpMailer::builder("smtps://mailer:secret@relay.internal")
    ///     .unwrap()
    ///     .from("Shop <noreply@shop.example>")
    ///     .timeout(Duration::from_secs(3))
    ///     .hello_name("app1.shop.example")
    ///     .add_root_certificate_pem(ca_pem);
    /// // The bogus PEM above is caught when building.
    /// assert!(builder.build().is_err());
    /// ```
    pub struct SmtpMailerBuilder {
        host: String,
        port: u16,
        tls: SmtpTls,
        credentials: Option<(String, String)>,
        from: Option<String>,
        timeout: Duration,
        hello: Option<String>,
        roots: Vec<Vec<u8>>,
    }

    impl fmt::Debug for SmtpMailerBuilder {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SmtpMailerBuilder")
                .field("host", &self.host)
                .field("port", &self.port)
                .field("tls", &self.tls)
                .field("user", &self.credentials.as_ref().map(|c| &c.0))
                .field("from", &self.from)
                .field("timeout", &self.timeout)
                .finish_non_exhaustive()
        }
    }

    /// Sends mail over SMTP through lettre: plain, STARTTLS or TLS, with optional
    /// authentication (PLAIN or LOGIN), and a timeout on every send.
    ///
    /// Configured from a URL:
    ///
    /// | URL | meaning |
    /// | --- | --- |
    /// | `smtp://127.0.0.1:2525` | plain SMTP (a local relay or a development server) |
    /// | `smtp://user:pass@host:587?tls=starttls` | STARTTLS required, then `AUTH` |
    /// | `smtp://host?tls=opportunistic` | STARTTLS when offered |
    /// | `smtps://user:pass@host:465` | TLS from the first byte |
    ///
    /// Query parameters: `tls` (`none`, `opportunistic`, `starttls`/`required`; `smtp://`
    /// only), `timeout` (a duration such as `5s`; default 10 s) and `helo` (the name sent
    /// in `EHLO`; default this host's name). The default port is 465 for `smtps://`, 587
    /// for STARTTLS and 25 otherwise. User and password are percent-decoded. Credentials
    /// over an unencrypted connection are refused unless the host is a loopback address.
    ///
    /// TLS is rustls with the ring provider; server certificates are checked against the
    /// Mozilla roots (webpki-roots, nothing to install), plus any added with
    /// [`SmtpMailerBuilder::add_root_certificate_pem`] for a private CA.
    ///
    /// Every send is bounded by the timeout, connection included: a dead or stalled
    /// server costs at most that long, and answers [`ErrorKind::StoreUnavailable`]
    /// (503). A failed send is logged at `warn` with the recipient and the cause; the mail
    /// body and its link are never logged. Each send opens its own connection.
    ///
    /// ```
    /// use std::time::Duration;
    /// use centurion::mail::SmtpMailer;
    ///
    /// let mailer = SmtpMailer::from_url("smtp://127.0.0.1:2525", "Centurion <noreply@example.com>").unwrap();
    /// # let _ = mailer;
    /// let mailer = SmtpMailer::builder("smtp://apikey:s3cr%40t@smtp.example.com?tls=starttls")
    ///     .unwrap()
    ///     .from("noreply@example.com")
    ///     .timeout(Duration::from_secs(5))
    ///     .build()
    ///     .unwrap();
    /// assert!(!format!("{mailer:?}").contains("s3cr"));
    ///
    /// // Credentials in clear to a remote host are refused.
    /// let err = SmtpMailer::from_url("smtp://u:p@smtp.example.com", "a@example.com").unwrap_err();
    /// assert_eq!(err.kind(), centurion::ErrorKind::ConfigurationError);
    /// ```
    pub struct SmtpMailer {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
        timeout: Duration,
        server: String,
    }

    impl fmt::Debug for SmtpMailer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SmtpMailer")
                .field("server", &self.server)
                .field("from", &self.from.to_string())
                .field("timeout", &self.timeout)
                .finish_non_exhaustive()
        }
    }

    fn percent_decode(s: &str) -> Result<String> {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        Error::config("SMTP URL: a bad percent-escape in the user or password")
                    })?;
                out.push(hex);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out)
            .map_err(|_| Error::config("SMTP URL: the user or password is not UTF-8"))
    }

    impl SmtpMailer {
        /// Starts configuring a mailer from a URL (see the table above).
        pub fn builder(url: &str) -> Result<SmtpMailerBuilder> {
            let parsed =
                url::Url::parse(url).map_err(|e| Error::config(format!("SMTP URL: {e}")))?;
            let wrapper = match parsed.scheme() {
                "smtp" => false,
                "smtps" => true,
                other => {
                    return Err(Error::config(format!(
                        "SMTP URL: unknown scheme `{other}` (use smtp:// or smtps://)"
                    )));
                }
            };
            let host = match parsed.host() {
                Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
                Some(url::Host::Ipv4(a)) => a.to_string(),
                Some(url::Host::Ipv6(a)) => a.to_string(),
                _ => return Err(Error::config("SMTP URL: no host")),
            };
            let mut tls = if wrapper {
                SmtpTls::Wrapper
            } else {
                SmtpTls::None
            };
            let mut timeout = DEFAULT_TIMEOUT;
            let mut hello = None;
            for (key, value) in parsed.query_pairs() {
                match &*key {
                    "tls" if wrapper => {
                        return Err(Error::config(
                            "SMTP URL: `tls` applies to smtp:// only; smtps:// is always TLS",
                        ));
                    }
                    "tls" => {
                        tls = match &*value {
                            "none" | "off" => SmtpTls::None,
                            "opportunistic" => SmtpTls::Opportunistic,
                            "starttls" | "required" => SmtpTls::StartTls,
                            other => {
                                return Err(Error::config(format!(
                                    "SMTP URL: tls={other} is not one of none, opportunistic, starttls"
                                )));
                            }
                        }
                    }
                    "timeout" => {
                        timeout = humantime::parse_duration(&value)
                            .ok()
                            .filter(|d| !d.is_zero())
                            .ok_or_else(|| {
                                Error::config(format!(
                                    "SMTP URL: timeout={value} is not a duration such as 5s"
                                ))
                            })?;
                    }
                    "helo" => hello = Some(value.into_owned()),
                    other => {
                        return Err(Error::config(format!(
                            "SMTP URL: unknown parameter `{other}` (known: tls, timeout, helo)"
                        )));
                    }
                }
            }
            let port = parsed.port().unwrap_or(match tls {
                SmtpTls::Wrapper => 465,
                SmtpTls::StartTls => 587,
                SmtpTls::None | SmtpTls::Opportunistic => 25,
            });
            let credentials = if parsed.username().is_empty() {
                None
            } else {
                Some((
                    percent_decode(parsed.username())?,
                    percent_decode(parsed.password().unwrap_or(""))?,
                ))
            };
            if credentials.is_some()
                && matches!(tls, SmtpTls::None | SmtpTls::Opportunistic)
                && !is_loopback(&host)
            {
                return Err(Error::config(
                    "SMTP URL: credentials would travel unencrypted; use ?tls=starttls or smtps://",
                ));
            }
            Ok(SmtpMailerBuilder {
                host,
                port,
                tls,
                credentials,
                from: None,
                timeout,
                hello,
                roots: Vec::new(),
            })
        }

        /// A mailer for `url` sending from `from` (e.g. `Centurion <noreply@example.com>`),
        /// with the defaults.
        pub fn from_url(url: &str, from: &str) -> Result<Self> {
            Self::builder(url)?.from(from).build()
        }

        /// The send timeout.
        pub fn timeout(&self) -> Duration {
            self.timeout
        }

        fn message(&self, mail: &Mail) -> Result<Message> {
            let to: Mailbox = mail.to.parse().map_err(|e| {
                Error::new(ErrorKind::InvalidRequest)
                    .with_message("the e-mail address is not valid")
                    .with_source(e)
            })?;
            let builder = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(mail.subject.clone());
            let built = match &mail.html {
                Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                    mail.text.clone(),
                    html.clone(),
                )),
                None => builder
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.text.clone()),
            };
            built.map_err(|e| {
                Error::new(ErrorKind::InternalError)
                    .with_message("the mail could not be built")
                    .with_source(e)
            })
        }
    }

    fn is_loopback(host: &str) -> bool {
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    impl SmtpMailerBuilder {
        /// The sender address (required), e.g. `Centurion <noreply@example.com>`.
        pub fn from(mut self, from: &str) -> Self {
            self.from = Some(from.to_owned());
            self
        }

        /// The longest a send may take, connecting included (default 10 s, or the URL's
        /// `timeout`).
        pub fn timeout(mut self, timeout: Duration) -> Self {
            self.timeout = timeout;
            self
        }

        /// The name sent in `EHLO` (default: this host's name, or the URL's `helo`).
        pub fn hello_name(mut self, name: &str) -> Self {
            self.hello = Some(name.to_owned());
            self
        }

        /// Also trusts this CA certificate (PEM) for the server's certificate, for a relay
        /// with a private CA. Checked by [`build`](Self::build).
        pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Self {
            self.roots.push(pem.to_vec());
            self
        }

        /// The connection security the URL asked for.
        pub fn tls(&self) -> SmtpTls {
            self.tls
        }

        /// Checks the settings and builds the mailer. Nothing connects yet.
        pub fn build(self) -> Result<SmtpMailer> {
            let from_text = self
                .from
                .ok_or_else(|| Error::config("SMTP mailer: no sender address; call .from(…)"))?;
            let from: Mailbox = from_text.parse().map_err(|_| {
                Error::config(format!("SMTP mailer: `{from_text}` is not a mail address"))
            })?;
            if self.timeout.is_zero() {
                return Err(Error::config("SMTP mailer: the timeout must be positive"));
            }
            let tls = if self.tls == SmtpTls::None {
                Tls::None
            } else {
                let mut params = TlsParameters::builder(self.host.clone());
                for pem in &self.roots {
                    let cert = Certificate::from_pem(pem).map_err(|e| {
                        Error::config(format!(
                            "SMTP mailer: a root certificate is not valid PEM: {e}"
                        ))
                    })?;
                    params = params.add_root_certificate(cert);
                }
                let params = params
                    .build_rustls()
                    .map_err(|e| Error::config(format!("SMTP mailer: TLS set-up failed: {e}")))?;
                match self.tls {
                    SmtpTls::Opportunistic => Tls::Opportunistic(params),
                    SmtpTls::StartTls => Tls::Required(params),
                    _ => Tls::Wrapper(params),
                }
            };
            let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
                .port(self.port)
                .tls(tls)
                .timeout(Some(self.timeout));
            if let Some((user, password)) = self.credentials {
                builder = builder.credentials(Credentials::new(user, password));
            }
            if let Some(name) = self.hello {
                builder = builder.hello_name(ClientId::Domain(name));
            }
            let scheme = if self.tls == SmtpTls::Wrapper {
                "smtps"
            } else {
                "smtp"
            };
            Ok(SmtpMailer {
                transport: builder.build(),
                from,
                timeout: self.timeout,
                server: format!("{scheme}://{}:{} ({:?})", self.host, self.port, self.tls),
            })
        }
    }

    impl Mailer for SmtpMailer {
        async fn send(&self, mail: &Mail) -> Result<()> {
            let message = self.message(mail)?;
            match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
                Ok(Ok(_)) => {
                    tracing::debug!(to = %mail.to, server = %self.server, "mail sent");
                    Ok(())
                }
                Ok(Err(e)) => {
                    tracing::warn!(to = %mail.to, server = %self.server, error = %e, "sending a mail failed");
                    Err(mail_failed(e))
                }
                Err(elapsed) => {
                    tracing::warn!(to = %mail.to, server = %self.server, timeout = ?self.timeout, "sending a mail timed out");
                    Err(mail_failed(elapsed)
                        .with_message("the mail server did not answer in time; retry later"))
                }
            }
        }
    }
}
