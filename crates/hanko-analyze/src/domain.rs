//! Domain checks: audit the records a sender publishes (SPF, DKIM keys, DMARC, MX, ADSP, and
//! the MTA-STS and TLS-RPT records) the way a receiver will read them, and say what to fix.
//!
//! [`check_domain`] returns plain data: what was found for each protocol, and a list of
//! [`Finding`]s (error, warning, note) with the RFC behind each. The `hanko check` command
//! renders it as text or JSON.
//!
//! The SPF audit differs from SPF evaluation: evaluation stops at the first match, an audit
//! follows every `include` and `redirect` so that the count of DNS-querying terms (at most
//! 10, RFC 7208 §4.6.4) and void lookups (at most 2) is what the worst-case client meets.

mod transport;

use std::collections::BTreeSet;

use hanko::dkim::KeyRecord;
use hanko::dmarc::discovery::{Answer, Walker};
use hanko::dmarc::reporting::{check_destinations, ReportDestination};
use hanko::dmarc::{DmarcRecord, Policy};
use hanko::dns::{DnsError, Lookup};
use hanko::keys::{KeyType, SigningKey};
use hanko::spf::{DualCidr, Mechanism, Qualifier, Record};

/// Selectors tried when none are given, as the big mail services name theirs: Microsoft 365
/// (`selector1`, `selector2`), Google Workspace (`google`), Mailchimp/Mandrill (`k1`, `k2`,
/// `k3`, `mandrill`), Amazon SES-style and many hosts (`s1`, `s2`, `default`, `dkim`, `mail`,
/// `key1`, `key2`), Fastmail (`fm1`..`fm3`), Proton (`protonmail`..`protonmail3`), Zoho
/// (`zoho`), SendGrid (`smtpapi`, `s1`), Postmark (`pm`), and OpenDKIM's example (`mail`).
pub const COMMON_SELECTORS: &[&str] = &[
    "selector1",
    "selector2",
    "google",
    "k1",
    "k2",
    "k3",
    "s1",
    "s2",
    "default",
    "dkim",
    "mail",
    "key1",
    "key2",
    "fm1",
    "fm2",
    "fm3",
    "protonmail",
    "protonmail2",
    "protonmail3",
    "zoho",
    "smtpapi",
    "pm",
    "mandrill",
];

/// Most DNS lookups one SPF audit makes (records, MX sets, and the addresses of `a` and `mx`
/// hosts, an A and AAAA pair counting once), so that a hostile policy cannot make the audit
/// itself unbounded. Terms past the budget are still counted against the limit of 10, but
/// not fetched.
pub const MAX_SPF_AUDIT_QUERIES: usize = 100;

/// What to check besides the defaults.
#[derive(Clone, Default)]
pub struct CheckConfig {
    /// DKIM selectors to check; a missing record for one of these is an error.
    pub selectors: Vec<String>,
    /// Also try [`COMMON_SELECTORS`] (those not found are not reported). Default: off here;
    /// `hanko check` turns it on unless `--no-probe` is given.
    pub probe_common_selectors: bool,
    /// A private key: whether some checked selector publishes its public key.
    pub private_key: Option<SigningKey>,
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Receivers will fail or ignore the record: fix it.
    Error,
    /// It works, but weakly or riskily.
    Warning,
    /// Worth knowing; nothing to fix.
    Note,
}

impl Severity {
    /// `error`, `warning` or `note`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// Which part of the domain's setup a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Area {
    /// The SPF record and what it includes.
    Spf,
    /// DKIM key records.
    Dkim,
    /// The DMARC record.
    Dmarc,
    /// MX records.
    Mx,
    /// The historic ADSP record.
    Adsp,
    /// The MTA-STS record (RFC 8461).
    MtaSts,
    /// The TLS-RPT record (RFC 8460).
    TlsRpt,
}

impl Area {
    /// `spf`, `dkim`, `dmarc`, `mx`, `adsp`, `mta-sts` or `tls-rpt`.
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Spf => "spf",
            Area::Dkim => "dkim",
            Area::Dmarc => "dmarc",
            Area::Mx => "mx",
            Area::Adsp => "adsp",
            Area::MtaSts => "mta-sts",
            Area::TlsRpt => "tls-rpt",
        }
    }
}

/// One thing the audit noticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// About what.
    pub area: Area,
    /// What, in a sentence, with the RFC section where one applies.
    pub message: String,
}

/// One tag of a record, with what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagNote {
    /// The tag name as written.
    pub tag: String,
    /// Its value.
    pub value: String,
    /// What it means, in a sentence.
    pub meaning: String,
}

