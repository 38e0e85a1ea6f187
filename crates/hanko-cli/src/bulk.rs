//! `hanko verify` over many messages: files, directories (Maildir `new/` and `cur/`, or every
//! file below) and mbox files, verified concurrently.
//!
//! Each message is a task on the multi-threaded runtime (parsing and hashing run on every
//! core; DNS answers are shared through the one lookup and its cache); at most `--jobs`
//! messages are in flight, so memory stays bounded, and results are printed in input order
//! (one line each, or one JSON object each with `--json`), then a summary. A progress bar
//! shows on standard error when it is a terminal.
//!
//! Each file is opened once: a Maildir's files are messages by definition and are opened by
//! the task that verifies them; any other file is opened to see whether it is an mbox, and
//! that open file is what is read. Output is buffered (one write per 64 KiB, not per line)
//! unless standard output is a terminal.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use hanko::dkim::DkimVerdict;
use hanko::dmarc::DmarcVerdict;
use hanko::message::{MboxError, MboxReader};
use hanko::receiver::Receipt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::json;
use tokio::task::JoinHandle;

use crate::dns::DnsArgs;
use crate::verify::{check, Plan, VerifyArgs};

/// Deepest directory level walked (symbolic links can make loops).
const MAX_DEPTH: usize = 32;

/// True when `files` asks for bulk mode: more than one path, a directory, or an mbox.
pub fn is_bulk(files: &[PathBuf]) -> bool {
    match files {
        [] => false,
        [one] => one.is_dir() || is_mbox(one).unwrap_or(false),
        _ => true,
    }
}

/// True when the file's first non-empty line is an mbox `From ` separator.
fn is_mbox(path: &Path) -> std::io::Result<bool> {
    sniff(File::open(path)?).map(|(_, mbox)| mbox)
}

/// The file, rewound, and whether its first non-empty line is an mbox `From ` separator.
fn sniff(mut file: File) -> std::io::Result<(File, bool)> {
    let mut start = [0u8; 512];
    let mut filled = 0;
    while filled < start.len() {
        match file.read(&mut start[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    let text = &start[..filled];
    let first = text
        .iter()
        .position(|b| !b"\r\n".contains(b))
        .map_or(&[][..], |i| &text[i..]);
    let mbox = hanko::message::mbox_separator_len(first) > 0;
    file.rewind()?;
    Ok((file, mbox))
}

/// What one message came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Pass,
    Fail,
    TempError,
    PermError,
    /// No DMARC policy and no signature: nothing vouches for it.
    None,
    /// The message could not be read.
    Error,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::TempError => "temperror",
            Status::PermError => "permerror",
            Status::None => "none",
            Status::Error => "error",
        }
    }

    /// The message's status by the exit-status rule of `hanko verify`: DMARC's verdict, or
    /// without a policy, DKIM's.
    fn of(report: &Receipt) -> Status {
        if report.passed() {
            return Status::Pass;
        }
        match report.dmarc.verdict {
            DmarcVerdict::Pass => Status::Pass,
            DmarcVerdict::Fail => Status::Fail,
            DmarcVerdict::TempError => Status::TempError,
            DmarcVerdict::PermError => Status::PermError,
            DmarcVerdict::None => {
                let results = &report.dkim.results;
                if results.is_empty() {
                    Status::None
                } else if results
                    .iter()
                    .any(|r| r.verdict() == DkimVerdict::TempError)
                {
                    Status::TempError
                } else {
                    Status::Fail
                }
            }
        }
    }
}

/// One message's result, rendered.
struct Outcome {
    status: Status,
    line: String,
}

/// A message to verify.
enum Source {
    /// A file of one message, not opened yet (a Maildir's).
    Path(PathBuf),
    /// A file of one message, already opened (to see that it is not an mbox).
    Opened { path: PathBuf, file: File },
    /// One message of an mbox file.
    Mboxed { name: String, message: Vec<u8> },
}

impl Source {
    /// How the message is named in the output.
    fn name(&self) -> String {
        match self {
            Source::Path(path) | Source::Opened { path, .. } => path.display().to_string(),
            Source::Mboxed { name, .. } => name.clone(),
        }
    }
}

