//! Results of hanko's own checks as Authentication-Results entries: the one place where a
//! verdict becomes RFC 8601 words and properties. A receiver's whole field is
//! [`Receipt::authentication_results`](crate::receiver::Receipt::authentication_results).

use super::MethodResult;
use std::net::IpAddr;

use crate::adsp::AdspOutcome;
use crate::arc::{ArcResult, ChainStatus};
use crate::dkim::{DkimResult, DkimWarning, Verification};
use crate::dmarc::{DmarcOutcome, DmarcProblem};
use crate::spf::{SpfIdentity, SpfOutcome, SpfVerdict};

/// One `dkim=` entry per verified signature (RFC 8601 §2.7.1), or a single `dkim=none` for an
/// unsigned message. Properties: `header.d`, `header.i`, `header.s`, `header.a` and
/// `header.b` (RFC 6008, the first 8 characters of `b=`, telling signatures of one domain
/// apart); the failure reason as a comment, and for a pass with unsigned body content (`l=`)
/// a comment saying how much is unsigned.
pub fn dkim(verification: &Verification) -> Vec<MethodResult> {
    if verification.results.is_empty() {
        return vec![MethodResult::new("dkim", "none").with_comment("message not signed")];
    }
    verification.results.iter().map(dkim_one).collect()
}

/// The entry for one signature.
pub fn dkim_one(result: &DkimResult) -> MethodResult {
    let mut entry = MethodResult::new("dkim", result.verdict().as_str());
    if let Some(failure) = &result.failure {
        entry = entry.with_comment(&failure.to_string());
    }
    // A pass that covers only part of the body (`l=`) says so: whatever follows the signed
    // part could have been added by anyone (RFC 6376 §8.2).
    for warning in &result.warnings {
        if let DkimWarning::UnsignedBodyContent { .. } = warning {
            entry = entry.with_comment(&warning.to_string());
        }
    }
    let header_b = result.header_b();
    for (name, value) in [
        ("d", result.domain()),
        ("i", result.identity()),
        ("s", result.selector()),
        ("a", result.algorithm()),
        ("b", header_b.as_deref()),
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

/// The `dmarc=` entry (RFC 7489 §11.2, RFC 9989): one entry for the message, the verdict of
/// the Author Domain that decided it, with `header.from` and `policy.dmarc` (the policy that
/// applied: `p=`, `sp=` or `np=`). The comment gives the policy and disposition, or the
/// problem. One entry only, so that a reader taking the first `dmarc=` cannot see the `pass`
/// of one author beside the `fail` of another.
pub fn dmarc(outcome: &DmarcOutcome) -> MethodResult {
    let mut entry = MethodResult::new("dmarc", outcome.verdict.as_str());
    let evaluation = outcome
        .author_domain
        .as_ref()
        .and_then(|d| outcome.evaluations.iter().find(|e| &e.author_domain == d));
    let policy = evaluation.and_then(|e| e.policy);
    match (&outcome.problem, policy) {
        (None | Some(DmarcProblem::NotAligned), Some(policy)) => {
            let testing = evaluation
                .and_then(|e| e.record.as_ref())
                .is_some_and(|r| r.testing);
            entry = entry.with_comment(&format!(
                "p={policy} dis={}{}",
                outcome.disposition,
                if testing { " t=y" } else { "" }
            ));
        }
        (Some(problem), _) => entry = entry.with_comment(&problem.to_string()),
        (None, None) => {}
    }
    if let Some(domain) = &outcome.author_domain {
        entry = entry.with_property("header", "from", domain);
    }
    if let Some(policy) = policy {
        entry = entry.with_property("policy", "dmarc", policy.as_str());
    }
    entry
}

/// The `arc=` entry (RFC 8617 §10.1): `none`, `pass` or `fail`, the failure as a comment;
/// for a pass, `header.oldest-pass` and the newest sealer (`header.as-d`, `header.as-s`),
/// and `smtp.remote-ip`, the client the chain was received from, which a later hop needs to
/// judge this one's SPF.
pub fn arc(result: &ArcResult, client_ip: Option<IpAddr>) -> MethodResult {
    let status = result.status();
    let mut entry = MethodResult::new("arc", status.as_str());
    if let Some(failure) = &result.failure {
        entry = entry.with_comment(&failure.to_string());
    }
    if status == ChainStatus::Pass {
        if let Some(oldest) = result.oldest_pass {
            entry = entry.with_property("header", "oldest-pass", &oldest.to_string());
        }
        if let Some(newest) = result.newest() {
            for (name, value) in [
                ("as-d", newest.seal.domain()),
                ("as-s", newest.seal.selector()),
            ] {
                if let Some(value) = value {
                    entry = entry.with_property("header", name, value);
                }
            }
        }
    }
    if let Some(ip) = client_ip {
        entry = entry.with_property("smtp", "remote-ip", &ip.to_string());
    }
    entry
}

/// The `dkim-adsp=` entry (RFC 5617 §5.4) with `header.from`.
pub fn adsp(outcome: &AdspOutcome) -> MethodResult {
    let mut entry = MethodResult::new("dkim-adsp", outcome.verdict.as_str());
    if let Some(reason) = &outcome.reason {
        entry = entry.with_comment(reason);
    }
    entry.with_property("header", "from", &outcome.domain)
}
