//! The body canonicalizer: a state machine over chunks of any size (RFC 6376 §3.4.3,
//! §3.4.4), with memory independent of line length.

use std::ops::Range;

use super::relaxed::*;
use super::{is_wsp, SCRATCH};
use crate::dkim::CanonicalizationAlgorithm as Algo;

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
    pub(super) fn push_split(
        &mut self,
        chunk: &[u8],
        out: &mut Vec<u8>,
        unchanged: &mut Vec<Unchanged>,
    ) {
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
