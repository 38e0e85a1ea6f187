//! The header analyzer on the conformance folder's messages: the RFC 6376 example read hop
//! by hop and diagnosed, and a report for every message of every DKIM corpus.

use hanko_analyze::headers::{analyze_offline, AnalyzeConfig, Lang, Report};
use hanko_dns::Zone;
use hanko_test_support as common;

/// 2026-11-23T02:13:20Z, as the analyzer's other tests.
const NOW: u64 = 1_795_400_000;

fn run(input: &[u8], zone: &Zone, lang: Lang) -> Report {
    common::analyze_at(input, zone, NOW, lang)
}

/// The TXT records of dkim_verifier's DNS stub as a zone.
fn dkim_verifier_zone() -> Zone {
    let records = common::yaml("dkim_verifier/dns-txt.yml");
    let mut text = String::from("$ORIGIN .\n");
    for (name, value) in records["txt"].as_mapping().unwrap() {
        let value = common::yaml_text(value).replace('"', "\\\"");
        text.push_str(&format!(
            "{}. 300 IN TXT \"{value}\"\n",
            name.as_str().unwrap()
        ));
    }
    Zone::parse(&text, ".").unwrap()
}

#[test]
fn rfc6376_example_hops_tags_and_diagnosis() {
    let zone = dkim_verifier_zone();
    let report = run(
        &common::read("dkim_verifier/rfc6376-A.2.eml"),
        &zone,
        Lang::En,
    );
    assert_eq!(report.hops.len(), 1);
    assert_eq!(
        report.hops[0].by.as_deref(),
        Some("submitserver.example.com")
    );
    assert_eq!(report.hops[0].with.as_deref(), Some("SUBMISSION"));
    // Date 21:00:37 -0700, Received 21:01:54 -0700.
    assert_eq!(report.hops[0].delay_seconds, Some(77));
    assert_eq!(report.summary.from[0].name.as_deref(), Some("Joe SixPack"));
    let sig = &report.signatures[0];
    assert_eq!(sig.check.as_ref().unwrap().verdict, "pass");
    let c = sig.tags.iter().find(|t| t.tag == "c").unwrap();
    assert!(c.meaning.contains("header fields simple"), "{}", c.meaning);
    // RFC 6376's key is 1024 bits: a pass, with the advice to use 2048.
    let body = run(
        &common::read("dkim_verifier/rfc6376-A.2-body_modified.eml"),
        &zone,
        Lang::En,
    );
    let text = body.signatures[0].diagnosis.join("\n");
    assert!(text.contains("The body changed"), "{text}");
    let subject = run(
        &common::read("dkim_verifier/rfc6376-A.2-header_subject_modified.eml"),
        &zone,
        Lang::En,
    );
    let text = subject.signatures[0].diagnosis.join("\n");
    assert!(text.contains("A signed header field changed"), "{text}");
}

#[test]
fn every_conformance_message_gets_a_report() {
    let zone = dkim_verifier_zone();
    let dir = common::conformance_dir();
    let mut files = Vec::new();
    for sub in [
        "dkim_verifier",
        "dkim_verifier/dkim",
        "dkim_verifier/arh",
        "go-msgauth/dkim",
        "mail-dkim/corpus",
        "stalwartlabs-mail-auth/dkim",
        "stalwartlabs-mail-auth/arc",
    ] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("eml" | "txt")
            ) {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 100, "{} files", files.len());
    for path in files {
        let mut data = std::fs::read(&path).unwrap();
        if path.to_string_lossy().contains("stalwartlabs") {
            // mail-auth's files put the DNS records first, then an empty line, then the
            // message.
            let start = data.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
            data.drain(..start);
        }
        for report in [offline(&data), run(&data, &zone, Lang::Ja)] {
            assert!(
                !report.summary.verdict.line.is_empty(),
                "{}",
                path.display()
            );
            assert_eq!(
                report.signatures.len(),
                count(&data, "dkim-signature:"),
                "{}",
                path.display()
            );
        }
    }
}

fn offline(input: &[u8]) -> Report {
    analyze_offline(input, &AnalyzeConfig::new(NOW))
}

/// Lines starting with `name` (case-insensitive): the fields of that name in a message.
fn count(data: &[u8], name: &str) -> usize {
    let head = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(data, |end| &data[..end]);
    String::from_utf8_lossy(head)
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with(name))
        .count()
}
