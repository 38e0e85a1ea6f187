//! The Authentication-Results header field (RFC 8601, with RFC 8616's UTF-8 values): written
//! by a receiver to record what it checked, read by anyone downstream.
//!
//! [`AuthenticationResults`] is the field as data: the `authserv-id` of the server that wrote
//! it and one [`MethodResult`] per check (`spf=pass smtp.mailfrom=…`). The same type is
//! produced by [`AuthenticationResults::parse`] and written by
//! [`AuthenticationResults::to_field`], and the two are inverses: every field hanko writes
//! parses back to the data it came from.
//!
//! ```
//! use hanko::authres::{AuthenticationResults, MethodResult, ParseOptions};
//!
//! let mut field = AuthenticationResults::new("mx.example.org");
//! field.results.push(
//!     MethodResult::new("spf", "pass").with_property("smtp", "mailfrom", "joe@example.com"),
//! );
//! field.results.push(
//!     MethodResult::new("dkim", "fail")
//!         .with_comment("body hash mismatch")
//!         .with_property("header", "d", "example.com"),
//! );
//! let text = field.to_field();
//! assert_eq!(
//!     text,
//!     "Authentication-Results: mx.example.org;\r\n\
//!      \tspf=pass smtp.mailfrom=joe@example.com;\r\n\
//!      \tdkim=fail (body hash mismatch) header.d=example.com"
//! );
//! let parsed = AuthenticationResults::parse(&text, ParseOptions::strict())?;
//! assert_eq!(parsed, field);
//! assert_eq!(parsed.find("dkim").unwrap().property("header.d"), Some("example.com"));
//! # Ok::<(), hanko::authres::ParseError>(())
//! ```
//!
//! # Pitfalls
//! - Anyone can write this field. Trust only fields whose `authserv-id` is your own and that
//!   your own border removed from incoming mail first (RFC 8601 §5).
//! - Real-world writers bend the grammar: Microsoft omits the `authserv-id` and writes
//!   `action=none`, many end with `;`, BIMI values carry unquoted URLs. Read foreign fields with
//!   [`ParseOptions::lenient`]; [`ParseOptions::strict`] is for checking your own.

pub mod from;
mod parse;
mod write;

use std::fmt;

/// One Authentication-Results header field (RFC 8601 §2.2).
///
/// ```text
/// authres-payload = [CFWS] authserv-id [ CFWS authres-version ]
///                   ( no-result / 1*resinfo ) [CFWS] CRLF
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthenticationResults {
    /// The `authserv-id`: who made these checks. Empty only when a lenient parse met a field
    /// without one (as Microsoft writes them).
    pub authserv_id: String,
    /// `authres-version`, when written (only `1` exists).
    pub version: Option<u32>,
    /// The results, in field order. Empty for `; none` (no check was made).
    pub results: Vec<MethodResult>,
}

/// One `resinfo`: a method, its result, the reason and the properties it was checked on
/// (RFC 8601 §2.2).
///
/// ```text
/// resinfo    = [CFWS] ";" methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ]
/// methodspec = [CFWS] method [CFWS] "=" [CFWS] result
/// reasonspec = "reason" [CFWS] "=" [CFWS] value
/// propspec   = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MethodResult {
    /// The method, lower case: `spf`, `dkim`, `dmarc`, `dkim-adsp`, `arc`, `iprev`, ...
    pub method: String,
    /// `method-version` (`dkim/1`), when written.
    pub method_version: Option<u32>,
    /// The result word, lower case: `pass`, `fail`, ... Empty only for the valueless entries a
    /// lenient parse accepts.
    pub result: String,
    /// `reason=` text.
    pub reason: Option<String>,
    /// Comments in this `resinfo`, in order, without their parentheses.
    pub comments: Vec<String>,
    /// The properties, in order.
    pub properties: Vec<Property>,
}

/// One `propspec`: `ptype.property=value`, e.g. `header.d=example.com`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Property {
    /// `smtp`, `header`, `body` or `policy` (lower case). Empty for the `name=value` pairs
    /// without a type that a lenient parse accepts (Microsoft's `action=none`).
    pub ptype: String,
    /// The property name (`mailfrom`, `d`, `from`, ...), lower case.
    pub name: String,
    /// The value, unquoted.
    pub value: String,
}

impl AuthenticationResults {
    /// An empty field (`authserv-id; none`) for `authserv_id`.
    pub fn new(authserv_id: &str) -> AuthenticationResults {
        AuthenticationResults {
            authserv_id: authserv_id.to_string(),
            version: None,
            results: Vec::new(),
        }
    }

