//! DMARC aggregate reports as receivers send them (`dmarc-reports/` in the conformance
//! folder: parsedmarc's samples, and mail-auth's with its own parses), through
//! `hanko_report`.

use hanko_report::aggregate::Schema;
use hanko_report::AggregateReport;
use hanko_report::{parse, Limits, Packing, Parsed};
use hanko_test_support::conformance_dir;

fn read(relative: &str) -> Parsed {
    let path = conformance_dir().join("dmarc-reports").join(relative);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn warnings(parsed: &Parsed) -> Vec<&str> {
    aggregate(parsed)
        .warnings
        .iter()
        .map(|w| w.0.as_str())
        .collect()
}

fn aggregate(parsed: &Parsed) -> &AggregateReport {
    parsed.report.aggregate().expect("an aggregate report")
}

#[test]
fn every_parsedmarc_aggregate_sample_reads_with_its_repairs_named() {
    // (file, packing, layout, records, a word each expected warning contains)
    let cases: &[(&str, Packing, Schema, usize, &[&str])] = &[
        (
            "!example.com!1538204542!1538463818.xml",
            Packing::Xml,
            Schema::Draft,
            1,
            &["org_name"],
        ),
        (
            "addisonfoods.com!example.com!1536105600!1536191999.xml",
            Packing::Xml,
            Schema::Rfc7489,
            1,
            &[],
        ),
        (
            "empty_reason.xml",
            Packing::Xml,
            Schema::Rfc7489,
            1,
            &["empty <reason>"],
        ),
        (
            "estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip",
            Packing::Zip,
            Schema::Draft,
            1,
            &[],
        ),
        (
            "example.net!example.com!1529366400!1529452799.xml",
            Packing::Xml,
            Schema::Rfc7489,
            1,
            &[],
        ),
        (
            "fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz",
            Packing::Gzip,
            Schema::Rfc7489,
            1,
            &[],
        ),
        (
            "invalid_xml.xml",
            Packing::Xml,
            Schema::Draft,
            1,
            &["never closed", "never closed", "never closed"],
        ),
        (
            "old_draft_from_wiki.xml",
            Packing::Xml,
            Schema::Draft,
            1,
            &[],
        ),
        ("rfc9990-sample.xml", Packing::Xml, Schema::Rfc9990, 1, &[]),
        (
            "usssa.com!example.com!1538784000!1538870399.xml",
            Packing::Xml,
            Schema::Rfc7489,
            2,
            &[],
        ),
    ];
    let dir = conformance_dir().join("dmarc-reports/parsedmarc/aggregate");
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        files,
        cases.len(),
        "a sample without a case in {}",
        dir.display()
    );
    for (file, packing, schema, records, expected) in cases {
        let parsed = read(&format!("parsedmarc/aggregate/{file}"));
        assert_eq!(parsed.packing, *packing, "{file}");
        assert_eq!(aggregate(&parsed).xml_schema, *schema, "{file}");
        assert_eq!(aggregate(&parsed).records.len(), *records, "{file}");
        let found = warnings(&parsed);
        assert_eq!(found.len(), expected.len(), "{file}: {found:?}");
        for (warning, word) in found.iter().zip(expected.iter()) {
            assert!(warning.contains(word), "{file}: {warning:?} lacks {word:?}");
        }
        assert!(
            !aggregate(&parsed).policy_published.domain.is_empty(),
            "{file}"
        );
        assert!(
            !aggregate(&parsed).report_metadata.report_id.is_empty(),
            "{file}"
        );
    }
}

#[test]
fn upper_case_result_words_are_read_with_a_warning_each() {
    let parsed = read("parsedmarc/aggregate_invalid/report_with_upper_cased_pass.xml");
    let record = &aggregate(&parsed).records[0];
    assert_eq!(record.policy_evaluated.disposition.as_str(), "none");
    assert_eq!(record.auth_results.dkim[0].result.as_str(), "pass");
    assert_eq!(record.auth_results.spf[0].result.as_str(), "pass");
    let found = warnings(&parsed);
    for field in ["disposition", "dkim result", "spf result"] {
        assert!(
            found
                .iter()
                .any(|w| w.starts_with(field) && w.contains("lower case")),
            "{field}: {found:?}"
        );
    }
}

