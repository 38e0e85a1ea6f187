//! A zone hands out the same TXT records on every query, so an SPF policy or a DKIM key is
//! parsed once for as long as the zone keeps it, and found again without hashing its text.

use std::sync::Arc;

use hanko::dns::Lookup;
use hanko::spf::{check_mail_from, Record, SpfConfig};
use hanko_dns::Zone;

const ZONE: &str = r#"$ORIGIN example.com.
spf IN TXT "v=spf1 include:_spf.a.example include:_spf.b.example -all"
_spf.a.example. IN TXT "v=spf1 ip4:198.51.100.0/24 -all"
_spf.b.example. IN TXT "v=spf1 " "ip4:192.0.2.0/24 -all"
"#;

/// The policy kept with the zone's record of `name`, if an evaluation parsed it.
async fn kept(zone: &Zone, name: &str) -> Option<Arc<Record>> {
    let answer = zone.txt(name).await.unwrap();
    let record = &answer.records[0];
    record.is_parsed().then(|| record.spf_policy().unwrap())
}

#[tokio::test]
async fn policies_are_parsed_once_and_kept_with_the_zone() {
    let zone = Zone::parse(ZONE, "").unwrap();
    let configs = [
        SpfConfig::default(),
        SpfConfig {
            keep_trace: false,
            ..SpfConfig::default()
        },
    ];
    assert!(kept(&zone, "spf.example.com").await.is_none());
    let check = |config, ip: &str| {
        check_mail_from(
            &zone,
            config,
            ip.parse().unwrap(),
            "hanako@spf.example.com",
            "mail.spf.example.com",
            0,
        )
    };
    let first = check(&configs[0], "192.0.2.7").await;
    assert_eq!(first.verdict.as_str(), "pass");
    let mut policies = Vec::new();
    for name in ["spf.example.com", "_spf.a.example", "_spf.b.example"] {
        let policy = kept(&zone, name).await.expect("parsed and kept");
        assert_eq!(
            policy.text.as_bytes(),
            zone.txt(name).await.unwrap().records[0].text()
        );
        policies.push(policy);
    }
    // Later evaluations, with or without a trace, use the kept policies: the same verdicts
    // and the same parsed values.
    for config in &configs {
        for (ip, verdict) in [("192.0.2.7", "pass"), ("203.0.113.1", "fail")] {
            let outcome = check(config, ip).await;
            assert_eq!(outcome.verdict.as_str(), verdict, "{ip}");
        }
    }
    for (name, policy) in ["spf.example.com", "_spf.a.example", "_spf.b.example"]
        .iter()
        .zip(&policies)
    {
        assert!(Arc::ptr_eq(policy, &kept(&zone, name).await.unwrap()));
    }
}

#[tokio::test]
async fn dkim_keys_are_parsed_once_and_kept_with_the_zone() {
    use hanko::dkim::{key_record_for, sign_message, SigningRequest, Verifier, VerifyConfig};
    use hanko::keys::{KeySpec, SigningKey};
    use hanko::message::{split_message, Headers, MessageLimits};

    const NOW: u64 = 1_795_000_000;
    let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let record = key_record_for(&key, &Default::default()).unwrap();
    let zone = Zone::parse(
        &format!("kept._domainkey.example.com. IN TXT \"{record}\"\n"),
        "",
    )
    .unwrap();
    let name = "kept._domainkey.example.com";
    let published = zone.txt(name).await.unwrap();
    assert!(!published.records[0].is_parsed());

    let mut kept = None;
    for round in 0..4 {
        let message =
            format!("From: hanako@example.com\r\nSubject: round {round}\r\n\r\nHello.\r\n");
        let request = SigningRequest::new(&key, "example.com", "kept").unwrap();
        let signed = sign_message(message.as_bytes(), vec![request], NOW).unwrap();
        let (head, body) = split_message(&signed);
        let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
        let mut verifier = Verifier::new(&headers, VerifyConfig::default());
        verifier.body(body);
        let outcome = verifier.finish(&zone, NOW).await;
        assert!(outcome.all_pass(), "round {round}: {outcome:?}");
        assert!(published.records[0].is_parsed(), "round {round}");
        let now_kept = published.records[0].dkim_key().unwrap();
        let first = kept.get_or_insert_with(|| Arc::clone(&now_kept));
        assert!(Arc::ptr_eq(first, &now_kept), "round {round}: parsed again");
    }
}
