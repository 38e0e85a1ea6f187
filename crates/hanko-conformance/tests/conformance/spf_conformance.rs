//! The OpenSPF test suite (openspf.org, release 2014.04, as shipped with pyspf) through the
//! public API: `rfc7208-tests.yml` must pass whole (a test whose `result` is a list passes
//! with any listed result; `explanation` is checked where given), and so must
//! `rfc4408-tests.yml`.
//!
//! DNS is the suite's `zonedata`, served by [`SuiteDns`] with the conventions of pyspf's test
//! driver: `SPF` records are also served as `TXT` unless the name has a `TXT` entry of its
//! own (`TXT: NONE` means "none"), and a `TIMEOUT` entry makes every query type that has no
//! record listed before it time out.

use hanko_test_support::spf_suite;

use hanko::spf::SpfConfig;
use spf_suite::{load, run_case, run_case_kept, suite_config};

/// Runs every case of a suite file, which must hold `count` tests, and fails listing each
/// wrong one.
async fn run_suite(file: &str, count: usize) {
    let cases = load(file);
    assert_eq!(cases.len(), count, "{file} has {count} tests");
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = run_case(case).await {
            failures.push(why);
        }
    }
    eprintln!("{file}: {} cases, {} failures", cases.len(), failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn rfc7208_suite_passes_whole() {
    run_suite("openspf-pyspf/rfc7208-tests.yml", 203).await;
}

/// The RFC 4408 suite. Where RFC 7208 changed an answer, the 4408 suite already lists both
/// results (for example `mx-limit`), so every one of its 191 tests must pass as well.
#[tokio::test]
async fn rfc4408_suite_passes_too() {
    run_suite("openspf-pyspf/rfc4408-tests.yml", 191).await;
}

/// Both suites again as the milter and bulk verification run: a lookup that keeps its TXT
/// answers, with the policies parsed from them kept beside the records, and no trace. Each
/// case runs twice, the second time with every policy already parsed; every answer must stay
/// right.
#[tokio::test]
async fn both_suites_pass_with_policies_kept_parsed() {
    let config = SpfConfig {
        keep_trace: false,
        ..suite_config()
    };
    let mut failures = Vec::new();
    let mut kept = 0;
    let mut cases = load("openspf-pyspf/rfc7208-tests.yml");
    cases.extend(load("openspf-pyspf/rfc4408-tests.yml"));
    for case in &cases {
        match run_case_kept(case, &config).await {
            Ok(parsed) => kept += parsed,
            Err(why) => failures.push(why),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The two suites' 394 cases keep 276 policies parsed.
    assert!(kept > 250, "{kept} policies kept parsed");
}
