//! The ValiMail ARC validation suite (175 cases) once more, through the real network path:
//! `hanko verify --json` asks hickory-resolver, which asks a DNS server on 127.0.0.1 serving
//! each scenario's key records. (The library-level run is in `hanko-conformance`.)

use hanko_dns::server::{ServerConfig, TestServer};
use hanko_dns::{RecordData, Zone};

mod common;
use hanko_test_support::arc_suite::{required_cv, scenarios};

use common::{run, HANKO};

/// The suite's signatures carry no x= and t= in 1970: any later time will do.
const NOW: &str = "1700000000";

#[test]
fn valimail_validation_suite_over_a_loopback_dns_server() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut total = 0;
    let mut failures = Vec::new();
    for scenario in scenarios("arc_test_suite/arc-draft-validation-tests.yml") {
        let mut zone = Zone::new();
        for (name, text) in scenario.records() {
            // Character-strings of at most 255 octets (RFC 1035 §3.3.14).
            let strings = text.as_bytes().chunks(255).map(<[u8]>::to_vec).collect();
            zone.add(&name, 300, RecordData::Txt(strings));
        }
        let server = runtime
            .block_on(TestServer::start(ServerConfig::new(zone)))
            .unwrap();
        let address = server.addr().to_string();
        for (name, case) in &scenario.tests.0 {
            let message = case["message"].as_str().unwrap_or("");
            // A message without a header section is refused before any check: the library
            // run covers `none` for those.
            if message.trim().is_empty() || !message.contains(':') {
                continue;
            }
            total += 1;
            let out = run(
                HANKO,
                &[
                    "--nameserver",
                    &address,
                    "--dns-timeout",
                    "2",
                    "verify",
                    "--json",
                    "--time",
                    NOW,
                ],
                message.as_bytes(),
            );
            let json: serde_json::Value = match serde_json::from_slice(&out.stdout) {
                Ok(json) => json,
                Err(e) => {
                    failures.push(format!(
                        "{name}: {e}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    ));
                    continue;
                }
            };
            let got = json["arc"]["result"].as_str().unwrap_or("?");
            let want = required_cv(name, case);
            if got != want {
                failures.push(format!(
                    "{name}: got {got} ({}), expected {want}",
                    json["arc"]["reason"]
                ));
            }
        }
        drop(server);
    }
    assert!(total >= 170, "{total} cases run");
    assert!(
        failures.is_empty(),
        "{} of {total} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A tag list's tags, white space removed from the values, `b=` and `s=` left out.
fn tags_but_key(value: &str) -> Vec<(String, String)> {
    let tags = hanko::message::TagList::parse(value.as_bytes()).expect("a tag list");
    tags.tags()
        .iter()
        .filter(|t| t.name != "b" && t.name != "s")
        .map(|t| (t.name.clone(), hanko::message::strip_ws(&t.value)))
        .collect()
}

/// The ValiMail signing suite (17 cases) through `hanko arc seal --from-results`, as a list
/// server would run it: the results and `cv=` from the message's Authentication-Results of
/// the suite's authserv-id, the suite's signed fields and time. The suite's key is 1,024-bit
/// RSA, which hanko does not sign with, so the seal uses a key of its own: every tag but
/// `b=` and `s=` equals the suite's, the ARC-Authentication-Results too, and a chain whose
/// newest seal says cv=fail is passed on unchanged with exit status 1.
#[test]
fn valimail_signing_suite_through_arc_seal() {
    use hanko_test_support::arc_suite::scenarios;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("seal.private");
    let out = run(
        HANKO,
        &[
            "keygen",
            "--domain",
            "example.org",
            "--selector",
            "hanko",
            "--out",
            dir.path().to_str().unwrap(),
        ],
        b"",
    );
    assert!(out.status.success());
    std::fs::rename(dir.path().join("hanko.private"), &key).unwrap();
    let mut total = 0;
    let mut wrong = Vec::new();
    for scenario in scenarios("arc_test_suite/arc-draft-sign-tests.yml") {
        for (name, case) in &scenario.tests.0 {
            total += 1;
            let field = |k: &str| case.get(k).and_then(|v| v.as_str()).unwrap_or("").trim();
            let t = case["t"].as_u64().unwrap().to_string();
            let out = run(
                HANKO,
                &[
                    "arc",
                    "seal",
                    "--from-results",
                    "--authserv-id",
                    field("srv-id"),
                    "--domain",
                    "example.org",
                    "--selector",
                    "hanko",
                    "--key",
                    key.to_str().unwrap(),
                    "--headers",
                    &field("sig-headers").replace(':', ","),
                    "--oversign",
                    "",
                    "--timestamp",
                    &t,
                ],
                field("message").as_bytes(),
            );
            if field("AS").is_empty() {
                if out.status.code() != Some(1) {
                    wrong.push(format!("{name}: sealed a chain that says cv=fail"));
                }
                continue;
            }
            if out.status.code() != Some(0) {
                wrong.push(format!("{name}: {}", String::from_utf8_lossy(&out.stderr)));
                continue;
            }
            let sealed = hanko::message::CrlfNormalizer::normalize(&out.stdout);
            let (head, _) = hanko::message::split_message(&sealed);
            let headers = hanko::message::Headers::parse(head, &Default::default()).unwrap();
            let value = |name: &str| {
                headers
                    .named(name)
                    .next()
                    .map(|f| String::from_utf8_lossy(f.value()).into_owned())
                    .unwrap_or_default()
            };
            for (label, ours, theirs) in [
                ("AS", value("ARC-Seal"), field("AS")),
                ("AMS", value("ARC-Message-Signature"), field("AMS")),
            ] {
                if tags_but_key(&ours) != tags_but_key(theirs) {
                    wrong.push(format!(
                        "{name} {label}:\n  ours   {ours}\n  theirs {theirs}"
                    ));
                }
            }
            let collapse = |t: &str| t.split_ascii_whitespace().collect::<Vec<_>>().join(" ");
            if collapse(&value("ARC-Authentication-Results")) != collapse(field("AAR")) {
                wrong.push(format!(
                    "{name} AAR: {}",
                    value("ARC-Authentication-Results")
                ));
            }
        }
    }
    assert_eq!(total, 17);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
