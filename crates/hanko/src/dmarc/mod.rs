//! DMARC (RFC 9989; RFC 7489 records keep working): ties the domains DKIM and SPF
//! authenticated to the From domain the reader sees, and applies the owner's policy.
//!
//! [`check`] takes the message's header fields and the identifiers DKIM and SPF
//! authenticated ([`Identifiers`]), finds the Author Domain of each mailbox in From, discovers
//! its policy by the DNS Tree Walk, checks alignment and returns a [`DmarcOutcome`]: the
//! verdict, the policy and the disposition (what the owner asks the receiver to do).
//!
//! ```
//! use hanko::dmarc::{self, DmarcVerdict, Identifiers, Policy};
//! use hanko::message::Headers;
//! use hanko::dns::StaticLookup;
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     let mut f = std::pin::pin!(f);
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! let dns = StaticLookup::new().with_txt("_dmarc.example.com", "v=DMARC1; p=reject");
//! let headers = Headers::parse(b"From: Joe <joe@example.com>\r\n", &Default::default())?;
//!
//! // A signature of mail.example.com passed: relaxed alignment makes that a DMARC pass.
//! let ids = Identifiers::default().with_dkim("mail.example.com", true);
//! let outcome = block_on(dmarc::check(&dns, &headers, &ids));
//! assert_eq!(outcome.verdict, DmarcVerdict::Pass);
//!
//! // Only an unrelated domain passed: the owner asks for rejection.
//! let ids = Identifiers::default().with_dkim("mailer.example.net", true);
//! let outcome = block_on(dmarc::check(&dns, &headers, &ids));
//! assert_eq!(outcome.verdict, DmarcVerdict::Fail);
//! assert_eq!(outcome.disposition, Policy::Reject);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Pitfalls
//! - DMARC authenticates the From domain, not the person: `"ceo@bank.example"
//!   <x@attacker.example>` passes for attacker.example. The analyzer shows display names
//!   that look like addresses.
//! - A From field added above a signed one: every From field and every mailbox counts here,
//!   and the strictest result is the message's, so an unsigned extra author cannot ride on a
//!   signed one.
//! - `t=y` (testing) lowers the disposition one step; it does not change the verdict.

pub mod discovery;
mod record;
pub mod reporting;

pub use record::{
    is_dmarc_record, AlignmentMode, DmarcRecord, FailureOptions, IgnoredTag, Policy, PsdFlag,
    RecordError, ReportUri,
};

use std::fmt;

use crate::dkim::{DkimVerdict, Verification};
use crate::dns::{DnsError, Lookup};
use crate::message::{domain_run, parse_mailboxes, salvage_mailboxes, Headers};
use crate::spf::{SpfOutcome, SpfVerdict};
use discovery::{exists, Answer, Walker};

/// More distinct Author Domains than this in From make the message a `permerror` instead of
/// costing up to eight DNS queries each.
pub const MAX_AUTHOR_DOMAINS: usize = 10;

/// The DMARC result words (RFC 8601 §2.7.5 / RFC 9989 §4.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DmarcVerdict {
    /// No policy: the Author Domain publishes no DMARC record.
    None,
    /// An aligned identifier passed.
    Pass,
    /// A policy exists and no aligned identifier passed.
    Fail,
    /// A DNS failure prevented the evaluation; try again later.
    TempError,
    /// The evaluation is impossible: a broken record, no usable From.
    PermError,
}

impl DmarcVerdict {
    /// The RFC 8601 word.
    pub fn as_str(self) -> &'static str {
        match self {
            DmarcVerdict::None => "none",
            DmarcVerdict::Pass => "pass",
            DmarcVerdict::Fail => "fail",
            DmarcVerdict::TempError => "temperror",
            DmarcVerdict::PermError => "permerror",
        }
    }

    /// How bad it is, for choosing the message's result among several authors.
    fn severity(self) -> u8 {
        match self {
            DmarcVerdict::Pass => 0,
            DmarcVerdict::None => 1,
            DmarcVerdict::PermError => 2,
            DmarcVerdict::TempError => 3,
            DmarcVerdict::Fail => 4,
        }
    }
}

