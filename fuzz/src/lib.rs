//! The bodies of hanko's fuzz targets, one function per target, and the seed corpus built
//! from the public conformance suites.
//!
//! Each function takes the fuzzer's bytes and must neither panic nor hang, whatever they
//! are. Where a parser has a writer or a second implementation, the function also checks
//! that they agree (a written Authentication-Results field parses back to the same results;
//! the streaming message reader splits as `split_message` does; a message hanko signs
//! verifies). `cargo fuzz run TARGET` drives them through libFuzzer (`scripts/fuzz.sh`);
//! `cargo test` here replays the seeds and every saved crash in `regressions/TARGET/`.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hanko::arc::{ArcConfig, ArcResult, ArcSealer, ArcVerifier, ChainStatus, SealRequest};
use hanko::authres::{AuthenticationResults, ParseOptions};
use hanko::dkim::canonicalize::BodyCanonicalizer;
use hanko::dkim::{
    key_record_for, sign_message, CanonicalizationAlgorithm, DkimVerdict, KeyRecord, Signature,
    SigningRequest, Verifier, VerifyConfig,
};
use hanko::dmarc::{DmarcProblem, DmarcRecord};
use hanko::keys::{KeySpec, SigningKey};
use hanko::message::{
    mbox_separator_len, parse_date_time, parse_mailboxes, split_message, CrlfNormalizer, Headers,
    MessageLimits, MessageReader, Received,
};
use hanko::spf::macros::{MacroContext, MacroString};
use hanko_dns::{RecordData, Zone};

/// A target's body: takes the fuzzer's bytes.
pub type Target = fn(&[u8]);

/// Every target: its name (as in `fuzz_targets/NAME.rs`) and its body.
pub const TARGETS: &[(&str, Target)] = &[
    ("header_split", header_split),
    ("message_stream", message_stream),
    ("dkim_signature", dkim_signature),
    ("dkim_key_record", dkim_key_record),
    ("spf_record", spf_record),
    ("spf_macro", spf_macro),
    ("dmarc_record", dmarc_record),
    ("adsp_record", adsp_record),
    ("authres", authres),
    ("received", received),
    ("from_address", from_address),
    ("zone_file", zone_file),
    ("sign_verify", sign_verify),
    ("analyze", analyze),
    ("body_canonicalization", body_canonicalization),
    ("report", report),
    ("arc_fields", arc_fields),
    ("arc_chain", arc_chain),
];

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// `split_message` and `Headers::parse`: a parsed section parses again, field for field,
/// from its own bytes.
pub fn header_split(data: &[u8]) {
    let (head, body) = split_message(data);
    assert!(head.len() + body.len() <= data.len());
    if let Ok(headers) = Headers::parse(head, &MessageLimits::default()) {
        let again = Headers::parse(&headers.to_bytes(), &MessageLimits::default())
            .expect("a parsed header section parses again");
        let names = |h: &Headers| -> Vec<String> {
            h.fields().iter().map(|f| f.name().to_string()).collect()
        };
        assert_eq!(names(&headers), names(&again));
    }
}

/// `MessageReader` against `split_message`: same header fields and the same body, whatever
/// the line ends (the reader normalizes them to CRLF as it goes).
pub fn message_stream(data: &[u8]) {
    let limits = MessageLimits::default();
    let mut reader = MessageReader::new(Cursor::new(data), limits.clone());
    let streamed_headers = reader.read_headers();
    let normalized = CrlfNormalizer::normalize(data);
    let (head, body) = split_message(&normalized);
    let whole_headers = Headers::parse(head, &limits);
    match (streamed_headers, whole_headers) {
        (Ok(streamed), Ok(whole)) => {
            assert_eq!(streamed.to_bytes(), whole.to_bytes());
            let mut streamed_body = Vec::new();
            while let Ok(Some(chunk)) = reader.next_body_chunk() {
                streamed_body.extend_from_slice(chunk);
            }
            assert_eq!(streamed_body, body);
        }
        (Err(_), Err(_)) => {}
        (streamed, whole) => panic!(
            "reader and split disagree: {:?} vs {:?}",
            streamed.map(|h| h.len()),
            whole.map(|h| h.len())
        ),
    }
}

