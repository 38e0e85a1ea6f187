//! The SPF macro language (RFC 7208 §7): parsed once into a [`MacroString`], expanded per
//! evaluation with a [`MacroContext`].
//!
//! ```text
//! macro-string  = *( macro-expand / macro-literal )
//! macro-expand  = ( "%{" macro-letter transformers *delimiter "}" )
//!                 / "%%" / "%_" / "%-"
//! macro-literal = %x21-24 / %x26-7E
//! macro-letter  = "s" / "l" / "o" / "d" / "i" / "p" / "h" / "c" / "r" / "t" / "v"
//! transformers  = *DIGIT [ "r" ]
//! delimiter     = "." / "-" / "+" / "," / "/" / "_" / "="
//! ```

use std::fmt;
use std::net::IpAddr;

/// A macro letter (RFC 7208 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacroLetter {
    /// `s`: the sender (`local-part@domain`).
    Sender,
    /// `l`: the sender's local-part.
    LocalPart,
    /// `o`: the sender's domain.
    SenderDomain,
    /// `d`: the domain being checked (changes with include and redirect).
    Domain,
    /// `i`: the client IP (dotted quad, or dot-separated nibbles for IPv6).
    Ip,
    /// `p`: the validated domain name of the client IP (discouraged, §7.3).
    ValidatedName,
    /// `v`: `in-addr` for IPv4, `ip6` for IPv6.
    IpVersion,
    /// `h`: the HELO/EHLO domain.
    Helo,
    /// `c`: the client IP in its readable form (explanations only).
    ClientIp,
    /// `r`: the receiving host's domain (explanations only).
    Receiver,
    /// `t`: the current time in Unix seconds (explanations only).
    Timestamp,
}

impl MacroLetter {
    fn from_char(c: char) -> Option<MacroLetter> {
        Some(match c.to_ascii_lowercase() {
            's' => MacroLetter::Sender,
            'l' => MacroLetter::LocalPart,
            'o' => MacroLetter::SenderDomain,
            'd' => MacroLetter::Domain,
            'i' => MacroLetter::Ip,
            'p' => MacroLetter::ValidatedName,
            'v' => MacroLetter::IpVersion,
            'h' => MacroLetter::Helo,
            'c' => MacroLetter::ClientIp,
            'r' => MacroLetter::Receiver,
            't' => MacroLetter::Timestamp,
            _ => return None,
        })
    }

    /// True for `c`, `r` and `t`, which only explanation strings may use (§7.2).
    pub fn explanation_only(self) -> bool {
        matches!(
            self,
            MacroLetter::ClientIp | MacroLetter::Receiver | MacroLetter::Timestamp
        )
    }
}

/// One piece of a macro string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MacroPart {
    /// Text copied as is (`%%`, `%_` and `%-` are already turned into `%`, space, `%20`).
    Literal(String),
    /// `%{...}`.
    Expand {
        /// The letter.
        letter: MacroLetter,
        /// Written in upper case: the value is URL-escaped (§7.3).
        url_escape: bool,
        /// Keep this many right-hand parts; `None` keeps all.
        keep: Option<usize>,
        /// `r`: reverse the parts.
        reverse: bool,
        /// Characters to split on; empty means `.`.
        delimiters: String,
    },
}

/// A parsed macro string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MacroString {
    /// The pieces in order.
    pub parts: Vec<MacroPart>,
    /// The text as written.
    pub text: String,
    /// The last token is a macro-expand (`%{..}`, `%%`, `%_`, `%-`): RFC 7208's
    /// `domain-end` alternative to a top label.
    ends_with_macro: bool,
}

/// Why a macro string did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MacroError {
    /// A `%` not followed by `{`, `%`, `_` or `-`.
    BadPercent,
    /// `%{` without a closing `}` or with something unexpected inside.
    BadExpand(String),
    /// An unknown macro letter.
    UnknownLetter(char),
    /// `c`, `r` or `t` outside an explanation.
    ExplanationOnly(char),
    /// A digit transformer of 0 (§7.3: it must be nonzero).
    ZeroParts,
    /// A character outside visible ASCII (or space, in explanations).
    BadCharacter(char),
}

