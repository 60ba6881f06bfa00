//! [`Centurion`]'s session methods: listing a user's sessions, ending one, the others or
//! all of them, and logging out (with the access token, or the refresh token alone).

use super::{Centurion, Session};
use crate::core::TokenEvent;
use crate::error::{Error, ErrorKind, Result};
use crate::jwt::{Claims, ExpectKind, TokenKind};
use crate::user::AuthUser;

impl<U: AuthUser> Centurion<U> {
    /// The live sessions of the user of `claims`, newest first; the one `claims` belongs to
    /// is marked [`current`](Session::current). An identity provider's token has none here
    /// (its `sub` is the provider's, never one of this application's user ids).
    pub async fn sessions(&self, claims: &Claims) -> Result<Vec<Session>> {
        if claims.external_issuer().is_some() {
            return Ok(Vec::new());
        }
        let records = self.core.sessions(claims.subject()).await?;
        Ok(records
            .into_iter()
            .map(|r| Session::from_record(r, claims.family()))
            .collect())
    }

    /// The live sessions of user `id`, newest first (none marked current), e.g. for an
    /// administrator.
    pub async fn sessions_of(&self, id: &str) -> Result<Vec<Session>> {
        let records = self.core.sessions(id).await?;
        Ok(records
            .into_iter()
            .map(|r| Session::from_record(r, None))
            .collect())
    }

    /// Ends the session of user `id` whose public id is `session`: its access and refresh
    /// tokens are refused from now on. `false` when the user has no such live session.
    pub async fn revoke_session(&self, id: &str, session: &str) -> Result<bool> {
        let ended = self.core.end_session_of(id, session).await?;
        if ended {
            self.core.emit(TokenEvent::SessionRevoked {
                subject: id.to_owned(),
                session: session.to_owned(),
            });
        }
        Ok(ended)
    }

    /// Ends the session with the public id `session` of the user of `claims` (a user ending
    /// one of their own devices): `false` when that user has no such live session, and
    /// always for an identity provider's token, which has no sessions here.
    pub async fn revoke_own_session(&self, claims: &Claims, session: &str) -> Result<bool> {
        if claims.external_issuer().is_some() {
            return Ok(false);
        }
        self.revoke_session(claims.subject(), session).await
    }

    /// Ends every session of the user of `claims` except the one `claims` belongs to
    /// ("log out my other devices"), also those of logins still in flight; returns how
    /// many live sessions ended (none for an identity provider's token, which has no
    /// sessions here).
    pub async fn revoke_other_sessions(&self, claims: &Claims) -> Result<u64> {
        if claims.external_issuer().is_some() {
            return Ok(0);
        }
        self.core
            .end_sessions_of(claims.subject(), claims.family())
            .await
    }

    /// Ends every session of user `id`, also those of logins still in flight; returns how
    /// many live sessions ended. Tokens outside sessions (service tokens) stay valid; use
    /// [`revoke_user`](Self::revoke_user) to revoke everything.
    pub async fn revoke_sessions(&self, id: &str) -> Result<u64> {
        self.core.end_sessions_of(id, None).await
    }

    /// Logs out: ends the session of the access token (or revokes the token itself when it
    /// belongs to none), and the session of `refresh_token` when given (it must belong to
    /// the same user; a refresh token that is invalid or another user's is refused before
    /// anything is revoked). A client whose access token has expired logs out with its
    /// refresh token alone: [`logout_with_refresh`](Self::logout_with_refresh).
    pub async fn logout(&self, access: &Claims, refresh_token: Option<&str>) -> Result<()> {
        // The refresh token is checked before anything is revoked: a refused logout
        // changes nothing.
        let mut other_family = None;
        if let Some(token) = refresh_token {
            let refresh = self
                .core
                .verify_claims(token, ExpectKind::Exactly(TokenKind::Refresh))?;
            // A provider's `sub` is not one of our user ids: its access token never
            // vouches for one of our refresh tokens.
            if refresh.subject() != access.subject() || access.external_issuer().is_some() {
                return Err(Error::new(ErrorKind::InvalidTokenError)
                    .with_message("the refresh token belongs to another user"));
            }
            other_family = refresh
                .family()
                .filter(|f| Some(*f) != access.family())
                .map(str::to_owned);
        }
        match access.family() {
            Some(family) => self.revoke_family(family).await?,
            None => self.revoke_token(access).await?,
        }
        if let Some(family) = other_family {
            self.revoke_family(&family).await?;
        }
        Ok(())
    }

    /// Logs out with the refresh token alone: ends the session `refresh_token` belongs to
    /// (its access and refresh tokens are refused from now on). For a client whose access
    /// token has expired, or that kept only the refresh token: the refresh token proves
    /// the session as well as an access token does, and ending a session only takes
    /// rights away. A refresh token that is invalid, expired or of a session already ended
    /// is refused with the error a refresh would give, and nothing is revoked.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, ErrorKind, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .build()?;
    /// let pair = auth.issue_pair(&TestUser::new(1, "ada", &[])).await?;
    /// auth.logout_with_refresh(&pair.refresh_token).await?;
    /// let err = auth.verify_access(&pair.access_token).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::RevokedTokenError);
    /// // The session is over: the refresh token is refused, and so is a second logout.
    /// assert!(auth.refresh(&pair.refresh_token).await.is_err());
    /// assert!(auth.logout_with_refresh(&pair.refresh_token).await.is_err());
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn logout_with_refresh(&self, refresh_token: &str) -> Result<()> {
        let refresh = self
            .core
            .verify_claims(refresh_token, ExpectKind::Exactly(TokenKind::Refresh))?;
        self.end_refresh_session(&refresh).await
    }

    /// Ends the live session of verified refresh claims.
    pub(super) async fn end_refresh_session(&self, refresh: &Claims) -> Result<()> {
        self.core.check_revoked(refresh).await?;
        let Some(family) = refresh.family() else {
            return Err(Error::new(ErrorKind::InvalidTokenError)
                .with_message("the refresh token has no family"));
        };
        self.revoke_family(family).await
    }
}
