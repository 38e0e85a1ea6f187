//! The DNS lookup trait the protocols use, and its error cases.
//!
//! hanko never talks to the network itself. Every protocol takes a [`Lookup`], a small
//! object-safe trait with one method per record type. `hanko-dns` implements it with
//! hickory-resolver and with RFC 1035 zone files; tests can implement it with a map.
//!
//! The error type keeps apart the cases the protocols treat differently: SPF counts
//! [`DnsError::NxDomain`] and [`DnsError::NoRecords`] as "void lookups" (RFC 7208 §4.6.4),
//! DMARC's `np=` applies only to non-existent domains, and DKIM reports a missing key
//! (`permerror`) differently from a DNS outage (`temperror`, RFC 6376 §6.1.2).

use std::fmt;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::pin::Pin;

/// Why a lookup produced no records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsError {
    /// The name does not exist (RCODE 3, NXDOMAIN).
    NxDomain,
    /// The name exists but has no records of the asked type (NOERROR, empty answer).
    NoRecords,
    /// No answer arrived within the configured time.
    Timeout,
    /// The server answered with an error (SERVFAIL, REFUSED, a malformed reply, ...). The
    /// string says which, for the reason shown to the user.
    ServerFailure(String),
    /// The name cannot be queried: empty label, label over 63 octets, name over 253 octets.
    InvalidName(String),
}

impl DnsError {
    /// True for the errors that may go away on a later attempt (RFC 8601 `temperror`).
    pub fn is_temporary(&self) -> bool {
        match self {
            DnsError::Timeout | DnsError::ServerFailure(_) => true,
            DnsError::NxDomain | DnsError::NoRecords | DnsError::InvalidName(_) => false,
        }
    }
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::NxDomain => f.write_str("no such domain (NXDOMAIN)"),
            DnsError::NoRecords => f.write_str("no records of that type"),
            DnsError::Timeout => f.write_str("DNS timeout"),
            DnsError::ServerFailure(why) => write!(f, "DNS server failure: {why}"),
            DnsError::InvalidName(why) => write!(f, "invalid DNS name: {why}"),
        }
    }
}

impl std::error::Error for DnsError {}

/// One MX record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mx {
    /// The preference; lower is tried first.
    pub preference: u16,
    /// The mail exchanger's host name, without the trailing dot.
    pub exchange: String,
}

/// TXT records together with the CNAME chain that led to them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxtAnswer {
    /// The records, as [`Lookup::txt`] returns them.
    pub records: Vec<Vec<u8>>,
    /// The CNAME targets followed from the queried name, in order (empty when the name held
    /// the records itself); the last one holds the records.
    pub aliases: Vec<String>,
}

/// The future a [`Lookup`] method returns.
pub type LookupFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DnsError>> + Send + 'a>>;

/// DNS queries, as the protocols need them.
///
/// Names are given without a trailing dot and may be in any letter case. Implementations
/// follow CNAME chains themselves (a DKIM selector delegated by CNAME, as Exchange Online's
/// `selector1` is, must resolve to the TXT at the end of the chain). An empty answer is
/// `Err(DnsError::NoRecords)`, never `Ok(vec![])`.
///
/// The futures must not block: an answer at hand (a zone, a cache) is ready at the first
/// poll, anything else waits by returning `Pending`. SPF's time budget
/// ([`SpfConfig::time_budget`](crate::spf::SpfConfig::time_budget)) starts at the first
/// query that waits, so answers from memory cost no clock reads; a lookup that blocked
/// inside `poll` would also stall the executor.
pub trait Lookup: Send + Sync {
    /// TXT records. Each element is one record, its character-strings joined without
    /// separator (RFC 6376 §3.6.2.2, RFC 7208 §3.3).
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Vec<u8>>>;
    /// TXT records and the CNAME chain that led to them, for reports that show where a
    /// delegated DKIM key really lives. The default knows no chain: it calls
    /// [`txt`](Self::txt) and reports no aliases.
    fn txt_with_aliases<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
        Box::pin(async move {
            Ok(TxtAnswer {
                records: self.txt(name).await?,
                aliases: Vec::new(),
            })
        })
    }
    /// A records.
    fn a<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv4Addr>>;
    /// AAAA records.
    fn aaaa<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv6Addr>>;
    /// MX records.
    fn mx<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Mx>>;
    /// PTR records of the reverse name for `ip` (`in-addr.arpa` / `ip6.arpa`), host names
    /// without the trailing dot.
    fn ptr<'a>(&'a self, ip: std::net::IpAddr) -> LookupFuture<'a, Vec<String>>;
    /// The CNAME target of `name` (without the trailing dot) when `name` is an alias,
    /// `Ok(None)` when it is not or does not exist. Used to show where a delegated name
    /// leads when the chain ends nowhere. The default knows no aliases.
    fn cname<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Option<String>> {
        let _ = name;
        Box::pin(std::future::ready(Ok(None)))
    }
}

