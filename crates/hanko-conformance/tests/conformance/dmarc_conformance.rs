//! DMARC against the public cases in `../shared/conformance`: mail-auth's record, alignment,
//! policy-discovery and tree-walk cases (RFC 9989), OpenDMARC's record, alignment and From
//! cases, dkim_verifier's RFC 7489 Appendix B scenarios, and authheaders' complete
//! Authentication-Results cases (DKIM verified by hanko, DMARC compared field by field).
//! Where a suite's answer is its own leniency or RFC 7489's and hanko follows RFC 9989, the
//! case is listed with the reason and hanko's answer is asserted instead.

use hanko_test_support as common;

use std::net::Ipv4Addr;

use common::MapDns;
use hanko::authres::{self, AuthenticationResults, ParseOptions};
use hanko::dkim::{DkimVerdict, Verifier, VerifyConfig};
use hanko::dmarc::{
    self, AlignmentMode, DmarcProblem, DmarcRecord, DmarcVerdict, Identifiers, Policy, PsdFlag,
    RecordError,
};
use hanko::message::{split_message, CrlfNormalizer, Headers};
use serde_yaml_ng::{Mapping, Value};

use common::{yaml as load, yaml_text as text};

fn headers_with_from(from: &str) -> Headers {
    Headers::parse(format!("From: {from}\r\n").as_bytes(), &Default::default()).unwrap()
}

/// mail-auth's DNS maps: `_dmarc.x` TXT records, and `name (A)` entries that make a name exist.
fn mail_auth_dns(map: &Value) -> MapDns {
    let mut dns = MapDns::default();
    for (name, value) in map.as_mapping().into_iter().flatten() {
        let name = text(name);
        match name.strip_suffix(" (A)") {
            Some(host) => dns.add_a(host, text(value).parse().unwrap()),
            None => dns.add(&name, &text(value)),
        }
    }
    dns
}

fn policy_word(p: Option<Policy>) -> &'static str {
    p.map_or("-", Policy::as_str)
}

#[tokio::test]
async fn mail_auth_record_parse() {
    let suite = load("stalwartlabs-mail-auth/dmarc-cases.yml");
    for case in suite["record_parse"].as_sequence().unwrap() {
        let input = text(&case["record"]);
        let r = DmarcRecord::parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
        let want = &case["expect"];
        let sp = r.subdomain_policy.unwrap_or(r.policy);
        let got = [
            ("p", r.policy.as_str().to_string()),
            ("sp", sp.as_str().to_string()),
            (
                "np",
                r.nonexistent_policy.unwrap_or(sp).as_str().to_string(),
            ),
            ("adkim", r.dkim_alignment.as_str().to_string()),
            ("aspf", r.spf_alignment.as_str().to_string()),
            ("fo", r.failure_options.to_string()),
            (
                "psd",
                match r.psd {
                    PsdFlag::Yes => "y",
                    PsdFlag::No => "n",
                    PsdFlag::Unspecified => "default",
                }
                .to_string(),
            ),
            ("t", r.testing.to_string()),
        ];
        for (tag, value) in got {
            assert_eq!(value, text(&want[tag]), "{input}: {tag}");
        }
        for (tag, uris) in [("rua", &r.aggregate_reports), ("ruf", &r.failure_reports)] {
            let expected: Vec<(String, u64)> = want[tag]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|u| (text(&u["addr"]), u["max_size"].as_u64().unwrap()))
                .collect();
            let actual: Vec<(String, u64)> = uris
                .iter()
                .map(|u| (u.address.clone().unwrap(), u.max_size.unwrap_or(0)))
                .collect();
            assert_eq!(actual, expected, "{input}: {tag}");
        }
    }
}

/// mail-auth's per-mechanism words: `pass` (authenticated and aligned), `fail (not aligned)`
/// (authenticated, not aligned), `none` (not authenticated).
fn mechanism_word(alignment: Option<&dmarc::Alignment>) -> &'static str {
    match alignment {
        Some(a) if a.pass && a.aligned => "pass",
        Some(a) if a.pass => "fail (not aligned)",
        _ => "none",
    }
}

