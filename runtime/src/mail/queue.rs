//! [`MailQueue`]: a bounded queue of mail with a fixed number of sender tasks.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{Mail, SharedMailer};

type Compose = Pin<Box<dyn Future<Output = Option<Mail>> + Send>>;

/// What a sender does: send a mail, or first work out which mail to send (a look-up that
/// must not happen on the request's time).
enum Job {
    Send(Mail),
    Compose(Compose),
}

/// How often a full queue may log that it dropped mail.
const DROP_WARNING_EVERY: Duration = Duration::from_secs(10);

struct Drops {
    total: AtomicU64,
    /// When the last warning was logged, and how many drops it has not reported yet.
    log: Mutex<(Option<Instant>, u64)>,
}

impl Drops {
    fn record(&self, capacity: usize) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.1 += 1;
        let due = log.0.is_none_or(|at| at.elapsed() >= DROP_WARNING_EVERY);
        if due {
            tracing::warn!(
                dropped = log.1,
                capacity,
                "the mail queue is full: mail was dropped (the mail server is slow or down, or mail is flooding in)"
            );
            *log = (Some(Instant::now()), 0);
        }
    }
}

/// Mail sent by a fixed number of tasks from a bounded queue, so that no request waits for
/// a mail server and no request adds a task: a slow or hanging mail server (or a flood of
/// "forgot password" requests) holds at most `senders` connections and `capacity` queued
/// mails, whatever comes in.
///
/// [`send`](Self::send) returns at once. When the queue is full the mail is **dropped**
/// (the HTTP answer the caller gives does not change) and a warning is logged, at most
/// once every 10 seconds with the number dropped since. Every send is bounded by a timeout
/// (30 s by default) on top of the mailer's own, composing included. Dropping the last
/// handle lets the senders finish the queue and end.
///
/// ```
/// # async fn demo() -> centurion::Result<()> {
/// use std::time::Duration;
/// use centurion::mail::{CaptureBuffer, ConsoleMailer, Mail, MailQueue};
///
/// let out = CaptureBuffer::new();
/// let queue = MailQueue::builder(ConsoleMailer::new(out.clone()))
///     .capacity(100)
///     .senders(2)
///     .timeout(Duration::from_secs(5))
///     .build();
/// assert!(queue.send(Mail::new("ada@example.com", "Hi", "Hello")));
/// queue.flush().await;
/// assert!(out.contents().contains("To: ada@example.com"));
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Clone)]
pub struct MailQueue {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: mpsc::Sender<Job>,
    capacity: usize,
    senders: usize,
    timeout: Duration,
    drops: Drops,
    /// Jobs queued or being worked on.
    pending: AtomicU64,
    mailer: String,
}

impl fmt::Debug for MailQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailQueue")
            .field("mailer", &self.inner.mailer)
            .field("capacity", &self.inner.capacity)
            .field("senders", &self.inner.senders)
            .field("timeout", &self.inner.timeout)
            .field("pending", &self.pending())
            .field("dropped", &self.dropped())
            .finish()
    }
}

/// Configures a [`MailQueue`]; start with [`MailQueue::builder`].
#[derive(Debug)]
pub struct MailQueueBuilder {
    mailer: SharedMailer,
    capacity: usize,
    senders: usize,
    timeout: Duration,
}

impl MailQueueBuilder {
    /// Mails that may wait (default 1000, at least 1).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// Sender tasks, so at most this many sends at once (default 2, at least 1).
    pub fn senders(mut self, senders: usize) -> Self {
        self.senders = senders.max(1);
        self
    }

