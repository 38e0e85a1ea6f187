//! hanko-milter over the real milter protocol, without an MTA: the test plays the MTA with
//! indymilter's own message codec (commands and replies are never hand-encoded) against the
//! daemon's `run` on a loopback port. DNS comes from a zone file, or from hanko-dns's loopback
//! test server where DNS must fail.
//!
//! Covered: signing for a trusted client (two keys, one relaxed and one simple; odd header
//! folding; a bare-LF body in uneven chunks), the result verified by the library;
//! verification of an incoming message with a forged Authentication-Results removed; DMARC
//! `p=reject` enforced or only reported, `p=quarantine` held; a client that disconnects
//! mid-message; an aborted message; a message over the header limit passed through untouched;
//! a DNS temperror (SERVFAIL) accepted or tempfailed as `on_dns_temperror` says; a server that
//! never answers cut off by `message_timeout` and handled as `on_error` says.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use hanko::authres::{AuthenticationResults, ParseOptions};
use hanko::dkim::{DkimVerdict, Verifier, VerifyConfig};
use hanko::message::Headers;
use hanko_dns::server::{Fault, ServerConfig, TestServer};
use indymilter::message::command::{
    Command, ConnInfoPayload, EnvAddrPayload, HeaderPayload, HeloPayload, OptNegPayload,
};
use indymilter::message::reply::Reply;
use indymilter::message::{self, PROTOCOL_VERSION};
use indymilter::{Actions, ProtoOpts, SocketInfo};
use tokio::io::BufStream;
use tokio::net::TcpStream;

use crate::common;
use common::{install_test_keys, key_zone_lines};

/// A temporary folder with keys, a zone and a configuration.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    /// DNS from the zone file.
    fn new(extra_config: &str) -> Setup {
        let setup = Setup::with_zone();
        setup.write_config(extra_config, "zone_files = [\"test.zone\"]");
        setup
    }

    /// DNS from a loopback server on the same zone, misbehaving as `faults` says.
    async fn with_server(
        extra_config: &str,
        faults: impl FnOnce(ServerConfig) -> ServerConfig,
    ) -> (Setup, TestServer) {
        let setup = Setup::with_zone();
        let zone = hanko_dns::Zone::from_file(&setup.zone()).unwrap();
        let server = TestServer::start(faults(ServerConfig::new(zone)))
            .await
            .unwrap();
        setup.write_config(
            extra_config,
            &format!("nameservers = [\"{}\"]\ntimeout = 5", server.addr()),
        );
        (setup, server)
    }

    /// Keys and the test zone, no configuration yet.
    fn with_zone() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let mut zone = String::from(
            "example.com. IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n\
             _dmarc.example.com. IN TXT \"v=DMARC1; p=reject\"\n\
             example.net. IN TXT \"v=spf1 -all\"\n\
             _dmarc.example.net. IN TXT \"v=DMARC1; p=quarantine\"\n",
        );
        zone.push_str(&key_zone_lines(&install_test_keys(dir.path())));
        std::fs::write(dir.path().join("test.zone"), zone).unwrap();
        Setup { dir }
    }

    /// The configuration: `extra_config` (top-level keys or a whole `[verify]` table) and the
    /// body of the `[dns]` table.
    fn write_config(&self, extra_config: &str, dns: &str) {
        let config = format!(
            "listen = \"inet:0@127.0.0.1\"\n\
             trusted_networks = [\"127.0.0.0/8\", \"198.51.100.0/24\"]\n\
             {extra_config}\n\
             [dns]\n{dns}\n\
             [[signing]]\nsender = \"example.com\"\nselector = \"rsa\"\nkey = \"rsa.key\"\n\
             [[signing]]\nsender = \"example.com\"\nselector = \"ed\"\nkey = \"ed.key\"\ncanonicalization = \"simple/simple\"\n"
        );
        let config = if config.contains("[verify]") {
            config
        } else {
            config + "[verify]\nauthserv_id = \"mx.example.net\"\n"
        };
        std::fs::write(self.dir.path().join("milter.toml"), config).unwrap();
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("milter.toml")
    }

    fn zone(&self) -> PathBuf {
        self.dir.path().join("test.zone")
    }
}

/// The daemon, on a free port.
struct Daemon {
    addr: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _reload: tokio::sync::mpsc::Sender<()>,
}

