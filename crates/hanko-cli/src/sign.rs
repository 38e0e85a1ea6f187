//! `hanko sign`.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use hanko::dkim::{Canonicalization, Signer, SigningRequest};
use hanko::keys::SigningKey;
use hanko::message::{mbox_separator_len, MessageLimits, MessageReader};

/// Options of `hanko sign`.
#[derive(Args, Debug)]
pub struct SignArgs {
    /// Private key file (repeatable, paired in order with --selector: e.g. Ed25519 plus RSA).
    #[arg(long = "key", required = true, value_name = "FILE")]
    keys: Vec<PathBuf>,
    /// Selector for the key at the same position (repeatable).
    #[arg(long = "selector", required = true)]
    selectors: Vec<String>,
    /// The signing domain (d=).
    #[arg(long)]
    domain: String,
    /// Header/body canonicalization.
    #[arg(long, default_value = "relaxed/relaxed")]
    canonicalization: String,
    /// Header fields to sign, comma-separated (default: the RFC 6376 §5.4.1 set present).
    #[arg(long, value_delimiter = ',')]
    headers: Option<Vec<String>>,
    /// Header fields to sign once more than present, so none can be added (default: From).
    #[arg(long, value_delimiter = ',', default_value = "From")]
    oversign: Vec<String>,
    /// Agent or user identifier (i=), within --domain.
    #[arg(long)]
    identity: Option<String>,
    /// Expire the signature this many seconds after signing (x=).
    #[arg(long, value_name = "SECONDS")]
    expire: Option<u64>,
    /// Write l= (off by default: it lets anyone append to the body).
    #[arg(long)]
    body_length: bool,
    /// Signing time (t=) in Unix seconds instead of now.
    #[arg(long, value_name = "UNIX")]
    timestamp: Option<u64>,
    /// The message (default: standard input). LF or CRLF line ends; a bare CR in the body is
    /// signed and written as a line end (RFC 6376 §5.3).
    file: Option<PathBuf>,
}

