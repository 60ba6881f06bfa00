//! Argon2id password hashing on a bounded pool of dedicated threads.
//!
//! Hashing costs ~19 MiB and tens of milliseconds by design. Centurion runs it on
//! `pool_size` threads of its own (default: the number of cores), each owning one argon2
//! memory area that it reuses for every hash, so the pool's memory is fixed at
//! `pool_size × memory_kib` whatever the load. At most `queue_length` more requests wait;
//! a request beyond that is refused at once with [`ErrorKind::Overloaded`] (503). A login
//! storm therefore neither grows memory nor occupies the async workers.
//!
//! ## Who may take the pool
//!
//! Every job has a class. **Known** work (the login of a user who exists, a password
//! change, the application's own hashing: [`PasswordHasher::hash`],
//! [`PasswordHasher::verify`]) may take the whole capacity (`pool_size + queue_length`)
//! and runs first. **Anonymous** work (registration, password reset:
//! [`PasswordHasher::hash_for`] with [`Work::Anonymous`]; logins of unknown users:
//! [`PasswordHasher::verify_dummy`]) may hold at most
//! [`anonymous_share`](crate::PasswordConfig::anonymous_share) percent of it (half by
//! default), so a flood of registrations or of made-up usernames can never take the
//! capacity known users' logins need. Logins of unknown users are queued with known
//! users' logins (both wait alike); other anonymous jobs run when no login waits.
//!
//! Anonymous work beyond its share is refused with [`ErrorKind::Overloaded`], except an
//! unknown user's login: refusing it with 503 where a known user's wrong password gets 401
//! would tell which usernames exist. It answers like a wrong password instead, after
//! waiting as long as recent logins took (a moving average of real verifications,
//! queueing included), without using the pool.
//!
//! ## Stored hashes that cost too much, or too little
//!
//! A stored hash says what verifying it costs. One asking for more than the ceiling —
//! memory over four times the configured memory (at least 64 MiB;
//! [`max_verify_memory_kib`](crate::PasswordConfig::max_verify_memory_kib) sets it), or
//! work (memory × passes) over four times the configured work (at least 64 MiB × 3
//! passes), or lanes (p-cost) over four times the configured lanes (at least 16) — is
//! refused without running: the verification fails and is logged with its parameters
//! (never the hash). (Lanes run one after the other on a pool thread, so they add only a
//! set-up per lane, and argon2 needs 8 KiB per lane, so the memory bounds them too; the
//! cap refuses a parallelism this server never chose before any of it runs.) A planted
//! or tampered row therefore cannot stall a pool thread.
//!
//! A hash made with cheaper (older) parameters than the configured ones verifies faster
//! than the dummy hash unknown users are checked against, which would tell those accounts
//! from unknown names by time. Such a verification (and one of a malformed hash, or of one
//! refused by the ceiling) is padded to the recent verification time at the current
//! parameters; the next successful login replaces the hash anyway.
//!
//! With feature `legacy`, hashes imported from Flask apps (passlib, werkzeug, bcrypt) are
//! verified as known-user jobs on the same pool, refused before they are queued when
//! their format's cost caps refuse them (`legacy::hashes`), and padded in the same way;
//! the argon2 ceiling is raised to the legacy argon2 caps (128 MiB, 768 MiB × passes, 16
//! lanes) so argon2-cffi's hashes verify.

use std::sync::Arc;
#[cfg(any(test, feature = "test-util"))]
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use argon2::Params;
use argon2::password_hash::phc::PasswordHash;
use zeroize::Zeroizing;

use crate::config::PasswordConfig;
use crate::error::{Error, ErrorKind};

mod argon;
mod pool;

use self::argon::Worker;
use self::pool::{Ewma, JobClass, Pool, Refusal};

/// On whose behalf a password is hashed: decides which share of the hashing pool the job
/// may take (see the [module documentation](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Work {
    /// A known user (a password change) or the application itself (seeding, an
    /// administrator creating a user): may take the whole pool.
    Known,
    /// Anonymous requests (registration, password reset): at most the anonymous share.
    Anonymous,
}