/// DKIM-Signature tag lists (RFC 6376 §3.5): what parses keeps the rules checked at parse.
pub fn dkim_signature(data: &[u8]) {
    if let Ok(signature) = Signature::parse(data) {
        assert!(signature
            .signed_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("from")));
        if let Some(identity) = &signature.identity {
            assert!(identity.domain.is_within(&signature.domain));
        }
    }
}

/// DKIM key records (RFC 6376 §3.6.1).
pub fn dkim_key_record(data: &[u8]) {
    let _ = KeyRecord::parse(data);
}

/// SPF records (RFC 7208 §4.6, §12).
pub fn spf_record(data: &[u8]) {
    let _ = hanko::spf::Record::parse(data);
}

/// SPF macro strings (RFC 7208 §7), parsed as a domain-spec and as explanation text, and
/// expanded with every letter available.
pub fn spf_macro(data: &[u8]) {
    let input = text(data);
    let context = MacroContext {
        local_part: "strong-bad",
        sender_domain: "email.example.com",
        domain: "email.example.com",
        ip: "2001:db8::cb01".parse().unwrap(),
        helo: "mx.example.org",
        receiver: "mx.example.net",
        now: 1_700_000_000,
    };
    for parsed in [
        MacroString::parse(&input),
        MacroString::parse_explanation(&input),
    ]
    .into_iter()
    .flatten()
    {
        let _ = parsed.expand(&context, Some("mx.example.org"));
        let _ = parsed.expand(&context, None);
    }
}

/// DMARC records (RFC 9989 §4.7, RFC 7489 §6.3).
pub fn dmarc_record(data: &[u8]) {
    let _ = DmarcRecord::parse(&text(data));
}

/// ADSP records (RFC 5617 §4.2.1).
pub fn adsp_record(data: &[u8]) {
    let _ = hanko::adsp::parse_record(&text(data));
}

/// Authentication-Results (RFC 8601 §2.2), strict and lenient: whatever parses, hanko writes
/// back as a field that parses, with the same options, to as many results (this is what
/// keeps a crafted `header.d` or comment from turning into a second result when a field is
/// rewritten); strictly parsed results keep their methods and result words too. (Leniently
/// read words outside the grammar, such as `d=example.com` or a method without `=result`, are
/// written with the offending characters replaced, `d=example-com`, `1-example=-`; the
/// writer's output is ASCII.)
pub fn authres(data: &[u8]) {
    let input = text(data);
    for options in [ParseOptions::strict(), ParseOptions::default()] {
        if let Ok(parsed) = AuthenticationResults::parse(&input, options) {
            let written = parsed.to_field();
            let again = AuthenticationResults::parse(&written, options)
                .unwrap_or_else(|e| panic!("{written:?} does not parse back: {e}"));
            assert_eq!(
                again.authserv_id,
                as_written(&parsed.authserv_id),
                "{written:?}"
            );
            assert_eq!(again.results.len(), parsed.results.len(), "{written:?}");
            if options == ParseOptions::strict() {
                for (a, b) in again.results.iter().zip(&parsed.results) {
                    assert_eq!(a.method, b.method, "{written:?}");
                    assert_eq!(a.result, b.result, "{written:?}");
                }
            }
        }
    }
}

/// Text as the Authentication-Results writer puts it (the rule of `printable` in
/// crates/hanko/src/authres/write.rs): tabs become spaces, other control characters are
/// dropped, non-ASCII characters become `?`.
fn as_written(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\t' => Some(' '),
            c if c.is_control() => None,
            c if !c.is_ascii() => Some('?'),
            c => Some(c),
        })
        .collect()
}

/// Received fields (RFC 5321 §4.4) and their dates (RFC 5322 §3.3).
pub fn received(data: &[u8]) {
    let input = text(data);
    let parsed = Received::parse(&input);
    let _ = parsed.by();
    let _ = parsed.tls();
    let _ = parse_date_time(&input);
}

