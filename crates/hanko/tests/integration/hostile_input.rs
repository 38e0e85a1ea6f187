//! Bad input never panics: each case gives a clear error or a non-pass result, with memory
//! bounded by streaming.

use crate::common;

use common::{verdicts, verify, MapDns};
use hanko::dkim::{
    key_record_for, sign_message, DkimVerdict, Signer, SigningRequest, Verifier, VerifyConfig,
};
use hanko::keys::{KeySpec, SigningKey};
use hanko::message::{split_message, Headers, MessageError, MessageLimits, MessageReader};

/// A small deterministic generator, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn signed_setup() -> (SigningKey, MapDns) {
    let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let mut dns = MapDns::default();
    dns.add(
        "s._domainkey.example.com",
        &key_record_for(&key, &Default::default()).unwrap(),
    );
    (key, dns)
}

fn sign(key: &SigningKey, message: &[u8]) -> Vec<u8> {
    let request = SigningRequest::new(key, "example.com", "s").unwrap();
    sign_message(message, vec![request], 1_700_000_000).unwrap()
}

#[tokio::test]
async fn binary_garbage_never_panics() {
    let (_, dns) = signed_setup();
    let mut rng = Rng(0x5eed);
    for round in 0..200 {
        let mut message = rng.bytes(1 + (round * 37) % 3000);
        if round % 2 == 0 {
            // Half of them look like a signed message with garbage inside.
            let mut prefix =
                b"DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=s; h=from; bh=".to_vec();
            prefix.append(&mut message);
            message = prefix;
        }
        let normalized = hanko::message::CrlfNormalizer::normalize(&message);
        let (head, body) = split_message(&normalized);
        if let Ok(headers) = Headers::parse(head, &MessageLimits::default()) {
            let mut verifier = Verifier::new(&headers, VerifyConfig::default());
            verifier.body(body);
            let outcome = verifier.finish(&dns, 1_700_000_000).await;
            assert!(
                outcome
                    .results
                    .iter()
                    .all(|r| r.verdict() != DkimVerdict::Pass),
                "round {round}"
            );
        }
    }
}

#[tokio::test]
async fn truncated_signed_messages_do_not_pass() {
    let (key, dns) = signed_setup();
    let signed = sign(
        &key,
        b"From: a@example.com\r\nSubject: hi\r\n\r\nbody text\r\n",
    );
    assert_eq!(
        verdicts(&verify(&signed, &dns, 1_700_000_000).await),
        ["pass"]
    );
    for cut in (1..signed.len() - 3).step_by(5) {
        let v = verify_or_error(&signed[..cut], &dns).await;
        if let Some(v) = v {
            assert!(v.iter().all(|r| *r != "pass"), "cut at {cut} passed");
        }
    }
}

async fn verify_or_error(message: &[u8], dns: &MapDns) -> Option<Vec<&'static str>> {
    let normalized = hanko::message::CrlfNormalizer::normalize(message);
    let (head, body) = split_message(&normalized);
    let headers = Headers::parse(head, &MessageLimits::default()).ok()?;
    let mut verifier = Verifier::new(&headers, VerifyConfig::default());
    verifier.body(body);
    let outcome = verifier.finish(dns, 1_700_000_000).await;
    Some(
        outcome
            .results
            .iter()
            .map(|r| r.verdict().as_str())
            .collect(),
    )
}

#[tokio::test]
async fn ten_thousand_signatures_are_bounded() {
    let (key, dns) = signed_setup();
    let signed = sign(&key, b"From: a@example.com\r\n\r\nbody\r\n");
    let field_end = signed.windows(4).position(|w| w == b"\r\nFr").unwrap() + 2;
    let mut message = Vec::new();
    for _ in 0..10_000 {
        message.extend_from_slice(&signed[..field_end]);
    }
    message.extend_from_slice(&signed[field_end..]);
    // Default limits refuse the header section with a clear error.
    let (head, _) = split_message(&message);
    let err = Headers::parse(head, &MessageLimits::default()).unwrap_err();
    // 10,000 fields of ~300 octets: the 1 MiB section limit trips before the field count.
    assert!(
        matches!(
            err,
            MessageError::HeaderSectionTooLarge { limit: 1_048_576 }
                | MessageError::TooManyHeaderFields { limit: 1000 }
        ),
        "{err}"
    );
    // With the limit raised, only max_signatures are verified and the rest are counted.
    let limits = MessageLimits {
        max_header_fields: 20_000,
        max_header_bytes: 64 << 20,
    };
    let (head, body) = split_message(&message);
    let headers = Headers::parse(head, &limits).unwrap();
    let mut verifier = Verifier::new(&headers, VerifyConfig::default());
    verifier.body(body);
    let outcome = verifier.finish(&dns, 1_700_000_000).await;
    assert_eq!(outcome.results.len(), 10);
    assert_eq!(outcome.skipped, 9_990);
    assert!(outcome.all_pass());
}

/// A 50 MB body streams through signer and verifier in 64 KiB chunks; nothing holds it.
#[tokio::test]
async fn fifty_megabyte_body_streams() {
    let (key, dns) = signed_setup();
    let head = b"From: a@example.com\r\nSubject: big\r\n";
    let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
    let line = b"0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 x\r\n";
    let chunk: Vec<u8> = line.iter().copied().cycle().take(64 * 1024).collect();
    let chunks = 50 * 1024 * 1024 / chunk.len();
    let mut signer = Signer::new(
        &headers,
        vec![SigningRequest::new(&key, "example.com", "s").unwrap()],
    )
    .unwrap();
    for _ in 0..chunks {
        signer.body(&chunk);
    }
    let mut signed = Headers::new();
    for field in signer.finish(1_700_000_000).unwrap() {
        signed.push(field);
    }
    for field in headers.fields() {
        signed.push(field.clone());
    }
    let mut verifier = Verifier::new(&signed, VerifyConfig::default());
    for _ in 0..chunks {
        verifier.body(&chunk);
    }
    assert_eq!(
        verifier.finish(&dns, 1_700_000_000).await.results[0].verdict(),
        DkimVerdict::Pass
    );
    // And a reader never hands out more than one read's worth at a time.
    let body_reader = std::io::Read::take(std::io::repeat(b'a'), 3 * 1024 * 1024);
    let mut reader = MessageReader::new(
        std::io::Read::chain(std::io::Cursor::new(b"A: b\r\n\r\n".to_vec()), body_reader),
        MessageLimits::default(),
    );
    reader.read_headers().unwrap();
    while let Some(piece) = reader.next_body_chunk().unwrap() {
        assert!(piece.len() <= 128 * 1024, "chunk of {}", piece.len());
    }
}

#[tokio::test]
async fn garbage_key_records_are_permerror() {
    let (key, _) = signed_setup();
    let signed = sign(&key, b"From: a@example.com\r\n\r\nbody\r\n");
    let mut rng = Rng(42);
    let mut records: Vec<Vec<u8>> = (0..50).map(|i| rng.bytes(1 + i * 13)).collect();
    records.push(b"v=DKIM1; k=ed25519; p=!!!!".to_vec());
    records.push(b"v=DKIM1; p=; p=".to_vec());
    records.push(b"v=spf1 -all".to_vec());
    for record in records {
        let mut dns = MapDns::default();
        dns.txt.insert(
            "s._domainkey.example.com".into(),
            vec![Some(record.clone())],
        );
        let v = verify(&signed, &dns, 1_700_000_000).await;
        assert_eq!(
            verdicts(&v),
            ["permerror"],
            "record {:?}",
            String::from_utf8_lossy(&record)
        );
    }
}