    /// Parses a field. `text` is the value, or the whole field with its
    /// `Authentication-Results:` name; folding (CRLF or bare LF) is allowed anywhere white
    /// space is.
    pub fn parse(text: &str, options: ParseOptions) -> Result<AuthenticationResults, ParseError> {
        parse::parse(text, options)
    }

    /// The whole field, `Authentication-Results: ...`, folded with CRLF + tab before each
    /// result, without a final CRLF. Every value is quoted or escaped as the grammar needs, so
    /// text from a message or from DNS cannot end the field, close a comment or add a result.
    /// The output is ASCII: other characters are written as `?`, control characters dropped.
    pub fn to_field(&self) -> String {
        write::field(self)
    }

    /// The first result for `method` (case-insensitive).
    pub fn find(&self, method: &str) -> Option<&MethodResult> {
        self.results
            .iter()
            .find(|r| r.method.eq_ignore_ascii_case(method))
    }
}

impl MethodResult {
    /// A result without reason, comments or properties.
    pub fn new(method: &str, result: &str) -> MethodResult {
        MethodResult {
            method: method.to_ascii_lowercase(),
            result: result.to_ascii_lowercase(),
            ..MethodResult::default()
        }
    }

    /// Adds `ptype.name=value`.
    pub fn with_property(mut self, ptype: &str, name: &str, value: &str) -> MethodResult {
        self.properties.push(Property {
            ptype: ptype.to_ascii_lowercase(),
            name: name.to_ascii_lowercase(),
            value: value.to_string(),
        });
        self
    }

    /// Adds a comment (written right after the result).
    pub fn with_comment(mut self, comment: &str) -> MethodResult {
        self.comments.push(comment.to_string());
        self
    }

    /// Sets `reason=`.
    pub fn with_reason(mut self, reason: &str) -> MethodResult {
        self.reason = Some(reason.to_string());
        self
    }

    /// The value of the first property named `key`: `ptype.name` (`header.d`), or `name` alone
    /// for the untyped pairs of a lenient parse. Case-insensitive.
    pub fn property(&self, key: &str) -> Option<&str> {
        let (ptype, name) = key.split_once('.').unwrap_or(("", key));
        self.properties
            .iter()
            .find(|p| p.ptype.eq_ignore_ascii_case(ptype) && p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_str())
    }
}

/// How strictly [`AuthenticationResults::parse`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Accept what real writers produce beyond RFC 8601: a missing `authserv-id`, a trailing
    /// `;`, untyped `name=value` properties, unquoted values with `/` or `:`, quoted names,
    /// valueless methods, unregistered result words, and an `authserv-id` repeated as a
    /// result (Outlook). Default: `true`.
    pub lenient: bool,
    /// Accept UTF-8 in values, quoted strings and comments (RFC 8616). Always on when
    /// `lenient`. Default: `true`.
    pub internationalized: bool,
}

impl ParseOptions {
    /// RFC 8601 and RFC 8616 exactly: result words must be those registered for the methods
    /// hanko knows (case-insensitive, as ABNF literals are).
    pub fn strict() -> ParseOptions {
        ParseOptions {
            lenient: false,
            internationalized: true,
        }
    }

    /// Tolerant of real-world variants (the default).
    pub fn lenient() -> ParseOptions {
        ParseOptions {
            lenient: true,
            internationalized: true,
        }
    }
}

impl Default for ParseOptions {
    fn default() -> ParseOptions {
        ParseOptions::lenient()
    }
}

/// Why a field did not parse: what was wrong and the character offset in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What was wrong.
    pub problem: ParseProblem,
    /// Offset in characters from the start of the text given to `parse`.
    pub position: usize,
}

