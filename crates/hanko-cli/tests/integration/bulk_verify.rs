//! `hanko verify` over many messages: a Maildir (new/ and cur/, its tmp/ and index files left
//! alone, a Maildir++ sub-folder), an mbox with `>From ` quoting, plain files and paths that
//! cannot be read; one line or one JSON object per message, in input order whatever the
//! concurrency, a summary, and the exit status.

use std::path::{Path, PathBuf};

use hanko::dkim::{sign_message, SigningRequest};
use hanko::keys::SigningKey;

use crate::common;
use common::{run, HANKO};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// The time the examples' keys signed at, plus a little.
const NOW: &str = "1795392100";

/// A message from example.com, signed with the example Ed25519 key (LF line ends, as files
/// on disk have them). `body` varies the message.
fn signed(body: &str) -> Vec<u8> {
    let key =
        SigningKey::from_pem(&std::fs::read(examples().join("ed2026.private")).unwrap()).unwrap();
    let message = format!(
        "From: Hanako <hanako@example.com>\r\nTo: taro@example.org\r\nSubject: bulk\r\nDate: Mon, 23 Nov 2026 09:00:00 +0900\r\n\r\n{}",
        body.replace('\n', "\r\n")
    );
    let request = SigningRequest::new(&key, "example.com", "ed2026").unwrap();
    let signed = sign_message(message.as_bytes(), vec![request], 1_795_392_000).unwrap();
    String::from_utf8(signed)
        .unwrap()
        .replace("\r\n", "\n")
        .into_bytes()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn path(&self, relative: &str) -> String {
        self.dir.path().join(relative).display().to_string()
    }
}

/// A Maildir, an mbox and a loose message, with one tampered message among them.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let maildir = root.join("Maildir");
    write(&maildir.join("new/1795392001.M1P1.host"), &signed("one\n"));
    write(
        &maildir.join("cur/1795392002.M2P1.host:2,S"),
        &signed("two\n"),
    );
    let mut tampered = signed("three\n");
    tampered.extend_from_slice(b"added after signing\n");
    write(&maildir.join("cur/1795392003.M3P1.host:2,RS"), &tampered);
    // Not messages, or not yet: never read.
    write(&maildir.join("tmp/1795392004.M4P1.host"), b"half written");
    write(&maildir.join("dovecot-uidlist"), b"3 V1 N4\n");
    // A Maildir++ sub-folder.
    write(
        &maildir.join(".Sent/cur/1795392005.M5P1.host:2,S"),
        &signed("sent\n"),
    );
    // An mbox: the second message's body has a line starting with "From ", quoted as
    // ">From " when it was stored; its signature covers the unquoted line.
    let mut mbox = b"From hanako@example.com Mon Nov 23 00:00:00 2026\n".to_vec();
    mbox.extend_from_slice(&signed("first in the mbox\n"));
    mbox.extend_from_slice(b"\nFrom hanako@example.com Mon Nov 23 00:00:01 2026\n");
    let quoted = String::from_utf8(signed("Hello,\n\nFrom now on, write to me here.\n"))
        .unwrap()
        .replace("\nFrom now on", "\n>From now on");
    mbox.extend_from_slice(quoted.as_bytes());
    mbox.extend_from_slice(b"\n");
    write(&root.join("archive.mbox"), &mbox);
    write(&root.join("loose.eml"), &signed("loose\n"));
    Fixture { dir }
}

fn zone() -> String {
    examples().join("example.com.zone").display().to_string()
}

