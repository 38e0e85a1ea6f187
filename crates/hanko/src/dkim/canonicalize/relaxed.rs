//! Relaxed body canonicalization in blocks of sixty-four octets: bit masks find runs of
//! white space; stretches that cannot change are left in place for the hasher.

use std::ops::Range;

use wide::u8x16;

use super::SCRATCH;

#[cfg(target_arch = "x86_64")]
mod avx2;

/// Whether relaxed canonicalization may change something at `octet`, given the octets
/// either side of it (RFC 6376 §3.4.4): a tab (it becomes a space), or a space before
/// another white space octet or a CR (runs become one space, white space before a line end
/// goes). Everywhere else the body goes out as it is, CRs and line ends included: empty
/// lines are identical in the canonical form unless they end the body, and a run that ends
/// in them hands them back (`BodyCanonicalizer::end_run`).
///
/// A CR after another CR stops too, though nothing changes there (a stop only sends the
/// octet to the slow path): with that third term, over the octet before, the compiler tests
/// sixteen octets in about twenty vector instructions ([`block_stops`]); with only two terms
/// it builds a mix of vector and scalar code several times slower (rustc 1.95, checked in
/// the object code). Written with `&` and `|` rather than `&&` and `||` for the same reason.
#[inline(always)]
pub(super) fn is_stop(prev: u8, octet: u8, next: u8) -> bool {
    (octet == b'\t')
        | ((octet == b' ') & ((next == b' ') | (next == b'\t') | (next == b'\r')))
        | ((octet == b'\r') & (prev == b'\r'))
}

/// [`is_stop`] for the sixteen octets `window[1..17]` (the window holds one octet either
/// side): one octet of the result per octet tested, 1 where it stops. Plain code over arrays
/// that the compiler turns into vector compares (SSE2 on x86-64, NEON on aarch64).
#[inline(always)]
pub(super) fn block_stops(window: &[u8; 18]) -> u128 {
    let mut stops = [0u8; 16];
    for (k, stop) in stops.iter_mut().enumerate() {
        *stop = u8::from(is_stop(window[k], window[k + 1], window[k + 2]));
    }
    u128::from_le_bytes(stops)
}

/// Whether the sixty-four octets `window[..64]` may hold a stop (`window[64]` is the octet
/// after them). A test that marks more than [`is_stop`], for long stretches without any: a
/// tab, or a space before a space or any control character (not only a tab or CR). It has
/// no term over the octet before, and the octets and the octets after them are two arrays,
/// so the compiler loads each sixteen of both once and tests them in about twelve vector
/// instructions, or-ed together and tested once per block (rustc 1.95, checked in the object
/// code: reading `window[k + 1]` instead costs three shifts per sixteen, and the same
/// predicate written into a per-octet result like [`block_stops`] is not vectorized at all).
#[inline(always)]
pub(super) fn block_may_stop(window: &[u8; 65]) -> bool {
    let (Some(octets), Some(nexts)) = (window.first_chunk::<64>(), window.last_chunk::<64>())
    else {
        return true;
    };
    let mut any = 0u8;
    for (&octet, &next) in octets.iter().zip(nexts) {
        any |= u8::from((octet == b'\t') | ((octet == b' ') & (next <= b' ')));
    }
    any != 0
}

/// Stretches at least this long that go out unchanged in relaxed are hashed where they lie
/// (one more call into the hash each), shorter ones are copied.
pub(super) const LEAVE_IN_PLACE: usize = 1024;

/// A stretch of a chunk that goes out unchanged, left where it lies instead of being copied:
/// `chunk[range]` follows the first `at` octets of `out`.
#[derive(Debug, Clone)]
pub(super) struct Unchanged {
    pub(super) at: usize,
    pub(super) range: Range<usize>,
}

