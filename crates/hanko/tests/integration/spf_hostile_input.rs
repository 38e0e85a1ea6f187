//! Hostile SPF policies: every one ends in a clear result within the limits, never a panic.

use hanko_test_support::spf_suite;

use std::collections::HashMap;
use std::sync::Arc;

use hanko::spf::{check_mail_from, SpfConfig, SpfProblem, SpfVerdict};
use spf_suite::{Entry, RecordValue, SuiteDns};

fn dns(records: &[(&str, &str, Vec<u8>)]) -> SuiteDns {
    let mut zone: HashMap<String, Vec<Entry>> = HashMap::new();
    for (name, kind, value) in records {
        let value = match *kind {
            "TXT" => RecordValue::Text(vec![String::from_utf8_lossy(value).into_owned()]),
            _ => RecordValue::Plain(String::from_utf8_lossy(value).into_owned()),
        };
        zone.entry(name.to_string())
            .or_default()
            .push(Entry::Record(kind.to_string(), value));
    }
    SuiteDns(Arc::new(zone))
}

async fn check(dns: &SuiteDns, sender: &str) -> hanko::spf::SpfOutcome {
    check_mail_from(
        dns,
        &SpfConfig::default(),
        "192.0.2.1".parse().unwrap(),
        sender,
        "mail.example.net",
        0,
    )
    .await
}

#[tokio::test]
async fn five_thousand_terms() {
    // 5,000 DNS-querying terms: evaluation stops at the 11th.
    let record = format!("v=spf1 {} -all", vec!["a:nx.example.com"; 5_000].join(" "));
    let d = dns(&[
        ("big.example.com", "TXT", record.into_bytes()),
        ("nx.example.com", "A", b"198.51.100.1".to_vec()),
    ]);
    let outcome = check(&d, "a@big.example.com").await;
    assert_eq!(outcome.verdict, SpfVerdict::PermError);
    assert_eq!(
        outcome.problem,
        Some(SpfProblem::TooManyDnsLookups { limit: 10 })
    );
    assert!(
        outcome.trace.len() < 40,
        "{} trace steps",
        outcome.trace.len()
    );
    // 5,000 ip4 terms need no DNS: they are all evaluated, then -all decides.
    let record = format!(
        "v=spf1 {} -all",
        vec!["ip4:198.51.100.0/24"; 5_000].join(" ")
    );
    let d = dns(&[("ips.example.com", "TXT", record.into_bytes())]);
    assert_eq!(
        check(&d, "a@ips.example.com").await.verdict,
        SpfVerdict::Fail
    );
}

#[tokio::test]
async fn macro_expansion_beyond_253_octets_is_truncated() {
    let d = dns(&[(
        "long.example.com",
        "TXT",
        b"v=spf1 exists:%{l}.%{l}.%{l}.%{l}.%{l}.%{l}.x.example.com -all".to_vec(),
    )]);
    let local = "a".repeat(60);
    let outcome = check(&d, &format!("{local}@long.example.com")).await;
    assert_eq!(outcome.verdict, SpfVerdict::Fail);
    let queried: Vec<_> = outcome
        .trace
        .iter()
        .filter_map(|s| match &s.event {
            hanko::spf::TraceEvent::Lookup {
                kind: "A", name, ..
            } => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(queried.len(), 1);
    assert!(
        queried[0].len() <= 253 && queried[0].ends_with(".x.example.com"),
        "{queried:?}"
    );
}

#[tokio::test]
async fn include_and_redirect_loops() {
    let d = dns(&[
        (
            "loop1.example.com",
            "TXT",
            b"v=spf1 include:loop2.example.com -all".to_vec(),
        ),
        (
            "loop2.example.com",
            "TXT",
            b"v=spf1 include:loop1.example.com -all".to_vec(),
        ),
        (
            "self.example.com",
            "TXT",
            b"v=spf1 redirect=self.example.com".to_vec(),
        ),
    ]);
    for sender in ["a@loop1.example.com", "a@self.example.com"] {
        let outcome = check(&d, sender).await;
        assert_eq!(outcome.verdict, SpfVerdict::PermError, "{sender}");
        assert_eq!(
            outcome.problem,
            Some(SpfProblem::TooManyDnsLookups { limit: 10 })
        );
    }
}

#[tokio::test]
async fn eight_bit_garbage() {
    let mut garbage: Vec<u8> = b"v=spf1 ".to_vec();
    garbage.extend((0..=255u8).cycle().take(2_000));
    let d = dns(&[("bin.example.com", "TXT", garbage)]);
    assert_eq!(
        check(&d, "a@bin.example.com").await.verdict,
        SpfVerdict::PermError
    );
    // Garbage in the sender and HELO: no valid domain, so no policy.
    for sender in [
        "\u{0}@\u{1}",
        "a@",
        "@",
        "a@b@",
        "a@exa mple.com",
        "a@.example.com",
    ] {
        let outcome = check(&d, sender).await;
        assert!(
            matches!(outcome.verdict, SpfVerdict::None | SpfVerdict::PermError),
            "{sender:?}: {:?}",
            outcome.verdict
        );
    }
}
