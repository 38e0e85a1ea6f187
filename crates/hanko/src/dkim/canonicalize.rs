//! Canonicalization (RFC 6376 §3.4) and the body hash (§3.7).
//!
//! The body canonicalizer is a small state machine over chunks of any size, with memory
//! independent of line length. Relaxed looks at blocks of sixty-four octets through bit masks
//! ([`collapse_blocks`]): runs of white space inside a line are collapsed in the block, and
//! only a run that ends a line or starts with a tab goes to the octet-by-octet path. Long
//! stretches it does not change at all (prose, base64) are, like a simple body, left where
//! they lie for the body hasher to hash in place ([`copy_clean_blocks`]).

use std::collections::HashMap;
use std::ops::Range;

use wide::u8x16;

#[cfg(target_arch = "x86_64")]
mod avx2;

use super::{CanonicalizationAlgorithm as Algo, Signature};
use crate::crypto::{HashAlgorithm, Hasher};
use crate::message::{HeaderField, Headers, Tag, TagList};

/// How far past where its output starts a block may write (the AVX2 path stores eight
/// octets at a time, each store starting below 64 octets in: at most 56, as far as the
/// compiler can tell 63).
const SCRATCH: usize = 72;

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Appends the canonical form of one header field to `out`, without a final CRLF.
///
/// - simple (§3.4.1): the field unchanged.
/// - relaxed (§3.4.2): name in lower case; unfold; runs of WSP become one SP; WSP at the end
///   of the value and around the colon removed.
pub fn canonicalize_header(algorithm: Algo, raw: &[u8], out: &mut Vec<u8>) {
    match algorithm {
        Algo::Simple => out.extend_from_slice(raw),
        Algo::Relaxed => {
            let colon = raw.iter().position(|&b| b == b':').unwrap_or(raw.len());
            let name = &raw[..colon];
            let name_end = name.iter().rposition(|&b| !is_wsp(b)).map_or(0, |p| p + 1);
            out.extend(name[..name_end].iter().map(u8::to_ascii_lowercase));
            out.push(b':');
            let mut rest = raw.get(colon + 1..).unwrap_or_default();
            let mut pending_space = false;
            let mut started = false;
            // Runs of octets other than WSP, CR and LF go out whole: CR and LF vanish
            // (unfolding), a run of WSP becomes one SP when text follows it.
            while let Some(&first) = rest.first() {
                if first == b'\r' || first == b'\n' {
                    rest = &rest[1..];
                    continue;
                }
                if is_wsp(first) {
                    pending_space = true;
                    rest = &rest[1..];
                    continue;
                }
                let run = rest
                    .iter()
                    .position(|&b| b <= b' ' && (is_wsp(b) || b == b'\r' || b == b'\n'))
                    .unwrap_or(rest.len());
                if pending_space && started {
                    out.push(b' ');
                }
                pending_space = false;
                started = true;
                out.extend_from_slice(&rest[..run]);
                rest = &rest[run..];
            }
        }
    }
}

/// Selects the fields named in `h=` from the bottom up (RFC 6376 §5.4.2): each occurrence
/// of a name takes the next-lower unused instance; a name with no instance left adds
/// nothing (that is how oversigning protects against added fields).
///
/// Linear in the fields plus the names: a message's usual dozen names are matched by
/// scanning, and past 4,096 compares the fields are indexed by name once, so a
/// signature listing thousands of names over a thousand fields costs no more than reading
/// them.
pub fn select_headers<'h>(headers: &'h [HeaderField], names: &[String]) -> Vec<&'h HeaderField> {
    let mut selected = Vec::with_capacity(names.len().min(headers.len()));
    if names.len().saturating_mul(headers.len()) <= SCAN_WORK {
        let mut used = vec![false; headers.len()];
        for name in names {
            let found = (0..headers.len())
                .rev()
                .find(|&i| !used[i] && headers[i].is(name));
            if let Some(i) = found {
                used[i] = true;
                selected.push(&headers[i]);
            }
        }
        return selected;
    }
    // Each name's fields, top first; taken from the end, so bottom up.
    let mut by_name: HashMap<String, Vec<&'h HeaderField>> = HashMap::new();
    for field in headers {
        by_name
            .entry(field.name().to_ascii_lowercase())
            .or_default()
            .push(field);
    }
    for name in names {
        if let Some(field) = by_name
            .get_mut(&name.to_ascii_lowercase())
            .and_then(Vec::pop)
        {
            selected.push(field);
        }
    }
    selected
}

/// Most name-against-field compares [`select_headers`] makes by scanning before it indexes
/// the fields by name instead.
const SCAN_WORK: usize = 4096;

/// The raw DKIM-Signature field with the value of `b=` (and the white space around it)
/// deleted, as the header hash covers it (RFC 6376 §3.7).
pub fn without_b_value(field: &HeaderField) -> Vec<u8> {
    let b = TagList::parse(field.value())
        .ok()
        .and_then(|t| t.tag("b").cloned());
    cut_b_value(field, b.as_ref())
}