impl fmt::Display for DmarcVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the verdict is not `pass`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DmarcProblem {
    /// The message has no From field.
    NoFromField,
    /// A From field holds no address (`From: Test User`).
    NoAuthorAddress(String),
    /// A From field with an `@` does not parse as an address list (RFC 5322 §3.4, obsolete
    /// forms included), or holds a domain literal with an `@` in it (`x@[@bank.example]`).
    /// Its domains were salvaged and evaluated, but readers disagree on what such a field
    /// says (one shows `ceo@ee.sr` where another finds only `ee`), so the author is unknown.
    UnparseableFrom(String),
    /// An Author Domain that is not a domain name (a literal, bad IDN, too long).
    BadAuthorDomain(String),
    /// More distinct Author Domains than [`MAX_AUTHOR_DOMAINS`].
    TooManyAuthorDomains(usize),
    /// The header section was over the limits and some From fields were dropped unread: the
    /// ones read were evaluated.
    FromFieldsDropped,
    /// The tree walk found no DMARC record.
    NoPolicy,
    /// The policy record is not valid.
    InvalidRecord {
        /// Where it was found.
        domain: String,
        /// What is wrong.
        error: RecordError,
    },
    /// A DNS query failed.
    Dns {
        /// The name or purpose.
        name: String,
        /// The failure.
        error: DnsError,
    },
    /// No authenticated identifier is aligned with the Author Domain.
    NotAligned,
}

impl DmarcProblem {
    /// The verdict this problem leads to (exhaustive, so a new problem cannot become `pass`).
    pub fn verdict(&self) -> DmarcVerdict {
        match self {
            DmarcProblem::NoFromField
            | DmarcProblem::NoAuthorAddress(_)
            | DmarcProblem::UnparseableFrom(_)
            | DmarcProblem::BadAuthorDomain(_)
            | DmarcProblem::TooManyAuthorDomains(_)
            | DmarcProblem::FromFieldsDropped
            | DmarcProblem::InvalidRecord { .. } => DmarcVerdict::PermError,
            DmarcProblem::NoPolicy => DmarcVerdict::None,
            DmarcProblem::Dns { .. } => DmarcVerdict::TempError,
            DmarcProblem::NotAligned => DmarcVerdict::Fail,
        }
    }
}

impl fmt::Display for DmarcProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DmarcProblem::NoFromField => write!(f, "the message has no From field"),
            DmarcProblem::NoAuthorAddress(value) => {
                write!(f, "no address in From: {:?}", value.trim())
            }
            DmarcProblem::UnparseableFrom(value) => {
                write!(f, "From does not parse as addresses: {:?}", value.trim())
            }
            DmarcProblem::BadAuthorDomain(domain) => {
                write!(f, "the From domain {domain:?} is not a domain name")
            }
            DmarcProblem::TooManyAuthorDomains(n) => write!(
                f,
                "{n} different From domains (at most {MAX_AUTHOR_DOMAINS} are evaluated)"
            ),
            DmarcProblem::FromFieldsDropped => write!(
                f,
                "the header section is over the limits; some From fields were not read"
            ),
            DmarcProblem::NoPolicy => write!(f, "no DMARC record"),
            DmarcProblem::InvalidRecord { domain, error } => {
                write!(f, "invalid DMARC record at _dmarc.{domain}: {error}")
            }
            DmarcProblem::Dns { name, error } => write!(f, "{name}: {error}"),
            DmarcProblem::NotAligned => {
                write!(
                    f,
                    "no authenticated identifier aligned with the From domain"
                )
            }
        }
    }
}

/// An identifier DKIM or SPF authenticated (or tried to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedDomain {
    /// The domain: a signature's `d=`, or the SPF-checked domain (MAIL FROM, or HELO when
    /// MAIL FROM was empty).
    pub domain: String,
    /// Whether the check passed.
    pub pass: bool,
}

/// The inputs DMARC takes from DKIM and SPF.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identifiers {
    /// One entry per DKIM signature.
    pub dkim: Vec<AuthenticatedDomain>,
    /// The SPF result for the MAIL FROM identity, when SPF was checked.
    pub spf: Option<AuthenticatedDomain>,
}

