//! The DKIM-Signature header field (RFC 6376 §3.5).
//!
//! ```text
//! sig-v-tag = %x76 [FWS] "=" [FWS] 1*DIGIT            ; must be "1"
//! sig-a-tag = "a=" sig-a-tag-k "-" sig-a-tag-h         ; rsa-sha256, ed25519-sha256
//! sig-b-tag, sig-bh-tag = base64 with FWS
//! sig-c-tag = header-canon ["/" body-canon]            ; default simple/simple
//! sig-d-tag = domain-name    sig-s-tag = selector     sig-h-tag = hdr-name *(":" hdr-name)
//! sig-i-tag = [Local-part] "@" domain-name             ; default "@" d=
//! sig-l-tag = 1*76DIGIT      sig-t-tag, sig-x-tag = 1*12DIGIT
//! sig-q-tag = "dns/txt"      sig-z-tag = copied header fields
//! ```

use std::fmt;

use base64::Engine;

use super::{Canonicalization, SigningAlgorithm};
use crate::message::{TagList, TagListError};
use crate::name::{DomainName, Selector};

/// A parsed DKIM-Signature. Every field is valid by construction; fields are named by meaning,
/// each doc naming its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// `a=`: signing algorithm.
    pub algorithm: SigningAlgorithm,
    /// `b=`: the signature, base64-decoded.
    pub signature: Vec<u8>,
    /// `bh=`: the body hash, base64-decoded.
    pub body_hash: Vec<u8>,
    /// `c=`: header and body canonicalization.
    pub canonicalization: Canonicalization,
    /// `d=`: the signing domain (SDID).
    pub domain: DomainName,
    /// `h=`: names of the signed header fields, in order, as written.
    pub signed_headers: Vec<String>,
    /// `i=`: the agent or user identifier (AUID); `None` when absent (it then defaults to
    /// `@` + `d=`).
    pub identity: Option<Identity>,
    /// `l=`: how many octets of the canonicalized body are signed; `None` for all.
    pub body_length: Option<u64>,
    /// `s=`: the selector.
    pub selector: Selector,
    /// `t=`: when the signature was made, Unix seconds.
    pub timestamp: Option<u64>,
    /// `x=`: when the signature expires, Unix seconds.
    pub expiration: Option<u64>,
    /// `z=`: the copied header fields, as written (diagnostic only).
    pub copied_headers: Option<String>,
    /// Every tag as written, for display.
    pub tags: TagList,
}

/// The `i=` value: an optional local-part and a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The part before `@`, possibly empty.
    pub local_part: String,
    /// The part after `@`.
    pub domain: DomainName,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local_part, self.domain)
    }
}

