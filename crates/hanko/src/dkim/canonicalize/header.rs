//! Header canonicalization (RFC 6376 §3.4.1, §3.4.2), the choice of the signed fields
//! (§5.4.2) and the header hash input (§3.7).

use std::collections::HashMap;

use super::is_wsp;
use crate::dkim::{CanonicalizationAlgorithm as Algo, Signature};
use crate::message::{HeaderField, Headers, Tag, TagList};

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
pub(super) const SCAN_WORK: usize = 4096;

/// The raw DKIM-Signature field with the value of `b=` (and the white space around it)
/// deleted, as the header hash covers it (RFC 6376 §3.7).
pub fn without_b_value(field: &HeaderField) -> Vec<u8> {
    let b = TagList::parse(field.value())
        .ok()
        .and_then(|t| t.tag("b").cloned());
    cut_b_value(field, b.as_ref())
}

/// `field`'s raw octets with `b`'s raw value cut out (all of them when there is no `b`).
pub(super) fn cut_b_value(field: &HeaderField, b: Option<&Tag>) -> Vec<u8> {
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
