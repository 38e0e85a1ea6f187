//! Shared by the milter's integration tests: the conformance folder, the test keys and zone,
//! and for the end-to-end tests the real parts: Debian's Postfix in a private instance on
//! loopback, the `hanko-milter` binary, and an SMTP sink that collects what Postfix delivers.
//!
//! Postfix and swaks are installed by scripts/test.sh; starting Postfix needs root (CI runs as
//! root). Nothing here touches the system's Postfix configuration: the instance lives in a
//! temporary folder (`postfix -c DIR`) and relays everything to the sink.

#![allow(dead_code)] // each test file uses a different part of this module

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use hanko::dkim::{key_record_for, KeyRecordOptions};
use hanko::keys::{zone_txt_record, SigningKey};
use hanko_dns::server::{ServerConfig, TestServer};

/// Copies the shipped test keys (`examples/rsa2026.private`, `examples/ed2026.private`) into
/// `dir` as `rsa.key` and `ed.key`, and returns their DNS records, so the milter's tests need
/// nothing outside the repository.
pub fn install_test_keys(dir: &Path) -> Vec<(String, String)> {
    let examples = hanko_test_support::examples_dir();
    let mut records = Vec::new();
    for (selector, file) in [("rsa", "rsa2026.private"), ("ed", "ed2026.private")] {
        let pem = std::fs::read(examples.join(file)).unwrap();
        std::fs::write(dir.join(format!("{selector}.key")), &pem).unwrap();
        let key = SigningKey::from_pem(&pem).unwrap();
        let record = key_record_for(&key, &KeyRecordOptions::default()).unwrap();
        records.push((format!("{selector}._domainkey.example.com"), record));
    }
    records
}

/// A test folder's DNS: the test keys installed in it, and a loopback server answering their
/// records beside other zone lines, with the runtime that serves it.
pub struct KeyDns {
    /// The key records (name, TXT value).
    pub records: Vec<(String, String)>,
    /// What the server serves.
    pub zone: hanko_dns::Zone,
    /// The server.
    pub server: TestServer,
    /// Runs the server; dropping it stops the server.
    pub runtime: tokio::runtime::Runtime,
}

/// Installs the test keys in `dir` and serves their records beside `zone_lines` (absolute
/// names, e.g. example.com's SPF and DMARC records).
pub fn key_dns(dir: &Path, zone_lines: &str) -> KeyDns {
    let records = install_test_keys(dir);
    let zone_text = format!("{zone_lines}{}", key_zone_lines(&records));
    let zone = hanko_dns::Zone::parse(&zone_text, ".").unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(TestServer::start(ServerConfig::new(zone.clone())))
        .unwrap();
    KeyDns {
        records,
        zone,
        server,
        runtime,
    }
}

/// The key records as zone-file lines.
pub fn key_zone_lines(records: &[(String, String)]) -> String {
    records
        .iter()
        .map(|(name, value)| zone_txt_record(&format!("{name}."), value) + "\n")
        .collect()
}

/// Fails the test with a clear message when a program the end-to-end tests need is missing.
pub fn require_program(program: &str, package: &str) {
    hanko_test_support::require_program(program, package);
}

/// A free TCP port on 127.0.0.1 (bound and released; the window for a clash is small).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub use hanko_test_support::smtp_sink::{Delivered, Sink};

/// A private Postfix instance on loopback: SMTP on `smtp`, every message through the milter
/// at `milter`, everything relayed to `relay`. Stopped when dropped.
pub struct Postfix {
    dir: tempfile::TempDir,
    /// Where its SMTP server listens.
    pub smtp: SocketAddr,
}

const MASTER_CF: &str = "\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
";

