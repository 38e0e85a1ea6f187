//! The `nsupdate` scripts `hanko keygen --format nsupdate` writes, applied to a real BIND
//! (Debian `bind9` and `bind9-dnsutils`, installed by scripts/test.sh): a private `named`
//! on a loopback port with a zone that takes dynamic updates; `nsupdate` applies the script,
//! `dig` sees the record's strings, and `hanko dkim testkey` finds it matching the key.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;
use common::{run_ok, HANKO};

/// A private named, stopped when dropped.
struct Named {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Named {
    fn start() -> Named {
        for program in ["named", "nsupdate", "dig"] {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {program}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                found,
                "{program} not found: run scripts/test.sh, which installs Debian's bind9 and \
                 bind9-dnsutils"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let path = dir.path().display().to_string();
        std::fs::write(
            dir.path().join("named.conf"),
            format!(
                "options {{\n  directory \"{path}\";\n  listen-on port {port} {{ 127.0.0.1; }};\n  \
                 listen-on-v6 {{ none; }};\n  pid-file \"{path}/named.pid\";\n  recursion no;\n  \
                 dnssec-validation no;\n}};\ncontrols {{ }};\n\
                 zone \"example.com\" {{\n  type primary;\n  file \"{path}/example.com.db\";\n  \
                 allow-update {{ 127.0.0.1; }};\n}};\n"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("example.com.db"),
            "$TTL 300\n@ IN SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 300\n\
             @ IN NS ns.example.com.\nns IN A 127.0.0.1\n",
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("named.log")).unwrap();
        let child = Command::new("named")
            .args(["-g", "-u", "root", "-c"])
            .arg(dir.path().join("named.conf"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let named = Named {
            child,
            port,
            _dir: dir,
        };
        let start = Instant::now();
        let log = named._dir.path().join("named.log");
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("running")
        {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "named did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        named
    }

    fn nsupdate(&self, script: &[u8]) {
        let mut child = Command::new("nsupdate")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "server 127.0.0.1 {}\nzone example.com", self.port).unwrap();
        stdin.write_all(script).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "nsupdate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn nsupdate_scripts_publish_records_bind_serves_and_testkey_accepts() {
    let named = Named::start();
    let examples = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let nameserver = format!("127.0.0.1:{}", named.port);
    for (selector, file) in [("rsa2026", "rsa2026.private"), ("ed2026", "ed2026.private")] {
        let key = examples.join(file);
        let script = run_ok(
            HANKO,
            &[
                "keygen",
                "--from-key",
                key.to_str().unwrap(),
                "--domain",
                "example.com",
                "--selector",
                selector,
                "--format",
                "nsupdate",
                "--ttl",
                "120",
            ],
            b"",
        );
        // Twice: the script replaces the record, so a second run changes nothing.
        named.nsupdate(&script);
        named.nsupdate(&script);
        let dig = run_ok(
            "dig",
            &[
                "+short",
                "@127.0.0.1",
                "-p",
                &named.port.to_string(),
                "TXT",
                &format!("{selector}._domainkey.example.com"),
            ],
            b"",
        );
        let answer = String::from_utf8(dig).unwrap();
        assert_eq!(answer.lines().count(), 1, "one record: {answer}");
        assert!(answer.starts_with("\"v=DKIM1; k="), "{answer}");
        let testkey = run_ok(
            HANKO,
            &[
                "--nameserver",
                &nameserver,
                "dkim",
                "testkey",
                "--domain",
                "example.com",
                "--selector",
                selector,
                "--key",
                key.to_str().unwrap(),
            ],
            b"",
        );
        assert!(String::from_utf8_lossy(&testkey).contains("key OK"));
    }
}
