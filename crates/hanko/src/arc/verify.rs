//! Chain validation (RFC 8617 §5.2), streaming in message order.

use super::fields::{split_aar, tag_instance, ArcFieldKind, InstanceError, Seal, MAX_INSTANCE};
use super::{ArcFailure, ArcResult, ArcSet, ArcSignature, ChainStatus};
use crate::crypto::HashAlgorithm;
use crate::dkim::canonicalize::{
    canonicalize_header, header_hash_input, without_b_value, BodyHash, BodyHasher,
};
use crate::dkim::{
    check_signature, fetch_key, usable_key, CanonicalizationAlgorithm, DkimFailure, DkimResult,
    FetchedKey, KeyInfo, Signature, SignatureError, SignatureField, SignatureKind, VerifyConfig,
};
use crate::dns::Lookup;
use crate::join::join_all;
use crate::message::{HeaderField, Headers, TagList};

/// Chain validation settings. Every field's default is the one [`Default`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArcConfig {
    /// Highest instance accepted. Default: 50, RFC 8617 §4.2.1's limit; lower values bound
    /// the work an attacker's chain costs (each instance is two signatures and up to two key
    /// lookups). A message with more than three ARC fields per allowed instance fails
    /// before any of them is parsed.
    pub max_instances: u32,
    /// How the signatures are checked: the RSA key floor, weak-key warnings, the clock skew
    /// for `t=` and `x=`. Default: [`VerifyConfig::default`], as for DKIM.
    pub signatures: VerifyConfig,
    /// Find the oldest hop from which the message is unchanged ([`ArcResult::oldest_pass`],
    /// RFC 8617 §5.2 step 5, which is optional): one more signature check for each older
    /// ARC-Message-Signature of a chain that validates. Default: on.
    pub oldest_pass: bool,
    /// The message is a header section only (the analyzer's pasted headers): an
    /// ARC-Message-Signature whose signed header fields verify but whose body hash does not
    /// counts as verifying, since the body was never there. Default: off; a receiver of
    /// real mail must never turn it on.
    pub headers_only: bool,
}

impl Default for ArcConfig {
    fn default() -> Self {
        ArcConfig {
            max_instances: MAX_INSTANCE,
            signatures: VerifyConfig::default(),
            oldest_pass: true,
            headers_only: false,
        }
    }
}

type HasherKey = (CanonicalizationAlgorithm, HashAlgorithm, Option<u64>);

/// One set as read from the header section, before any key is fetched.
struct PendingSet {
    instance: u32,
    aar_index: usize,
    aar: String,
    /// The AAR, AMS and AS in relaxed canonical form, each with CRLF: what the seals of
    /// later instances sign of this set (RFC 8617 §5.1.1).
    sealed: Vec<u8>,
    /// The same with the AS's `b=` value cut out and no final CRLF: what this set's own
    /// seal signs of it.
    sealed_unsigned: Vec<u8>,
    ams_index: usize,
    /// The signature, or why not with its tags as written (for the report).
    ams: Result<Signature, (SignatureError, Option<TagList>)>,
    /// What the AMS's signature covers; computed only for the ones that will be checked.
    ams_header_input: Vec<u8>,
    ams_hasher: Option<usize>,
    seal_index: usize,
    seal: Result<Seal, (SignatureError, Option<TagList>)>,
}

impl PendingSet {
    /// The report's two signatures, unchecked, taking the tags along.
    fn into_reports(self) -> (ArcSignature, ArcSignature, usize, String) {
        let seal_tags = match self.seal {
            Ok(seal) => Some(seal.tags),
            Err((_, tags)) => tags,
        };
        let ams_tags = match self.ams {
            Ok(sig) => Some(sig.tags),
            Err((_, tags)) => tags,
        };
        (
            unchecked(self.seal_index, seal_tags),
            unchecked(self.ams_index, ams_tags),
            self.aar_index,
            self.aar,
        )
    }
}

