//! The store on PostgreSQL (Debian `postgresql`, installed by scripts/test.sh): a private
//! server in a temporary folder on a loopback port, run as the `postgres` user. The same
//! schema and the same guarantees as on SQLite: a report stored once however many ingesters
//! store it at once, and evaluations recorded by two writers at once each counted once.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hanko_store::{row_keys, RecordedRow, Store, Stored};

/// A private PostgreSQL server, stopped when dropped.
struct Postgres {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

/// The folder of Debian's PostgreSQL programs (`/usr/lib/postgresql/VERSION/bin`).
fn bin_dir() -> PathBuf {
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|entries| {
            entries
                .flatten()
                .map(|e| e.path().join("bin"))
                .find(|bin| bin.join("initdb").is_file())
        });
    found.expect(
        "PostgreSQL's initdb not found under /usr/lib/postgresql: run scripts/test.sh, which \
         installs Debian's postgresql",
    )
}

fn as_postgres(program: &Path) -> Command {
    let mut command = Command::new("runuser");
    command.args(["-u", "postgres", "--"]).arg(program);
    command
}

impl Postgres {
    fn start() -> Postgres {
        let bin = bin_dir();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        // The server runs as postgres: it must own its folder.
        let status = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        let out = as_postgres(&bin.join("initdb"))
            .args(["-A", "trust", "-U", "hanko", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = as_postgres(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "postgres did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Postgres {
            child,
            url: format!("postgres://hanko@127.0.0.1:{port}/postgres"),
            _dir: dir,
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // runuser passes SIGTERM on: the server shuts down fast.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn report(report_id: &str) -> hanko_report::AggregateReport {
    let xml = format!(
        "<feedback><report_metadata><org_name>mx.example.net</org_name><report_id>{report_id}</report_id>\
         <date_range><begin>1796428800</begin><end>1796515199</end></date_range></report_metadata>\
         <policy_published><domain>example.com</domain><p>none</p></policy_published>\
         <record><row><source_ip>192.0.2.1</source_ip><count>3</count><policy_evaluated>\
         <disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>\
         <identifiers><header_from>example.com</header_from></identifiers><auth_results/></record></feedback>"
    );
    let parsed = hanko_report::parse(xml.as_bytes(), &hanko_report::Limits::default()).unwrap();
    parsed.report.aggregate().unwrap().clone()
}

fn evaluation(time: u64) -> hanko::receiver::Evaluation {
    use hanko::dmarc::{AlignmentMode, Policy};
    use hanko::receiver::{Disposition, Evaluation, PublishedPolicy};
    Evaluation {
        time,
        source_ip: Some("192.0.2.1".parse().unwrap()),
        header_from: "example.com".into(),
        envelope_from: None,
        envelope_to: None,
        policy_domain: "example.com".into(),
        published: PublishedPolicy {
            policy: Policy::Reject,
            subdomain_policy: None,
            nonexistent_policy: None,
            dkim_alignment: AlignmentMode::Relaxed,
            spf_alignment: AlignmentMode::Relaxed,
            testing: false,
            failure_options: None,
        },
        disposition: Disposition::Pass,
        dkim_aligned_pass: true,
        spf_aligned_pass: false,
        overrides: Vec::new(),
        dkim: Vec::new(),
        spf: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_the_same_guarantees() {
    let server = Postgres::start();
    let store = Store::open(&server.url).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 2);
    // Two ingesters, the same reports, at once: each stored once.
    let reports: Vec<_> = (0..20).map(|i| report(&format!("r{i}"))).collect();
    let ingest = |store: Store, reports: Vec<hanko_report::AggregateReport>| {
        tokio::spawn(async move {
            let mut new = 0;
            for report in &reports {
                if store.store_aggregate(report, 1).await.unwrap() == Stored::New {
                    new += 1;
                }
            }
            new
        })
    };
    let other = Store::open(&server.url).await.unwrap();
    let (a, b) = (
        ingest(store.clone(), reports.clone()),
        ingest(other, reports.clone()),
    );
    assert_eq!(a.await.unwrap() + b.await.unwrap(), 20);
    // Two writers recording evaluations at once, then one of them again (a retry): every
    // row once.
    let day = 20_000 * 86_400;
    let rows: Vec<_> = (0..1_000).map(|i| evaluation(day + i)).collect();
    let record = |store: Store, rows: Vec<hanko::receiver::Evaluation>, keys: Vec<String>| {
        tokio::spawn(async move {
            let keyed: Vec<RecordedRow> = rows
                .iter()
                .zip(&keys)
                .map(|(evaluation, key)| RecordedRow {
                    key: key.clone(),
                    evaluation,
                })
                .collect();
            store.record_evaluations(&keyed).await.unwrap()
        })
    };
    let (first, second) = (row_keys(500), row_keys(500));
    let one = record(store.clone(), rows[..500].to_vec(), first.clone());
    let two = record(
        Store::open(&server.url).await.unwrap(),
        rows[500..].to_vec(),
        second,
    );
    assert_eq!(one.await.unwrap() + two.await.unwrap(), 1_000);
    assert_eq!(
        record(store.clone(), rows[..500].to_vec(), first)
            .await
            .unwrap(),
        0
    );
    let read = store
        .evaluations("example.com", day, day + 86_399)
        .await
        .unwrap();
    assert_eq!(read.len(), 1_000);
    assert_eq!(
        store
            .unreported_periods(86_400, day + 86_400)
            .await
            .unwrap(),
        [("example.com".to_string(), day)]
    );
}