impl Postfix {
    /// Writes main.cf and master.cf into a temporary folder and starts the instance.
    /// `milter` is in Postfix's notation: `inet:IP:PORT` or `unix:/path`.
    pub fn start(milter: &str, relay: SocketAddr) -> Postfix {
        require_program("postfix", "postfix");
        let uid = Command::new("id").arg("-u").output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&uid.stdout).trim(),
            "0",
            "starting Postfix needs root"
        );
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Postfix's own user must reach the queue and data folders.
        run("chmod", &["755", root.to_str().unwrap()]);
        for sub in ["conf", "queue", "data"] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        run("chown", &["postfix", root.join("data").to_str().unwrap()]);
        let port = free_port();
        let r = root.display();
        let main_cf = format!(
            "compatibility_level = 3.6
queue_directory = {r}/queue
data_directory = {r}/data
maillog_file = {r}/postfix.log
maillog_file_prefixes = {r}
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.hanko.test
mydomain = hanko.test
mydestination =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
relayhost = [{relay_ip}]:{relay_port}
smtp_dns_support_level = disabled
smtpd_milters = {milter}
non_smtpd_milters =
milter_default_action = tempfail
",
            relay_ip = relay.ip(),
            relay_port = relay.port(),
        );
        std::fs::write(root.join("conf/main.cf"), main_cf).unwrap();
        std::fs::write(
            root.join("conf/master.cf"),
            format!("127.0.0.1:{port} inet n - n - - smtpd\n{MASTER_CF}"),
        )
        .unwrap();
        let postfix = Postfix {
            smtp: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        };
        let out = postfix.command("postfix", &["start"]);
        assert!(
            out.status.success(),
            "postfix start failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            postfix.log()
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(postfix.smtp).is_err() {
            assert!(
                Instant::now() < deadline,
                "Postfix does not listen on {}:\n{}",
                postfix.smtp,
                postfix.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        postfix
    }

    fn command(&self, program: &str, args: &[&str]) -> std::process::Output {
        let conf = self.dir.path().join("conf");
        Command::new(program)
            .arg("-c")
            .arg(&conf)
            .args(args)
            .output()
            .unwrap()
    }

    /// Postfix's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postfix.log")).unwrap_or_default()
    }

    /// The queue listing (`postqueue -p`): "Mail queue is empty" when everything left.
    pub fn queue(&self) -> String {
        let out = self.command("postqueue", &["-p"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = self.command("postfix", &["stop"]);
    }
}

/// Runs a program that must succeed.
pub fn run(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status().unwrap();
    assert!(status.success(), "{program} {args:?}: {status:?}");
}

/// The `hanko-milter` binary running on a configuration, its log in a file. Stopped with
/// SIGTERM when dropped.
pub struct Milter {
    child: Child,
    log: PathBuf,
    /// Where it listens, `IP:PORT`.
    pub addr: String,
}

impl Milter {
    /// Starts it and waits for its "listening on" line.
    pub fn start(config: &Path) -> Milter {
        let log = config.with_extension("log");
        let child = Command::new(env!("CARGO_BIN_EXE_hanko-milter"))
            .arg("--config")
            .arg(config)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut milter = Milter {
            child,
            log,
            addr: String::new(),
        };
        let line = milter.wait_for_log("listening on", 1);
        milter.addr = line
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap()
            .to_string();
        milter
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `needle` occurs on `count` lines; returns the last such line.
    pub fn wait_for_log(&mut self, needle: &str, count: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.log();
            let lines: Vec<&str> = log.lines().filter(|l| l.contains(needle)).collect();
            if lines.len() >= count {
                return lines[count - 1].to_string();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("hanko-milter exited ({status}):\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in the milter's log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal with the `kill` command.
    pub fn signal(&self, signal: &str) {
        run(
            "kill",
            &[&format!("-{signal}"), &self.child.id().to_string()],
        );
    }

    /// The process's peak resident memory (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap()
    }
}

impl Drop for Milter {
    fn drop(&mut self) {
        self.signal("TERM");
        let _ = self.child.wait();
    }
}

/// Sends `message` with swaks from `client_ip` (any 127.0.0.0/8 address), HELO
/// mail.example.com. Returns whether swaks succeeded and its transcript.
pub fn swaks(
    server: SocketAddr,
    client_ip: &str,
    mail_from: &str,
    rcpt: &str,
    message: &[u8],
) -> (bool, String) {
    require_program("swaks", "swaks");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), message).unwrap();
    let out = Command::new("swaks")
        .args(["--server", &server.to_string()])
        .args(["--local-interface", client_ip])
        .args(["--ehlo", "mail.example.com"])
        .args(["--from", mail_from, "--to", rcpt])
        .arg("--data")
        .arg(file.path())
        .output()
        .unwrap();
    let transcript = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), transcript)
}

/// The milter's authserv-id in the end-to-end tests.
pub const AUTHSERV_ID: &str = "mx.hanko.test";
/// The configured reply for a DMARC reject.
pub const REJECT_REPLY: &str = "550 5.7.1 DMARC policy of the sender says reject";

/// The whole end-to-end setup: hanko-milter (trusted network 127.0.0.1/32; example.com's keys
/// `rsa` and `ed`; DNS from the loopback server, where example.com's SPF allows 127.0.0.2 and
/// its DMARC policy is `p=reject`), Postfix calling it, and the sink. Dropped in field order:
/// Postfix, the milter, the sink, DNS.
pub struct World {
    /// The MTA.
    pub postfix: Postfix,
    /// The daemon under test.
    pub milter: Milter,
    /// Where Postfix delivers.
    pub sink: Sink,
    dns: TestServer,
    _runtime: tokio::runtime::Runtime,
    /// The zone the DNS server serves.
    pub zone: hanko_dns::Zone,
    records: Vec<(String, String)>,
    listen: String,
    dir: tempfile::TempDir,
}

/// How Postfix reaches the milter.
#[derive(Debug, Clone, Copy)]
pub enum Transport {
    /// TCP on loopback.
    Inet,
    /// A UNIX socket (mode 0666) in the test's folder.
    Unix,
}

impl World {
    /// Starts everything, DMARC enforcement off; Postfix reaches the milter over `transport`.
    pub fn start(transport: Transport) -> World {
        let dir = tempfile::tempdir().unwrap();
        // Postfix's user must reach a socket in here.
        run("chmod", &["755", dir.path().to_str().unwrap()]);
        let KeyDns {
            records,
            zone,
            server: dns,
            runtime,
        } = key_dns(
            dir.path(),
            "example.com. IN TXT \"v=spf1 ip4:127.0.0.2 -all\"\n\
             _dmarc.example.com. IN TXT \"v=DMARC1; p=reject\"\n",
        );
        let config = dir.path().join("milter.toml");
        let listen = match transport {
            Transport::Inet => "inet:0@127.0.0.1".to_string(),
            Transport::Unix => format!("unix:{}", dir.path().join("milter.sock").display()),
        };
        write_config(&config, &listen, dns.addr(), false);
        let milter = Milter::start(&config);
        let sink = Sink::start();
        let postfix_side = match transport {
            Transport::Inet => format!("inet:{}", milter.addr),
            Transport::Unix => format!("unix:{}", milter.addr),
        };
        let postfix = Postfix::start(&postfix_side, sink.addr);
        World {
            postfix,
            milter,
            sink,
            dns,
            _runtime: runtime,
            zone,
            records,
            listen,
            dir,
        }
    }

    /// Rewrites the milter's configuration with DMARC `p=reject` enforcement on or off
    /// (takes effect at the next SIGHUP).
    pub fn set_dmarc_reject(&self, on: bool) {
        write_config(
            &self.dir.path().join("milter.toml"),
            &self.listen,
            self.dns.addr(),
            on,
        );
    }

    /// Submits with swaks and waits for the message at the sink.
    pub fn deliver(&self, client_ip: &str, mail_from: &str, message: &[u8]) -> Delivered {
        let before = self.sink.count();
        let (ok, transcript) = swaks(
            self.postfix.smtp,
            client_ip,
            mail_from,
            "ann@example.net",
            message,
        );
        assert!(ok, "swaks failed:\n{transcript}\n{}", self.logs());
        let Some(all) = self.sink.wait_for(before + 1, Duration::from_secs(60)) else {
            panic!("nothing delivered:\n{}", self.logs())
        };
        all[before].clone()
    }

    /// Postfix's and the milter's logs, for failure messages.
    pub fn logs(&self) -> String {
        format!(
            "--- postfix\n{}\n--- hanko-milter\n{}",
            self.postfix.log(),
            self.milter.log()
        )
    }

    /// dkimpy's verdict on each signature, topmost first (the dkimpy driver of the CLI's
    /// interop tests, with the Python of `HANKO_PYTHON`).
    pub fn dkimpy_verify(&self, message: &[u8]) -> Vec<String> {
        let python = std::env::var("HANKO_PYTHON").unwrap_or_else(|_| "python3".into());
        let records: serde_json::Map<String, serde_json::Value> = self
            .records
            .iter()
            .map(|(name, value)| (name.clone(), value.clone().into()))
            .collect();
        let records_path = self.dir.path().join("records.json");
        std::fs::write(&records_path, serde_json::to_vec(&records).unwrap()).unwrap();
        let input = self.dir.path().join("delivered.eml");
        std::fs::write(&input, message).unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../hanko-cli/tests/interop/dkimpy_peer.py");
        let out = Command::new(&python)
            .arg(script)
            .arg("verify")
            .arg(&records_path)
            .stdin(std::fs::File::open(&input).unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "dkimpy ({python}; run scripts/test.sh to install it): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

fn write_config(path: &Path, listen: &str, dns: SocketAddr, dmarc_reject: bool) {
    let mode = if listen.starts_with("unix:") {
        "socket_mode = \"0666\"\n"
    } else {
        ""
    };
    std::fs::write(
        path,
        format!(
            "listen = \"{listen}\"\n{mode}\
             trusted_networks = [\"127.0.0.1/32\"]\n\
             [dns]\nnameservers = [\"{dns}\"]\ntimeout = 5\n\
             [verify]\nauthserv_id = \"{AUTHSERV_ID}\"\n\
             dmarc_reject = {dmarc_reject}\nreject_reply = \"{REJECT_REPLY}\"\n\
             [[signing]]\nsender = \"example.com\"\nselector = \"rsa\"\nkey = \"rsa.key\"\n\
             [[signing]]\nsender = \"example.com\"\nselector = \"ed\"\nkey = \"ed.key\"\n"
        ),
    )
    .unwrap();
}