/// Streaming chain validator: [`new`](Self::new) with the header section,
/// [`body`](Self::body) for each chunk, [`finish`](Self::finish) to fetch the keys and
/// validate.
pub struct ArcVerifier {
    config: ArcConfig,
    /// The sets, oldest first; or why the structure is broken; or no ARC field at all.
    chain: Result<Vec<PendingSet>, ArcFailure>,
    hashers: Vec<(HasherKey, BodyHasher)>,
}

impl ArcVerifier {
    /// Reads the ARC fields of `headers`, checks the structure of the chain (steps 1 to 3
    /// of RFC 8617 §5.2) and prepares the body hashes the ARC-Message-Signatures need.
    pub fn new(headers: &Headers, config: ArcConfig) -> ArcVerifier {
        let mut hashers = Vec::new();
        let chain = read_chain(headers, &config, &mut hashers);
        ArcVerifier {
            config,
            chain,
            hashers,
        }
    }

    /// True when the message carries ARC header fields.
    pub fn has_chain(&self) -> bool {
        match &self.chain {
            Ok(sets) => !sets.is_empty(),
            Err(_) => true,
        }
    }

    /// Hashes the next body chunk (CRLF line ends).
    pub fn body(&mut self, chunk: &[u8]) {
        for (_, hasher) in &mut self.hashers {
            hasher.push(chunk);
        }
    }

    /// Finishes the body, fetches the keys through `lookup` (each name once, all at once)
    /// and validates the chain. `now` is the current time in Unix seconds.
    pub async fn finish<L: Lookup + ?Sized>(self, lookup: &L, now: u64) -> ArcResult {
        let pending = match self.chain {
            Ok(sets) if sets.is_empty() => return ArcResult::default(),
            Ok(sets) => sets,
            Err(failure) => {
                return ArcResult {
                    failure: Some(failure),
                    ..ArcResult::default()
                }
            }
        };
        let body_hashes: Vec<BodyHash> =
            self.hashers.into_iter().map(|(_, h)| h.finish()).collect();
        let mut names: Vec<String> = Vec::new();
        for set in &pending {
            let seal_name = set.seal.as_ref().ok().map(Seal::key_name);
            let ams_name = set.ams.as_ref().ok().map(Signature::key_name);
            for name in seal_name.into_iter().chain(ams_name) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        let fetched = join_all(names.iter().map(|n| fetch_key(lookup, n)).collect()).await;
        let keys = Keys {
            names: &names,
            fetched: &fetched,
        };
        Validation {
            config: &self.config,
            keys,
            body_hashes: &body_hashes,
            now,
        }
        .run(pending)
    }
}

/// The keys fetched for a message, by name.
struct Keys<'a> {
    names: &'a [String],
    fetched: &'a [FetchedKey],
}

impl<'a> Keys<'a> {
    fn get(&self, name: &str) -> Option<(&'a str, &'a FetchedKey)> {
        let index = self.names.iter().position(|n| n == name)?;
        Some((self.names[index].as_str(), &self.fetched[index]))
    }
}

/// The checks that need keys: steps 4 and 5 of RFC 8617 §5.2 and the oldest pass.
struct Validation<'a> {
    config: &'a ArcConfig,
    keys: Keys<'a>,
    body_hashes: &'a [BodyHash],
    now: u64,
}

