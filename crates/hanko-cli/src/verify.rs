//! `hanko verify`: the receiver's whole verdict — DKIM, SPF (given the connection), DMARC and
//! ADSP — as an Authentication-Results field, a summary or JSON.
//!
//! One message (a file or standard input) gets the field and a summary; many (several paths,
//! a directory, an mbox) are verified concurrently by [`crate::bulk`], one line each.

use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hanko::dkim::{KeyCache, Verifier, VerifyConfig};
use hanko::dmarc::reporting::check_destinations;
use hanko::dmarc::DmarcVerdict;
use hanko::dns::Lookup;
use hanko::message::{Headers, MessageLimits, MessageReader};
use hanko::receiver::{self, Receipt, ReceiverConfig};
use hanko::spf::RecordCache;

use crate::dns::DnsArgs;
use crate::render::{self, Report};

/// Options of `hanko verify`.
#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// Print JSON: `dkim` (one entry per signature), `spf`, `dmarc`, `adsp` and
    /// `authentication_results`.
    #[arg(long)]
    pub json: bool,
    /// The authserv-id written in Authentication-Results.
    #[arg(long, default_value = "hanko")]
    pub authserv_id: String,
    /// Verify as if it were this Unix time (for old messages and tests).
    #[arg(long, value_name = "UNIX")]
    pub time: Option<u64>,
    /// The SMTP client's IP address: enables SPF (needs --helo and --mail-from, or
    /// --trust-received).
    #[arg(long)]
    pub ip: Option<IpAddr>,
    /// The HELO/EHLO name the client gave.
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,
    /// The MAIL FROM address ('' for a bounce).
    #[arg(long = "mail-from", value_name = "ADDR")]
    pub mail_from: Option<String>,
    /// Take the connection for SPF from the message: IP and HELO from the topmost Received
    /// field that records a client IP (or the Nth, to pass over your own internal hops), MAIL
    /// FROM from Return-Path. Only for mail your own server received: fields below the ones
    /// it wrote can be forged. --ip, --helo and --mail-from override single facts.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1")]
    pub trust_received: Option<usize>,
    /// Skip the ADSP check (RFC 5617, historic).
    #[arg(long)]
    pub no_adsp: bool,
    /// Messages verified at once when there are many (bulk mode).
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub jobs: usize,
    /// The messages (default: standard input): message files (LF or CRLF line ends), mbox
    /// files, directories (a Maildir's new/ and cur/, or every file below). More than one
    /// message: one line each (one JSON object each with --json) and a summary.
    #[arg(value_name = "PATH")]
    pub files: Vec<PathBuf>,
}

pub async fn run(args: VerifyArgs, dns: &DnsArgs) -> anyhow::Result<u8> {
    if crate::bulk::is_bulk(&args.files) {
        return crate::bulk::run(args, dns).await;
    }
    let (input, name): (Box<dyn Read>, String) = match args.files.first() {
        Some(path) => (
            Box::new(
                std::fs::File::open(path)
                    .with_context(|| format!("cannot open {}", path.display()))?,
            ),
            path.display().to_string(),
        ),
        None => (Box::new(std::io::stdin()), "standard input".to_string()),
    };
    let caches = Caches::default();
    let message = read_message(input, &name, &caches)?;
    let lookup = dns.lookup()?;
    let now = args.time.unwrap_or_else(crate::now);
    let report = check_message(message, &args, &*lookup, &caches, now, true).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&render::json(&report))?);
    } else {
        print!("{}", render::authentication_results(&report));
        print!("{}", render::summary(&report));
    }
    Ok(if passed(&report) { 0 } else { 1 })
}

/// A message read and hashed, waiting for its DNS lookups.
pub(crate) struct ReadMessage {
    headers: Headers,
    verifier: Verifier,
}

/// Records parsed once and kept for every message of a run (bulk mode shares one set).
#[derive(Clone, Default)]
pub(crate) struct Caches {
    /// DKIM key records.
    pub keys: KeyCache,
    /// SPF policies.
    pub spf: RecordCache,
}

