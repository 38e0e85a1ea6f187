//! The hostile input corpus: every case in `tests/hostile/cases.yml` (the file says how cases
//! are written) gives the outcome written beside it. Huge inputs are generated here rather
//! than stored.

use crate::common;

use std::net::IpAddr;
use std::path::PathBuf;

use common::MapDns;
use hanko::authres::{AuthenticationResults, ParseOptions};
use hanko::dkim::{
    key_record_for, sign_message, SigningRequest, Verification, Verifier, VerifyConfig,
};
use hanko::dmarc::{self, Identifiers, UnreadableAuthors};
use hanko::keys::{KeySpec, SigningKey};
use hanko::message::{split_message, Headers, MessageLimits};
use hanko::spf::{check_mail_from, SpfConfig};
use serde_yaml_ng::Value;

const NOW: u64 = 1_795_000_000;

fn folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/hostile")
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(folder().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

fn words(value: &Value, key: &str) -> Option<Vec<String>> {
    value.get(key).and_then(Value::as_sequence).map(|list| {
        list.iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    })
}

struct Setup {
    key: SigningKey,
    dns: MapDns,
}

fn setup() -> Setup {
    let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let record = key_record_for(&key, &Default::default()).unwrap();
    let mut dns = MapDns::default();
    dns.add("ed._domainkey.example.com", &record);
    dns.add("ed._domainkey.example.net", &record);
    for (selector, file) in [("k512", "rsa-512.key.txt"), ("k16384", "rsa-16384.key.txt")] {
        let record = String::from_utf8(read(file)).unwrap();
        dns.add(&format!("{selector}._domainkey.example.com"), record.trim());
    }
    dns.add("_dmarc.example.com", "v=DMARC1; p=reject");
    Setup { key, dns }
}

fn generated_message(name: &str) -> Vec<u8> {
    match name {
        "long-header-line" => {
            let mut m = b"From: a@example.com\r\nSubject: ".to_vec();
            m.extend(std::iter::repeat_n(b'x', 1 << 20));
            m.extend_from_slice(b"\r\n\r\nbody\r\n");
            m
        }
        "million-headers" | "thousand-and-one-headers" => {
            let count = if name == "million-headers" {
                1_000_000
            } else {
                1_000
            };
            let mut m = b"From: a@example.com\r\n".to_vec();
            for _ in 0..count {
                m.extend_from_slice(b"X-A: b\r\n");
            }
            m.extend_from_slice(b"\r\nbody\r\n");
            m
        }
        other => panic!("no message generator {other}"),
    }
}

/// Signs with the test key as the case says.
fn sign(setup: &Setup, message: &[u8], how: &Value) -> Vec<u8> {
    let domain = text(how, "domain").unwrap_or_else(|| "example.com".into());
    let mut request = SigningRequest::new(&setup.key, &domain, "ed").unwrap();
    request.body_length = how
        .get("body_length")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    sign_message(message, vec![request], NOW).unwrap()
}

/// A change made after signing.
fn after(message: Vec<u8>, op: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(&message).into_owned();
    match op {
        "add-from-above" => {
            let mut out = b"From: ceo@example.com\r\n".to_vec();
            out.extend_from_slice(&message);
            out
        }
        "append-body" => {
            let mut out = message;
            out.extend_from_slice(b"P.S. Pay the invoice at https://attacker.example/\r\n");
            out
        }
        "truncate-body" => text.replace("Second line.\r\n", "").into_bytes(),
        "spaces-in-b" => {
            // Fold inside the b= value: CRLF SP after its 10th character, spaces after 20th.
            let start = text.find(" b=").expect("b= tag") + 3;
            let mut out = text[..start + 10].to_string();
            out.push_str("\r\n ");
            out.push_str(&text[start + 10..start + 20]);
            out.push_str("  \t ");
            out.push_str(&text[start + 20..]);
            out.into_bytes()
        }
        other => panic!("no operation {other}"),
    }
}

async fn check_message(setup: &Setup, case: &Value, name: &str) {
    let source = &case["message"];
    let mut message = match (text(source, "file"), text(source, "generate")) {
        (Some(file), _) => read(&file),
        (None, Some(generator)) => generated_message(&generator),
        _ => panic!("{name}: message needs file or generate"),
    };
    if let Some(how) = case.get("sign") {
        let how = if how.as_bool() == Some(true) {
            Value::Mapping(Default::default())
        } else {
            how.clone()
        };
        message = sign(setup, &message, &how);
    }
    for op in words(case, "after").unwrap_or_default() {
        message = after(message, &op);
    }
    let expect = &case["expect"];
    let (head, body) = split_message(&message);
    let headers = match Headers::parse(head, &MessageLimits::default()) {
        Ok(h) => h,
        Err(e) => {
            let want = text(expect, "error")
                .unwrap_or_else(|| panic!("{name}: refused unexpectedly: {e}"));
            assert!(e.to_string().contains(&want), "{name}: {e}");
            return;
        }
    };
    assert!(text(expect, "error").is_none(), "{name}: not refused");
    let mut verifier = Verifier::new(&headers, VerifyConfig::default());
    verifier.body(body);
    let dkim: Verification = verifier.finish(&setup.dns, NOW).await;
    let got: Vec<String> = dkim
        .results
        .iter()
        .map(|r| r.verdict().to_string())
        .collect();
    if let Some(want) = words(expect, "dkim") {
        assert_eq!(got, want, "{name}: {:?}", dkim.results);
    }
    if let Some(want) = text(expect, "failure") {
        let failure = dkim.results[0].failure.as_ref().map(ToString::to_string);
        assert!(
            failure.as_deref().is_some_and(|f| f.contains(&want)),
            "{name}: failure {failure:?} lacks {want:?}"
        );
    }
    if let Some(want) = text(expect, "warning") {
        let warnings: Vec<String> = dkim.results[0]
            .warnings
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            warnings.iter().any(|w| w.contains(&want)),
            "{name}: warnings {warnings:?} lack {want:?}"
        );
    }
    if let Some(want) = text(expect, "comment") {
        let entries = hanko::authres::from::dkim(&dkim);
        assert!(
            entries[0].comments.iter().any(|c| c.contains(&want)),
            "{name}: the Authentication-Results entry {:?} lacks {want:?}",
            entries[0]
        );
    }
    if let Some(want) = text(expect, "dmarc") {
        let ids = Identifiers::from_results(&dkim, None);
        let outcome = dmarc::check(&setup.dns, &headers, &ids).await;
        assert_eq!(outcome.verdict.to_string(), want, "{name}: {outcome:?}");
        if let Some(want) = text(expect, "policy") {
            let enforced = outcome.enforced_policy(UnreadableAuthors::default());
            assert_eq!(enforced.to_string(), want, "{name}: {outcome:?}");
        }
    }
}