impl Daemon {
    async fn start(config: &Path) -> Daemon {
        let (settings, lookup) = hanko_milter::load(config).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (reload, reload_rx) = tokio::sync::mpsc::channel(1);
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(hanko_milter::run(
            config.to_path_buf(),
            settings,
            lookup,
            reload_rx,
            async move {
                let _ = stopped.await;
            },
            move |addr| {
                let _ = ready_tx.send(addr);
            },
        ));
        let addr = ready_rx.await.unwrap();
        Daemon {
            addr,
            stop: Some(stop),
            task,
            _reload: reload,
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

/// The MTA side of one milter connection.
struct Mta {
    stream: BufStream<TcpStream>,
    /// The stages the milter agreed not to answer.
    noreply: ProtoOpts,
}

/// Every "no reply" option of the protocol: what Postfix offers.
const NOREPLY_STAGES: ProtoOpts = ProtoOpts::NOREPLY_CONNECT
    .union(ProtoOpts::NOREPLY_HELO)
    .union(ProtoOpts::NOREPLY_MAIL)
    .union(ProtoOpts::NOREPLY_HEADER)
    .union(ProtoOpts::NOREPLY_EOH)
    .union(ProtoOpts::NOREPLY_BODY);

fn c(text: &str) -> CString {
    CString::new(text).unwrap()
}

fn is_final(reply: &Reply) -> bool {
    matches!(
        reply,
        Reply::Accept
            | Reply::Continue
            | Reply::Discard
            | Reply::Reject
            | Reply::Tempfail
            | Reply::ReplyCode { .. }
            | Reply::Skip
            | Reply::OptNeg { .. }
    )
}

impl Mta {
    /// Connects and negotiates as Postfix does (all actions, leading space on, every stage
    /// without a reply when the milter wants it so).
    async fn connect(addr: &str, client_ip: &str) -> Mta {
        let mta = Mta::connect_offering(addr, client_ip, ProtoOpts::all() - ProtoOpts::SKIP).await;
        assert_eq!(mta.noreply, NOREPLY_STAGES, "hanko answers only at the end");
        mta
    }

    /// Connects offering the protocol options `offered`.
    async fn connect_offering(addr: &str, client_ip: &str, offered: ProtoOpts) -> Mta {
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut mta = Mta {
            stream: BufStream::new(stream),
            noreply: ProtoOpts::empty(),
        };
        let replies = mta
            .send(Command::OptNeg(OptNegPayload {
                version: PROTOCOL_VERSION,
                actions: Actions::all(),
                opts: offered,
            }))
            .await;
        let Reply::OptNeg { opts, actions, .. } = &replies[0] else {
            panic!("{replies:?}")
        };
        assert_eq!(
            opts.contains(ProtoOpts::LEADING_SPACE),
            offered.contains(ProtoOpts::LEADING_SPACE)
        );
        assert!(actions.contains(Actions::ADD_HEADER | Actions::CHANGE_HEADER));
        assert!(offered.contains(*opts), "asked only for what was offered");
        mta.noreply = *opts & NOREPLY_STAGES;
        let ip: std::net::IpAddr = client_ip.parse().unwrap();
        mta.expect_continue(Command::ConnInfo(ConnInfoPayload {
            hostname: c("client.example"),
            socket_info: SocketInfo::Inet((ip, 40000).into()),
        }))
        .await;
        mta.expect_continue(Command::Helo(HeloPayload {
            hostname: c("mail.example.com"),
        }))
        .await;
        mta
    }

    async fn send(&mut self, command: Command) -> Vec<Reply> {
        message::write(&mut self.stream, command.into_message())
            .await
            .unwrap();
        let mut replies = Vec::new();
        loop {
            let msg = message::read(&mut self.stream).await.unwrap();
            let reply = Reply::parse_reply(msg).unwrap();
            let done = is_final(&reply);
            replies.push(reply);
            if done {
                return replies;
            }
        }
    }

    /// Sends a command of a stage before the end of the message: "continue" comes back, or
    /// nothing when that stage was negotiated without a reply.
    async fn expect_continue(&mut self, command: Command) {
        let stage = match &command {
            Command::ConnInfo(_) => ProtoOpts::NOREPLY_CONNECT,
            Command::Helo(_) => ProtoOpts::NOREPLY_HELO,
            Command::Mail(_) => ProtoOpts::NOREPLY_MAIL,
            Command::Header(_) => ProtoOpts::NOREPLY_HEADER,
            Command::Eoh => ProtoOpts::NOREPLY_EOH,
            Command::BodyChunk(_) => ProtoOpts::NOREPLY_BODY,
            _ => ProtoOpts::empty(),
        };
        if !stage.is_empty() && self.noreply.contains(stage) {
            message::write(&mut self.stream, command.into_message())
                .await
                .unwrap();
            return;
        }
        let replies = self.send(command).await;
        assert_eq!(replies, vec![Reply::Continue]);
    }

    /// MAIL FROM, the header fields (raw `Name: value` text with LF folding) and the body
    /// in the given chunks; returns the end-of-message replies.
    async fn message(&mut self, mail_from: &str, headers: &[&str], chunks: &[&[u8]]) -> Vec<Reply> {
        self.expect_continue(Command::Mail(EnvAddrPayload {
            args: vec![c(&format!("<{mail_from}>"))],
        }))
        .await;
        for field in headers {
            let (name, value) = field.split_once(':').unwrap();
            self.expect_continue(Command::Header(HeaderPayload {
                name: c(name),
                value: c(value),
            }))
            .await;
        }
        self.expect_continue(Command::Eoh).await;
        for chunk in chunks {
            self.expect_continue(Command::BodyChunk(Bytes::copy_from_slice(chunk)))
                .await;
        }
        self.send(Command::BodyEnd(Bytes::new())).await
    }
}

const HEADERS: &[&str] = &[
    "From: Hanako <hanako@example.com>",
    "To: ann@example.org",
    // Odd folding: a tab and several spaces, continued twice.
    "Subject: milter\n\t  test of\n   folding",
    "Date: Mon, 23 Nov 2026 10:00:00 +0000",
    "Message-ID: <m1@example.com>",
];

const BODY: &[&[u8]] = &[b"Hello,  wor", b"ld.\nSecond ", b"line.\n\n\n", b"Last.\n"];

/// The message as the MTA would write it: inserted fields on top, then the original.
fn assemble(inserted: &[(String, String)], headers: &[&str], body: &[&[u8]]) -> Vec<u8> {
    let mut out = String::new();
    for (name, value) in inserted {
        out.push_str(&format!("{name}:{value}\n"));
    }
    for field in headers {
        out.push_str(field);
        out.push('\n');
    }
    out.push('\n');
    let mut bytes = out.into_bytes();
    for chunk in body {
        bytes.extend_from_slice(chunk);
    }
    hanko::message::CrlfNormalizer::normalize(&bytes)
}

fn inserted(replies: &[Reply]) -> Vec<(String, String)> {
    replies
        .iter()
        .filter_map(|r| match r {
            Reply::InsertHeader { name, value, .. } => Some((
                name.to_string_lossy().into_owned(),
                value.to_string_lossy().into_owned(),
            )),
            _ => None,
        })
        .collect()
}

async fn verify_with_library(zone: &Path, message: &[u8]) -> Vec<DkimVerdict> {
    let (head, body) = hanko::message::split_message(message);
    let headers = Headers::parse(head, &Default::default()).unwrap();
    let mut verifier = Verifier::new(&headers, VerifyConfig::default());
    verifier.body(body);
    let zone = hanko_dns::Zone::from_file(zone).unwrap();
    let outcome = verifier.finish(&zone, hanko_milter::now()).await;
    outcome.results.iter().map(|r| r.verdict()).collect()
}

#[tokio::test]
async fn an_mta_that_waits_for_every_reply_gets_one_at_every_stage() {
    // An MTA that offers no "no reply" option (older Sendmail), or only some of them: every
    // stage it waits on is answered, and the message is signed as with Postfix.
    let setup = Setup::new("");
    let daemon = Daemon::start(&setup.config()).await;
    let full = ProtoOpts::all() - ProtoOpts::SKIP;
    for offered in [
        full - NOREPLY_STAGES,
        full - ProtoOpts::NOREPLY_HEADER - ProtoOpts::NOREPLY_BODY,
        // (This harness sends no RCPT or DATA, so it offers to leave them out.)
        ProtoOpts::LEADING_SPACE
            | ProtoOpts::NO_RCPT
            | ProtoOpts::NO_DATA
            | ProtoOpts::NOREPLY_CONNECT
            | ProtoOpts::NOREPLY_EOH,
    ] {
        let mut mta = Mta::connect_offering(&daemon.addr, "127.0.0.1", offered).await;
        assert_eq!(mta.noreply, offered & NOREPLY_STAGES);
        let replies = mta.message("hanako@example.com", HEADERS, BODY).await;
        assert_eq!(
            replies.last(),
            Some(&Reply::Continue),
            "{offered:?}: {replies:?}"
        );
        let message = assemble(&inserted(&replies), HEADERS, BODY);
        assert_eq!(
            verify_with_library(&setup.zone(), &message).await,
            [DkimVerdict::Pass, DkimVerdict::Pass],
            "{offered:?}"
        );
    }
    daemon.stop().await;
}

#[tokio::test]
async fn a_trusted_client_gets_its_mail_signed_with_both_keys() {
    let setup = Setup::new("");
    let daemon = Daemon::start(&setup.config()).await;
    let mut mta = Mta::connect(&daemon.addr, "127.0.0.1").await;
    let replies = mta.message("hanako@example.com", HEADERS, BODY).await;
    assert_eq!(replies.last(), Some(&Reply::Continue), "{replies:?}");
    let fields = inserted(&replies);
    assert_eq!(fields.len(), 2, "{replies:?}");
    assert!(fields.iter().all(|(n, _)| n == "DKIM-Signature"));
    // Inserted at positions 0 and 1: the first signature ends up topmost.
    let indexes: Vec<i32> = replies
        .iter()
        .filter_map(|r| match r {
            Reply::InsertHeader { index, .. } => Some(*index),
            _ => None,
        })
        .collect();
    assert_eq!(indexes, [0, 1]);
    assert!(
        fields[0].1.starts_with(' '),
        "leading space kept: {:?}",
        fields[0].1
    );
    let signed = assemble(&fields, HEADERS, BODY);
    assert_eq!(
        verify_with_library(&setup.zone(), &signed).await,
        [DkimVerdict::Pass, DkimVerdict::Pass]
    );
    // A changed body fails: the milter hashed what it was sent.
    let tampered = assemble(&fields, HEADERS, &[b"Hello, world.\n"]);
    assert!(verify_with_library(&setup.zone(), &tampered)
        .await
        .iter()
        .all(|v| *v == DkimVerdict::Fail));
    daemon.stop().await;
}

#[tokio::test]
async fn an_untrusted_client_gets_verified_and_forged_results_removed() {
    let setup = Setup::new("");
    let daemon = Daemon::start(&setup.config()).await;
    // First get a signed copy from the trusted side.
    let mut trusted = Mta::connect(&daemon.addr, "127.0.0.1").await;
    let signatures = inserted(&trusted.message("hanako@example.com", HEADERS, BODY).await);
    let mut headers: Vec<String> = signatures.iter().map(|(n, v)| format!("{n}:{v}")).collect();
    headers.insert(
        0,
        "Authentication-Results: mx.example.net; dkim=pass header.d=forged.example".into(),
    );
    headers.insert(1, "Authentication-Results: other.example; spf=pass".into());
    headers.extend(HEADERS.iter().map(|s| s.to_string()));
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();

    let mut incoming = Mta::connect(&daemon.addr, "203.0.113.9").await;
    let replies = incoming.message("hanako@example.com", &headers, BODY).await;
    assert_eq!(replies.last(), Some(&Reply::Continue), "{replies:?}");
    // Our own authserv-id's field is removed (first A-R field, index 1); the other stays.
    let removed: Vec<(String, i32)> = replies
        .iter()
        .filter_map(|r| match r {
            Reply::ChangeHeader { name, index, value } if value.as_bytes().is_empty() => {
                Some((name.to_string_lossy().into_owned(), *index))
            }
            _ => None,
        })
        .collect();
    assert_eq!(removed, [("Authentication-Results".to_string(), 1)]);
    let fields = inserted(&replies);
    assert_eq!(fields.len(), 1);
    let field = format!("{}:{}", fields[0].0, fields[0].1).replace('\n', "\r\n");
    let ar = AuthenticationResults::parse(&field, ParseOptions::strict()).unwrap();
    assert_eq!(ar.authserv_id, "mx.example.net");
    let words: Vec<String> = ar
        .results
        .iter()
        .map(|r| format!("{}={}", r.method, r.result))
        .collect();
    assert_eq!(
        words,
        [
            "spf=fail",
            "dkim=pass",
            "dkim=pass",
            "arc=none",
            "dmarc=pass"
        ]
    );
    daemon.stop().await;
}

#[tokio::test]
async fn dmarc_reject_is_enforced_only_when_switched_on() {
    let unsigned = ["From: x@example.com", "Subject: spoof"];
    // Off (the default): delivered, with dmarc=fail written.
    let setup = Setup::new("");
    let daemon = Daemon::start(&setup.config()).await;
    let mut mta = Mta::connect(&daemon.addr, "203.0.113.9").await;
    let replies = mta.message("x@example.com", &unsigned, &[b"hi\n"]).await;
    assert_eq!(replies.last(), Some(&Reply::Continue));
    let fields = inserted(&replies);
    assert!(fields[0].1.contains("dmarc=fail"), "{fields:?}");
    daemon.stop().await;

    // On: refused with the configured reply.
    let setup = Setup::new(
        "[verify]\nauthserv_id = \"mx.example.net\"\ndmarc_reject = true\n\
         reject_reply = \"550 5.7.1 Not accepted: DMARC\"",
    );
    let daemon = Daemon::start(&setup.config()).await;
    let mut mta = Mta::connect(&daemon.addr, "203.0.113.9").await;
    let replies = mta.message("x@example.com", &unsigned, &[b"hi\n"]).await;
    // Only the reply: header changes for a refused message would be wasted.
    let [Reply::ReplyCode { reply }] = &replies[..] else {
        panic!("{replies:?}")
    };
    assert_eq!(reply.to_str().unwrap(), "550 5.7.1 Not accepted: DMARC");
    // The same message from the domain's own network passes SPF and DMARC: accepted.
    let mut mta = Mta::connect(&daemon.addr, "192.0.2.25").await;
    let replies = mta.message("x@example.com", &unsigned, &[b"hi\n"]).await;
    assert_eq!(replies.last(), Some(&Reply::Continue));
    assert!(inserted(&replies)[0].1.contains("dmarc=pass"));
    daemon.stop().await;

    // p=quarantine with dmarc_quarantine on: held, with the reason, and the field written.
    let setup = Setup::new("[verify]\nauthserv_id = \"mx.example.net\"\ndmarc_quarantine = true");
    let daemon = Daemon::start(&setup.config()).await;
    let mut mta = Mta::connect(&daemon.addr, "203.0.113.9").await;
    let replies = mta
        .message("x@example.net", &["From: x@example.net"], &[b"hi\n"])
        .await;
    assert!(
        replies
            .iter()
            .any(|r| matches!(r, Reply::Quarantine { reason }
            if reason.to_str().unwrap().contains("example.net"))),
        "{replies:?}"
    );
    assert_eq!(replies.last(), Some(&Reply::Continue));
    assert!(inserted(&replies)[0].1.contains("dmarc=fail"));
    daemon.stop().await;
}

#[tokio::test]
async fn disconnects_aborts_and_oversized_headers_leave_the_daemon_serving() {
    let setup = Setup::new("max_header_fields = 5");
    let daemon = Daemon::start(&setup.config()).await;

    // A client that goes away in the middle of the body.
    {
        let mut mta = Mta::connect(&daemon.addr, "127.0.0.1").await;
        mta.expect_continue(Command::Mail(EnvAddrPayload {
            args: vec![c("<hanako@example.com>")],
        }))
        .await;
        mta.expect_continue(Command::Header(HeaderPayload {
            name: c("From"),
            value: c(" hanako@example.com"),
        }))
        .await;
        mta.expect_continue(Command::Eoh).await;
        mta.expect_continue(Command::BodyChunk(Bytes::from_static(b"half a mess")))
            .await;
    } // dropped: the connection closes here.

    // An aborted message, then a whole one on the same connection.
    let mut mta = Mta::connect(&daemon.addr, "127.0.0.1").await;
    mta.expect_continue(Command::Mail(EnvAddrPayload {
        args: vec![c("<hanako@example.com>")],
    }))
    .await;
    message::write(&mut mta.stream, Command::Abort.into_message())
        .await
        .unwrap();
    let replies = mta.message("hanako@example.com", HEADERS, BODY).await;
    assert_eq!(
        inserted(&replies).len(),
        2,
        "signed after the abort: {replies:?}"
    );

    // Six header fields where five are allowed: passed through untouched (on_error = accept).
    let mut many: Vec<&str> = HEADERS.to_vec();
    many.push("X-Extra: 1");
    let replies = mta.message("hanako@example.com", &many, BODY).await;
    assert_eq!(replies, [Reply::Continue]);
    daemon.stop().await;
}

#[tokio::test]
async fn a_dns_temperror_tempfails_only_when_configured() {
    let unsigned = ["From: x@broken.example", "Subject: dns trouble"];
    let servfail = |c: ServerConfig| c.with_fault("_dmarc.broken.example", Fault::ServFail);

    // Default (accept): delivered, with the temperror written for the next hop to see.
    let (setup, _server) = Setup::with_server("", servfail).await;
    let daemon = Daemon::start(&setup.config()).await;
    let mut mta = Mta::connect(&daemon.addr, "203.0.113.9").await;
    let replies = mta.message("x@broken.example", &unsigned, &[b"hi\n"]).await;
    assert_eq!(replies.last(), Some(&Reply::Continue), "{replies:?}");
    assert!(
        inserted(&replies)[0].1.contains("dmarc=temperror"),
        "{replies:?}"
    );
    daemon.stop().await;

    // on_dns_temperror = tempfail: the client is asked to come back later.
    let (setup, _server) = Setup::with_server(
        "[verify]\nauthserv_id = \"mx.example.net\"\non_dns_temperror = \"tempfail\"",
        servfail,
    )
    .await;
    let daemon = Daemon::start(&setup.config()).await;
    let mut mta = Mta::connect(&daemon.addr, "203.0.113.9").await;
    let replies = mta.message("x@broken.example", &unsigned, &[b"hi\n"]).await;
    assert_eq!(replies, [Reply::Tempfail]);
    // Other mail on the same connection is not affected.
    let replies = mta
        .message("x@example.com", &["From: x@example.com"], &[b"hi\n"])
        .await;
    assert_eq!(replies.last(), Some(&Reply::Continue), "{replies:?}");
    assert!(inserted(&replies)[0].1.contains("dmarc=fail"));
    daemon.stop().await;
}

#[tokio::test]
async fn max_dns_queries_bounds_the_senders_queries_but_not_the_policy() {
    // Two signatures and SPF ask three queries. Under a budget of one, two of them fail as
    // temporary errors; example.com's DMARC policy is found all the same.
    for (config, budget_spent) in [("", false), ("max_dns_queries = 1", true)] {
        let setup = Setup::new(config);
        let daemon = Daemon::start(&setup.config()).await;
        let mut trusted = Mta::connect(&daemon.addr, "127.0.0.1").await;
        let signatures = inserted(&trusted.message("hanako@example.com", HEADERS, BODY).await);
        let mut headers: Vec<String> = signatures.iter().map(|(n, v)| format!("{n}:{v}")).collect();
        headers.extend(HEADERS.iter().map(|s| s.to_string()));
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let replies = send(&daemon, "203.0.113.9", "hanako@example.com", &headers, BODY).await;
        let field = &inserted(&replies)[0].1;
        let temperrors = field.matches("=temperror").count();
        if budget_spent {
            assert_eq!(temperrors, 2, "{field}");
            assert!(field.contains("dmarc="), "{field}");
            assert!(!field.contains("dmarc=temperror"), "{field}");
        } else {
            assert_eq!(temperrors, 0, "{field}");
            delivered_with(&replies, &["dkim=pass", "dmarc=pass"]);
        }
        daemon.stop().await;
    }
}

#[tokio::test]
async fn a_silent_dns_server_runs_into_message_timeout() {
    // The server never answers for silent.example; one query may take 5 s, the message 0.5 s.
    let silent = |c: ServerConfig| {
        c.with_fault("silent.example", Fault::NoAnswer)
            .with_fault("_dmarc.silent.example", Fault::NoAnswer)
    };
    let unsigned = ["From: x@silent.example", "Subject: waiting"];

    // The DNS that never answers is input, not an internal fault: the receiver finishes at
    // the deadline with temperror written, whatever on_error says; on_dns_temperror =
    // tempfail asks the client to come back.
    let tempfail = format!(
        "message_timeout = 0.5\n{}",
        verify_table("on_dns_temperror = \"tempfail\"")
    );
    for (config, tempfails) in [
        ("message_timeout = 0.5", false),
        ("message_timeout = 0.5\non_error = \"tempfail\"", false),
        (tempfail.as_str(), true),
    ] {
        let (setup, _server) = Setup::with_server(config, silent).await;
        let daemon = Daemon::start(&setup.config()).await;
        let started = std::time::Instant::now();
        let replies = send(
            &daemon,
            "203.0.113.9",
            "x@silent.example",
            &unsigned,
            &[b"hi\n"],
        )
        .await;
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
        if tempfails {
            assert_eq!(replies, [Reply::Tempfail], "{config}");
        } else {
            delivered_with(&replies, &["spf=temperror", "dmarc=temperror"]);
        }
        daemon.stop().await;
    }
}

#[tokio::test]
async fn slow_key_servers_cannot_hold_up_the_victims_dmarc_policy() {
    // Signatures by silent.example, whose key server never answers, on a spoof of
    // example.com (p=reject). However many there are, the keys are fetched together, the
    // deadline cuts them off, and example.com's policy, looked up beside them, applies.
    let silent = |mut c: ServerConfig| {
        c = c.with_fault("silent.example", Fault::NoAnswer);
        for i in 0..10 {
            c = c.with_fault(&format!("s{i}._domainkey.silent.example"), Fault::NoAnswer);
        }
        c
    };
    for count in [1, 5, 10] {
        let signatures: Vec<String> = (0..count)
            .map(|i| {
                format!(
                    "DKIM-Signature: v=1; a=rsa-sha256; d=silent.example; s=s{i}; h=from; \
                     bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA"
                )
            })
            .collect();
        let mut headers: Vec<&str> = signatures.iter().map(String::as_str).collect();
        headers.extend(["From: hanako@example.com", "Subject: pay now"]);
        let (setup, _server) = Setup::with_server(
            &format!(
                "message_timeout = 1\n{}",
                verify_table("dmarc_reject = true\nreject_reply = \"550 5.7.1 DMARC\"")
            ),
            silent,
        )
        .await;
        let daemon = Daemon::start(&setup.config()).await;
        let started = std::time::Instant::now();
        let replies = send(
            &daemon,
            "203.0.113.9",
            "x@silent.example",
            &headers,
            &[b"hi\n"],
        )
        .await;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(4),
            "{count}"
        );
        assert!(
            matches!(&replies[..], [Reply::ReplyCode { reply }] if reply.to_str().unwrap() == "550 5.7.1 DMARC"),
            "{count} signatures: {replies:?}"
        );
        daemon.stop().await;
    }
}

#[tokio::test]
async fn a_header_section_over_the_limits_is_still_checked() {
    let setup = Setup::new(&format!(
        "max_header_fields = 20\n{}",
        verify_table("dmarc_reject = true\nreject_reply = \"550 5.7.1 DMARC\"")
    ));
    let daemon = Daemon::start(&setup.config()).await;
    let filler = vec!["X-Filler: x"; 30];
    let big = format!("X-Filler: {}", "x".repeat(60_000));
    let bulky = vec![big.as_str(); 18];
    for (name, padding) in [("fields", &filler), ("octets", &bulky)] {
        // The victim's From before the padding, after it, or both.
        for layout in 0..3 {
            let mut headers: Vec<&str> = Vec::new();
            if layout != 1 {
                headers.push("From: hanako@example.com");
            }
            headers.extend(padding.iter().copied());
            if layout != 0 {
                headers.push("From: hanako@example.com");
            }
            headers.push("Subject: pay now");
            let replies = from_attacker(&daemon, &headers).await;
            assert!(
                matches!(&replies[..], [Reply::ReplyCode { .. }]),
                "{name} layout {layout}: {replies:?}"
            );
        }
        // From the victim's own network SPF aligns: delivered, DKIM written as not verified.
        let mut headers: Vec<&str> = padding.to_vec();
        headers.push("From: hanako@example.com");
        let replies = send(&daemon, "192.0.2.25", "x@example.com", &headers, &[b"hi\n"]).await;
        delivered_with(&replies, &["dkim=permerror", "dmarc=pass"]);
    }
    // Past the limit, more From fields than are kept: unreadable, so rejected even though
    // none of the kept ones names a domain with a policy.
    let mut headers: Vec<&str> = filler.clone();
    let junk: Vec<String> = (0..60).map(|i| format!("From: a@d{i}.example")).collect();
    headers.extend(junk.iter().map(String::as_str));
    headers.push("From: hanako@example.com");
    let replies = from_attacker(&daemon, &headers).await;
    assert!(
        matches!(&replies[..], [Reply::ReplyCode { .. }]),
        "{replies:?}"
    );
    daemon.stop().await;
}

#[tokio::test]
async fn a_silent_mta_connection_is_closed_after_connection_timeout() {
    let setup = Setup::new("connection_timeout = 0.5");
    let daemon = Daemon::start(&setup.config()).await;
    let mut mta = Mta::connect(&daemon.addr, "127.0.0.1").await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    // The milter has hung up: the next command gets no reply.
    let _ = message::write(&mut mta.stream, Command::Abort.into_message()).await;
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        message::read(&mut mta.stream),
    )
    .await
    .expect("a closed connection answers at once");
    assert!(read.is_err(), "still open: {read:?}");
    daemon.stop().await;
}

#[tokio::test]
async fn connections_over_max_connections_wait_their_turn() {
    let setup = Setup::new("max_connections = 1");
    let daemon = Daemon::start(&setup.config()).await;
    let first = Mta::connect(&daemon.addr, "127.0.0.1").await;
    // The second MTA connection is not served while the first is open...
    let stream = TcpStream::connect(&daemon.addr).await.unwrap();
    let mut second = BufStream::new(stream);
    let negotiate = Command::OptNeg(OptNegPayload {
        version: PROTOCOL_VERSION,
        actions: Actions::all(),
        opts: ProtoOpts::all() - ProtoOpts::SKIP,
    });
    message::write(&mut second, negotiate.into_message())
        .await
        .unwrap();
    let early = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        message::read(&mut second),
    )
    .await;
    assert!(early.is_err(), "served beyond max_connections");
    // ...and is once the first goes away.
    drop(first);
    let reply = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        message::read(&mut second),
    )
    .await
    .expect("served after the first connection closed")
    .unwrap();
    assert!(matches!(
        Reply::parse_reply(reply).unwrap(),
        Reply::OptNeg { .. }
    ));
    daemon.stop().await;
}

