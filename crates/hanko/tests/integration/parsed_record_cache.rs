//! The caches of parsed records (`dkim::KeyCache`): they save parsing, never a lookup, and
//! never serve a record DNS no longer returns.

use crate::common;

use common::{verify_with, MapDns};
use hanko::dkim::{
    key_record_for, sign_message, DkimFailure, KeyCache, SigningRequest, VerifyConfig,
};
use hanko::keys::{KeySpec, SigningKey};

const NOW: u64 = 1_795_000_000;
const SELECTOR_NAME: &str = "cache._domainkey.example.com";

fn signed(key: &SigningKey, subject: &str) -> Vec<u8> {
    let message = format!(
        "From: hanako@example.com\r\nTo: ann@example.net\r\nSubject: {subject}\r\n\r\nHello.\r\n"
    );
    let request = SigningRequest::new(key, "example.com", "cache").unwrap();
    sign_message(message.as_bytes(), vec![request], NOW).unwrap()
}

fn dns_with(record: &str) -> MapDns {
    let mut dns = MapDns::default();
    dns.add(SELECTOR_NAME, record);
    dns
}

fn cached() -> (KeyCache, VerifyConfig) {
    let cache = KeyCache::new(16);
    let config = VerifyConfig {
        key_cache: Some(cache.clone()),
        ..VerifyConfig::default()
    };
    (cache, config)
}

#[tokio::test]
async fn a_kept_key_gives_the_same_results_and_dns_is_still_asked() {
    for spec in [KeySpec::Rsa(2048), KeySpec::Ed25519] {
        let key = SigningKey::generate(spec).unwrap();
        let dns = dns_with(&key_record_for(&key, &Default::default()).unwrap());
        let (cache, config) = cached();
        for round in 0..3 {
            let message = signed(&key, &format!("round {round}"));
            let with = verify_with(&message, &dns, NOW, config.clone()).await;
            let without = verify_with(&message, &dns, NOW, VerifyConfig::default()).await;
            assert!(with.all_pass(), "{spec:?} round {round}: {with:?}");
            assert_eq!(with, without);
        }
        assert_eq!(cache.len(), 1, "one record, parsed once and kept");
        // Every verification asked DNS: three with the cache, three without.
        assert_eq!(dns.queries(), 6);
    }
}

#[tokio::test]
async fn a_rotated_or_revoked_key_is_not_served_from_the_cache() {
    let old = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let new = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let message = signed(&old, "before the rotation");
    let (cache, config) = cached();

    let published = dns_with(&key_record_for(&old, &Default::default()).unwrap());
    assert!(verify_with(&message, &published, NOW, config.clone())
        .await
        .all_pass());

    // The selector now publishes another key: the old signature no longer verifies.
    let rotated = dns_with(&key_record_for(&new, &Default::default()).unwrap());
    let outcome = verify_with(&message, &rotated, NOW, config.clone()).await;
    assert_eq!(
        outcome.results[0].failure,
        Some(DkimFailure::SignatureMismatch)
    );

    // Revoked (empty p=): the kept key is not used.
    let revoked = dns_with("v=DKIM1; k=ed25519; p=");
    let outcome = verify_with(&message, &revoked, NOW, config.clone()).await;
    assert_eq!(outcome.results[0].failure, Some(DkimFailure::KeyRevoked));

    // Gone from DNS altogether.
    let gone = MapDns::default();
    let outcome = verify_with(&message, &gone, NOW, config).await;
    assert!(matches!(
        outcome.results[0].failure,
        Some(DkimFailure::KeyUnavailable { .. })
    ));
    assert_eq!(
        cache.len(),
        3,
        "old, new and revoked records were each parsed"
    );
}

#[tokio::test]
async fn the_cache_keeps_at_most_its_capacity() {
    let cache = KeyCache::new(4);
    let config = VerifyConfig {
        key_cache: Some(cache.clone()),
        ..VerifyConfig::default()
    };
    for _ in 0..10 {
        let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
        let dns = dns_with(&key_record_for(&key, &Default::default()).unwrap());
        let outcome = verify_with(&signed(&key, "hello"), &dns, NOW, config.clone()).await;
        assert!(outcome.all_pass());
        assert!(cache.len() <= 4, "{} records kept", cache.len());
    }
    assert_eq!(
        format!("{cache:?}"),
        "ParsedCache { records: 4, capacity: 4 }"
    );
    // A cache of nothing still verifies.
    let none = VerifyConfig {
        key_cache: Some(KeyCache::new(0)),
        ..VerifyConfig::default()
    };
    let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let dns = dns_with(&key_record_for(&key, &Default::default()).unwrap());
    assert!(verify_with(&signed(&key, "x"), &dns, NOW, none)
        .await
        .all_pass());
}
