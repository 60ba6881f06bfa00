//! Remembers access and service tokens that passed verification, so a client that sends the
//! same token on every request pays for its signature and its JSON once.
//!
//! What is remembered is the outcome of the checks that depend on nothing but the token's
//! bytes and the (immutable) key set: the signature, the header rules, the kind, issuer and
//! audience. The checks that depend on time or on state run on every request, hit or miss:
//! expiry and not-before against the current clock, the application's validators, and the
//! revocation store. A token is found only by comparing all of its bytes, so a hit means
//! exactly this token was verified before; only verified tokens are stored, so a client
//! cannot fill the memory with garbage, and the memory is bounded by a byte budget.

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use crate::token::Claims;

/// Bytes charged per entry beyond the token itself: the decoded claims (about as large as
/// the token's payload) and the bookkeeping.
const ENTRY_OVERHEAD: u64 = 256;

#[derive(Clone)]
struct ByBytes;

impl Weighter<Box<str>, Claims> for ByBytes {
    fn weight(&self, token: &Box<str>, _: &Claims) -> u64 {
        // The token, its decoded claims (no larger than the token) and the overhead.
        2 * token.len() as u64 + ENTRY_OVERHEAD
    }
}

/// A byte-bounded map from the exact text of a verified token to its claims.
pub(crate) struct VerifiedTokens {
    cache: Cache<Box<str>, Claims, ByBytes>,
}

impl VerifiedTokens {
    /// `None` when `budget_bytes` is zero: every request verifies its token in full.
    pub(crate) fn new(budget_bytes: usize) -> Option<Self> {
        if budget_bytes == 0 {
            return None;
        }
        let budget = budget_bytes as u64;
        // Typical access tokens are 300-500 bytes: about 1 KiB charged per entry.
        let estimated_items = (budget_bytes / 1024).max(16);
        Some(Self {
            cache: Cache::with_weighter(estimated_items, budget, ByBytes),
        })
    }

    /// The claims of `token` if exactly this token was verified before and is still held.
    pub(crate) fn get(&self, token: &str) -> Option<Claims> {
        self.cache.get(token)
    }

    /// Remembers a token that has just passed every check.
    pub(crate) fn insert(&self, token: &str, claims: &Claims) {
        self.cache.insert(token.into(), claims.clone());
    }

    #[cfg(test)]
    fn weight(&self) -> u64 {
        self.cache.weight()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.cache.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{ClaimsData, TokenKind};

    fn claims(sub: &str) -> Claims {
        Claims::from_data(ClaimsData {
            sub: sub.to_owned(),
            iat: 1,
            iat_ms: None,
            nbf: 1,
            exp: 2,
            jti: "j".to_owned(),
            kind: TokenKind::Access,
            fresh: None,
            roles: None,
            fam: None,
            iss: None,
            aud: None,
            custom: serde_json::Map::new(),
        })
    }

    #[test]
    fn a_zero_budget_turns_the_cache_off() {
        assert!(VerifiedTokens::new(0).is_none());
    }

    #[test]
    fn only_the_exact_token_is_found() {
        let cache = VerifiedTokens::new(64 * 1024).unwrap();
        cache.insert("aaa.bbb.ccc", &claims("7"));
        assert_eq!(cache.get("aaa.bbb.ccc").unwrap().subject(), "7");
        assert!(cache.get("aaa.bbb.ccd").is_none());
        assert!(cache.get("aaa.bbb.cc").is_none());
        assert!(cache.get("aaa.bbb.ccc ").is_none());
    }

    #[test]
    fn the_byte_budget_bounds_the_memory() {
        let budget = 64 * 1024;
        let cache = VerifiedTokens::new(budget).unwrap();
        for i in 0..10_000 {
            let token = format!("{i:0>400}");
            cache.insert(&token, &claims("7"));
        }
        assert!(
            cache.weight() <= budget as u64,
            "{} > {budget}",
            cache.weight()
        );
    }
}
