//! A small authoritative DNS server on loopback, for tests: it serves a [`Zone`] over UDP
//! and TCP and can misbehave on purpose. Messages are encoded and decoded by hickory-proto.
//!
//! Behaviour that tests rely on:
//! - answers longer than 512 octets over UDP come back truncated (TC) and empty, so clients
//!   must retry over TCP, as real servers force them to;
//! - CNAME chains inside the zone are answered whole, like an authoritative server does; a
//!   chain that loops or runs past [`MAX_CNAME_CHAIN`] is SERVFAIL, as a recursive resolver
//!   reports it;
//! - [`Fault`]s per name: never answer, answer late, SERVFAIL, REFUSED, always truncate, or
//!   answer for the wrong name.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

use crate::zone::{RecordData, Zone, MAX_CNAME_CHAIN};

/// A way to misbehave for a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Never answer (the client times out).
    NoAnswer,
    /// Answer SERVFAIL.
    ServFail,
    /// Answer REFUSED.
    Refused,
    /// Over UDP, answer with TC set and nothing else (TCP answers normally).
    Truncate,
    /// Answer as usual, but with every answer record owned by `elsewhere.invalid` instead of
    /// the name asked for (a broken or spoofing server).
    WrongName,
    /// Answer as usual after this long.
    Delay(std::time::Duration),
}

/// What the server serves.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    /// The data.
    pub zone: Zone,
    /// Faults by query name (lower case, no trailing dot).
    pub faults: HashMap<String, Fault>,
    /// Faults by (query name, record type such as `TXT`); they win over `faults`.
    pub faults_by_type: HashMap<(String, String), Fault>,
    /// A fault for every name not in `faults`.
    pub default_fault: Option<Fault>,
    /// When set, answers without records (NXDOMAIN, and NOERROR with no data) carry an SOA
    /// record in the authority section with this TTL and MINIMUM, which tells resolvers how
    /// long to cache the negative answer (RFC 2308 §3, §5). Default: none, so negative
    /// answers carry no SOA.
    pub negative_ttl: Option<u32>,
}

impl ServerConfig {
    /// Serves `zone` without faults.
    pub fn new(zone: Zone) -> Self {
        ServerConfig {
            zone,
            ..Default::default()
        }
    }

    /// Adds a fault for queries of type `record_type` (e.g. `"TXT"`) for `name`.
    pub fn with_type_fault(mut self, name: &str, record_type: &str, fault: Fault) -> Self {
        self.faults_by_type.insert(
            (
                name.trim_end_matches('.').to_ascii_lowercase(),
                record_type.to_ascii_uppercase(),
            ),
            fault,
        );
        self
    }

    /// Negative answers carry an SOA saying they may be cached for `seconds`
    /// ([`ServerConfig::negative_ttl`]).
    pub fn with_negative_ttl(mut self, seconds: u32) -> Self {
        self.negative_ttl = Some(seconds);
        self
    }

    /// Adds a fault for `name`.
    pub fn with_fault(mut self, name: &str, fault: Fault) -> Self {
        self.faults
            .insert(name.trim_end_matches('.').to_ascii_lowercase(), fault);
        self
    }
}

/// A running server. Dropping it stops it.
pub struct TestServer {
    addr: SocketAddr,
    queries: Arc<AtomicUsize>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

const UDP_LIMIT: usize = 512;

impl TestServer {
    /// Starts on 127.0.0.1 with a free port (UDP and TCP on the same port). Needs a Tokio
    /// runtime.
    pub async fn start(config: ServerConfig) -> std::io::Result<TestServer> {
        let mut last_error = None;
        for _ in 0..20 {
            let udp = UdpSocket::bind("127.0.0.1:0").await?;
            let addr = udp.local_addr()?;
            match TcpListener::bind(addr).await {
                Ok(tcp) => return Ok(Self::serve(udp, tcp, config)),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| std::io::Error::other("no free port")))
    }

    /// Starts on a given address (for example port 53 inside a private network namespace).
    pub async fn start_on(addr: SocketAddr, config: ServerConfig) -> std::io::Result<TestServer> {
        let udp = UdpSocket::bind(addr).await?;
        let tcp = TcpListener::bind(udp.local_addr()?).await?;
        Ok(Self::serve(udp, tcp, config))
    }