fn notes(tags: &hanko::message::TagList, explain: fn(&str, &str) -> String) -> Vec<TagNote> {
    tags.tags()
        .iter()
        .map(|t| TagNote {
            tag: t.name.clone(),
            value: t.value.clone(),
            meaning: explain(&t.name.to_ascii_lowercase(), &t.value),
        })
        .collect()
}

/// What a DKIM key record tag means (RFC 6376 §3.6.1, RFC 8463).
pub fn explain_key_tag(tag: &str, value: &str) -> String {
    match tag {
        "v" => "version; DKIM1 is the only one".into(),
        "k" => format!("key type: {value} (rsa, or ed25519 by RFC 8463)"),
        "p" if value.is_empty() => "public key: empty, so the key is revoked".into(),
        "p" => "public key (base64)".into(),
        "h" => format!("hash algorithms allowed: {value} (sha1 is refused by RFC 8301)"),
        "s" => format!("service types: {value} (* or email for mail)"),
        "t" => format!("flags {value}: y = testing, s = i= must equal d= exactly"),
        "n" => "notes for people; ignored by verifiers".into(),
        "g" => "granularity (RFC 4871 only); obsolete".into(),
        _ => "unknown tag; ignored".into(),
    }
}

/// What a DMARC record tag means (RFC 9989 §4.7; RFC 7489 for the removed ones).
pub fn explain_dmarc_tag(tag: &str, value: &str) -> String {
    let policy = |v: &str| match v {
        "none" => "none: only monitor and report",
        "quarantine" => "quarantine: treat failing mail as suspicious (spam folder)",
        "reject" => "reject: refuse failing mail",
        _ => "not a policy: none, quarantine or reject",
    };
    let alignment = |v: &str| match v {
        "s" => "strict: the domain must equal the From domain",
        _ => "relaxed: the same Organizational Domain is enough",
    };
    match tag {
        "v" => "version; DMARC1".into(),
        "p" => format!("policy for the domain: {}", policy(value)),
        "sp" => format!("policy for subdomains: {}", policy(value)),
        "np" => format!("policy for subdomains that do not exist: {}", policy(value)),
        "adkim" => format!("DKIM alignment {}", alignment(value)),
        "aspf" => format!("SPF alignment {}", alignment(value)),
        "rua" => "where aggregate reports go (RFC 9990)".into(),
        "ruf" => "where failure reports go (RFC 9991)".into(),
        "fo" => format!(
            "when to send failure reports: {value} (0 all fail, 1 any fails, d DKIM, s SPF)"
        ),
        "psd" => format!("public suffix domain flag: {value}"),
        "t" => format!("testing {value}: y applies the policy one step weaker"),
        "pct" | "rf" | "ri" => "removed by RFC 9989; has no effect".into(),
        _ => "unknown tag; ignored".into(),
    }
}

/// An SPF record found while following a policy, and what it leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfNode {
    /// How it was reached: `record` (the domain's own), `include` or `redirect`.
    pub via: &'static str,
    /// The domain whose record this is.
    pub domain: String,
    /// The record text, when exactly one was found.
    pub record: Option<String>,
    /// Why there is no usable record here, when there is none.
    pub problem: Option<String>,
    /// The records it includes or redirects to, in order.
    pub children: Vec<SpfNode>,
}

/// The SPF part of the audit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpfCheck {
    /// Every `v=spf1` TXT record at the domain (more than one is a permerror).
    pub records: Vec<String>,
    /// The policy tree, when there was exactly one record.
    pub tree: Option<SpfNode>,
    /// DNS-querying terms over the whole tree (`include a mx ptr exists redirect`).
    pub dns_lookups: usize,
    /// Lookups that found nothing.
    pub void_lookups: usize,
    /// The address ranges the policy passes (`+` terms: `ip4`, `ip6`, and the addresses of
    /// `a` and `mx`), as `address/prefix`, sorted.
    pub authorized: Vec<String>,
}

/// One DKIM selector's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorCheck {
    /// The selector.
    pub selector: String,
    /// The name queried, `<selector>._domainkey.<domain>`.
    pub name: String,
    /// CNAMEs the lookup went through (Microsoft 365 and other hosts delegate this way).
    pub cname_chain: Vec<String>,
    /// The record text, when found.
    pub record: Option<String>,
    /// `k=`, when the record parsed.
    pub key_type: Option<KeyType>,
    /// Key size in bits, when the record parsed and has a key.
    pub bits: Option<usize>,
    /// `p=` is empty: the key is revoked.
    pub revoked: bool,
    /// `t=y`: testing mode.
    pub testing: bool,
    /// Whether the configured private key matches this record.
    pub matches_private_key: Option<bool>,
    /// Why the record is unusable, or was not found.
    pub problem: Option<String>,
    /// The record's tags explained.
    pub tags: Vec<TagNote>,
}

