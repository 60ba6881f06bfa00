//! Argon2id password hashing on a bounded pool of dedicated threads.
//!
//! Hashing costs ~19 MiB and tens of milliseconds by design. Centurion runs it on
//! `pool_size` threads of its own (default: the number of cores), each owning one argon2
//! memory area that it reuses for every hash, so the pool's memory is fixed at
//! `pool_size × memory_kib` whatever the load. At most `queue_length` more requests wait;
//! a request beyond that is refused at once with [`ErrorKind::Overloaded`] (503). A login
//! storm therefore neither grows memory nor occupies the async workers.

#[cfg(any(test, feature = "test-util"))]
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Ident, Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::{Semaphore, oneshot};
use zeroize::Zeroizing;

use crate::config::PasswordConfig;
use crate::error::{Error, ErrorKind};

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
    jobs: SyncSender<Job>,
    /// One permit per pool thread and queue place: a hash request without one is refused.
    admitted: Arc<Semaphore>,
    pool_size: usize,
    /// Verifications run, dummy ones included.
    #[cfg(any(test, feature = "test-util"))]
    verifications: AtomicU64,
    min_length: usize,
    max_length: usize,
    /// A hash of a random password with the current parameters: verified against when a
    /// username is unknown, so that case costs what a wrong password costs.
    dummy_hash: String,
}

type Job = Box<dyn FnOnce(&mut Worker) + Send>;

/// One pool thread's state: the argon2 memory it reuses.
struct Worker {
    params: Params,
    memory: Vec<Block>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("m_cost", &self.inner.params.m_cost())
            .field("t_cost", &self.inner.params.t_cost())
            .field("p_cost", &self.inner.params.p_cost())
            .field("pool_size", &self.inner.pool_size)
            .finish_non_exhaustive()
    }
}

fn internal(message: &'static str) -> Error {
    Error::new(ErrorKind::InternalError).with_message(message)
}

/// Largest memory cost (KiB) a stored hash may ask for when verified: four times the
/// configured cost, at least 64 MiB. Protects against a tampered user row.
fn memory_ceiling(params: &Params) -> u32 {
    params.m_cost().saturating_mul(4).max(64 * 1024)
}

impl Worker {
    fn hash(&mut self, password: &[u8]) -> Result<String, Error> {
        let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
        getrandom::fill(&mut salt).map_err(|_| internal("the system random source failed"))?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        argon
            .hash_password_into_with_memory(password, &salt, &mut out, &mut self.memory[..])
            .map_err(|_| internal("password hashing failed"))?;
        let phc = PasswordHash {
            algorithm: Ident::from(Algorithm::Argon2id),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params)
                .map_err(|_| internal("argon2 parameters"))?,
            salt: Some(Salt::new(&salt).map_err(|_| internal("argon2 salt"))?),
            hash: Some(Output::new(&out).map_err(|_| internal("argon2 output"))?),
        };
        Ok(phc.to_string())
    }

    fn verify(&mut self, password: &[u8], hash: &str) -> bool {
        // A hash imported from a Flask app (passlib, werkzeug): capped, then verified here.
        #[cfg(feature = "legacy")]
        if crate::legacy::hashes::is_legacy_format(hash) {
            return crate::legacy::hashes::verify(password, hash).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "a stored password hash cannot be verified");
                false
            });
        }
        let Ok(parsed) = PasswordHash::new(hash) else {
            tracing::warn!("a stored password hash is not a valid PHC string");
            return false;
        };
        let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
            Algorithm::try_from(parsed.algorithm.as_str()),
            Params::try_from(&parsed),
            parsed.salt.as_ref(),
            parsed.hash.as_ref(),
        ) else {
            tracing::warn!("a stored password hash is not an argon2 hash this server can check");
            return false;
        };
        let version = match parsed.version.map(Version::try_from) {
            None => Version::V0x13,
            Some(Ok(v)) => v,
            Some(Err(_)) => return false,
        };
        // An argon2-cffi hash of a Flask app (m=102400 before 21.2) may ask for more, up to
        // the legacy caps.
        // The legacy caps also bound passes and lanes, which a stored hash could otherwise
        // raise without limit.
        #[cfg(feature = "legacy")]
        let within = crate::legacy::hashes::argon2_within_caps_of(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (
                self.params.m_cost(),
                self.params.t_cost(),
                self.params.p_cost(),
            ),
            memory_ceiling(&self.params),
        );
        #[cfg(not(feature = "legacy"))]
        let within = params.m_cost() <= memory_ceiling(&self.params);
        if !within {
            tracing::warn!("a stored password hash asks for more memory than allowed");
            return false;
        }
        let needed = params.block_count();
        let mut scratch;
        let memory = if needed <= self.memory.len() {
            &mut self.memory[..needed]
        } else {
            // An older hash with a larger cost: bounded by `memory_ceiling`.
            scratch = vec![Block::default(); needed];
            &mut scratch[..]
        };
        let mut out = Zeroizing::new(vec![0u8; expected.len()]);
        let argon = Argon2::new(algorithm, version, params);
        if argon
            .hash_password_into_with_memory(password, salt.as_ref(), &mut out, memory)
            .is_err()
        {
            return false;
        }
        bool::from(out.as_slice().ct_eq(expected.as_bytes()))
    }
}

