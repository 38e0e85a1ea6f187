//! DNS that misbehaves on purpose, through the whole stack: hickory-resolver (as `hanko
//! verify --nameserver` and the milter use it) against the loopback test server, with DKIM,
//! SPF and DMARC on top. Each fault must end in the result RFC 6376, RFC 7208 and RFC 9989
//! give for it, within the configured timeout, without leaking sockets.
//!
//! | fault | DKIM key lookup | SPF record | DMARC record |
//! |---|---|---|---|
//! | no answer at all | temperror | temperror | temperror |
//! | answer slower than the timeout | temperror | | |
//! | answer slower, but within the timeout | pass | | |
//! | SERVFAIL, REFUSED | temperror | temperror | temperror |
//! | truncated UDP answer | pass (TCP) | pass (TCP) | |
//! | answer records for another name | permerror (no key) | none | none |
//! | CNAME loop (SERVFAIL, as a recursive resolver says) | temperror | temperror | temperror |
//! | one record of 100 strings | pass (joined) | | |

use std::net::IpAddr;
use std::time::{Duration, Instant};

use hanko::dkim::{
    key_record_for, sign_message, DkimVerdict, SigningRequest, Verifier, VerifyConfig,
};
use hanko::dmarc::{self, DmarcVerdict, Identifiers};
use hanko::keys::{zone_txt_record, KeySpec, SigningKey};
use hanko::message::{split_message, Headers, MessageLimits};
use hanko::spf::{check_mail_from, SpfConfig, SpfVerdict};
use hanko_dns::server::{Fault, ServerConfig, TestServer};
use hanko_dns::{Resolver, ResolverSettings, Zone};

const TIMEOUT: Duration = Duration::from_millis(800);
const NOW: u64 = 1_795_000_000;

/// Selectors whose key record is published (the same key under each), and the fault each
/// one's queries meet.
const SELECTORS: &[(&str, Option<Fault>)] = &[
    ("good", None),
    ("silent", Some(Fault::NoAnswer)),
    ("late", Some(Fault::Delay(Duration::from_millis(2400)))),
    ("slow", Some(Fault::Delay(Duration::from_millis(200)))),
    ("servfail", Some(Fault::ServFail)),
    ("refused", Some(Fault::Refused)),
    ("truncated", Some(Fault::Truncate)),
    ("wrongname", Some(Fault::WrongName)),
    ("strings", None),
    ("loop", None),
];

struct World {
    _server: TestServer,
    dns: Resolver,
    key: SigningKey,
}

async fn world() -> World {
    let key = SigningKey::generate(KeySpec::Rsa(2048)).unwrap();
    let record = key_record_for(&key, &Default::default()).unwrap();
    let mut zone = String::new();
    for (selector, _) in SELECTORS {
        match *selector {
            "loop" => zone.push_str(
                "loop._domainkey.example.com. IN CNAME loop2._domainkey.example.com.\n\
                 loop2._domainkey.example.com. IN CNAME loop._domainkey.example.com.\n",
            ),
            "strings" => {
                // The same record cut into 100 character-strings of one TXT record.
                let len = record.len();
                let strings: Vec<String> = (0..100)
                    .map(|i| format!("\"{}\"", &record[i * len / 100..(i + 1) * len / 100]))
                    .collect();
                zone.push_str(&format!(
                    "strings._domainkey.example.com. IN TXT ( {} )\n",
                    strings.join(" ")
                ));
            }
            _ => {
                zone.push_str(&zone_txt_record(
                    &format!("{selector}._domainkey.example.com."),
                    &record,
                ));
                zone.push('\n');
            }
        }
    }
    // SPF and DMARC for domains that each meet one fault.
    for domain in [
        "good",
        "silent",
        "servfail",
        "truncated",
        "wrongname",
        "loop",
    ] {
        if domain == "loop" {
            zone.push_str(
                "loop.example. IN CNAME loop2.example.\nloop2.example. IN CNAME loop.example.\n\
                 _dmarc.loop.example. IN CNAME _dmarc.loop2.example.\n\
                 _dmarc.loop2.example. IN CNAME _dmarc.loop.example.\n",
            );
        } else {
            zone.push_str(&format!(
                "{domain}.example. IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n\
                 _dmarc.{domain}.example. IN TXT \"v=DMARC1; p=reject\"\n"
            ));
        }
    }
    let mut config = ServerConfig::new(Zone::parse(&zone, ".").unwrap());
    for (selector, fault) in SELECTORS {
        if let Some(fault) = fault {
            config = config.with_fault(&format!("{selector}._domainkey.example.com"), *fault);
        }
    }
    for (domain, fault) in [
        ("silent", Fault::NoAnswer),
        ("servfail", Fault::ServFail),
        ("truncated", Fault::Truncate),
        ("wrongname", Fault::WrongName),
    ] {
        config = config
            .with_fault(&format!("{domain}.example"), fault)
            .with_fault(&format!("_dmarc.{domain}.example"), fault);
    }
    let server = TestServer::start(config).await.unwrap();
    let dns = Resolver::new(&ResolverSettings {
        nameservers: vec![server.addr()],
        timeout: TIMEOUT,
        ..Default::default()
    })
    .unwrap();
    World {
        _server: server,
        dns,
        key,
    }
}

