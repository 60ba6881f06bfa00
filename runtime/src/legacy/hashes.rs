//! Password hashes made by passlib (flask-praetorian) and werkzeug (Flask apps): parsed,
//! held to cost caps before any work, and verified in constant time.
//!
//! | format | example | verified with |
//! | --- | --- | --- |
//! | passlib pbkdf2 | `$pbkdf2-sha512$25000$<ab64 salt>$<ab64 checksum>` (also `-sha256`, and `$pbkdf2$` for SHA-1) | `pbkdf2` |
//! | bcrypt | `$2b$12$<22 salt><31 hash>` (also `$2a$`, `$2y$`; `$2x$` is refused) | `bcrypt` |
//! | argon2 | `$argon2id$v=19$m=65536,t=3,p=4$…` (also `$argon2i$`) | `argon2`, in the hashing pool's worker |
//! | werkzeug pbkdf2 | `pbkdf2:sha256:1000000$<salt text>$<hex>` (also `sha512`, `sha1`) | `pbkdf2` |
//! | werkzeug scrypt | `scrypt:32768:8:1$<salt text>$<hex>` | `scrypt` |
//!
//! passlib's "adapted base64" is the standard alphabet with `.` for `+` and no padding.
//! werkzeug's salt is text, hashed as its UTF-8 bytes. Every other format (sha512_crypt,
//! bcrypt_sha256, werkzeug's dropped `sha256$…`, plain text) is an [`HashError::Unknown`]
//! that names what it looks like; nothing here panics on any input.

use std::fmt;

use base64::Engine;
use base64::alphabet::Alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Cost caps: a stored hash above any of them is refused before any hashing, so a hostile
/// row cannot hold a pool thread much longer than a bcrypt-14 login (about one second on
/// a 2-core machine) nor allocate more than 128 MiB. Measured figures in
/// `docs/MIGRATING-FROM-FLASK.md`.
pub(crate) const PBKDF2_SHA1_MAX_ROUNDS: u32 = 2_000_000;
pub(crate) const PBKDF2_SHA256_MAX_ROUNDS: u32 = 2_000_000;
pub(crate) const PBKDF2_SHA512_MAX_ROUNDS: u32 = 1_000_000;
pub(crate) const BCRYPT_MAX_COST: u32 = 14;
/// scrypt memory is 128·N·r bytes.
pub(crate) const SCRYPT_MAX_MEMORY: u64 = 64 << 20;
/// scrypt work grows with N·r·p.
pub(crate) const SCRYPT_MAX_WORK: u64 = 1 << 20;
/// argon2 memory in KiB (argon2-cffi before 21.2 wrote m=102400).
pub(crate) const ARGON2_MAX_M_KIB: u32 = 128 * 1024;
pub(crate) const ARGON2_MAX_P: u32 = 16;
/// argon2 work grows with m·t (KiB·passes); it bounds the passes too (a stored t=10000 at
/// the default memory is far above it).
pub(crate) const ARGON2_MAX_MT: u64 = 768 * 1024;
const MAX_SALT: usize = 1024;

