//! Where hanko keeps DMARC reports: an SQLite file by default, a PostgreSQL server when
//! several hosts or people share one store. Both through sqlx, chosen by the URL
//! (`sqlite:PATH`, `postgres://...`), with one schema written in SQL both accept.
//!
//! The schema is versioned: [`Store::open`] applies the migrations the store has not seen,
//! in order, each in a transaction, and records each version. Two programs opening a new
//! store at once are safe: every statement is `IF NOT EXISTS` and a version is recorded once.
//!
//! Besides the reports a domain owner receives, the store keeps what a receiver records of
//! its own DMARC evaluations ([`Store::record_evaluations`]) and which aggregate reports were
//! made from them ([`Store::mark_reported`]).
//!
//! A report is stored once: the same reporter, report id and policy domain a second time is
//! [`Stored::AlreadyThere`], also when two ingesters store it at the same moment (the insert
//! is `ON CONFLICT DO NOTHING`, and a report's records are written in the transaction that
//! wrote the report).

#![forbid(unsafe_code)]

use std::fmt;
use std::path::PathBuf;

use hanko_report::summary::Row;
use hanko_report::AggregateReport;
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;

/// The migrations, in order: (version, SQL statements separated by `;`).
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_aggregate_reports.sql")),
    (2, include_str!("../migrations/0002_dmarc_evaluations.sql")),
];

/// Why the store could not do what was asked.
#[derive(Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "report store: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        StoreError(e.to_string())
    }
}

/// What storing a report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// The report is new and was stored with its records.
    New,
    /// The same report (reporter, report id, policy domain) was already stored.
    AlreadyThere,
}

/// A record's `auth_results` as stored (the JSON `hanko-report` writes).
#[derive(serde::Deserialize, Default)]
struct AuthJson {
    #[serde(default)]
    dkim: Vec<DkimJson>,
    #[serde(default)]
    spf: Vec<SpfJson>,
}

#[derive(serde::Deserialize)]
struct DkimJson {
    domain: String,
    selector: Option<String>,
    result: String,
}

#[derive(serde::Deserialize)]
struct SpfJson {
    domain: String,
    result: String,
}

/// An open store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
}

/// The default store: `sqlite:` a file `hanko/reports.sqlite` under the user's data
/// directory (`$XDG_DATA_HOME`, else `~/.local/share`). `None` without either.
pub fn default_url() -> Option<String> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share"))
        })?;
    Some(format!(
        "sqlite:{}",
        base.join("hanko/reports.sqlite").display()
    ))
}

/// A report's key: reporter, report id and policy domain, joined by a unit separator.
fn report_key(report: &AggregateReport) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}",
        report.report_metadata.org_name,
        report.report_metadata.report_id,
        report.policy_published.domain
    )
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

