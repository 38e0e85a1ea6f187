//! Reading a message the way people paste it: copied from Gmail's "Show original", from
//! Outlook's "Internet headers" box or from Thunderbird's source view, with LF or CRLF line
//! ends, blank lines and stray white space around it, and continuation lines that lost their
//! indentation on the way.
//!
//! Nothing here fails: what cannot be read is dropped and said so in a note.

use super::{tr, Lang};
use hanko::message::{HeaderField, Headers};

/// The message as read from the paste.
#[derive(Debug)]
pub(crate) struct Pasted {
    /// The header fields, CRLF between folded lines.
    pub headers: Headers,
    /// The body with CRLF line ends; `None` when the input had no empty line after the
    /// header section (headers only, as Outlook shows them).
    pub body: Option<Vec<u8>>,
    /// `LF`, `CRLF`, `CR`, `mixed` or `none` (a single line).
    pub line_endings: &'static str,
    /// What was repaired or dropped, one sentence each.
    pub notes: Vec<String>,
    /// Fields past the limits, not read.
    pub dropped_fields: usize,
}

/// Lines Gmail's "Show original" page puts above the message itself.
const GMAIL_PREAMBLE_END: [&str; 2] = ["Copy to clipboard", "Download Original"];

/// How far down a preamble is looked for, in lines.
const PREAMBLE_LINES: usize = 40;

