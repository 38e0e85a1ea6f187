//! Relaxed body canonicalization of sixty-four-octet blocks in AVX2, for x86-64 processors
//! that have it (found at run time; the portable [`super::collapse_blocks`] serves the rest).
//!
//! The same plan as the portable path ([`super::plan_block`]), built from two 32-octet
//! compares instead of four 16-octet ones, and written without a branch per run: every white
//! space octet kept is the first of its run, so all of them become spaces in one blend, and
//! each eight octets are packed with one byte shuffle (`pshufb`) looked up by which of them
//! go ([`PACK`]), then stored eight octets at a time at the next free place in `out`.
//!
//! `pulp` checks the processor once and runs the loop with the features enabled, so hanko
//! stays free of `unsafe`.

use std::arch::x86_64::{__m128i, __m256i};

use pulp::x86::V3;

use super::{below, copy_clean_blocks, plan_block, OpenRun, Unchanged, SCRATCH};

/// Shuffle indices that pack eight octets: for each mask of the eight (bit k set: octet k
/// goes), the indices of the octets kept, in order, then 0x80 (a zero octet) for the rest.
const PACK: [u64; 256] = pack_table(0);

/// [`PACK`] for the upper eight octets of sixteen (each index plus eight).
const PACK_HIGH: [u64; 256] = pack_table(8);

const fn pack_table(offset: u8) -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut mask = 0;
    while mask < 256 {
        let mut indices = [0x80u8; 8];
        let (mut octet, mut kept) = (0, 0);
        while octet < 8 {
            if (mask >> octet) & 1 == 0 {
                indices[kept] = octet as u8 + offset;
                kept += 1;
            }
            octet += 1;
        }
        table[mask] = u64::from_le_bytes(indices);
        mask += 1;
    }
    table
}

/// The AVX2 token when this processor has AVX2 (and the rest of x86-64-v3); checked once,
/// then one atomic load per call.
#[inline(always)]
pub(super) fn available() -> Option<V3> {
    V3::try_new()
}

/// [`super::collapse_runs`] with AVX2: the same contract as [`super::collapse_blocks`], but
/// blocks are taken while sixty-five octets fit (the block and the octet after it).
#[inline(always)]
pub(super) fn collapse_blocks(
    simd: V3,
    chunk: &[u8],
    i: usize,
    out: &mut Vec<u8>,
    unchanged: &mut Vec<Unchanged>,
) -> (usize, bool) {
    simd.vectorize(
        #[inline(always)]
        || collapse(simd, chunk, i, out, unchanged),
    )
}

