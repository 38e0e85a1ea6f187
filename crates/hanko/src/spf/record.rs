//! SPF records (RFC 7208 §4.5, §5, §6, §12): recognised, then parsed whole before anything is
//! evaluated, so a syntax error anywhere is a `permerror` (§4.6).
//!
//! ```text
//! record           = version terms *SP
//! version          = "v=spf1"
//! terms            = *( 1*SP ( directive / modifier ) )
//! directive        = [ qualifier ] mechanism
//! qualifier        = "+" / "-" / "?" / "~"
//! mechanism        = ( all / include / a / mx / ptr / ip4 / ip6 / exists )
//! modifier         = redirect / explanation / unknown-modifier
//! unknown-modifier = name "=" macro-string
//! name             = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
//! domain-spec      = macro-string domain-end
//! domain-end       = ( "." toplabel [ "." ] ) / macro-expand
//! toplabel         = ( *alphanum ALPHA *alphanum ) /
//!                    ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
//! ```

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::macros::{MacroError, MacroString};

/// The qualifier of a directive (§4.6.2): the result when its mechanism matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    /// `+` (the default).
    Pass,
    /// `-`.
    Fail,
    /// `~`.
    SoftFail,
    /// `?`.
    Neutral,
}

/// CIDR prefix lengths for `a` and `mx` (§5.6 `dual-cidr-length`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DualCidr {
    /// Prefix for IPv4 clients; default 32.
    pub v4: u8,
    /// Prefix for IPv6 clients; default 128.
    pub v6: u8,
}

impl Default for DualCidr {
    fn default() -> Self {
        DualCidr { v4: 32, v6: 128 }
    }
}

/// A mechanism (§5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    /// `all`: always matches.
    All,
    /// `include:<domain-spec>`: matches when the included policy passes.
    Include {
        /// The domain whose policy is evaluated.
        domain: MacroString,
    },
    /// `a[:<domain-spec>][cidr]`: the client is one of the domain's addresses.
    A {
        /// The domain; `None` means the current domain.
        domain: Option<MacroString>,
        /// Prefix lengths.
        cidr: DualCidr,
    },
    /// `mx[:<domain-spec>][cidr]`: the client is one of the domain's mail exchangers.
    Mx {
        /// The domain; `None` means the current domain.
        domain: Option<MacroString>,
        /// Prefix lengths.
        cidr: DualCidr,
    },
    /// `ptr[:<domain-spec>]`: the client's validated host name is in the domain
    /// (discouraged, §5.5).
    Ptr {
        /// The domain; `None` means the current domain.
        domain: Option<MacroString>,
    },
    /// `ip4:<network>[/<prefix>]`.
    Ip4 {
        /// The network address.
        network: Ipv4Addr,
        /// The prefix length, 0–32 (default 32).
        prefix: u8,
    },
    /// `ip6:<network>[/<prefix>]`.
    Ip6 {
        /// The network address.
        network: Ipv6Addr,
        /// The prefix length, 0–128 (default 128).
        prefix: u8,
    },
    /// `exists:<domain-spec>`: the name has an A record.
    Exists {
        /// The name to look up.
        domain: MacroString,
    },
}

impl Mechanism {
    /// True for the mechanisms that query DNS and so count against the limit of §4.6.4.
    pub fn queries_dns(&self) -> bool {
        !matches!(
            self,
            Mechanism::All | Mechanism::Ip4 { .. } | Mechanism::Ip6 { .. }
        )
    }
}

/// A qualifier and a mechanism, with the text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The qualifier.
    pub qualifier: Qualifier,
    /// The mechanism.
    pub mechanism: Mechanism,
    /// The term as written, e.g. `-ip4:192.0.2.0/24`.
    pub text: String,
}

/// A parsed SPF record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The directives in order.
    pub directives: Vec<Directive>,
    /// `redirect=`.
    pub redirect: Option<MacroString>,
    /// `exp=`.
    pub explanation: Option<MacroString>,
    /// Other modifiers (ignored, §6), as `(name, value)`.
    pub unknown_modifiers: Vec<(String, String)>,
    /// The record as published.
    pub text: String,
}