/// Calls `each` with the canonical form of `chunk` that
/// [`push_split`](BodyCanonicalizer::push_split) gave, in order: what it wrote to `written`
/// and, in their places between, the stretches of `chunk` it left where they lie.
pub(super) fn in_order(
    written: &[u8],
    chunk: &[u8],
    unchanged: &[Unchanged],
    mut each: impl FnMut(&[u8]),
) {
    let mut from = 0;
    for stretch in unchanged {
        let at = stretch.at.clamp(from, written.len());
        each(&written[from..at]);
        each(chunk.get(stretch.range.clone()).unwrap_or_default());
        from = at;
    }
    each(&written[from..]);
}

/// Passes over `chunk[i..]` sixty-four octets at a time while [`block_may_stop`] finds
/// nothing, and returns where it ended: at the first block that may stop, or too near the end
/// of `chunk` for a block and the octet after it. What it passed over goes out unchanged:
/// copied to `out`, or, when [`LEAVE_IN_PLACE`] octets or more, left where it lies (pushed
/// to `unchanged`) except for any CRs and LFs it ends with, which are copied: the run may end
/// with those line ends, and [`end_run`](BodyCanonicalizer::end_run) takes empty lines back
/// from `out`.
pub(super) fn copy_clean_blocks(
    chunk: &[u8],
    mut i: usize,
    out: &mut Vec<u8>,
    unchanged: &mut Vec<Unchanged>,
) -> usize {
    let start = i;
    while let Some(Ok(window)) = chunk.get(i..i + 65).map(<&[u8; 65]>::try_from) {
        if block_may_stop(window) {
            break;
        }
        i += 64;
    }
    let stretch = &chunk[start..i];
    let line_ends = stretch
        .iter()
        .rev()
        .take_while(|&&octet| octet == b'\r' || octet == b'\n')
        .count();
    let left = stretch.len() - line_ends;
    if left >= LEAVE_IN_PLACE {
        unchanged.push(Unchanged {
            at: out.len(),
            range: start..start + left,
        });
        out.extend_from_slice(&stretch[left..]);
    } else {
        out.extend_from_slice(stretch);
    }
    i
}

/// Bit masks of `block` (bit k for `block[k]`): white space (space or tab), tabs, CRs.
#[inline(always)]
pub(super) fn block_masks(block: &[u8; 64]) -> (u64, u64, u64) {
    let (space, tab, cr) = (u8x16::splat(b' '), u8x16::splat(b'\t'), u8x16::splat(b'\r'));
    let (mut wsp, mut tabs, mut crs) = (0u64, 0u64, 0u64);
    for (q, sixteen) in block.chunks_exact(16).enumerate() {
        let Ok(&array) = <&[u8; 16]>::try_from(sixteen) else {
            continue;
        };
        let octets = u8x16::new(array);
        let is_tab = octets.cmp_eq(tab);
        let bits = |mask: u8x16| u64::from(mask.move_mask() as u16) << (16 * q);
        wsp |= bits(octets.cmp_eq(space) | is_tab);
        tabs |= bits(is_tab);
        crs |= bits(octets.cmp_eq(cr));
    }
    (wsp, tabs, crs)
}

/// The bits of a mask below `n` (all of them from 64).
#[inline(always)]
pub(super) fn below(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1 << n) - 1
    }
}

/// Where the run of set bits of `mask` that holds bit `k` begins.
#[inline(always)]
pub(super) fn run_start(mask: u64, k: u32) -> u32 {
    let clear_below = !mask & below(k);
    64 - clear_below.leading_zeros()
}

/// A run of white space that reached the end of a block and goes on into the next. Its
/// first octet went out as a space, as for any run inside a line; the next block's plan
/// settles it ([`plan_block`]). So each block starts where the one before ended, and the
/// next block's loads never wait for this one's plan.
#[derive(Debug, Clone, Copy)]
pub(super) struct OpenRun {
    /// Where the run starts in the chunk.
    pub(super) start: usize,
    /// Content stands before the run on its line: before CRLF it is trailing white space.
    pub(super) after_content: bool,
}

