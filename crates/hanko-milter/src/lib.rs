//! hanko-milter: one daemon that signs outgoing mail and verifies incoming mail (SPF, DKIM,
//! DMARC, ADSP) inside Postfix or Sendmail, over the milter protocol (via `indymilter`).
//!
//! - [`config`]: the TOML file, checked and with keys loaded ([`config::Settings`]).
//! - [`filter`]: one message, apart from the protocol: fed headers and body chunks in order,
//!   it returns a [`filter::Decision`]. The body is hashed as it streams and never kept.
//! - [`milter`]: the indymilter callbacks that feed the filter and apply its decision.
//! - [`run`]: serve until the shutdown future completes, with reload on demand.
//!
//! This crate is GPL-3.0-or-later because indymilter is; the rest of hanko is
//! MIT OR Apache-2.0.

#![forbid(unsafe_code)]

pub mod config;
pub mod filter;
pub mod listen;
pub mod milter;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hanko_dns::{Resolver, ResolverSettings, Zone};

use crate::config::Settings;
use crate::filter::SharedLookup;
use crate::listen::ListenAddr;
use crate::milter::Shared;

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The DNS lookup the settings ask for: zone files, or hickory-resolver with the given
/// servers (default: the system's) and timeout.
pub fn lookup_for(settings: &Settings) -> anyhow::Result<SharedLookup> {
    let dns = &settings.file.dns;
    if !dns.zone_files.is_empty() {
        let base = settings.path.parent().unwrap_or(std::path::Path::new("."));
        let mut zone = Zone::new();
        for file in &dns.zone_files {
            zone.add_file(&base.join(file))
                .with_context(|| format!("{}: [dns] zone_files", settings.path.display()))?;
        }
        return Ok(Arc::new(zone));
    }
    let nameservers = dns
        .nameservers
        .iter()
        .map(|s| {
            s.parse().with_context(|| {
                format!(
                    "{}: [dns] nameservers: {s:?} is not IP:PORT",
                    settings.path.display()
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let resolver_settings = ResolverSettings {
        nameservers,
        timeout: Duration::from_secs_f64(dns.timeout.unwrap_or(5.0).clamp(0.1, 600.0)),
        ..Default::default()
    };
    Ok(Arc::new(Resolver::new(&resolver_settings)?))
}

/// Loads the settings at `path` and the lookup they ask for.
pub fn load(path: &std::path::Path) -> anyhow::Result<(Settings, SharedLookup)> {
    let settings = Settings::load(path)?;
    let lookup = lookup_for(&settings)?;
    Ok((settings, lookup))
}

/// Serves milter connections on the settings' `listen` address until `shutdown` completes.
/// Each message in `reload` (e.g. from SIGHUP) re-reads the file: on success new
/// connections use the new settings, on error the old ones stay and the error is logged.
/// `ready` is called with the bound address (useful with port 0).
pub async fn run(
    path: std::path::PathBuf,
    settings: Settings,
    lookup: SharedLookup,
    mut reload: tokio::sync::mpsc::Receiver<()>,
    shutdown: impl Future,
    ready: impl FnOnce(String),
) -> anyhow::Result<()> {
    let listen = ListenAddr::parse(&settings.file.listen).map_err(anyhow::Error::msg)?;
    let shared = Shared::new(settings, lookup);
    let listener = match &listen {
        ListenAddr::Tcp(addr) => {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            ready(l.local_addr()?.to_string());
            indymilter::EitherListener::Tcp(l)
        }
        ListenAddr::Unix(path) => {
            // A socket file left by an earlier run would make bind fail.
            if std::fs::symlink_metadata(path).is_ok_and(|m| {
                use std::os::unix::fs::FileTypeExt;
                m.file_type().is_socket()
            }) {
                let _ = std::fs::remove_file(path);
            }
            let l = tokio::net::UnixListener::bind(path)
                .with_context(|| format!("cannot listen on {}", path.display()))?;
            ready(path.display().to_string());
            indymilter::EitherListener::Unix(l)
        }
    };
    let reloader = {
        let shared = shared.clone();
        tokio::spawn(async move {
            while reload.recv().await.is_some() {
                match load(&path) {
                    Ok((settings, lookup)) => {
                        tracing::info!("reloaded {}", path.display());
                        shared.replace(settings, lookup);
                    }
                    Err(e) => {
                        tracing::error!(
                            "reload of {} failed, keeping the running settings: {e:#}",
                            path.display()
                        );
                    }
                }
            }
        })
    };
    let config = indymilter::Config {
        max_connections: 200,
        connection_timeout: Duration::from_secs(300),
        ..Default::default()
    };
    let result = indymilter::run(listener, milter::callbacks(shared), config, shutdown).await;
    reloader.abort();
    if let ListenAddr::Unix(path) = &listen {
        let _ = std::fs::remove_file(path);
    }
    result.context("milter stopped")
}
