//! The one error type of centurion, and its HTTP response.
//!
//! Every failure is an [`Error`] whose [`ErrorKind`] fixes the HTTP status and the
//! `error` name of the JSON body:
//!
//! ```json
//! {"error": "MissingToken", "message": "the request carries no access token", "status_code": 401}
//! ```
//!
//! A 401 also carries `WWW-Authenticate: Bearer …` (RFC 6750), and so does a 403 for a
//! missing role or permission (`error="insufficient_scope"`); a 429 carries `Retry-After`.
//! Applications that want another body install a responder with
//! [`CenturionBuilder::error_responder`](crate::CenturionBuilder::error_responder).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::log_limit::{LOG_EVERY, LogLimiter};

/// What went wrong, one variant per failure a client or operator can act on.
///
/// Each variant is named as the `error` of its JSON body ([`ErrorKind::name`]). Names
/// follow flask-praetorian's exceptions where the concept matches. The list may grow, so
/// match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request carries no token where one is required. 401.
    MissingToken,
    /// The `Authorization` header is present but is not `Bearer <token>`. 401.
    InvalidTokenHeader,
    /// The token is malformed, its signature does not verify, its algorithm or key is not
    /// accepted, or a claim is missing or of the wrong type. 401.
    InvalidTokenError,
    /// The token is larger than the configured size limit. 401.
    TokenTooLarge,
    /// The access token has expired. 401.
    ExpiredAccessError,
    /// The refresh token (or its family) has expired. 401.
    ExpiredRefreshError,
    /// A registration or reset token has expired. 401.
    ExpiredTokenError,
    /// The token's `nbf` lies in the future, or its `iat` does. 401.
    EarlyTokenError,
    /// The token was revoked (logout, reuse of a refresh token, password change …). 401.
    RevokedTokenError,
    /// A refresh token was presented a second time; its whole family is now revoked. 401.
    RefreshReuseError,
    /// A refresh token was presented where an access token is expected. 401.
    MisusedRefreshToken,
    /// An access token was presented where a refresh token is expected. 401.
    MisusedAccessToken,
    /// A registration token was presented where another kind is expected. 401.
    MisusedRegistrationToken,
    /// A reset token was presented where another kind is expected. 401.
    MisusedResetToken,
    /// The handler requires a fresh access token (one issued by a login). 401.
    FreshTokenRequired,
    /// The user lacks a role the handler requires. 403.
    MissingRoleError,
    /// The user lacks a permission the handler requires (no held role grants it, no scope
    /// of the token names it). 403.
    MissingPermissionError,
    /// The user exists but is not valid (inactive, disabled). 403.
    InvalidUserError,
    /// The token names a user that no longer exists. 401.
    MissingUserError,
    /// The username or the password is wrong (one answer for both). 401.
    AuthenticationError,
    /// A cookie-borne token came without a matching CSRF token. 401.
    #[allow(clippy::upper_case_acronyms)]
    CSRFError,
    /// Custom claims use a reserved claim name; raised when issuing. 500.
    ClaimCollisionError,
    /// Too many failed attempts; retry after the `Retry-After` delay. 429.
    TooManyRequests,
    /// The request body or a parameter is malformed. 400.
    InvalidRequest,
    /// The password is too short, too long or otherwise refused. 400.
    WeakPassword,
    /// The username (or e-mail address) is taken. 409.
    UserExists,
    /// A backing store (users, revocations, throttling) cannot be reached. 503.
    StoreUnavailable,
    /// A bounded resource is full, and the request is refused rather than queued without
    /// end: the password-hashing pool (or its share for anonymous work), the global cap on
    /// live sessions, or the throttle's table of tracked keys. 503 (with `Retry-After` where
    /// a wait is known); nothing was stored.
    Overloaded,
    /// The request was not completed in time: its handler, reading the body included, ran
    /// past the request timeout of `centurion::serve::Server` (feature `serve`). 408.
    RequestTimeout,
    /// Centurion is misconfigured; raised when building the configuration. 500.
    ConfigurationError,
    /// An unexpected internal failure. 500.
    InternalError,
}