fn generated_spf(name: &str) -> String {
    match name {
        "ten-thousand-a-terms" => {
            let terms: Vec<String> = (0..10_000).map(|i| format!("a:h{i}.example.org")).collect();
            format!("v=spf1 {} -all", terms.join(" "))
        }
        "ten-thousand-ip4-terms" => {
            let mut terms: Vec<String> = (0..9_999)
                .map(|i| format!("ip4:10.{}.{}.0/24", i / 256, i % 256))
                .collect();
            terms.push("ip4:192.0.2.1".into());
            format!("v=spf1 {} -all", terms.join(" "))
        }
        other => panic!("no SPF generator {other}"),
    }
}

async fn check_spf(case: &Value, name: &str) {
    let record = match &case["spf"] {
        Value::String(s) => s.clone(),
        other => generated_spf(&text(other, "generate").unwrap()),
    };
    let mut dns = MapDns::default();
    dns.add("example.org", &record);
    let ip: IpAddr = "192.0.2.1".parse().unwrap();
    let outcome = check_mail_from(
        &dns,
        &SpfConfig::default(),
        ip,
        "x@example.org",
        "mx.example.org",
        NOW,
    )
    .await;
    let want = text(&case["expect"], "spf").unwrap();
    assert_eq!(outcome.verdict.to_string(), want, "{name}: {outcome:?}");
}

async fn check_dmarc_record(case: &Value, name: &str) {
    let generator = text(&case["dmarc_record"], "generate").unwrap();
    assert_eq!(generator, "sixty-four-kilobytes");
    let mut record = String::from("v=DMARC1; p=reject; rua=");
    let mut n = 0;
    while record.len() < 64 * 1024 {
        record.push_str(&format!("mailto:r{n}@example.com,"));
        n += 1;
    }
    record.push_str("mailto:last@example.com");
    let mut dns = MapDns::default();
    dns.add("_dmarc.example.com", &record);
    let header = b"From: a@example.com\r\n\r\n";
    let headers = Headers::parse(split_message(header).0, &MessageLimits::default()).unwrap();
    let outcome = dmarc::check(&dns, &headers, &Identifiers::default()).await;
    let expect = &case["expect"];
    assert_eq!(
        outcome.verdict.to_string(),
        text(expect, "dmarc").unwrap(),
        "{name}: {outcome:?}"
    );
    assert_eq!(
        outcome.disposition.to_string(),
        text(expect, "policy").unwrap(),
        "{name}"
    );
}

fn check_authres(case: &Value, name: &str) {
    let input = String::from_utf8(read(&text(&case["authres"], "file").unwrap())).unwrap();
    let expect = &case["expect"];
    let summary = |ar: &AuthenticationResults| -> Vec<String> {
        ar.results
            .iter()
            .map(|r| format!("{}={}", r.method, r.result))
            .collect()
    };
    let parsed = match AuthenticationResults::parse(&input, ParseOptions::strict()) {
        Ok(parsed) => parsed,
        Err(e) => {
            let want = text(expect, "error").unwrap_or_else(|| panic!("{name}: {e}"));
            assert!(e.to_string().contains(&want), "{name}: {e}");
            return;
        }
    };
    let want = words(expect, "results").unwrap_or_else(|| panic!("{name}: parsed {parsed:?}"));
    assert_eq!(summary(&parsed), want, "{name}: {parsed:?}");
    let written = parsed.to_field();
    let again = AuthenticationResults::parse(&written, ParseOptions::strict())
        .unwrap_or_else(|e| panic!("{name}: {written:?}: {e}"));
    assert_eq!(summary(&again), want, "{name}: written as {written:?}");
}

#[tokio::test]
async fn every_hostile_case_gives_its_written_outcome() {
    let cases: Value = serde_yaml_ng::from_slice(&read("cases.yml")).expect("cases.yml parses");
    let cases = cases.as_sequence().expect("a list of cases");
    assert!(cases.len() >= 20, "{} cases", cases.len());
    let setup = setup();
    for case in cases {
        let name = text(case, "name").expect("every case has a name");
        if case.get("message").is_some() {
            check_message(&setup, case, &name).await;
        } else if case.get("spf").is_some() {
            check_spf(case, &name).await;
        } else if case.get("dmarc_record").is_some() {
            check_dmarc_record(case, &name).await;
        } else if case.get("authres").is_some() {
            check_authres(case, &name);
        } else {
            panic!("{name}: no input");
        }
    }
}
