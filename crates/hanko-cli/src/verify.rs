//! `hanko verify`.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hanko::dkim::{Verifier, VerifyConfig};
use hanko::message::{MessageLimits, MessageReader};

use crate::dns::DnsArgs;
use crate::render;

/// Options of `hanko verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Print JSON: an object whose `dkim` member has one entry per signature.
    #[arg(long)]
    json: bool,
    /// The authserv-id written in Authentication-Results.
    #[arg(long, default_value = "hanko")]
    authserv_id: String,
    /// Verify as if it were this Unix time (for old messages and tests).
    #[arg(long, value_name = "UNIX")]
    time: Option<u64>,
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
    let outcome = verifier
        .finish(&*lookup, args.time.unwrap_or_else(crate::now))
        .await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&render::json(&outcome))?);
    } else {
        print!(
            "{}",
            render::authentication_results(&args.authserv_id, &outcome)
        );
        print!("{}", render::summary(&outcome));
    }
    Ok(if outcome.all_pass() { 0 } else { 1 })
}
