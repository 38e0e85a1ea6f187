//! Every limit of the library at its boundary: the default amount is allowed, one more is
//! not. `docs/limits.md` is the table of all limits; its last column names the test that
//! enforces each row, and the last test here checks that those tests exist.

use crate::common;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use common::MapDns;
use hanko::dkim::{
    key_record_for, sign_message, DkimFailure, DkimVerdict, SigningRequest, Verifier, VerifyConfig,
};
use hanko::dmarc::{self, DmarcProblem, DmarcVerdict, Identifiers};
use hanko::dns::{Lookup, LookupFuture, Mx, TxtAnswer};
use hanko::keys::{KeySpec, SigningKey};
use hanko::message::{split_message, Headers, MessageError, MessageLimits};
use hanko::spf::{check_mail_from, SpfConfig, SpfVerdict};
use hanko_dns::Zone;

const NOW: u64 = 1_795_000_000;

fn headers_of(section: &[u8]) -> Result<Headers, MessageError> {
    Headers::parse(section, &MessageLimits::default())
}

#[test]
fn header_field_count_limit() {
    let section = |fields: usize| {
        let mut s = b"From: a@example.com\r\n".to_vec();
        for _ in 1..fields {
            s.extend_from_slice(b"X-A: b\r\n");
        }
        s
    };
    assert_eq!(headers_of(&section(1000)).unwrap().len(), 1000);
    assert!(matches!(
        headers_of(&section(1001)),
        Err(MessageError::TooManyHeaderFields { limit: 1000 })
    ));
}

#[test]
fn header_section_size_limit() {
    let section = |octets: usize| {
        let mut s = b"From: a@example.com\r\nX-Fill: ".to_vec();
        let fill = octets - s.len() - 2;
        s.extend(std::iter::repeat_n(b'x', fill));
        s.extend_from_slice(b"\r\n");
        assert_eq!(s.len(), octets);
        s
    };
    assert!(headers_of(&section(1 << 20)).is_ok());
    assert!(matches!(
        headers_of(&section((1 << 20) + 1)),
        Err(MessageError::HeaderSectionTooLarge { limit }) if limit == 1 << 20
    ));
}

/// A message signed `count` times by one Ed25519 key (s=ed, d=example.com), and DNS with it.
fn signed(count: usize, expire_after: Option<u64>) -> (Vec<u8>, MapDns) {
    let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let mut dns = MapDns::default();
    dns.add(
        "ed._domainkey.example.com",
        &key_record_for(&key, &Default::default()).unwrap(),
    );
    let message = b"From: a@example.com\r\nSubject: limits\r\n\r\nbody\r\n";
    let requests = (0..count)
        .map(|_| {
            let mut r = SigningRequest::new(&key, "example.com", "ed").unwrap();
            r.expire_after = expire_after;
            r
        })
        .collect();
    let out = sign_message(message, requests, NOW).unwrap();
    (out, dns)
}

async fn verify_at(message: &[u8], dns: &MapDns, now: u64) -> hanko::dkim::Verification {
    let (head, body) = split_message(message);
    let headers = headers_of(head).unwrap();
    let mut verifier = Verifier::new(&headers, VerifyConfig::default());
    verifier.body(body);
    verifier.finish(dns, now).await
}

#[tokio::test]
async fn signatures_verified_per_message_limit() {
    let (message, dns) = signed(10, None);
    let outcome = verify_at(&message, &dns, NOW).await;
    assert_eq!((outcome.results.len(), outcome.skipped), (10, 0));
    let (message, dns) = signed(11, None);
    let outcome = verify_at(&message, &dns, NOW).await;
    assert_eq!((outcome.results.len(), outcome.skipped), (10, 1));
    assert!(outcome.all_pass());
}

