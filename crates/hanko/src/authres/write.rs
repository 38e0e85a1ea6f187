//! The Authentication-Results writer. Every piece of text is made safe for its place in the
//! grammar, so that a value taken from a message or from DNS can neither end the field nor
//! forge another result.

use std::borrow::Cow;
use std::fmt::Write;

use super::parse::{is_token_char, is_unquoted_pvalue};
use super::{AuthenticationResults, MethodResult};

/// Lines longer than this are folded between properties (RFC 5322 §2.1.1 SHOULD).
const LINE_LIMIT: usize = 78;

/// ASCII printable characters stay; other characters become `?`; control characters (CR, LF,
/// NUL, ...) are dropped; tabs become spaces. Text that is already printable ASCII (nearly
/// all of it) is borrowed as it is.
fn printable(text: &str) -> Cow<'_, str> {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter_map(|c| match c {
                '\t' => Some(' '),
                c if c.is_control() => None,
                c if !c.is_ascii() => Some('?'),
                c => Some(c),
            })
            .collect(),
    )
}

/// Writes a `Keyword` (method, result, ptype, property): anything else is replaced by `-`.
fn keyword(out: &mut String, text: &str) {
    if text.is_empty() {
        out.push('-');
    }
    out.extend(text.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            c.to_ascii_lowercase()
        } else {
            '-'
        }
    }));
}

/// Writes an RFC 2045 `quoted-string` of `clean` (already [`printable`]).
fn quoted(out: &mut String, clean: &str) {
    out.push('"');
    for c in clean.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Writes `value = token / quoted-string`.
fn value(out: &mut String, text: &str) {
    let clean = printable(text);
    if !clean.is_empty() && clean.chars().all(is_token_char) {
        out.push_str(&clean);
    } else {
        quoted(out, &clean);
    }
}

/// Writes an RFC 8601 `pvalue`: as it is when the reader takes it unquoted (a token, or an
/// address or domain), else quoted. The writer asks the reader's own test, so the two agree.
fn pvalue(out: &mut String, text: &str) {
    let clean = printable(text);
    if is_unquoted_pvalue(&clean, false) {
        out.push_str(&clean);
    } else {
        quoted(out, &clean);
    }
}

/// Writes a comment with its parentheses. Balanced parentheses inside stay as nested
/// comments (RFC 5322 §3.2.2 allows them); unbalanced ones and `\\` become quoted pairs.
fn comment(out: &mut String, text: &str) {
    let clean = printable(text);
    out.push('(');
    if !clean.contains(['(', ')', '\\']) {
        out.push_str(&clean);
        out.push(')');
        return;
    }
    let chars: Vec<char> = clean.chars().collect();
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
    for (c, escaped) in chars.into_iter().zip(escape) {
        if escaped {
            out.push('\\');
        }
        out.push(c);
    }
    out.push(')');
}

/// Writes the pieces of one `resinfo`, each given to `piece` in turn (in `scratch`), to be
/// joined by spaces or folds.
fn pieces(result: &MethodResult, scratch: &mut String, mut piece: impl FnMut(&str)) {
    scratch.clear();
    keyword(scratch, &result.method);
    if let Some(version) = result.method_version {
        let _ = write!(scratch, "/{version}");
    }
    scratch.push('=');
    keyword(scratch, &result.result);
    for text in &result.comments {
        scratch.push(' ');
        comment(scratch, text);
    }
    piece(scratch);
    if let Some(reason) = &result.reason {
        scratch.clear();
        scratch.push_str("reason=");
        quoted(scratch, &printable(reason));
        piece(scratch);
    }
    for property in &result.properties {
        scratch.clear();
        if property.ptype.is_empty() {
            // Untyped pairs exist only in what lenient parsing read; writing them typeless
            // would not be RFC 8601, so they are written as a `policy` property.
            scratch.push_str("policy");
        } else {
            keyword(scratch, &property.ptype);
        }
        scratch.push('.');
        keyword(scratch, &property.name);
        scratch.push('=');
        pvalue(scratch, &property.value);
        piece(scratch);
    }
}

pub(super) fn field(field: &AuthenticationResults) -> String {
    let mut out = String::with_capacity(96 + 96 * field.results.len());
    out.push_str("Authentication-Results: ");
    value(&mut out, &field.authserv_id);
    if let Some(version) = field.version {
        let _ = write!(out, " {version}");
    }
    if field.results.is_empty() {
        out.push_str("; none");
        return out;
    }
    let mut scratch = String::with_capacity(128);
    for result in &field.results {
        out.push_str(";\r\n\t");
        let mut line = 1;
        let mut first = true;
        pieces(result, &mut scratch, |piece| {
            if !first {
                if line + 1 + piece.len() > LINE_LIMIT {
                    out.push_str("\r\n\t ");
                    line = 2;
                } else {
                    out.push(' ');
                    line += 1;
                }
            }
            first = false;
            line += piece.len();
            out.push_str(piece);
        });
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
