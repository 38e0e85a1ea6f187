//! `hanko verify`: the receiver's whole verdict — DKIM, SPF (given the connection), DMARC and
//! ADSP — as an Authentication-Results field, a summary or JSON.

use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hanko::dkim::{Verifier, VerifyConfig};
use hanko::dmarc::reporting::check_destinations;
use hanko::dmarc::{self, DmarcVerdict, Identifiers};
use hanko::message::{MessageLimits, MessageReader};
use hanko::spf::{check_mail_from, SpfConfig};

use crate::dns::DnsArgs;
use crate::render::{self, Report};

/// Options of `hanko verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Print JSON: `dkim` (one entry per signature), `spf`, `dmarc`, `adsp` and
    /// `authentication_results`.
    #[arg(long)]
    json: bool,
    /// The authserv-id written in Authentication-Results.
    #[arg(long, default_value = "hanko")]
    authserv_id: String,
    /// Verify as if it were this Unix time (for old messages and tests).
    #[arg(long, value_name = "UNIX")]
    time: Option<u64>,
    /// The SMTP client's IP address: enables SPF (needs --helo and --mail-from).
    #[arg(long, requires_all = ["helo", "mail_from"])]
    ip: Option<IpAddr>,
    /// The HELO/EHLO name the client gave.
    #[arg(long, value_name = "NAME", requires = "ip")]
    helo: Option<String>,
    /// The MAIL FROM address ('' for a bounce).
    #[arg(long = "mail-from", value_name = "ADDR", requires = "ip")]
    mail_from: Option<String>,
    /// Skip the ADSP check (RFC 5617, historic).
    #[arg(long)]
    no_adsp: bool,
    /// The message (default: standard input). LF or CRLF line ends.
    file: Option<PathBuf>,
}

pub async fn run(args: VerifyArgs, dns: &DnsArgs) -> anyhow::Result<u8> {
    let input: Box<dyn Read> = match &args.file {
        Some(path) => Box::new(
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
        ),
        None => Box::new(std::io::stdin()),
    };
    let name = args
        .file
        .as_ref()
        .map_or("standard input".to_string(), |p| p.display().to_string());
    let mut reader = MessageReader::new(std::io::BufReader::new(input), MessageLimits::default());
    let headers = reader.read_headers().with_context(|| name.clone())?;
    let mut verifier = Verifier::new(&headers, VerifyConfig::default());
    while let Some(chunk) = reader.next_body_chunk().with_context(|| name.clone())? {
        verifier.body(chunk);
    }
    let lookup = dns.lookup()?;
    let now = args.time.unwrap_or_else(crate::now);
    let spf_config = SpfConfig {
        receiver: args.authserv_id.clone(),
        ..SpfConfig::default()
    };
    // DKIM and SPF are independent: run them together.
    let spf = async {
        match (args.ip, &args.helo, &args.mail_from) {
            (Some(ip), Some(helo), Some(mail_from)) => {
                Some(check_mail_from(&*lookup, &spf_config, ip, mail_from, helo, now).await)
            }
            _ => None,
        }
    };
    let (dkim, spf) = tokio::join!(verifier.finish(&*lookup, now), spf);
    let identifiers = Identifiers::from_results(&dkim, spf.as_ref());
    let dmarc = dmarc::check(&*lookup, &headers, &identifiers).await;
    let adsp = match (&dmarc.author_domain, args.no_adsp) {
        (Some(domain), false) => Some(hanko::adsp::check(&*lookup, domain, &dkim).await),
        _ => None,
    };
    // Where the owner wants reports, and whether those destinations agreed (RFC 7489 §7.1).
    let mut report_destinations = Vec::new();
    for e in &dmarc.evaluations {
        if let (Some(record), Some(at)) = (&e.record, &e.record_domain) {
            let organization = e.organizational_domain.as_deref().unwrap_or(at);
            let found = check_destinations(&*lookup, at, organization, record).await;
            report_destinations.push((e.author_domain.clone(), found));
        }
    }
    let report = Report {
        authserv_id: args.authserv_id.clone(),
        dkim,
        spf,
        dmarc,
        adsp,
        report_destinations,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&render::json(&report))?);
    } else {
        print!("{}", render::authentication_results(&report));
        print!("{}", render::summary(&report));
    }
    let passed = match report.dmarc.verdict {
        DmarcVerdict::Pass => true,
        DmarcVerdict::None => report.dkim.all_pass(),
        DmarcVerdict::Fail | DmarcVerdict::TempError | DmarcVerdict::PermError => false,
    };
    Ok(if passed { 0 } else { 1 })
}
