//! Splitting an mbox file into its messages (RFC 4155, the `mboxrd` reading).
//!
//! An mbox is messages one after the other, each starting with a `From ` separator line
//! (`From sender date`). Writers quote body lines that would look like a separator by putting
//! `>` in front (`From ` -> `>From `, and in `mboxrd` also `>From ` -> `>>From `); this reader
//! takes one `>` off every line of the form `>...>From `, which restores what the sender
//! signed for both conventions except a line that really began with `>From ` in an `mboxo`
//! file (rare; its signature then fails on the body hash).
//!
//! A line counts as a separator when it starts with `From `, has no `:` before a space (so a
//! stray `From: ...` field is not one), and follows an empty line or starts the file. The
//! empty line a writer puts after each message is not part of that message.
//!
//! Messages are returned whole, so the largest is bounded by
//! [`MboxReader::max_message_bytes`]; a larger one is skipped and reported.

use std::fmt;
use std::io::BufRead;

use super::header::{is_mbox_separator, without_line_end};

/// One message of an mbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxMessage {
    /// Its position in the file, from 1.
    pub number: usize,
    /// The separator line after `From ` (usually the envelope sender and a date), without
    /// its line end.
    pub envelope: Vec<u8>,
    /// The message as it was before it was stored: header section and body, line ends as in
    /// the file, `>From ` quoting undone.
    pub message: Vec<u8>,
}

/// Why a message of an mbox could not be returned.
#[derive(Debug)]
#[non_exhaustive]
pub enum MboxError {
    /// Reading the file failed; nothing more can be read.
    Io(std::io::Error),
    /// The file does not start with a `From ` separator line.
    NotMbox,
    /// Message `number` is larger than the limit; it was skipped and reading goes on.
    TooLarge {
        /// Its position in the file, from 1.
        number: usize,
        /// The limit, in octets.
        limit: usize,
    },
}

impl fmt::Display for MboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MboxError::Io(e) => write!(f, "cannot read the mbox: {e}"),
            MboxError::NotMbox => f.write_str("not an mbox: the first line is not a From line"),
            MboxError::TooLarge { number, limit } => write!(
                f,
                "message {number} of the mbox is larger than {limit} octets; skipped"
            ),
        }
    }
}

impl std::error::Error for MboxError {}

/// Reads the messages of an mbox one at a time; an [`Iterator`] of
/// `Result<MboxMessage, MboxError>`.
///
/// ```
/// use hanko::message::MboxReader;
///
/// let mbox = b"From alice@example.com Mon Nov 23 09:00:00 2026\nSubject: one\n\n>From here\n\n\
///              From bob@example.com Mon Nov 23 09:01:00 2026\nSubject: two\n\nhi\n";
/// let messages: Vec<_> = MboxReader::new(&mbox[..]).collect::<Result<_, _>>().unwrap();
/// assert_eq!(messages.len(), 2);
/// assert_eq!(messages[0].message, b"Subject: one\n\nFrom here\n");
/// assert_eq!(messages[1].envelope, b"bob@example.com Mon Nov 23 09:01:00 2026");
/// ```
pub struct MboxReader<R> {
    inner: R,
    /// The separator line that starts the next message, already read.
    next_separator: Option<Vec<u8>>,
    started: bool,
    failed: bool,
    number: usize,
    line: Vec<u8>,
    /// Largest message returned, in octets. Default: 64 MiB.
    pub max_message_bytes: usize,
}

fn is_blank(line: &[u8]) -> bool {
    matches!(line, b"\n" | b"\r\n")
}

impl<R: BufRead> MboxReader<R> {
    /// A reader at the start of an mbox.
    pub fn new(inner: R) -> Self {
        MboxReader {
            inner,
            next_separator: None,
            started: false,
            failed: false,
            number: 0,
            line: Vec::new(),
            max_message_bytes: 64 * 1024 * 1024,
        }
    }

    /// Reads one line into `self.line`; false at the end of the file.
    fn read_line(&mut self) -> std::io::Result<bool> {
        self.line.clear();
        Ok(self.inner.read_until(b'\n', &mut self.line)? > 0)
    }

