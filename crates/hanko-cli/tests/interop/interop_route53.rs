//! The Route 53 change batches `hanko keygen --format route53` writes, validated offline by
//! botocore's own model of `ChangeResourceRecordSets` (PyPI `botocore`, installed by
//! scripts/test.sh): RSA keys of 2048 and 4096 bits (values split into several strings) and
//! Ed25519.

use std::path::PathBuf;

use crate::common;
use common::{interop_python, run_ok, HANKO};

#[test]
fn route53_batches_pass_botocores_validator() {
    let python = interop_python("botocore", "botocore is");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/route53_peer.py");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    for (selector, algorithm, bits) in [
        ("r2", "rsa", "2048"),
        ("r4", "rsa", "4096"),
        ("e", "ed25519", "2048"),
    ] {
        let batch = run_ok(
            HANKO,
            &[
                "keygen",
                "--domain",
                "example.com",
                "--selector",
                selector,
                "--algorithm",
                algorithm,
                "--bits",
                bits,
                "--out",
                out,
                "--format",
                "route53",
            ],
            b"",
        );
        let text = String::from_utf8(batch.clone()).unwrap();
        assert!(
            text.contains(&format!("\"{selector}._domainkey.example.com.\"")),
            "{text}"
        );
        let verdict = run_ok(&python, &[script.to_str().unwrap()], &batch);
        assert!(String::from_utf8_lossy(&verdict).contains("1 batch(es) valid"));
    }
}
