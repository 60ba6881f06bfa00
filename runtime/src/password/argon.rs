//! Argon2id on a pool thread: hashing, verification of a stored PHC string, and what a
//! stored hash costs (checked against the ceiling before it runs).

use argon2::password_hash::phc::{Ident, Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::pool::Cost;
use crate::error::{Error, ErrorKind};

fn internal(message: &'static str) -> Error {
    Error::new(ErrorKind::InternalError).with_message(message)
}

/// One pool thread's state: the argon2 memory it reuses for every job.
pub(crate) struct Worker {
    params: Params,
    memory: Vec<Block>,
}

/// A stored hash this server can verify, with what verifying it costs.
pub(super) struct Parsed {
    pub(super) cost: Cost,
    /// Argon2id, version 0x13 and the configured parameters: a verification at the
    /// current cost (one whose time an unknown user's dummy verification matches).
    pub(super) current: bool,
    /// The parameters, for a log line (never the hash itself).
    pub(super) params: (u32, u32, u32),
}

/// The cost of argon2 parameters.
pub(super) fn cost_of(params: &Params) -> Cost {
    let memory = u64::from(params.m_cost());
    Cost {
        memory_kib: memory,
        work: memory.saturating_mul(u64::from(params.t_cost())),
        lanes: u64::from(params.p_cost()),
    }
}

/// The ceiling of stored hashes: memory at most `max_memory_kib` (default four times the
/// configured memory, at least 64 MiB) and work (memory × passes) at most four times the
/// configured work, at least 64 MiB × 3 passes, and lanes (p-cost) at most four times the
/// configured lanes, at least 16 (the defaults of other libraries, such as argon2-cffi's
/// 4, fit). A tampered or planted row asking for more is refused before it runs, so it
/// cannot hold a pool thread for long. (Lanes add little work on a pool thread, which
/// runs them one after the other, but each costs its own block set-up and a stored
/// parallelism this server never chose is a planted row's mark.)
pub(super) fn ceiling(params: &Params, max_memory_kib: Option<u32>) -> Cost {
    let current = cost_of(params);
    let floor = 64 * 1024;
    let memory = max_memory_kib.map_or_else(
        || current.memory_kib.saturating_mul(4).max(floor),
        u64::from,
    );
    let ceiling = Cost {
        memory_kib: memory,
        work: current.work.saturating_mul(4).max(floor * 3),
        lanes: current.lanes.saturating_mul(4).max(16),
    };
    #[cfg(feature = "legacy")]
    let ceiling = legacy_ceiling(ceiling, max_memory_kib.is_some());
    ceiling
}

/// With feature `legacy` the ceiling is at least the caps of imported argon2 hashes
/// ([`crate::legacy::hashes`]: 128 MiB, 768 MiB × passes, 16 lanes), so the hashes
/// argon2-cffi writes for Flask apps verify (m=102400,t=2,p=8 before 21.2, which is over
/// the default ceiling's work; m=65536,t=3,p=4 since). One rule for login and import:
/// [`PasswordHasher::check_stored_hash`](super::PasswordHasher::check_stored_hash) checks
/// argon2 hashes against this same ceiling. A memory ceiling set explicitly
/// (`max_verify_memory_kib`) is kept as set.
#[cfg(feature = "legacy")]
fn legacy_ceiling(ceiling: Cost, memory_set: bool) -> Cost {
    use crate::legacy::hashes::{ARGON2_MAX_M_KIB, ARGON2_MAX_MT, ARGON2_MAX_P};
    Cost {
        memory_kib: if memory_set {
            ceiling.memory_kib
        } else {
            ceiling.memory_kib.max(u64::from(ARGON2_MAX_M_KIB))
        },
        work: ceiling.work.max(ARGON2_MAX_MT),
        lanes: ceiling.lanes.max(u64::from(ARGON2_MAX_P)),
    }
}

/// Whether `algorithm` is meant for passwords: argon2id and argon2i. Argon2d's memory
/// accesses depend on the password (a side channel), so a stored argon2d hash is refused,
/// as if it were not an argon2 hash at all.
fn is_password_hash(algorithm: Algorithm) -> bool {
    matches!(algorithm, Algorithm::Argon2id | Algorithm::Argon2i)
}

/// Parses a stored PHC string; `None` when it is not an argon2 hash this server can check
/// (argon2d included).
pub(super) fn parse(hash: &str, configured: &Params) -> Option<Parsed> {
    let parsed = PasswordHash::new(hash).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
    if !is_password_hash(algorithm) {
        return None;
    }
    let params = Params::try_from(&parsed).ok()?;
    parsed.salt.as_ref()?;
    parsed.hash.as_ref()?;
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return None,
    };
    let current = algorithm == Algorithm::Argon2id
        && version == Version::V0x13
        && params.m_cost() == configured.m_cost()
        && params.t_cost() == configured.t_cost()
        && params.p_cost() == configured.p_cost();
    Some(Parsed {
        cost: cost_of(&params),
        current,
        params: (params.m_cost(), params.t_cost(), params.p_cost()),
    })
}

impl Worker {
    pub(super) fn new(params: Params) -> Self {
        Self {
            memory: vec![Block::default(); params.block_count()],
            params,
        }
    }

    pub(super) fn hash(&mut self, password: &[u8]) -> Result<String, Error> {
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

    /// Verifies `password` against a stored PHC string; the caller has checked its cost
    /// against the ceiling (`parse`), so a larger memory area than the worker's own is
    /// bounded by it.
    pub(super) fn verify(&mut self, password: &[u8], hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
            Algorithm::try_from(parsed.algorithm.as_str()),
            Params::try_from(&parsed),
            parsed.salt.as_ref(),
            parsed.hash.as_ref(),
        ) else {
            return false;
        };
        if !is_password_hash(algorithm) {
            return false;
        }
        let version = match parsed.version.map(Version::try_from) {
            None => Version::V0x13,
            Some(Ok(v)) => v,
            Some(Err(_)) => return false,
        };
        let needed = params.block_count();
        let mut scratch;
        let memory = if needed <= self.memory.len() {
            &mut self.memory[..needed]
        } else {
            // An older hash with a larger cost, within the ceiling.
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