#[tokio::test]
async fn a_header_section_over_one_mebibyte_passes_untouched() {
    let setup = Setup::new("");
    let daemon = Daemon::start(&setup.config()).await;
    let mut mta = Mta::connect(&daemon.addr, "127.0.0.1").await;
    // 18 fields of 60,000 octets: under the field limit, over filter::MAX_HEADER_BYTES.
    let filler = format!("X-Filler: {}", "x".repeat(60_000));
    let mut headers: Vec<&str> = HEADERS.to_vec();
    headers.extend(std::iter::repeat_n(filler.as_str(), 18));
    let replies = mta.message("hanako@example.com", &headers, BODY).await;
    assert_eq!(replies, [Reply::Continue], "nothing signed or added");
    // Under the limit the same sender is signed.
    let replies = mta.message("hanako@example.com", HEADERS, BODY).await;
    assert_eq!(inserted(&replies).len(), 2);
    daemon.stop().await;
}

/// The `[verify]` table with our authserv-id and `settings` (one per line).
fn verify_table(settings: &str) -> String {
    format!("[verify]\nauthserv_id = \"mx.example.net\"\n{settings}")
}

/// Sends one message on a new connection from `client_ip`; the end-of-message replies.
async fn send(
    daemon: &Daemon,
    client_ip: &str,
    mail_from: &str,
    headers: &[&str],
    body: &[&[u8]],
) -> Vec<Reply> {
    let mut mta = Mta::connect(&daemon.addr, client_ip).await;
    mta.message(mail_from, headers, body).await
}

