//! `hanko check DOMAIN` on the shipped fixtures: `examples/example.com.zone` (a good domain)
//! and `examples/broken.zone` (one domain per mistake). Every fixture gives its expected
//! findings twice: offline from the zone files, and over the network from a DNS server on
//! loopback serving the same files (where `_spf.slow.example` never answers).

use std::path::PathBuf;
use std::process::Output;

use hanko_dns::server::{Fault, ServerConfig, TestServer};
use hanko_dns::Zone;
use serde_json::Value;

use crate::common;
use common::{run, HANKO};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn zones() -> Vec<String> {
    ["broken.zone", "example.com.zone"]
        .iter()
        .map(|f| examples().join(f).to_string_lossy().into_owned())
        .collect()
}

/// Where DNS comes from for one run of the fixtures.
enum Source {
    Files,
    Server(String),
}

impl Source {
    fn args(&self) -> Vec<String> {
        match self {
            Source::Files => zones()
                .into_iter()
                .flat_map(|z| ["--zone".to_string(), z])
                .collect(),
            Source::Server(addr) => vec![
                "--nameserver".into(),
                addr.clone(),
                "--dns-timeout".into(),
                "1".into(),
            ],
        }
    }
}

fn check(source: &Source, args: &[&str]) -> (Output, Value) {
    let mut all = source.args();
    all.push("check".into());
    all.push("--json".into());
    all.extend(args.iter().map(|s| s.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let out = run(HANKO, &all, b"");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, json)
}

fn findings(json: &Value) -> Vec<String> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} [{}] {}",
                f["severity"].as_str().unwrap(),
                f["area"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect()
}

/// Each broken domain, the selectors to ask for, and a finding it must give (severity, area
/// and part of the message). The slow include differs by source: missing in the file, silent
/// on the server.
fn expectations(server: bool) -> Vec<(&'static str, Vec<&'static str>, &'static str)> {
    vec![
        ("nospf.example", vec![], "error [spf] nospf.example publishes no SPF record"),
        ("twospf.example", vec![], "error [spf] twospf.example publishes 2 SPF records"),
        ("lookups.example", vec![], "error [spf] the policy needs 11 DNS lookups, more than 10"),
        (
            "slow.example",
            vec![],
            if server {
                "warning [spf] include:_spf.slow.example could not be fetched: DNS timeout"
            } else {
                "error [spf] include:_spf.slow.example has no SPF record"
            },
        ),
        (
            "cname.example",
            vec!["selector1"],
            "error [dkim] s=selector1: selector1._domainkey.cname.example is a CNAME to selector1-cname-example._domainkey.tenant.mailhost.example, which has no key record",
        ),
        ("weak.example", vec!["s1"], "error [dkim] s=s1: RSA key of 512 bits"),
        ("revoked.example", vec!["s1", "s2"], "note [dkim] s=s1: the key at s1._domainkey.revoked.example is revoked"),
        ("revoked.example", vec!["s1", "s2"], "warning [dkim] s=s2: t=y (testing) is still on"),
        ("monitor.example", vec![], "warning [dmarc] policy for monitor.example is none"),
        ("monitor.example", vec![], "warning [dmarc] pct=50 is removed by RFC 9989"),
        (
            "monitor.example",
            vec![],
            "error [dmarc] rua=mailto:dmarc@reports.example: not authorized: no v=DMARC1 record at monitor.example._report._dmarc.reports.example",
        ),
        ("monitor.example", vec![], "error [spf] monitor.example ends with +all"),
        ("revoked.example", vec!["s1"], "note [adsp] an ADSP record (dkim=all) is published; ADSP is historic"),
        ("syntax.example", vec![], "warning [mx] syntax.example has no MX record"),
        (
            "syntax.example",
            vec![],
            "error [spf] the SPF record of syntax.example is invalid at character 11: bad term \"ip4:192.0.2.300\"",
        ),
    ]
}