impl fmt::Display for MacroError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MacroError::BadPercent => f.write_str("'%' must be followed by '{', '%', '_' or '-'"),
            MacroError::BadExpand(text) => write!(f, "malformed macro {text:?}"),
            MacroError::UnknownLetter(c) => write!(f, "unknown macro letter {c:?}"),
            MacroError::ExplanationOnly(c) => {
                write!(f, "macro letter {c:?} is allowed only in explanations")
            }
            MacroError::ZeroParts => f.write_str("macro keeps 0 parts"),
            MacroError::BadCharacter(c) => write!(f, "character {c:?} not allowed"),
        }
    }
}

impl std::error::Error for MacroError {}

impl MacroString {
    /// Parses a macro string of a record (domain-spec or unknown modifier value): `c`, `r`
    /// and `t` are refused, and only visible ASCII is allowed.
    pub fn parse(text: &str) -> Result<MacroString, MacroError> {
        Self::parse_inner(text, false)
    }

    /// Parses an explanation string (§6.2 `explain-string`): spaces allowed, and all macro
    /// letters.
    pub fn parse_explanation(text: &str) -> Result<MacroString, MacroError> {
        Self::parse_inner(text, true)
    }

    fn parse_inner(text: &str, explanation: bool) -> Result<MacroString, MacroError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut ends_with_macro = false;
        let mut chars = text.char_indices().peekable();
        while let Some((start, c)) = chars.next() {
            ends_with_macro = c == '%';
            if c != '%' {
                let allowed = c.is_ascii_graphic() || (explanation && c == ' ');
                if !allowed {
                    return Err(MacroError::BadCharacter(c));
                }
                literal.push(c);
                continue;
            }
            match chars.next().map(|(_, c)| c) {
                Some('%') => literal.push('%'),
                Some('_') => literal.push(' '),
                Some('-') => literal.push_str("%20"),
                Some('{') => {
                    let rest = &text[start + 2..];
                    let end = rest
                        .find('}')
                        .ok_or_else(|| MacroError::BadExpand(text[start..].to_string()))?;
                    let inner = &rest[..end];
                    // Skip what we consumed.
                    for _ in 0..inner.chars().count() + 1 {
                        chars.next();
                    }
                    if !literal.is_empty() {
                        parts.push(MacroPart::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(parse_expand(inner, explanation)?);
                }
                _ => return Err(MacroError::BadPercent),
            }
        }
        if !literal.is_empty() {
            parts.push(MacroPart::Literal(literal));
        }
        Ok(MacroString {
            parts,
            text: text.to_string(),
            ends_with_macro,
        })
    }

    /// True when the string ends with a `%{...}`, `%%`, `%_` or `%-` (RFC 7208's
    /// `domain-end` alternative to a top label).
    pub(crate) fn ends_with_macro(&self) -> bool {
        self.ends_with_macro
    }

    /// Expands with `context`. The `p` macro needs DNS, so its value is passed in
    /// `validated_name` by the evaluator (`None` when not needed or not found: "unknown").
    pub fn expand(&self, context: &MacroContext<'_>, validated_name: Option<&str>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                MacroPart::Literal(text) => out.push_str(text),
                MacroPart::Expand {
                    letter,
                    url_escape,
                    keep,
                    reverse,
                    delimiters,
                } => {
                    let value = context.value(*letter, validated_name);
                    let value = transform(&value, *keep, *reverse, delimiters);
                    if *url_escape {
                        out.push_str(&escape(&value));
                    } else {
                        out.push_str(&value);
                    }
                }
            }
        }
        out
    }

    /// The text when it holds no macro at all (no `%`), else `None`: what a static audit can
    /// follow without a message.
    pub fn as_literal(&self) -> Option<&str> {
        (!self.text.contains('%')).then_some(self.text.as_str())
    }

    /// True when expanding needs the `p` macro's DNS work.
    pub fn uses_validated_name(&self) -> bool {
        self.parts.iter().any(|p| {
            matches!(
                p,
                MacroPart::Expand {
                    letter: MacroLetter::ValidatedName,
                    ..
                }
            )
        })
    }
}

