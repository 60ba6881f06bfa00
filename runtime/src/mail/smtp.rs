//! `SmtpMailer` (feature `smtp`): mail over SMTP through lettre, plain, STARTTLS or TLS,
//! with optional authentication and a timeout on every send.

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
    String::from_utf8(out).map_err(|_| Error::config("SMTP URL: the user or password is not UTF-8"))
}

impl SmtpMailer {
    /// Starts configuring a mailer from a URL (see the table above).
    pub fn builder(url: &str) -> Result<SmtpMailerBuilder> {
        let parsed = url::Url::parse(url).map_err(|e| Error::config(format!("SMTP URL: {e}")))?;
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
