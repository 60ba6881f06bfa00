//! Argon2id password hashing on a bounded pool off the async workers.
//!
//! Hashing costs ~19 MiB and tens of milliseconds by design. Centurion runs it on tokio's
//! blocking threads, at most `pool_size` at once (default: the number of cores), with at
//! most `queue_length` more requests waiting; a request beyond that is refused at once
//! with [`ErrorKind::Overloaded`] (503). So a login storm costs at most
//! `pool_size × memory` and leaves the async workers free for everything else.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::Semaphore;
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
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    min_length: usize,
    max_length: usize,
    /// A hash of a random password with the current parameters: verified against when a
    /// username is unknown, so that case costs what a wrong password costs.
    dummy_hash: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("m_cost", &self.inner.params.m_cost())
            .field("t_cost", &self.inner.params.t_cost())
            .field("p_cost", &self.inner.params.p_cost())
            .finish_non_exhaustive()
    }
}

fn argon(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn internal(message: &'static str) -> Error {
    Error::new(ErrorKind::InternalError).with_message(message)
}

impl PasswordHasher {
    /// A hasher with these parameters. Fails when argon2 refuses them.
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
        let dummy_hash = argon(&params)
            .hash_password(&seed)
            .map_err(|e| Error::config(format!("argon2 cannot hash with these parameters: {e}")))?
            .to_string();
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                running: Arc::new(Semaphore::new(pool)),
                admitted: Arc::new(Semaphore::new(pool + config.queue_length)),
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

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Inner) -> T + Send + 'static,
    ) -> Result<T, Error> {
        let admitted = Arc::clone(&self.inner.admitted)
            .try_acquire_owned()
            .map_err(|_| Error::new(ErrorKind::Overloaded))?;
        let running = Arc::clone(&self.inner.running)
            .acquire_owned()
            .await
            .map_err(|_| internal("the hashing pool is closed"))?;
        let inner = Arc::clone(&self.inner);
        let result = tokio::task::spawn_blocking(move || {
            let out = job(&inner);
            drop(running);
            drop(admitted);
            out
        })
        .await
        .map_err(|_| internal("a hashing task failed"))?;
        Ok(result)
    }

    /// Hashes a password into a PHC string with the configured parameters.
    pub async fn hash(&self, password: &str) -> Result<String, Error> {
        if self.is_too_long(password) {
            return Err(
                Error::new(ErrorKind::WeakPassword).with_message("the password is too long")
            );
        }
        let password = Zeroizing::new(password.as_bytes().to_vec());
        self.run(move |inner| {
            argon(&inner.params)
                .hash_password(&password)
                .map(|h| h.to_string())
                .map_err(|_| internal("password hashing failed"))
        })
        .await?
    }

    /// Whether `password` matches the PHC string `hash`. A malformed hash counts as a
    /// mismatch (and is logged without its content).
    pub async fn verify(&self, password: &str, hash: &str) -> Result<bool, Error> {
        if self.is_too_long(password) {
            return Ok(false);
        }
        let password = Zeroizing::new(password.as_bytes().to_vec());
        let hash = hash.to_owned();
        self.run(move |inner| verify_blocking(inner, &password, &hash))
            .await
    }

    /// Spends the time of one verification against a dummy hash: used when the username
    /// is unknown so that the answer takes as long as for a wrong password.
    pub async fn verify_dummy(&self, password: &str) -> Result<(), Error> {
        let password = Zeroizing::new(password.as_bytes().to_vec());
        self.run(move |inner| {
            let dummy = inner.dummy_hash.clone();
            let _ = verify_blocking(inner, &password, &dummy);
        })
        .await
    }

    /// Whether `hash` was made with other parameters or another algorithm than the
    /// configured ones, and should be replaced at the next successful login.
    pub fn needs_rehash(&self, hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return true;
        };
        if parsed.algorithm.as_str() != "argon2id" {
            return true;
        }
        if parsed.version != Some(0x13) {
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

fn verify_blocking(inner: &Inner, password: &[u8], hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        tracing::warn!("a stored password hash is not a valid PHC string");
        return false;
    };
    // Refuse absurd stored parameters instead of allocating whatever the string asks for.
    if let Ok(p) = Params::try_from(&parsed) {
        if u64::from(p.m_cost()) > 4 * u64::from(inner.params.m_cost()).max(65536) {
            tracing::warn!("a stored password hash asks for more memory than allowed");
            return false;
        }
    }
    argon(&inner.params)
        .verify_password(password, &parsed)
        .is_ok()
}
