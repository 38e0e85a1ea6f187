//! SPF (RFC 7208): may this IP address send mail for this domain?
//!
//! [`check_mail_from`] and [`check_helo`] run RFC 7208's `check_host()` for the two
//! identities; [`check_host`] is the function itself. DNS comes through a [`Lookup`], and the
//! limits of §4.6.4 are the fields of [`SpfConfig`]. The result is data: an [`SpfOutcome`]
//! with the RFC 8601 result word ([`SpfVerdict`]), the reason when it is an error
//! ([`SpfProblem`]), the term that decided, the explanation for a `fail`, and a trace of
//! every record and lookup. [`received_spf`] renders the `Received-SPF` field of §9.1.
//!
//! ```
//! # use hanko::spf::{check_mail_from, SpfConfig, SpfVerdict};
//! # use hanko::dns::{DnsError, Lookup, LookupFuture, Mx, TxtAnswer};
//! # use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
//! struct Dns;
//! impl Lookup for Dns {
//!     fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
//!         let answer = match name {
//!             "example.com" => Ok(TxtAnswer::from(vec![b"v=spf1 ip4:192.0.2.0/24 -all".to_vec()])),
//!             _ => Err(DnsError::NxDomain),
//!         };
//!         LookupFuture::ready(answer)
//!     }
//!     fn a<'a>(&'a self, _: &'a str) -> LookupFuture<'a, Vec<Ipv4Addr>> { LookupFuture::ready(Err(DnsError::NxDomain)) }
//!     fn aaaa<'a>(&'a self, _: &'a str) -> LookupFuture<'a, Vec<Ipv6Addr>> { LookupFuture::ready(Err(DnsError::NxDomain)) }
//!     fn mx<'a>(&'a self, _: &'a str) -> LookupFuture<'a, Vec<Mx>> { LookupFuture::ready(Err(DnsError::NxDomain)) }
//!     fn ptr<'a>(&'a self, _: IpAddr) -> LookupFuture<'a, Vec<String>> { LookupFuture::ready(Err(DnsError::NxDomain)) }
//! }
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let waker = std::task::Waker::noop();
//! #     let mut cx = std::task::Context::from_waker(&waker);
//! #     let mut f = std::pin::pin!(f);
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! let config = SpfConfig::default();
//! let ok = block_on(check_mail_from(&Dns, &config, "192.0.2.7".parse().unwrap(),
//!     "joe@example.com", "mail.example.com", 0));
//! assert_eq!(ok.verdict, SpfVerdict::Pass);
//! let bad = block_on(check_mail_from(&Dns, &config, "198.51.100.1".parse().unwrap(),
//!     "joe@example.com", "mail.example.com", 0));
//! assert_eq!(bad.verdict, SpfVerdict::Fail);
//! assert_eq!(bad.matched.unwrap().term, "-all");
//! ```

mod eval;
pub mod macros;
mod received;
pub mod record;

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use crate::dns::{DnsError, Lookup};

pub use eval::DEFAULT_TIME_BUDGET;
pub use received::received_spf;
pub use record::{Directive, DualCidr, Mechanism, Qualifier, Record, RecordError};

/// The SPF result (RFC 7208 §2.6), with the RFC 8601 words.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpfVerdict {
    /// No policy: no valid domain, or no SPF record.
    None,
    /// The policy makes no assertion (`?`, or nothing matched).
    Neutral,
    /// The client is authorised.
    Pass,
    /// The client is not authorised.
    Fail,
    /// The client is probably not authorised (`~`).
    SoftFail,
    /// A transient DNS error.
    TempError,
    /// The published policy cannot be interpreted.
    PermError,
}

impl SpfVerdict {
    /// The RFC 8601 / RFC 7208 word.
    pub fn as_str(self) -> &'static str {
        match self {
            SpfVerdict::None => "none",
            SpfVerdict::Neutral => "neutral",
            SpfVerdict::Pass => "pass",
            SpfVerdict::Fail => "fail",
            SpfVerdict::SoftFail => "softfail",
            SpfVerdict::TempError => "temperror",
            SpfVerdict::PermError => "permerror",
        }
    }
}

