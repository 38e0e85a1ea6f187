//! The receipt as a JSON-ready document (with the `serde` feature): what `hanko verify
//! --json` prints, and what a program embedding the library can store or send.
//!
//! The document is a view over [`Receipt`] written as borrowed structs with named fields, so
//! its shape is declared once, here, and checked by the compiler. Result words are the RFC
//! 8601 ones; reasons are the `Display` text of the typed failures.

use serde::{Serialize, Serializer};

use super::Receipt;
use crate::adsp::AdspOutcome;
use crate::arc::{ArcResult, ArcSet, ArcSignature};
use crate::dkim::{DkimResult, KeyInfo};
use crate::dmarc::reporting::{Authorization, ReportDestination};
use crate::dmarc::{AuthorEvaluation, DmarcOutcome};
use crate::spf::SpfOutcome;

impl Serialize for Receipt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Document::new(self).serialize(serializer)
    }
}

/// The top of the document.
#[derive(Serialize)]
struct Document<'a> {
    authentication_results: String,
    /// Why DKIM was not verified, when only part of the header section was kept.
    header_overflow: Option<String>,
    dkim: Vec<Dkim<'a>>,
    dkim_skipped: usize,
    /// ARC chain validation; absent when it did not run.
    arc: Option<Arc<'a>>,
    spf: Option<Spf<'a>>,
    dmarc: Dmarc<'a>,
    adsp: Option<Adsp<'a>>,
}

impl<'a> Document<'a> {
    fn new(receipt: &'a Receipt) -> Document<'a> {
        Document {
            authentication_results: receipt.authentication_results().to_field(),
            header_overflow: receipt.header_overflow.map(|o| o.to_string()),
            dkim: receipt.dkim.results.iter().map(Dkim::new).collect(),
            dkim_skipped: receipt.dkim.skipped,
            arc: receipt.arc.as_ref().map(Arc::new),
            spf: receipt
                .spf
                .as_ref()
                .map(|spf| Spf::new(spf, receipt.received_field)),
            dmarc: Dmarc::new(&receipt.dmarc, receipt),
            adsp: receipt.adsp.as_ref().map(Adsp::new),
        }
    }
}

/// One DKIM-Signature: the tags as written (present even when the signature did not parse),
/// then what only a parsed signature has.
#[derive(Serialize)]
struct Dkim<'a> {
    result: &'static str,
    reason: Option<String>,
    domain: Option<&'a str>,
    selector: Option<&'a str>,
    algorithm: Option<&'a str>,
    identity: Option<&'a str>,
    header_b: Option<String>,
    canonicalization: Option<String>,
    signed_headers: Option<&'a [String]>,
    timestamp: Option<u64>,
    expiration: Option<u64>,
    body_length: Option<u64>,
    key: Option<Key<'a>>,
    warnings: Vec<String>,
}

impl<'a> Dkim<'a> {
    fn new(result: &'a DkimResult) -> Dkim<'a> {
        let signature = result.parsed_signature();
        Dkim {
            result: result.verdict().as_str(),
            reason: result.failure.as_ref().map(ToString::to_string),
            domain: result.domain(),
            selector: result.selector(),
            algorithm: result.algorithm(),
            identity: result.identity(),
            header_b: result.header_b(),
            canonicalization: signature.map(|s| s.canonicalization.to_string()),
            signed_headers: signature.map(|s| s.signed_headers.as_slice()),
            timestamp: signature.and_then(|s| s.timestamp),
            expiration: signature.and_then(|s| s.expiration),
            body_length: signature.and_then(|s| s.body_length),
            key: result.key.as_ref().map(Key::new),
            warnings: result.warnings.iter().map(ToString::to_string).collect(),
        }
    }
}

/// The key a signature was checked with.
#[derive(Serialize)]
struct Key<'a> {
    name: &'a str,
    cname_chain: &'a [String],
    #[serde(rename = "type")]
    key_type: &'static str,
    bits: Option<usize>,
    testing: bool,
}

impl<'a> Key<'a> {
    fn new(key: &'a KeyInfo) -> Key<'a> {
        Key {
            name: &key.name,
            cname_chain: &key.aliases,
            key_type: key.key_type.name(),
            bits: key.bits,
            testing: key.testing,
        }
    }
}

/// The ARC chain: its status and why, and each set oldest first.
#[derive(Serialize)]
struct Arc<'a> {
    result: &'static str,
    reason: Option<String>,
    instances: usize,
    oldest_pass: Option<u32>,
    sets: Vec<ArcSetDocument<'a>>,
}

