//! The three ARC header fields (RFC 8617 §4.1) and their instance tags.
//!
//! ```text
//! ARC-Authentication-Results: i=<instance>; <authserv-id>; <results>   ; §4.1.1
//! ARC-Message-Signature: i=<instance>; <DKIM-Signature tags but v=>   ; §4.1.2
//! ARC-Seal: i=<instance>; a=; b=; cv=none|fail|pass; d=; s=; [t=]     ; §4.1.3
//! ```

use std::fmt;

use super::ChainStatus;
use crate::dkim::{decode_base64, number, SignatureError, SigningAlgorithm};
use crate::message::TagList;
use crate::name::{DomainName, Selector};

/// The three header fields of an ARC set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ArcFieldKind {
    /// ARC-Authentication-Results (AAR): what the sealer's checks found.
    AuthenticationResults,
    /// ARC-Message-Signature (AMS): a DKIM-like signature over the message as it was.
    MessageSignature,
    /// ARC-Seal (AS): a signature over the ARC sets, binding the chain together.
    Seal,
}

impl ArcFieldKind {
    /// The header field name.
    pub fn field_name(self) -> &'static str {
        match self {
            ArcFieldKind::AuthenticationResults => "ARC-Authentication-Results",
            ArcFieldKind::MessageSignature => "ARC-Message-Signature",
            ArcFieldKind::Seal => "ARC-Seal",
        }
    }

    /// The kind of a header field, when its name is one of the three.
    pub fn of(name: &str) -> Option<ArcFieldKind> {
        [
            ArcFieldKind::AuthenticationResults,
            ArcFieldKind::MessageSignature,
            ArcFieldKind::Seal,
        ]
        .into_iter()
        .find(|kind| kind.field_name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for ArcFieldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field_name())
    }
}

/// Why the `i=` of an ARC header field could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstanceError {
    /// The field has no `i=` (for ARC-Authentication-Results: it does not start with one).
    Missing,
    /// `i=` is not a decimal number from 1 to 50 (RFC 8617 §4.2.1).
    Invalid(String),
    /// The field is not a tag list, so `i=` cannot be found.
    NotTagList(String),
    /// An ARC-Authentication-Results field whose `i=` is not followed by `;`.
    NoSemicolon,
}

impl fmt::Display for InstanceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceError::Missing => f.write_str("no i= tag"),
            InstanceError::Invalid(value) => {
                write!(f, "i={value} is not an instance from 1 to 50")
            }
            InstanceError::NotTagList(reason) => write!(f, "not a tag list: {reason}"),
            InstanceError::NoSemicolon => f.write_str("i= is not followed by ';'"),
        }
    }
}

/// The largest instance RFC 8617 §4.2.1 allows.
pub const MAX_INSTANCE: u32 = 50;

/// An `i=` value: 1 to 50, decimal digits only (RFC 8617 §4.2.1).
pub(crate) fn instance_number(value: &str) -> Result<u32, InstanceError> {
    let invalid = || InstanceError::Invalid(value.to_string());
    if value.is_empty() || value.len() > 2 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match value.parse::<u32>() {
        Ok(n @ 1..=MAX_INSTANCE) => Ok(n),
        _ => Err(invalid()),
    }
}

/// The instance of an ARC-Seal or ARC-Message-Signature, from its tags.
pub(crate) fn tag_instance(tags: &TagList) -> Result<u32, InstanceError> {
    instance_number(tags.get("i").ok_or(InstanceError::Missing)?)
}

/// Splits an ARC-Authentication-Results value into its instance and the rest (the
/// authserv-id and results, as an Authentication-Results field has them): `i=` comes first,
/// then `;` (RFC 8617 §4.1.1).
pub(crate) fn split_aar(value: &[u8]) -> Result<(u32, &[u8]), InstanceError> {
    let text = trim_start(value);
    let Some(rest) = text
        .strip_prefix(b"i")
        .map(trim_start)
        .and_then(|r| r.strip_prefix(b"="))
    else {
        return Err(InstanceError::Missing);
    };
    let end = memchr::memchr(b';', rest).ok_or(InstanceError::NoSemicolon)?;
    let number = String::from_utf8_lossy(&rest[..end]).trim().to_string();
    Ok((instance_number(&number)?, &rest[end + 1..]))
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// A parsed ARC-Seal (RFC 8617 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// `i=`: the instance.
    pub instance: u32,
    /// `a=`: the signing algorithm.
    pub algorithm: SigningAlgorithm,
    /// `b=`: the signature, base64-decoded.
    pub signature: Vec<u8>,
    /// `cv=`: what the sealer found of the chain before its own set.
    pub chain_status: ChainStatus,
    /// `d=`: the sealing domain.
    pub domain: DomainName,
    /// `s=`: the selector of the sealing key.
    pub selector: Selector,
    /// `t=`: when the seal was made, Unix seconds.
    pub timestamp: Option<u64>,
    /// Every tag as written.
    pub tags: TagList,
}