/// One message's line of `--json` output: where it came from, its status, and the
/// receipt's own document.
#[derive(Serialize)]
struct JsonLine<'a> {
    source: &'a str,
    status: &'static str,
    #[serde(flatten)]
    receipt: &'a Receipt,
}

/// One line for a message: status, name, then dmarc, dkim (each signature) and spf.
fn text_line(status: Status, name: &str, report: &Receipt) -> String {
    let dmarc = &report.dmarc;
    let mut line = format!("{:<10}{name}  dmarc={}", status.word(), dmarc.verdict);
    if let Some(author) = &dmarc.author_domain {
        line.push_str(&format!(" ({author})"));
    }
    let signatures: Vec<String> = report
        .dkim
        .results
        .iter()
        .map(|r| {
            let domain = r.domain().unwrap_or("?");
            match &r.failure {
                None => format!("{} ({domain})", r.verdict()),
                Some(f) => format!("{} ({domain}: {f})", r.verdict()),
            }
        })
        .collect();
    if signatures.is_empty() {
        line.push_str(" dkim=none");
    } else {
        line.push_str(&format!(" dkim={}", signatures.join(", ")));
    }
    if let Some(spf) = &report.spf {
        line.push_str(&format!(" spf={} ({})", spf.verdict, spf.domain));
    }
    line
}

fn error_outcome(name: &str, error: &str, json: bool) -> Outcome {
    let line = if json {
        json!({ "source": name, "status": "error", "error": error }).to_string()
    } else {
        format!("{:<10}{name}  {error}", Status::Error.word())
    };
    Outcome {
        status: Status::Error,
        line,
    }
}

/// Reads, verifies and renders one message.
async fn verify(source: Source, plan: Arc<Plan>) -> Outcome {
    let json = plan.args.json;
    let name = source.name();
    let checked = match source {
        Source::Path(path) => match File::open(&path) {
            Ok(file) => check(&plan, file, &name).await,
            Err(e) => Err(anyhow::anyhow!("cannot open: {e}")),
        },
        Source::Opened { file, .. } => check(&plan, file, &name).await,
        Source::Mboxed { message, .. } => check(&plan, &message[..], &name).await,
    };
    match checked {
        Ok(receipt) => {
            let status = Status::of(&receipt);
            let line = if json {
                let line = JsonLine {
                    source: &name,
                    status: status.word(),
                    receipt: &receipt,
                };
                // A receipt's document is a few kilobytes: one allocation, not a doubling.
                let mut text = Vec::with_capacity(4096);
                let written = serde_json::to_writer(&mut text, &line)
                    .map_err(|e| e.to_string())
                    .and_then(|()| String::from_utf8(text).map_err(|e| e.to_string()));
                match written {
                    Ok(line) => line,
                    Err(e) => {
                        return error_outcome(&name, &format!("cannot write JSON: {e}"), json)
                    }
                }
            } else {
                text_line(status, &name, &receipt)
            };
            Outcome { status, line }
        }
        Err(e) => error_outcome(&name, &format!("{e:#}"), json),
    }
}

/// An input found by walking the paths given.
struct Input {
    path: PathBuf,
    /// In a Maildir's `new/` or `cur/`: one message, never an mbox.
    in_maildir: bool,
}

/// The inputs, directories walked: message or mbox files, and what could not be read.
fn collect(paths: &[PathBuf]) -> Vec<Result<Input, (String, String)>> {
    let mut out = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => walk(path, 0, &mut out),
            Ok(_) => out.push(Ok(Input {
                path: path.clone(),
                in_maildir: false,
            })),
            Err(e) => out.push(Err((
                path.display().to_string(),
                format!("cannot open: {e}"),
            ))),
        }
    }
    out
}

/// The entries of `dir`, sorted by name, hidden ones (`.name`) left out unless `hidden`.
fn entries(dir: &Path, hidden: bool) -> Result<Vec<(PathBuf, bool)>, String> {
    let mut list = Vec::new();
    let read = std::fs::read_dir(dir).map_err(|e| format!("cannot read the directory: {e}"))?;
    for entry in read.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if !hidden && name.to_string_lossy().starts_with('.') {
            continue;
        }
        // The directory entry's own type (no system call); a symbolic link is followed.
        let is_dir = match entry.file_type() {
            Ok(kind) if kind.is_symlink() => std::fs::metadata(&path).is_ok_and(|m| m.is_dir()),
            Ok(kind) => kind.is_dir(),
            Err(_) => std::fs::metadata(&path).is_ok_and(|m| m.is_dir()),
        };
        list.push((path, is_dir));
    }
    // One directory: ordering by name is ordering by path, without splitting components.
    list.sort_by(|a, b| a.0.file_name().cmp(&b.0.file_name()));
    Ok(list)
}

