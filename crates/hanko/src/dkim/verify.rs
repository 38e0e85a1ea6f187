//! Verification (RFC 6376 §6) with the RFC 8301 floor and Ed25519 (RFC 8463).

use std::fmt;
use std::sync::Arc;

use super::canonicalize::{header_hash_input, BodyHash, BodyHasher};
use super::{
    CanonicalizationAlgorithm, KeyRecord, KeyRecordError, Signature, SignatureError,
    SigningAlgorithm,
};
use crate::crypto::HashAlgorithm;
use crate::dns::{DnsError, Lookup};
use crate::join::join_all;
use crate::keys::KeyType;
use crate::message::{HeaderField, Headers, TagList};

/// Verification settings. Every field's default is the one [`Default`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyConfig {
    /// Most DKIM-Signature fields verified per message, from the top; the rest are counted in
    /// [`Verification::skipped`]. Default: 10.
    pub max_signatures: usize,
    /// Seconds of clock difference tolerated for `t=` in the future and `x=` in the past.
    /// Default: 300.
    pub clock_skew: u64,
    /// Smallest RSA key that can pass, in bits. Default: 1024 (RFC 8301 §3.2); lower values
    /// have no effect because the crypto backend verifies nothing smaller.
    pub min_rsa_bits: usize,
    /// RSA keys below this pass with a [`DkimWarning::WeakKey`]. Default: 2048.
    pub weak_rsa_bits: usize,
    /// Treat `t=` more than `clock_skew` in the future as a failure instead of a
    /// [`DkimWarning::FutureTimestamp`]. Default: off, because RFC 6376 §3.5 only allows it
    /// and genuine signers with fast clocks exist (mail-auth's real message 004 is one).
    pub reject_future_timestamps: bool,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            max_signatures: 10,
            clock_skew: 300,
            min_rsa_bits: 1024,
            weak_rsa_bits: 2048,
            reject_future_timestamps: false,
        }
    }
}

/// A DKIM result word of RFC 8601 §2.7.1 for one signature. (`none`, no signature at all, is
/// a property of the message: an empty [`Verification::results`].)
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DkimVerdict {
    /// The signature verified.
    Pass,
    /// The signature or body hash did not verify.
    Fail,
    /// The signature could not be processed (unknown version or algorithm).
    Neutral,
    /// The signature verified or could have, but is not acceptable (RFC 8301 rules).
    Policy,
    /// A DNS failure that may pass.
    TempError,
    /// The signature or its key is unusable.
    PermError,
}

impl DkimVerdict {
    /// The RFC 8601 word.
    pub fn as_str(self) -> &'static str {
        match self {
            DkimVerdict::Pass => "pass",
            DkimVerdict::Fail => "fail",
            DkimVerdict::Neutral => "neutral",
            DkimVerdict::Policy => "policy",
            DkimVerdict::TempError => "temperror",
            DkimVerdict::PermError => "permerror",
        }
    }
}

impl fmt::Display for DkimVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a signature did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DkimFailure {
    /// The DKIM-Signature field is malformed or uses something unsupported.
    Signature(SignatureError),
    /// `x=` has passed (RFC 6376 §3.5).
    Expired {
        /// The `x=` value.
        expiration: u64,
    },
    /// `t=` is in the future beyond the allowed clock skew.
    TimestampInFuture {
        /// The `t=` value.
        timestamp: u64,
    },
    /// The key could not be fetched: no such name or no TXT record (`permerror`), or a DNS
    /// failure (`temperror`).
    KeyUnavailable {
        /// The queried name.
        name: String,
        /// What DNS said.
        error: DnsError,
    },
    /// The key record is malformed.
    KeyRecord(KeyRecordError),
    /// The key record has an empty `p=`.
    KeyRevoked,
    /// The key's `k=` does not fit the signature's `a=`.
    KeyTypeMismatch {
        /// `k=` of the key.
        key: KeyType,
        /// `a=` of the signature.
        algorithm: SigningAlgorithm,
    },
    /// The key's `h=` does not allow the signature's hash.
    HashNotAllowedByKey(HashAlgorithm),
    /// The key's `s=` does not include e-mail.
    KeyNotForEmail,
    /// The key has `t=s` but `i=` is in a subdomain of `d=`.
    StrictIdentityMismatch,
    /// The key's RFC 4871 `g=` does not match the `i=` local-part.
    GranularityMismatch,
    /// An RSA key smaller than [`VerifyConfig::min_rsa_bits`] (RFC 8301 §3.2).
    KeyTooShort {
        /// The key size.
        bits: usize,
    },
    /// An RSA key longer than this verifier handles (8,192 bits; RFC 8301 §3.2 requires
    /// verifiers to handle up to 4,096).
    KeyTooLong {
        /// The key size.
        bits: usize,
    },
    /// `l=` asks for more octets than the canonical body has.
    BodyLengthExceedsBody {
        /// The `l=` value.
        length: u64,
        /// The canonical body length.
        body: u64,
    },
    /// The body hash differs from `bh=`: the body was changed.
    BodyHashMismatch {
        /// Whether the header signature verified, i.e. only the body changed.
        headers_intact: bool,
    },
    /// The header signature does not verify: a signed header field was changed (or the key
    /// does not match).
    SignatureMismatch,
    /// An rsa-sha1 signature. It verified, but RFC 8301 §3.1 forbids accepting it.
    Sha1Signature,
}

