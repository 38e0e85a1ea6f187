//! ARC, the Authenticated Received Chain (RFC 8617): validating the chain of ARC sets that
//! forwarders and mailing lists add ([`ArcVerifier`]), and adding one ([`ArcSealer`]).
//!
//! A forwarder that changes a message (a Subject tag, a footer) breaks its DKIM signatures,
//! and forwarding from another IP address breaks SPF. ARC lets each intermediary record what
//! it found (ARC-Authentication-Results), sign the message as it forwards it
//! (ARC-Message-Signature, a DKIM signature by another name) and seal the whole chain
//! (ARC-Seal). A receiver that trusts a sealer can then believe that sealer's record of the
//! original authentication.
//!
//! [`ArcVerifier`] streams like [`dkim::Verifier`](crate::dkim::Verifier): the header section,
//! body chunks, then [`finish`](ArcVerifier::finish) with the DNS lookup and the time. It
//! follows RFC 8617 §5.2:
//!
//! 1. no ARC field at all: `none`;
//! 2. every set complete (one AAR, AMS and AS per instance), instances 1 to N without gaps
//!    or repeats, N at most 50;
//! 3. the newest seal does not say `cv=fail`; the first says `cv=none`, every later `cv=pass`;
//! 4. the newest ARC-Message-Signature verifies;
//! 5. every ARC-Seal verifies, newest first;
//!
//! and then, for a chain that passed, finds the oldest instance from which every
//! ARC-Message-Signature still verifies ([`ArcResult::oldest_pass`]): the hop after which
//! the message was not changed. RFC 8301 applies to both signatures: rsa-sha1 and RSA keys
//! under 1024 bits never pass.
//!
//! ARC is on its way to Historic (draft-ietf-dmarc-arc-to-historic), yet Gmail and
//! Microsoft 365 seal the mail they handle, and Microsoft honours chains from the sealers an
//! administrator lists: validating chains is worth doing, trusting one is a local decision.

mod fields;
mod seal;
mod trust;
mod verify;

use std::fmt;

pub use fields::{ArcFieldKind, InstanceError, Seal, MAX_INSTANCE};
pub use seal::{merged_results, ArcSealer, SealError, SealRequest, SealedSet};
pub use trust::{trusted_forwarder, TrustedForwarder};
pub use verify::{ArcConfig, ArcVerifier};

use crate::dkim::{DkimFailure, DkimVerdict, DkimWarning, KeyInfo};
use crate::message::TagList;

/// A chain validation status: the `cv=` of an ARC-Seal (RFC 8617 §4.1.3) and the result of
/// validating a chain (§5.2), which is also the `arc=` result of Authentication-Results
/// (§10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainStatus {
    /// No chain: the message carries no ARC set (for `cv=`: the sealer found none).
    None,
    /// The chain is broken.
    Fail,
    /// The chain validates.
    Pass,
}

impl ChainStatus {
    /// Parses a `cv=` value (letter case ignored).
    pub fn parse(text: &str) -> Option<ChainStatus> {
        match text.to_ascii_lowercase().as_str() {
            "none" => Some(ChainStatus::None),
            "fail" => Some(ChainStatus::Fail),
            "pass" => Some(ChainStatus::Pass),
            _ => None,
        }
    }

    /// The word: `none`, `fail` or `pass`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChainStatus::None => "none",
            ChainStatus::Fail => "fail",
            ChainStatus::Pass => "pass",
        }
    }
}

impl fmt::Display for ChainStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a chain does not validate. Every variant is an RFC 8617 `fail`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArcFailure {
    /// More ARC header fields than [`ArcConfig::max_instances`] complete sets could have:
    /// none of them is read.
    TooManyFields {
        /// ARC header fields in the message.
        count: usize,
    },
    /// The `i=` of an ARC header field could not be read.
    Instance {
        /// The field.
        kind: ArcFieldKind,
        /// Its index among all header fields (0 = top).
        field_index: usize,
        /// What is wrong with `i=`.
        error: InstanceError,
    },
    /// An instance above [`ArcConfig::max_instances`].
    InstanceAboveLimit {
        /// The instance.
        instance: u32,
    },
    /// Two fields of the same kind claim the same instance.
    Duplicate {
        /// The field.
        kind: ArcFieldKind,
        /// The instance.
        instance: u32,
    },
    /// An instance lacks one of its three fields (a gap in the instances lacks all three).
    Missing {
        /// The field missing.
        kind: ArcFieldKind,
        /// The instance.
        instance: u32,
    },
    /// The newest ARC-Seal says `cv=fail`: a sealer already found the chain broken (RFC
    /// 8617 §5.2 step 2).
    MarkedFailed {
        /// The newest instance.
        instance: u32,
    },
    /// An ARC-Seal's `cv=` is not what its position requires: `none` for instance 1, `pass`
    /// for every later one.
    UnexpectedChainStatus {
        /// The instance.
        instance: u32,
        /// Its `cv=`.
        found: ChainStatus,
    },
    /// The newest ARC-Message-Signature does not verify (or does not parse).
    MessageSignature {
        /// The instance.
        instance: u32,
        /// Why.
        failure: DkimFailure,
    },
    /// An ARC-Seal does not verify (or does not parse).
    Seal {
        /// The instance.
        instance: u32,
        /// Why.
        failure: DkimFailure,
    },
}

