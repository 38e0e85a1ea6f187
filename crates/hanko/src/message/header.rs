//! Header fields kept as raw bytes (RFC 5322 §2.2).

use super::{escape_bytes, MessageError, MessageLimits};

/// One header field exactly as it appeared: name, colon, value and any folding CRLFs, without
/// the CRLF that ends the field.
#[derive(Clone, PartialEq, Eq)]
pub struct HeaderField {
    raw: Vec<u8>,
    /// Length of the field name (before optional white space and the colon).
    name_len: usize,
    /// Offset of the first octet after the colon.
    value_start: usize,
}

impl std::fmt::Debug for HeaderField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HeaderField({})", escape_bytes(&self.raw, 200))
    }
}

impl HeaderField {
    /// Parses one raw field (`Name: value`, folding allowed, no final CRLF).
    ///
    /// The name must be 1 or more printable US-ASCII characters other than `:` (RFC 5322
    /// §2.2 `ftext`); white space between name and colon is accepted (the obsolete syntax of
    /// RFC 5322 §4.5) and is not part of the name.
    pub fn parse(raw: Vec<u8>) -> Option<HeaderField> {
        let colon = raw.iter().position(|&b| b == b':')?;
        let mut name_len = colon;
        while name_len > 0 && matches!(raw[name_len - 1], b' ' | b'\t') {
            name_len -= 1;
        }
        if name_len == 0 || !raw[..name_len].iter().all(|&b| (33..=126).contains(&b)) {
            return None;
        }
        Some(HeaderField {
            raw,
            name_len,
            value_start: colon + 1,
        })
    }

    /// The fields a bare CR hides in this one: common readers end a line at a bare CR, so
    /// `X-Note: hi<CR>From: ceo@bank.example` shows them a From field. Wherever a CR not
    /// followed by LF is followed by what starts a field (a field name and a colon), the
    /// field is cut there and the rest read as a field of its own; the CR is dropped. A field
    /// with no such CR comes back alone. Legitimate mail has no bare CR in its header section
    /// (RFC 5322 §2.2), so only hostile or broken fields change.
    pub fn split_at_bare_cr(self) -> Vec<HeaderField> {
        if !self.hides_fields() {
            return vec![self];
        }
        let cuts: Vec<usize> = memchr::memchr_iter(b'\r', &self.raw)
            .filter(|&i| self.hidden_field_at(i))
            .collect();
        let mut out = Vec::with_capacity(cuts.len() + 1);
        let mut start = 0;
        for end in cuts.iter().copied().chain([self.raw.len()]) {
            if let Some(field) = HeaderField::parse(self.raw[start..end].to_vec()) {
                out.push(field);
            }
            start = end + 1;
        }
        out
    }

    /// True when a bare CR in this field hides another field
    /// ([`split_at_bare_cr`](Self::split_at_bare_cr) would cut it). Costs one search for CR
    /// octets, which ordinary fields have only before an LF.
    pub fn hides_fields(&self) -> bool {
        memchr::memchr_iter(b'\r', &self.raw).any(|i| self.hidden_field_at(i))
    }

    /// True when the CR at `i` is bare and a field starts after it.
    fn hidden_field_at(&self, i: usize) -> bool {
        self.raw.get(i + 1) != Some(&b'\n') && starts_field(&self.raw[i + 1..])
    }

    /// Builds a field from a name and a value given apart, as a milter receives them: the
    /// raw form is `name:value`. `value` should keep its leading space and folding.
    ///
    /// Returns `None` when the name is not valid field-name syntax.
    pub fn from_parts(name: &str, value: &[u8]) -> Option<HeaderField> {
        let mut raw = Vec::with_capacity(name.len() + 1 + value.len());
        raw.extend_from_slice(name.as_bytes());
        raw.push(b':');
        raw.extend_from_slice(value);
        let field = HeaderField::parse(raw)?;
        (field.name_len == name.len()).then_some(field)
    }

    /// The field name as written (letter case kept).
    pub fn name(&self) -> &str {
        // The constructor admits only printable US-ASCII in the name.
        std::str::from_utf8(&self.raw[..self.name_len]).unwrap_or_default()
    }