impl DkimFailure {
    /// The RFC 8601 result this failure gives. Exhaustive on purpose: a new failure must
    /// choose its word here.
    pub fn verdict(&self) -> DkimVerdict {
        match self {
            DkimFailure::Signature(e) => {
                if e.is_unsupported() {
                    DkimVerdict::Neutral
                } else {
                    DkimVerdict::PermError
                }
            }
            DkimFailure::KeyUnavailable { error, .. } => {
                if error.is_temporary() {
                    DkimVerdict::TempError
                } else {
                    DkimVerdict::PermError
                }
            }
            DkimFailure::Expired { .. }
            | DkimFailure::TimestampInFuture { .. }
            | DkimFailure::KeyRecord(_)
            | DkimFailure::KeyRevoked
            | DkimFailure::KeyTypeMismatch { .. }
            | DkimFailure::HashNotAllowedByKey(_)
            | DkimFailure::KeyNotForEmail
            | DkimFailure::StrictIdentityMismatch
            | DkimFailure::GranularityMismatch
            | DkimFailure::KeyTooLong { .. }
            | DkimFailure::BodyLengthExceedsBody { .. } => DkimVerdict::PermError,
            DkimFailure::KeyTooShort { .. } | DkimFailure::Sha1Signature => DkimVerdict::Policy,
            DkimFailure::BodyHashMismatch { .. } | DkimFailure::SignatureMismatch => {
                DkimVerdict::Fail
            }
        }
    }
}

impl fmt::Display for DkimFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DkimFailure::Signature(e) => write!(f, "{e}"),
            DkimFailure::Expired { expiration } => write!(f, "signature expired (x={expiration})"),
            DkimFailure::TimestampInFuture { timestamp } => {
                write!(f, "signature timestamp is in the future (t={timestamp})")
            }
            DkimFailure::KeyUnavailable { name, error } => match error {
                DnsError::NxDomain | DnsError::NoRecords => write!(f, "no key record at {name}"),
                other => write!(f, "key lookup for {name} failed: {other}"),
            },
            DkimFailure::KeyRecord(e) => write!(f, "{e}"),
            DkimFailure::KeyRevoked => f.write_str("key revoked (empty p=)"),
            DkimFailure::KeyTypeMismatch { key, algorithm } => {
                write!(f, "key type k={key} does not fit a={algorithm}")
            }
            DkimFailure::HashNotAllowedByKey(h) => write!(f, "key h= does not allow {}", h.name()),
            DkimFailure::KeyNotForEmail => f.write_str("key s= does not include email"),
            DkimFailure::StrictIdentityMismatch => {
                f.write_str("key has t=s but i= is in a subdomain of d=")
            }
            DkimFailure::GranularityMismatch => {
                f.write_str("key g= does not match the i= local-part")
            }
            DkimFailure::KeyTooShort { bits } => {
                write!(
                    f,
                    "RSA key of {bits} bits is too short (RFC 8301 requires 1024)"
                )
            }
            DkimFailure::KeyTooLong { bits } => write!(
                f,
                "RSA key of {bits} bits is longer than the {} this verifier handles",
                crate::crypto::MAX_RSA_BITS
            ),
            DkimFailure::BodyLengthExceedsBody { length, body } => {
                write!(f, "l={length} is longer than the {body}-octet body")
            }
            DkimFailure::BodyHashMismatch {
                headers_intact: true,
            } => f.write_str("body hash mismatch (body changed; signed headers intact)"),
            DkimFailure::BodyHashMismatch {
                headers_intact: false,
            } => f.write_str("body hash mismatch (signed headers changed too)"),
            DkimFailure::SignatureMismatch => {
                f.write_str("signature mismatch (a signed header changed; body intact)")
            }
            DkimFailure::Sha1Signature => {
                f.write_str("rsa-sha1 signature verifies, but RFC 8301 forbids rsa-sha1")
            }
        }
    }
}