/// True for a line that starts a header field: a name of letters, digits, `-` and `_`
/// followed by a colon. Stricter than RFC 5322's `ftext` on purpose: a DKIM continuation
/// line that lost its indentation (`h=from:to:subject`) must not pass for a field.
fn starts_field(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let mut name = &line[..colon];
    while let [rest @ .., b' ' | b'\t'] = name {
        name = rest;
    }
    !name.is_empty()
        && name[0].is_ascii_alphabetic()
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Splits `input` into lines, taking LF, CRLF and lone CR as line ends, and says which ends
/// it saw.
fn lines(input: &[u8]) -> (Vec<&[u8]>, &'static str) {
    let (mut crlf, mut lf, mut cr) = (0usize, 0usize, 0usize);
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\r' if input.get(i + 1) == Some(&b'\n') => {
                crlf += 1;
                out.push(&input[start..i]);
                i += 2;
                start = i;
            }
            b'\r' => {
                cr += 1;
                out.push(&input[start..i]);
                i += 1;
                start = i;
            }
            b'\n' => {
                lf += 1;
                out.push(&input[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < input.len() {
        out.push(&input[start..]);
    }
    let kind = match (crlf > 0, lf > 0, cr > 0) {
        (false, false, false) => "none",
        (true, false, false) => "CRLF",
        (false, true, false) => "LF",
        (false, false, true) => "CR",
        _ => "mixed",
    };
    (out, kind)
}

fn blank(line: &[u8]) -> bool {
    line.iter().all(|&b| b == b' ' || b == b'\t')
}

/// Reads `input` leniently. `max_fields` and `max_header_bytes` bound the header section;
/// fields past them are counted, not kept.
pub(crate) fn read(input: &[u8], max_fields: usize, max_header_bytes: usize, lang: Lang) -> Pasted {
    let mut notes = Vec::new();
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let (all, line_endings) = lines(input);
    let at = message_start(&all, lang, &mut notes);
    let mut section = Section {
        headers: Headers::new(),
        header_bytes: 0,
        dropped_fields: 0,
        full: false,
        max_fields,
        max_header_bytes,
    };
    let (body, unfolded) = section.read(&all[at..], at, lang, &mut notes);
    section_notes(&section, unfolded, body.is_some(), lang, &mut notes);
    Pasted {
        headers: section.headers,
        body,
        line_endings,
        notes,
        dropped_fields: section.dropped_fields,
    }
}

/// Where the message starts in `all`: past Gmail's "Show original" summary (noted), blank
/// lines, and an mbox `From ` line.
fn message_start(all: &[&[u8]], lang: Lang, notes: &mut Vec<String>) -> usize {
    let mut at = 0;
    // Gmail's "Show original" page: a summary table, then the buttons, then the message.
    if let Some(end) = all
        .iter()
        .take(PREAMBLE_LINES)
        .rposition(|l| {
            let text = String::from_utf8_lossy(l);
            GMAIL_PREAMBLE_END
                .iter()
                .any(|p| text.trim().starts_with(p))
        })
        .filter(|&end| all[end + 1..].iter().any(|l| starts_field(l)))
    {
        at = end + 1;
        notes.push(tr!(
            lang,
            "Skipped the {} lines of Gmail's \"Show original\" summary above the message.",
            "Gmail の「メッセージのソースを表示」の要約 {} 行を読み飛ばしました。",
            at
        ));
    }
    while at < all.len() && blank(all[at]) {
        at += 1;
    }
    if all
        .get(at)
        .is_some_and(|l| l.starts_with(b"From ") && !starts_field(l))
    {
        at += 1;
    }
    at
}

/// The header section as it is read: the fields kept, and those counted past the limits.
struct Section {
    headers: Headers,
    header_bytes: usize,
    dropped_fields: usize,
    /// A limit was reached: every later field is counted, not kept.
    full: bool,
    max_fields: usize,
    max_header_bytes: usize,
}

/// Lines that were not read as written: continuations whose indentation was lost, and lines
/// before the first field that are no header line.
struct Unfolded {
    lost_indentation: usize,
    orphans: usize,
}

impl Section {
    /// Keeps one complete field, unless a limit is reached.
    fn finish(&mut self, field: Option<Vec<u8>>) {
        let Some(raw) = field else { return };
        if self.full
            || self.headers.len() >= self.max_fields
            || self.header_bytes + raw.len() > self.max_header_bytes
        {
            self.full = true;
            self.dropped_fields += 1;
            return;
        }
        self.header_bytes += raw.len() + 2;
        match HeaderField::parse(raw) {
            Some(field) => self.headers.push(field),
            None => self.dropped_fields += 1,
        }
    }

    /// Reads the header section from `lines` (line `offset + 1` of the input is the first),
    /// repairing lost indentation; returns the body (CRLF line ends) when an empty line ends
    /// the section, and what was unfolded or skipped.
    fn read(
        &mut self,
        lines: &[&[u8]],
        offset: usize,
        lang: Lang,
        notes: &mut Vec<String>,
    ) -> (Option<Vec<u8>>, Unfolded) {
        let mut unfolded = Unfolded {
            lost_indentation: 0,
            orphans: 0,
        };
        let mut current: Option<Vec<u8>> = None;
        for (n, &line) in lines.iter().enumerate() {
            if blank(line) {
                if !line.is_empty() {
                    notes.push(tr!(
                        lang,
                        "Line {} holds only white space; read as the end of the header section.",
                        "{} 行目は空白だけの行です。ヘッダー部の終わりとして扱いました。",
                        offset + n + 1
                    ));
                }
                self.finish(current.take());
                let mut rest = Vec::new();
                for l in &lines[n + 1..] {
                    rest.extend_from_slice(l);
                    rest.extend_from_slice(b"\r\n");
                }
                return (Some(rest), unfolded);
            }
            let line = if self.headers.is_empty() && current.is_none() {
                // Stray white space before the first field.
                let skip = line
                    .iter()
                    .take_while(|&&b| b == b' ' || b == b'\t')
                    .count();
                &line[skip..]
            } else {
                line
            };
            if line[0] == b' ' || line[0] == b'\t' {
                match &mut current {
                    Some(raw) => {
                        raw.extend_from_slice(b"\r\n");
                        raw.extend_from_slice(line);
                    }
                    None => unfolded.orphans += 1,
                }
            } else if starts_field(line) {
                self.finish(current.take());
                current = Some(line.to_vec());
            } else {
                match &mut current {
                    // A continuation line whose indentation was lost in copying: fold it
                    // back. Relaxed canonicalization reads the fold the same, so signatures
                    // still verify.
                    Some(raw) => {
                        raw.extend_from_slice(b"\r\n ");
                        raw.extend_from_slice(line);
                        unfolded.lost_indentation += 1;
                    }
                    None => unfolded.orphans += 1,
                }
            }
        }
        self.finish(current.take());
        (None, unfolded)
    }
}

/// The notes on what reading the section repaired, skipped or could not keep.
fn section_notes(
    section: &Section,
    unfolded: Unfolded,
    has_body: bool,
    lang: Lang,
    notes: &mut Vec<String>,
) {
    if unfolded.lost_indentation > 0 {
        notes.push(tr!(
            lang,
            "{} line(s) had lost their indentation (a copy from a mail client's window) and were read as continuations of the field above.",
            "インデントが失われた継続行 {} 行を、直前のフィールドの続きとして読みました (メールソフトの画面からのコピーで起こります)。",
            unfolded.lost_indentation
        ));
    }
    if unfolded.orphans > 0 {
        notes.push(tr!(
            lang,
            "{} line(s) before the first header field were not header lines and were skipped.",
            "最初のヘッダーフィールドより前の {} 行はヘッダーではないため読み飛ばしました。",
            unfolded.orphans
        ));
    }
    if section.dropped_fields > 0 {
        notes.push(tr!(
            lang,
            "{} header field(s) were not read: over the limit of {} fields or {} octets, or without a field name.",
            "{} 個のヘッダーフィールドを読みませんでした (上限 {} 個 / {} オクテットを超えたか、フィールド名がありません)。",
            section.dropped_fields,
            section.max_fields,
            section.max_header_bytes
        ));
    }
    if !has_body {
        notes.push(
            lang.pick(
                "Headers only (no empty line and body follow): DKIM body hashes cannot be checked, only the signatures over the header fields.",
                "ヘッダーのみです (空行と本文がありません)。DKIM の本文ハッシュは確認できず、ヘッダーに対する署名だけを確認します。",
            )
            .to_string(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &Pasted) -> Vec<&str> {
        p.headers.fields().iter().map(|f| f.name()).collect()
    }

    #[test]
    fn lf_crlf_and_stray_white_space() {
        let p = read(
            b"\n\n   From: a@example.com\nSubject: hi\n  there\n\nbody\n",
            100,
            1 << 20,
            Lang::En,
        );
        assert_eq!(names(&p), ["From", "Subject"]);
        assert_eq!(p.headers.fields()[1].raw(), b"Subject: hi\r\n  there");
        assert_eq!(p.body.as_deref(), Some(&b"body\r\n"[..]));
        assert_eq!(p.line_endings, "LF");
        let crlf = read(b"From: a@example.com\r\n\r\nx", 100, 1 << 20, Lang::En);
        assert_eq!(crlf.line_endings, "CRLF");
        assert_eq!(crlf.body.as_deref(), Some(&b"x\r\n"[..]));
    }

    #[test]
    fn lost_indentation_is_folded_back_but_field_like_lines_are_not() {
        let p = read(
            b"DKIM-Signature: v=1; a=rsa-sha256;\nh=from:to:subject; d=example.com;\nb=abc\nFrom: a@example.com\n",
            100,
            1 << 20,
            Lang::En,
        );
        assert_eq!(names(&p), ["DKIM-Signature", "From"]);
        assert_eq!(
            p.headers.fields()[0].raw(),
            b"DKIM-Signature: v=1; a=rsa-sha256;\r\n h=from:to:subject; d=example.com;\r\n b=abc"
        );
        assert!(p.body.is_none());
        assert!(p.notes.iter().any(|n| n.contains("lost their indentation")));
        assert!(p.notes.iter().any(|n| n.starts_with("Headers only")));
    }

    #[test]
    fn gmail_show_original_summary_is_skipped() {
        let page = "Original message\nMessage ID\t<x@example.com>\nCreated at:\tMon, 23 Nov 2026 09:00 (Delivered after 2 seconds)\nFrom:\tJoe <joe@example.com>\nSPF:\tPASS with IP 192.0.2.1 Learn more\nDownload Original\tCopy to clipboard\n\nDelivered-To: suzie@example.net\nFrom: joe@example.com\n\nHi\n";
        let p = read(page.as_bytes(), 100, 1 << 20, Lang::En);
        assert_eq!(names(&p), ["Delivered-To", "From"]);
        assert!(p.notes[0].contains("Gmail"));
    }

    #[test]
    fn limits_drop_fields_and_say_so() {
        let mut input = Vec::new();
        for i in 0..50 {
            input.extend_from_slice(format!("X-N: {i}\n").as_bytes());
        }
        let p = read(&input, 10, 1 << 20, Lang::Ja);
        assert_eq!(p.headers.len(), 10);
        assert_eq!(p.dropped_fields, 40);
        assert!(p.notes.iter().any(|n| n.contains("40 個")));
    }

    #[test]
    fn header_byte_limit() {
        let input = b"A: 0123456789\nB: 0123456789\nC: 0123456789\n\nbody\n";
        // Each field costs its length plus CRLF: 15 + 15 fit in 30, the third does not.
        let p = read(input, 100, 30, Lang::En);
        assert_eq!(p.headers.len(), 2);
        assert_eq!(p.dropped_fields, 1);
        let p = read(input, 100, 45, Lang::En);
        assert_eq!(p.headers.len(), 3);
    }

    #[test]
    fn mbox_line_bom_and_binary() {
        let p = read(
            b"\xEF\xBB\xBFFrom joe@example.com Mon Nov 23 09:00:00 2026\nFrom: joe@example.com\n\n",
            100,
            1 << 20,
            Lang::En,
        );
        assert_eq!(names(&p), ["From"]);
        let junk: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let p = read(&junk, 100, 1 << 20, Lang::En);
        assert!(p.headers.len() <= 100);
    }
}
