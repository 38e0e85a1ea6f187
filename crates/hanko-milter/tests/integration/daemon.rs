//! The `hanko-milter` binary as an administrator runs it: the shipped example configuration
//! checks clean, a bad key file is refused at start-up naming the file, SIGHUP reloads (and
//! keeps the running settings when the new file is bad), SIGTERM stops it cleanly.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_hanko-milter");

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/hanko-milter.toml")
}

#[test]
fn the_example_configuration_checks_clean() {
    let out = Command::new(BIN)
        .args(["--config", example().to_str().unwrap(), "--check"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("2 signing row(s)"), "{text}");
    assert!(text.contains("authserv-id mx.example.net"), "{text}");
    assert!(text.contains("s=ed2026 ed25519"), "{text}");
}

#[test]
fn a_bad_key_file_is_named_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.key"), "not a key").unwrap();
    let config = dir.path().join("m.toml");
    std::fs::write(
        &config,
        "[[signing]]\nsender = \"example.com\"\nselector = \"s\"\nkey = \"bad.key\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.key") && err.contains("[[signing]] #1"),
        "{err}"
    );
}

/// Starts the daemon on `config`, its log (standard error) read line by line.
fn start(config: &std::path::Path) -> (Child, BufReader<ChildStderr>) {
    let mut child = Command::new(BIN)
        .args(["--config", config.to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = BufReader::new(child.stderr.take().unwrap());
    (child, log)
}

/// Sends a signal with the `kill` command (no unsafe code here).
fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sighup_reloads_and_sigterm_stops() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("m.toml");
    let socket = dir.path().join("milter.sock");
    let write = |mode: &str| {
        std::fs::write(
            &config,
            format!(
                "listen = \"unix:{}\"\nmode = \"{mode}\"\n[dns]\nzone_files = []\nnameservers = [\"127.0.0.1:9\"]\n",
                socket.display()
            ),
        )
        .unwrap();
    };
    write("verify");
    let (mut child, mut log) = start(&config);
    let mut wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut line = String::new();
        while Instant::now() < deadline {
            line.clear();
            if log.read_line(&mut line).unwrap() == 0 {
                break;
            }
            if line.contains(needle) {
                return line.clone();
            }
        }
        panic!("no log line containing {needle:?}");
    };
    wait_for("listening on");
    assert!(socket.exists());

    write("sign");
    kill("HUP", child.id());
    wait_for("reloaded");

    std::fs::write(&config, "mode = \"sideways\"\n").unwrap();
    kill("HUP", child.id());
    let line = wait_for("reload of");
    assert!(line.contains("keeping the running settings"), "{line}");

    kill("TERM", child.id());
    wait_for("SIGTERM");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!socket.exists(), "the socket file is removed on exit");
}

#[test]
fn log_format_json_writes_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("m.toml");
    let socket = dir.path().join("milter.sock");
    std::fs::write(
        &config,
        format!(
            "listen = \"unix:{}\"\nlog_format = \"json\"\n[dns]\nnameservers = [\"127.0.0.1:9\"]\n",
            socket.display()
        ),
    )
    .unwrap();
    let (mut child, mut log) = start(&config);
    let mut line = String::new();
    log.read_line(&mut line).unwrap();
    kill("TERM", child.id());
    let _ = child.wait();
    let object: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    assert_eq!(object["level"], "INFO", "{line}");
    assert!(
        object["message"]
            .as_str()
            .unwrap_or_default()
            .contains("listening on"),
        "{line}"
    );
}