/// Why a stored hash cannot be verified. The message names the format, never the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HashError {
    /// Not a format centurion knows; says what it looks like.
    Unknown(String),
    /// A known format, but broken.
    Malformed(&'static str, &'static str),
    /// Well formed, but its cost is above a cap.
    TooCostly(&'static str, String),
}

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HashError::Unknown(what) => write!(f, "unknown password hash format: {what}"),
            HashError::Malformed(format, why) => write!(f, "malformed {format} hash: {why}"),
            HashError::TooCostly(format, why) => {
                write!(f, "{format} hash above the cost cap: {why}")
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Digest {
    Sha1,
    Sha256,
    Sha512,
}

impl Digest {
    fn len(self) -> usize {
        match self {
            Digest::Sha1 => 20,
            Digest::Sha256 => 32,
            Digest::Sha512 => 64,
        }
    }

    fn max_rounds(self) -> u32 {
        match self {
            Digest::Sha1 => PBKDF2_SHA1_MAX_ROUNDS,
            Digest::Sha256 => PBKDF2_SHA256_MAX_ROUNDS,
            Digest::Sha512 => PBKDF2_SHA512_MAX_ROUNDS,
        }
    }
}

/// A parsed hash whose costs are within the caps.
enum Parsed {
    Pbkdf2 {
        digest: Digest,
        rounds: u32,
        salt: Vec<u8>,
        expected: Vec<u8>,
    },
    Bcrypt,
    /// Verified by the hashing pool's argon2 worker, which applies [`argon2_within_caps`].
    Argon2,
    Scrypt {
        log_n: u8,
        r: u32,
        p: u32,
        salt: Vec<u8>,
        expected: Vec<u8>,
    },
}

/// passlib's adapted base64: the standard alphabet with `.` instead of `+`, no padding.
fn ab64() -> Option<GeneralPurpose> {
    let alphabet =
        Alphabet::new("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./").ok()?;
    Some(GeneralPurpose::new(
        &alphabet,
        GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_padding_mode(DecodePaddingMode::RequireNone),
    ))
}

/// A decimal without sign or leading zero (passlib refuses zero-padded rounds), in `u32`.
fn strict_u32(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

/// At most `n` characters of `s`, for naming a format in a message.
fn head(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Whether this module answers for a hash: every format but argon2id and argon2i, which
/// the pool's worker verifies (so argon2d, not a password hash, is refused here).
pub(crate) fn is_legacy_format(hash: &str) -> bool {
    !(hash.starts_with("$argon2id$") || hash.starts_with("$argon2i$"))
}

/// Checks that `hash` is a format centurion verifies, well formed and within the caps,
/// without hashing anything: what an import runs on every row.
pub(crate) fn check(hash: &str) -> Result<&'static str, HashError> {
    Ok(match parse(hash)? {
        Parsed::Pbkdf2 { .. } if hash.starts_with('$') => "passlib pbkdf2",
        Parsed::Pbkdf2 { .. } => "werkzeug pbkdf2",
        Parsed::Bcrypt => "bcrypt",
        Parsed::Argon2 => "argon2",
        Parsed::Scrypt { .. } => "werkzeug scrypt",
    })
}

fn parse(hash: &str) -> Result<Parsed, HashError> {
    if let Some(rest) = hash.strip_prefix('$') {
        let ident = rest.split('$').next().unwrap_or("");
        return match ident {
            "pbkdf2-sha512" => parse_passlib_pbkdf2(hash, Digest::Sha512),
            "pbkdf2-sha256" => parse_passlib_pbkdf2(hash, Digest::Sha256),
            "pbkdf2" => parse_passlib_pbkdf2(hash, Digest::Sha1),
            "2a" | "2b" | "2y" => parse_bcrypt(hash),
            "2x" => Err(HashError::Unknown(
                "bcrypt $2x$ (crypt_blowfish's bug-compatible mode)".into(),
            )),
            "argon2id" | "argon2i" => parse_argon2(hash),
            "argon2d" => Err(HashError::Unknown("argon2d (not a password hash)".into())),
            "bcrypt-sha256" => Err(HashError::Unknown("passlib bcrypt_sha256".into())),
            "1" => Err(HashError::Unknown("md5_crypt ($1$)".into())),
            "5" => Err(HashError::Unknown("sha256_crypt ($5$)".into())),
            "6" => Err(HashError::Unknown("sha512_crypt ($6$)".into())),
            other => Err(HashError::Unknown(format!("${}$", head(other, 20)))),
        };
    }
    if hash.starts_with("pbkdf2:") || hash.starts_with("scrypt:") {
        return parse_werkzeug(hash);
    }
    let prefix = hash.split(['$', ':']).next().unwrap_or("");
    Err(HashError::Unknown(if hash.is_empty() {
        "empty".into()
    } else if hash.contains('$') {
        format!("'{}$…'", head(prefix, 20))
    } else {
        "no recognisable prefix".into()
    }))
}

/// `$pbkdf2-sha512$<rounds>$<ab64 salt>$<ab64 checksum>`
fn parse_passlib_pbkdf2(hash: &str, digest: Digest) -> Result<Parsed, HashError> {
    let format = match digest {
        Digest::Sha1 => "passlib pbkdf2 (sha1)",
        Digest::Sha256 => "passlib pbkdf2-sha256",
        Digest::Sha512 => "passlib pbkdf2-sha512",
    };
    let mut parts = hash.split('$');
    let (Some(""), Some(_), Some(rounds), Some(salt), Some(checksum), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(HashError::Malformed(
            format,
            "expected $ident$rounds$salt$checksum",
        ));
    };
    let rounds = strict_u32(rounds)
        .filter(|r| *r >= 1)
        .ok_or(HashError::Malformed(format, "rounds"))?;
    if rounds > digest.max_rounds() {
        return Err(HashError::TooCostly(
            format,
            format!("{rounds} rounds > {}", digest.max_rounds()),
        ));
    }
    if salt.is_empty() || salt.len() > MAX_SALT {
        return Err(HashError::Malformed(format, "salt length"));
    }
    let engine = ab64().ok_or(HashError::Malformed(format, "alphabet"))?;
    let salt = engine
        .decode(salt)
        .map_err(|_| HashError::Malformed(format, "salt is not adapted base64"))?;
    let expected = engine
        .decode(checksum)
        .map_err(|_| HashError::Malformed(format, "checksum is not adapted base64"))?;
    // A longer "checksum" would multiply the work: each digest-sized block is a full run.
    if expected.len() != digest.len() {
        return Err(HashError::Malformed(
            format,
            "checksum length is not the digest size",
        ));
    }
    Ok(Parsed::Pbkdf2 {
        digest,
        rounds,
        salt,
        expected,
    })
}

/// `$2b$12$<22 salt><31 hash>`: the cost is read and capped here, the rest is checked by
/// the bcrypt crate.
fn parse_bcrypt(hash: &str) -> Result<Parsed, HashError> {
    let bytes = hash.as_bytes();
    if bytes.len() != 60 || !hash.is_ascii() || bytes[6] != b'$' {
        return Err(HashError::Malformed(
            "bcrypt",
            "expected 60 characters $2b$NN$…",
        ));
    }
    let cost = hash[4..6]
        .parse::<u32>()
        .ok()
        .filter(|c| (4..=31).contains(c))
        .ok_or(HashError::Malformed("bcrypt", "cost"))?;
    if cost > BCRYPT_MAX_COST {
        return Err(HashError::TooCostly(
            "bcrypt",
            format!("cost {cost} > {BCRYPT_MAX_COST}"),
        ));
    }
    Ok(Parsed::Bcrypt)
}

fn parse_argon2(hash: &str) -> Result<Parsed, HashError> {
    use argon2::password_hash::phc::PasswordHash;
    let parsed =
        PasswordHash::new(hash).map_err(|_| HashError::Malformed("argon2", "not a PHC string"))?;
    let params = argon2::Params::try_from(&parsed)
        .map_err(|_| HashError::Malformed("argon2", "parameters"))?;
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(HashError::Malformed("argon2", "no salt or no hash"));
    }
    let (m, t, p) = (params.m_cost(), params.t_cost(), params.p_cost());
    if !argon2_within_caps(m, t, p) {
        return Err(HashError::TooCostly("argon2", format!("m={m} t={t} p={p}")));
    }
    Ok(Parsed::Argon2)
}

/// Whether an argon2 hash's costs are within the legacy caps: memory, work (memory ×
/// passes, which bounds passes too) and lanes. The hashing pool's ceiling is raised to
/// these same caps under feature `legacy` (`password::argon::ceiling`), and
/// [`PasswordHasher::check_stored_hash`](crate::password::PasswordHasher::check_stored_hash)
/// checks argon2 hashes against that ceiling, so login and import apply one rule.
pub(crate) fn argon2_within_caps(m_kib: u32, t: u32, p: u32) -> bool {
    m_kib <= ARGON2_MAX_M_KIB
        && p <= ARGON2_MAX_P
        && u64::from(m_kib) * u64::from(t) <= ARGON2_MAX_MT
}

/// werkzeug: `pbkdf2:<digest>:<iterations>$<salt text>$<hex>` or
/// `scrypt:<N>:<r>:<p>$<salt text>$<hex>`. The salt is used as its UTF-8 bytes.
fn parse_werkzeug(hash: &str) -> Result<Parsed, HashError> {
    let mut it = hash.splitn(3, '$');
    let (Some(method), Some(salt), Some(hex_digest)) = (it.next(), it.next(), it.next()) else {
        return Err(HashError::Malformed("werkzeug", "expected method$salt$hex"));
    };
    if salt.is_empty() || salt.len() > MAX_SALT {
        return Err(HashError::Malformed("werkzeug", "salt length"));
    }
    // werkzeug writes lowercase hex and compares the hex strings.
    if hex_digest.len() > 256
        || !hex_digest
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(HashError::Malformed(
            "werkzeug",
            "digest is not lowercase hex",
        ));
    }
    let expected =
        hex::decode(hex_digest).map_err(|_| HashError::Malformed("werkzeug", "digest hex"))?;
    let mut args = method.split(':');
    match (
        args.next(),
        args.next(),
        args.next(),
        args.next(),
        args.next(),
    ) {
        (Some("pbkdf2"), Some(digest), Some(iterations), None, None) => {
            let digest = match digest {
                "sha256" => Digest::Sha256,
                "sha512" => Digest::Sha512,
                "sha1" => Digest::Sha1,
                other => {
                    return Err(HashError::Unknown(format!(
                        "werkzeug pbkdf2:{}",
                        head(other, 20)
                    )));
                }
            };
            let rounds = strict_u32(iterations)
                .filter(|r| *r >= 1)
                .ok_or(HashError::Malformed("werkzeug pbkdf2", "iterations"))?;
            if rounds > digest.max_rounds() {
                return Err(HashError::TooCostly(
                    "werkzeug pbkdf2",
                    format!("{rounds} iterations > {}", digest.max_rounds()),
                ));
            }
            if expected.len() != digest.len() {
                return Err(HashError::Malformed(
                    "werkzeug pbkdf2",
                    "digest length is not the hash size",
                ));
            }
            Ok(Parsed::Pbkdf2 {
                digest,
                rounds,
                salt: salt.as_bytes().to_vec(),
                expected,
            })
        }
        (Some("pbkdf2"), ..) => Err(HashError::Malformed(
            "werkzeug pbkdf2",
            "needs pbkdf2:<digest>:<iterations> (no implicit defaults)",
        )),
        (Some("scrypt"), Some(n), Some(r), Some(p), None) => {
            let bad = || HashError::Malformed("werkzeug scrypt", "N:r:p");
            let n = strict_u32(n).ok_or_else(bad)?;
            let r = strict_u32(r).filter(|v| *v >= 1).ok_or_else(bad)?;
            let p = strict_u32(p).filter(|v| *v >= 1).ok_or_else(bad)?;
            if n < 2 || !n.is_power_of_two() {
                return Err(HashError::Malformed(
                    "werkzeug scrypt",
                    "N must be a power of two above 1",
                ));
            }
            let memory = 128u64 * u64::from(n) * u64::from(r);
            let work = u64::from(n) * u64::from(r) * u64::from(p);
            if memory > SCRYPT_MAX_MEMORY || work > SCRYPT_MAX_WORK {
                return Err(HashError::TooCostly(
                    "werkzeug scrypt",
                    format!("N={n} r={r} p={p}"),
                ));
            }
            if expected.is_empty() || expected.len() > 64 {
                return Err(HashError::Malformed(
                    "werkzeug scrypt",
                    "digest length (werkzeug writes 64 bytes)",
                ));
            }
            Ok(Parsed::Scrypt {
                log_n: n.trailing_zeros() as u8,
                r,
                p,
                salt: salt.as_bytes().to_vec(),
                expected,
            })
        }
        (Some("scrypt"), ..) => Err(HashError::Malformed(
            "werkzeug scrypt",
            "takes three arguments N:r:p",
        )),
        _ => Err(HashError::Unknown(format!("werkzeug {}", head(method, 30)))),
    }
}

