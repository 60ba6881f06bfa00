//! [`Centurion`]'s cookie session methods: the session cookies of a pair, clearing them,
//! refreshing and logging out from them, the CSRF token.

use http::HeaderMap;

use super::{Centurion, TokenPair};
use crate::error::Result;
use crate::jwt::{Claims, ExpectKind, TokenKind};
use crate::session::ClientInfo;
use crate::transport::{ClearSessionCookies, SessionCookies};
use crate::user::AuthUser;

impl<U: AuthUser> Centurion<U> {
    /// The session cookies for a pair just issued by [`login`](Self::login),
    /// [`issue_pair`](Self::issue_pair) or [`refresh`](Self::refresh), and the CSRF token.
    ///
    /// The access cookie lives as long as the access token, the refresh and CSRF cookies
    /// as long as the refresh family. Fails with [`ErrorKind::ConfigurationError`](crate::ErrorKind::ConfigurationError) when
    /// cookies are not a configured token location, and with the verification error when
    /// a token of the pair is no longer valid.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, CookieConfig, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .cookies(CookieConfig { secure: false, ..CookieConfig::default() })
    ///     .build()?;
    /// let pair = auth.issue_pair(&TestUser::new(1, "ada", &[])).await?;
    /// let cookies = auth.session_cookies(&pair)?;
    /// let access = cookies.set_cookie_headers()[0].to_str().unwrap();
    /// assert!(access.starts_with(&format!("access_token={};", pair.access_token)));
    /// assert!(access.contains("HttpOnly") && access.contains("SameSite=Lax"));
    /// assert!(access.contains("Max-Age=900"));
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn session_cookies(&self, pair: &TokenPair) -> Result<SessionCookies> {
        let core = &self.core;
        let settings = core.transport().cookies()?;
        let access = core.verify_claims(&pair.access_token, ExpectKind::Authenticating)?;
        let refresh =
            core.verify_claims(&pair.refresh_token, ExpectKind::Exactly(TokenKind::Refresh))?;
        settings.session(
            &pair.access_token,
            &access,
            &pair.refresh_token,
            &refresh,
            core.clock().secs(),
        )
    }

    /// The headers that delete the session cookies, for logout responses.
    ///
    /// ```
    /// # fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, CookieConfig, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .cookies(CookieConfig::default())
    ///     .build()?;
    /// let cleared = auth.clear_session_cookies()?;
    /// let access = cleared.set_cookie_headers()[0].to_str().unwrap();
    /// assert!(access.starts_with("__Host-access_token=;"));
    /// assert!(access.contains("Max-Age=0") && access.contains("Secure"));
    /// # Ok(()) }
    /// # demo().unwrap();
    /// ```
    pub fn clear_session_cookies(&self) -> Result<ClearSessionCookies> {
        self.core.transport().cookies()?.clear()
    }

