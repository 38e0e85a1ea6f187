//! Load through a real Postfix: 500 messages from the trusted network, sent by Postfix's own
//! load generator `smtp-source` over parallel sessions, pass through hanko-milter and reach
//! the sink, with the milter on TCP. None may be lost, every one must carry both signatures and verify, and Postfix's
//! queue must be empty at the end. The test prints the throughput and the milter's peak
//! memory (run with `--nocapture`, best with `--release`); it asserts no timing.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use hanko::dkim::{DkimVerdict, Verifier, VerifyConfig};
use hanko::message::{split_message, Headers};

mod common;
use common::{require_program, Transport, World};

const MESSAGES: usize = 500;
const SESSIONS: usize = 8;

#[test]
fn five_hundred_messages_through_postfix_all_arrive_signed() {
    require_program("smtp-source", "postfix");
    let world = World::start(Transport::Inet);
    let dir = tempfile::tempdir().unwrap();
    // A 4 KB message (smtp-source turns LF into CRLF and dot-stuffs).
    let mut message = String::from(
        "From: Hanako <hanako@example.com>\nTo: Ann <ann@example.net>\n\
         Subject: load\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <load@example.com>\n\n",
    );
    for i in 0..64 {
        message.push_str(&format!(
            "{i:02} the quick brown fox jumps over the lazy dog.\n"
        ));
    }
    let file = dir.path().join("message.eml");
    std::fs::write(&file, &message).unwrap();

    let started = Instant::now();
    let out = Command::new("smtp-source")
        .args(["-s", &SESSIONS.to_string(), "-m", &MESSAGES.to_string()])
        // A sequence number before each recipient, so every delivery can be told apart.
        .arg("-N")
        .args(["-M", "mail.example.com", "-f", "hanako@example.com"])
        .args(["-t", "ann@example.net", "-F"])
        .arg(&file)
        .arg(world.postfix.smtp.to_string())
        .output()
        .unwrap();
    let submitted = started.elapsed();
    assert!(
        out.status.success(),
        "smtp-source: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        world.logs()
    );
    let Some(delivered) = world.sink.wait_for(MESSAGES, Duration::from_secs(300)) else {
        panic!(
            "only {} of {MESSAGES} delivered\n{}",
            world.sink.count(),
            world.logs()
        )
    };
    let elapsed = started.elapsed();
    let peak_kib = world.milter.peak_rss_kib();

    // None lost, none twice.
    let recipients: BTreeSet<&String> = delivered.iter().flat_map(|d| &d.recipients).collect();
    assert_eq!(recipients.len(), MESSAGES);
    assert_eq!(delivered.len(), MESSAGES);
    assert!(
        world.postfix.queue().contains("Mail queue is empty"),
        "{}",
        world.postfix.queue()
    );

    // Every one signed twice, and both signatures verify.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for (n, message) in delivered.iter().enumerate() {
        let (head, body) = split_message(&message.data);
        let headers = Headers::parse(head, &Default::default()).unwrap();
        let mut verifier = Verifier::new(&headers, VerifyConfig::default());
        verifier.body(body);
        let outcome = runtime.block_on(verifier.finish(&world.zone, hanko_milter::now()));
        let verdicts: Vec<DkimVerdict> = outcome.results.iter().map(|r| r.verdict()).collect();
        assert_eq!(
            verdicts,
            [DkimVerdict::Pass, DkimVerdict::Pass],
            "message {n} to {:?}",
            message.recipients
        );
    }
    let signed_lines = world
        .milter
        .log()
        .lines()
        .filter(|l| l.contains("signed: "))
        .count();
    assert_eq!(signed_lines, MESSAGES, "one log line per message");

    eprintln!(
        "{MESSAGES} messages of {} bytes, {SESSIONS} sessions: submitted in {:.2} s, all \
         delivered in {:.2} s ({:.0} messages/s end to end); hanko-milter peak RSS {} KiB",
        message.len(),
        submitted.as_secs_f64(),
        elapsed.as_secs_f64(),
        MESSAGES as f64 / elapsed.as_secs_f64(),
        peak_kib
    );
}
