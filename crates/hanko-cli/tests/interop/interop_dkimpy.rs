//! Interop with dkimpy, an independent implementation: messages hanko signs verify in dkimpy,
//! messages dkimpy signs verify in hanko, RSA and Ed25519, relaxed and simple; tampered copies
//! fail in both. ARC chains of three hops, the sealers alternating between hanko and dkimpy
//! and the message changed between hops, get the same status from both at every hop. dkimpy and pynacl come from PyPI, installed by scripts/test.sh; DNS is the
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

/// Who seals a hop.
#[derive(Debug, Clone, Copy)]
enum Sealer {
    Hanko,
    Dkimpy,
}

impl Peer {
    fn dkimpy_arc(&self, message: &[u8]) -> String {
        let records = self.dir.path().join("records.json");
        let out = run_ok(
            &self.python,
            &[
                self.script.to_str().unwrap(),
                "arcverify",
                records.to_str().unwrap(),
            ],
            message,
        );
        String::from_utf8(out).unwrap().trim().to_string()
    }

    fn hanko_arc(&self, message: &[u8]) -> String {
        let zone = self.dir.path().join("zone");
        let out = run(
            HANKO,
            &["--zone", zone.to_str().unwrap(), "verify", "--json"],
            message,
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["arc"]["result"].as_str().unwrap().to_string()
    }

    /// Seals with the RSA key (selector `rsa`), this hop's results taken from the
    /// Authentication-Results field of `srv_id` its server wrote on receipt.
    fn seal(&self, sealer: Sealer, message: &[u8], srv_id: &str) -> Vec<u8> {
        let key = self.rsa.to_str().unwrap();
        match sealer {
            Sealer::Hanko => run_ok(
                HANKO,
                &[
                    "arc",
                    "seal",
                    "--from-results",
                    "--authserv-id",
                    srv_id,
                    "--domain",
                    "example.com",
                    "--selector",
                    "rsa",
                    "--key",
                    key,
                ],
                message,
            ),
            Sealer::Dkimpy => run_ok(
                &self.python,
                &[
                    self.script.to_str().unwrap(),
                    "arcsign",
                    key,
                    "example.com",
                    "rsa",
                    srv_id,
                ],
                message,
            ),
        }
    }
}

/// What each hop's list does to the message after receiving it: nothing, a Subject tag, a
/// footer.
fn edit(hop: usize, message: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(message);
    match hop {
        0 => text.into_owned(),
        1 => text.replacen("Subject: interop", "Subject: [list] interop", 1),
        _ => format!("{text}-- \r\nsent through the list\r\n"),
    }
    .into_bytes()
}

#[test]
fn arc_chains_alternating_between_hanko_and_dkimpy_agree_at_every_hop() {
    let peer = Peer::new();
    use Sealer::{Dkimpy, Hanko};
    for order in [[Hanko, Dkimpy, Hanko], [Dkimpy, Hanko, Dkimpy]] {
        let mut message = MESSAGE.to_vec();
        for (hop, sealer) in order.into_iter().enumerate() {
            // Both validate the chain as received alike.
            let (ours, theirs) = (peer.hanko_arc(&message), peer.dkimpy_arc(&message));
            let expected = if hop == 0 { "none" } else { "pass" };
            assert_eq!(
                (ours.as_str(), theirs.as_str()),
                (expected, expected),
                "{order:?} hop {hop}"
            );
            // The hop's server records that on receipt, the list changes the message, the
            // outgoing side seals.
            let srv_id = format!("hop{hop}.example.net");
            let mut received =
                format!("Authentication-Results: {srv_id}; arc={ours}\r\n").into_bytes();
            received.extend_from_slice(&message);
            message = peer.seal(sealer, &edit(hop, &received), &srv_id);
        }
        assert_eq!(
            peer.hanko_arc(&message),
            "pass",
            "{order:?}: hanko at the end"
        );
        assert_eq!(
            peer.dkimpy_arc(&message),
            "pass",
            "{order:?}: dkimpy at the end"
        );
        // A change after the last seal breaks the newest ARC-Message-Signature in both.
        let tampered = tamper_body(&message);
        assert_eq!(peer.hanko_arc(&tampered), "fail", "{order:?}");
        assert_eq!(peer.dkimpy_arc(&tampered), "fail", "{order:?}");
    }
}
