//! The `hanko` command: a thin layer that parses flags, calls the library and renders.

#![forbid(unsafe_code)]

mod analyze;
mod arc;
mod bulk;
mod check;
mod dns;
mod keygen;
mod render;
mod report;
mod serve;
mod sign;
mod spf;
mod verify;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// hanko (判子) proves and checks who sent an e-mail: DKIM keys and signing; the receiving
/// server's checks (SPF, DKIM, DMARC, ADSP) written as Authentication-Results; audits of what
/// a domain publishes; a header analyzer for people.
#[derive(Parser)]
#[command(name = "hanko", version, long_version = LONG_VERSION, long_about = None, after_help = EXIT_STATUS)]
struct Cli {
    #[command(flatten)]
    dns: dns::DnsArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a DKIM key pair and the DNS TXT record that publishes it.
    Keygen(keygen::KeygenArgs),
    /// Sign a message: write it with DKIM-Signature fields prepended.
    Sign(sign::SignArgs),
    /// Check a received message as a receiving server does: SPF (given the connection), every
    /// DKIM signature, the ARC chain, DMARC for each author, ADSP; print
    /// Authentication-Results. Many messages (files, a Maildir, an mbox) are checked at once,
    /// one line each.
    Verify(verify::VerifyArgs),
    /// Evaluate SPF (RFC 7208) for a client IP, MAIL FROM and HELO; print Received-SPF.
    Spf(spf::SpfArgs),
    /// Audit the SPF, DKIM, DMARC, MX, ADSP, MTA-STS and TLS-RPT records a domain publishes.
    Check(check::CheckArgs),
    /// Explain a message's headers: hops and delays, every signature tag, each verdict and
    /// why (re-verified unless --offline).
    Analyze(analyze::AnalyzeArgs),
    /// Serve the header analyzer as a web page (paste a message, see the report).
    Serve(serve::ServeArgs),
    /// ARC (RFC 8617): seal a message as a forwarder. (`verify` validates chains.)
    Arc {
        #[command(subcommand)]
        command: ArcCommand,
    },
    /// DKIM utilities.
    Dkim {
        #[command(subcommand)]
        command: DkimCommand,
    },
    /// DNS utilities.
    Dns {
        #[command(subcommand)]
        command: DnsCommand,
    },
    /// Print shell completions for bash, zsh, fish, elvish or powershell.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write the manual pages (hanko.1 and one per subcommand, such as hanko-verify.1) into a
    /// folder.
    Manpages {
        /// The folder (made when missing).
        #[arg(value_name = "DIR")]
        dir: std::path::PathBuf,
    },
    /// DMARC reports: read the ones receivers send a domain owner, and make the ones a
    /// receiver owes.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Read DMARC aggregate and failure reports and SMTP TLS reports (XML, JSON or ARF; .gz,
    /// .zip, or the e-mail that brought them; files or directories) and print a summary of
    /// each, or one JSON object per report with --json (parsedmarc's field names).
    Parse(report::ParseArgs),
    /// Store the aggregate reports read (SQLite by default, PostgreSQL with --db
    /// postgres://...); a report already stored is stored once. Prints what it did.
    Ingest(report::IngestArgs),
    /// Per domain from the store: messages and how many pass DMARC, every sending source and
    /// what it looks like, and what to fix first (or that the domain is ready to enforce).
    Summary(report::SummaryArgs),
    /// As a receiver: make RFC 9990 aggregate reports from the evaluations `verify
    /// --record-db` recorded, one per policy domain and completed period not reported yet,
    /// gzipped into a folder.
    Aggregate(report::AggregateArgs),
}

#[derive(Subcommand)]
enum DnsCommand {
    /// Serve the `--zone` files on a UDP and TCP port (for tests and offline setups).
    Serve(dns::ServeArgs),
}

#[derive(Subcommand)]
enum ArcCommand {
    /// Check the message as a receiver does, then write it with a new ARC set on top: this
    /// hop's results (ARC-Authentication-Results), an ARC-Message-Signature and an ARC-Seal
    /// whose cv= says what validating the chain as received gave.
    Seal(arc::SealArgs),
}

