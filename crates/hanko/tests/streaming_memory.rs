//! The library's streaming API in bounded memory: a 50 MB message read through
//! `MessageReader` from a source that never holds it, signed by `Signer`, then verified by
//! `Verifier` the same way, peaks under 32 MB of resident memory. This file holds one test
//! so that the process's peak (`VmHWM` in /proc/self/status) is this test's alone.

mod common;

use std::io::{Cursor, Read};

use common::MapDns;
use hanko::dkim::{key_record_for, DkimVerdict, Signer, SigningRequest, Verifier, VerifyConfig};
use hanko::keys::{KeySpec, SigningKey};
use hanko::message::{MessageLimits, MessageReader};

const BODY_BYTES: usize = 50 * 1024 * 1024;
const PEAK_LIMIT_KIB: u64 = 32 * 1024;

/// A body of `len` octets of text lines, produced as it is read.
struct Lines {
    left: usize,
    at: usize,
}

const LINE: &[u8] =
    b"0123456789 abcdefghijklmnopqrstuvwxyz  ABCDEFGHIJKLMNOPQRSTUVWXYZ\t0123456789\r\n";

impl Read for Lines {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.left);
        for b in &mut buf[..n] {
            *b = LINE[self.at];
            self.at = (self.at + 1) % LINE.len();
        }
        self.left -= n;
        Ok(n)
    }
}

fn message(head: Vec<u8>) -> impl Read {
    Cursor::new(head).chain(Lines {
        left: BODY_BYTES,
        at: 0,
    })
}

fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .expect("VmHWM in /proc/self/status")
}

#[tokio::test]
async fn fifty_megabytes_sign_and_verify_under_32_mb() {
    let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let mut dns = MapDns::default();
    dns.add(
        "s._domainkey.example.com",
        &key_record_for(&key, &Default::default()).unwrap(),
    );
    let head = b"From: a@example.com\r\nSubject: big\r\n\r\n".to_vec();

    let mut reader = MessageReader::new(message(head.clone()), MessageLimits::default());
    let headers = reader.read_headers().unwrap();
    let request = SigningRequest::new(&key, "example.com", "s").unwrap();
    let mut signer = Signer::new(&headers, vec![request]).unwrap();
    while let Some(chunk) = reader.next_body_chunk().unwrap() {
        signer.body(chunk);
    }
    let mut signed_head = Vec::new();
    for field in signer.finish(1_795_000_000).unwrap() {
        signed_head.extend_from_slice(field.raw());
        signed_head.extend_from_slice(b"\r\n");
    }
    signed_head.extend_from_slice(&head);

    let mut reader = MessageReader::new(message(signed_head), MessageLimits::default());
    let headers = reader.read_headers().unwrap();
    let mut verifier = Verifier::new(&headers, VerifyConfig::default());
    while let Some(chunk) = reader.next_body_chunk().unwrap() {
        verifier.body(chunk);
    }
    let outcome = verifier.finish(&dns, 1_795_000_000).await;
    assert_eq!(outcome.results[0].verdict(), DkimVerdict::Pass);

    let peak = peak_kib();
    eprintln!("50 MB through MessageReader, Signer and Verifier: peak {peak} KiB");
    assert!(peak < PEAK_LIMIT_KIB, "peaked at {peak} KiB");
}