/// Something worth knowing about a signature that does not change its result.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DkimWarning {
    /// The key record has `t=y`: the domain is testing DKIM.
    TestingMode,
    /// `l=` leaves part of the body unsigned: anyone could have added it.
    UnsignedBodyContent {
        /// Octets covered.
        signed: u64,
        /// Canonical body length.
        total: u64,
    },
    /// An RSA key under [`VerifyConfig::weak_rsa_bits`].
    WeakKey {
        /// The key size.
        bits: usize,
    },
    /// `t=` is later than now plus the clock skew: the signer's clock is fast.
    FutureTimestamp {
        /// The `t=` value.
        timestamp: u64,
    },
    /// A field that should be signed ([`SHOULD_BE_SIGNED`]) is in the message but not in
    /// `h=`: anyone could have added or changed it.
    UnsignedHeader {
        /// The field name as `h=` would list it.
        name: String,
    },
    /// A field that RFC 5322 §3.6 allows only once occurs more often than `h=` signs it: an
    /// unsigned instance was added, and mail readers usually show the top one, which is the
    /// unsigned one (RFC 6376 §8.15). Oversigning prevents this.
    UnsignedHeaderAdded {
        /// The field name.
        name: String,
        /// Instances in the message.
        present: usize,
        /// Instances signed.
        signed: usize,
    },
}

/// Fields RFC 6376 §5.4.1 says signers should sign, and Content-Type, which decides how the
/// body is shown. An unsigned one gets a [`DkimWarning::UnsignedHeader`].
pub const SHOULD_BE_SIGNED: &[&str] = &[
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Resent-Date",
    "Resent-From",
    "Resent-To",
    "Resent-Cc",
    "In-Reply-To",
    "References",
    "List-Id",
    "List-Help",
    "List-Unsubscribe",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
    "Content-Type",
];

/// Fields RFC 5322 §3.6 allows at most once; more instances than signed get a
/// [`DkimWarning::UnsignedHeaderAdded`].
pub const SINGLE_INSTANCE: &[&str] = &[
    "Date",
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Subject",
];

/// The warnings about what `sig` leaves unsigned in `headers`: fields that should be signed
/// and are not, and single-instance fields with more copies than `h=` signs.
pub fn coverage_warnings(headers: &Headers, sig: &Signature) -> Vec<DkimWarning> {
    // How many of each listed name the header has and `h=` signs: one pass over the fields
    // and one over `h=` (this runs for every signature, so no name is searched for twice).
    let mut present = Tally::default();
    let mut signed = Tally::default();
    for field in headers.fields() {
        present.add(field.name().as_bytes());
    }
    for name in &sig.signed_headers {
        signed.add(name.as_bytes());
    }
    let mut warnings = Vec::new();
    for (i, name) in SINGLE_INSTANCE.iter().enumerate() {
        let (present, signed) = (present.single[i], signed.single[i]);
        if signed > 0 && present > signed {
            warnings.push(DkimWarning::UnsignedHeaderAdded {
                name: (*name).to_string(),
                present,
                signed,
            });
        }
    }
    for (i, name) in SHOULD_BE_SIGNED.iter().enumerate() {
        if signed.should[i] == 0 && present.should[i] > 0 {
            warnings.push(DkimWarning::UnsignedHeader {
                name: (*name).to_string(),
            });
        }
    }
    warnings
}

/// Counts of the names of [`SINGLE_INSTANCE`] and [`SHOULD_BE_SIGNED`], by position.
#[derive(Default)]
struct Tally {
    single: [usize; SINGLE_INSTANCE.len()],
    should: [usize; SHOULD_BE_SIGNED.len()],
}

impl Tally {
    fn add(&mut self, name: &[u8]) {
        if let Some(i) = listed(SINGLE_INSTANCE, name) {
            self.single[i] += 1;
        }
        if let Some(i) = listed(SHOULD_BE_SIGNED, name) {
            self.should[i] += 1;
        }
    }
}

