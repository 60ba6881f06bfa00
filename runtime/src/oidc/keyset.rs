//! One provider's keys ([`RemoteKeys`]): the key set in use, the one task that fetches it,
//! and the gate through which a token naming an unknown key may ask for a fetch.
//!
//! Readers take the current key set (an `Arc` behind a lock held for a clone) and never
//! wait for a fetch, except a token naming a key the set lacks while a fetch may be made:
//! it waits for that fetch (at most [`WAIT_LIMIT`]), and every token arriving meanwhile
//! shares it. Only the refresher task fetches, so fetches are single-flight by
//! construction; no lock is held across I/O. Every time is read from the instance's clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use jsonwebtoken::Algorithm;
use reqwest::Url;
use serde::Deserialize;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::fetch::{Fetcher, Freshness, REQUEST_TIMEOUT, parse_url};
use super::jwks::{self, ProviderKey};
use crate::clock::SharedClock;
use crate::config::IdentityProviderConfig;
use crate::error::{Error, ErrorKind};

/// The shortest time between two scheduled refreshes (a `max-age` below it, `no-cache`).
const MIN_REFRESH_MS: u64 = 60_000;
/// The longest time between two refreshes, whatever `max-age` says; also how often the
/// discovery document is read again.
const MAX_REFRESH_MS: u64 = 3_600_000;
/// Between two refreshes when the answer does not say.
const DEFAULT_REFRESH_MS: u64 = 300_000;
/// After the n-th failure in a row while no key is held: fetch again after this long.
const RETRY_EMPTY_MS: &[u64] = &[500, 1_000, 2_000, 4_000, 5_000];
/// After the n-th failure in a row while keys are held (they keep working).
const RETRY_HELD_MS: &[u64] = &[5_000, 10_000, 20_000, 40_000, 60_000];
/// The time one fetch (discovery included) may take.
pub(super) const ATTEMPT_LIMIT: Duration = REQUEST_TIMEOUT;
/// The time a request waits for a fetch its token asked for.
const WAIT_LIMIT: Duration = Duration::from_millis(5_500);

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The keys of one fetch.
struct Snapshot {
    keys: Vec<Arc<ProviderKey>>,
    by_kid: HashMap<String, Vec<Arc<ProviderKey>>>,
    /// When the fetch that brought them succeeded (ms on the instance's clock).
    fetched_at_ms: Option<u64>,
}

impl Snapshot {
    fn empty() -> Self {
        Self {
            keys: Vec::new(),
            by_kid: HashMap::new(),
            fetched_at_ms: None,
        }
    }

    fn new(keys: Vec<ProviderKey>, now_ms: u64) -> Self {
        let keys: Vec<Arc<ProviderKey>> = keys.into_iter().map(Arc::new).collect();
        let mut by_kid: HashMap<String, Vec<Arc<ProviderKey>>> = HashMap::new();
        for key in &keys {
            if let Some(kid) = key.kid() {
                by_kid
                    .entry(kid.to_owned())
                    .or_default()
                    .push(Arc::clone(key));
            }
        }
        Self {
            keys,
            by_kid,
            fetched_at_ms: Some(now_ms),
        }
    }

    /// Whether these keys may be used at `now_ms`: some were fetched, less than `max_stale`
    /// ago (a clock that went back counts as recent).
    fn usable(&self, now_ms: u64, max_stale_ms: u64) -> bool {
        !self.keys.is_empty()
            && self
                .fetched_at_ms
                .is_some_and(|at| now_ms.saturating_sub(at) < max_stale_ms)
    }

    /// The key a token with this `kid` and algorithm names: by `kid`, or, for a token
    /// without one, the only key of the set that verifies its algorithm.
    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<Arc<ProviderKey>> {
        match kid {
            Some(kid) => self
                .by_kid
                .get(kid)?
                .iter()
                .find(|key| key.verifies(alg))
                .cloned(),
            None => {
                let mut fitting = self.keys.iter().filter(|key| key.verifies(alg));
                let only = fitting.next()?;
                fitting.next().is_none().then(|| Arc::clone(only))
            }
        }
    }
}

/// The refresher's schedule and the gate's bookkeeping.
#[derive(Default)]
struct State {
    /// The JWKS URL: configured, or the last one discovery found.
    jwks_uri: Option<Url>,
    discovered_at_ms: Option<u64>,
    /// The JWKS URL answered 404 or 410: discover again before the next fetch.
    rediscover: bool,
    /// When the last fetch began.
    last_attempt_ms: Option<u64>,
    in_flight: bool,
    /// Fetches begun so far; the refresher publishes the number of the last one finished.
    started: u64,
    /// Failures in a row.
    failures: usize,
    /// When the refresher fetches next on its own (0: at once).
    next_due_ms: u64,
    /// A token asked for a fetch now.
    forced: bool,
    /// A token named an unknown key during the cool-down: fetch when it ends.
    deferred: bool,
    /// The error about keys past `max_stale` was logged.
    stale_reported: bool,
}