#[tokio::test]
async fn expiry_clock_skew_limit() {
    // x= is t= + 100; 300 s of skew are forgiven, not one more.
    let (message, dns) = signed(1, Some(100));
    let at_limit = verify_at(&message, &dns, NOW + 100 + 300).await;
    assert_eq!(at_limit.results[0].verdict(), DkimVerdict::Pass);
    let over = verify_at(&message, &dns, NOW + 100 + 301).await;
    assert!(matches!(
        over.results[0].failure,
        Some(DkimFailure::Expired { .. })
    ));
    assert_eq!(over.results[0].verdict(), DkimVerdict::PermError);
}

#[test]
fn rsa_key_sizes_for_signing() {
    assert!(SigningKey::generate(KeySpec::Rsa(1024)).is_err());
    assert!(SigningKey::generate(KeySpec::Rsa(2048)).is_ok());
    assert!(SigningKey::generate(KeySpec::Rsa(16384)).is_err());
}

#[tokio::test]
async fn cname_chain_limit() {
    // a0 -> a1 -> ... -> aN, where aN holds the TXT record: N CNAMEs to follow.
    let zone = |n: usize| {
        let mut text = String::from("$ORIGIN example.org.\n");
        for i in 0..n {
            text.push_str(&format!("a{i} IN CNAME a{}\n", i + 1));
        }
        text.push_str(&format!("a{n} IN TXT \"found\"\n"));
        Zone::parse(&text, "").unwrap()
    };
    assert_eq!(hanko_dns::MAX_CNAME_CHAIN, 8);
    assert_eq!(
        zone(8).txt("a0.example.org").await.map(|a| a.texts()),
        Ok(vec![b"found".to_vec()])
    );
    assert!(matches!(
        zone(9).txt("a0.example.org").await,
        Err(hanko::dns::DnsError::ServerFailure(_))
    ));
}

/// example.org with `record` as its SPF policy (split into strings of up to 255 octets),
/// ok.example.org with `v=spf1 -all`, and `extra` zone lines.
fn spf_zone(record: &str, extra: &str) -> Zone {
    let strings: Vec<String> = record
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    Zone::parse(
        &format!(
            "$ORIGIN example.org.\n@ IN TXT ( {} )\nok IN TXT \"v=spf1 -all\"\n{extra}",
            strings.join(" ")
        ),
        "",
    )
    .unwrap()
}

async fn spf(lookup: &impl Lookup, config: &SpfConfig) -> hanko::spf::SpfOutcome {
    let ip: IpAddr = "192.0.2.1".parse().unwrap();
    check_mail_from(lookup, config, ip, "x@example.org", "mx.example.org", NOW).await
}

#[tokio::test]
async fn spf_dns_lookup_limit() {
    let record = |n: usize| {
        let includes: Vec<&str> = std::iter::repeat_n("include:ok.example.org", n).collect();
        format!("v=spf1 {} ip4:192.0.2.1 -all", includes.join(" "))
    };
    let ten = spf(&spf_zone(&record(10), ""), &SpfConfig::default()).await;
    assert_eq!((ten.verdict, ten.dns_lookups), (SpfVerdict::Pass, 10));
    let eleven = spf(&spf_zone(&record(11), ""), &SpfConfig::default()).await;
    assert_eq!(eleven.verdict, SpfVerdict::PermError);
}

#[tokio::test]
async fn spf_void_lookup_limit() {
    let record = |n: usize| {
        let terms: Vec<String> = (0..n).map(|i| format!("a:void{i}.example.org")).collect();
        format!("v=spf1 {} ip4:192.0.2.1 -all", terms.join(" "))
    };
    let two = spf(&spf_zone(&record(2), ""), &SpfConfig::default()).await;
    assert_eq!((two.verdict, two.void_lookups), (SpfVerdict::Pass, 2));
    let three = spf(&spf_zone(&record(3), ""), &SpfConfig::default()).await;
    assert_eq!(three.verdict, SpfVerdict::PermError);
}