/// `field`'s raw octets with `b`'s raw value cut out (all of them when there is no `b`).
fn cut_b_value(field: &HeaderField, b: Option<&Tag>) -> Vec<u8> {
    let raw = field.raw();
    let offset = field.value_offset();
    match b {
        Some(tag) => {
            let mut out = raw[..offset + tag.raw_value_span.start].to_vec();
            out.extend_from_slice(&raw[offset + tag.raw_value_span.end..]);
            out
        }
        None => raw.to_vec(),
    }
}

/// The octets the header signature covers (RFC 6376 §3.7): each selected field in canonical
/// form with CRLF, then the DKIM-Signature field itself with `b=` emptied and no final CRLF.
pub fn header_hash_input(
    headers: &Headers,
    signature_field: &HeaderField,
    signature: &Signature,
) -> Vec<u8> {
    let algorithm = signature.canonicalization.header;
    let selected = select_headers(headers.fields(), &signature.signed_headers);
    // Canonical forms are never longer than the raw fields: one allocation.
    let room = selected.iter().map(|f| f.raw().len() + 2).sum::<usize>();
    let mut out = Vec::with_capacity(room + signature_field.raw().len());
    for field in selected {
        canonicalize_header(algorithm, field.raw(), &mut out);
        out.extend_from_slice(b"\r\n");
    }
    // The signature's own tags say where b= is when they were read from this field (as the
    // verifier's always are); otherwise the field is read again.
    let b = signature
        .tags
        .tag("b")
        .filter(|b| signature_field.value().get(b.value_span.clone()) == Some(b.value.as_bytes()));
    let unsigned = match b {
        Some(b) if signature_field.value().len() >= b.raw_value_span.end => {
            cut_b_value(signature_field, Some(b))
        }
        _ => without_b_value(signature_field),
    };
    canonicalize_header(algorithm, &unsigned, &mut out);
    out
}

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
fn is_stop(prev: u8, octet: u8, next: u8) -> bool {
    (octet == b'\t')
        | ((octet == b' ') & ((next == b' ') | (next == b'\t') | (next == b'\r')))
        | ((octet == b'\r') & (prev == b'\r'))
}

