//! Reading a message from a stream: header section first, then the body in chunks.

use std::io::Read;

use super::{Headers, MessageError, MessageLimits};

/// Turns every bare LF into CRLF, across chunk boundaries. CRLF and bare CR pass unchanged.
#[derive(Debug, Default, Clone)]
pub struct CrlfNormalizer {
    last_was_cr: bool,
}

impl CrlfNormalizer {
    /// A normalizer at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the normalized form of `input` to `out`: the runs between LFs are copied
    /// whole, and a CR goes in front of each LF that lacks one.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 32);
        let mut rest = input;
        while let Some(lf) = memchr::memchr(b'\n', rest) {
            let before_cr = match lf {
                0 => self.last_was_cr,
                _ => rest[lf - 1] == b'\r',
            };
            out.extend_from_slice(&rest[..lf]);
            if !before_cr {
                out.push(b'\r');
            }
            out.push(b'\n');
            self.last_was_cr = false;
            rest = &rest[lf + 1..];
        }
        if let Some(&last) = rest.last() {
            out.extend_from_slice(rest);
            self.last_was_cr = last == b'\r';
        }
    }

    /// Convenience for a whole in-memory message.
    pub fn normalize(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len());
        CrlfNormalizer::new().push(input, &mut out);
        out
    }
}

/// Reads a message from any [`Read`]: [`read_headers`](Self::read_headers) once, then
/// [`next_body_chunk`](Self::next_body_chunk) until it returns `None`. Line ends are
/// normalized to CRLF on the way. Memory use is the header section plus one chunk.
pub struct MessageReader<R> {
    inner: R,
    normalizer: CrlfNormalizer,
    limits: MessageLimits,
    /// What was read past the header section: the body's first octets, from `pending_start`
    /// (the header section before it, kept to save copying the body out).
    pending_body: Vec<u8>,
    pending_start: usize,
    chunk: Vec<u8>,
    /// Where the body starts in `chunk` (past the header section, for the first chunk).
    chunk_start: usize,
    read_buf: Vec<u8>,
    headers_done: bool,
    eof: bool,
}

/// Octets read from the input at a time, at first: most messages are a few kilobytes, and the
/// buffer is zeroed when it is made or grown.
const FIRST_READ_SIZE: usize = 8 * 1024;

/// The most octets read at a time: the buffer doubles up to this while reads fill it.
const READ_SIZE: usize = 64 * 1024;

impl<R: Read> MessageReader<R> {
    /// Wraps `inner`, applying `limits` to the header section.
    pub fn new(inner: R, limits: MessageLimits) -> Self {
        MessageReader {
            inner,
            normalizer: CrlfNormalizer::new(),
            limits,
            pending_body: Vec::new(),
            pending_start: 0,
            chunk: Vec::new(),
            chunk_start: 0,
            read_buf: Vec::new(),
            headers_done: false,
            eof: false,
        }
    }

