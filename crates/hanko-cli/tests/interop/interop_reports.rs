//! The aggregate reports hanko writes, read by parsedmarc 11.1.0 and dmarc-report 3.1.0
//! (PyPI, installed by scripts/test.sh): both find the messages recorded, the records and
//! the policy domain; dmarc-report takes the report as RFC 9990 without a warning.

use std::path::PathBuf;

use crate::common;
use common::{interop_python, published_key, run, run_ok, HANKO, MESSAGE};

#[test]
fn parsedmarc_and_dmarc_report_read_hankos_reports_with_the_recorded_totals() {
    let python = interop_python(
        "parsedmarc, dmarc_report",
        "parsedmarc and dmarc-report are",
    );
    let dir = tempfile::tempdir().unwrap();
    let key = common::conformance().join("dkimpy/data/2048_testkey.key");
    let (snippet, _) = published_key(&key, "rsa");
    let zone = dir.path().join("zone");
    std::fs::write(
        &zone,
        format!(
            "{snippet}_dmarc.example.com. 300 IN TXT \"v=DMARC1; p=quarantine; t=y\"\n\
             example.com. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
        ),
    )
    .unwrap();
    let db = format!("sqlite:{}", dir.path().join("r.sqlite").display());
    let signed = run_ok(
        HANKO,
        &[
            "sign",
            "--domain",
            "example.com",
            "--key",
            key.to_str().unwrap(),
            "--selector",
            "rsa",
        ],
        MESSAGE,
    );
    let day = 1_795_392_000u64;
    // Three signed from the domain's network, two spoofs from elsewhere, one IPv6 spoof.
    let sends: [(&[u8], &str); 6] = [
        (&signed, "192.0.2.10"),
        (&signed, "192.0.2.10"),
        (&signed, "192.0.2.11"),
        (MESSAGE, "203.0.113.9"),
        (MESSAGE, "203.0.113.9"),
        (MESSAGE, "2001:db8::25"),
    ];
    for (i, (message, ip)) in sends.iter().enumerate() {
        let time = (day + 60 * (i as u64 + 1)).to_string();
        run(
            HANKO,
            &[
                "--zone",
                zone.to_str().unwrap(),
                "verify",
                "--record-db",
                &db,
                "--time",
                &time,
                "--ip",
                ip,
                "--helo",
                "mail.example.com",
                "--mail-from",
                "joe@example.com",
            ],
            message,
        );
    }
    let out = dir.path().join("reports");
    run_ok(
        HANKO,
        &[
            "report",
            "aggregate",
            "--db",
            &db,
            "--org-name",
            "mx.example.net",
            "--org-email",
            "dmarc@example.net",
            "--until",
            "2026-11-24",
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
    );
    let files: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/reports_peer.py");
    let read = run_ok(
        &python,
        &[script.to_str().unwrap(), files[0].to_str().unwrap()],
        b"",
    );
    let json: serde_json::Value = serde_json::from_slice(&read).unwrap();
    for reader in ["parsedmarc", "dmarc_report"] {
        assert_eq!(json[reader]["messages"], 6, "{reader}: {json}");
        // The signed messages from two addresses, the spoofs from two: four records.
        assert_eq!(json[reader]["records"], 4, "{reader}: {json}");
        assert_eq!(json[reader]["domain"], "example.com", "{reader}: {json}");
    }
    assert!(
        json["dmarc_report"]["format"]
            .as_str()
            .unwrap()
            .contains("9990"),
        "{json}"
    );
    assert_eq!(
        json["dmarc_report"]["warnings"],
        serde_json::json!([]),
        "{json}"
    );
}
