//! Registration and password-reset mail flows.
//!
//! The console-mailer flow always runs. The SMTP flows (feature `smtp`) send through
//! `SmtpMailer` to a real SMTP server on 127.0.0.1 — aiosmtpd (`pip install aiosmtpd`),
//! started and stopped by the test — read the delivered mail back, follow its link and
//! finish the flow. Without python3 + aiosmtpd they print `SKIPPED: …` (and fail when
//! `CI=true`).

use centurion::ErrorKind;
use centurion::mail::{
    CaptureBuffer, ConsoleMailer, MailTemplates, Mailer, confirmation_mail, link_with_token,
};
use centurion_testkit::auth;

const PASSWORD: &str = "correct horse battery staple";

/// The token of the first `token=` link in a mail body.
fn token_from(text: &str) -> String {
    let start = text
        .find("token=")
        .expect("the mail holds a link with a token")
        + 6;
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '%'))
        .collect()
}

#[tokio::test]
async fn console_mailer_prints_the_link_and_the_flow_completes() {
    let auth = auth();
    let (user, token) = auth
        .register("ada", Some("ada@example.com"), PASSWORD, &[])
        .await
        .unwrap().created().expect("a new user");
    assert!(!user.active);

    let out = CaptureBuffer::new();
    let mailer = ConsoleMailer::new(out.clone());
    let link = link_with_token("http://127.0.0.1:3000/auth/confirm", &token);
    let mail = confirmation_mail(&MailTemplates::default(), "ada@example.com", "ada", &link);
    mailer.send(&mail).await.unwrap();

    let printed = out.contents();
    assert!(printed.contains("To: ada@example.com"), "{printed}");
    assert!(printed.contains(&link));
    let confirmed = auth
        .confirm_registration(&token_from(&printed))
        .await
        .unwrap();
    assert!(confirmed.active);
    auth.authenticate("ada", PASSWORD).await.unwrap();
}

#[cfg(feature = "smtp")]
mod smtp {
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    use centurion::mail::{
        Mail, MailTemplates, Mailer, SmtpMailer, confirmation_mail, link_with_token, reset_mail,
    };
    use centurion::{ErrorKind, TokenPair};
    use centurion_testkit::servers::{SmtpServer, TestCerts, aiosmtpd_available};
    use centurion_testkit::{free_port, skip};

    use super::{PASSWORD, auth, token_from};

    const GROUP: &str = "mail_flow (SMTP through aiosmtpd)";

    /// Skips loudly, or fails under CI=true. Returns `true` when the caller must return.
    fn server_or_skip(name: &str, extra: &[&str]) -> Option<SmtpServer> {
        SmtpServer::start_or_skip(GROUP, name, extra)
    }

    #[tokio::test]
    async fn confirmation_mail_over_smtp_completes_registration() {
        let Some(server) = server_or_skip("confirm", &[]) else {
            return;
        };
        let auth = auth();
        let mailer = SmtpMailer::from_url(
            &format!("smtp://127.0.0.1:{}", server.port),
            "Centurion <noreply@example.com>",
        )
        .unwrap();

        let (user, token) = auth
            .register("ada", Some("ada@example.com"), PASSWORD, &["author"])
            .await
            .unwrap().created().expect("a new user");
        assert!(!user.active);
        assert_eq!(
            auth.authenticate("ada", PASSWORD).await.unwrap_err().kind(),
            ErrorKind::InvalidUserError
        );
        let link = link_with_token("http://127.0.0.1:3000/auth/confirm", &token);
        let mail = confirmation_mail(
            &MailTemplates::new("Quickstart"),
            "ada@example.com",
            "ada",
            &link,
        );
        mailer.send(&mail).await.unwrap();

        let got = server.mail(1);
        assert_eq!(got["rcpt_tos"], serde_json::json!(["ada@example.com"]));
        assert_eq!(got["mail_from"], "noreply@example.com");
        assert_eq!(got["subject"], "Confirm your registration at Quickstart");
        let text = got["text"].as_str().unwrap();
        let html = got["html"].as_str().unwrap();
        assert!(text.contains(&link), "the text body holds the link: {text}");
        assert!(
            html.contains(&format!("href=\"{link}\"")),
            "the HTML body links it"
        );

        // Follow the delivered link.
        let delivered = token_from(text);
        assert_eq!(delivered, token);
        let confirmed = auth.confirm_registration(&delivered).await.unwrap();
        assert!(confirmed.active);
        auth.authenticate("ada", PASSWORD).await.unwrap();
        // The link works once.
        assert_eq!(
            auth.confirm_registration(&delivered)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::RevokedTokenError
        );
    }

