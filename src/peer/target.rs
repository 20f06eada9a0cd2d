//! The server under test: a `ws://` or `wss://` URL on this machine, or the same over
//! HTTP/2 (RFC 8441): `h2c://` (cleartext, prior knowledge) and `h2://` (TLS, ALPN `h2`).
//!
//! Which hosts are allowed is decided from the URL text alone: loopback literals
//! (`127.0.0.0/8`, `::1`) and the name `localhost`, which RFC 6761 §6.3 reserves for the
//! loopback addresses. No name is ever looked up (a lookup is already traffic, and a name
//! that resolves to loopback today may not tomorrow), so `localhost` maps to
//! `127.0.0.1` and `::1` without asking a resolver, and every other name is refused.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A parsed WebSocket URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL as given.
    pub url: String,
    /// True for `wss://` and `h2://`.
    pub tls: bool,
    /// True for `h2c://` and `h2://`: WebSockets over HTTP/2 (RFC 8441), one extended
    /// CONNECT stream per connection of the suite.
    pub http2: bool,
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
    /// Scheme other than ws, wss, h2c, h2.
    Scheme(String),
    /// The host is an address that is not on this machine, or a name other than
    /// `localhost` (names are refused before any lookup).
    NotLoopback(String),
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::Malformed(m) => write!(f, "not a WebSocket URL: {m} (expected ws://HOST:PORT/PATH)"),
            TargetError::Scheme(s) => write!(f, "unsupported scheme {s:?} (expected ws, wss, h2c (WebSocket over cleartext HTTP/2) or h2 (over TLS HTTP/2))"),
            TargetError::NotLoopback(h) => write!(
                f,
                "{h} is not an address on this machine; wsspec only tests servers on loopback (127.0.0.0/8, ::1, localhost) and looks up no host names"
            ),
        }
    }
}

impl std::error::Error for TargetError {}

impl Target {
    /// Parses `ws://host:port/path?query` (or `wss://`, `h2c://`, `h2://`).
    pub fn parse(s: &str) -> Result<Target, TargetError> {
        let u = url::Url::parse(s).map_err(|e| TargetError::Malformed(format!("{s}: {e}")))?;
        let (tls, http2) = match u.scheme() {
            "ws" => (false, false),
            "wss" => (true, false),
            "h2c" => (false, true),
            "h2" => (true, true),
            other => return Err(TargetError::Scheme(other.to_owned())),
        };
        let (host, port, resource) =
            url_parts(&u, tls).ok_or_else(|| TargetError::Malformed(format!("{s}: no host")))?;
        Ok(Target {
            url: s.to_owned(),
            tls,
            http2,
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
            http2: false,
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

    /// The transport name reports show: `http/1.1`, `h2c` or `h2`.
    pub fn transport(&self) -> &'static str {
        match (self.http2, self.tls) {
            (false, _) => "http/1.1",
            (true, false) => "h2c",
            (true, true) => "h2",
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

    /// The addresses to try, in order; refuses anything that is not loopback without
    /// any name lookup (see the module documentation).
    pub fn resolve(&self) -> Result<Vec<SocketAddr>, TargetError> {
        loopback_addrs(&self.host, self.port)
    }
}

/// The loopback socket addresses for `host` (as [`url_parts`] returns it: IPv6 without
/// brackets), decided from the text alone: a loopback literal gives itself, `localhost`
/// gives `127.0.0.1` then `::1`, anything else is [`TargetError::NotLoopback`]. Shared
/// by WebSocket targets and the scenario HTTP client, so both refuse the same hosts.
pub fn loopback_addrs(host: &str, port: u16) -> Result<Vec<SocketAddr>, TargetError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        // `::ffff:127.0.0.1` is loopback too once mapped back to IPv4.
        return if ip.to_canonical().is_loopback() {
            Ok(vec![SocketAddr::new(ip, port)])
        } else {
            Err(TargetError::NotLoopback(host.to_owned()))
        };
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.eq_ignore_ascii_case("localhost") {
        return Ok(vec![
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port),
        ]);
    }
    Err(TargetError::NotLoopback(host.to_owned()))
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
        assert_eq!(
            t.resolve().unwrap(),
            ["127.0.0.1:5173".parse::<SocketAddr>().unwrap()]
        );
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
        let h2c = Target::parse("h2c://127.0.0.1:8080/ws?a=1").unwrap();
        assert_eq!(
            (h2c.http2, h2c.tls, h2c.port, h2c.resource.as_str()),
            (true, false, 8080, "/ws?a=1")
        );
        assert_eq!(h2c.resolve().unwrap().len(), 1);
        let h2 = Target::parse("h2://[::1]/").unwrap();
        assert_eq!((h2.http2, h2.tls, h2.port), (true, true, 443));
        assert_eq!(h2.resolve().unwrap(), ["[::1]:443".parse().unwrap()]);
        assert!(matches!(
            Target::parse("h2c://192.0.2.1:80/").unwrap().resolve(),
            Err(TargetError::NotLoopback(_))
        ));
        let v6 = Target::parse("wss://[::1]:8443/ws").unwrap();
        assert_eq!(v6.host_header(), "[::1]:8443");
        assert_eq!(v6.resolve().unwrap(), ["[::1]:8443".parse().unwrap()]);
    }

    #[test]
    fn only_literals_and_localhost_pass() {
        let ok = |h: &str| loopback_addrs(h, 80).map(|v| v.len());
        assert_eq!(ok("127.0.0.1"), Ok(1));
        assert_eq!(ok("127.255.0.9"), Ok(1));
        assert_eq!(ok("::1"), Ok(1));
        assert_eq!(ok("::ffff:127.0.0.1"), Ok(1));
        assert_eq!(ok("localhost"), Ok(2));
        assert_eq!(ok("LocalHost."), Ok(2));
        for h in [
            "0.0.0.0",
            "::",
            "10.0.0.1",
            "::ffff:10.0.0.1",
            "example.com",
            "localhost.example.com",
            "ip6-localhost",
            "127.0.0.1.nip.io",
        ] {
            assert_eq!(ok(h), Err(TargetError::NotLoopback(h.into())), "{h}");
        }
        // The URL parser normalises shorthand IPv4 before the check sees it.
        let t = Target::parse("ws://127.1:9/").unwrap();
        assert_eq!(t.host, "127.0.0.1");
    }
}
