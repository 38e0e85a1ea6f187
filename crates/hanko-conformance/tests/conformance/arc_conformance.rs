//! ARC chain validation (RFC 8617 §5.2) against the ValiMail suite
//! (arc_test_suite/arc-draft-validation-tests.yml: 171 cases) and mail-auth's two real
//! chains.

use hanko::arc::{ArcConfig, ArcResult, ArcVerifier, ChainStatus};
use hanko::message::{split_message, CrlfNormalizer, Headers, MessageLimits};
use hanko_test_support as common;
use serde_yaml_ng::Value;

use common::arc_suite::{expected_cv, required_cv, scenarios};
use common::{read, MapDns};

/// The suite's messages carry no `x=`, and `t=` is in 1970: any later time will do.
const NOW: u64 = 1_700_000_000;

/// Validates one message (LF or CRLF) with the records given, the body streamed in odd
/// chunks.
pub(crate) async fn validate(message: &[u8], dns: &MapDns) -> ArcResult {
    let message = CrlfNormalizer::normalize(message);
    let (head, body) = split_message(&message);
    let headers = match Headers::parse(head, &MessageLimits::default()) {
        Ok(headers) => headers,
        Err(_) => Headers::new(),
    };
    let mut verifier = ArcVerifier::new(&headers, ArcConfig::default());
    for chunk in body.chunks(13) {
        verifier.body(chunk);
    }
    verifier.finish(dns, NOW).await
}

