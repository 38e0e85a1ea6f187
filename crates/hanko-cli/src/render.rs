//! Renderers over verification results: Authentication-Results, a readable summary, JSON.

use hanko::dkim::{DkimResult, Verification};
use hanko::dmarc::reporting::ReportDestination;
use hanko::receiver::{AuthorDestinations, Receipt};
use serde_json::{json, Value};

use crate::verify::Checked;

fn reason(result: &DkimResult) -> Option<String> {
    result.failure.as_ref().map(ToString::to_string)
}

/// The Authentication-Results field with LF line ends and a final newline, for the terminal.
pub fn authentication_results(receipt: &Receipt) -> String {
    receipt
        .authentication_results()
        .to_field()
        .replace("\r\n", "\n")
        + "\n"
}

/// A readable summary: one line per check, the reasons below.
pub fn summary(checked: &Checked) -> String {
    let report = &checked.receipt;
    let mut out = String::new();
    if let Some(spf) = &report.spf {
        out.push_str(&format!(
            "spf {}: {} (domain {})\n",
            spf.verdict, spf.sender, spf.domain
        ));
        if let Some(problem) = &spf.problem {
            out.push_str(&format!("  {problem}\n"));
        }
        if let Some(number) = checked.traced_from {
            out.push_str(&format!(
                "  connection from Received field {number}: ip {}, helo {}\n",
                spf.ip, spf.helo
            ));
        }
    }
    out.push_str(&dkim_summary(&report.dkim));
    let dmarc = &report.dmarc;
    out.push_str(&format!(
        "dmarc {}: {}",
        dmarc.verdict,
        dmarc.author_domain.as_deref().unwrap_or("(no From domain)")
    ));
    if let Some(e) = dmarc
        .evaluations
        .iter()
        .find(|e| Some(&e.author_domain) == dmarc.author_domain.as_ref())
    {
        if let (Some(policy), Some(at)) = (e.policy, &e.record_domain) {
            out.push_str(&format!(
                " (policy {policy} from _dmarc.{at}, disposition {})",
                dmarc.disposition
            ));
        }
    }
    out.push('\n');
    if let Some(problem) = &dmarc.problem {
        out.push_str(&format!("  {problem}\n"));
    }
    if dmarc.multiple_from_fields {
        out.push_str("  warning: more than one From field; each was evaluated\n");
    }
    for AuthorDestinations {
        author_domain: author,
        destinations,
    } in &report.report_destinations
    {
        for d in destinations
            .iter()
            .filter(|d| !d.authorization.allows_reports())
        {
            out.push_str(&format!(
                "  {} {} (for {author}): {}\n",
                d.kind.tag(),
                d.uri.uri,
                d.authorization
            ));
        }
    }
    if let Some(adsp) = &report.adsp {
        out.push_str(&format!("dkim-adsp {}: {}\n", adsp.verdict, adsp.domain));
    }
    out
}

/// One line per signature, for people.
fn dkim_summary(outcome: &Verification) -> String {
    let mut out = String::new();
    if outcome.results.is_empty() {
        out.push_str("no DKIM signature\n");
    }
    for r in &outcome.results {
        let who = format!(
            "d={} s={} a={}",
            r.domain.as_deref().unwrap_or("?"),
            r.selector.as_deref().unwrap_or("?"),
            r.algorithm.as_deref().unwrap_or("?")
        );
        match &r.failure {
            None => out.push_str(&format!("{}: {who}\n", r.verdict)),
            Some(f) => out.push_str(&format!("{}: {who}: {f}\n", r.verdict)),
        }
        if let Some(key) = &r.key {
            if let Some(bits) = key.bits {
                out.push_str(&format!(
                    "  key: {} {} bits at {}\n",
                    key.key_type, bits, key.name
                ));
            }
            for alias in &key.aliases {
                out.push_str(&format!("    via CNAME -> {alias}\n"));
            }
        }
        for w in &r.warnings {
            out.push_str(&format!("  warning: {w}\n"));
        }
    }
    if outcome.skipped > 0 {
        out.push_str(&format!(
            "{} more signatures not verified (limit reached)\n",
            outcome.skipped
        ));
    }
    out
}

