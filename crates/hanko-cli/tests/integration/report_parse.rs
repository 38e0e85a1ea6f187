//! `hanko report parse`: aggregate reports as a summary or as JSON Lines, and a refused input
//! named with the others still read.

use crate::common;
use common::{run, HANKO};

const REPORT: &str = r#"<?xml version="1.0"?>
<feedback>
  <version>1.0</version>
  <report_metadata>
    <org_name>mx.example.net</org_name><email>dmarc@example.net</email>
    <report_id>r-2026-12-06</report_id>
    <date_range><begin>1796515200</begin><end>1796601599</end></date_range>
  </report_metadata>
  <policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf>
    <p>reject</p><sp>reject</sp><pct>100</pct></policy_published>
  <record>
    <row><source_ip>192.0.2.25</source_ip><count>40</count>
      <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>
    <identifiers><header_from>example.com</header_from><envelope_from>example.com</envelope_from></identifiers>
    <auth_results><dkim><domain>example.com</domain><selector>s2026</selector><result>pass</result></dkim>
      <spf><domain>example.com</domain><scope>mfrom</scope><result>pass</result></spf></auth_results>
  </record>
  <record>
    <row><source_ip>203.0.113.9</source_ip><count>2</count>
      <policy_evaluated><disposition>Reject</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row>
    <identifiers><header_from>example.com</header_from></identifiers>
    <auth_results><spf><domain>spoof.example</domain><result>hardfail</result></spf></auth_results>
  </record>
</feedback>
"#;

#[test]
fn reports_read_as_json_lines_with_parsedmarc_names_and_a_refused_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir
        .path()
        .join("mx.example.net!example.com!1796515200!1796601599.xml.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, REPORT.as_bytes()).unwrap();
    std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
    let junk = dir.path().join("notes.txt");
    std::fs::write(&junk, "not a report").unwrap();

    let out = run(
        HANKO,
        &["report", "parse", "--json", dir.path().to_str().unwrap()],
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "a refused input: status 2");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let report = &lines[0];
    assert_eq!(report["type"], "aggregate");
    assert_eq!(report["xml_schema"], "rfc7489");
    assert_eq!(report["report_metadata"]["org_name"], "mx.example.net");
    assert_eq!(
        report["report_metadata"]["begin_date"],
        "2026-12-06T00:00:00Z"
    );
    assert_eq!(report["policy_published"]["p"], "reject");
    assert_eq!(report["records"][0]["source"]["ip_address"], "192.0.2.25");
    assert_eq!(report["records"][0]["count"], 40);
    assert_eq!(
        report["records"][0]["auth_results"]["dkim"][0]["selector"],
        "s2026"
    );
    // Repairs are read and named.
    assert_eq!(
        report["records"][1]["policy_evaluated"]["disposition"],
        "reject"
    );
    assert_eq!(
        report["records"][1]["auth_results"]["spf"][0]["result"],
        "fail"
    );
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("\"Reject\"")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("\"hardfail\"")),
        "{warnings:?}"
    );
    assert_eq!(lines[1]["type"], "error");
    assert!(lines[1]["file"].as_str().unwrap().ends_with("notes.txt"));
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("not well-formed XML")
            || lines[1]["error"]
                .as_str()
                .unwrap()
                .contains("no root element"),
        "{}",
        lines[1]
    );

    // The summary, from standard input.
    let out = run(HANKO, &["report", "parse"], REPORT.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("from mx.example.net (r-2026-12-06)"),
        "{text}"
    );
    assert!(
        text.contains("42 messages in 2 records, 40 passing DMARC"),
        "{text}"
    );
    assert!(
        text.contains("warning: spf result \"hardfail\" read as \"fail\""),
        "{text}"
    );
}

#[test]
fn an_smtp_tls_report_reads_as_json_with_its_failures() {
    let report = r#"{"organization-name": "Company-X",
        "date-range": {"start-datetime": "2026-12-05T00:00:00Z", "end-datetime": "2026-12-05T23:59:59Z"},
        "contact-info": "sts-reporting@company-x.example", "report-id": "r-1",
        "policies": [{"policy": {"policy-type": "sts", "policy-domain": "example.com",
            "policy-string": ["version: STSv1", "mode: enforce"], "mx-host": "mx.example.com"},
          "summary": {"total-successful-session-count": 90, "total-failure-session-count": 10},
          "failure-details": [{"result-type": "certificate-expired", "failed-session-count": 10,
            "receiving-mx-hostname": "mx.example.com"}]}]}"#;
    let out = run(HANKO, &["report", "parse", "--json"], report.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["type"], "smtp_tls");
    assert_eq!(line["organization_name"], "Company-X");
    assert_eq!(line["policies"][0]["policy_domain"], "example.com");
    assert_eq!(line["policies"][0]["mx_host_patterns"][0], "mx.example.com");
    assert_eq!(line["policies"][0]["failed_session_count"], 10);
    assert_eq!(
        line["policies"][0]["failure_details"][0]["result_type"],
        "certificate-expired"
    );
    let out = run(HANKO, &["report", "parse"], report.as_bytes());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("example.com (sts): 90 sessions succeeded, 10 failed"),
        "{text}"
    );
}