#[tokio::test]
async fn mail_auth_alignment_policy_discovery_and_tree_walk() {
    let suite = load("stalwartlabs-mail-auth/dmarc-cases.yml");
    for group in ["alignment", "policy_discovery", "tree_walk"] {
        for case in suite[group].as_sequence().unwrap() {
            let name = text(&case["name"]);
            let dns = mail_auth_dns(&case["dns"]);
            let mut ids = Identifiers::default();
            if let Some(spf) = case.get("spf") {
                ids = ids.with_spf(&text(&spf["domain"]), text(&spf["result"]) == "pass");
            }
            if let Some(dkim) = case.get("dkim") {
                ids = ids.with_dkim(&text(&dkim["d"]), text(&dkim["result"]) == "pass");
            }
            let headers = headers_with_from(&text(&case["from"]));
            let outcome = dmarc::check(&dns, &headers, &ids).await;
            let eval = &outcome.evaluations[0];
            if let Some(expect) = case.get("expect") {
                for (key, want) in expect.as_mapping().unwrap() {
                    let got = match text(key).as_str() {
                        "dkim" => mechanism_word(eval.dkim.first()),
                        "spf" => mechanism_word(eval.spf.as_ref()),
                        "policy" => policy_word(eval.policy),
                        other => panic!("{name}: unknown expectation {other}"),
                    };
                    assert_eq!(got, text(want), "{name}: {}", text(key));
                }
            }
            if let Some(want) = case.get("expect_policy") {
                assert_eq!(policy_word(eval.policy), text(want), "{name}");
            }
            if case.get("expect_record").is_some() {
                assert_eq!(outcome.verdict, DmarcVerdict::None, "{name}");
                assert_eq!(eval.record, None);
            }
            assert!(
                outcome.dns_queries <= dmarc::discovery::MAX_WALK_QUERIES,
                "{name}: {} queries",
                outcome.dns_queries
            );
        }
    }
}

/// OpenDMARC record answers hanko does not share.
const OPENDMARC_RECORD_DEVIATIONS: &[(&str, &str)] = &[
    ("v=DMARC1; p=n;", "RFC 9989 §4.7 defines none, quarantine and reject only; `n` is an invalid value (hanko: permerror)"),
    ("v=DMARC1; p=none; rf=bob;", "rf= was removed by RFC 9989: read and reported as ignored"),
    ("v=DMARC1; p=none; ri=bob;", "ri= was removed by RFC 9989: read and reported as ignored"),
    ("v=DMARC1; p=none; pct=500;", "pct= was removed by RFC 9989: read and reported as ignored"),
    ("v=DMARC1; p=none; rf=000000000000000000000000000000000", "rf= was removed by RFC 9989: read and reported as ignored"),
    ("v=DMARC1; pct=100;", "RFC 9989 §4.7: a record without p= is read as p=none (RFC 7489 ignored it)"),
];

#[test]
fn opendmarc_record_parse() {
    let suite = load("opendmarc/libopendmarc-cases.yml");
    for case in suite["dmarc_record_parse"].as_sequence().unwrap() {
        let input = text(&case["record"]);
        let expect = text(&case["expect"]);
        let parsed = DmarcRecord::parse(&input);
        if let Some((_, why)) = OPENDMARC_RECORD_DEVIATIONS
            .iter()
            .find(|(r, _)| *r == input)
        {
            if input.contains("p=n;") {
                assert!(
                    matches!(parsed, Err(RecordError::InvalidValue { .. })),
                    "{input}: {why}"
                );
            } else {
                let record = parsed.unwrap_or_else(|e| panic!("{input} ({why}): {e}"));
                assert!(
                    !record.ignored.is_empty() || !record.policy_given,
                    "{input}: {why}"
                );
            }
            continue;
        }
        match expect.as_str() {
            "OKAY" => {
                parsed.unwrap_or_else(|e| panic!("{input}: {e}"));
            }
            "ERROR_EMPTY" => assert_eq!(parsed, Err(RecordError::Empty)),
            "ERROR_BAD_VERSION" => assert_eq!(parsed, Err(RecordError::NotDmarc)),
            _ => assert!(
                matches!(parsed, Err(RecordError::InvalidValue { .. })),
                "{input}: {parsed:?}"
            ),
        }
    }
}

/// The last two labels: where these tests publish the Organizational Domain's record.
fn registrable(domain: &str) -> String {
    let labels: Vec<&str> = domain.split('.').filter(|l| !l.is_empty()).collect();
    labels[labels.len().saturating_sub(2)..].join(".")
}