    /// The longest one mail may take, composing and sending (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Starts the senders (needs a Tokio runtime).
    pub fn build(self) -> MailQueue {
        let (tx, rx) = mpsc::channel(self.capacity);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let inner = Arc::new(Inner {
            jobs: tx,
            capacity: self.capacity,
            senders: self.senders,
            timeout: self.timeout,
            drops: Drops {
                total: AtomicU64::new(0),
                log: Mutex::new((None, 0)),
            },
            pending: AtomicU64::new(0),
            mailer: format!("{:?}", self.mailer),
        });
        for _ in 0..self.senders {
            let rx = Arc::clone(&rx);
            let mailer = self.mailer.clone();
            // The senders hold no handle to the queue, only to its counters: dropping the
            // last MailQueue closes the channel and they end once it is empty.
            let counters = Arc::downgrade(&inner);
            let timeout = self.timeout;
            tokio::spawn(async move {
                loop {
                    let job = { rx.lock().await.recv().await };
                    let Some(job) = job else { return };
                    let work = async {
                        let mail = match job {
                            Job::Send(mail) => Some(mail),
                            Job::Compose(compose) => compose.await,
                        };
                        if let Some(mail) = mail {
                            // The mailer logs a failure (recipient and cause, never the body).
                            let _ = super::Mailer::send(&mailer, &mail).await;
                        }
                    };
                    if tokio::time::timeout(timeout, work).await.is_err() {
                        tracing::warn!(?timeout, "a queued mail took too long and was abandoned");
                    }
                    if let Some(inner) = counters.upgrade() {
                        inner.pending.fetch_sub(1, Ordering::Relaxed);
                    }
                }
            });
        }
        MailQueue { inner }
    }
}

impl MailQueue {
    /// A queue with the defaults (1000 places, 2 senders, 30 s per mail) over `mailer`.
    /// Needs a Tokio runtime.
    pub fn new(mailer: impl super::Mailer) -> Self {
        Self::builder(mailer).build()
    }

    /// Starts configuring a queue over `mailer`.
    pub fn builder(mailer: impl super::Mailer) -> MailQueueBuilder {
        MailQueueBuilder {
            mailer: SharedMailer::new(mailer),
            capacity: 1000,
            senders: 2,
            timeout: Duration::from_secs(30),
        }
    }

    fn push(&self, job: Job) -> bool {
        let inner = &self.inner;
        inner.pending.fetch_add(1, Ordering::Relaxed);
        match inner.jobs.try_send(job) {
            Ok(()) => true,
            Err(_) => {
                inner.pending.fetch_sub(1, Ordering::Relaxed);
                inner.drops.record(inner.capacity);
                false
            }
        }
    }

    /// Queues `mail`; `false` when the queue was full and the mail was dropped.
    pub fn send(&self, mail: Mail) -> bool {
        self.push(Job::Send(mail))
    }

    /// Queues work that decides which mail to send, if any, on a sender's time (a look-up
    /// whose duration must not show in the answer to a request); `false` when dropped.
    ///
    /// ```
    /// # async fn demo() {
    /// use centurion::mail::{CaptureBuffer, ConsoleMailer, Mail, MailQueue};
    /// let out = CaptureBuffer::new();
    /// let queue = MailQueue::new(ConsoleMailer::new(out.clone()));
    /// queue.compose(async { Some(Mail::new("ada@example.com", "Hi", "Hello")) });
    /// queue.compose(async { None }); // decided not to send
    /// queue.flush().await;
    /// assert_eq!(out.contents().matches("To: ").count(), 1);
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo());
    /// ```
    pub fn compose(&self, work: impl Future<Output = Option<Mail>> + Send + 'static) -> bool {
        self.push(Job::Compose(Box::pin(work)))
    }

    /// Mails queued or being sent.
    pub fn pending(&self) -> u64 {
        self.inner.pending.load(Ordering::Relaxed)
    }

    /// Mails dropped because the queue was full, since it started.
    pub fn dropped(&self) -> u64 {
        self.inner.drops.total.load(Ordering::Relaxed)
    }

    /// The number of places and of senders.
    pub fn limits(&self) -> (usize, usize) {
        (self.inner.capacity, self.inner.senders)
    }

    /// Waits until every mail queued so far is sent (or failed, or timed out): for tests
    /// and for a graceful shutdown.
    pub async fn flush(&self) {
        while self.pending() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
