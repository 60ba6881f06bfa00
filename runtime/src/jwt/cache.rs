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
use serde_json::Value;

use super::claims::{Claims, ClaimsData, ProviderOrigin};

/// Bytes charged per entry for the map's own bookkeeping and the `Arc`.
const ENTRY_OVERHEAD: u64 = 128;

/// A remembered verification: the claims and the bytes they were charged.
#[derive(Clone)]
struct Remembered {
    claims: Claims,
    weight: u64,
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<Box<str>, Remembered> for ByBytes {
    fn weight(&self, _: &Box<str>, value: &Remembered) -> u64 {
        value.weight
    }
}

/// About how many heap bytes a string takes (its text and its header).
fn string_bytes(text: &str) -> u64 {
    text.len() as u64 + 24
}

/// About how many bytes a decoded JSON value takes, nested values included.
fn value_bytes(value: &Value) -> u64 {
    const NODE: u64 = 32;
    NODE + match value {
        Value::String(text) => string_bytes(text),
        Value::Array(items) => items.iter().map(value_bytes).sum(),
        Value::Object(map) => map
            .iter()
            .map(|(key, value)| string_bytes(key) + value_bytes(value) + NODE)
            .sum(),
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}

/// About how many bytes the decoded claims take: the struct, its strings, its roles and
/// its custom claims. Claims with many small custom values decode into several times the
/// bytes of their JSON, so the charge follows the decoded form, not the token's length.
fn claims_bytes(data: &ClaimsData) -> u64 {
    let strings = [
        Some(&data.sub),
        Some(&data.jti),
        data.fam.as_ref(),
        data.iss.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|s| string_bytes(s))
    .sum::<u64>();
    let roles = data
        .roles
        .iter()
        .flatten()
        .map(|r| string_bytes(r))
        .sum::<u64>();
    let custom = data
        .custom
        .iter()
        .map(|(key, value)| string_bytes(key) + value_bytes(value))
        .sum::<u64>();
    size_of::<ClaimsData>() as u64 + strings + roles + custom
}

/// A byte-bounded map from the exact text of a verified token to its claims.
pub(crate) struct VerifiedTokens {
    cache: Cache<Box<str>, Remembered, ByBytes>,
}

impl VerifiedTokens {
    /// `None` when `budget_bytes` is zero: every request verifies its token in full.
    pub(crate) fn new(budget_bytes: usize) -> Option<Self> {
        if budget_bytes == 0 {
            return None;
        }
        let budget = budget_bytes as u64;
        // Typical access tokens are 300-500 bytes and decode into about as much: about
        // 1 KiB charged per entry.
        let estimated_items = (budget_bytes / 1024).max(16);
        Some(Self {
            cache: Cache::with_weighter(estimated_items, budget, ByBytes),
        })
    }

    /// The claims of `token` if exactly this token was verified before and is still held.
    pub(crate) fn get(&self, token: &str) -> Option<Claims> {
        self.cache.get(token).map(|remembered| remembered.claims)
    }

    /// Remembers a token that has just passed every check.
    pub(crate) fn insert(&self, token: &str, claims: &Claims) {
        let origin = claims.origin().map_or(0, ProviderOrigin::heap_bytes);
        let weight = token.len() as u64
            + claims_bytes(claims.data())
            + claims.access_bytes()
            + origin
            + ENTRY_OVERHEAD;
        self.cache.insert(
            token.into(),
            Remembered {
                claims: claims.clone(),
                weight,
            },
        );
    }

    /// Forgets a token, e.g. one found to have expired.
    pub(crate) fn remove(&self, token: &str) {
        self.cache.remove(token);
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
    use crate::jwt::TokenKind;

    fn claims(sub: &str) -> Claims {
        Claims::from_data(ClaimsData {
            sub: sub.to_owned(),
            iat: 1,
            iat_ms: None,
            generation: None,
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
    fn many_small_custom_claims_are_charged_by_their_decoded_size() {
        let mut data = claims("7").data().clone();
        for i in 0..500 {
            data.custom.insert(format!("c{i}"), serde_json::json!([1]));
        }
        // About 4.5 KB of JSON ("c123":[1], …); decoded, several times that.
        let json_len = serde_json::to_string(&data.custom).unwrap().len() as u64;
        assert!(
            claims_bytes(&data) > 5 * json_len,
            "{} vs {json_len}",
            claims_bytes(&data)
        );
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
