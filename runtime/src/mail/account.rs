//! [`AccountMail`]: the account mails of the registration and password-reset flows,
//! always addressed to the address stored for the account.

use std::fmt;
use std::sync::Arc;

use super::{
    MailQueue, MailTemplates, address_taken_mail, confirmation_mail, link_with_token, reset_mail,
};
use crate::centurion::{Centurion, Registration};
use crate::error::Result;
use crate::throttle::{Throttle, ThrottleConfig};
use crate::user::{AuthUser, HasEmail};

/// The account mails of the registration and reset flows: what they say, where their
/// links point, and **to whom they go**: the address stored for the account, read from
/// the user record ([`HasEmail::email`]), never an address a client typed. An application
/// that sends its account mail through `AccountMail` cannot address a reset mail to
/// `victim@gİthub.com` because someone asked for one: the request only selects the
/// account (by [`email_key`](crate::identity::email_key)); the mail goes to what the
/// account holds.
///
/// Mail leaves through a [`MailQueue`], so no request waits for the mail server and none
/// adds a task. Links carry their token in the URL fragment ([`link_with_token`]).
///
/// - [`registration`](Self::registration): after [`Centurion::register`], the
///   confirmation mail to the new user, or, when the address was taken, a mail to its
///   owner saying someone tried to register with it.
/// - [`password_reset`](Self::password_reset): the whole "forgot password" flow after the
///   request is answered: the look-up, the checks, at most one reset mail per account
///   per [`ThrottleConfig::reset_mails`] window however many clients ask, the token, the
///   mail.
///
/// ```
/// # async fn demo() -> centurion::Result<()> {
/// use centurion::Centurion;
/// use centurion::mail::{AccountMail, CaptureBuffer, ConsoleMailer, MailQueue, MailTemplates};
/// use centurion::{memory::MemoryUserStore, testing::TestUser};
///
/// let auth = Centurion::<TestUser>::builder()
///     .secret("an-example-secret-of-at-least-32-bytes!!")
///     .user_store(MemoryUserStore::new())
///     .build()?;
/// let out = CaptureBuffer::new();
/// let mail = AccountMail::new(
///     MailQueue::new(ConsoleMailer::new(out.clone())),
///     MailTemplates::new("Shop"),
///     "https://shop.example",
/// );
/// let registration = auth.register("ada", Some("Ada@Example.org"), "correct horse battery", &[]).await?;
/// mail.registration(&registration);
/// mail.queue().flush().await;
/// let printed = out.contents();
/// assert!(printed.contains("To: Ada@example.org"));
/// assert!(printed.contains("https://shop.example/confirm#token="));
///
/// // A reset asked for with the address in another case still goes to the stored one.
/// auth.confirm_registration(&registration.created().unwrap().1).await?;
/// mail.password_reset(&auth, "ADA@example.ORG");
/// mail.queue().flush().await;
/// assert_eq!(out.contents().matches("To: Ada@example.org").count(), 2);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Clone)]
pub struct AccountMail {
    queue: MailQueue,
    templates: Arc<MailTemplates>,
    confirm_url: Arc<str>,
    reset_url: Arc<str>,
    home_url: Arc<str>,
    throttle: Throttle,
}

impl fmt::Debug for AccountMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountMail")
            .field("queue", &self.queue)
            .field("confirm_url", &self.confirm_url)
            .field("reset_url", &self.reset_url)
            .field("home_url", &self.home_url)
            .finish_non_exhaustive()
    }
}

impl AccountMail {
    /// Account mail through `queue`, worded by `templates`, with links under `public_url`:
    /// `{public_url}/confirm#token=…`, `{public_url}/reset#token=…` and `{public_url}/`.
    /// The reset-mail limit is counted in a throttle of its own, in memory; give it the
    /// application's ([`throttle`](Self::throttle)) to count it across instances.
    pub fn new(queue: MailQueue, templates: MailTemplates, public_url: &str) -> Self {
        let base = public_url.trim_end_matches('/');
        Self {
            queue,
            templates: Arc::new(templates),
            confirm_url: format!("{base}/confirm").into(),
            reset_url: format!("{base}/reset").into(),
            home_url: format!("{base}/").into(),
            // The default configuration always validates.
            throttle: Throttle::in_memory(ThrottleConfig::default())
                .unwrap_or_else(|_| unreachable!("the default throttle configuration is valid")),
        }
    }

