//! The DKIM key record published at `selector._domainkey.domain` (RFC 6376 §3.6.1,
//! RFC 8463 §4.2).
//!
//! ```text
//! key-v-tag = %x76 [FWS] "=" [FWS] %x44.4B.49.4D.31     ; "DKIM1", first tag if present
//! key-h-tag = "h=" hash-alg *(":" hash-alg)              ; allowed hashes, default all
//! key-k-tag = "k=" ("rsa" / "ed25519")                   ; default rsa
//! key-n-tag = "n=" qp-section                            ; notes for humans
//! key-p-tag = "p=" [base64string]                        ; empty: revoked
//! key-s-tag = "s=" ("*" / "email") *(":" ...)            ; service types, default *
//! key-t-tag = "t=" flag *(":" flag)                      ; y: testing, s: strict i=
//! ```
//! `g=` (granularity) comes from RFC 4871 and was removed by RFC 6376; a record that still
//! carries it is honoured as RFC 4871 §3.6.1 says, because the key owner meant it.

use std::fmt;

use base64::Engine;

use crate::crypto::{HashAlgorithm, PublicKey};
use crate::keys::{KeyType, SigningKey};
use crate::message::{TagList, TagListError};

/// A parsed key record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// `k=`: the key type.
    pub key_type: KeyType,
    /// `p=`: the public key; `None` when the record revokes the key with an empty `p=`.
    pub(crate) public_key: Option<PublicKey>,
    /// `h=`: the hash algorithms this key may be used with, as written; `None` for all.
    pub hash_algorithms: Option<Vec<String>>,
    /// `s=`: service types, as written; `["*"]` when absent.
    pub service_types: Vec<String>,
    /// `t=y`: the domain is testing DKIM (RFC 6376 §3.6.1); results are reported as usual.
    pub testing: bool,
    /// `t=s`: `i=` must use exactly the `d=` domain, no subdomain.
    pub strict_identity: bool,
    /// `n=`: notes for people.
    pub notes: Option<String>,
    /// `g=` (RFC 4871 only): local-part pattern the `i=` must match.
    pub granularity: Option<String>,
    /// Every tag as written.
    pub tags: TagList,
}

/// Why a key record is unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRecordError {
    /// The record is not a valid tag list.
    TagList(TagListError),
    /// `v=` is present but is not `DKIM1`, or is not the first tag.
    BadVersion(String),
    /// There is no `p=` tag.
    MissingPublicKey,
    /// `k=` names an unknown key type.
    UnknownKeyType(String),
    /// `p=` is not base64, or not a key of the type `k=` says.
    BadPublicKey(String),
}

impl fmt::Display for KeyRecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRecordError::TagList(e) => write!(f, "malformed key record: {e}"),
            KeyRecordError::BadVersion(v) => {
                write!(f, "key record has v={v}, expected DKIM1 as the first tag")
            }
            KeyRecordError::MissingPublicKey => f.write_str("key record has no p= tag"),
            KeyRecordError::UnknownKeyType(k) => write!(f, "key record has unknown key type k={k}"),
            KeyRecordError::BadPublicKey(why) => write!(f, "key record p= is unusable: {why}"),
        }
    }
}

impl std::error::Error for KeyRecordError {}

fn list(value: &str) -> Vec<String> {
    value
        .split(':')
        .map(crate::message::strip_ws)
        .filter(|s| !s.is_empty())
        .collect()
}

impl KeyRecord {
    /// Parses a TXT record (its strings already joined).
    pub fn parse(record: &[u8]) -> Result<KeyRecord, KeyRecordError> {
        let tags = TagList::parse(record).map_err(KeyRecordError::TagList)?;
        if let Some(v) = tags.get("v") {
            let first = tags.tags().first().map(|t| t.name.as_str());
            if v != "DKIM1" || first != Some("v") {
                return Err(KeyRecordError::BadVersion(v.to_string()));
            }
        }
        let key_type = match tags.get("k") {
            None | Some("rsa") => KeyType::Rsa,
            Some("ed25519") => KeyType::Ed25519,
            Some(other) => return Err(KeyRecordError::UnknownKeyType(other.to_string())),
        };
        let p = tags.get("p").ok_or(KeyRecordError::MissingPublicKey)?;
        let p = crate::message::strip_ws(p);
        let public_key = if p.is_empty() {
            None
        } else {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(p.as_bytes())
                .map_err(|e| KeyRecordError::BadPublicKey(format!("not base64 ({e})")))?;
            let key = match key_type {
                KeyType::Rsa => PublicKey::rsa_from_der(&bytes)
                    .ok_or_else(|| KeyRecordError::BadPublicKey("not an RSA public key".into()))?,
                KeyType::Ed25519 => PublicKey::ed25519(&bytes).ok_or_else(|| {
                    KeyRecordError::BadPublicKey(format!(
                        "an Ed25519 key has 32 octets, this one {}",
                        bytes.len()
                    ))
                })?,
            };
            Some(key)
        };
        let flags = tags.get("t").map(list).unwrap_or_default();
        Ok(KeyRecord {
            key_type,
            public_key,
            hash_algorithms: tags.get("h").map(list),
            service_types: tags.get("s").map(list).unwrap_or_else(|| vec!["*".into()]),
            testing: flags.iter().any(|f| f == "y"),
            strict_identity: flags.iter().any(|f| f == "s"),
            notes: tags.get("n").map(str::to_string),
            granularity: tags.get("g").map(str::to_string),
            tags,
        })
    }