#[test]
fn the_same_report_as_xml_gzip_and_zip_reads_the_same() {
    let plain = read("parsedmarc/extract_report/nice-input.xml");
    for (packed, packing) in [
        ("nice-input.xml.gz", Packing::Gzip),
        ("nice-input.xml.zip", Packing::Zip),
    ] {
        let other = read(&format!("parsedmarc/extract_report/{packed}"));
        assert_eq!(other.packing, packing);
        assert_eq!(other.report, plain.report, "{packed}");
    }
    let changed = read("parsedmarc/extract_report/changed-input.xml");
    assert_ne!(changed.report, plain.report);
}

/// mail-auth's parse of its five XML samples: the same values (its spellings differ:
/// "Quarantine" against the RFC's "quarantine", "Unspecified" for an absent element).
#[test]
fn mail_auth_samples_read_to_the_same_values() {
    let dir = conformance_dir().join("dmarc-reports/mail-auth/dmarc-feedback");
    for n in 1..=5 {
        let name = format!("{n:03}");
        let parsed = read(&format!("mail-auth/dmarc-feedback/{name}.xml"));
        let expected: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.json"))).unwrap())
                .unwrap();
        compare(&name, &parsed, &expected);
    }
}

/// The same for its five reports as e-mail messages (zip or gzip attachments, base64, one
/// inside multipart/mixed beside a text part, one from Exchange in multipart/related).
#[test]
fn mail_auth_messages_read_to_the_same_values() {
    let dir = conformance_dir().join("dmarc-reports/mail-auth/dmarc-feedback");
    for n in 100..=104 {
        let name = format!("{n}");
        let parsed = read(&format!("mail-auth/dmarc-feedback/{name}.eml"));
        assert!(parsed.in_message, "{name}");
        let expected: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.json"))).unwrap())
                .unwrap();
        compare(&name, &parsed, &expected);
    }
}

/// mail-auth's word for an RFC word: lower case, "Unspecified" for absent.
fn word(value: &serde_json::Value) -> Option<String> {
    match value.as_str() {
        None | Some("Unspecified") => None,
        Some(word) => Some(word.to_ascii_lowercase()),
    }
}