/// Where `name` is in `list`, letter case ignored (lengths compared first: most differ).
fn listed(list: &[&str], name: &[u8]) -> Option<usize> {
    list.iter()
        .position(|n| n.len() == name.len() && n.as_bytes().eq_ignore_ascii_case(name))
}

impl fmt::Display for DkimWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DkimWarning::TestingMode => f.write_str("key is in testing mode (t=y)"),
            DkimWarning::UnsignedBodyContent { signed, total } => write!(
                f,
                "l= signs {signed} of {total} body octets; the rest is unsigned"
            ),
            DkimWarning::WeakKey { bits } => {
                write!(f, "RSA key of {bits} bits; 2048 is recommended")
            }
            DkimWarning::FutureTimestamp { timestamp } => {
                write!(
                    f,
                    "t={timestamp} is in the future: the signer's clock is fast"
                )
            }
            DkimWarning::UnsignedHeader { name } => {
                write!(f, "{name} is not signed: it may have been added or changed")
            }
            DkimWarning::UnsignedHeaderAdded {
                name,
                present,
                signed,
            } => write!(
                f,
                "{present} {name} fields but {signed} signed: an unsigned {name} was added"
            ),
        }
    }
}

/// What was learnt of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The name queried (`selector._domainkey.domain`).
    pub name: String,
    /// The CNAME targets followed from `name`, in order; the last one holds the record.
    /// Empty when the record is at `name` itself.
    pub aliases: Vec<String>,
    /// `k=`.
    pub key_type: KeyType,
    /// Key size; `None` for a revoked key.
    pub bits: Option<usize>,
    /// `t=y`.
    pub testing: bool,
}

impl KeyInfo {
    /// What `key`, found at `name` through `aliases`, tells of itself.
    pub(crate) fn new(name: &str, aliases: &[String], key: &KeyRecord) -> KeyInfo {
        KeyInfo {
            name: name.to_string(),
            aliases: aliases.to_vec(),
            key_type: key.key_type,
            bits: key.key_bits(),
            testing: key.testing,
        }
    }
}

/// A DKIM-Signature field as the verifier read it.
// The common variant is the large one: boxing it would allocate for every signature that
// parses to save room in the rare one that does not.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureField {
    /// It parsed.
    Parsed(Signature),
    /// It did not parse ([`DkimResult::failure`] says why): its tags as written, or `None`
    /// when the field is not even a tag list.
    Unparsed(Option<TagList>),
}

/// The result for one DKIM-Signature.
///
/// Nothing here is stored twice: the result word comes from the failure
/// ([`verdict`](Self::verdict)), and the tags shown in reports (`d=`, `s=`, `header.b`) come
/// from the signature, parsed or not ([`tag`](Self::tag)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimResult {
    /// Why it is not `pass`; `None` for pass.
    pub failure: Option<DkimFailure>,
    /// The signature, or its tags as written when it did not parse.
    pub signature: SignatureField,
    /// The key, when it was fetched and parsed.
    pub key: Option<KeyInfo>,
    /// Notes that do not change the verdict.
    pub warnings: Vec<DkimWarning>,
    /// Index of the DKIM-Signature among all header fields (0 = top).
    pub field_index: usize,
}

/// The results for a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verification {
    /// One result per verified signature, top first. Empty: the message is unsigned
    /// (RFC 8601 `none`).
    pub results: Vec<DkimResult>,
    /// Signatures not verified because of [`VerifyConfig::max_signatures`].
    pub skipped: usize,
}

impl Verification {
    /// True when there is at least one signature and every verified one passed.
    pub fn all_pass(&self) -> bool {
        !self.results.is_empty()
            && self
                .results
                .iter()
                .all(|r| r.verdict() == DkimVerdict::Pass)
    }
}

type HasherKey = (CanonicalizationAlgorithm, HashAlgorithm, Option<u64>);

/// A key record fetched for a message and the CNAME targets that led to it, or why not.
impl DkimResult {
    /// The RFC 8601 result word: `pass` without a failure, else the failure's word.
    pub fn verdict(&self) -> DkimVerdict {
        self.failure
            .as_ref()
            .map_or(DkimVerdict::Pass, DkimFailure::verdict)
    }

    /// The signature, when it parsed.
    pub fn parsed_signature(&self) -> Option<&Signature> {
        match &self.signature {
            SignatureField::Parsed(signature) => Some(signature),
            SignatureField::Unparsed(_) => None,
        }
    }