/// Why a DKIM-Signature field is unusable. Each maps onto an RFC 8601 result in
/// [`SignatureError::is_unsupported`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// The field is not a valid tag list.
    TagList(TagListError),
    /// A required tag (`v a b bh d h s`) is missing.
    MissingTag(&'static str),
    /// A tag's value does not follow its syntax.
    MalformedTag {
        /// The tag name.
        tag: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// `v=` is not `1`.
    UnsupportedVersion(String),
    /// `a=` names an algorithm hanko does not know.
    UnsupportedAlgorithm(String),
    /// `c=` names an unknown canonicalization.
    UnsupportedCanonicalization(String),
    /// `q=` has no `dns/txt`.
    UnsupportedQueryMethod(String),
    /// `h=` does not list From (RFC 6376 §5.4: From MUST be signed).
    FromNotSigned,
    /// `i=` is not `d=` or a subdomain of it (RFC 6376 §3.5).
    IdentityOutsideDomain,
    /// `x=` is not after `t=` (RFC 6376 §3.5).
    ExpiresBeforeTimestamp,
}

impl SignatureError {
    /// True when the signature uses something hanko does not implement (an unknown version,
    /// algorithm, canonicalization or query method): RFC 8601 `neutral`, "not able to be
    /// processed". Every other error is a malformed signature, `permerror`.
    pub fn is_unsupported(&self) -> bool {
        match self {
            SignatureError::UnsupportedVersion(_)
            | SignatureError::UnsupportedAlgorithm(_)
            | SignatureError::UnsupportedCanonicalization(_)
            | SignatureError::UnsupportedQueryMethod(_) => true,
            SignatureError::TagList(_)
            | SignatureError::MissingTag(_)
            | SignatureError::MalformedTag { .. }
            | SignatureError::FromNotSigned
            | SignatureError::IdentityOutsideDomain
            | SignatureError::ExpiresBeforeTimestamp => false,
        }
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureError::TagList(e) => write!(f, "malformed signature: {e}"),
            SignatureError::MissingTag(t) => write!(f, "signature has no {t}= tag"),
            SignatureError::MalformedTag { tag, reason } => {
                write!(f, "malformed {tag}= tag: {reason}")
            }
            SignatureError::UnsupportedVersion(v) => {
                write!(f, "unsupported signature version v={v}")
            }
            SignatureError::UnsupportedAlgorithm(a) => write!(f, "unsupported algorithm a={a}"),
            SignatureError::UnsupportedCanonicalization(c) => {
                write!(f, "unsupported canonicalization c={c}")
            }
            SignatureError::UnsupportedQueryMethod(q) => {
                write!(f, "unsupported query method q={q}")
            }
            SignatureError::FromNotSigned => f.write_str("From is not in h= (RFC 6376 §5.4)"),
            SignatureError::IdentityOutsideDomain => {
                f.write_str("i= is not within d= (RFC 6376 §3.5)")
            }
            SignatureError::ExpiresBeforeTimestamp => f.write_str("x= is not later than t="),
        }
    }
}

impl std::error::Error for SignatureError {}

pub(crate) fn decode_base64(tag: &'static str, value: &str) -> Result<Vec<u8>, SignatureError> {
    let compact = crate::message::strip_ws(value);
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| SignatureError::MalformedTag {
            tag,
            reason: format!("not base64 ({e})"),
        })
}

/// Decodes dkim-quoted-printable (RFC 6376 §2.11): `=XX` hex escapes, white space dropped.
/// `None` for a broken escape or a result that is not UTF-8.
pub(crate) fn decode_dkim_qp(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b if b.is_ascii_whitespace() => i += 1,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A decimal number of at most `max_digits` digits.
pub(crate) fn number(
    tag: &'static str,
    value: &str,
    max_digits: usize,
) -> Result<u64, SignatureError> {
    let malformed = |reason: &str| SignatureError::MalformedTag {
        tag,
        reason: reason.to_string(),
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("not a decimal number"));
    }
    if value.len() > max_digits {
        return Err(malformed(&format!("more than {max_digits} digits")));
    }
    value.parse().map_err(|_| malformed("number too large"))
}

/// The header fields whose tags are RFC 6376's: they differ in `v=` and `i=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureKind {
    /// DKIM-Signature: `v=1` is required and `i=` is the agent or user identifier.
    Dkim,
    /// ARC-Message-Signature (RFC 8617 §4.1.2): no `v=`, and `i=` is the ARC instance,
    /// which the caller reads.
    ArcMessage,
}

impl Signature {
    /// Parses the value of a DKIM-Signature field (the octets after the colon).
    pub fn parse(value: &[u8]) -> Result<Signature, SignatureError> {
        let tags = TagList::parse(value).map_err(SignatureError::TagList)?;
        Signature::from_tags(tags, SignatureKind::Dkim)
    }