#[inline(always)]
fn collapse(
    simd: V3,
    chunk: &[u8],
    mut i: usize,
    out: &mut Vec<u8>,
    unchanged: &mut Vec<Unchanged>,
) -> (usize, bool) {
    let (avx, avx2) = (simd.avx, simd.avx2);
    let space = avx._mm256_set1_epi8(b' ' as i8);
    let tab = avx._mm256_set1_epi8(b'\t' as i8);
    let cr = avx._mm256_set1_epi8(b'\r' as i8);
    let bits = |low: __m256i, high: __m256i| {
        u64::from(avx2._mm256_movemask_epi8(low) as u32)
            | u64::from(avx2._mm256_movemask_epi8(high) as u32) << 32
    };
    // The canonical form is written to `out[..written]`; `out` is longer while the loop
    // runs (octets past `written` are scratch, within the capacity the caller reserved: the
    // chunk's length and `SCRATCH`) and cut back to `written` before it returns.
    let mut written = out.len();
    let mut clean_blocks = 0;
    let mut open: Option<OpenRun> = None;
    let mut stopped = false;
    while let Some(Ok(window)) = chunk.get(i..i + 65).map(<&[u8; 65]>::try_from) {
        if clean_blocks == 2 {
            clean_blocks = 0;
            out.truncate(written);
            i = copy_clean_blocks(chunk, i, out, unchanged);
            written = out.len();
            continue;
        }
        let (Some(&low), Some(&high)) =
            (window.first_chunk::<32>(), window[32..].first_chunk::<32>())
        else {
            break;
        };
        let (low, high): (__m256i, __m256i) = (pulp::cast(low), pulp::cast(high));
        let (low_tabs, high_tabs) = (
            avx2._mm256_cmpeq_epi8(low, tab),
            avx2._mm256_cmpeq_epi8(high, tab),
        );
        let low_wsp = avx2._mm256_or_si256(avx2._mm256_cmpeq_epi8(low, space), low_tabs);
        let high_wsp = avx2._mm256_or_si256(avx2._mm256_cmpeq_epi8(high, space), high_tabs);
        let wsp = bits(low_wsp, high_wsp);
        let crs = bits(
            avx2._mm256_cmpeq_epi8(low, cr),
            avx2._mm256_cmpeq_epi8(high, cr),
        );
        let plan = plan_block(window, wsp, crs, open.map(|run| run.after_content));
        // An open run's space is the last octet written while `open` holds it: taken back
        // here when the run is settled, or after the loop when it is left unsettled.
        let before = (open, written);
        if let (true, Some(run)) = (plan.stop_at_open, open) {
            written -= 1;
            (i, stopped) = (run.start, true);
            break;
        }
        if plan.drop_open_space {
            written -= 1;
        }
        // Updated before the stores: 2.5 µs faster per 100 KB verify than after them.
        open = OpenRun::after(open, i, &plan);
        clean_blocks = if plan.dropped | bits(low_tabs, high_tabs) == 0 && open.is_none() {
            clean_blocks + 1
        } else {
            0
        };
        // Every white space octet that stays is the first of its run: a space.
        let low = avx2._mm256_blendv_epi8(low, space, low_wsp);
        let high = avx2._mm256_blendv_epi8(high, space, high_wsp);
        // Scratch room for the block's stores, the octets just past the output: zeros
        // stored here, where the block's stores follow at once, rather than `out` grown ahead
        // (that wrote all of `out` twice: 2 % of a verify).
        out.truncate(written);
        out.extend_from_slice(&[0; SCRATCH]);
        let Some(Ok(to)) = out
            .get_mut(written..written + SCRATCH)
            .map(<&mut [u8; SCRATCH]>::try_from)
        else {
            // Never (the room was just made): as if the block had not been read.
            (open, written) = before;
            break;
        };
        // What goes: the dropped octets and everything from `limit` on.
        let gone = plan.dropped | !below(plan.limit);
        let sixteens: [__m128i; 4] = pulp::cast([low, high]);
        let masks = gone.to_le_bytes();
        for (q, sixteen) in sixteens.into_iter().enumerate() {
            let (first, second) = (2 * q, 2 * q + 1);
            let shuffle = simd.sse2._mm_set_epi64x(
                PACK_HIGH[usize::from(masks[second])] as i64,
                PACK[usize::from(masks[first])] as i64,
            );
            let packed: [u64; 2] = pulp::cast(simd.ssse3._mm_shuffle_epi8(sixteen, shuffle));
            // Each eight goes after the octets kept before it: at most 56, and `& 63` only
            // shows the compiler so.
            for (eight, place) in packed.into_iter().zip([first, second]) {
                let from = (!gone & below(8 * place as u32)).count_ones() as usize & 63;
                to[from..from + 8].copy_from_slice(&eight.to_le_bytes());
            }
        }
        let at = 64 - gone.count_ones() as usize;
        written += at;
        if plan.stopped {
            (i, stopped) = (i + plan.limit as usize, true);
            break;
        }
        i += 64;
    }
    // Too near the end for another block (or out of scratch room, which the caller's
    // reservation rules out): a run still open goes back to be settled after.
    if let (false, Some(run)) = (stopped, open) {
        written -= 1;
        i = run.start;
    }
    out.truncate(written);
    (i, stopped)
}