impl State {
    /// Whether a fetch may begin because a token named an unknown key: the cool-down since
    /// the last fetch has passed (or the clock went back).
    fn cooled_down(&self, now_ms: u64, cooldown_ms: u64) -> bool {
        self.last_attempt_ms
            .is_none_or(|at| now_ms < at || now_ms - at >= cooldown_ms)
    }
}

/// What the status of a provider shows (see `Centurion::identity_providers`).
pub(super) struct Counters {
    pub(super) keys: usize,
    pub(super) usable: bool,
    pub(super) fetches: u64,
    pub(super) failures: u64,
    pub(super) last_success_ms: Option<u64>,
}

/// What the refresher task and the readers share.
struct Shared {
    issuer: String,
    /// `{issuer}/.well-known/openid-configuration`, when no JWKS URL is configured.
    discovery: Option<Url>,
    allow_http: bool,
    algorithms: Vec<Algorithm>,
    cooldown_ms: u64,
    max_stale_ms: u64,
    clock: SharedClock,
    fetcher: Fetcher,
    snapshot: RwLock<Arc<Snapshot>>,
    state: Mutex<State>,
    /// Tells the refresher to look at its state again.
    wake: Notify,
    /// The number of the last fetch finished (with or without success).
    finished: watch::Sender<u64>,
    /// `next_due_ms` of the state, readable without its lock (`u64::MAX` while a fetch
    /// runs): a reader that finds the refresh due wakes the refresher, so the schedule
    /// follows the instance's clock even when the refresher's timer has not fired.
    due_ms: AtomicU64,
    fetches: AtomicU64,
    failures: AtomicU64,
    /// The discovery document's issuer mismatch was logged.
    mismatch_reported: AtomicBool,
}

/// The discovery document, as far as centurion reads it.
#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

impl Shared {
    fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshot.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The JWKS URL to fetch, after reading the discovery document when it is due.
    async fn jwks_uri(&self) -> Result<Url, String> {
        let Some(discovery) = &self.discovery else {
            return lock(&self.state)
                .jwks_uri
                .clone()
                .ok_or_else(|| "no JWKS URL".to_owned());
        };
        let (known, due) = {
            let st = lock(&self.state);
            let now = self.clock.ms();
            let due = st.rediscover
                || st
                    .discovered_at_ms
                    .is_none_or(|at| now < at || now - at >= MAX_REFRESH_MS);
            (st.jwks_uri.clone(), due)
        };
        if let (Some(uri), false) = (&known, due) {
            return Ok(uri.clone());
        }
        match self.discover(discovery).await {
            Ok(uri) => {
                let mut st = lock(&self.state);
                st.jwks_uri = Some(uri.clone());
                st.discovered_at_ms = Some(self.clock.ms());
                st.rediscover = false;
                Ok(uri)
            }
            Err(error) => match known {
                // The hourly re-read failed: keep the URL found before.
                Some(uri) if !lock(&self.state).rediscover => {
                    tracing::warn!(issuer = %self.issuer, %error, "could not read the identity provider's discovery document again; keeping its JWKS URL");
                    Ok(uri)
                }
                _ => Err(error),
            },
        }
    }

    async fn discover(&self, url: &Url) -> Result<Url, String> {
        let answer = self.fetcher.get(url).await?;
        if answer.status != 200 {
            return Err(format!("GET {url}: HTTP {}", answer.status));
        }
        let document: Discovery = serde_json::from_slice(&answer.body)
            .map_err(|e| format!("the discovery document at {url} is not usable ({e})"))?;
        if document.issuer != self.issuer {
            // Logged once until a discovery succeeds (retries come every few seconds).
            if !self.mismatch_reported.swap(true, Ordering::Relaxed) {
                tracing::error!(
                configured = %self.issuer,
                discovered = %document.issuer,
                "the identity provider's discovery document names another issuer; its tokens are refused until this is fixed"
                );
            }
            return Err(format!(
                "the discovery document names the issuer `{}`, not `{}`",
                document.issuer, self.issuer
            ));
        }
        self.mismatch_reported.store(false, Ordering::Relaxed);
        parse_url(&document.jwks_uri, self.allow_http)
            .map_err(|e| format!("the discovery document's jwks_uri: {e}"))
    }