    /// The value of tag `name` as written, whether or not the signature parsed.
    pub fn tag(&self, name: &str) -> Option<&str> {
        match &self.signature {
            SignatureField::Parsed(signature) => signature.tags.get(name),
            SignatureField::Unparsed(tags) => tags.as_ref().and_then(|t| t.get(name)),
        }
    }

    /// `d=` as written.
    pub fn domain(&self) -> Option<&str> {
        self.tag("d")
    }

    /// `s=` as written.
    pub fn selector(&self) -> Option<&str> {
        self.tag("s")
    }

    /// `a=` as written.
    pub fn algorithm(&self) -> Option<&str> {
        self.tag("a")
    }

    /// `i=` as written.
    pub fn identity(&self) -> Option<&str> {
        self.tag("i")
    }

    /// The first 8 characters of `b=`, white space removed (RFC 6008 `header.b`), which tell
    /// apart signatures of the same domain and selector.
    pub fn header_b(&self) -> Option<String> {
        self.tag("b").map(|b| crate::message::first_non_ws(b, 8))
    }
}

/// A key record and the CNAME targets that led to it, or why there is none.
pub type FetchedKey = Result<(Arc<KeyRecord>, Vec<String>), DkimFailure>;

struct Entry {
    field_index: usize,
    raw_tags: Option<TagList>,
    parsed: Result<Signature, SignatureError>,
    header_input: Vec<u8>,
    hasher: Option<usize>,
    header_warnings: Vec<DkimWarning>,
}

/// Streaming verifier: [`new`](Self::new) with the header section, [`body`](Self::body)
/// for each chunk, [`finish`](Self::finish) to look up keys and get results.
pub struct Verifier {
    config: VerifyConfig,
    entries: Vec<Entry>,
    hashers: Vec<(HasherKey, BodyHasher)>,
    skipped: usize,
}

impl Verifier {
    /// Reads the DKIM-Signature fields of `headers` and prepares one body hash per distinct
    /// (canonicalization, hash, `l=`) combination.
    pub fn new(headers: &Headers, config: VerifyConfig) -> Verifier {
        let mut entries = Vec::new();
        let mut hashers: Vec<(HasherKey, BodyHasher)> = Vec::new();
        let mut skipped = 0;
        for (field_index, field) in headers.fields().iter().enumerate() {
            if !field.is("DKIM-Signature") {
                continue;
            }
            if entries.len() >= config.max_signatures {
                skipped += 1;
                continue;
            }
            entries.push(Self::entry(headers, field, field_index, &mut hashers));
        }
        Verifier {
            config,
            entries,
            hashers,
            skipped,
        }
    }

    fn entry(
        headers: &Headers,
        field: &HeaderField,
        field_index: usize,
        hashers: &mut Vec<(HasherKey, BodyHasher)>,
    ) -> Entry {
        let parsed = Signature::parse(field.value());
        // A parsed signature keeps its tags; only a broken one needs them read again, for
        // the d=, s=, a= and i= shown in its result.
        let raw_tags = match &parsed {
            Ok(_) => None,
            Err(_) => TagList::parse(field.value()).ok(),
        };
        let header_warnings = match &parsed {
            Ok(sig) => coverage_warnings(headers, sig),
            Err(_) => Vec::new(),
        };
        let (header_input, hasher) = match &parsed {
            Ok(sig) => {
                let key = (
                    sig.canonicalization.body,
                    sig.algorithm.hash(),
                    sig.body_length,
                );
                let index = match hashers.iter().position(|(k, _)| *k == key) {
                    Some(i) => i,
                    None => {
                        hashers.push((key, BodyHasher::new(key.0, key.1, key.2)));
                        hashers.len() - 1
                    }
                };
                (header_hash_input(headers, field, sig), Some(index))
            }
            Err(_) => (Vec::new(), None),
        };
        Entry {
            field_index,
            raw_tags,
            parsed,
            header_input,
            hasher,
            header_warnings,
        }
    }

    /// True when the message has DKIM-Signature fields to verify.
    pub fn has_signatures(&self) -> bool {
        !self.entries.is_empty()
    }

    /// Hashes the next body chunk (CRLF line ends).
    pub fn body(&mut self, chunk: &[u8]) {
        for (_, hasher) in &mut self.hashers {
            hasher.push(chunk);
        }
    }

