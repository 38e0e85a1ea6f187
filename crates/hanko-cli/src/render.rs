//! Renderers over verification results: Authentication-Results and a readable summary (the
//! JSON document is the library's serialization of the receipt).

use hanko::dkim::Verification;
use hanko::receiver::{AuthorDestinations, Receipt};

/// The Authentication-Results field with LF line ends and a final newline, for the terminal.
pub fn authentication_results(receipt: &Receipt) -> String {
    receipt
        .authentication_results()
        .to_field()
        .replace("\r\n", "\n")
        + "\n"
}

/// A readable summary: one line per check, the reasons below.
pub fn summary(report: &Receipt) -> String {
    let mut out = String::new();
    if let Some(spf) = &report.spf {
        out.push_str(&format!(
            "spf {}: {} (domain {})\n",
            spf.verdict, spf.sender, spf.domain
        ));
        if let Some(problem) = &spf.problem {
            out.push_str(&format!("  {problem}\n"));
        }
        if let Some(number) = report.received_field {
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
            r.domain().unwrap_or("?"),
            r.selector().unwrap_or("?"),
            r.algorithm().unwrap_or("?")
        );
        match &r.failure {
            None => out.push_str(&format!("{}: {who}\n", r.verdict())),
            Some(f) => out.push_str(&format!("{}: {who}: {f}\n", r.verdict())),
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
