//! Interop with dkimpy, an independent implementation: messages hanko signs verify in dkimpy,
//! messages dkimpy signs verify in hanko, RSA and Ed25519, relaxed and simple; tampered copies
//! fail in both. dkimpy and pynacl come from PyPI, installed by scripts/test.sh; DNS is the
//! keys' records handed to dkimpy's dnsfunc and to hanko as a zone file.

use std::path::PathBuf;

use crate::common;
use common::{
    conformance, interop_python, published_key, results, run, run_ok, tamper_body, tamper_header,
    HANKO, MESSAGE,
};

fn python() -> String {
    interop_python("dkim, nacl", "dkimpy and pynacl are")
}

struct Peer {
    python: String,
    script: PathBuf,
    dir: tempfile::TempDir,
    rsa: PathBuf,
    ed: PathBuf,
}

impl Peer {
    fn new() -> Peer {
        let data = conformance().join("dkimpy/data");
        let peer = Peer {
            python: python(),
            script: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/dkimpy_peer.py"),
            dir: tempfile::tempdir().unwrap(),
            rsa: data.join("2048_testkey.key"),
            ed: data.join("ed25519test.key"),
        };
        // The records, as `hanko keygen --from-key` prints them, for both peers.
        let mut zone = String::new();
        let mut json = serde_json::Map::new();
        for (selector, key) in [("ed", &peer.ed), ("rsa", &peer.rsa)] {
            let (snippet, value) = published_key(key, selector);
            zone.push_str(&snippet);
            json.insert(format!("{selector}._domainkey.example.com"), value.into());
        }
        std::fs::write(peer.dir.path().join("zone"), zone).unwrap();
        std::fs::write(
            peer.dir.path().join("records.json"),
            serde_json::Value::Object(json).to_string(),
        )
        .unwrap();
        peer
    }

    fn dkimpy_verify(&self, message: &[u8]) -> Vec<String> {
        let records = self.dir.path().join("records.json");
        let out = run_ok(
            &self.python,
            &[
                self.script.to_str().unwrap(),
                "verify",
                records.to_str().unwrap(),
            ],
            message,
        );
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn dkimpy_sign(&self, message: &[u8], canon: &str) -> Vec<u8> {
        run_ok(
            &self.python,
            &[
                self.script.to_str().unwrap(),
                "sign",
                self.rsa.to_str().unwrap(),
                self.ed.to_str().unwrap(),
                "example.com",
                canon,
            ],
            message,
        )
    }

    fn hanko_sign(&self, message: &[u8], canon: &str) -> Vec<u8> {
        run_ok(
            HANKO,
            &[
                "sign",
                "--domain",
                "example.com",
                "--canonicalization",
                canon,
                "--key",
                self.ed.to_str().unwrap(),
                "--selector",
                "ed",
                "--key",
                self.rsa.to_str().unwrap(),
                "--selector",
                "rsa",
            ],
            message,
        )
    }

    fn hanko_verify(&self, message: &[u8]) -> Vec<String> {
        let zone = self.dir.path().join("zone");
        // Exit status 1 (a signature failed) is an expected outcome here.
        let out = run(
            HANKO,
            &["--zone", zone.to_str().unwrap(), "verify", "--json"],
            message,
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        results(&json)
    }
}

#[test]
fn hanko_signs_dkimpy_verifies() {
    let peer = Peer::new();
    for canon in ["relaxed/relaxed", "simple/simple"] {
        let signed = peer.hanko_sign(MESSAGE, canon);
        assert_eq!(peer.dkimpy_verify(&signed), ["pass", "pass"], "{canon}");
        assert_eq!(
            peer.dkimpy_verify(&tamper_body(&signed)),
            ["fail", "fail"],
            "{canon} body"
        );
        assert_eq!(
            peer.dkimpy_verify(&tamper_header(&signed)),
            ["fail", "fail"],
            "{canon} header"
        );
    }
}

#[test]
fn dkimpy_signs_hanko_verifies() {
    let peer = Peer::new();
    for canon in ["relaxed/relaxed", "simple/simple"] {
        let signed = peer.dkimpy_sign(MESSAGE, canon);
        assert_eq!(peer.hanko_verify(&signed), ["pass", "pass"], "{canon}");
        assert_eq!(
            peer.hanko_verify(&tamper_body(&signed)),
            ["fail", "fail"],
            "{canon} body"
        );
        assert_eq!(
            peer.hanko_verify(&tamper_header(&signed)),
            ["fail", "fail"],
            "{canon} header"
        );
    }
}
