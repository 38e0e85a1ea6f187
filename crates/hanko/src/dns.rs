//! The DNS lookup trait the protocols use, and its error cases.
//!
//! hanko never talks to the network itself. Every protocol takes a [`Lookup`], a small
//! object-safe trait with one method per record type. `hanko-dns` implements it with
//! hickory-resolver and with RFC 1035 zone files; [`StaticLookup`] answers from a map, for
//! examples and tests.
//!
//! The error type keeps apart the cases the protocols treat differently: SPF counts
//! [`DnsError::NxDomain`] and [`DnsError::NoRecords`] as "void lookups" (RFC 7208 §4.6.4),
//! DMARC's `np=` applies only to non-existent domains, and DKIM reports a missing key
//! (`permerror`) differently from a DNS outage (`temperror`, RFC 6376 §6.1.2).

use std::fmt;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Deref;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use crate::dkim::{KeyRecord, KeyRecordError};
use crate::spf;

mod budget;
mod static_lookup;
pub use budget::Budget;
pub use static_lookup::StaticLookup;

/// Why a lookup produced no records.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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

/// TXT records together with the CNAME chain that led to them: what [`Lookup::txt`] answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxtAnswer {
    /// The records, shared: clones of one answer are the same records.
    pub records: TxtRecords,
    /// The CNAME targets followed from the queried name, in order (empty when the name held
    /// the records itself); the last one holds the records.
    pub aliases: Vec<String>,
}

impl TxtAnswer {
    /// The records' texts, copied.
    pub fn texts(&self) -> Vec<Vec<u8>> {
        self.records.texts()
    }
}

/// An answer of new records with these texts, reached without a CNAME.
impl From<Vec<Vec<u8>>> for TxtAnswer {
    fn from(texts: Vec<Vec<u8>>) -> TxtAnswer {
        TxtAnswer {
            records: TxtRecords::from(texts),
            aliases: Vec::new(),
        }
    }
}

/// One TXT record: its text (the character-strings joined), and what a protocol parsed it
/// into, kept beside it.
///
/// This is hanko's one cache of parsed records. A lookup that keeps its answers (a zone held
/// in memory, `hanko-dns`'s resolver until the TTL runs out) hands out the same records on
/// every query, so an SPF policy or a DKIM key (with aws-lc-rs's set-up of the public key) is
/// parsed once for as long as the lookup keeps the record, and is never served after DNS
/// stops returning it. A lookup that builds new records for each answer loses nothing but
/// the saving: each record is then parsed when it is read.
#[derive(Clone)]
pub struct TxtRecord {
    text: Box<[u8]>,
    parsed: OnceLock<Parsed>,
}

/// What a TXT record's text was parsed into: one closed set of the record kinds the
/// protocols parse. A text is kept parsed as the first kind it was read as; read as another
/// kind (a TXT record that is not the key or policy it was taken for), it is parsed each time.
#[derive(Clone)]
enum Parsed {
    /// A DKIM key record (RFC 6376 §3.6.1).
    DkimKey(Arc<KeyRecord>),
    /// An SPF policy (RFC 7208 §4.5).
    SpfPolicy(Arc<spf::Record>),
}

impl TxtRecord {
    /// A record with the text `text` and nothing parsed yet.
    pub fn new(text: impl Into<Box<[u8]>>) -> TxtRecord {
        TxtRecord {
            text: text.into(),
            parsed: OnceLock::new(),
        }
    }

    /// The record's text.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// True when the text has been parsed and is kept.
    pub fn is_parsed(&self) -> bool {
        self.parsed.get().is_some()
    }

    /// The record as a DKIM key record: kept from an earlier read, or parsed now (and kept
    /// when it parses).
    pub fn dkim_key(&self) -> Result<Arc<KeyRecord>, KeyRecordError> {
        if let Some(Parsed::DkimKey(key)) = self.parsed.get() {
            return Ok(Arc::clone(key));
        }
        let key = Arc::new(KeyRecord::parse(&self.text)?);
        // Another thread may have filled the room meanwhile; either value is the same parse.
        let _ = self.parsed.set(Parsed::DkimKey(Arc::clone(&key)));
        Ok(key)
    }

    /// The record as an SPF policy: kept from an earlier read, or parsed now (and kept when
    /// it parses).
    pub fn spf_policy(&self) -> Result<Arc<spf::Record>, spf::RecordError> {
        if let Some(Parsed::SpfPolicy(policy)) = self.parsed.get() {
            return Ok(Arc::clone(policy));
        }
        let policy = Arc::new(spf::Record::parse(&self.text)?);
        let _ = self.parsed.set(Parsed::SpfPolicy(Arc::clone(&policy)));
        Ok(policy)
    }
}

/// Records are equal when their texts are: what was parsed from them is only kept.
impl PartialEq for TxtRecord {
    fn eq(&self, other: &TxtRecord) -> bool {
        self.text == other.text
    }
}

impl Eq for TxtRecord {}

impl fmt::Debug for TxtRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxtRecord")
            .field("text", &String::from_utf8_lossy(&self.text))
            .field("parsed", &self.is_parsed())
            .finish()
    }
}

/// The TXT records of one name, shared: a clone is a pointer to the same records (and to
/// what was parsed from them). Reads as a slice of [`TxtRecord`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxtRecords(Arc<[TxtRecord]>);

impl Deref for TxtRecords {
    type Target = [TxtRecord];
    fn deref(&self) -> &[TxtRecord] {
        &self.0
    }
}

impl TxtRecords {
    /// The records' texts, copied.
    pub fn texts(&self) -> Vec<Vec<u8>> {
        self.iter().map(|record| record.text().to_vec()).collect()
    }
}