fn compare(name: &str, parsed: &Parsed, expected: &serde_json::Value) {
    let report = aggregate(parsed);
    let meta = &expected["report_metadata"];
    assert_eq!(
        report.report_metadata.org_name,
        meta["org_name"].as_str().unwrap(),
        "{name}"
    );
    assert_eq!(
        report.report_metadata.report_id,
        meta["report_id"].as_str().unwrap(),
        "{name}"
    );
    assert_eq!(
        Some(report.report_metadata.begin_date),
        meta["date_range"]["begin"].as_u64(),
        "{name}"
    );
    assert_eq!(
        Some(report.report_metadata.end_date),
        meta["date_range"]["end"].as_u64(),
        "{name}"
    );
    assert_eq!(
        report.report_metadata.org_email.as_deref(),
        meta["email"].as_str().filter(|e| !e.is_empty()),
        "{name}"
    );
    let published = &expected["policy_published"];
    assert_eq!(
        report.policy_published.domain,
        published["domain"].as_str().unwrap(),
        "{name}"
    );
    assert_eq!(
        report
            .policy_published
            .p
            .as_ref()
            .map(|p| p.as_str().to_string()),
        word(&published["p"]),
        "{name}"
    );
    let records = expected["record"].as_array().unwrap();
    assert_eq!(report.records.len(), records.len(), "{name}");
    for (ours, theirs) in report.records.iter().zip(records) {
        let row = &theirs["row"];
        assert_eq!(
            ours.source.ip_address.to_string(),
            row["source_ip"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(Some(ours.count), row["count"].as_u64(), "{name}");
        let evaluated = &row["policy_evaluated"];
        assert_eq!(
            Some(ours.policy_evaluated.disposition.as_str().to_string()),
            word(&evaluated["disposition"]),
            "{name}"
        );
        assert_eq!(
            ours.policy_evaluated
                .dkim
                .as_ref()
                .map(|v| v.as_str().to_string()),
            word(&evaluated["dkim"]),
            "{name}"
        );
        assert_eq!(
            ours.identifiers.header_from,
            theirs["identifiers"]["header_from"].as_str().unwrap(),
            "{name}"
        );
        let dkim = theirs["auth_results"]["dkim"].as_array().unwrap();
        assert_eq!(ours.auth_results.dkim.len(), dkim.len(), "{name}");
        for (a, b) in ours.auth_results.dkim.iter().zip(dkim) {
            assert_eq!(a.domain, b["domain"].as_str().unwrap(), "{name}");
            assert_eq!(
                Some(a.result.as_str().to_string()),
                word(&b["result"]),
                "{name}"
            );
        }
        let spf = theirs["auth_results"]["spf"].as_array().unwrap();
        assert_eq!(ours.auth_results.spf.len(), spf.len(), "{name}");
        for (a, b) in ours.auth_results.spf.iter().zip(spf) {
            assert_eq!(a.domain, b["domain"].as_str().unwrap(), "{name}");
            assert_eq!(
                Some(a.result.as_str().to_string()),
                word(&b["result"]),
                "{name}"
            );
        }
    }
}

#[test]
fn extensions_are_kept_as_written() {
    let parsed = read("mail-auth/dmarc-feedback/001.xml");
    let report = aggregate(&parsed);
    assert_eq!(report.extensions.len(), 1);
    assert!(report.extensions[0].starts_with("<extensions>"));
    assert!(report.extensions[0].contains("name=\"otherExtension\""));
    assert!(report.extensions[0].ends_with("</extensions>"));
    let record = &report.records[0];
    assert_eq!(record.extensions.len(), 1);
    assert!(record.extensions[0].contains("name=\"extensionName2\""));
    // Reports without extensions have none, the draft layout's rows included.
    for file in ["old_draft_from_wiki.xml", "rfc9990-sample.xml"] {
        let parsed = read(&format!("parsedmarc/aggregate/{file}"));
        let report = aggregate(&parsed);
        assert!(report.extensions.is_empty(), "{file}");
        assert!(
            report.records.iter().all(|r| r.extensions.is_empty()),
            "{file}"
        );
    }
}

#[test]
fn the_rfc9990_sample_keeps_its_new_elements() {
    let parsed = read("parsedmarc/aggregate/rfc9990-sample.xml");
    let report = aggregate(&parsed);
    assert_eq!(report.xml_schema, Schema::Rfc9990);
    let text = std::fs::read_to_string(
        conformance_dir().join("dmarc-reports/parsedmarc/aggregate/rfc9990-sample.xml"),
    )
    .unwrap();
    for (element, value) in [
        (
            "np",
            report
                .policy_published
                .np
                .as_ref()
                .map(|p| p.as_str().to_string()),
        ),
        (
            "discovery_method",
            report.policy_published.discovery_method.clone(),
        ),
        ("generator", report.report_metadata.generator.clone()),
    ] {
        if text.contains(&format!("<{element}>")) {
            assert!(
                value.is_some(),
                "<{element}> is in the sample but was not read"
            );
        }
    }
}

/// SMTP TLS reports (RFC 8460): parsedmarc's JSON samples, and mail-auth's as JSON and as the
/// e-mail messages that brought them (gzip and plain), against the JSON itself.
#[test]
fn smtp_tls_reports_read_from_json_and_from_e_mail() {
    for file in ["mail.ru.json", "rfc8460.json", "smtp_tls.json"] {
        let parsed = read(&format!("parsedmarc/smtp_tls/{file}"));
        let report = parsed.report.smtp_tls().expect("an SMTP TLS report");
        assert!(!report.policies.is_empty(), "{file}");
        assert!(!report.organization_name.is_empty(), "{file}");
        assert!(
            report.policies.iter().all(|p| p.policy_domain.is_some()),
            "{file}"
        );
    }
    let dir = conformance_dir().join("dmarc-reports/mail-auth/tlsrpt");
    for (name, message) in [("rpt01", true), ("rpt02", true), ("rpt03", false)] {
        let expected: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.json"))).unwrap())
                .unwrap();
        let mut sources = vec![read(&format!("mail-auth/tlsrpt/{name}.json"))];
        if message {
            let parsed = read(&format!("mail-auth/tlsrpt/{name}.eml"));
            assert!(parsed.in_message, "{name}");
            sources.push(parsed);
        }
        for parsed in sources {
            let report = parsed.report.smtp_tls().expect("an SMTP TLS report");
            assert_eq!(
                report.organization_name, expected["organization-name"],
                "{name}"
            );
            assert_eq!(
                report.report_id.as_deref(),
                expected["report-id"].as_str(),
                "{name}"
            );
            assert_eq!(
                report.begin_date, expected["date-range"]["start-datetime"],
                "{name}"
            );
            let policies = expected["policies"].as_array().unwrap();
            assert_eq!(report.policies.len(), policies.len(), "{name}");
            for (ours, theirs) in report.policies.iter().zip(policies) {
                assert_eq!(
                    ours.policy_domain.as_deref(),
                    theirs["policy"]["policy-domain"].as_str(),
                    "{name}"
                );
                // No summary: read as 0, with a warning.
                assert_eq!(
                    ours.successful_session_count,
                    theirs["summary"]["total-successful-session-count"]
                        .as_u64()
                        .unwrap_or(0),
                    "{name}"
                );
                // No summary: read as 0, with a warning.
                assert_eq!(
                    ours.failed_session_count,
                    theirs["summary"]["total-failure-session-count"]
                        .as_u64()
                        .unwrap_or(0),
                    "{name}"
                );
                let details = theirs["failure-details"].as_array().map_or(0, Vec::len);
                assert_eq!(ours.failure_details.len(), details, "{name}");
            }
        }
    }
}

/// Failure reports (ARF): mail-auth's five with its own parse, and parsedmarc's three (one
/// saved from an mbox with its `From ` line, one with CRLF line ends).
#[test]
fn failure_reports_read_to_the_values_of_mail_auth_and_parsedmarc() {
    let dir = conformance_dir().join("dmarc-reports/mail-auth/arf");
    // mail-auth's spellings: CamelCase words, "Unspecified" for absent.
    let word = |value: &serde_json::Value| -> Option<String> {
        let text = value.as_str()?;
        (text != "Unspecified").then(|| match text {
            "AuthFailure" => "auth-failure".to_string(),
            other => other.to_ascii_lowercase(),
        })
    };
    for n in 1..=5 {
        let name = format!("{n:03}");
        let parsed = read(&format!("mail-auth/arf/{name}.eml"));
        let report = parsed.report.failure().expect("a failure report");
        let expected: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.json"))).unwrap())
                .unwrap();
        assert_eq!(
            Some(report.feedback_type.clone()),
            word(&expected["feedback_type"]),
            "{name}"
        );
        assert_eq!(
            report.source.as_ref().map(|s| s.ip_address.as_str()),
            expected["source_ip"].as_str(),
            "{name}"
        );
        assert_eq!(
            report.reported_domain.as_deref(),
            expected["reported_domain"][0].as_str(),
            "{name}"
        );
        assert_eq!(
            report.auth_failure.first().cloned(),
            word(&expected["auth_failure"]),
            "{name}"
        );
        assert_eq!(
            report.dkim_domain.as_deref(),
            expected["dkim_domain"].as_str(),
            "{name}"
        );
        assert_eq!(
            report.original_mail_from.as_deref(),
            expected["original_mail_from"].as_str(),
            "{name}"
        );
        assert!(report.parsed_sample.is_some(), "{name}: the sample is read");
        assert_eq!(
            report.arrival_date,
            expected["arrival_date"]
                .as_u64()
                .map(hanko_report::time::format),
            "{name}"
        );
    }
    let dir = conformance_dir().join("dmarc-reports/parsedmarc/failure");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3);
    for file in files {
        let parsed = read(&format!("parsedmarc/failure/{file}"));
        let report = parsed.report.failure().expect("a failure report");
        assert_eq!(report.feedback_type, "auth-failure", "{file}");
        let sample = report.parsed_sample.as_ref().expect("a sample");
        assert!(sample.from.is_some(), "{file}");
        assert!(report.source.is_some(), "{file}");
        assert!(report.reported_domain.is_some(), "{file}");
    }
}

/// Reports hanko writes validate against RFC 9990's schema (dmarc-reports/dmarc-xml-0.2.xsd)
/// with xmllint (Debian libxml2-utils, installed by scripts/test.sh): every kind of row, an
/// IPv6 source, both override reasons, several signatures, no SPF, all optional fields.
#[test]
fn generated_reports_validate_against_the_rfc9990_schema() {
    use hanko::dkim::DkimVerdict;
    use hanko::dmarc::{AlignmentMode, Policy};
    use hanko::receiver::{
        Disposition, DkimEvaluation, Evaluation, Override, PublishedPolicy, SpfEvaluation,
    };
    use hanko::spf::{SpfIdentity, SpfVerdict};
    use hanko_report::generate::{build, to_xml, Reporter};

    let found = std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "xmllint not found: run scripts/test.sh, which installs Debian's libxml2-utils"
    );
    let base = Evaluation {
        time: 1_795_000_000,
        source_ip: Some("192.0.2.10".parse().unwrap()),
        header_from: "example.com".into(),
        envelope_from: Some("example.com".into()),
        envelope_to: Some("example.net".into()),
        policy_domain: "example.com".into(),
        published: PublishedPolicy {
            policy: Policy::Reject,
            subdomain_policy: Some(Policy::Quarantine),
            nonexistent_policy: Some(Policy::Reject),
            dkim_alignment: AlignmentMode::Strict,
            spf_alignment: AlignmentMode::Relaxed,
            testing: false,
            failure_options: Some("1:d".into()),
        },
        disposition: Disposition::Pass,
        dkim_aligned_pass: true,
        spf_aligned_pass: true,
        overrides: Vec::new(),
        dkim: vec![
            DkimEvaluation {
                domain: "example.com".into(),
                selector: "sel".into(),
                result: DkimVerdict::Pass,
            },
            DkimEvaluation {
                domain: "esp.example".into(),
                selector: "s1".into(),
                result: DkimVerdict::Fail,
            },
        ],
        spf: Some(SpfEvaluation {
            domain: "example.com".into(),
            identity: SpfIdentity::MailFrom,
            result: SpfVerdict::Pass,
        }),
    };
    let mut rows = vec![base.clone()];
    let mut spoof = base.clone();
    spoof.source_ip = Some("2001:db8::25".parse().unwrap());
    spoof.disposition = Disposition::None;
    spoof.dkim_aligned_pass = false;
    spoof.spf_aligned_pass = false;
    spoof.overrides = vec![
        Override::PolicyTestMode,
        Override::TrustedForwarder {
            comment: "ARC sealer lists.example.org (i=1) recorded dmarc=pass <&>".into(),
        },
    ];
    spoof.dkim.clear();
    spoof.spf = None;
    spoof.envelope_from = None;
    spoof.envelope_to = None;
    rows.push(spoof);
    let reporter = Reporter {
        org_name: "Example & Co".into(),
        org_email: "dmarc@example.net".into(),
        extra_contact_info: Some("https://example.net/dmarc".into()),
    };
    let report = build(
        &reporter,
        "example.com",
        (1_794_960_000, 1_795_046_399),
        &rows,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.xml");
    std::fs::write(&file, to_xml(&report)).unwrap();
    let schema = conformance_dir().join("dmarc-reports/dmarc-xml-0.2.xsd");
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        to_xml(&report)
    );
}