impl<'a> Arc<'a> {
    fn new(arc: &'a ArcResult) -> Arc<'a> {
        Arc {
            result: arc.status().as_str(),
            reason: arc.failure.as_ref().map(ToString::to_string),
            instances: arc.sets.len(),
            oldest_pass: arc.oldest_pass,
            sets: arc.sets.iter().map(ArcSetDocument::new).collect(),
        }
    }
}

/// One ARC set.
#[derive(Serialize)]
struct ArcSetDocument<'a> {
    instance: u32,
    seal: ArcSignatureDocument<'a>,
    message_signature: ArcSignatureDocument<'a>,
    authentication_results: &'a str,
}

impl<'a> ArcSetDocument<'a> {
    fn new(set: &'a ArcSet) -> ArcSetDocument<'a> {
        ArcSetDocument {
            instance: set.instance,
            seal: ArcSignatureDocument::new(&set.seal),
            message_signature: ArcSignatureDocument::new(&set.message_signature),
            authentication_results: &set.authentication_results,
        }
    }
}

/// An ARC-Seal or ARC-Message-Signature: `result` is null when it was not checked.
#[derive(Serialize)]
struct ArcSignatureDocument<'a> {
    domain: Option<&'a str>,
    selector: Option<&'a str>,
    result: Option<&'static str>,
    reason: Option<String>,
    key: Option<Key<'a>>,
}

impl<'a> ArcSignatureDocument<'a> {
    fn new(signature: &'a ArcSignature) -> ArcSignatureDocument<'a> {
        ArcSignatureDocument {
            domain: signature.domain(),
            selector: signature.selector(),
            result: signature.verdict().map(|v| v.as_str()),
            reason: signature.failure().map(ToString::to_string),
            key: signature.key.as_ref().map(Key::new),
        }
    }
}

/// SPF for the connection.
#[derive(Serialize)]
struct Spf<'a> {
    result: &'static str,
    domain: &'a str,
    sender: &'a str,
    ip: String,
    helo: &'a str,
    mechanism: Option<&'a str>,
    problem: Option<String>,
    /// The Received field the connection was read from, when it was.
    received_field: Option<usize>,
}

impl<'a> Spf<'a> {
    fn new(spf: &'a SpfOutcome, received_field: Option<usize>) -> Spf<'a> {
        Spf {
            result: spf.verdict.as_str(),
            domain: &spf.domain,
            sender: &spf.sender,
            ip: spf.ip.to_string(),
            helo: &spf.helo,
            mechanism: spf.matched.as_ref().map(|m| m.term.as_str()),
            problem: spf.problem.as_ref().map(ToString::to_string),
            received_field,
        }
    }
}

/// DMARC: the message's verdict and the decisive Author Domain's record at the top, every
/// Author Domain below.
#[derive(Serialize)]
struct Dmarc<'a> {
    result: &'static str,
    domain: Option<&'a str>,
    policy: Option<&'static str>,
    disposition: &'static str,
    record_domain: Option<&'a str>,
    organizational_domain: Option<&'a str>,
    testing: bool,
    problem: Option<String>,
    /// From values with no readable domain (each counts as a failing author).
    unreadable_authors: Vec<String>,
    multiple_from_fields: bool,
    /// The domains of the passing, aligned identifiers of the decisive Author Domain.
    aligned: Option<Vec<&'a str>>,
    /// A failure overridden by local policy (a trusted ARC sealer), RFC 9990's words.
    #[serde(rename = "override")]
    policy_override: Option<Override<'a>>,
    authors: Vec<Author<'a>>,
}