    /// Refreshes the session of the refresh cookie: checks the CSRF header against it,
    /// spends the refresh token (rotation and reuse detection as in
    /// [`refresh`](Self::refresh)) and returns the new session cookies.
    ///
    /// The CSRF header is required whatever the request's method (refreshing changes
    /// state; route it as `POST`). A request without the refresh cookie is
    /// [`ErrorKind::MissingToken`](crate::ErrorKind::MissingToken); without a matching CSRF header,
    /// [`ErrorKind::CSRFError`](crate::ErrorKind::CSRFError), and the refresh token is not spent.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, CookieConfig, ErrorKind, NewUser, UserStore};
    /// use centurion::{memory::MemoryUserStore, testing::TestUser};
    /// let users = MemoryUserStore::<TestUser>::new();
    /// let user = users.create(NewUser::new("ada", "")).await?;
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(users)
    ///     .cookies(CookieConfig { secure: false, ..CookieConfig::default() })
    ///     .refresh_grace(std::time::Duration::ZERO) // strict rotation, for this example
    ///     .build()?;
    /// let pair = auth.issue_pair(&user).await?;
    /// let csrf = auth.session_cookies(&pair)?.csrf_token().to_owned();
    ///
    /// // What the browser sends back: the refresh and CSRF cookies.
    /// let mut headers = http::HeaderMap::new();
    /// let cookie = format!("refresh_token={}; csrf_token={csrf}", pair.refresh_token);
    /// headers.insert("cookie", cookie.parse().unwrap());
    /// // Without the CSRF header: refused, and the refresh token is not spent.
    /// let err = auth.refresh_from_cookies(&headers).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::CSRFError);
    ///
    /// headers.insert("x-csrf-token", csrf.parse().unwrap());
    /// let renewed = auth.refresh_from_cookies(&headers).await?;
    /// assert_eq!(renewed.csrf_token(), csrf); // the same session
    /// // The spent refresh token again: reuse, the whole session is revoked.
    /// let err = auth.refresh_from_cookies(&headers).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::RefreshReuseError);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn refresh_from_cookies(&self, headers: &HeaderMap) -> Result<SessionCookies> {
        self.refresh_from_cookies_with(headers, &ClientInfo::from_headers(headers, None))
            .await
    }

    /// [`refresh_from_cookies`](Self::refresh_from_cookies) for a known client (see
    /// [`refresh_from`](Self::refresh_from)).
    pub async fn refresh_from_cookies_with(
        &self,
        headers: &HeaderMap,
        client: &ClientInfo,
    ) -> Result<SessionCookies> {
        let core = &self.core;
        let started = core.stamp_now();
        let settings = core.transport().cookies()?;
        let token = settings.refresh_token(headers)?;
        let claims = core.verify_claims(&token, ExpectKind::Exactly(TokenKind::Refresh))?;
        settings.check_csrf(headers, &claims)?;
        let pair = self.rotate(&claims, client, started).await?;
        self.session_cookies(&pair)
    }

    /// The CSRF token of the session `claims` belong to, for applications that render it
    /// into their pages instead of reading the CSRF cookie.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, CookieConfig, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .cookies(CookieConfig::default())
    ///     .build()?;
    /// let pair = auth.issue_pair(&TestUser::new(1, "ada", &[])).await?;
    /// let claims = auth.verify_access(&pair.access_token).await?;
    /// assert_eq!(auth.csrf_token(&claims)?, auth.session_cookies(&pair)?.csrf_token());
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn csrf_token(&self, claims: &Claims) -> Result<String> {
        self.core.transport().cookies()?.csrf_token(claims)
    }

    /// Ends the session of the refresh cookie, for a cookie session whose access cookie has
    /// expired: the refresh cookie and the CSRF header of its session are checked as a
    /// refresh checks them ([`refresh_from_cookies_with`](Self::refresh_from_cookies_with)),
    /// then the session ends as with [`logout_with_refresh`](Self::logout_with_refresh).
    /// Without a refresh cookie it answers `MissingToken`.
    ///
    /// ```
    /// # async fn demo() -> Result<(), centurion::Error> {
    /// use centurion::{Centurion, CookieConfig, ErrorKind, memory::MemoryUserStore, testing::TestUser};
    /// let auth = Centurion::<TestUser>::builder()
    ///     .secret("an-example-secret-of-at-least-32-bytes!!")
    ///     .user_store(MemoryUserStore::new())
    ///     .cookies(CookieConfig { secure: false, ..CookieConfig::default() })
    ///     .build()?;
    /// let pair = auth.issue_pair(&TestUser::new(1, "ada", &[])).await?;
    /// let cookies = auth.session_cookies(&pair)?;
    /// let mut headers = http::HeaderMap::new();
    /// let jar = format!("refresh_token={}; csrf_token={}", pair.refresh_token, cookies.csrf_token());
    /// headers.insert("cookie", jar.parse().unwrap());
    /// // Without the CSRF header the session goes on.
    /// assert_eq!(auth.logout_from_cookies(&headers).await.unwrap_err().kind(), ErrorKind::CSRFError);
    /// headers.insert("x-csrf-token", cookies.csrf_token().parse().unwrap());
    /// auth.logout_from_cookies(&headers).await?;
    /// assert!(auth.refresh(&pair.refresh_token).await.is_err());
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn logout_from_cookies(&self, headers: &HeaderMap) -> Result<()> {
        let settings = self.core.transport().cookies()?;
        let token = settings.refresh_token(headers)?;
        let refresh = self
            .core
            .verify_claims(&token, ExpectKind::Exactly(TokenKind::Refresh))?;
        settings.check_csrf(headers, &refresh)?;
        self.end_refresh_session(&refresh).await
    }
}
