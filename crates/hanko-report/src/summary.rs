//! What stored aggregate reports say about one domain, and what to fix first: the sources
//! that send as the domain, how much of their mail passes DMARC, and for each failing source
//! whether it looks like the owner's own service or like someone else, with the fix.
//!
//! Pure data in, data out: the store gives the [`Row`]s, `hanko report summary` renders the
//! [`Summary`].

use std::collections::{BTreeMap, BTreeSet};

use hanko::name::DomainName;
use serde::Serialize;

/// One record of a stored report, as the summary reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Who reported it.
    pub reporter: String,
    /// The sending address.
    pub source_ip: String,
    /// Messages.
    pub count: u64,
    /// DKIM passed and was aligned (`policy_evaluated/dkim` pass).
    pub dkim_aligned_pass: bool,
    /// SPF passed and was aligned.
    pub spf_aligned_pass: bool,
    /// The From domain.
    pub header_from: String,
    /// The MAIL FROM domain.
    pub envelope_from: Option<String>,
    /// Every DKIM result: domain, selector, result word.
    pub dkim: Vec<(String, Option<String>, String)>,
    /// Every SPF result: domain, result word.
    pub spf: Vec<(String, String)>,
}

/// The summary of one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The policy domain.
    pub domain: String,
    /// Messages reported.
    pub messages: u64,
    /// Messages that passed DMARC (an aligned DKIM or SPF pass).
    pub passing: u64,
    /// Every source, most messages first.
    pub sources: Vec<SourceSummary>,
    /// What to do, most important first.
    pub advice: Vec<Advice>,
}

/// One sending address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceSummary {
    /// The IP address.
    pub source_ip: String,
    /// Messages.
    pub messages: u64,
    /// Messages that passed DMARC.
    pub passing: u64,
    /// Messages with an aligned DKIM pass.
    pub dkim_aligned: u64,
    /// Messages with an aligned SPF pass.
    pub spf_aligned: u64,
    /// The reporters that saw it.
    pub reporters: Vec<String>,
    /// The From domains seen.
    pub header_from: Vec<String>,
    /// The MAIL FROM domains seen.
    pub envelope_from: Vec<String>,
    /// The DKIM domains and selectors seen, as `d=DOMAIN s=SELECTOR`.
    pub dkim_signers: Vec<String>,
    /// What the source looks like.
    pub looks_like: Sender,
}

/// Whose mail a source sends, as far as the reports can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    /// Everything passes DMARC.
    Authenticated,
    /// It signs or passes SPF for the domain (or a subdomain) without alignment, or its
    /// envelope is the domain's: one of the owner's services, not set up fully.
    OwnService,
    /// It passes DKIM or SPF for another domain: a provider sending on the owner's behalf
    /// with its own domain, or forwarding.
    ThirdParty,
    /// Nothing passes for any domain: someone using the domain's name.
    Spoofing,
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Advice {
    /// The source it is about, when it is about one.
    pub source_ip: Option<String>,
    /// What to do, in English.
    pub text: String,
}

/// `name` is `domain` or under it, by hanko's rule for domain names (a reporter's text that
/// is no domain name is under nothing).
fn within(name: &str, domain: &str) -> bool {
    match (DomainName::parse(name), DomainName::parse(domain)) {
        (Ok(name), Ok(domain)) => name.is_within(&domain),
        _ => false,
    }
}

/// The share of `part` in `whole`, in percent with one decimal.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0".into();
    }
    format!("{:.1}", part as f64 * 100.0 / whole as f64)
}