impl fmt::Display for SpfVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which identity was checked (RFC 7208 §2.3, §2.4).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpfIdentity {
    /// The MAIL FROM address (or `postmaster@` the HELO name when MAIL FROM is empty).
    MailFrom,
    /// The HELO/EHLO name.
    Helo,
}

impl SpfIdentity {
    /// `mailfrom` or `helo`, as Received-SPF's `identity=` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            SpfIdentity::MailFrom => "mailfrom",
            SpfIdentity::Helo => "helo",
        }
    }
}

/// Limits and settings. Defaults follow RFC 7208 §4.6.4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfConfig {
    /// Most terms that query DNS (`include a mx ptr exists redirect`) in one evaluation,
    /// nested policies included; one more is a permerror. Default: 10.
    pub max_dns_lookups: usize,
    /// Most MX names an `mx` mechanism may return; more is a permerror. Default: 10.
    pub max_mx_names: usize,
    /// Most PTR names tried by `ptr` and `%{p}`; the rest are ignored. Default: 10.
    pub max_ptr_names: usize,
    /// Most lookups answering NXDOMAIN or nothing; one more is a permerror. Default: 2.
    pub max_void_lookups: usize,
    /// Time for the whole evaluation, counted from the first query that has to wait for its
    /// answer (answers from memory read no clock); checked before each query, so the worst
    /// case is this plus one query timeout. Default: 20 s.
    pub time_budget: Duration,
    /// The explanation for a `fail` when the policy has no usable `exp=` (an explain-string,
    /// macros allowed). Default: `%{c} is not allowed to send mail for %{o}`.
    pub default_explanation: String,
    /// This host's name, for `%{r}` and Received-SPF `receiver=`. Default: `unknown`
    /// (RFC 7208 §7.3's value when the name is not known).
    pub receiver: String,
    /// Keep every step in [`SpfOutcome::trace`] (each query and its answer, each record and
    /// term), as `hanko spf --trace` shows it. Default: on. Checks that never show the trace
    /// (the milter, bulk verification) turn it off and save building it.
    pub keep_trace: bool,
}

impl Default for SpfConfig {
    fn default() -> Self {
        SpfConfig {
            max_dns_lookups: 10,
            max_mx_names: 10,
            max_ptr_names: 10,
            max_void_lookups: 2,
            time_budget: DEFAULT_TIME_BUDGET,
            default_explanation: "%{c} is not allowed to send mail for %{o}".into(),
            receiver: "unknown".into(),
            keep_trace: true,
        }
    }
}

/// Why the result is `none`, `temperror` or `permerror`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpfProblem {
    /// §4.3: the domain is malformed or a single label (`none`).
    InvalidDomain {
        /// The domain.
        domain: String,
    },
    /// §4.5: no SPF record at the domain, or the domain does not exist (`none`).
    NoSpfRecord {
        /// The domain.
        domain: String,
    },
    /// A DNS timeout or server failure (`temperror`).
    Dns {
        /// The name queried.
        name: String,
        /// What went wrong.
        error: DnsError,
    },
    /// [`SpfConfig::time_budget`] ran out (`temperror`).
    TimeBudgetExceeded {
        /// The budget.
        budget: Duration,
    },
    /// §4.5: more than one SPF record (`permerror`).
    MultipleRecords {
        /// The domain.
        domain: String,
        /// How many.
        count: usize,
    },
    /// A syntax error in a record (`permerror`).
    Record {
        /// The domain publishing it.
        domain: String,
        /// The error.
        error: RecordError,
    },
    /// §4.6.4: too many DNS-querying terms (`permerror`).
    TooManyDnsLookups {
        /// The limit.
        limit: usize,
    },
    /// §4.6.4: too many void lookups (`permerror`).
    TooManyVoidLookups {
        /// The limit.
        limit: usize,
    },
    /// §4.6.4: an `mx` found more names than allowed (`permerror`).
    TooManyMxNames {
        /// The domain queried.
        domain: String,
        /// Names found.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// §5.2: an `include` target has no SPF policy (`permerror`).
    IncludeWithoutPolicy {
        /// The target.
        domain: String,
    },
    /// §6.1: a `redirect` target has no SPF policy (`permerror`).
    RedirectWithoutPolicy {
        /// The target.
        domain: String,
    },
}