impl Store {
    /// Opens the store at `url` (`sqlite:PATH`, created with its folder when missing, or
    /// `postgres://...`) and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let url = match url.strip_prefix("sqlite:") {
            Some(path) => {
                let path = path.trim_start_matches("//");
                if let Some(parent) = std::path::Path::new(path).parent() {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent).map_err(|e| {
                            StoreError(format!("cannot make {}: {e}", parent.display()))
                        })?;
                    }
                }
                format!("sqlite:{path}?mode=rwc")
            }
            None => url.to_string(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await
            .map_err(|e| StoreError(format!("cannot open {url}: {e}")))?;
        let store = Store { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations the store has not recorded.
    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::query("CREATE TABLE IF NOT EXISTS hanko_schema (version BIGINT PRIMARY KEY)")
            .execute(&self.pool)
            .await?;
        for (version, sql) in MIGRATIONS {
            let seen: Option<i64> =
                sqlx::query_scalar("SELECT version FROM hanko_schema WHERE version = $1")
                    .bind(*version)
                    .fetch_optional(&self.pool)
                    .await?;
            if seen.is_some() {
                continue;
            }
            let mut transaction = self.pool.begin().await?;
            // Comment lines go first, so that a `;` in a comment cannot split a statement.
            let code: String = sql
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            for statement in code.split(';').map(str::trim) {
                if statement.is_empty() {
                    continue;
                }
                sqlx::query(statement)
                    .execute(&mut *transaction)
                    .await
                    .map_err(|e| StoreError(format!("migration {version}: {e}")))?;
            }
            sqlx::query("INSERT INTO hanko_schema (version) VALUES ($1) ON CONFLICT DO NOTHING")
                .bind(*version)
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await?;
        }
        Ok(())
    }

    /// The newest schema version applied.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM hanko_schema")
            .fetch_one(&self.pool)
            .await?;
        Ok(version.unwrap_or(0))
    }

    /// Stores an aggregate report and its records, unless it is already there. `now`: Unix
    /// time, recorded as when it was stored.
    pub async fn store_aggregate(
        &self,
        report: &AggregateReport,
        now: u64,
    ) -> Result<Stored, StoreError> {
        let key = report_key(report);
        let meta = &report.report_metadata;
        let policy = &report.policy_published;
        let word = |w: Option<&str>| w.map(str::to_string);
        let to_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let mut transaction = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO aggregate_reports (report_key, org_name, org_email, report_id, \
             policy_domain, begin_date, end_date, xml_schema, policy_p, policy_sp, policy_np, \
             adkim, aspf, testing, warnings, extensions, stored_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (report_key) DO NOTHING",
        )
        .bind(&key)
        .bind(&meta.org_name)
        .bind(meta.org_email.clone())
        .bind(&meta.report_id)
        .bind(&policy.domain)
        .bind(to_i64(meta.begin_date))
        .bind(to_i64(meta.end_date))
        .bind(report.xml_schema.as_str())
        .bind(word(policy.p.as_ref().map(|p| p.as_str())))
        .bind(word(policy.sp.as_ref().map(|p| p.as_str())))
        .bind(word(policy.np.as_ref().map(|p| p.as_str())))
        .bind(word(policy.adkim.as_ref().map(|a| a.as_str())))
        .bind(word(policy.aspf.as_ref().map(|a| a.as_str())))
        .bind(
            policy
                .testing
                .map(|t| if t { "y" } else { "n" }.to_string()),
        )
        .bind(json(&report.warnings))
        .bind(json(&report.extensions))
        .bind(to_i64(now))
        .execute(&mut *transaction)
        .await?;
        if inserted.rows_affected() == 0 {
            transaction.rollback().await?;
            return Ok(Stored::AlreadyThere);
        }
        for (n, record) in report.records.iter().enumerate() {
            let evaluated = &record.policy_evaluated;
            sqlx::query(
                "INSERT INTO aggregate_records (report_key, row_number, source_ip, \
                 message_count, disposition, dkim_aligned, spf_aligned, header_from, \
                 envelope_from, envelope_to, override_reasons, auth_results) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&key)
            .bind(i64::try_from(n).unwrap_or(i64::MAX))
            .bind(record.source.ip_address.to_string())
            .bind(to_i64(record.count))
            .bind(evaluated.disposition.as_str())
            .bind(word(evaluated.dkim.as_ref().map(|v| v.as_str())))
            .bind(word(evaluated.spf.as_ref().map(|v| v.as_str())))
            .bind(&record.identifiers.header_from)
            .bind(record.identifiers.envelope_from.clone())
            .bind(record.identifiers.envelope_to.clone())
            .bind(json(&evaluated.policy_override_reasons))
            .bind(json(&record.auth_results))
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(Stored::New)
    }

    /// How many aggregate reports and records are stored.
    pub async fn counts(&self) -> Result<(u64, u64), StoreError> {
        let reports: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM aggregate_reports")
            .fetch_one(&self.pool)
            .await?;
        let records: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM aggregate_records")
            .fetch_one(&self.pool)
            .await?;
        Ok((
            u64::try_from(reports).unwrap_or(0),
            u64::try_from(records).unwrap_or(0),
        ))
    }

    /// The policy domains with stored reports, in order.
    pub async fn domains(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT policy_domain FROM aggregate_reports ORDER BY policy_domain",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every stored record of `domain` whose report began in `[since, until)` (Unix times).
    pub async fn records(
        &self,
        domain: &str,
        since: u64,
        until: u64,
    ) -> Result<Vec<Row>, StoreError> {
        type Selected = (
            String,
            String,
            i64,
            Option<String>,
            Option<String>,
            String,
            Option<String>,
            String,
        );
        let rows: Vec<Selected> = sqlx::query_as(
            "SELECT p.org_name, r.source_ip, r.message_count, r.dkim_aligned, r.spf_aligned, \
             r.header_from, r.envelope_from, r.auth_results \
             FROM aggregate_records r JOIN aggregate_reports p ON r.report_key = p.report_key \
             WHERE p.policy_domain = $1 AND p.begin_date >= $2 AND p.begin_date < $3 \
             ORDER BY p.begin_date, r.report_key, r.row_number",
        )
        .bind(domain)
        .bind(i64::try_from(since).unwrap_or(i64::MAX))
        .bind(i64::try_from(until).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(reporter, source_ip, count, dkim, spf, header_from, envelope_from, auth)| {
                    let auth_results: AuthJson = serde_json::from_str(&auth).unwrap_or_default();
                    Row {
                        reporter,
                        source_ip,
                        count: u64::try_from(count).unwrap_or(0),
                        dkim_aligned_pass: dkim.as_deref() == Some("pass"),
                        spf_aligned_pass: spf.as_deref() == Some("pass"),
                        header_from,
                        envelope_from,
                        dkim: auth_results
                            .dkim
                            .into_iter()
                            .map(|d| (d.domain, d.selector, d.result))
                            .collect(),
                        spf: auth_results
                            .spf
                            .into_iter()
                            .map(|s| (s.domain, s.result))
                            .collect(),
                    }
                },
            )
            .collect())
    }
}

/// A recorded evaluation row, keyed.
pub struct RecordedRow<'a> {
    /// Unique for the row; the same key twice is stored once.
    pub key: String,
    /// The evaluation.
    pub evaluation: &'a hanko::receiver::Evaluation,
}