/// The DMARC part of the audit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DmarcCheck {
    /// The domain whose `_dmarc` record applies (the domain itself or, by the Tree Walk of
    /// RFC 9989 §4.10, a parent).
    pub found_at: Option<String>,
    /// The record text as parsed, when valid.
    pub record: Option<DmarcRecord>,
    /// The Organizational Domain.
    pub organizational_domain: Option<String>,
    /// Each `rua`/`ruf` destination and whether it agreed to receive reports.
    pub report_destinations: Vec<ReportDestination>,
    /// Why there is no usable record.
    pub problem: Option<String>,
    /// The record's tags explained.
    pub tags: Vec<TagNote>,
}

/// Everything the audit found for one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainCheck {
    /// The domain, lower case.
    pub domain: String,
    /// SPF.
    pub spf: SpfCheck,
    /// DKIM, one entry per selector checked (probed selectors only when found).
    pub dkim: Vec<SelectorCheck>,
    /// DMARC.
    pub dmarc: DmarcCheck,
    /// The domain's MX records, `preference exchange`.
    pub mx: Vec<String>,
    /// The historic ADSP record (`_adsp._domainkey`), when one is published.
    pub adsp: Option<String>,
    /// The MTA-STS record (`_mta-sts`), when one valid record is published.
    pub mta_sts: Option<String>,
    /// The TLS-RPT record (`_smtp._tls`), when one valid record is published.
    pub tls_rpt: Option<String>,
    /// Every finding, errors first.
    pub findings: Vec<Finding>,
}

impl DomainCheck {
    /// A letter for the whole: A (no errors or warnings), B (warnings only), C (one error),
    /// D (two errors), F (three or more).
    pub fn grade(&self) -> char {
        let errors = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        let warnings = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count();
        match (errors, warnings) {
            (0, 0) => 'A',
            (0, _) => 'B',
            (1, _) => 'C',
            (2, _) => 'D',
            _ => 'F',
        }
    }

    /// Up to `n` findings to fix first: errors, then warnings.
    pub fn fix_first(&self, n: usize) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity != Severity::Note)
            .take(n)
            .collect()
    }
}

/// Audits `domain`'s published records.
pub async fn check_domain<L: Lookup + ?Sized>(
    lookup: &L,
    domain: &str,
    config: &CheckConfig,
) -> DomainCheck {
    // The form records are published under (`bücher.example` is asked as its A-labels); a
    // name that is none is asked as written, and its lookups say why they fail.
    let domain = match hanko::name::DomainName::parse_comparable(domain) {
        Ok(name) => name.as_str().to_string(),
        Err(_) => domain.trim_end_matches('.').to_ascii_lowercase(),
    };
    let mut findings = Vec::new();
    let spf = check_spf(lookup, &domain, &mut findings).await;
    let dkim = check_dkim(lookup, &domain, config, &mut findings).await;
    let dmarc = check_dmarc(lookup, &domain, &mut findings).await;
    let mx = check_mx(lookup, &domain, &mut findings).await;
    let adsp = check_adsp(lookup, &domain, &mut findings).await;
    let mta_sts = transport::check_mta_sts(lookup, &domain, &mut findings).await;
    let tls_rpt = transport::check_tls_rpt(lookup, &domain, mta_sts.is_some(), &mut findings).await;
    findings.sort_by_key(|f| (f.severity, f.area));
    DomainCheck {
        domain,
        spf,
        dkim,
        dmarc,
        mx,
        adsp,
        mta_sts,
        tls_rpt,
        findings,
    }
}

fn add(findings: &mut Vec<Finding>, severity: Severity, area: Area, message: String) {
    findings.push(Finding {
        severity,
        area,
        message,
    });
}

/// The `v=spf1` records at `domain`, or the lookup error.
async fn spf_records<L: Lookup + ?Sized>(
    lookup: &L,
    domain: &str,
) -> Result<Vec<String>, DnsError> {
    let answer = lookup.txt(domain).await?;
    Ok(answer
        .records
        .iter()
        .filter(|r| hanko::spf::record::is_spf_record(r.text()))
        .map(|r| String::from_utf8_lossy(r.text()).into_owned())
        .collect())
}

struct SpfWalk<'a, L: Lookup + ?Sized> {
    lookup: &'a L,
    queries: usize,
    dns_lookups: usize,
    void_lookups: usize,
    authorized: BTreeSet<String>,
    findings: Vec<Finding>,
    ptr_warned: bool,
}