    /// One fetch: the keys and how long they may be kept.
    async fn fetch(&self) -> Result<(Vec<ProviderKey>, Freshness), String> {
        let uri = self.jwks_uri().await?;
        let answer = self.fetcher.get(&uri).await?;
        match answer.status {
            200 => {}
            404 | 410 => {
                lock(&self.state).rediscover = self.discovery.is_some();
                return Err(format!("GET {uri}: HTTP {}", answer.status));
            }
            status => return Err(format!("GET {uri}: HTTP {status}")),
        }
        let document = jwks::parse(&answer.body, &self.algorithms)?;
        if document.keys.is_empty() {
            return Err(format!(
                "the JWKS at {uri} holds no key this provider's tokens may use ({} skipped)",
                document.skipped
            ));
        }
        if document.skipped > 0 {
            tracing::debug!(issuer = %self.issuer, skipped = document.skipped, "skipped keys of the identity provider's JWKS");
        }
        Ok((document.keys, answer.max_age))
    }

    /// Whether the refresher should fetch now; if so, marks the fetch begun and returns its
    /// number.
    fn begin(&self, now_ms: u64) -> Result<u64, Duration> {
        let mut st = lock(&self.state);
        let clock_went_back = st.last_attempt_ms.is_some_and(|at| now_ms < at);
        let deferred_due = st.deferred && st.cooled_down(now_ms, self.cooldown_ms);
        if st.forced || deferred_due || clock_went_back || now_ms >= st.next_due_ms {
            self.due_ms.store(u64::MAX, Ordering::Relaxed);
            st.in_flight = true;
            st.forced = false;
            st.deferred = false;
            st.started += 1;
            st.last_attempt_ms = Some(now_ms);
            return Ok(st.started);
        }
        let mut wake_at = st.next_due_ms;
        if st.deferred {
            let end = st
                .last_attempt_ms
                .map_or(now_ms, |at| at.saturating_add(self.cooldown_ms));
            wake_at = wake_at.min(end);
        }
        Err(Duration::from_millis(
            wake_at.saturating_sub(now_ms).clamp(1, MAX_REFRESH_MS),
        ))
    }

    /// Records the outcome of fetch number `seq` and wakes the requests waiting for it.
    fn finish(&self, seq: u64, outcome: Result<(Vec<ProviderKey>, Freshness), String>) {
        let now = self.clock.ms();
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let mut st = lock(&self.state);
        match outcome {
            Ok((keys, freshness)) => {
                let count = keys.len();
                let snapshot = Arc::new(Snapshot::new(keys, now));
                *self
                    .snapshot
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = snapshot;
                st.failures = 0;
                st.stale_reported = false;
                st.next_due_ms = now.saturating_add(jittered(refresh_interval_ms(freshness)));
                tracing::debug!(issuer = %self.issuer, keys = count, "fetched the identity provider's keys");
            }
            Err(error) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                st.failures += 1;
                let usable = self.snapshot().usable(now, self.max_stale_ms);
                let table = if usable {
                    RETRY_HELD_MS
                } else {
                    RETRY_EMPTY_MS
                };
                let wait = table[(st.failures - 1).min(table.len() - 1)];
                st.next_due_ms = now.saturating_add(wait);
                // The first failure, then one in twelve (about one a minute while retrying
                // every 5 s): an outage does not flood the log.
                let loud = st.failures == 1 || st.failures.is_multiple_of(12);
                if !loud {
                    tracing::debug!(issuer = %self.issuer, %error, failures = st.failures, retry_ms = wait, "could not fetch the identity provider's keys");
                } else if usable {
                    tracing::warn!(issuer = %self.issuer, %error, failures = st.failures, retry_ms = wait, "could not fetch the identity provider's keys; the keys fetched before keep working");
                } else {
                    tracing::warn!(issuer = %self.issuer, %error, failures = st.failures, retry_ms = wait, "could not fetch the identity provider's keys; its tokens are refused until a fetch succeeds");
                    if self.snapshot().fetched_at_ms.is_some() && !st.stale_reported {
                        st.stale_reported = true;
                        tracing::error!(issuer = %self.issuer, "the identity provider's keys are older than max_stale; its tokens are refused");
                    }
                }
            }
        }
        st.in_flight = false;
        self.due_ms.store(st.next_due_ms, Ordering::Relaxed);
        drop(st);
        self.finished.send_replace(seq);
    }

    /// Wakes the refresher when its next refresh is due by the instance's clock.
    fn nudge_if_due(&self, now_ms: u64) {
        if now_ms >= self.due_ms.load(Ordering::Relaxed) {
            self.wake.notify_one();
        }
    }
}