impl Identifiers {
    /// From hanko's own DKIM and SPF results.
    pub fn from_results(dkim: &Verification, spf: Option<&SpfOutcome>) -> Identifiers {
        Identifiers {
            dkim: dkim
                .results
                .iter()
                .filter_map(|r| {
                    Some(AuthenticatedDomain {
                        domain: r.domain()?.to_string(),
                        pass: r.verdict() == DkimVerdict::Pass,
                    })
                })
                .collect(),
            spf: spf.map(|o| AuthenticatedDomain {
                domain: o.domain.clone(),
                pass: o.verdict == SpfVerdict::Pass,
            }),
        }
    }

    /// Adds a DKIM result.
    pub fn with_dkim(mut self, domain: &str, pass: bool) -> Identifiers {
        self.dkim.push(AuthenticatedDomain {
            domain: domain.to_string(),
            pass,
        });
        self
    }

    /// Sets the SPF result.
    pub fn with_spf(mut self, domain: &str, pass: bool) -> Identifiers {
        self.spf = Some(AuthenticatedDomain {
            domain: domain.to_string(),
            pass,
        });
        self
    }
}

/// Which tag gave the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicySource {
    /// `p=`, the record of the Author Domain itself.
    Domain,
    /// `sp=` (or `p=` when `sp=` is absent), a record above the Author Domain.
    Subdomain,
    /// `np=`, a record above an Author Domain that does not exist.
    NonExistent,
}

/// How one identifier fared against one Author Domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alignment {
    /// The authenticated domain.
    pub domain: String,
    /// Whether its check passed.
    pub pass: bool,
    /// Whether it is aligned with the Author Domain under the record's mode.
    pub aligned: bool,
}

/// The evaluation for one Author Domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorEvaluation {
    /// The Author Domain (lower case, A-labels).
    pub author_domain: String,
    /// The result for this domain.
    pub verdict: DmarcVerdict,
    /// Why not `pass`.
    pub problem: Option<DmarcProblem>,
    /// Where the policy record was found (the Author Domain or a parent).
    pub record_domain: Option<String>,
    /// The record.
    pub record: Option<DmarcRecord>,
    /// The Author Domain's Organizational Domain (when relaxed alignment needed it or the
    /// record came from a parent).
    pub organizational_domain: Option<String>,
    /// The policy that applies (`p`, `sp` or `np`), before testing mode.
    pub policy: Option<Policy>,
    /// Which tag gave it.
    pub policy_source: Option<PolicySource>,
    /// What the owner asks for this message: `none` unless it failed; one step lower in
    /// testing mode.
    pub disposition: Policy,
    /// Each DKIM signature against this domain.
    pub dkim: Vec<Alignment>,
    /// SPF against this domain.
    pub spf: Option<Alignment>,
}

/// The DMARC result of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcOutcome {
    /// The message's result: the worst over its Author Domains.
    pub verdict: DmarcVerdict,
    /// Why not `pass`, for the Author Domain that gave the verdict.
    pub problem: Option<DmarcProblem>,
    /// The Author Domain that gave the verdict (RFC 8601 `header.from`).
    pub author_domain: Option<String>,
    /// The strictest disposition over all Author Domains.
    pub disposition: Policy,
    /// One evaluation per distinct Author Domain, in From order.
    pub evaluations: Vec<AuthorEvaluation>,
    /// What in From could not be evaluated: no From field, a From field without an address,
    /// an author whose domain is not a domain name, more Author Domains than
    /// [`MAX_AUTHOR_DOMAINS`]. Each makes the message at least a `permerror`; the authors that
    /// could be read are evaluated all the same, so a failing one still gives `fail`.
    pub unreadable_authors: Vec<DmarcProblem>,
    /// More than one From field (RFC 5322 allows one): each was evaluated.
    pub multiple_from_fields: bool,
    /// `_dmarc` queries sent.
    pub dns_queries: usize,
}

