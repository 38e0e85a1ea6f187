//! What a receiving server checks for one message, in one call: SPF for the SMTP connection
//! and every DKIM signature at the same time (they are independent, RFC 9989 §4.8), then
//! DMARC from both, then optionally ADSP. `hanko verify` and the milter both use it; the
//! Authentication-Results field is [`crate::authres::from::receiver`] over the result.
//!
//! ```
//! # use hanko::dkim::{Verifier, VerifyConfig};
//! # use hanko::message::{split_message, Headers, MessageLimits};
//! # use hanko::receiver::{check, Connection, ReceiverConfig};
//! # use hanko::dns::{DnsError, Lookup, LookupFuture, Mx};
//! # struct NoDns;
//! # impl Lookup for NoDns {
//! #     fn txt<'a>(&'a self, _: &'a str) -> LookupFuture<'a, Vec<Vec<u8>>> { LookupFuture::ready(Err(DnsError::NxDomain)) }
//! #     fn a<'a>(&'a self, _: &'a str) -> LookupFuture<'a, Vec<std::net::Ipv4Addr>> { LookupFuture::ready(Err(DnsError::NxDomain)) }
//! #     fn aaaa<'a>(&'a self, _: &'a str) -> LookupFuture<'a, Vec<std::net::Ipv6Addr>> { LookupFuture::ready(Err(DnsError::NxDomain)) }
//! #     fn mx<'a>(&'a self, _: &'a str) -> LookupFuture<'a, Vec<Mx>> { LookupFuture::ready(Err(DnsError::NxDomain)) }
//! #     fn ptr<'a>(&'a self, _: std::net::IpAddr) -> LookupFuture<'a, Vec<String>> { LookupFuture::ready(Err(DnsError::NxDomain)) }
//! # }
//! # async fn example() {
//! let message = b"From: joe@example.com\r\nSubject: hi\r\n\r\nHello.\r\n";
//! let (head, body) = split_message(message);
//! let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
//! let mut verifier = Verifier::new(&headers, VerifyConfig::default());
//! verifier.body(body);
//! let connection = Connection {
//!     ip: "192.0.2.1".parse().unwrap(),
//!     helo: "mail.example.com",
//!     mail_from: "joe@example.com",
//! };
//! let config = ReceiverConfig::new("mx.example.net");
//! let result = check(&NoDns, &headers, verifier, Some(connection), &config, 1_795_000_000).await;
//! assert_eq!(result.dkim.results.len(), 0); // unsigned
//! assert_eq!(result.dmarc.verdict.to_string(), "none");
//! assert_eq!(result.spf.unwrap().verdict.to_string(), "none");
//! # }
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(example());
//! ```

use std::future::Future;
use std::net::IpAddr;
use std::pin::pin;
use std::task::Poll;

use crate::adsp::{self, AdspOutcome};
use crate::dkim::{Verification, Verifier};
use crate::dmarc::{self, DmarcOutcome, Identifiers};
use crate::dns::Lookup;
use crate::message::Headers;
use crate::spf::{check_mail_from, SpfConfig, SpfOutcome};

/// The SMTP facts SPF needs.
#[derive(Debug, Clone, Copy)]
pub struct Connection<'a> {
    /// The client's address.
    pub ip: IpAddr,
    /// The HELO/EHLO name.
    pub helo: &'a str,
    /// MAIL FROM without angle brackets; empty for a bounce.
    pub mail_from: &'a str,
}

/// What to check.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// The SPF settings; its `receiver` is this host's name (the authserv-id).
    pub spf: SpfConfig,
    /// Also check ADSP (RFC 5617, historic). Default: on.
    pub adsp: bool,
}

impl ReceiverConfig {
    /// Defaults, with `authserv_id` as SPF's receiver name.
    pub fn new(authserv_id: &str) -> ReceiverConfig {
        ReceiverConfig {
            spf: SpfConfig {
                receiver: authserv_id.to_string(),
                ..SpfConfig::default()
            },
            adsp: true,
        }
    }
}

/// Everything the receiver found.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// Every DKIM signature's result.
    pub dkim: Verification,
    /// SPF for the MAIL FROM identity; `None` without a connection.
    pub spf: Option<SpfOutcome>,
    /// DMARC.
    pub dmarc: DmarcOutcome,
    /// ADSP, when asked for and there is an author domain.
    pub adsp: Option<AdspOutcome>,
}

/// Runs the checks. `verifier` has been fed the whole body; `headers` are the message's.
pub async fn check<L: Lookup + ?Sized>(
    lookup: &L,
    headers: &Headers,
    verifier: Verifier,
    connection: Option<Connection<'_>>,
    config: &ReceiverConfig,
    now: u64,
) -> Receipt {
    let spf = async {
        match connection {
            Some(c) => {
                Some(check_mail_from(lookup, &config.spf, c.ip, c.mail_from, c.helo, now).await)
            }
            None => None,
        }
    };
    let (dkim, spf) = join(verifier.finish(lookup, now), spf).await;
    let dmarc = dmarc::check(
        lookup,
        headers,
        &Identifiers::from_results(&dkim, spf.as_ref()),
    )
    .await;
    let adsp = match (&dmarc.author_domain, config.adsp) {
        (Some(domain), true) => Some(adsp::check(lookup, domain, &dkim).await),
        _ => None,
    };
    Receipt {
        dkim,
        spf,
        dmarc,
        adsp,
    }
}

/// Runs two futures at once on whatever executor polls this one (the library has no runtime
/// of its own), returning both outputs.
async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut a_done = None;
    let mut b_done = None;
    std::future::poll_fn(move |cx| {
        if a_done.is_none() {
            if let Poll::Ready(out) = a.as_mut().poll(cx) {
                a_done = Some(out);
            }
        }
        if b_done.is_none() {
            if let Poll::Ready(out) = b.as_mut().poll(cx) {
                b_done = Some(out);
            }
        }
        if a_done.is_some() && b_done.is_some() {
            if let (Some(a), Some(b)) = (a_done.take(), b_done.take()) {
                return Poll::Ready((a, b));
            }
        }
        Poll::Pending
    })
    .await
}