    fn serve(udp: UdpSocket, tcp: TcpListener, config: ServerConfig) -> TestServer {
        let addr = udp
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let config = Arc::new(config);
        let queries = Arc::new(AtomicUsize::new(0));
        let udp = Arc::new(udp);
        let udp_task = {
            let config = config.clone();
            let queries = queries.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                loop {
                    let Ok((n, peer)) = udp.recv_from(&mut buf).await else {
                        continue;
                    };
                    queries.fetch_add(1, Ordering::SeqCst);
                    if let Some((reply, delay)) = respond(&config, &buf[..n], true) {
                        match delay {
                            None => {
                                let _ = udp.send_to(&reply, peer).await;
                            }
                            Some(delay) => {
                                let udp = udp.clone();
                                tokio::spawn(async move {
                                    tokio::time::sleep(delay).await;
                                    let _ = udp.send_to(&reply, peer).await;
                                });
                            }
                        }
                    }
                }
            })
        };
        let tcp_task = {
            let config = config.clone();
            let queries = queries.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((mut stream, _)) = tcp.accept().await else {
                        continue;
                    };
                    let config = config.clone();
                    let queries = queries.clone();
                    tokio::spawn(async move {
                        loop {
                            let mut len = [0u8; 2];
                            if stream.read_exact(&mut len).await.is_err() {
                                return;
                            }
                            let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
                            if stream.read_exact(&mut msg).await.is_err() {
                                return;
                            }
                            queries.fetch_add(1, Ordering::SeqCst);
                            let Some((reply, delay)) = respond(&config, &msg, false) else {
                                continue;
                            };
                            if let Some(delay) = delay {
                                tokio::time::sleep(delay).await;
                            }
                            let Ok(len) = u16::try_from(reply.len()) else {
                                return;
                            };
                            let mut out = len.to_be_bytes().to_vec();
                            out.extend_from_slice(&reply);
                            if stream.write_all(&out).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            })
        };
        TestServer {
            addr,
            queries,
            tasks: vec![udp_task, tcp_task],
        }
    }

