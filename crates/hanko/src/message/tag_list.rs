//! `tag=value` lists as DKIM signatures and key records use them (RFC 6376 §3.2); DMARC
//! records use the same syntax (RFC 9989 §4.7).
//!
//! ```text
//! tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
//! tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//! tag-name  =  ALPHA *ALNUMPUNC          ; ALNUMPUNC = ALPHA / DIGIT / "_"
//! tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
//! tval      =  1*VALCHAR                 ; VALCHAR = %x21-3A / %x3C-7E
//! ```
//!
//! Values may also carry UTF-8 (RFC 8616 allows it in `i=`).

use std::fmt;
use std::ops::Range;

/// One `tag=value` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The tag name (case-sensitive, RFC 6376 §3.2).
    pub name: String,
    /// The value with leading and trailing white space removed; inner folding white space
    /// is kept as it was.
    pub value: String,
    /// Where the value stands in the parsed input, white space around it excluded.
    pub value_span: Range<usize>,
    /// From just after the `=` to the end of the tag-spec (before `;`): the value with the
    /// white space around it, which DKIM deletes from `b=` (RFC 6376 §3.7).
    pub raw_value_span: Range<usize>,
}

/// A parsed tag list: the tags in order, each name at most once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagList {
    tags: Vec<Tag>,
}

/// Why a tag list did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TagListError {
    /// A tag name is not `ALPHA *(ALPHA / DIGIT / "_")`.
    BadTagName(String),
    /// A tag-spec has no `=`.
    MissingEquals(String),
    /// A tag appears twice (RFC 6376 §3.2: "Tags with duplicate names MUST NOT occur").
    DuplicateTag(String),
    /// A value contains a character outside VALCHAR and white space.
    BadValue(String),
    /// `;;` or a leading `;`: an empty tag-spec, which the grammar has no room for
    /// ([`TagList::parse_strict`] only).
    EmptyTagSpec,
}

impl fmt::Display for TagListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagListError::BadTagName(n) => write!(f, "invalid tag name {n:?}"),
            TagListError::MissingEquals(s) => write!(f, "tag without '=': {s:?}"),
            TagListError::DuplicateTag(n) => write!(f, "tag {n}= appears more than once"),
            TagListError::BadValue(n) => write!(f, "invalid character in the value of {n}="),
            TagListError::EmptyTagSpec => f.write_str("empty tag between semicolons"),
        }
    }
}

impl std::error::Error for TagListError {}

