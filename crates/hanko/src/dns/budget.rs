//! A bound on the DNS queries one message can cause.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{DnsError, Lookup, LookupFuture, Mx, TxtAnswer};

/// A [`Lookup`] that passes at most `limit` queries to the lookup it wraps; every query after
/// them fails at once with a [`DnsError::ServerFailure`] that says the budget is spent (a
/// temporary error: RFC 8601 `temperror` for the check that asked).
///
/// Each protocol bounds its own queries (SPF's ten terms, DKIM's ten signatures, DMARC's tree
/// walk), but their sum is large, and the message's sender chooses most of it: its SPF
/// policy, its signatures, the report destinations of its DMARC record. The receiver puts the
/// checks whose queries a sender can multiply behind one budget per message
/// ([`ReceiverConfig::max_dns_queries`](crate::receiver::ReceiverConfig::max_dns_queries)),
/// and leaves DMARC's discovery of the Author Domains' policies outside it, so that spending
/// the budget never hides a policy.
///
/// ```
/// use hanko::dns::{Budget, DnsError, Lookup, StaticLookup};
///
/// let dns = StaticLookup::new().with_txt("example.com", "v=spf1 -all");
/// let budget = Budget::new(&dns, 1);
/// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # runtime.block_on(async {
/// assert!(budget.txt("example.com").await.is_ok());
/// assert!(matches!(budget.txt("example.com").await, Err(DnsError::ServerFailure(_))));
/// assert_eq!(budget.asked(), 2);
/// # });
/// ```
#[derive(Debug)]
pub struct Budget<L> {
    inner: L,
    limit: usize,
    asked: AtomicUsize,
}

impl<L: Lookup> Budget<L> {
    /// Wraps `inner`, letting `limit` queries through.
    pub fn new(inner: L, limit: usize) -> Budget<L> {
        Budget {
            inner,
            limit,
            asked: AtomicUsize::new(0),
        }
    }

    /// How many queries were asked, those refused included.
    pub fn asked(&self) -> usize {
        self.asked.load(Ordering::Relaxed)
    }

    /// Counts one query; the error when it is over the limit.
    fn spend(&self) -> Result<(), DnsError> {
        let before = self.asked.fetch_add(1, Ordering::Relaxed);
        if before < self.limit {
            Ok(())
        } else {
            Err(DnsError::ServerFailure(format!(
                "not asked: the message's budget of {} DNS queries is spent",
                self.limit
            )))
        }
    }
}

impl<L: Lookup> Lookup for Budget<L> {
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
        match self.spend() {
            Ok(()) => self.inner.txt(name),
            Err(e) => LookupFuture::ready(Err(e)),
        }
    }
    fn a<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv4Addr>> {
        match self.spend() {
            Ok(()) => self.inner.a(name),
            Err(e) => LookupFuture::ready(Err(e)),
        }
    }
    fn aaaa<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv6Addr>> {
        match self.spend() {
            Ok(()) => self.inner.aaaa(name),
            Err(e) => LookupFuture::ready(Err(e)),
        }
    }
    fn mx<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Mx>> {
        match self.spend() {
            Ok(()) => self.inner.mx(name),
            Err(e) => LookupFuture::ready(Err(e)),
        }
    }
    fn ptr<'a>(&'a self, ip: IpAddr) -> LookupFuture<'a, Vec<String>> {
        match self.spend() {
            Ok(()) => self.inner.ptr(ip),
            Err(e) => LookupFuture::ready(Err(e)),
        }
    }
    fn cname<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Option<String>> {
        match self.spend() {
            Ok(()) => self.inner.cname(name),
            Err(e) => LookupFuture::ready(Err(e)),
        }
    }
}