fn parse_expand(inner: &str, explanation: bool) -> Result<MacroPart, MacroError> {
    let bad = || MacroError::BadExpand(format!("%{{{inner}}}"));
    let mut chars = inner.chars();
    let letter_char = chars.next().ok_or_else(bad)?;
    let letter =
        MacroLetter::from_char(letter_char).ok_or(MacroError::UnknownLetter(letter_char))?;
    if letter.explanation_only() && !explanation {
        return Err(MacroError::ExplanationOnly(letter_char));
    }
    let rest = chars.as_str();
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let keep = if digits_end == 0 {
        None
    } else {
        // Absurdly long digit strings just mean "all parts".
        let n: usize = rest[..digits_end].parse().unwrap_or(usize::MAX);
        if n == 0 {
            return Err(MacroError::ZeroParts);
        }
        Some(n)
    };
    let mut rest = &rest[digits_end..];
    let reverse = if let Some(r) = rest.strip_prefix(['r', 'R']) {
        rest = r;
        true
    } else {
        false
    };
    if !rest.chars().all(|c| ".-+,/_=".contains(c)) {
        return Err(bad());
    }
    Ok(MacroPart::Expand {
        letter,
        url_escape: letter_char.is_ascii_uppercase(),
        keep,
        reverse,
        delimiters: rest.to_string(),
    })
}

/// §7.3: split on the delimiters, optionally reverse, keep the right-most `keep` parts, join
/// with dots.
fn transform(value: &str, keep: Option<usize>, reverse: bool, delimiters: &str) -> String {
    if keep.is_none() && !reverse && (delimiters.is_empty() || delimiters == ".") {
        return value.to_string();
    }
    let delimiters = if delimiters.is_empty() {
        "."
    } else {
        delimiters
    };
    let mut parts: Vec<&str> = value.split(|c| delimiters.contains(c)).collect();
    if reverse {
        parts.reverse();
    }
    let keep = keep.unwrap_or(parts.len()).min(parts.len());
    parts[parts.len() - keep..].join(".")
}

/// URL-escapes everything outside RFC 3986 `unreserved` (§7.3).
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What the macro letters stand for in one evaluation.
#[derive(Debug, Clone)]
pub struct MacroContext<'a> {
    /// `l`.
    pub local_part: &'a str,
    /// `o`.
    pub sender_domain: &'a str,
    /// `d`.
    pub domain: &'a str,
    /// The client address (`i`, `c`, `v`).
    pub ip: IpAddr,
    /// `h`.
    pub helo: &'a str,
    /// `r`; `unknown` when not configured.
    pub receiver: &'a str,
    /// `t`.
    pub now: u64,
}

