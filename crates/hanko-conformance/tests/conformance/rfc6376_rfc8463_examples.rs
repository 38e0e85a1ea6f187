//! RFC 6376 Appendix A and RFC 8463 Appendix A: verify, and reproduce the published signatures.

use hanko_test_support as common;

use common::{read, verdicts, verify, MapDns};
use hanko::dkim::canonicalize::{header_hash_input, BodyHasher};
use hanko::dkim::Signature;
use hanko::keys::SigningKey;
use hanko::message::{split_message, CrlfNormalizer, Headers, MessageLimits};
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Deserialize)]
struct Dns {
    txt: HashMap<String, String>,
}

fn dns() -> MapDns {
    let dns: Dns = serde_yaml_ng::from_slice(&read("rfc-examples/dns.yml")).unwrap();
    let mut map = MapDns::default();
    for (name, value) in dns.txt {
        map.add(&name, &value);
    }
    map
}

const NOW: u64 = 1_528_637_909 + 60;

#[tokio::test]
async fn rfc6376_a2_verifiable_form_passes() {
    let v = verify(
        &read("rfc-examples/rfc6376-A.2-signed-verifiable.eml"),
        &dns(),
        NOW,
    )
    .await;
    assert_eq!(verdicts(&v), ["pass"]);
    let sig = v.results[0].parsed_signature().unwrap();
    assert_eq!(
        (sig.domain.as_str(), sig.selector.as_str()),
        ("example.com", "brisbane")
    );
}

#[tokio::test]
async fn rfc6376_a2_as_printed_fails_with_body_hash_mismatch() {
    let v = verify(
        &read("rfc-examples/rfc6376-A.2-signed-as-printed.eml"),
        &dns(),
        NOW,
    )
    .await;
    assert_eq!(verdicts(&v), ["fail"]);
    let reason = v.results[0].failure.as_ref().unwrap().to_string();
    assert!(reason.starts_with("body hash mismatch"), "{reason}");
}

#[tokio::test]
async fn rfc6376_a1_is_unsigned() {
    let v = verify(&read("rfc-examples/rfc6376-A.1-unsigned.eml"), &dns(), NOW).await;
    assert!(v.results.is_empty());
    assert!(!v.all_pass());
}

#[tokio::test]
async fn rfc8463_a3_both_signatures_pass() {
    let v = verify(&read("rfc-examples/rfc8463-A.3-signed.eml"), &dns(), NOW).await;
    assert_eq!(verdicts(&v), ["pass", "pass"]);
    assert_eq!(v.results[0].algorithm(), Some("ed25519-sha256"));
    assert_eq!(v.results[1].key.as_ref().unwrap().bits, Some(1024));
}

/// Re-signs each published signature from its own tags with the published key. Ed25519 and
/// RSASSA-PKCS1-v1_5 are deterministic, so the bytes must be identical. The RSA keys of these
/// vectors are 1024-bit, which the crypto backend refuses to sign with, so for them the test
/// shows that hanko's canonical input is exactly what the published signature covers (it
/// verifies under the published key), which is the same statement.
#[tokio::test]
async fn published_signatures_are_reproduced() {
    let message = CrlfNormalizer::normalize(&read("rfc-examples/rfc8463-A.3-signed.eml"));
    let (head, body) = split_message(&message);
    let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
    let ed_key = SigningKey::from_pem(&read("rfc-examples/rfc8463-A.1-ed25519.private")).unwrap();
    let mut reproduced = 0;
    for field in headers.named("DKIM-Signature") {
        let sig = Signature::parse(field.value()).unwrap();
        let mut hasher = BodyHasher::new(
            sig.canonicalization.body,
            sig.algorithm.hash(),
            sig.body_length,
        );
        hasher.push(body);
        assert_eq!(
            hasher.finish().digest,
            sig.body_hash,
            "bh= of s={}",
            sig.selector
        );
        if sig.selector.as_str() == "brisbane" {
            let input = header_hash_input(&headers, field, &sig);
            assert_eq!(
                ed_key.sign(&input).unwrap(),
                sig.signature,
                "Ed25519 b= reproduced"
            );
            reproduced += 1;
        }
    }
    assert_eq!(reproduced, 1);
    assert!(
        SigningKey::from_pem(&read("rfc-examples/rfc8463-A.1-rsa.private")).is_err(),
        "1024-bit RSA is refused for signing"
    );
}
