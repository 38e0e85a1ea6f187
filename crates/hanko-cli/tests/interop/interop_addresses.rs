//! The From reader against a second one: Python's `email` package with the default policy
//! (RFC 5322 with its obsolete forms, as a modern mail client reads). Thousands of From
//! values are made from pieces attackers use (quoted names holding addresses, comments, stray
//! brackets and parentheses, `@` in phrases, groups, domain literals, trailing punctuation);
//! for each, every domain Python finds must be among hanko's Author Domains, or
//! hanko must count an unreadable author (which the default enforcement treats as the
//! strictest policy). A salvage that yields fewer domains than a standards reader would let a
//! reader see bank.example while DMARC evaluates only the attacker.

use hanko::dmarc::author_domains;
use hanko::message::{Headers, MessageLimits};

use crate::common;
use common::{interop_python, run};

/// The pieces a From value is made of.
const PIECES: &[&str] = &[
    "ceo@bank.example",
    "<ceo@bank.example>",
    "\"ceo@bank.example\"",
    "x@attacker.example",
    "<x@attacker.example>",
    "\"Bank, CEO\"",
    "CEO",
    "(ceo@bank.example)",
    "(",
    ")",
    "\"",
    "<",
    ">",
    ",",
    ";",
    ":",
    "@bank.example",
    "@",
    "!",
    "Team:",
    "[192.0.2.1]",
    "ceo@[192.0.2.1]",
    "a.b",
    " ",
    "=?utf-8?q?CEO?=",
    "\\\"",
];

/// Deterministic pseudo-random From values of two to seven pieces.
fn values(count: usize) -> Vec<String> {
    let mut state: u64 = 0x5eed_1234_abcd_0001;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    (0..count)
        .map(|_| {
            let n = 2 + next() % 6;
            (0..n)
                .map(|_| PIECES[next() % PIECES.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

const READER: &str = r#"
import email, email.policy, json, sys
for line in sys.stdin:
    value = json.loads(line)
    found = set()
    try:
        message = email.message_from_string("From: " + value + "\n\nx\n", policy=email.policy.default)
        for address in message["From"].addresses:
            if address.domain:
                found.add(address.domain)
    except Exception:
        pass
    print(json.dumps(sorted(found)))
"#;

/// What Python's reader finds in each value.
fn python_domains(python: &str, values: &[String]) -> Vec<Vec<String>> {
    let mut input = String::new();
    for value in values {
        input.push_str(&serde_json::to_string(value).unwrap());
        input.push('\n');
    }
    let out = run(python, &["-c", READER], input.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn hanko_reads_every_domain_python_reads_or_counts_an_unreadable_author() {
    let python = interop_python("email", "Python's standard library is");
    let values = values(6000);
    let found = python_domains(&python, &values);
    assert_eq!(found.len(), values.len());
    let mut compared = 0;
    for (value, python) in values.iter().zip(found) {
        let section = format!("From: {value}\r\n");
        let Ok(headers) = Headers::parse(section.as_bytes(), &MessageLimits::default()) else {
            continue;
        };
        let authors = author_domains(&headers);
        for domain in python {
            // Only names DMARC could look up: a literal or junk is not a domain to miss.
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            let lookable = !domain.is_empty()
                && domain.contains('.')
                && domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if !lookable {
                continue;
            }
            compared += 1;
            assert!(
                authors.domains.contains(&domain) || !authors.unreadable.is_empty(),
                "From: {value}\nPython reads {domain}; hanko reads {:?}",
                authors
            );
        }
    }
    // The generator must actually produce comparisons, bank.example among them.
    assert!(compared > 1000, "{compared} comparisons");
}
