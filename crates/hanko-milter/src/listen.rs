//! The `listen` setting, in the socket notation Postfix and Sendmail use for milters.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// Where the milter listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    /// TCP: `inet:PORT@HOST` or `inet6:PORT@HOST` (HOST an IP address; default 127.0.0.1),
    /// or `HOST:PORT`.
    Tcp(SocketAddr),
    /// A UNIX socket: `unix:/path` or `local:/path`.
    Unix(PathBuf),
}

impl ListenAddr {
    /// Parses the notation; the error says what was expected.
    pub fn parse(text: &str) -> Result<ListenAddr, String> {
        let bad = || {
            format!(
                "listen = {text:?}: expected inet:PORT@IP, inet6:PORT@IP, unix:/path or IP:PORT"
            )
        };
        if let Some(path) = text
            .strip_prefix("unix:")
            .or_else(|| text.strip_prefix("local:"))
        {
            if path.is_empty() {
                return Err(bad());
            }
            return Ok(ListenAddr::Unix(PathBuf::from(path)));
        }
        if let Some(rest) = text
            .strip_prefix("inet:")
            .or_else(|| text.strip_prefix("inet6:"))
        {
            let (port, host) = rest.split_once('@').unwrap_or((rest, "127.0.0.1"));
            let port: u16 = port.parse().map_err(|_| bad())?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let ip: IpAddr = host.parse().map_err(|_| bad())?;
            return Ok(ListenAddr::Tcp(SocketAddr::new(ip, port)));
        }
        text.parse::<SocketAddr>()
            .map(ListenAddr::Tcp)
            .map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notations() {
        assert_eq!(
            ListenAddr::parse("inet:11332@127.0.0.1"),
            Ok(ListenAddr::Tcp("127.0.0.1:11332".parse().unwrap()))
        );
        assert_eq!(
            ListenAddr::parse("inet6:11332@[::1]"),
            Ok(ListenAddr::Tcp("[::1]:11332".parse().unwrap()))
        );
        assert_eq!(
            ListenAddr::parse("inet:8891"),
            Ok(ListenAddr::Tcp("127.0.0.1:8891".parse().unwrap()))
        );
        assert_eq!(
            ListenAddr::parse("unix:/run/hanko/milter.sock"),
            Ok(ListenAddr::Unix("/run/hanko/milter.sock".into()))
        );
        assert_eq!(
            ListenAddr::parse("127.0.0.1:9000"),
            Ok(ListenAddr::Tcp("127.0.0.1:9000".parse().unwrap()))
        );
        assert!(ListenAddr::parse("inet:port@host").is_err());
        assert!(ListenAddr::parse("unix:").is_err());
    }
}