/// Reads a message, streaming its body through the DKIM verifier.
pub(crate) fn read_message(
    input: impl Read,
    name: &str,
    caches: &Caches,
) -> anyhow::Result<ReadMessage> {
    let mut reader = MessageReader::new(std::io::BufReader::new(input), MessageLimits::default());
    let headers = reader.read_headers().with_context(|| name.to_string())?;
    let config = VerifyConfig {
        key_cache: Some(caches.keys.clone()),
        ..VerifyConfig::default()
    };
    let mut verifier = Verifier::new(&headers, config);
    while let Some(chunk) = reader.next_body_chunk().with_context(|| name.to_string())? {
        verifier.body(chunk);
    }
    Ok(ReadMessage { headers, verifier })
}

/// The receiver's checks on a message read by [`read_message`]. `destinations`: also check
/// the consent of each DMARC record's report destinations (a query or two more per message).
pub(crate) async fn check_message(
    message: ReadMessage,
    args: &VerifyArgs,
    lookup: &dyn Lookup,
    caches: &Caches,
    now: u64,
    destinations: bool,
) -> anyhow::Result<Report> {
    let ReadMessage { headers, verifier } = message;
    let connection = connection(args, &headers)?;
    let mut config = ReceiverConfig::new(&args.authserv_id);
    config.adsp = !args.no_adsp;
    // The report shows no SPF trace (`hanko spf --trace` does).
    config.spf.record_cache = Some(caches.spf.clone());
    config.spf.keep_trace = false;
    let facts = connection.as_ref().map(|c| receiver::Connection {
        ip: c.ip,
        helo: &c.helo,
        mail_from: &c.mail_from,
    });
    let Receipt {
        dkim,
        spf,
        dmarc,
        adsp,
    } = receiver::check(lookup, &headers, verifier, facts, &config, now).await;
    // Where the owner wants reports, and whether those destinations agreed (RFC 7489 §7.1).
    let mut report_destinations = Vec::new();
    if destinations {
        for e in &dmarc.evaluations {
            if let (Some(record), Some(at)) = (&e.record, &e.record_domain) {
                let organization = e.organizational_domain.as_deref().unwrap_or(at);
                let found = check_destinations(lookup, at, organization, record).await;
                report_destinations.push((e.author_domain.clone(), found));
            }
        }
    }
    Ok(Report {
        authserv_id: args.authserv_id.clone(),
        dkim,
        spf,
        dmarc,
        adsp,
        report_destinations,
        traced_from: connection.and_then(|c| c.traced_from),
    })
}

/// The exit-status rule: DMARC passed, or without a DMARC policy every signature passed.
pub(crate) fn passed(report: &Report) -> bool {
    match report.dmarc.verdict {
        DmarcVerdict::Pass => true,
        DmarcVerdict::None => report.dkim.all_pass(),
        DmarcVerdict::Fail | DmarcVerdict::TempError | DmarcVerdict::PermError => false,
    }
}

/// The SMTP connection SPF is evaluated for.
struct Connection {
    ip: IpAddr,
    helo: String,
    mail_from: String,
    /// The Received field the facts came from (1 = topmost), with --trust-received.
    traced_from: Option<usize>,
}

/// The connection from the flags, or from the message's trace fields with --trust-received
/// (flags override single facts). `None` when SPF is not asked for.
fn connection(args: &VerifyArgs, headers: &Headers) -> anyhow::Result<Option<Connection>> {
    let Some(hop) = args.trust_received else {
        return match (args.ip, &args.helo, &args.mail_from) {
            (None, None, None) => Ok(None),
            (Some(ip), Some(helo), Some(mail_from)) => Ok(Some(Connection {
                ip,
                helo: helo.clone(),
                mail_from: mail_from.clone(),
                traced_from: None,
            })),
            _ => {
                anyhow::bail!("SPF needs all of --ip, --helo and --mail-from (or --trust-received)")
            }
        };
    };
    if hop == 0 {
        anyhow::bail!("--trust-received counts from 1 (the topmost Received field)");
    }
    let traced = hanko::message::traced_connection(headers, hop)
        .context("--trust-received: cannot read the connection")?;
    let mail_from = match (&args.mail_from, traced.mail_from) {
        (Some(flag), _) => flag.clone(),
        (None, Some(path)) => path,
        (None, None) => {
            anyhow::bail!(
                "--trust-received: the message has no Return-Path field; give --mail-from"
            )
        }
    };
    Ok(Some(Connection {
        ip: args.ip.unwrap_or(traced.ip),
        helo: args.helo.clone().unwrap_or(traced.helo),
        mail_from,
        traced_from: Some(traced.field_number),
    }))
}
