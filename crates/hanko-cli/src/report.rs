//! `hanko report parse` and `hanko report ingest`: reports read by `hanko-report`, printed as
//! a summary per report or as JSON Lines with parsedmarc's field names, or stored with
//! `hanko-store`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use hanko_report::aggregate::{AggregateReport, Verdict};
use hanko_report::{FailureReport, Limits, Report, ReportError, TlsReport};
use serde::Serialize;

/// The flags of `hanko report parse`.
#[derive(Args, Debug)]
pub struct ParseArgs {
    /// One JSON object per report (JSON Lines), with parsedmarc's field names.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub input: InputArgs,
}

/// One JSON line: a report, or why a file is not one.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line<'a> {
    Aggregate {
        file: &'a str,
        #[serde(flatten)]
        report: &'a AggregateReport,
    },
    SmtpTls {
        file: &'a str,
        #[serde(flatten)]
        report: &'a TlsReport,
    },
    Failure {
        file: &'a str,
        #[serde(flatten)]
        report: &'a FailureReport,
    },
    Error {
        file: &'a str,
        error: String,
    },
}

/// How inputs are read: the flags `parse` and `ingest` share.
#[derive(Args, Debug)]
pub struct InputArgs {
    /// Refuse a report that needed any repair to be read (each warning of the lenient
    /// reading becomes a refusal).
    #[arg(long)]
    pub strict: bool,
    /// Refuse a report that unpacks to more than this many MiB.
    #[arg(long, value_name = "MIB", default_value_t = 50)]
    pub max_report_mib: usize,
    /// Report files (XML, JSON, .gz, .zip, e-mail messages, mbox files) or directories of them
    /// (a Maildir's `tmp/` is skipped); standard input without one.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// Every input of `args`, read: `each` gets its name and the report or why it was refused.
fn read_inputs(
    args: &InputArgs,
    mut each: impl FnMut(&str, Result<hanko_report::Parsed, String>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let limits = Limits {
        max_bytes: args.max_report_mib.saturating_mul(1024 * 1024),
        ..Limits::default()
    };
    let mut read_one = |name: &str, bytes: std::io::Result<Vec<u8>>| -> anyhow::Result<()> {
        let parsed = bytes
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|b| hanko_report::parse(&b, &limits).map_err(|e: ReportError| e.to_string()))
            .and_then(|parsed| match parsed.report.warnings() {
                [first, rest @ ..] if args.strict => Err(format!(
                    "refused (--strict): {}{}",
                    first.0,
                    if rest.is_empty() {
                        String::new()
                    } else {
                        format!(" (and {} more)", rest.len())
                    }
                )),
                _ => Ok(parsed),
            });
        each(name, parsed)
    };
    if args.paths.is_empty() {
        let mut bytes = Vec::new();
        let read = std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map(|_| bytes);
        read_one("standard input", read)?;
    }
    let mut inputs = Vec::new();
    for path in &args.paths {
        collect(path, &mut inputs);
    }
    for input in &inputs {
        let name = input.display().to_string();
        match std::fs::read(input) {
            Ok(bytes) if hanko::message::mbox_separator_len(&bytes) > 0 => {
                // An mbox: each message is a report (a single one keeps the file's name).
                let messages: Vec<_> =
                    hanko::message::MboxReader::new(std::io::Cursor::new(bytes)).collect();
                let several = messages.len() > 1;
                for message in messages {
                    match message {
                        Ok(m) if several => {
                            read_one(&format!("{name}#{}", m.number), Ok(m.message))?
                        }
                        Ok(m) => read_one(&name, Ok(m.message))?,
                        Err(e) => read_one(&name, Err(std::io::Error::other(e.to_string())))?,
                    }
                }
            }
            read => read_one(&name, read)?,
        }
    }
    Ok(())
}

/// Reads every report; exit status 0 when each input was read, 2 when any was refused.
pub fn parse(args: ParseArgs) -> anyhow::Result<u8> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut refused = 0;
    read_inputs(&args.input, |name, parsed| {
        match parsed {
            Ok(parsed) if args.json => {
                let line = match &parsed.report {
                    Report::Aggregate(report) => Line::Aggregate { file: name, report },
                    Report::SmtpTls(report) => Line::SmtpTls { file: name, report },
                    Report::Failure(report) => Line::Failure { file: name, report },
                    // A kind this command does not know yet.
                    _ => Line::Error {
                        file: name,
                        error: "a kind of report this command cannot print".into(),
                    },
                };
                serde_json::to_writer(&mut out, &line)?;
                writeln!(out)?;
            }
            Ok(parsed) => write!(out, "{}", summary(name, &parsed))?,
            Err(error) => {
                refused += 1;
                if args.json {
                    serde_json::to_writer(&mut out, &Line::Error { file: name, error })?;
                    writeln!(out)?;
                } else {
                    writeln!(out, "{name}: {error}\n")?;
                }
            }
        }
        Ok(())
    })?;
    Ok(if refused > 0 { crate::EXIT_USAGE } else { 0 })
}

