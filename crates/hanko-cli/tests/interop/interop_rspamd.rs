//! Interop with rspamd 3.4 (Debian `rspamd`, installed by scripts/test.sh), whose ARC module
//! is a third implementation (Lua over its own C DKIM code): a private rspamd instance on
//! loopback, its resolver pointed at `hanko dns serve`, seals what it receives and validates
//! chains; hanko and rspamd seal in turn over three hops (hanko's hops change the message
//! before sealing, as a list does) and both verifiers agree at every hop.
//!
//! Where rspamd seals the third hop, over a set of its own and one of hanko's, its seal does
//! not validate: not in rspamd itself, not in hanko, not in dkimpy (the third opinion asked
//! here). All three say `fail`, naming that seal; hanko agrees with rspamd on the broken
//! chain rather than with rspamd's `cv=pass`.
//!
//! rspamd seals with the time of day, so hanko verifies these chains at the current time.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;
use crate::dns_server::Server;
use common::{
    conformance, interop_python, published_key, run, run_ok, tamper_body, HANKO, MESSAGE,
};

/// A free loopback port (released at once: rspamd binds it moments later).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private rspamd: the Debian configuration with local overrides in a temporary folder
/// (its own ports, the DNS server, ARC signing for example.com with the test key). Stopped
/// when dropped.
struct Rspamd {
    child: Child,
    scan: String,
    _dir: tempfile::TempDir,
}