/// A spoof's delivery attempt: from 203.0.113.9 (outside example.com's SPF policy), MAIL
/// FROM x@attacker.example, a one-line body.
async fn from_attacker(daemon: &Daemon, headers: &[&str]) -> Vec<Reply> {
    send(
        daemon,
        "203.0.113.9",
        "x@attacker.example",
        headers,
        &[b"hi\n"],
    )
    .await
}

/// Asserts that the message was delivered with our field, which holds each of `words`.
fn delivered_with(replies: &[Reply], words: &[&str]) {
    assert_eq!(replies.last(), Some(&Reply::Continue), "{replies:?}");
    let field = &inserted(replies)[0].1;
    for word in words {
        assert!(field.contains(word), "{word} not in {field}");
    }
}

/// The indexes of the Authentication-Results fields a reply removes.
fn removed_results(replies: &[Reply]) -> Vec<i32> {
    replies
        .iter()
        .filter_map(|r| match r {
            Reply::ChangeHeader { name, index, value }
                if value.as_bytes().is_empty()
                    && name.to_str().unwrap() == "Authentication-Results" =>
            {
                Some(*index)
            }
            _ => None,
        })
        .collect()
}

/// Fields claiming our authserv-id in every spelling a reader may still take for ours,
/// parseable or not; each must go, on the verifying path, the signing path, and past the
/// header limits.
const FORGED: &[&str] = &[
    "Authentication-Results: mx.example.net; dmarc=pass header.from=example.com",
    "Authentication-Results: MX.EXAMPLE.NET.; dmarc=pass",
    "Authentication-Results: \"mx.example.net\"; dmarc=pass",
    "Authentication-Results: (comment (nested (deeper))) mx.example.net; dmarc=pass",
    "Authentication-Results: mx.example.net; dmarc=pass (unclosed comment",
    "Authentication-Results: mx.example.net; dmarc=pass reason=\"unclosed quote",
    "Authentication-Results: mx.example.net; ; = dmarc=pass",
    "Authentication-Results: mx.example.net;dmarc=pass",
    "Authentication-Results:\n\tmx.example.net\n\t; dmarc=pass",
];