/// Summarizes `rows` of reports about `domain`.
pub fn summarize(domain: &str, rows: &[Row]) -> Summary {
    #[derive(Default)]
    struct Tally {
        messages: u64,
        passing: u64,
        dkim_aligned: u64,
        spf_aligned: u64,
        reporters: BTreeSet<String>,
        header_from: BTreeSet<String>,
        envelope_from: BTreeSet<String>,
        signers: BTreeSet<String>,
        own_pass: bool,
        other_pass: bool,
    }
    let mut by_source: BTreeMap<&str, Tally> = BTreeMap::new();
    for row in rows {
        let tally = by_source.entry(&row.source_ip).or_default();
        tally.messages += row.count;
        if row.dkim_aligned_pass || row.spf_aligned_pass {
            tally.passing += row.count;
        }
        if row.dkim_aligned_pass {
            tally.dkim_aligned += row.count;
        }
        if row.spf_aligned_pass {
            tally.spf_aligned += row.count;
        }
        tally.reporters.insert(row.reporter.clone());
        tally.header_from.insert(row.header_from.clone());
        if let Some(envelope) = &row.envelope_from {
            tally.envelope_from.insert(envelope.clone());
            if within(envelope, domain) {
                tally.own_pass = true;
            }
        }
        for (signer, selector, result) in &row.dkim {
            tally.signers.insert(match selector {
                Some(s) => format!("d={signer} s={s}"),
                None => format!("d={signer}"),
            });
            if result == "pass" {
                if within(signer, domain) {
                    tally.own_pass = true;
                } else {
                    tally.other_pass = true;
                }
            }
        }
        for (spf_domain, result) in &row.spf {
            if result == "pass" {
                if within(spf_domain, domain) {
                    tally.own_pass = true;
                } else {
                    tally.other_pass = true;
                }
            }
        }
    }
    let mut sources: Vec<SourceSummary> = by_source
        .into_iter()
        .map(|(ip, t)| SourceSummary {
            source_ip: ip.to_string(),
            messages: t.messages,
            passing: t.passing,
            dkim_aligned: t.dkim_aligned,
            spf_aligned: t.spf_aligned,
            looks_like: if t.passing == t.messages {
                Sender::Authenticated
            } else if t.own_pass {
                Sender::OwnService
            } else if t.other_pass {
                Sender::ThirdParty
            } else {
                Sender::Spoofing
            },
            reporters: t.reporters.into_iter().collect(),
            header_from: t.header_from.into_iter().collect(),
            envelope_from: t.envelope_from.into_iter().collect(),
            dkim_signers: t.signers.into_iter().collect(),
        })
        .collect();
    sources.sort_by(|a, b| {
        b.messages
            .cmp(&a.messages)
            .then(a.source_ip.cmp(&b.source_ip))
    });
    let messages = sources.iter().map(|s| s.messages).sum();
    let passing = sources.iter().map(|s| s.passing).sum();
    let advice = advise(domain, messages, passing, &sources);
    Summary {
        domain: domain.to_string(),
        messages,
        passing,
        sources,
        advice,
    }
}

/// The first DKIM signer of `source` within `domain` (`d=DOMAIN s=SELECTOR`).
fn own_signer<'s>(source: &'s SourceSummary, domain: &str) -> Option<&'s String> {
    source.dkim_signers.iter().find(|signer| {
        signer
            .strip_prefix("d=")
            .and_then(|rest| rest.split(' ').next())
            .is_some_and(|d| within(d, domain))
    })
}