impl MacroContext<'_> {
    fn value(&self, letter: MacroLetter, validated_name: Option<&str>) -> String {
        match letter {
            MacroLetter::Sender => format!("{}@{}", self.local_part, self.sender_domain),
            MacroLetter::LocalPart => self.local_part.to_string(),
            MacroLetter::SenderDomain => self.sender_domain.to_string(),
            MacroLetter::Domain => self.domain.to_string(),
            MacroLetter::Ip => match self.ip {
                IpAddr::V4(v4) => v4.to_string(),
                // Dot-separated nibbles. Upper case, as the OpenSPF suite expects in
                // explanations (its test v-macro-ip6); RFC 7208 §7.4 prints lower case, and
                // DNS, where the value usually goes, does not care.
                IpAddr::V6(v6) => {
                    let mut nibbles = Vec::with_capacity(32);
                    for byte in v6.octets() {
                        nibbles.push(format!("{:X}", byte >> 4));
                        nibbles.push(format!("{:X}", byte & 0xf));
                    }
                    nibbles.join(".")
                }
            },
            MacroLetter::ValidatedName => validated_name.unwrap_or("unknown").to_string(),
            MacroLetter::IpVersion => match self.ip {
                IpAddr::V4(_) => "in-addr".into(),
                IpAddr::V6(_) => "ip6".into(),
            },
            MacroLetter::Helo => self.helo.to_string(),
            MacroLetter::ClientIp => self.ip.to_string(),
            MacroLetter::Receiver => self.receiver.to_string(),
            MacroLetter::Timestamp => self.now.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> MacroContext<'static> {
        MacroContext {
            local_part: "strong-bad",
            sender_domain: "email.example.com",
            domain: "email.example.com",
            ip: "192.0.2.3".parse().unwrap(),
            helo: "mx.example.org",
            receiver: "receiver.example.net",
            now: 1_000,
        }
    }

    /// The examples of RFC 7208 §7.4.
    #[test]
    fn rfc7208_section_7_4_examples() {
        let cases = [
            ("%{s}", "strong-bad@email.example.com"),
            ("%{o}", "email.example.com"),
            ("%{d}", "email.example.com"),
            ("%{d4}", "email.example.com"),
            ("%{d3}", "email.example.com"),
            ("%{d2}", "example.com"),
            ("%{d1}", "com"),
            ("%{dr}", "com.example.email"),
            ("%{d2r}", "example.email"),
            ("%{l}", "strong-bad"),
            ("%{l-}", "strong.bad"),
            ("%{lr}", "strong-bad"),
            ("%{lr-}", "bad.strong"),
            ("%{l1r-}", "strong"),
            (
                "%{ir}.%{v}._spf.%{d2}",
                "3.2.0.192.in-addr._spf.example.com",
            ),
            ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
            (
                "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
                "bad.strong.lp.3.2.0.192.in-addr._spf.example.com",
            ),
            (
                "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
                "3.2.0.192.in-addr.strong.lp._spf.example.com",
            ),
            (
                "%{d2}.trusted-domains.example.net",
                "example.com.trusted-domains.example.net",
            ),
        ];
        for (text, expected) in cases {
            let m = MacroString::parse(text).unwrap();
            assert_eq!(m.expand(&context(), None), expected, "{text}");
        }
        let v6 = MacroContext {
            ip: "2001:db8::cb01".parse().unwrap(),
            ..context()
        };
        let m = MacroString::parse("%{ir}.%{v}._spf.%{d2}").unwrap();
        assert_eq!(
            m.expand(&v6, None).to_ascii_lowercase(),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
        );
    }

    #[test]
    fn escapes_and_specials() {
        let m = MacroString::parse("a%%b%_c%-d").unwrap();
        assert_eq!(m.expand(&context(), None), "a%b c%20d");
        let ctx = MacroContext {
            local_part: "~jack&jill=up-a_b3.c",
            ..context()
        };
        let m = MacroString::parse_explanation("l=%{L}").unwrap();
        assert_eq!(m.expand(&ctx, None), "l=~jack%26jill%3Dup-a_b3.c");
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(MacroString::parse("%(ir)"), Err(MacroError::BadPercent));
        assert_eq!(MacroString::parse("foo%"), Err(MacroError::BadPercent));
        assert_eq!(
            MacroString::parse("%{a}"),
            Err(MacroError::UnknownLetter('a'))
        );
        assert_eq!(
            MacroString::parse("%{r}.example.com"),
            Err(MacroError::ExplanationOnly('r'))
        );
        assert!(MacroString::parse_explanation("%{r} at %{t}").is_ok());
        assert_eq!(MacroString::parse("%{d0}"), Err(MacroError::ZeroParts));
        assert!(MacroString::parse("%{d").is_err());
        assert!(MacroString::parse("%{dx}").is_err());
        assert!(MacroString::parse("a b").is_err());
        assert!(MacroString::parse("é").is_err());
    }
}
