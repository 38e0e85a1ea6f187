//! `hanko-milter --config FILE`: the daemon. Thin: flags, logging, signals; the work is in
//! the library.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};

/// hanko-milter: signs outgoing and verifies incoming mail for Postfix and Sendmail.
///
/// SIGTERM or SIGINT stop it after the messages in progress; SIGHUP re-reads the
/// configuration (a bad file is logged and the running settings stay).
#[derive(Parser)]
#[command(name = "hanko-milter", version)]
struct Args {
    /// The configuration file (TOML; see examples/hanko-milter.toml).
    #[arg(long, value_name = "FILE", required_unless_present = "manpages")]
    config: Option<PathBuf>,
    /// Check the configuration and keys, print what would run, and exit.
    #[arg(long)]
    check: bool,
    /// Write the manual pages hanko-milter.8 and hanko-milter.toml.5 into a folder, and exit.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "check"])]
    manpages: Option<PathBuf>,
}

/// The annotated example configuration, the body of hanko-milter.toml(5).
const EXAMPLE_CONFIG: &str = include_str!("../../../examples/hanko-milter.toml");

/// Writes hanko-milter.8 (from the flags) and hanko-milter.toml.5 (the annotated example
/// configuration, every setting with its default) into `dir`.
fn manpages(dir: &std::path::Path) -> anyhow::Result<()> {
    use clap::CommandFactory;
    std::fs::create_dir_all(dir)?;
    let mut page = Vec::new();
    clap_mangen::Man::new(Args::command())
        .section("8")
        .render(&mut page)?;
    std::fs::write(dir.join("hanko-milter.8"), page)?;
    std::fs::write(dir.join("hanko-milter.toml.5"), config_page())?;
    Ok(())
}

/// hanko-milter.toml(5) in roff: the example file verbatim, which says every setting.
fn config_page() -> String {
    let mut page = String::from(
        ".TH HANKO-MILTER.TOML 5\n.SH NAME\nhanko\\-milter.toml \\- configuration of \
         hanko\\-milter\n.SH DESCRIPTION\nhanko\\-milter reads one TOML file, given with \
         \\fB\\-\\-config\\fR. Every setting is below with its default and what it does; \
         check a file with \\fBhanko\\-milter \\-\\-config FILE \\-\\-check\\fR. SIGHUP \
         re-reads it.\n.SH SETTINGS\n.nf\n",
    );
    for line in EXAMPLE_CONFIG.lines() {
        // Roff: a backslash is written twice, and a line may not begin with a dot or quote.
        let line = line.replace('\\', "\\\\");
        if line.starts_with(['.', '\'']) {
            page.push_str("\\&");
        }
        page.push_str(&line);
        page.push('\n');
    }
    page.push_str(".fi\n.SH SEE ALSO\nhanko\\-milter(8), hanko(1)\n");
    page
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(dir) = &args.manpages {
        return match manpages(dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hanko-milter: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hanko-milter: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hanko-milter: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Log lines to standard error, in the configured format, at the level `RUST_LOG` names
/// (default: info).
fn init_logging(format: hanko_milter::config::LogFormat) {
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr);
    match format {
        hanko_milter::config::LogFormat::Json => builder.json().flatten_event(true).init(),
        // Colours only on a terminal: a journal or log file gets plain text.
        hanko_milter::config::LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let config = args
        .config
        .clone()
        .ok_or_else(|| anyhow::anyhow!("--config FILE is required"))?;
    let (settings, lookup) = hanko_milter::load(&config)?;
    init_logging(settings.file.log_format);
    if args.check {
        println!(
            "{}: listen {}, mode {:?}, {} signing row(s), authserv-id {}",
            config.display(),
            settings.file.listen,
            settings.file.mode,
            settings.signing.len(),
            settings.authserv_id
        );
        for row in &settings.signing {
            println!(
                "  {:?}: s={} {} ({})",
                row.sender,
                row.selector,
                row.key.key_type(),
                row.key_file.display()
            );
        }
        return Ok(());
    }
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            let _ = reload_tx.try_send(());
        }
    });
    let shutdown = async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: stopping"),
            _ = interrupt.recv() => tracing::info!("SIGINT: stopping"),
        }
    };
    hanko_milter::run(config, settings, lookup, reload_rx, shutdown, |addr| {
        tracing::info!("listening on {addr}");
    })
    .await
}
