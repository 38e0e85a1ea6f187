//! Cross-check with an independent receiver: `authheaders` (PyPI; SPF by pyspf, DKIM by
//! dkimpy, its own DMARC) and `hanko verify` evaluate the same messages and connections
//! against the same DNS server on 127.0.0.1, and their SPF and DMARC verdicts must be equal.
//!
//! The cases cover every SPF result word (pass by ip4/ip6/a/mx/include/redirect/exists with a
//! macro, fail, softfail, neutral, none, permerror for syntax, two records, an include loop,
//! too many lookups and too many void lookups, temperror for a SERVFAIL) and DMARC pass by
//! DKIM or SPF under relaxed and strict alignment, fail, and none.
//!
//! Where the two differ by design the case is left out and the reason written here:
//! authheaders evaluates DMARC with only the first DKIM signature, reads a missing `p=` as
//! `none` where RFC 9989 §4.7 applies `p=none` and still evaluates, and never returns
//! `temperror`/`permerror` for DMARC itself.

use std::path::{Path, PathBuf};

use hanko_dns::server::{Fault, ServerConfig, TestServer};
use hanko_dns::Zone;

use crate::common;
use common::{conformance, interop_python, published_key, run, run_ok, HANKO};

fn python() -> String {
    interop_python(
        "authheaders, authres, spf, dkim, dns.resolver",
        "authheaders, pyspf and dnspython are",
    )
}

/// The DNS data both receivers see. The DKIM key record is added by the test.
const ZONE: &str = r#"
example.com.             IN TXT "v=spf1 ip4:192.0.2.0/25 include:_spf.example.net ~all"
example.com.             IN MX 10 mx.example.com.
mx.example.com.          IN A 192.0.2.1
_dmarc.example.com.      IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"
mail.example.com.        IN TXT "v=spf1 ip4:192.0.2.200 -all"
redirect.example.com.    IN TXT "v=spf1 redirect=example.com"
macro.example.com.       IN TXT "v=spf1 exists:%{i}.allow.example.com -all"
192.0.2.77.allow.example.com. IN A 127.0.0.2
v6.example.com.          IN TXT "v=spf1 ip6:2001:db8::/32 -all"
servfail.example.com.    IN A 192.0.2.99
_spf.example.net.        IN TXT "v=spf1 ip4:198.51.100.0/24 -all"
example.org.             IN TXT "v=spf1 a mx -all"
example.org.             IN A 203.0.113.5
example.org.             IN MX 10 mx.example.org.
mx.example.org.          IN A 203.0.113.6
bounce.example.org.      IN TXT "v=spf1 ip4:203.0.113.7 -all"
_dmarc.example.org.      IN TXT "v=DMARC1; p=quarantine; adkim=s; aspf=s"
example.net.             IN TXT "v=spf1 ?all"
_dmarc.example.net.      IN TXT "v=DMARC1; p=none"
broken.example.net.      IN TXT "v=spf1 ip4:192.0.2.300 -all"
two.example.net.         IN TXT "v=spf1 -all"
two.example.net.         IN TXT "v=spf1 +all"
loop.example.net.        IN TXT "v=spf1 include:loop2.example.net -all"
loop2.example.net.       IN TXT "v=spf1 include:loop.example.net -all"
ten.example.net.         IN TXT "v=spf1 a:a1.example.net a:a2.example.net a:a3.example.net a:a4.example.net a:a5.example.net a:a6.example.net a:a7.example.net a:a8.example.net a:a9.example.net a:a10.example.net a:a11.example.net -all"
void.example.net.        IN TXT "v=spf1 a:nx1.example.net a:nx2.example.net a:nx3.example.net -all"
no-dmarc.example.        IN TXT "v=spf1 -all"
"#;

/// One message and connection, with the verdicts both receivers must reach.
struct Case {
    message: &'static str,
    ip: &'static str,
    mail_from: &'static str,
    spf: &'static str,
    dmarc: &'static str,
}