/// From-field address lists (RFC 5322 §3.4), which decide DMARC's Author Domains: every
/// mailbox that parses has a domain; and, differentially against a second reader
/// (`mail-parser`, as a mail client reads the field), every domain name that reader finds is
/// among hanko's Author Domains, or hanko counts an unreadable author that the default
/// enforcement rejects. A reading with fewer domains would let a
/// reader see bank.example while DMARC evaluates only the attacker.
pub fn from_address(data: &[u8]) {
    let value = text(data);
    if let Ok(mailboxes) = parse_mailboxes(&value) {
        for mailbox in mailboxes {
            assert!(!mailbox.domain.is_empty(), "{mailbox:?}");
        }
    }
    // One field, as a message carries it: no line break inside (a fold needs white space after
    // it, and a bare line end would start another field or the body).
    if value.contains(['\r', '\n']) {
        return;
    }
    let section = format!("From: {value}\r\n");
    let Ok(headers) = Headers::parse(section.as_bytes(), &MessageLimits::default()) else {
        return;
    };
    let authors = hanko::dmarc::author_domains(&headers);
    let message = format!("{section}\r\nx\r\n");
    let Some(parsed) = mail_parser::MessageParser::default().parse(message.as_bytes()) else {
        return;
    };
    let Some(from) = parsed.from() else {
        return;
    };
    for address in from.iter() {
        let Some(domain) = address
            .address()
            .and_then(|a| a.rsplit_once('@'))
            .map(|(_, d)| d)
        else {
            continue;
        };
        // Only names DMARC could look up, in the form it compares them (A-labels, lower
        // case): a literal, junk or an invalid IDN is not a domain to miss.
        let domain = match hanko::name::DomainName::parse_comparable(domain) {
            Ok(name) if name.as_str().contains('.') => name.as_str().to_string(),
            _ => continue,
        };
        // Only the unreadable authors enforced as `reject` cover a missed domain; a bad
        // co-author leaves the readable authors' policy in force.
        let covered = authors.unreadable.iter().any(|p| {
            matches!(
                p,
                DmarcProblem::UnparseableFrom(_) | DmarcProblem::TooManyAuthorDomains(_)
            )
        });
        assert!(
            authors.domains.contains(&domain) || covered,
            "From: {value}\nmail-parser reads {domain}; hanko reads {authors:?}"
        );
    }
}

/// RFC 1035 zone files, hanko-dns's own parser.
pub fn zone_file(data: &[u8]) {
    let _ = Zone::parse(&text(data), "example.com.");
}

/// The key and zone `sign_verify` uses, made once.
fn signing_setup() -> &'static (SigningKey, Zone) {
    static SETUP: OnceLock<(SigningKey, Zone)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let key = SigningKey::generate(KeySpec::Ed25519).expect("Ed25519 key");
        let record = key_record_for(&key, &Default::default()).expect("key record");
        let mut zone = Zone::new();
        zone.add(
            "fuzz._domainkey.example.com",
            300,
            RecordData::Txt(vec![record.into_bytes()]),
        );
        (key, zone)
    })
}

/// Differential: any message hanko agrees to sign (line ends made CRLF, as the CLI does)
/// verifies with hanko, so signer and verifier canonicalize alike.
pub fn sign_verify(data: &[u8]) {
    let (key, zone) = signing_setup();
    let message = CrlfNormalizer::normalize(data);
    let Ok(request) = SigningRequest::new(key, "example.com", "fuzz") else {
        return;
    };
    let now = 1_700_000_000;
    // Refused (no From, an unreadable header section): nothing to compare.
    let Ok(signed) = sign_message(&message, vec![request], now) else {
        return;
    };
    let (head, body) = split_message(&signed);
    let headers = Headers::parse(head, &MessageLimits::default())
        .expect("a signed message's header section parses");
    let mut verifier = Verifier::new(&headers, VerifyConfig::default());
    verifier.body(body);
    let outcome = pollster::block_on(verifier.finish(zone, now));
    let ours = outcome
        .results
        .first()
        .expect("the new signature is verified");
    assert_eq!(ours.verdict(), DkimVerdict::Pass, "{:?}", ours);
}