    fn fill(&mut self, out: &mut Vec<u8>) -> Result<usize, std::io::Error> {
        if self.read_buf.is_empty() {
            self.read_buf.resize(FIRST_READ_SIZE, 0);
        }
        loop {
            match self.inner.read(&mut self.read_buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(0);
                }
                Ok(n) => {
                    self.normalizer.push(&self.read_buf[..n], out);
                    // A read that filled the buffer: the input is larger, read more at once.
                    if n == self.read_buf.len() && n < READ_SIZE {
                        self.read_buf.resize(n * 2, 0);
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads and parses the header section.
    pub fn read_headers(&mut self) -> Result<Headers, MessageError> {
        let mut buf = Vec::new();
        let mut searched: usize = 0;
        // The section ends with the first CRLF CRLF, or at once with a leading CRLF.
        let body_start = loop {
            if buf.starts_with(b"\r\n") {
                break Some(2);
            }
            let from = searched.saturating_sub(3);
            if let Some(pos) = super::find(&buf[from..], b"\r\n\r\n") {
                break Some(from + pos + 4);
            }
            searched = buf.len();
            if buf.len() > self.limits.max_header_bytes + 4 {
                return Err(MessageError::HeaderSectionTooLarge {
                    limit: self.limits.max_header_bytes,
                });
            }
            if self.eof || self.fill(&mut buf)? == 0 {
                break None;
            }
        };
        self.headers_done = true;
        let section_end = body_start.unwrap_or(buf.len());
        if section_end > self.limits.max_header_bytes {
            return Err(MessageError::HeaderSectionTooLarge {
                limit: self.limits.max_header_bytes,
            });
        }
        let headers = Headers::parse(&buf[..section_end], &self.limits);
        self.pending_body = buf;
        self.pending_start = section_end;
        headers
    }

    /// The next piece of the body, or `None` at the end. Call after
    /// [`read_headers`](Self::read_headers).
    pub fn next_body_chunk(&mut self) -> Result<Option<&[u8]>, MessageError> {
        if !self.headers_done {
            self.read_headers()?;
        }
        if self.pending_start < self.pending_body.len() {
            self.chunk = std::mem::take(&mut self.pending_body);
            self.chunk_start = self.pending_start;
            self.pending_start = 0;
            return Ok(Some(&self.chunk[self.chunk_start..]));
        }
        self.pending_body = Vec::new();
        self.chunk.clear();
        self.chunk_start = 0;
        let mut chunk = std::mem::take(&mut self.chunk);
        while chunk.is_empty() && !self.eof {
            self.fill(&mut chunk)?;
        }
        self.chunk = chunk;
        if self.chunk.is_empty() {
            Ok(None)
        } else {
            Ok(Some(&self.chunk))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing_in_any_pieces_adds_a_cr_to_each_bare_lf_only() {
        let alphabet = b"a\r\n\n";
        let mut state: u64 = 11;
        for round in 0..1_000usize {
            let input: Vec<u8> = (0..round % 53)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(5);
                    alphabet[(state >> 33) as usize % alphabet.len()]
                })
                .collect();
            // The rule, octet by octet.
            let mut expected = Vec::new();
            for (i, &b) in input.iter().enumerate() {
                if b == b'\n' && (i == 0 || input[i - 1] != b'\r') {
                    expected.push(b'\r');
                }
                expected.push(b);
            }
            let mut normalizer = CrlfNormalizer::new();
            let mut out = Vec::new();
            let cut = round % (input.len() + 1);
            for piece in [&input[..cut], &input[cut..]] {
                for part in piece.chunks(1 + round % 4) {
                    normalizer.push(part, &mut out);
                }
            }
            assert_eq!(out, expected, "{input:?}");
        }
    }

    /// A reader that returns one byte at a time, to cross every boundary.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.split_first() {
                Some((&b, rest)) if !buf.is_empty() => {
                    buf[0] = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    fn read_all(input: &[u8]) -> (Headers, Vec<u8>) {
        let mut r = MessageReader::new(Trickle(input), MessageLimits::default());
        let h = r.read_headers().unwrap();
        let mut body = Vec::new();
        while let Some(c) = r.next_body_chunk().unwrap() {
            body.extend_from_slice(c);
        }
        (h, body)
    }

    #[test]
    fn lf_and_crlf_give_the_same_bytes() {
        let (h1, b1) = read_all(b"A: 1\nB: 2\n folded\n\nbody\nline\n");
        let (h2, b2) = read_all(b"A: 1\r\nB: 2\r\n folded\r\n\r\nbody\r\nline\r\n");
        assert_eq!(h1, h2);
        assert_eq!(b1, b2);
        assert_eq!(b1, b"body\r\nline\r\n");
        assert_eq!(h1.fields()[1].raw(), b"B: 2\r\n folded");
    }

    #[test]
    fn no_body_and_no_headers() {
        let (h, b) = read_all(b"A: 1\r\n");
        assert_eq!(h.len(), 1);
        assert!(b.is_empty());
        let (h, b) = read_all(b"\r\nbody only\r\n");
        assert!(h.is_empty());
        assert_eq!(b, b"body only\r\n");
    }

    #[test]
    fn header_section_limit() {
        let big = format!("X: {}\r\n\r\n", "a".repeat(2000));
        let limits = MessageLimits {
            max_header_bytes: 1000,
            ..MessageLimits::default()
        };
        let mut r = MessageReader::new(big.as_bytes(), limits);
        assert!(matches!(
            r.read_headers(),
            Err(MessageError::HeaderSectionTooLarge { .. })
        ));
    }

    #[test]
    fn split_in_memory() {
        let (h, b) = super::super::split_message(b"A: 1\r\n\r\nx\r\n");
        assert_eq!(h, b"A: 1\r\n");
        assert_eq!(b, b"x\r\n");
    }
}
