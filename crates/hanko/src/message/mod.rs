//! Raw message handling: the header section split into fields, `tag=value` lists, and line
//! end normalisation.
//!
//! DKIM signs bytes, so this module never decodes: a [`HeaderField`] keeps the exact bytes of
//! the field as it appeared, folding included (RFC 5322 §2.2), and the body is passed on
//! untouched. Display decoding (RFC 2047 words, charsets) belongs to the analyzer.
//!
//! Input may use LF or CRLF line ends. Everything here works on CRLF; [`CrlfNormalizer`]
//! turns each bare LF into CRLF as the bytes stream through, the way an MTA would before
//! signing (RFC 5598 §4.1: mail on the wire uses CRLF).

mod address;
mod date;
mod header;
mod mbox;
mod reader;
mod received;
mod tag_list;

pub use address::{domain_run, parse_mailboxes, salvage_mailboxes, AddressError, Mailbox};
pub use date::{format_utc, parse_date_time, received_date, DateError, DateTime};
pub use header::{mbox_separator_len, HeaderField, Headers};
pub use mbox::{MboxError, MboxMessage, MboxReader};
pub use reader::{CrlfNormalizer, MessageReader};
pub use received::{
    return_path, traced_connection, Clause, Client, Received, TraceError, TracedConnection,
};
pub(crate) use tag_list::first_non_ws;
pub use tag_list::strip_ws;
pub use tag_list::{Tag, TagList, TagListError};

use std::fmt;

/// Size limits applied while reading a message.
///
/// They bound memory and time on hostile input; a message over a limit is refused with a
/// [`MessageError`] naming the limit, never truncated silently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageLimits {
    /// Most header fields accepted. Default: 1,000 (Postfix folds nothing and keeps every
    /// field, so a legitimate message rarely has more than a hundred).
    pub max_header_fields: usize,
    /// Most octets in the whole header section, folding included. Default: 1 MiB.
    pub max_header_bytes: usize,
}

impl Default for MessageLimits {
    fn default() -> Self {
        MessageLimits {
            max_header_fields: 1_000,
            max_header_bytes: 1024 * 1024,
        }
    }
}

/// Why a message could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum MessageError {
    /// The header section has more fields than [`MessageLimits::max_header_fields`].
    TooManyHeaderFields {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The header section is larger than [`MessageLimits::max_header_bytes`].
    HeaderSectionTooLarge {
        /// The limit that was exceeded, in octets.
        limit: usize,
    },
    /// A line in the header section is neither a field (`name:`) nor a continuation line.
    MalformedHeaderLine {
        /// 1-based line number within the message.
        line: usize,
        /// The start of the offending line, escaped for display.
        text: String,
    },
    /// The input could not be read.
    Io(std::io::Error),
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::TooManyHeaderFields { limit } => {
                write!(f, "more than {limit} header fields")
            }
            MessageError::HeaderSectionTooLarge { limit } => {
                write!(f, "header section larger than {limit} octets")
            }
            MessageError::MalformedHeaderLine { line, text } => write!(
                f,
                "line {line} of the header section is not a header field: {text}"
            ),
            MessageError::Io(e) => write!(f, "cannot read message: {e}"),
        }
    }
}

impl std::error::Error for MessageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MessageError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for MessageError {
    fn from(e: std::io::Error) -> Self {
        MessageError::Io(e)
    }
}

/// Escapes bytes for an error message or a log line: printable ASCII as is, the rest as
/// `\xNN`, cut after `max` input bytes.
pub(crate) fn escape_bytes(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(max) {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > max {
        out.push('…');
    }
    out
}

/// Splits an in-memory message (CRLF line ends) into its header section and body.
///
/// The header section ends at the first empty line; the body starts after it. A message
/// with no empty line is all header section and has an empty body. Use
/// [`MessageReader`] for messages that should not be held in memory.
pub fn split_message(message: &[u8]) -> (&[u8], &[u8]) {
    if message.starts_with(b"\r\n") {
        return (&[], &message[2..]);
    }
    match find(message, b"\r\n\r\n") {
        Some(pos) => (&message[..pos + 2], &message[pos + 4..]),
        None => (message, &[]),
    }
}

/// Where `needle` first occurs in `haystack`: memchr for its first octet, then a compare.
/// The needles here are short line ends (a searcher built per call would cost more).
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, rest)) = needle.split_first() else {
        return Some(0);
    };
    let mut from = 0;
    while let Some(offset) = memchr::memchr(first, &haystack[from..]) {
        let at = from + offset;
        if haystack[at + 1..].starts_with(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_agrees_with_a_plain_search() {
        let plain = |h: &[u8], n: &[u8]| h.windows(n.len()).position(|w| w == n);
        let texts: [&[u8]; 7] = [
            b"",
            b"\r",
            b"a\r\nb",
            b"a\r\r\n\r\nb",
            b"\r\n\r\r\n\r\n",
            b"x\r\n\r",
            b"no line end",
        ];
        for text in texts {
            for needle in [&b"\r\n"[..], b"\r\n\r\n", b"\n"] {
                assert_eq!(
                    find(text, needle),
                    plain(text, needle),
                    "{text:?} {needle:?}"
                );
            }
        }
        assert_eq!(find(b"abc", b""), Some(0));
        assert_eq!(
            split_message(b"A: 1\r\n\r\r\n\r\nbody"),
            (&b"A: 1\r\n\r\r\n"[..], &b"body"[..])
        );
    }
}
