//! The Authentication-Results writer. Every piece of text is made safe for its place in the
//! grammar, so that a value taken from a message or from DNS can neither end the field nor
//! forge another result.

use super::parse::{is_token_char, is_unquoted_pvalue};
use super::{AuthenticationResults, MethodResult};

/// Lines longer than this are folded between properties (RFC 5322 §2.1.1 SHOULD).
const LINE_LIMIT: usize = 78;

/// ASCII printable characters stay; other characters become `?`; control characters (CR, LF,
/// NUL, ...) are dropped; tabs become spaces.
fn printable(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().filter_map(|c| match c {
        '\t' => Some(' '),
        c if c.is_control() => None,
        c if !c.is_ascii() => Some('?'),
        c => Some(c),
    })
}

/// A `Keyword` (method, result, ptype, property): anything else is replaced by `-`.
fn keyword(text: &str) -> String {
    let word: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if word.is_empty() {
        "-".to_string()
    } else {
        word
    }
}

/// RFC 2045 `quoted-string`.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in printable(text) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `value = token / quoted-string`.
fn value(text: &str) -> String {
    let clean: String = printable(text).collect();
    if !clean.is_empty() && clean.chars().all(is_token_char) {
        clean
    } else {
        quoted(&clean)
    }
}

/// RFC 8601 `pvalue`: written as it is when the reader takes it unquoted (a token, or an
/// address or domain), else quoted. The writer asks the reader's own test, so the two agree.
fn pvalue(text: &str) -> String {
    let clean: String = printable(text).collect();
    if is_unquoted_pvalue(&clean, false) {
        clean
    } else {
        quoted(&clean)
    }
}

/// A comment with its parentheses. Balanced parentheses inside stay as nested comments
/// (RFC 5322 §3.2.2 allows them); unbalanced ones and `\\` become quoted pairs.
fn comment(text: &str) -> String {
    let chars: Vec<char> = printable(text).collect();
    let mut escape = vec![false; chars.len()];
    let mut open = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '(' => open.push(i),
            // The guard pops the matching '(' when there is one.
            ')' if open.pop().is_none() => escape[i] = true,
            '\\' => escape[i] = true,
            _ => {}
        }
    }
    for i in open {
        escape[i] = true;
    }
    let mut out = String::from("(");
    for (c, escaped) in chars.into_iter().zip(escape) {
        if escaped {
            out.push('\\');
        }
        out.push(c);
    }
    out.push(')');
    out
}

/// The pieces of one `resinfo`, to be joined by spaces or folds.
fn pieces(result: &MethodResult) -> Vec<String> {
    let mut method = keyword(&result.method);
    if let Some(version) = result.method_version {
        method.push_str(&format!("/{version}"));
    }
    let mut first = format!("{method}={}", keyword(&result.result));
    for text in &result.comments {
        first.push(' ');
        first.push_str(&comment(text));
    }
    let mut out = vec![first];
    if let Some(reason) = &result.reason {
        out.push(format!("reason={}", quoted(reason)));
    }
    for property in &result.properties {
        let name = if property.ptype.is_empty() {
            // Untyped pairs exist only in what lenient parsing read; writing them typeless
            // would not be RFC 8601, so they are written as a `policy` property.
            format!("policy.{}", keyword(&property.name))
        } else {
            format!("{}.{}", keyword(&property.ptype), keyword(&property.name))
        };
        out.push(format!("{name}={}", pvalue(&property.value)));
    }
    out
}

pub(super) fn field(field: &AuthenticationResults) -> String {
    let mut out = format!("Authentication-Results: {}", value(&field.authserv_id));
    if let Some(version) = field.version {
        out.push_str(&format!(" {version}"));
    }
    if field.results.is_empty() {
        out.push_str("; none");
        return out;
    }
    for result in &field.results {
        out.push_str(";\r\n\t");
        let mut line = 1;
        for (j, piece) in pieces(result).into_iter().enumerate() {
            if j > 0 {
                if line + 1 + piece.len() > LINE_LIMIT {
                    out.push_str("\r\n\t ");
                    line = 2;
                } else {
                    out.push(' ');
                    line += 1;
                }
            }
            line += piece.len();
            out.push_str(&piece);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_stays_inside_its_value() {
        let mut field = AuthenticationResults::new("mx\r\nX-Evil: 1");
        field.results.push(
            MethodResult::new("dkim", "fail")
                .with_comment("bad) ; dkim=pass (x")
                .with_property("header", "d", "evil.example; dkim=pass")
                .with_property("header", "i", "a\"b\\c@example.com"),
        );
        let text = field.to_field();
        assert!(!text.contains("\r\nX-Evil"));
        assert!(text.starts_with("Authentication-Results: \"mxX-Evil: 1\";"));
        assert!(text.contains("(bad\\) ; dkim=pass \\(x)"), "{text}");
        let nested = MethodResult::new("dkim", "fail").with_comment("mismatch (body changed)");
        let mut plain = AuthenticationResults::new("mx");
        plain.results.push(nested);
        assert!(plain.to_field().contains("(mismatch (body changed))"));
        assert!(text.contains("header.d=\"evil.example; dkim=pass\""));
        let parsed =
            AuthenticationResults::parse(&text, super::super::ParseOptions::strict()).unwrap();
        assert_eq!(parsed.results.len(), 1);
        assert_eq!(parsed.results[0].result, "fail");
        assert_eq!(
            parsed.results[0].property("header.d"),
            Some("evil.example; dkim=pass")
        );
        assert_eq!(
            parsed.results[0].property("header.i"),
            Some("a\"b\\c@example.com")
        );
    }

    #[test]
    fn long_results_fold_between_properties() {
        let mut field = AuthenticationResults::new("mx.example.org");
        field.results.push(
            MethodResult::new("dkim", "pass")
                .with_property("header", "d", "a-rather-long-domain-name.example.com")
                .with_property("header", "i", "@a-rather-long-domain-name.example.com")
                .with_property("header", "s", "selector2026"),
        );
        let text = field.to_field();
        assert!(
            text.lines().all(|l| l.trim_end().len() <= LINE_LIMIT),
            "{text}"
        );
        assert!(text.contains("\r\n\t header.i="));
    }
}