impl<'a> Dmarc<'a> {
    fn new(dmarc: &'a DmarcOutcome, receipt: &'a Receipt) -> Dmarc<'a> {
        let decisive = dmarc
            .evaluations
            .iter()
            .find(|e| Some(&e.author_domain) == dmarc.author_domain.as_ref());
        Dmarc {
            result: dmarc.verdict.as_str(),
            domain: dmarc.author_domain.as_deref(),
            policy: decisive.and_then(|e| e.policy).map(|p| p.as_str()),
            disposition: dmarc.disposition.as_str(),
            record_domain: decisive.and_then(|e| e.record_domain.as_deref()),
            organizational_domain: decisive.and_then(|e| e.organizational_domain.as_deref()),
            testing: decisive
                .and_then(|e| e.record.as_ref())
                .is_some_and(|r| r.testing),
            problem: dmarc.problem.as_ref().map(ToString::to_string),
            unreadable_authors: dmarc
                .unreadable_authors
                .iter()
                .map(ToString::to_string)
                .collect(),
            multiple_from_fields: dmarc.multiple_from_fields,
            aligned: decisive.map(|e| {
                e.dkim
                    .iter()
                    .chain(e.spf.iter())
                    .filter(|a| a.pass && a.aligned)
                    .map(|a| a.domain.as_str())
                    .collect()
            }),
            policy_override: receipt.dmarc_override.as_ref().map(|f| Override {
                reason: "trusted_forwarder",
                sealer: &f.sealer,
                instance: f.instance,
                evidence: &f.evidence,
            }),
            authors: dmarc
                .evaluations
                .iter()
                .map(|e| Author::new(e, receipt))
                .collect(),
        }
    }
}

/// Why a DMARC failure was not enforced.
#[derive(Serialize)]
struct Override<'a> {
    reason: &'static str,
    sealer: &'a str,
    instance: u32,
    evidence: &'a str,
}

/// One Author Domain's evaluation.
#[derive(Serialize)]
struct Author<'a> {
    domain: &'a str,
    result: &'static str,
    policy: Option<&'static str>,
    /// Tags of the record that were not used, each as `name=value (reason)`.
    ignored_tags: Option<Vec<String>>,
    report_destinations: Vec<Destination<'a>>,
}

impl<'a> Author<'a> {
    fn new(evaluation: &'a AuthorEvaluation, receipt: &'a Receipt) -> Author<'a> {
        Author {
            domain: &evaluation.author_domain,
            result: evaluation.verdict.as_str(),
            policy: evaluation.policy.map(|p| p.as_str()),
            ignored_tags: evaluation.record.as_ref().map(|r| {
                r.ignored
                    .iter()
                    .map(|t| format!("{}={} ({})", t.name, t.value, t.reason))
                    .collect()
            }),
            report_destinations: receipt
                .report_destinations
                .iter()
                .find(|found| found.author_domain == evaluation.author_domain)
                .map(|found| found.destinations.iter().map(Destination::new).collect())
                .unwrap_or_default(),
        }
    }
}

/// One `rua`/`ruf` destination and whether it may receive reports (RFC 9990 §3).
#[derive(Serialize)]
struct Destination<'a> {
    tag: &'static str,
    uri: &'a str,
    host: Option<&'a str>,
    status: &'static str,
    allowed: bool,
    /// The `_report._dmarc` name queried, when one was.
    checked_name: Option<&'a str>,
    /// The URIs the destination's own record gives instead, when it gives any.
    replaced_by: Vec<&'a str>,
    explanation: String,
}

impl<'a> Destination<'a> {
    fn new(destination: &'a ReportDestination) -> Destination<'a> {
        let (checked_name, replaced_by) = match &destination.authorization {
            Authorization::Authorized { name, replaced_by } => (
                Some(name.as_str()),
                replaced_by.iter().map(|u| u.uri.as_str()).collect(),
            ),
            Authorization::NotAuthorized { name } | Authorization::TempError { name, .. } => {
                (Some(name.as_str()), Vec::new())
            }
            Authorization::SameOrganization
            | Authorization::Unsupported
            | Authorization::NotChecked => (None, Vec::new()),
        };
        Destination {
            tag: destination.kind.tag(),
            uri: &destination.uri.uri,
            host: destination.host.as_deref(),
            status: destination.authorization.as_str(),
            allowed: destination.authorization.allows_reports(),
            checked_name,
            replaced_by,
            explanation: destination.authorization.to_string(),
        }
    }
}

/// ADSP, when it was checked.
#[derive(Serialize)]
struct Adsp<'a> {
    result: &'static str,
    domain: &'a str,
    reason: Option<&'a str>,
}