/// What a receiver enforcing DMARC does with a message whose From it could not read in full
/// ([`DmarcOutcome::unreadable_authors`]). Such a message is not valid (RFC 5322 §3.6.2);
/// the author nobody could read may be anyone, so the default assumes the worst of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnreadableAuthors {
    /// The strictest policy that any readable author publishes applies (with `t=y` lowering
    /// it one step), as if the unreadable author had failed under it; more Author Domains
    /// than [`MAX_AUTHOR_DOMAINS`] (none of them looked up), From fields dropped with an
    /// oversized header section, and a From field that does not parse (whose salvaged domains
    /// need not be what a reader shows) count as `reject`. A From with no address at all
    /// (`From: Test User`) gets no policy. Default.
    #[default]
    StrictestPolicy,
    /// `reject`, whatever the readable authors publish.
    Reject,
    /// Only the readable authors that failed count.
    Ignore,
}

impl DmarcOutcome {
    /// The policy a receiver enforcing DMARC applies to the message: the strictest
    /// disposition of the authors that failed (RFC 7489 §6.6.1, kept by RFC 9989: each author
    /// is evaluated and the strictest policy applies), raised as `unreadable` says when part
    /// of From could not be read. An unreadable co-author can never lower what a readable
    /// failing author asks for.
    pub fn enforced_policy(&self, unreadable: UnreadableAuthors) -> Policy {
        if self.unreadable_authors.is_empty() {
            return self.disposition;
        }
        // Authors nobody looked at, or a From that readers read differently, may be anyone's:
        // as strict as it gets.
        let too_many = self.unreadable_authors.iter().any(|p| {
            matches!(
                p,
                DmarcProblem::TooManyAuthorDomains(_)
                    | DmarcProblem::FromFieldsDropped
                    | DmarcProblem::UnparseableFrom(_)
            )
        });
        let for_unreadable = match unreadable {
            UnreadableAuthors::Ignore => Policy::None,
            UnreadableAuthors::Reject => Policy::Reject,
            UnreadableAuthors::StrictestPolicy if too_many => Policy::Reject,
            UnreadableAuthors::StrictestPolicy => self
                .evaluations
                .iter()
                .filter_map(|e| {
                    let testing = e.record.as_ref().is_some_and(|r| r.testing);
                    e.policy.map(|p| if testing { p.lowered() } else { p })
                })
                .max()
                .unwrap_or(Policy::None),
        };
        self.disposition.max(for_unreadable)
    }
}

/// An Author Domain in the form DMARC compares: lower case, no trailing dot, A-labels.
pub fn normalize_domain(domain: &str) -> Result<String, DmarcProblem> {
    let bad = || DmarcProblem::BadAuthorDomain(domain.to_string());
    let trimmed = domain.trim().trim_matches('.');
    crate::name::DomainName::parse_comparable(trimmed)
        .map(|name| name.as_str().to_string())
        .map_err(|_| bad())
}

/// The authors of a message's From fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authors {
    /// The distinct Author Domains, in From order (lower case, A-labels).
    pub domains: Vec<String>,
    /// What could not be read as an author (see [`DmarcOutcome::unreadable_authors`]).
    pub unreadable: Vec<DmarcProblem>,
    /// More than one From field.
    pub multiple_from_fields: bool,
}

/// Every author of every From field. A field that does not parse is salvaged
/// ([`salvage_mailboxes`]: every domain it could mean); a field or mailbox that yields no
/// usable domain is kept as a problem, and the other authors are still returned. An address
/// whose domain is not a domain name is a problem too, and the domain it starts with
/// ([`domain_run`]) is evaluated besides.
pub fn author_domains(headers: &Headers) -> Authors {
    let fields: Vec<_> = headers.named("From").collect();
    let mut authors = Authors {
        multiple_from_fields: fields.len() > 1,
        ..Authors::default()
    };
    if fields.is_empty() {
        authors.unreadable.push(DmarcProblem::NoFromField);
    }
    // Distinct domains in From order; the set keeps a From of many thousand addresses linear.
    let mut seen = std::collections::HashSet::new();
    for field in &fields {
        let value = field.unfolded_value();
        let parsed = parse_mailboxes(&value);
        // A domain literal may hold `@` and `,` (dtext, RFC 5322 §3.4.1), but readers split
        // an address there: `x@[@bank.example, y]` shows bank.example.
        let parses = parsed.as_ref().is_ok_and(|found| {
            !found
                .iter()
                .any(|m| m.domain.starts_with('[') && m.domain.contains('@'))
        });
        let mailboxes = match parsed {
            Ok(found) if parses && !found.is_empty() => found,
            _ => {
                // What does not parse is salvaged and evaluated, but counts as unreadable:
                // the salvaged domains need not be the ones a reader shows.
                // A value without `@` (`From: Test User`) shows no domain to any reader,
                // and salvages none.
                let salvaged = salvage_mailboxes(&value);
                if !parses && value.contains('@') {
                    authors
                        .unreadable
                        .push(DmarcProblem::UnparseableFrom(value.clone()));
                } else if salvaged.is_empty() {
                    authors
                        .unreadable
                        .push(DmarcProblem::NoAuthorAddress(value.clone()));
                }
                salvaged
            }
        };
        for mailbox in mailboxes {
            let domain = match normalize_domain(&mailbox.domain) {
                Ok(domain) => domain,
                Err(problem) => {
                    authors.unreadable.push(problem);
                    // `bank.example!` is no domain name, but a reader shows bank.example:
                    // that domain is evaluated too (a domain literal names no domain).
                    if mailbox.domain.starts_with('[') {
                        continue;
                    }
                    match normalize_domain(domain_run(&mailbox.domain)) {
                        Ok(domain) => domain,
                        Err(_) => continue,
                    }
                }
            };
            if seen.insert(domain.clone()) {
                authors.domains.push(domain);
            }
        }
    }
    authors
}