/// Hashes and verifies passwords; cheap to clone.
///
/// ```
/// # async fn demo() -> Result<(), centurion::Error> {
/// use centurion::{PasswordConfig, password::PasswordHasher};
/// let hasher = PasswordHasher::new(&PasswordConfig::default())?;
/// let hash = hasher.hash("correct horse battery staple").await?;
/// assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
/// assert!(hasher.verify("correct horse battery staple", &hash).await?);
/// assert!(!hasher.verify("wrong", &hash).await?);
/// assert!(!hasher.needs_rehash(&hash));
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    pool: Pool,
    /// Run time of verifications at the current parameters: what cheaper hashes are padded
    /// to.
    run_time: Ewma,
    /// Verifications run, dummy ones included.
    #[cfg(any(test, feature = "test-util"))]
    verifications: AtomicU64,
    /// Unknown-user logins answered by waiting instead of verifying (the anonymous share
    /// was taken).
    #[cfg(any(test, feature = "test-util"))]
    stand_ins: AtomicU64,
    /// Hashes made.
    #[cfg(any(test, feature = "test-util"))]
    hashes: AtomicU64,
    min_length: usize,
    max_length: usize,
    /// A hash of a random password with the current parameters: verified against when a
    /// username is unknown, so that case costs what a wrong password costs.
    dummy_hash: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (capacity, anonymous) = self.inner.pool.capacity();
        f.debug_struct("PasswordHasher")
            .field("m_cost", &self.inner.params.m_cost())
            .field("t_cost", &self.inner.params.t_cost())
            .field("p_cost", &self.inner.params.p_cost())
            .field("pool_size", &self.inner.pool.size())
            .field("capacity", &capacity)
            .field("anonymous_capacity", &anonymous)
            .finish_non_exhaustive()
    }
}

fn internal(message: &'static str) -> Error {
    Error::new(ErrorKind::InternalError).with_message(message)
}

fn refused(refusal: Refusal) -> Error {
    match refusal {
        Refusal::Full | Refusal::ShareTaken => Error::new(ErrorKind::Overloaded),
        Refusal::TooCostly => internal("the hashing job costs more than allowed"),
        Refusal::Stopped => internal("the hashing pool has stopped"),
    }
}

/// How many of `capacity` places anonymous work may hold: `percent` of it, at least one,
/// and, when there are two places or more, never all of them.
fn anonymous_capacity(capacity: usize, percent: u8) -> usize {
    let share = capacity.saturating_mul(usize::from(percent.min(100))) / 100;
    let most = if capacity > 1 { capacity - 1 } else { 1 };
    share.clamp(1, most)
}