/// Why an SPF record is invalid (each is a `permerror`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// The record contains octets outside ASCII (§3.1... records are 7-bit).
    NotAscii,
    /// A term that is no known mechanism and no modifier.
    UnknownMechanism(String),
    /// A mechanism or modifier with a malformed argument.
    BadTerm {
        /// The term as written.
        term: String,
        /// What is wrong.
        reason: String,
    },
    /// A macro error inside a term.
    Macro {
        /// The term as written.
        term: String,
        /// The error.
        error: MacroError,
    },
    /// `redirect=` or `exp=` twice (§6).
    DuplicateModifier(&'static str),
    /// The text does not start with `v=spf1` followed by a space or its end (§4.5).
    NotSpfRecord,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::NotAscii => f.write_str("record contains non-ASCII characters"),
            RecordError::UnknownMechanism(term) => write!(f, "unknown mechanism {term:?}"),
            RecordError::BadTerm { term, reason } => write!(f, "bad term {term:?}: {reason}"),
            RecordError::Macro { term, error } => write!(f, "bad macro in {term:?}: {error}"),
            RecordError::DuplicateModifier(name) => write!(f, "{name}= appears twice"),
            RecordError::NotSpfRecord => f.write_str("not an SPF record (no v=spf1 at the start)"),
        }
    }
}

impl std::error::Error for RecordError {}

/// True when a TXT record is an SPF version 1 record: `v=spf1` alone or followed by a space
/// (§4.5; the version is case-insensitive like every ABNF literal).
pub fn is_spf_record(txt: &[u8]) -> bool {
    txt.len() >= 6 && txt[..6].eq_ignore_ascii_case(b"v=spf1") && (txt.len() == 6 || txt[6] == b' ')
}

impl Record {
    /// Parses a record; anything [`is_spf_record`] refuses is [`RecordError::NotSpfRecord`].
    pub fn parse(txt: &[u8]) -> Result<Record, RecordError> {
        if !is_spf_record(txt) {
            return Err(RecordError::NotSpfRecord);
        }
        let text = std::str::from_utf8(txt)
            .ok()
            .filter(|t| t.is_ascii())
            .ok_or(RecordError::NotAscii)?;
        let mut record = Record {
            directives: Vec::new(),
            redirect: None,
            explanation: None,
            unknown_modifiers: Vec::new(),
            text: text.to_string(),
        };
        for term in text[6..].split(' ').filter(|t| !t.is_empty()) {
            if let Some((name, value)) = modifier(term) {
                let bad = |error| RecordError::Macro {
                    term: term.to_string(),
                    error,
                };
                if name.eq_ignore_ascii_case("redirect") {
                    if record.redirect.is_some() {
                        return Err(RecordError::DuplicateModifier("redirect"));
                    }
                    record.redirect = Some(domain_spec(term, value)?);
                } else if name.eq_ignore_ascii_case("exp") {
                    if record.explanation.is_some() {
                        return Err(RecordError::DuplicateModifier("exp"));
                    }
                    record.explanation = Some(domain_spec(term, value)?);
                } else {
                    // Unknown modifiers are ignored, but must still be well-formed (§6).
                    MacroString::parse(value).map_err(bad)?;
                    record
                        .unknown_modifiers
                        .push((name.to_string(), value.to_string()));
                }
                continue;
            }
            record.directives.push(directive(term)?);
        }
        Ok(record)
    }
}

/// Splits `name=value` when `term` is a modifier.
fn modifier(term: &str) -> Option<(&str, &str)> {
    let (name, value) = term.split_once('=')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    valid.then_some((name, value))
}

fn bad_term(term: &str, reason: &str) -> RecordError {
    RecordError::BadTerm {
        term: term.to_string(),
        reason: reason.to_string(),
    }
}

