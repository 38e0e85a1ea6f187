//! Interop with OpenDKIM, an independent implementation in C: messages hanko signs (RSA and
//! Ed25519, relaxed and simple, and through a CNAME-delegated selector) verify with
//! `opendkim-testmsg`, and copies with one body byte or one signed header byte changed fail.
//!
//! opendkim-testmsg (Debian `opendkim-tools`, installed by scripts/test.sh) resolves keys only
//! through the system resolver. So the verifications run in a private network and mount
//! namespace (`unshare --net --mount`, which needs root) where `/etc/resolv.conf` names
//! 127.0.0.1 and `hanko dns serve` answers on port 53 from the example zone. Nothing reaches the
//! real network: the namespace has only its own loopback interface.
//!
//! (The other direction is covered by dkimpy: opendkim-testmsg can only sign with rsa-sha1,
//! which RFC 8301 forbids.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;
use common::{run_ok, tamper_body, tamper_header, HANKO, MESSAGE};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn testmsg() -> String {
    let program =
        std::env::var("HANKO_OPENDKIM_TESTMSG").unwrap_or_else(|_| "opendkim-testmsg".into());
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{program} not found: run scripts/test.sh, which installs Debian's opendkim-tools"
    );
    program
}

/// Verifies every `*.eml` in `dir` with opendkim-testmsg inside a private namespace whose
/// only DNS server is `hanko dns serve` on the example zone. Returns, per file name, the exit
/// status and what opendkim-testmsg printed.
fn opendkim_verify_all(dir: &Path) -> BTreeMap<String, (i32, String)> {
    let testmsg = testmsg();
    std::fs::write(dir.join("resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
    let zone = examples().join("example.com.zone");
    let script = format!(
        r#"set -u
ip link set lo up || exit 90
mount --bind "$DIR/resolv.conf" /etc/resolv.conf || exit 91
"$HANKO" --zone "$ZONE" dns serve --listen 127.0.0.1:53 > "$DIR/serve.log" 2>&1 &
server=$!
for i in $(seq 100); do grep -q serving "$DIR/serve.log" && break; sleep 0.05; done
grep -q serving "$DIR/serve.log" || {{ cat "$DIR/serve.log" >&2; exit 92; }}
for f in "$DIR"/*.eml; do
  {testmsg} < "$f" > "$f.out" 2>&1
  echo "$(basename "$f") $?"
done
kill $server
"#
    );
    let out = Command::new("unshare")
        .args(["--net", "--mount", "sh", "-c", &script])
        .env("DIR", dir)
        .env("HANKO", HANKO)
        .env("ZONE", &zone)
        .output()
        .expect("unshare (util-linux) must be installed");
    assert!(
        out.status.success(),
        "private namespace for OpenDKIM failed ({:?}; needs root): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (name, status) = line.rsplit_once(' ').unwrap();
            let said = std::fs::read_to_string(dir.join(format!("{name}.out"))).unwrap();
            (name.to_string(), (status.parse().unwrap(), said))
        })
        .collect()
}

fn hanko_sign(selector: &str, key: &str, canon: &str, message: &[u8]) -> Vec<u8> {
    let key = examples().join(key);
    run_ok(
        HANKO,
        &[
            "sign",
            "--domain",
            "example.com",
            "--selector",
            selector,
            "--key",
            key.to_str().unwrap(),
            "--canonicalization",
            canon,
        ],
        message,
    )
}

#[test]
fn hanko_signs_opendkim_verifies() {
    let dir = tempfile::tempdir().unwrap();
    // selector1 is a CNAME to rsa2026, the way Exchange Online delegates its selectors.
    let signers = [
        ("ed2026", "ed2026.private"),
        ("rsa2026", "rsa2026.private"),
        ("selector1", "rsa2026.private"),
    ];
    let mut expected = BTreeMap::new();
    for (selector, key) in signers {
        for canon in ["relaxed/relaxed", "simple/simple", "relaxed/simple"] {
            let stem = format!("{selector}-{}", canon.replace('/', "-"));
            let signed = hanko_sign(selector, key, canon, MESSAGE);
            let copies = [
                ("ok", signed.clone(), true),
                ("body", tamper_body(&signed), false),
                ("header", tamper_header(&signed), false),
            ];
            for (what, message, passes) in copies {
                let name = format!("{stem}-{what}.eml");
                std::fs::write(dir.path().join(&name), message).unwrap();
                expected.insert(name, passes);
            }
        }
    }
    // A message signed for a selector that is not published: OpenDKIM must fail it too, which
    // shows its passes above came from our DNS server and not from somewhere else.
    let unpublished = hanko_sign("nokey", "rsa2026.private", "relaxed/relaxed", MESSAGE);
    std::fs::write(dir.path().join("nokey.eml"), unpublished).unwrap();
    expected.insert("nokey.eml".into(), false);

    let verdicts = opendkim_verify_all(dir.path());
    assert_eq!(
        verdicts.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (name, passes) in &expected {
        let (status, said) = &verdicts[name];
        if *passes {
            assert_eq!(*status, 0, "{name}: OpenDKIM said {said}");
        } else {
            assert_ne!(*status, 0, "{name}: OpenDKIM accepted a tampered copy");
        }
        if name.ends_with("-body.eml") || name.ends_with("-header.eml") {
            assert!(
                said.contains("Bad signature") || said.contains("body hash"),
                "{name}: failed for another reason: {said}"
            );
        }
        if name == "nokey.eml" {
            assert!(said.contains("Key retrieval failed"), "nokey.eml: {said}");
        }
    }
}
