//! A DNS lookup with one deadline for the whole message: every query still waiting when it
//! passes answers [`DnsError::Timeout`], and so does every query asked after it. The receiver
//! then finishes at once with `temperror` where DNS did not answer, so a slow key or SPF
//! server an attacker runs costs the message its time limit, never its checks: the message
//! still gets an Authentication-Results field and `on_dns_temperror` still applies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hanko::dns::{DnsError, Lookup, LookupFuture, Mx, TxtAnswer};
use tokio::time::Instant;

/// `inner`, cut off at `at`.
pub struct Deadline<'a> {
    inner: &'a (dyn Lookup + Send + Sync),
    at: Instant,
}

impl<'a> Deadline<'a> {
    /// Queries through `inner` until `at`.
    pub fn new(inner: &'a (dyn Lookup + Send + Sync), at: Instant) -> Deadline<'a> {
        Deadline { inner, at }
    }

    fn bound<'b, T: Send + 'b>(&self, query: LookupFuture<'b, T>) -> LookupFuture<'b, T> {
        let at = self.at;
        LookupFuture::new(async move {
            tokio::time::timeout_at(at, query)
                .await
                .unwrap_or(Err(DnsError::Timeout))
        })
    }
}

impl Lookup for Deadline<'_> {
    fn txt<'b>(&'b self, name: &'b str) -> LookupFuture<'b, TxtAnswer> {
        self.bound(self.inner.txt(name))
    }
    fn a<'b>(&'b self, name: &'b str) -> LookupFuture<'b, Vec<Ipv4Addr>> {
        self.bound(self.inner.a(name))
    }
    fn aaaa<'b>(&'b self, name: &'b str) -> LookupFuture<'b, Vec<Ipv6Addr>> {
        self.bound(self.inner.aaaa(name))
    }
    fn mx<'b>(&'b self, name: &'b str) -> LookupFuture<'b, Vec<Mx>> {
        self.bound(self.inner.mx(name))
    }
    fn ptr<'b>(&'b self, ip: IpAddr) -> LookupFuture<'b, Vec<String>> {
        self.bound(self.inner.ptr(ip))
    }
    fn cname<'b>(&'b self, name: &'b str) -> LookupFuture<'b, Option<String>> {
        self.bound(self.inner.cname(name))
    }
}