    #[tokio::test]
    async fn reset_mail_over_smtp_resets_the_password_and_old_tokens_are_refused() {
        let Some(server) = server_or_skip("reset", &[]) else {
            return;
        };
        let auth = auth();
        let mailer = SmtpMailer::from_url(
            &format!("smtp://127.0.0.1:{}", server.port),
            "noreply@example.com",
        )
        .unwrap();
        let (_, token) = auth
            .register("bob", Some("bob@example.com"), PASSWORD, &[])
            .await
            .unwrap().created().expect("a new user");
        auth.confirm_registration(&token).await.unwrap();
        let before: TokenPair = auth.login("bob", PASSWORD).await.unwrap();

        // "Forgot password": two requests, two mails; the later link is used.
        let templates = MailTemplates::default();
        for _ in 0..2 {
            let user = auth
                .lookup_by_email("bob@example.com")
                .await
                .unwrap()
                .unwrap();
            let reset = auth.issue_reset_token(&user).unwrap();
            let link = link_with_token("http://127.0.0.1:3000/reset", &reset);
            mailer
                .send(&reset_mail(
                    &templates,
                    "bob@example.com",
                    &user.username,
                    &link,
                ))
                .await
                .unwrap();
        }
        let first = token_from(server.mail(1)["text"].as_str().unwrap());
        let second_mail = server.mail(2);
        assert!(
            second_mail["subject"]
                .as_str()
                .unwrap()
                .starts_with("Reset your password")
        );
        let second = token_from(second_mail["text"].as_str().unwrap());
        assert_ne!(first, second);

        // Reset tokens are neither access nor refresh tokens.
        assert!(auth.verify_access(&second).await.is_err());
        assert!(auth.refresh(&second).await.is_err());

        auth.reset_password(&second, "a brand new passphrase")
            .await
            .unwrap();
        assert_eq!(
            auth.authenticate("bob", PASSWORD).await.unwrap_err().kind(),
            ErrorKind::AuthenticationError
        );
        auth.authenticate("bob", "a brand new passphrase")
            .await
            .unwrap();

        // Spent, and everything issued before the reset is revoked.
        assert!(
            auth.reset_password(&second, "yet another passphrase")
                .await
                .is_err()
        );
        assert!(
            auth.reset_password(&first, "yet another passphrase")
                .await
                .is_err()
        );
        assert_eq!(
            auth.verify_access(&before.access_token)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::RevokedTokenError
        );
        assert!(auth.refresh(&before.refresh_token).await.is_err());
        assert_eq!(server.count(), 2);
    }