    /// Reads the tags of a DKIM-Signature or ARC-Message-Signature field.
    pub(crate) fn from_tags(
        tags: TagList,
        kind: SignatureKind,
    ) -> Result<Signature, SignatureError> {
        let required = |name: &'static str| tags.get(name).ok_or(SignatureError::MissingTag(name));

        if kind == SignatureKind::Dkim {
            let version = required("v")?;
            if version != "1" {
                return Err(SignatureError::UnsupportedVersion(version.to_string()));
            }
        }
        let algorithm_text = required("a")?;
        let algorithm = SigningAlgorithm::parse(algorithm_text)
            .ok_or_else(|| SignatureError::UnsupportedAlgorithm(algorithm_text.to_string()))?;
        let signature = decode_base64("b", required("b")?)?;
        if signature.is_empty() {
            return Err(SignatureError::MalformedTag {
                tag: "b",
                reason: "empty signature".into(),
            });
        }
        let body_hash = decode_base64("bh", required("bh")?)?;
        if body_hash.is_empty() {
            return Err(SignatureError::MalformedTag {
                tag: "bh",
                reason: "empty body hash".into(),
            });
        }
        let canonicalization = match tags.get("c") {
            None => Canonicalization::default(),
            Some(c) => Canonicalization::parse(c)
                .ok_or_else(|| SignatureError::UnsupportedCanonicalization(c.to_string()))?,
        };
        let domain =
            DomainName::parse(required("d")?).map_err(|e| SignatureError::MalformedTag {
                tag: "d",
                reason: e.0,
            })?;
        let selector =
            Selector::parse(required("s")?).map_err(|e| SignatureError::MalformedTag {
                tag: "s",
                reason: e.0,
            })?;
        let signed_headers: Vec<String> = required("h")?
            .split(':')
            .map(crate::message::strip_ws)
            .collect();
        if signed_headers.iter().any(String::is_empty) {
            return Err(SignatureError::MalformedTag {
                tag: "h",
                reason: "empty header field name".into(),
            });
        }
        if !signed_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("from"))
        {
            return Err(SignatureError::FromNotSigned);
        }
        let identity = match tags.get("i") {
            _ if kind == SignatureKind::ArcMessage => None,
            None => None,
            Some(raw) => {
                // i= is dkim-quoted-printable (RFC 6376 §2.11): "=2E" is ".", FWS is ignored.
                let i = &decode_dkim_qp(raw).ok_or_else(|| SignatureError::MalformedTag {
                    tag: "i",
                    reason: "bad quoted-printable".into(),
                })?;
                let at = i.rfind('@').ok_or_else(|| SignatureError::MalformedTag {
                    tag: "i",
                    reason: "no '@'".into(),
                })?;
                let id_domain =
                    DomainName::parse(&i[at + 1..]).map_err(|e| SignatureError::MalformedTag {
                        tag: "i",
                        reason: e.0,
                    })?;
                if !id_domain.is_within(&domain) {
                    return Err(SignatureError::IdentityOutsideDomain);
                }
                Some(Identity {
                    local_part: i[..at].to_string(),
                    domain: id_domain,
                })
            }
        };
        let body_length = tags.get("l").map(|l| number("l", l, 76)).transpose()?;
        if let Some(q) = tags.get("q") {
            // q= is a colon-separated list; dns/txt is the only defined method (RFC 6376 §3.5).
            let methods: Vec<String> = q.split(':').map(crate::message::strip_ws).collect();
            if !methods.iter().any(|m| m.eq_ignore_ascii_case("dns/txt")) {
                return Err(SignatureError::UnsupportedQueryMethod(q.to_string()));
            }
        }
        let timestamp = tags.get("t").map(|t| number("t", t, 12)).transpose()?;
        let expiration = tags.get("x").map(|x| number("x", x, 12)).transpose()?;
        if let (Some(t), Some(x)) = (timestamp, expiration) {
            if x <= t {
                return Err(SignatureError::ExpiresBeforeTimestamp);
            }
        }
        let copied_headers = tags.get("z").map(str::to_string);
        Ok(Signature {
            algorithm,
            signature,
            body_hash,
            canonicalization,
            domain,
            signed_headers,
            identity,
            body_length,
            selector,
            timestamp,
            expiration,
            copied_headers,
            tags,
        })
    }

    /// The first characters of `b=` that RFC 6008 puts in Authentication-Results `header.b`
    /// (8, enough to tell signatures apart).
    pub fn header_b(&self) -> String {
        self.tags
            .get("b")
            .map(|b| crate::message::first_non_ws(b, 8))
            .unwrap_or_default()
    }

    /// The agent or user identifier: `i=`, or `@` + `d=` when `i=` is absent (RFC 6376
    /// §3.5).
    pub fn effective_identity(&self) -> Identity {
        self.identity.clone().unwrap_or_else(|| Identity {
            local_part: String::new(),
            domain: self.domain.clone(),
        })
    }

    /// The DNS name of the key: `selector._domainkey.domain` (RFC 6376 §3.6.2.1).
    pub fn key_name(&self) -> String {
        format!("{}._domainkey.{}", self.selector, self.domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "v=1; a=rsa-sha256; d=example.net; s=brisbane;\r\n c=relaxed/simple; q=dns/txt; i=foo@eng.example.net;\r\n t=1117574938; x=1118006938; l=200;\r\n h=from:to:subject:date;\r\n bh=MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=;\r\n b=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZ\r\n VoG4ZHRNiYzR";

    #[test]
    fn parses_rfc6376_example() {
        let sig = Signature::parse(GOOD.as_bytes()).unwrap();
        assert_eq!(sig.algorithm, SigningAlgorithm::RsaSha256);
        assert_eq!(sig.domain.as_str(), "example.net");
        assert_eq!(sig.selector.as_str(), "brisbane");
        assert_eq!(sig.signed_headers, ["from", "to", "subject", "date"]);
        assert_eq!(sig.identity.as_ref().unwrap().local_part, "foo");
        assert_eq!(sig.body_length, Some(200));
        assert_eq!(sig.timestamp, Some(1117574938));
        assert_eq!(sig.body_hash.len(), 32);
        assert_eq!(sig.header_b(), "dzdVyOfA");
        assert_eq!(sig.key_name(), "brisbane._domainkey.example.net");
    }

    fn with(from: &str, to: &str) -> Result<Signature, SignatureError> {
        Signature::parse(GOOD.replacen(from, to, 1).as_bytes())
    }

    #[test]
    fn each_error_is_named() {
        assert_eq!(
            with("v=1", "v=2"),
            Err(SignatureError::UnsupportedVersion("2".into()))
        );
        assert_eq!(
            with("a=rsa-sha256", "a=dsa-sha256"),
            Err(SignatureError::UnsupportedAlgorithm("dsa-sha256".into()))
        );
        assert_eq!(
            with("d=example.net; ", ""),
            Err(SignatureError::MissingTag("d"))
        );
        assert_eq!(with("from:", ""), Err(SignatureError::FromNotSigned));
        assert_eq!(
            with("i=foo@eng.example.net", "i=foo@example.org"),
            Err(SignatureError::IdentityOutsideDomain)
        );
        assert_eq!(
            with("x=1118006938", "x=1"),
            Err(SignatureError::ExpiresBeforeTimestamp)
        );
        assert_eq!(
            with("q=dns/txt", "q=http"),
            Err(SignatureError::UnsupportedQueryMethod("http".into()))
        );
        assert_eq!(
            with("c=relaxed/simple", "c=fancy"),
            Err(SignatureError::UnsupportedCanonicalization("fancy".into()))
        );
        assert!(matches!(
            with("l=200", "l=-1"),
            Err(SignatureError::MalformedTag { tag: "l", .. })
        ));
        assert!(matches!(
            with("t=1117574938", "t=1234567890123"),
            Err(SignatureError::MalformedTag { tag: "t", .. })
        ));
        assert!(matches!(
            with("bh=MTIz", "bh=!!!"),
            Err(SignatureError::MalformedTag { tag: "bh", .. })
        ));
        assert!(matches!(
            with("d=example.net", "d=a(b.example.net"),
            Err(SignatureError::MalformedTag { tag: "d", .. })
        ));
        assert!(matches!(
            with("s=brisbane", "s=brisbane; s=x"),
            Err(SignatureError::TagList(_))
        ));
        assert!(with("v=1", "v=2").unwrap_err().is_unsupported());
        let qp = with("i=foo@eng.example.net", "i=f=6Fo=40eng=2Eexample.net").unwrap();
        assert_eq!(qp.identity.unwrap().to_string(), "foo@eng.example.net");
        assert!(matches!(
            with("i=foo@eng.example.net", "i=foo=4@example.net"),
            Err(SignatureError::MalformedTag { tag: "i", .. })
        ));
        assert!(!SignatureError::FromNotSigned.is_unsupported());
    }
}
