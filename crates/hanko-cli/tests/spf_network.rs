//! The whole OpenSPF RFC 7208 suite (203 tests) once more, through the real network path:
//! the `hanko spf` binary asks hickory-resolver, which asks a DNS server on 127.0.0.1 serving
//! each scenario's zone data over UDP and TCP. `TIMEOUT` entries become a server that never
//! answers for the record types they cover, so those tests end in temperror by a real
//! timeout. (The library-level run of the same suite is in `hanko-conformance`.)

use std::collections::HashMap;
use std::sync::Arc;

use hanko_dns::server::{Fault, ServerConfig, TestServer};
use hanko_dns::{RecordData, Zone};

mod common;
use hanko_test_support::spf_suite;

use common::{run, HANKO};
use spf_suite::{load, Entry, RecordValue, SuiteCase};

/// One scenario's zone data, shared by its cases.
type ZoneData = Arc<HashMap<String, Vec<Entry>>>;

const TYPES: [&str; 5] = ["TXT", "A", "AAAA", "MX", "PTR"];

/// A server configuration serving one scenario's zone data.
fn server_config(data: &HashMap<String, Vec<Entry>>) -> ServerConfig {
    let mut zone = Zone::new();
    let mut timeouts = Vec::new();
    for (name, entries) in data {
        let mut seen = Vec::new();
        for entry in entries {
            let (kind, value) = match entry {
                Entry::Timeout => {
                    for kind in TYPES.iter().filter(|k| !seen.contains(k)) {
                        timeouts.push((name.clone(), *kind));
                    }
                    break;
                }
                Entry::Record(kind, value) => (kind.as_str(), value),
            };
            if let Some(known) = TYPES.iter().find(|k| **k == kind) {
                seen.push(known);
            }
            let record = match (kind, value) {
                // RFC 7208 never queries type SPF; the suite's copies are already TXT entries.
                ("SPF", _) => continue,
                ("TXT", RecordValue::Text(parts)) => {
                    RecordData::Txt(parts.iter().map(|p| p.as_bytes().to_vec()).collect())
                }
                ("A", RecordValue::Plain(ip)) => RecordData::A(ip.parse().unwrap()),
                ("AAAA", RecordValue::Plain(ip)) => RecordData::Aaaa(ip.parse().unwrap()),
                ("MX", RecordValue::Mx(preference, host)) => {
                    RecordData::Mx(*preference, host.trim_end_matches('.').into())
                }
                ("PTR", RecordValue::Plain(host)) => {
                    RecordData::Ptr(host.trim_end_matches('.').into())
                }
                ("CNAME", RecordValue::Plain(host)) => {
                    RecordData::Cname(host.trim_end_matches('.').to_ascii_lowercase())
                }
                other => panic!("{name}: unexpected {other:?}"),
            };
            zone.add(name, 300, record);
        }
    }
    let mut config = ServerConfig::new(zone);
    for (name, kind) in timeouts {
        config = config.with_type_fault(&name, kind, Fault::NoAnswer);
    }
    config
}

fn run_cli(case: &SuiteCase, server: &str) -> Result<(), String> {
    let out = run(
        HANKO,
        &[
            "--nameserver",
            server,
            "--dns-timeout",
            "0.5",
            "spf",
            "--ip",
            &case.host,
            "--mail-from",
            &case.mail_from,
            "--helo",
            &case.helo,
            "--explanation",
            "DEFAULT",
            "--json",
        ],
        b"",
    );
    if out.status.code() != Some(0) {
        return Err(format!(
            "{}: exit {:?}: {}",
            case.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got = json["result"].as_str().unwrap_or("?");
    if !case.results.iter().any(|r| r == got) {
        return Err(format!(
            "{}: got {got} ({}), expected {:?}",
            case.name, json["problem"], case.results
        ));
    }
    if let Some(expected) = &case.explanation {
        if json["explanation"].as_str() != Some(expected.as_str()) {
            return Err(format!(
                "{}: explanation {}, expected {expected:?}",
                case.name, json["explanation"]
            ));
        }
    }
    Ok(())
}

#[test]
fn rfc7208_suite_over_a_loopback_dns_server() {
    let cases = load("openspf-pyspf/rfc7208-tests.yml");
    assert_eq!(cases.len(), 203);
    // One server per scenario: cases of a scenario share its zone data.
    let mut scenarios: Vec<(ZoneData, Vec<&SuiteCase>)> = Vec::new();
    for case in &cases {
        match scenarios
            .iter_mut()
            .find(|(zone, _)| Arc::ptr_eq(zone, &case.zone))
        {
            Some((_, list)) => list.push(case),
            None => scenarios.push((case.zone.clone(), vec![case])),
        }
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut failures = Vec::new();
    for (zone, scenario_cases) in &scenarios {
        let server = runtime
            .block_on(TestServer::start(server_config(zone)))
            .unwrap();
        let addr = server.addr().to_string();
        for case in scenario_cases {
            if let Err(why) = run_cli(case, &addr) {
                failures.push(why);
            }
        }
        assert!(
            server.queries() > 0,
            "the scenario's server was never asked"
        );
    }
    assert!(
        failures.is_empty(),
        "{} of 203 wrong over the network:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
