//! [`ClientAddr`]: the client's address, from the socket peer or, behind
//! [`TrustedProxies`], from `X-Forwarded-For`.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts};
use http::HeaderMap;
use http::request::Parts;

use crate::error::{Error, ErrorKind, Result};

/// The proxies whose `X-Forwarded-For` header is believed: addresses and CIDR networks.
///
/// Empty by default, and then the header is ignored entirely: the client is the socket
/// peer. List only proxies you run (your load balancer), never a public range.
///
/// ```
/// use centurion::http::TrustedProxies;
///
/// let trusted: TrustedProxies = "127.0.0.1, 10.0.0.0/8, ::1, fd00::/8".parse().unwrap();
/// assert!(trusted.contains("10.1.2.3".parse().unwrap()));
/// assert!(!trusted.contains("192.0.2.1".parse().unwrap()));
/// assert!(trusted.contains("::ffff:10.9.9.9".parse().unwrap())); // IPv4-mapped
/// assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<(IpAddr, u8)>,
}

impl TrustedProxies {
    /// No trusted proxy: `X-Forwarded-For` is ignored.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses a list of addresses and CIDR networks separated by commas or whitespace.
    /// An empty list trusts nobody.
    pub fn parse(list: &str) -> Result<Self> {
        let mut nets = Vec::new();
        for item in list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
        {
            let bad = || {
                Error::config(format!(
                    "trusted proxies: `{item}` is not an address or CIDR network"
                ))
            };
            let (addr, len) = match item.split_once('/') {
                Some((a, l)) => (a, Some(l.parse::<u8>().map_err(|_| bad())?)),
                None => (item, None),
            };
            let ip = addr.parse::<IpAddr>().map_err(|_| bad())?.to_canonical();
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let len = len.unwrap_or(max);
            if len > max {
                return Err(bad());
            }
            nets.push((mask(ip, len), len));
        }
        Ok(Self { nets })
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets
            .iter()
            .any(|(net, len)| net.is_ipv4() == ip.is_ipv4() && mask(ip, *len) == *net)
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }
}

impl FromStr for TrustedProxies {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            IpAddr::from((u32::from(v4) & m).to_be_bytes())
        }
        IpAddr::V6(v6) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & m))
        }
    }
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })
        .map(|ip: IpAddr| ip.to_canonical())
}

/// The client's address, for per-address throttling and logs; an axum extractor.
///
/// It is the socket peer's address, unless the peer is a [trusted proxy](TrustedProxies):
/// then `X-Forwarded-For` is read from the right, skipping trusted hops, and the first
/// untrusted address is the client (the right-most untrusted hop: anything left of it
/// was written by the client and may be forged). An unparsable hop stops the walk at the
/// last trusted address. With no trusted proxy, the header is ignored.
///
/// As an extractor it needs the server to be run with
/// `into_make_service_with_connect_info::<SocketAddr>()`, and reads the trusted proxies
/// from a [`TrustedProxies`] request extension (add `Extension(trusted)` as a layer;
/// none trusted without it).
///
/// ```
/// use centurion::http::{ClientAddr, TrustedProxies};
/// use http::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("x-forwarded-for", "198.51.100.9, 203.0.113.5, 10.0.0.2".parse().unwrap());
/// let peer = "10.0.0.1".parse().unwrap();
///
/// // Not trusted: the header is ignored.
/// assert_eq!(ClientAddr::resolve(peer, &headers, &TrustedProxies::none()).ip(), peer);
/// // The proxies in 10.0.0.0/8 are trusted: 203.0.113.5 is the client.
/// let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
/// assert_eq!(ClientAddr::resolve(peer, &headers, &trusted).ip().to_string(), "203.0.113.5");
/// ```
///
/// In a handler:
///
/// ```
/// use std::net::SocketAddr;
/// use axum::{Extension, Router, routing::post};
/// use centurion::http::{ClientAddr, TrustedProxies};
///
/// async fn login(ClientAddr(ip): ClientAddr) -> String {
///     ip.to_string()
/// }
///
/// let app: Router = Router::new()
///     .route("/auth/login", post(login))
///     .layer(Extension(TrustedProxies::parse("127.0.0.1").unwrap()));
/// let service = app.into_make_service_with_connect_info::<SocketAddr>();
/// # let _ = service;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// Resolves the client address from the socket peer and the request headers.
    pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> Self {
        let peer = peer.to_canonical();
        if !trusted.contains(peer) {
            return Self(peer);
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter(|h| !h.trim().is_empty())
            .collect();
        let mut current = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                return Self(current);
            };
            if !trusted.contains(ip) {
                return Self(ip);
            }
            current = ip;
        }
        Self(current)
    }

    /// The address.
    ///
    /// ```
    /// use centurion::http::ClientAddr;
    /// let addr = ClientAddr("192.0.2.1".parse().unwrap());
    /// assert_eq!(addr.ip().to_string(), "192.0.2.1");
    /// ```
    pub fn ip(&self) -> IpAddr {
        self.0
    }
}

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        if let Some(addr) = parts.extensions.get::<ClientAddr>() {
            return Ok(*addr);
        }
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            tracing::error!(
                "ClientAddr needs ConnectInfo: serve the router with centurion::serve::Server or into_make_service_with_connect_info::<SocketAddr>()"
            );
            return Err(Error::new(ErrorKind::InternalError)
                .with_message("the server cannot see the client's address"));
        };
        let none = TrustedProxies::none();
        let trusted = parts.extensions.get::<TrustedProxies>().unwrap_or(&none);
        Ok(Self::resolve(peer.ip(), &parts.headers, trusted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xff_walks_from_the_right() {
        let trusted = TrustedProxies::parse("10.0.0.0/8 192.168.0.1").unwrap();
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "1.1.1.1, 2.2.2.2".parse().unwrap());
        headers.append("x-forwarded-for", "192.168.0.1".parse().unwrap());
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(
            ClientAddr::resolve(peer, &headers, &trusted)
                .ip()
                .to_string(),
            "2.2.2.2"
        );
        // All trusted: the left-most hop.
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "10.1.1.1, 10.2.2.2".parse().unwrap());
        assert_eq!(
            ClientAddr::resolve(peer, &headers, &trusted)
                .ip()
                .to_string(),
            "10.1.1.1"
        );
        // Garbage stops at the last trusted hop.
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "1.1.1.1, junk, 10.2.2.2".parse().unwrap(),
        );
        assert_eq!(
            ClientAddr::resolve(peer, &headers, &trusted)
                .ip()
                .to_string(),
            "10.2.2.2"
        );
        // Ports and brackets.
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "[2001:db8::1]:443".parse().unwrap());
        assert_eq!(
            ClientAddr::resolve(peer, &headers, &trusted)
                .ip()
                .to_string(),
            "2001:db8::1"
        );
        // No header: the peer.
        assert_eq!(
            ClientAddr::resolve(peer, &HeaderMap::new(), &trusted).ip(),
            peer
        );
    }
}