/// What to fix first: the largest failing sources of the owner's own mail, then the
/// verdict on enforcement.
fn advise(domain: &str, messages: u64, passing: u64, sources: &[SourceSummary]) -> Vec<Advice> {
    let mut advice = Vec::new();
    for source in sources.iter().filter(|s| s.passing < s.messages) {
        let failing = source.messages - source.passing;
        let text = match source.looks_like {
            Sender::Authenticated => continue,
            Sender::OwnService => {
                match (own_signer(source, domain), source.envelope_from.first()) {
                    (Some(signer), _) if source.dkim_aligned == 0 => format!(
                        "{failing} messages from {} sign as {signer} without passing aligned: \
                     publish that key under {domain} (or fix the key) so DKIM passes",
                        source.source_ip
                    ),
                    (_, Some(envelope)) => format!(
                    "{failing} messages from {} use the envelope sender {envelope} but fail SPF: \
                     add {} to the SPF record of {envelope} (an include: for the provider), or \
                     sign them with DKIM for {domain}",
                    source.source_ip, source.source_ip
                ),
                    _ => format!(
                    "{failing} messages from {} look like your own but fail: sign them with DKIM \
                     for {domain}",
                    source.source_ip
                ),
                }
            }
            Sender::ThirdParty => format!(
                "{failing} messages from {} pass only for another domain ({}): if it sends for \
                 you, have it sign with a DKIM key under {domain}; if it forwards, nothing to fix",
                source.source_ip,
                source
                    .dkim_signers
                    .first()
                    .cloned()
                    .or_else(|| source.envelope_from.first().cloned())
                    .unwrap_or_default()
            ),
            Sender::Spoofing => continue,
        };
        advice.push(Advice {
            source_ip: Some(source.source_ip.clone()),
            text,
        });
    }
    let spoofed: u64 = sources
        .iter()
        .filter(|s| s.looks_like == Sender::Spoofing)
        .map(|s| s.messages - s.passing)
        .sum();
    let own_failing = sources
        .iter()
        .any(|s| matches!(s.looks_like, Sender::OwnService | Sender::ThirdParty));
    let verdict = if messages == 0 {
        "no messages reported yet".to_string()
    } else if own_failing {
        format!(
            "{}% of {messages} messages pass DMARC; fix the sources above before moving to \
             p=quarantine",
            percent(passing, messages)
        )
    } else {
        format!(
            "{}% of {messages} messages pass DMARC and every failing source looks like \
             spoofing ({spoofed} messages): ready for p=quarantine, then p=reject",
            percent(passing, messages)
        )
    };
    advice.push(Advice {
        source_ip: None,
        text: verdict,
    });
    advice
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ip: &str, count: u64, aligned: bool, envelope: &str, dkim: &[(&str, &str)]) -> Row {
        Row {
            reporter: "mx.example.net".into(),
            source_ip: ip.into(),
            count,
            dkim_aligned_pass: aligned,
            spf_aligned_pass: false,
            header_from: "example.com".into(),
            envelope_from: Some(envelope.into()),
            dkim: dkim
                .iter()
                .map(|(d, r)| (d.to_string(), Some("s1".to_string()), r.to_string()))
                .collect(),
            spf: vec![(envelope.into(), "pass".into())],
        }
    }

    #[test]
    fn sources_are_told_apart_and_the_fix_named() {
        let rows = [
            row(
                "192.0.2.25",
                900,
                true,
                "example.com",
                &[("example.com", "pass")],
            ),
            row("198.51.100.7", 60, false, "mail.example.com", &[]),
            row(
                "203.0.113.5",
                30,
                false,
                "esp.example.net",
                &[("esp.example.net", "pass")],
            ),
            Row {
                spf: vec![("spoof.example".into(), "fail".into())],
                ..row("233.252.0.9", 10, false, "spoof.example", &[])
            },
        ];
        let summary = summarize("example.com", &rows);
        assert_eq!(summary.messages, 1000);
        assert_eq!(summary.passing, 900);
        let kinds: Vec<Sender> = summary.sources.iter().map(|s| s.looks_like).collect();
        assert_eq!(
            kinds,
            [
                Sender::Authenticated,
                Sender::OwnService,
                Sender::ThirdParty,
                Sender::Spoofing
            ]
        );
        assert_eq!(summary.advice.len(), 3);
        assert!(summary.advice[0]
            .text
            .contains("SPF record of mail.example.com"));
        assert!(summary.advice[1]
            .text
            .contains("DKIM key under example.com"));
        assert!(summary.advice[2].text.contains("fix the sources above"));
        // Its envelope is the domain's, its signature another's: the SPF advice, not a key.
        let mixed = summarize(
            "example.com",
            &[row(
                "192.0.2.99",
                5,
                false,
                "example.com",
                &[("other.example", "fail")],
            )],
        );
        assert_eq!(mixed.sources[0].looks_like, Sender::OwnService);
        assert!(
            mixed.advice[0].text.contains("SPF record of example.com"),
            "{:?}",
            mixed.advice
        );
        // Only spoofing left: ready to enforce.
        let clean = summarize("example.com", &[rows[0].clone(), rows[3].clone()]);
        assert!(
            clean.advice[0].text.contains("ready for p=quarantine"),
            "{:?}",
            clean.advice
        );
        assert!(clean.advice[0].text.contains("(10 messages)"));
    }
}
