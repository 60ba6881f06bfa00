//! [`ClientInfo`] as an axum extractor: the `User-Agent` and the client's address as
//! [`ClientAddr`] resolves it (when the server gives connection info).

use axum::extract::{ConnectInfo, FromRequestParts};
use http::request::Parts;

use super::client_addr::{ClientAddr, TrustedProxies};
use crate::error::{Error, Result};
use crate::session::ClientInfo;

/// Extracts the `User-Agent` and the client's address (through the [`TrustedProxies`]
/// extension, as [`ClientAddr`] does; no address when the server was not run with
/// connection info). Never fails.
///
/// ```
/// use axum::{Json, Router, routing::post};
/// use centurion::{Centurion, ClientInfo, Error, TokenPair, testing::TestUser};
///
/// async fn login(auth: Centurion<TestUser>, client: ClientInfo) -> Result<Json<TokenPair>, Error> {
///     # let (name, password) = ("ada", "…");
///     Ok(Json(auth.login_from(name, password, &client).await?))
/// }
/// let app: Router = Router::new().route("/auth/login", post(login));
/// ```
impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        let ip = match parts.extensions.get::<ClientAddr>() {
            Some(addr) => Some(addr.ip()),
            None => parts
                .extensions
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .map(|ConnectInfo(peer)| {
                    let none = TrustedProxies::none();
                    let trusted = parts.extensions.get::<TrustedProxies>().unwrap_or(&none);
                    ClientAddr::resolve(peer.ip(), &parts.headers, trusted).ip()
                }),
        };
        Ok(ClientInfo::from_headers(&parts.headers, ip))
    }
}
