//! DKIM cases of the public suites in ../shared/conformance, each listed by name.

use hanko_test_support as common;

use common::{conformance_dir, read, verdicts, verify, MapDns};
use hanko::dkim::canonicalize::BodyCanonicalizer;
use hanko::dkim::CanonicalizationAlgorithm as Algo;
use hanko::message::CrlfNormalizer;
use serde::Deserialize;

/// mail-auth's format: `name TXT` lines, an empty line, then the message. The last signature
/// must pass at Unix time 1667843664.
#[tokio::test]
async fn stalwart_mail_auth_real_messages() {
    let mut checked = Vec::new();
    for n in 1..=6 {
        let name = format!("stalwartlabs-mail-auth/dkim/{n:03}.txt");
        let text = read(&name);
        let split = text
            .windows(2)
            .position(|w| w == b"\n\n")
            .expect("blank line");
        let mut dns = MapDns::default();
        for line in String::from_utf8_lossy(&text[..split]).lines() {
            let (owner, value) = line.split_once(' ').expect("name value");
            dns.add(owner, value);
        }
        let v = verify(&text[split + 2..], &dns, 1_667_843_664).await;
        let last = v
            .results
            .last()
            .unwrap_or_else(|| panic!("{name}: no signature"));
        assert_eq!(
            last.verdict().as_str(),
            "pass",
            "{name}: {:?}",
            last.failure
        );
        checked.push(name);
    }
    assert_eq!(checked.len(), 6);
}

#[derive(Deserialize)]
struct CanonCases {
    simple_body: Vec<BodyCase>,
    relaxed_body: Vec<BodyCase>,
    relaxed_header: Vec<HeaderCase>,
}

/// simple_body cases give `input_chunks`, relaxed_body cases a single `input`.
#[derive(Deserialize)]
struct BodyCase {
    #[serde(default)]
    input_chunks: Vec<String>,
    #[serde(default)]
    input: Option<String>,
    canonical: String,
}

impl BodyCase {
    fn chunks(&self) -> Vec<String> {
        let mut chunks = self.input_chunks.clone();
        chunks.extend(self.input.clone());
        chunks
    }
}

#[derive(Deserialize)]
struct HeaderCase {
    input: String,
    canonical: String,
}

fn canonical_body(algorithm: Algo, chunks: &[String]) -> Vec<u8> {
    let mut normalizer = CrlfNormalizer::new();
    let mut canonicalizer = BodyCanonicalizer::new(algorithm);
    let mut out = Vec::new();
    for chunk in chunks {
        let mut crlf = Vec::new();
        normalizer.push(chunk.as_bytes(), &mut crlf);
        canonicalizer.push(&crlf, &mut out);
    }
    canonicalizer.finish(&mut out);
    out
}

#[test]
fn go_msgauth_canonicalization_vectors() {
    let cases: CanonCases =
        serde_yaml_ng::from_slice(&read("go-msgauth/dkim-canonicalization.yml")).unwrap();
    for (algorithm, list) in [
        (Algo::Simple, &cases.simple_body),
        (Algo::Relaxed, &cases.relaxed_body),
    ] {
        for case in list {
            assert_eq!(
                String::from_utf8_lossy(&canonical_body(algorithm, &case.chunks())),
                case.canonical,
                "{algorithm:?} body {:?}",
                case.chunks()
            );
        }
    }
    for case in &cases.relaxed_header {
        let mut out = Vec::new();
        let raw = case.input.trim_end_matches("\r\n");
        hanko::dkim::canonicalize::canonicalize_header(Algo::Relaxed, raw.as_bytes(), &mut out);
        out.extend_from_slice(b"\r\n");
        assert_eq!(
            String::from_utf8_lossy(&out),
            case.canonical,
            "header {:?}",
            case.input
        );
    }
    assert_eq!(
        cases.simple_body.len() + cases.relaxed_body.len() + cases.relaxed_header.len(),
        25
    );
}

#[test]
fn suites_are_present() {
    assert!(conformance_dir().join("go-msgauth/dkim").is_dir());
}

#[tokio::test]
async fn go_msgauth_verify_vectors() {
    let mut dns = MapDns::default();
    let rfc6376 = "v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB";
    #[derive(Deserialize)]
    struct Vectors {
        dns_stub: std::collections::HashMap<String, String>,
    }
    let vectors: Vectors = serde_yaml_ng::from_slice(&read("go-msgauth/dkim-vectors.yml")).unwrap();
    for (name, value) in &vectors.dns_stub {
        dns.add(name, value);
    }
    assert!(vectors.dns_stub.values().any(|v| v == rfc6376));
    let now = 1_700_000_000;
    let cases: [(&str, &[&str]); 5] = [
        ("go-msgauth/dkim/unsigned.eml", &[]),
        ("go-msgauth/dkim/verify-rfc6376.eml", &["pass"]),
        ("go-msgauth/dkim/verify-raw-rsa-key.eml", &["pass"]),
        // The stub serves the RFC 6376 key at test._domainkey.football.example.com, so the
        // RSA signature must fail (the vectors file says so); the Ed25519 one passes.
        (
            "go-msgauth/dkim/verify-rfc8463-no-final-crlf.eml",
            &["pass", "fail"],
        ),
        ("go-msgauth/dkim/sign-ed25519-expected.eml", &["pass"]),
    ];
    for (file, expected) in cases {
        let v = verify(&read(file), &dns, now).await;
        assert_eq!(
            verdicts(&v),
            expected,
            "{file}: {:?}",
            v.results.iter().map(|r| &r.failure).collect::<Vec<_>>()
        );
    }
}