/// What relaxed canonicalization does with one block of sixty-four octets, decided from its
/// masks by [`plan_block`] (bit k for octet k of the block).
pub(super) struct BlockPlan {
    /// The octets that go: white space after white space (the open run's octets among
    /// them), and runs of trailing white space.
    pub(super) dropped: u64,
    /// The block is done up to here: 64, or where it stops.
    pub(super) limit: u32,
    /// `limit` is a stop the octet-by-octet path must handle: a run of white space before a
    /// bare CR, on a line of its own, or a block of white space only that no open run
    /// explains (the octet before would tell).
    pub(super) stopped: bool,
    /// The open run from the block before is trailing white space: the space written for
    /// it goes too.
    pub(super) drop_open_space: bool,
    /// The open run from the block before must be settled octet by octet (it is before a
    /// bare CR, or on a line of its own): its space goes, and the stop is at its start.
    pub(super) stop_at_open: bool,
    /// The open run goes on through this whole block.
    pub(super) open_goes_on: bool,
    /// The run this block ends with, left open: where it starts in the block, and whether
    /// content stands before it on its line.
    pub(super) opens: Option<(u32, bool)>,
}

/// Plans a block, `window[..64]`, from its white space and CR masks; `window[64]` is the
/// octet after it. `open` is `Some(after_content)` when the block before left a run open
/// ([`OpenRun`]); without one, the octet before the block is not white space, or the block
/// does not start with white space.
///
/// A run before a CR: after content and before CRLF it is trailing white space and goes
/// entirely; before a bare CR, on a line of its own (the caller holds empty lines back), or
/// where the octet before the block would tell, it stops. A run that reaches the end of the
/// block is left open for the next block, which settles it.
#[inline(always)]
pub(super) fn plan_block(window: &[u8; 65], wsp: u64, crs: u64, open: Option<bool>) -> BlockPlan {
    let mut plan = BlockPlan {
        dropped: 0,
        limit: 64,
        stopped: false,
        drop_open_space: false,
        stop_at_open: false,
        open_goes_on: false,
        opens: None,
    };
    // The open run's octets in this block, all of which go.
    let mut continued = 0;
    if let Some(after_content) = open {
        let length = (!wsp).trailing_zeros();
        if length == 64 {
            plan.dropped = u64::MAX;
            plan.open_goes_on = true;
            return plan;
        }
        continued = below(length);
        if (crs >> length) & 1 != 0 {
            // `length` is at most 63: the octet after the CR is in the window.
            if after_content && window[length as usize + 1] == b'\n' {
                plan.drop_open_space = true;
            } else {
                plan.stop_at_open = true;
                plan.stopped = true;
                plan.limit = 0;
                return plan;
            }
        }
    }
    let (mut trailing, mut stop) = (0, 64);
    // `crs >> 1` has no bit 63, so `last` is at most 62. The open run is settled above.
    let mut before_cr = wsp & (crs >> 1) & !continued;
    while before_cr != 0 {
        let last = before_cr.trailing_zeros();
        let first = run_start(wsp, last);
        let line_end = window[last as usize + 2] == b'\n';
        let after_content = first > 0 && window[first as usize - 1] != b'\n';
        if !(line_end && after_content) {
            stop = first;
            break;
        }
        trailing |= below(last + 1) & !below(first);
        before_cr &= before_cr - 1;
    }
    if stop == 64 && wsp >> 63 != 0 {
        match run_start(wsp, 63) {
            // White space only, and no open run to say what came before.
            0 => stop = 0,
            first => plan.opens = Some((first, window[first as usize - 1] != b'\n')),
        }
    }
    let carried = u64::from(open.is_some());
    plan.dropped = ((wsp & ((wsp << 1) | carried)) | trailing) & below(stop);
    plan.limit = stop;
    plan.stopped = stop < 64;
    plan
}

