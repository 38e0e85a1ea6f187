//! The OpenSPF test suite (openspf.org, release 2014.04, as shipped with pyspf) through the
//! public API: `rfc7208-tests.yml` must pass whole (a test whose `result` is a list passes
//! with any listed result; `explanation` is checked where given), and so must
//! `rfc4408-tests.yml`.
//!
//! DNS is the suite's `zonedata`, served by [`SuiteDns`] with the conventions of pyspf's test
//! driver: `SPF` records are also served as `TXT` unless the name has a `TXT` entry of its
//! own (`TXT: NONE` means "none"), and a `TIMEOUT` entry makes every query type that has no
//! record listed before it time out.

mod spf_suite;

use spf_suite::{load, run_case, SuiteCase};

fn report(cases: &[SuiteCase], failures: &[String]) {
    eprintln!("{} cases, {} failures", cases.len(), failures.len());
}

#[tokio::test]
async fn rfc7208_suite_passes_whole() {
    let cases = load("openspf-pyspf/rfc7208-tests.yml");
    assert_eq!(cases.len(), 203, "the RFC 7208 suite has 203 tests");
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = run_case(case).await {
            failures.push(why);
        }
    }
    report(&cases, &failures);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The RFC 4408 suite. Where RFC 7208 changed an answer, the 4408 suite already lists both
/// results (for example `mx-limit`), so every one of its 191 tests must pass as well.
#[tokio::test]
async fn rfc4408_suite_passes_too() {
    let cases = load("openspf-pyspf/rfc4408-tests.yml");
    assert_eq!(cases.len(), 191, "the RFC 4408 suite has 191 tests");
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = run_case(case).await {
            failures.push(why);
        }
    }
    report(&cases, &failures);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
