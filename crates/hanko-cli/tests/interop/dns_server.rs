//! `hanko dns serve` as a child process, for peers that resolve through a DNS server.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::common::HANKO;

/// `hanko dns serve` on a free loopback port; stopped when dropped.
pub struct Server {
    child: Child,
    /// The UDP and TCP port it answers on, 127.0.0.1.
    pub port: String,
}

impl Server {
    /// Serves `zone` until dropped.
    pub fn start(zone: &std::path::Path) -> Server {
        let mut child = Command::new(HANKO)
            .args([
                "--zone",
                zone.to_str().unwrap(),
                "dns",
                "serve",
                "--listen",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().rsplit(':').next().unwrap().to_string();
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