impl Validation<'_> {
    fn run(&self, pending: Vec<PendingSet>) -> ArcResult {
        // What the checks find, per set: (seal, message signature), tags filled in after.
        let mut checked: Vec<(ArcSignature, ArcSignature)> = pending
            .iter()
            .map(|p| (unchecked(p.seal_index, None), unchecked(p.ams_index, None)))
            .collect();
        let failure = self.validate(&pending, &mut checked);
        let oldest_pass = match failure {
            None if self.config.oldest_pass => Some(self.oldest_pass(&pending, &mut checked)),
            _ => None,
        };
        let sets = pending
            .into_iter()
            .zip(checked)
            .map(|(p, (seal_found, ams_found))| {
                let instance = p.instance;
                let (seal, ams, aar_index, aar) = p.into_reports();
                ArcSet {
                    instance,
                    seal: ArcSignature {
                        tags: seal.tags,
                        ..seal_found
                    },
                    message_signature: ArcSignature {
                        tags: ams.tags,
                        ..ams_found
                    },
                    authentication_results_index: aar_index,
                    authentication_results: aar,
                }
            })
            .collect();
        ArcResult {
            sets,
            failure,
            oldest_pass,
        }
    }

    /// Steps 4 and 5: the newest ARC-Message-Signature, then every seal, newest first.
    fn validate(
        &self,
        pending: &[PendingSet],
        checked: &mut [(ArcSignature, ArcSignature)],
    ) -> Option<ArcFailure> {
        let newest = pending.len() - 1;
        let instance = pending[newest].instance;
        if let Err(failure) = self.check_ams(&pending[newest], &mut checked[newest].1) {
            return Some(ArcFailure::MessageSignature { instance, failure });
        }
        for k in (0..pending.len()).rev() {
            if let Err(failure) = self.check_seal(&pending[..=k], &mut checked[k].0) {
                return Some(ArcFailure::Seal {
                    instance: pending[k].instance,
                    failure,
                });
            }
        }
        None
    }

    /// The oldest instance from which every ARC-Message-Signature verifies, the newest
    /// (checked already) included.
    fn oldest_pass(
        &self,
        pending: &[PendingSet],
        checked: &mut [(ArcSignature, ArcSignature)],
    ) -> u32 {
        let mut oldest = pending[pending.len() - 1].instance;
        for k in (0..pending.len() - 1).rev() {
            if self.check_ams(&pending[k], &mut checked[k].1).is_err() {
                break;
            }
            oldest = pending[k].instance;
        }
        oldest
    }

    fn check_ams(&self, set: &PendingSet, report: &mut ArcSignature) -> Result<(), DkimFailure> {
        let outcome = match &set.ams {
            Err((e, _)) => Err(DkimFailure::Signature(e.clone())),
            Ok(sig) => {
                let mut result = DkimResult {
                    failure: None,
                    signature: SignatureField::Unparsed(None),
                    key: None,
                    warnings: Vec::new(),
                    field_index: set.ams_index,
                };
                let body = set.ams_hasher.and_then(|i| self.body_hashes.get(i));
                let key = self.keys.get(&sig.key_name());
                let outcome = check_signature(
                    &self.config.signatures,
                    sig,
                    &set.ams_header_input,
                    body,
                    self.now,
                    key,
                    &mut result,
                );
                report.key = result.key;
                report.warnings = result.warnings;
                match outcome {
                    Err(DkimFailure::BodyHashMismatch {
                        headers_intact: true,
                    }) if self.config.headers_only => Ok(()),
                    other => other,
                }
            }
        };
        report.outcome = Some(outcome.clone().err());
        outcome
    }

    /// Checks the seal of the last set of `sets`, which signs every set up to its own
    /// (RFC 8617 §5.1.1): each set's AAR, AMS and AS in relaxed form, the last AS without
    /// its `b=` value and final CRLF.
    fn check_seal(
        &self,
        sets: &[PendingSet],
        report: &mut ArcSignature,
    ) -> Result<(), DkimFailure> {
        let outcome = self.seal_outcome(sets, report);
        report.outcome = Some(outcome.clone().err());
        outcome
    }

    fn seal_outcome(
        &self,
        sets: &[PendingSet],
        report: &mut ArcSignature,
    ) -> Result<(), DkimFailure> {
        let set = &sets[sets.len() - 1];
        let seal = set
            .seal
            .as_ref()
            .map_err(|(e, _)| DkimFailure::Signature(e.clone()))?;
        let name = seal.key_name();
        // Every parsed seal's key was fetched in `finish`.
        let Some((name, fetched)) = self.keys.get(&name) else {
            return Err(DkimFailure::KeyUnavailable {
                name,
                error: crate::dns::DnsError::NoRecords,
            });
        };
        let (key, aliases) = fetched.as_ref().map_err(Clone::clone)?;
        report.key = Some(KeyInfo::new(name, aliases, key));
        let public_key = usable_key(
            &self.config.signatures,
            seal.algorithm,
            key,
            &mut report.warnings,
        )?;
        let (earlier, _) = sets.split_at(sets.len() - 1);
        let mut input: Vec<u8> = Vec::with_capacity(
            earlier.iter().map(|s| s.sealed.len()).sum::<usize>() + set.sealed_unsigned.len(),
        );
        for s in earlier {
            input.extend_from_slice(&s.sealed);
        }
        input.extend_from_slice(&set.sealed_unsigned);
        if !public_key.verify(seal.algorithm.hash(), &input, &seal.signature) {
            return Err(DkimFailure::SignatureMismatch);
        }
        if seal.algorithm == crate::dkim::SigningAlgorithm::RsaSha1 {
            return Err(DkimFailure::Sha1Signature);
        }
        Ok(())
    }
}