#[derive(Subcommand)]
enum DkimCommand {
    /// Check that the published key record matches a private key (like opendkim-testkey).
    Testkey(keygen::TestkeyArgs),
}

/// `hanko --version`: the version and what this build carries.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncrypto: aws-lc-rs; DNS: hickory-resolver; allocator: mimalloc",
    "\nreport store: SQLite, PostgreSQL (sqlx)"
);

/// Exit status for usage and input errors.
pub const EXIT_USAGE: u8 = 2;

/// The exit statuses, as the README's table gives them (a test holds the two together).
const EXIT_STATUS: &str = "Exit status:
  0  the command ran; for `verify`, DMARC passed, or the From domain has no DMARC policy and every DKIM signature passed
  1  `verify`: DMARC failed (or temperror/permerror), or without a DMARC policy a signature failed or there is none; `testkey`: the record does not match; `check`: an error finding; `arc seal`: the chain already failed, so no set was added (the message is written unchanged)
  2  usage or input error (bad flags, unreadable file, malformed header section, unusable key)";

/// mimalloc instead of the system allocator: bulk verification allocates and frees on every
/// runtime thread at once, and measured 16 % faster with it (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hanko: cannot start: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Keygen(args) => keygen::run(args),
            Command::Sign(args) => sign::run(args),
            Command::Verify(args) if bulk::is_bulk(&args.files) => bulk::run(args, &cli.dns).await,
            Command::Verify(args) => verify::run(args, &cli.dns).await,
            Command::Spf(args) => spf::run(args, &cli.dns).await,
            Command::Check(args) => check::run(args, &cli.dns).await,
            Command::Analyze(args) => analyze::run(args, &cli.dns).await,
            Command::Serve(args) => serve::run(args, &cli.dns).await,
            Command::Arc {
                command: ArcCommand::Seal(args),
            } => arc::seal(args, &cli.dns).await,
            Command::Dkim {
                command: DkimCommand::Testkey(args),
            } => keygen::testkey(args, &cli.dns).await,
            Command::Dns {
                command: DnsCommand::Serve(args),
            } => dns::serve(args, &cli.dns).await,
            Command::Completions { shell } => {
                clap_complete::generate(
                    shell,
                    &mut Cli::command(),
                    "hanko",
                    &mut std::io::stdout(),
                );
                Ok(0)
            }
            Command::Manpages { dir } => manpages(&dir),
            Command::Report {
                command: ReportCommand::Parse(args),
            } => report::parse(args),
            Command::Report {
                command: ReportCommand::Ingest(args),
            } => report::ingest(args).await,
            Command::Report {
                command: ReportCommand::Summary(args),
            } => report::summary_command(args).await,
            Command::Report {
                command: ReportCommand::Aggregate(args),
            } => report::aggregate(args, &cli.dns).await,
        }
    });
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("hanko: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Writes `hanko.1` and a page per subcommand (`hanko-verify.1`, `hanko-report-parse.1`, ...)
/// into `dir`, from the same definitions `--help` prints.
fn manpages(dir: &std::path::Path) -> anyhow::Result<u8> {
    fn write(command: &clap::Command, name: &str, dir: &std::path::Path) -> anyhow::Result<()> {
        let command = command
            .clone()
            .bin_name(name.replace('-', " "))
            .display_name(name.to_string());
        let mut page = Vec::new();
        clap_mangen::Man::new(command.clone())
            .title(name.to_ascii_uppercase())
            .render(&mut page)?;
        std::fs::write(dir.join(format!("{name}.1")), page)?;
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            write(sub, &format!("{name}-{}", sub.get_name()), dir)?;
        }
        Ok(())
    }
    std::fs::create_dir_all(dir)?;
    write(&Cli::command(), "hanko", dir)?;
    Ok(0)
}

/// `hanko ... | head`: when the reader of standard output goes away, stop quietly with
/// status 0, as ripgrep does, instead of the panic `print!` raises on a closed pipe.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