fn run_fixtures(source: &Source, server: bool) {
    for (domain, selectors, want) in expectations(server) {
        let mut args = vec![domain];
        for s in &selectors {
            args.extend(["--selector", s]);
        }
        let (out, json) = check(source, &args);
        let got = findings(&json);
        assert!(
            got.iter().any(|f| f.starts_with(want)),
            "{domain}: no {want:?} in {got:#?}"
        );
        let errors = got.iter().any(|f| f.starts_with("error"));
        assert_eq!(out.status.code(), Some(u8::from(errors).into()), "{domain}");
        assert_ne!(json["grade"], "A", "{domain}");
    }
}

#[test]
fn the_good_domain_grades_a_and_its_records_are_read_whole() {
    let (out, json) = check(&Source::Files, &["example.com"]);
    assert_eq!(out.status.code(), Some(0), "{json:#}");
    assert_eq!(json["grade"], "A", "{json:#}");
    assert_eq!(json["spf"]["dns_lookups"], 2);
    assert_eq!(
        json["spf"]["authorized"],
        serde_json::json!(["192.0.2.0/24", "198.51.100.25/32", "2001:db8:5f::/48"])
    );
    assert_eq!(
        json["spf"]["tree"]["children"][0]["domain"],
        "_spf.provider.example.net"
    );
    // Probed: selector1 is found through its CNAME (the Exchange Online layout).
    let selector1 = &json["dkim"][0];
    assert_eq!(selector1["selector"], "selector1");
    assert_eq!(
        selector1["cname_chain"][0],
        "rsa2026._domainkey.example.com"
    );
    assert_eq!(
        (selector1["key_type"].as_str(), selector1["bits"].as_u64()),
        (Some("rsa"), Some(2048))
    );
    assert_eq!(json["dmarc"]["policy"], "reject");
    assert_eq!(
        json["dmarc"]["report_destinations"][0]["status"],
        "same-organization"
    );
    assert_eq!(json["mx"][0], "10 mail.example.com");
    // Tags explained.
    assert_eq!(json["dmarc"]["tags"][1]["tag"], "p");
    assert!(json["dmarc"]["tags"][1]["meaning"]
        .as_str()
        .unwrap()
        .contains("reject: refuse failing mail"));
    assert_eq!(
        selector1["tags"][1]["meaning"],
        "key type: rsa (rsa, or ed25519 by RFC 8463)"
    );
}

#[test]
fn a_private_key_is_matched_against_the_published_one() {
    let rsa = examples().join("rsa2026.private");
    let ed = examples().join("ed2026.private");
    let (out, json) = check(
        &Source::Files,
        &[
            "example.com",
            "-s",
            "rsa2026",
            "--key",
            rsa.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json["dkim"][0]["matches_private_key"], true);
    assert!(findings(&json)
        .iter()
        .any(|f| f.contains("matches the private key")));
    let (out, json) = check(
        &Source::Files,
        &[
            "example.com",
            "-s",
            "rsa2026",
            "--key",
            ed.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json["dkim"][0]["matches_private_key"], false);
    assert!(findings(&json)
        .iter()
        .any(|f| f.starts_with("error [dkim] s=rsa2026: the published key does not match")));
}

#[test]
fn broken_fixtures_from_the_zone_files() {
    run_fixtures(&Source::Files, false);
}

#[test]
fn broken_fixtures_from_a_dns_server_on_loopback() {
    let mut zone = Zone::new();
    for file in zones() {
        zone.add_file(std::path::Path::new(&file)).unwrap();
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(TestServer::start(
            ServerConfig::new(zone).with_fault("_spf.slow.example", Fault::NoAnswer),
        ))
        .unwrap();
    run_fixtures(&Source::Server(server.addr().to_string()), true);
}

#[test]
fn text_output_lists_findings_what_to_fix_first_and_a_grade() {
    let mut all = Source::Files.args();
    all.extend(["check".into(), "monitor.example".into()]);
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let out = run(HANKO, &all, b"");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\nFindings\n"), "{text}");
    assert!(
        text.contains("\nFix first\n  1. monitor.example ends with +all"),
        "{text}"
    );
    // Two errors (+all, the unauthorized rua) make a D.
    assert!(text.ends_with("Grade: D\n"), "{text}");
    assert!(!text.contains('\x1b'), "no colours when not on a terminal");
}