impl<L: Lookup + ?Sized> SpfWalk<'_, L> {
    /// The A and AAAA addresses of `name`, added to the authorized ranges when `plus`:
    /// `Some(found anything)`, or `None` when the query budget is spent.
    async fn addresses(&mut self, name: &str, cidr: DualCidr, plus: bool) -> Option<bool> {
        if !self.spend() {
            return None;
        }
        let mut found = false;
        if let Ok(ips) = self.lookup.a(name).await {
            found |= !ips.is_empty();
            if plus {
                for ip in ips {
                    self.authorized.insert(format!("{ip}/{}", cidr.v4));
                }
            }
        }
        if let Ok(ips) = self.lookup.aaaa(name).await {
            found |= !ips.is_empty();
            if plus {
                for ip in ips {
                    self.authorized.insert(format!("{ip}/{}", cidr.v6));
                }
            }
        }
        Some(found)
    }

    /// Takes one query from the budget; false once it is spent (noted once).
    fn spend(&mut self) -> bool {
        if self.queries < MAX_SPF_AUDIT_QUERIES {
            self.queries += 1;
            return true;
        }
        if self.queries == MAX_SPF_AUDIT_QUERIES {
            self.queries += 1;
            self.finding(
                Severity::Note,
                format!("the audit stopped querying after {MAX_SPF_AUDIT_QUERIES} DNS queries; records and addresses past that are not shown"),
            );
        }
        false
    }

    fn finding(&mut self, severity: Severity, message: String) {
        add(&mut self.findings, severity, Area::Spf, message);
    }

    /// The finding for an SPF record that does not parse; returns the node's problem text.
    fn invalid(&mut self, domain: &str, text: &str, e: &hanko::spf::RecordError) -> String {
        let at = error_position(text, e)
            .map(|n| format!(" at character {n}"))
            .unwrap_or_default();
        self.finding(
            Severity::Error,
            format!("the SPF record of {domain} is invalid{at}: {e} (permerror, RFC 7208 §4.6)"),
        );
        format!("invalid{at}: {e}")
    }

    /// What an `all` says: at the top of the policy, how other hosts fare; below it (an
    /// include or redirect), `+all` that passes everyone for the whole policy.
    fn all(&mut self, qualifier: Qualifier, domain: &str, via: &str, path: &[String], plus: bool) {
        let root = path.len() == 1;
        match qualifier {
            Qualifier::Pass if root => self.finding(
                Severity::Error,
                format!("{domain} ends with +all: every host on the Internet may send as it"),
            ),
            // An included or redirected-to policy with +all passes everyone for the whole
            // policy that reaches it.
            Qualifier::Pass if plus => self.finding(
                Severity::Error,
                format!(
                    "{domain}, reached by {via} from {}, has +all: every host on the Internet passes",
                    path[0]
                ),
            ),
            Qualifier::Neutral if root => self.finding(
                Severity::Warning,
                format!("{domain} ends with ?all: other hosts get neutral, which protects nothing"),
            ),
            Qualifier::SoftFail if root => self.finding(
                Severity::Note,
                format!("{domain} ends with ~all (softfail); -all makes other hosts fail"),
            ),
            _ => {}
        }
    }

    /// An `mx` mechanism for `name`: its hosts (at most 10 count, RFC 7208 §4.6.4), whose
    /// addresses are authorized when `plus`; no MX is a void lookup.
    async fn mx(&mut self, name: &str, cidr: DualCidr, plus: bool) {
        if !self.spend() {
            return;
        }
        match self.lookup.mx(name).await {
            Ok(hosts) => {
                if hosts.len() > 10 {
                    self.finding(
                        Severity::Error,
                        format!(
                            "mx for {name} names {} hosts, more than 10: permerror (RFC 7208 §4.6.4)",
                            hosts.len()
                        ),
                    );
                }
                if plus {
                    for host in hosts.iter().take(10) {
                        self.addresses(&host.exchange, cidr, true).await;
                    }
                }
            }
            Err(_) => self.void_lookups += 1,
        }
    }

    /// Follows the record `text` of `domain`; `path` holds the domains above it (for loops);
    /// `passes` is false under a non-`+` include, whose addresses do not pass.
    async fn node(
        &mut self,
        via: &'static str,
        domain: &str,
        text: String,
        path: &mut Vec<String>,
        passes: bool,
    ) -> SpfNode {
        let mut node = SpfNode {
            via,
            domain: domain.to_string(),
            record: Some(text.clone()),
            problem: None,
            children: Vec::new(),
        };
        let record = match Record::parse(text.as_bytes()) {
            Ok(r) => r,
            Err(e) => {
                node.problem = Some(self.invalid(domain, &text, &e));
                return node;
            }
        };
        path.push(domain.to_string());
        let has_all = record
            .directives
            .iter()
            .any(|d| matches!(d.mechanism, Mechanism::All));
        for directive in &record.directives {
            let plus = passes && directive.qualifier == Qualifier::Pass;
            match &directive.mechanism {
                Mechanism::All => self.all(directive.qualifier, domain, via, path, plus),
                Mechanism::Ip4 { network, prefix } => {
                    if plus {
                        self.authorized.insert(format!("{network}/{prefix}"));
                    }
                }
                Mechanism::Ip6 { network, prefix } => {
                    if plus {
                        self.authorized.insert(format!("{network}/{prefix}"));
                    }
                }
                Mechanism::A {
                    domain: target,
                    cidr,
                } => {
                    self.dns_lookups += 1;
                    if let Some(name) = target_name(target.as_ref(), domain) {
                        if self.addresses(&name, *cidr, plus).await == Some(false) {
                            self.void_lookups += 1;
                        }
                    }
                }
                Mechanism::Mx {
                    domain: target,
                    cidr,
                } => {
                    self.dns_lookups += 1;
                    if let Some(name) = target_name(target.as_ref(), domain) {
                        self.mx(&name, *cidr, plus).await;
                    }
                }
                Mechanism::Ptr { .. } => {
                    self.dns_lookups += 1;
                    if !self.ptr_warned {
                        self.ptr_warned = true;
                        self.finding(
                            Severity::Warning,
                            format!("{domain} uses ptr, which is slow and unreliable; RFC 7208 §5.5 says not to"),
                        );
                    }
                }
                Mechanism::Exists { .. } => self.dns_lookups += 1,
                Mechanism::Include { domain: target } => {
                    self.dns_lookups += 1;
                    let Some(name) = target_name(Some(target), domain) else {
                        continue;
                    };
                    let child = Box::pin(self.follow("include", &name, path, plus)).await;
                    node.children.push(child);
                }
            }
        }
        if let Some(redirect) = &record.redirect {
            self.dns_lookups += 1;
            if has_all {
                self.finding(
                    Severity::Note,
                    format!(
                        "{domain} has redirect= and all: redirect is never used (RFC 7208 §6.1)"
                    ),
                );
            } else if let Some(name) = target_name(Some(redirect), domain) {
                let child = Box::pin(self.follow("redirect", &name, path, passes)).await;
                node.children.push(child);
            }
        } else if !has_all && path.len() == 1 {
            self.finding(
                Severity::Warning,
                format!("{domain}'s record has no all and no redirect: other hosts get neutral"),
            );
        }
        path.pop();
        node
    }

    /// Fetches and follows the policy of `name`, reached through `via`.
    async fn follow(
        &mut self,
        via: &'static str,
        name: &str,
        path: &mut Vec<String>,
        passes: bool,
    ) -> SpfNode {
        let mut node = SpfNode {
            via,
            domain: name.to_string(),
            record: None,
            problem: None,
            children: Vec::new(),
        };
        if path.iter().any(|d| d == name) {
            self.finding(
                Severity::Error,
                format!(
                    "{via} loop: {name} is reached again from {} (permerror)",
                    path.join(" -> ")
                ),
            );
            node.problem = Some("loop".into());
            return node;
        }
        if !self.spend() {
            node.problem = Some(format!(
                "not followed: the audit's {MAX_SPF_AUDIT_QUERIES} queries are spent"
            ));
            return node;
        }
        match spf_records(self.lookup, name).await {
            Ok(records) if records.len() == 1 => {
                let text = records.into_iter().next().unwrap_or_default();
                Box::pin(self.node(via, name, text, path, passes)).await
            }
            Ok(records) if records.len() > 1 => {
                self.finding(
                    Severity::Error,
                    format!(
                        "{via}:{name} has {} SPF records: permerror (RFC 7208 §4.5)",
                        records.len()
                    ),
                );
                node.problem = Some(format!("{} SPF records", records.len()));
                node
            }
            Ok(_) | Err(DnsError::NxDomain | DnsError::NoRecords) => {
                self.void_lookups += 1;
                self.finding(
                    Severity::Error,
                    format!("{via}:{name} has no SPF record: permerror for every message that reaches it (RFC 7208 §5.2)"),
                );
                node.problem = Some("no SPF record".into());
                node
            }
            Err(e) => {
                self.finding(
                    Severity::Warning,
                    format!("{via}:{name} could not be fetched: {e} (temperror for receivers that meet it)"),
                );
                node.problem = Some(e.to_string());
                node
            }
        }
    }
}