fn with_forged(headers: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = vec!["Authentication-Results: other.example; spf=pass".into()];
    all.extend(FORGED.iter().map(|s| s.to_string()));
    // A look-alike that is not ours stays.
    all.push("Authentication-Results: mx.example.net.evil.example; dmarc=pass".into());
    all.extend(headers.iter().map(|s| s.to_string()));
    all
}

#[tokio::test]
async fn forged_results_are_removed_by_their_first_token_on_every_path() {
    let setup = Setup::new("max_header_fields = 20");
    let daemon = Daemon::start(&setup.config()).await;
    let headers = with_forged(HEADERS);
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    // Fields 2 to 10 of that name claim mx.example.net; the first and the last do not.
    let want: Vec<i32> = (2..=FORGED.len() as i32 + 1).rev().collect();

    // Verified (an outside client).
    let replies = send(&daemon, "203.0.113.9", "hanako@example.com", &headers, BODY).await;
    assert_eq!(removed_results(&replies), want, "verifying: {replies:?}");
    // Signed (a trusted client): a local user cannot hand a colleague a "verified" message.
    let replies = send(&daemon, "127.0.0.1", "hanako@example.com", &headers, BODY).await;
    assert_eq!(removed_results(&replies), want, "signing: {replies:?}");
    assert_eq!(inserted(&replies).len(), 2, "and signed");
    // Over max_header_fields: the checks stop, the removal does not.
    let mut many = headers.clone();
    many.extend(std::iter::repeat_n("X-Filler: x", 20));
    let replies = send(&daemon, "203.0.113.9", "hanako@example.com", &many, BODY).await;
    assert_eq!(
        removed_results(&replies),
        want,
        "over the limit: {replies:?}"
    );
    daemon.stop().await;
}