    #[tokio::test]
    async fn starttls_and_smtps_with_authentication() {
        if let Err(why) = aiosmtpd_available() {
            skip(GROUP, &why);
            return;
        }
        let certs = match TestCerts::make() {
            Ok(c) => c,
            Err(why) => {
                skip(GROUP, &why);
                return;
            }
        };
        let (cert, key) = (certs.path("leaf.pem"), certs.path("leaf.key"));
        let common = ["--cert", &cert, "--key", &key, "--auth", "mailer:s3cr@t"];
        let starttls =
            SmtpServer::start("starttls", &[&["--mode", "starttls"], &common[..]].concat());
        let smtps = SmtpServer::start("smtps", &[&["--mode", "smtps"], &common[..]].concat());
        let mail = Mail::new("ada@example.com", "TLS check", "Hello over TLS")
            .with_html("<p>Hello over TLS</p>");

        for (server, url) in [
            (
                &starttls,
                format!(
                    "smtp://mailer:s3cr%40t@127.0.0.1:{}?tls=starttls",
                    starttls.port
                ),
            ),
            (
                &smtps,
                format!("smtps://mailer:s3cr%40t@127.0.0.1:{}", smtps.port),
            ),
        ] {
            let mailer = SmtpMailer::builder(&url)
                .unwrap()
                .from("noreply@example.com")
                .add_root_certificate_pem(&certs.ca())
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            mailer.send(&mail).await.unwrap();
            let got = server.mail(1);
            assert_eq!(got["tls"], true, "{url}: encrypted");
            assert_eq!(got["authenticated"], true, "{url}: authenticated");
            assert_eq!(got["text"].as_str().unwrap().trim(), "Hello over TLS");

            // A wrong password is an error, not a silent drop.
            let bad = SmtpMailer::builder(&url.replace("s3cr%40t", "wrong"))
                .unwrap()
                .from("noreply@example.com")
                .add_root_certificate_pem(&certs.ca())
                .build()
                .unwrap();
            let err = bad.send(&mail).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::StoreUnavailable, "{url}: {err:?}");

            // A certificate from an unknown CA is refused.
            let untrusting = SmtpMailer::from_url(&url, "noreply@example.com").unwrap();
            let err = untrusting.send(&mail).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::StoreUnavailable, "{url}: {err:?}");
            assert_eq!(server.count(), 1, "{url}: only the good send was delivered");
        }
    }

    #[tokio::test]
    async fn a_dead_port_fails_fast_with_an_error() {
        let port = free_port(); // bound and released: nothing listens there now
        let mailer = SmtpMailer::builder(&format!("smtp://127.0.0.1:{port}"))
            .unwrap()
            .from("noreply@example.com")
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let started = Instant::now();
        let err = mailer
            .send(&Mail::new("ada@example.com", "Hi", "Hello"))
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
        assert_eq!(err.status().as_u16(), 503);
        assert!(
            std::error::Error::source(&err).is_some(),
            "the cause is kept for logs"
        );
    }

    #[tokio::test]
    async fn a_silent_server_is_cut_off_at_the_timeout() {
        // Accepts connections and never says a word.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
            }
        });
        let mailer = SmtpMailer::from_url(
            &format!("smtp://127.0.0.1:{port}?timeout=500ms"),
            "noreply@example.com",
        )
        .unwrap();
        assert_eq!(mailer.timeout(), Duration::from_millis(500));
        let started = Instant::now();
        let err = mailer
            .send(&Mail::new("ada@example.com", "Hi", "Hello"))
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_millis(1500),
            "{took:?}"
        );
        assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
    }

    #[test]
    fn urls_are_checked() {
        use centurion::mail::SmtpTls;
        let tls = |u: &str| SmtpMailer::builder(u).map(|b| b.tls());
        assert_eq!(tls("smtp://127.0.0.1:2525").unwrap(), SmtpTls::None);
        assert_eq!(
            tls("smtp://u:p@mail.example.com:587?tls=starttls").unwrap(),
            SmtpTls::StartTls
        );
        assert_eq!(
            tls("smtp://mail.example.com?tls=opportunistic").unwrap(),
            SmtpTls::Opportunistic
        );
        assert_eq!(
            tls("smtps://u:p@mail.example.com").unwrap(),
            SmtpTls::Wrapper
        );
        assert_eq!(tls("smtp://u:p@127.0.0.1:2525").unwrap(), SmtpTls::None); // loopback
        for bad in [
            "http://mail.example.com",
            "smtp://u:p@mail.example.com",
            "smtp://mail.example.com?tls=maybe",
            "smtp://mail.example.com?tsl=starttls",
            "smtps://mail.example.com?tls=starttls",
            "smtp://mail.example.com?timeout=soon",
            "not a url",
        ] {
            let err = SmtpMailer::builder(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConfigurationError, "{bad}");
            assert!(!err.message().contains(":p@"), "no password in messages");
        }
        assert!(SmtpMailer::from_url("smtp://127.0.0.1", "not an address").is_err());
        assert!(
            SmtpMailer::builder("smtp://127.0.0.1")
                .unwrap()
                .build()
                .is_err(),
            "from is required"
        );
    }

    #[tokio::test]
    async fn a_bad_recipient_is_a_client_error() {
        let mailer = SmtpMailer::from_url("smtp://127.0.0.1:9", "noreply@example.com").unwrap();
        let err = mailer
            .send(&Mail::new("not an address", "Hi", "Hello"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    }
}

#[tokio::test]
async fn templates_escape_html_and_keep_subjects_on_one_line() {
    let mut templates = MailTemplates::default();
    templates.confirmation.subject = "Welcome {{username}}".into();
    let mail = confirmation_mail(
        &templates,
        "eve@example.com",
        "<script>x</script>\r\nBcc: victim@example.com",
        "http://127.0.0.1:3000/c?token=t&a=1",
    );
    let html = mail.html.unwrap();
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;"));
    assert!(html.contains("token=t&amp;a=1"));
    assert!(!mail.subject.contains('\n') && !mail.subject.contains('\r'));
    assert!(mail.subject.starts_with("Welcome <script>"));
    assert_eq!(ErrorKind::TooManyRequests.status().as_u16(), 429);
}