const CASES: &[Case] = &[
    // DKIM aligned: DMARC passes whatever SPF says.
    case(
        "signed-com",
        "203.0.113.99",
        "a@example.com",
        "softfail",
        "pass",
    ),
    // SPF aligned, by ip4, by include, by a subdomain (relaxed), by redirect.
    case("plain-com", "192.0.2.5", "a@example.com", "pass", "pass"),
    case("plain-com", "198.51.100.7", "a@example.com", "pass", "pass"),
    case(
        "plain-com",
        "192.0.2.200",
        "b@mail.example.com",
        "pass",
        "pass",
    ),
    case(
        "plain-com",
        "192.0.2.5",
        "x@redirect.example.com",
        "pass",
        "pass",
    ),
    case(
        "plain-com",
        "192.0.2.77",
        "x@macro.example.com",
        "pass",
        "pass",
    ),
    case(
        "plain-com",
        "2001:db8::25",
        "x@v6.example.com",
        "pass",
        "pass",
    ),
    // Neither aligned.
    case(
        "plain-com",
        "203.0.113.99",
        "a@example.com",
        "softfail",
        "fail",
    ),
    case(
        "plain-com",
        "192.0.2.201",
        "b@mail.example.com",
        "fail",
        "fail",
    ),
    case(
        "plain-com",
        "192.0.2.78",
        "x@macro.example.com",
        "fail",
        "fail",
    ),
    case(
        "plain-com",
        "2001:db9::25",
        "x@v6.example.com",
        "fail",
        "fail",
    ),
    case(
        "plain-com",
        "192.0.2.5",
        "x@broken.example.net",
        "permerror",
        "fail",
    ),
    case(
        "plain-com",
        "192.0.2.5",
        "x@two.example.net",
        "permerror",
        "fail",
    ),
    case(
        "plain-com",
        "192.0.2.5",
        "x@loop.example.net",
        "permerror",
        "fail",
    ),
    case(
        "plain-com",
        "192.0.2.5",
        "x@ten.example.net",
        "permerror",
        "fail",
    ),
    case(
        "plain-com",
        "192.0.2.5",
        "x@void.example.net",
        "permerror",
        "fail",
    ),
    case(
        "plain-com",
        "192.0.2.5",
        "x@servfail.example.com",
        "temperror",
        "fail",
    ),
    // The body changed after signing: DKIM fails, SPF decides.
    case("tampered-com", "192.0.2.5", "a@example.com", "pass", "pass"),
    case(
        "tampered-com",
        "203.0.113.99",
        "a@example.com",
        "softfail",
        "fail",
    ),
    // Strict alignment at example.org.
    case(
        "signed-com-from-org",
        "203.0.113.99",
        "a@example.com",
        "softfail",
        "fail",
    ),
    case("plain-org", "203.0.113.6", "a@example.org", "pass", "pass"),
    case("plain-org", "203.0.113.5", "a@example.org", "pass", "pass"),
    case(
        "plain-org",
        "203.0.113.7",
        "a@bounce.example.org",
        "pass",
        "fail",
    ),
    case("plain-org", "203.0.113.8", "a@example.org", "fail", "fail"),
    // A subdomain without its own record uses example.com's; DKIM aligns relaxed.
    case(
        "signed-com-from-sub",
        "203.0.113.99",
        "x@example.net",
        "neutral",
        "pass",
    ),
    // p=none still fails; no record at all is none.
    case(
        "plain-net",
        "203.0.113.99",
        "x@example.net",
        "neutral",
        "fail",
    ),
    case(
        "plain-no-dmarc",
        "192.0.2.5",
        "x@no-dmarc.example",
        "fail",
        "none",
    ),
    case(
        "plain-no-dmarc",
        "192.0.2.5",
        "x@nothing.example",
        "none",
        "none",
    ),
];

const fn case(
    message: &'static str,
    ip: &'static str,
    mail_from: &'static str,
    spf: &'static str,
    dmarc: &'static str,
) -> Case {
    Case {
        message,
        ip,
        mail_from,
        spf,
        dmarc,
    }
}

fn message(from: &str) -> String {
    format!(
        "From: Sender <{from}>\r\nTo: ann@example.net\r\nSubject: cross-check\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{from}.1@example.com>\r\n\r\n\
         Hello,  world.\r\n"
    )
}

