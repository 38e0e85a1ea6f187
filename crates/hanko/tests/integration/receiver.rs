//! The receiver pipeline (`hanko::receiver`): the one route every caller takes (the CLI, the
//! milter, the analyzer). Only the crate and `StaticLookup`: no files, no network.

use hanko::dkim::{key_record_for, sign_message, DkimFailure, SigningRequest};
use hanko::dmarc::reporting::Authorization;
use hanko::dns::{DnsError, StaticLookup};
use hanko::keys::{KeySpec, SigningKey};
use hanko::message::{split_message, Headers, MessageLimits};
use hanko::receiver::{Connection, Receipt, Receiver, ReceiverConfig};

const NOW: u64 = 1_795_000_000;

fn message(from: &str, body: &str) -> Vec<u8> {
    format!("From: {from}\r\nTo: ann@example.net\r\nSubject: test\r\n\r\n{body}").into_bytes()
}

fn signed(key: &SigningKey, domain: &str, from: &str, body: &str) -> Vec<u8> {
    let request = SigningRequest::new(key, domain, "sel").unwrap();
    sign_message(&message(from, body), vec![request], NOW).unwrap()
}

fn dns(key: &SigningKey) -> StaticLookup {
    StaticLookup::new()
        .with_txt(
            "sel._domainkey.example.com",
            key_record_for(key, &Default::default()).unwrap(),
        )
        .with_txt("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
        .with_txt(
            "_dmarc.example.com",
            "v=DMARC1; p=reject; rua=mailto:d@reports.example.net",
        )
}

fn connection(ip: &str) -> Connection<'static> {
    Connection {
        ip: ip.parse().unwrap(),
        helo: "mail.example.com",
        mail_from: "joe@example.com",
        received_field: None,
    }
}

async fn receive(
    config: &ReceiverConfig,
    bytes: &[u8],
    lookup: &StaticLookup,
    smtp: Option<Connection<'_>>,
) -> Receipt {
    Receiver::read(config, bytes)
        .unwrap()
        .finish(lookup, smtp, NOW)
        .await
}

#[tokio::test]
async fn the_body_in_any_pieces_gives_the_same_receipt_as_reading_it_whole() {
    let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let lookup = dns(&key);
    let config = ReceiverConfig::new("mx.example.net");
    let bytes = signed(
        &key,
        "example.com",
        "joe@example.com",
        "line one\r\n\r\n  spaced   line \r\n\r\n",
    );
    let whole = receive(&config, &bytes, &lookup, Some(connection("192.0.2.7"))).await;
    assert!(whole.passed(), "{whole:?}");
    let (head, body) = split_message(&bytes);
    for piece in [1, 2, 3, 7, 64] {
        let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
        let mut receiver = Receiver::new(&config, headers);
        for chunk in body.chunks(piece) {
            receiver.body(chunk);
        }
        let receipt = receiver
            .finish(&lookup, Some(connection("192.0.2.7")), NOW)
            .await;
        assert_eq!(receipt.dkim, whole.dkim, "pieces of {piece}");
        assert_eq!(receipt.dmarc, whole.dmarc, "pieces of {piece}");
        assert_eq!(
            receipt.authentication_results(),
            whole.authentication_results()
        );
    }
}

#[tokio::test]
async fn the_field_lists_every_check_in_the_order_a_receiver_runs_them() {
    let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let lookup = dns(&key);
    let config = ReceiverConfig::new("mx.example.net");
    let bytes = signed(&key, "example.com", "joe@example.com", "hi\r\n");
    let receipt = receive(&config, &bytes, &lookup, Some(connection("203.0.113.9"))).await;
    let field = receipt.authentication_results();
    assert_eq!(field.authserv_id, "mx.example.net");
    let methods: Vec<(&str, &str)> = field
        .results
        .iter()
        .map(|r| (r.method.as_str(), r.result.as_str()))
        .collect();
    // SPF fails (the IP is outside the policy) but the aligned signature carries DMARC, and
    // is an Author Domain Signature for ADSP (RFC 5617 §5.4). No ARC set: `arc=none`.
    assert_eq!(
        methods,
        [
            ("spf", "fail"),
            ("dkim", "pass"),
            ("arc", "none"),
            ("dmarc", "pass"),
            ("dkim-adsp", "pass")
        ]
    );
    assert!(receipt.passed());

    // Without a connection there is no SPF entry; without ADSP no dkim-adsp entry; without
    // ARC no arc entry.
    let mut quiet = config.clone();
    quiet.adsp = false;
    quiet.arc = None;
    let receipt = receive(&quiet, &bytes, &lookup, None).await;
    assert!(receipt.spf.is_none() && receipt.adsp.is_none());
    let methods: Vec<String> = receipt
        .authentication_results()
        .results
        .iter()
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(methods, ["dkim", "dmarc"]);
}

