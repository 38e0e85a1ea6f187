//! The SPF cases of Stalwart's mail-auth (`stalwartlabs-mail-auth/spf/*.yml`: 12 files, 37
//! scenarios, 163 tests) through the public API.
//!
//! The files look like YAML but repeat keys, so they are read line by line as mail-auth's
//! own test does: `spf:`/`exp:` lines are TXT records, `a:`/`aaaa:` addresses, `ptr: <ip>
//! <name>,...` reverse names, and `mx: <name> <ip>,...` an MX host `mx.<ip>.<n>` with
//! preference n+1 per address. A test's `domain:` is the HELO name, `sender:` the MAIL FROM
//! (absent: the HELO identity is checked), `expect:` the result and, for some, the
//! explanation. The receiving host is `localdomain.org`. Names starting `_dns_error` answer
//! SERVFAIL. Like mail-auth's harness, each test checks the HELO identity first and, unless
//! that fails, the MAIL FROM identity (RFC 7208 §2.3 allows deciding on HELO alone).
//!
//! Where mail-auth departs from RFC 7208 (and from the OpenSPF suite, which checks the same
//! points), hanko keeps the RFC's answer; [`DEVIATIONS`] lists each such test with hanko's
//! result and the reason, and the test holds hanko to that result.

use hanko_test_support::spf_suite;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use hanko::dns::reverse_name;
use hanko::spf::{check_helo, check_mail_from, SpfConfig, SpfVerdict};
use spf_suite::{Entry, RecordValue, SuiteDns};

/// Tests where hanko follows RFC 7208 and mail-auth does not: (file, scenario, HELO name,
/// client IP, hanko's result, why).
const DEVIATIONS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "all.yml",
        "All test",
        "test.org",
        "10.0.0.1",
        "permerror",
        "`ip:10.0.0.1` after `-all` is an unknown mechanism; RFC 7208 §4.6: a syntax error \
         anywhere in the record is a permerror, before anything is evaluated",
    ),
    (
        "basic.yml",
        "DNS Lookup Limits",
        "ok.test.org",
        "172.168.0.1",
        "permerror",
        "ten `a:` terms naming domains that do not exist are ten void lookups; RFC 7208 \
         §4.6.4 limits them to two (OpenSPF void-over-limit)",
    ),
    (
        "basic.yml",
        "DNS Lookup Limits",
        "mx.test.org",
        "10.0.0.8",
        "permerror",
        "eleven MX names; RFC 7208 §4.6.4 makes more than ten a permerror (OpenSPF mx-limit)",
    ),
    (
        "exists.yml",
        "Exists",
        "ip6.test.org",
        "167.1.2.3",
        "fail",
        "the exists target has AAAA records and no A; RFC 7208 §5.7: exists looks up A even \
         for IPv6 clients",
    ),
    (
        "ip.yml",
        "IPv6 match",
        "test.org",
        "10.1.2.3",
        "fail",
        "an IPv4 client never matches an ip6 mechanism, even ip6:::ffff:10.1.2.3 (RFC 7208 \
         §5.6; OpenSPF cidr6-0-ip4)",
    ),
    (
        "macro.yml",
        "Macro expansion 2",
        "mx.example.org",
        "2001:db8::cb01",
        "fail",
        "the exists target has only an AAAA record; RFC 7208 §5.7: exists looks up A",
    ),
];

/// hanko's own answer where [`DEVIATIONS`] lists the test.
fn deviation(file: &str, scenario: &str, helo: &str, ip: IpAddr) -> Option<&'static str> {
    DEVIATIONS
        .iter()
        .find(|(f, s, h, i, _, _)| {
            *f == file && *s == scenario && *h == helo && i.parse::<IpAddr>().ok() == Some(ip)
        })
        .map(|d| d.4)
}

/// DNS data by (name, type); a later line for the same name and type replaces the earlier
/// one, as mail-auth's test cache does.
type Data = HashMap<(String, String), Vec<RecordValue>>;

fn set(data: &mut Data, name: &str, kind: &str, values: Vec<RecordValue>) {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    data.insert((name, kind.to_string()), values);
}

fn zone(data: &Data) -> Arc<HashMap<String, Vec<Entry>>> {
    let mut zone: HashMap<String, Vec<Entry>> = HashMap::new();
    for ((name, kind), values) in data {
        for value in values {
            zone.entry(name.clone())
                .or_default()
                .push(Entry::Record(kind.clone(), value.clone()));
        }
    }
    Arc::new(zone)
}