/// The time until the next scheduled refresh, from what the answer's headers say.
fn refresh_interval_ms(freshness: Freshness) -> u64 {
    match freshness {
        Freshness::Unknown => DEFAULT_REFRESH_MS,
        Freshness::DoNotKeep => MIN_REFRESH_MS,
        Freshness::Seconds(secs) => secs
            .saturating_mul(1000)
            .clamp(MIN_REFRESH_MS, MAX_REFRESH_MS),
    }
}

/// `ms` ± 10 %, so instances started together do not fetch together.
fn jittered(ms: u64) -> u64 {
    let mut bytes = [0u8; 2];
    if getrandom::fill(&mut bytes).is_err() {
        return ms;
    }
    let unit = u64::from(u16::from_le_bytes(bytes)); // 0..=65535
    let spread = ms / 5; // 20 %
    ms - ms / 10 + spread * unit / 65_535
}

/// The refresher: fetches when due, when a token asks, or when a deferred fetch's
/// cool-down ends; sleeps otherwise.
async fn refresher(shared: Arc<Shared>) {
    loop {
        match shared.begin(shared.clock.ms()) {
            Ok(seq) => {
                let outcome = tokio::time::timeout(ATTEMPT_LIMIT, shared.fetch())
                    .await
                    .unwrap_or_else(|_| Err("the fetch timed out".to_owned()));
                shared.finish(seq, outcome);
            }
            Err(sleep) => {
                let _ = tokio::time::timeout(sleep, shared.wake.notified()).await;
            }
        }
    }
}

/// The keys of one provider and the task that keeps them; see the [module docs](self).
pub(super) struct RemoteKeys {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for RemoteKeys {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
    }
}

/// Why a token's key cannot be found.
fn no_key(message: &'static str) -> Error {
    Error::new(ErrorKind::InvalidTokenError).with_message(message)
}

impl RemoteKeys {
    /// The key set of the provider of `config` (whose URLs are checked here), accepting
    /// `algorithms`. Nothing is fetched until [`start`](Self::start) or the first token.
    pub(super) fn new(
        config: &IdentityProviderConfig,
        algorithms: &[Algorithm],
        clock: SharedClock,
    ) -> Result<Self, Error> {
        let issuer = &config.issuer;
        let url_error = |what: &str, e: String| {
            Error::config(format!("identity provider `{issuer}`: {what}: {e}"))
        };
        let issuer_url =
            parse_url(issuer, config.allow_insecure_http).map_err(|e| url_error("issuer", e))?;
        let (discovery, jwks_uri) = match &config.jwks_uri {
            Some(uri) => (
                None,
                Some(
                    parse_url(uri, config.allow_insecure_http)
                        .map_err(|e| url_error("jwks_uri", e))?,
                ),
            ),
            None => {
                let base = issuer_url.as_str().trim_end_matches('/');
                let discovery = parse_url(
                    &format!("{base}/.well-known/openid-configuration"),
                    config.allow_insecure_http,
                )
                .map_err(|e| url_error("discovery", e))?;
                (Some(discovery), None)
            }
        };
        let cooldown = config.unknown_kid_cooldown;
        if cooldown < Duration::from_secs(1) {
            return Err(Error::config(format!(
                "identity provider `{issuer}`: unknown_kid_cooldown must be at least 1s"
            )));
        }
        if config.max_stale < Duration::from_secs(60) {
            return Err(Error::config(format!(
                "identity provider `{issuer}`: max_stale must be at least 1m"
            )));
        }
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Ok(Self {
            shared: Arc::new(Shared {
                issuer: issuer.clone(),
                discovery,
                allow_http: config.allow_insecure_http,
                algorithms: algorithms.to_vec(),
                cooldown_ms: millis(cooldown),
                max_stale_ms: millis(config.max_stale),
                clock,
                fetcher: Fetcher::new(config.allow_insecure_http, config.tls_roots_pem.as_deref())
                    .map_err(|e| {
                        Error::config(format!("identity provider `{issuer}`: {}", e.message()))
                    })?,
                snapshot: RwLock::new(Arc::new(Snapshot::empty())),
                state: Mutex::new(State {
                    jwks_uri,
                    ..State::default()
                }),
                wake: Notify::new(),
                finished: watch::Sender::new(0),
                due_ms: AtomicU64::new(0),
                fetches: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                mismatch_reported: AtomicBool::new(false),
            }),
            task: Mutex::new(None),
        })
    }

