//! Hostile input through the `hanko` binary: every case ends with a result or a clear error
//! and the documented exit status, never a panic; a 50 MB message streams through `sign` and
//! `verify` in bounded memory (peak resident size measured with getrusage by Python's
//! `resource` module, which is on every machine the tests run on).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;
use common::{run, HANKO};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn zone() -> String {
    examples()
        .join("example.com.zone")
        .to_string_lossy()
        .into_owned()
}

/// Runs `hanko args` with standard input from `input` and standard output to `output`;
/// returns (exit code, stderr, peak resident set size in KiB).
fn measured(args: &[&str], input: &Path, output: &Path) -> (i32, String, u64) {
    let script = r#"
import resource, subprocess, sys
with open(sys.argv[1], "rb") as stdin, open(sys.argv[2], "wb") as stdout:
    done = subprocess.run(sys.argv[3:], stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
sys.stderr.buffer.write(done.stderr)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(input)
        .arg(output)
        .arg(HANKO)
        .args(args)
        .output()
        .expect("python3");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut words = text.split_whitespace();
    let code = words.next().unwrap().parse().unwrap();
    let kib = words.next().unwrap().parse().unwrap();
    (code, String::from_utf8_lossy(&out.stderr).into_owned(), kib)
}

/// Writes a message with a body of about `megabytes` MB of text lines.
fn big_message(path: &Path, megabytes: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    file.write_all(b"From: Joe <joe@example.com>\r\nTo: ann@example.org\r\nSubject: big\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n").unwrap();
    let line = b"0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 x\r\n";
    for _ in 0..(megabytes * 1024 * 1024 / line.len()) {
        file.write_all(line).unwrap();
    }
    file.flush().unwrap();
}

/// Issue 8: a 50 MB message signs and verifies in under 32 MB (about 14 MiB measured).
const PEAK_LIMIT_KIB: u64 = 32 * 1024;

/// `hanko sign` with the example Ed25519 key, followed by `extra` arguments.
fn sign_args(extra: &[&str]) -> Vec<String> {
    let key = examples().join("ed2026.private");
    let mut args: Vec<String> = [
        "sign",
        "--domain",
        "example.com",
        "--selector",
        "ed2026",
        "--key",
    ]
    .map(String::from)
    .to_vec();
    args.push(key.to_string_lossy().into_owned());
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

#[test]
fn fifty_megabytes_sign_and_verify_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.eml");
    big_message(&plain, 50);
    // Signing a named file reads it twice (hash, then copy) and holds neither.
    let signed = dir.path().join("signed.eml");
    let args = sign_args(&[plain.to_str().unwrap()]);
    let (code, err, sign_peak) = measured(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        Path::new("/dev/null"),
        &signed,
    );
    assert_eq!(code, 0, "sign: {err}");
    assert!(
        sign_peak < PEAK_LIMIT_KIB,
        "sign of 50 MB peaked at {sign_peak} KiB"
    );
    // Verifying reads standard input once, streaming the body through the hashers.
    let (code, err, verify_peak) = measured(
        &["--zone", &zone(), "verify"],
        &signed,
        Path::new("/dev/null"),
    );
    assert_eq!(code, 0, "verify: {err}");
    assert!(
        verify_peak < PEAK_LIMIT_KIB,
        "verify of 50 MB peaked at {verify_peak} KiB"
    );
    eprintln!("50 MB message: sign peak {sign_peak} KiB, verify peak {verify_peak} KiB");
}

#[test]
fn garbage_and_truncated_messages_exit_cleanly() {
    let signed = std::fs::read(examples().join("signed-dual.eml")).unwrap();
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("one byte", b"F".to_vec()),
        ("binary", (0..=255u8).cycle().take(70_000).collect()),
        ("NUL header", b"From\0: x\r\n\r\nbody".to_vec()),
        ("no colon", b"this is not a header\r\n\r\nbody\r\n".to_vec()),
        (
            "only signature",
            b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa2026; h=from; bh=; b=\r\n"
                .to_vec(),
        ),
        (
            "malformed tags",
            b"DKIM-Signature: v=1; a=; ;;=; d=\xff\xfe; s=\r\nFrom: a@example.com\r\n\r\nx\r\n"
                .to_vec(),
        ),
    ];
    for cut in [10, 200, 700, signed.len() - 5] {
        cases.push(("truncated signed", signed[..cut].to_vec()));
    }
    let zone = zone();
    for (name, message) in &cases {
        let out = run(HANKO, &["--zone", &zone, "verify", "--json"], message);
        let code = out.status.code();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(code, Some(1) | Some(2)),
            "{name}: exit {code:?}, stderr {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        if code == Some(2) {
            assert!(
                stderr.starts_with("hanko: "),
                "{name}: unclear error {stderr}"
            );
        } else {
            let json: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{name}: not JSON ({e})"));
            assert!(json["dkim"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["result"] != "pass"));
        }
        // Signing garbage either signs it or refuses it clearly.
        let args = sign_args(&[]);
        let out = run(
            HANKO,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            message,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "sign {name}: {stderr}");
        assert!(
            matches!(out.status.code(), Some(0) | Some(2)),
            "sign {name}: {:?}",
            out.status
        );
    }
}

