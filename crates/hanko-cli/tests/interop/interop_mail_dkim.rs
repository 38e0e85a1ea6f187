//! Interop with Mail::DKIM's ARC signer and verifier (Perl; Debian `libmail-dkim-perl`,
//! installed by scripts/test.sh): three-hop chains where the sealers alternate between hanko
//! and Mail::DKIM and the message is changed between hops get the same status from both
//! verifiers at every hop. DNS: `hanko dns serve` on loopback, on a zone with the sealing key.

use std::path::PathBuf;
use std::process::Command;

use crate::common;
use crate::dns_server::Server;
use common::{conformance, published_key, run, run_ok, tamper_body, HANKO, MESSAGE};

fn perl() -> String {
    let found = Command::new("perl")
        .args([
            "-MMail::DKIM::ARC::Verifier",
            "-MMail::DKIM::ARC::Signer",
            "-e1",
        ])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "Mail::DKIM's ARC modules not found: run scripts/test.sh, which installs Debian's \
         libmail-dkim-perl"
    );
    "perl".into()
}

struct Peer {
    perl: String,
    script: PathBuf,
    key: PathBuf,
    zone: PathBuf,
    _dir: tempfile::TempDir,
}

#[derive(Debug, Clone, Copy)]
enum Sealer {
    Hanko,
    MailDkim,
}

impl Peer {
    fn new() -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let key = conformance().join("dkimpy/data/2048_testkey.key");
        let (snippet, _) = published_key(&key, "rsa");
        let zone = dir.path().join("zone");
        std::fs::write(&zone, snippet).unwrap();
        Peer {
            perl: perl(),
            script: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/interop/mail_dkim_arc_peer.pl"),
            key,
            zone,
            _dir: dir,
        }
    }

    fn mail_dkim(&self, server: &Server, message: &[u8]) -> String {
        let out = run_ok(
            &self.perl,
            &[self.script.to_str().unwrap(), "verify", &server.port],
            message,
        );
        String::from_utf8(out).unwrap().trim().to_string()
    }

    fn hanko(&self, message: &[u8]) -> String {
        let out = run(
            HANKO,
            &["--zone", self.zone.to_str().unwrap(), "verify", "--json"],
            message,
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["arc"]["result"].as_str().unwrap().to_string()
    }

    fn seal(&self, server: &Server, sealer: Sealer, message: &[u8], srv_id: &str) -> Vec<u8> {
        let key = self.key.to_str().unwrap();
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
            Sealer::MailDkim => run_ok(
                &self.perl,
                &[
                    self.script.to_str().unwrap(),
                    "seal",
                    &server.port,
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

/// Each hop's list: nothing, a Subject tag, a footer.
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
fn arc_chains_alternating_between_hanko_and_mail_dkim_agree_at_every_hop() {
    let peer = Peer::new();
    let server = Server::start(&peer.zone);
    use Sealer::{Hanko, MailDkim};
    for order in [[Hanko, MailDkim, Hanko], [MailDkim, Hanko, MailDkim]] {
        let mut message = MESSAGE.to_vec();
        for (hop, sealer) in order.into_iter().enumerate() {
            let (ours, theirs) = (peer.hanko(&message), peer.mail_dkim(&server, &message));
            let expected = if hop == 0 { "none" } else { "pass" };
            assert_eq!(
                (ours.as_str(), theirs.as_str()),
                (expected, expected),
                "{order:?} hop {hop}"
            );
            let srv_id = format!("hop{hop}.example.net");
            let mut received =
                format!("Authentication-Results: {srv_id}; arc={ours}\r\n").into_bytes();
            received.extend_from_slice(&message);
            message = peer.seal(&server, sealer, &edit(hop, &received), &srv_id);
        }
        assert_eq!(peer.hanko(&message), "pass", "{order:?}: hanko at the end");
        assert_eq!(
            peer.mail_dkim(&server, &message),
            "pass",
            "{order:?}: Mail::DKIM"
        );
        let tampered = tamper_body(&message);
        assert_eq!(peer.hanko(&tampered), "fail", "{order:?}");
        assert_eq!(peer.mail_dkim(&server, &tampered), "fail", "{order:?}");
    }
}