#[tokio::test]
async fn passed_follows_dmarc_and_without_a_policy_every_signature() {
    let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let config = ReceiverConfig::new("mx.example.net");
    let lookup = dns(&key);
    // A spoof of the p=reject domain: unsigned, from an IP outside its SPF policy.
    let spoof = message("ceo@example.com", "pay now\r\n");
    let receipt = receive(&config, &spoof, &lookup, Some(connection("203.0.113.9"))).await;
    assert_eq!(receipt.dmarc.verdict.as_str(), "fail");
    assert!(!receipt.passed());

    // No DMARC record: a good signature passes, no signature or a broken one does not.
    let no_policy = StaticLookup::new().with_txt(
        "sel._domainkey.example.org",
        key_record_for(&key, &Default::default()).unwrap(),
    );
    let good = signed(&key, "example.org", "joe@example.org", "hi\r\n");
    assert!(receive(&config, &good, &no_policy, None).await.passed());
    let unsigned = message("joe@example.org", "hi\r\n");
    assert!(!receive(&config, &unsigned, &no_policy, None).await.passed());
    let mut tampered = good.clone();
    let at = tampered.len() - 3;
    tampered[at] = b'X';
    assert!(!receive(&config, &tampered, &no_policy, None).await.passed());
}

#[tokio::test]
async fn headers_only_counts_intact_signed_fields_for_dmarc_and_only_then() {
    let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let lookup = dns(&key);
    let bytes = signed(&key, "example.com", "joe@example.com", "the body\r\n");
    let (head, _) = split_message(&bytes);
    let headers = Headers::parse(head, &MessageLimits::default()).unwrap();

    let mut config = ReceiverConfig::new("hanko");
    let as_mail = Receiver::new(&config, headers.clone())
        .finish(&lookup, None, NOW)
        .await;
    assert!(matches!(
        as_mail.dkim.results[0].failure,
        Some(DkimFailure::BodyHashMismatch {
            headers_intact: true
        })
    ));
    assert_eq!(
        as_mail.dmarc.verdict.as_str(),
        "fail",
        "real mail: no body, no pass"
    );

    config.headers_only = true;
    let pasted = Receiver::new(&config, headers)
        .finish(&lookup, None, NOW)
        .await;
    assert_eq!(pasted.dmarc.verdict.as_str(), "pass");

    // A changed signed field is not rescued by headers-only mode.
    let forged = String::from_utf8(head.to_vec())
        .unwrap()
        .replace("Subject: test", "Subject: urgent");
    let headers = Headers::parse(forged.as_bytes(), &MessageLimits::default()).unwrap();
    let receipt = Receiver::new(&config, headers)
        .finish(&lookup, None, NOW)
        .await;
    assert_eq!(receipt.dmarc.verdict.as_str(), "fail");
}

#[tokio::test]
async fn report_destinations_are_checked_only_when_configured() {
    let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let bytes = signed(&key, "example.com", "joe@example.com", "hi\r\n");
    let mut config = ReceiverConfig::new("mx.example.net");
    let lookup = dns(&key);
    let receipt = receive(&config, &bytes, &lookup, None).await;
    assert!(receipt.report_destinations.is_empty());

    config.report_destinations = true;
    let receipt = receive(&config, &bytes, &lookup, None).await;
    let [found] = &receipt.report_destinations[..] else {
        panic!("one author: {:?}", receipt.report_destinations)
    };
    assert_eq!(found.author_domain, "example.com");
    // reports.example.net publishes no consent record.
    assert!(matches!(
        found.destinations[0].authorization,
        Authorization::NotAuthorized { .. }
    ));

    let consenting =
        dns(&key).with_txt("example.com._report._dmarc.reports.example.net", "v=DMARC1");
    let receipt = receive(&config, &bytes, &consenting, None).await;
    assert!(receipt.report_destinations[0].destinations[0]
        .authorization
        .allows_reports());
}

#[tokio::test]
async fn a_dns_outage_is_temperror_never_pass() {
    let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let bytes = signed(&key, "example.com", "joe@example.com", "hi\r\n");
    let config = ReceiverConfig::new("mx.example.net");
    for outage in [
        DnsError::Timeout,
        DnsError::ServerFailure("SERVFAIL".into()),
    ] {
        let lookup = dns(&key).with_fail("sel._domainkey.example.com", outage.clone());
        let receipt = receive(&config, &bytes, &lookup, None).await;
        assert_eq!(receipt.dkim.results[0].verdict().as_str(), "temperror");
        assert_ne!(receipt.dmarc.verdict.as_str(), "pass", "{outage:?}");
        assert!(!receipt.passed());
    }
}