    fn next_message(&mut self) -> Result<Option<MboxMessage>, MboxError> {
        if !self.started {
            self.started = true;
            // Blank lines before the first separator are tolerated.
            loop {
                if !self.read_line().map_err(MboxError::Io)? {
                    return Ok(None);
                }
                if !is_blank(&self.line) {
                    break;
                }
            }
            if !is_mbox_separator(without_line_end(&self.line)) {
                return Err(MboxError::NotMbox);
            }
            self.next_separator = Some(std::mem::take(&mut self.line));
        }
        let Some(separator) = self.next_separator.take() else {
            return Ok(None);
        };
        self.number += 1;
        let number = self.number;
        let envelope = without_line_end(&separator)[b"From ".len()..].to_vec();
        let mut message = Vec::new();
        let mut previous_blank = false;
        let mut too_large = false;
        while self.read_line().map_err(MboxError::Io)? {
            let line = &self.line;
            if previous_blank && is_mbox_separator(without_line_end(line)) {
                self.next_separator = Some(std::mem::take(&mut self.line));
                break;
            }
            previous_blank = is_blank(line);
            if too_large {
                continue;
            }
            // `>From `, `>>From `, ...: one `>` comes off.
            let quotes = line.iter().take_while(|&&b| b == b'>').count();
            let unquoted = if quotes > 0 && line[quotes..].starts_with(b"From ") {
                &line[1..]
            } else {
                &line[..]
            };
            if message.len() + unquoted.len() > self.max_message_bytes {
                too_large = true;
                message = Vec::new();
                continue;
            }
            message.extend_from_slice(unquoted);
        }
        if too_large {
            return Err(MboxError::TooLarge {
                number,
                limit: self.max_message_bytes,
            });
        }
        // The empty line the writer put between messages.
        if previous_blank {
            let blank = if message.ends_with(b"\r\n") { 2 } else { 1 };
            message.truncate(message.len() - blank);
        }
        Ok(Some(MboxMessage {
            number,
            envelope,
            message,
        }))
    }
}

impl<R: BufRead> Iterator for MboxReader<R> {
    type Item = Result<MboxMessage, MboxError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_message() {
            Ok(message) => message.map(Ok),
            Err(e) => {
                // Nothing can follow a read error or a file that is not an mbox.
                self.failed = matches!(e, MboxError::Io(_) | MboxError::NotMbox);
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(mbox: &[u8]) -> Vec<Result<MboxMessage, String>> {
        let mut reader = MboxReader::new(mbox);
        reader.max_message_bytes = 150;
        reader.map(|r| r.map_err(|e| e.to_string())).collect()
    }

    #[test]
    fn messages_and_separators() {
        let mbox = b"\nFrom a@example.com Mon Nov 23 09:00:00 2026\r\nSubject: one\r\n\r\nbody\r\n\r\nFrom b@example.com Mon Nov 23 09:00:01 2026\r\nSubject: two\r\n\r\nbody\r\nFrom here on, no blank line before: not a separator\r\n\r\nFrom: a field, not a separator\r\n";
        let messages = split(mbox);
        assert_eq!(messages.len(), 2, "{messages:?}");
        let one = messages[0].as_ref().unwrap();
        assert_eq!(one.number, 1);
        assert_eq!(one.envelope, b"a@example.com Mon Nov 23 09:00:00 2026");
        assert_eq!(one.message, b"Subject: one\r\n\r\nbody\r\n");
        let two = messages[1].as_ref().unwrap();
        assert_eq!(two.number, 2);
        assert_eq!(
            two.message,
            &b"Subject: two\r\n\r\nbody\r\nFrom here on, no blank line before: not a separator\r\n\r\nFrom: a field, not a separator\r\n"[..]
        );
    }

    #[test]
    fn quoting_is_undone_once() {
        let mbox = b"From a Mon Nov 23 09:00:00 2026\nSubject: q\n\nline\n>From quoted\n>>From twice\n> From reply\n\n";
        let messages = split(mbox);
        assert_eq!(
            messages[0].as_ref().unwrap().message,
            b"Subject: q\n\nline\nFrom quoted\n>From twice\n> From reply\n"
        );
    }

    #[test]
    fn not_an_mbox_and_too_large() {
        assert_eq!(
            split(b"Subject: plain message\n\nhi\n"),
            vec![Err(
                "not an mbox: the first line is not a From line".to_string()
            )]
        );
        assert!(split(b"").is_empty());
        let mut mbox = b"From a Mon Nov 23 09:00:00 2026\nSubject: big\n\n".to_vec();
        mbox.extend_from_slice(&[b'x'; 200]);
        mbox.extend_from_slice(b"\n\nFrom b Mon Nov 23 09:00:00 2026\nSubject: small\n\nok\n");
        let messages = split(&mbox);
        assert_eq!(messages.len(), 2);
        assert_eq!(
            messages[0],
            Err("message 1 of the mbox is larger than 150 octets; skipped".to_string())
        );
        assert_eq!(messages[1].as_ref().unwrap().number, 2);
        assert_eq!(
            messages[1].as_ref().unwrap().message,
            b"Subject: small\n\nok\n"
        );
    }
}
