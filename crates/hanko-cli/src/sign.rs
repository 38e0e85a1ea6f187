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
    /// The message (default: standard input). LF or CRLF line ends.
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
    let first = open()?;
    let mut reader = MessageReader::new(std::io::BufReader::new(first), MessageLimits::default());
    let headers = reader.read_headers()?;
    let mut signer = Signer::new(&headers, requests)?;
    while let Some(chunk) = reader.next_body_chunk()? {
        signer.body(chunk);
    }
    let fields = signer.finish(args.timestamp.unwrap_or_else(crate::now))?;

    let mut copy = open()?;
    let mut head = vec![0u8; 8192];
    let n = read_up_to(&mut copy, &mut head)?;
    head.truncate(n);
    let lf_only = match head.iter().position(|&b| b == b'\n') {
        Some(pos) => pos == 0 || head[pos - 1] != b'\r',
        None => false,
    };
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