/// Whether `password` matches a passlib or werkzeug `hash` (argon2 hashes are refused
/// here: the pool's worker verifies them). Runs on a hashing-pool thread.
pub(crate) fn verify(password: &[u8], hash: &str) -> Result<bool, HashError> {
    Ok(match parse(hash)? {
        Parsed::Pbkdf2 {
            digest,
            rounds,
            salt,
            expected,
        } => {
            let mut out = Zeroizing::new(vec![0u8; expected.len()]);
            match (digest, pbkdf2::Params::new(rounds)) {
                // Not generic: compiled (and optimised) inside the pbkdf2 crate.
                (Digest::Sha256, Ok(params)) => pbkdf2::pbkdf2_hmac_with_params(
                    password,
                    &salt,
                    pbkdf2::Algorithm::Pbkdf2Sha256,
                    params,
                    &mut out,
                ),
                (Digest::Sha512, Ok(params)) => pbkdf2::pbkdf2_hmac_with_params(
                    password,
                    &salt,
                    pbkdf2::Algorithm::Pbkdf2Sha512,
                    params,
                    &mut out,
                ),
                // Fewer than 1000 rounds (passlib allows 1): cheap even unoptimised.
                (Digest::Sha256, Err(_)) => {
                    pbkdf2::pbkdf2_hmac::<pbkdf2::sha2::Sha256>(password, &salt, rounds, &mut out)
                }
                (Digest::Sha512, Err(_)) => {
                    pbkdf2::pbkdf2_hmac::<pbkdf2::sha2::Sha512>(password, &salt, rounds, &mut out)
                }
                (Digest::Sha1, _) => {
                    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, &salt, rounds, &mut out)
                }
            }
            out.as_slice().ct_eq(&expected).into()
        }
        // Truncates at 72 bytes like passlib, compares in constant time.
        Parsed::Bcrypt => bcrypt::verify(password, hash)
            .map_err(|_| HashError::Malformed("bcrypt", "salt or hash"))?,
        Parsed::Argon2 => {
            return Err(HashError::Malformed(
                "argon2",
                "verified by the argon2 worker",
            ));
        }
        Parsed::Scrypt {
            log_n,
            r,
            p,
            salt,
            expected,
        } => {
            let params = scrypt::Params::new(log_n, r, p)
                .map_err(|_| HashError::Malformed("werkzeug scrypt", "parameters"))?;
            let mut out = Zeroizing::new(vec![0u8; expected.len()]);
            scrypt::scrypt(password, &salt, &params, &mut out)
                .map_err(|_| HashError::Malformed("werkzeug scrypt", "output length"))?;
            out.as_slice().ct_eq(&expected).into()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_formats_are_named() {
        let cases = [
            ("$6$rounds=656000$abc$def", "sha512_crypt ($6$)"),
            ("$bcrypt-sha256$v=2,t=2b,r=12$x$y", "passlib bcrypt_sha256"),
            ("pbkdf2:md5:1000$salt$00", "werkzeug pbkdf2:md5"),
            ("sha256$salt$00", "'sha256$…'"),
            ("hunter2", "no recognisable prefix"),
            ("", "empty"),
            (
                "$2x$04$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
                "bcrypt $2x$",
            ),
            ("$argon2d$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "argon2d"),
        ];
        for (hash, name) in cases {
            match check(hash) {
                Err(HashError::Unknown(what)) => assert!(what.contains(name), "{hash}: {what}"),
                other => panic!("{hash}: {other:?}"),
            }
        }
    }

    #[test]
    fn costs_above_the_caps_are_refused_before_any_work() {
        let hostile = [
            "$pbkdf2-sha512$4294967295$c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$2b$31$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
            "scrypt:1048576:8:1$salt$00",
            "scrypt:16384:8:64$salt$00",
            "pbkdf2:sha256:2000001$salt$0000000000000000000000000000000000000000000000000000000000000000",
            "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
            "$argon2id$v=19$m=65536,t=1000,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        ];
        for hash in hostile {
            let start = std::time::Instant::now();
            let outcome = verify(b"x", hash);
            assert!(
                matches!(outcome, Err(HashError::TooCostly(..))),
                "{hash}: {outcome:?}"
            );
            assert!(start.elapsed() < std::time::Duration::from_millis(50));
        }
    }

    #[test]
    fn a_longer_pbkdf2_checksum_is_malformed_not_more_work() {
        // 128 bytes for sha256 would be four full PBKDF2 runs.
        let engine = ab64().unwrap();
        let hash = format!(
            "$pbkdf2-sha256$29000${}${}",
            engine.encode([1u8; 16]),
            engine.encode([0u8; 128])
        );
        assert!(matches!(check(&hash), Err(HashError::Malformed(..))));
    }
}
