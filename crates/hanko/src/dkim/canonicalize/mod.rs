//! Canonicalization (RFC 6376 §3.4) and the body hash (§3.7).
//!
//! The body canonicalizer is a small state machine over chunks of any size, with memory
//! independent of line length. Relaxed looks at blocks of sixty-four octets through bit masks
//! (`relaxed`): runs of white space inside a line are collapsed in the block, and
//! only a run that ends a line or starts with a tab goes to the octet-by-octet path. Long
//! stretches it does not change at all (prose, base64) are, like a simple body, left where
//! they lie for the body hasher to hash in place.
//!
//! The files: `header` (header fields, the signed-field choice, the header hash input),
//! `body` (the body state machine), `relaxed` (the relaxed blocks, with their AVX2 form in
//! `relaxed/avx2`), `hasher` (the body hash, `l=` included), `tests`.
//!
//! The verifier and signer use all of it; the rest of the world needs it only to test
//! canonicalization itself or to rebuild a body, as the header analyzer's diagnosis does.

mod body;
mod hasher;
mod header;
mod relaxed;
#[cfg(test)]
mod tests;

/// Outside the tests, every processor with AVX2 takes the AVX2 blocks.
#[cfg(not(test))]
mod tests {
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    #[inline(always)]
    pub(super) fn portable_only() -> bool {
        false
    }
}

pub use body::BodyCanonicalizer;
pub use hasher::{BodyHash, BodyHasher};
pub use header::{canonicalize_header, header_hash_input, select_headers, without_b_value};

/// How far past where its output starts a block may write (the AVX2 path stores eight
/// octets at a time, each store starting below 64 octets in: at most 56, as far as the
/// compiler can tell 63).
const SCRATCH: usize = 72;

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}