/// Writes the test messages; the signed ones are signed by `hanko sign` with the dkimpy
/// suite's RSA key, published at rsa._domainkey.example.com.
fn write_messages(dir: &Path, key: &Path) {
    let sign = |text: &str| {
        String::from_utf8(run_ok(
            HANKO,
            &[
                "sign",
                "--key",
                key.to_str().unwrap(),
                "--selector",
                "rsa",
                "--domain",
                "example.com",
            ],
            text.as_bytes(),
        ))
        .unwrap()
    };
    let signed_com = sign(&message("a@example.com"));
    let tampered = signed_com.replace("Hello,  world.", "Hello,  world!");
    assert_ne!(tampered, signed_com);
    for (name, text) in [
        ("signed-com", signed_com.clone()),
        ("tampered-com", tampered),
        ("plain-com", message("a@example.com")),
        ("signed-com-from-org", sign(&message("a@example.org"))),
        ("plain-org", message("a@example.org")),
        ("signed-com-from-sub", sign(&message("a@news.example.com"))),
        ("plain-net", message("a@example.net")),
        ("plain-no-dmarc", message("a@no-dmarc.example")),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

#[test]
fn spf_and_dmarc_verdicts_equal_authheaders() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let key = conformance().join("dkimpy/data/2048_testkey.key");
    write_messages(dir.path(), &key);

    let (snippet, _) = published_key(&key, "rsa");
    let zone = Zone::parse(&format!("{ZONE}\n{snippet}\n"), "").unwrap();
    let config = ServerConfig::new(zone).with_fault("servfail.example.com", Fault::ServFail);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::start(config)).unwrap();
    let port = server.addr().port().to_string();
    let nameserver = server.addr().to_string();

    // authheaders: all cases through one process.
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/authheaders_peer.py");
    let mut input = String::new();
    for case in CASES {
        let line = serde_json::json!({
            "message": dir.path().join(case.message),
            "ip": case.ip,
            "helo": "mail.example.net",
            "mail_from": case.mail_from,
        });
        input.push_str(&format!("{line}\n"));
    }
    let out = run(
        &python,
        &[script.to_str().unwrap(), &port],
        input.as_bytes(),
    );
    assert!(
        out.status.success(),
        "authheaders_peer.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peer: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(peer.len(), CASES.len());

    let mut disagreements = Vec::new();
    for (case, theirs) in CASES.iter().zip(&peer) {
        let path = dir.path().join(case.message);
        let out = std::process::Command::new(HANKO)
            .args([
                "--nameserver",
                &nameserver,
                "--dns-timeout",
                "4",
                "verify",
                "--json",
                "--no-adsp",
                "--ip",
                case.ip,
                "--helo",
                "mail.example.net",
                "--mail-from",
                case.mail_from,
                path.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let ours: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
        });
        let label = format!("{} from {} as {}", case.message, case.ip, case.mail_from);
        let ours_spf = ours["spf"]["result"].as_str().unwrap_or("?");
        let ours_dmarc = ours["dmarc"]["result"].as_str().unwrap_or("?");
        let theirs_spf = theirs["spf"].as_str().unwrap_or("?");
        let theirs_dmarc = theirs["dmarc"].as_str().unwrap_or("?");
        // Both must agree with each other and with what the case was written to show, so a
        // shared mistake in DNS data cannot pass unnoticed.
        if (ours_spf, ours_dmarc) != (theirs_spf, theirs_dmarc)
            || (ours_spf, ours_dmarc) != (case.spf, case.dmarc)
        {
            disagreements.push(format!(
                "{label}: expected spf={} dmarc={}; hanko spf={ours_spf} dmarc={ours_dmarc}; \
                 authheaders spf={theirs_spf} dmarc={theirs_dmarc} ({})",
                case.spf, case.dmarc, theirs["header"]
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} cases differ:\n{}",
        disagreements.len(),
        CASES.len(),
        disagreements.join("\n")
    );
    assert!(
        server.queries() > CASES.len(),
        "the DNS server was not used"
    );
}