    /// True when the name equals `name`, ignoring ASCII case (field names are
    /// case-insensitive, RFC 5322 §1.2.2).
    pub fn is(&self, name: &str) -> bool {
        self.raw[..self.name_len].eq_ignore_ascii_case(name.as_bytes())
    }

    /// The value: every octet after the colon, folding and leading white space included.
    pub fn value(&self) -> &[u8] {
        &self.raw[self.value_start..]
    }

    /// The value with folding removed and surrounding white space trimmed, for display and
    /// for parsing structured fields. Invalid UTF-8 is replaced.
    pub fn unfolded_value(&self) -> String {
        let unfolded: Vec<u8> = self
            .value()
            .iter()
            .copied()
            .filter(|&b| b != b'\r' && b != b'\n')
            .collect();
        String::from_utf8_lossy(&unfolded).trim().to_string()
    }

    /// The whole field as it appeared, without the final CRLF.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Offset in [`raw`](Self::raw) where the value starts.
    pub fn value_offset(&self) -> usize {
        self.value_start
    }
}

/// The header section: fields in the order they appear, top first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<HeaderField>,
}

impl Headers {
    /// An empty header section.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Parses a header section (CRLF line ends; the empty line that ends it may be present or
    /// not).
    ///
    /// An mbox `From ` separator line at the very top is skipped. Any other line that is
    /// neither `name:` nor a continuation (starting with space or tab) is an error, as is
    /// going over `limits`.
    pub fn parse(section: &[u8], limits: &MessageLimits) -> Result<Headers, MessageError> {
        if section.len() > limits.max_header_bytes {
            return Err(MessageError::HeaderSectionTooLarge {
                limit: limits.max_header_bytes,
            });
        }
        let mut headers = Headers::new();
        // Room for a typical section (a field every 60 octets or so), capped so that a
        // hostile section cannot ask for more than its fields will use.
        let guess = (section.len() / 60)
            .max(8)
            .min(limits.max_header_fields)
            .min(1024);
        headers.fields.reserve(guess);
        let mut rest = section;
        let mut line_no = 0;
        while !rest.is_empty() {
            line_no += 1;
            let (line, mut next) = split_line(rest);
            if line.is_empty() {
                // The empty line ends the header section.
                break;
            }
            if line_no == 1 && is_mbox_separator(line) {
                rest = next;
                continue;
            }
            if matches!(line[0], b' ' | b'\t') {
                // A continuation line with no field before it.
                return Err(MessageError::MalformedHeaderLine {
                    line: line_no,
                    text: escape_bytes(line, 60),
                });
            }
            // The field is this line and the continuation lines after it, copied once as
            // they stand (extending a copy line by line grew it once per fold).
            let (first_line, mut length) = (line_no, line.len());
            while let Some(b' ' | b'\t') = next.first() {
                line_no += 1;
                let (continuation, after) = split_line(next);
                length += 2 + continuation.len();
                next = after;
            }
            headers.push_raw(rest[..length].to_vec(), first_line, limits)?;
            rest = next;
        }
        Ok(headers)
    }

    fn push_raw(
        &mut self,
        raw: Vec<u8>,
        line: usize,
        limits: &MessageLimits,
    ) -> Result<(), MessageError> {
        if self.fields.len() >= limits.max_header_fields {
            return Err(MessageError::TooManyHeaderFields {
                limit: limits.max_header_fields,
            });
        }
        match HeaderField::parse(raw) {
            Some(field) if field.hides_fields() => {
                for field in field.split_at_bare_cr() {
                    if self.fields.len() >= limits.max_header_fields {
                        return Err(MessageError::TooManyHeaderFields {
                            limit: limits.max_header_fields,
                        });
                    }
                    self.fields.push(field);
                }
                Ok(())
            }
            Some(field) => {
                self.fields.push(field);
                Ok(())
            }
            None => Err(MessageError::MalformedHeaderLine {
                line,
                text: "(no field name before ':')".into(),
            }),
        }
    }

    /// Appends a field at the bottom.
    pub fn push(&mut self, field: HeaderField) {
        self.fields.push(field);
    }