fn verify(extra: &[&str], paths: &[String]) -> (i32, String, String) {
    let zone = zone();
    let mut args = vec!["verify", "--zone", &zone, "--time", NOW, "--no-adsp"];
    args.extend_from_slice(extra);
    args.extend(paths.iter().map(String::as_str));
    let out = run(HANKO, &args, b"");
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_maildir_an_mbox_and_files_one_line_each_in_order() {
    let f = fixture();
    let paths = vec![
        f.path("Maildir"),
        f.path("archive.mbox"),
        f.path("loose.eml"),
        f.path("missing.eml"),
    ];
    let (code, stdout, stderr) = verify(&[], &paths);
    assert_eq!(code, 1, "a failed and a missing message: {stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let expected = [
        ("pass", f.path("Maildir/new/1795392001.M1P1.host")),
        ("pass", f.path("Maildir/cur/1795392002.M2P1.host:2,S")),
        ("fail", f.path("Maildir/cur/1795392003.M3P1.host:2,RS")),
        ("pass", f.path("Maildir/.Sent/cur/1795392005.M5P1.host:2,S")),
        ("pass", format!("{}#1", f.path("archive.mbox"))),
        ("pass", format!("{}#2", f.path("archive.mbox"))),
        ("pass", f.path("loose.eml")),
        ("error", f.path("missing.eml")),
    ];
    assert_eq!(lines.len(), expected.len() + 1, "{stdout}");
    for (line, (status, name)) in lines.iter().zip(&expected) {
        let mut words = line.split_whitespace();
        assert_eq!(words.next(), Some(*status), "{line}");
        assert_eq!(words.next(), Some(name.as_str()), "{line}");
    }
    assert!(
        lines[0].ends_with("dmarc=pass (example.com) dkim=pass (example.com)"),
        "{}",
        lines[0]
    );
    assert!(
        lines[2].contains("dmarc=fail (example.com) dkim=fail (example.com: body hash"),
        "{}",
        lines[2]
    );
    assert!(lines[7].contains("cannot open"), "{}", lines[7]);
    let summary = lines[8];
    assert!(summary.starts_with("8 messages in "), "{summary}");
    assert!(
        summary.ends_with("per second): 6 pass, 1 fail, 1 error"),
        "{summary}"
    );
    assert!(!stdout.contains("half written") && !stdout.contains("dovecot"));

    // One at a time or many at once: the same lines in the same order.
    let (_, sequential, _) = verify(&["--jobs", "1"], &paths);
    let (_, wide, _) = verify(&["--jobs", "100"], &paths);
    let body = |s: &str| s.lines().take(8).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&sequential), body(&stdout));
    assert_eq!(body(&wide), body(&stdout));
}

#[test]
fn json_lines_with_the_summary_on_standard_error() {
    let f = fixture();
    let (code, stdout, stderr) = verify(&["--json"], &[f.path("Maildir")]);
    assert_eq!(code, 1);
    let objects: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(objects.len(), 4);
    let statuses: Vec<&str> = objects
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["pass", "pass", "fail", "pass"]);
    assert!(objects[0]["source"]
        .as_str()
        .unwrap()
        .ends_with("new/1795392001.M1P1.host"));
    // The same document as single-message --json, plus source and status.
    assert_eq!(objects[0]["dmarc"]["result"], "pass");
    assert!(objects[2]["dkim"][0]["reason"].is_string());
    assert!(
        stderr.contains("4 messages in ") && stderr.contains("3 pass, 1 fail"),
        "{stderr}"
    );
    // The progress bar stays off when standard error is not a terminal.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn every_message_passing_exits_0_and_single_inputs_keep_the_single_report() {
    let f = fixture();
    let (code, stdout, _) = verify(&[], &[f.path("archive.mbox"), f.path("loose.eml")]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.ends_with("per second): 3 pass\n"), "{stdout}");
    // One mbox alone is bulk mode too.
    let (code, stdout, _) = verify(&[], &[f.path("archive.mbox")]);
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    // One plain file: the Authentication-Results field and the summary, as before.
    let (code, stdout, _) = verify(&[], &[f.path("loose.eml")]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("Authentication-Results: hanko;"),
        "{stdout}"
    );
}

#[test]
fn one_connection_flags_are_refused_with_many_messages() {
    let f = fixture();
    let (code, _, stderr) = verify(
        &[
            "--ip",
            "192.0.2.1",
            "--helo",
            "x",
            "--mail-from",
            "a@example.com",
        ],
        &[f.path("Maildir")],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("use --trust-received"), "{stderr}");
    // An empty directory: nothing verified, which is not a success.
    let empty = tempfile::tempdir().unwrap();
    let (code, stdout, _) = verify(&[], &[empty.path().display().to_string()]);
    assert_eq!(code, 1);
    assert!(stdout.contains("0 messages in"), "{stdout}");
}