/// The flags of `hanko report ingest`.
#[derive(Args, Debug)]
pub struct IngestArgs {
    /// The store: `sqlite:PATH` or `postgres://...` (also `HANKO_DB`). Default: `sqlite:`
    /// hanko/reports.sqlite under the user's data directory.
    #[arg(long, value_name = "URL", env = "HANKO_DB")]
    pub db: Option<String>,
    #[command(flatten)]
    pub input: InputArgs,
}

/// The store `--db` names, else the default one; and its URL, for messages.
async fn open_store(db: Option<&str>) -> anyhow::Result<(hanko_store::Store, String)> {
    let url = match db.map(str::to_string).or_else(hanko_store::default_url) {
        Some(url) => url,
        None => anyhow::bail!("no --db given, and no home directory for the default store"),
    };
    Ok((hanko_store::Store::open(&url).await?, url))
}

/// Stores every aggregate report read; prints what it did. Exit status 0 when every input
/// was read, 2 when any was refused.
pub async fn ingest(args: IngestArgs) -> anyhow::Result<u8> {
    let (store, _) = open_store(args.db.as_deref()).await?;
    let now = crate::now();
    let mut reports = Vec::new();
    let (mut refused, mut not_stored) = (0, 0);
    read_inputs(&args.input, |name, parsed| {
        match parsed {
            Ok(parsed) => match parsed.report {
                Report::Aggregate(report) => reports.push((name.to_string(), report)),
                _ => {
                    not_stored += 1;
                    eprintln!("{name}: not stored (only aggregate reports are stored so far)");
                }
            },
            Err(error) => {
                refused += 1;
                eprintln!("{name}: {error}");
            }
        }
        Ok(())
    })?;
    let (mut stored, mut there) = (0, 0);
    for (name, report) in &reports {
        match store.store_aggregate(report, now).await {
            Ok(hanko_store::Stored::New) => stored += 1,
            Ok(hanko_store::Stored::AlreadyThere) => there += 1,
            Err(e) => {
                refused += 1;
                eprintln!("{name}: {e}");
            }
        }
    }
    let mut line = format!("{stored} stored, {there} already there, {refused} refused");
    if not_stored > 0 {
        line.push_str(&format!(
            ", {not_stored} not aggregate reports (not stored)"
        ));
    }
    println!("{line}");
    Ok(if refused > 0 { crate::EXIT_USAGE } else { 0 })
}

/// The flags of `hanko report summary`.
#[derive(Args, Debug)]
pub struct SummaryArgs {
    /// The store (as for `ingest`; also `HANKO_DB`).
    #[arg(long, value_name = "URL", env = "HANKO_DB")]
    pub db: Option<String>,
    /// Only this policy domain. Default: every domain in the store.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Reports beginning at or after this date (YYYY-MM-DD, UTC, or Unix seconds).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Reports beginning before this date.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// One JSON object per domain (JSON Lines).
    #[arg(long)]
    pub json: bool,
}

/// Per domain: messages and how many pass DMARC, every source, and what to fix first.
pub async fn summary_command(args: SummaryArgs) -> anyhow::Result<u8> {
    let date = |flag: &str, value: &Option<String>, default: u64| match value {
        None => Ok(default),
        Some(text) => hanko_report::time::parse_date(text)
            .ok_or_else(|| anyhow::anyhow!("--{flag} {text:?} is not YYYY-MM-DD or Unix seconds")),
    };
    let since = date("since", &args.since, 0)?;
    let until = date("until", &args.until, u64::MAX / 2)?;
    let (store, url) = open_store(args.db.as_deref()).await?;
    let domains = match &args.domain {
        Some(domain) => vec![domain.to_ascii_lowercase()],
        None => store.domains().await?,
    };
    if domains.is_empty() {
        println!("no reports stored in {url}");
        return Ok(0);
    }
    for domain in domains {
        let rows = store.records(&domain, since, until).await?;
        let summary = hanko_report::summary::summarize(&domain, &rows);
        if args.json {
            println!("{}", serde_json::to_string(&summary)?);
        } else {
            print!("{}", summary_text(&summary));
        }
    }
    Ok(0)
}