/// A Maildir (its `new/` and `cur/`, then its Maildir++ sub-folders `.Name`; not `tmp/`,
/// where deliveries are still being written, nor the index files beside them), or any other
/// directory (every file, sub-directories included).
fn walk(dir: &Path, depth: usize, out: &mut Vec<Result<Input, (String, String)>>) {
    if depth > MAX_DEPTH {
        out.push(Err((
            dir.display().to_string(),
            format!("more than {MAX_DEPTH} directory levels; not read"),
        )));
        return;
    }
    let is_maildir = dir.join("cur").is_dir() || dir.join("new").is_dir();
    let list = match entries(dir, is_maildir) {
        Ok(list) => list,
        Err(e) => {
            out.push(Err((dir.display().to_string(), e)));
            return;
        }
    };
    if !is_maildir {
        for (path, is_dir) in list {
            if is_dir {
                walk(&path, depth + 1, out);
            } else {
                out.push(Ok(Input {
                    path,
                    in_maildir: false,
                }));
            }
        }
        return;
    }
    for part in ["new", "cur"] {
        let sub = dir.join(part);
        if !sub.is_dir() {
            continue;
        }
        match entries(&sub, false) {
            Ok(files) => out.extend(files.into_iter().filter(|(_, is_dir)| !is_dir).map(
                |(path, _)| {
                    Ok(Input {
                        path,
                        in_maildir: true,
                    })
                },
            )),
            Err(e) => out.push(Err((sub.display().to_string(), e))),
        }
    }
    for (path, is_dir) in list {
        let folder = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if is_dir && folder {
            walk(&path, depth + 1, out);
        }
    }
}

/// Messages in flight (each with its name), printed in input order as they finish.
struct Queue {
    in_flight: VecDeque<(String, JoinHandle<Outcome>)>,
    limit: usize,
    json: bool,
    bar: ProgressBar,
    counts: BTreeMap<Status, usize>,
    out: Output,
}

/// Standard output, buffered unless it is a terminal (where each line shows at once).
struct Output {
    writer: BufWriter<std::io::Stdout>,
    terminal: bool,
}

impl Output {
    fn new() -> Output {
        let stdout = std::io::stdout();
        Output {
            terminal: stdout.is_terminal(),
            writer: BufWriter::with_capacity(64 * 1024, stdout),
        }
    }

    fn line(&mut self, line: &str) {
        let written = writeln!(self.writer, "{line}").and_then(|()| {
            if self.terminal {
                self.writer.flush()
            } else {
                Ok(())
            }
        });
        stop_on_error(written);
    }

    fn flush(&mut self) {
        stop_on_error(self.writer.flush());
    }
}

/// A reader that went away (`hanko verify DIR | head`) ends the run quietly with status 0,
/// as `println!` on a closed pipe does in the rest of the command; any other write error
/// ends it with a message.
fn stop_on_error(written: std::io::Result<()>) {
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("hanko: cannot write the results: {e}");
            std::process::exit(i32::from(crate::EXIT_USAGE));
        }
    }
}

impl Queue {
    fn print(&mut self, outcome: Outcome) {
        let out = &mut self.out;
        self.bar.suspend(|| out.line(&outcome.line));
        self.bar.inc(1);
        *self.counts.entry(outcome.status).or_default() += 1;
    }

    async fn finish_one(&mut self) {
        if let Some((name, handle)) = self.in_flight.pop_front() {
            let outcome = handle.await.unwrap_or_else(|e| {
                error_outcome(&name, &format!("the verification failed: {e}"), self.json)
            });
            self.print(outcome);
        }
    }

    async fn push(&mut self, name: String, handle: JoinHandle<Outcome>) {
        while self.in_flight.len() >= self.limit {
            self.finish_one().await;
        }
        self.in_flight.push_back((name, handle));
    }