    /// Finishes the body, fetches the keys through `lookup` (each name once) and verifies.
    /// `now` is the current time in Unix seconds.
    pub async fn finish<L: Lookup + ?Sized>(self, lookup: &L, now: u64) -> Verification {
        let body_hashes: Vec<BodyHash> =
            self.hashers.into_iter().map(|(_, h)| h.finish()).collect();
        // Every key the signatures need, fetched together: ten signatures pointing at slow
        // key servers cost one DNS wait, not ten in a row.
        let mut names: Vec<String> = Vec::new();
        // For each entry, which of `names` holds its key (none when it failed before).
        let mut key_of: Vec<Option<usize>> = Vec::with_capacity(self.entries.len());
        for entry in &self.entries {
            let index = match &entry.parsed {
                Ok(sig) if time_checks(&self.config, sig, now).is_ok() => {
                    let name = sig.key_name();
                    Some(match names.iter().position(|n| *n == name) {
                        Some(index) => index,
                        None => {
                            names.push(name);
                            names.len() - 1
                        }
                    })
                }
                _ => None,
            };
            key_of.push(index);
        }
        let fetched = match &names[..] {
            [] => Vec::new(),
            [one] => vec![fetch_key(lookup, one).await],
            _ => join_all(names.iter().map(|n| fetch_key(lookup, n)).collect()).await,
        };
        let mut results = Vec::with_capacity(self.entries.len());
        for (entry, key) in self.entries.into_iter().zip(key_of) {
            let key = key.map(|index| (names[index].as_str(), &fetched[index]));
            let mut result = DkimResult {
                failure: None,
                signature: SignatureField::Unparsed(None),
                key: None,
                warnings: Vec::new(),
                field_index: entry.field_index,
            };
            match entry.parsed {
                Err(e) => {
                    result.failure = Some(DkimFailure::Signature(e));
                    result.signature = SignatureField::Unparsed(entry.raw_tags);
                }
                Ok(sig) => {
                    let body = entry.hasher.and_then(|i| body_hashes.get(i));
                    let outcome = check_signature(
                        &self.config,
                        &sig,
                        &entry.header_input,
                        body,
                        now,
                        key,
                        &mut result,
                    );
                    if outcome.is_ok() {
                        result.warnings.extend(entry.header_warnings);
                    }
                    result.failure = outcome.err();
                    result.signature = SignatureField::Parsed(sig);
                }
            }
            results.push(result);
        }
        Verification {
            results,
            skipped: self.skipped,
        }
    }
}