#[tokio::test]
async fn a_forged_result_behind_a_bare_cr_goes_with_the_field_that_carries_it() {
    // The MTA sees one field; readers split at the bare CR and see an Authentication-Results
    // claiming our authserv-id. The carrier is removed, by its own name and index.
    let setup = Setup::new("");
    let daemon = Daemon::start(&setup.config()).await;
    let removed = |replies: &[Reply]| -> Vec<(String, i32)> {
        replies
            .iter()
            .filter_map(|r| match r {
                Reply::ChangeHeader { name, index, value } if value.as_bytes().is_empty() => {
                    Some((name.to_string_lossy().into_owned(), *index))
                }
                _ => None,
            })
            .collect()
    };
    type Removed = Vec<(&'static str, i32)>;
    let cases: Vec<(Vec<&str>, Removed)> = vec![
        (
            vec!["X-Note: hi\rAuthentication-Results: mx.example.net; dkim=pass"],
            vec![("X-Note", 1)],
        ),
        (
            vec!["Subject: invoice\rauthentication-results:MX.Example.Net.; dmarc=pass"],
            vec![("Subject", 1)],
        ),
        (
            vec![
                "X-Note: clean",
                "x-note: a\r\rAuthentication-Results : mx.example.net; spf=pass",
            ],
            vec![("x-note", 2)],
        ),
        (
            vec![
                "X-Note: a\rAuthentication-Results: mx.example.net; dkim=pass",
                "X-Note: b\rAuthentication-Results: mx.example.net; spf=pass",
            ],
            vec![("X-Note", 2), ("X-Note", 1)],
        ),
        (
            // Carried by another server's field, itself kept otherwise.
            vec![
                "Authentication-Results: mx.example.net; none",
                "Authentication-Results: other.example; none\rAuthentication-Results: mx.example.net; dkim=pass",
            ],
            vec![("Authentication-Results", 2), ("Authentication-Results", 1)],
        ),
        // Nothing forged is hidden: nothing is removed.
        (vec!["X-Note: a\r b"], vec![]),
        (
            vec!["X-Note: hi\rAuthentication-Results: other.example; dkim=pass"],
            vec![],
        ),
    ];
    for (extra, want) in cases {
        let mut headers = extra.clone();
        headers.extend(["From: x@example.net", "Subject: hello"]);
        let replies = send(
            &daemon,
            "203.0.113.9",
            "x@example.net",
            &headers,
            &[b"hi\n"],
        )
        .await;
        assert_eq!(
            replies.last(),
            Some(&Reply::Continue),
            "{extra:?}: {replies:?}"
        );
        let want: Vec<(String, i32)> = want.iter().map(|(n, i)| (n.to_string(), *i)).collect();
        assert_eq!(removed(&replies), want, "{extra:?}");
    }
    daemon.stop().await;
}

#[tokio::test]
async fn an_unreadable_co_author_cannot_hide_a_dmarc_fail() {
    // example.com publishes p=reject; the client is outside its SPF policy and nothing is
    // signed. Each From adds something the receiver cannot evaluate beside the victim.
    let variants: Vec<Vec<String>> = vec![
        vec!["From: hanako@example.com, x@[192.0.2.1]".into()],
        vec!["From: x@[192.0.2.1], hanako@example.com".into()],
        vec!["From: hanako@example.com, x@[IPv6:2001:db8::1]".into()],
        vec!["From: hanako@example.com, x@bad..example".into()],
        vec![
            "From: hanako@example.com".into(),
            "From: undisclosed-recipients:;".into(),
        ],
        vec!["From: Test User".into(), "From: hanako@example.com".into()],
        vec!["From: a \"attacker.example(\" @example.com)".into()],
        vec!["From: x@attacker.example, hanako@example.com!".into()],
        // A From hidden behind a bare CR in another field, as readers see it.
        vec![
            "X-Note: hi\rFrom: hanako@example.com".into(),
            "From: x@attacker.example".into(),
        ],
        vec![{
            // Ten other author domains first: too many to look up, so none is, and the
            // message counts as reject.
            let others: Vec<String> = (0..10).map(|i| format!("a@d{i}.example")).collect();
            format!("From: {}, hanako@example.com", others.join(", "))
        }],
    ];
    let setup = Setup::new(&verify_table(
        "dmarc_reject = true\nreject_reply = \"550 5.7.1 DMARC\"",
    ));
    let daemon = Daemon::start(&setup.config()).await;
    for from in &variants {
        let mut headers: Vec<&str> = from.iter().map(String::as_str).collect();
        headers.push("Subject: pay now");
        let replies = from_attacker(&daemon, &headers).await;
        assert!(
            matches!(&replies[..], [Reply::ReplyCode { reply }] if reply.to_str().unwrap() == "550 5.7.1 DMARC"),
            "{from:?}: {replies:?}"
        );
    }
    daemon.stop().await;

    // unreadable_from = "ignore": only a readable author that fails counts; a From with the
    // victim beside an unreadable author is still refused, the victim's fail being readable.
    let setup = Setup::new(&verify_table(
        "dmarc_reject = true\nunreadable_from = \"ignore\"",
    ));
    let daemon = Daemon::start(&setup.config()).await;
    let replies = from_attacker(&daemon, &["From: hanako@example.com, x@[192.0.2.1]"]).await;
    assert!(
        matches!(&replies[..], [Reply::ReplyCode { .. }]),
        "{replies:?}"
    );
    // From the victim's own network SPF passes and aligns: the same From is delivered under
    // "ignore", with dmarc=permerror for the unreadable co-author.
    let replies = send(
        &daemon,
        "192.0.2.25",
        "x@example.com",
        &["From: hanako@example.com, x@[192.0.2.1]"],
        &[b"hi\n"],
    )
    .await;
    assert_eq!(replies.last(), Some(&Reply::Continue), "{replies:?}");
    assert!(inserted(&replies)[0].1.contains("dmarc=permerror"));
    daemon.stop().await;
}

/// The zone's records as a lookup, for checking what the milter wrote.
fn zone_lookup(setup: &Setup) -> hanko_dns::Zone {
    hanko_dns::Zone::from_file(&setup.zone()).unwrap()
}

/// `[arc] seal = true`: verified mail leaves with an ARC set on top whose
/// ARC-Authentication-Results are the milter's own results, and the chain validates.
#[tokio::test]
async fn verified_mail_is_sealed_when_asked() {
    let setup = Setup::new(
        "[arc]\nseal = true\ndomain = \"example.com\"\nselector = \"rsa\"\nkey = \"rsa.key\"",
    );
    let daemon = Daemon::start(&setup.config()).await;
    let mut mta = Mta::connect(&daemon.addr, "203.0.113.9").await;
    let replies = mta.message("hanako@example.com", HEADERS, BODY).await;
    assert_eq!(replies.last(), Some(&Reply::Continue));
    let fields = inserted(&replies);
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "ARC-Seal",
            "ARC-Message-Signature",
            "ARC-Authentication-Results",
            "Authentication-Results"
        ]
    );
    assert!(fields[0].1.contains("cv=none"), "{fields:?}");
    assert!(
        fields[2].1.starts_with(" i=1; mx.example.net;"),
        "{fields:?}"
    );
    let message = assemble(&fields, HEADERS, BODY);
    let (head, body) = hanko::message::split_message(&message);
    let headers = Headers::parse(head, &Default::default()).unwrap();
    let mut verifier = hanko::arc::ArcVerifier::new(&headers, Default::default());
    verifier.body(body);
    let chain = verifier.finish(&zone_lookup(&setup), now()).await;
    assert_eq!(
        chain.status(),
        hanko::arc::ChainStatus::Pass,
        "{:?}",
        chain.failure
    );
    daemon.stop().await;
}