#[tokio::test]
async fn valimail_validation_suite() {
    let mut total = 0;
    let mut counts = std::collections::BTreeMap::new();
    let mut wrong = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for scenario in scenarios("arc_test_suite/arc-draft-validation-tests.yml") {
        let mut dns = MapDns::default();
        for (name, text) in scenario.records() {
            dns.add(&name, &text);
        }
        for (name, case) in scenario.tests.0 {
            total += 1;
            names.insert(name.clone());
            let message = case.get("message").and_then(Value::as_str).unwrap_or("");
            let want = required_cv(&name, &case);
            let got = validate(message.as_bytes(), &dns).await;
            *counts.entry(expected_cv(&case)).or_insert(0) += 1;
            if got.status().as_str() != want {
                wrong.push(format!(
                    "{}/{name}: expected {want}, got {} ({})",
                    scenario.description,
                    got.status(),
                    got.failure.map(|f| f.to_string()).unwrap_or_default()
                ));
            }
        }
    }
    // 171 names; four of them twice, with different messages (PyYAML, which the suite was
    // written for, keeps the second). Both are run.
    assert_eq!((names.len(), total), (171, 175));
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        [("fail", 112), ("none", 5), ("pass", 58)]
    );
    assert!(
        wrong.is_empty(),
        "{} of {total} cases differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// mail-auth's real chains: a Google seal (i=1) and a two-hop chain of an Ed25519 sealer and
/// an RSA one. Files: TXT records one per line, a blank line, the message.
#[tokio::test]
async fn mail_auth_real_chains() {
    for file in ["001.txt", "002.txt"] {
        let text = read(&format!("stalwartlabs-mail-auth/arc/{file}"));
        let text = String::from_utf8(text).expect("UTF-8");
        let (records, message) = text.split_once("\n\n").expect("records, then the message");
        let mut dns = MapDns::default();
        for line in records.lines() {
            let (name, value) = line.split_once(' ').expect("name and value");
            dns.add(name, value);
        }
        let result = validate(message.as_bytes(), &dns).await;
        assert_eq!(
            result.status(),
            ChainStatus::Pass,
            "{file}: {:?}",
            result.failure.map(|f| f.to_string())
        );
        let newest = result.newest().expect("a chain");
        assert_eq!(
            result.oldest_pass,
            Some(1),
            "{file}: nothing changed since i=1"
        );
        assert_eq!(newest.instance as usize, result.sets.len());
    }
}

/// A tag list's tags with white space removed from the values, for comparing signatures
/// laid out differently.
fn compact_tags(value: &str) -> Vec<(String, String)> {
    let tags = hanko::message::TagList::parse(value.as_bytes()).expect("a tag list");
    tags.tags()
        .iter()
        .map(|t| (t.name.clone(), hanko::message::strip_ws(&t.value)))
        .collect()
}

/// White space runs as one space, trimmed.
fn collapse(text: &str) -> String {
    text.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// The ValiMail signing suite (arc-draft-sign-tests.yml, 17 cases). Its key is 1024-bit RSA,
/// which the crypto backend does not sign with, so the signatures themselves cannot be
/// reproduced; instead, for each message:
/// 1. hanko seals it with a 2048-bit key of its own (selector `hanko`), and every tag of
///    its ARC-Seal and ARC-Message-Signature but `b=` and `s=` equals the suite's, and its
///    ARC-Authentication-Results equals the suite's (the message's Authentication-Results
///    fields of the suite's authserv-id merged, as the suite's README prescribes);
/// 2. hanko's set validates (`cv=pass`, or `cv=none` on a new chain), so hanko's signing
///    input agrees with its verifying input, which the validation suite checks.
///
/// The suite's own sets cannot stand in for the second check: put on their messages as
/// published, their ARC-Message-Signatures verify but their ARC-Seals do not, in hanko as in
/// dkimpy 1.1 (`arc_verify`: "ARC-Seal[1] did not validate"); the seals were signed over
/// something other than the fields as published.
///
/// A set with `cv=fail` cannot validate by definition; for those only the first check runs.
/// A chain whose newest seal already says `cv=fail` gets no set.
#[tokio::test]
async fn valimail_signing_suite() {
    use hanko::arc::{merged_results, ArcSealer, SealError, SealRequest};
    use hanko::dkim::{key_record_for, KeyRecordOptions};
    use hanko::keys::{KeySpec, SigningKey};

    let ours = SigningKey::generate(KeySpec::Rsa(2048)).unwrap();
    let our_record = key_record_for(&ours, &KeyRecordOptions::default()).unwrap();
    let mut total = 0;
    let mut wrong = Vec::new();
    for scenario in scenarios("arc_test_suite/arc-draft-sign-tests.yml") {
        let mut dns = MapDns::default();
        for (name, text) in scenario.records() {
            dns.add(&name, &text);
        }
        let text = |key: &str| {
            scenario
                .rest
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("scenario has no {key}"))
                .to_string()
        };
        let domain = text("domain");
        dns.add(&format!("hanko._domainkey.{domain}"), &our_record);
        for (name, case) in scenario.tests.0 {
            total += 1;
            let field = |key: &str| case.get(key).and_then(Value::as_str).unwrap_or("").trim();
            let message = CrlfNormalizer::normalize(field("message").as_bytes());
            let (head, body) = split_message(&message);
            let headers = Headers::parse(head, &MessageLimits::default()).expect("headers");
            let chain = validate(&message, &dns).await;
            let mut request = SealRequest::new(&ours, &domain, "hanko").unwrap();
            request.headers = Some(field("sig-headers").split(':').map(String::from).collect());
            request.oversign = Vec::new();
            let mut sealer = ArcSealer::new(&headers, request).expect("sealer");
            sealer.body(body);
            let results = merged_results(&headers, field("srv-id")).expect("the suite's results");
            let now: u64 = case["t"].as_u64().expect("t");
            let sealed = sealer.finish(chain.status(), &results, now);
            if field("AS").is_empty() {
                if !matches!(sealed, Err(SealError::ChainAlreadyFailed { .. })) {
                    wrong.push(format!("{name}: sealed a chain that says cv=fail"));
                }
                continue;
            }
            let sealed = match sealed {
                Ok(sealed) => sealed,
                Err(e) => {
                    wrong.push(format!("{name}: {e}"));
                    continue;
                }
            };
            let value =
                |f: &hanko::message::HeaderField| String::from_utf8_lossy(f.value()).into_owned();
            // 1. The tags, b= and s= aside.
            let without_key = |text: &str| {
                let mut tags = compact_tags(text);
                tags.retain(|(name, _)| name != "b" && name != "s");
                tags
            };
            for (label, mine, theirs) in [
                ("AS", value(&sealed.seal), field("AS")),
                ("AMS", value(&sealed.message_signature), field("AMS")),
            ] {
                if without_key(&mine) != without_key(theirs) {
                    wrong.push(format!(
                        "{name} {label}:\n  ours   {mine}\n  theirs {theirs}"
                    ));
                }
            }
            let mine = collapse(&value(&sealed.authentication_results));
            if mine != collapse(field("AAR")) {
                wrong.push(format!(
                    "{name} AAR:\n  ours   {mine}\n  theirs {}",
                    field("AAR")
                ));
            }
            if sealed.chain_status == ChainStatus::Fail {
                continue;
            }
            // 2. hanko's set validates.
            let mut sealed_message = Vec::new();
            for f in sealed.fields() {
                sealed_message.extend_from_slice(f.raw());
                sealed_message.extend_from_slice(b"\r\n");
            }
            sealed_message.extend_from_slice(&message);
            let again = validate(&sealed_message, &dns).await;
            if again.status() != ChainStatus::Pass {
                wrong.push(format!(
                    "{name}: hanko's own set does not validate: {:?}",
                    again.failure
                ));
            }
        }
    }
    assert_eq!(total, 17, "the suite has 17 signing cases");
    assert!(
        wrong.is_empty(),
        "{} of {total} differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
