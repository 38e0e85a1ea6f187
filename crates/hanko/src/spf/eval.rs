//! `check_host()` (RFC 7208 §4–§6) over an injected [`Lookup`].

use std::borrow::Cow;
use std::future::Future;
use std::net::IpAddr;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::macros::{MacroContext, MacroPart, MacroString};
use super::record::{is_spf_record, DualCidr, Mechanism, Qualifier, Record};
use super::{
    MatchedTerm, SpfConfig, SpfIdentity, SpfOutcome, SpfProblem, SpfVerdict, TraceEvent, TraceStep,
};
use crate::dns::{DnsError, Lookup};

/// What a policy evaluation produced, before the explanation is fetched.
struct Found<'s> {
    verdict: SpfVerdict,
    /// The directive that matched, if one did.
    decided: Option<Decided<'s>>,
}

/// The record whose directive matched, which one, and the domain publishing it (borrowed
/// while it can be: nested includes only need the verdict, so nothing is copied for them).
struct Decided<'s> {
    record: Arc<Record>,
    directive: usize,
    domain: Cow<'s, str>,
}

impl Found<'_> {
    fn into_owned(self) -> Found<'static> {
        Found {
            verdict: self.verdict,
            decided: self.decided.map(|d| Decided {
                record: d.record,
                directive: d.directive,
                domain: Cow::Owned(d.domain.into_owned()),
            }),
        }
    }

    /// The term that matched, for [`SpfOutcome::matched`].
    fn matched_term(&self) -> Option<MatchedTerm> {
        let decided = self.decided.as_ref()?;
        Some(MatchedTerm {
            domain: decided.domain.to_string(),
            term: decided
                .record
                .directives
                .get(decided.directive)?
                .text
                .clone(),
        })
    }
}

type Step<'a, T> = Pin<Box<dyn Future<Output = Result<T, SpfProblem>> + Send + 'a>>;

struct Evaluation<'a, L: Lookup + ?Sized> {
    lookup: &'a L,
    config: &'a SpfConfig,
    ip: IpAddr,
    local_part: &'a str,
    sender_domain: &'a str,
    helo: &'a str,
    now: u64,
    /// When the first query that had to wait began; answers from memory read no clock.
    started: Option<Instant>,
    dns_terms: usize,
    void_lookups: usize,
    trace: Vec<TraceStep>,
}

/// Whether `domain` may be checked at all (§4.3): a multi-label name with labels of 1 to 63
/// octets (one trailing dot allowed), no more than 253 octets.
pub(crate) fn valid_domain(domain: &str) -> bool {
    // What any query needs (`check_name`), and more than one label.
    crate::dns::check_name(domain).is_ok()
        && domain.strip_suffix('.').unwrap_or(domain).contains('.')
}

/// §4.8: names longer than 253 octets lose labels on the left until they fit.
fn truncate_name(mut name: String) -> String {
    if name.ends_with('.') {
        name.pop();
    }
    if name.len() <= 253 {
        return name;
    }
    let mut kept = name.as_str();
    while kept.len() > 253 {
        match kept.split_once('.') {
            Some((_, rest)) => kept = rest,
            None => break,
        }
    }
    kept.to_string()
}

fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

fn verdict_of(qualifier: Qualifier) -> SpfVerdict {
    match qualifier {
        Qualifier::Pass => SpfVerdict::Pass,
        Qualifier::Fail => SpfVerdict::Fail,
        Qualifier::SoftFail => SpfVerdict::SoftFail,
        Qualifier::Neutral => SpfVerdict::Neutral,
    }
}

/// A DNS answer classified the way SPF needs it: the records (a `Vec`, or shared
/// [`TxtRecords`](crate::dns::TxtRecords)), or none.
enum Answer<C> {
    Records(C),
    /// NXDOMAIN or no records: a "void lookup" (§4.6.4).
    Void,
}