impl OpenRun {
    /// The run left open after a block at `i` with `plan`, given the one open before it.
    #[inline(always)]
    fn after(open: Option<OpenRun>, i: usize, plan: &BlockPlan) -> Option<OpenRun> {
        match plan.opens {
            Some((first, after_content)) => Some(OpenRun {
                start: i + first as usize,
                after_content,
            }),
            None if plan.open_goes_on => open,
            None => None,
        }
    }
}

/// Relaxed canonicalization of `chunk[i..]` sixty-four octets at a time, with bit masks:
/// each run of white space inside a line becomes one space (its first octet, a tab made a
/// space) and each at the end of a line with content goes, without leaving the blocks
/// ([`plan_block`]). Returns where it ended and whether that is a stop the caller must
/// handle or only too near the end of `chunk` for another block (the caller goes on with
/// windows).
///
/// Each block starts where the one before ended, sixty-four octets on, even when that one
/// ends inside a run of white space: the run is left open ([`OpenRun`]) and settled by the
/// next block. Before, a block ended where such a run began and the next started there, so
/// where each block started waited for the plan of the one before (about 18 % of the blocks
/// of the benchmark text end in white space): 3.4 µs of a 100 KB verify.
///
/// On x86-64 with AVX2 (found at run time) [`avx2::collapse_blocks`] does this in wider
/// vectors and packs each block with byte shuffles; elsewhere [`collapse_blocks`] does.
#[inline(always)]
pub(super) fn collapse_runs(
    chunk: &[u8],
    i: usize,
    out: &mut Vec<u8>,
    unchanged: &mut Vec<Unchanged>,
) -> (usize, bool) {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = avx2::available().filter(|_| !super::tests::portable_only()) {
        return avx2::collapse_blocks(simd, chunk, i, out, unchanged);
    }
    collapse_blocks(chunk, i, out, unchanged)
}

/// [`collapse_runs`] in portable 16-octet vectors (SSE2 on x86-64, NEON on aarch64).
///
/// Each kept piece of a block goes to `out` as sixty-four octets from a window of 128, cut
/// back (fixed-size copies, no bounds to check); so blocks are taken only while 128 octets
/// fit. (Gathering the pieces in a small buffer first and appending it whole ran slower:
/// reading back sixty-four octets just written at uneven offsets waits for the stores, 50 %
/// on text with a trailing space on every line.)
///
/// After two blocks in a row with nothing to collapse the text is taken to be of the kind
/// that rarely changes (prose, base64) and goes on under a cheaper test that needs no masks,
/// [`copy_clean_blocks`], until a block may change; text with runs of spaces in every line
/// never gets there, so it never pays for a test that fails.
pub(super) fn collapse_blocks(
    chunk: &[u8],
    mut i: usize,
    out: &mut Vec<u8>,
    unchanged: &mut Vec<Unchanged>,
) -> (usize, bool) {
    let mut clean_blocks = 0;
    let mut open: Option<OpenRun> = None;
    while let Some(Ok(window)) = chunk.get(i..i + 128).map(<&[u8; 128]>::try_from) {
        if clean_blocks == 2 {
            clean_blocks = 0;
            i = copy_clean_blocks(chunk, i, out, unchanged);
            continue;
        }
        let (Some(block), Some(planned)) = (window.first_chunk::<64>(), window.first_chunk())
        else {
            break;
        };
        let (wsp, tabs, crs) = block_masks(block);
        let plan = plan_block(planned, wsp, crs, open.map(|run| run.after_content));
        // An open run's space is the last octet written while `open` holds it: taken back
        // here when the run is settled, or after the loop when it is left unsettled.
        if let (true, Some(run)) = (plan.stop_at_open, open) {
            out.pop();
            return (run.start, true);
        }
        if plan.drop_open_space {
            out.pop();
            open = None;
        }
        let (mut dropped, limit) = (plan.dropped, plan.limit);
        open = OpenRun::after(open, i, &plan);
        clean_blocks = if dropped | tabs == 0 && open.is_none() {
            clean_blocks + 1
        } else {
            0
        };
        // `window[from..to]` goes out; `from` is below 64 unless the piece is empty.
        let base = out.len();
        let mut keep = |from: u32, to: u32| {
            let start = (from & 63) as usize;
            out.extend_from_slice(&window[start..start + 64]);
            out.truncate(out.len() - 64 + to.saturating_sub(from) as usize);
        };
        let mut from = 0;
        while dropped != 0 {
            let first = dropped.trailing_zeros();
            keep(from, first);
            from = (!(dropped | below(first))).trailing_zeros();
            dropped &= !below(from);
        }
        keep(from, limit);
        // A run kept its first octet: where that is a tab, it becomes a space.
        if tabs != 0 {
            let mut first_tabs = tabs & !plan.dropped & below(limit);
            while first_tabs != 0 {
                let k = first_tabs.trailing_zeros();
                let at = base + (k - (plan.dropped & below(k)).count_ones()) as usize;
                if let Some(octet) = out.get_mut(at) {
                    *octet = b' ';
                }
                first_tabs &= first_tabs - 1;
            }
        }
        if plan.stopped {
            return (i + limit as usize, true);
        }
        i += 64;
    }
    // Too near the end for another block: a run still open goes back to be settled after.
    if let Some(run) = open {
        out.pop();
        i = run.start;
    }
    (i, false)
}

