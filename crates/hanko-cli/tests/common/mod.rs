//! Helpers shared by the CLI's integration tests.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// The conformance folder (`hanko_test_support::conformance_dir`, which says what to do when
/// it is missing).
pub fn conformance() -> std::path::PathBuf {
    hanko_test_support::conformance_dir()
}

/// The Python of the interop peers (`$HANKO_PYTHON`, else `python3`), after checking that it
/// can import `modules` (e.g. `"dkim, nacl"`); panics naming `packages` when it cannot, so
/// CI cannot pass without the peers.
pub fn interop_python(modules: &str, packages: &str) -> String {
    let python = std::env::var("HANKO_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{packages} not importable by {python}: run scripts/test.sh, which installs them \
         (or set HANKO_PYTHON)"
    );
    python
}

/// How `hanko keygen --from-key KEY --domain example.com --selector SELECTOR` publishes a key:
/// the zone-file snippet (everything but the last line) and the bare TXT value (the last line).
pub fn published_key(key: &std::path::Path, selector: &str) -> (String, String) {
    let out = run_ok(
        HANKO,
        &[
            "keygen",
            "--from-key",
            key.to_str().unwrap(),
            "--domain",
            "example.com",
            "--selector",
            selector,
        ],
        b"",
    );
    let text = String::from_utf8(out).unwrap();
    let value = text.lines().last().unwrap().to_string();
    let snippet = text[..text.len() - value.len() - 1].to_string();
    (snippet, value)
}

/// The `hanko` binary under test.
pub const HANKO: &str = env!("CARGO_BIN_EXE_hanko");

/// Runs `program` with `args`, feeding `stdin`, and collects its output.
pub fn run(program: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// The `result` word of each entry of `hanko verify --json`'s `dkim` array.
pub fn results(json: &serde_json::Value) -> Vec<String> {
    json["dkim"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].as_str().unwrap().to_string())
        .collect()
}

/// Runs a command that must succeed and returns its standard output.
pub fn run_ok(program: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let out = run(program, args, stdin);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The message the interop tests sign: two spaces in the subject and body so that relaxed and
/// simple canonicalization differ.
pub const MESSAGE: &[u8] = b"From: Joe <joe@example.com>\r\nTo: Ann <ann@example.org>\r\nSubject: interop  test\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nHello,  world.\r\n\r\nSecond paragraph.\r\n";

/// `message` with one body byte changed.
pub fn tamper_body(message: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(message)
        .replace("Second paragraph.", "Second paragraph!")
        .into_bytes()
}

/// `message` with one byte of the signed Subject changed.
pub fn tamper_header(message: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(message)
        .replace("Subject: interop  test", "Subject: interop  tesT")
        .into_bytes()
}