impl Rspamd {
    fn start(dns_port: &str, key: &Path) -> Rspamd {
        let found = Command::new("sh")
            .args(["-c", "command -v rspamd && command -v rspamc"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "rspamd not found: run scripts/test.sh, which installs Debian's rspamd"
        );
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("local.d");
        for sub in ["local.d", "db", "run", "log"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let (scan, controller) = (free_port(), free_port());
        let files = [
            (
                "options.inc",
                format!(
                    "dns {{ nameserver = [\"127.0.0.1:{dns_port}\"]; timeout = 2s; retransmits = 1; }}\n\
                     local_addrs = \"127.0.0.0/8\";\nfilters = \"arc,spf,dkim,dmarc\";\n"
                ),
            ),
            (
                "worker-normal.inc",
                format!("bind_socket = \"127.0.0.1:{scan}\";\ncount = 1;\n"),
            ),
            (
                "worker-controller.inc",
                format!("bind_socket = \"127.0.0.1:{controller}\";\ncount = 1;\n"),
            ),
            ("worker-proxy.inc", "enabled = false;\n".to_string()),
            (
                "logging.inc",
                format!(
                    "type = \"file\"; filename = \"{}\"; level = \"info\";\n",
                    dir.path().join("log/rspamd.log").display()
                ),
            ),
            (
                "arc.conf",
                format!(
                    "sign_local = true;\nsign_inbound = true;\nuse_domain = \"header\";\n\
                     use_esld = false;\nallow_hdrfrom_mismatch = true;\n\
                     allow_username_mismatch = true;\n\
                     domain {{ example.com {{ path = \"{}\"; selector = \"rsa\"; }} }}\n",
                    key.display()
                ),
            ),
        ];
        for (name, text) in files {
            std::fs::write(local.join(name), text).unwrap();
        }
        let var = |name: &str, sub: &str| format!("{name}={}", dir.path().join(sub).display());
        let child = Command::new("rspamd")
            .args(["-i", "-f", "-c", "/etc/rspamd/rspamd.conf", "--var"])
            .arg(format!("LOCAL_CONFDIR={}", dir.path().display()))
            .args(["--var", &var("DBDIR", "db")])
            .args(["--var", &var("RUNDIR", "run")])
            .args(["--var", &var("LOGDIR", "log")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let rspamd = Rspamd {
            child,
            scan: format!("127.0.0.1:{scan}"),
            _dir: dir,
        };
        // It compiles its regular expressions before it listens: up to a few seconds.
        let start = Instant::now();
        while std::net::TcpStream::connect(&rspamd.scan).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "rspamd did not start listening on {}",
                rspamd.scan
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        rspamd
    }

    /// rspamd's scan of `message` as a local client: its JSON.
    fn scan(&self, message: &[u8]) -> serde_json::Value {
        let out = run_ok(
            "rspamc",
            &["-h", &self.scan, "--ip", "127.0.0.1", "--json"],
            message,
        );
        serde_json::from_slice(&out)
            .unwrap_or_else(|e| panic!("rspamc: {e}: {}", String::from_utf8_lossy(&out)))
    }

    /// rspamd's ARC symbol as a status.
    fn arc(&self, message: &[u8]) -> String {
        let json = self.scan(message);
        let symbols = json["symbols"].as_object().cloned().unwrap_or_default();
        let status = if symbols.contains_key("ARC_ALLOW") {
            "pass"
        } else if symbols.contains_key("ARC_NA") {
            "none"
        } else if symbols.contains_key("ARC_REJECT") || symbols.contains_key("ARC_INVALID") {
            "fail"
        } else {
            panic!("no ARC symbol: {:?}", symbols.keys().collect::<Vec<_>>())
        };
        status.to_string()
    }

    /// The message with the set rspamd's ARC module adds on top.
    fn seal(&self, message: &[u8]) -> Vec<u8> {
        let json = self.scan(message);
        let add = &json["milter"]["add_headers"];
        let mut out = String::new();
        for name in [
            "ARC-Seal",
            "ARC-Message-Signature",
            "ARC-Authentication-Results",
        ] {
            let value = add[name]["value"]
                .as_str()
                .unwrap_or_else(|| panic!("rspamd added no {name}: {json}"));
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        let mut sealed = out.into_bytes();
        sealed.extend_from_slice(message);
        sealed
    }
}

impl Drop for Rspamd {
    fn drop(&mut self) {
        // SIGTERM: the main process stops its workers.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

struct Peer {
    key: PathBuf,
    zone: PathBuf,
    /// The key record for dkimpy's dnsfunc.
    records: PathBuf,
    _dir: tempfile::TempDir,
}

impl Peer {
    fn new() -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let key = conformance().join("dkimpy/data/2048_testkey.key");
        let (snippet, value) = published_key(&key, "rsa");
        let zone = dir.path().join("zone");
        std::fs::write(&zone, snippet).unwrap();
        let records = dir.path().join("records.json");
        let json = serde_json::json!({ "rsa._domainkey.example.com": value });
        std::fs::write(&records, json.to_string()).unwrap();
        Peer {
            key,
            zone,
            records,
            _dir: dir,
        }
    }

    /// hanko's status of the chain and its reason.
    fn hanko_verdict(&self, message: &[u8]) -> (String, String) {
        let out = run(
            HANKO,
            &["--zone", self.zone.to_str().unwrap(), "verify", "--json"],
            message,
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let arc = &json["arc"];
        (
            arc["result"].as_str().unwrap().to_string(),
            arc["reason"].as_str().unwrap_or("").to_string(),
        )
    }

    fn hanko(&self, message: &[u8]) -> String {
        self.hanko_verdict(message).0
    }

    /// dkimpy's status of the chain: a third opinion.
    fn dkimpy(&self, message: &[u8]) -> String {
        let python = interop_python("dkim", "dkimpy is");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/dkimpy_peer.py");
        let out = run_ok(
            &python,
            &[
                script.to_str().unwrap(),
                "arcverify",
                self.records.to_str().unwrap(),
            ],
            message,
        );
        String::from_utf8(out).unwrap().trim().to_string()
    }

    /// hanko's hop: records its results on receipt, changes the message, seals.
    fn hanko_hop(&self, message: &[u8], hop: usize, status: &str) -> Vec<u8> {
        let srv_id = format!("hop{hop}.example.net");
        let received = format!("Authentication-Results: {srv_id}; arc={status}\r\n{}", {
            let text = String::from_utf8_lossy(message).into_owned();
            match hop {
                0 => text,
                1 => text.replacen("Subject: interop", "Subject: [list] interop", 1),
                _ => format!("{text}-- \r\nsent through the list\r\n"),
            }
        });
        run_ok(
            HANKO,
            &[
                "arc",
                "seal",
                "--from-results",
                "--authserv-id",
                &srv_id,
                "--domain",
                "example.com",
                "--selector",
                "rsa",
                "--key",
                self.key.to_str().unwrap(),
            ],
            received.as_bytes(),
        )
    }
}

#[test]
fn arc_chains_alternating_between_hanko_and_rspamd_agree_at_every_hop() {
    let peer = Peer::new();
    let dns = Server::start(&peer.zone);
    let rspamd = Rspamd::start(&dns.port, &peer.key);
    #[derive(Debug, Clone, Copy)]
    enum Sealer {
        Hanko,
        Rspamd,
    }
    for order in [
        [Sealer::Hanko, Sealer::Rspamd, Sealer::Hanko],
        [Sealer::Rspamd, Sealer::Hanko, Sealer::Rspamd],
    ] {
        let mut message = MESSAGE.to_vec();
        for (hop, sealer) in order.into_iter().enumerate() {
            let (ours, theirs) = (peer.hanko(&message), rspamd.arc(&message));
            let expected = if hop == 0 { "none" } else { "pass" };
            assert_eq!(
                (ours.as_str(), theirs.as_str()),
                (expected, expected),
                "{order:?} hop {hop}"
            );
            message = match sealer {
                Sealer::Hanko => peer.hanko_hop(&message, hop, &ours),
                Sealer::Rspamd => rspamd.seal(&message),
            };
        }
        let (ours, reason) = peer.hanko_verdict(&message);
        let (theirs, third) = (rspamd.arc(&message), peer.dkimpy(&message));
        match order[2] {
            Sealer::Hanko => {
                assert_eq!(
                    (ours.as_str(), theirs.as_str()),
                    ("pass", "pass"),
                    "{order:?}"
                );
                assert_eq!(third, "pass", "{order:?}: dkimpy");
            }
            // rspamd's seal of the third hop: broken, by every verifier's account.
            Sealer::Rspamd => {
                assert_eq!(
                    (ours.as_str(), theirs.as_str()),
                    ("fail", "fail"),
                    "{order:?}"
                );
                assert_eq!(third, "fail", "{order:?}: dkimpy");
                assert!(
                    reason.starts_with("ARC-Seal i=3: signature mismatch"),
                    "{reason}"
                );
            }
        }
        let tampered = tamper_body(&message);
        assert_eq!(peer.hanko(&tampered), "fail", "{order:?}");
        assert_eq!(rspamd.arc(&tampered), "fail", "{order:?}");
    }
}
