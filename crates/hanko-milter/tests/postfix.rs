//! hanko-milter inside a real Postfix (Debian's, a private instance on loopback; see
//! `common`): swaks submits, Postfix calls the `hanko-milter` binary through `smtpd_milters`,
//! and relays to an SMTP sink that keeps what arrives. DNS for the milter is hanko-dns's
//! loopback test server; dkimpy (PyPI, installed by scripts/test.sh) checks the signatures
//! independently.
//!
//! Postfix reaches the milter over a UNIX socket (mode 0666 through `socket_mode`, since
//! Postfix's smtpd runs as user postfix); the load test in `postfix_load.rs` uses TCP.
//!
//! One Postfix, one milter, in order:
//! - a trusted client (127.0.0.1) gets its mail signed with both keys, and dkimpy verifies
//!   both signatures of the delivered message;
//! - an untrusted client (127.0.0.2, allowed by the domain's SPF) sends that signed message
//!   back in with a forged Authentication-Results on top: the forgery is gone and hanko's
//!   field says spf=pass dkim=pass dkim=pass dmarc=pass; a forged result hidden behind a bare
//!   CR inside another field never reaches a reader as a field of its own; with a changed body, dkim=fail
//!   twice and DMARC still passes through SPF;
//! - a spoofed, unsigned message from 127.0.0.3 under `p=reject` is delivered with
//!   spf=fail dmarc=fail while enforcement is off; after `dmarc_reject = true` and a SIGHUP it
//!   is refused with the configured reply, and nothing more reaches the sink.

use hanko::authres::{AuthenticationResults, ParseOptions};
use hanko::message::{split_message, Headers};

mod common;
use common::{swaks, Transport, World, AUTHSERV_ID, REJECT_REPLY};

const MESSAGE: &str = "From: Hanako <hanako@example.com>\r\n\
To: Ann <ann@example.net>\r\n\
Subject: Postfix end to end\r\n\
Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <e2e-1@example.com>\r\n\
\r\n\
Hello Ann,\r\n\
.a line that starts with a dot, dot-stuffed on the wire\r\n\
\x20\x20and one that starts with spaces.\r\n\
\r\n\
Hanako\r\n";

/// The header fields of a delivered message with this name.
fn fields(message: &[u8], name: &str) -> Vec<String> {
    let (head, _) = split_message(message);
    let headers = Headers::parse(head, &Default::default()).unwrap();
    headers
        .named(name)
        .map(|f| String::from_utf8_lossy(f.raw()).into_owned())
        .collect()
}

/// hanko's Authentication-Results in a delivered message, as `method=result` words; panics
/// unless there is exactly one field with our authserv-id.
fn our_results(message: &[u8]) -> Vec<String> {
    let ours: Vec<AuthenticationResults> = fields(message, "Authentication-Results")
        .iter()
        .filter_map(|f| AuthenticationResults::parse(f, ParseOptions::strict()).ok())
        .filter(|ar| ar.authserv_id == AUTHSERV_ID)
        .collect();
    assert_eq!(ours.len(), 1, "{}", String::from_utf8_lossy(message));
    ours[0]
        .results
        .iter()
        .map(|r| format!("{}={}", r.method, r.result))
        .collect()
}

