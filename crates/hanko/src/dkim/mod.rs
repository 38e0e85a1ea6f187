//! DKIM signing and verification (RFC 6376, RFC 8301, RFC 8463).
//!
//! Both directions stream in message order: give the header section, then body chunks,
//! then finish. [`Signer`] returns the DKIM-Signature fields to prepend; [`Verifier`]
//! returns one [`DkimResult`] per signature, in header order.
//!
//! The crate-level example in [`crate`] signs and verifies a message end to end.
//!
//! # Pitfalls
//! - `l=` lets anyone append to the body; hanko never writes it unless asked and reports
//!   unsigned trailing content as [`DkimWarning::UnsignedBodyContent`].
//! - rsa-sha1 and RSA keys under 1024 bits are never a pass (RFC 8301); they come back as
//!   `policy` with the reason.
//! - Oversign From (the default): list it once more than it occurs, so a From added above the
//!   signed one breaks the signature instead of riding on it.
//! - Gmail does not verify Ed25519; dual-sign with RSA when you use Ed25519.

pub mod canonicalize;
mod key_record;
mod sign;
mod signature;
mod verify;

pub use key_record::{key_record_for, KeyRecord, KeyRecordError, KeyRecordOptions};
pub use sign::{sign_message, SignError, Signer, SigningRequest, DEFAULT_SIGNED_HEADERS};
pub(crate) use sign::{signed_names, Folder};
pub(crate) use signature::{decode_base64, number, SignatureKind};
pub use signature::{Identity, Signature, SignatureError};
pub(crate) use verify::{check_signature, usable_key};
pub use verify::{
    coverage_warnings, DkimFailure, DkimResult, DkimVerdict, DkimWarning, KeyInfo, SignatureField,
    Verification, Verifier, VerifyConfig, SHOULD_BE_SIGNED, SINGLE_INSTANCE,
};
pub use verify::{fetch_key, FetchedKey};

pub use crate::crypto::{HashAlgorithm, Hasher};
use crate::keys::KeyType;
use std::fmt;

/// The signing algorithms of `a=` (RFC 6376 §3.3, RFC 8463 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// `rsa-sha256`.
    RsaSha256,
    /// `rsa-sha1`: understood so it can be named, never a pass (RFC 8301 §3.1).
    RsaSha1,
    /// `ed25519-sha256` (RFC 8463).
    Ed25519Sha256,
}

impl SigningAlgorithm {
    /// Parses an `a=` value.
    pub fn parse(text: &str) -> Option<SigningAlgorithm> {
        match text.to_ascii_lowercase().as_str() {
            "rsa-sha256" => Some(SigningAlgorithm::RsaSha256),
            "rsa-sha1" => Some(SigningAlgorithm::RsaSha1),
            "ed25519-sha256" => Some(SigningAlgorithm::Ed25519Sha256),
            _ => None,
        }
    }

    /// The `a=` name.
    pub fn name(self) -> &'static str {
        match self {
            SigningAlgorithm::RsaSha256 => "rsa-sha256",
            SigningAlgorithm::RsaSha1 => "rsa-sha1",
            SigningAlgorithm::Ed25519Sha256 => "ed25519-sha256",
        }
    }

    /// The key type it needs.
    pub fn key_type(self) -> KeyType {
        match self {
            SigningAlgorithm::RsaSha256 | SigningAlgorithm::RsaSha1 => KeyType::Rsa,
            SigningAlgorithm::Ed25519Sha256 => KeyType::Ed25519,
        }
    }

    /// The hash it uses.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            SigningAlgorithm::RsaSha1 => HashAlgorithm::Sha1,
            SigningAlgorithm::RsaSha256 | SigningAlgorithm::Ed25519Sha256 => HashAlgorithm::Sha256,
        }
    }

    /// The algorithm for signing with a key of `key_type`.
    pub fn for_key(key_type: KeyType) -> SigningAlgorithm {
        match key_type {
            KeyType::Rsa => SigningAlgorithm::RsaSha256,
            KeyType::Ed25519 => SigningAlgorithm::Ed25519Sha256,
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `simple` or `relaxed` (RFC 6376 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CanonicalizationAlgorithm {
    /// Tolerates no change at all.
    Simple,
    /// Tolerates white space changes, refolding and header name case.
    Relaxed,
}

impl CanonicalizationAlgorithm {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "simple" => Some(CanonicalizationAlgorithm::Simple),
            "relaxed" => Some(CanonicalizationAlgorithm::Relaxed),
            _ => None,
        }
    }

    /// The name used in `c=`.
    pub fn name(self) -> &'static str {
        match self {
            CanonicalizationAlgorithm::Simple => "simple",
            CanonicalizationAlgorithm::Relaxed => "relaxed",
        }
    }
}

/// The `c=` pair. Default `simple/simple`, the RFC's default when `c=` is absent; the signer
/// uses `relaxed/relaxed` unless told otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Canonicalization {
    /// Header canonicalization.
    pub header: CanonicalizationAlgorithm,
    /// Body canonicalization.
    pub body: CanonicalizationAlgorithm,
}

impl Default for Canonicalization {
    fn default() -> Self {
        Canonicalization {
            header: CanonicalizationAlgorithm::Simple,
            body: CanonicalizationAlgorithm::Simple,
        }
    }
}

impl Canonicalization {
    /// `relaxed/relaxed`.
    pub const RELAXED: Canonicalization = Canonicalization {
        header: CanonicalizationAlgorithm::Relaxed,
        body: CanonicalizationAlgorithm::Relaxed,
    };

    /// Parses `header[/body]`; a missing body part means `simple` (RFC 6376 §3.5).
    pub fn parse(text: &str) -> Option<Canonicalization> {
        let (header, body) = match text.split_once('/') {
            Some((h, b)) => (h, b),
            None => (text, "simple"),
        };
        Some(Canonicalization {
            header: CanonicalizationAlgorithm::parse(header.trim())?,
            body: CanonicalizationAlgorithm::parse(body.trim())?,
        })
    }
}

impl fmt::Display for Canonicalization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.header.name(), self.body.name())
    }
}