impl SpfProblem {
    /// The result this problem produces. Exhaustive: a new problem must choose.
    pub fn verdict(&self) -> SpfVerdict {
        match self {
            SpfProblem::InvalidDomain { .. } | SpfProblem::NoSpfRecord { .. } => SpfVerdict::None,
            SpfProblem::Dns { .. } | SpfProblem::TimeBudgetExceeded { .. } => SpfVerdict::TempError,
            SpfProblem::MultipleRecords { .. }
            | SpfProblem::Record { .. }
            | SpfProblem::TooManyDnsLookups { .. }
            | SpfProblem::TooManyVoidLookups { .. }
            | SpfProblem::TooManyMxNames { .. }
            | SpfProblem::IncludeWithoutPolicy { .. }
            | SpfProblem::RedirectWithoutPolicy { .. } => SpfVerdict::PermError,
        }
    }
}

impl fmt::Display for SpfProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpfProblem::InvalidDomain { domain } => {
                write!(f, "{domain:?} is not a valid multi-label domain name")
            }
            SpfProblem::NoSpfRecord { domain } => write!(f, "no SPF record at {domain}"),
            SpfProblem::Dns { name, error } => write!(f, "DNS lookup of {name} failed: {error}"),
            SpfProblem::TimeBudgetExceeded { budget } => {
                write!(f, "evaluation took longer than {} s", budget.as_secs_f64())
            }
            SpfProblem::MultipleRecords { domain, count } => {
                write!(
                    f,
                    "{domain} publishes {count} SPF records; exactly one is allowed"
                )
            }
            SpfProblem::Record { domain, error } => write!(f, "record of {domain}: {error}"),
            SpfProblem::TooManyDnsLookups { limit } => {
                write!(f, "more than {limit} DNS-querying terms")
            }
            SpfProblem::TooManyVoidLookups { limit } => {
                write!(f, "more than {limit} lookups found nothing")
            }
            SpfProblem::TooManyMxNames {
                domain,
                count,
                limit,
            } => write!(
                f,
                "{domain} has {count} MX names; at most {limit} are allowed"
            ),
            SpfProblem::IncludeWithoutPolicy { domain } => {
                write!(f, "included domain {domain} has no SPF record")
            }
            SpfProblem::RedirectWithoutPolicy { domain } => {
                write!(f, "redirect target {domain} has no SPF record")
            }
        }
    }
}

/// The term that decided the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedTerm {
    /// The domain whose record holds it.
    pub domain: String,
    /// The term as written, e.g. `include:_spf.example.com`.
    pub term: String,
}

/// One step of the evaluation, for `--trace`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceStep {
    /// Nesting: 0 for the checked domain, +1 inside each include or redirect.
    pub depth: usize,
    /// What happened.
    pub event: TraceEvent,
}

/// What happened in a [`TraceStep`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceEvent {
    /// A DNS query and its answer.
    Lookup {
        /// `TXT`, `A`, `AAAA`, `MX` or `PTR`.
        kind: &'static str,
        /// The name queried.
        name: String,
        /// The records (as text) or the error.
        answer: Result<Vec<String>, DnsError>,
    },
    /// The SPF record selected for a domain.
    Record {
        /// The domain.
        domain: String,
        /// The record.
        text: String,
    },
    /// A directive evaluated.
    Term {
        /// The term as written.
        term: String,
        /// Whether it matched.
        matched: bool,
    },
    /// An include about to be evaluated.
    Include {
        /// Its target.
        domain: String,
    },
    /// A redirect about to be followed.
    Redirect {
        /// Its target.
        domain: String,
    },
}

