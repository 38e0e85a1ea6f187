//! `hanko keygen` and `hanko dkim testkey`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use hanko::dkim::{key_record_for, KeyRecordOptions};
use hanko::keys::{zone_txt_record, KeySpec, SigningKey};
use hanko_analyze::records::{render, RecordFormat, TxtRecord};

use crate::dns::DnsArgs;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Rsa,
    Ed25519,
}

/// Options of `hanko keygen`.
#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// The signing domain (d=).
    #[arg(long, required_unless_present = "from_key")]
    domain: Option<String>,
    /// The selector (s=).
    #[arg(long, required_unless_present = "from_key")]
    selector: Option<String>,
    /// Key type.
    #[arg(long, value_enum, default_value_t = Algorithm::Rsa)]
    algorithm: Algorithm,
    /// RSA key size: 2048 (default), 3072 or 4096. Below 2048 is refused (RFC 8301).
    #[arg(long, default_value_t = 2048)]
    bits: usize,
    /// Directory for SELECTOR.private (PKCS#8 PEM, mode 0600) and SELECTOR.txt (zone entry).
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Replace SELECTOR.private and SELECTOR.txt when they exist (without it, an existing
    /// file, or a link planted at either name, is refused and nothing is written).
    #[arg(long)]
    force: bool,
    /// Print the record of this existing private key instead of generating one.
    #[arg(long, value_name = "FILE")]
    from_key: Option<PathBuf>,
    /// Add t=y: the domain is testing DKIM.
    #[arg(long)]
    testing: bool,
    /// Add t=s: i= must use exactly d=, no subdomain.
    #[arg(long)]
    strict: bool,
    /// Add h= listing the allowed hashes, e.g. sha256.
    #[arg(long, value_name = "HASHES")]
    hash: Option<String>,
    /// Add s=email.
    #[arg(long)]
    email_only: bool,
    /// Add n= with a note.
    #[arg(long)]
    note: Option<String>,
    /// Print the record only, in this form: `zone` (an RFC 1035 entry), `value` (the bare
    /// text for a DNS console), `route53` (an AWS Route 53 change batch), `nsupdate` (a
    /// dynamic update script) or `json`. Default: the zone entry and the value.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// The record's TTL in seconds, in the forms that carry one.
    #[arg(long, default_value_t = 3600)]
    ttl: u32,
}

/// `--format`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// An RFC 1035 zone file entry.
    Zone,
    /// The bare value.
    Value,
    /// An AWS Route 53 ChangeResourceRecordSets change batch.
    Route53,
    /// An nsupdate script.
    Nsupdate,
    /// JSON.
    Json,
}

impl From<Format> for RecordFormat {
    fn from(format: Format) -> RecordFormat {
        match format {
            Format::Zone => RecordFormat::Zone,
            Format::Value => RecordFormat::Value,
            Format::Route53 => RecordFormat::Route53,
            Format::Nsupdate => RecordFormat::Nsupdate,
            Format::Json => RecordFormat::Json,
        }
    }
}

/// The record in `--format`, when one was given: (name, value).
fn formatted(
    args: &KeygenArgs,
    name: Option<String>,
    value: &str,
) -> anyhow::Result<Option<String>> {
    let Some(format) = args.format else {
        return Ok(None);
    };
    let name = match (format, name) {
        (_, Some(name)) => name,
        (Format::Value, None) => String::new(),
        (_, None) => {
            bail!("--format {format:?} needs --domain and --selector for the record's name")
        }
    };
    let record = TxtRecord {
        name,
        ttl: args.ttl,
        value: value.to_string(),
    };
    Ok(Some(render(&[record], format.into())))
}

fn record_options(args: &KeygenArgs) -> KeyRecordOptions {
    KeyRecordOptions {
        testing: args.testing,
        strict_identity: args.strict,
        hash_algorithms: args
            .hash
            .as_ref()
            .map(|h| h.split([':', ',']).map(|s| s.trim().to_string()).collect()),
        email_only: args.email_only,
        notes: args.note.clone(),
    }
}

fn print_record(domain: Option<&str>, selector: Option<&str>, value: &str) -> String {
    let mut out = String::new();
    if let (Some(d), Some(s)) = (domain, selector) {
        out.push_str(&zone_txt_record(&format!("{s}._domainkey.{d}"), value));
    }
    out
}