pub fn run(args: SignArgs) -> anyhow::Result<u8> {
    if args.keys.len() != args.selectors.len() {
        bail!(
            "{} --key but {} --selector: give one selector per key",
            args.keys.len(),
            args.selectors.len()
        );
    }
    let canonicalization = Canonicalization::parse(&args.canonicalization).with_context(|| {
        format!(
            "--canonicalization {:?}: expected simple or relaxed, as header/body",
            args.canonicalization
        )
    })?;
    let keys = args
        .keys
        .iter()
        .map(|path| {
            let text =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            SigningKey::from_pem(&text).with_context(|| format!("{}", path.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut requests = Vec::new();
    for (key, selector) in keys.iter().zip(&args.selectors) {
        let mut request = SigningRequest::new(key, &args.domain, selector)?;
        request.canonicalization = canonicalization;
        request.headers = args.headers.clone();
        request.oversign = args
            .oversign
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect();
        request.identity = args.identity.clone();
        request.expire_after = args.expire;
        request.body_length = args.body_length;
        requests.push(request);
    }

    // A file is read twice (hash, then copy) so the body is never held in memory; standard
    // input is kept in memory.
    let stdin_bytes = match &args.file {
        Some(_) => None,
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read standard input")?;
            Some(buf)
        }
    };
    // Opens the input afresh: once to hash, once to copy out.
    let open = || -> anyhow::Result<Box<dyn Read + '_>> {
        Ok(match (&args.file, &stdin_bytes) {
            (Some(path), _) => Box::new(
                std::fs::File::open(path)
                    .with_context(|| format!("cannot open {}", path.display()))?,
            ),
            (None, Some(bytes)) => Box::new(bytes.as_slice()),
            (None, None) => bail!("no input"),
        })
    };
    // The file's own line end (LF or CRLF), read from its first line.
    let mut head = vec![0u8; 8192];
    let n = read_up_to(&mut open()?, &mut head)?;
    head.truncate(n);
    let lf_only = match head.iter().position(|&b| b == b'\n') {
        Some(pos) => pos == 0 || head[pos - 1] != b'\r',
        None => false,
    };
    let line_end: &'static [u8] = if lf_only { b"\n" } else { b"\r\n" };
    // Both passes read the body with its bare CRs made line ends (RFC 6376 §5.3), so what is
    // written is what was signed.
    let first = BareCrInBody::new(open()?, line_end);
    let mut reader = MessageReader::new(std::io::BufReader::new(first), MessageLimits::default());
    let headers = reader.read_headers()?;
    let mut signer = Signer::new(&headers, requests)?;
    while let Some(chunk) = reader.next_body_chunk()? {
        signer.body(chunk);
    }
    let fields = signer.finish(args.timestamp.unwrap_or_else(crate::now))?;

    let mut copy = BareCrInBody::new(open()?, line_end);
    let mut head = vec![0u8; 8192];
    let n = read_up_to(&mut copy, &mut head)?;
    head.truncate(n);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // An mbox `From ` line stays on top: the signatures go below it.
    let separator = mbox_separator_len(&head);
    out.write_all(&head[..separator])?;
    for field in &fields {
        let mut raw = field.raw().to_vec();
        raw.extend_from_slice(b"\r\n");
        if lf_only {
            raw = String::from_utf8_lossy(&raw)
                .replace("\r\n", "\n")
                .into_bytes();
        }
        out.write_all(&raw)?;
    }
    out.write_all(&head[separator..])?;
    std::io::copy(&mut copy, &mut out)?;
    out.flush()?;
    Ok(0)
}

/// A message reader that turns each bare CR in the body into a line end, `line_end` being
/// the file's own (RFC 6376 §5.3: a signer converts bare CR and LF to CRLF before signing;
/// bare LFs become CRLF in [`MessageReader`]). The header section is passed through: a bare
/// CR there is the parser's to judge, and a changed field would be another message.
struct BareCrInBody<R> {
    inner: R,
    line_end: &'static [u8],
    state: Place,
    /// A CR read whose next octet is not known yet.
    held_cr: bool,
    /// Octets converted and not yet handed out.
    out: Vec<u8>,
    out_pos: usize,
    input: Vec<u8>,
    eof: bool,
}

/// Where [`BareCrInBody`] is in the message.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    /// Inside a header line.
    HeaderLine,
    /// At the start of a header line (an empty line ends the section).
    LineStart,
    /// After a CR at the start of a line.
    LineStartCr,
    Body,
}

impl<R: Read> BareCrInBody<R> {
    fn new(inner: R, line_end: &'static [u8]) -> Self {
        BareCrInBody {
            inner,
            line_end,
            // An mbox `From ` line or the first field: a line, not its start, so an input
            // that opens with an empty line has no header section.
            state: Place::LineStart,
            held_cr: false,
            out: Vec::new(),
            out_pos: 0,
            input: vec![0; 64 * 1024],
            eof: false,
        }
    }

    fn convert(&mut self, n: usize) {
        self.out.clear();
        self.out_pos = 0;
        for &byte in &self.input[..n] {
            match self.state {
                Place::Body => {
                    if self.held_cr {
                        self.held_cr = false;
                        if byte == b'\n' {
                            self.out.extend_from_slice(b"\r\n");
                            continue;
                        }
                        self.out.extend_from_slice(self.line_end);
                    }
                    if byte == b'\r' {
                        self.held_cr = true;
                    } else {
                        self.out.push(byte);
                    }
                }
                place => {
                    self.out.push(byte);
                    self.state = match (place, byte) {
                        (Place::LineStart | Place::LineStartCr, b'\n') => Place::Body,
                        (Place::LineStart, b'\r') => Place::LineStartCr,
                        (_, b'\n') => Place::LineStart,
                        _ => Place::HeaderLine,
                    };
                }
            }
        }
        if n == 0 && self.held_cr {
            // The body ends with a bare CR.
            self.held_cr = false;
            self.out.extend_from_slice(self.line_end);
        }
    }
}

impl<R: Read> Read for BareCrInBody<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.out_pos == self.out.len() {
            if self.eof {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.input)?;
            self.eof = n == 0;
            self.convert(n);
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

fn read_up_to(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `input` through [`BareCrInBody`], `step` octets at a time from the source.
    fn converted(input: &[u8], line_end: &'static [u8], step: usize) -> Vec<u8> {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.1.min(self.0.len()).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut out = Vec::new();
        BareCrInBody::new(Trickle(input, step), line_end)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn bare_crs_in_the_body_become_the_files_line_end_and_the_header_is_left_alone() {
        for (input, line_end, want) in [
            (
                &b"A: 1\r\n\r\na\rb\r\nc\r"[..],
                &b"\r\n"[..],
                &b"A: 1\r\n\r\na\r\nb\r\nc\r\n"[..],
            ),
            (b"A: 1\n\na\rb\nc\r\r", b"\n", b"A: 1\n\na\nb\nc\n\n"),
            (b"X: a\rb\r\n\r\n\r", b"\r\n", b"X: a\rb\r\n\r\n\r\n"),
            (b"X: a\r\r\nY: b\n\nz", b"\n", b"X: a\r\r\nY: b\n\nz"),
            (b"\n\rbody", b"\n", b"\n\nbody"),
            (b"A: no body\r", b"\r\n", b"A: no body\r"),
        ] {
            let line_end: &'static [u8] = if line_end == b"\n" { b"\n" } else { b"\r\n" };
            for step in 1..=input.len() {
                assert_eq!(
                    converted(input, line_end, step),
                    want,
                    "{:?} in steps of {step}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }
}
