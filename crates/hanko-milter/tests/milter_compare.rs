//! hanko-milter beside OpenDKIM's milter through the same private Postfix, and Postfix with no
//! milter at all: the same load for each (Postfix's `smtp-source`, parallel sessions, messages
//! of about 4 KB) when signing (unsigned mail from the trusted network, one RSA-2048 key) and
//! when verifying (mail signed with RSA-2048 beforehand, from a network neither milter
//! trusts), timed from the first connection to the last delivery at the sink. Prints a
//! Markdown table for `docs/performance.md`; asserts only that every message arrived and
//! that the milters did their work, never a time.
//!
//! hanko-milter runs as shipped: when verifying it also checks SPF and DMARC and writes one
//! Authentication-Results field for all of them; OpenDKIM checks DKIM alone. A measurement,
//! not a test: `scripts/bench-milter.sh` installs OpenDKIM (Debian `opendkim`) and runs it
//! with `--ignored`, as root.
//!
//! OpenDKIM's resolver (libunbound) asks only port 53 and no loopback address, and reading an
//! unbound configuration file under load crashed it ("fatal flex scanner internal error"), so
//! for OpenDKIM the same zone is also served on port 53 of an address from the documentation
//! range added to the loopback interface for the run ([`OPENDKIM_DNS`]), named with
//! `Nameservers`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hanko::dkim::{sign_message, SigningRequest};
use hanko::keys::SigningKey;
use hanko_dns::server::{ServerConfig, TestServer};

mod common;
use common::{key_dns, require_program, run, KeyDns, Milter, Postfix, Sink};

/// Where OpenDKIM's DNS is served: an address added to `lo` for the run, removed after.
const OPENDKIM_DNS: &str = "192.0.2.53";

const MESSAGES: usize = 2000;
const SESSIONS: usize = 8;

/// What a milter is asked to do.
#[derive(Clone, Copy, PartialEq)]
enum Work {
    Sign,
    Verify,
}

/// A milter under measurement, stopped when dropped.
enum Running {
    Hanko(Milter),
    OpenDkim(Child),
    None,
}

impl Running {
    /// Postfix's `smtpd_milters` value: each milter on a UNIX socket, as Debian sets
    /// OpenDKIM up (over TCP, libmilter's replies meet delayed acknowledgements and OpenDKIM
    /// managed about 90 messages per second).
    fn postfix_side(&self, bench: &Bench) -> String {
        match self {
            Running::Hanko(_) => format!("unix:{}", bench.path("hanko.sock").display()),
            Running::OpenDkim(_) => format!("unix:{}", bench.path("opendkim.sock").display()),
            Running::None => String::new(),
        }
    }

    /// The milter's log, for failure messages.
    fn log(&self, bench: &Bench) -> String {
        match self {
            Running::Hanko(milter) => milter.log(),
            Running::OpenDkim(_) => {
                std::fs::read_to_string(bench.path("opendkim.log")).unwrap_or_default()
            }
            Running::None => String::new(),
        }
    }

    /// Peak resident memory in KiB, when there is a milter process.
    fn peak_rss_kib(&self) -> Option<u64> {
        match self {
            Running::Hanko(milter) => Some(milter.peak_rss_kib()),
            Running::OpenDkim(child) => {
                let status =
                    std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok()?;
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            }
            Running::None => None,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Running::OpenDkim(child) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The test folder: keys, DNS, the messages.
struct Bench {
    dir: tempfile::TempDir,
    dns: TestServer,
    /// The same zone on port 53 of [`OPENDKIM_DNS`], for OpenDKIM.
    dns_53: TestServer,
    _runtime: tokio::runtime::Runtime,
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["addr", "del", &format!("{OPENDKIM_DNS}/32"), "dev", "lo"])
            .status();
    }
}

impl Bench {
    fn start() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        run("chmod", &["755", dir.path().to_str().unwrap()]);
        let KeyDns {
            zone,
            server: dns,
            runtime,
            ..
        } = key_dns(
            dir.path(),
            "example.com. IN TXT \"v=spf1 ip4:127.0.0.1 -all\"\n\
             _dmarc.example.com. IN TXT \"v=DMARC1; p=none\"\n",
        );
        // Already there from an interrupted run: fine.
        let _ = Command::new("ip")
            .args(["addr", "add", &format!("{OPENDKIM_DNS}/32"), "dev", "lo"])
            .stderr(Stdio::null())
            .status();
        let dns_53 = runtime
            .block_on(TestServer::start_on(
                format!("{OPENDKIM_DNS}:53").parse().unwrap(),
                ServerConfig::new(zone),
            ))
            .expect("port 53 of the added address (run as root)");
        let bench = Bench {
            dir,
            dns,
            dns_53,
            _runtime: runtime,
        };
        bench.write_messages();
        bench
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// `unsigned.eml` and `signed.eml` (LF line ends: smtp-source sends CRLF).
    fn write_messages(&self) {
        let mut message = String::from(
            "From: Hanako <hanako@example.com>\r\nTo: Ann <ann@example.net>\r\n\
             Subject: load\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\
             Message-ID: <load@example.com>\r\n\r\n",
        );
        for i in 0..80 {
            message.push_str(&format!(
                "{i:02} the quick brown fox jumps over the lazy dog.\r\n"
            ));
        }
        let key = SigningKey::from_pem(&std::fs::read(self.path("rsa.key")).unwrap()).unwrap();
        let request = SigningRequest::new(&key, "example.com", "rsa").unwrap();
        let signed = sign_message(message.as_bytes(), vec![request], hanko_milter::now()).unwrap();
        let lf = |text: &[u8]| String::from_utf8_lossy(text).replace("\r\n", "\n");
        std::fs::write(self.path("unsigned.eml"), lf(message.as_bytes())).unwrap();
        std::fs::write(self.path("signed.eml"), lf(&signed)).unwrap();
    }