    /// Replaces the pages the links point to (the token is added to each link's fragment).
    ///
    /// ```
    /// # async fn demo() {
    /// use centurion::mail::{AccountMail, ConsoleMailer, MailQueue, MailTemplates};
    /// let mail = AccountMail::new(MailQueue::new(ConsoleMailer::stdout()), MailTemplates::default(), "https://a.example")
    ///     .links("https://a.example/#/confirm", "https://a.example/#/reset", "https://a.example/#/login");
    /// # let _ = mail; }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo());
    /// ```
    pub fn links(mut self, confirm: &str, reset: &str, home: &str) -> Self {
        self.confirm_url = confirm.into();
        self.reset_url = reset.into();
        self.home_url = home.into();
        self
    }

    /// Counts the per-account mail limits ([`Throttle::reset_mail`],
    /// [`Throttle::address_taken_mail`]) in `throttle`: the application's, so that every
    /// instance sharing it (a Redis store) keeps to one count per account.
    pub fn throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = throttle;
        self
    }

    /// The queue the mail leaves through.
    pub fn queue(&self) -> &MailQueue {
        &self.queue
    }

    /// Queues the mail a registration calls for: the confirmation mail (with the token's
    /// link) to the new user's stored address, or, when the address was taken, a mail
    /// telling its owner that someone tried to register with it, within
    /// [`ThrottleConfig::address_taken_mails`] per account (counted on the queue's time, in
    /// this mail's [`throttle`](Self::throttle)), so that registrations naming one address
    /// cannot flood its inbox. Returns `false` when no mail was queued (no stored
    /// address, or the queue was full); the answer to the client must not depend on it.
    pub fn registration<U: AuthUser + HasEmail>(&self, registration: &Registration<U>) -> bool {
        match registration {
            Registration::Created { user, token } => {
                let Some(to) = user.email() else { return false };
                let link = link_with_token(&self.confirm_url, token);
                self.queue.send(confirmation_mail(
                    &self.templates,
                    to,
                    user.username(),
                    &link,
                ))
            }
            Registration::AddressTaken { owner, .. } => {
                let Some(to) = owner.email().map(str::to_owned) else {
                    return false;
                };
                let (id, username) = (owner.id(), owner.username().to_owned());
                let this = self.clone();
                self.queue.compose(async move {
                    match this.throttle.address_taken_mail(&id).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::info!(user.id = %id, "registration: the owner of this address was told recently; no notice sent");
                            return None;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "registration: the notice limit could not be counted; no notice sent");
                            return None;
                        }
                    }
                    Some(address_taken_mail(&this.templates, &to, &username, &this.home_url))
                })
            }
        }
    }

    /// The "forgot password" flow, on the queue's time: finds the account whose address
    /// has the [key](crate::identity::email_key) of `email`; if it exists, is valid
    /// ([`AuthUser::is_valid`]) and has not been sent a reset mail within the
    /// [`ThrottleConfig::reset_mails`] window, issues a reset token and mails its link to
    /// the account's **stored** address. Returns at once (`false` only when the queue was
    /// full), so neither the answer nor its timing says whether the address is known.
    pub fn password_reset<U>(&self, auth: &Centurion<U>, email: &str) -> bool
    where
        U: AuthUser + HasEmail,
    {
        let auth = auth.clone();
        let email = email.to_owned();
        let this = self.clone();
        self.queue
            .compose(async move { this.reset_mail_for(&auth, &email).await.unwrap_or(None) })
    }

    async fn reset_mail_for<U: AuthUser + HasEmail>(
        &self,
        auth: &Centurion<U>,
        email: &str,
    ) -> Result<Option<super::Mail>> {
        let user = match auth.lookup_by_email(email).await {
            Ok(Some(user)) if user.is_valid() => user,
            Ok(_) => return Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, "password reset: the user look-up failed");
                return Err(e);
            }
        };
        let Some(to) = user.email().map(str::to_owned) else {
            return Ok(None);
        };
        let id = user.id();
        if !self.throttle.reset_mail(&id).await? {
            tracing::info!(user.id = %id, "password reset: a reset mail was sent to this account recently; none sent");
            return Ok(None);
        }
        let token = auth.issue_reset_token(&user)?;
        let link = link_with_token(&self.reset_url, &token);
        Ok(Some(reset_mail(
            &self.templates,
            &to,
            user.username(),
            &link,
        )))
    }
}