    /// True when `p=` is empty: the key was revoked (RFC 6376 §3.6.1).
    pub fn is_revoked(&self) -> bool {
        self.public_key.is_none()
    }

    /// True when `signature` is this key's signature over `data` hashed with `hash` (RSA
    /// PKCS#1 v1.5 or Ed25519 as the record's `k=` says); false for a revoked key. The
    /// header analyzer checks rebuilt header sections with it.
    pub fn verifies(&self, hash: HashAlgorithm, data: &[u8], signature: &[u8]) -> bool {
        self.public_key
            .as_ref()
            .is_some_and(|key| key.verify(hash, data, signature))
    }

    /// The key size in bits (RSA modulus, or 256 for Ed25519); `None` when revoked.
    pub fn key_bits(&self) -> Option<usize> {
        self.public_key.as_ref().map(PublicKey::bits)
    }

    /// True when the record publishes the public half of `key` (RSA keys compare by value,
    /// whether `p=` holds `SubjectPublicKeyInfo` or bare PKCS#1).
    pub fn matches_key(&self, key: &SigningKey) -> bool {
        let Ok(bytes) = base64::engine::general_purpose::STANDARD
            .decode(key.public_key_base64().unwrap_or_default())
        else {
            return false;
        };
        let theirs = match key.key_type() {
            KeyType::Rsa => PublicKey::rsa_from_der(&bytes),
            KeyType::Ed25519 => PublicKey::ed25519(&bytes),
        };
        theirs.is_some() && self.public_key == theirs
    }

    /// True when `s=` allows e-mail (`*` or `email`).
    pub fn allows_email(&self) -> bool {
        self.service_types.iter().any(|s| s == "*" || s == "email")
    }

    /// True when `h=` is absent or lists `hash`.
    pub fn allows_hash(&self, hash: HashAlgorithm) -> bool {
        self.hash_algorithms
            .as_ref()
            .is_none_or(|list| list.iter().any(|h| h == hash.name()))
    }

    /// True when the RFC 4871 `g=` pattern (if any) accepts `local_part`: `*` matches any
    /// run of characters, and an empty `g=` matches nothing (RFC 4871 §3.6.1).
    pub fn granularity_allows(&self, local_part: &str) -> bool {
        match self.granularity.as_deref() {
            None => true,
            Some("") => false,
            Some(pattern) => match pattern.split_once('*') {
                None => pattern == local_part,
                Some((head, tail)) => {
                    local_part.len() >= head.len() + tail.len()
                        && local_part.starts_with(head)
                        && local_part.ends_with(tail)
                }
            },
        }
    }
}

/// Options for the key record that publishes a signing key (`hanko keygen`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRecordOptions {
    /// Add `t=y`: the domain is testing DKIM. Default: off.
    pub testing: bool,
    /// Add `t=s`: signatures with this key must use `i=` in exactly `d=`. Default: off.
    pub strict_identity: bool,
    /// Add `h=` with these hash names (e.g. `["sha256"]`). Default: none (all allowed).
    pub hash_algorithms: Option<Vec<String>>,
    /// Add `s=email`, limiting the key to e-mail. Default: off.
    pub email_only: bool,
    /// Add `n=` with this note. Default: none.
    pub notes: Option<String>,
}

