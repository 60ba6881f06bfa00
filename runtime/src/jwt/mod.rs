//! JSON Web Tokens: claims, keys, strict verification, issuing, and the cache of verified
//! tokens.
//!
//! A token's payload always holds `sub`, `iat`, `nbf`, `exp`, `jti` (128 random bits),
//! `type` (`access`, `refresh`, `service`, `registration` or `reset`) and, by kind,
//! `fresh`, `roles`, `fam` (the refresh family, i.e. the session) and `gen` (a refresh
//! token's generation), and `iat_ms` (the revocation stamp: when the login or refresh that
//! produced the token began). `iss` and `aud` appear when
//! configured. Custom claims sit beside them and may not reuse any of these names.
//!
//! Verification is deliberately narrow. In order, a token is refused when it is:
//! larger than the size limit; not three base64url parts without padding and with
//! canonical trailing bits; a header that is not a JSON object with a known, allowed `alg`,
//! or that carries `crit`, `jwk`, `jku`, `x5u`, `x5c` or `cty`, a `typ` other than `JWT`,
//! or duplicate keys; signed with a key it cannot name (unknown `kid`, or a key bound to a
//! different algorithm); badly signed; a payload that is not a JSON object with the
//! required claims of the right types (duplicates refused); of the wrong kind; expired;
//! not yet valid (`nbf`), or issued in the future (`iat`); missing the configured `iss`
//! or `aud`.
//!
//! With identity providers configured (feature `oidc`), the steps up to the header rules
//! are shared by every token; then the token's `iss`, read from the unverified payload only
//! to choose, sends it to the instance's keys or to one provider's before any key is
//! chosen, and an issuer that is neither is refused. A provider's token then meets that
//! provider's rules (`external.rs`): its `typ` list, asymmetric algorithms only, a strictly
//! decoded payload with `iss`, `sub`, `aud`, `exp` (and `nbf`, `iat`) checked with the
//! provider's leeway, before its key is looked up.
//!
//! | file | what |
//! | --- | --- |
//! | `claims.rs` | [`Claims`], [`TokenKind`], the payload as signed and its strict decoding |
//! | `keys.rs` | the signing key and the verification keys (by `kid`), the JWKS document |
//! | `verify.rs` | the compact form and the header rules every source shares; verification of the instance's own tokens, in the order above |
//! | `external.rs` | tokens of identity providers (feature `oidc`): a provider's rules, checked before any key is chosen, and the claims they map to |
//! | `sign.rs` | issuing: a draft of the claims, signed |
//! | `cache.rs` | the tokens that passed verification, by their exact bytes |

mod cache;
mod claims;
#[cfg(feature = "oidc")]
mod external;
mod keys;
#[cfg(feature = "legacy")]
mod legacy;
mod sign;
mod verify;

pub use self::claims::{Claims, RESERVED_CLAIMS, TokenKind};
pub use self::keys::install_crypto_provider;

pub(crate) use self::cache::VerifiedTokens;
pub(crate) use self::claims::{ProviderOrigin, external_key, missing_permission, missing_role};
#[cfg(feature = "oidc")]
pub(crate) use self::external::{Checked, ProviderRules};
pub(crate) use self::keys::KeySet;
#[cfg(feature = "legacy")]
pub(crate) use self::legacy::{exchange_family, looks_legacy};
pub(crate) use self::sign::{
    Draft, custom_map, pair_from_json, pair_to_json, random_id, sign_json, sign_raw,
};
pub(crate) use self::verify::{Compact, ExpectKind, check_times, verify_own};
