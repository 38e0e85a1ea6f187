//! The `hanko` binary end to end: keygen, sign, verify, testkey, over zone files and over a
//! real DNS server on loopback.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use hanko::authres::{AuthenticationResults, ParseOptions};
use hanko_dns::server::{Fault, ServerConfig, TestServer};
use hanko_dns::Zone;

use crate::common;
use common::{results, run, HANKO};

fn hanko(args: &[&str], stdin: Option<&[u8]>) -> Output {
    run(HANKO, args, stdin.unwrap_or_default())
}

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

struct Keys {
    dir: tempfile::TempDir,
    zone: PathBuf,
}

/// Generates an Ed25519 and an RSA key with `hanko keygen` and joins their zone snippets.
fn keygen() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    for (selector, algorithm) in [("ed", "ed25519"), ("rsa", "rsa")] {
        let out = hanko(
            &[
                "keygen",
                "--domain",
                "example.com",
                "--selector",
                selector,
                "--algorithm",
                algorithm,
                "--out",
                s(dir.path()),
            ],
            None,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            stdout.contains(&format!("{selector}._domainkey.example.com.")),
            "{stdout}"
        );
        assert!(stdout.contains("v=DKIM1; k="), "{stdout}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("rsa.private"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "private keys are written 0600");
    }
    let mut zone = String::new();
    for selector in ["ed", "rsa"] {
        zone.push_str(
            &std::fs::read_to_string(dir.path().join(format!("{selector}.txt"))).unwrap(),
        );
    }
    let zone_path = dir.path().join("all.zone");
    std::fs::write(&zone_path, zone).unwrap();
    Keys {
        dir,
        zone: zone_path,
    }
}

const MESSAGE: &[u8] =
    b"From: Joe <joe@example.com>\nTo: x@example.org\nSubject: test\n\nBody line.\n";

fn sign(keys: &Keys, extra: &[&str]) -> Vec<u8> {
    let ed = keys.dir.path().join("ed.private");
    let rsa = keys.dir.path().join("rsa.private");
    let mut args = vec![
        "sign",
        "--key",
        s(&ed),
        "--selector",
        "ed",
        "--key",
        s(&rsa),
        "--selector",
        "rsa",
        "--domain",
        "example.com",
    ];
    args.extend_from_slice(extra);
    let out = hanko(&args, Some(MESSAGE));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `hanko sign` of `message` with the Ed25519 key alone.
fn sign_ed(keys: &Keys, message: &[u8]) -> Output {
    let ed = keys.dir.path().join("ed.private");
    hanko(
        &[
            "sign",
            "--key",
            s(&ed),
            "--selector",
            "ed",
            "--domain",
            "example.com",
        ],
        Some(message),
    )
}

fn verify_json(args: &[&str], message: &[u8]) -> (i32, serde_json::Value) {
    let mut all = args.to_vec();
    all.extend(["verify", "--json"]);
    let out = hanko(&all, Some(message));
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), json)
}

