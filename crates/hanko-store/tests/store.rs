//! The store on SQLite: created on first use with its schema, a report stored once however
//! often (and however many ingesters at once) it arrives, and what it holds read back.

use hanko_report::{AggregateReport, Limits};
use hanko_store::{Store, Stored};

fn report(report_id: &str, records: &[(&str, u64, &str, &str)]) -> AggregateReport {
    let rows: String = records
        .iter()
        .map(|(ip, count, dkim, spf)| {
            format!(
                "<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>\
                 <disposition>none</disposition><dkim>{dkim}</dkim><spf>{spf}</spf></policy_evaluated></row>\
                 <identifiers><header_from>example.com</header_from></identifiers><auth_results/></record>"
            )
        })
        .collect();
    let xml = format!(
        "<feedback><report_metadata><org_name>mx.example.net</org_name><report_id>{report_id}</report_id>\
         <date_range><begin>1796428800</begin><end>1796515199</end></date_range></report_metadata>\
         <policy_published><domain>example.com</domain><p>none</p></policy_published>{rows}</feedback>"
    );
    let parsed = hanko_report::parse(xml.as_bytes(), &Limits::default()).unwrap();
    parsed.report.aggregate().unwrap().clone()
}

#[tokio::test]
async fn a_new_store_gets_its_schema_and_a_report_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite:{}",
        dir.path().join("nested/folder/reports.sqlite").display()
    );
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 2);
    let first = report(
        "r1",
        &[
            ("192.0.2.25", 40, "pass", "pass"),
            ("203.0.113.9", 2, "fail", "fail"),
        ],
    );
    assert_eq!(
        store.store_aggregate(&first, 1_796_600_000).await.unwrap(),
        Stored::New
    );
    assert_eq!(
        store.store_aggregate(&first, 1_796_600_001).await.unwrap(),
        Stored::AlreadyThere
    );
    let second = report("r2", &[("192.0.2.25", 10, "pass", "fail")]);
    assert_eq!(
        store.store_aggregate(&second, 1_796_600_002).await.unwrap(),
        Stored::New
    );
    assert_eq!(store.counts().await.unwrap(), (2, 3));
    // Opened again: the schema is not applied twice, and what was stored is there.
    drop(store);
    let again = Store::open(&url).await.unwrap();
    assert_eq!(again.schema_version().await.unwrap(), 2);
    assert_eq!(again.counts().await.unwrap(), (2, 3));
    // What a summary reads back: per source, messages and how many passed.
    let rows = again.records("example.com", 0, u64::MAX / 2).await.unwrap();
    let sources: Vec<(String, u64, u64)> = hanko_report::summary::summarize("example.com", &rows)
        .sources
        .into_iter()
        .map(|s| (s.source_ip, s.messages, s.passing))
        .collect();
    assert_eq!(
        sources,
        [
            ("192.0.2.25".to_string(), 50, 50),
            ("203.0.113.9".to_string(), 2, 0)
        ]
    );
    assert!(again
        .records("example.org", 0, u64::MAX / 2)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn ingesters_storing_the_same_reports_at_once_store_each_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("reports.sqlite").display());
    Store::open(&url).await.unwrap();
    let reports: Vec<AggregateReport> = (0..20)
        .map(|n| report(&format!("r{n}"), &[("192.0.2.25", n + 1, "pass", "pass")]))
        .collect();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let url = url.clone();
        let reports = reports.clone();
        tasks.push(tokio::spawn(async move {
            let store = Store::open(&url).await.unwrap();
            let mut new = 0;
            for report in &reports {
                // SQLite serializes writers; a busy moment is retried.
                let stored = loop {
                    match store.store_aggregate(report, 1_796_600_000).await {
                        Ok(stored) => break stored,
                        Err(e) if e.0.contains("locked") || e.0.contains("busy") => {
                            tokio::time::sleep(std::time::Duration::from_millis(5)).await
                        }
                        Err(e) => panic!("{e}"),
                    }
                };
                if stored == Stored::New {
                    new += 1;
                }
            }
            new
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    assert_eq!(total, 20, "each report stored by exactly one ingester");
    assert_eq!(
        Store::open(&url).await.unwrap().counts().await.unwrap(),
        (20, 20)
    );
}

/// A recorded evaluation of a message from `header_from` at `time`.
fn evaluation(time: u64, policy_domain: &str) -> hanko::receiver::Evaluation {
    use hanko::dmarc::{AlignmentMode, Policy};
    use hanko::receiver::{Disposition, Evaluation, PublishedPolicy};
    Evaluation {
        time,
        source_ip: Some("192.0.2.1".parse().unwrap()),
        header_from: policy_domain.into(),
        envelope_from: None,
        envelope_to: None,
        policy_domain: policy_domain.into(),
        published: PublishedPolicy {
            policy: Policy::Reject,
            subdomain_policy: None,
            nonexistent_policy: None,
            dkim_alignment: AlignmentMode::Relaxed,
            spf_alignment: AlignmentMode::Relaxed,
            testing: false,
            failure_options: None,
        },
        disposition: Disposition::Reject,
        dkim_aligned_pass: false,
        spf_aligned_pass: false,
        overrides: Vec::new(),
        dkim: Vec::new(),
        spf: None,
    }
}

#[tokio::test]
async fn recorded_evaluations_are_stored_once_and_each_period_is_reported_once() {
    use hanko_store::{row_keys, RecordedRow};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("r.sqlite").display());
    let store = Store::open(&url).await.unwrap();
    const DAY: u64 = 86_400;
    let day = 20_000 * DAY;
    let rows = [
        evaluation(day + 10, "example.com"),
        evaluation(day + 20, "example.com"),
        evaluation(day + DAY + 5, "example.com"),
        evaluation(day + 30, "example.org"),
    ];
    let keys = row_keys(rows.len());
    let keyed: Vec<RecordedRow> = rows
        .iter()
        .zip(&keys)
        .map(|(evaluation, key)| RecordedRow {
            key: key.clone(),
            evaluation,
        })
        .collect();
    assert_eq!(store.record_evaluations(&keyed).await.unwrap(), 4);
    // The same rows again (a retry): nothing new.
    assert_eq!(store.record_evaluations(&keyed).await.unwrap(), 0);
    let read = store
        .evaluations("EXAMPLE.com", day, day + DAY - 1)
        .await
        .unwrap();
    assert_eq!(read, rows[..2]);
    // At the end of the second day, the first day of both domains is due; the second day of
    // example.com is not over yet.
    let due = store
        .unreported_periods(DAY, day + DAY + 100)
        .await
        .unwrap();
    assert_eq!(
        due,
        [
            ("example.com".to_string(), day),
            ("example.org".to_string(), day)
        ]
    );
    assert!(store
        .mark_reported("example.com", (day, day + DAY - 1), "id1", "f1", day + DAY)
        .await
        .unwrap());
    assert!(!store
        .mark_reported("example.com", (day, day + DAY - 1), "id1", "f1", day + DAY)
        .await
        .unwrap());
    let due = store.unreported_periods(DAY, day + 2 * DAY).await.unwrap();
    assert_eq!(
        due,
        [
            ("example.com".to_string(), day + DAY),
            ("example.org".to_string(), day)
        ]
    );
    assert_eq!(store.schema_version().await.unwrap(), 2);
}
