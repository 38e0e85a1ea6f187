//! Writing aggregate reports (RFC 9990) from what a receiver recorded
//! ([`hanko::receiver::Evaluation`]): one report per DMARC Policy Domain and period, rows
//! grouped with their counts, written in the RFC 9990 namespace and gzipped.
//!
//! The report is built as the same [`AggregateReport`] the reader produces, so a report hanko
//! writes reads back to the value it was written from.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;

use hanko::dkim::DkimVerdict;
use hanko::dmarc::{AlignmentMode, Policy as HankoPolicy};
use hanko::receiver::{Disposition as HankoDisposition, Evaluation};
use hanko::spf::{SpfIdentity, SpfVerdict};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use crate::aggregate::{
    Alignment, AuthResults, Disposition, DkimAuth, DkimResult, Identifiers, OverrideReason,
    OverrideType, Policy, PolicyEvaluated, PolicyPublished, Record, ReportMetadata, Schema, Source,
    SpfAuth, SpfResult, Verdict,
};
use crate::AggregateReport;

/// Who writes the reports (`report_metadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reporter {
    /// `org_name`: the reporting organization.
    pub org_name: String,
    /// `email`: where the domain owner can write back.
    pub org_email: String,
    /// `extra_contact_info`.
    pub extra_contact_info: Option<String>,
}

/// RFC 9990 §3.1.1.12: at most this many DKIM results per record, in the RFC's order of
/// preference (passing and aligned first).
pub const MAX_DKIM_RESULTS: usize = 100;

/// The report of `evaluations` (all for `policy_domain`, within `begin..end` in Unix
/// seconds): rows grouped by everything a record says, each with its count; rows without a
/// source address are left out (a record needs one). `None` when nothing is left.
pub fn build(
    reporter: &Reporter,
    policy_domain: &str,
    (begin, end): (u64, u64),
    evaluations: &[Evaluation],
) -> Option<AggregateReport> {
    let reportable: Vec<&Evaluation> = evaluations
        .iter()
        .filter(|e| e.source_ip.is_some() && e.policy_domain.eq_ignore_ascii_case(policy_domain))
        .collect();
    // The policy in force at the end of the period: the latest row's.
    let latest = reportable.iter().max_by_key(|e| e.time)?;
    let mut counts: BTreeMap<String, (Record, u64)> = BTreeMap::new();
    for evaluation in &reportable {
        let record = record(evaluation);
        let key = format!("{record:?}");
        counts.entry(key).or_insert((record, 0)).1 += 1;
    }
    let records = counts
        .into_values()
        .map(|(mut record, count)| {
            record.count = count;
            record
        })
        .collect();
    Some(AggregateReport {
        xml_schema: Schema::Rfc9990,
        warnings: Vec::new(),
        report_metadata: ReportMetadata {
            org_name: reporter.org_name.clone(),
            org_email: Some(reporter.org_email.clone()),
            org_extra_contact_info: reporter.extra_contact_info.clone(),
            report_id: report_id(&reporter.org_name, policy_domain, begin, end),
            begin_date: begin,
            end_date: end,
            generator: Some(format!("hanko {}", env!("CARGO_PKG_VERSION"))),
            errors: Vec::new(),
        },
        policy_published: published(policy_domain, latest),
        records,
        extensions: Vec::new(),
    })
}

/// The report id: the period and the policy domain, with the reporter's name, so that it is
/// unique per domain and the same when a report is made again after a failure.
pub fn report_id(org_name: &str, policy_domain: &str, begin: u64, end: u64) -> String {
    let safe = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}.{begin}.{end}.{}", safe(policy_domain), safe(org_name))
}

/// The file name RFC 9990 §3.1.2.2 asks for: `receiver!policy-domain!begin!end!id.xml.gz`.
pub fn file_name(receiver: &str, report: &AggregateReport) -> String {
    let m = &report.report_metadata;
    format!(
        "{receiver}!{}!{}!{}!{}.xml.gz",
        report.policy_published.domain, m.begin_date, m.end_date, m.report_id
    )
}

