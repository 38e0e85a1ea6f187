//! Parsed records kept beside the records a lookup keeps (`dns::TxtRecord`): a key is parsed
//! once for as long as the lookup hands out the same record, DNS is still asked for every
//! message, and a record DNS no longer returns is never used.

use std::sync::Arc;

use crate::common;

use common::{verify_with, MapDns};
use hanko::dkim::{key_record_for, sign_message, DkimFailure, SigningRequest, VerifyConfig};
use hanko::dns::{Budget, Lookup, StaticLookup};
use hanko::keys::{KeySpec, SigningKey};

const NOW: u64 = 1_795_000_000;
const SELECTOR_NAME: &str = "kept._domainkey.example.com";

fn signed(key: &SigningKey, subject: &str) -> Vec<u8> {
    let message = format!(
        "From: hanako@example.com\r\nTo: ann@example.net\r\nSubject: {subject}\r\n\r\nHello.\r\n"
    );
    let request = SigningRequest::new(key, "example.com", "kept").unwrap();
    sign_message(message.as_bytes(), vec![request], NOW).unwrap()
}

/// A lookup that keeps its records (`StaticLookup`), publishing `record` for the selector.
fn kept_dns(record: &str) -> StaticLookup {
    StaticLookup::new().with_txt(SELECTOR_NAME, record)
}

/// A lookup that makes new records for every answer (`MapDns`).
fn fresh_dns(record: &str) -> MapDns {
    let mut dns = MapDns::default();
    dns.add(SELECTOR_NAME, record);
    dns
}

#[tokio::test]
async fn a_kept_key_is_parsed_once_gives_the_same_results_and_dns_is_still_asked() {
    for spec in [KeySpec::Rsa(2048), KeySpec::Ed25519] {
        let key = SigningKey::generate(spec).unwrap();
        let record = key_record_for(&key, &Default::default()).unwrap();
        let kept = kept_dns(&record);
        let counted = Budget::new(&kept, 100);
        let fresh = fresh_dns(&record);
        let published = kept.txt(SELECTOR_NAME).await.unwrap();
        assert!(!published.records[0].is_parsed());
        let mut first = None;
        for round in 0..3 {
            let message = signed(&key, &format!("round {round}"));
            let with = verify_with(&message, &counted, NOW, VerifyConfig::default()).await;
            let without = verify_with(&message, &fresh, NOW, VerifyConfig::default()).await;
            assert!(with.all_pass(), "{spec:?} round {round}: {with:?}");
            assert_eq!(with, without);
            let parsed = published.records[0].dkim_key().unwrap();
            let first = first.get_or_insert_with(|| Arc::clone(&parsed));
            assert!(
                Arc::ptr_eq(first, &parsed),
                "{spec:?} round {round}: parsed again"
            );
        }
        // Every verification asked DNS, kept or not.
        assert_eq!(counted.asked(), 3);
        assert_eq!(fresh.queries(), 3);
    }
}

#[tokio::test]
async fn a_rotated_revoked_or_removed_key_is_never_used() {
    let old = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let new = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let message = signed(&old, "before the rotation");
    let config = VerifyConfig::default();

    let published = kept_dns(&key_record_for(&old, &Default::default()).unwrap());
    assert!(verify_with(&message, &published, NOW, config.clone())
        .await
        .all_pass());

    // The selector now publishes another key: the old signature no longer verifies.
    let rotated = kept_dns(&key_record_for(&new, &Default::default()).unwrap());
    let outcome = verify_with(&message, &rotated, NOW, config.clone()).await;
    assert_eq!(
        outcome.results[0].failure,
        Some(DkimFailure::SignatureMismatch)
    );

    // Revoked (empty p=).
    let revoked = kept_dns("v=DKIM1; k=ed25519; p=");
    let outcome = verify_with(&message, &revoked, NOW, config.clone()).await;
    assert_eq!(outcome.results[0].failure, Some(DkimFailure::KeyRevoked));

    // Gone from DNS altogether.
    let outcome = verify_with(&message, &StaticLookup::new(), NOW, config).await;
    assert!(matches!(
        outcome.results[0].failure,
        Some(DkimFailure::KeyUnavailable { .. })
    ));
    // The first lookup still holds the old key, parsed.
    let answer = published.txt(SELECTOR_NAME).await.unwrap();
    assert!(answer.records[0].is_parsed());
}

#[tokio::test]
async fn a_record_read_as_another_kind_is_parsed_each_time_and_keeps_its_first_parse() {
    // One name read as an SPF policy and as a DKIM key (a selector whose TXT is an SPF
    // record): neither read breaks the other.
    let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let dns = kept_dns("v=spf1 -all");
    let message = signed(&key, "odd selector");
    let answer = dns.txt(SELECTOR_NAME).await.unwrap();
    let policy = answer.records[0].spf_policy().unwrap();
    for _ in 0..2 {
        let outcome = verify_with(&message, &dns, NOW, VerifyConfig::default()).await;
        assert!(
            matches!(outcome.results[0].failure, Some(DkimFailure::KeyRecord(_))),
            "{outcome:?}"
        );
    }
    assert!(Arc::ptr_eq(
        &policy,
        &answer.records[0].spf_policy().unwrap()
    ));
}