#[tokio::test]
async fn spf_mx_names_limit() {
    let zone = |n: usize| {
        let mut extra = String::new();
        for i in 0..n {
            extra.push_str(&format!("@ IN MX {i} mx{i}\n"));
        }
        // Only the last exchange is the client.
        extra.push_str(&format!("mx{} IN A 192.0.2.1\n", n - 1));
        spf_zone("v=spf1 mx -all", &extra)
    };
    assert_eq!(
        spf(&zone(10), &SpfConfig::default()).await.verdict,
        SpfVerdict::Pass
    );
    assert_eq!(
        spf(&zone(11), &SpfConfig::default()).await.verdict,
        SpfVerdict::PermError
    );
}

#[tokio::test]
async fn spf_ptr_names_limit() {
    // The client's PTR names: n - 1 that do not validate, then one that does.
    let zone = |n: usize| {
        let mut extra = String::new();
        for i in 0..n {
            extra.push_str(&format!(
                "1.2.0.192.in-addr.arpa. IN PTR host{i}.example.org.\n"
            ));
        }
        extra.push_str(&format!("host{} IN A 192.0.2.1\n", n - 1));
        spf_zone("v=spf1 ptr -all", &extra)
    };
    assert_eq!(
        spf(&zone(10), &SpfConfig::default()).await.verdict,
        SpfVerdict::Pass
    );
    // The 11th name is never tried: no match, and the policy's -all decides.
    assert_eq!(
        spf(&zone(11), &SpfConfig::default()).await.verdict,
        SpfVerdict::Fail
    );
}

/// A lookup that takes `delay` for every TXT query.
struct Slow {
    zone: Zone,
    delay: Duration,
}

impl Lookup for Slow {
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
        LookupFuture::new(async move {
            tokio::time::sleep(self.delay).await;
            self.zone.txt(name).await
        })
    }
    fn a<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<std::net::Ipv4Addr>> {
        self.zone.a(name)
    }
    fn aaaa<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<std::net::Ipv6Addr>> {
        self.zone.aaaa(name)
    }
    fn mx<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Mx>> {
        self.zone.mx(name)
    }
    fn ptr<'a>(&'a self, ip: IpAddr) -> LookupFuture<'a, Vec<String>> {
        self.zone.ptr(ip)
    }
}

#[tokio::test]
async fn spf_time_budget_limit() {
    let record = "v=spf1 include:ok.example.org include:ok.example.org include:ok.example.org \
                  include:ok.example.org ip4:192.0.2.1 -all";
    let slow = Slow {
        zone: spf_zone(record, ""),
        delay: Duration::from_millis(40),
    };
    let roomy = SpfConfig {
        time_budget: Duration::from_secs(5),
        ..SpfConfig::default()
    };
    assert_eq!(spf(&slow, &roomy).await.verdict, SpfVerdict::Pass);
    let tight = SpfConfig {
        time_budget: Duration::from_millis(100),
        ..SpfConfig::default()
    };
    assert_eq!(spf(&slow, &tight).await.verdict, SpfVerdict::TempError);
}

#[tokio::test]
async fn dmarc_author_domain_limit() {
    let check = |n: usize| async move {
        let from: Vec<String> = (0..n).map(|i| format!("a@d{i}.example")).collect();
        let section = format!("From: {}\r\n", from.join(", "));
        let headers = headers_of(section.as_bytes()).unwrap();
        dmarc::check(&MapDns::default(), &headers, &Identifiers::default()).await
    };
    let ten = check(10).await;
    assert_eq!(ten.verdict, DmarcVerdict::None);
    assert_eq!(ten.evaluations.len(), 10);
    let eleven = check(11).await;
    assert_eq!(eleven.verdict, DmarcVerdict::PermError);
    assert!(matches!(
        eleven.problem,
        Some(DmarcProblem::TooManyAuthorDomains(11))
    ));
}

