//! hanko's own DMARC cases for what the public suites leave out: testing mode, the attacks
//! DMARC exists to stop, hostile From fields and records, and DNS failures.

use crate::common;

use common::MapDns;
use hanko::dmarc::{self, DmarcProblem, DmarcVerdict, Identifiers, Policy, PolicySource};
use hanko::message::Headers;

fn headers(text: &str) -> Headers {
    Headers::parse(text.as_bytes(), &Default::default()).unwrap()
}

fn dns(records: &[(&str, &str)]) -> MapDns {
    let mut dns = MapDns::default();
    for (name, value) in records {
        dns.add(name, value);
    }
    dns
}

#[tokio::test]
async fn testing_mode_lowers_the_disposition_not_the_verdict() {
    let dns = dns(&[("_dmarc.example.com", "v=DMARC1; p=reject; t=y")]);
    let outcome = dmarc::check(
        &dns,
        &headers("From: a@example.com\r\n"),
        &Identifiers::default(),
    )
    .await;
    assert_eq!(outcome.verdict, DmarcVerdict::Fail);
    assert_eq!(outcome.evaluations[0].policy, Some(Policy::Reject));
    assert_eq!(outcome.disposition, Policy::Quarantine);
    let dns = dns_quarantine_testing();
    let outcome = dmarc::check(
        &dns,
        &headers("From: a@example.com\r\n"),
        &Identifiers::default(),
    )
    .await;
    assert_eq!(outcome.disposition, Policy::None);
}

fn dns_quarantine_testing() -> MapDns {
    dns(&[("_dmarc.example.com", "v=DMARC1; p=quarantine; t=y")])
}

#[tokio::test]
async fn a_from_added_above_the_signed_one_does_not_pass() {
    // The attacker signs with its own domain and adds the victim's From on top.
    let dns = dns(&[
        ("_dmarc.bank.example", "v=DMARC1; p=reject"),
        ("_dmarc.attacker.example", "v=DMARC1; p=none"),
    ]);
    let message = headers("From: ceo@bank.example\r\nFrom: x@attacker.example\r\n");
    let ids = Identifiers::default().with_dkim("attacker.example", true);
    let outcome = dmarc::check(&dns, &message, &ids).await;
    assert!(outcome.multiple_from_fields);
    assert_eq!(outcome.verdict, DmarcVerdict::Fail);
    assert_eq!(outcome.author_domain.as_deref(), Some("bank.example"));
    assert_eq!(outcome.disposition, Policy::Reject);
}

#[tokio::test]
async fn an_unrelated_d_passes_dkim_and_fails_dmarc() {
    let dns = dns(&[("_dmarc.bank.example", "v=DMARC1; p=quarantine")]);
    let message = headers("From: \"ceo@bank.example\" <ceo@bank.example>\r\n");
    let ids = Identifiers::default()
        .with_dkim("bulk-mailer.example", true)
        .with_spf("bulk-mailer.example", true);
    let outcome = dmarc::check(&dns, &message, &ids).await;
    assert_eq!(outcome.verdict, DmarcVerdict::Fail);
    assert_eq!(outcome.problem, Some(DmarcProblem::NotAligned));
    let eval = &outcome.evaluations[0];
    assert!(eval.dkim[0].pass && !eval.dkim[0].aligned);
    assert!(eval.spf.as_ref().is_some_and(|s| s.pass && !s.aligned));
}

