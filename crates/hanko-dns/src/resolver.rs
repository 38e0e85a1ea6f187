//! [`Lookup`] over the network with hickory-resolver.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hanko::dns::{
    check_name, DnsError, Lookup, LookupFuture, Mx, TxtAnswer, TxtRecord, TxtRecords,
};
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::NetError;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::TokioResolver;

/// Resolver settings. Each field's default is what [`Default`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverSettings {
    /// Servers to ask (`--nameserver IP:PORT`). Default: empty, meaning the system
    /// configuration (`/etc/resolv.conf`).
    pub nameservers: Vec<SocketAddr>,
    /// Time allowed for one query, retries included (`--dns-timeout`). Default: 5 s.
    pub timeout: Duration,
    /// Entries kept in the answer cache, which honours record TTLs (and the SOA minimum for
    /// negative answers). Default: 1024. As many TXT answers again are kept as shared
    /// records ([`TxtRecords`]) until their TTL runs out, so that the SPF policies and DKIM
    /// keys parsed from them are parsed once per TTL, not once per message.
    pub cache_size: u64,
}

impl Default for ResolverSettings {
    fn default() -> Self {
        ResolverSettings {
            nameservers: Vec::new(),
            timeout: Duration::from_secs(5),
            cache_size: 1024,
        }
    }
}

/// A [`Lookup`] that asks DNS servers, UDP first and TCP when an answer is truncated.
/// Clones share one cache.
#[derive(Clone)]
pub struct Resolver {
    inner: TokioResolver,
    timeout: Duration,
    /// TXT answers with records, by name (lower case, no trailing dot), kept until their
    /// TTL runs out: the same [`TxtRecords`] for each query meanwhile.
    txt_answers: Arc<Mutex<HashMap<String, KeptTxt>>>,
    /// Most TXT answers kept ([`ResolverSettings::cache_size`]).
    kept_capacity: usize,
}

/// How the kept TXT answers are keyed: lower case, no trailing dot.
fn kept_key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// A TXT answer and when it expires.
struct KeptTxt {
    answer: TxtAnswer,
    valid_until: Instant,
}

/// Why a resolver could not be built.
#[derive(Debug)]
pub struct ResolverError(pub String);

impl std::fmt::Display for ResolverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot set up DNS: {}", self.0)
    }
}

impl std::error::Error for ResolverError {}

impl Resolver {
    /// Builds a resolver. Must be called inside a Tokio runtime.
    pub fn new(settings: &ResolverSettings) -> Result<Resolver, ResolverError> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = if settings.nameservers.is_empty() {
            TokioResolver::builder(provider).map_err(|e| ResolverError(e.to_string()))?
        } else {
            let servers = settings
                .nameservers
                .iter()
                .map(|addr| {
                    let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                    for connection in &mut server.connections {
                        connection.port = addr.port();
                    }
                    server
                })
                .collect();
            TokioResolver::builder_with_config(ResolverConfig::from_name_servers(servers), provider)
        };
        let options: &mut ResolverOpts = builder.options_mut();
        // Split the budget over two attempts so one lost UDP packet is retried.
        options.timeout = settings.timeout / 2;
        options.attempts = 2;
        options.cache_size = settings.cache_size;
        options.ndots = 0;
        let inner = builder.build().map_err(|e| ResolverError(e.to_string()))?;
        Ok(Resolver {
            inner,
            timeout: settings.timeout,
            txt_answers: Arc::default(),
            kept_capacity: usize::try_from(settings.cache_size).unwrap_or(usize::MAX),
        })
    }

    async fn query(&self, name: &str, rtype: RecordType) -> Result<Vec<RData>, DnsError> {
        self.query_with_aliases(name, rtype)
            .await
            .map(|(data, _, _)| data)
    }

    /// A lock on the kept TXT answers. A panic elsewhere while it was held leaves a map that
    /// is still whole (every change is one insert, retain or clear), so a poisoned lock is
    /// used as it is.
    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<String, KeptTxt>> {
        self.txt_answers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The TXT answer kept for `name`, while its TTL lasts.
    fn kept_txt(&self, name: &str) -> Option<TxtAnswer> {
        let kept = self.kept();
        let found = kept.get(&kept_key(name))?;
        (found.valid_until > Instant::now()).then(|| found.answer.clone())
    }

    /// The TXT answer for `name` as `shape` gives it: at once when it is kept, else once
    /// it has been asked for (and then kept).
    fn txt_as<'a, T: 'a>(
        &'a self,
        name: &'a str,
        shape: fn(TxtAnswer) -> T,
    ) -> LookupFuture<'a, T> {
        match self.kept_txt(name) {
            Some(answer) => LookupFuture::ready(Ok(shape(answer))),
            None => LookupFuture::new(async move { Ok(shape(self.fetch_txt(name).await?)) }),
        }
    }

    /// Asks for the TXT records of `name`, and keeps the answer until its TTL runs out.
    async fn fetch_txt(&self, name: &str) -> Result<TxtAnswer, DnsError> {
        let (data, aliases, valid_until) = self.query_with_aliases(name, RecordType::TXT).await?;
        let records: TxtRecords = data
            .into_iter()
            .filter_map(|d| match d {
                RData::TXT(txt) => Some(TxtRecord::new(txt.txt_data.concat())),
                _ => None,
            })
            .collect();
        let answer = TxtAnswer { records, aliases };
        if self.kept_capacity > 0 {
            let mut kept = self.kept();
            if kept.len() >= self.kept_capacity {
                let now = Instant::now();
                kept.retain(|_, answer| answer.valid_until > now);
                if kept.len() >= self.kept_capacity {
                    kept.clear();
                }
            }
            let answer = answer.clone();
            kept.insert(
                kept_key(name),
                KeptTxt {
                    answer,
                    valid_until,
                },
            );
        }
        Ok(answer)
    }

    /// The answers of type `rtype`, the CNAME targets the answer section leads through (in
    /// chain order from `name`), and when the answer expires.
    async fn query_with_aliases(
        &self,
        name: &str,
        rtype: RecordType,
    ) -> Result<(Vec<RData>, Vec<String>, Instant), DnsError> {
        check_name(name)?;
        // Labels are taken as raw octets: SPF macros can produce names with spaces or `%`,
        // which are legal in DNS though not in host names.
        let mut fqdn = Name::from_labels(name.trim_end_matches('.').split('.').map(str::as_bytes))
            .map_err(|e| DnsError::InvalidName(e.to_string()))?;
        fqdn.set_fqdn(true);
        // The resolver has its own timeouts; this outer bound guarantees the budget even if
        // it retries across several servers.
        let lookup = tokio::time::timeout(
            self.timeout + Duration::from_millis(250),
            self.inner.lookup(fqdn.clone(), rtype),
        )
        .await
        .map_err(|_| DnsError::Timeout)?
        .map_err(map_error)?;
        let data: Vec<RData> = lookup
            .answers()
            .iter()
            .filter(|r| r.record_type() == rtype)
            .map(|r| r.data.clone())
            .collect();
        if data.is_empty() {
            return Err(DnsError::NoRecords);
        }
        let mut aliases = Vec::new();
        let mut current = fqdn;
        // Follow the chain through the answer section, bounded by its length.
        for _ in 0..lookup.answers().len() {
            let next = lookup.answers().iter().find_map(|r| match &r.data {
                RData::CNAME(target) if r.name == current => Some(target.0.clone()),
                _ => None,
            });
            match next {
                Some(target) => {
                    aliases.push(host(&target));
                    current = target;
                }
                None => break,
            }
        }
        Ok((data, aliases, lookup.valid_until()))
    }
}

