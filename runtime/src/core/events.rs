//! [`TokenEvent`]: what the instance tells its listeners (audit logs).

use crate::jwt::TokenKind;

/// A token lifecycle event, for audit logs (praetorian's token hooks). Identifiers only:
/// events never carry a token, password or hash.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenEvent {
    /// A token was issued.
    Issued {
        /// Its kind.
        kind: TokenKind,
        /// The user.
        subject: String,
        /// Its `jti`.
        jti: String,
        /// Its refresh family, for access and refresh tokens.
        family: Option<String>,
    },
    /// A refresh token was spent for a new pair.
    Refreshed {
        /// The user.
        subject: String,
        /// The family.
        family: String,
        /// The `jti` of the spent refresh token.
        spent_jti: String,
    },
    /// A spent refresh token was presented again; its family is revoked.
    ReuseDetected {
        /// The user.
        subject: String,
        /// The revoked family.
        family: String,
    },
    /// One token was revoked.
    TokenRevoked {
        /// Its `jti`.
        jti: String,
    },
    /// A refresh family was revoked.
    FamilyRevoked {
        /// The family.
        family: String,
    },
    /// Every token the user held was revoked.
    UserRevoked {
        /// The user.
        subject: String,
    },
}
