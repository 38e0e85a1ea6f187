//! [`Lookup`] over the network with hickory-resolver.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hanko::dns::{check_name, DnsError, Lookup, LookupFuture, Mx, TxtAnswer, TxtRecord};
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::NetError;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::TokioResolver;

use crate::cache::{Answer, AnswerCache, Entry, Kind, MAX_NEGATIVE_TTL};

/// Resolver settings. Each field's default is what [`Default`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverSettings {
    /// Servers to ask (`--nameserver IP:PORT`). Default: empty, meaning the system
    /// configuration (`/etc/resolv.conf`).
    pub nameservers: Vec<SocketAddr>,
    /// Time allowed for one query, retries included (`--dns-timeout`). Default: 5 s.
    pub timeout: Duration,
    /// Answers kept in the resolver's cache, positive and negative, each until its TTL runs
    /// out (see [`crate::cache`]). Default: 1024. TXT answers are kept as shared records,
    /// so the SPF policies and DKIM keys parsed from them are parsed once per TTL, not once
    /// per message. 0 keeps nothing and asks every question.
    pub cache_size: u64,
    /// How long a negative answer (NXDOMAIN, or no records of the type) that carries no SOA
    /// is kept; one with an SOA is kept for the SOA's negative TTL (RFC 2308 §5), at most
    /// [`MAX_NEGATIVE_TTL`](crate::cache::MAX_NEGATIVE_TTL). Default: 30 s.
    pub negative_ttl: Duration,
}

impl Default for ResolverSettings {
    fn default() -> Self {
        ResolverSettings {
            nameservers: Vec::new(),
            timeout: Duration::from_secs(5),
            cache_size: 1024,
            negative_ttl: Duration::from_secs(30),
        }
    }
}