fn unchecked(field_index: usize, tags: Option<TagList>) -> ArcSignature {
    ArcSignature {
        field_index,
        tags,
        outcome: None,
        key: None,
        warnings: Vec::new(),
    }
}

/// The three fields of one instance, as found: each one's index among the header fields,
/// and for the two signatures their tags, parsed once.
#[derive(Default, Clone)]
struct Slots {
    aar: Option<usize>,
    ams: Option<(usize, TagList)>,
    seal: Option<(usize, TagList)>,
}

impl Slots {
    /// Files a field; false when the slot is taken.
    fn file(&mut self, kind: ArcFieldKind, index: usize, tags: Option<TagList>) -> bool {
        let taken = match kind {
            ArcFieldKind::AuthenticationResults => self.aar.replace(index).is_some(),
            ArcFieldKind::MessageSignature => self
                .ams
                .replace((index, tags.unwrap_or_default()))
                .is_some(),
            ArcFieldKind::Seal => self
                .seal
                .replace((index, tags.unwrap_or_default()))
                .is_some(),
        };
        !taken
    }
}

/// Steps 1 to 3 of RFC 8617 §5.2: the sets, complete and numbered 1 to N, each seal's
/// `cv=` fitting its place. An empty list when the message has no ARC field.
fn read_chain(
    headers: &Headers,
    config: &ArcConfig,
    hashers: &mut Vec<(HasherKey, BodyHasher)>,
) -> Result<Vec<PendingSet>, ArcFailure> {
    let fields = headers.fields();
    let arc_fields: Vec<(ArcFieldKind, usize)> = fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| ArcFieldKind::of(f.name()).map(|kind| (kind, i)))
        .collect();
    if arc_fields.is_empty() {
        return Ok(Vec::new());
    }
    let limit = config.max_instances.min(MAX_INSTANCE);
    if arc_fields.len() > 3 * limit as usize {
        return Err(ArcFailure::TooManyFields {
            count: arc_fields.len(),
        });
    }
    let mut slots: Vec<Slots> = Vec::new();
    for &(kind, field_index) in &arc_fields {
        let (instance, tags) =
            field_instance(kind, &fields[field_index]).map_err(|error| ArcFailure::Instance {
                kind,
                field_index,
                error,
            })?;
        if instance > limit {
            return Err(ArcFailure::InstanceAboveLimit { instance });
        }
        let i = instance as usize - 1;
        if slots.len() <= i {
            slots.resize(i + 1, Slots::default());
        }
        if !slots[i].file(kind, field_index, tags) {
            return Err(ArcFailure::Duplicate { kind, instance });
        }
    }
    let newest = slots.len();
    let mut sets = Vec::with_capacity(slots.len());
    for (i, slot) in slots.into_iter().enumerate() {
        let instance = i as u32 + 1;
        let missing = |kind| ArcFailure::Missing { kind, instance };
        let aar = slot
            .aar
            .ok_or(missing(ArcFieldKind::AuthenticationResults))?;
        let ams = slot.ams.ok_or(missing(ArcFieldKind::MessageSignature))?;
        let seal = slot.seal.ok_or(missing(ArcFieldKind::Seal))?;
        // Only the newest AMS is always checked; older ones for the oldest pass.
        let checked = instance as usize == newest || config.oldest_pass;
        sets.push(pending_set(
            headers, instance, aar, ams, seal, checked, hashers,
        ));
    }
    check_chain_status(&sets)?;
    Ok(sets)
}