/// The result of one SPF check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfOutcome {
    /// The result.
    pub verdict: SpfVerdict,
    /// The identity checked.
    pub identity: SpfIdentity,
    /// The client address (IPv4-mapped IPv6 addresses are shown as IPv4).
    pub ip: IpAddr,
    /// The sender, `local-part@domain` (`postmaster@...` when there was no local-part).
    pub sender: String,
    /// The domain whose policy was checked.
    pub domain: String,
    /// The HELO name given.
    pub helo: String,
    /// For `fail`: the explanation (from `exp=`, or [`SpfConfig::default_explanation`]).
    pub explanation: Option<String>,
    /// For `none`, `temperror` and `permerror`: why.
    pub problem: Option<SpfProblem>,
    /// The directive that matched; `None` for the default `neutral` and for errors.
    pub matched: Option<MatchedTerm>,
    /// DNS-querying terms evaluated.
    pub dns_lookups: usize,
    /// Lookups that found nothing.
    pub void_lookups: usize,
    /// Every record and lookup, in order; empty when [`SpfConfig::keep_trace`] is off.
    pub trace: Vec<TraceStep>,
}

/// RFC 7208 §4: `check_host(ip, domain, sender)`. `sender` is `local-part@domain`; a
/// missing local-part becomes `postmaster` (§4.3). `helo` feeds `%{h}`; `now` feeds `%{t}`.
pub async fn check_host<L: Lookup + ?Sized>(
    lookup: &L,
    config: &SpfConfig,
    ip: IpAddr,
    domain: &str,
    sender: &str,
    helo: &str,
    now: u64,
) -> SpfOutcome {
    let (local_part, sender_domain) = match sender.rsplit_once('@') {
        Some((local, sender_domain)) => (local, sender_domain),
        None => ("", domain),
    };
    let local_part = if local_part.is_empty() {
        "postmaster"
    } else {
        local_part
    };
    eval::run(
        lookup,
        config,
        SpfIdentity::MailFrom,
        ip,
        local_part,
        sender_domain,
        domain,
        helo,
        now,
    )
    .await
}

/// Checks the MAIL FROM identity (RFC 7208 §2.4). An empty `mail_from` (a bounce) is
/// checked as `postmaster@` the HELO name, as the RFC defines it. Angle brackets are
/// removed.
pub async fn check_mail_from<L: Lookup + ?Sized>(
    lookup: &L,
    config: &SpfConfig,
    ip: IpAddr,
    mail_from: &str,
    helo: &str,
    now: u64,
) -> SpfOutcome {
    let mail_from = mail_from
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    if mail_from.is_empty() {
        let mut outcome = check_helo(lookup, config, ip, helo, now).await;
        outcome.identity = SpfIdentity::MailFrom;
        return outcome;
    }
    let (local_part, domain) = match mail_from.rsplit_once('@') {
        Some((local, domain)) => (
            if local.is_empty() {
                "postmaster"
            } else {
                local
            },
            domain,
        ),
        // No '@': the whole value is taken as the domain.
        None => ("postmaster", mail_from),
    };
    eval::run(
        lookup,
        config,
        SpfIdentity::MailFrom,
        ip,
        local_part,
        domain,
        domain,
        helo,
        now,
    )
    .await
}

/// Checks the HELO identity (RFC 7208 §2.3): the policy of the HELO name, with the sender
/// `postmaster@` that name.
pub async fn check_helo<L: Lookup + ?Sized>(
    lookup: &L,
    config: &SpfConfig,
    ip: IpAddr,
    helo: &str,
    now: u64,
) -> SpfOutcome {
    eval::run(
        lookup,
        config,
        SpfIdentity::Helo,
        ip,
        "postmaster",
        helo,
        helo,
        helo,
        now,
    )
    .await
}