/// Where in `text` (1-based, in characters) the term an SPF record error names starts.
fn error_position(text: &str, error: &hanko::spf::RecordError) -> Option<usize> {
    use hanko::spf::RecordError;
    let term = match error {
        RecordError::UnknownMechanism(term)
        | RecordError::BadTerm { term, .. }
        | RecordError::Macro { term, .. } => term.as_str(),
        RecordError::DuplicateModifier(name) => {
            // The second occurrence is the offending one.
            let needle = format!(" {name}=");
            let first = text.find(&needle)?;
            let second = text[first + 1..].find(&needle)? + first + 1;
            return Some(text[..second + 1].chars().count() + 1);
        }
        // No term to point at (and errors newer than this audit, which name none it knows).
        _ => return None,
    };
    // A whole term: preceded by a space.
    let at = text
        .match_indices(term)
        .find(|(i, _)| text[..*i].ends_with(' '))?
        .0;
    Some(text[..at].chars().count() + 1)
}

/// The name a mechanism's domain-spec gives, or `None` when it uses macros (those depend on
/// each message and cannot be followed by an audit).
fn target_name(spec: Option<&hanko::spf::macros::MacroString>, current: &str) -> Option<String> {
    match spec {
        None => Some(current.to_string()),
        Some(spec) => spec
            .as_literal()
            .map(|s| s.trim_end_matches('.').to_ascii_lowercase()),
    }
}