impl<'a, L: Lookup + ?Sized> Evaluation<'a, L> {
    /// Adds a step to the trace, built only when the trace is kept.
    fn record(&mut self, depth: usize, event: impl FnOnce() -> TraceEvent) {
        if self.config.keep_trace {
            self.trace.push(TraceStep {
                depth,
                event: event(),
            });
        }
    }

    fn context<'c>(&'c self, domain: &'c str) -> MacroContext<'c> {
        MacroContext {
            local_part: self.local_part,
            sender_domain: self.sender_domain,
            domain,
            ip: self.ip,
            helo: self.helo,
            receiver: &self.config.receiver,
            now: self.now,
        }
    }

    fn check_budget(&self) -> Result<(), SpfProblem> {
        if self
            .started
            .is_some_and(|started| started.elapsed() > self.config.time_budget)
        {
            return Err(SpfProblem::TimeBudgetExceeded {
                budget: self.config.time_budget,
            });
        }
        Ok(())
    }

    /// Counts a term that queries DNS (§4.6.4).
    fn count_dns_term(&mut self) -> Result<(), SpfProblem> {
        self.dns_terms += 1;
        if self.dns_terms > self.config.max_dns_lookups {
            return Err(SpfProblem::TooManyDnsLookups {
                limit: self.config.max_dns_lookups,
            });
        }
        Ok(())
    }

    fn count_void(&mut self) -> Result<(), SpfProblem> {
        self.void_lookups += 1;
        if self.void_lookups > self.config.max_void_lookups {
            return Err(SpfProblem::TooManyVoidLookups {
                limit: self.config.max_void_lookups,
            });
        }
        Ok(())
    }

    /// Runs one query, traces it, and sorts the outcome: records, void, or a temporary
    /// error. An invalid name (after macro expansion) is void: nothing can exist there.
    async fn query<C, T, F>(
        &mut self,
        depth: usize,
        kind: &'static str,
        name: &str,
        run: F,
        show: fn(&T) -> String,
    ) -> Result<Answer<C>, SpfProblem>
    where
        C: Deref<Target = [T]>,
        F: Future<Output = Result<C, DnsError>>,
    {
        self.check_budget()?;
        // The budget's clock starts when a query first has to wait: a lookup answered from
        // memory is ready at its first poll and costs no clock read.
        let started = &mut self.started;
        let mut run = std::pin::pin!(run);
        let result = std::future::poll_fn(|context| {
            let poll = run.as_mut().poll(context);
            if poll.is_pending() && started.is_none() {
                *started = Some(Instant::now());
            }
            poll
        })
        .await;
        self.record(depth, || TraceEvent::Lookup {
            kind,
            name: name.to_string(),
            answer: result
                .as_ref()
                .map(|records| records.iter().map(show).collect())
                .map_err(Clone::clone),
        });
        match result {
            Ok(records) if !records.is_empty() => Ok(Answer::Records(records)),
            Ok(_) | Err(DnsError::NxDomain) | Err(DnsError::NoRecords) => Ok(Answer::Void),
            Err(DnsError::InvalidName(_)) => Ok(Answer::Void),
            Err(error) => Err(SpfProblem::Dns {
                name: name.to_string(),
                error,
            }),
        }
    }

    /// The client's addresses for `name`: A for an IPv4 client, AAAA for IPv6.
    async fn addresses(
        &mut self,
        depth: usize,
        name: &str,
    ) -> Result<Answer<Vec<IpAddr>>, SpfProblem> {
        let lookup = self.lookup;
        match self.ip {
            IpAddr::V4(_) => {
                let answer = self
                    .query(depth, "A", name, lookup.a(name), |ip| ip.to_string())
                    .await?;
                Ok(match answer {
                    Answer::Records(r) => Answer::Records(r.into_iter().map(IpAddr::V4).collect()),
                    Answer::Void => Answer::Void,
                })
            }
            IpAddr::V6(_) => {
                let answer = self
                    .query(depth, "AAAA", name, lookup.aaaa(name), |ip| ip.to_string())
                    .await?;
                Ok(match answer {
                    Answer::Records(r) => Answer::Records(r.into_iter().map(IpAddr::V6).collect()),
                    Answer::Void => Answer::Void,
                })
            }
        }
    }

