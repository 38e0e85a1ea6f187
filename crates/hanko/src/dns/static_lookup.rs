//! [`StaticLookup`]: DNS answers from a map, for examples, tests and programs that know their
//! records in advance.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{DnsError, Lookup, LookupFuture, Mx, TxtAnswer, TxtRecord, TxtRecords};

/// Most CNAMEs followed from one name, as a resolver would (a loop ends here too).
const MAX_CNAMES: usize = 8;

#[derive(Debug, Clone, Default)]
struct Node {
    txt: Vec<TxtRecord>,
    /// `txt` shared, built when a record is added, so that every query hands out the same
    /// records and what a protocol parses from them is kept.
    shared_txt: TxtRecords,
    a: Vec<Ipv4Addr>,
    aaaa: Vec<Ipv6Addr>,
    mx: Vec<Mx>,
    cname: Option<String>,
    /// Every query for this name fails with this error.
    failure: Option<DnsError>,
}

/// A [`Lookup`] answering from records added to it: a name with no records is `NXDOMAIN`,
/// a name with records of other types answers `NoRecords`, CNAMEs are followed (up to 8).
/// Names compare without letter case and without a trailing dot.
///
/// ```
/// use hanko::dns::{DnsError, Lookup, StaticLookup};
///
/// let dns = StaticLookup::new()
///     .with_txt("_dmarc.example.com", "v=DMARC1; p=reject")
///     .with_a("mail.example.com", "192.0.2.1".parse().unwrap())
///     .with_cname("selector1._domainkey.example.com", "selector1._domainkey.example.net")
///     .with_fail("slow.example.org", DnsError::Timeout);
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let answer = dns.txt("_DMARC.example.com.").await.unwrap();
/// assert_eq!(answer.texts(), [b"v=DMARC1; p=reject"]);
/// assert_eq!(dns.txt("mail.example.com").await, Err(DnsError::NoRecords));
/// assert_eq!(dns.txt("nowhere.example.com").await, Err(DnsError::NxDomain));
/// assert_eq!(dns.a("slow.example.org").await, Err(DnsError::Timeout));
/// # });
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticLookup {
    names: HashMap<String, Node>,
    ptr: HashMap<IpAddr, Vec<String>>,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl StaticLookup {
    /// No records at all.
    pub fn new() -> StaticLookup {
        StaticLookup::default()
    }

    fn node(&mut self, name: &str) -> &mut Node {
        self.names.entry(key(name)).or_default()
    }

    /// Adds a TXT record (its character-strings already joined).
    pub fn with_txt(mut self, name: &str, text: impl AsRef<[u8]>) -> StaticLookup {
        let node = self.node(name);
        node.txt.push(TxtRecord::new(text.as_ref()));
        node.shared_txt = node.txt.iter().cloned().collect();
        self
    }

    /// Adds an A record.
    pub fn with_a(mut self, name: &str, address: Ipv4Addr) -> StaticLookup {
        self.node(name).a.push(address);
        self
    }

    /// Adds an AAAA record.
    pub fn with_aaaa(mut self, name: &str, address: Ipv6Addr) -> StaticLookup {
        self.node(name).aaaa.push(address);
        self
    }

    /// Adds an MX record.
    pub fn with_mx(mut self, name: &str, preference: u16, exchange: &str) -> StaticLookup {
        self.node(name).mx.push(Mx {
            preference,
            exchange: key(exchange),
        });
        self
    }

    /// Makes `name` an alias of `target`.
    pub fn with_cname(mut self, name: &str, target: &str) -> StaticLookup {
        self.node(name).cname = Some(key(target));
        self
    }

    /// Adds a PTR record for `ip`.
    pub fn with_ptr(mut self, ip: IpAddr, host: &str) -> StaticLookup {
        self.ptr.entry(ip).or_default().push(key(host));
        self
    }

    /// Makes every query for `name` fail with `error` (a timeout, a server failure).
    pub fn with_fail(mut self, name: &str, error: DnsError) -> StaticLookup {
        self.node(name).failure = Some(error);
        self
    }

    /// The node holding `name`'s records after its CNAMEs, and the aliases followed.
    fn resolve(&self, name: &str) -> Result<(&Node, Vec<String>), DnsError> {
        let mut aliases = Vec::new();
        let mut node = self.names.get(&key(name)).ok_or(DnsError::NxDomain)?;
        loop {
            if let Some(error) = &node.failure {
                return Err(error.clone());
            }
            let Some(target) = &node.cname else {
                return Ok((node, aliases));
            };
            if aliases.len() >= MAX_CNAMES {
                return Err(DnsError::ServerFailure(format!(
                    "more than {MAX_CNAMES} CNAMEs from {name}"
                )));
            }
            aliases.push(target.clone());
            node = self.names.get(target).ok_or(DnsError::NxDomain)?;
        }
    }

    fn txt_answer(&self, name: &str) -> Result<TxtAnswer, DnsError> {
        let (node, aliases) = self.resolve(name)?;
        if node.txt.is_empty() {
            return Err(DnsError::NoRecords);
        }
        Ok(TxtAnswer {
            records: node.shared_txt.clone(),
            aliases,
        })
    }

    fn answer<T: Clone>(
        &self,
        name: &str,
        records: impl Fn(&Node) -> &[T],
    ) -> Result<Vec<T>, DnsError> {
        let (node, _) = self.resolve(name)?;
        match records(node) {
            [] => Err(DnsError::NoRecords),
            found => Ok(found.to_vec()),
        }
    }
}

impl Lookup for StaticLookup {
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
        LookupFuture::ready(self.txt_answer(name))
    }

    fn a<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv4Addr>> {
        LookupFuture::ready(self.answer(name, |n| &n.a))
    }

    fn aaaa<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv6Addr>> {
        LookupFuture::ready(self.answer(name, |n| &n.aaaa))
    }

    fn mx<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Mx>> {
        LookupFuture::ready(self.answer(name, |n| &n.mx))
    }

    fn ptr<'a>(&'a self, ip: IpAddr) -> LookupFuture<'a, Vec<String>> {
        LookupFuture::ready(self.ptr.get(&ip).cloned().ok_or(DnsError::NxDomain))
    }

    fn cname<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Option<String>> {
        LookupFuture::ready(Ok(self
            .names
            .get(&key(name))
            .and_then(|node| node.cname.clone())))
    }
}