#[test]
fn postfix_signs_for_trusted_clients_verifies_the_rest_and_enforces_dmarc_on_request() {
    let mut world = World::start(Transport::Unix);

    // Submission from the trusted network: signed with both keys, dkimpy agrees.
    let signed = world.deliver("127.0.0.1", "hanako@example.com", MESSAGE.as_bytes());
    assert_eq!(fields(&signed.data, "DKIM-Signature").len(), 2);
    assert!(fields(&signed.data, "Authentication-Results").is_empty());
    assert!(
        String::from_utf8_lossy(&signed.data)
            .contains("\r\n.a line that starts with a dot, dot-stuffed on the wire\r\n  and one"),
        "body lines arrive unchanged: {}",
        String::from_utf8_lossy(&signed.data)
    );
    assert_eq!(world.dkimpy_verify(&signed.data), ["pass", "pass"]);

    // The signed message comes back in from outside with a forged result on top.
    let mut forged =
        format!("Authentication-Results: {AUTHSERV_ID}; dkim=pass header.d=forged.example\r\n")
            .into_bytes();
    forged.extend_from_slice(&signed.data);
    let verified = world.deliver("127.0.0.2", "hanako@example.com", &forged);
    assert_eq!(
        our_results(&verified.data),
        [
            "spf=pass",
            "dkim=pass",
            "dkim=pass",
            "arc=none",
            "dmarc=pass"
        ]
    );
    assert!(!String::from_utf8_lossy(&verified.data).contains("forged.example"));

    // A forged result hidden behind a bare CR inside another field: a reader that splits
    // fields at a bare CR would show it. Through Postfix no such reader can: Postfix turns
    // the bare CR into a space (and where an MTA keeps it, the milter removes the carrier,
    // as milter_protocol.rs shows). Either way, the delivered message has no bare CR in its
    // header section and one Authentication-Results of ours, hanko's.
    let mut hidden = format!(
        "X-Note: hi\rAuthentication-Results: {AUTHSERV_ID}; dkim=pass header.d=hidden.example\r\n"
    )
    .into_bytes();
    hidden.extend_from_slice(&signed.data);
    let cleaned = world.deliver("127.0.0.2", "hanako@example.com", &hidden);
    let (head, _) = split_message(&cleaned.data);
    let bare_cr = head.windows(2).any(|w| w[0] == b'\r' && w[1] != b'\n');
    assert!(!bare_cr, "{}", String::from_utf8_lossy(head));
    for field in fields(&cleaned.data, "Authentication-Results") {
        assert!(!field.contains("hidden.example"), "{field}");
    }
    assert_eq!(our_results(&cleaned.data)[1], "dkim=pass");

    // The same with the body changed on the way: both signatures fail, SPF carries DMARC.
    let text = String::from_utf8(signed.data.clone()).unwrap();
    let tampered = text.replace("Hello Ann,", "Hello Bob,");
    assert_ne!(text, tampered);
    let broken = world.deliver("127.0.0.2", "hanako@example.com", tampered.as_bytes());
    assert_eq!(
        our_results(&broken.data),
        [
            "spf=pass",
            "dkim=fail",
            "dkim=fail",
            "arc=none",
            "dmarc=pass"
        ]
    );

    // A spoof from outside the domain's SPF, unsigned: p=reject, enforcement off, delivered.
    let spoof = "From: ceo@example.com\r\nTo: ann@example.net\r\nSubject: urgent\r\n\
                 Date: Mon, 23 Nov 2026 10:05:00 +0000\r\nMessage-ID: <spoof@example.com>\r\n\
                 \r\nPay this.\r\n";
    let delivered = world.deliver("127.0.0.3", "ceo@example.com", spoof.as_bytes());
    assert_eq!(
        our_results(&delivered.data),
        ["spf=fail", "dkim=none", "arc=none", "dmarc=fail"]
    );

    // Enforcement switched on in the file and reloaded under the running Postfix.
    world.set_dmarc_reject(true);
    world.milter.signal("HUP");
    world.milter.wait_for_log("reloaded", 1);
    let before = world.sink.count();
    let (ok, transcript) = swaks(
        world.postfix.smtp,
        "127.0.0.3",
        "ceo@example.com",
        "ann@example.net",
        spoof.as_bytes(),
    );
    assert!(!ok, "the spoof was accepted:\n{transcript}");
    assert!(transcript.contains(REJECT_REPLY), "{transcript}");
    assert!(
        world.postfix.log().contains("milter-reject"),
        "{}",
        world.logs()
    );
    // Legitimate mail still flows after the reload, and the spoof never arrived.
    let again = world.deliver("127.0.0.2", "hanako@example.com", &signed.data);
    assert_eq!(world.sink.count(), before + 1);
    assert_eq!(
        our_results(&again.data),
        [
            "spf=pass",
            "dkim=pass",
            "dkim=pass",
            "arc=none",
            "dmarc=pass"
        ]
    );
}