#[tokio::test]
async fn dmarc_tree_walk_query_limit() {
    // Twelve labels below the public suffix: the walk asks at most 8 names (RFC 9989 §4.10).
    let headers =
        headers_of(b"From: a@l1.l2.l3.l4.l5.l6.l7.l8.l9.l10.l11.l12.example.com\r\n").unwrap();
    let dns = MapDns::default();
    let outcome = dmarc::check(&dns, &headers, &Identifiers::default()).await;
    assert_eq!(outcome.verdict, DmarcVerdict::None);
    assert!(
        dns.queries() <= dmarc::discovery::MAX_WALK_QUERIES,
        "{}",
        dns.queries()
    );
    assert_eq!(dmarc::discovery::MAX_WALK_QUERIES, 8);
}

#[tokio::test]
async fn dmarc_report_host_limit() {
    // Twelve external hosts: the first ten are asked (one query each), the rest not.
    let uris: Vec<String> = (0..12)
        .map(|i| format!("mailto:r@h{i}.example.net"))
        .collect();
    let record =
        hanko::dmarc::DmarcRecord::parse(&format!("v=DMARC1; p=none; rua={}", uris.join(",")))
            .unwrap();
    let dns = MapDns::default();
    let destinations =
        dmarc::reporting::check_destinations(&dns, "example.com", "example.com", &record).await;
    let words: Vec<&str> = destinations
        .iter()
        .map(|d| d.authorization.as_str())
        .collect();
    assert_eq!(words[..10], ["not-authorized"; 10]);
    assert_eq!(words[10..], ["not-checked"; 2]);
    assert_eq!(dns.queries(), dmarc::reporting::MAX_EXTERNAL_HOSTS);
}

/// `docs/limits.md`: every row names tests as `path::function`; each must exist.
#[test]
fn every_row_of_the_limits_table_names_a_test_that_exists() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let table = std::fs::read_to_string(root.join("docs/limits.md")).expect("docs/limits.md");
    let mut rows = 0;
    for line in table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| limit"))
    {
        let cells: Vec<&str> = line.split(" | ").collect();
        let tests = cells.last().unwrap().trim_end_matches(" |").trim();
        if tests.starts_with("---") {
            continue;
        }
        rows += 1;
        assert!(!tests.is_empty(), "no test named: {line}");
        for test in tests.split(", ") {
            let test = test.trim_matches('`');
            let (path, function) = test
                .rsplit_once("::")
                .unwrap_or_else(|| panic!("{test:?} is not path::function"));
            let source =
                std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(
                source.contains(&format!("fn {function}(")),
                "{path} has no {function}"
            );
        }
    }
    assert!(rows >= 20, "{rows} rows");
}

/// Passes every query to a map and writes down the name asked.
struct Recorder {
    inner: hanko::dns::StaticLookup,
    names: std::sync::Mutex<Vec<String>>,
}

impl Recorder {
    fn note(&self, name: &str) {
        self.names.lock().unwrap().push(name.to_ascii_lowercase());
    }
    /// The queries outside DMARC's discovery of policies (names not under `_dmarc.`).
    fn budgeted(&self) -> usize {
        let names = self.names.lock().unwrap();
        names.iter().filter(|n| !n.starts_with("_dmarc.")).count()
    }
}

impl Lookup for Recorder {
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
        self.note(name);
        self.inner.txt(name)
    }
    fn a<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<std::net::Ipv4Addr>> {
        self.note(name);
        self.inner.a(name)
    }
    fn aaaa<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<std::net::Ipv6Addr>> {
        self.note(name);
        self.inner.aaaa(name)
    }
    fn mx<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Mx>> {
        self.note(name);
        self.inner.mx(name)
    }
    fn ptr<'a>(&'a self, ip: IpAddr) -> LookupFuture<'a, Vec<String>> {
        self.note(&ip.to_string());
        self.inner.ptr(ip)
    }
}

