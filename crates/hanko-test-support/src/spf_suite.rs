//! Loading the OpenSPF YAML suites and serving their zone data.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use hanko::dns::{reverse_name, DnsError, Lookup, LookupFuture, Mx, TxtAnswer};
use hanko::spf::{check_mail_from, SpfConfig, SpfOutcome};
use serde::Deserialize;
use serde_yaml_ng::Value;

use crate as common;

/// One entry of a name's zone data.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A record of a type.
    Record(String, RecordValue),
    /// Queries for types not listed before this entry time out.
    Timeout,
}

/// A record value.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordValue {
    /// TXT/SPF: the strings of one record.
    Text(Vec<String>),
    /// A, AAAA, PTR, CNAME: one value.
    Plain(String),
    /// MX: preference and exchange.
    Mx(u16, String),
}

/// A test with its scenario's zone data.
pub struct SuiteCase {
    /// The test's name.
    pub name: String,
    /// `helo`.
    pub helo: String,
    /// `host`.
    pub host: String,
    /// `mailfrom`.
    pub mail_from: String,
    /// Acceptable results.
    pub results: Vec<String>,
    /// The expected explanation, when given.
    pub explanation: Option<String>,
    /// The zone data by lower-case name.
    pub zone: Arc<HashMap<String, Vec<Entry>>>,
}

#[derive(Deserialize)]
struct Scenario {
    tests: HashMap<String, Test>,
    #[serde(default)]
    zonedata: HashMap<String, Vec<Value>>,
}

#[derive(Deserialize)]
struct Test {
    helo: String,
    host: String,
    mailfrom: String,
    result: Value,
    explanation: Option<String>,
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("unexpected value {other:?}"),
    }
}

/// Turns one scenario's zonedata into entries, applying the driver's SPF→TXT copy.
fn zone(data: &HashMap<String, Vec<Value>>) -> HashMap<String, Vec<Entry>> {
    let mut zone = HashMap::new();
    for (name, values) in data {
        let mut entries = Vec::new();
        let mut has_txt = false;
        let mut spf_copies = Vec::new();
        for value in values {
            let map = match value {
                Value::String(s) if s == "TIMEOUT" => {
                    entries.push(Entry::Timeout);
                    continue;
                }
                Value::Mapping(map) => map,
                other => panic!("{name}: unexpected entry {other:?}"),
            };
            for (kind, data) in map {
                let kind = text(kind);
                if kind == "TXT" {
                    has_txt = true;
                }
                if matches!(data, Value::String(s) if s == "NONE") {
                    continue;
                }
                let value = match (kind.as_str(), data) {
                    ("TXT" | "SPF", Value::Sequence(parts)) => {
                        RecordValue::Text(parts.iter().map(text).collect())
                    }
                    ("TXT" | "SPF", v) => RecordValue::Text(vec![text(v)]),
                    ("MX", Value::Sequence(pair)) => {
                        RecordValue::Mx(text(&pair[0]).parse().unwrap(), text(&pair[1]))
                    }
                    (_, v) => RecordValue::Plain(text(v)),
                };
                if kind == "SPF" {
                    spf_copies.push(Entry::Record("TXT".into(), value.clone()));
                }
                entries.push(Entry::Record(kind, value));
            }
        }
        if !has_txt {
            entries.extend(spf_copies);
        }
        zone.insert(name.trim_end_matches('.').to_ascii_lowercase(), entries);
    }
    zone
}

/// Loads every test of a suite file.
pub fn load(relative: &str) -> Vec<SuiteCase> {
    let source = String::from_utf8(common::read(relative)).unwrap();
    let mut cases = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(&source) {
        let scenario = Scenario::deserialize(document).unwrap();
        let zone = Arc::new(zone(&scenario.zonedata));
        for (name, test) in scenario.tests {
            let results = match &test.result {
                Value::Sequence(list) => list.iter().map(text).collect(),
                v => vec![text(v)],
            };
            cases.push(SuiteCase {
                name,
                helo: test.helo,
                host: test.host,
                mail_from: test.mailfrom,
                results,
                explanation: test.explanation,
                zone: zone.clone(),
            });
        }
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// The suite's zone data as a [`Lookup`].
pub struct SuiteDns(pub Arc<HashMap<String, Vec<Entry>>>);

impl SuiteDns {
    /// The TXT answer for `name`, as new records.
    fn txt_now(&self, name: &str) -> Result<TxtAnswer, DnsError> {
        self.answer(name, "TXT").map(|values| {
            let texts: Vec<Vec<u8>> = values
                .into_iter()
                .filter_map(|v| match v {
                    RecordValue::Text(parts) => Some(parts.concat().into_bytes()),
                    _ => None,
                })
                .collect();
            TxtAnswer::from(texts)
        })
    }

    fn answer(&self, name: &str, kind: &str) -> Result<Vec<RecordValue>, DnsError> {
        let mut name = name.trim_end_matches('.').to_ascii_lowercase();
        // mail-auth's test data: such names answer SERVFAIL.
        if name.starts_with("_dns_error") {
            return Err(DnsError::ServerFailure("SERVFAIL".into()));
        }
        for _ in 0..8 {
            let Some(entries) = self.0.get(&name) else {
                return Err(DnsError::NxDomain);
            };
            let mut found = Vec::new();
            let mut cname = None;
            for entry in entries {
                match entry {
                    Entry::Timeout if found.is_empty() => return Err(DnsError::Timeout),
                    Entry::Timeout => break,
                    Entry::Record(k, v) if k == kind => found.push(v.clone()),
                    Entry::Record(k, RecordValue::Plain(target)) if k == "CNAME" => {
                        cname = Some(target.trim_end_matches('.').to_ascii_lowercase());
                    }
                    Entry::Record(..) => {}
                }
            }
            if !found.is_empty() {
                return Ok(found);
            }
            match cname {
                Some(target) => name = target,
                None => return Err(DnsError::NoRecords),
            }
        }
        Err(DnsError::ServerFailure("CNAME loop".into()))
    }

    fn plain<T>(
        &self,
        name: &str,
        kind: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Vec<T>, DnsError> {
        Ok(self
            .answer(name, kind)?
            .iter()
            .filter_map(|v| match v {
                RecordValue::Plain(p) => parse(p),
                _ => None,
            })
            .collect())
    }
}

impl Lookup for SuiteDns {
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
        LookupFuture::ready(self.txt_now(name))
    }
    fn a<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv4Addr>> {
        let answer = self.plain(name, "A", |p| p.parse().ok());
        LookupFuture::ready(answer)
    }
    fn aaaa<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv6Addr>> {
        let answer = self.plain(name, "AAAA", |p| p.parse().ok());
        LookupFuture::ready(answer)
    }
    fn mx<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Mx>> {
        let answer = self.answer(name, "MX").map(|values| {
            values
                .into_iter()
                .filter_map(|v| match v {
                    RecordValue::Mx(preference, exchange) => Some(Mx {
                        preference,
                        exchange: exchange.trim_end_matches('.').to_string(),
                    }),
                    _ => None,
                })
                .collect()
        });
        LookupFuture::ready(answer)
    }
    fn ptr<'a>(&'a self, ip: IpAddr) -> LookupFuture<'a, Vec<String>> {
        let answer = self.plain(&reverse_name(ip), "PTR", |p| {
            Some(p.trim_end_matches('.').to_string())
        });
        LookupFuture::ready(answer)
    }
}

