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
        .unwrap()
        .created()
        .expect("a new user");
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
            .unwrap()
            .created()
            .expect("a new user");
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
            .unwrap()
            .created()
            .expect("a new user");
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

// ---------------------------------------------------------------------------------------
// The mail queue and the account mails (issues 12.3, 12.7 and 20.3)
// ---------------------------------------------------------------------------------------

mod queue_and_account_mail {
    use std::sync::Arc;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use centurion::mail::{AccountMail, Mail, MailQueue, MailTemplates, Mailer};
    use centurion::testing::TestUser;
    use centurion::{Centurion, Registration};

    use super::{PASSWORD, auth};

    /// A mail server that never answers: each send waits forever. Counts the sends in
    /// progress and the most at once.
    #[derive(Default)]
    struct Hanging {
        now: AtomicUsize,
        most: AtomicUsize,
        started: AtomicUsize,
    }

    impl Mailer for Hanging {
        async fn send(&self, _: &Mail) -> centurion::Result<()> {
            self.started.fetch_add(1, Ordering::SeqCst);
            let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            struct Done<'a>(&'a AtomicUsize);
            impl Drop for Done<'_> {
                fn drop(&mut self) {
                    self.0.fetch_sub(1, Ordering::SeqCst);
                }
            }
            let _done = Done(&self.now);
            std::future::pending::<()>().await;
            Ok(())
        }
    }

    /// Every mail handed over, in order.
    #[derive(Default, Clone)]
    struct Outbox(Arc<Mutex<Vec<Mail>>>);

    impl Mailer for Outbox {
        async fn send(&self, mail: &Mail) -> centurion::Result<()> {
            self.0.lock().unwrap().push(mail.clone());
            Ok(())
        }
    }

    impl Outbox {
        fn to(&self, address: &str) -> Vec<Mail> {
            self.0
                .lock()
                .unwrap()
                .iter()
                .filter(|m| m.to == address)
                .cloned()
                .collect()
        }
        fn len(&self) -> usize {
            self.0.lock().unwrap().len()
        }
    }

    /// A flood of mail against a mail server that never answers holds `senders` sends and
    /// `capacity` queued mails, and no task per mail (regression: a task per "forgot
    /// password" request; with a hanging server 19 880 descriptors and 485 MiB, never
    /// returned). The rest is dropped and counted.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_against_a_hanging_mailer_holds_a_bounded_number_of_sends_and_tasks() {
        let server = Arc::new(Hanging::default());
        let queue = MailQueue::builder(server.clone())
            .capacity(10)
            .senders(2)
            .timeout(Duration::from_secs(600))
            .build();
        let tasks = || {
            tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks()
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let before = tasks();
        let mut queued = 0;
        for i in 0..1000 {
            if queue.send(Mail::new(format!("user{i}@example.org"), "Hi", "Hello")) {
                queued += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(server.most.load(Ordering::SeqCst), 2, "two sends at most");
        assert!(
            queued <= 12,
            "{queued} accepted: 2 sending and 10 waiting at most"
        );
        assert_eq!(queue.dropped(), 1000 - queued);
        assert_eq!(tasks(), before, "no task per mail");
        assert!(format!("{queue:?}").contains("dropped"));
    }

    /// A send that hangs is abandoned at the queue's timeout, and the sender moves on.
    #[tokio::test]
    async fn a_hanging_send_is_abandoned_at_the_timeout() {
        let server = Arc::new(Hanging::default());
        let queue = MailQueue::builder(server.clone())
            .senders(1)
            .timeout(Duration::from_millis(100))
            .build();
        for i in 0..3 {
            assert!(queue.send(Mail::new(format!("u{i}@example.org"), "Hi", "Hello")));
        }
        tokio::time::timeout(Duration::from_secs(5), queue.flush())
            .await
            .expect("three sends abandoned one after the other");
        assert_eq!(server.started.load(Ordering::SeqCst), 3);
        assert_eq!(server.now.load(Ordering::SeqCst), 0, "none still held");
    }

    fn account_mail(outbox: &Outbox) -> AccountMail {
        AccountMail::new(
            MailQueue::new(outbox.clone()),
            MailTemplates::new("Shop"),
            "https://shop.example/",
        )
    }

    async fn confirmed(auth: &Centurion<TestUser>, name: &str, email: &str) -> TestUser {
        let (user, token) = auth
            .register(name, Some(email), PASSWORD, &[])
            .await
            .unwrap()
            .created()
            .unwrap();
        auth.confirm_registration(&token).await.unwrap();
        user
    }

    /// Regression (12.3): the reset mail went to the address as typed, so on PostgreSQL a
    /// reset for `victim@gİthub.com` (an attacker's IDN domain that `lower()` matched) was
    /// mailed to the attacker. The request only selects an account by its key; the mail
    /// goes to the address stored for it; a look-alike domain selects nobody.
    #[tokio::test]
    async fn reset_mail_goes_to_the_stored_address_only() {
        let auth = auth();
        let outbox = Outbox::default();
        let mail = account_mail(&outbox);
        confirmed(&auth, "victim", "victim@github.com").await;
        for look_alike in [
            "victim@gİthub.com",
            "victim@gіthub.com",
            "victim@github.com.evil",
        ] {
            assert!(mail.password_reset(&auth, look_alike));
        }
        mail.queue().flush().await;
        assert_eq!(outbox.len(), 0, "look-alike domains select nobody");
        assert!(mail.password_reset(&auth, "VICTIM@GitHub.COM"));
        mail.queue().flush().await;
        let sent = outbox.0.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].to, "victim@github.com",
            "the stored address, not the typed one"
        );
        assert!(
            sent[0].text.contains("https://shop.example/reset#token="),
            "{}",
            sent[0].text
        );
        assert!(!sent[0].text.contains("?token="), "never in the query");
    }

    /// At most one reset mail per account per window, however many requests and
    /// addresses ask (regression: 2 683 mails a second to one victim).
    #[tokio::test]
    async fn one_reset_mail_per_account_however_many_ask() {
        let auth = auth();
        let outbox = Outbox::default();
        let mail = account_mail(&outbox);
        confirmed(&auth, "ada", "ada@example.org").await;
        confirmed(&auth, "bob", "bob@example.org").await;
        for _ in 0..200 {
            mail.password_reset(&auth, "ada@example.org");
            mail.password_reset(&auth, "ADA@example.org");
        }
        mail.password_reset(&auth, "bob@example.org");
        mail.queue().flush().await;
        assert_eq!(outbox.to("ada@example.org").len(), 1);
        assert_eq!(outbox.to("bob@example.org").len(), 1);
    }

    /// A registration on a taken address mails its owner (not the asker) and no
    /// confirmation; a new one mails the confirmation with the token in the fragment.
    #[tokio::test]
    async fn registration_mail_goes_to_the_new_user_or_warns_the_owner() {
        let auth = auth();
        let outbox = Outbox::default();
        let mail = account_mail(&outbox);
        let first = auth
            .register("owner", Some("Owner@Example.org"), PASSWORD, &[])
            .await
            .unwrap();
        assert!(mail.registration(&first));
        let again = auth
            .register("intruder", Some("owner@EXAMPLE.org"), PASSWORD, &[])
            .await
            .unwrap();
        assert!(matches!(again, Registration::AddressTaken { .. }));
        assert!(mail.registration(&again));
        mail.queue().flush().await;
        let sent = outbox.to("Owner@example.org");
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert!(sent[0].text.contains("https://shop.example/confirm#token="));
        assert!(sent[1].subject.starts_with("Someone tried to register"));
        assert!(sent[1].text.contains("Hello owner,"), "{}", sent[1].text);
        assert!(!sent[1].text.contains("token"), "no token for the owner");
        assert_eq!(outbox.len(), 2, "nothing to the address as typed");
    }

    /// Regression (hostile review): every registration naming a taken address mailed its
    /// owner, so 30 registrations a minute per client address (the registration limit)
    /// became 43 000 mails a day to one inbox. Now `address_taken_mails` (3 per 15 minutes)
    /// per account.
    #[tokio::test]
    async fn address_taken_notices_are_limited_per_account_however_many_register() {
        let auth = auth();
        let outbox = Outbox::default();
        let mail = account_mail(&outbox);
        confirmed(&auth, "owner", "owner@example.org").await;
        confirmed(&auth, "other", "other@example.org").await;
        for n in 0..50 {
            let again = auth
                .register(
                    &format!("intruder{n}"),
                    Some("OWNER@example.org"),
                    PASSWORD,
                    &[],
                )
                .await
                .unwrap();
            assert!(matches!(again, Registration::AddressTaken { .. }));
            assert!(mail.registration(&again));
        }
        let again = auth
            .register("intruder", Some("other@example.org"), PASSWORD, &[])
            .await
            .unwrap();
        assert!(mail.registration(&again));
        mail.queue().flush().await;
        let notices = |to: &str| {
            outbox
                .to(to)
                .iter()
                .filter(|m| m.subject.starts_with("Someone tried to register"))
                .count()
        };
        assert_eq!(notices("owner@example.org"), 3);
        assert_eq!(notices("other@example.org"), 1, "a count per account");
    }
}

#[cfg(feature = "smtp")]
mod hanging_smtp {
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use centurion::mail::{Mail, MailQueue, SmtpMailer};

    fn open_descriptors() -> usize {
        std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
    }

    /// A real socket that accepts SMTP connections and never says a word: a flood of 1 000
    /// mails through the queue opens as many connections as there are senders, and the
    /// process's descriptors stay flat.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hanging_smtp_server_holds_only_the_senders_connections() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        let mailer = SmtpMailer::from_url(
            &format!("smtp://127.0.0.1:{port}?timeout=60s"),
            "noreply@example.com",
        )
        .unwrap();
        let queue = MailQueue::builder(mailer).capacity(100).senders(2).build();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let before = open_descriptors();
        for i in 0..1000 {
            queue.send(Mail::new(format!("user{i}@example.org"), "Hi", "Hello"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = open_descriptors();
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "one connection per sender"
        );
        assert!(after <= before + 8, "descriptors {before} → {after}");
        assert!(queue.dropped() >= 898, "{} dropped", queue.dropped());
        eprintln!(
            "1000 mails against a hanging SMTP server: {} connections, descriptors {before} → {after}, {} dropped",
            accepted.load(Ordering::SeqCst),
            queue.dropped()
        );
    }
}