/// The TXT value that publishes `key`, e.g. `v=DKIM1; k=ed25519; p=...`.
pub fn key_record_for(
    key: &SigningKey,
    options: &KeyRecordOptions,
) -> Result<String, crate::keys::KeyError> {
    let mut out = format!("v=DKIM1; k={}", key.key_type().name());
    if let Some(h) = &options.hash_algorithms {
        out.push_str(&format!("; h={}", h.join(":")));
    }
    if options.email_only {
        out.push_str("; s=email");
    }
    let mut flags = Vec::new();
    if options.testing {
        flags.push("y");
    }
    if options.strict_identity {
        flags.push("s");
    }
    if !flags.is_empty() {
        out.push_str(&format!("; t={}", flags.join(":")));
    }
    if let Some(n) = &options.notes {
        // n= is qp-section: keep it to printable ASCII other than ';'.
        let clean: String = n
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != ';' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        out.push_str(&format!("; n={clean}"));
    }
    out.push_str(&format!("; p={}", key.public_key_base64()?));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::HashAlgorithm;

    const RFC6376_KEY: &str = "v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB";

    #[test]
    fn parses_rsa_and_reports_size() {
        let rec = KeyRecord::parse(RFC6376_KEY.as_bytes()).unwrap();
        assert_eq!(rec.key_type, KeyType::Rsa);
        assert_eq!(rec.key_bits(), Some(1024));
        assert!(rec.allows_email());
        assert!(rec.allows_hash(HashAlgorithm::Sha256));
        assert!(!rec.is_revoked());
    }

    #[test]
    fn flags_and_limits() {
        let rec = KeyRecord::parse(b"v=DKIM1; k=ed25519; h=sha256; s=email; t=y:s; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=").unwrap();
        assert_eq!(rec.key_type, KeyType::Ed25519);
        assert!(rec.testing && rec.strict_identity);
        assert!(!rec.allows_hash(HashAlgorithm::Sha1));
        let revoked = KeyRecord::parse(b"v=DKIM1; p=").unwrap();
        assert!(revoked.is_revoked());
        let chat = KeyRecord::parse(b"s=chat; p=").unwrap();
        assert!(!chat.allows_email());
    }

    #[test]
    fn errors() {
        assert_eq!(
            KeyRecord::parse(b"v=DKIM2; p=").unwrap_err(),
            KeyRecordError::BadVersion("DKIM2".into())
        );
        assert_eq!(
            KeyRecord::parse(b"p=; v=DKIM1").unwrap_err(),
            KeyRecordError::BadVersion("DKIM1".into())
        );
        assert_eq!(
            KeyRecord::parse(b"v=DKIM1").unwrap_err(),
            KeyRecordError::MissingPublicKey
        );
        assert_eq!(
            KeyRecord::parse(b"k=dsa; p=").unwrap_err(),
            KeyRecordError::UnknownKeyType("dsa".into())
        );
        assert!(matches!(
            KeyRecord::parse(b"k=ed25519; p=AAAA").unwrap_err(),
            KeyRecordError::BadPublicKey(_)
        ));
        assert!(matches!(
            KeyRecord::parse(b"p=garbage!").unwrap_err(),
            KeyRecordError::BadPublicKey(_)
        ));
        assert!(matches!(
            KeyRecord::parse(b"p=AAAA").unwrap_err(),
            KeyRecordError::BadPublicKey(_)
        ));
    }

    #[test]
    fn granularity() {
        let rec = KeyRecord::parse(b"g=jl*g; p=").unwrap();
        assert!(rec.granularity_allows("jlg"));
        assert!(rec.granularity_allows("jlong"));
        assert!(!rec.granularity_allows("JLong"));
        let empty = KeyRecord::parse(b"g=; p=").unwrap();
        assert!(!empty.granularity_allows(""));
    }

    #[test]
    fn record_for_generated_key_parses_back() {
        let key = SigningKey::generate(crate::keys::KeySpec::Ed25519).unwrap();
        let options = KeyRecordOptions {
            testing: true,
            hash_algorithms: Some(vec!["sha256".into()]),
            email_only: true,
            notes: Some("rotated 2026; ok".into()),
            ..Default::default()
        };
        let text = key_record_for(&key, &options).unwrap();
        let rec = KeyRecord::parse(text.as_bytes()).unwrap();
        assert!(rec.testing);
        assert_eq!(rec.notes.as_deref(), Some("rotated_2026__ok"));
        assert_eq!(rec.key_type, KeyType::Ed25519);
        assert!(rec.matches_key(&key));
        let other = SigningKey::generate(crate::keys::KeySpec::Ed25519).unwrap();
        assert!(!rec.matches_key(&other));
    }
}
