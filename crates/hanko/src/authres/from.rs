//! Results of hanko's own checks as Authentication-Results entries: the one place where a
//! verdict becomes RFC 8601 words and properties.

use super::MethodResult;
use crate::dkim::{DkimResult, Verification};
use crate::spf::{SpfIdentity, SpfOutcome, SpfVerdict};

/// One `dkim=` entry per verified signature (RFC 8601 §2.7.1), or a single `dkim=none` for an
/// unsigned message. Properties: `header.d`, `header.i`, `header.s`, `header.a` and
/// `header.b` (RFC 6008, the first 8 characters of `b=`, telling signatures of one domain
/// apart); the failure reason as a comment.
pub fn dkim(verification: &Verification) -> Vec<MethodResult> {
    if verification.results.is_empty() {
        return vec![MethodResult::new("dkim", "none").with_comment("message not signed")];
    }
    verification.results.iter().map(dkim_one).collect()
}

/// The entry for one signature.
pub fn dkim_one(result: &DkimResult) -> MethodResult {
    let mut entry = MethodResult::new("dkim", result.verdict.as_str());
    if let Some(failure) = &result.failure {
        entry = entry.with_comment(&failure.to_string());
    }
    for (name, value) in [
        ("d", &result.domain),
        ("i", &result.identity),
        ("s", &result.selector),
        ("a", &result.algorithm),
        ("b", &result.header_b),
    ] {
        if let Some(value) = value {
            entry = entry.with_property("header", name, value);
        }
    }
    entry
}

/// The `spf=` entry (RFC 8601 §2.7.2): `smtp.mailfrom` for the MAIL FROM identity (the whole
/// address, RFC 7208 §9.2), `smtp.helo` for the HELO identity; errors carry their reason as a
/// comment.
pub fn spf(outcome: &SpfOutcome) -> MethodResult {
    let mut entry = MethodResult::new("spf", outcome.verdict.as_str());
    if let (Some(problem), SpfVerdict::TempError | SpfVerdict::PermError) =
        (&outcome.problem, outcome.verdict)
    {
        entry = entry.with_comment(&problem.to_string());
    }
    match outcome.identity {
        SpfIdentity::MailFrom => entry.with_property("smtp", "mailfrom", &outcome.sender),
        SpfIdentity::Helo => entry.with_property("smtp", "helo", &outcome.helo),
    }
}
