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
        }
    }
}
