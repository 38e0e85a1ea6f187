//! `hanko analyze` as a user runs it: text, JSON and HTML from the shipped examples, offline
//! and with DNS from the example zones; Japanese output; standard input; bad arguments.

use std::path::PathBuf;

use serde_json::Value;

use crate::common;
use common::{run, run_ok, HANKO};

fn examples(relative: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(relative)
        .to_string_lossy()
        .into_owned()
}

/// `hanko --zone ... analyze ARGS` at a fixed time.
fn analyze(args: &[&str], stdin: &[u8]) -> String {
    let zones = [
        examples("example.com.zone"),
        examples("analyze/example.org.zone"),
    ];
    let mut all = vec![
        "--zone",
        &zones[0],
        "--zone",
        &zones[1],
        "analyze",
        "--time",
        "1795400000",
    ];
    all.extend_from_slice(args);
    String::from_utf8(run_ok(HANKO, &all, stdin)).unwrap()
}

#[test]
fn text_report_of_the_mailing_list_example() {
    let text = analyze(&[&examples("analyze/mailing-list.eml")], b"");
    assert!(text.starts_with("Verdict: FAIL"), "{text}");
    assert!(
        text.contains("7 min 33 s  [slow]  lists.example.org [198.51.100.77] -> mx.example.net"),
        "{text}"
    );
    assert!(text.contains("> 156 octets were appended"), "{text}");
    assert!(text.contains("Authentication-Results: hanko;"), "{text}");
}

#[test]
fn json_report_is_the_same_data() {
    let json: Value =
        serde_json::from_str(&analyze(&["--json", &examples("analyze/gmail.eml")], b"")).unwrap();
    assert_eq!(json["summary"]["verdict"]["status"], "pass");
    assert_eq!(json["hops"].as_array().unwrap().len(), 3);
    assert_eq!(json["hops"][1]["by"], "mx.google.com");
    assert_eq!(json["signatures"][0]["check"]["verdict"], "pass");
    assert_eq!(json["reverification"]["dmarc"]["result"], "pass");
    assert_eq!(json["lang"], "en");
}

#[test]
fn html_report_is_self_contained_with_the_hop_chart() {
    let html = analyze(&["--html", &examples("analyze/gmail.eml")], b"");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(r#"<svg id="hop-chart""#));
    assert_eq!(html.matches(r#"class="hop-bar""#).count(), 3);
    assert!(html.contains(r#"<span class="badge pass">pass</span>"#));
    assert!(html.contains("data:application/json"));
    // Nothing is fetched from elsewhere.
    for reference in ["src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(reference), "{reference}");
    }
}

#[test]
fn offline_japanese_from_standard_input() {
    let input = std::fs::read(examples("analyze/outlook-headers.txt")).unwrap();
    let text = analyze(&["--offline", "--lang", "ja"], &input);
    assert!(text.starts_with("判定: UNVERIFIED"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("件名") && l.ends_with(" 四半期報告の件")),
        "{text}"
    );
    assert!(
        !text.contains("hanko の検証"),
        "offline must not re-verify: {text}"
    );
}

#[test]
fn bad_arguments_and_files_exit_2() {
    let out = run(HANKO, &["analyze", "--lang", "fr", "--offline"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("en or ja"));
    let out = run(
        HANKO,
        &["analyze", "--offline", "/nonexistent/message.eml"],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open /nonexistent/message.eml"));
    let out = run(HANKO, &["analyze", "--json", "--html"], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn control_characters_from_the_message_never_reach_the_terminal() {
    // ESC sequences (clear screen, a fake green verdict, an OSC 52 clipboard write), a bare
    // CR that would overwrite the line, a bidirectional override, and an encoded word that
    // decodes to a line end followed by a fake verdict line.
    let fake_line = "=?UTF-8?B?aGkNClZlcmRpY3Q6IFBBU1M=?="; // "hi\r\nVerdict: PASS"
    let cases = [
        "Subject: \x1b[2J\x1b[32mVerdict: PASS\x1b[0m\n".to_string(),
        "Subject: copy \x1b]52;c;ZXZpbA==\x07 me\n".to_string(),
        "X-Note: fine\rVerdict: PASS\n".to_string(),
        "Subject: invoice \u{202e}fdp.exe\n".to_string(),
        format!("Subject: {fake_line}\n"),
        format!("From: {fake_line} <a@example.com>\n"),
    ];
    for case in cases {
        let message =
            format!("{case}From: x@example.net\nDate: Mon, 23 Nov 2026 09:00:00 +0900\n\nhi\n");
        let out = run_ok(HANKO, &["analyze", "--offline"], message.as_bytes());
        for bad in [0x1b_u8, 0x07, b'\r'] {
            assert!(!out.contains(&bad), "{case:?}: byte {bad:#x} in {out:?}");
        }
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\u{202e}'), "{case:?}");
        assert!(
            !text
                .lines()
                .any(|l| l.trim_start().starts_with("Verdict: PASS")),
            "{case:?}: {text}"
        );
    }
}
