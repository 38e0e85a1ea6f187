//! `hanko arc seal`: a forwarder's ARC set (RFC 8617 §5.1) on top of a message.
//!
//! The message goes through the receiver first ([`crate::verify::check`]): its
//! Authentication-Results become the new ARC-Authentication-Results, and its validation of
//! the chain as received gives the seal's `cv=`. A mailing list that changed the message
//! after its server received it seals with `--from-results` instead: the results are the
//! ones that server wrote on receipt (its Authentication-Results fields, merged), and `cv=`
//! their `arc=`.

use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hanko::arc::{merged_results, ArcSealer, ChainStatus, SealError, SealRequest};
use hanko::authres::{AuthenticationResults, ParseOptions};
use hanko::keys::SigningKey;
use hanko::message::{mbox_separator_len, MessageLimits, MessageReader};

use crate::dns::DnsArgs;
use crate::verify::{self, Plan, VerifyArgs};

/// Options of `hanko arc seal`.
#[derive(Args, Debug)]
pub struct SealArgs {
    /// The sealing domain (d= of the ARC-Seal and ARC-Message-Signature).
    #[arg(long)]
    domain: String,
    /// The selector of the sealing key.
    #[arg(long)]
    selector: String,
    /// The private key file (RSA or Ed25519; Gmail and Microsoft verify RSA only).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// This host's authserv-id, written in ARC-Authentication-Results.
    #[arg(long, default_value = "hanko")]
    authserv_id: String,
    /// Header fields the ARC-Message-Signature signs, comma-separated (default: the DKIM
    /// signer's set present).
    #[arg(long, value_delimiter = ',')]
    headers: Option<Vec<String>>,
    /// Header fields signed once more than present (default: From).
    #[arg(long, value_delimiter = ',', default_value = "From")]
    oversign: Vec<String>,
    /// Sealing time (t=) in Unix seconds instead of now; also the time the message is
    /// checked at.
    #[arg(long, value_name = "UNIX")]
    timestamp: Option<u64>,
    /// The SMTP client's IP address, for SPF (with --helo and --mail-from).
    #[arg(long)]
    ip: Option<IpAddr>,
    /// The HELO/EHLO name the client gave.
    #[arg(long, value_name = "NAME")]
    helo: Option<String>,
    /// The MAIL FROM address ('' for a bounce).
    #[arg(long = "mail-from", value_name = "ADDR")]
    mail_from: Option<String>,
    /// Take the connection for SPF from the message's topmost Received field (or the Nth)
    /// and Return-Path, as `hanko verify --trust-received` does.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1")]
    trust_received: Option<usize>,
    /// Take this hop's results from the message's own Authentication-Results fields of
    /// --authserv-id (written when this host received it, before a list changed the
    /// message), and the seal's cv= from their arc= result, instead of checking the message
    /// now. --ip, --helo, --mail-from and --trust-received are then not used.
    #[arg(long)]
    from_results: bool,
    /// The message (default: standard input), LF or CRLF line ends.
    file: Option<PathBuf>,
}

/// Seals one message and writes it with the new set on top. Exit status 0 when a set was
/// added, 1 when the chain already says `cv=fail` (the message is written unchanged: RFC
/// 8617 §5.1.2 adds nothing after a failed chain).
pub async fn seal(args: SealArgs, dns: &DnsArgs) -> anyhow::Result<u8> {
    let key_text =
        std::fs::read(&args.key).with_context(|| format!("cannot read {}", args.key.display()))?;
    let key = SigningKey::from_pem(&key_text).with_context(|| args.key.display().to_string())?;
    let mut request = SealRequest::new(&key, &args.domain, &args.selector)?;
    request.headers = args.headers.clone();
    request.oversign = args
        .oversign
        .iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect();

    let (message, name) = match &args.file {
        Some(path) => (
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
            path.display().to_string(),
        ),
        None => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read standard input")?;
            (bytes, "standard input".to_string())
        }
    };
    let now = args.timestamp.unwrap_or_else(crate::now);
    let mut reader = MessageReader::new(&message[..], MessageLimits::default());
    let headers = reader.read_headers().with_context(|| name.clone())?;
    let mut sealer = ArcSealer::new(&headers, request)?;
    while let Some(chunk) = reader.next_body_chunk()? {
        sealer.body(chunk);
    }
    let (results, chain) = if args.from_results {
        recorded_results(&headers, &args.authserv_id, sealer.instance())?
    } else {
        checked_now(&args, dns, &message, &name, now).await?
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let status = match sealer.finish(chain, &results, now) {
        Ok(set) => {
            let lf_only = match message.iter().position(|&b| b == b'\n') {
                Some(pos) => pos == 0 || message[pos - 1] != b'\r',
                None => false,
            };
            let separator = mbox_separator_len(&message);
            out.write_all(&message[..separator])?;
            for field in set.fields() {
                let mut raw = String::from_utf8_lossy(field.raw()).into_owned();
                raw.push_str("\r\n");
                if lf_only {
                    raw = raw.replace("\r\n", "\n");
                }
                out.write_all(raw.as_bytes())?;
            }
            out.write_all(&message[separator..])?;
            0
        }
        Err(e @ SealError::ChainAlreadyFailed { .. }) => {
            eprintln!("hanko: {name}: {e}; the message is written unchanged");
            out.write_all(&message)?;
            1
        }
        Err(e) => return Err(e).with_context(|| name.clone()),
    };
    out.flush()?;
    Ok(status)
}

/// This hop's results and the chain's status from checking the message now, as `hanko
/// verify` does.
async fn checked_now(
    args: &SealArgs,
    dns: &DnsArgs,
    message: &[u8],
    name: &str,
    now: u64,
) -> anyhow::Result<(String, ChainStatus)> {
    let verify_args = VerifyArgs {
        json: false,
        authserv_id: args.authserv_id.clone(),
        time: Some(now),
        ip: args.ip,
        helo: args.helo.clone(),
        mail_from: args.mail_from.clone(),
        trust_received: args.trust_received,
        no_adsp: true,
        no_arc: false,
        arc_trusted_sealers: Vec::new(),
        record_db: None,
        jobs: 1,
        files: Vec::new(),
    };
    let plan = Plan::new(verify_args, dns, true).await?;
    let receipt = verify::check(&plan, message, name).await?;
    let field = receipt.authentication_results().to_field();
    let results = field
        .split_once(':')
        .map(|(_, value)| value.trim().to_string())
        .unwrap_or_default();
    let chain = receipt
        .arc
        .as_ref()
        .map_or(ChainStatus::None, |arc| arc.status());
    Ok((results, chain))
}

/// This hop's results as its server recorded them in the message, and the chain's status
/// from their `arc=` (without one: `none` for a message with no chain yet, else `fail`).
fn recorded_results(
    headers: &hanko::message::Headers,
    authserv_id: &str,
    instance: u32,
) -> anyhow::Result<(String, ChainStatus)> {
    let results = merged_results(headers, authserv_id).with_context(|| {
        format!("--from-results: the message has no Authentication-Results field of {authserv_id}")
    })?;
    let recorded = AuthenticationResults::parse(&results, ParseOptions::lenient())
        .ok()
        .and_then(|field| {
            field
                .find("arc")
                .and_then(|arc| ChainStatus::parse(&arc.result))
        });
    let chain = match (recorded, instance) {
        (Some(status), _) => status,
        (None, 1) => ChainStatus::None,
        (None, _) => ChainStatus::Fail,
    };
    Ok((results, chain))
}
