//! [`MailTemplates`]: the confirmation and reset mails, their placeholders, and the link
//! that carries the token.

use std::borrow::Cow;

use super::Mail;

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
/// let mail = template.render("Centurion", "x@example.com", "<ada>", "https://a.example/c#token=t&x=1");
/// assert_eq!(mail.subject, "Welcome, <ada>");
/// assert_eq!(mail.text, "Confirm: https://a.example/c#token=t&x=1");
/// assert_eq!(
///     mail.html.as_deref(),
///     Some("<a href=\"https://a.example/c#token=t&amp;x=1\">confirm</a> &lt;ada&gt;")
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

/// The templates of the account mails (confirmation, reset, "someone tried to register
/// with your address"), with the application's name.
///
/// Replace any field to change the wording; the defaults are short English texts with an
/// HTML alternative.
///
/// ```
/// use centurion::mail::{MailTemplate, MailTemplates, reset_mail};
///
/// let mut templates = MailTemplates::new("Quickstart");
/// templates.reset = MailTemplate::new("{{app_name}}: new password", "Hi {{username}}, go to {{link}}");
/// let mail = reset_mail(&templates, "ada@example.com", "ada", "https://q.example/reset#token=t");
/// assert_eq!(mail.subject, "Quickstart: new password");
/// assert_eq!(mail.text, "Hi ada, go to https://q.example/reset#token=t");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailTemplates {
    /// Replaces `{{app_name}}`.
    pub app_name: String,
    /// The registration-confirmation mail.
    pub confirmation: MailTemplate,
    /// The password-reset mail.
    pub reset: MailTemplate,
    /// The mail to the owner of an address someone tried to register again
    /// (`{{link}}`: the application's home page; no token).
    pub address_taken: MailTemplate,
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
            address_taken: MailTemplate::new(
                "Someone tried to register at {{app_name}} with your address",
                "Hello {{username}},\n\n\
                 someone just tried to register a new account at {{app_name}} with this e-mail \
                 address, which already belongs to your account. Nothing was created and your \
                 account is unchanged.\n\n\
                 If it was you: log in, or reset your password if you forgot it, at\n\n\
                 {{link}}\n\n\
                 If it was not you, you can ignore this mail.\n",
            )
            .with_html(
                "<!DOCTYPE html>\n<html><body>\n<p>Hello {{username}},</p>\n\
                 <p>someone just tried to register a new account at {{app_name}} with this e-mail \
                 address, which already belongs to your account. Nothing was created and your \
                 account is unchanged.</p>\n\
                 <p>If it was you: log in, or reset your password if you forgot it, at \
                 <a href=\"{{link}}\">{{link}}</a></p>\n\
                 <p>If it was not you, you can ignore this mail.</p>\n\
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
/// let mail = confirmation_mail(&MailTemplates::default(), "ada@example.com", "ada", "https://a.example/c#token=t");
/// assert!(mail.text.contains("https://a.example/c#token=t"));
/// assert!(mail.html.unwrap().contains("href=\"https://a.example/c#token=t\""));
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
/// let mail = reset_mail(&MailTemplates::default(), "ada@example.com", "ada", "https://a.example/r#token=t");
/// assert!(mail.subject.starts_with("Reset your password"));
/// assert!(mail.text.contains("https://a.example/r#token=t"));
/// ```
pub fn reset_mail(templates: &MailTemplates, to: &str, username: &str, link: &str) -> Mail {
    templates
        .reset
        .render(&templates.app_name, to, username, link)
}

/// The mail to `username` at `to` saying someone tried to register with the address;
/// `link` is the application's home page (no token).
///
/// ```
/// use centurion::mail::{MailTemplates, address_taken_mail};
/// let mail = address_taken_mail(&MailTemplates::default(), "ada@example.com", "ada", "https://a.example/");
/// assert!(mail.subject.starts_with("Someone tried to register"));
/// assert!(mail.text.contains("https://a.example/") && !mail.text.contains("token"));
/// ```
pub fn address_taken_mail(templates: &MailTemplates, to: &str, username: &str, link: &str) -> Mail {
    templates
        .address_taken
        .render(&templates.app_name, to, username, link)
}

/// The link to mail: `base` with `token` in its **fragment**, `#token=…`.
///
/// A browser never sends the fragment to the server, nor in a `Referer` header to the
/// sites the page links to, so the single-use token stays out of access logs, proxies and
/// third parties; the page reads it from `location.hash` and should remove it from the
/// address bar (`history.replaceState`) once read.
///
/// A `base` that already has a fragment keeps it: the token is added as `&token=…` (or
/// appended as it is when the fragment ends in `=`, as in `https://app.example.com/#/confirm?token=`).
/// Characters outside the URL-safe set are percent-encoded (JWTs have none).
///
/// ```
/// use centurion::mail::link_with_token;
/// assert_eq!(link_with_token("https://a.example/confirm", "x.y.z"), "https://a.example/confirm#token=x.y.z");
/// assert_eq!(link_with_token("https://a.example/c?lang=en", "t"), "https://a.example/c?lang=en#token=t");
/// assert_eq!(link_with_token("https://a.example/#/c", "t"), "https://a.example/#/c&token=t");
/// assert_eq!(link_with_token("https://a.example/#/c?t=", "a b"), "https://a.example/#/c?t=a%20b");
/// ```
pub fn link_with_token(base: &str, token: &str) -> String {
    let mut link = String::with_capacity(base.len() + token.len() + 8);
    link.push_str(base);
    match base.find('#') {
        None => link.push_str("#token="),
        Some(_) if base.ends_with('=') => {}
        Some(at) if at + 1 == base.len() || base.ends_with('&') => link.push_str("token="),
        Some(_) => link.push_str("&token="),
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