fn map_error(e: NetError) -> DnsError {
    if e.is_nx_domain() {
        return DnsError::NxDomain;
    }
    match &e {
        NetError::Timeout => DnsError::Timeout,
        NetError::Dns(hickory_resolver::net::DnsError::NoRecordsFound(no)) => {
            match no.response_code {
                ResponseCode::NoError => DnsError::NoRecords,
                ResponseCode::NXDomain => DnsError::NxDomain,
                code => DnsError::ServerFailure(code.to_string()),
            }
        }
        _ => {
            let text = e.to_string();
            if text.contains("timed out") {
                DnsError::Timeout
            } else {
                DnsError::ServerFailure(text)
            }
        }
    }
}

impl Resolver {
    /// Queries `name` and keeps the answers `pick` accepts (one RData variant each time).
    async fn records<T>(
        &self,
        name: &str,
        rtype: RecordType,
        pick: impl Fn(RData) -> Option<T>,
    ) -> Result<Vec<T>, DnsError> {
        Ok(self
            .query(name, rtype)
            .await?
            .into_iter()
            .filter_map(pick)
            .collect())
    }
}

/// A name as text: labels joined by dots, unescaped (names built by SPF macros may hold
/// characters such as `:` or `/`, which `to_ascii` would escape).
fn host(name: &Name) -> String {
    name.iter()
        .map(|label| String::from_utf8_lossy(label).into_owned())
        .collect::<Vec<_>>()
        .join(".")
}

impl Lookup for Resolver {
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Vec<u8>>> {
        self.txt_as(name, |answer| answer.records.texts())
    }
    fn txt_with_aliases<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
        self.txt_as(name, |answer| answer)
    }
    fn txt_records<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtRecords> {
        self.txt_as(name, |answer| answer.records)
    }
    fn a<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv4Addr>> {
        LookupFuture::new(self.records(name, RecordType::A, |d| match d {
            RData::A(a) => Some(a.0),
            _ => None,
        }))
    }
    fn aaaa<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv6Addr>> {
        LookupFuture::new(self.records(name, RecordType::AAAA, |d| match d {
            RData::AAAA(a) => Some(a.0),
            _ => None,
        }))
    }
    fn mx<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Mx>> {
        LookupFuture::new(self.records(name, RecordType::MX, |d| match d {
            RData::MX(mx) => Some(Mx {
                preference: mx.preference,
                exchange: host(&mx.exchange),
            }),
            _ => None,
        }))
    }
    fn ptr<'a>(&'a self, ip: IpAddr) -> LookupFuture<'a, Vec<String>> {
        LookupFuture::new(async move {
            let name = hanko::dns::reverse_name(ip);
            self.records(&name, RecordType::PTR, |d| match d {
                RData::PTR(p) => Some(host(&p.0)),
                _ => None,
            })
            .await
        })
    }
    fn cname<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Option<String>> {
        LookupFuture::new(async move {
            let found = self
                .records(name, RecordType::CNAME, |d| match d {
                    RData::CNAME(c) => Some(host(&c.0)),
                    _ => None,
                })
                .await;
            match found {
                Ok(targets) => Ok(targets.into_iter().next()),
                Err(DnsError::NxDomain | DnsError::NoRecords) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }
}