/// The JSON document of `hanko verify --json`.
pub fn json(checked: &Checked) -> Value {
    let report = &checked.receipt;
    let outcome = &report.dkim;
    let dkim: Vec<Value> = outcome
        .results
        .iter()
        .map(|r| {
            json!({
                "result": r.verdict.as_str(),
                "reason": reason(r),
                "domain": r.domain,
                "selector": r.selector,
                "algorithm": r.algorithm,
                "identity": r.identity,
                "header_b": r.header_b,
                "canonicalization": r.signature.as_ref().map(|s| s.canonicalization.to_string()),
                "signed_headers": r.signature.as_ref().map(|s| s.signed_headers.clone()),
                "timestamp": r.signature.as_ref().and_then(|s| s.timestamp),
                "expiration": r.signature.as_ref().and_then(|s| s.expiration),
                "body_length": r.signature.as_ref().and_then(|s| s.body_length),
                "key": r.key.as_ref().map(|k| json!({
                    "name": k.name,
                    "cname_chain": k.aliases,
                    "type": k.key_type.name(),
                    "bits": k.bits,
                    "testing": k.testing,
                })),
                "warnings": r.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        })
        .collect();
    let dmarc = &report.dmarc;
    let decisive = dmarc
        .evaluations
        .iter()
        .find(|e| Some(&e.author_domain) == dmarc.author_domain.as_ref());
    json!({
        "authentication_results": report.authentication_results().to_field(),
        "dkim": dkim,
        "dkim_skipped": outcome.skipped,
        "spf": report.spf.as_ref().map(|s| json!({
            "result": s.verdict.as_str(),
            "domain": s.domain,
            "sender": s.sender,
            "ip": s.ip.to_string(),
            "helo": s.helo,
            "received_field": checked.traced_from,
            "mechanism": s.matched.as_ref().map(|m| m.term.clone()),
            "problem": s.problem.as_ref().map(ToString::to_string),
        })),
        "dmarc": {
            "result": dmarc.verdict.as_str(),
            "domain": dmarc.author_domain,
            "policy": decisive.and_then(|e| e.policy).map(|p| p.as_str()),
            "disposition": dmarc.disposition.as_str(),
            "record_domain": decisive.and_then(|e| e.record_domain.clone()),
            "organizational_domain": decisive.and_then(|e| e.organizational_domain.clone()),
            "testing": decisive.and_then(|e| e.record.as_ref()).is_some_and(|r| r.testing),
            "problem": dmarc.problem.as_ref().map(ToString::to_string),
            "multiple_from_fields": dmarc.multiple_from_fields,
            "aligned": decisive.map(|e| {
                e.dkim.iter().chain(e.spf.iter())
                    .filter(|a| a.pass && a.aligned)
                    .map(|a| a.domain.clone())
                    .collect::<Vec<_>>()
            }),
            "authors": dmarc.evaluations.iter().map(|e| json!({
                "domain": e.author_domain,
                "result": e.verdict.as_str(),
                "policy": e.policy.map(|p| p.as_str()),
                "ignored_tags": e.record.as_ref().map(|r| r.ignored.iter().map(|t| format!("{}={} ({})", t.name, t.value, t.reason)).collect::<Vec<_>>()),
                "report_destinations": report
                    .report_destinations
                    .iter()
                    .find(|found| found.author_domain == e.author_domain)
                    .map(|found| found.destinations.iter().map(destination_json).collect::<Vec<_>>())
                    .unwrap_or_default(),
            })).collect::<Vec<_>>(),
        },
        "adsp": report.adsp.as_ref().map(|a| json!({
            "result": a.verdict.as_str(),
            "domain": a.domain,
            "reason": a.reason,
        })),
    })
}

fn destination_json(d: &ReportDestination) -> Value {
    use hanko::dmarc::reporting::Authorization;
    let (name, replaced_by) = match &d.authorization {
        Authorization::Authorized { name, replaced_by } => (
            Some(name.clone()),
            replaced_by.iter().map(|u| u.uri.clone()).collect(),
        ),
        Authorization::NotAuthorized { name } | Authorization::TempError { name, .. } => {
            (Some(name.clone()), Vec::new())
        }
        Authorization::SameOrganization
        | Authorization::Unsupported
        | Authorization::NotChecked => (None, Vec::new()),
    };
    json!({
        "tag": d.kind.tag(),
        "uri": d.uri.uri,
        "host": d.host,
        "status": d.authorization.as_str(),
        "allowed": d.authorization.allows_reports(),
        "checked_name": name,
        "replaced_by": replaced_by,
        "explanation": d.authorization.to_string(),
    })
}
