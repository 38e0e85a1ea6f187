//! The ValiMail ARC validation suite (175 cases) once more, through the real network path:
//! `hanko verify --json` asks hickory-resolver, which asks a DNS server on 127.0.0.1 serving
//! each scenario's key records. (The library-level run is in `hanko-conformance`.)

use hanko_dns::server::{ServerConfig, TestServer};
use hanko_dns::{RecordData, Zone};

mod common;
use hanko_test_support::arc_suite::{required_cv, scenarios};

use common::{run, HANKO};

/// The suite's signatures carry no x= and t= in 1970: any later time will do.
const NOW: &str = "1700000000";

#[test]
fn valimail_validation_suite_over_a_loopback_dns_server() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut total = 0;
    let mut failures = Vec::new();
    for scenario in scenarios("arc_test_suite/arc-draft-validation-tests.yml") {
        let mut zone = Zone::new();
        for (name, text) in scenario.records() {
            // Character-strings of at most 255 octets (RFC 1035 §3.3.14).
            let strings = text.as_bytes().chunks(255).map(<[u8]>::to_vec).collect();
            zone.add(&name, 300, RecordData::Txt(strings));
        }
        let server = runtime
            .block_on(TestServer::start(ServerConfig::new(zone)))
            .unwrap();
        let address = server.addr().to_string();
        for (name, case) in &scenario.tests.0 {
            let message = case["message"].as_str().unwrap_or("");
            // A message without a header section is refused before any check: the library
            // run covers `none` for those.
            if message.trim().is_empty() || !message.contains(':') {
                continue;
            }
            total += 1;
            let out = run(
                HANKO,
                &[
                    "--nameserver",
                    &address,
                    "--dns-timeout",
                    "2",
                    "verify",
                    "--json",
                    "--time",
                    NOW,
                ],
                message.as_bytes(),
            );
            let json: serde_json::Value = match serde_json::from_slice(&out.stdout) {
                Ok(json) => json,
                Err(e) => {
                    failures.push(format!(
                        "{name}: {e}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    ));
                    continue;
                }
            };
            let got = json["arc"]["result"].as_str().unwrap_or("?");
            let want = required_cv(name, case);
            if got != want {
                failures.push(format!(
                    "{name}: got {got} ({}), expected {want}",
                    json["arc"]["reason"]
                ));
            }
        }
        drop(server);
    }
    assert!(total >= 170, "{total} cases run");
    assert!(
        failures.is_empty(),
        "{} of {total} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