fn strictly_aligned(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// True when `domain` is `org` or below it.
pub(super) fn within(domain: &str, org: &str) -> bool {
    domain == org || domain.ends_with(&format!(".{org}"))
}

/// DMARC for a message: every Author Domain in From is evaluated; the worst result is the
/// message's, and the strictest disposition applies. Parts of From that cannot be evaluated
/// make the message at least a `permerror`, never hide a readable author's `fail`.
///
/// The same as [`discover`] followed by [`Discovery::evaluate`].
pub async fn check<L: Lookup + ?Sized>(
    lookup: &L,
    headers: &Headers,
    identifiers: &Identifiers,
) -> DmarcOutcome {
    discover(lookup, headers).await.evaluate(identifiers).await
}

/// The first half of DMARC, which needs only the From fields: the Author Domains and each
/// one's policy record, found by the Tree Walk. A receiver starts it beside DKIM and SPF, so
/// that DNS an attacker controls (a slow key server, a slow SPF include) cannot delay the
/// victim's policy lookup past a deadline.
pub struct Discovery<'a, L: Lookup + ?Sized> {
    walker: Walker<'a, L>,
    domains: Vec<String>,
    unreadable: Vec<DmarcProblem>,
    multiple_from_fields: bool,
}

/// Finds the Author Domains of `headers` and looks up their policies.
pub async fn discover<'a, L: Lookup + ?Sized>(
    lookup: &'a L,
    headers: &Headers,
) -> Discovery<'a, L> {
    discover_authors(lookup, author_domains(headers)).await
}

/// [`discover`] for authors already read: [`author_domains`], with what the caller knows
/// could not be read added to [`Authors::unreadable`].
pub async fn discover_authors<L: Lookup + ?Sized>(
    lookup: &L,
    authors: Authors,
) -> Discovery<'_, L> {
    let Authors {
        mut domains,
        mut unreadable,
        multiple_from_fields,
    } = authors;
    if domains.len() > MAX_AUTHOR_DOMAINS {
        // None is looked up: up to eight queries each is the attacker's to spend.
        unreadable.push(DmarcProblem::TooManyAuthorDomains(domains.len()));
        domains.clear();
    }
    let mut walker = Walker::new(lookup);
    for domain in &domains {
        // The answers stay in the walker for `evaluate`: the policy, and the names relaxed
        // alignment walks for the Author Domain's Organizational Domain.
        if let Some((_, Answer::Record(record))) = walker.policy(domain).await {
            if record.dkim_alignment == AlignmentMode::Relaxed
                || record.spf_alignment == AlignmentMode::Relaxed
            {
                let _ = walker.organizational_domain(domain).await;
            }
        }
    }
    Discovery {
        walker,
        domains,
        unreadable,
        multiple_from_fields,
    }
}