#[test]
fn dual_signed_message_verifies_offline_and_tampering_fails() {
    let keys = keygen();
    let signed = sign(&keys, &[]);
    assert!(signed.starts_with(b"DKIM-Signature: v=1; a=ed25519-sha256;"));
    assert!(!signed.contains(&b'\r'), "LF input gets LF output");
    let zone = ["--zone", s(&keys.zone)];
    let (code, json) = verify_json(&zone, &signed);
    assert_eq!(
        (code, results(&json)),
        (0, vec!["pass".to_string(), "pass".to_string()])
    );
    assert_eq!(json["dkim"][1]["key"]["bits"], 2048);

    let body = String::from_utf8(signed.clone())
        .unwrap()
        .replace("Body line.", "Body line!");
    let (code, json) = verify_json(&zone, body.as_bytes());
    assert_eq!(code, 1);
    assert_eq!(results(&json), ["fail", "fail"]);
    assert!(json["dkim"][0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("body hash mismatch"));

    let header = String::from_utf8(signed)
        .unwrap()
        .replace("Subject: test", "Subject: tent");
    let (_, json) = verify_json(&zone, header.as_bytes());
    assert!(json["dkim"][1]["reason"]
        .as_str()
        .unwrap()
        .starts_with("signature mismatch"));
}

#[test]
fn text_output_is_an_authentication_results_header() {
    let keys = keygen();
    let signed = sign(
        &keys,
        &["--identity", "joe@example.com", "--expire", "3600"],
    );
    let out = hanko(
        &[
            "--zone",
            s(&keys.zone),
            "verify",
            "--authserv-id",
            "mx.example.net",
        ],
        Some(&signed),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("Authentication-Results: mx.example.net;\n\tdkim=pass header.d=example.com header.i=joe@example.com header.s=ed\n\t header.a=ed25519-sha256 header.b="), "{text}");
    // The header is RFC 8601 to the letter: a strict parse reads both signatures back.
    let header: String = text
        .lines()
        .enumerate()
        .take_while(|(i, line)| *i == 0 || line.starts_with('\t'))
        .map(|(_, line)| format!("{line}\r\n"))
        .collect();
    let field = AuthenticationResults::parse(&header, ParseOptions::strict()).unwrap();
    assert_eq!(field.authserv_id, "mx.example.net");
    let domains: Vec<_> = field
        .results
        .iter()
        .filter(|r| r.method == "dkim")
        .map(|r| (r.result.as_str(), r.property("header.s")))
        .collect();
    assert_eq!(domains, [("pass", Some("ed")), ("pass", Some("rsa"))]);
    // No DMARC record in this zone: dmarc=none; ADSP passes on the Author Domain Signature.
    assert_eq!(field.find("dmarc").unwrap().result, "none");
    assert_eq!(field.find("dkim-adsp").unwrap().result, "pass");
    assert_eq!(out.status.code(), Some(0));
    // Expired one hour after signing.
    let later = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 7200)
        .to_string();
    let (code, json) = verify_json(&["--zone", s(&keys.zone)], &signed);
    assert_eq!(code, 0, "{json}");
    let out = hanko(
        &[
            "--zone",
            s(&keys.zone),
            "verify",
            "--json",
            "--time",
            &later,
        ],
        Some(&signed),
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results(&json), ["permerror", "permerror"]);
    assert!(json["dkim"][0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("signature expired"));
}

#[test]
fn unsigned_message_exits_1_and_bad_input_exits_2() {
    let (code, json) = verify_json(
        &["--zone", s(&examples().join("example.com.zone"))],
        MESSAGE,
    );
    assert_eq!(code, 1);
    assert!(json["dkim"].as_array().unwrap().is_empty());
    let out = hanko(
        &["verify"],
        Some(b"From: a\r\nthis is no header\r\n\r\nbody"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = hanko(&["verify", "/nonexistent/file.eml"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = hanko(
        &[
            "keygen",
            "--domain",
            "example.com",
            "--selector",
            "s",
            "--bits",
            "1024",
            "--out",
            "/tmp",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 8301"));
    let out = hanko(&["sign", "--key", "x", "--domain", "example.com"], None);
    assert_eq!(out.status.code(), Some(2), "clap usage errors exit 2");
}

#[test]
fn shipped_examples_give_their_documented_results() {
    let zone = examples().join("example.com.zone");
    let cases = [
        ("signed-dual.eml", vec!["pass", "pass"]),
        ("signed-cname-selector.eml", vec!["pass"]),
        ("tampered-body.eml", vec!["fail", "fail"]),
        ("tampered-subject.eml", vec!["fail", "fail"]),
    ];
    for (file, expected) in cases {
        let message = std::fs::read(examples().join(file)).unwrap();
        let (_, json) = verify_json(&["--zone", s(&zone)], &message);
        assert_eq!(results(&json), expected, "{file}");
    }
}

#[test]
fn testkey_matches_and_mismatches() {
    let keys = keygen();
    let testkey = |selector: &str, key: &str| {
        let path = keys.dir.path().join(key);
        hanko(
            &[
                "--zone",
                s(&keys.zone),
                "dkim",
                "testkey",
                "--domain",
                "example.com",
                "--selector",
                selector,
                "--key",
                s(&path),
            ],
            None,
        )
    };
    let ok = testkey("rsa", "rsa.private");
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert_eq!(testkey("ed", "rsa.private").status.code(), Some(1));
    let missing = testkey("nope", "ed.private");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stdout).contains("NXDOMAIN"));
    let ed = keys.dir.path().join("ed.private");
    let from_key = hanko(&["keygen", "--from-key", s(&ed)], None);
    assert!(String::from_utf8_lossy(&from_key.stdout).starts_with("v=DKIM1; k=ed25519; p="));
}

/// The network path: the same verification through hickory-resolver against a DNS server
/// on loopback, and a server that never answers giving temperror within the timeout.
#[test]
fn verify_over_a_real_dns_server_on_loopback() {
    let keys = keygen();
    let signed = sign(&keys, &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let zone = Zone::from_file(&keys.zone).unwrap();
    let server = runtime
        .block_on(TestServer::start(ServerConfig::new(zone.clone())))
        .unwrap();
    let addr = server.addr().to_string();
    let (code, json) = verify_json(&["--nameserver", &addr, "--dns-timeout", "2"], &signed);
    assert_eq!(
        (code, results(&json)),
        (0, vec!["pass".to_string(), "pass".to_string()])
    );
    assert!(server.queries() >= 2);

    let silent = runtime
        .block_on(TestServer::start(ServerConfig {
            default_fault: Some(Fault::NoAnswer),
            ..ServerConfig::new(zone)
        }))
        .unwrap();
    let started = std::time::Instant::now();
    let (code, json) = verify_json(
        &[
            "--nameserver",
            &silent.addr().to_string(),
            "--dns-timeout",
            "1",
        ],
        &signed,
    );
    assert_eq!(code, 1);
    assert_eq!(results(&json), ["temperror", "temperror"]);
    assert!(
        json["dkim"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("timeout"),
        "{json}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

/// `hanko dns serve` answers for the example zone, and a CNAME-delegated selector is reported
/// with the chain it went through, offline and over the network alike.
#[test]
fn dns_serve_and_the_cname_chain() {
    let zone = examples().join("example.com.zone");
    let message = std::fs::read(examples().join("signed-cname-selector.eml")).unwrap();
    let (code, offline) = verify_json(&["--zone", zone.to_str().unwrap()], &message);
    assert_eq!(code, 0, "{offline}");
    assert_eq!(
        offline["dkim"][0]["key"]["cname_chain"],
        serde_json::json!(["rsa2026._domainkey.example.com"])
    );

    // A free port: bind, note it, release it for the server.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut server = std::process::Command::new(HANKO)
        .args([
            "--zone",
            zone.to_str().unwrap(),
            "dns",
            "serve",
            "--listen",
            &listen,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), format!("serving on {listen}"));
    let (code, online) = verify_json(&["--nameserver", &listen, "--dns-timeout", "2"], &message);
    server.kill().unwrap();
    let _ = server.wait();
    assert_eq!(code, 0, "{online}");
    assert_eq!(online["dkim"][0]["key"], offline["dkim"][0]["key"]);

    // Without a zone there is nothing to serve.
    let out = run(HANKO, &["dns", "serve"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--zone"));
}

/// `hanko spf` on the example zone: the text form (Received-SPF, Authentication-Results, the
/// trace), JSON with a null explanation on pass, and exit status 2 for usage errors.
#[test]
fn spf_text_json_and_usage_errors() {
    let zone = examples().join("example.com.zone");
    let zone = zone.to_str().unwrap();
    let base = [
        "--zone",
        zone,
        "spf",
        "--mail-from",
        "hanako@example.com",
        "--helo",
        "mail.example.org",
    ];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        run(HANKO, &args, b"")
    };
    let out = with(&["--ip", "2001:db8:5f::7", "--trace"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("Received-SPF: pass (hanko: "), "{text}");
    assert!(
        text.contains("mechanism=\"include:_spf.provider.example.net\""),
        "{text}"
    );
    assert!(
        text.contains(
            "Authentication-Results: hanko;\n\tspf=pass smtp.mailfrom=hanako@example.com\n"
        ),
        "{text}"
    );
    // The include's record is indented one level below the domain's own.
    assert!(
        text.contains("\n    record _spf.provider.example.net: v=spf1 ip6:2001:db8:5f::/48 ~all\n"),
        "{text}"
    );

    let out = with(&["--ip", "198.51.100.25", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["result"], "pass");
    assert_eq!(json["explanation"], serde_json::Value::Null);
    assert_eq!(json["mechanism"], "mx");

    // A fail still ran: exit 0, with the explanation.
    let out = with(&["--ip", "203.0.113.9", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["result"], "fail");
    assert_eq!(
        json["explanation"],
        "203.0.113.9 is not allowed to send mail for example.com"
    );

    for bad in [&["--ip", "not-an-ip"][..], &[][..]] {
        let out = with(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}

/// `hanko verify` as the whole receiver on the shipped zone (which publishes DMARC p=reject):
/// SPF for the connection, DKIM, DMARC, ADSP in one Authentication-Results field and in JSON.
#[test]
fn verify_is_the_whole_receiver() {
    let zone = examples().join("example.com.zone");
    let receiver = |message: &str, extra: &[&str]| {
        let path = examples().join(message);
        let mut args = vec![
            "--zone",
            s(&zone),
            "verify",
            "--authserv-id",
            "mx.example.net",
        ];
        args.extend_from_slice(extra);
        args.push(s(&path));
        hanko(&args, None)
    };
    let connection = [
        "--ip",
        "203.0.113.9",
        "--helo",
        "mail.example.org",
        "--mail-from",
        "hanako@example.com",
    ];
    // Signed, sent from a stranger's address: SPF fails, DKIM aligns, DMARC passes.
    let out = receiver("signed-dual.eml", &connection);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let header: String = text
        .lines()
        .take_while(|l| l.starts_with("Authentication-Results") || l.starts_with('\t'))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let field = AuthenticationResults::parse(&header, ParseOptions::strict()).unwrap();
    let words: Vec<_> = field
        .results
        .iter()
        .map(|r| format!("{}={}", r.method, r.result))
        .collect();
    assert_eq!(
        words,
        [
            "spf=fail",
            "dkim=pass",
            "dkim=pass",
            "arc=none",
            "dmarc=pass",
            "dkim-adsp=pass"
        ]
    );
    assert_eq!(
        field.find("dmarc").unwrap().property("policy.dmarc"),
        Some("reject")
    );

    // Unsigned, from the same stranger: DMARC fails and the owner asks for rejection.
    let mut json_args = connection.to_vec();
    json_args.push("--json");
    let out = receiver("message.eml", &json_args);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["spf"]["result"], "fail");
    assert_eq!(json["dmarc"]["result"], "fail");
    assert_eq!(json["dmarc"]["policy"], "reject");
    assert_eq!(json["dmarc"]["disposition"], "reject");
    assert_eq!(json["dmarc"]["domain"], "example.com");
    assert_eq!(json["adsp"]["result"], "none");
    let destination = &json["dmarc"]["authors"][0]["report_destinations"][0];
    assert_eq!(destination["uri"], "mailto:dmarc-reports@example.com");
    assert_eq!(destination["status"], "same-organization");
    let written = json["authentication_results"].as_str().unwrap();
    assert!(written.contains("dmarc=fail"), "{written}");

    // From the domain's MX: SPF passes and aligns, so DMARC passes without a signature.
    let mut from_mx = connection;
    from_mx[1] = "198.51.100.25";
    let out = receiver("message.eml", &[&from_mx[..], &["--json"]].concat());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["dmarc"]["result"], "pass", "{json}");
    assert_eq!(json["dmarc"]["aligned"][0], "example.com");
    assert_eq!(out.status.code(), Some(0));

    // --ip without --helo and --mail-from is a usage error.
    let out = receiver("message.eml", &["--ip", "192.0.2.1"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn verify_checks_that_external_report_destinations_agreed() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("zone");
    std::fs::write(
        &zone,
        "$ORIGIN example.\n\
         _dmarc.corp IN TXT \"v=DMARC1; p=none; rua=mailto:a@reports.example,mailto:v@victim.example\"\n\
         corp.example._report._dmarc.reports IN TXT \"v=DMARC1\"\n",
    )
    .unwrap();
    let out = hanko(
        &["--zone", s(&zone), "verify", "--json"],
        Some(b"From: a@corp.example\r\n\r\nbody\r\n"),
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = &json["dmarc"]["authors"][0]["report_destinations"];
    assert_eq!(list[0]["status"], "authorized", "{list}");
    assert_eq!(
        list[0]["checked_name"],
        "corp.example._report._dmarc.reports.example"
    );
    assert_eq!(list[1]["status"], "not-authorized", "{list}");
    assert_eq!(list[1]["allowed"], false);
    // The summary names the destination that did not agree, and only that one.
    let out = hanko(
        &["--zone", s(&zone), "verify"],
        Some(b"From: a@corp.example\r\n\r\nbody\r\n"),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("rua mailto:v@victim.example (for corp.example): not authorized"),
        "{text}"
    );
    assert!(!text.contains("reports.example ("), "{text}");
}

#[test]
fn verify_trusts_received_only_when_asked() {
    let zone = examples().join("example.com.zone");
    let message = b"Return-Path: <hanako@example.com>\r\n\
Received: from mx.example.net (mx.example.net [10.0.0.5]) by imap.example.net with LMTP id 9; Mon, 23 Nov 2026 10:00:02 +0000\r\n\
Received: from mail.example.com (mail.example.com [198.51.100.25]) by mx.example.net (Postfix) with ESMTPS id 4A; Mon, 23 Nov 2026 10:00:01 +0000\r\n\
From: Hanako <hanako@example.com>\r\nSubject: hi\r\n\r\nbody\r\n";
    let verify = |extra: &[&str]| {
        let mut args = vec!["--zone", s(&zone), "verify", "--json"];
        args.extend_from_slice(extra);
        let out = hanko(&args, Some(message));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        (
            out.status.code(),
            json,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Without the flag the trace fields are not believed: no SPF, so DMARC fails.
    let (code, json, _) = verify(&[]);
    assert_eq!(code, Some(1));
    assert!(json["spf"].is_null());
    // The topmost hop is the internal LMTP delivery from 10.0.0.5: not in example.com's SPF.
    let (_, json, _) = verify(&["--trust-received"]);
    assert_eq!(json["spf"]["ip"], "10.0.0.5");
    assert_eq!(json["spf"]["received_field"], 1);
    assert_ne!(json["spf"]["result"], "pass");
    // The second hop is the MX's: SPF passes for the Return-Path domain and DMARC aligns.
    let (code, json, _) = verify(&["--trust-received=2"]);
    assert_eq!(json["spf"]["ip"], "198.51.100.25", "{json}");
    assert_eq!(json["spf"]["helo"], "mail.example.com");
    assert_eq!(json["spf"]["sender"], "hanako@example.com");
    assert_eq!(json["spf"]["received_field"], 2);
    assert_eq!(json["spf"]["result"], "pass");
    assert_eq!(json["dmarc"]["result"], "pass");
    assert_eq!(code, Some(0));
    // A flag overrides one fact.
    let (_, json, _) = verify(&["--trust-received=2", "--ip", "203.0.113.9"]);
    assert_eq!(json["spf"]["ip"], "203.0.113.9");
    assert_eq!(json["spf"]["helo"], "mail.example.com");
    // Asking for a hop that is not there is a usage error that says why.
    let (code, _, err) = verify(&["--trust-received=3"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("only 2 Received field(s)"), "{err}");
}

#[test]
fn an_mbox_from_line_stays_on_top_when_signing() {
    // Found by fuzzing: signatures were written above the `From ` separator, which then was
    // no longer the first line and made the output unreadable.
    let keys = keygen();
    let mut message = b"From joe@example.com Mon Nov 23 10:00:00 2026\n".to_vec();
    message.extend_from_slice(MESSAGE);
    let out = sign_ed(&keys, &message);
    assert!(out.status.success());
    assert!(out
        .stdout
        .starts_with(b"From joe@example.com Mon Nov 23 10:00:00 2026\nDKIM-Signature: "));
    let (code, json) = verify_json(&["--zone", s(&keys.zone)], &out.stdout);
    assert_eq!((code, results(&json)), (0, vec!["pass".to_string()]));
}

#[test]
fn help_tells_the_truth_of_the_readme() {
    // The README's exit-status table and `hanko --help` say the same thing, row for row, as
    // `docs/limits.md` and its test do for the limits.
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let table = readme
        .split("### Exit status")
        .nth(1)
        .expect("README has an exit-status section");
    let rows: Vec<(String, String)> = table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let status = cells.first()?;
            status
                .parse::<u8>()
                .ok()
                .map(|_| (status.to_string(), cells[1..].join("|")))
        })
        .collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    let squeeze = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let help = hanko(&["--help"], None);
    let help = squeeze(&String::from_utf8(help.stdout).unwrap());
    for (status, meaning) in &rows {
        let line = squeeze(&format!("{status} {meaning}"));
        assert!(
            help.contains(&line),
            "`hanko --help` lacks {line:?}:\n{help}"
        );
    }
    // The first line says what hanko is, and verify says it is the receiver's whole check.
    assert!(
        help.starts_with("hanko (判子) proves and checks who sent an e-mail"),
        "{help}"
    );
    let verify = squeeze(&String::from_utf8(hanko(&["verify", "--help"], None).stdout).unwrap());
    for method in ["SPF", "DKIM", "DMARC", "ADSP", "Authentication-Results"] {
        assert!(verify.contains(method), "verify --help: {verify}");
    }
}

#[test]
fn a_bare_cr_in_the_body_is_signed_and_written_as_a_line_end() {
    // RFC 6376 §5.3: a signer converts bare CR to CRLF. What is written is what was signed,
    // so an MTA that makes the same conversion on the way keeps the signature valid.
    let keys = keygen();
    for (message, line_end) in [
        (
            &b"From: joe@example.com\r\nSubject: cr\r\n\r\nline one\rline two\r\n\rend\r"[..],
            &b"\r\n"[..],
        ),
        (
            b"From: joe@example.com\nSubject: cr\n\nline one\rline two\n\r\rend\r",
            b"\n",
        ),
    ] {
        let out = sign_ed(&keys, message);
        assert!(out.status.success());
        let signed = out.stdout;
        let find = |needle: &[u8]| signed.windows(needle.len()).position(|w| w == needle);
        let body_at = find(&line_end.repeat(2)).unwrap();
        let body = &signed[body_at..];
        for (i, &b) in body.iter().enumerate() {
            if b == b'\r' {
                assert_eq!(body.get(i + 1), Some(&b'\n'), "a bare CR was written");
            }
        }
        assert!(body.ends_with(line_end));
        let (code, json) = verify_json(&["--zone", s(&keys.zone)], &signed);
        assert_eq!((code, results(&json)), (0, vec!["pass".to_string()]));
        // An MTA's own conversion of the original's bare CRs changes nothing signed.
        let mta_converted: Vec<u8> = String::from_utf8(message.to_vec())
            .unwrap()
            .replace("\r\n", "\n")
            .replace('\r', "\n")
            .replace('\n', "\r\n")
            .into_bytes();
        let fields_end = find(b"From: joe").unwrap();
        let mut relayed = signed[..fields_end].to_vec();
        relayed.extend_from_slice(&mta_converted);
        let relayed = String::from_utf8(relayed).unwrap().replace("\r\n", "\n");
        let (code, json) = verify_json(&["--zone", s(&keys.zone)], relayed.as_bytes());
        assert_eq!((code, results(&json)), (0, vec!["pass".to_string()]));
    }
}

/// `hanko arc seal` twice, as two forwarders would, then `hanko verify`: the chain of two
/// sets validates; a set rewritten after sealing fails; a chain that says cv=fail gets no
/// set and comes back unchanged with status 1.
#[test]
fn arc_seal_makes_chains_that_verify_validates() {
    let keys = keygen();
    let rsa = keys.dir.path().join("rsa.private");
    let seal = |message: &[u8], authserv_id: &str| {
        hanko(
            &[
                "--zone",
                s(&keys.zone),
                "arc",
                "seal",
                "--key",
                s(&rsa),
                "--selector",
                "rsa",
                "--domain",
                "example.com",
                "--authserv-id",
                authserv_id,
            ],
            Some(message),
        )
    };
    let first = seal(&sign(&keys, &[]), "list.example.com");
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let text = String::from_utf8(first.stdout.clone()).unwrap();
    assert!(text.starts_with("ARC-Seal: "), "{text}");
    assert!(
        text.contains("\nARC-Authentication-Results: i=1; list.example.com;"),
        "{text}"
    );
    assert!(!text.contains('\r'), "LF in, LF out");
    let second = seal(&first.stdout, "relay.example.com");
    assert_eq!(second.status.code(), Some(0));

    let (_, json) = verify_json(&["--zone", s(&keys.zone)], &second.stdout);
    let arc = &json["arc"];
    assert_eq!(arc["result"], "pass", "{arc}");
    assert_eq!(arc["instances"], 2);
    assert_eq!(arc["oldest_pass"], 1);
    assert_eq!(arc["sets"][1]["seal"]["domain"], "example.com");
    assert_eq!(arc["sets"][1]["seal"]["result"], "pass");
    let aar = arc["sets"][0]["authentication_results"].as_str().unwrap();
    assert!(
        aar.starts_with("list.example.com;") && aar.contains("arc=none"),
        "{aar}"
    );
    let field = json["authentication_results"].as_str().unwrap();
    assert!(field.contains("arc=pass"), "{field}");

    // The first forwarder's results rewritten after it sealed: every seal covers them, and
    // the newest is checked first.
    let forged = String::from_utf8(second.stdout.clone()).unwrap().replacen(
        "i=1; list.example.com;",
        "i=1; list.example.com; spf=pass;",
        1,
    );
    let (_, json) = verify_json(&["--zone", s(&keys.zone)], forged.as_bytes());
    assert_eq!(json["arc"]["result"], "fail");
    assert!(
        json["arc"]["reason"]
            .as_str()
            .unwrap()
            .contains("ARC-Seal i=2"),
        "{}",
        json["arc"]
    );
    // Sealing that gives cv=fail; sealing after it adds nothing.
    let failed = seal(forged.as_bytes(), "third.example.com");
    assert_eq!(failed.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&failed.stdout).contains("cv=fail"));
    let after = seal(&failed.stdout, "fourth.example.com");
    assert_eq!(after.status.code(), Some(1));
    assert_eq!(after.stdout, failed.stdout, "written unchanged");
    assert!(String::from_utf8_lossy(&after.stderr).contains("cv=fail"));
}

/// `hanko verify --arc-trusted-sealer`: an unsigned message under p=reject that a list sealed
/// after recording DMARC passing; trusted, the failure is overridden (JSON `dmarc.override`);
/// not trusted, it is not.
#[test]
fn verify_overrides_dmarc_only_for_a_trusted_sealer() {
    let keys = keygen();
    let zone = keys.dir.path().join("with-policy.zone");
    let mut text = std::fs::read_to_string(&keys.zone).unwrap();
    text.push_str("_dmarc.example.com. 300 IN TXT \"v=DMARC1; p=reject\"\n");
    std::fs::write(&zone, text).unwrap();
    let rsa = keys.dir.path().join("rsa.private");
    let received = [
        b"Authentication-Results: list.example.com; dmarc=pass header.from=example.com\n"
            .as_slice(),
        MESSAGE,
    ]
    .concat();
    let sealed = hanko(
        &[
            "--zone",
            s(&zone),
            "arc",
            "seal",
            "--from-results",
            "--authserv-id",
            "list.example.com",
            "--key",
            s(&rsa),
            "--selector",
            "rsa",
            "--domain",
            "example.com",
        ],
        Some(&received),
    );
    assert_eq!(
        sealed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&sealed.stderr)
    );
    let (_, plain) = verify_json(&["--zone", s(&zone)], &sealed.stdout);
    assert_eq!(plain["dmarc"]["result"], "fail");
    assert!(plain["dmarc"]["override"].is_null());
    let mut trusted_args = vec!["--zone", s(&zone)];
    trusted_args.extend(["verify", "--json", "--arc-trusted-sealer", "example.com"]);
    let out = hanko(&trusted_args, Some(&sealed.stdout));
    let trusted: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(trusted["dmarc"]["result"], "fail");
    let overridden = &trusted["dmarc"]["override"];
    assert_eq!(overridden["reason"], "trusted_forwarder", "{trusted}");
    assert_eq!(overridden["sealer"], "example.com");
    assert_eq!(overridden["evidence"], "dmarc=pass header.from=example.com");
}

/// `hanko verify --record-db` records each DMARC evaluation; `hanko report aggregate` makes
/// the RFC 9990 report of each completed day once, which `hanko report parse` reads back
/// with the counts recorded.
#[test]
fn recorded_evaluations_become_an_aggregate_report_once() {
    let keys = keygen();
    let zone = keys.dir.path().join("with-policy.zone");
    let mut text = std::fs::read_to_string(&keys.zone).unwrap();
    text.push_str(
        "_dmarc.example.com. 300 IN TXT \"v=DMARC1; p=reject\"\n\
         example.com. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n",
    );
    std::fs::write(&zone, text).unwrap();
    let db = format!("sqlite:{}", keys.dir.path().join("r.sqlite").display());
    let day = 1_795_392_000u64; // 2026-11-23T00:00:00Z
    let signed = sign(&keys, &[]);
    let verify = |message: &[u8], ip: &str, hour: u64| {
        let time = (day + hour * 3600).to_string();
        hanko(
            &[
                "--zone",
                s(&zone),
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
            Some(message),
        )
    };
    // Two signed from the domain's network, one spoof; and one the next day.
    assert_eq!(verify(&signed, "192.0.2.10", 1).status.code(), Some(0));
    assert_eq!(verify(&signed, "192.0.2.10", 2).status.code(), Some(0));
    assert_eq!(verify(MESSAGE, "203.0.113.9", 3).status.code(), Some(1));
    assert_eq!(verify(&signed, "192.0.2.10", 30).status.code(), Some(0));

    let out_dir = keys.dir.path().join("reports");
    let aggregate = |until: &str| {
        hanko(
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
                until,
                "--out",
                s(&out_dir),
            ],
            None,
        )
    };
    // At the end of the first day only that day is due.
    let first = aggregate("2026-11-24");
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let printed = String::from_utf8(first.stdout).unwrap();
    assert!(printed.contains("2 records, 3 messages"), "{printed}");
    let files: Vec<PathBuf> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.starts_with(&format!(
            "mx.example.net!example.com!{day}!{}!",
            day + 86_399
        )),
        "{name}"
    );
    // hanko's own reader: the same counts.
    let parsed = hanko(&["report", "parse", "--json", s(&files[0])], None);
    let json: serde_json::Value = serde_json::from_slice(&parsed.stdout).unwrap();
    let records = json["records"].as_array().unwrap();
    let total: u64 = records.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 3);
    assert_eq!(json["policy_published"]["p"], "reject");
    // Again: nothing new for that day.
    let again = aggregate("2026-11-24");
    assert!(String::from_utf8_lossy(&again.stdout).contains("no period to report"));
    // A day later the second day is made.
    let next = aggregate("2026-11-25");
    assert!(String::from_utf8_lossy(&next.stdout).contains("1 records, 1 messages"));
}

/// `hanko report aggregate --send`: the report goes, DKIM-signed, to the destinations of the
/// domain's record that may receive it (its own address, and a third party that agreed
/// through `_report._dmarc`), not to one that did not agree; the message reads back as the
/// report through `hanko report parse`, and its signature passes `hanko verify`.
#[test]
fn aggregate_reports_are_sent_to_authorized_destinations_only() {
    use hanko_test_support::smtp_sink::Sink;
    let keys = keygen();
    let zone = keys.dir.path().join("with-policy.zone");
    let mut text = std::fs::read_to_string(&keys.zone).unwrap();
    text.push_str(
        "_dmarc.example.com. 300 IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@example.com,mailto:r@agreed.example,mailto:r@silent.example\"\n\
         example.com._report._dmarc.agreed.example. 300 IN TXT \"v=DMARC1\"\n\
         example.com. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n",
    );
    std::fs::write(&zone, text).unwrap();
    let db = format!("sqlite:{}", keys.dir.path().join("r.sqlite").display());
    let day = 1_795_392_000u64;
    let time = (day + 3600).to_string();
    let out = hanko(
        &[
            "--zone",
            s(&zone),
            "verify",
            "--record-db",
            &db,
            "--time",
            &time,
            "--ip",
            "203.0.113.9",
            "--helo",
            "mail.example.org",
            "--mail-from",
            "joe@example.com",
        ],
        Some(MESSAGE),
    );
    assert_eq!(out.status.code(), Some(1), "a spoof: DMARC fails");
    let sink = Sink::start();
    let smtp = sink.addr.to_string();
    let rsa = keys.dir.path().join("rsa.private");
    let out_dir = keys.dir.path().join("reports");
    let run = || {
        hanko(
            &[
                "--zone",
                s(&zone),
                "report",
                "aggregate",
                "--db",
                &db,
                "--org-name",
                "mx.example.net",
                "--org-email",
                "dmarc-reports@example.com",
                "--until",
                "2026-11-24",
                "--out",
                s(&out_dir),
                "--send",
                "--smtp",
                &smtp,
                "--dkim-key",
                s(&rsa),
                "--dkim-selector",
                "rsa",
            ],
            None,
        )
    };
    let first = run();
    let printed = String::from_utf8(first.stdout).unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{printed}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(printed.contains("sent to dmarc@example.com"), "{printed}");
    assert!(printed.contains("sent to r@agreed.example"), "{printed}");
    assert!(!printed.contains("silent.example"), "{printed}");
    let mail = sink
        .wait_for(2, std::time::Duration::from_secs(10))
        .unwrap();
    assert_eq!(mail.len(), 2);
    let message = &mail[0].data;
    let text = String::from_utf8_lossy(message).replace("\r\n ", " ");
    assert!(
        text.contains("Subject: Report Domain: example.com Submitter: example.com Report-ID: <"),
        "{text}"
    );
    assert!(text.contains("Auto-Submitted: auto-generated"));
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/gzip"),
        "{text}"
    );
    // The attachment is the report.
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("report.eml");
    std::fs::write(&saved, message).unwrap();
    let parsed = hanko(&["report", "parse", "--json", s(&saved)], None);
    let json: serde_json::Value = serde_json::from_slice(&parsed.stdout).unwrap();
    assert_eq!(json["policy_published"]["domain"], "example.com");
    // The report's own signature passes.
    let (_, verified) = verify_json(&["--zone", s(&zone)], message);
    assert!(
        verified["dkim"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["result"] == "pass"),
        "{verified}"
    );
    // Nothing more the second time.
    let second = run();
    assert!(String::from_utf8_lossy(&second.stdout).contains("no period to report"));
    assert_eq!(sink.count(), 2);
}