/// Unique row keys for evaluations recorded by this process: the time, the process, a
/// counter. A retry that writes the same keys again stores nothing twice.
pub fn row_keys(count: usize) -> Vec<String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let pid = std::process::id();
    (0..count)
        .map(|_| {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            format!("{nanos:x}-{pid:x}-{n:x}")
        })
        .collect()
}

impl Store {
    /// Records evaluations (one transaction); rows whose key is already there are skipped.
    /// Returns how many were new.
    pub async fn record_evaluations(&self, rows: &[RecordedRow<'_>]) -> Result<usize, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let mut new = 0;
        for row in rows {
            let e = row.evaluation;
            let done = sqlx::query(
                "INSERT INTO dmarc_evaluations (row_key, evaluated_at, policy_domain, evaluation) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(&row.key)
            .bind(i64::try_from(e.time).unwrap_or(i64::MAX))
            .bind(e.policy_domain.to_ascii_lowercase())
            .bind(json(e))
            .execute(&mut *transaction)
            .await?;
            new += done.rows_affected() as usize;
        }
        transaction.commit().await?;
        Ok(new)
    }

    /// The evaluations recorded for `policy_domain` from `begin` to `end` (Unix seconds,
    /// both included), oldest first.
    pub async fn evaluations(
        &self,
        policy_domain: &str,
        begin: u64,
        end: u64,
    ) -> Result<Vec<hanko::receiver::Evaluation>, StoreError> {
        let texts: Vec<String> = sqlx::query_scalar(
            "SELECT evaluation FROM dmarc_evaluations WHERE policy_domain = $1 \
             AND evaluated_at >= $2 AND evaluated_at <= $3 ORDER BY evaluated_at, row_key",
        )
        .bind(policy_domain.to_ascii_lowercase())
        .bind(i64::try_from(begin).unwrap_or(i64::MAX))
        .bind(i64::try_from(end).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        texts
            .iter()
            .map(|text| {
                serde_json::from_str(text)
                    .map_err(|e| StoreError(format!("a recorded evaluation does not read: {e}")))
            })
            .collect()
    }

    /// The (policy domain, period start) pairs with evaluations recorded before `until`
    /// whose report was not made yet, periods being `period` seconds long and starting at
    /// multiples of it. Only periods that end by `until` are listed.
    pub async fn unreported_periods(
        &self,
        period: u64,
        until: u64,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let period_i = i64::try_from(period.max(1)).unwrap_or(i64::MAX);
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT DISTINCT policy_domain, (evaluated_at / $1) * $1 FROM dmarc_evaluations \
             WHERE evaluated_at < $2",
        )
        .bind(period_i)
        .bind(i64::try_from(until).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let made: Vec<(String, i64)> =
            sqlx::query_as("SELECT policy_domain, begin_date FROM reports_made")
                .fetch_all(&self.pool)
                .await?;
        let mut periods: Vec<(String, u64)> = rows
            .into_iter()
            .filter(|row| !made.contains(row))
            .filter_map(|(domain, start)| {
                let start = u64::try_from(start).ok()?;
                (start + period <= until).then_some((domain, start))
            })
            .collect();
        periods.sort();
        Ok(periods)
    }

    /// Notes that the report of `policy_domain` for `begin..=end` was made; false when it
    /// already was (another run made it first).
    pub async fn mark_reported(
        &self,
        policy_domain: &str,
        (begin, end): (u64, u64),
        report_id: &str,
        file_name: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        let to_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let done = sqlx::query(
            "INSERT INTO reports_made (policy_domain, begin_date, end_date, report_id, \
             file_name, made_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(policy_domain.to_ascii_lowercase())
        .bind(to_i64(begin))
        .bind(to_i64(end))
        .bind(report_id)
        .bind(file_name)
        .bind(to_i64(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