impl From<Vec<Vec<u8>>> for TxtRecords {
    fn from(texts: Vec<Vec<u8>>) -> TxtRecords {
        texts.into_iter().map(TxtRecord::new).collect()
    }
}

impl FromIterator<TxtRecord> for TxtRecords {
    fn from_iter<I: IntoIterator<Item = TxtRecord>>(records: I) -> TxtRecords {
        TxtRecords(records.into_iter().collect())
    }
}

/// The future a [`Lookup`] method returns: an answer at hand
/// ([`LookupFuture::ready`], nothing allocated: a zone in memory, a cache) or a query under
/// way ([`LookupFuture::new`], boxed).
///
/// ```
/// use hanko::dns::{DnsError, LookupFuture};
///
/// let at_hand: LookupFuture<'static, Vec<u8>> = LookupFuture::ready(Ok(vec![1]));
/// let under_way: LookupFuture<'static, Vec<u8>> =
///     LookupFuture::new(async { Err(DnsError::Timeout) });
/// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # assert_eq!(runtime.block_on(at_hand), Ok(vec![1]));
/// # assert_eq!(runtime.block_on(under_way), Err(DnsError::Timeout));
/// ```
pub struct LookupFuture<'a, T>(Pending<'a, T>);

enum Pending<'a, T> {
    /// The answer, until it is taken by the first poll.
    Ready(Option<Result<T, DnsError>>),
    Waiting(Pin<Box<dyn Future<Output = Result<T, DnsError>> + Send + 'a>>),
}

impl<'a, T> LookupFuture<'a, T> {
    /// A lookup whose answer is already known: ready at its first poll.
    pub fn ready(answer: Result<T, DnsError>) -> LookupFuture<'a, T> {
        LookupFuture(Pending::Ready(Some(answer)))
    }

    /// A lookup that may have to wait: `future` is boxed.
    pub fn new(
        future: impl Future<Output = Result<T, DnsError>> + Send + 'a,
    ) -> LookupFuture<'a, T> {
        LookupFuture(Pending::Waiting(Box::pin(future)))
    }
}

/// Nothing in a `LookupFuture` is pinned in place: the answer is moved out, and a future
/// under way is pinned in its box.
impl<T> Unpin for LookupFuture<'_, T> {}

impl<T> Future for LookupFuture<'_, T> {
    type Output = Result<T, DnsError>;

    fn poll(
        self: Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match &mut self.get_mut().0 {
            Pending::Ready(answer) => std::task::Poll::Ready(
                answer
                    .take()
                    .expect("a LookupFuture polled after it was ready"),
            ),
            Pending::Waiting(future) => future.as_mut().poll(context),
        }
    }
}

impl<T> fmt::Debug for LookupFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Pending::Ready(_) => "LookupFuture::ready",
            Pending::Waiting(_) => "LookupFuture::new",
        })
    }
}

/// DNS queries, as the protocols need them.
///
/// Names are given without a trailing dot and may be in any letter case. Implementations
/// follow CNAME chains themselves (a DKIM selector delegated by CNAME, as Exchange Online's
/// `selector1` is, must resolve to the TXT at the end of the chain). An empty answer is
/// `Err(DnsError::NoRecords)`, never `Ok(vec![])`.
///
/// The futures must not block: an answer at hand (a zone, a cache) is
/// [`LookupFuture::ready`], which allocates nothing and is ready at the first poll; anything
/// else is [`LookupFuture::new`] and waits by returning `Pending`. SPF's time budget
/// ([`SpfConfig::time_budget`](crate::spf::SpfConfig::time_budget)) starts at the first
/// query that waits, so answers from memory cost no clock reads; a lookup that blocked
/// inside `poll` would also stall the executor.
pub trait Lookup: Send + Sync {
    /// TXT records and the CNAME chain that led to them. Each record is one TXT record, its
    /// character-strings joined without separator (RFC 6376 §3.6.2.2, RFC 7208 §3.3).
    ///
    /// A lookup that keeps its answers should hand out the same [`TxtRecords`] (clones of
    /// one answer) for as long as it keeps them: what the protocols parse a record into (an
    /// SPF policy, a DKIM key) is kept beside the record ([`TxtRecord`]), so each is parsed
    /// once. A lookup that makes new records per answer loses only that saving.
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer>;
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
        LookupFuture::ready(Ok(None))
    }
}

impl<L: Lookup + ?Sized> Lookup for &L {
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
        (**self).txt(name)
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
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
        (**self).txt(name)
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
    fn a_txt_record_keeps_what_it_parsed_into() {
        let record = TxtRecord::new(b"v=spf1 -all".to_vec());
        assert!(!record.is_parsed());
        let first = record.spf_policy().unwrap();
        assert!(record.is_parsed());
        assert!(Arc::ptr_eq(&first, &record.spf_policy().unwrap()));
        // Clones of an answer share what was parsed.
        let shared = TxtRecords::from(vec![b"v=spf1 -all".to_vec()]);
        let copy = shared.clone();
        let kept = shared[0].spf_policy().unwrap();
        assert!(Arc::ptr_eq(&kept, &copy[0].spf_policy().unwrap()));
        // Read as another kind, the text is parsed again and the kept policy stays.
        assert!(record.dkim_key().is_err());
        assert!(Arc::ptr_eq(&first, &record.spf_policy().unwrap()));
        // A text that does not parse keeps nothing, and is read as the kind it is later.
        let key = TxtRecord::new(
            b"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=".to_vec(),
        );
        assert!(key.spf_policy().is_err());
        assert!(!key.is_parsed());
        let parsed = key.dkim_key().unwrap();
        assert!(Arc::ptr_eq(&parsed, &key.dkim_key().unwrap()));
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
