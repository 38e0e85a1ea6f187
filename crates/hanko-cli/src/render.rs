//! Renderers over verification results: Authentication-Results, a readable summary, JSON.

use hanko::dkim::{DkimResult, Verification};
use serde_json::{json, Value};

/// Makes text safe inside an RFC 8601 comment: no parentheses, backslashes or line breaks, so
/// that nothing from a message or from DNS can close the comment or start a new field.
fn comment_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '(' => '[',
            ')' => ']',
            '\\' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// A property value as a `value` token, or quoted when it is not a token (RFC 8601 §2.2).
fn value(text: &str) -> String {
    let token = !text.is_empty()
        && text.chars().all(|c| {
            c.is_ascii_graphic() && !"()<>,;:\\\"/[]?=".contains(c)
                || c == '/'
                || c == '='
                || c == ':'
        });
    let dot_atom_like = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._@+/=".contains(c));
    if token && dot_atom_like {
        text.to_string()
    } else {
        let escaped: String = text
            .chars()
            .filter(|c| !c.is_control())
            .flat_map(|c| match c {
                '"' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        format!("\"{escaped}\"")
    }
}

fn reason(result: &DkimResult) -> Option<String> {
    result.failure.as_ref().map(ToString::to_string)
}

/// The Authentication-Results field for the DKIM results.
pub fn authentication_results(authserv_id: &str, outcome: &Verification) -> String {
    let mut out = format!("Authentication-Results: {};", value(authserv_id));
    if outcome.results.is_empty() {
        out.push_str(" dkim=none");
    }
    for (i, r) in outcome.results.iter().enumerate() {
        out.push_str(if i == 0 { "\r\n\t" } else { ";\r\n\t" });
        out.push_str(&format!("dkim={}", r.verdict));
        if let Some(reason) = reason(r) {
            out.push_str(&format!(" ({})", comment_safe(&reason)));
        }
        for (prop, v) in [
            ("header.d", &r.domain),
            ("header.i", &r.identity),
            ("header.s", &r.selector),
            ("header.a", &r.algorithm),
            ("header.b", &r.header_b),
        ] {
            if let Some(v) = v {
                out.push_str(&format!(" {prop}={}", value(v)));
            }
        }
    }
    out.push_str("\r\n");
    out.replace("\r\n", "\n")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_values_cannot_break_out() {
        assert_eq!(
            comment_safe("a) dkim=pass (b\r\nX: y"),
            "a] dkim=pass [b  X: y"
        );
        assert_eq!(value("example.com"), "example.com");
        assert_eq!(value("a b;dkim=pass"), "\"a b;dkim=pass\"");
        assert_eq!(value("x\"y"), "\"x\\\"y\"");
    }
}