impl Seal {
    /// Reads the tags of an ARC-Seal field. Unknown tags are ignored; `h=` is an error,
    /// because the seal covers a fixed set of fields (RFC 8617 §4.1.3).
    pub fn from_tags(tags: TagList) -> Result<Seal, SignatureError> {
        let required = |name: &'static str| tags.get(name).ok_or(SignatureError::MissingTag(name));
        let malformed =
            |tag: &'static str, reason: String| SignatureError::MalformedTag { tag, reason };
        let instance = tag_instance(&tags).map_err(|e| malformed("i", e.to_string()))?;
        let algorithm_text = required("a")?;
        let algorithm = SigningAlgorithm::parse(algorithm_text)
            .ok_or_else(|| SignatureError::UnsupportedAlgorithm(algorithm_text.to_string()))?;
        let signature = decode_base64("b", required("b")?)?;
        if signature.is_empty() {
            return Err(malformed("b", "empty signature".into()));
        }
        let cv = required("cv")?;
        let chain_status = ChainStatus::parse(cv)
            .ok_or_else(|| malformed("cv", format!("{cv:?} is not none, fail or pass")))?;
        let domain = DomainName::parse(required("d")?).map_err(|e| malformed("d", e.0))?;
        let selector = Selector::parse(required("s")?).map_err(|e| malformed("s", e.0))?;
        if tags.get("h").is_some() {
            return Err(malformed(
                "h",
                "an ARC-Seal signs fixed fields and has no h= (RFC 8617 §4.1.3)".into(),
            ));
        }
        let timestamp = tags.get("t").map(|t| number("t", t, 12)).transpose()?;
        Ok(Seal {
            instance,
            algorithm,
            signature,
            chain_status,
            domain,
            selector,
            timestamp,
            tags,
        })
    }

    /// The DNS name of the sealing key: `selector._domainkey.domain`.
    pub fn key_name(&self) -> String {
        format!("{}._domainkey.{}", self.selector, self.domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_are_one_to_fifty_in_digits() {
        assert_eq!(instance_number("1"), Ok(1));
        assert_eq!(instance_number("50"), Ok(50));
        for bad in [
            "0",
            "51",
            "",
            "-1",
            "+1",
            "1a",
            "007",
            " 1",
            "99999999999999999999",
        ] {
            assert!(instance_number(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn aar_starts_with_its_instance() {
        let (i, rest) = split_aar(b" i=2; mx.example; spf=pass").unwrap();
        assert_eq!((i, rest), (2, &b" mx.example; spf=pass"[..]));
        assert_eq!(split_aar(b"i = 3 ;x").unwrap().0, 3);
        assert_eq!(split_aar(b"mx.example; i=1"), Err(InstanceError::Missing));
        assert_eq!(
            split_aar(b"i=1 mx.example;"),
            Err(InstanceError::Invalid("1 mx.example".into()))
        );
        assert_eq!(
            split_aar(b"i=1 mx.example"),
            Err(InstanceError::NoSemicolon)
        );
        assert!(matches!(split_aar(b"i=0;"), Err(InstanceError::Invalid(_))));
    }

    #[test]
    fn field_kinds_by_name() {
        assert_eq!(ArcFieldKind::of("arc-seal"), Some(ArcFieldKind::Seal));
        assert_eq!(
            ArcFieldKind::of("ARC-Message-Signature"),
            Some(ArcFieldKind::MessageSignature)
        );
        assert_eq!(ArcFieldKind::of("DKIM-Signature"), None);
    }

    #[test]
    fn seal_tags() {
        let tags = |text: &str| TagList::parse(text.as_bytes()).unwrap();
        let good = "i=1; a=rsa-sha256; b=AAAA; cv=none; d=example.org; s=sel; t=12345";
        let seal = Seal::from_tags(tags(good)).unwrap();
        assert_eq!(seal.chain_status, ChainStatus::None);
        assert_eq!(seal.key_name(), "sel._domainkey.example.org");
        let broken = |from: &str, to: &str| Seal::from_tags(tags(&good.replace(from, to)));
        assert_eq!(
            broken("cv=none; ", ""),
            Err(SignatureError::MissingTag("cv"))
        );
        assert!(matches!(
            broken("cv=none", "cv=maybe"),
            Err(SignatureError::MalformedTag { tag: "cv", .. })
        ));
        assert!(matches!(
            broken("t=12345", "t=1; h=from"),
            Err(SignatureError::MalformedTag { tag: "h", .. })
        ));
        assert!(matches!(
            broken("i=1", "i=0"),
            Err(SignatureError::MalformedTag { tag: "i", .. })
        ));
        assert!(broken("; t=12345", "").is_ok(), "t= is optional");
    }
}
