//! Trusting a sealer's record (RFC 8617 §7.2): the local policy that lets a forwarder's
//! ARC set stand in for the authentication its change of the message broke.
//!
//! A chain proves who handled a message and what each handler recorded; it proves nothing
//! about whether to believe them. A receiver lists the forwarders it believes (Microsoft
//! 365's "trusted ARC sealers", Gmail's own judgement), and for those only a DMARC failure
//! may be overridden, with RFC 9990's override reason `trusted_forwarder`.

use super::{ArcResult, ArcSet, ChainStatus};
use crate::authres::{AuthenticationResults, MethodResult, ParseOptions};
use crate::name::DomainName;

/// A DMARC failure overridden because a trusted forwarder recorded the message as
/// authenticated when it received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedForwarder {
    /// `d=` of the ARC-Seal whose record was believed: the oldest hop of the run of trusted
    /// sealers that ends at the newest set.
    pub sealer: String,
    /// Its instance.
    pub instance: u32,
    /// The result in its ARC-Authentication-Results that authenticated the author, as
    /// written there (`dmarc=pass header.from=example.com`, or an aligned `dkim=pass` or
    /// `spf=pass`).
    pub evidence: String,
}

/// Whether `arc` lets a DMARC failure of `author_domain` be overridden under the policy of
/// trusting `trusted` (ARC-Seal `d=` domains, matched exactly, letter case aside):
///
/// 1. the chain validates;
/// 2. the newest set was sealed by a trusted domain; from it, older sets are followed while
///    their sealers are trusted too, and the oldest of them is the hop whose record counts
///    (what an untrusted hop before it recorded cannot be believed);
/// 3. that hop's ARC-Authentication-Results records `dmarc=pass` for `author_domain`, or a
///    `dkim=pass` or `spf=pass` of `author_domain` or a parent domain of it (relaxed
///    alignment, RFC 9989 §3.2.2, as far as it can be judged without the DNS tree walk).
pub fn trusted_forwarder(
    arc: &ArcResult,
    trusted: &[String],
    author_domain: &str,
) -> Option<TrustedForwarder> {
    if arc.status() != ChainStatus::Pass || trusted.is_empty() {
        return None;
    }
    let is_trusted = |set: &ArcSet| {
        set.seal.domain().is_some_and(|d| {
            trusted.iter().any(|t| {
                t.trim_end_matches('.')
                    .eq_ignore_ascii_case(d.trim_end_matches('.'))
            })
        })
    };
    let oldest_trusted = arc
        .sets
        .iter()
        .rev()
        .take_while(|set| is_trusted(set))
        .last()?;
    let recorded = AuthenticationResults::parse(
        &oldest_trusted.authentication_results,
        ParseOptions::lenient(),
    )
    .ok()?;
    let author = DomainName::parse(author_domain).ok()?;
    let evidence = recorded
        .results
        .iter()
        .find(|result| authenticates(result, &author))?;
    Some(TrustedForwarder {
        sealer: oldest_trusted.seal.domain()?.to_ascii_lowercase(),
        instance: oldest_trusted.instance,
        evidence: describe(evidence),
    })
}

/// Whether one recorded result authenticates `author`.
fn authenticates(result: &MethodResult, author: &DomainName) -> bool {
    if result.result != "pass" {
        return false;
    }
    let domain_of = |key: &str| {
        result.property(key).map(|value| {
            let domain = value.rsplit_once('@').map_or(value, |(_, d)| d);
            domain.trim_end_matches('.').to_string()
        })
    };
    let aligned = |domain: Option<String>| {
        domain
            .and_then(|d| DomainName::parse(&d).ok())
            // A parent of the author's domain, not a bare top-level domain.
            .is_some_and(|d| author.is_within(&d) && d.as_str().contains('.'))
    };
    match result.method.as_str() {
        "dmarc" => {
            domain_of("header.from").is_some_and(|from| from.eq_ignore_ascii_case(author.as_str()))
        }
        "dkim" => aligned(domain_of("header.d").or_else(|| domain_of("header.i"))),
        "spf" => aligned(domain_of("smtp.mailfrom")),
        _ => false,
    }
}

/// `method=result` and the properties, as a short record of the evidence.
fn describe(result: &MethodResult) -> String {
    let mut text = format!("{}={}", result.method, result.result);
    for property in &result.properties {
        text.push_str(&format!(
            " {}.{}={}",
            property.ptype, property.name, property.value
        ));
    }
    text
}