/// The configuration the suite assumes: pyspf's driver sets the default explanation to
/// `DEFAULT`.
pub fn suite_config() -> SpfConfig {
    SpfConfig {
        default_explanation: "DEFAULT".into(),
        ..SpfConfig::default()
    }
}

/// Compares an outcome with the case's expectation.
pub fn judge(case: &SuiteCase, outcome: &SpfOutcome) -> Result<(), String> {
    let got = outcome.verdict.as_str();
    if !case.results.iter().any(|r| r == got) {
        return Err(format!(
            "{}: got {got} ({:?}), expected {:?}",
            case.name, outcome.problem, case.results
        ));
    }
    if let Some(expected) = &case.explanation {
        if outcome.explanation.as_deref() != Some(expected.as_str()) {
            return Err(format!(
                "{}: explanation {:?}, expected {expected:?}",
                case.name, outcome.explanation
            ));
        }
    }
    Ok(())
}

/// Runs one case through the library.
pub async fn run_case(case: &SuiteCase) -> Result<(), String> {
    run_case_with(case, &suite_config()).await
}

/// Runs one case through the library with `config`.
async fn run_case_with(case: &SuiteCase, config: &SpfConfig) -> Result<(), String> {
    let dns = SuiteDns(case.zone.clone());
    check_case(case, config, &dns).await
}

/// Runs one case twice with `config` over a lookup that keeps its TXT answers, as
/// `hanko-dns`'s resolver does within a TTL: the second run reads the policies the first one
/// parsed. Returns how many records were kept parsed.
pub async fn run_case_kept(case: &SuiteCase, config: &SpfConfig) -> Result<usize, String> {
    let dns = KeptTxt {
        inner: SuiteDns(case.zone.clone()),
        answers: Default::default(),
    };
    for round in ["cold", "warm"] {
        check_case(case, config, &dns)
            .await
            .map_err(|why| format!("{round}: {why}"))?;
    }
    let answers = dns.answers.lock().unwrap_or_else(|p| p.into_inner());
    Ok(answers
        .values()
        .flatten()
        .flat_map(|answer| answer.records.iter())
        .filter(|record| record.is_parsed())
        .count())
}

async fn check_case<L: Lookup>(
    case: &SuiteCase,
    config: &SpfConfig,
    dns: &L,
) -> Result<(), String> {
    let ip: IpAddr = case
        .host
        .parse()
        .map_err(|_| format!("{}: bad host {}", case.name, case.host))?;
    let outcome = check_mail_from(dns, config, ip, &case.mail_from, &case.helo, 0).await;
    judge(case, &outcome)
}

/// A lookup that keeps every TXT answer of `inner` (the same records on each query) and
/// passes the other types through.
struct KeptTxt {
    inner: SuiteDns,
    answers: std::sync::Mutex<HashMap<String, Result<TxtAnswer, DnsError>>>,
}

impl Lookup for KeptTxt {
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        let answer = answers
            .entry(name.trim_end_matches('.').to_ascii_lowercase())
            .or_insert_with(|| self.inner.txt_now(name))
            .clone();
        LookupFuture::ready(answer)
    }
    fn a<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv4Addr>> {
        self.inner.a(name)
    }
    fn aaaa<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv6Addr>> {
        self.inner.aaaa(name)
    }
    fn mx<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Mx>> {
        self.inner.mx(name)
    }
    fn ptr<'a>(&'a self, ip: IpAddr) -> LookupFuture<'a, Vec<String>> {
        self.inner.ptr(ip)
    }
}

/// The conformance folder.
pub fn conformance_dir() -> std::path::PathBuf {
    common::conformance_dir()
}
