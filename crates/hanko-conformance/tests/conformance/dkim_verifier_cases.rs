//! The 34 verification cases of dkim_verifier (the DKIM Verifier add-on for Thunderbird), from
//! `dkim_verifier/verifier-expected.yml`, with its DNS from `dns-txt.yml`.
//!
//! dkim_verifier's vocabulary maps onto hanko's as follows:
//! - `SUCCESS` is `pass`; `PERMFAIL` with a `DKIM_SIGERROR_*` is the [`DkimFailure`] named in
//!   [`sig_error`].
//! - Like dkim_verifier, the verification time is the date of the top `Received:` field when
//!   there is one (the time the message arrived), and the clock skew is the add-on's 15
//!   minutes (hanko's default is 5), so the `t=` checks see the same clock.
//! - `DKIM_POLICYERROR_UNSIGNED_HEADER_ADDED` is the add-on's own policy, stricter than RFC
//!   6376 (which verifies the signed instance). hanko keeps RFC 6376's `pass` and reports a
//!   [`DkimWarning::UnsignedHeaderAdded`] naming the field; DMARC is where several From fields
//!   become a failure (RFC 9989 follows RFC 5322 §3.6: one From).
//! - `DKIM_SIGWARNING_UNSIGNED_HEADER(X)` is [`DkimWarning::UnsignedHeader`]. hanko has one
//!   mode: every field of RFC 6376 §5.4.1 (and Content-Type) present but unsigned is reported,
//!   so where the add-on's RECOMMENDED mode stays quiet about a Reply-To, hanko warns (listed in
//!   [`HANKO_WARNS_MORE`]).
//! - `DKIM_SIGWARNING_FROM_NOT_IN_SDID` is alignment, which hanko judges in DMARC, not in
//!   DKIM: no DKIM warning.
//! - An RSA key under 2048 bits passes with [`DkimWarning::WeakKey`] (RFC 8301 allows 1024);
//!   the RFC 6376 example key is 1024 bits, so that warning is allowed everywhere.

use hanko_test_support as common;

use std::collections::BTreeMap;

use common::{read, verify_with, MapDns};
use hanko::dkim::{
    DkimFailure, DkimResult, DkimVerdict, DkimWarning, SignatureError, VerifyConfig,
};
use hanko::message::{received_date, split_message, CrlfNormalizer, Headers, MessageLimits};
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    file: String,
    #[serde(default)]
    dns_override: BTreeMap<String, String>,
    signatures: Vec<Sig>,
}

