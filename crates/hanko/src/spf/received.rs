//! The `Received-SPF` header field (RFC 7208 §9.1).

use super::{SpfOutcome, SpfVerdict};

/// True when `value` can be written as an RFC 5322 dot-atom.
fn is_dot_atom(value: &str) -> bool {
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    !value.is_empty()
        && value
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(atext))
}

/// `value` as a dot-atom when it is one, else as a quoted-string.
fn quote(value: &str) -> String {
    if is_dot_atom(value) {
        value.to_string()
    } else {
        quoted_string(value)
    }
}

/// `value` as an RFC 5322 quoted-string.
fn quoted_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        // Control characters cannot appear in a header field; drop them.
        if !c.is_control() {
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Text inside a comment: parentheses and backslashes escaped.
fn comment_text(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if matches!(c, '(' | ')' | '\\') {
            out.push('\\');
        }
        if !c.is_control() {
            out.push(c);
        }
    }
    out
}

/// The `Received-SPF:` field for `outcome`, unfolded and without CRLF, e.g.
/// `Received-SPF: pass (mx.example.org: domain of joe@example.com designates 192.0.2.1 as
/// permitted sender) client-ip=192.0.2.1; envelope-from="joe@example.com";
/// helo=mail.example.com; receiver=mx.example.org; identity=mailfrom`.
pub fn received_spf(outcome: &SpfOutcome, receiver: &str) -> String {
    let sender = &outcome.sender;
    let ip = outcome.ip;
    let reason = match outcome.verdict {
        SpfVerdict::Pass => format!("domain of {sender} designates {ip} as permitted sender"),
        SpfVerdict::Fail => {
            format!("domain of {sender} does not designate {ip} as permitted sender")
        }
        SpfVerdict::SoftFail => {
            format!("domain of transitioning {sender} does not designate {ip} as permitted sender")
        }
        SpfVerdict::Neutral => {
            format!("{ip} is neither permitted nor denied by domain of {sender}")
        }
        SpfVerdict::None => format!("domain of {sender} does not designate permitted sender hosts"),
        SpfVerdict::TempError => format!("error in processing during lookup of {sender}"),
        SpfVerdict::PermError => format!("permanent error in processing domain of {sender}"),
    };
    let mut pairs = vec![
        ("client-ip", quote(&ip.to_string())),
        ("envelope-from", quoted_string(sender)),
        ("helo", quote(&outcome.helo)),
        ("receiver", quote(receiver)),
    ];
    if let Some(matched) = &outcome.matched {
        pairs.push(("mechanism", quote(&matched.term)));
    }
    if let Some(problem) = &outcome.problem {
        if outcome.verdict != SpfVerdict::None {
            pairs.push(("problem", quote(&problem.to_string())));
        }
    }
    pairs.push(("identity", outcome.identity.as_str().to_string()));
    let list: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "Received-SPF: {} ({}: {}) {}",
        outcome.verdict,
        comment_text(receiver),
        comment_text(&reason),
        list.join("; ")
    )
}