    fn matches_any(&self, addresses: &[IpAddr], cidr: DualCidr) -> bool {
        let prefix = match self.ip {
            IpAddr::V4(_) => cidr.v4,
            IpAddr::V6(_) => cidr.v6,
        };
        addresses.iter().any(|a| in_network(self.ip, *a, prefix))
    }

    /// The validated host names of the client (§5.5): PTR names whose A/AAAA records
    /// include the client, at most `max_ptr_names` tried. DNS errors skip a name.
    async fn validated_names(&mut self, depth: usize) -> Vec<String> {
        let lookup = self.lookup;
        let ip = self.ip;
        let Ok(Answer::Records(names)) = self
            .query(
                depth,
                "PTR",
                &crate::dns::reverse_name(ip),
                lookup.ptr(ip),
                |n| n.clone(),
            )
            .await
        else {
            return Vec::new();
        };
        let mut validated = Vec::new();
        for name in names.into_iter().take(self.config.max_ptr_names) {
            if let Ok(Answer::Records(addresses)) = self.addresses(depth, &name).await {
                if addresses.contains(&ip) {
                    validated.push(name);
                }
            }
        }
        validated
    }

    /// Expands a domain-spec for a query, resolving `%{p}` if used. A domain-spec without
    /// macros (most `include:`s) is its own expansion, borrowed rather than built.
    async fn expand_domain<'s>(
        &mut self,
        depth: usize,
        spec: &'s MacroString,
        domain: &str,
    ) -> Cow<'s, str> {
        if let [MacroPart::Literal(literal)] = spec.parts.as_slice() {
            // What `truncate_name` does, when there is nothing to cut.
            let name = literal.strip_suffix('.').unwrap_or(literal);
            if name.len() <= 253 {
                return Cow::Borrowed(name);
            }
        }
        let validated = if spec.uses_validated_name() {
            // Boxed: `%{p}` is rare, and inline its lookups would more than double the
            // future of every DNS mechanism.
            Box::pin(self.p_macro(depth, domain)).await
        } else {
            None
        };
        Cow::Owned(truncate_name(
            spec.expand(&self.context(domain), validated.as_deref()),
        ))
    }

    /// §7.3 `p`: a validated name within `domain` if there is one, else any validated name.
    async fn p_macro(&mut self, depth: usize, domain: &str) -> Option<String> {
        let names = self.validated_names(depth).await;
        let within = |n: &String| {
            let n = n.trim_end_matches('.').to_ascii_lowercase();
            let d = domain.trim_end_matches('.').to_ascii_lowercase();
            n == d || n.ends_with(&format!(".{d}"))
        };
        names
            .iter()
            .find(|n| within(n))
            .or(names.first())
            .map(|n| n.trim_end_matches('.').to_string())
    }

    /// Fetches and parses the one SPF record of `domain` (§4.4, §4.5).
    async fn fetch_record(
        &mut self,
        depth: usize,
        domain: &str,
    ) -> Result<Arc<Record>, SpfProblem> {
        let lookup = self.lookup;
        let records = async { lookup.txt(domain).await.map(|answer| answer.records) };
        let answer = self
            .query(depth, "TXT", domain, records, |t| {
                String::from_utf8_lossy(t.text()).into_owned()
            })
            .await?;
        let records = match answer {
            Answer::Records(records) => records,
            Answer::Void => {
                return Err(SpfProblem::NoSpfRecord {
                    domain: domain.to_string(),
                })
            }
        };
        let mut spf = records.iter().filter(|r| is_spf_record(r.text()));
        match (spf.next(), spf.next()) {
            (None, _) => Err(SpfProblem::NoSpfRecord {
                domain: domain.to_string(),
            }),
            (Some(one), None) => {
                // Parsed once for as long as the lookup keeps the record.
                let record = one.spf_policy().map_err(|error| SpfProblem::Record {
                    domain: domain.to_string(),
                    error,
                })?;
                self.record(depth, || TraceEvent::Record {
                    domain: domain.to_string(),
                    text: record.text.clone(),
                });
                Ok(record)
            }
            (Some(_), Some(_)) => Err(SpfProblem::MultipleRecords {
                domain: domain.to_string(),
                count: records.iter().filter(|r| is_spf_record(r.text())).count(),
            }),
        }
    }

    /// `check_host()` for one domain: returns a verdict from a matching directive, a
    /// redirect, or the default `neutral`; `Err` for none, temperror and permerror.
    fn check<'s, 'd: 's>(&'s mut self, domain: &'d str, depth: usize) -> Step<'s, Found<'d>>
    where
        'a: 's,
    {
        Box::pin(async move {
            let domain = domain.trim_end_matches('.');
            let record = self.fetch_record(depth, domain).await?;
            for (index, directive) in record.directives.iter().enumerate() {
                // all, ip4 and ip6 need no DNS: decided here without building the (large)
                // future of a DNS mechanism.
                let matched = match self.evaluate_locally(&directive.mechanism) {
                    Some(matched) => Ok(matched),
                    None => self.evaluate(&directive.mechanism, domain, depth).await,
                };
                self.record(depth, || TraceEvent::Term {
                    term: directive.text.clone(),
                    matched: *matched.as_ref().unwrap_or(&false),
                });
                if matched? {
                    return Ok(Found {
                        verdict: verdict_of(directive.qualifier),
                        decided: Some(Decided {
                            record: Arc::clone(&record),
                            directive: index,
                            domain: Cow::Borrowed(domain),
                        }),
                    });
                }
            }
            // §6.1: redirect only when nothing matched (an `all` always matches first).
            if let Some(redirect) = &record.redirect {
                self.count_dns_term()?;
                let target = self.expand_domain(depth, redirect, domain).await;
                self.record(depth, || TraceEvent::Redirect {
                    domain: target.to_string(),
                });
                if !valid_domain(&target) {
                    return Err(SpfProblem::RedirectWithoutPolicy {
                        domain: target.into_owned(),
                    });
                }
                let outcome = self.check(&target, depth + 1).await.map(Found::into_owned);
                return match outcome {
                    Err(problem) if problem.verdict() == SpfVerdict::None => {
                        Err(SpfProblem::RedirectWithoutPolicy {
                            domain: target.into_owned(),
                        })
                    }
                    other => other,
                };
            }
            Ok(Found {
                verdict: SpfVerdict::Neutral,
                decided: None,
            })
        })
    }

    /// Whether `all`, `ip4` or `ip6` matches the client (§5.1, §5.6); `None` for the
    /// mechanisms that query DNS.
    fn evaluate_locally(&self, mechanism: &Mechanism) -> Option<bool> {
        match mechanism {
            Mechanism::All => Some(true),
            Mechanism::Ip4 { network, prefix } => {
                Some(in_network(self.ip, IpAddr::V4(*network), *prefix))
            }
            Mechanism::Ip6 { network, prefix } => {
                Some(in_network(self.ip, IpAddr::V6(*network), *prefix))
            }
            _ => None,
        }
    }

    /// Whether `mechanism` matches the client (§5).
    async fn evaluate(
        &mut self,
        mechanism: &Mechanism,
        domain: &str,
        depth: usize,
    ) -> Result<bool, SpfProblem> {
        if mechanism.queries_dns() {
            self.count_dns_term()?;
        }
        match mechanism {
            Mechanism::All | Mechanism::Ip4 { .. } | Mechanism::Ip6 { .. } => {
                Ok(self.evaluate_locally(mechanism).unwrap_or(false))
            }
            Mechanism::A { domain: spec, cidr } => {
                let target = self.target(depth, spec.as_ref(), domain).await;
                match self.addresses(depth, &target).await? {
                    Answer::Records(addresses) => Ok(self.matches_any(&addresses, *cidr)),
                    Answer::Void => self.count_void().map(|()| false),
                }
            }
            Mechanism::Mx { domain: spec, cidr } => {
                let target = self.target(depth, spec.as_ref(), domain).await;
                let lookup = self.lookup;
                let mut exchangers = match self
                    .query(depth, "MX", &target, lookup.mx(&target), |mx| {
                        format!("{} {}", mx.preference, mx.exchange)
                    })
                    .await?
                {
                    Answer::Records(mx) => mx,
                    Answer::Void => return self.count_void().map(|()| false),
                };
                // §4.6.4: more than 10 MX names is an error, not a silent cut.
                if exchangers.len() > self.config.max_mx_names {
                    return Err(SpfProblem::TooManyMxNames {
                        domain: target.into_owned(),
                        count: exchangers.len(),
                        limit: self.config.max_mx_names,
                    });
                }
                exchangers.sort_by_key(|mx| mx.preference);
                for mx in exchangers {
                    // A null MX ("." , RFC 7505) names no host.
                    if mx.exchange.is_empty() || mx.exchange == "." {
                        continue;
                    }
                    if let Answer::Records(addresses) = self.addresses(depth, &mx.exchange).await? {
                        if self.matches_any(&addresses, *cidr) {
                            return Ok(true);
                        }
                    }
                }
                Ok(false)
            }
            Mechanism::Ptr { domain: spec } => {
                let target = self
                    .target(depth, spec.as_ref(), domain)
                    .await
                    .to_ascii_lowercase();
                // Boxed for the same reason as `%{p}`: `ptr` is rare (RFC 7208 §5.5 says
                // not to use it).
                let names = Box::pin(self.validated_names(depth)).await;
                Ok(names.iter().any(|name| {
                    let name = name.trim_end_matches('.').to_ascii_lowercase();
                    name == target || name.ends_with(&format!(".{target}"))
                }))
            }
            Mechanism::Exists { domain: spec } => {
                let target = self.expand_domain(depth, spec, domain).await;
                let lookup = self.lookup;
                // §5.7: always an A query, whatever the client's address family.
                match self
                    .query(depth, "A", &target, lookup.a(&target), |ip| ip.to_string())
                    .await?
                {
                    Answer::Records(_) => Ok(true),
                    Answer::Void => self.count_void().map(|()| false),
                }
            }
            Mechanism::Include { domain: spec } => {
                let target = self.expand_domain(depth, spec, domain).await;
                self.record(depth, || TraceEvent::Include {
                    domain: target.to_string(),
                });
                if !valid_domain(&target) {
                    return Err(SpfProblem::IncludeWithoutPolicy {
                        domain: target.into_owned(),
                    });
                }
                // §5.2: pass matches; fail, softfail and neutral do not; errors propagate;
                // none is a permerror.
                match self.check(&target, depth + 1).await {
                    Ok(found) => Ok(found.verdict == SpfVerdict::Pass),
                    Err(problem) if problem.verdict() == SpfVerdict::None => {
                        Err(SpfProblem::IncludeWithoutPolicy {
                            domain: target.into_owned(),
                        })
                    }
                    Err(problem) => Err(problem),
                }
            }
        }
    }

    /// The name an `a` or `mx` mechanism queries: its domain-spec expanded, or the current
    /// domain.
    async fn target<'s>(
        &mut self,
        depth: usize,
        spec: Option<&'s MacroString>,
        domain: &'s str,
    ) -> Cow<'s, str> {
        match spec {
            Some(spec) => self.expand_domain(depth, spec, domain).await,
            None => Cow::Borrowed(domain),
        }
    }

    /// §6.2: the explanation for a `fail`. Any problem means the default explanation.
    async fn explanation(&mut self, found: &Found<'_>) -> String {
        let exp = found.decided.as_ref().and_then(|d| {
            let spec = d.record.explanation.as_ref()?;
            Some((spec, d.domain.as_ref()))
        });
        if let Some((spec, domain)) = exp {
            let name = self.expand_domain(0, spec, domain).await;
            let lookup = self.lookup;
            let records = async { lookup.txt(&name).await.map(|answer| answer.records) };
            if let Ok(Answer::Records(records)) = self
                .query(0, "TXT", &name, records, |t| {
                    String::from_utf8_lossy(t.text()).into_owned()
                })
                .await
            {
                if let [one] = &records[..] {
                    if let Some(text) = std::str::from_utf8(one.text())
                        .ok()
                        .filter(|t| t.is_ascii())
                    {
                        if let Ok(template) = MacroString::parse_explanation(text) {
                            let validated = if template.uses_validated_name() {
                                self.p_macro(0, domain).await
                            } else {
                                None
                            };
                            return template.expand(&self.context(domain), validated.as_deref());
                        }
                    }
                }
            }
        }
        let domain = found
            .decided
            .as_ref()
            .map_or(self.sender_domain.to_string(), |d| d.domain.to_string());
        match MacroString::parse_explanation(&self.config.default_explanation) {
            Ok(template) => template.expand(&self.context(&domain), None),
            Err(_) => self.config.default_explanation.clone(),
        }
    }
}