/// A domain's summary for people.
fn summary_text(summary: &hanko_report::summary::Summary) -> String {
    let share = if summary.messages == 0 {
        0.0
    } else {
        summary.passing as f64 * 100.0 / summary.messages as f64
    };
    let mut out = format!(
        "{}: {} messages, {share:.1}% passing DMARC, {} sources\n",
        summary.domain,
        summary.messages,
        summary.sources.len()
    );
    if !summary.sources.is_empty() {
        out.push_str(&format!(
            "  {:<39} {:>8} {:>8} {:>8} {:>8}  {:<14} signed as / envelope\n",
            "source", "messages", "passing", "dkim", "spf", "looks like"
        ));
    }
    for source in &summary.sources {
        let looks_like = serde_json::to_value(source.looks_like)
            .ok()
            .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
            .unwrap_or_default();
        let seen: Vec<&str> = source
            .dkim_signers
            .iter()
            .chain(&source.envelope_from)
            .map(String::as_str)
            .collect();
        out.push_str(&format!(
            "  {:<39} {:>8} {:>8} {:>8} {:>8}  {:<14} {}\n",
            source.source_ip,
            source.messages,
            source.passing,
            source.dkim_aligned,
            source.spf_aligned,
            looks_like,
            seen.join(", ")
        ));
    }
    out.push_str("  What to fix first:\n");
    for (n, advice) in summary.advice.iter().enumerate() {
        out.push_str(&format!("  {}. {}\n", n + 1, advice.text));
    }
    out.push('\n');
    out
}

/// Files below `path`, sorted; `path` itself when it is not a directory.
fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    match std::fs::read_dir(path) {
        Ok(entries) => {
            let mut found: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                // A Maildir's deliveries still being written.
                .filter(|p| !(p.ends_with("tmp") && path.join("cur").is_dir()))
                .collect();
            found.sort();
            for entry in found {
                collect(&entry, out);
            }
        }
        Err(_) => out.push(path.to_path_buf()),
    }
}

/// A readable summary of one report.
fn summary(name: &str, parsed: &hanko_report::Parsed) -> String {
    match &parsed.report {
        Report::Aggregate(report) => aggregate_summary(name, parsed, report),
        Report::SmtpTls(report) => tls_summary(name, report),
        Report::Failure(report) => failure_summary(name, report),
        _ => format!("{name}: a kind of report this command cannot print\n\n"),
    }
}

/// A failure report: what failed, for which message.
fn failure_summary(name: &str, report: &FailureReport) -> String {
    let or = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".into());
    let mut out = format!(
        "{name}: failure report ({}) from {}\n  {} failed for {} (source {}, arrived {})\n",
        report.feedback_type,
        or(&report.user_agent),
        if report.auth_failure.is_empty() {
            "-".to_string()
        } else {
            report.auth_failure.join(", ")
        },
        or(&report.reported_domain),
        report
            .source
            .as_ref()
            .map_or("-".to_string(), |s| s.ip_address.clone()),
        or(&report.arrival_date),
    );
    if let Some(sample) = &report.parsed_sample {
        out.push_str(&format!(
            "  sample: from {} to {}, subject {:?}\n",
            or(&sample.from),
            or(&sample.to),
            sample.subject.clone().unwrap_or_default()
        ));
    }
    for warning in &report.warnings {
        out.push_str(&format!("  warning: {}\n", warning.0));
    }
    out.push('\n');
    out
}

/// An SMTP TLS report: per policy, the sessions and why some failed.
fn tls_summary(name: &str, report: &TlsReport) -> String {
    let mut out = format!(
        "{name}: SMTP TLS report from {} ({}), {} to {}\n",
        report.organization_name,
        report.report_id.as_deref().unwrap_or("no report id"),
        report.begin_date,
        report.end_date
    );
    for policy in &report.policies {
        out.push_str(&format!(
            "  {} ({}): {} sessions succeeded, {} failed\n",
            policy
                .policy_domain
                .as_deref()
                .unwrap_or("(no policy domain)"),
            policy.policy_type,
            policy.successful_session_count,
            policy.failed_session_count
        ));
        for detail in &policy.failure_details {
            out.push_str(&format!(
                "    {} x{}{}\n",
                detail.result_type,
                detail.failed_session_count,
                detail
                    .receiving_mx_hostname
                    .as_deref()
                    .map(|mx| format!(" at {mx}"))
                    .unwrap_or_default()
            ));
        }
    }
    for warning in &report.warnings {
        out.push_str(&format!("  warning: {}\n", warning.0));
    }
    out.push('\n');
    out
}

