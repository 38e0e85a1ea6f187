//! Tests of canonicalization: each form against a plain reference, on inputs cut at random
//! into chunks, and on both block paths (AVX2 where the processor has it, and portable).

use super::body::*;
use super::hasher::*;
use super::header::*;
use super::*;
use crate::crypto::HashAlgorithm;
use crate::dkim::{CanonicalizationAlgorithm as Algo, Signature};
use crate::message::{HeaderField, Headers};
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