impl ErrorKind {
    /// The HTTP status this kind answers with.
    ///
    /// ```
    /// use centurion::ErrorKind;
    /// assert_eq!(ErrorKind::MissingRoleError.status().as_u16(), 403);
    /// ```
    pub fn status(self) -> StatusCode {
        use ErrorKind::*;
        match self {
            MissingToken
            | InvalidTokenHeader
            | InvalidTokenError
            | TokenTooLarge
            | ExpiredAccessError
            | ExpiredRefreshError
            | ExpiredTokenError
            | EarlyTokenError
            | RevokedTokenError
            | RefreshReuseError
            | MisusedRefreshToken
            | MisusedAccessToken
            | MisusedRegistrationToken
            | MisusedResetToken
            | FreshTokenRequired
            | MissingUserError
            | AuthenticationError
            | CSRFError => StatusCode::UNAUTHORIZED,
            MissingRoleError | MissingPermissionError | InvalidUserError => StatusCode::FORBIDDEN,
            TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            InvalidRequest | WeakPassword => StatusCode::BAD_REQUEST,
            RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            UserExists => StatusCode::CONFLICT,
            StoreUnavailable | Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ClaimCollisionError | ConfigurationError | InternalError => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The `error` name of the JSON body, e.g. `"MissingRoleError"`.
    pub fn name(self) -> &'static str {
        use ErrorKind::*;
        match self {
            MissingToken => "MissingToken",
            InvalidTokenHeader => "InvalidTokenHeader",
            InvalidTokenError => "InvalidTokenError",
            TokenTooLarge => "TokenTooLarge",
            ExpiredAccessError => "ExpiredAccessError",
            ExpiredRefreshError => "ExpiredRefreshError",
            ExpiredTokenError => "ExpiredTokenError",
            EarlyTokenError => "EarlyTokenError",
            RevokedTokenError => "RevokedTokenError",
            RefreshReuseError => "RefreshReuseError",
            MisusedRefreshToken => "MisusedRefreshToken",
            MisusedAccessToken => "MisusedAccessToken",
            MisusedRegistrationToken => "MisusedRegistrationToken",
            MisusedResetToken => "MisusedResetToken",
            FreshTokenRequired => "FreshTokenRequired",
            MissingRoleError => "MissingRoleError",
            MissingPermissionError => "MissingPermissionError",
            InvalidUserError => "InvalidUserError",
            MissingUserError => "MissingUserError",
            AuthenticationError => "AuthenticationError",
            CSRFError => "CSRFError",
            ClaimCollisionError => "ClaimCollisionError",
            TooManyRequests => "TooManyRequests",
            InvalidRequest => "InvalidRequest",
            WeakPassword => "WeakPassword",
            UserExists => "UserExists",
            StoreUnavailable => "StoreUnavailable",
            Overloaded => "Overloaded",
            RequestTimeout => "RequestTimeout",
            ConfigurationError => "ConfigurationError",
            InternalError => "InternalError",
        }
    }

    /// The default message shown to clients. It never says whether a username exists.
    pub fn default_message(self) -> &'static str {
        use ErrorKind::*;
        match self {
            MissingToken => "the request carries no access token",
            InvalidTokenHeader => "the Authorization header must be `Bearer <token>`",
            InvalidTokenError => "the token is invalid",
            TokenTooLarge => "the token is larger than this server accepts",
            ExpiredAccessError => "the access token has expired",
            ExpiredRefreshError => "the refresh token has expired; log in again",
            ExpiredTokenError => "the token has expired",
            EarlyTokenError => "the token is not valid yet",
            RevokedTokenError => "the token has been revoked",
            RefreshReuseError => {
                "the refresh token was already used; every token of its session is revoked"
            }
            MisusedRefreshToken => "a refresh token cannot be used as an access token",
            MisusedAccessToken => "an access token cannot be used as a refresh token",
            MisusedRegistrationToken => "a registration token cannot be used here",
            MisusedResetToken => "a password-reset token cannot be used here",
            FreshTokenRequired => "this action needs a fresh login",
            MissingRoleError => "this action requires a role the user does not hold",
            MissingPermissionError => "this action requires a permission the user does not hold",
            InvalidUserError => "the user account is not active",
            MissingUserError => "the token's user does not exist",
            AuthenticationError => "the username or password is wrong",
            CSRFError => "the CSRF token is missing or does not match",
            ClaimCollisionError => "a custom claim uses a reserved claim name",
            TooManyRequests => "too many attempts; retry later",
            InvalidRequest => "the request is malformed",
            WeakPassword => "the password is not acceptable",
            UserExists => "that username or e-mail address is taken",
            StoreUnavailable => "a backing store is unavailable; retry later",
            Overloaded => "the server is busy; retry later",
            RequestTimeout => "the request was not completed in time",
            ConfigurationError => "centurion is misconfigured",
            InternalError => "internal error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error type of every fallible centurion operation.
///
/// It carries a [`kind`](Error::kind), a client-facing [`message`](Error::message) and,
/// for server-side logs only, an optional source. It never holds a token, secret,
/// password or hash.
///
/// ```
/// use centurion::{Error, ErrorKind};
/// let err = Error::new(ErrorKind::MissingRoleError).with_message("admin role required");
/// assert_eq!(err.status().as_u16(), 403);
/// assert_eq!(err.message(), "admin role required");
/// ```
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
    retry_after: Option<Duration>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error of this kind with its default message.
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            message: Cow::Borrowed(kind.default_message()),
            retry_after: None,
            source: None,
        }
    }