#[tokio::test]
async fn opendmarc_alignment() {
    // OpenDMARC compares two names with the PSL; here each Organizational Domain publishes a
    // record, so the tree walk finds the same boundary.
    let suite = load("opendmarc/libopendmarc-cases.yml");
    for case in suite["alignment"].as_sequence().unwrap() {
        let (a, b) = (text(&case["a"]), text(&case["b"]));
        let mode = if text(&case["mode"]) == "strict" {
            "s"
        } else {
            "r"
        };
        let author = dmarc::normalize_domain(&b).unwrap();
        let mut dns = MapDns::default();
        dns.add(
            &format!("_dmarc.{}", registrable(&author)),
            &format!("v=DMARC1; p=reject; adkim={mode}"),
        );
        let ids = Identifiers::default().with_dkim(&a, true);
        let outcome = dmarc::check(&dns, &headers_with_from(&format!("x@{b}")), &ids).await;
        let aligned = outcome.evaluations[0].dkim[0].aligned;
        assert_eq!(
            aligned,
            case["expect"].as_i64() == Some(0),
            "{a} vs {b} ({mode})"
        );
        let record = DmarcRecord::parse(&format!("v=DMARC1; adkim={mode}")).unwrap();
        assert_eq!(record.dkim_alignment == AlignmentMode::Strict, mode == "s");
    }
}

#[test]
fn from_domain_extraction() {
    // OpenDMARC returns the first address of a multi-author From; hanko returns every Author
    // Domain (RFC 9989 evaluates each), so the first is compared, or for a field that does not
    // parse, the salvage must include it.
    let suite = load("opendmarc/libopendmarc-cases.yml");
    let authheaders = load("authheaders/dmarc-cases.yml");
    let cases = suite["find_from_domain"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| (text(&c["input"]), text(&c["domain"])))
        .chain(
            authheaders["get_domain_part"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|c| (text(&c["from"]), text(&c["domain"]))),
        );
    let mut count = 0;
    for (input, domain) in cases {
        let authors = dmarc::author_domains(&headers_with_from(&input));
        if hanko::message::parse_mailboxes(&input).is_ok() {
            assert!(authors.unreadable.is_empty(), "{input}: {authors:?}");
            assert_eq!(authors.domains[0], domain, "{input}");
        } else {
            // A broken field is salvaged into every domain it could mean (quoted and
            // commented ones too); the one the suite expects must be among them. Readers
            // disagree on such a field, so it is also named unreadable, which the receiver
            // enforces as `reject` by default (a spoof must not hide in it).
            assert!(authors.domains.contains(&domain), "{input}: {authors:?}");
            assert!(
                matches!(authors.unreadable[..], [DmarcProblem::UnparseableFrom(_)]),
                "{input}: {authors:?}"
            );
        }
        count += 1;
    }
    assert_eq!(count, 17);
    let both = dmarc::author_domains(&headers_with_from("Joe Johnson <joe@joe.com>, ace@ace.com"));
    assert_eq!(both.domains, ["joe.com", "ace.com"]);
}

#[tokio::test]
async fn dkim_verifier_rfc7489_appendix_b() {
    let suite = load("dkim_verifier/dmarc-rfc7489-appendix-b.yml");
    let mut queries = 0;
    for case in suite["cases"].as_sequence().unwrap() {
        let name = text(&case["name"]);
        let dns = mail_auth_dns(&case["dns"]);
        for query in case["queries"].as_sequence().unwrap() {
            let from = text(&query["from"]);
            let headers = headers_with_from(&from);
            let applies = query["policy_applies"].as_bool().unwrap();
            let outcome = dmarc::check(&dns, &headers, &Identifiers::default()).await;
            let expected = if applies {
                DmarcVerdict::Fail
            } else {
                DmarcVerdict::None
            };
            assert_eq!(outcome.verdict, expected, "{name}: {from}");
            for sdid in query["aligned_sdids"].as_sequence().unwrap() {
                let ids = Identifiers::default().with_dkim(&text(sdid), true);
                let outcome = dmarc::check(&dns, &headers, &ids).await;
                assert_eq!(
                    outcome.verdict,
                    DmarcVerdict::Pass,
                    "{name}: {from} {sdid:?}"
                );
            }
            if applies {
                let ids = Identifiers::default().with_dkim("example.net", true);
                let outcome = dmarc::check(&dns, &headers, &ids).await;
                assert_eq!(
                    outcome.verdict,
                    DmarcVerdict::Fail,
                    "{name}: unrelated SDID"
                );
            }
            queries += 1;
        }
    }
    assert_eq!(queries, 11);
}