/// An aggregate report: the policy, the totals, one line per record.
fn aggregate_summary(
    name: &str,
    parsed: &hanko_report::Parsed,
    report: &AggregateReport,
) -> String {
    let meta = &report.report_metadata;
    let policy = &report.policy_published;
    let word = |w: Option<&str>| w.unwrap_or("-").to_string();
    let mut out = format!(
        "{name}: aggregate report ({}, {}) from {} ({}), {} to {}\n",
        report.xml_schema.as_str(),
        if parsed.in_message {
            format!("{} in an e-mail message", parsed.packing.as_str())
        } else {
            parsed.packing.as_str().to_string()
        },
        meta.org_name,
        meta.report_id,
        hanko_report::time::format(meta.begin_date),
        hanko_report::time::format(meta.end_date),
    );
    out.push_str(&format!(
        "  policy published for {}: p={} sp={} adkim={} aspf={}\n",
        policy.domain,
        word(policy.p.as_ref().map(|p| p.as_str())),
        word(policy.sp.as_ref().map(|p| p.as_str())),
        word(policy.adkim.as_ref().map(|a| a.as_str())),
        word(policy.aspf.as_ref().map(|a| a.as_str())),
    ));
    let total: u64 = report.records.iter().map(|r| r.count).sum();
    let passing: u64 = report
        .records
        .iter()
        .filter(|r| {
            r.policy_evaluated.dkim == Some(Verdict::Pass)
                || r.policy_evaluated.spf == Some(Verdict::Pass)
        })
        .map(|r| r.count)
        .sum();
    out.push_str(&format!(
        "  {total} messages in {} records, {passing} passing DMARC\n",
        report.records.len()
    ));
    for record in &report.records {
        let evaluated = &record.policy_evaluated;
        out.push_str(&format!(
            "  {:<39} {:>6}  {:<10} dkim={} spf={}  from {}\n",
            record.source.ip_address.to_string(),
            record.count,
            evaluated.disposition.as_str(),
            word(evaluated.dkim.as_ref().map(|v| v.as_str())),
            word(evaluated.spf.as_ref().map(|v| v.as_str())),
            record.identifiers.header_from,
        ));
    }
    for warning in &report.warnings {
        out.push_str(&format!("  warning: {}\n", warning.0));
    }
    out.push('\n');
    out
}

/// How long each report covers.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// A UTC day (RFC 9990's usual period).
    Day,
    /// An hour.
    Hour,
}

impl Period {
    fn seconds(self) -> u64 {
        match self {
            Period::Day => 86_400,
            Period::Hour => 3_600,
        }
    }
}

/// Options of `hanko report aggregate`.
#[derive(Args, Debug)]
pub struct AggregateArgs {
    /// The store the evaluations were recorded in (`hanko verify --record-db`; also
    /// `HANKO_DB`).
    #[arg(long, value_name = "URL", env = "HANKO_DB")]
    pub db: Option<String>,
    /// `org_name`: the reporting organization.
    #[arg(long, value_name = "NAME")]
    pub org_name: String,
    /// `email`: where domain owners can write back.
    #[arg(long, value_name = "ADDR")]
    pub org_email: String,
    /// `extra_contact_info`: a web page about your reports, say.
    #[arg(long, value_name = "TEXT")]
    pub extra_contact_info: Option<String>,
    /// How long each report covers, on UTC boundaries.
    #[arg(long, value_enum, default_value = "day")]
    pub period: Period,
    /// Report every period that has ended by this time (YYYY-MM-DD, an RFC 3339 date-time in
    /// UTC, or Unix seconds). Default: now.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// The receiver's name at the start of each file name. Default: --org-name.
    #[arg(long, value_name = "NAME")]
    pub receiver: Option<String>,
    /// The folder the reports are written to (made when missing), one
    /// `receiver!policy-domain!begin!end!id.xml.gz` each.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also send each report to the `rua=` destinations of its domain's DMARC record that
    /// may receive it (RFC 9990 §3.1.3; one outside the domain must agree through its
    /// `_report._dmarc` record), as a message with the report attached. A report is noted as
    /// made only once every destination took it.
    #[arg(long)]
    pub send: bool,
    /// The sender (From and MAIL FROM). Default: --org-email.
    #[arg(long, value_name = "ADDR")]
    pub from: Option<String>,
    /// The SMTP relay, plain SMTP (it does TLS onwards).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:25")]
    pub smtp: String,
    /// Hand the messages to this sendmail program instead of the SMTP relay.
    #[arg(long, value_name = "PATH")]
    pub sendmail: Option<PathBuf>,
    /// Sign the messages with this DKIM key (PEM; d= is the sender's domain), so that
    /// reports pass DMARC.
    #[arg(long, value_name = "FILE", requires = "dkim_selector")]
    pub dkim_key: Option<PathBuf>,
    /// The selector of --dkim-key.
    #[arg(long, value_name = "SELECTOR", requires = "dkim_key")]
    pub dkim_selector: Option<String>,
    /// Largest report sent, in MiB (gzipped); a larger one is written but not sent.
    #[arg(long, value_name = "MIB", default_value_t = 10)]
    pub max_report_mib: u64,
}

