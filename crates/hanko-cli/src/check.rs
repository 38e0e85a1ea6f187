//! `hanko check DOMAIN`: audit the SPF, DKIM, DMARC, MX, ADSP, MTA-STS and TLS-RPT records a
//! domain publishes.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hanko::keys::SigningKey;
use hanko_analyze::domain::{check_domain, CheckConfig, DomainCheck, Severity, SpfNode, TagNote};
use serde_json::{json, Value};

use crate::dns::DnsArgs;

/// Options of `hanko check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The domain to audit.
    pub domain: String,
    /// A DKIM selector to check (repeatable). Common selectors (selector1, selector2,
    /// google, k1, s1, default, dkim, ...) are probed as well; those not found are not
    /// reported.
    #[arg(long = "selector", short = 's', value_name = "SELECTOR")]
    pub selectors: Vec<String>,
    /// Do not probe the common selectors: check only those given.
    #[arg(long = "no-probe")]
    pub no_probe: bool,
    /// A private key (PEM): is its public key the one published?
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the audit. Exit status 0 without errors, 1 with at least one error finding.
pub async fn run(args: CheckArgs, dns: &DnsArgs) -> anyhow::Result<u8> {
    let lookup = dns.lookup()?;
    let private_key = match &args.key {
        Some(path) => {
            let text =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Some(SigningKey::from_pem(&text).with_context(|| format!("{}", path.display()))?)
        }
        None => None,
    };
    let config = CheckConfig {
        probe_common_selectors: !args.no_probe,
        selectors: args.selectors.clone(),
        private_key,
    };
    let check = check_domain(&*lookup, &args.domain, &config).await;
    if args.json {
        println!("{:#}", json_of(&check));
    } else {
        print!("{}", text_of(&check, std::io::stdout().is_terminal()));
    }
    let errors = check.findings.iter().any(|f| f.severity == Severity::Error);
    Ok(u8::from(errors))
}

