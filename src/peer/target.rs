//! The server under test: a `ws://` or `wss://` URL on this machine.

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// A parsed WebSocket URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL as given.
    pub url: String,
    /// True for `wss://`.
    pub tls: bool,
    /// Host as written (without brackets for IPv6).
    pub host: String,
    /// Port (default 80 / 443).
    pub port: u16,
    /// Path plus query, at least `/`.
    pub resource: String,
}

/// A target the kit refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// Not a URL at all.
    Malformed(String),
    /// Scheme other than ws/wss.
    Scheme(String),
    /// The host did not resolve.
    Resolve(String),
    /// The host resolves to an address that is not on this machine.
    NotLoopback(String),
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::Malformed(m) => write!(f, "not a WebSocket URL: {m} (expected ws://HOST:PORT/PATH)"),
            TargetError::Scheme(s) => write!(f, "unsupported scheme {s:?} (expected ws or wss)"),
            TargetError::Resolve(m) => write!(f, "cannot resolve host: {m}"),
            TargetError::NotLoopback(h) => write!(
                f,
                "{h} is not an address on this machine; wsspec only tests servers on loopback (127.0.0.0/8, ::1, localhost)"
            ),
        }
    }
}

impl std::error::Error for TargetError {}

impl Target {
    /// Parses `ws://host:port/path?query` (or `wss://`).
    pub fn parse(s: &str) -> Result<Target, TargetError> {
        let u = url::Url::parse(s).map_err(|e| TargetError::Malformed(format!("{s}: {e}")))?;
        let tls = match u.scheme() {
            "ws" => false,
            "wss" => true,
            other => return Err(TargetError::Scheme(other.to_owned())),
        };
        let (host, port, resource) =
            url_parts(&u, tls).ok_or_else(|| TargetError::Malformed(format!("{s}: no host")))?;
        Ok(Target {
            url: s.to_owned(),
            tls,
            host,
            port,
            resource,
        })
    }

    /// A plain target for a local socket address.
    pub fn local(addr: SocketAddr, resource: &str) -> Target {
        let host = addr.ip().to_string();
        let url = match addr.ip() {
            IpAddr::V6(_) => format!("ws://[{host}]:{}{resource}", addr.port()),
            IpAddr::V4(_) => format!("ws://{host}:{}{resource}", addr.port()),
        };
        Target {
            url,
            tls: false,
            host,
            port: addr.port(),
            resource: resource.to_owned(),
        }
    }

    /// The `Host` header value.
    pub fn host_header(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The `Origin` a same-site browser page would send.
    pub fn same_origin(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.host_header()
        )
    }

    /// Resolves the host and refuses any address that is not loopback.
    pub fn resolve(&self) -> Result<SocketAddr, TargetError> {
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| TargetError::Resolve(format!("{}: {e}", self.host)))?
            .collect();
        let first = *addrs
            .first()
            .ok_or_else(|| TargetError::Resolve(self.host.clone()))?;
        if addrs.iter().any(|a| !a.ip().is_loopback()) {
            return Err(TargetError::NotLoopback(self.host.clone()));
        }
        Ok(first)
    }
}

/// Host (IPv6 without brackets), port (scheme default when absent) and path plus query
/// (at least `/`) of a parsed URL; shared by WebSocket targets and the scenario HTTP client.
pub(crate) fn url_parts(u: &url::Url, tls: bool) -> Option<(String, u16, String)> {
    let host = match u.host()? {
        url::Host::Ipv6(a) => a.to_string(),
        h => h.to_string(),
    };
    let port = u.port().unwrap_or(if tls { 443 } else { 80 });
    let mut resource = u.path().to_owned();
    if resource.is_empty() {
        resource.push('/');
    }
    if let Some(q) = u.query() {
        resource.push('?');
        resource.push_str(q);
    }
    Some((host, port, resource))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_guards() {
        let t = Target::parse("ws://127.0.0.1:5173/?token=abc").unwrap();
        assert_eq!(
            (t.port, t.resource.as_str(), t.tls),
            (5173, "/?token=abc", false)
        );
        assert_eq!(t.host_header(), "127.0.0.1:5173");
        assert!(t.resolve().is_ok());
        assert!(matches!(
            Target::parse("http://x"),
            Err(TargetError::Scheme(_))
        ));
        assert!(matches!(
            Target::parse("nonsense"),
            Err(TargetError::Malformed(_))
        ));
        let remote = Target::parse("ws://192.0.2.1:80/").unwrap();
        assert!(matches!(remote.resolve(), Err(TargetError::NotLoopback(_))));
        let v6 = Target::parse("wss://[::1]:8443/ws").unwrap();
        assert_eq!(v6.host_header(), "[::1]:8443");
    }
}