#[tokio::test]
async fn from_with_50_addresses_and_encoded_words() {
    let dns = dns(&[("_dmarc.example.com", "v=DMARC1; p=reject")]);
    let many: Vec<String> = (0..50).map(|i| format!("u{i}@example.com")).collect();
    let message = headers(&format!(
        "From: =?UTF-8?B?5Yik5a2Q?= <a@example.com>, {}\r\n",
        many.join(", ")
    ));
    let ids = Identifiers::default().with_dkim("example.com", true);
    let outcome = dmarc::check(&dns, &message, &ids).await;
    assert_eq!(outcome.verdict, DmarcVerdict::Pass);
    assert_eq!(outcome.evaluations.len(), 1, "one distinct domain");
    // 50 distinct domains: refused with the reason, not 400 DNS queries.
    let many: Vec<String> = (0..50).map(|i| format!("u@d{i}.example")).collect();
    let message = headers(&format!("From: {}\r\n", many.join(", ")));
    let outcome = dmarc::check(&dns, &message, &ids).await;
    assert_eq!(outcome.verdict, DmarcVerdict::PermError);
    assert_eq!(
        outcome.problem,
        Some(DmarcProblem::TooManyAuthorDomains(50))
    );
    assert_eq!(outcome.dns_queries, 0);
}

#[tokio::test]
async fn from_problems_are_permerrors_that_say_why() {
    let dns = MapDns::default();
    let ids = Identifiers::default();
    for (message, want) in [
        ("Subject: x\r\n", "the message has no From field"),
        ("From: Test User\r\n", "no address in From: \"Test User\""),
        (
            "From: a@[192.0.2.1]\r\n",
            "the From domain \"[192.0.2.1]\" is not a domain name",
        ),
    ] {
        let outcome = dmarc::check(&dns, &headers(message), &ids).await;
        assert_eq!(outcome.verdict, DmarcVerdict::PermError, "{message}");
        assert_eq!(outcome.problem.unwrap().to_string(), want);
    }
}

#[tokio::test]
async fn idn_author_domains_are_compared_as_a_labels() {
    let dns = dns(&[("_dmarc.xn--wgv71a119e.jp", "v=DMARC1; p=reject; adkim=s")]);
    let message = headers("From: info@日本語.jp\r\n");
    let ids = Identifiers::default().with_dkim("XN--WGV71A119E.JP", true);
    let outcome = dmarc::check(&dns, &message, &ids).await;
    assert_eq!(outcome.author_domain.as_deref(), Some("xn--wgv71a119e.jp"));
    assert_eq!(outcome.verdict, DmarcVerdict::Pass);
}