/// A message with a valid one-set ARC chain, sealed once with the `signing_setup` key.
fn sealed_message() -> &'static [u8] {
    static MESSAGE: OnceLock<Vec<u8>> = OnceLock::new();
    MESSAGE.get_or_init(|| {
        let message = b"From: joe@example.com\r\nSubject: fuzz\r\n\r\nhello\r\n";
        seal_once(message).expect("a plain message seals")
    })
}

/// Validates `message`'s chain and seals it: the sealed message, or `None` when sealing
/// was refused (no From, a chain already failed, 50 sets, an unreadable header section).
fn seal_once(message: &[u8]) -> Option<Vec<u8>> {
    let (key, zone) = signing_setup();
    let chain = validate_chain(message)?;
    let (head, body) = split_message(message);
    let headers = Headers::parse(head, &MessageLimits::default()).ok()?;
    let request = SealRequest::new(key, "example.com", "fuzz").ok()?;
    let mut sealer = ArcSealer::new(&headers, request).ok()?;
    sealer.body(body);
    let set = sealer
        .finish(chain.status(), "mx.example.com; arc=none", 1_700_000_000)
        .ok()?;
    let _ = zone;
    // Below an mbox `From ` line, as `hanko arc seal` writes it.
    let separator = mbox_separator_len(message);
    let mut out = message[..separator].to_vec();
    for field in set.fields() {
        out.extend_from_slice(field.raw());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(&message[separator..]);
    Some(out)
}

/// The chain validation of `message` against the `signing_setup` zone.
fn validate_chain(message: &[u8]) -> Option<ArcResult> {
    let (_, zone) = signing_setup();
    let (head, body) = split_message(message);
    let headers = Headers::parse(head, &MessageLimits::default()).ok()?;
    let mut verifier = ArcVerifier::new(&headers, ArcConfig::default());
    verifier.body(body);
    Some(pollster::block_on(verifier.finish(zone, 1_700_000_000)))
}

/// The three ARC field parsers (RFC 8617 §4.1) and the set assembly: the fuzzer's bytes as
/// the value of one more ARC-Authentication-Results, ARC-Message-Signature or ARC-Seal on
/// top of a valid chain. Whatever the value, the chain then fails: an extra field is a
/// duplicate, a gap, a bad instance or a set without a valid seal.
pub fn arc_fields(data: &[u8]) {
    if data.contains(&b'\r') || data.contains(&b'\n') {
        return;
    }
    for name in [
        "ARC-Authentication-Results",
        "ARC-Message-Signature",
        "ARC-Seal",
    ] {
        let mut message = format!("{name}:").into_bytes();
        message.extend_from_slice(data);
        message.extend_from_slice(b"\r\n");
        message.extend_from_slice(sealed_message());
        if let Some(chain) = validate_chain(&message) {
            assert_eq!(
                chain.status(),
                ChainStatus::Fail,
                "an extra {name} left the chain passing"
            );
        }
    }
}

/// Chain validation and sealing on any message: no panic; and sealing is consistent with
/// validation: a message whose chain validated (or had none) and that hanko seals has a
/// chain that validates afterwards.
pub fn arc_chain(data: &[u8]) {
    let message = CrlfNormalizer::normalize(data);
    let Some(before) = validate_chain(&message) else {
        return;
    };
    if before.status() == ChainStatus::Fail {
        let _ = seal_once(&message);
        return;
    }
    if let Some(sealed) = seal_once(&message) {
        let after = validate_chain(&sealed).expect("a sealed message's header section parses");
        assert_eq!(after.status(), ChainStatus::Pass, "{:?}", after.failure);
    }
}

/// `hanko_report::parse` on anything: a report or a named refusal, never a panic; small
/// limits, so that unpacking and the element and depth bounds are reached. A warning names
/// something, and an aggregate report has its report id and policy domain.
///
/// Inputs read as an e-mail message ([`hanko_report::is_message`]) are left out: that path
/// hands the message to mail-parser 0.11, whose MIME walker has a `debug_assert!` that
/// malformed nesting trips ("Invalid part ID, could not find multipart."; found by this
/// target). Fuzz builds keep debug assertions on; release builds, which users run, recover
/// and the report is refused with a reason.
pub fn report(data: &[u8]) {
    if hanko_report::is_message(data) {
        return;
    }
    let limits = hanko_report::Limits {
        max_bytes: 1024 * 1024,
        max_elements: 10_000,
        max_depth: 16,
    };
    match hanko_report::parse(data, &limits) {
        Ok(parsed) => {
            if let Some(first) = parsed.report.warnings().first() {
                assert!(!first.0.is_empty());
            }
            if let Some(aggregate) = parsed.report.aggregate() {
                assert!(!aggregate.report_metadata.report_id.is_empty());
                assert!(!aggregate.policy_published.domain.is_empty());
            }
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

/// The header analyzer on anything pasted: offline, then re-verified against the fuzzing
/// zone (whose key signs `sign_verify`'s messages, so mutated signed messages reach the
/// diagnosis). Every report says something, and its hops are numbered oldest first.
pub fn analyze(data: &[u8]) {
    let (_, zone) = signing_setup();
    let config = hanko_analyze::headers::AnalyzeConfig::new(1_700_000_000);
    let offline = hanko_analyze::headers::analyze_offline(data, &config);
    let online = pollster::block_on(hanko_analyze::headers::analyze(data, Some(zone), &config));
    for report in [offline, online] {
        assert!(!report.summary.verdict.line.is_empty());
        assert!(report.input.header_fields <= config.max_header_fields);
        for (i, hop) in report.hops.iter().enumerate() {
            assert_eq!(hop.number, i + 1);
        }
    }
}

/// Body canonicalization (RFC 6376 §3.4.3, §3.4.4): the first octet picks chunk sizes, the
/// rest is the body. Whole, in those chunks and octet by octet give the same octets; simple
/// is the body with its trailing line ends made one; relaxed leaves no tab, no run of
/// spaces, no space before a line end and no empty line at the end.
pub fn body_canonicalization(data: &[u8]) {
    let Some((&seed, body)) = data.split_first() else {
        return;
    };
    for algorithm in [
        CanonicalizationAlgorithm::Simple,
        CanonicalizationAlgorithm::Relaxed,
    ] {
        let canonical = |sizes: &mut dyn FnMut() -> usize| {
            let mut canonicalizer = BodyCanonicalizer::new(algorithm);
            let mut out = Vec::new();
            let mut rest = body;
            while !rest.is_empty() {
                let (chunk, tail) = rest.split_at(sizes().clamp(1, rest.len()));
                canonicalizer.push(chunk, &mut out);
                rest = tail;
            }
            canonicalizer.finish(&mut out);
            out
        };
        let whole = canonical(&mut || usize::MAX);
        let mut step = 0usize;
        let chunked = canonical(&mut || {
            step += 1;
            (usize::from(seed) * step) % 97 + 1
        });
        assert_eq!(whole, chunked, "chunk sizes changed the canonical body");
        assert_eq!(whole, canonical(&mut || 1), "octet by octet differs");
        if algorithm == CanonicalizationAlgorithm::Simple {
            let mut content = body;
            while let Some(before) = content.strip_suffix(b"\r\n") {
                content = before;
            }
            assert_eq!(whole, [content, b"\r\n"].concat());
        } else {
            for bad in [&b"\t"[..], b"  ", b" \r\n"] {
                assert!(!whole.windows(bad.len()).any(|w| w == bad), "{bad:?} left");
            }
            assert!(whole.is_empty() || whole.ends_with(b"\r\n"));
            assert!(whole != b"\r\n" && !whole.ends_with(b"\r\n\r\n"));
        }
    }
}

/// The seed corpus: for each target, inputs taken from the conformance suites at
/// `conformance`, the repository's `examples/`, and the hostile corpus
/// (`crates/hanko/tests/hostile/`, the attacks the security tests replay).
pub fn seeds(conformance: &Path, examples: &Path) -> BTreeMap<&'static str, Vec<Vec<u8>>> {
    let mut files = Vec::new();
    collect_files(conformance, &mut files);
    collect_files(examples, &mut files);
    collect_files(&hostile_dir(), &mut files);
    files.sort();
    let mut seeds: BTreeMap<&'static str, Vec<Vec<u8>>> = BTreeMap::new();
    let mut add = |target: &'static str, seed: Vec<u8>| {
        let list = seeds.entry(target).or_default();
        if !list.contains(&seed) {
            list.push(seed);
        }
    };
    for path in &files {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let name = path.to_string_lossy().to_lowercase();
        let is_message = [".eml", ".msg", ".message"]
            .iter()
            .any(|ext| name.ends_with(ext))
            || (name.ends_with(".txt") && looks_like_message(&bytes));
        if is_message {
            add("header_split", bytes.clone());
            add("message_stream", bytes.clone());
            add("sign_verify", bytes.clone());
            add("analyze", bytes.clone());
            add("arc_chain", bytes.clone());
            let normalized_body = CrlfNormalizer::normalize(&bytes);
            let (_, body) = split_message(&normalized_body);
            add("body_canonicalization", [&[7u8][..], body].concat());
            let normalized = CrlfNormalizer::normalize(&bytes);
            let (head, _) = split_message(&normalized);
            if let Ok(headers) = Headers::parse(head, &MessageLimits::default()) {
                for field in headers.fields() {
                    let value = field.value().to_vec();
                    match field.name().to_ascii_lowercase().as_str() {
                        "dkim-signature" => add("dkim_signature", value),
                        "received" => add("received", value),
                        "from" | "to" | "cc" | "sender" => add("from_address", value),
                        "authentication-results" => add("authres", value),
                        "arc-authentication-results" => {
                            add("authres", value.clone());
                            add("arc_fields", value);
                        }
                        "arc-seal" | "arc-message-signature" => add("arc_fields", value),
                        _ => {}
                    }
                }
            }
        }
        // The ARC suite's messages sit inside YAML, indented under `message: |`.
        if name.contains("arc_test_suite") && name.ends_with(".yml") {
            for message in yaml_messages(&String::from_utf8_lossy(&bytes)) {
                let normalized = CrlfNormalizer::normalize(message.as_bytes());
                let (head, _) = split_message(&normalized);
                if let Ok(headers) = Headers::parse(head, &MessageLimits::default()) {
                    for field in headers.fields() {
                        if field.name().to_ascii_lowercase().starts_with("arc-") {
                            add("arc_fields", field.value().to_vec());
                        }
                    }
                }
                add("arc_chain", message.into_bytes());
            }
        }
        if name.ends_with(".zone") || name.ends_with(".dns") {
            add("zone_file", bytes.clone());
        }
        if name.contains("dmarc-reports") || name.contains("/reports/") {
            add("report", bytes.clone());
        }
        // Records and field values inside YAML, zone and text files, one per line.
        for line in String::from_utf8_lossy(&bytes).lines() {
            let line = line.trim().trim_start_matches("- ");
            let unquoted = line.trim_matches(|c| c == '"' || c == '\'');
            if let Some(at) = line.find("v=spf1") {
                add("spf_record", strip_quotes(&line[at..]).into());
                add("spf_macro", strip_quotes(&line[at..]).into());
            }
            if let Some(at) = line.find("v=DMARC1") {
                add("dmarc_record", strip_quotes(&line[at..]).into());
            }
            if line.contains("v=DKIM1") || line.contains("k=rsa") || line.contains("k=ed25519") {
                let at = line
                    .find("v=DKIM1")
                    .or_else(|| line.find("k="))
                    .unwrap_or(0);
                add("dkim_key_record", strip_quotes(&line[at..]).into());
            }
            if let Some(at) = line.find("dkim=") {
                let rest = strip_quotes(&line[at..]);
                if ["all", "unknown", "discardable"]
                    .iter()
                    .any(|p| rest[5..].starts_with(p))
                {
                    add("adsp_record", rest.into());
                }
            }
            if line.contains('%') && line.contains('{') {
                add("spf_macro", unquoted.into());
            }
            if let Some(rest) = line
                .strip_prefix("Authentication-Results:")
                .or_else(|| line.strip_prefix("authentication-results:"))
            {
                add("authres", rest.into());
            } else if line.contains("; ") && line.contains('=') && name.contains("authres")
                || name.contains("arh")
                || name.contains("authenticationresults")
            {
                add("authres", unquoted.into());
            }
        }
    }
    seeds
}

/// The block scalars under `message: |` in a YAML file, their indentation removed.
fn yaml_messages(text: &str) -> Vec<String> {
    let mut messages = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if !(line.trim_start().starts_with("message:") && line.trim_end().ends_with('|')) {
            continue;
        }
        let indent = line.len() - line.trim_start().len() + 2;
        let mut message = String::new();
        while let Some(next) = lines.peek() {
            let blank = next.trim().is_empty();
            if !blank && next.len() - next.trim_start().len() < indent {
                break;
            }
            message.push_str(next.get(indent..).unwrap_or(""));
            message.push('\n');
            lines.next();
        }
        messages.push(message);
    }
    messages
}

fn strip_quotes(text: &str) -> &str {
    let end = text.find(['"', '\'']).unwrap_or(text.len());
    &text[..end]
}

fn looks_like_message(bytes: &[u8]) -> bool {
    let start = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).to_ascii_lowercase();
    [
        "from:",
        "received:",
        "dkim-signature:",
        "subject:",
        "return-path:",
    ]
    .iter()
    .any(|name| start.contains(name))
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The conformance suites: `HANKO_CONFORMANCE`, or `../shared/conformance` beside the
/// repository.
pub fn conformance_dir() -> PathBuf {
    std::env::var_os("HANKO_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance")
        })
}

