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
    /// A spent refresh token was presented again, outside the grace window or by another
    /// client; its session is ended.
    ReuseDetected {
        /// The user.
        subject: String,
        /// The ended session's family.
        family: String,
    },
    /// A refresh token was presented again within the refresh grace window: the pair its
    /// first use minted was issued again, and the session lives on.
    RefreshReplayed {
        /// The user.
        subject: String,
        /// The session's family.
        family: String,
    },
    /// A login started a session.
    SessionStarted {
        /// The user.
        subject: String,
        /// The session's public id.
        session: String,
        /// The session's family.
        family: String,
    },
    /// One session of a user was ended by its public id.
    SessionRevoked {
        /// The user.
        subject: String,
        /// The session's public id.
        session: String,
    },
    /// Sessions of a user were ended together (all, or all but one).
    SessionsRevoked {
        /// The user.
        subject: String,
        /// How many live sessions ended.
        count: u64,
    },
    /// One token was revoked.
    TokenRevoked {
        /// Its `jti`.
        jti: String,
    },
    /// A session was ended by its family (a logout).
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