impl<L: Lookup + ?Sized> Lookup for &L {
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Vec<u8>>> {
        (**self).txt(name)
    }
    fn txt_with_aliases<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
        (**self).txt_with_aliases(name)
    }
    fn a<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv4Addr>> {
        (**self).a(name)
    }
    fn aaaa<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv6Addr>> {
        (**self).aaaa(name)
    }
    fn mx<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Mx>> {
        (**self).mx(name)
    }
    fn ptr<'a>(&'a self, ip: std::net::IpAddr) -> LookupFuture<'a, Vec<String>> {
        (**self).ptr(ip)
    }
    fn cname<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Option<String>> {
        (**self).cname(name)
    }
}

impl<L: Lookup + ?Sized> Lookup for std::sync::Arc<L> {
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Vec<u8>>> {
        (**self).txt(name)
    }
    fn txt_with_aliases<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
        (**self).txt_with_aliases(name)
    }
    fn a<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv4Addr>> {
        (**self).a(name)
    }
    fn aaaa<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv6Addr>> {
        (**self).aaaa(name)
    }
    fn mx<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Mx>> {
        (**self).mx(name)
    }
    fn ptr<'a>(&'a self, ip: std::net::IpAddr) -> LookupFuture<'a, Vec<String>> {
        (**self).ptr(ip)
    }
    fn cname<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Option<String>> {
        (**self).cname(name)
    }
}

/// Most CNAME steps a caller follows by hand with [`Lookup::cname`].
pub const MAX_ALIAS_STEPS: usize = 8;

/// Checks that `name` can be queried: labels of 1 to 63 octets, at most 253 octets in all
/// (RFC 1035 §2.3.4). A trailing dot is allowed.
pub fn check_name(name: &str) -> Result<(), DnsError> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err(DnsError::InvalidName("empty name".into()));
    }
    if trimmed.len() > 253 {
        return Err(DnsError::InvalidName(format!(
            "name of {} octets is longer than 253",
            trimmed.len()
        )));
    }
    // One pass over the octets (this runs before every lookup).
    let octets = trimmed.as_bytes();
    let mut start = 0;
    for (at, &octet) in octets.iter().enumerate() {
        if octet == b'.' {
            check_label(name, at - start)?;
            start = at + 1;
        }
    }
    check_label(name, octets.len() - start)
}

/// A label of `length` octets is 1 to 63 long.
fn check_label(name: &str, length: usize) -> Result<(), DnsError> {
    match length {
        0 => Err(DnsError::InvalidName(format!("empty label in {name:?}"))),
        1..=63 => Ok(()),
        long => Err(DnsError::InvalidName(format!(
            "label of {long} octets is longer than 63"
        ))),
    }
}

/// The reverse-lookup name of `ip`: `4.3.2.1.in-addr.arpa` or the nibble form in `ip6.arpa`.
pub fn reverse_name(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        std::net::IpAddr::V6(v6) => {
            let mut out = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                for nibble in [byte & 0x0f, byte >> 4] {
                    out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
                    out.push('.');
                }
            }
            out.push_str("ip6.arpa");
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name("192.0.2.1".parse().unwrap()),
            "1.2.0.192.in-addr.arpa"
        );
        let v6 = reverse_name("2001:db8::1".parse().unwrap());
        assert!(v6.starts_with("1.0.0.0.0.0.0.0"), "{v6}");
        assert!(v6.ends_with("8.b.d.0.1.0.0.2.ip6.arpa"), "{v6}");
    }

    #[test]
    fn name_checks() {
        assert!(check_name("example.com").is_ok());
        assert!(check_name("example.com.").is_ok());
        assert!(check_name("a..b").is_err());
        assert!(check_name(&"a".repeat(64)).is_err());
        assert!(check_name(&format!("{}.example", "a".repeat(63))).is_ok());
        assert!(check_name(&format!("x.{}.example", "a".repeat(64))).is_err());
        assert!(check_name(&format!("x.{}", "a".repeat(64))).is_err());
        assert!(check_name(".example").is_err());
        assert!(check_name("example..").is_err());
        assert!(check_name(&["a"; 130].join(".")).is_err());
        assert!(!DnsError::NxDomain.is_temporary());
        assert!(DnsError::Timeout.is_temporary());
    }
}
