//! Reports hanko writes from what its receiver recorded read back, through hanko's own
//! reader, to the values they were written from, with the counts of the messages recorded.

use hanko::dkim::{key_record_for, sign_message, SigningRequest};
use hanko::dns::StaticLookup;
use hanko::keys::{KeySpec, SigningKey};
use hanko::receiver::{Connection, Evaluation, Receiver, ReceiverConfig};
use hanko_report::generate::{build, file_name, gzip, to_xml, Reporter};
use hanko_report::{parse, Limits};

const DAY: u64 = 1_795_000_000 / 86_400 * 86_400;

fn reporter() -> Reporter {
    Reporter {
        org_name: "mx.example.net".into(),
        org_email: "dmarc-reports@example.net".into(),
        extra_contact_info: None,
    }
}

/// Evaluations of messages from example.com (p=quarantine, t=y for news.example.com's own
/// record): signed and sent from its network, unsigned from a stranger, and one from the
/// news subdomain.
async fn recorded() -> Vec<Evaluation> {
    let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let dns = StaticLookup::new()
        .with_txt(
            "sel._domainkey.example.com",
            key_record_for(&key, &Default::default()).unwrap(),
        )
        .with_txt("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
        .with_txt(
            "_dmarc.example.com",
            "v=DMARC1; p=quarantine; sp=reject; fo=1",
        )
        .with_txt("_dmarc.news.example.com", "v=DMARC1; p=reject; t=y");
    let config = ReceiverConfig::new("mx.example.net");
    let signed = {
        let message = b"From: joe@example.com\r\nSubject: hi\r\n\r\nHello.\r\n";
        let request = SigningRequest::new(&key, "example.com", "sel").unwrap();
        sign_message(message, vec![request], DAY).unwrap()
    };
    let spoof = b"From: joe@example.com\r\nSubject: hi\r\n\r\nHello.\r\n".to_vec();
    let news = b"From: desk@news.example.com\r\nSubject: hi\r\n\r\nHello.\r\n".to_vec();
    let mut rows = Vec::new();
    for (message, ip, count) in [
        (&signed, "192.0.2.10", 3),
        (&spoof, "203.0.113.9", 2),
        (&news, "203.0.113.9", 1),
    ] {
        for i in 0..count {
            let now = DAY + 3600 * (i + 1);
            let receiver = Receiver::read(&config, &message[..]).unwrap();
            let connection = Connection {
                ip: ip.parse().unwrap(),
                helo: "mail.example.com",
                mail_from: "joe@example.com",
                received_field: None,
            };
            let receipt = receiver.finish(&dns, Some(connection), now).await;
            rows.extend(receipt.evaluations(now));
        }
    }
    rows
}

#[tokio::test]
async fn a_report_reads_back_to_what_was_recorded() {
    let rows = recorded().await;
    assert_eq!(rows.len(), 6);
    // news.example.com has a record of its own: its rows are its own policy domain's.
    let (news, ours): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|e| e.policy_domain == "news.example.com");
    assert_eq!(news.len(), 1);
    let report = build(&reporter(), "example.com", (DAY, DAY + 86_399), &ours).unwrap();
    // Two rows: the signed messages (pass, 3) and the spoofs (quarantine, 2).
    let counts: Vec<(String, u64)> = report
        .records
        .iter()
        .map(|r| (r.policy_evaluated.disposition.as_str().to_string(), r.count))
        .collect();
    assert_eq!(counts.len(), 2);
    assert!(counts.contains(&("pass".into(), 3)), "{counts:?}");
    assert!(counts.contains(&("quarantine".into(), 2)), "{counts:?}");
    let xml = to_xml(&report);
    assert!(xml.contains(r#"<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">"#));
    assert!(xml.contains("<discovery_method>treewalk</discovery_method>"));
    assert!(xml.contains("<scope>mfrom</scope>"));
    // hanko's reader gives back the same report, from the XML and from the gzip.
    for bytes in [xml.as_bytes().to_vec(), gzip(&xml)] {
        let parsed = parse(&bytes, &Limits::default()).unwrap();
        let read = parsed.report.aggregate().unwrap();
        assert!(read.warnings.is_empty(), "{:?}", read.warnings);
        assert_eq!(read, &report);
    }
    let name = file_name("mx.example.net", &report);
    assert_eq!(
        name,
        format!(
            "mx.example.net!example.com!{DAY}!{}!{}.xml.gz",
            DAY + 86_399,
            report.report_metadata.report_id
        )
    );

    // The subdomain in testing mode: p=reject lowered to quarantine, said so.
    let report = build(&reporter(), "news.example.com", (DAY, DAY + 86_399), &news).unwrap();
    let evaluated = &report.records[0].policy_evaluated;
    assert_eq!(evaluated.disposition.as_str(), "quarantine");
    assert_eq!(
        evaluated.policy_override_reasons[0].kind.as_str(),
        "policy_test_mode"
    );
    assert_eq!(report.policy_published.testing, Some(true));
}

/// RFC 9990 §3.1.1.12: at most 100 DKIM results per record, passing ones first.
#[tokio::test]
async fn a_record_keeps_at_most_a_hundred_dkim_results_passing_first() {
    use hanko::dkim::DkimVerdict;
    use hanko::receiver::DkimEvaluation;
    let mut row = recorded().await.remove(0);
    row.dkim = (0..150)
        .map(|i| DkimEvaluation {
            domain: format!("d{i}.example"),
            selector: "s".into(),
            result: if i == 149 {
                DkimVerdict::Pass
            } else {
                DkimVerdict::Fail
            },
        })
        .collect();
    let report = build(&reporter(), "example.com", (DAY, DAY + 86_399), &[row]).unwrap();
    let dkim = &report.records[0].auth_results.dkim;
    assert_eq!(dkim.len(), hanko_report::generate::MAX_DKIM_RESULTS);
    assert_eq!(dkim[0].domain, "d149.example");
    assert_eq!(dkim[0].result.as_str(), "pass");
}