fn signed(key: &SigningKey, selector: &str) -> Vec<u8> {
    let message = b"From: a@example.com\r\nSubject: faults\r\n\r\nbody\r\n";
    let request = SigningRequest::new(key, "example.com", selector).unwrap();
    sign_message(message, vec![request], NOW).unwrap()
}

async fn dkim_verdict(world: &World, selector: &str) -> (DkimVerdict, Duration) {
    let message = signed(&world.key, selector);
    let (head, body) = split_message(&message);
    let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
    let mut verifier = Verifier::new(&headers, VerifyConfig::default());
    verifier.body(body);
    let started = Instant::now();
    let outcome = verifier.finish(&world.dns, NOW).await;
    (outcome.results[0].verdict(), started.elapsed())
}

#[tokio::test]
async fn dkim_key_lookups_map_each_fault_to_its_result_within_the_timeout() {
    let world = world().await;
    let expected = [
        ("good", DkimVerdict::Pass),
        ("silent", DkimVerdict::TempError),
        ("late", DkimVerdict::TempError),
        ("slow", DkimVerdict::Pass),
        ("servfail", DkimVerdict::TempError),
        ("refused", DkimVerdict::TempError),
        ("truncated", DkimVerdict::Pass),
        ("wrongname", DkimVerdict::PermError),
        ("strings", DkimVerdict::Pass),
        ("loop", DkimVerdict::TempError),
    ];
    assert_eq!(expected.len(), SELECTORS.len());
    for (selector, want) in expected {
        let (got, took) = dkim_verdict(&world, selector).await;
        assert_eq!(got, want, "s={selector}");
        // The resolver's budget covers its retries; allow scheduling slack on a busy machine.
        assert!(took < TIMEOUT * 3, "s={selector} took {took:?}");
    }
}

#[tokio::test]
async fn spf_and_dmarc_map_each_fault_to_its_result() {
    let world = world().await;
    let ip: IpAddr = "192.0.2.10".parse().unwrap();
    let config = SpfConfig::default();
    let expected = [
        ("good", SpfVerdict::Pass, DmarcVerdict::Pass),
        ("silent", SpfVerdict::TempError, DmarcVerdict::TempError),
        ("servfail", SpfVerdict::TempError, DmarcVerdict::TempError),
        ("truncated", SpfVerdict::Pass, DmarcVerdict::Pass),
        ("wrongname", SpfVerdict::None, DmarcVerdict::None),
        ("loop", SpfVerdict::TempError, DmarcVerdict::TempError),
    ];
    for (domain, want_spf, want_dmarc) in expected {
        let mail_from = format!("a@{domain}.example");
        let spf = check_mail_from(&world.dns, &config, ip, &mail_from, "mx.example", NOW).await;
        assert_eq!(spf.verdict, want_spf, "SPF for {domain}");

        let header = format!("From: {mail_from}\r\n\r\n");
        let headers = Headers::parse(
            split_message(header.as_bytes()).0,
            &MessageLimits::default(),
        )
        .unwrap();
        let ids = Identifiers::from_results(&Default::default(), Some(&spf));
        let dmarc = dmarc::check(&world.dns, &headers, &ids).await;
        assert_eq!(dmarc.verdict, want_dmarc, "DMARC for {domain}");
    }
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_out_lookups_leave_no_sockets_behind() {
    let world = std::sync::Arc::new(world().await);
    // Warm up: the resolver opens what it keeps.
    let _ = dkim_verdict(&world, "good").await;
    let _ = dkim_verdict(&world, "silent").await;
    let before = open_descriptors();
    let mut lookups = tokio::task::JoinSet::new();
    for n in 0..100 {
        let world = world.clone();
        let selector = if n % 2 == 0 { "silent" } else { "late" };
        lookups.spawn(async move { dkim_verdict(&world, selector).await.0 });
    }
    while let Some(verdict) = lookups.join_next().await {
        assert_eq!(verdict.unwrap(), DkimVerdict::TempError);
    }
    // Give dropped sockets a moment to close.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = open_descriptors();
    assert!(
        after <= before + 4,
        "{before} descriptors before 100 failed lookups, {after} after"
    );
}