fn spawn_workers(params: &Params, pool: usize, jobs: Receiver<Job>) -> Result<(), Error> {
    let jobs = Arc::new(Mutex::new(jobs));
    for n in 0..pool {
        let jobs = Arc::clone(&jobs);
        let params = params.clone();
        std::thread::Builder::new()
            .name(format!("centurion-hash-{n}"))
            .spawn(move || {
                let mut worker = Worker {
                    memory: vec![Block::default(); params.block_count()],
                    params,
                };
                loop {
                    // The lock is held only while taking a job, never while hashing.
                    let job = match jobs.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => {
                            // A panicking job must not shrink the pool: the caller sees its
                            // answer channel close (an internal error) and the thread goes on.
                            let run = std::panic::AssertUnwindSafe(|| job(&mut worker));
                            if std::panic::catch_unwind(run).is_err() {
                                tracing::error!("a password hashing job panicked");
                            }
                        }
                        // Every hasher handle is gone: the pool ends.
                        Err(_) => return,
                    }
                }
            })
            .map_err(|_| internal("cannot start the hashing threads"))?;
    }
    Ok(())
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
        let pool = config
            .pool_size
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1);
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|_| internal("the system random source failed"))?;
        let mut probe = Worker {
            memory: vec![Block::default(); params.block_count()],
            params: params.clone(),
        };
        let dummy_hash = probe.hash(&seed)?;
        drop(probe);
        // The channel never fills: admission is decided by `admitted` before sending.
        let capacity = pool.saturating_add(config.queue_length);
        let (jobs, rx) = sync_channel(capacity);
        spawn_workers(&params, pool, rx)?;
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                jobs,
                admitted: Arc::new(Semaphore::new(capacity)),
                pool_size: pool,
                #[cfg(any(test, feature = "test-util"))]
                verifications: AtomicU64::new(0),
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

    /// Runs `job` on a pool thread; `Overloaded` when the queue is full.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Worker) -> T + Send + 'static,
    ) -> Result<T, Error> {
        let permit = Arc::clone(&self.inner.admitted)
            .try_acquire_owned()
            .map_err(|_| Error::new(ErrorKind::Overloaded))?;
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |worker| {
            let out = job(worker);
            // Free the place before answering, so the caller's next request finds it free.
            drop(permit);
            let _ = tx.send(out);
        });
        match self.inner.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(Error::new(ErrorKind::Overloaded)),
            Err(TrySendError::Disconnected(_)) => {
                return Err(internal("the hashing pool has stopped"));
            }
        }
        rx.await.map_err(|_| internal("a hashing job failed"))
    }

    /// Hashes a password into a PHC string with the configured parameters.
    pub async fn hash(&self, password: &str) -> Result<String, Error> {
        if self.is_too_long(password) {
            return Err(
                Error::new(ErrorKind::WeakPassword).with_message("the password is too long")
            );
        }
        let password = Zeroizing::new(password.as_bytes().to_vec());
        self.run(move |worker| worker.hash(&password)).await?
    }

    /// Whether `password` matches the PHC string `hash`. A malformed hash counts as a
    /// mismatch (and is logged without its content).
    pub async fn verify(&self, password: &str, hash: &str) -> Result<bool, Error> {
        if self.is_too_long(password) {
            return Ok(false);
        }
        let password = Zeroizing::new(password.as_bytes().to_vec());
        let hash = hash.to_owned();
        #[cfg(any(test, feature = "test-util"))]
        self.inner.verifications.fetch_add(1, Ordering::Relaxed);
        self.run(move |worker| worker.verify(&password, &hash))
            .await
    }

    /// Spends the time of one verification against a dummy hash: used when the username
    /// is unknown so that the answer takes as long as for a wrong password.
    pub async fn verify_dummy(&self, password: &str) -> Result<(), Error> {
        let password = Zeroizing::new(password.as_bytes().to_vec());
        let dummy = self.inner.dummy_hash.clone();
        #[cfg(any(test, feature = "test-util"))]
        self.inner.verifications.fetch_add(1, Ordering::Relaxed);
        self.run(move |worker| {
            let _ = worker.verify(&password, &dummy);
        })
        .await
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

    /// Checks, without hashing anything, that a stored hash is one this hasher can verify
    /// (an argon2 PHC string; with feature `legacy` also the passlib and werkzeug formats,
    /// within their cost caps): what [`Centurion::import_users`](crate::Centurion::import_users)
    /// runs on every row. The error names the format, never the hash.
    ///
    /// ```
    /// use centurion::{PasswordConfig, password::PasswordHasher};
    /// let hasher = PasswordHasher::new(&PasswordConfig::default()).unwrap();
    /// assert!(hasher.check_stored_hash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo").is_ok());
    /// let err = hasher.check_stored_hash("$6$rounds=656000$salt$hash").unwrap_err();
    /// assert!(err.message().starts_with("unknown password hash format: "), "{}", err.message());
    /// # #[cfg(feature = "legacy")]
    /// assert!(err.message().contains("sha512_crypt ($6$)"), "{}", err.message());
    /// ```
    pub fn check_stored_hash(&self, hash: &str) -> Result<(), Error> {
        #[cfg(feature = "legacy")]
        {
            crate::legacy::hashes::check(hash)
                .map(drop)
                .map_err(|e| Error::new(ErrorKind::InvalidRequest).with_message(e.to_string()))
        }
        #[cfg(not(feature = "legacy"))]
        {
            let unknown = |what: &str| {
                Error::new(ErrorKind::InvalidRequest).with_message(format!(
                    "unknown password hash format: {what} (passlib and werkzeug hashes need \
                     the `legacy` feature)"
                ))
            };
            let Ok(parsed) = PasswordHash::new(hash) else {
                return Err(unknown("not an argon2 PHC string"));
            };
            if Algorithm::try_from(parsed.algorithm.as_str()).is_err()
                || parsed.algorithm.as_str() == "argon2d"
            {
                return Err(unknown(&format!("${}$", parsed.algorithm.as_str())));
            }
            match Params::try_from(&parsed) {
                Ok(p) if p.m_cost() <= memory_ceiling(&self.inner.params) => Ok(()),
                _ => Err(Error::new(ErrorKind::InvalidRequest)
                    .with_message("argon2 hash above the memory ceiling or malformed")),
            }
        }
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
}
