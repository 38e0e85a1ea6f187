//! Renderers over verification results: Authentication-Results, a readable summary, JSON.

use hanko::authres::{self, AuthenticationResults};
use hanko::dkim::{DkimResult, Verification};
use serde_json::{json, Value};

fn reason(result: &DkimResult) -> Option<String> {
    result.failure.as_ref().map(ToString::to_string)
}

/// The Authentication-Results field for the DKIM results, LF line ends.
pub fn authentication_results(authserv_id: &str, outcome: &Verification) -> String {
    let mut field = AuthenticationResults::new(authserv_id);
    field.results = authres::from::dkim(outcome);
    field.to_field().replace("\r\n", "\n") + "\n"
}

/// One line per signature, for people.
pub fn summary(outcome: &Verification) -> String {
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
pub fn json(outcome: &Verification) -> Value {
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
    json!({
        "dkim": dkim,
        "dkim_skipped": outcome.skipped,
    })
}
