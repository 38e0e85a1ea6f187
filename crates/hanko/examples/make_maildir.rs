//! Writes a Maildir of signed messages, the input of the bulk-verification measurement in
//! `docs/performance.md` (`scripts/bench-bulk.sh` runs it).
//!
//! ```text
//! cargo run --release -p hanko --example make_maildir -- DIR COUNT [--body-bytes N] [--rsa-only]
//! ```
//!
//! Every message is from example.com and signed at 1795392000 with the example RSA-2048 key
//! (`rsa2026`); every other one also with the Ed25519 key (`ed2026`), as dual-signing senders
//! do, unless `--rsa-only`. Bodies are 1 to 16 KB of text, chosen by a fixed pseudo-random
//! sequence, or about `N` octets each with `--body-bytes N`; the same command always writes
//! the same files. DNS for verifying them: `examples/example.com.zone`.

use std::path::{Path, PathBuf};

use hanko::dkim::{sign_message, SigningRequest};
use hanko::keys::SigningKey;

const WORDS: &[&str] = &[
    "the",
    "quarterly",
    "report",
    "is",
    "attached",
    "to",
    "shared",
    "folder",
    "please",
    "review",
    "numbers",
    "before",
    "Friday",
    "meeting",
    "with",
    "team",
    "and",
    "send",
    "comments",
    "by",
    "mail",
    "thanks",
    "regards",
    "schedule",
    "budget",
    "project",
    "update",
    "customer",
];

fn key(examples: &Path, name: &str) -> SigningKey {
    let pem = std::fs::read(examples.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    SigningKey::from_pem(&pem).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = || -> ! {
        eprintln!("usage: make_maildir DIR COUNT [--body-bytes N] [--rsa-only]");
        std::process::exit(2);
    };
    let (Some(dir), Some(count)) = (args.next(), args.next()) else {
        usage()
    };
    let count: usize = count.parse().unwrap_or_else(|_| usage());
    let (mut body_bytes, mut rsa_only) = (None, false);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--body-bytes" => {
                body_bytes = Some(
                    args.next()
                        .and_then(|n| n.parse().ok())
                        .unwrap_or_else(|| usage()),
                );
            }
            "--rsa-only" => rsa_only = true,
            _ => usage(),
        }
    }
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let rsa = key(&examples, "rsa2026.private");
    let ed = key(&examples, "ed2026.private");
    let dir = PathBuf::from(dir);
    for part in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(dir.join(part)).expect("the Maildir can be made");
    }
    // A small linear congruential generator: the same files every time.
    let mut state: u64 = 0x2026_1123;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    for i in 0..count {
        let size = body_bytes.unwrap_or_else(|| 1024 + next() % (15 * 1024));
        let mut body = String::with_capacity(size + 80);
        let mut line = 0;
        while body.len() < size {
            let word = WORDS[next() % WORDS.len()];
            if line + word.len() > 72 {
                body.push_str("\r\n");
                line = 0;
            } else if line > 0 {
                body.push(' ');
                line += 1;
            }
            body.push_str(word);
            line += word.len();
        }
        body.push_str("\r\n");
        let message = format!(
            "From: Hanako Yamada <hanako@example.com>\r\n\
             To: Taro Suzuki <taro@example.org>\r\n\
             Subject: Report {i}\r\n\
             Date: Mon, 23 Nov 2026 09:00:00 +0900\r\n\
             Message-ID: <bulk.{i}@mail.example.com>\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\
             \r\n{body}"
        );
        let mut requests = Vec::new();
        if i % 2 == 0 && !rsa_only {
            requests.push(SigningRequest::new(&ed, "example.com", "ed2026").expect("request"));
        }
        requests.push(SigningRequest::new(&rsa, "example.com", "rsa2026").expect("request"));
        let signed = sign_message(message.as_bytes(), requests, 1_795_392_000).expect("signs");
        let (part, name) = if i % 4 == 0 {
            ("new", format!("1795392000.M{i}P1.mx"))
        } else {
            ("cur", format!("1795392000.M{i}P1.mx:2,S"))
        };
        std::fs::write(dir.join(part).join(name), signed).expect("the message is written");
    }
    println!("{count} messages in {}", dir.display());
}
