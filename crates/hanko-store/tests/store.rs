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
    assert_eq!(store.schema_version().await.unwrap(), 1);
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
    assert_eq!(again.schema_version().await.unwrap(), 1);
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