impl<'a> Adsp<'a> {
    fn new(adsp: &'a AdspOutcome) -> Adsp<'a> {
        Adsp {
            result: adsp.verdict.as_str(),
            domain: &adsp.domain,
            reason: adsp.reason.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::dns::StaticLookup;
    use crate::receiver::{Connection, Receiver, ReceiverConfig};

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    fn receipt_json(message: &[u8], dns: &StaticLookup) -> serde_json::Value {
        let mut config = ReceiverConfig::new("mx.example.net");
        config.report_destinations = true;
        let receiver = Receiver::read(&config, message).unwrap();
        let connection = Connection {
            ip: "192.0.2.1".parse().unwrap(),
            helo: "mail.example.com",
            mail_from: "joe@example.com",
            received_field: None,
        };
        let receipt = block_on(receiver.finish(dns, Some(connection), 1_700_000_000));
        serde_json::to_value(&receipt).unwrap()
    }

    #[test]
    fn the_document_carries_every_check_and_agrees_with_the_field() {
        let dns = StaticLookup::new()
            .with_txt("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
            .with_txt(
                "_dmarc.example.com",
                "v=DMARC1; p=reject; rua=mailto:d@example.com,mailto:d@reports.example; x=1",
            );
        let message = b"From: joe@example.com\r\nDKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=gone; h=from; bh=AAAA; b=QUJD\r\n\r\nHello.\r\n";
        let document = receipt_json(message, &dns);
        let field = document["authentication_results"].as_str().unwrap();
        assert!(field.starts_with("Authentication-Results: mx.example.net;"));
        assert_eq!(document["spf"]["result"], "pass");
        assert_eq!(document["spf"]["ip"], "192.0.2.1");
        assert_eq!(document["spf"]["mechanism"], "ip4:192.0.2.0/24");
        // The signature's tags as written, and why it failed; no key was found.
        let dkim = &document["dkim"][0];
        assert_eq!(dkim["domain"], "example.com");
        assert_eq!(dkim["selector"], "gone");
        assert_ne!(dkim["result"], "pass");
        assert!(dkim["reason"].as_str().is_some_and(|r| !r.is_empty()));
        assert!(dkim["key"].is_null());
        assert_eq!(document["dkim_skipped"], 0);
        // DMARC passes on aligned SPF; the decisive author's record is at the top.
        let dmarc = &document["dmarc"];
        assert_eq!(dmarc["result"], "pass");
        assert_eq!(dmarc["policy"], "reject");
        assert_eq!(dmarc["aligned"], serde_json::json!(["example.com"]));
        assert_eq!(dmarc["authors"][0]["domain"], "example.com");
        let ignored = dmarc["authors"][0]["ignored_tags"][0].as_str().unwrap();
        assert!(ignored.starts_with("x=1"), "{ignored}");
        // Two destinations: one in the author's own domain, one that needs its consent.
        let destinations = dmarc["authors"][0]["report_destinations"]
            .as_array()
            .unwrap();
        assert_eq!(destinations.len(), 2);
        assert_eq!(destinations[0]["allowed"], true);
        assert!(destinations[0]["checked_name"].is_null());
        assert_eq!(destinations[1]["allowed"], false);
        assert_eq!(
            destinations[1]["checked_name"],
            "example.com._report._dmarc.reports.example"
        );
        assert_eq!(document["adsp"]["result"], "none");
        assert_eq!(document["arc"]["result"], "none");
        assert_eq!(document["arc"]["instances"], 0);
        assert!(document["header_overflow"].is_null());
        // Every result word in the document is the one the field carries.
        for (method, result) in [
            ("spf", &document["spf"]["result"]),
            ("dkim", &dkim["result"]),
            ("dmarc", &dmarc["result"]),
            ("dkim-adsp", &document["adsp"]["result"]),
            ("arc", &document["arc"]["result"]),
        ] {
            let word = format!("{method}={}", result.as_str().unwrap());
            assert!(field.contains(&word), "{word} not in {field}");
        }
    }

    #[test]
    fn an_unreadable_author_is_named_in_the_document() {
        let dns = StaticLookup::new().with_txt("_dmarc.example.com", "v=DMARC1; p=reject");
        let message = b"From: joe@example.com, Mallory <mallory@bad..example>\r\n\r\nHello.\r\n";
        let document = receipt_json(message, &dns);
        let dmarc = &document["dmarc"];
        assert_ne!(dmarc["result"], "pass");
        // `bad..example` is no dot-atom: the field does not parse, and the salvaged domain
        // is no domain name. Both are named.
        let unreadable = dmarc["unreadable_authors"].as_array().unwrap();
        assert_eq!(unreadable.len(), 2, "{unreadable:?}");
        assert!(unreadable
            .iter()
            .any(|p| p.as_str().unwrap().contains("bad..example")));
        assert_eq!(dmarc["multiple_from_fields"], false);
    }
}
