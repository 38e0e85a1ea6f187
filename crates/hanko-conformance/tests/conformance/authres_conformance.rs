//! Authentication-Results parsing against three independent suites in `../shared/conformance`:
//! dkim_verifier's 78 cases (strict and relaxed modes, RFC 8616), go-msgauth's 13 and
//! Mail::AuthenticationResults' 36 (headers captured from Gmail, Outlook, Yahoo, iCloud...).
//! Every case is named in the failure message; cases where a suite's own policy departs from
//! RFC 8601 are listed with the reason and checked to behave as hanko documents.

use hanko_test_support as common;

use hanko::authres::{AuthenticationResults, MethodResult, ParseOptions};
use serde_yaml_ng::Value;

use common::{yaml as load, yaml_text as text};

/// Inputs where dkim_verifier's strict mode is stricter than RFC 8601, with the reason hanko
/// accepts them.
const DKIM_VERIFIER_DEVIATIONS: &[(&str, &str)] = &[(
    "Authentication-Results: example.com; dkim=Pass\r\n",
    "ABNF literals are case-insensitive (RFC 5234 §2.3), so `Pass` is the registered `pass`; \
     the add-on itself accepts `spf=Pass`",
)];

/// One dkim_verifier expectation path (`resinfo[0].properties.header.d`) against the result.
fn dkim_verifier_value(field: &AuthenticationResults, path: &str) -> String {
    match path {
        "authserv_id" => return field.authserv_id.clone(),
        "authres_version" => return field.version.unwrap_or(1).to_string(),
        "resinfo.length" => return field.results.len().to_string(),
        _ => {}
    }
    let rest = path.strip_prefix("resinfo[").expect("a resinfo path");
    let (index, member) = rest.split_once("].").expect("resinfo[i].member");
    let result: &MethodResult = &field.results[index.parse::<usize>().unwrap()];
    match member {
        "method" => result.method.clone(),
        "method_version" => result.method_version.unwrap_or(1).to_string(),
        "result" => result.result.clone(),
        "reason" => result.reason.clone().unwrap_or_default(),
        _ => {
            let key = member.strip_prefix("properties.").expect("a property path");
            result
                .property(key)
                .unwrap_or_else(|| panic!("no property {key}"))
                .to_string()
        }
    }
}