    /// The address clients should use.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many queries arrived so far (UDP and TCP).
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

/// A name from its labels taken as raw octets (SPF macros can put spaces or `%` in names).
fn to_name(owner: &str) -> Option<Name> {
    let mut name =
        Name::from_labels(owner.trim_end_matches('.').split('.').map(str::as_bytes)).ok()?;
    name.set_fqdn(true);
    Some(name)
}

/// The query name as text, labels joined by dots without escaping.
fn name_text(name: &Name) -> String {
    name.iter()
        .map(|label| String::from_utf8_lossy(label).into_owned())
        .collect::<Vec<_>>()
        .join(".")
        .to_ascii_lowercase()
}

fn rdata(data: &RecordData) -> Option<RData> {
    Some(match data {
        RecordData::A(ip) => RData::A(A(*ip)),
        RecordData::Aaaa(ip) => RData::AAAA(AAAA(*ip)),
        // A TXT with no strings cannot be written in a zone file and clients reject it on the
        // wire; like any real server, send one empty string instead.
        RecordData::Txt(strings) if strings.is_empty() => RData::TXT(TXT::from_bytes(vec![b""])),
        RecordData::Txt(strings) => {
            RData::TXT(TXT::from_bytes(strings.iter().map(Vec::as_slice).collect()))
        }
        RecordData::Mx(preference, exchange) => RData::MX(MX::new(*preference, to_name(exchange)?)),
        RecordData::Ptr(host) => RData::PTR(PTR(to_name(host)?)),
        RecordData::Cname(target) => RData::CNAME(CNAME(to_name(target)?)),
        RecordData::Other(_) => return None,
    })
}

/// The SOA a negative answer for `qname` carries: owned by the name's last two labels (the
/// test zones' apex), with TTL and MINIMUM `ttl`.
fn negative_soa(qname: &str, ttl: u32) -> Option<Record> {
    let labels: Vec<&str> = qname.split('.').collect();
    let apex = labels[labels.len().saturating_sub(2)..].join(".");
    let soa = SOA::new(
        to_name(&format!("ns.{apex}"))?,
        to_name(&format!("hostmaster.{apex}"))?,
        1,
        3600,
        600,
        86400,
        ttl,
    );
    Some(Record::from_rdata(to_name(&apex)?, ttl, RData::SOA(soa)))
}

fn matches(data: &RecordData, rtype: RecordType) -> bool {
    matches!(
        (data, rtype),
        (RecordData::A(_), RecordType::A)
            | (RecordData::Aaaa(_), RecordType::AAAA)
            | (RecordData::Txt(_), RecordType::TXT)
            | (RecordData::Mx(..), RecordType::MX)
            | (RecordData::Ptr(_), RecordType::PTR)
            | (RecordData::Cname(_), RecordType::CNAME)
    )
}

/// The answer to `request` and how long to hold it back; `None`: stay silent.
fn respond(
    config: &ServerConfig,
    request: &[u8],
    udp: bool,
) -> Option<(Vec<u8>, Option<std::time::Duration>)> {
    let (fault, reply) = answer(config, request, udp)?;
    let delay = match fault {
        Some(Fault::Delay(delay)) => Some(delay),
        _ => None,
    };
    Some((reply, delay))
}

fn answer(config: &ServerConfig, request: &[u8], udp: bool) -> Option<(Option<Fault>, Vec<u8>)> {
    let request = Message::from_vec(request).ok()?;
    let query = request.queries.first()?.clone();
    let qname = name_text(query.name());
    let mut response = Message::response(request.metadata.id, OpCode::Query);
    response.metadata.message_type = MessageType::Response;
    response.metadata.authoritative = true;
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    response.add_query(query.clone());

    let fault = config
        .faults_by_type
        .get(&(qname.clone(), query.query_type().to_string()))
        .or(config.faults.get(&qname))
        .copied()
        .or(config.default_fault);
    match fault {
        Some(Fault::NoAnswer) => return None,
        Some(Fault::ServFail) => {
            response.metadata.response_code = ResponseCode::ServFail;
            return Some((fault, response.to_vec().ok()?));
        }
        Some(Fault::Refused) => {
            response.metadata.response_code = ResponseCode::Refused;
            return Some((fault, response.to_vec().ok()?));
        }
        Some(Fault::Truncate) if udp => {
            response.metadata.truncation = true;
            return Some((fault, response.to_vec().ok()?));
        }
        Some(Fault::Truncate | Fault::WrongName | Fault::Delay(_)) | None => {}
    }
    let wrong_owner = match fault {
        Some(Fault::WrongName) => Some(to_name("elsewhere.invalid")?),
        _ => None,
    };

    let mut current = qname.clone();
    let mut answered = false;
    let mut visited = vec![qname.clone()];
    for _ in 0..=MAX_CNAME_CHAIN {
        let records = config.zone.records(&current);
        let owner = match &wrong_owner {
            Some(name) => name.clone(),
            None => to_name(&current)?,
        };
        let hits: Vec<_> = records
            .iter()
            .filter(|r| matches(&r.data, query.query_type()))
            .collect();
        if !hits.is_empty() {
            for r in hits {
                if let Some(data) = rdata(&r.data) {
                    response.add_answer(Record::from_rdata(owner.clone(), r.ttl, data));
                }
            }
            answered = true;
            break;
        }
        let cname = records
            .iter()
            .find(|r| matches!(r.data, RecordData::Cname(_)));
        match cname {
            Some(r) => {
                if let (Some(data), RecordData::Cname(target)) = (rdata(&r.data), &r.data) {
                    let target = target.trim_end_matches('.').to_ascii_lowercase();
                    if visited.contains(&target) || visited.len() > MAX_CNAME_CHAIN {
                        // What a recursive resolver says about a CNAME loop or an endless
                        // chain (RFC 1034 §3.6.2: "signalled as an error").
                        let mut failure = Message::response(request.metadata.id, OpCode::Query);
                        failure.metadata.response_code = ResponseCode::ServFail;
                        failure.metadata.recursion_desired = request.metadata.recursion_desired;
                        failure.metadata.recursion_available = true;
                        failure.add_query(query);
                        return Some((fault, failure.to_vec().ok()?));
                    }
                    response.add_answer(Record::from_rdata(owner, r.ttl, data));
                    visited.push(target.clone());
                    current = target;
                    answered = true;
                }
            }
            None => break,
        }
    }
    if !answered && !config.zone.name_exists(&qname) {
        response.metadata.response_code = ResponseCode::NXDomain;
    }
    if let (false, Some(ttl)) = (answered, config.negative_ttl) {
        response.add_authority(negative_soa(&qname, ttl)?);
    }
    let bytes = response.to_vec().ok()?;
    if udp && bytes.len() > UDP_LIMIT {
        let mut truncated = Message::response(request.metadata.id, OpCode::Query);
        truncated.metadata.truncation = true;
        truncated.metadata.authoritative = true;
        truncated.metadata.recursion_desired = request.metadata.recursion_desired;
        truncated.metadata.recursion_available = true;
        truncated.add_query(query);
        return Some((fault, truncated.to_vec().ok()?));
    }
    Some((fault, bytes))
}
