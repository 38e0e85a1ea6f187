//! The body hash (RFC 6376 §3.7): canonicalization, `l=` and the running hash together.

use super::body::BodyCanonicalizer;
use super::relaxed::{in_order, Unchanged};
use crate::crypto::{HashAlgorithm, Hasher};
use crate::dkim::CanonicalizationAlgorithm as Algo;

/// Canonicalizes and hashes a body, honouring an `l=` limit, and counts the canonical
/// length so that content past `l=` can be reported.
#[derive(Clone)]
pub struct BodyHasher {
    canonicalizer: BodyCanonicalizer,
    hasher: Hasher,
    limit: Option<u64>,
    hashed: u64,
    total: u64,
    scratch: Vec<u8>,
    /// Where the canonicalizer left stretches of a chunk unchanged (kept for its allocation).
    unchanged: Vec<Unchanged>,
}

/// The result of hashing a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyHash {
    /// The digest of the first `hashed` canonical octets.
    pub digest: Vec<u8>,
    /// Canonical octets hashed (equal to `total` unless `l=` cut the body).
    pub hashed: u64,
    /// Canonical body length.
    pub total: u64,
}

impl BodyHasher {
    /// A hasher for one (canonicalization, hash, length limit) combination.
    pub fn new(algorithm: Algo, hash: HashAlgorithm, limit: Option<u64>) -> Self {
        BodyHasher {
            canonicalizer: BodyCanonicalizer::new(algorithm),
            hasher: Hasher::new(hash),
            limit,
            hashed: 0,
            total: 0,
            scratch: Vec::new(),
            unchanged: Vec::new(),
        }
    }

    /// Hashes `data`, canonical octets, as far as `l=` allows, and counts them.
    fn feed(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        let room = match self.limit {
            Some(limit) => limit.saturating_sub(self.hashed).min(data.len() as u64) as usize,
            None => data.len(),
        };
        if room > 0 {
            self.hasher.update(&data[..room]);
        }
        self.hashed += room as u64;
    }

    /// Hashes the next piece of the body.
    pub fn push(&mut self, chunk: &[u8]) {
        let (mut scratch, mut unchanged) = (
            std::mem::take(&mut self.scratch),
            std::mem::take(&mut self.unchanged),
        );
        scratch.clear();
        unchanged.clear();
        self.canonicalizer
            .push_split(chunk, &mut scratch, &mut unchanged);
        in_order(&scratch, chunk, &unchanged, |piece| self.feed(piece));
        (self.scratch, self.unchanged) = (scratch, unchanged);
    }

    /// Ends the body.
    pub fn finish(mut self) -> BodyHash {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        self.canonicalizer.clone().finish(&mut scratch);
        self.feed(&scratch);
        BodyHash {
            digest: self.hasher.finish(),
            hashed: self.hashed,
            total: self.total,
        }
    }
}