fn is_wsp(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

impl TagList {
    /// Parses `input`. Empty tag-specs (`;;`, a trailing `;`) are skipped.
    pub fn parse(input: &[u8]) -> Result<TagList, TagListError> {
        TagList::parse_with(input, false)
    }

    /// Parses `input` as RFC 6376 §3.2 writes the grammar: one `;` may end the list, but no
    /// tag-spec may be empty. ARC's fields are held to it (the ValiMail suite's
    /// `*_format_tags_sc` cases); DKIM signatures and DNS records keep [`TagList::parse`]'s
    /// tolerance, which real publishers rely on.
    pub fn parse_strict(input: &[u8]) -> Result<TagList, TagListError> {
        TagList::parse_with(input, true)
    }

    fn parse_with(input: &[u8], strict: bool) -> Result<TagList, TagListError> {
        let mut tags: Vec<Tag> = Vec::with_capacity(12);
        let mut start = 0;
        loop {
            let end = memchr::memchr(b';', &input[start..]).map_or(input.len(), |p| start + p);
            let spec = &input[start..end];
            let empty = spec.iter().all(|&b| is_wsp(b));
            // Only the spec after a final `;` may be empty.
            if strict && empty && end != input.len() {
                return Err(TagListError::EmptyTagSpec);
            }
            if !empty {
                let tag = parse_spec(spec, start)?;
                if tags.iter().any(|t| t.name == tag.name) {
                    return Err(TagListError::DuplicateTag(tag.name));
                }
                tags.push(tag);
            }
            if end == input.len() {
                return Ok(TagList { tags });
            }
            start = end + 1;
        }
    }

    /// The value of tag `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.tag(name).map(|t| t.value.as_str())
    }

    /// The whole [`Tag`] named `name`, if present.
    pub fn tag(&self, name: &str) -> Option<&Tag> {
        self.tags.iter().find(|t| t.name == name)
    }

    /// All tags in order.
    pub fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

fn parse_spec(spec: &[u8], offset: usize) -> Result<Tag, TagListError> {
    let eq = memchr::memchr(b'=', spec).ok_or_else(|| {
        TagListError::MissingEquals(String::from_utf8_lossy(spec).trim().to_string())
    })?;
    let name_bytes = trim(&spec[..eq]);
    let name = String::from_utf8_lossy(name_bytes).into_owned();
    let valid_name = name_bytes.first().is_some_and(u8::is_ascii_alphabetic)
        && name_bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid_name {
        return Err(TagListError::BadTagName(name));
    }
    let raw_value = &spec[eq + 1..];
    let lead = raw_value.iter().take_while(|&&b| is_wsp(b)).count();
    let value_bytes = trim(raw_value);
    // VALCHAR is printable ASCII but ';'; UTF-8 is allowed (RFC 8616). Or-ed into one octet
    // without an early exit, so the loop runs thirty-two octets at a time (summing a count
    // instead took 4.4k instructions over a signature, a third of the parse).
    let bad = value_bytes.iter().fold(0u8, |bad, &b| {
        bad | u8::from((b < 0x21 && !is_wsp(b)) | (b == 0x7f))
    });
    if bad != 0 {
        return Err(TagListError::BadValue(name));
    }
    let value = match std::str::from_utf8(value_bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => return Err(TagListError::BadValue(name)),
    };
    let value_start = offset + eq + 1 + lead;
    Ok(Tag {
        name,
        value,
        value_span: value_start..value_start + value_bytes.len(),
        raw_value_span: offset + eq + 1..offset + spec.len(),
    })
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_wsp(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_wsp(b))
        .map_or(start, |p| p + 1);
    &bytes[start..end]
}

/// Removes all folding white space from a value (for base64 in `b=`, `bh=` and `p=`).
pub fn strip_ws(value: &str) -> String {
    // One allocation of the final size at most, the pieces between white space copied whole
    // (collecting octet by octet grew the string six times over a folded `b=`). White space
    // is ASCII, so every piece starts and ends on a character boundary.
    let mut stripped = String::with_capacity(value.len());
    let mut start = 0;
    for (at, octet) in value.bytes().enumerate() {
        if octet.is_ascii_whitespace() {
            stripped.push_str(&value[start..at]);
            start = at + 1;
        }
    }
    stripped.push_str(&value[start..]);
    stripped
}

/// The first `count` characters of `value` that are not white space (RFC 6008 `header.b`
/// takes the first characters of a folded `b=`).
pub(crate) fn first_non_ws(value: &str, count: usize) -> String {
    value
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .take(count)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_folding_and_spans() {
        let input = b" v=1; a=rsa-sha256;\r\n\tb=abc\r\n def ; d = example.com;";
        let list = TagList::parse(input).unwrap();
        assert_eq!(list.get("v"), Some("1"));
        assert_eq!(list.get("d"), Some("example.com"));
        let b = list.tag("b").unwrap();
        assert_eq!(b.value, "abc\r\n def");
        assert_eq!(&input[b.value_span.clone()], b"abc\r\n def");
        assert_eq!(strip_ws(&b.value), "abcdef");
        assert_eq!(strip_ws("abc"), "abc");
        assert_eq!(strip_ws(" é\t\r\nü "), "éü");
        assert_eq!(first_non_ws("ab\r\n cdef", 3), "abc");
        assert_eq!(first_non_ws(" a ", 8), "a");
    }

    #[test]
    fn empty_values_and_specs() {
        let list = TagList::parse(b"p=; ;t=y;").unwrap();
        assert_eq!(list.get("p"), Some(""));
        assert_eq!(list.tags().len(), 2);
    }

    #[test]
    fn errors() {
        assert_eq!(
            TagList::parse(b"a=1; a=2"),
            Err(TagListError::DuplicateTag("a".into()))
        );
        assert!(matches!(
            TagList::parse(b"1a=x"),
            Err(TagListError::BadTagName(_))
        ));
        assert!(matches!(
            TagList::parse(b"novalue"),
            Err(TagListError::MissingEquals(_))
        ));
        assert!(matches!(
            TagList::parse(b"a=x\x00y"),
            Err(TagListError::BadValue(_))
        ));
        assert!(matches!(
            TagList::parse(b"a=\xff"),
            Err(TagListError::BadValue(_))
        ));
    }
}