pub fn run(args: KeygenArgs) -> anyhow::Result<u8> {
    let options = record_options(&args);
    if let Some(path) = &args.from_key {
        let text =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let key = SigningKey::from_pem(&text).with_context(|| format!("{}", path.display()))?;
        let value = key_record_for(&key, &options)?;
        let name = match (args.domain.as_deref(), args.selector.as_deref()) {
            (Some(d), Some(s)) => Some(format!("{s}._domainkey.{d}")),
            _ => None,
        };
        if let Some(text) = formatted(&args, name, &value)? {
            print!("{text}");
            return Ok(0);
        }
        print!(
            "{}",
            print_record(args.domain.as_deref(), args.selector.as_deref(), &value)
        );
        println!("{value}");
        return Ok(0);
    }
    let (Some(domain), Some(selector)) = (args.domain.as_deref(), args.selector.as_deref()) else {
        bail!("--domain and --selector are required");
    };
    hanko::name::DomainName::parse(domain).map_err(|e| anyhow::anyhow!("--domain: {e}"))?;
    hanko::name::Selector::parse(selector).map_err(|e| anyhow::anyhow!("--selector: {e}"))?;
    let spec = match args.algorithm {
        Algorithm::Ed25519 => KeySpec::Ed25519,
        Algorithm::Rsa => {
            if args.bits < 1024 {
                bail!("RSA keys under 1024 bits are refused by every verifier (RFC 8301 §3.2)");
            }
            if args.bits < 2048 {
                bail!("RSA keys under 2048 bits are not generated: RFC 8301 §3.2 asks signers for 2048 or more, and hanko signs only with 2048-8192-bit keys");
            }
            KeySpec::Rsa(args.bits)
        }
    };
    let key = SigningKey::generate(spec)?;
    let value = key_record_for(&key, &options)?;
    let zone = print_record(Some(domain), Some(selector), &value);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let key_path = args.out.join(format!("{selector}.private"));
    let txt_path = args.out.join(format!("{selector}.txt"));
    for path in [&key_path, &txt_path] {
        // symlink_metadata: a link counts as existing, wherever (or to nothing) it points.
        if std::fs::symlink_metadata(path).is_ok() {
            if !args.force {
                bail!(
                    "{} exists; choose another --selector or --out, or give --force to replace it",
                    path.display()
                );
            }
            // Removing a link removes the link, never what it points to.
            std::fs::remove_file(path)
                .with_context(|| format!("cannot replace {}", path.display()))?;
        }
    }
    create_new(&key_path, key.to_pkcs8_pem()?.as_bytes(), 0o600)?;
    create_new(&txt_path, zone.as_bytes(), 0o644)?;
    eprintln!("wrote {} and {}", key_path.display(), txt_path.display());
    if let Some(text) = formatted(
        &args,
        Some(format!("{selector}._domainkey.{domain}")),
        &value,
    )? {
        print!("{text}");
        return Ok(0);
    }
    println!("; zone file entry:");
    print!("{zone}");
    println!("; single-line value for DNS consoles (name {selector}._domainkey.{domain}):");
    println!("{value}");
    Ok(0)
}

/// Writes a file that must not exist yet (a link at `path` is refused too: `create_new`
/// follows none), with `mode` on Unix.
fn create_new(path: &std::path::Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    file.write_all(contents)?;
    Ok(())
}

/// Options of `hanko dkim testkey`.
#[derive(Args, Debug)]
pub struct TestkeyArgs {
    /// The signing domain (d=).
    #[arg(long)]
    domain: String,
    /// The selector (s=).
    #[arg(long)]
    selector: String,
    /// The private key file.
    #[arg(long)]
    key: PathBuf,
}

pub async fn testkey(args: TestkeyArgs, dns: &DnsArgs) -> anyhow::Result<u8> {
    let text =
        std::fs::read(&args.key).with_context(|| format!("cannot read {}", args.key.display()))?;
    let key = SigningKey::from_pem(&text).with_context(|| format!("{}", args.key.display()))?;
    let lookup = dns.lookup()?;
    let name = format!("{}._domainkey.{}", args.selector, args.domain);
    let records = match lookup.txt(&name).await {
        Ok(answer) => answer.records,
        Err(e) => {
            println!("{name}: no usable key record: {e}");
            return Ok(1);
        }
    };
    let mut problems = Vec::new();
    let mut ok = false;
    for record in records.iter() {
        match record.dkim_key() {
            Err(e) => problems.push(format!("{e}")),
            Ok(rec) if rec.is_revoked() => problems.push("the key is revoked (empty p=)".into()),
            Ok(rec) if rec.key_type != key.key_type() => problems.push(format!(
                "the record has k={} but the private key is {}",
                rec.key_type,
                key.key_type()
            )),
            Ok(rec) if !rec.matches_key(&key) => {
                problems.push("the published public key does not match the private key".into())
            }
            Ok(rec) => {
                ok = true;
                let bits = rec.key_bits().unwrap_or(0);
                println!("{name}: key OK ({} {} bits)", rec.key_type, bits);
                if rec.testing {
                    println!("  note: t=y is set; remove it once signing works");
                }
                if rec.key_type == hanko::keys::KeyType::Rsa && bits < 2048 {
                    println!("  note: {bits}-bit RSA; RFC 8301 recommends 2048 or more");
                }
            }
        }
    }
    if records.len() > 1 {
        println!(
            "  note: {} TXT records at {name}; publish exactly one",
            records.len()
        );
    }
    if ok {
        return Ok(0);
    }
    for p in problems {
        println!("{name}: {p}");
    }
    Ok(1)
}
