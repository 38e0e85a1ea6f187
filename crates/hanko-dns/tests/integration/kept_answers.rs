//! A zone hands out the same TXT records on every query, so an SPF policy or a DKIM key is
//! parsed once for as long as the zone keeps it, and found again without hashing its text.

use std::sync::Arc;

use hanko::dns::Lookup;
use hanko::spf::{check_mail_from, Record, RecordCache, SpfConfig};
use hanko_dns::Zone;

const ZONE: &str = r#"$ORIGIN example.com.
spf IN TXT "v=spf1 include:_spf.a.example include:_spf.b.example -all"
_spf.a.example. IN TXT "v=spf1 ip4:198.51.100.0/24 -all"
_spf.b.example. IN TXT "v=spf1 " "ip4:192.0.2.0/24 -all"
"#;

/// The policy kept with the zone's record of `name`, if an evaluation parsed it.
async fn kept(zone: &Zone, name: &str) -> Option<Arc<Record>> {
    let records = zone.txt_records(name).await.unwrap();
    records[0].parsed(|_| Err(())).ok()
}

#[tokio::test]
async fn policies_are_parsed_once_and_kept_with_the_zone() {
    let zone = Zone::parse(ZONE, "").unwrap();
    let cache = RecordCache::new(16);
    let configs = [
        SpfConfig::default(),
        SpfConfig {
            record_cache: Some(cache.clone()),
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
            policy.text,
            String::from_utf8(zone.txt(name).await.unwrap()[0].clone()).unwrap()
        );
        policies.push(policy);
    }
    // Later evaluations, with or without a record cache, use the kept policies: the same
    // verdicts, the same parsed values, and nothing new in the record cache.
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
    assert_eq!(cache.len(), 0, "kept answers never reach the record cache");
}

#[tokio::test]
async fn a_fresh_answer_still_goes_through_the_record_cache() {
    // A lookup that builds new records each time (the default `txt_records`) gets its
    // policies from the record cache, found by text.
    struct Fresh(Zone);
    impl Lookup for Fresh {
        fn txt<'a>(&'a self, name: &'a str) -> hanko::dns::LookupFuture<'a, Vec<Vec<u8>>> {
            self.0.txt(name)
        }
        fn a<'a>(&'a self, name: &'a str) -> hanko::dns::LookupFuture<'a, Vec<std::net::Ipv4Addr>> {
            self.0.a(name)
        }
        fn aaaa<'a>(
            &'a self,
            name: &'a str,
        ) -> hanko::dns::LookupFuture<'a, Vec<std::net::Ipv6Addr>> {
            self.0.aaaa(name)
        }
        fn mx<'a>(&'a self, name: &'a str) -> hanko::dns::LookupFuture<'a, Vec<hanko::dns::Mx>> {
            self.0.mx(name)
        }
        fn ptr<'a>(&'a self, ip: std::net::IpAddr) -> hanko::dns::LookupFuture<'a, Vec<String>> {
            self.0.ptr(ip)
        }
    }
    let fresh = Fresh(Zone::parse(ZONE, "").unwrap());
    let cache = RecordCache::new(16);
    let config = SpfConfig {
        record_cache: Some(cache.clone()),
        ..SpfConfig::default()
    };
    for _ in 0..3 {
        let outcome = check_mail_from(
            &fresh,
            &config,
            "192.0.2.7".parse().unwrap(),
            "hanako@spf.example.com",
            "mail.spf.example.com",
            0,
        )
        .await;
        assert_eq!(outcome.verdict.as_str(), "pass");
    }
    assert_eq!(cache.len(), 3, "three policies, each parsed once");
}

#[tokio::test]
async fn dkim_keys_are_parsed_once_and_kept_with_the_zone() {
    use hanko::dkim::{
        key_record_for, sign_message, KeyCache, KeyRecord, SigningRequest, Verifier, VerifyConfig,
    };
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
    let keys = || async { zone.txt_records(name).await.unwrap() };
    assert!(keys().await[0]
        .parsed::<KeyRecord, ()>(|_| Err(()))
        .is_err());

    let cache = KeyCache::new(16);
    let configs = [
        VerifyConfig::default(),
        VerifyConfig {
            key_cache: Some(cache.clone()),
            ..VerifyConfig::default()
        },
    ];
    let mut kept = None;
    for (round, config) in configs.iter().cycle().take(4).enumerate() {
        let message =
            format!("From: hanako@example.com\r\nSubject: round {round}\r\n\r\nHello.\r\n");
        let request = SigningRequest::new(&key, "example.com", "kept").unwrap();
        let signed = sign_message(message.as_bytes(), vec![request], NOW).unwrap();
        let (head, body) = split_message(&signed);
        let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
        let mut verifier = Verifier::new(&headers, config.clone());
        verifier.body(body);
        let outcome = verifier.finish(&zone, NOW).await;
        assert!(outcome.all_pass(), "round {round}: {outcome:?}");
        let now_kept = keys().await[0]
            .parsed::<KeyRecord, ()>(|_| Err(()))
            .expect("parsed and kept");
        let first = kept.get_or_insert_with(|| Arc::clone(&now_kept));
        assert!(Arc::ptr_eq(first, &now_kept), "round {round}: parsed again");
    }
    assert_eq!(cache.len(), 0, "kept keys never reach the key cache");
}