fn directive(term: &str) -> Result<Directive, RecordError> {
    let (qualifier, rest) = match term.as_bytes()[0] {
        b'+' => (Qualifier::Pass, &term[1..]),
        b'-' => (Qualifier::Fail, &term[1..]),
        b'~' => (Qualifier::SoftFail, &term[1..]),
        b'?' => (Qualifier::Neutral, &term[1..]),
        _ => (Qualifier::Pass, term),
    };
    let name_end = rest.find([':', '/']).unwrap_or(rest.len());
    let (name, argument) = rest.split_at(name_end);
    // `argument` is empty, or starts with ':' or '/'.
    let domain_argument = || -> Result<(Option<MacroString>, &str), RecordError> {
        match argument.strip_prefix(':') {
            Some(spec) => {
                let (domain, cidr) = split_cidr(spec);
                Ok((Some(domain_spec(term, domain)?), cidr))
            }
            None => Ok((None, argument)),
        }
    };
    let mechanism = match name.to_ascii_lowercase().as_str() {
        "all" => {
            if !argument.is_empty() {
                return Err(bad_term(term, "all takes no argument"));
            }
            Mechanism::All
        }
        "include" | "exists" => {
            let spec = argument
                .strip_prefix(':')
                .ok_or_else(|| bad_term(term, "a domain is required"))?;
            let domain = domain_spec(term, spec)?;
            if name.eq_ignore_ascii_case("include") {
                Mechanism::Include { domain }
            } else {
                Mechanism::Exists { domain }
            }
        }
        "a" | "mx" => {
            let (domain, cidr) = domain_argument()?;
            let cidr = dual_cidr(term, cidr)?;
            if name.eq_ignore_ascii_case("a") {
                Mechanism::A { domain, cidr }
            } else {
                Mechanism::Mx { domain, cidr }
            }
        }
        "ptr" => {
            let (domain, cidr) = domain_argument()?;
            if !cidr.is_empty() {
                return Err(bad_term(term, "ptr takes no prefix length"));
            }
            Mechanism::Ptr { domain }
        }
        "ip4" => {
            let (address, prefix) = network_argument(term, argument, 32)?;
            let network: Ipv4Addr = address
                .parse()
                .map_err(|_| bad_term(term, "not an IPv4 address"))?;
            Mechanism::Ip4 { network, prefix }
        }
        "ip6" => {
            let (address, prefix) = network_argument(term, argument, 128)?;
            let network: Ipv6Addr = address
                .parse()
                .map_err(|_| bad_term(term, "not an IPv6 address"))?;
            Mechanism::Ip6 { network, prefix }
        }
        _ => return Err(RecordError::UnknownMechanism(term.to_string())),
    };
    Ok(Directive {
        qualifier,
        mechanism,
        text: term.to_string(),
    })
}

/// The `:<address>[/<prefix>]` argument of ip4 and ip6: the address text and the prefix
/// length (at most `max`, which is also the default).
fn network_argument<'t>(
    term: &str,
    argument: &'t str,
    max: u8,
) -> Result<(&'t str, u8), RecordError> {
    let spec = argument
        .strip_prefix(':')
        .ok_or_else(|| bad_term(term, "an address is required"))?;
    match spec.split_once('/') {
        Some((address, prefix)) => Ok((address, cidr_length(term, prefix, max)?)),
        None => Ok((spec, max)),
    }
}

/// Splits `domain-spec` from a trailing `dual-cidr-length` (`/N`, `//M` or `/N//M`, digits
/// only). The split is taken from the end, so slashes inside the domain-spec (legal in macro
/// delimiters and even in literal text, like `foo:bar/baz.example.com`) stay with it.
fn split_cidr(spec: &str) -> (&str, &str) {
    fn strip_length<'s>(text: &'s str, slashes: &str) -> Option<&'s str> {
        let digits = text.len() - text.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return None;
        }
        text[..text.len() - digits].strip_suffix(slashes)
    }
    let mut rest = spec;
    if let Some(before) = strip_length(rest, "//") {
        rest = before;
    }
    if let Some(before) = strip_length(rest, "/") {
        // Not the second slash of a `//`: that would have been stripped above.
        if !before.ends_with('/') {
            rest = before;
        }
    }
    spec.split_at(rest.len())
}

/// `[ "/" ip4-cidr-length ] [ "//" ip6-cidr-length ]`, given with its leading slash (or
/// empty).
fn dual_cidr(term: &str, text: &str) -> Result<DualCidr, RecordError> {
    let mut cidr = DualCidr::default();
    if text.is_empty() {
        return Ok(cidr);
    }
    let (v4, v6) = match text.split_once("//") {
        Some((v4, v6)) => (v4, Some(v6)),
        None => (text, None),
    };
    if !v4.is_empty() {
        let digits = v4
            .strip_prefix('/')
            .ok_or_else(|| bad_term(term, "bad prefix length"))?;
        cidr.v4 = cidr_length(term, digits, 32)?;
    }
    if let Some(v6) = v6 {
        cidr.v6 = cidr_length(term, v6, 128)?;
    }
    Ok(cidr)
}