impl<L: Lookup + ?Sized> Discovery<'_, L> {
    /// The second half: alignment of what DKIM and SPF authenticated, per Author Domain.
    pub async fn evaluate(self, identifiers: &Identifiers) -> DmarcOutcome {
        let Discovery {
            mut walker,
            domains,
            unreadable,
            multiple_from_fields,
        } = self;
        let mut evaluations = Vec::new();
        for domain in &domains {
            evaluations.push(evaluate(&mut walker, domain, identifiers).await);
        }
        let worst = evaluations
            .iter()
            .max_by_key(|e| (e.verdict.severity(), e.disposition));
        // An unreadable author is a permerror: it decides unless a readable author did worse.
        let (verdict, problem, author_domain) = match (worst, unreadable.first()) {
            (Some(e), Some(p)) if e.verdict.severity() < p.verdict().severity() => {
                (p.verdict(), Some(p.clone()), None)
            }
            (Some(e), _) => (e.verdict, e.problem.clone(), Some(e.author_domain.clone())),
            (None, Some(p)) => (p.verdict(), Some(p.clone()), None),
            (None, None) => {
                let p = DmarcProblem::NoFromField;
                (p.verdict(), Some(p), None)
            }
        };
        DmarcOutcome {
            verdict,
            problem,
            author_domain,
            disposition: evaluations
                .iter()
                .map(|e| e.disposition)
                .max()
                .unwrap_or(Policy::None),
            unreadable_authors: unreadable,
            multiple_from_fields,
            dns_queries: walker.queries,
            evaluations,
        }
    }
}

/// Which of the record's policies applies to `author_domain` (the choice
/// [`DmarcRecord::policy_for`] then makes): the domain's own (`p=`) when the record is at the
/// Author Domain, `np=` when the Author Domain does not exist and `np=` says something other
/// than `sp=` would (the existence check costs queries, so it is made only then), else `sp=`.
async fn policy_source<L: Lookup + ?Sized>(
    walker: &Walker<'_, L>,
    record: &DmarcRecord,
    author_domain: &str,
    at_author: bool,
) -> PolicySource {
    if at_author {
        PolicySource::Domain
    } else if record.nonexistent_policy.is_some()
        && record.nonexistent_policy != Some(record.subdomain_policy.unwrap_or(record.policy))
        && !exists(walker.lookup(), author_domain).await
    {
        PolicySource::NonExistent
    } else {
        PolicySource::Subdomain
    }
}

/// Relaxed alignment of an authenticated `domain` with `author_domain`, whose Organizational
/// Domain is `org` (RFC 9989 §4.4): the same name, or a name under `org` whose own
/// Organizational Domain is `org`. `Err` when that lookup failed.
async fn relaxed_aligned<L: Lookup + ?Sized>(
    walker: &mut Walker<'_, L>,
    domain: &str,
    author_domain: &str,
    org: &str,
) -> Result<bool, DmarcProblem> {
    if strictly_aligned(domain, author_domain) {
        return Ok(true);
    }
    if !within(domain, org) {
        return Ok(false);
    }
    match walker.organizational_domain(domain).await {
        Ok(other) => Ok(other == org),
        Err(error) => Err(DmarcProblem::Dns {
            name: format!("Organizational Domain of {domain}"),
            error,
        }),
    }
}

/// Every authenticated identifier with whether it aligns with `author_domain` under the
/// record's modes (RFC 9989 §4.4): the DKIM ones, then SPF's. `org` is the Author Domain's
/// Organizational Domain when relaxed alignment found it; a DNS failure while aligning an
/// identifier that passed is kept in `dns_problem` (the first one).
async fn align_identifiers<L: Lookup + ?Sized>(
    walker: &mut Walker<'_, L>,
    record: &DmarcRecord,
    identifiers: &Identifiers,
    author_domain: &str,
    org: Option<&str>,
    dns_problem: &mut Option<DmarcProblem>,
) -> (Vec<Alignment>, Option<Alignment>) {
    let (mut dkim, mut spf) = (Vec::new(), None);
    let candidates = identifiers
        .dkim
        .iter()
        .map(|id| (id, record.dkim_alignment, true))
        .chain(
            identifiers
                .spf
                .iter()
                .map(|id| (id, record.spf_alignment, false)),
        );
    for (id, mode, is_dkim) in candidates {
        let domain = normalize_domain(&id.domain).unwrap_or_else(|_| id.domain.to_lowercase());
        let aligned = match (mode, org) {
            (AlignmentMode::Strict, _) | (AlignmentMode::Relaxed, None) => {
                strictly_aligned(&domain, author_domain)
            }
            (AlignmentMode::Relaxed, Some(org)) => {
                let found = relaxed_aligned(walker, &domain, author_domain, org).await;
                found.unwrap_or_else(|problem| {
                    // A failure to look up the Organizational Domain of an identifier that
                    // passed is the evaluation's problem (temperror), unless another aligns.
                    if id.pass {
                        dns_problem.get_or_insert(problem);
                    }
                    false
                })
            }
        };
        let result = Alignment {
            domain,
            pass: id.pass,
            aligned,
        };
        if is_dkim {
            dkim.push(result);
        } else {
            spf = Some(result);
        }
    }
    (dkim, spf)
}