    /// Starts the refresher on the current Tokio runtime, unless it runs already; without
    /// a runtime (an instance built outside one), the first token of this provider starts it.
    pub(super) fn start(&self) {
        let mut task = lock(&self.task);
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        // A refresher that ended (its runtime shut down) may have left a fetch marked as
        // in flight.
        lock(&self.shared.state).in_flight = false;
        *task = Some(runtime.spawn(refresher(Arc::clone(&self.shared))));
    }

    /// The key that verifies a token with this `kid` and algorithm.
    ///
    /// Found in the current key set: at once. Otherwise, a token arriving while a fetch
    /// runs waits for it (at most [`WAIT_LIMIT`]). Not found while keys are held: when the
    /// cool-down since the last fetch has passed, the token asks for a fetch and waits for
    /// it; during the cool-down it is refused at once and a fetch follows when the
    /// cool-down ends. No usable keys (never fetched, or older than `max_stale`): the
    /// token asks for the next retry when it is due and waits for it, else it is refused
    /// at once; the refresher retries on its schedule either way.
    pub(super) async fn key_for(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<ProviderKey>, Error> {
        let shared = &self.shared;
        let now = shared.clock.ms();
        let snapshot = shared.snapshot();
        let usable = snapshot.usable(now, shared.max_stale_ms);
        if usable && let Some(key) = snapshot.find(kid, alg) {
            shared.nudge_if_due(now);
            return Ok(key);
        }
        drop(snapshot);
        self.start();
        let target = {
            let mut st = lock(&shared.state);
            if st.in_flight {
                Some(st.started)
            } else if !usable {
                // No keys: the refresher retries on its schedule; a token may bring the
                // next retry forward only once it is due.
                (now >= st.next_due_ms).then(|| {
                    st.forced = true;
                    shared.wake.notify_one();
                    st.started + 1
                })
            } else if st.cooled_down(now, shared.cooldown_ms) {
                st.forced = true;
                shared.wake.notify_one();
                Some(st.started + 1)
            } else {
                st.deferred = true;
                shared.wake.notify_one();
                None
            }
        };
        let Some(target) = target else {
            return Err(if usable {
                no_key("the token's key is not in its identity provider's key set")
            } else {
                no_key("the identity provider's keys are not available; retry later")
            });
        };
        let mut finished = shared.finished.subscribe();
        let _ = tokio::time::timeout(WAIT_LIMIT, finished.wait_for(|done| *done >= target)).await;
        let snapshot = shared.snapshot();
        if !snapshot.usable(shared.clock.ms(), shared.max_stale_ms) {
            return Err(no_key(
                "the identity provider's keys are not available; retry later",
            ));
        }
        if let Some(key) = snapshot.find(kid, alg) {
            return Ok(key);
        }
        // The fetch came too early for this key (or failed): one more after the cool-down.
        lock(&shared.state).deferred = true;
        shared.wake.notify_one();
        Err(no_key(
            "the token's key is not in its identity provider's key set",
        ))
    }

    /// Whether the key of thumbprint `thumbprint` is in the current key set and that set
    /// may be used: a remembered verification is reused only while it is.
    pub(super) fn holds(&self, thumbprint: &str) -> bool {
        let shared = &self.shared;
        let now = shared.clock.ms();
        shared.nudge_if_due(now);
        let snapshot = shared.snapshot();
        snapshot.usable(now, shared.max_stale_ms)
            && snapshot
                .keys
                .iter()
                .any(|key| &**key.thumbprint() == thumbprint)
    }

    /// The figures of [`ProviderStatus`](super::ProviderStatus).
    pub(super) fn counters(&self) -> Counters {
        let shared = &self.shared;
        let snapshot = shared.snapshot();
        Counters {
            keys: snapshot.keys.len(),
            usable: snapshot.usable(shared.clock.ms(), shared.max_stale_ms),
            fetches: shared.fetches.load(Ordering::Relaxed),
            failures: shared.failures.load(Ordering::Relaxed),
            last_success_ms: snapshot.fetched_at_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_interval_follows_max_age_within_bounds() {
        assert_eq!(refresh_interval_ms(Freshness::Unknown), 300_000);
        assert_eq!(refresh_interval_ms(Freshness::DoNotKeep), 60_000);
        assert_eq!(refresh_interval_ms(Freshness::Seconds(5)), 60_000);
        assert_eq!(refresh_interval_ms(Freshness::Seconds(600)), 600_000);
        assert_eq!(refresh_interval_ms(Freshness::Seconds(86_400)), 3_600_000);
        assert_eq!(refresh_interval_ms(Freshness::Seconds(u64::MAX)), 3_600_000);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..1000 {
            let ms = jittered(300_000);
            assert!((270_000..=330_000).contains(&ms), "{ms}");
        }
    }
}