impl fmt::Display for ArcFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArcFailure::TooManyFields { count } => {
                write!(f, "{count} ARC header fields, more than a chain can have")
            }
            ArcFailure::Instance { kind, error, .. } => write!(f, "{kind}: {error}"),
            ArcFailure::InstanceAboveLimit { instance } => {
                write!(f, "instance i={instance} is above the limit")
            }
            ArcFailure::Duplicate { kind, instance } => {
                write!(f, "two {kind} fields with i={instance}")
            }
            ArcFailure::Missing { kind, instance } => write!(f, "no {kind} with i={instance}"),
            ArcFailure::MarkedFailed { instance } => {
                write!(f, "the newest ARC-Seal (i={instance}) says cv=fail")
            }
            ArcFailure::UnexpectedChainStatus { instance, found } => {
                let expected = if *instance == 1 { "none" } else { "pass" };
                write!(
                    f,
                    "ARC-Seal i={instance} has cv={found}, where cv={expected} belongs"
                )
            }
            ArcFailure::MessageSignature { instance, failure } => {
                write!(f, "ARC-Message-Signature i={instance}: {failure}")
            }
            ArcFailure::Seal { instance, failure } => write!(f, "ARC-Seal i={instance}: {failure}"),
        }
    }
}

/// One ARC-Seal or ARC-Message-Signature and what its check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArcSignature {
    /// Index of the field among all header fields (0 = top).
    pub field_index: usize,
    /// Its tags as written; `None` when the field is not a tag list.
    pub tags: Option<TagList>,
    /// `None` when it was not checked (a failure earlier in the chain ended validation,
    /// or an older ARC-Message-Signature behind one that failed); `Some(None)` when it
    /// verified; `Some(Some(failure))` when it did not.
    pub outcome: Option<Option<DkimFailure>>,
    /// The key, when it was fetched and parsed.
    pub key: Option<KeyInfo>,
    /// Notes that do not change the outcome (a weak key, a testing key).
    pub warnings: Vec<DkimWarning>,
}

impl ArcSignature {
    /// The result word of the check, when it was made: `pass`, or the failure's word.
    pub fn verdict(&self) -> Option<DkimVerdict> {
        self.outcome.as_ref().map(|failure| {
            failure
                .as_ref()
                .map_or(DkimVerdict::Pass, DkimFailure::verdict)
        })
    }

    /// The failure, when it was checked and did not verify.
    pub fn failure(&self) -> Option<&DkimFailure> {
        self.outcome.as_ref().and_then(Option::as_ref)
    }

    /// The value of tag `name` as written.
    pub fn tag(&self, name: &str) -> Option<&str> {
        self.tags.as_ref().and_then(|t| t.get(name))
    }

    /// `d=` as written.
    pub fn domain(&self) -> Option<&str> {
        self.tag("d")
    }

    /// `s=` as written.
    pub fn selector(&self) -> Option<&str> {
        self.tag("s")
    }
}

/// One ARC set: the three fields of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArcSet {
    /// `i=`.
    pub instance: u32,
    /// The ARC-Seal.
    pub seal: ArcSignature,
    /// The ARC-Message-Signature.
    pub message_signature: ArcSignature,
    /// Index of the ARC-Authentication-Results field among all header fields.
    pub authentication_results_index: usize,
    /// The ARC-Authentication-Results value after `i=N;`: the sealer's authserv-id and
    /// results, as written (folding kept).
    pub authentication_results: String,
}

/// What chain validation found for a message.
///
/// The status is derived, never stored: `fail` with a failure, `none` without ARC sets,
/// `pass` otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArcResult {
    /// The sets, oldest (instance 1) first. Empty when there are none, or when their
    /// structure is broken (then [`failure`](Self::failure) says how).
    pub sets: Vec<ArcSet>,
    /// Why the chain does not validate.
    pub failure: Option<ArcFailure>,
    /// For a chain that validates: the oldest instance from which every
    /// ARC-Message-Signature up to the newest verifies, the hop after which the message was
    /// not changed (RFC 8617 §5.2 step 5, Authentication-Results `header.oldest-pass`).
    /// `None` also when [`ArcConfig::oldest_pass`] is off.
    pub oldest_pass: Option<u32>,
}

impl ArcResult {
    /// `none`, `fail` or `pass`.
    pub fn status(&self) -> ChainStatus {
        match (&self.failure, self.sets.is_empty()) {
            (Some(_), _) => ChainStatus::Fail,
            (None, true) => ChainStatus::None,
            (None, false) => ChainStatus::Pass,
        }
    }

    /// The newest set, when the chain has sets.
    pub fn newest(&self) -> Option<&ArcSet> {
        self.sets.last()
    }
}