fn paint(text: &str, severity: Severity, colour: bool) -> String {
    if !colour {
        return text.to_string();
    }
    let code = match severity {
        Severity::Error => "31",
        Severity::Warning => "33",
        Severity::Note => "36",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn tree_lines(node: &SpfNode, depth: usize, out: &mut String) {
    let what = match (&node.record, &node.problem) {
        (_, Some(problem)) => format!("({problem})"),
        (Some(record), None) => record.clone(),
        (None, None) => String::new(),
    };
    let via = if depth == 0 {
        String::new()
    } else {
        format!("{} ", node.via)
    };
    out.push_str(&format!(
        "{}{via}{}: {what}\n",
        "  ".repeat(depth + 1),
        node.domain
    ));
    for child in &node.children {
        tree_lines(child, depth + 1, out);
    }
}

fn tag_lines(tags: &[TagNote], out: &mut String) {
    for note in tags {
        let value = if note.value.chars().count() > 40 {
            format!("{}...", note.value.chars().take(37).collect::<String>())
        } else {
            note.value.clone()
        };
        out.push_str(&format!("    {}={value}: {}\n", note.tag, note.meaning));
    }
}

fn tags_json(tags: &[TagNote]) -> Value {
    tags.iter()
        .map(|t| json!({"tag": t.tag, "value": t.value, "meaning": t.meaning}))
        .collect()
}

/// The report for people: each protocol, then the findings, then the grade.
pub fn text_of(check: &DomainCheck, colour: bool) -> String {
    let mut out = format!("{}\n", check.domain);
    out.push_str("SPF\n");
    match &check.spf.tree {
        Some(tree) => {
            tree_lines(tree, 0, &mut out);
            out.push_str(&format!(
                "  DNS lookups: {} of 10, void lookups: {} of 2\n",
                check.spf.dns_lookups, check.spf.void_lookups
            ));
            if !check.spf.authorized.is_empty() {
                out.push_str(&format!("  passes: {}\n", check.spf.authorized.join(" ")));
            }
        }
        None if check.spf.records.is_empty() => out.push_str("  (no record)\n"),
        None => {
            for record in &check.spf.records {
                out.push_str(&format!("  {record}\n"));
            }
        }
    }
    out.push_str("DKIM\n");
    if check.dkim.is_empty() {
        out.push_str("  (no selector found)\n");
    }
    for selector in &check.dkim {
        let key = match (
            &selector.problem,
            selector.revoked,
            selector.key_type,
            selector.bits,
        ) {
            (Some(problem), _, _, _) => problem.clone(),
            (None, true, _, _) => "revoked (empty p=)".into(),
            (None, false, Some(kind), Some(bits)) => format!("{kind} {bits} bits"),
            _ => String::new(),
        };
        let chain = if selector.cname_chain.is_empty() {
            String::new()
        } else {
            format!(" -> {}", selector.cname_chain.join(" -> "))
        };
        out.push_str(&format!("  {}{chain}: {key}\n", selector.name));
        tag_lines(&selector.tags, &mut out);
    }
    out.push_str("DMARC\n");
    match (&check.dmarc.record, &check.dmarc.found_at) {
        (Some(record), Some(at)) => {
            out.push_str(&format!(
                "  _dmarc.{at}: p={}{}{}\n",
                record.policy,
                record
                    .subdomain_policy
                    .map(|p| format!(" sp={p}"))
                    .unwrap_or_default(),
                if record.testing { " t=y" } else { "" }
            ));
            tag_lines(&check.dmarc.tags, &mut out);
            for destination in &check.dmarc.report_destinations {
                out.push_str(&format!(
                    "  {}={}: {}\n",
                    destination.kind.tag(),
                    destination.uri.uri,
                    destination.authorization
                ));
            }
        }
        _ => out.push_str(&format!(
            "  ({})\n",
            check.dmarc.problem.as_deref().unwrap_or("no record")
        )),
    }
    out.push_str("MX\n");
    if check.mx.is_empty() {
        out.push_str("  (none)\n");
    }
    for mx in &check.mx {
        out.push_str(&format!("  {mx}\n"));
    }
    for (label, record) in [("MTA-STS", &check.mta_sts), ("TLS-RPT", &check.tls_rpt)] {
        if let Some(record) = record {
            out.push_str(&format!("{label}\n  {record}\n"));
        }
    }
    if let Some(adsp) = &check.adsp {
        out.push_str(&format!("ADSP (historic)\n  {adsp}\n"));
    }
    out.push_str("Findings\n");
    if check.findings.is_empty() {
        out.push_str("  none\n");
    }
    for finding in &check.findings {
        let word = paint(finding.severity.as_str(), finding.severity, colour);
        out.push_str(&format!(
            "  {word} [{}] {}\n",
            finding.area.as_str(),
            finding.message
        ));
    }
    let first = check.fix_first(3);
    if !first.is_empty() {
        out.push_str("Fix first\n");
        for (n, finding) in first.iter().enumerate() {
            out.push_str(&format!("  {}. {}\n", n + 1, finding.message));
        }
    }
    out.push_str(&format!("Grade: {}\n", check.grade()));
    out
}

fn node_json(node: &SpfNode) -> Value {
    json!({
        "via": node.via,
        "domain": node.domain,
        "record": node.record,
        "problem": node.problem,
        "children": node.children.iter().map(node_json).collect::<Vec<_>>(),
    })
}

/// The report as data.
pub fn json_of(check: &DomainCheck) -> Value {
    json!({
        "domain": check.domain,
        "grade": check.grade().to_string(),
        "spf": {
            "records": check.spf.records,
            "tree": check.spf.tree.as_ref().map(node_json),
            "dns_lookups": check.spf.dns_lookups,
            "void_lookups": check.spf.void_lookups,
            "authorized": check.spf.authorized,
        },
        "dkim": check.dkim.iter().map(|s| json!({
            "selector": s.selector,
            "name": s.name,
            "cname_chain": s.cname_chain,
            "record": s.record,
            "key_type": s.key_type.map(|k| k.to_string()),
            "bits": s.bits,
            "revoked": s.revoked,
            "testing": s.testing,
            "matches_private_key": s.matches_private_key,
            "problem": s.problem,
            "tags": tags_json(&s.tags),
        })).collect::<Vec<_>>(),
        "dmarc": {
            "found_at": check.dmarc.found_at,
            "policy": check.dmarc.record.as_ref().map(|r| r.policy.to_string()),
            "subdomain_policy": check.dmarc.record.as_ref().and_then(|r| r.subdomain_policy).map(|p| p.to_string()),
            "testing": check.dmarc.record.as_ref().map(|r| r.testing),
            "organizational_domain": check.dmarc.organizational_domain,
            "report_destinations": check.dmarc.report_destinations.iter().map(|d| json!({
                "tag": d.kind.tag(),
                "uri": d.uri.uri,
                "status": d.authorization.as_str(),
                "allowed": d.authorization.allows_reports(),
            })).collect::<Vec<_>>(),
            "problem": check.dmarc.problem,
            "tags": tags_json(&check.dmarc.tags),
        },
        "mx": check.mx,
        "adsp": check.adsp,
        "mta_sts": check.mta_sts,
        "tls_rpt": check.tls_rpt,
        "findings": check.findings.iter().map(|f| json!({
            "severity": f.severity.as_str(),
            "area": f.area.as_str(),
            "message": f.message,
        })).collect::<Vec<_>>(),
        "fix_first": check.fix_first(3).iter().map(|f| f.message.clone()).collect::<Vec<_>>(),
    })
}
