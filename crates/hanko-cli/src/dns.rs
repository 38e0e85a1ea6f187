//! The DNS options every network-using command shares.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use hanko::dns::Lookup;
use hanko_dns::{Resolver, ResolverSettings, Zone};

/// Where DNS answers come from.
#[derive(Args, Debug, Clone)]
pub struct DnsArgs {
    /// Answer DNS queries from this RFC 1035 zone file instead of the network (repeatable).
    #[arg(long = "zone", global = true, value_name = "FILE")]
    pub zones: Vec<PathBuf>,
    /// Ask this DNS server instead of the system's (repeatable), e.g. 127.0.0.1:5353.
    #[arg(long = "nameserver", global = true, value_name = "IP:PORT")]
    pub nameservers: Vec<String>,
    /// Seconds allowed for one DNS query, retries included.
    #[arg(
        long = "dns-timeout",
        global = true,
        value_name = "SECONDS",
        default_value_t = 5.0
    )]
    pub timeout: f64,
}

impl DnsArgs {
    /// Builds the lookup these options ask for.
    pub fn lookup(&self) -> anyhow::Result<Box<dyn Lookup>> {
        if !self.zones.is_empty() {
            if !self.nameservers.is_empty() {
                bail!("--zone and --nameserver cannot be combined");
            }
            let mut zone = Zone::new();
            for path in &self.zones {
                zone.add_file(path)?;
            }
            return Ok(Box::new(zone));
        }
        if !(self.timeout > 0.0 && self.timeout <= 600.0) {
            bail!("--dns-timeout must be between 0 and 600 seconds");
        }
        let nameservers = self
            .nameservers
            .iter()
            .map(|s| {
                s.parse::<SocketAddr>()
                    .or_else(|_| {
                        s.parse::<std::net::IpAddr>()
                            .map(|ip| SocketAddr::new(ip, 53))
                    })
                    .with_context(|| format!("--nameserver {s:?} is not IP or IP:PORT"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let settings = ResolverSettings {
            nameservers,
            timeout: Duration::from_secs_f64(self.timeout),
            ..Default::default()
        };
        Ok(Box::new(Resolver::new(&settings)?))
    }
}

/// `hanko dns serve`: answers queries from the `--zone` files on a UDP and TCP port, so that
/// other programs (an MTA, OpenDKIM, dig) can be pointed at test data. Stopped with SIGINT or
/// SIGTERM, it prints how many queries it answered.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (UDP and TCP).
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:5353")]
    pub listen: SocketAddr,
}

/// Serves the zone files until the process is stopped.
pub async fn serve(args: ServeArgs, dns: &DnsArgs) -> anyhow::Result<u8> {
    if dns.zones.is_empty() {
        bail!("hanko dns serve needs at least one --zone FILE");
    }
    let mut zone = Zone::new();
    for path in &dns.zones {
        zone.add_file(path)?;
    }
    let server = hanko_dns::server::TestServer::start_on(
        args.listen,
        hanko_dns::server::ServerConfig::new(zone),
    )
    .await
    .with_context(|| format!("cannot listen on {}", args.listen))?;
    println!("serving on {}", server.addr());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    stopped().await?;
    // What a measurement wants to know: how many questions were asked in all.
    println!("answered {} queries", server.queries());
    Ok(0)
}

/// Waits for SIGINT or SIGTERM.
async fn stopped() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted.context("cannot listen for SIGINT")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}