    /// All fields, top first.
    pub fn fields(&self) -> &[HeaderField] {
        &self.fields
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Fields with the given name (case-insensitive), top first.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a HeaderField> + 'a {
        self.fields.iter().filter(move |f| f.is(name))
    }

    /// The header section as bytes: every field followed by CRLF (no empty line).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for field in &self.fields {
            out.extend_from_slice(field.raw());
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

/// True when `text` starts with a field name and its colon (RFC 5322 §2.2: printable
/// US-ASCII other than `:`, then optional white space, then `:`).
fn starts_field(text: &[u8]) -> bool {
    let name = text
        .iter()
        .take_while(|&&b| (33..=126).contains(&b) && b != b':')
        .count();
    name > 0
        && text[name..]
            .iter()
            .find(|&&b| b != b' ' && b != b'\t')
            .is_some_and(|&b| b == b':')
}

/// `line` without its line end (CRLF or bare LF).
pub(crate) fn without_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The line at the start of `text` without its CRLF, and the text after that CRLF (the
/// whole text and nothing when it has no CRLF).
fn split_line(text: &[u8]) -> (&[u8], &[u8]) {
    match super::find(text, b"\r\n") {
        Some(end) => (&text[..end], &text[end + 2..]),
        None => (text, &text[text.len()..]),
    }
}

/// True for an mbox `From ` separator line (without its line end): `From ` and no colon, or a
/// colon after a space (field names cannot contain one).
pub(crate) fn is_mbox_separator(line: &[u8]) -> bool {
    if !line.starts_with(b"From ") {
        return false;
    }
    match line.iter().position(|&b| b == b':') {
        None => true,
        Some(colon) => line[..colon].trim_ascii_end().contains(&b' '),
    }
}

/// The length of an mbox `From ` separator line at the very top of `message`, with its line
/// end (CRLF or bare LF), or 0 when there is none. [`Headers::parse`] skips such a line, so a
/// program that adds header fields (a DKIM-Signature) must put them after it, not above.
pub fn mbox_separator_len(message: &[u8]) -> usize {
    let end = message
        .iter()
        .position(|&b| b == b'\n')
        .map_or(message.len(), |i| i + 1);
    if is_mbox_separator(without_line_end(&message[..end])) {
        end
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Headers, MessageError> {
        Headers::parse(s.as_bytes(), &MessageLimits::default())
    }

    #[test]
    fn folded_fields_keep_their_bytes() {
        let h = parse("From: a@b\r\nSubject: one\r\n two\r\nX-Y : z\r\n\r\n").unwrap();
        assert_eq!(h.len(), 3);
        assert_eq!(h.fields()[1].raw(), b"Subject: one\r\n two");
        assert_eq!(h.fields()[1].unfolded_value(), "one two");
        assert_eq!(h.fields()[2].name(), "X-Y");
        assert!(h.fields()[2].is("x-y"));
        assert_eq!(h.fields()[2].value(), b" z");
    }

    #[test]
    fn mbox_separator_is_skipped() {
        let h = parse("From joe@example.com Mon Jan  1 00:00:00 2024\r\nFrom: a@b\r\n").unwrap();
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn garbage_line_is_an_error_naming_the_line() {
        let err = parse("From: a@b\r\nthis is not a header\r\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = parse(" continuation first\r\n").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn limits_are_enforced() {
        let many = "A: b\r\n".repeat(11);
        let limits = MessageLimits {
            max_header_fields: 10,
            ..MessageLimits::default()
        };
        assert!(matches!(
            Headers::parse(many.as_bytes(), &limits),
            Err(MessageError::TooManyHeaderFields { limit: 10 })
        ));
        let limits = MessageLimits {
            max_header_bytes: 20,
            ..MessageLimits::default()
        };
        assert!(matches!(
            Headers::parse(many.as_bytes(), &limits),
            Err(MessageError::HeaderSectionTooLarge { limit: 20 })
        ));
    }

    #[test]
    fn from_parts_rejects_bad_names() {
        assert!(HeaderField::from_parts("Subject", b" hi").is_some());
        assert!(HeaderField::from_parts("Sub ject", b" hi").is_none());
        assert!(HeaderField::from_parts("", b" hi").is_none());
    }
}
