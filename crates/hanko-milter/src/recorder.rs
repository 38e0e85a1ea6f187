//! `[reports]`: recording each DMARC evaluation for aggregate reports without ever making
//! mail wait on the store.
//!
//! The mail path hands its rows to a bounded queue and goes on ([`Recorder::record`] never
//! waits). One task writes the queue to the store in batches. When the queue is full, or the
//! store cannot be opened or written, rows go to a spool file (JSON lines) instead, and the
//! task replays the spool once the store works again. Every row gets its key when it is
//! recorded, so a row written twice (a batch that failed half-way, a replayed spool) is stored
//! once. At shutdown the task writes what is queued before the daemon exits.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hanko::receiver::Evaluation;
use hanko_store::{RecordedRow, Store};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// The `[reports]` settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportsSettings {
    /// The store's URL.
    pub database: String,
    /// The spool file.
    pub spool: PathBuf,
    /// Rows the queue holds before they spill to the spool.
    pub queue: usize,
}

/// A row with its key, as queued and spooled.
#[derive(Serialize, Deserialize)]
struct Keyed {
    key: String,
    evaluation: Evaluation,
}

/// Rows written per transaction.
const BATCH: usize = 500;

/// How long the writer waits for rows before it looks at the spool again.
const IDLE: Duration = Duration::from_secs(1);

/// The spool: rows the store could not take yet, one JSON object per line.
struct Spool {
    path: PathBuf,
    lock: std::sync::Mutex<()>,
}

impl Spool {
    fn append(&self, rows: &[Keyed]) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut file| {
                let mut text = Vec::new();
                for row in rows {
                    serde_json::to_writer(&mut text, row).map_err(std::io::Error::other)?;
                    text.push(b'\n');
                }
                file.write_all(&text)?;
                file.flush()
            });
        if let Err(e) = written {
            tracing::error!(
                "reports: {} evaluation(s) lost: cannot write the spool {}: {e}",
                rows.len(),
                self.path.display()
            );
        }
    }

    /// True when the spool holds rows.
    fn has_rows(&self) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|m| m.len() > 0)
    }

    /// Takes every row out of the spool (the file is emptied).
    fn take(&self) -> Vec<Keyed> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let Ok(file) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        let rows: Vec<Keyed> = std::io::BufReader::new(file)
            .lines()
            .map_while(Result::ok)
            .filter_map(|line| serde_json::from_str(&line).ok())
            .collect();
        let _ = std::fs::File::create(&self.path);
        rows
    }
}

/// The recording side of `[reports]`: a queue, its writer task and the spool.
pub struct Recorder {
    sender: mpsc::Sender<Keyed>,
    spool: Arc<Spool>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    /// Starts the writer task.
    pub fn start(settings: ReportsSettings) -> Recorder {
        let (sender, receiver) = mpsc::channel(settings.queue.max(1));
        let spool = Arc::new(Spool {
            path: settings.spool.clone(),
            lock: std::sync::Mutex::new(()),
        });
        let task = tokio::spawn(write_loop(settings.database, receiver, spool.clone()));
        Recorder {
            sender,
            spool,
            task,
        }
    }

    /// Queues one message's rows; what the queue cannot take goes to the spool. Never waits.
    pub fn record(&self, evaluations: Vec<Evaluation>) {
        let keys = hanko_store::row_keys(evaluations.len());
        let mut spilled = Vec::new();
        for (key, evaluation) in keys.into_iter().zip(evaluations) {
            if let Err(e) = self.sender.try_send(Keyed { key, evaluation }) {
                spilled.push(e.into_inner());
            }
        }
        if !spilled.is_empty() {
            self.spool.append(&spilled);
        }
    }

    /// Writes what is queued and stops the task.
    pub async fn close(self) {
        drop(self.sender);
        let _ = self.task.await;
    }
}

/// Takes rows off the queue and writes them, in batches; spools them when the store is not
/// there; replays the spool when it is.
async fn write_loop(database: String, mut receiver: mpsc::Receiver<Keyed>, spool: Arc<Spool>) {
    let mut store: Option<Store> = None;
    loop {
        let mut batch = Vec::new();
        let closed = match tokio::time::timeout(IDLE, receiver.recv()).await {
            Ok(Some(row)) => {
                batch.push(row);
                while batch.len() < BATCH {
                    match receiver.try_recv() {
                        Ok(row) => batch.push(row),
                        Err(_) => break,
                    }
                }
                false
            }
            Ok(None) => true,
            Err(_) => false,
        };
        if store.is_none() && (!batch.is_empty() || spool.has_rows()) {
            store = match Store::open(&database).await {
                Ok(store) => Some(store),
                Err(e) => {
                    tracing::warn!("reports: store unavailable, rows go to the spool: {e}");
                    None
                }
            };
        }
        let healthy = match &store {
            Some(open) => {
                let mut healthy = true;
                if spool.has_rows() {
                    let replay = spool.take();
                    if !write(open, &replay).await {
                        spool.append(&replay);
                        healthy = false;
                    }
                }
                if healthy && !write(open, &batch).await {
                    spool.append(&batch);
                    healthy = false;
                }
                healthy
            }
            None => {
                if !batch.is_empty() {
                    spool.append(&batch);
                }
                false
            }
        };
        if !healthy {
            // Opened afresh next time: a store that failed may need a new connection.
            store = None;
        }
        if closed {
            return;
        }
    }
}

/// Writes `rows` in batches; false when the store failed (the caller spools them: rows
/// already written are not written twice, by their keys).
async fn write(store: &Store, rows: &[Keyed]) -> bool {
    for chunk in rows.chunks(BATCH) {
        let recorded: Vec<RecordedRow> = chunk
            .iter()
            .map(|row| RecordedRow {
                key: row.key.clone(),
                evaluation: &row.evaluation,
            })
            .collect();
        if let Err(e) = store.record_evaluations(&recorded).await {
            tracing::warn!("reports: writing {} evaluation(s) failed: {e}", rows.len());
            return false;
        }
    }
    true
}