async fn check_spf<L: Lookup + ?Sized>(
    lookup: &L,
    domain: &str,
    findings: &mut Vec<Finding>,
) -> SpfCheck {
    let mut check = SpfCheck::default();
    let records = match spf_records(lookup, domain).await {
        Ok(records) => records,
        Err(DnsError::NxDomain) => {
            add(
                findings,
                Severity::Error,
                Area::Spf,
                format!("{domain} does not exist (NXDOMAIN)"),
            );
            return check;
        }
        Err(DnsError::NoRecords) => Vec::new(),
        Err(e) => {
            add(
                findings,
                Severity::Warning,
                Area::Spf,
                format!("SPF record could not be fetched: {e}"),
            );
            return check;
        }
    };
    check.records = records.clone();
    match records.len() {
        0 => {
            add(
                findings,
                Severity::Error,
                Area::Spf,
                format!("{domain} publishes no SPF record: receivers get spf=none, and DMARC can pass only by DKIM"),
            );
        }
        1 => {
            let mut walk = SpfWalk {
                lookup,
                queries: 1,
                dns_lookups: 0,
                void_lookups: 0,
                authorized: BTreeSet::new(),
                findings: Vec::new(),
                ptr_warned: false,
            };
            let tree = walk
                .node("record", domain, records[0].clone(), &mut Vec::new(), true)
                .await;
            if walk.dns_lookups > 10 {
                walk.finding(
                    Severity::Error,
                    format!("the policy needs {} DNS lookups, more than 10: permerror (RFC 7208 §4.6.4); flatten includes or drop unused ones", walk.dns_lookups),
                );
            } else if walk.dns_lookups >= 8 {
                walk.finding(
                    Severity::Warning,
                    format!(
                        "the policy needs {} of the 10 DNS lookups RFC 7208 §4.6.4 allows",
                        walk.dns_lookups
                    ),
                );
            }
            if walk.void_lookups > 2 {
                walk.finding(
                    Severity::Error,
                    format!(
                        "{} lookups find nothing, more than 2: permerror (RFC 7208 §4.6.4)",
                        walk.void_lookups
                    ),
                );
            }
            check.tree = Some(tree);
            check.dns_lookups = walk.dns_lookups;
            check.void_lookups = walk.void_lookups;
            check.authorized = walk.authorized.into_iter().collect();
            findings.extend(walk.findings);
        }
        n => {
            add(
                findings,
                Severity::Error,
                Area::Spf,
                format!("{domain} publishes {n} SPF records: receivers give permerror (RFC 7208 §4.5); merge them into one"),
            );
        }
    }
    check
}

async fn check_selector<L: Lookup + ?Sized>(
    lookup: &L,
    domain: &str,
    selector: &str,
    private_key: Option<&SigningKey>,
) -> SelectorCheck {
    let name = format!("{selector}._domainkey.{domain}");
    let mut check = SelectorCheck {
        selector: selector.to_string(),
        name: name.clone(),
        cname_chain: Vec::new(),
        record: None,
        key_type: None,
        bits: None,
        revoked: false,
        testing: false,
        matches_private_key: None,
        problem: None,
        tags: Vec::new(),
    };
    let answer = match lookup.txt(&name).await {
        Ok(answer) => answer,
        Err(e) => {
            // Where does a delegation lead? (Exchange Online's selector1 is a CNAME into the
            // tenant's domain; a tenant that never enabled DKIM leaves it pointing nowhere.)
            let mut current = name.clone();
            while check.cname_chain.len() < hanko::dns::MAX_ALIAS_STEPS {
                match lookup.cname(&current).await {
                    Ok(Some(target)) if !check.cname_chain.contains(&target) => {
                        check.cname_chain.push(target.clone());
                        current = target;
                    }
                    _ => break,
                }
            }
            check.problem = Some(match check.cname_chain.last() {
                Some(end) => format!("{name} is a CNAME to {end}, which has no key record: {e}"),
                None => format!("no key record at {name}: {e}"),
            });
            return check;
        }
    };
    check.cname_chain = answer.aliases;
    let records: Vec<String> = answer
        .records
        .iter()
        .map(|r| String::from_utf8_lossy(r.text()).into_owned())
        .collect();
    if records.len() != 1 {
        check.problem = Some(format!(
            "{} TXT records at {name}, one expected",
            records.len()
        ));
        return check;
    }
    let text = records[0].clone();
    check.record = Some(text.clone());
    match KeyRecord::parse(text.as_bytes()) {
        Ok(key) => {
            check.key_type = Some(key.key_type);
            check.bits = key.key_bits();
            check.revoked = key.is_revoked();
            check.testing = key.testing;
            check.matches_private_key = private_key.map(|k| key.matches_key(k));
            check.tags = notes(&key.tags, explain_key_tag);
        }
        Err(e) => check.problem = Some(format!("the key record is unusable: {e}")),
    }
    check
}