/// A [`Lookup`] that asks DNS servers, UDP first and TCP when an answer is truncated, and
/// keeps what they answer ([`crate::cache`]). Clones share one cache.
#[derive(Clone)]
pub struct Resolver {
    inner: TokioResolver,
    timeout: Duration,
    negative_ttl: Duration,
    cache: Arc<AnswerCache>,
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
        // hanko's own cache keeps the answers (typed, with TXT records shared); hickory's
        // would be a second copy.
        options.cache_size = 0;
        options.ndots = 0;
        let inner = builder.build().map_err(|e| ResolverError(e.to_string()))?;
        Ok(Resolver {
            inner,
            timeout: settings.timeout,
            negative_ttl: settings.negative_ttl,
            cache: Arc::new(AnswerCache::new(
                usize::try_from(settings.cache_size).unwrap_or(usize::MAX),
            )),
        })
    }

    /// How many questions the cache holds a place for: answers kept (some perhaps past
    /// their TTL, dropped when room is needed) and questions on the wire.
    pub fn cached_answers(&self) -> usize {
        self.cache.len()
    }

    /// The answer to a question of type `kind` for `name`, shaped by `shape`: at once when
    /// it is kept, else once it has been asked for (or once the same question already on the
    /// wire has its answer).
    fn ask<'a, T: 'a>(
        &'a self,
        kind: Kind,
        name: &'a str,
        shape: fn(Answer) -> Option<T>,
    ) -> LookupFuture<'a, T> {
        let shaped = move |answer: Result<Answer, DnsError>| {
            // A question of one type is only ever answered with that type.
            answer.and_then(|answer| shape(answer).ok_or(DnsError::NoRecords))
        };
        if let Err(error) = check_name(name) {
            return LookupFuture::ready(Err(error));
        }
        match self.cache.kept(kind, name) {
            Some(answer) => LookupFuture::ready(shaped(answer)),
            None => LookupFuture::new(async move {
                shaped(
                    self.cache
                        .answer(kind, name, || self.fetch(kind, name))
                        .await,
                )
            }),
        }
    }

    /// Asks the servers, and says how long the answer may be kept.
    async fn fetch(&self, kind: Kind, name: &str) -> Entry {
        let now = Instant::now();
        match self.query_with_aliases(name, kind.record_type()).await {
            Ok((data, aliases, valid_until)) => Entry {
                answer: Ok(kind.answer(data, aliases)),
                valid_until,
            },
            Err((error, negative_ttl)) => {
                let kept_for = match error {
                    DnsError::NxDomain | DnsError::NoRecords => negative_ttl
                        .map_or(self.negative_ttl, |ttl| Duration::from_secs(u64::from(ttl)))
                        .min(MAX_NEGATIVE_TTL),
                    // Failures that may pass are shared with the callers waiting on this
                    // query, and asked again by the next.
                    _ => Duration::ZERO,
                };
                Entry {
                    answer: Err(error),
                    valid_until: now + kept_for,
                }
            }
        }
    }

    /// The answers of type `rtype`, the CNAME targets the answer section leads through (in
    /// chain order from `name`), and when the answer expires; or why there is none, with the
    /// negative TTL of an SOA that came with it.
    async fn query_with_aliases(
        &self,
        name: &str,
        rtype: RecordType,
    ) -> Result<(Vec<RData>, Vec<String>, Instant), (DnsError, Option<u32>)> {
        // Labels are taken as raw octets: SPF macros can produce names with spaces or `%`,
        // which are legal in DNS though not in host names.
        let mut fqdn = Name::from_labels(name.trim_end_matches('.').split('.').map(str::as_bytes))
            .map_err(|e| (DnsError::InvalidName(e.to_string()), None))?;
        fqdn.set_fqdn(true);
        // The resolver has its own timeouts; this outer bound guarantees the budget even if
        // it retries across several servers.
        let lookup = tokio::time::timeout(
            self.timeout + Duration::from_millis(250),
            self.inner.lookup(fqdn.clone(), rtype),
        )
        .await
        .map_err(|_| (DnsError::Timeout, None))?
        .map_err(|e| (map_error(&e), negative_ttl(&e)))?;
        let data: Vec<RData> = lookup
            .answers()
            .iter()
            .filter(|r| r.record_type() == rtype)
            .map(|r| r.data.clone())
            .collect();
        if data.is_empty() {
            return Err((DnsError::NoRecords, None));
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

impl Kind {
    fn record_type(self) -> RecordType {
        match self {
            Kind::Txt => RecordType::TXT,
            Kind::A => RecordType::A,
            Kind::Aaaa => RecordType::AAAA,
            Kind::Mx => RecordType::MX,
            Kind::Ptr => RecordType::PTR,
            Kind::Cname => RecordType::CNAME,
        }
    }

    /// The answer of this type made of `data` (records of this type only).
    fn answer(self, data: Vec<RData>, aliases: Vec<String>) -> Answer {
        let data = data.into_iter();
        match self {
            Kind::Txt => Answer::Txt(TxtAnswer {
                records: data
                    .filter_map(|d| match d {
                        RData::TXT(txt) => Some(TxtRecord::new(txt.txt_data.concat())),
                        _ => None,
                    })
                    .collect(),
                aliases,
            }),
            Kind::A => Answer::A(
                data.filter_map(|d| match d {
                    RData::A(a) => Some(a.0),
                    _ => None,
                })
                .collect(),
            ),
            Kind::Aaaa => Answer::Aaaa(
                data.filter_map(|d| match d {
                    RData::AAAA(a) => Some(a.0),
                    _ => None,
                })
                .collect(),
            ),
            Kind::Mx => Answer::Mx(
                data.filter_map(|d| match d {
                    RData::MX(mx) => Some(Mx {
                        preference: mx.preference,
                        exchange: host(&mx.exchange),
                    }),
                    _ => None,
                })
                .collect(),
            ),
            Kind::Ptr | Kind::Cname => Answer::Names(
                data.filter_map(|d| match d {
                    RData::PTR(p) => Some(host(&p.0)),
                    RData::CNAME(c) => Some(host(&c.0)),
                    _ => None,
                })
                .collect(),
            ),
        }
    }
}

/// The negative TTL of a "no records" answer that carried an SOA (the smaller of the SOA
/// record's TTL and its MINIMUM, RFC 2308 §5).
fn negative_ttl(e: &NetError) -> Option<u32> {
    match e {
        NetError::Dns(hickory_resolver::net::DnsError::NoRecordsFound(no)) => no.negative_ttl,
        _ => None,
    }
}

fn map_error(e: &NetError) -> DnsError {
    if e.is_nx_domain() {
        return DnsError::NxDomain;
    }
    match e {
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

/// A name as text: labels joined by dots, unescaped (names built by SPF macros may hold
/// characters such as `:` or `/`, which `to_ascii` would escape).
fn host(name: &Name) -> String {
    name.iter()
        .map(|label| String::from_utf8_lossy(label).into_owned())
        .collect::<Vec<_>>()
        .join(".")
}

impl Lookup for Resolver {
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
        self.ask(Kind::Txt, name, |answer| match answer {
            Answer::Txt(txt) => Some(txt),
            _ => None,
        })
    }
    fn a<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv4Addr>> {
        self.ask(Kind::A, name, |answer| match answer {
            Answer::A(ips) => Some(ips),
            _ => None,
        })
    }
    fn aaaa<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv6Addr>> {
        self.ask(Kind::Aaaa, name, |answer| match answer {
            Answer::Aaaa(ips) => Some(ips),
            _ => None,
        })
    }
    fn mx<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Mx>> {
        self.ask(Kind::Mx, name, |answer| match answer {
            Answer::Mx(mx) => Some(mx),
            _ => None,
        })
    }
    fn ptr<'a>(&'a self, ip: IpAddr) -> LookupFuture<'a, Vec<String>> {
        LookupFuture::new(async move {
            let name = hanko::dns::reverse_name(ip);
            self.ask(Kind::Ptr, &name, names).await
        })
    }
    fn cname<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Option<String>> {
        LookupFuture::new(async move {
            match self.ask(Kind::Cname, name, names).await {
                Ok(targets) => Ok(targets.into_iter().next()),
                Err(DnsError::NxDomain | DnsError::NoRecords) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }
}

/// The host names of a PTR or CNAME answer.
fn names(answer: Answer) -> Option<Vec<String>> {
    match answer {
        Answer::Names(names) => Some(names),
        _ => None,
    }
}
