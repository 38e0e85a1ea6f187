//! `hanko serve`: the header analyzer's web page.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use hanko::dns::Lookup;
use hanko_web::ServeConfig;

use crate::dns::DnsArgs;

/// Options of `hanko serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address and port to listen on. Keep it on loopback unless the page sits behind a proxy
    /// that authenticates its users: pasted headers are private.
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Never query DNS: every analysis is offline, whatever the form says.
    #[arg(long)]
    offline: bool,
    /// Largest message accepted, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 10)]
    max_message_mib: usize,
    /// Longest one analysis may take, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 20.0)]
    timeout: f64,
}

pub async fn run(args: ServeArgs, dns: &DnsArgs) -> anyhow::Result<u8> {
    if !(args.timeout > 0.0 && args.timeout <= 600.0) {
        anyhow::bail!("--timeout must be between 0 and 600 seconds");
    }
    let lookup: Option<Arc<dyn Lookup>> = if args.offline {
        None
    } else {
        Some(Arc::from(dns.lookup()?))
    };
    let config = ServeConfig {
        listen: args.listen,
        max_message_bytes: args.max_message_mib.max(1) * 1024 * 1024,
        analysis_timeout: Duration::from_secs_f64(args.timeout),
        ..ServeConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    // The address actually bound (port 0 picks a free one), for scripts and tests.
    println!("hanko serve: http://{}/", listener.local_addr()?);
    hanko_web::serve_on(listener, config, lookup).await?;
    Ok(0)
}