/// A message with `count` (bogus) DKIM-Signature fields, each naming its own selector.
fn with_signatures(count: usize) -> Vec<u8> {
    let mut message = Vec::new();
    for i in 0..count {
        message.extend_from_slice(
            format!("DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s{i}; h=from; bh=AAAA; b=AAAA\r\n").as_bytes(),
        );
    }
    message.extend_from_slice(b"From: a@example.com\r\n\r\nbody\r\n");
    message
}

#[test]
fn ten_thousand_signatures_through_the_binary() {
    // More header fields than the documented limit of 1,000: refused by name.
    let message = with_signatures(10_000);
    let out = run(HANKO, &["--zone", &zone(), "verify"], &message);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("header fields"), "{stderr}");
    // 900 signatures fit the field limit: ten are verified (the signature limit), each a
    // clear result, and the rest reported as skipped.
    let message = with_signatures(900);
    let out = run(HANKO, &["--zone", &zone(), "verify", "--json"], &message);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["dkim"].as_array().unwrap().len(), 10);
    assert_eq!(json["dkim_skipped"], 890);
}

#[test]
fn garbage_key_records_in_a_zone() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("bad.zone");
    std::fs::write(
        &zone,
        "$ORIGIN example.com.\n\
         rsa2026._domainkey IN TXT \"v=DKIM1; k=rsa; p=!!!notbase64\"\n\
         ed2026._domainkey IN TXT \"v=DKIM2; p=AAAA\"\n",
    )
    .unwrap();
    let signed = std::fs::read(examples().join("signed-dual.eml")).unwrap();
    let out = run(
        HANKO,
        &["--zone", zone.to_str().unwrap(), "verify", "--json"],
        &signed,
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for r in json["dkim"].as_array().unwrap() {
        assert_eq!(r["result"], "permerror", "{r}");
        assert!(r["reason"].as_str().unwrap().contains("key"), "{r}");
    }
    // A zone file that is itself garbage is an input error naming the file and line.
    std::fs::write(
        &zone,
        "$ORIGIN example.com.\nrsa2026 IN TXT (\"unterminated\n",
    )
    .unwrap();
    let out = run(
        HANKO,
        &["--zone", zone.to_str().unwrap(), "verify"],
        &signed,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.zone"), "{stderr}");
}

#[test]
#[cfg(unix)]
fn keygen_never_writes_through_a_planted_link_or_over_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep me").unwrap();
    let keygen = |selector: &str, force: bool| {
        let mut args = vec!["keygen", "--domain", "example.com", "--selector", selector];
        args.extend(["--algorithm", "ed25519", "--out", out]);
        if force {
            args.push("--force");
        }
        run(HANKO, &args, b"")
    };
    // A link planted at either name, or a file already there: refused, nothing written.
    for (selector, planted) in [("a", "a.txt"), ("b", "b.private")] {
        std::os::unix::fs::symlink(&victim, dir.path().join(planted)).unwrap();
        let refused = keygen(selector, false);
        assert_eq!(refused.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains("exists") && stderr.contains("--force"),
            "{stderr}"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        for name in [format!("{selector}.private"), format!("{selector}.txt")] {
            let path = dir.path().join(&name);
            if name != planted {
                assert!(
                    std::fs::symlink_metadata(&path).is_err(),
                    "{name} was written"
                );
            }
        }
        // --force replaces the link itself, never what it points to.
        let forced = keygen(selector, true);
        assert!(
            forced.status.success(),
            "{}",
            String::from_utf8_lossy(&forced.stderr)
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        let meta = std::fs::symlink_metadata(dir.path().join(planted)).unwrap();
        assert!(meta.file_type().is_file());
    }
    // An existing pair from an earlier run: refused again.
    assert_eq!(keygen("a", false).status.code(), Some(2));
}

#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    // The reader goes away before anything is written ("hanko ... | head -0").
    for args in [
        vec!["analyze", "--offline", "--json"],
        vec!["keygen", "--from-key"],
    ] {
        let mut args: Vec<String> = args.into_iter().map(String::from).collect();
        let input = if args[0] == "keygen" {
            args.push(
                examples()
                    .join("ed2026.private")
                    .to_string_lossy()
                    .into_owned(),
            );
            Vec::new()
        } else {
            std::fs::read(examples().join("analyze/gmail.eml")).unwrap()
        };
        let mut child = Command::new(HANKO)
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(&input);
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