    /// Verifies `source` in a task of its own.
    async fn spawn(&mut self, source: Source, plan: &Arc<Plan>) {
        let name = source.name();
        self.push(name, tokio::spawn(verify(source, plan.clone())))
            .await;
    }

    /// A result known without verifying (an unreadable input): printed in its turn.
    async fn push_ready(&mut self, name: &str, error: &str) {
        let outcome = error_outcome(name, error, self.json);
        self.push(name.to_string(), tokio::spawn(async move { outcome }))
            .await;
    }
}

/// Verifies every message of `args.files`; exit status 0 when every one passed.
pub async fn run(args: VerifyArgs, dns: &DnsArgs) -> anyhow::Result<u8> {
    if args.ip.is_some() || args.helo.is_some() || args.mail_from.is_some() {
        anyhow::bail!(
            "--ip, --helo and --mail-from describe one connection; with many messages use \
             --trust-received"
        );
    }
    let started = Instant::now();
    let json = args.json;
    let inputs = collect(&args.files);
    let plan = Arc::new(Plan::new(args, dns, true).await?);
    let bar =
        ProgressBar::with_draw_target(Some(inputs.len() as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} messages, {per_sec}, {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut queue = Queue {
        in_flight: VecDeque::new(),
        limit: plan.args.jobs.max(1),
        json,
        bar,
        counts: BTreeMap::new(),
        out: Output::new(),
    };
    for input in inputs {
        let Input { path, in_maildir } = match input {
            Ok(input) => input,
            Err((name, error)) => {
                queue.push_ready(&name, &error).await;
                continue;
            }
        };
        if in_maildir {
            queue.spawn(Source::Path(path), &plan).await;
            continue;
        }
        match File::open(&path).and_then(sniff) {
            Ok((file, true)) => read_mbox(&path, file, &plan, &mut queue).await,
            Ok((file, false)) => queue.spawn(Source::Opened { path, file }, &plan).await,
            Err(e) => {
                let name = path.display().to_string();
                queue.push_ready(&name, &format!("cannot open: {e}")).await;
            }
        }
    }
    while !queue.in_flight.is_empty() {
        queue.finish_one().await;
    }
    if let Some(recorder) = &plan.recorder {
        recorder.flush().await?;
    }
    queue.out.flush();
    queue.bar.finish_and_clear();
    let total: usize = queue.counts.values().sum();
    let seconds = started.elapsed().as_secs_f64();
    let counts: Vec<String> = queue
        .counts
        .iter()
        .map(|(status, n)| format!("{n} {}", status.word()))
        .collect();
    let summary = format!(
        "{total} messages in {seconds:.2} s ({:.0} per second): {}",
        total as f64 / seconds.max(1e-9),
        if counts.is_empty() {
            "nothing found".to_string()
        } else {
            counts.join(", ")
        }
    );
    if json {
        eprintln!("{summary}");
    } else {
        queue.out.line(&summary);
        queue.out.flush();
    }
    let all_passed = queue.counts.keys().all(|s| *s == Status::Pass);
    Ok(if all_passed && total > 0 { 0 } else { 1 })
}

/// Queues every message of the mbox file `file` (at `path`), reading it as the queue drains.
async fn read_mbox(path: &Path, file: File, plan: &Arc<Plan>, queue: &mut Queue) {
    let name = path.display().to_string();
    let mut count = 0u64;
    for item in MboxReader::new(BufReader::new(file)) {
        count += 1;
        if count > 1 {
            queue.bar.inc_length(1);
        }
        match item {
            Ok(message) => {
                let source = Source::Mboxed {
                    name: format!("{name}#{}", message.number),
                    message: message.message,
                };
                queue.spawn(source, plan).await;
            }
            Err(e) => {
                let at = match &e {
                    MboxError::TooLarge { number, .. } => format!("{name}#{number}"),
                    _ => name.clone(),
                };
                queue.push_ready(&at, &e.to_string()).await;
            }
        }
    }
    if count == 0 {
        // An empty mbox: nothing to count.
        let length = queue.bar.length().unwrap_or(1);
        queue.bar.set_length(length.saturating_sub(1));
    }
}