/// Step 2 and the third condition of step 3: the newest seal does not say `cv=fail`, the
/// first says `none` and every later one `pass`. A seal that does not parse fails here.
fn check_chain_status(sets: &[PendingSet]) -> Result<(), ArcFailure> {
    let seal_of = |set: &PendingSet| match &set.seal {
        Ok(seal) => Ok(seal.chain_status),
        Err((e, _)) => Err(ArcFailure::Seal {
            instance: set.instance,
            failure: DkimFailure::Signature(e.clone()),
        }),
    };
    if let Some(newest) = sets.last() {
        if seal_of(newest)? == ChainStatus::Fail {
            return Err(ArcFailure::MarkedFailed {
                instance: newest.instance,
            });
        }
    }
    for set in sets.iter().rev() {
        let found = seal_of(set)?;
        let expected = if set.instance == 1 {
            ChainStatus::None
        } else {
            ChainStatus::Pass
        };
        if found != expected {
            return Err(ArcFailure::UnexpectedChainStatus {
                instance: set.instance,
                found,
            });
        }
    }
    Ok(())
}

/// A field's instance, and for the two signatures their tags.
fn field_instance(
    kind: ArcFieldKind,
    field: &HeaderField,
) -> Result<(u32, Option<TagList>), InstanceError> {
    match kind {
        ArcFieldKind::AuthenticationResults => split_aar(field.value()).map(|(i, _)| (i, None)),
        ArcFieldKind::MessageSignature | ArcFieldKind::Seal => {
            let tags = TagList::parse_strict(field.value())
                .map_err(|e| InstanceError::NotTagList(e.to_string()))?;
            Ok((tag_instance(&tags)?, Some(tags)))
        }
    }
}

fn pending_set(
    headers: &Headers,
    instance: u32,
    aar_index: usize,
    (ams_index, ams_tags): (usize, TagList),
    (seal_index, seal_tags): (usize, TagList),
    checked: bool,
    hashers: &mut Vec<(HasherKey, BodyHasher)>,
) -> PendingSet {
    let fields = headers.fields();
    let (aar_field, ams_field, seal_field) =
        (&fields[aar_index], &fields[ams_index], &fields[seal_index]);
    let aar = split_aar(aar_field.value())
        .map(|(_, rest)| String::from_utf8_lossy(rest).trim().to_string())
        .unwrap_or_default();
    // A field that does not parse is read again for its tags: the rare path pays, not the
    // common one.
    let tags_again = |field: &HeaderField| TagList::parse_strict(field.value()).ok();

    let ams = Signature::from_tags(ams_tags, SignatureKind::ArcMessage)
        .and_then(|sig| {
            if sig
                .signed_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case("arc-seal"))
            {
                Err(SignatureError::MalformedTag {
                    tag: "h",
                    reason: "an ARC-Message-Signature must not sign ARC-Seal (RFC 8617 §4.1.2)"
                        .into(),
                })
            } else {
                Ok(sig)
            }
        })
        .map_err(|e| (e, tags_again(ams_field)));
    let (ams_header_input, ams_hasher) = match &ams {
        Ok(sig) if checked => {
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
            (header_hash_input(headers, ams_field, sig), Some(index))
        }
        _ => (Vec::new(), None),
    };

    let seal = Seal::from_tags(seal_tags).map_err(|e| (e, tags_again(seal_field)));

    let relaxed = CanonicalizationAlgorithm::Relaxed;
    let mut sealed = Vec::new();
    for raw in [aar_field.raw(), ams_field.raw()] {
        canonicalize_header(relaxed, raw, &mut sealed);
        sealed.extend_from_slice(b"\r\n");
    }
    let mut sealed_unsigned = sealed.clone();
    canonicalize_header(relaxed, seal_field.raw(), &mut sealed);
    sealed.extend_from_slice(b"\r\n");
    canonicalize_header(relaxed, &without_b_value(seal_field), &mut sealed_unsigned);

    PendingSet {
        instance,
        aar_index,
        aar,
        sealed,
        sealed_unsigned,
        ams_index,
        ams,
        ams_header_input,
        ams_hasher,
        seal_index,
        seal,
    }
}