/// The hostile corpus the library's security tests replay.
pub fn hostile_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/hanko/tests/hostile")
}

/// The repository's `examples/`.
pub fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every seed, every saved crash (`regressions/TARGET/*`) and a local corpus
    /// (`corpus/TARGET/*`, written by scripts/fuzz.sh; absent in CI) through every target.
    #[test]
    fn corpora_replay_without_panics() {
        let conformance = conformance_dir();
        assert!(
            conformance.join("README.md").is_file(),
            "conformance suites missing at {} (set HANKO_CONFORMANCE)",
            conformance.display()
        );
        let seeds = seeds(&conformance, &examples_dir());
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        for (name, target) in TARGETS {
            let mut inputs = seeds.get(name).cloned().unwrap_or_default();
            assert!(!inputs.is_empty(), "no seeds for {name}");
            for folder in ["regressions", "corpus"] {
                let mut files = Vec::new();
                collect_files(&root.join(folder).join(name), &mut files);
                inputs.extend(files.iter().filter_map(|f| std::fs::read(f).ok()));
            }
            for input in &inputs {
                let outcome = std::panic::catch_unwind(|| target(input));
                assert!(
                    outcome.is_ok(),
                    "{name} panicked on {:?}",
                    String::from_utf8_lossy(&input[..input.len().min(300)])
                );
            }
        }
    }

    #[test]
    fn every_target_has_a_fuzz_binary() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        for (name, _) in TARGETS {
            let path = root.join("fuzz_targets").join(format!("{name}.rs"));
            let source = std::fs::read_to_string(&path)
                .unwrap_or_else(|_| panic!("{} missing", path.display()));
            assert!(source.contains(&format!("hanko_fuzz::{name}(")), "{source}");
        }
    }
}