/// authheaders cases where hanko follows RFC 9989 and authheaders RFC 7489.
const AUTHHEADERS_DEVIATIONS: &[(&str, &str)] = &[(
    "record without p= (nop.example.org)",
    "RFC 9989 §4.7 reads a record without p= as p=none, so DMARC applies (fail, policy none); \
     RFC 7489 §6.6.3 ignored such a record (dmarc=none)",
)];

/// authheaders' DNS stub: `_dmarc` names give TXT records; other names exist when their TXT
/// answer is a non-empty string (that is how its np= existence probe reads them).
fn authheaders_dns(map: &Mapping) -> MapDns {
    let mut dns = MapDns::default();
    for (name, value) in map {
        let name = text(name);
        let value = text(value);
        if value.is_empty() {
            continue;
        }
        if name.starts_with("test._domainkey.") {
            let key = String::from_utf8(common::read("authheaders/test.txt")).unwrap();
            dns.add(&name, key.trim());
        } else if name.starts_with('_') {
            dns.add(&name, &value);
        } else {
            dns.add_a(&name, Ipv4Addr::new(192, 0, 2, 1));
        }
    }
    dns
}

#[tokio::test]
async fn authheaders_cases() {
    let suite = load("authheaders/dmarc-cases.yml");
    let dns = authheaders_dns(suite["dns_txt"].as_mapping().unwrap());
    let mut checked = 0;
    for case in suite["cases"].as_sequence().unwrap() {
        let name = text(&case["name"]);
        let options = &case["options"];
        let enabled = |key: &str| options.get(key).and_then(Value::as_bool) != Some(false);
        let message = CrlfNormalizer::normalize(&common::read(&format!(
            "authheaders/{}",
            text(&case["message"])
        )));
        let (head, body) = split_message(&message);
        let headers = Headers::parse(head, &Default::default()).unwrap();
        let expected =
            AuthenticationResults::parse(&text(&case["expect"]), ParseOptions::lenient()).unwrap();

        // DKIM: hanko's own verification, or the results of the earlier header ("prev").
        let mut ids = Identifiers::default();
        let mut field = AuthenticationResults::new("example.com");
        if let Some(prev) = case.get("prev") {
            let prev = AuthenticationResults::parse(&text(prev), ParseOptions::lenient()).unwrap();
            for r in &prev.results {
                if r.method == "dkim" {
                    ids = ids.with_dkim(r.property("header.d").unwrap(), r.result == "pass");
                }
            }
            field.results = prev.results.clone();
        }
        if enabled("dkim") {
            let mut verifier = Verifier::new(&headers, VerifyConfig::default());
            verifier.body(body);
            let verification = verifier.finish(&dns, 1_700_000_000).await;
            assert!(
                verification
                    .results
                    .iter()
                    .all(|r| r.verdict() == DkimVerdict::Pass),
                "{name}: {verification:#?}"
            );
            ids.dkim
                .extend(Identifiers::from_results(&verification, None).dkim);
            field.results.extend(authres::from::dkim(&verification));
            let want = expected.find("dkim").unwrap();
            let got = field.find("dkim").unwrap();
            assert_eq!(
                (&got.result, got.property("header.d")),
                (&want.result, want.property("header.d")),
                "{name}"
            );
        }
        if !enabled("dmarc") {
            assert!(expected.find("dmarc").is_none());
            checked += 1;
            continue;
        }
        let outcome = dmarc::check(&dns, &headers, &ids).await;
        let got = authres::from::dmarc(&outcome);
        let want = expected.find("dmarc").unwrap();
        if let Some((_, why)) = AUTHHEADERS_DEVIATIONS.iter().find(|(n, _)| *n == name) {
            assert_eq!(want.result, "none");
            assert_eq!(outcome.verdict, DmarcVerdict::Fail, "{name}: {why}");
            assert_eq!(got.property("policy.dmarc"), Some("none"), "{name}");
            checked += 1;
            continue;
        }
        assert_eq!(got.result, want.result, "{name}: {:?}", outcome.problem);
        if want.result != "permerror" {
            assert_eq!(
                got.property("header.from"),
                want.property("header.from"),
                "{name}"
            );
            assert_eq!(
                got.property("policy.dmarc"),
                want.property("policy.dmarc"),
                "{name}"
            );
        }
        // The written field parses back strictly.
        field.results.push(got);
        AuthenticationResults::parse(&field.to_field(), ParseOptions::strict())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        checked += 1;
    }
    assert_eq!(checked, 13);
}
