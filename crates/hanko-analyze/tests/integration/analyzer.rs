//! The header analyzer (`hanko_analyze::headers`) on real layouts: the shipped Gmail, Exchange Online
//! and mailing-list examples (golden facts: hop order, delays, decoded fields, verdicts), the
//! conformance suites' messages, the diagnosis of broken signatures, forged
//! Authentication-Results, and hostile input.

use crate::common;

use std::path::PathBuf;

use hanko::dkim::{sign_message, Canonicalization, SigningRequest};
use hanko::keys::SigningKey;
use hanko_analyze::headers::{analyze, analyze_offline, AnalyzeConfig, Lang, Report};
use hanko_dns::Zone;

/// 2026-11-23T02:13:20Z, a little after the examples were signed.
const NOW: u64 = 1_795_400_000;

fn repo(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn example_zone() -> Zone {
    let mut zone = Zone::new();
    zone.add_file(&repo("examples/example.com.zone")).unwrap();
    zone.add_file(&repo("examples/analyze/example.org.zone"))
        .unwrap();
    zone
}

fn run(input: &[u8], zone: &Zone, lang: Lang) -> Report {
    common::analyze_at(input, zone, NOW, lang)
}

fn offline(input: &[u8]) -> Report {
    analyze_offline(input, &AnalyzeConfig::new(NOW))
}

fn example(name: &str) -> Vec<u8> {
    std::fs::read(repo(&format!("examples/analyze/{name}"))).unwrap()
}

fn hop_path(report: &Report) -> Vec<String> {
    report
        .hops
        .iter()
        .map(|h| h.by.clone().unwrap_or_default())
        .collect()
}

fn delays(report: &Report) -> Vec<Option<i64>> {
    report.hops.iter().map(|h| h.delay_seconds).collect()
}

#[test]
fn gmail_show_original_passes_and_every_claim_agrees() {
    let report = run(&example("gmail.eml"), &example_zone(), Lang::En);
    assert_eq!(
        report.summary.verdict.status, "pass",
        "{:?}",
        report.summary.verdict
    );
    assert_eq!(
        hop_path(&report),
        [
            "mail.example.com",
            "mx.google.com",
            "2002:a05:6a10:9f4c:b0:5e2:3a1:7c5d"
        ]
    );
    assert_eq!(delays(&report), [Some(1), Some(2), Some(1)]);
    // The peer address from the comment, not the HELO literal [10.0.0.5].
    assert_eq!(report.hops[0].ip.as_deref(), Some("203.0.113.77"));
    assert_eq!(report.hops[1].ip.as_deref(), Some("192.0.2.10"));
    assert_eq!(
        report.hops[1].tls.as_deref(),
        Some("version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256")
    );
    assert_eq!(report.hops[1].time.as_deref(), Some("2026-11-23T00:00:03Z"));
    assert_eq!(report.summary.transit_seconds, Some(4));
    let from = &report.summary.from[0];
    assert_eq!(from.name.as_deref(), Some("山田 花子"));
    assert_eq!(from.domain.as_deref(), Some("example.com"));
    assert_eq!(report.signatures.len(), 2);
    assert!(report
        .signatures
        .iter()
        .all(|s| s.check.as_ref().unwrap().verdict == "pass"));
    let own = report.reverification.as_ref().unwrap();
    let connection = own.connection.as_ref().unwrap();
    assert_eq!(connection.ip, "192.0.2.10");
    // Google's own ARC-Authentication-Results stands above its Received; the Received-SPF
    // below that Received could have been written by the sender, so it is not evidence.
    assert!(
        connection.source.contains("ARC-Authentication-Results"),
        "{}",
        connection.source
    );
    assert_eq!(own.spf.as_ref().unwrap().result, "pass");
    assert!(own.comparisons.len() >= 7);
    assert!(
        own.comparisons.iter().all(|c| c.agrees == Some(true)),
        "{:?}",
        own.comparisons
    );
    assert_eq!(report.arc.len(), 2);
    assert_eq!(report.claims[0].instance, Some(1));
}

#[test]
fn outlook_headers_only_paste_is_read_decoded_and_checked_as_far_as_it_goes() {
    let input = example("outlook-headers.txt");
    let report = run(&input, &example_zone(), Lang::Ja);
    assert!(report.input.headers_only);
    assert_eq!(report.input.line_endings, "CRLF");
    assert_eq!(report.summary.verdict.status, "headers-only");
    assert_eq!(report.summary.subject.as_deref(), Some("四半期報告の件"));
    assert_eq!(report.summary.to[0].name.as_deref(), Some("鈴木 太郎"));
    assert_eq!(report.hops.len(), 5);
    assert_eq!(report.hops[0].by.as_deref(), Some("mail.example.com"));
    assert_eq!(
        report.hops[4].by.as_deref(),
        Some("OS3PR01MB6000.jpnprd01.prod.outlook.com")
    );
    assert_eq!(report.hops[2].ip.as_deref(), Some("2603:1096:404:1::4"));
    assert_eq!(
        delays(&report),
        [Some(2), Some(2), Some(1), Some(0), Some(1)]
    );
    // Both signatures verify over the header fields, although their b= lines lost their
    // indentation in the paste.
    for sig in &report.signatures {
        assert!(
            sig.check
                .as_ref()
                .unwrap()
                .headers_verified_body_not_checked
        );
        assert!(sig.diagnosis.is_empty());
    }
    assert!(
        report.notes.iter().any(|n| n.contains("インデント")),
        "{:?}",
        report.notes
    );
    let own = report.reverification.as_ref().unwrap();
    assert_eq!(own.spf.as_ref().unwrap().result, "pass");
    assert!(
        own.comparisons.iter().all(|c| c.agrees == Some(true)),
        "{:?}",
        own.comparisons
    );
    // Microsoft's fields: an Authentication-Results without authserv-id, compauth, SCL.
    let microsoft = report
        .claims
        .iter()
        .find(|c| c.field == "Authentication-Results")
        .unwrap();
    assert_eq!(microsoft.authserv_id, None);
    assert!(microsoft.results.iter().any(|r| r.method == "compauth"));
    let forefront = report
        .antispam
        .iter()
        .find(|f| f.field == "X-Forefront-Antispam-Report")
        .unwrap();
    assert!(forefront
        .decoded
        .iter()
        .any(|t| t.tag == "SFV" && t.meaning.contains("スパムではない")));
}

#[test]
fn mailing_list_diagnosis_names_the_subject_tag_and_the_footer() {
    let report = run(&example("mailing-list.eml"), &example_zone(), Lang::En);
    assert_eq!(report.summary.verdict.status, "fail");
    assert!(report.summary.verdict.line.contains("see the diagnosis"));
    assert_eq!(delays(&report), [Some(1), Some(1), Some(453)]);
    assert!(report.hops[2].long_delay && !report.hops[1].long_delay);
    for sig in &report.signatures {
        let diagnosis = sig.diagnosis.join("\n");
        assert!(diagnosis.contains("Subject was changed"), "{diagnosis}");
        assert!(
            diagnosis.contains("[team] Release on Friday"),
            "{diagnosis}"
        );
        assert!(
            diagnosis.contains("156 octets were appended"),
            "{diagnosis}"
        );
        assert!(sig.unsigned_fields.contains(&"List-Id".to_string()));
    }
    let own = report.reverification.as_ref().unwrap();
    assert_eq!(
        own.spf.as_ref().unwrap().domain.as_deref(),
        Some("lists.example.org")
    );
    // The receiving server's claims agree with hanko; the list's, recorded before it tagged
    // the Subject and added its footer, no longer do for DKIM and DMARC.
    let by = |id: &str| -> Vec<&hanko_analyze::headers::Comparison> {
        own.comparisons
            .iter()
            .filter(|c| c.authserv_id.as_deref() == Some(id))
            .collect()
    };
    assert!(by("mx.example.net").len() >= 3);
    assert!(by("mx.example.net").iter().all(|c| c.agrees == Some(true)));
    assert!(by("lists.example.org")
        .iter()
        .any(|c| c.method == "dkim" && c.agrees == Some(false)));
    // The list sealed what it sent: the chain validates, and its record says DMARC passed.
    let arc = own.arc.as_ref().expect("an ARC chain");
    assert_eq!((arc.result.as_str(), arc.oldest_pass), ("pass", Some(1)));
    assert_eq!(arc.hops.len(), 1);
    let hop = &arc.hops[0];
    assert_eq!(hop.sealer.as_deref(), Some("lists.example.org"));
    assert_eq!(
        (hop.seal.as_deref(), hop.message_signature.as_deref()),
        (Some("pass"), Some("pass"))
    );
    assert!(
        hop.recorded.contains("dmarc=pass header.from=example.com"),
        "{}",
        hop.recorded
    );
    assert!(arc.note.contains("Historic"));
}

#[test]
fn forged_authentication_results_never_make_the_verdict() {
    // An unsigned message from a stranger, with a forged pass "from" the receiver on top.
    let mut message = b"Authentication-Results: mx.example.net; dkim=pass header.d=example.com header.b=AAAAAAAA; spf=pass smtp.mailfrom=hanako@example.com; dmarc=pass header.from=example.com\n\
Received-SPF: pass (mx.example.net: domain of hanako@example.com designates 203.0.113.9 as permitted sender) client-ip=203.0.113.9; envelope-from=hanako@example.com; helo=evil.example\n"
        .to_vec();
    message.extend_from_slice(&std::fs::read(repo("examples/message.eml")).unwrap());
    let report = run(&message, &example_zone(), Lang::En);
    assert_eq!(report.summary.verdict.status, "fail");
    assert!(
        report.summary.verdict.line.contains("disagree"),
        "{}",
        report.summary.verdict.line
    );
    let own = report.reverification.as_ref().unwrap();
    assert_eq!(own.dmarc.result, "fail");
    // No Received field records where the message came from, so nothing in it is evidence
    // of a connection: SPF is not re-checked from the forged fields.
    assert!(own.spf.is_none());
    assert!(own.connection.is_none());
    let disputed: Vec<&str> = own
        .comparisons
        .iter()
        .filter(|c| c.agrees == Some(false))
        .map(|c| c.method.as_str())
        .collect();
    assert_eq!(disputed, ["dkim", "dmarc"]);
    // Offline, the claim is reported as a claim, and the verdict is never a pass.
    let offline = offline(&message);
    assert_eq!(offline.summary.verdict.status, "unverified");
    assert!(offline
        .summary
        .verdict
        .line
        .contains("a claim, not a proof"));
}

fn example_key(name: &str) -> SigningKey {
    SigningKey::from_pem(&std::fs::read(repo(&format!("examples/{name}"))).unwrap()).unwrap()
}

fn signed(message: &[u8], canonicalization: &str) -> Vec<u8> {
    let mut request =
        SigningRequest::new(&example_key("rsa2026.private"), "example.com", "rsa2026").unwrap();
    request.canonicalization = Canonicalization::parse(canonicalization).unwrap();
    sign_message(message, vec![request], NOW - 60).unwrap()
}

const PLAIN: &[u8] = "From: Hanako <hanako@example.com>\r\nTo: taro@example.org\r\nSubject: Café menu\r\nDate: Mon, 23 Nov 2026 09:00:00 +0900\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCafé au lait, crème brûlée.\r\nSee you at noon.\r\n".as_bytes();

fn diagnosis(message: &[u8]) -> String {
    let report = run(message, &example_zone(), Lang::En);
    report.signatures[0].diagnosis.join("\n")
}

#[test]
fn diagnosis_finds_a_body_re_encoded_to_quoted_printable() {
    let signed = String::from_utf8(signed(PLAIN, "relaxed/relaxed")).unwrap();
    let (head, _) = signed.split_once("\r\n\r\n").unwrap();
    let relayed = format!(
        "{head}\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=C3=A9 au lait, cr=C3=A8me br=C3=BBl=C3=A9e.\r\nSee you at noon.\r\n"
    );
    let text = diagnosis(relayed.as_bytes());
    assert!(text.contains("re-encoded to quoted-printable"), "{text}");
    assert!(text.contains("signed header fields are intact"), "{text}");
}

#[test]
fn diagnosis_finds_an_added_from_field() {
    let mut relayed = b"From: CEO <ceo@example.com>\r\n".to_vec();
    relayed.extend_from_slice(&signed(PLAIN, "relaxed/relaxed"));
    let text = diagnosis(&relayed);
    assert!(text.contains("A From field was added"), "{text}");
    assert!(text.contains("ceo@example.com"), "{text}");
}

#[test]
fn diagnosis_says_when_relaxed_would_have_matched() {
    let signed = String::from_utf8(signed(PLAIN, "simple/simple")).unwrap();
    // A relay that pads lines with spaces.
    let padded = signed.replace("See you at noon.\r\n", "See you at noon.   \r\n");
    let text = diagnosis(padded.as_bytes());
    assert!(text.contains("relaxed would have matched"), "{text}");
    assert!(
        text.contains("Only white space changed in the body"),
        "{text}"
    );
    // A relay that re-folds a signed field.
    let refolded = signed.replace("To: taro@example.org", "To:\r\n taro@example.org");
    let text = diagnosis(refolded.as_bytes());
    assert!(text.contains("re-folded after signing"), "{text}");
}

#[test]
fn diagnosis_admits_what_it_cannot_find() {
    let signed = String::from_utf8(signed(PLAIN, "relaxed/relaxed")).unwrap();
    let changed = signed.replace("Subject: Café menu", "Subject: Cafe menu");
    let text = diagnosis(changed.as_bytes());
    assert!(
        text.contains("could not find which field changed"),
        "{text}"
    );
    let changed = signed.replace("noon", "one");
    let text = diagnosis(changed.as_bytes());
    assert!(text.contains("could not undo"), "{text}");
}

#[test]
fn only_the_first_five_broken_signatures_are_diagnosed() {
    let key = example_key("ed2026.private");
    let requests = (0..7)
        .map(|_| SigningRequest::new(&key, "example.com", "ed2026").unwrap())
        .collect();
    let signed = String::from_utf8(sign_message(PLAIN, requests, NOW - 60).unwrap()).unwrap();
    let broken = signed.replace("noon", "one");
    let report = run(broken.as_bytes(), &example_zone(), Lang::En);
    assert_eq!(report.signatures.len(), 7);
    let diagnosed = report
        .signatures
        .iter()
        .filter(|s| !s.diagnosis.is_empty())
        .count();
    assert_eq!(diagnosed, AnalyzeConfig::new(0).max_diagnosed_signatures);
    assert_eq!(diagnosed, 5);
}

#[test]
fn dns_failures_are_shown_as_such() {
    // The key and the DMARC record time out: a temporary error, not a failed signature.
    let mut dns = common::MapDns::default();
    dns.add_timeout("rsa2026._domainkey.example.com");
    dns.add_servfail("_dmarc.example.com");
    let message = signed(PLAIN, "relaxed/relaxed");
    let report = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(analyze(&message, Some(&dns), &AnalyzeConfig::new(NOW)));
    let check = report.signatures[0].check.as_ref().unwrap();
    assert_eq!(check.verdict, "temperror");
    assert!(check
        .reason
        .as_deref()
        .unwrap()
        .contains("rsa2026._domainkey.example.com"));
    assert!(report.signatures[0].diagnosis.is_empty());
    assert_eq!(report.summary.verdict.status, "temperror");
    assert!(
        report
            .summary
            .verdict
            .line
            .starts_with("Could not be decided"),
        "{}",
        report.summary.verdict.line
    );
}

#[test]
fn hostile_input_gets_a_report_that_says_what_it_could_not_read() {
    // Binary data.
    let junk: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let report = offline(&junk);
    assert_eq!(report.summary.verdict.status, "unverified");
    // 10 MB of header fields: read up to the limits, the rest counted.
    let mut big = Vec::new();
    while big.len() < 10 * 1024 * 1024 {
        big.extend_from_slice(
            b"X-Filler: 0123456789012345678901234567890123456789012345678901234567890123456789\n",
        );
    }
    let report = offline(&big);
    assert_eq!(report.input.header_fields, 10_000);
    assert!(report.input.dropped_fields > 100_000);
    assert!(
        report.notes.iter().any(|n| n.contains("were not read")),
        "{:?}",
        report.notes
    );
    // 2,000 Received fields, oldest last, each a second apart: read in order.
    let mut hops = Vec::new();
    for i in (0..2_000).rev() {
        hops.extend_from_slice(
            format!(
                "Received: from h{i}.example by h{}.example; 23 Nov 2026 00:{:02}:{:02} +0000\n",
                i + 1,
                i / 60,
                i % 60
            )
            .as_bytes(),
        );
    }
    let report = offline(&hops);
    assert_eq!(report.hops.len(), 2_000);
    assert_eq!(report.hops[1999].by.as_deref(), Some("h2000.example"));
    assert!(report.hops[1..].iter().all(|h| h.delay_seconds == Some(1)));
    // Dates nobody can read.
    let report = offline(b"Received: by a; yesterday at noon\nReceived: by b\nDate: soon\n\n");
    assert!(report.hops.iter().all(|h| h.date_problem.is_some()));
    assert!(report
        .notes
        .iter()
        .any(|n| n.contains("Date field could not be read")));
    assert!(report.notes.iter().any(|n| n.contains("no readable date")));
}

#[test]
fn the_diagnosis_stops_at_its_work_limit_and_says_so() {
    // Seven broken signatures over a padded header section: diagnosing them all costs more
    // than a small budget, whatever the count of attempts.
    let key = example_key("ed2026.private");
    let requests = (0..7)
        .map(|_| SigningRequest::new(&key, "example.com", "ed2026").unwrap())
        .collect();
    let signed = String::from_utf8(sign_message(PLAIN, requests, NOW - 60).unwrap()).unwrap();
    let padding: String = (0..200)
        .map(|i| format!("X-Pad-{i}: {}\r\n", "p".repeat(200)))
        .collect();
    // A To added below the signed one: each diagnosis rebuilds the section without each To.
    let added = signed.replace(
        "To: taro@example.org\r\n",
        "To: taro@example.org\r\nTo: intruder@example.net\r\n",
    );
    assert_ne!(added, signed);
    let broken = format!("{padding}{added}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let limited = |work: usize| {
        let mut config = AnalyzeConfig::new(NOW);
        config.max_diagnosis_work = work;
        runtime.block_on(analyze(broken.as_bytes(), Some(&example_zone()), &config))
    };
    let note = "stopped at its work limit";
    let notes = |report: &Report| report.reverification.as_ref().unwrap().notes.clone();
    let full = limited(AnalyzeConfig::new(0).max_diagnosis_work);
    assert!(
        !notes(&full).iter().any(|n| n.contains(note)),
        "{:?}",
        notes(&full)
    );
    let small = limited(1024 * 1024);
    assert!(
        notes(&small).iter().any(|n| n.contains(note)),
        "{:?}",
        notes(&small)
    );
    // What was diagnosed before the limit is still there.
    let found = |report: &Report| {
        report
            .signatures
            .iter()
            .filter(|s| {
                s.diagnosis
                    .iter()
                    .any(|d| d.contains("was added after signing"))
            })
            .count()
    };
    assert_eq!(found(&full), 5);
    assert!((1..5).contains(&found(&small)), "{}", found(&small));
}

#[test]
fn thousands_of_signed_names_over_thousands_of_fields_are_read_once() {
    // h= naming From 20,000 times over 5,000 fields: matching is by an index, not by
    // scanning the fields for every name, so the analysis (and its diagnosis) finishes.
    let names = vec!["From"; 20_000].join(":");
    let fields: String = (0..5_000).map(|i| format!("X-F: {i}\r\n")).collect();
    let message = format!(
        "{fields}DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; \
         s=ed2026; h={names}; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n\
         From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n"
    );
    let report = run(message.as_bytes(), &example_zone(), Lang::En);
    assert_eq!(report.signatures.len(), 1);
    assert!(report.signatures[0].check.is_some());
}

#[test]
fn trace_fields_below_the_receiving_server_are_never_evidence() {
    // The receiving server recorded the attacker's address and, in some layouts, its own SPF
    // fail; below it the sender wrote a pass for example.com's own address in every form
    // the analyzer reads. None may make SPF or DMARC pass.
    let own_records = [
        // Gmail: its Received, then its Received-SPF and Authentication-Results.
        "Received: from evil.example (evil.example. [203.0.113.66])\n        by mx.google.com with ESMTPS id x; Mon, 23 Nov 2026 09:00:03 +0900\n\
         Received-SPF: fail (google.com: domain of hanako@example.com does not designate 203.0.113.66 as permitted sender) client-ip=203.0.113.66;\n\
         Authentication-Results: mx.google.com; spf=fail smtp.mailfrom=hanako@example.com\n",
        // A server that writes its result above its Received.
        "Authentication-Results: mx.example.net; spf=fail smtp.mailfrom=hanako@example.com smtp.remote-ip=203.0.113.66\n\
         Received: from evil.example ([203.0.113.66]) by mx.example.net; Mon, 23 Nov 2026 09:00:03 +0900\n",
        // A server that writes no result at all.
        "Received: from evil.example ([203.0.113.66]) by mx.example.net; Mon, 23 Nov 2026 09:00:03 +0900\n",
    ];
    let forgeries = [
        "Received-SPF: pass (mx.example.net: domain of hanako@example.com designates 192.0.2.10 as permitted sender) client-ip=192.0.2.10; envelope-from=hanako@example.com; helo=mail.example.com\n",
        "Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=hanako@example.com smtp.remote-ip=192.0.2.10\n",
        "Authentication-Results: mx.example.net; spf=pass (sender IP is 192.0.2.10) smtp.mailfrom=hanako@example.com\n",
        "ARC-Authentication-Results: i=1; mx.google.com; spf=pass (google.com: domain of hanako@example.com designates 192.0.2.10 as permitted sender) smtp.mailfrom=hanako@example.com\n",
        // A forged Received naming example.com's server, with the pass below it.
        "Received: from mail.example.com (mail.example.com [192.0.2.10]) by mx.example.net; Mon, 23 Nov 2026 09:00:01 +0900\nReceived-SPF: pass client-ip=192.0.2.10; envelope-from=hanako@example.com; helo=mail.example.com\n",
    ];
    let unsigned = "From: hanako@example.com\nTo: taro@example.org\nSubject: pay now\nDate: Mon, 23 Nov 2026 09:00:00 +0900\n\nPay.\n";
    let mut count = 0;
    for own_record in own_records {
        for forgery in forgeries {
            let message =
                format!("Return-Path: <hanako@example.com>\n{own_record}{forgery}{unsigned}");
            let report = run(message.as_bytes(), &example_zone(), Lang::En);
            let own = report.reverification.as_ref().unwrap();
            assert_ne!(own.dmarc.result, "pass", "{message}");
            assert_ne!(report.summary.verdict.status, "pass", "{message}");
            if let Some(connection) = &own.connection {
                assert_eq!(connection.ip, "203.0.113.66", "{message}");
            }
            if let Some(spf) = &own.spf {
                assert_ne!(spf.result, "pass", "{message}");
            }
            count += 1;
        }
    }
    assert_eq!(count, 15);
}

#[test]
fn an_spf_based_pass_says_what_it_rests_on() {
    // Unsigned, from example.com's own server: DMARC passes through SPF alone, and the
    // verdict names the record that pass rests on.
    let message = "Return-Path: <hanako@example.com>\n\
        Received: from mail.example.com (mail.example.com [192.0.2.10]) by mx.example.net; Mon, 23 Nov 2026 09:00:03 +0900\n\
        From: hanako@example.com\nTo: taro@example.org\nSubject: hi\nDate: Mon, 23 Nov 2026 09:00:00 +0900\n\nHi.\n";
    let report = run(message.as_bytes(), &example_zone(), Lang::En);
    let own = report.reverification.as_ref().unwrap();
    assert_eq!(own.dmarc.result, "pass");
    assert!(own.pass_rests_on_connection);
    let line = &report.summary.verdict.line;
    assert!(line.contains("rests on SPF for 192.0.2.10"), "{line}");
    assert!(line.contains("Received field at position 2"), "{line}");
}

#[test]
fn a_pass_with_content_after_the_signed_length_says_so() {
    // Signed with l=, then a paragraph appended: DKIM passes, as RFC 6376 allows, and the
    // headline says what the signature does not cover.
    let mut request =
        SigningRequest::new(&example_key("ed2026.private"), "example.com", "ed2026").unwrap();
    request.body_length = true;
    let signed = String::from_utf8(sign_message(PLAIN, vec![request], NOW - 60).unwrap()).unwrap();
    let tail = "Click here to pay: http://evil.example/\r\n";
    let appended = format!("{signed}{tail}");
    let report = run(appended.as_bytes(), &example_zone(), Lang::En);
    let own = report.reverification.as_ref().unwrap();
    assert_eq!(own.dmarc.result, "pass");
    assert_eq!(own.unsigned_body_octets, tail.len() as u64);
    let line = &report.summary.verdict.line;
    let said = format!(
        "{} octets at the end of the body are not covered",
        tail.len()
    );
    assert!(line.contains(&said), "{line}");
    // Without appended content the headline stays plain.
    let report = run(signed.as_bytes(), &example_zone(), Lang::En);
    assert_eq!(
        report.reverification.as_ref().unwrap().unsigned_body_octets,
        0
    );
    assert!(!report.summary.verdict.line.contains("not covered"));
}