/// Copies `chunk[i..]` to `out` up to the first stop: by blocks with bit masks while 128
/// octets fit ([`collapse_blocks`], which also collapses the runs of white space inside a
/// line), then thirty-two and sixteen octets at a time while whole windows fit (one octet
/// either side of those tested). Returns where it ended and whether that is a stop (`false`:
/// too near the end of `chunk` for a window; the caller goes on octet by octet). Without the
/// sixteen-octet loop the compiler builds the first one less well: 10 % more instructions
/// even on text that never reaches the second.
///
/// Each window is copied whole, one vector store, and cut back to the stop; a memcpy per
/// run would cost more than the scan on lines that stop twice or more.
pub(super) fn copy_to_stop(
    chunk: &[u8],
    mut i: usize,
    out: &mut Vec<u8>,
    unchanged: &mut Vec<Unchanged>,
) -> (usize, bool) {
    let stopped;
    (i, stopped) = collapse_runs(chunk, i, out, unchanged);
    if stopped {
        return (i, true);
    }
    while let Some(Ok(window)) = chunk.get(i - 1..i + 33).map(<&[u8; 34]>::try_from) {
        let (Some(low), Some(high)) = (window.first_chunk::<18>(), window.last_chunk::<18>())
        else {
            break;
        };
        let (low, high) = (block_stops(low), block_stops(high));
        out.extend_from_slice(&window[1..33]);
        if low | high == 0 {
            i += 32;
            continue;
        }
        let kept = if low != 0 {
            low.trailing_zeros() / 8
        } else {
            16 + high.trailing_zeros() / 8
        } as usize;
        out.truncate(out.len() - 32 + kept);
        return (i + kept, true);
    }
    while let Some(Ok(window)) = chunk.get(i - 1..i + 17).map(<&[u8; 18]>::try_from) {
        let stops = block_stops(window);
        out.extend_from_slice(&window[1..17]);
        if stops != 0 {
            let kept = (stops.trailing_zeros() / 8) as usize;
            out.truncate(out.len() - 16 + kept);
            return (i + kept, true);
        }
        i += 16;
    }
    (i, false)
}

/// How many CRLFs `octets` ends with.
pub(super) fn trailing_line_ends(octets: &[u8]) -> usize {
    let mut count = 0;
    while octets[..octets.len() - 2 * count].ends_with(b"\r\n") {
        count += 1;
    }
    count
}
