//! A minimal SMTP server for tests: it accepts every message and keeps it in memory, the
//! final destination of a private Postfix or of reports hanko sends.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// One message as the sink received it.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// MAIL FROM, without brackets.
    pub mail_from: String,
    /// RCPT TO addresses, without brackets.
    pub recipients: Vec<String>,
    /// The message, CRLF line ends, dot-stuffing undone.
    pub data: Vec<u8>,
}

type Inbox = Arc<(Mutex<Vec<Delivered>>, Condvar)>;

/// A minimal SMTP server that accepts everything and keeps it in memory: the final
/// destination Postfix relays to. It advertises 8BITMIME so that Postfix passes messages on
/// unchanged.
pub struct Sink {
    /// Where it listens.
    pub addr: SocketAddr,
    inbox: Inbox,
}

impl Sink {
    /// Listens on a free loopback port; each connection is served by its own thread.
    pub fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let inbox: Inbox = Arc::default();
        let shared = inbox.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let inbox = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve_smtp(stream, &inbox);
                });
            }
        });
        Sink { addr, inbox }
    }

    /// How many messages arrived so far.
    pub fn count(&self) -> usize {
        self.inbox.0.lock().unwrap().len()
    }

    /// Waits until at least `count` messages arrived and returns all of them; `None` after
    /// `timeout`.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Option<Vec<Delivered>> {
        let (lock, arrived) = &*self.inbox;
        let (messages, result) = arrived
            .wait_timeout_while(lock.lock().unwrap(), timeout, |m| m.len() < count)
            .unwrap();
        (!result.timed_out()).then(|| messages.clone())
    }
}

fn serve_smtp(stream: TcpStream, inbox: &Inbox) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    out.write_all(b"220 sink.test ESMTP\r\n")?;
    let mut mail_from = String::new();
    let mut recipients = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let upper = text.to_ascii_uppercase();
        let address = || {
            let start = text.find('<').map_or(0, |i| i + 1);
            let end = text[start..].find('>').map_or(text.len(), |i| start + i);
            text[start..end].to_string()
        };
        if upper.starts_with("EHLO") {
            out.write_all(b"250-sink.test\r\n250 8BITMIME\r\n")?;
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            out.write_all(b"250 ok\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            mail_from = address();
            recipients.clear();
            out.write_all(b"250 2.1.0 ok\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            recipients.push(address());
            out.write_all(b"250 2.1.5 ok\r\n")?;
        } else if upper == "DATA" {
            out.write_all(b"354 go ahead\r\n")?;
            let mut data = Vec::new();
            loop {
                line.clear();
                if input.read_until(b'\n', &mut line)? == 0 {
                    return Ok(());
                }
                if line == b".\r\n" || line == b".\n" {
                    break;
                }
                let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
                data.extend_from_slice(unstuffed);
            }
            let (lock, arrived) = &**inbox;
            lock.lock().unwrap().push(Delivered {
                mail_from: std::mem::take(&mut mail_from),
                recipients: std::mem::take(&mut recipients),
                data,
            });
            arrived.notify_all();
            out.write_all(b"250 2.0.0 kept\r\n")?;
        } else if upper == "RSET" {
            mail_from.clear();
            recipients.clear();
            out.write_all(b"250 2.0.0 ok\r\n")?;
        } else if upper == "QUIT" {
            out.write_all(b"221 2.0.0 bye\r\n")?;
            return Ok(());
        } else {
            out.write_all(b"502 5.5.2 not here\r\n")?;
        }
    }
}