async fn check_dkim<L: Lookup + ?Sized>(
    lookup: &L,
    domain: &str,
    config: &CheckConfig,
    findings: &mut Vec<Finding>,
) -> Vec<SelectorCheck> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let given = config.selectors.iter().map(|s| (s.as_str(), true));
    let probed = COMMON_SELECTORS
        .iter()
        .filter(|_| config.probe_common_selectors)
        .map(|s| (*s, false));
    for (selector, asked) in given.chain(probed) {
        if !seen.insert(selector.to_ascii_lowercase()) {
            continue;
        }
        let check = check_selector(lookup, domain, selector, config.private_key.as_ref()).await;
        // A probed selector that is absent is not reported; one that is delegated by CNAME
        // to nowhere is (the Exchange Online tenant that never turned DKIM on).
        if !asked && check.record.is_none() && check.cname_chain.is_empty() {
            continue;
        }
        let name = &check.name;
        let via = if check.cname_chain.is_empty() {
            String::new()
        } else {
            format!(" (through {})", check.cname_chain.join(" -> "))
        };
        if let Some(problem) = &check.problem {
            add(
                findings,
                Severity::Error,
                Area::Dkim,
                format!("s={selector}: {problem}"),
            );
        } else if check.revoked {
            add(findings, Severity::Note, Area::Dkim, format!("s={selector}: the key at {name}{via} is revoked (empty p=); signatures with it fail"));
        } else {
            match (check.key_type, check.bits) {
                (Some(KeyType::Rsa), Some(bits)) if bits < 1024 => add(
                    findings,
                    Severity::Error,
                    Area::Dkim,
                    format!("s={selector}: RSA key of {bits} bits; receivers refuse keys under 1024 (RFC 8301 §3.2)"),
                ),
                (Some(KeyType::Rsa), Some(bits)) if bits < 2048 => add(
                    findings,
                    Severity::Warning,
                    Area::Dkim,
                    format!("s={selector}: RSA key of {bits} bits; use 2048 (RFC 8301 §3.2)"),
                ),
                _ => {}
            }
            if check.testing {
                add(findings, Severity::Warning, Area::Dkim, format!("s={selector}: t=y (testing) is still on; some receivers treat its failures as unsigned"));
            }
        }
        match check.matches_private_key {
            Some(false) => add(
                findings,
                Severity::Error,
                Area::Dkim,
                format!("s={selector}: the published key does not match the private key given"),
            ),
            Some(true) => add(
                findings,
                Severity::Note,
                Area::Dkim,
                format!("s={selector}: the published key matches the private key"),
            ),
            None => {}
        }
        out.push(check);
    }
    if config.selectors.is_empty() && out.iter().all(|c| c.record.is_none()) {
        add(
            findings,
            Severity::Warning,
            Area::Dkim,
            "no selector given, and none of the common ones has a key: DKIM cannot be checked \
             (pass --selector)"
                .into(),
        );
    }
    out
}

