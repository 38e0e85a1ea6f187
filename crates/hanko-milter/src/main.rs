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
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Check the configuration and keys, print what would run, and exit.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a journal or log file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
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

async fn serve(args: Args) -> anyhow::Result<()> {
    let (settings, lookup) = hanko_milter::load(&args.config)?;
    if args.check {
        println!(
            "{}: listen {}, mode {:?}, {} signing row(s), authserv-id {}",
            args.config.display(),
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
    hanko_milter::run(
        args.config.clone(),
        settings,
        lookup,
        reload_rx,
        shutdown,
        |addr| {
            tracing::info!("listening on {addr}");
        },
    )
    .await
}