/// Where and how reports are sent, from the flags.
struct Sending {
    from: String,
    submission: hanko_send::Submission,
    signing: Option<hanko::dkim::SigningRequest>,
    max_bytes: usize,
}

impl Sending {
    fn new(args: &AggregateArgs) -> anyhow::Result<Sending> {
        let from = args.from.clone().unwrap_or_else(|| args.org_email.clone());
        let submission = match &args.sendmail {
            Some(program) => hanko_send::Submission::Sendmail {
                program: program.clone(),
            },
            None => {
                let (host, port) = args
                    .smtp
                    .rsplit_once(':')
                    .and_then(|(h, p)| Some((h.to_string(), p.parse().ok()?)))
                    .ok_or_else(|| anyhow::anyhow!("--smtp {:?} is not HOST:PORT", args.smtp))?;
                hanko_send::Submission::Smtp { host, port }
            }
        };
        let signing = match (&args.dkim_key, &args.dkim_selector) {
            (Some(path), Some(selector)) => {
                let pem = std::fs::read(path)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
                let key = hanko::keys::SigningKey::from_pem(&pem)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                let domain = from.rsplit_once('@').map_or("", |(_, d)| d);
                Some(hanko::dkim::SigningRequest::new(&key, domain, selector)?)
            }
            _ => None,
        };
        Ok(Sending {
            from,
            submission,
            signing,
            max_bytes: usize::try_from(args.max_report_mib.saturating_mul(1024 * 1024))
                .unwrap_or(usize::MAX),
        })
    }
}

/// The `rua=` addresses of `domain`'s DMARC record that may receive reports; an error when
/// DNS failed (the report is then sent on a later run).
async fn rua_addresses(
    lookup: &dyn hanko::dns::Lookup,
    domain: &str,
) -> Result<Vec<String>, String> {
    use hanko::dmarc::reporting::{check_destinations, Authorization, ReportKind};
    let name = format!("_dmarc.{domain}");
    let answer = match lookup.txt(&name).await {
        Ok(answer) => answer,
        Err(e) if e.is_temporary() => return Err(format!("{name}: {e}")),
        Err(_) => return Ok(Vec::new()),
    };
    let Some(record) = answer
        .texts()
        .iter()
        .filter_map(|t| hanko::dmarc::DmarcRecord::parse(&String::from_utf8_lossy(t)).ok())
        .next()
    else {
        return Ok(Vec::new());
    };
    let mut addresses = Vec::new();
    for destination in check_destinations(lookup, domain, domain, &record).await {
        if destination.kind != ReportKind::Aggregate {
            continue;
        }
        match &destination.authorization {
            Authorization::TempError { name, error } => {
                return Err(format!("{name}: {error}"));
            }
            Authorization::Authorized { replaced_by, .. } if !replaced_by.is_empty() => {
                addresses.extend(replaced_by.iter().filter_map(|u| u.address.clone()));
            }
            a if a.allows_reports() => addresses.extend(destination.uri.address.clone()),
            _ => {}
        }
    }
    addresses.dedup();
    Ok(addresses)
}