/// Fetches and parses the key at `name`: the first record that parses wins (RFC 6376
/// §3.6.2.2 lets verifiers pick; a CNAME-delegated selector arrives here already followed).
/// Returns the record and the CNAME targets that led to it.
///
/// A key is parsed once for as long as the lookup keeps its record
/// ([`TxtRecord::dkim_key`](crate::dns::TxtRecord::dkim_key)).
pub async fn fetch_key<L: Lookup + ?Sized>(lookup: &L, name: &str) -> FetchedKey {
    let answer = lookup
        .txt(name)
        .await
        .map_err(|error| DkimFailure::KeyUnavailable {
            name: name.to_string(),
            error,
        })?;
    let mut first_error = None;
    for record in answer.records.iter() {
        match record.dkim_key() {
            Ok(key) => return Ok((key, answer.aliases)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(match first_error {
        Some(e) => DkimFailure::KeyRecord(e),
        None => DkimFailure::KeyUnavailable {
            name: name.to_string(),
            error: DnsError::NoRecords,
        },
    })
}

/// The checks of `t=` and `x=` against `now` (RFC 6376 §6.1.1), which need no DNS: a
/// failure, or a warning for a timestamp in the future that is only noted.
fn time_checks(
    config: &VerifyConfig,
    sig: &Signature,
    now: u64,
) -> Result<Option<DkimWarning>, DkimFailure> {
    if let Some(x) = sig.expiration {
        if now > x.saturating_add(config.clock_skew) {
            return Err(DkimFailure::Expired { expiration: x });
        }
    }
    if let Some(t) = sig.timestamp {
        if t > now.saturating_add(config.clock_skew) {
            if config.reject_future_timestamps {
                return Err(DkimFailure::TimestampInFuture { timestamp: t });
            }
            return Ok(Some(DkimWarning::FutureTimestamp { timestamp: t }));
        }
    }
    Ok(None)
}

/// Verifies one parsed signature with the keys fetched for the message. ARC-Message-Signature
/// fields are verified by the same function (RFC 8617 §4.1.2).
pub(crate) fn check_signature(
    config: &VerifyConfig,
    sig: &Signature,
    header_input: &[u8],
    body: Option<&BodyHash>,
    now: u64,
    key: Option<(&str, &FetchedKey)>,
    result: &mut DkimResult,
) -> Result<(), DkimFailure> {
    // RFC 6376 §6.1.1: time checks need no DNS.
    if let Some(warning) = time_checks(config, sig, now)? {
        result.warnings.push(warning);
    }
    // §6.1.2: the key, fetched before with every other key of the message.
    let (name, key, aliases) = match key {
        Some((name, Ok((key, aliases)))) => (name, key, aliases),
        Some((_, Err(e))) => return Err(e.clone()),
        // Only an entry that failed its time checks has no key, and those return above.
        None => {
            return Err(DkimFailure::KeyUnavailable {
                name: sig.key_name(),
                error: DnsError::NoRecords,
            })
        }
    };
    result.key = Some(KeyInfo::new(name, aliases, key));
    let public_key = usable_key(config, sig.algorithm, key, &mut result.warnings)?;
    if key.strict_identity {
        if let Some(identity) = &sig.identity {
            if !identity.domain.eq_ignore_case(sig.domain.as_str()) {
                return Err(DkimFailure::StrictIdentityMismatch);
            }
        }
    }
    let local_part = sig.identity.as_ref().map_or("", |i| i.local_part.as_str());
    if !key.granularity_allows(local_part) {
        return Err(DkimFailure::GranularityMismatch);
    }
    // §6.1.3: body hash, then the header signature.
    let body = body.ok_or(DkimFailure::BodyHashMismatch {
        headers_intact: false,
    })?;
    if let Some(length) = sig.body_length {
        if length > body.total {
            return Err(DkimFailure::BodyLengthExceedsBody {
                length,
                body: body.total,
            });
        }
        if length < body.total {
            result.warnings.push(DkimWarning::UnsignedBodyContent {
                signed: length,
                total: body.total,
            });
        }
    }
    let headers_intact = public_key.verify(sig.algorithm.hash(), header_input, &sig.signature);
    if body.digest != sig.body_hash {
        return Err(DkimFailure::BodyHashMismatch { headers_intact });
    }
    if !headers_intact {
        return Err(DkimFailure::SignatureMismatch);
    }
    if sig.algorithm == SigningAlgorithm::RsaSha1 {
        return Err(DkimFailure::Sha1Signature);
    }
    Ok(())
}

/// The checks of a key record against the algorithm that uses it (RFC 6376 §6.1.2, RFC
/// 8301 §3.2), shared by DKIM-Signature, ARC-Message-Signature and ARC-Seal: not revoked,
/// `k=`, `h=` and `s=` fit, and an RSA key of a size this verifier accepts. Notes a testing
/// key and a weak one in `warnings`.
pub(crate) fn usable_key<'k>(
    config: &VerifyConfig,
    algorithm: SigningAlgorithm,
    key: &'k KeyRecord,
    warnings: &mut Vec<DkimWarning>,
) -> Result<&'k crate::crypto::PublicKey, DkimFailure> {
    let public_key = key.public_key.as_ref().ok_or(DkimFailure::KeyRevoked)?;
    if key.key_type != algorithm.key_type() {
        return Err(DkimFailure::KeyTypeMismatch {
            key: key.key_type,
            algorithm,
        });
    }
    if !key.allows_hash(algorithm.hash()) {
        return Err(DkimFailure::HashNotAllowedByKey(algorithm.hash()));
    }
    if !key.allows_email() {
        return Err(DkimFailure::KeyNotForEmail);
    }
    if key.testing {
        warnings.push(DkimWarning::TestingMode);
    }
    let bits = public_key.bits();
    if key.key_type == KeyType::Rsa {
        if bits < config.min_rsa_bits.max(1024) {
            return Err(DkimFailure::KeyTooShort { bits });
        }
        if bits > crate::crypto::MAX_RSA_BITS {
            return Err(DkimFailure::KeyTooLong { bits });
        }
        if bits < config.weak_rsa_bits {
            warnings.push(DkimWarning::WeakKey { bits });
        }
    }
    Ok(public_key)
}