/// The kinds of [`ParseError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseProblem {
    /// No `authserv-id` (strict), or nothing at all.
    MissingAuthservId,
    /// A comment opened with `(` was never closed, or `)` without `(`.
    UnbalancedComment,
    /// A quoted string was never closed.
    UnterminatedQuotedString,
    /// Expected one thing, found another.
    Unexpected {
        /// What the grammar needs here.
        expected: &'static str,
        /// What was found (a character or "end of field").
        found: String,
    },
    /// A result word not registered for the method (strict only).
    UnknownResult {
        /// The method.
        method: String,
        /// The result word found.
        result: String,
    },
    /// A non-ASCII character where RFC 8601 allows none (without RFC 8616).
    NonAscii,
    /// The text is not UTF-8.
    NotUtf8,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            ParseProblem::MissingAuthservId => write!(f, "no authserv-id")?,
            ParseProblem::UnbalancedComment => write!(f, "unbalanced parentheses in a comment")?,
            ParseProblem::UnterminatedQuotedString => write!(f, "unterminated quoted string")?,
            ParseProblem::Unexpected { expected, found } => {
                write!(f, "expected {expected}, found {found}")?
            }
            ParseProblem::UnknownResult { method, result } => {
                write!(f, "{result:?} is not a result of method {method}")?
            }
            ParseProblem::NonAscii => write!(f, "non-ASCII character outside RFC 8616 mode")?,
            ParseProblem::NotUtf8 => write!(f, "the field is not UTF-8")?,
        }
        write!(f, " at character {}", self.position)
    }
}

impl std::error::Error for ParseError {}

/// The result words registered for the methods hanko knows (IANA "Email Authentication Result
/// Names"), or `None` for other methods, whose results are not restricted.
pub fn registered_results(method: &str) -> Option<&'static [&'static str]> {
    const DKIM: &[&str] = &[
        "none",
        "pass",
        "fail",
        "policy",
        "neutral",
        "temperror",
        "permerror",
    ];
    Some(match method.to_ascii_lowercase().as_str() {
        // RFC 8601 §2.7.1; DomainKeys and S/MIME share the list (§2.7.3, RFC 7281).
        "dkim" | "domainkeys" | "smime" => DKIM,
        // RFC 8601 §2.7.2; `hardfail` is RFC 5451's word, still registered for sender-id.
        "spf" => &[
            "none",
            "pass",
            "fail",
            "softfail",
            "policy",
            "neutral",
            "temperror",
            "permerror",
        ],
        "sender-id" => &[
            "none",
            "pass",
            "fail",
            "softfail",
            "policy",
            "neutral",
            "temperror",
            "permerror",
            "hardfail",
        ],
        // RFC 8601 §2.7.4.
        "auth" => &["none", "pass", "fail", "temperror", "permerror"],
        // RFC 8601 §2.7.3.
        "iprev" => &["pass", "fail", "temperror", "permerror"],
        // RFC 7489 §11.2 / RFC 9989.
        "dmarc" => &["none", "pass", "fail", "temperror", "permerror"],
        // RFC 5617 §5.4.
        "dkim-adsp" => &[
            "none",
            "pass",
            "unknown",
            "fail",
            "discard",
            "nxdomain",
            "temperror",
            "permerror",
        ],
        // RFC 8617 §10.1.
        "arc" => &["none", "pass", "fail"],
        // RFC 6212 (VBR) and the BIMI draft.
        "vbr" => &["none", "pass", "fail"],
        "bimi" => &["pass", "none", "fail", "temperror", "declined", "skipped"],
        _ => return None,
    })
}

/// The authserv-id a field claims, read as a receiver that removes forged fields must read it
/// (RFC 8601 §5): the first token of the value, whether or not the rest parses. Comments
/// before it are skipped (nested, or unclosed to the end), a quoted token loses its quotes
/// and escapes, and the result is lower case without a trailing dot. `None` when the value
/// holds no token at all.
///
/// ```
/// use hanko::authres::claimed_authserv_id;
///
/// assert_eq!(claimed_authserv_id(" MX.Example.NET.; dmarc=pass"), Some("mx.example.net".into()));
/// // Unparseable fields still claim an authserv-id, and readers still see their results.
/// assert_eq!(claimed_authserv_id("(a (b)) \"mx.example.net\" (; dmarc=pass"), Some("mx.example.net".into()));
/// assert_eq!(claimed_authserv_id(" (unclosed"), None);
/// ```
pub fn claimed_authserv_id(value: &str) -> Option<String> {
    let mut chars = value.chars().peekable();
    // CFWS: white space and comments, which nest and may hold escapes.
    let mut depth = 0usize;
    while let Some(&c) = chars.peek() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            '\\' if depth > 0 => {
                chars.next();
            }
            c if depth > 0 || c.is_whitespace() => {}
            _ => break,
        }
        chars.next();
    }
    let mut token = String::new();
    if chars.peek() == Some(&'"') {
        chars.next();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => token.extend(chars.next()),
                c => token.push(c),
            }
        }
    } else {
        token.extend(chars.take_while(|c| !c.is_whitespace() && !"();\"".contains(*c)));
    }
    let token = token.trim().trim_end_matches('.').to_lowercase();
    (!token.is_empty()).then_some(token)
}