#[test]
fn dkim_verifier_arh_parser_cases() {
    let suite = load("dkim_verifier/arh-parser-cases.yml");
    let cases = suite["cases"].as_sequence().unwrap();
    let mut checked = 0;
    for case in cases {
        let name = text(&case["name"]);
        let input = text(&case["input"]);
        let options = if case["relaxed"].as_bool().unwrap() {
            ParseOptions::lenient()
        } else {
            ParseOptions {
                lenient: false,
                internationalized: case["internationalized"].as_bool().unwrap(),
            }
        };
        let parsed = AuthenticationResults::parse(&input, options);
        if let Some((_, why)) = DKIM_VERIFIER_DEVIATIONS.iter().find(|(i, _)| *i == input) {
            let field = parsed.unwrap_or_else(|e| panic!("{name}: deviation ({why}) but: {e}"));
            assert_eq!(field.results[0].result, "pass", "{name}");
            checked += 1;
            continue;
        }
        if case["expect_error"].as_bool() == Some(true) {
            assert!(
                parsed.is_err(),
                "{name}: {input:?} must be refused, got {parsed:?}"
            );
            checked += 1;
            continue;
        }
        let field = parsed.unwrap_or_else(|e| panic!("{name}: {input:?}: {e}"));
        for (path, expected) in case["expect"].as_mapping().unwrap() {
            let path = text(path);
            assert_eq!(
                dkim_verifier_value(&field, &path),
                text(expected),
                "{name}: {path} of {input:?}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 78, "every case of the suite was run");
}

/// A Mail::AuthenticationResults `must_find` entry: a result with this method and result and
/// these properties (`header.i`, or an untyped `address`).
fn find(field: &AuthenticationResults, wanted: &serde_yaml_ng::Mapping) -> bool {
    field.results.iter().any(|r| {
        wanted.iter().all(|(key, value)| {
            let (key, value) = (text(key), text(value));
            match key.as_str() {
                "method" => r.method == value,
                "result" => r.result == value,
                _ => r.property(&key) == Some(value.as_str()),
            }
        })
    })
}

/// The case whose `normalized_output` is not RFC 8601 syntax: Mail::AuthenticationResults
/// writes the method-version after the result (`dkim=fail (...) / 1`), which no RFC 8601
/// parser reads. Its input is still checked.
const NORMALIZED_NOT_RFC_8601: &str = "RFC 8601 B.7 comment-heavy example";

#[test]
fn mail_authenticationresults_cases() {
    let suite = load("mail-authenticationresults/ar-parser-cases.yml");
    let cases = suite["cases"].as_sequence().unwrap();
    for case in cases {
        let name = text(&case["name"]);
        let input = text(&case["input"]);
        let parsed = AuthenticationResults::parse(&input, ParseOptions::lenient());
        if !case["expect_parse"].as_bool().unwrap() {
            assert!(
                parsed.is_err(),
                "{name}: {input:?} must be refused: {parsed:?}"
            );
            continue;
        }
        let field = parsed.unwrap_or_else(|e| panic!("{name}: {input:?}: {e}"));
        if let Some(id) = case.get("authserv_id") {
            assert_eq!(field.authserv_id, text(id), "{name}");
        }
        if let Some(version) = case.get("authres_version") {
            assert_eq!(field.version.map(|v| v.to_string()), Some(text(version)));
        }
        for wanted in case
            .get("must_find")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            assert!(
                find(&field, wanted.as_mapping().unwrap()),
                "{name}: {wanted:?} not found in {field:#?}"
            );
        }
        // Its canonical re-serialization must mean the same to us.
        if let Some(normalized) = case
            .get("normalized_output")
            .filter(|_| !name.starts_with(NORMALIZED_NOT_RFC_8601))
        {
            let again = AuthenticationResults::parse(&text(normalized), ParseOptions::lenient())
                .unwrap_or_else(|e| panic!("{name}: normalized form: {e}"));
            assert_eq!(again, field, "{name}: normalized form differs");
        }
    }
    assert_eq!(cases.len(), 36);
}

/// go-msgauth cases whose expectation hanko does not share.
const GO_MSGAUTH_DEVIATIONS: &[(&str, &str)] = &[(
    "",
    "an empty field has no authserv-id; RFC 8601 requires one, and Mail::AuthenticationResults \
     refuses it too",
)];

#[test]
fn go_msgauth_cases() {
    let suite = load("go-msgauth/authres-cases.yml");
    let mut count = 0;
    for group in ["round_trip", "parse_only"] {
        for case in suite[group].as_sequence().unwrap() {
            count += 1;
            let value = text(&case["value"]);
            let parsed = AuthenticationResults::parse(&value, ParseOptions::lenient());
            if GO_MSGAUTH_DEVIATIONS.iter().any(|(v, _)| *v == value) {
                assert!(parsed.is_err(), "{value:?}");
                continue;
            }
            let field = parsed.unwrap_or_else(|e| panic!("{group} {value:?}: {e}"));
            assert_eq!(field.authserv_id, text(&case["identifier"]), "{value:?}");
            let expected = case["results"].as_sequence().unwrap();
            assert_eq!(field.results.len(), expected.len(), "{value:?}");
            for (got, want) in field.results.iter().zip(expected) {
                for (key, v) in want.as_mapping().unwrap() {
                    let (key, v) = (text(key), text(v));
                    let actual = match key.as_str() {
                        "method" => Some(got.method.clone()),
                        "result" => Some(got.result.clone()),
                        "reason" => got.reason.clone(),
                        _ => got.property(&key).map(str::to_string),
                    };
                    assert_eq!(actual.as_deref(), Some(v.as_str()), "{value:?}: {key}");
                }
            }
            // What hanko writes for it reads back the same.
            let written = field.to_field();
            let back = AuthenticationResults::parse(&written, ParseOptions::lenient()).unwrap();
            assert_eq!(back, field, "{written}");
        }
    }
    assert_eq!(count, 13);
}

/// Every Authentication-Results field of dkim_verifier's `arh/*.eml` messages, strict and
/// lenient. (The add-on's expectations for these messages are its own trust policy and are not
/// transcribed; the parse is what hanko's analyzer builds on.) Strict parsing refuses exactly
/// the fields built to be wrong; lenient parsing reads all of them but `example/net;`, which
/// is no authserv-id in any reading.
#[test]
fn dkim_verifier_arh_messages() {
    let dir = common::conformance_dir().join("dkim_verifier/arh");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 21, "dkim_verifier/arh/*.eml");
    let strict_refuses = [
        "dkim-unknown_result.eml #0",
        "multiple_arh-newest_no_authserv.eml #0",
        "multiple_arh-newest_no_authserv.eml #2",
        "multiple_arh-newest_parsing_error_01.eml #0",
        "multiple_arh-newest_parsing_error_02.eml #0",
        "multiple_arh-newest_parsing_error_02.eml #2",
        "multiple_arh-same_and_different_authserv.eml #5",
        "rfc6376-A.2-arh-valid_relaxed.eml #0",
    ];
    let lenient_refuses = [
        "multiple_arh-newest_parsing_error_02.eml #0",
        "multiple_arh-newest_parsing_error_02.eml #2",
    ];
    let mut read = std::collections::BTreeMap::new();
    let mut wrong = Vec::new();
    for path in &names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        let (head, _) = hanko::message::split_message(&bytes);
        let head = String::from_utf8_lossy(head)
            .replace("\r\n", "\n")
            .replace('\n', "\r\n");
        let headers = hanko::message::Headers::parse(head.as_bytes(), &Default::default()).unwrap();
        for (index, field) in headers.named("Authentication-Results").enumerate() {
            let label = format!("{name} #{index}");
            let value = field.unfolded_value();
            let strict = AuthenticationResults::parse(&value, ParseOptions::strict());
            let lenient = AuthenticationResults::parse(&value, ParseOptions::lenient());
            if strict.is_ok() == strict_refuses.contains(&label.as_str()) {
                wrong.push(format!("{label}: strict gave {strict:?}"));
            }
            if lenient.is_ok() == lenient_refuses.contains(&label.as_str()) {
                wrong.push(format!("{label}: lenient gave {lenient:?}"));
            }
            if let (Ok(s), Ok(l)) = (&strict, &lenient) {
                if s != l {
                    wrong.push(format!("{label}: strict and lenient read it differently"));
                }
            }
            if let Ok(field) = lenient {
                let words: Vec<String> = field
                    .results
                    .iter()
                    .map(|r| format!("{}={}", r.method, r.result))
                    .collect();
                read.insert(label, (field.authserv_id, words.join(" ")));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(read.len(), 35, "37 fields, two refused by both modes");
    let at = |label: &str| read[label].clone();
    assert_eq!(
        at("multiple_dkim_results.eml #0").1,
        "dkim=fail dkim=pass dkim=pass dkim=fail dkim=fail dkim=fail dkim=pass"
    );
    assert_eq!(
        at("multiple_spf_and_dmarc_results.eml #0").1,
        "spf=fail spf=pass spf=none spf=softfail spf=policy spf=neutral spf=temperror \
         spf=permerror dmarc=fail dmarc=pass dmarc=permerror dmarc=none dmarc=temperror"
    );
    // `example.net; none`: no results at all.
    assert_eq!(
        at("multiple_arh-newest_no_result.eml #0"),
        ("example.net".into(), String::new())
    );
    // Microsoft's missing authserv-id reads as an empty one, never as a method.
    assert_eq!(
        at("multiple_arh-newest_no_authserv.eml #0"),
        (String::new(), "dkim=pass".into())
    );
    assert_eq!(
        at("multiple_arh-newest_unknown_method.eml #0").1,
        "foo=pass"
    );
    assert_eq!(at("dkim-unknown_result.eml #0").1, "dkim=timeout");
    assert_eq!(
        at("rfc6376-A.2-arh-valid_relaxed.eml #0").1,
        "spf=pass dkim=pass"
    );
}