/// Makes an RFC 9990 aggregate report for each policy domain and completed period with
/// recorded evaluations not reported yet, writes it to `--out`, and notes it as made, so a
/// second run makes nothing new. Prints one line per report.
pub async fn aggregate(args: AggregateArgs, dns: &crate::dns::DnsArgs) -> anyhow::Result<u8> {
    use hanko_report::generate::{build, file_name, gzip, to_xml, Reporter};

    let sending = match args.send {
        true => Some((Sending::new(&args)?, dns.lookup()?)),
        false => None,
    };
    let (store, _) = open_store(args.db.as_deref()).await?;
    let now = crate::now();
    let until = match &args.until {
        None => now,
        Some(text) => hanko_report::time::parse_date(text).ok_or_else(|| {
            anyhow::anyhow!(
                "--until {text:?} is not YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or Unix seconds"
            )
        })?,
    };
    let period = args.period.seconds();
    let reporter = Reporter {
        org_name: args.org_name.clone(),
        org_email: args.org_email.clone(),
        extra_contact_info: args.extra_contact_info.clone(),
    };
    let receiver = args
        .receiver
        .clone()
        .unwrap_or_else(|| args.org_name.clone());
    std::fs::create_dir_all(&args.out)
        .map_err(|e| anyhow::anyhow!("cannot make {}: {e}", args.out.display()))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut made = 0;
    for (domain, begin) in store.unreported_periods(period, until).await? {
        let range = (begin, begin + period - 1);
        let rows = store.evaluations(&domain, range.0, range.1).await?;
        let Some(report) = build(&reporter, &domain, range, &rows) else {
            continue;
        };
        let name = file_name(&receiver, &report);
        let path = args.out.join(&name);
        let packed = gzip(&to_xml(&report));
        std::fs::write(&path, &packed)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        if let Some((sending, lookup)) = &sending {
            if !send_report(sending, &**lookup, &report, &name, &packed, now, &mut out).await? {
                continue;
            }
        }
        if store
            .mark_reported(
                &domain,
                range,
                &report.report_metadata.report_id,
                &name,
                now,
            )
            .await?
        {
            made += 1;
            let messages: u64 = report.records.iter().map(|r| r.count).sum();
            writeln!(
                out,
                "{name}: {} records, {messages} messages",
                report.records.len()
            )?;
        }
    }
    if made == 0 {
        writeln!(out, "no period to report")?;
    }
    Ok(0)
}

/// Sends one report to every destination that may receive it; false when one could not be
/// reached now (the report is sent again by a later run).
async fn send_report(
    sending: &Sending,
    lookup: &dyn hanko::dns::Lookup,
    report: &AggregateReport,
    name: &str,
    packed: &[u8],
    now: u64,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let domain = &report.policy_published.domain;
    let addresses = match rua_addresses(lookup, domain).await {
        Ok(addresses) => addresses,
        Err(why) => {
            writeln!(
                out,
                "{name}: not sent, DNS failed ({why}); it is sent next time"
            )?;
            return Ok(false);
        }
    };
    if addresses.is_empty() {
        writeln!(
            out,
            "{name}: {domain} names no rua= destination that may receive it"
        )?;
        return Ok(true);
    }
    if packed.len() > sending.max_bytes {
        writeln!(
            out,
            "{name}: not sent, {} octets is over --max-report-mib",
            packed.len()
        )?;
        return Ok(true);
    }
    let submitter = sending
        .from
        .rsplit_once('@')
        .map_or(sending.from.as_str(), |(_, d)| d);
    let mut all = true;
    for address in &addresses {
        let mail = hanko_send::ReportMail {
            from: &sending.from,
            to: address,
            policy_domain: domain,
            submitter,
            report_id: &report.report_metadata.report_id,
            file_name: name,
            gzip: packed,
            text: format!(
                "The DMARC aggregate report of {} for {domain}, {} to {} (UTC).\r\n",
                report.report_metadata.org_name,
                hanko_report::time::format(report.report_metadata.begin_date),
                hanko_report::time::format(report.report_metadata.end_date)
            ),
        };
        let mut message = hanko_send::report_message(&mail)?;
        if let Some(request) = &sending.signing {
            message = hanko_send::dkim_sign(&message, request.clone(), now)?;
        }
        match hanko_send::submit(&sending.submission, &sending.from, address, &message).await {
            Ok(()) => writeln!(out, "{name}: sent to {address}")?,
            Err(e) => {
                writeln!(
                    out,
                    "{name}: not sent to {address}: {e}; it is sent next time"
                )?;
                all = false;
            }
        }
    }
    Ok(all)
}