    /// Replaces the client-facing message. Never put a secret or a token in it.
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.message = message.into();
        self
    }

    /// Attaches an underlying cause, logged by the server but never sent to the client.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Sets the `Retry-After` delay (used with [`ErrorKind::TooManyRequests`]).
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// A [`ErrorKind::StoreUnavailable`] error caused by `source`.
    pub fn store(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::new(ErrorKind::StoreUnavailable).with_source(source)
    }

    /// A [`ErrorKind::ConfigurationError`] saying what to fix.
    pub fn config(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::ConfigurationError).with_message(message)
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The client-facing message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The `Retry-After` delay, for throttling errors.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The JSON body `{"error", "message", "status_code"}` of this error.
    ///
    /// ```
    /// use centurion::{Error, ErrorKind};
    /// let body = Error::new(ErrorKind::MissingToken).to_json();
    /// assert_eq!(body["error"], "MissingToken");
    /// assert_eq!(body["status_code"], 401);
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": self.kind.name(),
            "message": self.message,
            "status_code": self.status().as_u16(),
        })
    }

    /// The default response: JSON body, status, and the `WWW-Authenticate` or
    /// `Retry-After` header where they apply.
    pub fn default_response(&self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self.to_json()).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            let challenge = match self.kind {
                // RFC 6750 §3.1: a request without credentials gets no error code.
                ErrorKind::MissingToken => "Bearer",
                ErrorKind::InvalidTokenHeader => "Bearer error=\"invalid_request\"",
                _ => "Bearer error=\"invalid_token\"",
            };
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        } else if matches!(
            self.kind,
            ErrorKind::MissingRoleError | ErrorKind::MissingPermissionError
        ) {
            // RFC 6750 §3.1: the token is valid but does not allow this request.
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"insufficient_scope\""),
            );
        }
        if let Some(delay) = self.retry_after {
            // Round up: a client that waits the advertised seconds must not be refused again.
            let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(delay) = self.retry_after {
            d.field("retry_after", &delay);
        }
        if let Some(source) = &self.source {
            d.field("source", &source.to_string());
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// One warning per interval for answers that repeat while a dependency is down.
static UNAVAILABLE_LOG: LogLimiter = LogLimiter::new(LOG_EVERY);
static OVERLOADED_LOG: LogLimiter = LogLimiter::new(LOG_EVERY);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let limiter = match self.kind {
            ErrorKind::StoreUnavailable => Some(&UNAVAILABLE_LOG),
            ErrorKind::Overloaded => Some(&OVERLOADED_LOG),
            _ => None,
        };
        match (self.status(), limiter) {
            // A store outage or an overload fails every request alike: one line per
            // interval, with the count of the requests it stands for.
            (_, Some(limiter)) => match limiter.allow() {
                Some(held_back) => tracing::warn!(
                    error.kind = self.kind.name(),
                    error = ?self,
                    held_back,
                    "centurion request failed (held_back: failures of this kind not logged since the last line)"
                ),
                None => tracing::debug!(error.kind = self.kind.name(), "centurion request failed"),
            },
            (s, None) if s.is_server_error() => {
                tracing::warn!(error.kind = self.kind.name(), error = ?self, "centurion request failed");
            }
            _ => tracing::debug!(error.kind = self.kind.name(), "centurion refused a request"),
        }
        let mut response = self.default_response();
        response.extensions_mut().insert(std::sync::Arc::new(self));
        response
    }
}

/// Shorthand for `Result<T, centurion::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
