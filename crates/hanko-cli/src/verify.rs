//! `hanko verify`: the receiver's whole verdict — DKIM, SPF (given the connection), DMARC and
//! ADSP — as an Authentication-Results field, a summary or JSON.
//!
//! Every message goes through the library's receiver ([`hanko::receiver`]) by [`check`].
//! One message (a file or standard input) gets the field and a summary ([`run`]); many
//! (several paths, a directory, an mbox) are verified concurrently by [`crate::bulk`], one
//! line each.

use std::io::{BufReader, Read};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use hanko::dns::Lookup;
use hanko::message::Headers;
use hanko::receiver::{self, Receipt, Receiver, ReceiverConfig};

use crate::dns::DnsArgs;
use crate::render;

/// Options of `hanko verify`.
#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// Print JSON: `dkim` (one entry per signature), `arc`, `spf`, `dmarc`, `adsp` and
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
    /// Skip ARC chain validation (RFC 8617).
    #[arg(long)]
    pub no_arc: bool,
    /// An ARC sealer (ARC-Seal d=) whose record of the original authentication is believed
    /// (repeatable): a DMARC failure is overridden when the chain validates, the newest set
    /// was sealed by a trusted domain, and the oldest trusted hop recorded the author as
    /// authenticated. Shown as the dmarc= comment and `dmarc.override` in JSON.
    #[arg(long = "arc-trusted-sealer", value_name = "DOMAIN")]
    pub arc_trusted_sealers: Vec<String>,
    /// Record each DMARC evaluation in this store (`sqlite:PATH` or `postgres://...`), the
    /// data `hanko report aggregate` makes RFC 9990 reports from. Rows carry the
    /// verification time (`--time`), so re-verifying an archive records each message in its
    /// own period.
    #[arg(long, value_name = "URL")]
    pub record_db: Option<String>,
    /// Messages verified at once when there are many (bulk mode).
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub jobs: usize,
    /// The messages (default: standard input): message files (LF or CRLF line ends), mbox
    /// files, directories (a Maildir's new/ and cur/, or every file below). More than one
    /// message: one line each (one JSON object each with --json) and a summary.
    #[arg(value_name = "PATH")]
    pub files: Vec<PathBuf>,
}

/// What a run of `hanko verify` fixes once for all its messages: the receiver's settings
/// from the flags, the DNS lookup, the time.
pub(crate) struct Plan {
    /// The flags.
    pub args: VerifyArgs,
    /// The receiver's configuration.
    pub config: ReceiverConfig,
    /// DNS, shared by every message.
    pub lookup: Arc<dyn Lookup>,
    /// The time messages are verified at.
    pub now: u64,
    /// Where evaluations are recorded, with `--record-db`.
    pub recorder: Option<Recorder>,
}

/// Collects the evaluations of the messages verified and writes them to the store in
/// batches (one transaction each).
pub(crate) struct Recorder {
    store: hanko_store::Store,
    pending: std::sync::Mutex<Vec<hanko::receiver::Evaluation>>,
}

impl Recorder {
    /// Rows written in one transaction.
    const BATCH: usize = 1_000;

    /// Adds the rows of one message; writes a batch when one is full.
    pub async fn add(&self, rows: Vec<hanko::receiver::Evaluation>) -> anyhow::Result<()> {
        let full = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.extend(rows);
            (pending.len() >= Self::BATCH).then(|| std::mem::take(&mut *pending))
        };
        if let Some(batch) = full {
            self.write(&batch).await?;
        }
        Ok(())
    }

    /// Writes what is pending.
    pub async fn flush(&self) -> anyhow::Result<()> {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        self.write(&batch).await
    }

    async fn write(&self, batch: &[hanko::receiver::Evaluation]) -> anyhow::Result<()> {
        let keys = hanko_store::row_keys(batch.len());
        let rows: Vec<hanko_store::RecordedRow> = batch
            .iter()
            .zip(keys)
            .map(|(evaluation, key)| hanko_store::RecordedRow { key, evaluation })
            .collect();
        self.store.record_evaluations(&rows).await?;
        Ok(())
    }
}

impl Plan {
    /// The plan for `args`. `many`: bulk mode, where the consent of report destinations is
    /// not checked (a query or two more per message, for a detail the lines do not show).
    pub async fn new(args: VerifyArgs, dns: &DnsArgs, many: bool) -> anyhow::Result<Plan> {
        let mut config = ReceiverConfig::new(&args.authserv_id);
        config.adsp = !args.no_adsp;
        if args.no_arc {
            config.arc = None;
        }
        config.trusted_arc_sealers = args.arc_trusted_sealers.clone();
        config.report_destinations = !many;
        let recorder = match &args.record_db {
            Some(url) => Some(Recorder {
                store: hanko_store::Store::open(url).await?,
                pending: std::sync::Mutex::new(Vec::new()),
            }),
            None => None,
        };
        Ok(Plan {
            recorder,
            lookup: Arc::from(dns.lookup()?),
            now: args.time.unwrap_or_else(crate::now),
            config,
            args,
        })
    }
}

/// Reads one message (named `name` in errors) and runs the receiver on it.
pub(crate) async fn check(plan: &Plan, input: impl Read, name: &str) -> anyhow::Result<Receipt> {
    let message =
        Receiver::read(&plan.config, BufReader::new(input)).with_context(|| name.to_string())?;
    let connection = connection(&plan.args, message.headers())?;
    let smtp = connection.as_ref().map(|c| receiver::Connection {
        ip: c.ip,
        helo: &c.helo,
        mail_from: &c.mail_from,
        received_field: c.traced_from,
    });
    let receipt = message.finish(&*plan.lookup, smtp, plan.now).await;
    if let Some(recorder) = &plan.recorder {
        recorder.add(receipt.evaluations(plan.now)).await?;
    }
    Ok(receipt)
}

/// Verifies one message (a file, or standard input) and prints its Authentication-Results
/// field and a summary, or JSON. Exit status 0 when it passed.
pub async fn run(args: VerifyArgs, dns: &DnsArgs) -> anyhow::Result<u8> {
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
    let plan = Plan::new(args, dns, false).await?;
    let receipt = check(&plan, input, &name).await?;
    if let Some(recorder) = &plan.recorder {
        recorder.flush().await?;
    }
    if plan.args.json {
        // The library's own serialization of the receipt.
        println!("{}", serde_json::to_string_pretty(&receipt)?);
    } else {
        print!("{}", render::authentication_results(&receipt));
        print!("{}", render::summary(&receipt));
    }
    Ok(if receipt.passed() { 0 } else { 1 })
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
