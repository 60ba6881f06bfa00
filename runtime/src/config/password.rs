//! [`PasswordConfig`]: the argon2id parameters, the password rules and the size of the
//! hashing pool.

use serde::Deserialize;

/// Argon2id parameters and password rules.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    /// Memory cost in KiB (OWASP: 19456 = 19 MiB).
    pub memory_kib: u32,
    /// Number of passes (OWASP: 2).
    pub iterations: u32,
    /// Degree of parallelism (OWASP: 1).
    pub parallelism: u32,
    /// Shortest password accepted when setting one (characters).
    pub min_length: usize,
    /// Longest password accepted, in bytes; longer ones are refused before hashing.
    pub max_length: usize,
    /// Hashes running at once; `None` = the number of cores.
    pub pool_size: Option<usize>,
    /// Hash requests allowed to wait for the pool; past that the answer is 503.
    pub queue_length: usize,
    /// The share, in percent, of the pool's places (`pool_size + queue_length`) that
    /// anonymous work may hold: registrations, password resets, logins of unknown users
    /// (see [`crate::password`]). At least one place, and never all of them. Default 50.
    pub anonymous_share: u8,
    /// The most memory (KiB) a stored hash may ask for when verified; `None`: four times
    /// `memory_kib`, at least 64 MiB. A hash asking for more is refused without running.
    pub max_verify_memory_kib: Option<u32>,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            min_length: 8,
            max_length: 1024,
            pool_size: None,
            queue_length: 64,
            anonymous_share: 50,
            max_verify_memory_kib: None,
        }
    }
}