#[tokio::test]
async fn hostile_records() {
    let ids = Identifiers::default();
    let from = headers("From: a@example.com\r\n");
    // Duplicated tag: permerror naming it.
    let outcome = dmarc::check(
        &dns(&[("_dmarc.example.com", "v=DMARC1; p=none; p=reject")]),
        &from,
        &ids,
    )
    .await;
    assert_eq!(outcome.verdict, DmarcVerdict::PermError);
    assert!(outcome
        .problem
        .unwrap()
        .to_string()
        .contains("p= appears more than once"));
    // Unknown tags are ignored and listed.
    let outcome = dmarc::check(
        &dns(&[("_dmarc.example.com", "v=DMARC1; p=reject; foo=bar; pct=10")]),
        &from,
        &ids,
    )
    .await;
    assert_eq!(outcome.verdict, DmarcVerdict::Fail);
    let ignored: Vec<_> = outcome.evaluations[0]
        .record
        .as_ref()
        .unwrap()
        .ignored
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(ignored, ["foo", "pct"]);
    // A 64 KB record: read, its one policy applied.
    let big = format!(
        "v=DMARC1; p=quarantine; {}",
        (0..9000)
            .map(|i| format!("x{i}=y"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    assert!(big.len() > 64_000);
    let outcome = dmarc::check(&dns(&[("_dmarc.example.com", &big)]), &from, &ids).await;
    assert_eq!(outcome.disposition, Policy::Quarantine);
    // Two DMARC records at one name are both discarded (RFC 9989 §4.10.1): the walk goes on.
    let mut two = dns(&[
        ("_dmarc.a.example.com", "v=DMARC1; p=none"),
        ("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine"),
    ]);
    two.add("_dmarc.a.example.com", "v=DMARC1; p=reject");
    let outcome = dmarc::check(&two, &headers("From: x@a.example.com\r\n"), &ids).await;
    assert_eq!(
        outcome.evaluations[0].record_domain.as_deref(),
        Some("example.com")
    );
    assert_eq!(
        outcome.evaluations[0].policy_source,
        Some(PolicySource::Subdomain)
    );
    assert_eq!(outcome.disposition, Policy::Quarantine);
}

#[tokio::test]
async fn dns_failures_are_temperrors() {
    let mut dns = MapDns::default();
    dns.add_timeout("_dmarc.example.com");
    let outcome = dmarc::check(
        &dns,
        &headers("From: a@example.com\r\n"),
        &Identifiers::default(),
    )
    .await;
    assert_eq!(outcome.verdict, DmarcVerdict::TempError);
    assert_eq!(outcome.disposition, Policy::None);
    // A failure while finding the Organizational Domain of a passing identifier.
    let mut dns = MapDns::default();
    dns.add("_dmarc.example.com", "v=DMARC1; p=reject");
    dns.add_servfail("_dmarc.mail.example.com");
    let ids = Identifiers::default().with_dkim("mail.example.com", true);
    let outcome = dmarc::check(&dns, &headers("From: a@example.com\r\n"), &ids).await;
    assert_eq!(outcome.verdict, DmarcVerdict::TempError, "{outcome:#?}");
}

#[tokio::test]
async fn report_destinations_outside_the_organization_need_their_consent() {
    use hanko::dmarc::reporting::{check_destinations, Authorization, ReportKind};
    let mut dns = dns(&[
        // The reporting service agrees, and asks for aggregate reports at another of its
        // addresses; the unrelated host never agreed.
        (
            "example.com._report._dmarc.reports.example.net",
            "v=DMARC1; rua=mailto:inbox@reports.example.net,mailto:x@evil.example",
        ),
        (
            "example.com._report._dmarc.other.example",
            "not a DMARC record",
        ),
    ]);
    dns.add_timeout("example.com._report._dmarc.slow.example");
    let record = dmarc::DmarcRecord::parse(
        "v=DMARC1; p=none; rua=mailto:d@example.com,mailto:agg@reports.example.net,\
         mailto:v@victim.example,mailto:o@other.example,mailto:s@slow.example,https://x.example/r; \
         ruf=mailto:f@mail.example.com,mailto:f@reports.example.net",
    )
    .unwrap();
    let found = check_destinations(&dns, "example.com", "example.com", &record).await;
    let summary: Vec<(ReportKind, Option<&str>, bool)> = found
        .iter()
        .map(|d| (d.kind, d.host.as_deref(), d.authorization.allows_reports()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (ReportKind::Aggregate, Some("example.com"), true),
            (ReportKind::Aggregate, Some("reports.example.net"), true),
            (ReportKind::Aggregate, Some("victim.example"), false),
            (ReportKind::Aggregate, Some("other.example"), false),
            (ReportKind::Aggregate, Some("slow.example"), false),
            (ReportKind::Aggregate, None, false),
            (ReportKind::Failure, Some("mail.example.com"), true),
            (ReportKind::Failure, Some("reports.example.net"), true),
        ]
    );
    assert_eq!(found[0].authorization, Authorization::SameOrganization);
    let Authorization::Authorized { name, replaced_by } = &found[1].authorization else {
        panic!("{:?}", found[1].authorization)
    };
    assert_eq!(name, "example.com._report._dmarc.reports.example.net");
    // Only the replacement on the same host counts; failure reports keep the original.
    assert_eq!(replaced_by.len(), 1);
    assert_eq!(
        replaced_by[0].address.as_deref(),
        Some("inbox@reports.example.net")
    );
    assert!(
        matches!(&found[7].authorization, Authorization::Authorized { replaced_by, .. } if replaced_by.is_empty())
    );
    assert!(matches!(
        &found[2].authorization,
        Authorization::NotAuthorized { name } if name == "example.com._report._dmarc.victim.example"
    ));
    assert!(matches!(
        found[4].authorization,
        Authorization::TempError { .. }
    ));
    assert_eq!(found[5].authorization, Authorization::Unsupported);
    // One query per external host: reports.example.net, victim, other, slow.
    assert_eq!(dns.queries(), 4);
}