impl PasswordHasher {
    /// A hasher with these parameters and its pool of threads. Fails when argon2 refuses
    /// the parameters.
    pub fn new(config: &PasswordConfig) -> Result<Self, Error> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| Error::config(format!("invalid argon2 parameters: {e}")))?;
        let size = config
            .pool_size
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1);
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|_| internal("the system random source failed"))?;
        // The dummy hash, and a first estimate of what a verification takes: one timed
        // on memory already touched, as the pool's threads will run (the very first run
        // pays for faulting the memory in).
        let mut probe = Worker::new(params.clone());
        let dummy_hash = probe.hash(&seed)?;
        let started = Instant::now();
        let _ = probe.verify(&seed, &dummy_hash);
        let expected = started.elapsed();
        drop(probe);
        let capacity = size.saturating_add(config.queue_length);
        let pool = Pool::start(
            size,
            capacity,
            anonymous_capacity(capacity, config.anonymous_share),
            argon::ceiling(&params, config.max_verify_memory_kib),
            expected,
            {
                let params = params.clone();
                move || Worker::new(params.clone())
            },
        )
        .map_err(|_| internal("cannot start the hashing threads"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                pool,
                run_time: Ewma::new(expected),
                #[cfg(any(test, feature = "test-util"))]
                verifications: AtomicU64::new(0),
                #[cfg(any(test, feature = "test-util"))]
                stand_ins: AtomicU64::new(0),
                #[cfg(any(test, feature = "test-util"))]
                hashes: AtomicU64::new(0),
                min_length: config.min_length,
                max_length: config.max_length,
                dummy_hash,
            }),
        })
    }

    /// Checks a new password against the length rules; [`ErrorKind::WeakPassword`] if not.
    pub fn check_new_password(&self, password: &str) -> Result<(), Error> {
        let chars = password.chars().count();
        if chars < self.inner.min_length {
            return Err(Error::new(ErrorKind::WeakPassword).with_message(format!(
                "the password must have at least {} characters",
                self.inner.min_length
            )));
        }
        if password.len() > self.inner.max_length {
            return Err(Error::new(ErrorKind::WeakPassword).with_message(format!(
                "the password must have at most {} bytes",
                self.inner.max_length
            )));
        }
        Ok(())
    }

    /// Whether a password is too long to be hashed at all (checked before any work).
    pub fn is_too_long(&self, password: &str) -> bool {
        password.len() > self.inner.max_length
    }

    /// Hashes a password into a PHC string with the configured parameters, as
    /// [`Work::Known`] (the whole pool is open to it).
    pub async fn hash(&self, password: &str) -> Result<String, Error> {
        self.hash_for(password, Work::Known).await
    }

    /// Hashes a password on behalf of `work`: [`Work::Anonymous`] takes at most the
    /// anonymous share of the pool, and is refused with [`ErrorKind::Overloaded`] past it.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{PasswordConfig, password::{PasswordHasher, Work}};
    /// let hasher = PasswordHasher::new(&PasswordConfig { memory_kib: 64, iterations: 1, ..PasswordConfig::default() })?;
    /// let hash = hasher.hash_for("a registration's password", Work::Anonymous).await?;
    /// assert!(hasher.verify("a registration's password", &hash).await?);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn hash_for(&self, password: &str, work: Work) -> Result<String, Error> {
        if self.is_too_long(password) {
            return Err(
                Error::new(ErrorKind::WeakPassword).with_message("the password is too long")
            );
        }
        let class = match work {
            Work::Known => JobClass::Known,
            Work::Anonymous => JobClass::Anonymous,
        };
        let password = Zeroizing::new(password.as_bytes().to_vec());
        let current = argon::cost_of(&self.inner.params);
        let (hash, _) = self
            .inner
            .pool
            .run(class, current, move |worker| worker.hash(&password))
            .await
            .map_err(refused)?;
        #[cfg(any(test, feature = "test-util"))]
        self.inner.hashes.fetch_add(1, Ordering::Relaxed);
        hash
    }

    /// Whether `password` matches the PHC string `hash`, as known-user work. A malformed
    /// hash, or one whose parameters exceed the ceiling, counts as a mismatch (and is logged
    /// without its content); one made with cheaper parameters than the configured ones
    /// takes as long as a current one (see the [module documentation](self)).
    pub async fn verify(&self, password: &str, hash: &str) -> Result<bool, Error> {
        if self.is_too_long(password) {
            return Ok(false);
        }
        // A hash imported from a Flask app (passlib, werkzeug, bcrypt): capped, then
        // verified on the pool.
        #[cfg(feature = "legacy")]
        if crate::legacy::hashes::is_legacy_format(hash) {
            return self.verify_legacy(password, hash).await;
        }
        let inner = &self.inner;
        let Some(parsed) = argon::parse(hash, &inner.params) else {
            tracing::warn!("a stored password hash is not an argon2 hash this server can check");
            self.pad(Duration::ZERO).await;
            return Ok(false);
        };
        let password = Zeroizing::new(password.as_bytes().to_vec());
        let stored = hash.to_owned();
        #[cfg(any(test, feature = "test-util"))]
        inner.verifications.fetch_add(1, Ordering::Relaxed);
        let outcome = inner
            .pool
            .run(JobClass::Known, parsed.cost, move |worker| {
                let started = Instant::now();
                let ok = worker.verify(&password, &stored);
                (ok, started.elapsed())
            })
            .await;
        match outcome {
            Ok(((ok, ran), waited)) => {
                if parsed.current {
                    inner.run_time.record(ran);
                    inner.pool.record_latency(waited);
                } else {
                    self.pad(ran).await;
                }
                Ok(ok)
            }
            Err(Refusal::TooCostly) => {
                let (m, t, p) = parsed.params;
                let ceiling = inner.pool.ceiling();
                tracing::warn!(
                    m_cost = m,
                    t_cost = t,
                    p_cost = p,
                    max_memory_kib = ceiling.memory_kib,
                    max_work = ceiling.work,
                    max_p_cost = ceiling.lanes,
                    "a stored password hash asks for more than the verification ceiling; refused without running"
                );
                self.pad(Duration::ZERO).await;
                Ok(false)
            }
            Err(other) => Err(refused(other)),
        }
    }

    /// Verifies a passlib, werkzeug or bcrypt hash (feature `legacy`) as known-user work. A
    /// hash of an unknown format, malformed or above its format's cost caps is refused
    /// before it takes a place in the pool, and counts as a mismatch (logged with its
    /// format, never the hash). The job is charged as one verification at the current
    /// parameters (the caps keep it near a bcrypt-14 login at worst), and a faster one is
    /// padded like an argon2 hash with cheaper parameters.
    #[cfg(feature = "legacy")]
    async fn verify_legacy(&self, password: &str, hash: &str) -> Result<bool, Error> {
        use crate::legacy::hashes;
        let inner = &self.inner;
        if let Err(e) = hashes::check(hash) {
            tracing::warn!(error = %e, "a stored password hash cannot be verified");
            self.pad(Duration::ZERO).await;
            return Ok(false);
        }
        let password = Zeroizing::new(password.as_bytes().to_vec());
        let stored = hash.to_owned();
        #[cfg(any(test, feature = "test-util"))]
        inner.verifications.fetch_add(1, Ordering::Relaxed);
        let outcome = inner
            .pool
            .run(JobClass::Known, argon::cost_of(&inner.params), move |_| {
                let started = Instant::now();
                let ok = hashes::verify(&password, &stored);
                (ok, started.elapsed())
            })
            .await;
        match outcome {
            Ok(((ok, ran), _)) => {
                self.pad(ran).await;
                Ok(ok.unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "a stored password hash cannot be verified");
                    false
                }))
            }
            Err(other) => Err(refused(other)),
        }
    }

    /// Checks, without hashing anything, that a stored hash is one this hasher can verify
    /// (an argon2id or argon2i PHC string within the verification ceiling; with feature
    /// `legacy` also the passlib, werkzeug and bcrypt formats, within their cost caps):
    /// what [`Centurion::import_users`](crate::Centurion::import_users) runs on every row.
    /// The error names the format, never the hash.
    ///
    /// ```
    /// use centurion::{PasswordConfig, password::PasswordHasher};
    /// let hasher = PasswordHasher::new(&PasswordConfig { memory_kib: 64, iterations: 1, ..PasswordConfig::default() }).unwrap();
    /// assert!(hasher.check_stored_hash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo").is_ok());
    /// assert!(hasher.check_stored_hash("$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo").is_err());
    /// let err = hasher.check_stored_hash("$6$rounds=656000$salt$hash").unwrap_err();
    /// assert!(err.message().starts_with("unknown password hash format: "), "{}", err.message());
    /// # #[cfg(feature = "legacy")]
    /// assert!(err.message().contains("sha512_crypt ($6$)"), "{}", err.message());
    /// ```
    pub fn check_stored_hash(&self, hash: &str) -> Result<(), Error> {
        let bad = |message: String| Error::new(ErrorKind::InvalidRequest).with_message(message);
        let argon = hash.starts_with("$argon2id$") || hash.starts_with("$argon2i$");
        #[cfg(feature = "legacy")]
        if !argon {
            return crate::legacy::hashes::check(hash)
                .map(drop)
                .map_err(|e| bad(e.to_string()));
        }
        #[cfg(not(feature = "legacy"))]
        if !argon {
            let what = match PasswordHash::new(hash) {
                Ok(parsed) => format!("${}$", parsed.algorithm.as_str()),
                Err(_) => "not an argon2 PHC string".to_owned(),
            };
            return Err(bad(format!(
                "unknown password hash format: {what} (passlib and werkzeug hashes need the \
                 `legacy` feature)"
            )));
        }
        let Some(parsed) = argon::parse(hash, &self.inner.params) else {
            return Err(bad(
                "malformed argon2 hash: not a PHC string with parameters, salt and hash".to_owned(),
            ));
        };
        let ceiling = self.inner.pool.ceiling();
        if !parsed.cost.fits(ceiling) {
            let (m, t, p) = parsed.params;
            return Err(bad(format!(
                "argon2 hash above the cost cap: m={m} t={t} p={p} (the verification ceiling \
                 is {} KiB, {} KiB × passes, {} lanes)",
                ceiling.memory_kib, ceiling.work, ceiling.lanes
            )));
        }
        Ok(())
    }

    /// Waits until a verification that took `ran` has taken as long as one at the current
    /// parameters.
    async fn pad(&self, ran: Duration) {
        let target = self.inner.run_time.get();
        if let Some(rest) = target.checked_sub(ran)
            && !rest.is_zero()
        {
            tokio::time::sleep(rest).await;
        }
    }

    /// Spends the time of one verification against a dummy hash: used when the username
    /// is unknown so that the answer takes as long as for a wrong password.
    ///
    /// It is anonymous work, queued like a known user's login. When the anonymous share of
    /// the pool is taken it does not verify: it waits as long as recent logins took and
    /// returns `Ok`, so the caller answers exactly as for a wrong password. When the whole
    /// pool is full it is [`ErrorKind::Overloaded`], as a known user's login would be.
    pub async fn verify_dummy(&self, password: &str) -> Result<(), Error> {
        let inner = &self.inner;
        let password = Zeroizing::new(password.as_bytes().to_vec());
        let dummy = inner.dummy_hash.clone();
        let current = argon::cost_of(&inner.params);
        let outcome = inner
            .pool
            .run(JobClass::UnknownLogin, current, move |worker| {
                let started = Instant::now();
                let _ = worker.verify(&password, &dummy);
                started.elapsed()
            })
            .await;
        match outcome {
            Ok((ran, waited)) => {
                #[cfg(any(test, feature = "test-util"))]
                inner.verifications.fetch_add(1, Ordering::Relaxed);
                inner.run_time.record(ran);
                inner.pool.record_latency(waited);
                Ok(())
            }
            Err(Refusal::ShareTaken) => {
                #[cfg(any(test, feature = "test-util"))]
                inner.stand_ins.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(inner.pool.latency()).await;
                Ok(())
            }
            Err(other) => Err(refused(other)),
        }
    }

    /// How many password verifications this hasher has run, those against the dummy hash
    /// for unknown usernames included: how tests prove that an unknown username costs
    /// exactly one verification, like a wrong password (feature `test-util`).
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{PasswordConfig, password::PasswordHasher};
    /// let hasher = PasswordHasher::new(&PasswordConfig { memory_kib: 64, iterations: 1, ..PasswordConfig::default() })?;
    /// hasher.verify_dummy("guess").await?;
    /// assert_eq!(hasher.verifications(), 1);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    #[cfg(any(test, feature = "test-util"))]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    pub fn verifications(&self) -> u64 {
        self.inner.verifications.load(Ordering::Relaxed)
    }

    /// How many unknown-user logins were answered by waiting instead of verifying, because
    /// the anonymous share of the pool was taken (feature `test-util`).
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{PasswordConfig, password::PasswordHasher};
    /// let hasher = PasswordHasher::new(&PasswordConfig { memory_kib: 64, iterations: 1, ..PasswordConfig::default() })?;
    /// hasher.verify_dummy("guess").await?;
    /// assert_eq!(hasher.stand_ins(), 0);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    #[cfg(any(test, feature = "test-util"))]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    pub fn stand_ins(&self) -> u64 {
        self.inner.stand_ins.load(Ordering::Relaxed)
    }

    /// How many hashes this hasher has made (feature `test-util`): how tests prove that
    /// two requests did the same work.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{PasswordConfig, password::PasswordHasher};
    /// let hasher = PasswordHasher::new(&PasswordConfig { memory_kib: 64, iterations: 1, ..PasswordConfig::default() })?;
    /// hasher.hash("a password").await?;
    /// assert_eq!(hasher.hashes(), 1);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    #[cfg(any(test, feature = "test-util"))]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    pub fn hashes(&self) -> u64 {
        self.inner.hashes.load(Ordering::Relaxed)
    }

    /// The pool's load: jobs admitted (running or waiting) and how many of them are
    /// anonymous (feature `test-util`).
    ///
    /// ```
    /// # use centurion::{PasswordConfig, password::PasswordHasher};
    /// let hasher = PasswordHasher::new(&PasswordConfig { memory_kib: 64, iterations: 1, ..PasswordConfig::default() }).unwrap();
    /// assert_eq!(hasher.load(), (0, 0));
    /// ```
    #[cfg(any(test, feature = "test-util"))]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    pub fn load(&self) -> (usize, usize) {
        self.inner.pool.load()
    }

    /// Whether `hash` was made with other parameters or another algorithm than the
    /// configured ones, and should be replaced at the next successful login.
    pub fn needs_rehash(&self, hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return true;
        };
        if parsed.algorithm.as_str() != "argon2id" || parsed.version != Some(0x13) {
            return true;
        }
        match Params::try_from(&parsed) {
            Ok(p) => {
                let want = &self.inner.params;
                p.m_cost() != want.m_cost()
                    || p.t_cost() != want.t_cost()
                    || p.p_cost() != want.p_cost()
            }
            Err(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy_hash_uses_the_configured_parameters() {
        let config = PasswordConfig {
            memory_kib: 4096,
            iterations: 3,
            ..PasswordConfig::default()
        };
        let hasher = PasswordHasher::new(&config).expect("hasher");
        let dummy = &hasher.inner.dummy_hash;
        assert!(
            dummy.starts_with("$argon2id$v=19$m=4096,t=3,p=1$"),
            "{dummy}"
        );
        assert!(!hasher.needs_rehash(dummy));
    }

    /// Argon2d is not a password hash (its memory accesses depend on the password): a
    /// stored argon2d hash of the right password is refused, with or without `legacy`.
    #[tokio::test]
    async fn a_stored_argon2d_hash_is_refused() {
        use base64::Engine;
        use base64::engine::general_purpose::STANDARD_NO_PAD;
        let config = PasswordConfig {
            memory_kib: 1024,
            iterations: 1,
            ..PasswordConfig::default()
        };
        let hasher = PasswordHasher::new(&config).expect("hasher");
        let salt = b"saltsaltsaltsalt";
        let of = |algorithm: argon2::Algorithm| {
            let params = Params::new(1024, 1, 1, Some(32)).expect("params");
            let mut out = [0u8; 32];
            argon2::Argon2::new(algorithm, argon2::Version::V0x13, params)
                .hash_password_into(b"correct horse", salt, &mut out)
                .expect("hash");
            format!(
                "${}$v=19$m=1024,t=1,p=1${}${}",
                algorithm.as_str(),
                STANDARD_NO_PAD.encode(salt),
                STANDARD_NO_PAD.encode(out)
            )
        };
        let id = of(argon2::Algorithm::Argon2id);
        let d = of(argon2::Algorithm::Argon2d);
        assert!(d.starts_with("$argon2d$"), "{d}");
        assert!(hasher.verify("correct horse", &id).await.expect("verify"));
        assert!(!hasher.verify("correct horse", &d).await.expect("verify"));
    }
}

#[cfg(test)]
mod share_tests {
    use super::anonymous_capacity;

    #[test]
    fn anonymous_work_never_takes_every_place() {
        assert_eq!(anonymous_capacity(1, 50), 1);
        assert_eq!(anonymous_capacity(2, 50), 1);
        assert_eq!(anonymous_capacity(66, 50), 33);
        assert_eq!(anonymous_capacity(66, 100), 65);
        assert_eq!(anonymous_capacity(66, 0), 1);
    }
}