    /// hanko-milter with one RSA key; 127.0.0.1 is trusted (signs) or not (verifies).
    fn hanko(&self, work: Work) -> Running {
        let trusted = match work {
            Work::Sign => "[\"127.0.0.1/32\"]",
            Work::Verify => "[]",
        };
        let config = self.path("milter.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"unix:{}\"\nsocket_mode = \"0666\"\n\
                 trusted_networks = {trusted}\n\
                 [dns]\nnameservers = [\"{}\"]\ntimeout = 5\n\
                 [verify]\nauthserv_id = \"mx.hanko.test\"\n\
                 [[signing]]\nsender = \"example.com\"\nselector = \"rsa\"\nkey = \"rsa.key\"\n",
                self.path("hanko.sock").display(),
                self.dns.addr()
            ),
        )
        .unwrap();
        Running::Hanko(Milter::start(&config))
    }

    /// OpenDKIM with the same key, its resolver sent to [`OPENDKIM_DNS`].
    fn opendkim(&self, work: Work) -> Running {
        require_program("opendkim", "opendkim");
        let internal = match work {
            Work::Sign => "127.0.0.1",
            Work::Verify => "192.0.2.1",
        };
        let config = self.path("opendkim.conf");
        std::fs::write(
            &config,
            format!(
                "Syslog no\nBackground no\nSocket local:{}\nUMask 000\nMode sv\n\
                 Domain example.com\nSelector rsa\nKeyFile {}\nRequireSafeKeys no\n\
                 InternalHosts {internal}\nNameservers {}\n\
                 AuthservID mx.opendkim.test\n",
                self.path("opendkim.sock").display(),
                self.path("rsa.key").display(),
                self.dns_53.addr().ip()
            ),
        )
        .unwrap();
        let child = Command::new("opendkim")
            .arg("-x")
            .arg(&config)
            .arg("-f")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.path("opendkim.log")).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::os::unix::net::UnixStream::connect(self.path("opendkim.sock")).is_err() {
            assert!(
                Instant::now() < deadline,
                "OpenDKIM does not listen:\n{}",
                std::fs::read_to_string(self.path("opendkim.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Running::OpenDkim(child)
    }
}

/// One run: messages per second end to end, the milter's peak memory, and what the first
/// delivered message carried (for the checks).
fn measure(bench: &Bench, name: &str, work: Work) -> (f64, Option<u64>, String) {
    let running = match name {
        "hanko-milter" => bench.hanko(work),
        "OpenDKIM" => bench.opendkim(work),
        _ => Running::None,
    };
    let sink = Sink::start();
    let postfix = Postfix::start(&running.postfix_side(bench), sink.addr);
    let file = match work {
        Work::Sign => bench.path("unsigned.eml"),
        Work::Verify => bench.path("signed.eml"),
    };
    let started = Instant::now();
    let out = smtp_source(&file, postfix.smtp);
    assert!(
        out.status.success(),
        "{name}: smtp-source: {}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        postfix.log(),
        running.log(bench)
    );
    let Some(delivered) = sink.wait_for(MESSAGES, Duration::from_secs(600)) else {
        panic!(
            "{name}: only {} of {MESSAGES} delivered\n{}",
            sink.count(),
            postfix.log()
        )
    };
    let elapsed = started.elapsed().as_secs_f64();
    let first = String::from_utf8_lossy(&delivered[0].data).into_owned();
    (MESSAGES as f64 / elapsed, running.peak_rss_kib(), first)
}

fn smtp_source(file: &Path, smtp: std::net::SocketAddr) -> std::process::Output {
    Command::new("smtp-source")
        .args(["-s", &SESSIONS.to_string(), "-m", &MESSAGES.to_string()])
        .arg("-N")
        .args(["-M", "mail.example.com", "-f", "hanako@example.com"])
        .args(["-t", "ann@example.net", "-F"])
        .arg(file)
        .arg(smtp.to_string())
        .output()
        .unwrap()
}

#[test]
#[ignore = "a measurement: scripts/bench-milter.sh runs it"]
fn milters_under_the_same_load() {
    require_program("smtp-source", "postfix");
    let bench = Bench::start();
    let mut rows = Vec::new();
    for name in ["no milter", "hanko-milter", "OpenDKIM"] {
        let (sign_rate, sign_rss, signed) = measure(&bench, name, Work::Sign);
        let (verify_rate, verify_rss, verified) = measure(&bench, name, Work::Verify);
        match name {
            "no milter" => {}
            _ => {
                assert!(
                    signed.contains("DKIM-Signature:"),
                    "{name} signed:\n{signed}"
                );
                assert!(
                    verified.contains("dkim=pass"),
                    "{name} verified:\n{verified}"
                );
            }
        }
        let memory = match (sign_rss, verify_rss) {
            (Some(a), Some(b)) => format!("{:.1} MB", a.max(b) as f64 / 1024.0),
            _ => "-".to_string(),
        };
        rows.push(format!(
            "| {name} | {sign_rate:.0} | {verify_rate:.0} | {memory} |"
        ));
    }
    println!(
        "{MESSAGES} messages of about 4 KB, {SESSIONS} sessions, {} cores\n\n\
         | Postfix with | signing, messages/s | verifying, messages/s | milter peak memory |\n\
         | --- | --- | --- | --- |\n{}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        rows.join("\n")
    );
}
