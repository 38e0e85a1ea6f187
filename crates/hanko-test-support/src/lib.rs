//! What hanko's tests share, so that no test crate keeps its own copy: where the public
//! conformance suites live ([`conformance_dir`]), the shipped examples ([`examples_dir`]), a
//! map-backed DNS that counts its queries and can time out ([`MapDns`]), verification helpers,
//! the check for a program an end-to-end test needs ([`require_program`]), and the OpenSPF
//! suite loader ([`spf_suite`]). Not published.

pub mod arc_suite;
pub mod smtp_sink;
pub mod spf_suite;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use hanko::dkim::{Verification, Verifier, VerifyConfig};
use hanko::dns::{DnsError, Lookup, LookupFuture, Mx, TxtAnswer};
use hanko::message::{split_message, CrlfNormalizer, Headers, MessageLimits};

/// The conformance folder: `$HANKO_CONFORMANCE`, else `../shared/conformance` beside the
/// repository. Panics with instructions when it is missing, so CI cannot pass without it.
pub fn conformance_dir() -> PathBuf {
    let dir = std::env::var_os("HANKO_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        });
    assert!(
        dir.join("README.md").is_file(),
        "this test needs the public conformance suites, not found at {}: put shared/ beside \
         the repository or set HANKO_CONFORMANCE (`cargo test` alone runs the tests that need \
         nothing but cargo; `bash scripts/test.sh` runs every tier)",
        dir.display()
    );
    dir
}

/// Reads a file of the conformance folder.
pub fn read(relative: &str) -> Vec<u8> {
    let path = conformance_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// TXT records from a map; every other name is NXDOMAIN. A value of `None` is a timeout.
#[derive(Default, Clone)]
pub struct MapDns {
    /// TXT answers by lower-case name; `None` stands for a timeout.
    pub txt: HashMap<String, Vec<Option<Vec<u8>>>>,
    /// Names answered with SERVFAIL.
    pub servfail: Vec<String>,
    /// A records by lower-case name.
    pub a: HashMap<String, Vec<Ipv4Addr>>,
    /// TXT queries asked so far (clones share the count).
    pub txt_asked: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl MapDns {
    /// Adds a TXT record.
    pub fn add(&mut self, name: &str, value: &str) {
        self.txt
            .entry(name.trim_end_matches('.').to_ascii_lowercase())
            .or_default()
            .push(Some(value.as_bytes().to_vec()));
    }
    /// Makes queries for `name` time out.
    pub fn add_timeout(&mut self, name: &str) {
        self.txt
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(None);
    }
    /// Adds an A record (and so makes the name exist).
    pub fn add_a(&mut self, name: &str, ip: Ipv4Addr) {
        self.a
            .entry(name.trim_end_matches('.').to_ascii_lowercase())
            .or_default()
            .push(ip);
    }
    /// Whether `name` exists: it holds a record, or a name below it does.
    pub fn exists(&self, name: &str) -> bool {
        let key = name.trim_end_matches('.').to_ascii_lowercase();
        let below = format!(".{key}");
        self.txt
            .keys()
            .chain(self.a.keys())
            .any(|k| *k == key || k.ends_with(&below))
    }
    /// The error for a type the name has no records of.
    fn absent(&self, name: &str) -> DnsError {
        if self.exists(name) {
            DnsError::NoRecords
        } else {
            DnsError::NxDomain
        }
    }
    /// TXT queries asked so far.
    pub fn queries(&self) -> usize {
        self.txt_asked.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Makes queries for `name` fail with SERVFAIL.
    pub fn add_servfail(&mut self, name: &str) {
        self.servfail.push(name.to_ascii_lowercase());
    }
}

impl Lookup for MapDns {
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
        self.txt_asked
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = name.trim_end_matches('.').to_ascii_lowercase();
        if self.servfail.contains(&key) {
            return LookupFuture::ready(Err(DnsError::ServerFailure("SERVFAIL".into())));
        }
        let answer = match self.txt.get(&key) {
            None => Err(DnsError::NxDomain),
            Some(values) if values.iter().any(Option::is_none) => Err(DnsError::Timeout),
            Some(values) => Ok(TxtAnswer::from(
                values.iter().flatten().cloned().collect::<Vec<_>>(),
            )),
        };
        LookupFuture::ready(answer)
    }
    fn a<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv4Addr>> {
        let key = name.trim_end_matches('.').to_ascii_lowercase();
        let answer = self.a.get(&key).cloned().ok_or_else(|| self.absent(name));
        LookupFuture::ready(answer)
    }
    fn aaaa<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv6Addr>> {
        let answer = Err(self.absent(name));
        LookupFuture::ready(answer)
    }
    fn mx<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Mx>> {
        let answer = Err(self.absent(name));
        LookupFuture::ready(answer)
    }
    fn ptr<'a>(&'a self, _: IpAddr) -> LookupFuture<'a, Vec<String>> {
        LookupFuture::ready(Err(DnsError::NxDomain))
    }
}

/// Verifies a message (LF or CRLF) the way the CLI does.
pub async fn verify(message: &[u8], dns: &MapDns, now: u64) -> Verification {
    verify_with(message, dns, now, VerifyConfig::default()).await
}

/// Verifies a message (LF or CRLF) with a given configuration.
pub async fn verify_with<L: Lookup>(
    message: &[u8],
    dns: &L,
    now: u64,
    config: VerifyConfig,
) -> Verification {
    let message = CrlfNormalizer::normalize(message);
    let (head, body) = split_message(&message);
    let headers = Headers::parse(head, &MessageLimits::default()).expect("headers parse");
    let mut verifier = Verifier::new(&headers, config);
    // Odd chunk sizes, so that streaming is exercised on every vector.
    for chunk in body.chunks(7) {
        verifier.body(chunk);
    }
    verifier.finish(dns, now).await
}

/// The result words, in header order.
pub fn verdicts(v: &Verification) -> Vec<&'static str> {
    v.results.iter().map(|r| r.verdict().as_str()).collect()
}

/// A YAML file of the conformance folder.
pub fn yaml(relative: &str) -> serde_yaml_ng::Value {
    serde_yaml_ng::from_slice(&read(relative)).expect("suite is YAML")
}

/// A YAML scalar as text (null as empty).
pub fn yaml_text(value: &serde_yaml_ng::Value) -> String {
    use serde_yaml_ng::Value;
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => panic!("unexpected YAML value {other:?}"),
    }
}

/// The repository's `examples/` folder.
pub fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Fails the test with a clear message when a program an end-to-end test needs is missing:
/// which Debian package brings it, and that `bash scripts/test.sh` installs it.
pub fn require_program(program: &str, package: &str) {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "this test needs `{program}` (Debian package {package}), which `bash scripts/test.sh` \
         installs; `cargo test` alone runs the tests that need nothing but cargo"
    );
}

/// The header analyzer's report on `input` at time `now`, re-verified through `lookup`.
pub fn analyze_at<L: Lookup>(
    input: &[u8],
    lookup: &L,
    now: u64,
    lang: hanko_analyze::headers::Lang,
) -> hanko_analyze::headers::Report {
    let mut config = hanko_analyze::headers::AnalyzeConfig::new(now);
    config.lang = lang;
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
        .block_on(hanko_analyze::headers::analyze(
            input,
            Some(lookup),
            &config,
        ))
}