async fn check_dmarc<L: Lookup + ?Sized>(
    lookup: &L,
    domain: &str,
    findings: &mut Vec<Finding>,
) -> DmarcCheck {
    let mut check = DmarcCheck::default();
    let mut walker = Walker::new(lookup);
    let (found_at, answer) = match walker.policy(domain).await {
        Some(found) => found,
        None => {
            add(
                findings,
                Severity::Error,
                Area::Dmarc,
                format!(
                    "no DMARC record at _dmarc.{domain} or above: anyone can use {domain} in From"
                ),
            );
            check.problem = Some("no DMARC record".into());
            return check;
        }
    };
    check.found_at = Some(found_at.clone());
    let record = match answer {
        Answer::Record(record) => record,
        Answer::Invalid(e) => {
            add(
                findings,
                Severity::Error,
                Area::Dmarc,
                format!("_dmarc.{found_at} is invalid: {e}"),
            );
            check.problem = Some(e.to_string());
            return check;
        }
        Answer::TempError(e) => {
            add(
                findings,
                Severity::Warning,
                Area::Dmarc,
                format!("_dmarc.{found_at} could not be fetched: {e}"),
            );
            check.problem = Some(e.to_string());
            return check;
        }
        Answer::Nothing | Answer::Several(_) => {
            check.problem = Some("no usable record".into());
            return check;
        }
    };
    if found_at != domain {
        add(findings, Severity::Note, Area::Dmarc, format!("{domain} has no record of its own; the record of {found_at} applies (RFC 9989 §4.10)"));
    }
    let applies = if found_at == domain {
        record.policy
    } else {
        record.subdomain_policy.unwrap_or(record.policy)
    };
    if !record.policy_given {
        add(
            findings,
            Severity::Error,
            Area::Dmarc,
            "the record has no p=: it is read as p=none (RFC 9989 §4.7)".into(),
        );
    }
    match applies {
        Policy::None => add(findings, Severity::Warning, Area::Dmarc, format!("policy for {domain} is none: failures are only reported, never refused; move to quarantine, then reject")),
        Policy::Quarantine => add(findings, Severity::Note, Area::Dmarc, format!("policy for {domain} is quarantine; reject is the strongest")),
        Policy::Reject => {}
    }
    if record.testing {
        add(
            findings,
            Severity::Warning,
            Area::Dmarc,
            "t=y: receivers apply the policy one step weaker (RFC 9989 §4.7)".into(),
        );
    }
    for ignored in &record.ignored {
        let severity = if ignored.reason.starts_with("removed") {
            Severity::Warning
        } else {
            Severity::Note
        };
        add(
            findings,
            severity,
            Area::Dmarc,
            format!(
                "{}={} is {} and has no effect",
                ignored.name, ignored.value, ignored.reason
            ),
        );
    }
    if record.aggregate_reports.is_empty() {
        add(
            findings,
            Severity::Warning,
            Area::Dmarc,
            "no rua=: the domain gets no aggregate reports and cannot see who sends as it".into(),
        );
    }
    let organization = walker
        .organizational_domain(domain)
        .await
        .unwrap_or_else(|_| found_at.clone());
    check.report_destinations = check_destinations(lookup, &found_at, &organization, &record).await;
    for destination in &check.report_destinations {
        if !destination.authorization.allows_reports() {
            add(
                findings,
                Severity::Error,
                Area::Dmarc,
                format!(
                    "{}={}: {} (RFC 7489 §7.1)",
                    destination.kind.tag(),
                    destination.uri.uri,
                    destination.authorization
                ),
            );
        }
    }
    check.tags = notes(&record.tags, explain_dmarc_tag);
    check.organizational_domain = Some(organization);
    check.record = Some(record);
    check
}

async fn check_mx<L: Lookup + ?Sized>(
    lookup: &L,
    domain: &str,
    findings: &mut Vec<Finding>,
) -> Vec<String> {
    match lookup.mx(domain).await {
        Ok(hosts) => {
            if hosts.len() == 1 && (hosts[0].exchange.is_empty() || hosts[0].exchange == ".") {
                add(
                    findings,
                    Severity::Note,
                    Area::Mx,
                    format!("{domain} publishes a null MX: it accepts no mail (RFC 7505)"),
                );
            }
            let mut list: Vec<(u16, String)> = hosts
                .into_iter()
                .map(|m| (m.preference, m.exchange))
                .collect();
            list.sort();
            list.into_iter().map(|(p, e)| format!("{p} {e}")).collect()
        }
        Err(DnsError::NxDomain | DnsError::NoRecords) => {
            add(findings, Severity::Warning, Area::Mx, format!("{domain} has no MX record: bounces and DMARC reports to it go to its A record, if any"));
            Vec::new()
        }
        Err(e) => {
            add(
                findings,
                Severity::Warning,
                Area::Mx,
                format!("MX could not be fetched: {e}"),
            );
            Vec::new()
        }
    }
}

async fn check_adsp<L: Lookup + ?Sized>(
    lookup: &L,
    domain: &str,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let answer = lookup
        .txt(&format!("_adsp._domainkey.{domain}"))
        .await
        .ok()?;
    let text = String::from_utf8_lossy(answer.records.first()?.text()).into_owned();
    add(findings, Severity::Note, Area::Adsp, format!("an ADSP record ({text}) is published; ADSP is historic (RFC 5617, moved to Historic in 2013) and can be removed"));
    Some(text)
}