/// `"0" / %x31-39 0*2DIGIT`, at most `max`.
fn cidr_length(term: &str, digits: &str, max: u8) -> Result<u8, RecordError> {
    let valid = !digits.is_empty()
        && digits.len() <= 3
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    let value: u16 = if valid {
        digits.parse().unwrap_or(u16::MAX)
    } else {
        u16::MAX
    };
    u8::try_from(value)
        .ok()
        .filter(|v| *v <= max)
        .ok_or_else(|| bad_term(term, &format!("prefix length must be 0 to {max}")))
}

/// Parses and checks a `domain-spec`.
fn domain_spec(term: &str, text: &str) -> Result<MacroString, RecordError> {
    if text.is_empty() {
        return Err(bad_term(term, "a domain is required"));
    }
    let spec = MacroString::parse(text).map_err(|error| RecordError::Macro {
        term: term.to_string(),
        error,
    })?;
    if spec.ends_with_macro() {
        return Ok(spec);
    }
    let trimmed = text.strip_suffix('.').unwrap_or(text);
    let valid_end = trimmed
        .rsplit_once('.')
        .is_some_and(|(_, top)| is_toplabel(top));
    if !valid_end {
        return Err(bad_term(
            term,
            "the domain must end in a top-level label or a macro",
        ));
    }
    Ok(spec)
}

/// RFC 7208 `toplabel`: letters, digits and inner hyphens, not all digits.
fn is_toplabel(label: &str) -> bool {
    let bytes = label.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
        && !bytes.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_version() {
        assert!(is_spf_record(b"v=spf1"));
        assert!(is_spf_record(b"V=SPF1 -all"));
        assert!(!is_spf_record(b"v=spf10 -all"));
        assert!(!is_spf_record(b"v=spf2.0/pra -all"));
        assert!(!is_spf_record(b"spf1"));
    }

    #[test]
    fn parses_every_mechanism() {
        let r = Record::parse(b"v=spf1 +all -include:_spf.example.com ~a a:mail.example.com/24//64 mx/28 ptr ?ptr:example.org ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{ir}.bl.example.net redirect=_spf.example.com exp=why.%{d} foo=bar").unwrap();
        assert_eq!(r.directives.len(), 10);
        assert_eq!(
            r.directives[3].mechanism,
            Mechanism::A {
                domain: Some(MacroString::parse("mail.example.com").unwrap()),
                cidr: DualCidr { v4: 24, v6: 64 }
            }
        );
        assert_eq!(
            r.directives[4].mechanism,
            Mechanism::Mx {
                domain: None,
                cidr: DualCidr { v4: 28, v6: 128 }
            }
        );
        assert_eq!(r.directives[1].qualifier, Qualifier::Fail);
        assert!(r.redirect.is_some() && r.explanation.is_some());
        assert_eq!(r.unknown_modifiers, [("foo".into(), "bar".into())]);
    }

    #[test]
    fn rejects_syntax_errors() {
        for bad in [
            "v=spf1 allx",
            "v=spf1 all:foo",
            "v=spf1 include",
            "v=spf1 include:",
            "v=spf1 a:museum",
            "v=spf1 a:1.2.3.4",
            "v=spf1 a:foo.example.com/33",
            "v=spf1 a//129",
            "v=spf1 a/024",
            "v=spf1 ip4:1.2.3",
            "v=spf1 ip4:1.2.3.4/33",
            "v=spf1 ip6:1.2.3.4",
            "v=spf1 ip6:::1/129",
            "v=spf1 ptr/24",
            "v=spf1 exists:%(ir).example.com",
            "v=spf1 redirect=a.example.com redirect=b.example.com",
            "v=spf1 exp=a.example.com exp=b.example.com",
            "v=spf1 foo=%{x}",
            "v=spf1 -all\tfoo",
            "v=spf1 =all",
        ] {
            assert!(Record::parse(bad.as_bytes()).is_err(), "{bad}");
        }
        assert_eq!(
            Record::parse("v=spf1 a:é.example.com".as_bytes()),
            Err(RecordError::NotAscii)
        );
    }

    #[test]
    fn macros_in_cidr_position() {
        let r = Record::parse(b"v=spf1 a:%{l/}.example.com/24").unwrap();
        assert_eq!(
            r.directives[0].mechanism,
            Mechanism::A {
                domain: Some(MacroString::parse("%{l/}.example.com").unwrap()),
                cidr: DualCidr { v4: 24, v6: 128 }
            }
        );
    }
}