/// The report gzipped (`application/gzip`).
pub fn gzip(xml: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(xml.as_bytes())
        .expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

fn policy(p: HankoPolicy) -> Policy {
    match p {
        HankoPolicy::None => Policy::None,
        HankoPolicy::Quarantine => Policy::Quarantine,
        HankoPolicy::Reject => Policy::Reject,
    }
}

fn alignment(mode: AlignmentMode) -> Alignment {
    match mode {
        AlignmentMode::Relaxed => Alignment::Relaxed,
        AlignmentMode::Strict => Alignment::Strict,
    }
}

fn published(domain: &str, e: &Evaluation) -> PolicyPublished {
    let p = &e.published;
    PolicyPublished {
        domain: domain.to_ascii_lowercase(),
        adkim: Some(alignment(p.dkim_alignment)),
        aspf: Some(alignment(p.spf_alignment)),
        p: Some(policy(p.policy)),
        sp: p.subdomain_policy.map(policy),
        np: p.nonexistent_policy.map(policy),
        pct: None,
        fo: p.failure_options.clone(),
        testing: Some(p.testing),
        discovery_method: Some("treewalk".to_string()),
    }
}

fn verdict(pass: bool) -> Option<Verdict> {
    Some(if pass { Verdict::Pass } else { Verdict::Fail })
}

fn record(e: &Evaluation) -> Record {
    let disposition = match e.disposition {
        HankoDisposition::Pass => Disposition::Pass,
        HankoDisposition::None => Disposition::None,
        HankoDisposition::Quarantine => Disposition::Quarantine,
        HankoDisposition::Reject => Disposition::Reject,
    };
    let policy_override_reasons = e
        .overrides
        .iter()
        .map(|o| OverrideReason {
            kind: match o {
                hanko::receiver::Override::PolicyTestMode => OverrideType::PolicyTestMode,
                hanko::receiver::Override::TrustedForwarder { .. } => {
                    OverrideType::TrustedForwarder
                }
            },
            comment: o.comment().map(str::to_string),
        })
        .collect();
    // Passing signatures first, then the rest, in message order within each (RFC 9990's
    // order of preference when there are too many).
    let mut dkim: Vec<&hanko::receiver::DkimEvaluation> = e.dkim.iter().collect();
    dkim.sort_by_key(|d| d.result != DkimVerdict::Pass);
    let dkim = dkim
        .into_iter()
        .take(MAX_DKIM_RESULTS)
        .map(|d| DkimAuth {
            domain: d.domain.clone(),
            selector: Some(d.selector.clone()),
            result: dkim_result(d.result),
            human_result: None,
        })
        .collect();
    let spf = e
        .spf
        .iter()
        .filter(|s| s.identity == SpfIdentity::MailFrom)
        .map(|s| SpfAuth {
            domain: s.domain.clone(),
            scope: Some("mfrom".to_string()),
            result: spf_result(s.result),
            human_result: None,
        })
        .collect();
    Record {
        source: Source {
            ip_address: e.source_ip.unwrap_or(IpAddr::from([0, 0, 0, 0])),
        },
        count: 1,
        policy_evaluated: PolicyEvaluated {
            disposition,
            dkim: verdict(e.dkim_aligned_pass),
            spf: verdict(e.spf_aligned_pass),
            policy_override_reasons,
        },
        identifiers: Identifiers {
            header_from: e.header_from.clone(),
            envelope_from: e.envelope_from.clone(),
            envelope_to: e.envelope_to.clone(),
        },
        auth_results: AuthResults { dkim, spf },
        extensions: Vec::new(),
    }
}

fn dkim_result(v: DkimVerdict) -> DkimResult {
    match v {
        DkimVerdict::Pass => DkimResult::Pass,
        DkimVerdict::Fail => DkimResult::Fail,
        DkimVerdict::Neutral => DkimResult::Neutral,
        DkimVerdict::Policy => DkimResult::Policy,
        DkimVerdict::TempError => DkimResult::TempError,
        DkimVerdict::PermError => DkimResult::PermError,
    }
}

fn spf_result(v: SpfVerdict) -> SpfResult {
    match v {
        SpfVerdict::None => SpfResult::None,
        SpfVerdict::Neutral => SpfResult::Neutral,
        SpfVerdict::Pass => SpfResult::Pass,
        SpfVerdict::Fail => SpfResult::Fail,
        SpfVerdict::SoftFail => SpfResult::SoftFail,
        SpfVerdict::TempError => SpfResult::TempError,
        SpfVerdict::PermError => SpfResult::PermError,
    }
}

/// The report as RFC 9990 XML, in its namespace, elements in the schema's order.
pub fn to_xml(report: &AggregateReport) -> String {
    let mut xml = Xml(Writer::new_with_indent(Vec::new(), b' ', 2));
    xml.event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let mut root = BytesStart::new("feedback");
    root.push_attribute(("xmlns", "urn:ietf:params:xml:ns:dmarc-2.0"));
    xml.event(Event::Start(root));
    xml.text("version", "1.0");

    let m = &report.report_metadata;
    xml.open("report_metadata");
    xml.text("org_name", &m.org_name);
    if let Some(email) = &m.org_email {
        xml.text("email", email);
    }
    if let Some(extra) = &m.org_extra_contact_info {
        xml.text("extra_contact_info", extra);
    }
    xml.text("report_id", &m.report_id);
    xml.open("date_range");
    xml.text("begin", &m.begin_date.to_string());
    xml.text("end", &m.end_date.to_string());
    xml.close("date_range");
    for error in &m.errors {
        xml.text("error", error);
    }
    if let Some(generator) = &m.generator {
        xml.text("generator", generator);
    }
    xml.close("report_metadata");

    let p = &report.policy_published;
    xml.open("policy_published");
    xml.text("domain", &p.domain);
    for (name, value) in [("p", &p.p), ("sp", &p.sp), ("np", &p.np)] {
        if let Some(value) = value {
            xml.text(name, value.as_str());
        }
    }
    for (name, value) in [("adkim", &p.adkim), ("aspf", &p.aspf)] {
        if let Some(value) = value {
            xml.text(name, value.as_str());
        }
    }
    if let Some(method) = &p.discovery_method {
        xml.text("discovery_method", method);
    }
    if let Some(fo) = &p.fo {
        xml.text("fo", fo);
    }
    if let Some(testing) = p.testing {
        xml.text("testing", if testing { "y" } else { "n" });
    }
    xml.close("policy_published");

    for record in &report.records {
        xml.open("record");
        xml.open("row");
        xml.text("source_ip", &record.source.ip_address.to_string());
        xml.text("count", &record.count.to_string());
        let pe = &record.policy_evaluated;
        xml.open("policy_evaluated");
        xml.text("disposition", pe.disposition.as_str());
        for (name, value) in [("dkim", &pe.dkim), ("spf", &pe.spf)] {
            if let Some(value) = value {
                xml.text(name, value.as_str());
            }
        }
        for reason in &pe.policy_override_reasons {
            xml.open("reason");
            xml.text("type", reason.kind.as_str());
            if let Some(comment) = &reason.comment {
                xml.text("comment", comment);
            }
            xml.close("reason");
        }
        xml.close("policy_evaluated");
        xml.close("row");
        let ids = &record.identifiers;
        xml.open("identifiers");
        if let Some(to) = &ids.envelope_to {
            xml.text("envelope_to", to);
        }
        if let Some(from) = &ids.envelope_from {
            xml.text("envelope_from", from);
        }
        xml.text("header_from", &ids.header_from);
        xml.close("identifiers");
        xml.open("auth_results");
        for dkim in &record.auth_results.dkim {
            xml.open("dkim");
            xml.text("domain", &dkim.domain);
            if let Some(selector) = &dkim.selector {
                xml.text("selector", selector);
            }
            xml.text("result", dkim.result.as_str());
            xml.close("dkim");
        }
        for spf in &record.auth_results.spf {
            xml.open("spf");
            xml.text("domain", &spf.domain);
            if let Some(scope) = &spf.scope {
                xml.text("scope", scope);
            }
            xml.text("result", spf.result.as_str());
            xml.close("spf");
        }
        xml.close("auth_results");
        xml.close("record");
    }
    xml.close("feedback");
    let mut text = String::from_utf8(xml.0.into_inner()).expect("the writer writes UTF-8");
    text.push('\n');
    text
}

/// quick-xml's writer with the three calls a report needs. Writing to memory cannot fail.
struct Xml(Writer<Vec<u8>>);

impl Xml {
    fn event(&mut self, event: Event<'_>) {
        self.0.write_event(event).expect("writing to memory");
    }

    fn open(&mut self, name: &str) {
        self.event(Event::Start(BytesStart::new(name)));
    }

    fn close(&mut self, name: &str) {
        self.event(Event::End(BytesEnd::new(name)));
    }

    /// `<name>text</name>`, the text escaped.
    fn text(&mut self, name: &str, text: &str) {
        self.open(name);
        self.event(Event::Text(BytesText::new(text)));
        self.close(name);
    }
}