/// `[arc] trusted_sealers`: a message that fails DMARC under p=reject, carrying a valid
/// chain whose sealer recorded DMARC passing, is accepted only when that sealer is trusted.
#[tokio::test]
async fn a_trusted_sealer_lifts_a_dmarc_rejection() {
    let original = "From: x@example.com\r\nSubject: via a list\r\n\r\nhi\r\n";
    let key_setup = Setup::with_zone();
    let pem = std::fs::read(key_setup.dir.path().join("rsa.key")).unwrap();
    let key = hanko::keys::SigningKey::from_pem(&pem).unwrap();
    let (head, body) = hanko::message::split_message(original.as_bytes());
    let headers = Headers::parse(head, &Default::default()).unwrap();
    let request = hanko::arc::SealRequest::new(&key, "example.com", "rsa").unwrap();
    let mut sealer = hanko::arc::ArcSealer::new(&headers, request).unwrap();
    sealer.body(body);
    let set = sealer
        .finish(
            hanko::arc::ChainStatus::None,
            "list.example.com; dmarc=pass header.from=example.com",
            now(),
        )
        .unwrap();
    let arc_fields: Vec<String> = set
        .fields()
        .iter()
        .map(|f| String::from_utf8_lossy(f.raw()).replace("\r\n", "\n"))
        .collect();
    let mut sealed: Vec<&str> = arc_fields.iter().map(String::as_str).collect();
    sealed.extend(["From: x@example.com", "Subject: via a list"]);

    for (trusted, accepted) in [("[]", false), ("[\"example.com\"]", true)] {
        let setup = Setup::new(&format!(
            "[verify]\nauthserv_id = \"mx.example.net\"\ndmarc_reject = true\n\
             [arc]\ntrusted_sealers = {trusted}"
        ));
        let daemon = Daemon::start(&setup.config()).await;
        // From outside example.com's SPF, unsigned: DMARC fails.
        let mut mta = Mta::connect(&daemon.addr, "203.0.113.9").await;
        let replies = mta.message("x@example.com", &sealed, &[b"hi\n"]).await;
        if accepted {
            assert_eq!(replies.last(), Some(&Reply::Continue), "{replies:?}");
            let fields = inserted(&replies);
            let results = &fields.last().unwrap().1;
            assert!(results.contains("dmarc=fail"), "{results}");
            assert!(results.contains("override trusted_forwarder"), "{results}");
            assert!(results.contains("arc=pass"), "{results}");
        } else {
            assert!(
                matches!(&replies[..], [Reply::ReplyCode { .. }]),
                "{replies:?}"
            );
        }
        daemon.stop().await;
    }
}