#[test]
fn an_mbox_of_report_messages_reads_one_report_each_and_strict_refuses_repairs() {
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("dmarc.mbox");
    let clean = REPORT
        .replace(
            "<disposition>Reject</disposition>",
            "<disposition>reject</disposition>",
        )
        .replace("<result>hardfail</result>", "<result>fail</result>");
    let mut text = String::new();
    for (n, report) in [REPORT, clean.as_str()].iter().enumerate() {
        text.push_str(&format!(
            "From dmarc@example.net Sun Dec  6 00:00:0{n} 2026\n\
             From: dmarc@example.net\nSubject: Report {n}\nContent-Type: text/xml\n\n{report}\n"
        ));
    }
    std::fs::write(&mbox, text).unwrap();
    let path = mbox.to_str().unwrap();
    let out = run(HANKO, &["report", "parse", "--json", path], b"");
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["file"], format!("{path}#1"));
    assert_eq!(lines[1]["file"], format!("{path}#2"));
    assert!(lines.iter().all(|l| l["type"] == "aggregate"));
    // --strict: the report that needed repairs is refused, the clean one is read.
    let out = run(HANKO, &["report", "parse", "--json", "--strict", path], b"");
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "error");
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("refused (--strict): "),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1]["type"], "aggregate");
}

#[test]
fn ingest_stores_each_report_once_and_counts_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    std::fs::write(reports.join("one.xml"), REPORT).unwrap();
    let other = REPORT.replace("r-2026-12-06", "r-2026-12-07");
    std::fs::write(reports.join("two.xml"), &other).unwrap();
    std::fs::write(reports.join("notes.txt"), "not a report").unwrap();
    let db = format!(
        "sqlite:{}",
        dir.path().join("store/reports.sqlite").display()
    );
    let reports = reports.to_str().unwrap();

    let out = run(HANKO, &["report", "ingest", "--db", &db, reports], b"");
    assert_eq!(out.status.code(), Some(2), "one input refused");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.trim(), "2 stored, 0 already there, 1 refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("notes.txt"));

    // The same reports again, one also from standard input: nothing new.
    let out = run(HANKO, &["report", "ingest", "--db", &db, reports], b"");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "0 stored, 2 already there, 1 refused"
    );
    let out = run(HANKO, &["report", "ingest", "--db", &db], other.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "0 stored, 1 already there, 0 refused"
    );
}

#[test]
fn summary_tells_own_sources_from_spoofing_and_says_when_to_enforce() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("reports.sqlite").display());
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/reports");
    let out = run(HANKO, &["report", "ingest", "--db", &db, examples], b"");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "1 stored, 0 already there, 0 refused"
    );
    let out = run(HANKO, &["report", "summary", "--db", &db], b"");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("example.com: 1632 messages, 97.4% passing DMARC, 3 sources"),
        "{text}"
    );
    assert!(
        text.contains("ready for p=quarantine, then p=reject"),
        "{text}"
    );
    let out = run(
        HANKO,
        &[
            "report",
            "summary",
            "--db",
            &db,
            "--json",
            "--domain",
            "example.com",
        ],
        b"",
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["messages"], 1632);
    assert_eq!(summary["sources"][2]["source_ip"], "203.0.113.9");
    assert_eq!(summary["sources"][2]["looks_like"], "spoofing");
    // The period is the reports' begin date: nothing before 2026-12-05, nothing after.
    for (flag, date, messages) in [
        ("--until", "2026-12-05", 0),
        ("--since", "2026-12-05", 1632),
    ] {
        let out = run(
            HANKO,
            &["report", "summary", "--db", &db, "--json", flag, date],
            b"",
        );
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["messages"], messages, "{flag} {date}");
    }
    let out = run(
        HANKO,
        &["report", "summary", "--db", &db, "--since", "yesterday"],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
}