/// How a sender can multiply the queries of one message: an SPF policy at RFC 7208's limits
/// (ten `mx` terms of ten exchanges each: 111 queries), ten signatures with ten selectors, a
/// co-author whose DMARC record names external report destinations.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Spender {
    Spf,
    Signatures,
    ReportDestinations,
    All,
}

fn spender_world() -> hanko::dns::StaticLookup {
    let mut dns = hanko::dns::StaticLookup::new()
        .with_txt("_dmarc.bank.example", "v=DMARC1; p=reject")
        .with_txt(
            "_dmarc.spender.example",
            format!(
                "v=DMARC1; p=none; rua={}",
                (0..10)
                    .map(|i| format!("mailto:r@h{i}.reports.example"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        );
    let terms: Vec<String> = (0..10)
        .map(|i| format!("mx:m{i}.spender.example"))
        .collect();
    dns = dns.with_txt(
        "spender.example",
        format!("v=spf1 {} -all", terms.join(" ")),
    );
    for i in 0..10 {
        for j in 0..10 {
            let exchange = format!("x{j}.m{i}.spender.example");
            dns = dns
                .with_mx(&format!("m{i}.spender.example"), 10, &exchange)
                .with_a(&exchange, std::net::Ipv4Addr::new(10, i, j, 1));
        }
    }
    dns
}

fn spender_message(spender: Spender) -> Vec<u8> {
    let mut message = String::new();
    if matches!(spender, Spender::Signatures | Spender::All) {
        for i in 0..10 {
            message.push_str(&format!(
                "DKIM-Signature: v=1; a=rsa-sha256; d=spender.example; s=s{i}; h=from; bh=AAAA; b=QUJD\r\n"
            ));
        }
    }
    let from = match spender {
        Spender::ReportDestinations | Spender::All => "ceo@bank.example, x@spender.example",
        Spender::Spf | Spender::Signatures => "ceo@bank.example",
    };
    message.push_str(&format!("From: {from}\r\nSubject: pay now\r\n\r\nPay.\r\n"));
    message.into_bytes()
}

async fn receive_spender(spender: Spender, budget: usize) -> (hanko::receiver::Receipt, usize) {
    use hanko::receiver::{Connection, Receiver, ReceiverConfig};
    let dns = Recorder {
        inner: spender_world(),
        names: Default::default(),
    };
    let mut config = ReceiverConfig::new("mx.example.net");
    config.report_destinations = true;
    config.max_dns_queries = budget;
    let receiver = Receiver::read(&config, &spender_message(spender)[..]).unwrap();
    let mail_from = match spender {
        Spender::Spf | Spender::All => "x@spender.example",
        Spender::Signatures | Spender::ReportDestinations => "x@quiet.example",
    };
    let connection = Connection {
        ip: "198.51.100.7".parse().unwrap(),
        helo: "mail.spender.example",
        mail_from,
        received_field: None,
    };
    let receipt = receiver.finish(&dns, Some(connection), NOW).await;
    let budgeted = dns.budgeted();
    (receipt, budgeted)
}

#[tokio::test]
async fn receiver_dns_query_budget() {
    assert_eq!(
        hanko::receiver::ReceiverConfig::DEFAULT_MAX_DNS_QUERIES,
        128
    );
    let spenders = [
        Spender::Spf,
        Spender::Signatures,
        Spender::ReportDestinations,
        Spender::All,
    ];
    for spender in spenders {
        for budget in [0, 1, 5, 40] {
            let (receipt, budgeted) = receive_spender(spender, budget).await;
            assert!(
                budgeted <= budget,
                "{spender:?}, budget {budget}: {budgeted} queries passed"
            );
            // The budget never hides the victim's policy: an unauthenticated From of the
            // p=reject domain is a DMARC fail, to be rejected.
            let dmarc = &receipt.dmarc;
            assert_eq!(dmarc.verdict, DmarcVerdict::Fail, "{spender:?}, {budget}");
            assert_eq!(dmarc.author_domain.as_deref(), Some("bank.example"));
            assert_eq!(
                dmarc.disposition,
                dmarc::Policy::Reject,
                "{spender:?}, {budget}"
            );
            let field = receipt.authentication_results().to_field();
            assert!(field.contains("dmarc=fail"), "{field}");
        }
    }
    // The default leaves room for every check at the limits RFC 7208 and RFC 6376 allow:
    // SPF's 111 queries reach its real answer and all ten keys are asked, none refused.
    let (receipt, budgeted) = receive_spender(Spender::All, 128).await;
    let spf = receipt.spf.as_ref().unwrap();
    assert_eq!(spf.verdict, SpfVerdict::Fail, "{:?}", spf.problem);
    assert_eq!(receipt.dkim.results.len(), 10);
    for result in &receipt.dkim.results {
        let reason = result.failure.as_ref().unwrap().to_string();
        assert!(!reason.contains("budget"), "{reason}");
    }
    assert!(budgeted > 111 && budgeted <= 128, "{budgeted}");
    // One fewer than SPF needs: SPF says its query was refused, as a temporary error.
    let (receipt, _) = receive_spender(Spender::Spf, 110).await;
    let spf = receipt.spf.as_ref().unwrap();
    assert_eq!(spf.verdict, SpfVerdict::TempError);
    let problem = spf.problem.as_ref().unwrap().to_string();
    assert!(problem.contains("budget of 110 DNS queries"), "{problem}");
}

/// A chain of 50 sets (RFC 8617 §4.2.1's most) validates; a 51st set cannot be added, and a
/// set that claims i=51 breaks the chain.
#[tokio::test]
async fn arc_instance_limit() {
    use hanko::arc::{
        ArcConfig, ArcFailure, ArcSealer, ArcVerifier, ChainStatus, SealError, SealRequest,
    };

    let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let dns = hanko::dns::StaticLookup::new().with_txt(
        "arc._domainkey.list.example",
        key_record_for(&key, &Default::default()).unwrap(),
    );
    let validate = |message: &[u8]| {
        let (head, body) = split_message(message);
        let headers = headers_of(head).unwrap();
        let mut verifier = ArcVerifier::new(&headers, ArcConfig::default());
        verifier.body(body);
        verifier.finish(&dns, NOW)
    };
    let mut message = b"From: joe@example.com\r\nSubject: hops\r\n\r\nhi\r\n".to_vec();
    for _ in 0..50 {
        let chain = validate(&message).await;
        let (head, body) = split_message(&message);
        let headers = headers_of(head).unwrap();
        let request = SealRequest::new(&key, "list.example", "arc").unwrap();
        let mut sealer = ArcSealer::new(&headers, request).unwrap();
        sealer.body(body);
        let set = sealer
            .finish(chain.status(), "list.example; none", NOW)
            .unwrap();
        let mut sealed = Vec::new();
        for field in set.fields() {
            sealed.extend_from_slice(field.raw());
            sealed.extend_from_slice(b"\r\n");
        }
        sealed.extend_from_slice(&message);
        message = sealed;
    }
    let chain = validate(&message).await;
    assert_eq!(chain.status(), ChainStatus::Pass, "{:?}", chain.failure);
    assert_eq!(chain.sets.len(), 50);
    let (head, _) = split_message(&message);
    let request = SealRequest::new(&key, "list.example", "arc").unwrap();
    assert_eq!(
        ArcSealer::new(&headers_of(head).unwrap(), request).err(),
        Some(SealError::ChainTooLong)
    );
    let over = String::from_utf8(message.clone()).unwrap().replacen(
        "ARC-Authentication-Results: i=50;",
        "ARC-Authentication-Results: i=51;",
        1,
    );
    let chain = validate(over.as_bytes()).await;
    assert!(
        matches!(chain.failure, Some(ArcFailure::Instance { .. })),
        "{:?}",
        chain.failure
    );
}
