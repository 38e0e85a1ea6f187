//! ADSP (RFC 5617): Mail::DKIM's two cases and the rest of the result table.

use hanko_test_support as common;

use std::net::Ipv4Addr;

use common::MapDns;
use hanko::adsp::{self, AdspVerdict};
use hanko::dkim::Verification;
use serde_yaml_ng::Value;

fn author_dns(record: Option<&str>) -> MapDns {
    let mut dns = MapDns::default();
    dns.add_a("messiah.edu", Ipv4Addr::new(192, 0, 2, 1));
    if let Some(record) = record {
        dns.add("_adsp._domainkey.messiah.edu", record);
    }
    dns
}

#[tokio::test]
async fn mail_dkim_cases() {
    let suite: Value =
        serde_yaml_ng::from_slice(&common::read("mail-dkim/adsp-cases.yml")).unwrap();
    // The message is unsigned: no Author Domain Signature.
    let unsigned = Verification::default();
    for case in suite["cases"].as_sequence().unwrap() {
        let record = case["adsp_record"].as_str().unwrap();
        let outcome = adsp::check(&author_dns(Some(record)), "messiah.edu", &unsigned).await;
        assert_eq!(
            outcome.verdict.as_str(),
            case["rfc5617_result"].as_str().unwrap(),
            "{record}"
        );
    }
}

#[tokio::test]
async fn the_rest_of_the_result_table() {
    let unsigned = Verification::default();
    let cases: &[(MapDns, &str, AdspVerdict)] = &[
        (author_dns(None), "messiah.edu", AdspVerdict::None),
        (
            author_dns(Some("dkim=unknown")),
            "messiah.edu",
            AdspVerdict::Unknown,
        ),
        (
            author_dns(Some("dkim=later")),
            "messiah.edu",
            AdspVerdict::Unknown,
        ),
        (
            author_dns(Some("dkim")),
            "messiah.edu",
            AdspVerdict::PermError,
        ),
        (
            author_dns(Some("t=y")),
            "messiah.edu",
            AdspVerdict::PermError,
        ),
        (
            author_dns(Some("dkim=all")),
            "ghost.example",
            AdspVerdict::NxDomain,
        ),
    ];
    for (dns, domain, want) in cases {
        let outcome = adsp::check(dns, domain, &unsigned).await;
        assert_eq!(outcome.verdict, *want, "{domain}: {outcome:?}");
    }
    let mut dns = author_dns(None);
    dns.add_timeout("_adsp._domainkey.messiah.edu");
    let outcome = adsp::check(&dns, "messiah.edu", &unsigned).await;
    assert_eq!(outcome.verdict, AdspVerdict::TempError);
}