/// Runs `check_host(ip, domain, sender)` (RFC 7208 §4) and packages the outcome.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run<L: Lookup + ?Sized>(
    lookup: &L,
    config: &SpfConfig,
    identity: SpfIdentity,
    ip: IpAddr,
    local_part: &str,
    sender_domain: &str,
    domain: &str,
    helo: &str,
    now: u64,
) -> SpfOutcome {
    // §5: an IPv4-mapped IPv6 client is an IPv4 client.
    let ip = ip.to_canonical();
    let mut evaluation = Evaluation {
        lookup,
        config,
        ip,
        local_part,
        sender_domain,
        helo,
        now,
        started: None,
        dns_terms: 0,
        void_lookups: 0,
        trace: Vec::new(),
    };
    // §4.3: a malformed or single-label domain has no policy.
    let result = if valid_domain(domain) {
        evaluation.check(domain, 0).await
    } else {
        Err(SpfProblem::InvalidDomain {
            domain: domain.to_string(),
        })
    };
    let (verdict, explanation, problem, matched) = match result {
        Ok(found) => {
            let explanation = if found.verdict == SpfVerdict::Fail {
                // Boxed: only a fail needs it, and inline it would double the size of
                // every evaluation's future (which the executor moves around).
                Some(Box::pin(evaluation.explanation(&found)).await)
            } else {
                None
            };
            (found.verdict, explanation, None, found.matched_term())
        }
        Err(problem) => (problem.verdict(), None, Some(problem), None),
    };
    // Built last, so the future does not carry it across the queries.
    SpfOutcome {
        verdict,
        identity,
        ip,
        sender: format!("{local_part}@{sender_domain}"),
        domain: domain.to_string(),
        helo: helo.to_string(),
        explanation,
        problem,
        matched,
        dns_lookups: evaluation.dns_terms,
        void_lookups: evaluation.void_lookups,
        trace: evaluation.trace,
    }
}

/// The default whole-evaluation budget: RFC 7208 §4.6.4 lets a verifier give up after at
/// least 20 seconds.
pub const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(20);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let ip: IpAddr = "192.0.2.130".parse().unwrap();
        assert!(in_network(ip, "192.0.2.128".parse().unwrap(), 25));
        assert!(!in_network(ip, "192.0.2.0".parse().unwrap(), 25));
        assert!(in_network(ip, "10.0.0.0".parse().unwrap(), 0));
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(in_network(v6, "2001:db8::".parse().unwrap(), 32));
        assert!(!in_network(v6, "192.0.2.0".parse().unwrap(), 0));
    }

    #[test]
    fn domain_checks_and_truncation() {
        assert!(valid_domain("example.com"));
        assert!(valid_domain("example.com."));
        assert!(!valid_domain("localhost"));
        assert!(!valid_domain("a..example.com"));
        assert!(!valid_domain(&format!("{}.com", "a".repeat(64))));
        let long = format!("{}.example.com", ["abcdefghij"; 30].join("."));
        let cut = truncate_name(long.clone());
        assert!(cut.len() <= 253 && cut.ends_with(".example.com"));
        assert!(long.ends_with(&cut));
    }
}