#[derive(Deserialize)]
struct Sig {
    result: String,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    #[serde(rename = "errorStrParams", default)]
    error_params: Vec<String>,
    warnings: Option<Vec<String>>,
    #[serde(default)]
    warnings_include: Vec<String>,
    sdid: Option<String>,
    auid: Option<String>,
    selector: Option<String>,
    timestamp: Option<u64>,
    expiration: Option<u64>,
    #[serde(rename = "algorithmSignature")]
    algorithm_signature: Option<String>,
    #[serde(rename = "algorithmHash")]
    algorithm_hash: Option<String>,
    #[serde(rename = "signedHeaders")]
    signed_headers: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct DnsFile {
    txt: BTreeMap<String, String>,
}

/// Cases where the add-on reports no warning and hanko reports an unsigned Reply-To, because
/// hanko does not grade Reply-To by domain (see the module documentation).
const HANKO_WARNS_MORE: &[&str] = &[
    "Unsigned Reply-To header in the signing domain (mode RECOMMENDED)",
    "Unsigned invalid Reply-To header (default mode)",
];

/// Whether `failure` is the hanko reason for dkim_verifier's `DKIM_SIGERROR_*` name.
fn sig_error(name: &str, failure: &DkimFailure) -> bool {
    match name {
        "DKIM_SIGERROR_MISSING_V" => matches!(
            failure,
            DkimFailure::Signature(SignatureError::MissingTag("v"))
        ),
        "DKIM_SIGERROR_KEY_REVOKED" => matches!(failure, DkimFailure::KeyRevoked),
        "DKIM_SIGERROR_KEY_HASHNOTINCLUDED" => {
            matches!(failure, DkimFailure::HashNotAllowedByKey(_))
        }
        "DKIM_SIGERROR_KEY_MISMATCHED_K" => matches!(failure, DkimFailure::KeyTypeMismatch { .. }),
        "DKIM_SIGERROR_KEY_NOTEMAILKEY" => matches!(failure, DkimFailure::KeyNotForEmail),
        "DKIM_SIGERROR_DOMAIN_I" => matches!(failure, DkimFailure::StrictIdentityMismatch),
        "DKIM_SIGERROR_CORRUPT_BH" => matches!(failure, DkimFailure::BodyHashMismatch { .. }),
        "DKIM_SIGERROR_BADSIG" => matches!(failure, DkimFailure::SignatureMismatch),
        other => panic!("no mapping for {other}"),
    }
}

/// hanko's warning for one of the add-on's warning names; `None` where hanko has none.
fn warning_for(name: &str) -> Option<DkimWarning> {
    if name == "DKIM_SIGWARNING_FUTURE" {
        return Some(DkimWarning::FutureTimestamp {
            timestamp: 1_528_637_909,
        });
    }
    if name == "DKIM_SIGWARNING_FROM_NOT_IN_SDID" {
        return None;
    }
    let field = name
        .strip_prefix("DKIM_SIGWARNING_UNSIGNED_HEADER(")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no mapping for {name}"));
    Some(DkimWarning::UnsignedHeader { name: field.into() })
}

/// The time the message arrived: its top Received date, as dkim_verifier uses.
fn arrival(message: &[u8]) -> u64 {
    let message = CrlfNormalizer::normalize(message);
    let (head, _) = split_message(&message);
    let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
    headers
        .fields()
        .iter()
        .find(|f| f.is("Received"))
        .map(|f| {
            let value = f.unfolded_value();
            received_date(&value).expect("Received date").unix_seconds as u64
        })
        // No Received field: a fixed "now" well after every t= in the suite.
        .unwrap_or(1_795_392_000)
}

/// Compares one signature's result with the add-on's expectation; returns what differs.
fn compare(case: &Case, expected: &Sig, got: &DkimResult) -> Vec<String> {
    let mut wrong = Vec::new();
    let sig = got.parsed_signature();
    match (expected.result.as_str(), expected.error_type.as_deref()) {
        ("SUCCESS", _) => {
            if got.verdict() != DkimVerdict::Pass {
                wrong.push(format!("expected pass, got {:?}", got.failure));
            }
        }
        ("PERMFAIL", Some("DKIM_POLICYERROR_UNSIGNED_HEADER_ADDED")) => {
            let field = &expected.error_params[0];
            let warned = got.warnings.iter().any(|w| {
                matches!(w, DkimWarning::UnsignedHeaderAdded { name, present: 2, signed: 1 } if name == field)
            });
            if got.verdict() != DkimVerdict::Pass || !warned {
                wrong.push(format!(
                    "expected pass with an added-{field} warning, got {} {:?} {:?}",
                    got.verdict(),
                    got.failure,
                    got.warnings
                ));
            }
        }
        ("PERMFAIL", Some(error)) => match &got.failure {
            Some(failure) if sig_error(error, failure) && got.verdict() != DkimVerdict::Pass => {}
            other => wrong.push(format!("expected {error}, got {other:?}")),
        },
        (result, _) => panic!("unknown result {result}"),
    }
    // Warnings: those the add-on lists must be there; with `warnings: []`, nothing beyond
    // the weak-key note (or the documented extra Reply-To warning).
    for name in &expected.warnings_include {
        if let Some(w) = warning_for(name) {
            if !got.warnings.contains(&w) {
                wrong.push(format!("missing warning {w:?}: got {:?}", got.warnings));
            }
        }
    }
    if expected.warnings.as_ref().is_some_and(Vec::is_empty) {
        let extra: Vec<_> = got
            .warnings
            .iter()
            .filter(|w| !matches!(w, DkimWarning::WeakKey { .. }))
            .filter(|w| {
                !(HANKO_WARNS_MORE.contains(&case.name.as_str())
                    && **w
                        == DkimWarning::UnsignedHeader {
                            name: "Reply-To".into(),
                        })
            })
            .collect();
        if !extra.is_empty() {
            wrong.push(format!("unexpected warnings {extra:?}"));
        }
    }
    // Signature details, where the add-on checks them.
    if let Some(sdid) = &expected.sdid {
        if got.domain() != Some(sdid.as_str()) {
            wrong.push(format!("d= {:?}, expected {sdid}", got.domain()));
        }
    }
    if let Some(auid) = &expected.auid {
        let identity = sig.map(|s| s.effective_identity().to_string());
        if identity.as_deref() != Some(auid.as_str()) {
            wrong.push(format!("i= {identity:?}, expected {auid}"));
        }
    }
    if let Some(selector) = &expected.selector {
        if got.selector() != Some(selector.as_str()) {
            wrong.push(format!("s= {:?}, expected {selector}", got.selector()));
        }
    }
    if expected.signed_headers.is_some() || expected.algorithm_signature.is_some() {
        let Some(sig) = sig else {
            wrong.push("signature did not parse".into());
            return wrong;
        };
        if expected.timestamp != sig.timestamp || expected.expiration != sig.expiration {
            wrong.push(format!("t=/x= {:?}/{:?}", sig.timestamp, sig.expiration));
        }
        let algorithm = format!(
            "{}-{}",
            expected.algorithm_signature.as_deref().unwrap_or(""),
            expected.algorithm_hash.as_deref().unwrap_or("")
        );
        if sig.algorithm.name() != algorithm {
            wrong.push(format!("a={}, expected {algorithm}", sig.algorithm.name()));
        }
        if let Some(headers) = &expected.signed_headers {
            let got: Vec<String> = sig
                .signed_headers
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect();
            if &got != headers {
                wrong.push(format!("h= {got:?}, expected {headers:?}"));
            }
        }
    }
    wrong
}

#[tokio::test]
async fn dkim_verifier_cases() {
    let expected: Expected =
        serde_yaml_ng::from_slice(&read("dkim_verifier/verifier-expected.yml")).unwrap();
    let default_dns: DnsFile =
        serde_yaml_ng::from_slice(&read("dkim_verifier/dns-txt.yml")).unwrap();
    let mut wrong = Vec::new();
    for case in &expected.cases {
        let mut records = default_dns.txt.clone();
        records.extend(case.dns_override.clone());
        let mut dns = MapDns::default();
        for (name, value) in &records {
            dns.add(name, value);
        }
        let message = read(&format!("dkim_verifier/{}", case.file));
        let config = VerifyConfig {
            clock_skew: 15 * 60,
            ..VerifyConfig::default()
        };
        let v = verify_with(&message, &dns, arrival(&message), config).await;
        // The add-on sorts its results (best first); match each expectation to a result of
        // the same outcome where the order differs (rfc8463-A.3.eml lists RSA first).
        // Some cases check only the first signature of a message with two.
        if v.results.len() < case.signatures.len() {
            wrong.push(format!(
                "{}: {} signatures, expected at least {}",
                case.name,
                v.results.len(),
                case.signatures.len()
            ));
            continue;
        }
        let mut unmatched: Vec<&DkimResult> = v.results.iter().collect();
        for sig in &case.signatures {
            let position = unmatched
                .iter()
                .position(|got| compare(case, sig, got).is_empty());
            match position {
                Some(i) => {
                    unmatched.remove(i);
                }
                None => {
                    let problems = compare(case, sig, unmatched[0]);
                    wrong.push(format!("{}: {}", case.name, problems.join("; ")));
                }
            }
        }
    }
    assert_eq!(expected.cases.len(), 34, "the suite has 34 cases");
    assert!(
        wrong.is_empty(),
        "{} of 34 cases wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