/// The Unix time, as the daemon reads it.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `[reports]`: each verified message's DMARC evaluation reaches the store; while the store
/// cannot be opened, rows wait in the spool, and the next run with a working store takes
/// them in: none is lost, none counted twice.
#[tokio::test]
async fn evaluations_are_recorded_and_spooled_while_the_store_is_away() {
    let spoof = ["From: x@example.com", "Subject: spoof"];
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("evaluations.spool");
    let good_db = format!("sqlite:{}", dir.path().join("r.sqlite").display());
    // A path under a file: the store cannot be made there.
    std::fs::write(dir.path().join("blocker"), b"").unwrap();
    let bad_db = format!("sqlite:{}", dir.path().join("blocker/r.sqlite").display());
    let reports = |db: &str| {
        format!(
            "[reports]\ndatabase = \"{db}\"\nspool = \"{}\"",
            spool.display()
        )
    };
    let send = |daemon_addr: String| async move {
        // From outside example.com's SPF (DMARC fails) and from inside it (passes).
        for ip in ["203.0.113.9", "192.0.2.25"] {
            let mut mta = Mta::connect(&daemon_addr, ip).await;
            let replies = mta.message("x@example.com", &spoof, &[b"hi\n"]).await;
            assert_eq!(replies.last(), Some(&Reply::Continue));
        }
    };

    // The store is away: both rows go to the spool.
    let setup = Setup::new(&reports(&bad_db));
    let daemon = Daemon::start(&setup.config()).await;
    send(daemon.addr.clone()).await;
    daemon.stop().await;
    let spooled = std::fs::read_to_string(&spool).unwrap();
    assert_eq!(spooled.lines().count(), 2, "{spooled}");

    // Back: the spool is replayed and the new rows written.
    let setup = Setup::new(&reports(&good_db));
    let daemon = Daemon::start(&setup.config()).await;
    send(daemon.addr.clone()).await;
    daemon.stop().await;
    let store = hanko_store::Store::open(&good_db).await.unwrap();
    let rows = store.evaluations("example.com", 0, u64::MAX).await.unwrap();
    assert_eq!(rows.len(), 4);
    let dispositions: Vec<&str> = rows.iter().map(|e| e.disposition.as_str()).collect();
    assert_eq!(
        dispositions.iter().filter(|d| **d == "pass").count(),
        2,
        "{dispositions:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&spool).unwrap_or_default(),
        "",
        "the spool is empty once replayed"
    );
}