/// Runs every test of one file, line by line; returns (tests run, failures).
async fn run_file(file: &str, text: &str, config: &SpfConfig) -> (usize, usize, Vec<String>) {
    let mut run = 0;
    let mut deviations = 0;
    let mut failures = Vec::new();
    for document in text.split("\n---") {
        let mut data = Data::new();
        let (mut scenario, mut helo, mut sender, mut ip) =
            (String::new(), String::new(), String::new(), None::<IpAddr>);
        for line in document.lines() {
            let trimmed = line.trim().trim_start_matches("- ");
            if trimmed.starts_with('#') || trimmed.is_empty() {
                continue;
            }
            let Some((key, value)) = trimmed.split_once(':') else {
                continue;
            };
            let value = value.trim();
            let (first, rest) = value.split_once(' ').unwrap_or((value, ""));
            let list: Vec<&str> = rest
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            match key {
                "name" => scenario = value.to_string(),
                "records" | "tests" => {}
                "spf" | "exp" => set(
                    &mut data,
                    first,
                    "TXT",
                    vec![RecordValue::Text(vec![rest.into()])],
                ),
                "a" | "aaaa" => {
                    let values = list
                        .iter()
                        .map(|ip| RecordValue::Plain((*ip).into()))
                        .collect();
                    set(&mut data, first, &key.to_ascii_uppercase(), values);
                }
                "ptr" => {
                    let address: IpAddr = first.parse().unwrap();
                    let values = list
                        .iter()
                        .map(|h| RecordValue::Plain((*h).into()))
                        .collect();
                    set(&mut data, &reverse_name(address), "PTR", values);
                }
                "mx" => {
                    let mut exchangers = Vec::new();
                    for (n, address) in list.iter().enumerate() {
                        let host = format!("mx.{address}.{n}");
                        exchangers.push(RecordValue::Mx(n as u16 + 1, host.clone()));
                        let kind = if address.contains(':') { "AAAA" } else { "A" };
                        set(
                            &mut data,
                            &host,
                            kind,
                            vec![RecordValue::Plain((*address).into())],
                        );
                    }
                    set(&mut data, first, "MX", exchangers);
                }
                "domain" => helo = value.to_string(),
                "sender" => sender = value.to_string(),
                "ip" => ip = Some(value.parse().unwrap()),
                "expect" => {
                    run += 1;
                    let dns = SuiteDns(zone(&data));
                    let ip = ip.expect("ip: before expect:");
                    let helo_outcome = check_helo(&dns, config, ip, &helo, 0).await;
                    let outcome = if sender.is_empty() || helo_outcome.verdict == SpfVerdict::Fail {
                        helo_outcome
                    } else {
                        check_mail_from(&dns, config, ip, &sender, &helo, 0).await
                    };
                    let expected = deviation(file, &scenario, &helo, ip).unwrap_or(first);
                    deviations += usize::from(expected != first);
                    let explanation = (!rest.is_empty()).then(|| rest.to_string());
                    let label = format!("{file} / {scenario} / {sender} HELO {helo} from {ip}");
                    if outcome.verdict.as_str() != expected {
                        failures.push(format!(
                            "{label}: got {} ({:?}), expected {expected}",
                            outcome.verdict, outcome.problem
                        ));
                    } else if explanation.is_some() && outcome.explanation != explanation {
                        failures.push(format!(
                            "{label}: explanation {:?}, expected {explanation:?}",
                            outcome.explanation
                        ));
                    }
                }
                other => panic!("{file}: unknown line {other}: {value}"),
            }
        }
    }
    (run, deviations, failures)
}

#[tokio::test]
async fn mail_auth_spf_cases() {
    let dir = std::path::Path::new("stalwartlabs-mail-auth/spf");
    let config = SpfConfig {
        receiver: "localdomain.org".into(),
        ..SpfConfig::default()
    };
    let mut total = 0;
    let mut deviations = 0;
    let mut failures = Vec::new();
    let mut files: Vec<String> = std::fs::read_dir(spf_suite_dir().join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 12);
    for file in &files {
        let text = std::fs::read_to_string(spf_suite_dir().join(dir).join(file)).unwrap();
        let (run, deviated, wrong) = run_file(file, &text, &config).await;
        total += run;
        deviations += deviated;
        failures.extend(wrong);
    }
    assert_eq!(total, 163, "mail-auth has 163 SPF tests");
    assert_eq!(
        deviations,
        DEVIATIONS.len(),
        "each listed deviation is used once"
    );
    assert!(
        failures.is_empty(),
        "{} of {total} wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn spf_suite_dir() -> std::path::PathBuf {
    spf_suite::conformance_dir()
}