/// [`is_stop`] for the sixteen octets `window[1..17]` (the window holds one octet either
/// side): one octet of the result per octet tested, 1 where it stops. Plain code over arrays
/// that the compiler turns into vector compares (SSE2 on x86-64, NEON on aarch64).
#[inline(always)]
fn block_stops(window: &[u8; 18]) -> u128 {
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
fn block_may_stop(window: &[u8; 65]) -> bool {
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
const LEAVE_IN_PLACE: usize = 1024;

/// A stretch of a chunk that goes out unchanged, left where it lies instead of being copied:
/// `chunk[range]` follows the first `at` octets of `out`.
#[derive(Debug, Clone)]
struct Unchanged {
    at: usize,
    range: Range<usize>,
}

/// Calls `each` with the canonical form of `chunk` that
/// [`push_split`](BodyCanonicalizer::push_split) gave, in order: what it wrote to `written`
/// and, in their places between, the stretches of `chunk` it left where they lie.
fn in_order(written: &[u8], chunk: &[u8], unchanged: &[Unchanged], mut each: impl FnMut(&[u8])) {
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
fn copy_clean_blocks(
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
fn block_masks(block: &[u8; 64]) -> (u64, u64, u64) {
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
fn below(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1 << n) - 1
    }
}

/// Where the run of set bits of `mask` that holds bit `k` begins.
#[inline(always)]
fn run_start(mask: u64, k: u32) -> u32 {
    let clear_below = !mask & below(k);
    64 - clear_below.leading_zeros()
}

/// A run of white space that reached the end of a block and goes on into the next. Its
/// first octet went out as a space, as for any run inside a line; the next block's plan
/// settles it ([`plan_block`]). So each block starts where the one before ended, and the
/// next block's loads never wait for this one's plan.
#[derive(Debug, Clone, Copy)]
struct OpenRun {
    /// Where the run starts in the chunk.
    start: usize,
    /// Content stands before the run on its line: before CRLF it is trailing white space.
    after_content: bool,
}

/// What relaxed canonicalization does with one block of sixty-four octets, decided from its
/// masks by [`plan_block`] (bit k for octet k of the block).
struct BlockPlan {
    /// The octets that go: white space after white space (the open run's octets among
    /// them), and runs of trailing white space.
    dropped: u64,
    /// The block is done up to here: 64, or where it stops.
    limit: u32,
    /// `limit` is a stop the octet-by-octet path must handle: a run of white space before a
    /// bare CR, on a line of its own, or a block of white space only that no open run
    /// explains (the octet before would tell).
    stopped: bool,
    /// The open run from the block before is trailing white space: the space written for
    /// it goes too.
    drop_open_space: bool,
    /// The open run from the block before must be settled octet by octet (it is before a
    /// bare CR, or on a line of its own): its space goes, and the stop is at its start.
    stop_at_open: bool,
    /// The open run goes on through this whole block.
    open_goes_on: bool,
    /// The run this block ends with, left open: where it starts in the block, and whether
    /// content stands before it on its line.
    opens: Option<(u32, bool)>,
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
fn plan_block(window: &[u8; 65], wsp: u64, crs: u64, open: Option<bool>) -> BlockPlan {
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
fn collapse_runs(
    chunk: &[u8],
    i: usize,
    out: &mut Vec<u8>,
    unchanged: &mut Vec<Unchanged>,
) -> (usize, bool) {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = avx2::available().filter(|_| !tests::portable_only()) {
        return avx2::collapse_blocks(simd, chunk, i, out, unchanged);
    }
    collapse_blocks(chunk, i, out, unchanged)
}

/// Outside the tests, every processor with AVX2 takes [`avx2::collapse_blocks`].
#[cfg(not(test))]
mod tests {
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    #[inline(always)]
    pub(super) fn portable_only() -> bool {
        false
    }
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
fn collapse_blocks(
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
fn copy_to_stop(
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
fn trailing_line_ends(octets: &[u8]) -> usize {
    let mut count = 0;
    while octets[..octets.len() - 2 * count].ends_with(b"\r\n") {
        count += 1;
    }
    count
}

/// Streaming body canonicalization (RFC 6376 §3.4.3, §3.4.4).
///
/// A line end after content goes out at once; empty lines are held back as a count and
/// written only when content follows, so trailing empty lines vanish without buffering them.
#[derive(Debug, Clone)]
pub struct BodyCanonicalizer {
    algorithm: Algo,
    /// Empty lines seen but not yet written.
    pending_crlf: u64,
    /// A CR was seen as the last octet; it may start a CRLF.
    pending_cr: bool,
    /// Relaxed: white space seen since the last written octet of this line.
    pending_wsp: bool,
    /// Content has been written on the current line (its line end is owed).
    line_has_content: bool,
    /// Anything at all has been written.
    wrote_any: bool,
}

impl BodyCanonicalizer {
    /// A canonicalizer at the start of a body.
    pub fn new(algorithm: Algo) -> Self {
        BodyCanonicalizer {
            algorithm,
            pending_crlf: 0,
            pending_cr: false,
            pending_wsp: false,
            line_has_content: false,
            wrote_any: false,
        }
    }

    /// Writes what is owed before content: the held-back empty lines when this is the
    /// first content of a line, and a space for white space seen before it.
    fn owe(&mut self, out: &mut Vec<u8>) {
        if !self.line_has_content {
            for _ in 0..self.pending_crlf {
                out.extend_from_slice(b"\r\n");
            }
            self.pending_crlf = 0;
            self.line_has_content = true;
        }
        if self.pending_wsp {
            out.push(b' ');
            self.pending_wsp = false;
        }
        self.wrote_any = true;
    }

    /// Writes `run`, octets that are content as they are (in relaxed no white space), after
    /// whatever is owed. `run` does not end in CRLF.
    fn content(&mut self, run: &[u8], out: &mut Vec<u8>) {
        self.owe(out);
        out.extend_from_slice(run);
    }

    /// A line ends: its CRLF goes out if the line has content, else it is held back.
    fn end_line(&mut self, out: &mut Vec<u8>) {
        if self.line_has_content {
            out.extend_from_slice(b"\r\n");
            self.line_has_content = false;
        } else {
            self.pending_crlf += 1;
        }
        self.pending_wsp = false;
    }

    /// Appends the canonical form of `chunk` to `out` (as far as it is decided yet).
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let (mut written, mut unchanged) = (Vec::new(), Vec::new());
        self.push_split(chunk, &mut written, &mut unchanged);
        in_order(&written, chunk, &unchanged, |piece| {
            out.extend_from_slice(piece)
        });
    }

    /// [`push`](Self::push) without copying what goes out unchanged: appends to `out` what
    /// must be written and to `unchanged` the stretches of `chunk` that go between, as they
    /// are, in order. Simple: one stretch, after what was owed from before `chunk`. Relaxed:
    /// the long stretches that [`copy_clean_blocks`] finds. The body hasher hashes them where
    /// they lie, so a simple body, and the base64 and prose of a relaxed one, are not copied.
    fn push_split(&mut self, chunk: &[u8], out: &mut Vec<u8>, unchanged: &mut Vec<Unchanged>) {
        if self.algorithm == Algo::Relaxed {
            // Relaxed copies whole windows of the chunk and cuts them back, so the output is
            // at most the chunk and what is owed from before it (a CR, a space; held-back
            // empty lines aside), and the AVX2 blocks write up to 72 octets past where they
            // are ([`SCRATCH`]): reserved here, so that `out` never moves mid-chunk.
            out.reserve(chunk.len() + 2 + SCRATCH);
            self.push_relaxed(chunk, out, unchanged);
        } else {
            let range = self.push_simple(chunk, out);
            if !range.is_empty() {
                unchanged.push(Unchanged {
                    at: out.len(),
                    range,
                });
            }
        }
    }

    /// Settles a CR held back at the end of the previous chunk: with an LF first in `chunk`
    /// it ends a line, else it is content. Returns how many octets of `chunk` it used.
    fn take_pending_cr(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> usize {
        if !self.pending_cr || chunk.is_empty() {
            return 0;
        }
        self.pending_cr = false;
        if chunk[0] == b'\n' {
            self.end_line(out);
            1
        } else {
            self.content(b"\r", out);
            0
        }
    }

    /// Relaxed (RFC 6376 §3.4.4). Between the places [`is_stop`] marks, the body goes out as
    /// it is, line ends included; those places (a run of white space, a CR) are handled one
    /// at a time.
    fn push_relaxed(&mut self, chunk: &[u8], out: &mut Vec<u8>, unchanged: &mut Vec<Unchanged>) {
        let mut i = self.take_pending_cr(chunk, out);
        while let Some(&octet) = chunk.get(i) {
            match octet {
                b' ' | b'\t' => {
                    self.pending_wsp = true;
                    i += 1;
                    while chunk.get(i).is_some_and(|&b| is_wsp(b)) {
                        i += 1;
                    }
                }
                b'\r' => match chunk.get(i + 1) {
                    None => {
                        self.pending_cr = true;
                        i += 1;
                    }
                    Some(b'\n') => {
                        self.end_line(out);
                        i += 2;
                    }
                    Some(_) => {
                        self.content(b"\r", out);
                        i += 1;
                    }
                },
                _ => i = self.relaxed_run(chunk, i, out, unchanged),
            }
        }
    }

    /// Copies the run of `chunk` that starts at `start` (content, neither white space nor
    /// a CR) up to the next stop, and returns where it ended.
    fn relaxed_run(
        &mut self,
        chunk: &[u8],
        start: usize,
        out: &mut Vec<u8>,
        unchanged: &mut Vec<Unchanged>,
    ) -> usize {
        self.owe(out);
        out.push(chunk[start]);
        let mut i = start + 1;
        loop {
            let stopped;
            (i, stopped) = copy_to_stop(chunk, i, out, unchanged);
            if !stopped {
                break;
            }
            // White space with content after it on the same line (the common stop: runs of
            // spaces between words) becomes one space here, and the run goes on.
            let mut after = i;
            while chunk.get(after).is_some_and(|&b| is_wsp(b)) {
                after += 1;
            }
            match chunk.get(after) {
                Some(&next) if after > i && next != b'\r' => {
                    out.push(b' ');
                    i = after;
                }
                _ => {
                    self.end_run(&chunk[start..i], out);
                    return i;
                }
            }
        }
        // The last few octets: the one after the chunk is unknown, so a space or CR at the
        // very end stops (either may begin something that changes).
        let from = i;
        while let Some(&octet) = chunk.get(i) {
            let next = chunk.get(i + 1).copied();
            if is_stop(chunk[i - 1], octet, next.unwrap_or(b'\r'))
                || (octet == b'\r' && next.is_none())
            {
                break;
            }
            i += 1;
        }
        out.extend_from_slice(&chunk[from..i]);
        self.end_run(&chunk[start..i], out);
        i
    }

    /// Settles the line state after `run`, just written to `out` as it is. A run starts
    /// with content, so it ends either with content (its line goes on) or with line ends:
    /// the first ends the line that has content, and any after it are empty lines, which
    /// are taken back from `out` and held back (they vanish if the body ends with them).
    fn end_run(&mut self, run: &[u8], out: &mut Vec<u8>) {
        let line_ends = trailing_line_ends(run);
        self.line_has_content = line_ends == 0;
        if line_ends > 1 {
            out.truncate(out.len() - 2 * (line_ends - 1));
            self.pending_crlf = line_ends as u64 - 1;
        }
    }

    /// Simple changes nothing but the end of the body, where the line ends after the last
    /// content become one (RFC 6376 §3.4.3). So the chunk goes out as it is, except its
    /// trailing CRLFs (and a CR at its very end), which are held back as a count until
    /// content follows or the body ends. What is owed from before the chunk is appended to
    /// `out`; the part of the chunk that follows it unchanged is returned, as a range of
    /// `chunk` (see [`push_split`](Self::push_split)).
    fn push_simple(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Range<usize> {
        let start = self.take_pending_cr(chunk, out);
        let trailing_cr = chunk.len() > start && chunk.last() == Some(&b'\r');
        self.pending_cr = trailing_cr;
        let lines = &chunk[start..chunk.len() - usize::from(trailing_cr)];
        let line_ends = trailing_line_ends(lines);
        let content = lines.len() - 2 * line_ends;
        if content == 0 {
            for _ in 0..line_ends {
                self.end_line(out);
            }
            return start..start;
        }
        self.owe(out);
        if line_ends == 0 {
            return start..start + lines.len();
        }
        // The line end after the content goes out with it; the rest are held back.
        self.line_has_content = false;
        self.pending_crlf = line_ends as u64 - 1;
        start..start + content + 2
    }

    /// Ends the body, appending what is still owed.
    ///
    /// A body that does not end in CRLF gets one. An empty body is CRLF in simple and empty
    /// in relaxed (RFC 6376 §3.4.3, §3.4.4 with erratum 3192's reading).
    pub fn finish(mut self, out: &mut Vec<u8>) {
        if self.pending_cr {
            self.pending_cr = false;
            self.content(b"\r", out);
        }
        // One CRLF ends the last non-empty line (trailing empty lines are dropped); an
        // empty body is CRLF in simple and nothing in relaxed.
        let empty_simple = !self.wrote_any && self.algorithm == Algo::Simple;
        if self.line_has_content || empty_simple {
            out.extend_from_slice(b"\r\n");
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Whether this test thread canonicalizes with the portable blocks only, so that
        /// both paths are tested on a processor with AVX2.
        static PORTABLE_ONLY: Cell<bool> = const { Cell::new(false) };
    }

    pub(super) fn portable_only() -> bool {
        PORTABLE_ONLY.with(Cell::get)
    }

    /// Runs `check` on each path the relaxed blocks may take: AVX2 where this processor has
    /// it, and the portable one.
    fn on_both_paths(mut check: impl FnMut()) {
        for portable in [false, true] {
            PORTABLE_ONLY.with(|only| only.set(portable));
            check();
        }
        PORTABLE_ONLY.with(|only| only.set(false));
    }

    fn body(algorithm: Algo, input: &[u8]) -> Vec<u8> {
        // Feed one octet at a time: chunk boundaries must not matter.
        let mut c = BodyCanonicalizer::new(algorithm);
        let mut out = Vec::new();
        for b in input {
            c.push(std::slice::from_ref(b), &mut out);
        }
        c.finish(&mut out);
        out
    }

    #[test]
    fn rfc6376_section_3_4_5_example() {
        let input = b" C \r\nD \t E\r\n\r\n\r\n";
        assert_eq!(body(Algo::Simple, input), b" C \r\nD \t E\r\n");
        assert_eq!(body(Algo::Relaxed, input), b" C\r\nD E\r\n");
        let mut out = Vec::new();
        canonicalize_header(Algo::Relaxed, b"A: X", &mut out);
        out.extend_from_slice(b"\r\n");
        canonicalize_header(Algo::Relaxed, b"B : Y\t\r\n\tZ  ", &mut out);
        assert_eq!(out, b"a:X\r\nb:Y Z");
    }

    #[test]
    fn empty_and_unterminated_bodies() {
        assert_eq!(body(Algo::Simple, b""), b"\r\n");
        assert_eq!(body(Algo::Relaxed, b""), b"");
        assert_eq!(body(Algo::Simple, b"\r\n\r\n"), b"\r\n");
        assert_eq!(body(Algo::Relaxed, b" \r\n\t\r\n"), b"");
        assert_eq!(body(Algo::Simple, b"abc"), b"abc\r\n");
        assert_eq!(body(Algo::Relaxed, b"abc  "), b"abc\r\n");
        assert_eq!(body(Algo::Simple, b"a\rb\r"), b"a\rb\r\r\n");
    }

    /// A fixed-seed pseudo-random generator for the randomized tests (Knuth's MMIX LCG).
    struct Lcg(u64);

    impl Lcg {
        /// The next number below `bound`.
        fn below(&mut self, bound: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) as usize % bound
        }

        /// `length` octets drawn from `alphabet`.
        fn text(&mut self, alphabet: &[u8], length: usize) -> Vec<u8> {
            (0..length)
                .map(|_| alphabet[self.below(alphabet.len())])
                .collect()
        }
    }

    /// The whole input in one push.
    fn body_whole(algorithm: Algo, input: &[u8]) -> Vec<u8> {
        let mut c = BodyCanonicalizer::new(algorithm);
        let mut out = Vec::new();
        c.push(input, &mut out);
        c.finish(&mut out);
        out
    }

    /// The same input in pieces of pseudo-random sizes, 1 to `largest` octets.
    fn body_in_pieces(algorithm: Algo, input: &[u8], sizes: &mut Lcg, largest: usize) -> Vec<u8> {
        let mut c = BodyCanonicalizer::new(algorithm);
        let mut out = Vec::new();
        let mut rest = input;
        while !rest.is_empty() {
            let take = (sizes.below(largest) + 1).min(rest.len());
            c.push(&rest[..take], &mut out);
            rest = &rest[take..];
        }
        c.finish(&mut out);
        out
    }

    /// `input` canonicalized whole and in random pieces of up to `largest` octets must both
    /// be the reference form.
    fn agrees_with_reference(algorithm: Algo, input: &[u8], random: &mut Lcg, largest: usize) {
        let reference = reference(algorithm, input);
        on_both_paths(|| {
            assert_eq!(
                body_whole(algorithm, input),
                reference,
                "{algorithm:?} {input:?} portable: {}",
                portable_only()
            );
            assert_eq!(
                body_in_pieces(algorithm, input, random, largest),
                reference,
                "{algorithm:?} {input:?} portable: {}",
                portable_only()
            );
        });
    }

    /// RFC 6376 §3.4.3 and §3.4.4 written as plainly as possible, whole body at once.
    fn reference(algorithm: Algo, input: &[u8]) -> Vec<u8> {
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let mut rest = input;
        loop {
            match rest.windows(2).position(|w| w == b"\r\n") {
                Some(i) => {
                    lines.push(rest[..i].to_vec());
                    rest = &rest[i + 2..];
                }
                None => {
                    lines.push(rest.to_vec());
                    break;
                }
            }
        }
        if algorithm == Algo::Relaxed {
            for line in &mut lines {
                let mut collapsed = Vec::new();
                for &b in line.iter() {
                    let wsp = b == b' ' || b == b'\t';
                    if wsp && collapsed.last() == Some(&b' ') {
                        continue;
                    }
                    collapsed.push(if wsp { b' ' } else { b });
                }
                while collapsed.last() == Some(&b' ') {
                    collapsed.pop();
                }
                *line = collapsed;
            }
        }
        while lines.last().is_some_and(Vec::is_empty) {
            lines.pop();
        }
        if lines.is_empty() && algorithm == Algo::Simple {
            return b"\r\n".to_vec();
        }
        lines
            .into_iter()
            .flat_map(|mut l| {
                l.extend_from_slice(b"\r\n");
                l
            })
            .collect()
    }

    #[test]
    fn whole_lines_and_octets_agree_on_every_kind_of_line() {
        // Lines the fast path copies and lines it must not (runs of spaces, tabs, spaces at
        // either end, bare CR and LF, empty lines), cut at every place.
        let alphabet = b"ab!  \t\r\n\r\n";
        let mut random = Lcg(7);
        for round in 0..2_000usize {
            let input = random.text(alphabet, round % 97);
            for algorithm in [Algo::Relaxed, Algo::Simple] {
                let reference = reference(algorithm, &input);
                assert_eq!(
                    body(algorithm, &input),
                    reference,
                    "{algorithm:?} {input:?}"
                );
                agrees_with_reference(algorithm, &input, &mut random, 40);
            }
        }
        let text = b"Dear  team,\r\n \tthe report\tis here. \r\nA line\r\n\r\n";
        assert_eq!(
            body_in_pieces(Algo::Relaxed, text, &mut Lcg(1), 40),
            b"Dear team,\r\n the report is here.\r\nA line\r\n"
        );
    }

    #[test]
    fn long_bodies_agree_with_the_reference() {
        // Long bodies, given whole and in pieces of up to 300 octets.
        let alphabets: [&[u8]; 3] = [
            b"ab!  \t\r\n\r\n",
            b"abcdefghij \r\n",
            b"xy      \t\t\r\r\n\n\r\n",
        ];
        let mut random = Lcg(13);
        for round in 0..1_500usize {
            let length = random.below(700);
            let input = random.text(alphabets[round % alphabets.len()], length);
            agrees_with_reference(Algo::Relaxed, &input, &mut random, 300);
        }
    }

    #[test]
    fn stops_found_at_every_place_in_a_window() {
        // Runs go by blocks of sixty-four with bit masks while 128 octets fit, after two
        // blocks with nothing to change under a coarser test, and near the end of a chunk by
        // windows of thirty-two and sixteen: put each kind of stop (and each near-stop that
        // must not change anything, some of which only the coarser test marks) at every
        // offset of the windows and blocks, in a short line and in a long line of prose
        // between other lines, and give the body whole and in pieces.
        let inserts: [&[u8]; 24] = [
            b"  ",
            b"   ",
            b"    x  y   z",
            b"  \t",
            b" \t ",
            b"   \r\n",
            b"  \r",
            b"x                                   y",
            b"                                      \r\n",
            b"\t",
            b" \r\n",
            b"\r\n\r\n",
            b"\r",
            b"\n\r\n",
            b" \r",
            b" \n",
            b"\r\n \r\n",
            b" x",
            b"\n",
            b"\r\n",
            b" \x01",
            b" \x00 ",
            b"\x1f ",
            b"\r\r\n",
        ];
        // Runs of white space longer than a block, inside a line and at its end.
        let long_runs = [
            [&b"x"[..], &[b' '; 70], b"y"].concat(),
            [&[b' '; 140][..], b"\r\n"].concat(),
        ];
        let inserts = inserts
            .iter()
            .copied()
            .chain(long_runs.iter().map(Vec::as_slice));
        let short = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMN".to_vec();
        let mut long = Vec::new();
        while long.len() < 200 {
            long.extend_from_slice(b"Single spaced prose, then=3D base64/A+ ");
        }
        let mut random = Lcg(29);
        for insert in inserts {
            for base in [&short, &long] {
                for at in 0..=base.len() {
                    let mut input = b"first line of some length\r\n".to_vec();
                    let mut line = base.clone();
                    line.splice(at..at, insert.iter().copied());
                    input.extend_from_slice(&line);
                    input.extend_from_slice(b"\r\nand a last line, longer than sixteen\r\n\r\n");
                    for algorithm in [Algo::Relaxed, Algo::Simple] {
                        agrees_with_reference(algorithm, &input, &mut random, 150);
                    }
                }
            }
        }
    }

    #[test]
    fn hasher_in_pieces_hashes_the_reference() {
        // Simple hashes most of each piece where it lies, after what the piece owes (held-back
        // line ends, a CR): the digest and the counts must be those of the reference form,
        // whole and cut by l=.
        let mut random = Lcg(41);
        for round in 0..600usize {
            let input = random.text(b"ab \t\r\n\r\n\r\n", round % 131);
            for algorithm in [Algo::Simple, Algo::Relaxed] {
                hasher_in_pieces_matches_reference(algorithm, &input, &mut random, 20);
            }
        }
    }

    /// Hashes `input` in random pieces of up to `largest` octets, whole and cut by a random
    /// `l=`: the digest and the hashed/total counts must be those of the reference form.
    fn hasher_in_pieces_matches_reference(
        algorithm: Algo,
        input: &[u8],
        random: &mut Lcg,
        largest: usize,
    ) {
        let reference = reference(algorithm, input);
        let limit = random.below(reference.len() + 2) as u64;
        on_both_paths(|| hasher_matches(algorithm, input, &reference, random, largest, limit));
    }

    /// [`hasher_in_pieces_matches_reference`] on one path, with and without `l=`.
    fn hasher_matches(
        algorithm: Algo,
        input: &[u8],
        reference: &[u8],
        random: &mut Lcg,
        largest: usize,
        limit: u64,
    ) {
        for limit in [None, Some(limit)] {
            let mut hasher = BodyHasher::new(algorithm, HashAlgorithm::Sha256, limit);
            let mut rest = input;
            while !rest.is_empty() {
                let take = (random.below(largest) + 1).min(rest.len());
                hasher.push(&rest[..take]);
                rest = &rest[take..];
            }
            let hashed = limit.map_or(reference.len(), |l| (l as usize).min(reference.len()));
            let result = hasher.finish();
            assert_eq!(
                (result.hashed, result.total),
                (hashed as u64, reference.len() as u64),
                "{algorithm:?} {input:?} {limit:?}"
            );
            assert_eq!(
                result.digest,
                crate::crypto::sha256(&reference[..hashed]),
                "{algorithm:?} {input:?} {limit:?}"
            );
        }
    }

    #[test]
    fn lines_of_white_space_in_blocks_agree_with_the_reference() {
        // Blocks drop trailing white space after content themselves but leave a line of
        // white space alone to the slow path, which holds empty lines back: put such lines,
        // and trailing white space, at every offset of a block, followed by empty lines and
        // then content, white space, or the end of the body.
        let lines: [&[u8]; 5] = [b"  \r\n", b"\t\r\n", b"x \r\n", b"x\t \r\n", b" \r\n \r\n"];
        let tails: [&[u8]; 4] = [b"", b"z\r\n", b"   \r\n", b"  y"];
        let mut random = Lcg(47);
        for line in lines {
            for tail in tails {
                for empty in [0, 1, 40] {
                    for at in 0..140 {
                        let mut input = vec![b'a'; at];
                        input.extend_from_slice(b"\r\n");
                        input.extend_from_slice(line);
                        input.extend_from_slice(&b"\r\n".repeat(empty));
                        input.extend_from_slice(tail);
                        input.extend_from_slice(&[b'b'; 130]);
                        input.truncate(input.len() - 130 * usize::from(at % 2 == 0));
                        agrees_with_reference(Algo::Relaxed, &input, &mut random, 400);
                    }
                }
            }
        }
    }

    #[test]
    fn long_clean_stretches_left_in_place_hash_the_reference() {
        // Relaxed leaves stretches of a kilobyte or more that it does not change where they
        // lie (the hasher hashes them there; `push` puts them back in place). Bodies of long
        // base64 lines with, between them, the places that change or end a stretch: runs of
        // white space, trailing white space, empty lines (a few, and more than a kilobyte of
        // them), a bare CR; cut into pieces of up to 5000 octets, whole and cut by l=.
        let mut base64 = Vec::new();
        let mut state = 7u64;
        for _ in 0..76 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            base64.push(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                    [(state >> 58) as usize],
            );
        }
        base64.extend_from_slice(b"\r\n");
        let between: [&[u8]; 8] = [
            b"two  spaces\r\n",
            b"trailing \t \r\n",
            b"\r\n\r\n\r\n",
            b"\tTab first\r\n",
            b"bare\rCR\r\n",
            &[b'\r', b'\n'].repeat(600),
            b"",
            b"no line end",
        ];
        let mut random = Lcg(43);
        for round in 0..300usize {
            let mut input = Vec::new();
            for _ in 0..random.below(6) {
                for _ in 0..random.below(40) {
                    input.extend_from_slice(&base64);
                }
                input.extend_from_slice(between[random.below(between.len())]);
            }
            for algorithm in [Algo::Relaxed, Algo::Simple] {
                let reference = reference(algorithm, &input);
                assert_eq!(body_whole(algorithm, &input), reference, "round {round}");
                hasher_in_pieces_matches_reference(algorithm, &input, &mut random, 5000);
            }
        }
    }

    #[test]
    fn body_length_limit_counts_both() {
        let mut h = BodyHasher::new(Algo::Simple, HashAlgorithm::Sha256, Some(3));
        h.push(b"abcdef\r\n");
        let r = h.finish();
        assert_eq!((r.hashed, r.total), (3, 8));
        assert_eq!(r.digest, crate::crypto::sha256(b"abc"));
    }

    /// RFC 6376 §3.4.2 relaxed header canonicalization, an octet at a time.
    fn reference_header(raw: &[u8]) -> Vec<u8> {
        let colon = raw.iter().position(|&b| b == b':').unwrap_or(raw.len());
        let mut out: Vec<u8> = raw[..colon].iter().map(u8::to_ascii_lowercase).collect();
        while out.last().is_some_and(|&b| is_wsp(b)) {
            out.pop();
        }
        out.push(b':');
        let unfolded: Vec<u8> = raw
            .get(colon + 1..)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|&b| b != b'\r' && b != b'\n')
            .collect();
        let mut value = Vec::new();
        for b in unfolded {
            let b = if is_wsp(b) { b' ' } else { b };
            if b == b' ' && (value.is_empty() || value.last() == Some(&b' ')) {
                continue;
            }
            value.push(b);
        }
        while value.last() == Some(&b' ') {
            value.pop();
        }
        out.extend_from_slice(&value);
        out
    }

    #[test]
    fn relaxed_header_runs_agree_with_octets() {
        let alphabet = b"aB;=  \t\r\n\r\n\x01\xc3";
        let mut random = Lcg(11);
        for round in 0..3_000usize {
            let mut raw = b"X-Test \t:".to_vec();
            raw.extend(random.text(alphabet, round % 61));
            let mut out = Vec::new();
            canonicalize_header(Algo::Relaxed, &raw, &mut out);
            assert_eq!(out, reference_header(&raw), "{raw:?}");
        }
        let mut out = Vec::new();
        canonicalize_header(Algo::Relaxed, b"SubJect :  a\r\n\t b  \r\n c \t", &mut out);
        assert_eq!(out, b"subject:a b c");
    }

    #[test]
    fn header_hash_input_cuts_b_from_the_field_given() {
        let value =
            b"v=1; a=rsa-sha256; c=relaxed; d=example.com; s=s; h=from; bh=YWJj; b=ZGVm\r\n Zw==";
        let mut raw = b"DKIM-Signature: ".to_vec();
        raw.extend_from_slice(value);
        let field = HeaderField::parse(raw.clone()).unwrap();
        let headers = Headers::parse(b"From: a@example.com\r\n", &Default::default()).unwrap();
        let sig = Signature::parse(value).unwrap();
        let input = header_hash_input(&headers, &field, &sig);
        assert!(input.ends_with(
            b"dkim-signature:v=1; a=rsa-sha256; c=relaxed; d=example.com; s=s; h=from; bh=YWJj; b="
        ));
        // A signature parsed from another field (its b= spans point elsewhere): the field
        // given is read again.
        let other = Signature::parse(&value[..value.len() - 6]).unwrap();
        let mut longer = b"DKIM-Signature: x=;  ".to_vec();
        longer.extend_from_slice(value);
        let field = HeaderField::parse(longer).unwrap();
        assert!(header_hash_input(&headers, &field, &other).ends_with(b"bh=YWJj; b="));
    }

    #[test]
    fn select_headers_bottom_up_with_oversigning() {
        let h = Headers::parse(b"From: 1\r\nTo: a\r\nFrom: 2\r\n", &Default::default()).unwrap();
        let names: Vec<String> = ["from", "from", "from", "to"].map(String::from).into();
        let picked: Vec<&[u8]> = select_headers(h.fields(), &names)
            .iter()
            .map(|f| f.raw())
            .collect();
        assert_eq!(picked, [&b"From: 2"[..], b"From: 1", b"To: a"]);
    }

    #[test]
    fn select_headers_indexes_large_inputs_with_the_same_result() {
        // Around SCAN_WORK compares and far beyond it: the indexed path must pick exactly
        // what the scan picks (names in any case, oversigned, absent ones).
        let kinds = ["From", "To", "Subject", "X-A", "x-b", "Received"];
        for (fields, names) in [(60, 60), (64, 64), (65, 64), (1_000, 3_000)] {
            let mut section = String::new();
            for i in 0..fields {
                section.push_str(&format!("{}: {i}\r\n", kinds[i * 7 % kinds.len()]));
            }
            let h = Headers::parse(section.as_bytes(), &Default::default()).unwrap();
            let names: Vec<String> = (0..names)
                .map(|i| match i % 4 {
                    0 => kinds[i % kinds.len()].to_ascii_uppercase(),
                    1 => "absent".into(),
                    _ => kinds[(i * 5) % kinds.len()].to_ascii_lowercase(),
                })
                .collect();
            let mut used = vec![false; h.fields().len()];
            let reference: Vec<&[u8]> = names
                .iter()
                .filter_map(|name| {
                    let i = (0..h.fields().len())
                        .rev()
                        .find(|&i| !used[i] && h.fields()[i].is(name))?;
                    used[i] = true;
                    Some(h.fields()[i].raw())
                })
                .collect();
            let picked: Vec<&[u8]> = select_headers(h.fields(), &names)
                .iter()
                .map(|f| f.raw())
                .collect();
            assert_eq!(picked, reference, "{fields} fields, {} names", names.len());
        }
    }

    #[test]
    fn b_value_and_its_white_space_are_removed() {
        let f = HeaderField::parse(b"DKIM-Signature: a=x; b= abc\r\n def ; bh=q".to_vec()).unwrap();
        assert_eq!(without_b_value(&f), b"DKIM-Signature: a=x; b=; bh=q");
        let f = HeaderField::parse(b"DKIM-Signature: bh=q; b=abc\r\n def".to_vec()).unwrap();
        assert_eq!(without_b_value(&f), b"DKIM-Signature: bh=q; b=");
    }
}