/// DMARC for one Author Domain (already normalized, see [`normalize_domain`]).
pub async fn evaluate<L: Lookup + ?Sized>(
    walker: &mut Walker<'_, L>,
    author_domain: &str,
    identifiers: &Identifiers,
) -> AuthorEvaluation {
    let mut eval = AuthorEvaluation {
        author_domain: author_domain.to_string(),
        verdict: DmarcVerdict::None,
        problem: None,
        record_domain: None,
        record: None,
        organizational_domain: None,
        policy: None,
        policy_source: None,
        disposition: Policy::None,
        dkim: Vec::new(),
        spf: None,
    };
    let finish = |mut eval: AuthorEvaluation, problem: Option<DmarcProblem>| {
        eval.verdict = problem.as_ref().map_or(DmarcVerdict::Pass, |p| p.verdict());
        eval.problem = problem;
        eval
    };
    let (record_domain, record) = match walker.policy(author_domain).await {
        None => return finish(eval, Some(DmarcProblem::NoPolicy)),
        Some((domain, Answer::Record(record))) => (domain, record),
        Some((domain, Answer::Invalid(error))) => {
            eval.record_domain = Some(domain.clone());
            return finish(eval, Some(DmarcProblem::InvalidRecord { domain, error }));
        }
        Some((domain, Answer::TempError(error))) => {
            let name = format!("_dmarc.{domain}");
            return finish(eval, Some(DmarcProblem::Dns { name, error }));
        }
        Some((_, Answer::Nothing | Answer::Several(_))) => {
            unreachable!("Walker::policy skips names without exactly one record")
        }
    };
    let at_author = record_domain == author_domain;
    let source = policy_source(walker, &record, author_domain, at_author).await;
    let policy = record.policy_for(at_author, source != PolicySource::NonExistent);
    eval.policy = Some(policy);
    eval.policy_source = Some(source);
    eval.record_domain = Some(record_domain);

    // Identifier alignment (RFC 9989 §4.4): strict compares the names; relaxed their
    // Organizational Domains, found by the same tree walk.
    let needs_org = record.dkim_alignment == AlignmentMode::Relaxed
        || record.spf_alignment == AlignmentMode::Relaxed;
    let mut dns_problem = None;
    if needs_org {
        match walker.organizational_domain(author_domain).await {
            Ok(org) => eval.organizational_domain = Some(org),
            Err(error) => {
                dns_problem = Some(DmarcProblem::Dns {
                    name: format!("Organizational Domain of {author_domain}"),
                    error,
                })
            }
        }
    }
    let org = eval.organizational_domain.clone();
    let (dkim, spf) = align_identifiers(
        walker,
        &record,
        identifiers,
        author_domain,
        org.as_deref(),
        &mut dns_problem,
    )
    .await;
    eval.dkim = dkim;
    eval.spf = spf;
    let passed = eval
        .dkim
        .iter()
        .chain(eval.spf.iter())
        .any(|a| a.pass && a.aligned);
    let testing = record.testing;
    eval.record = Some(record);
    if passed {
        return finish(eval, None);
    }
    if let Some(problem) = dns_problem {
        return finish(eval, Some(problem));
    }
    eval.disposition = if testing { policy.lowered() } else { policy };
    finish(eval, Some(DmarcProblem::NotAligned))
}
