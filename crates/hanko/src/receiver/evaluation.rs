//! What a receiver records of each DMARC evaluation for aggregate reports (RFC 9990 §3.1):
//! the receiver step that closes the loop back to the domain owner. Data only: storing,
//! aggregating and sending are the applications' work (`hanko-store`, `hanko-report`).

use std::net::IpAddr;

use super::Receipt;
use crate::dkim::DkimVerdict;
use crate::dmarc::AlignmentMode;
use crate::dmarc::{DmarcVerdict, Policy};
use crate::spf::{SpfIdentity, SpfVerdict};

/// One DMARC evaluation, for one Author Domain that publishes a policy: a row of the
/// receiver's report data. Field names follow RFC 9990's elements.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// When it was evaluated (Unix seconds): the `now` the receiver ran with, so that
    /// re-verifying an archive reports each message in its own period.
    pub time: u64,
    /// The client the message came from (`source_ip`); `None` when the connection was not
    /// known, and then nothing can be reported for the row.
    pub source_ip: Option<IpAddr>,
    /// The Author Domain (`header_from`).
    pub header_from: String,
    /// The MAIL FROM domain (`envelope_from`), when SPF checked one.
    pub envelope_from: Option<String>,
    /// The recipient's domain (`envelope_to`), when the caller knows it.
    pub envelope_to: Option<String>,
    /// The DMARC Policy Domain (the report's `policy_published/domain`): where the Tree Walk
    /// found the record.
    pub policy_domain: String,
    /// The record's policies and modes, as published.
    pub published: PublishedPolicy,
    /// What the receiver's evaluation gave (`disposition`): `pass` for a message that
    /// passed, else the policy that applies (after testing mode and overrides).
    pub disposition: Disposition,
    /// Whether an aligned DKIM signature passed (`policy_evaluated/dkim`).
    pub dkim_aligned_pass: bool,
    /// Whether aligned SPF passed (`policy_evaluated/spf`).
    pub spf_aligned_pass: bool,
    /// Why the published policy was not applied as is.
    pub overrides: Vec<Override>,
    /// Every DKIM signature's result (`auth_results/dkim`), in message order.
    pub dkim: Vec<DkimEvaluation>,
    /// SPF (`auth_results/spf`), when it ran.
    pub spf: Option<SpfEvaluation>,
}

/// `policy_published`: the record as the Tree Walk found it.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPolicy {
    /// `p=`.
    pub policy: Policy,
    /// `sp=`, when given.
    pub subdomain_policy: Option<Policy>,
    /// `np=`, when given.
    pub nonexistent_policy: Option<Policy>,
    /// `adkim=`.
    pub dkim_alignment: AlignmentMode,
    /// `aspf=`.
    pub spf_alignment: AlignmentMode,
    /// `t=y`.
    pub testing: bool,
    /// `fo=` as written, when given.
    pub failure_options: Option<String>,
}

/// `policy_evaluated/disposition` (RFC 9990's ActionDispositionType).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// The message passed DMARC.
    Pass,
    /// It failed; the policy applied was `none` (published, lowered by testing mode, or
    /// overridden).
    None,
    /// It failed; `quarantine` applies.
    Quarantine,
    /// It failed; `reject` applies.
    Reject,
}

impl Disposition {
    /// The RFC 9990 word.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Pass => "pass",
            Disposition::None => "none",
            Disposition::Quarantine => "quarantine",
            Disposition::Reject => "reject",
        }
    }
}

/// A `reason` of `policy_evaluated` (RFC 9990 §3.1.1.6, PolicyOverrideType).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Override {
    /// `policy_test_mode`: the record says `t=y`, so the policy was applied one step lower.
    PolicyTestMode,
    /// `trusted_forwarder`: a trusted ARC sealer recorded the author as authenticated.
    TrustedForwarder {
        /// Who sealed, which set, and what it recorded.
        comment: String,
    },
}

impl Override {
    /// The RFC 9990 word.
    pub fn as_str(&self) -> &'static str {
        match self {
            Override::PolicyTestMode => "policy_test_mode",
            Override::TrustedForwarder { .. } => "trusted_forwarder",
        }
    }

    /// The comment, when there is one.
    pub fn comment(&self) -> Option<&str> {
        match self {
            Override::PolicyTestMode => None,
            Override::TrustedForwarder { comment } => Some(comment),
        }
    }
}

/// One `auth_results/dkim`.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimEvaluation {
    /// `d=`.
    pub domain: String,
    /// `s=`.
    pub selector: String,
    /// The result.
    pub result: DkimVerdict,
}

/// `auth_results/spf`.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfEvaluation {
    /// The domain checked.
    pub domain: String,
    /// Which identity: RFC 9990 reports `mfrom` only, so a HELO check is left out of reports.
    pub identity: SpfIdentity,
    /// The result.
    pub result: SpfVerdict,
}

impl Receipt {
    /// The rows this message adds to aggregate reports: one per evaluated Author Domain that
    /// publishes a DMARC record. `time` is when it was evaluated (the `now` given to
    /// [`Receiver::finish`](super::Receiver::finish)).
    pub fn evaluations(&self, time: u64) -> Vec<Evaluation> {
        let dkim: Vec<DkimEvaluation> = self
            .dkim
            .results
            .iter()
            .filter_map(|r| {
                Some(DkimEvaluation {
                    domain: r.domain()?.to_ascii_lowercase(),
                    selector: r.selector().unwrap_or_default().to_string(),
                    result: r.verdict(),
                })
            })
            .collect();
        let spf = self.spf.as_ref().map(|s| SpfEvaluation {
            domain: s.domain.to_ascii_lowercase(),
            identity: s.identity,
            result: s.verdict,
        });
        let envelope_from = self
            .spf
            .as_ref()
            .filter(|s| s.identity == SpfIdentity::MailFrom)
            .map(|s| s.domain.to_ascii_lowercase());
        self.dmarc
            .evaluations
            .iter()
            .filter_map(|e| {
                let record = e.record.as_ref()?;
                let policy_domain = e.record_domain.clone()?;
                let passed = e.verdict == DmarcVerdict::Pass;
                let mut overrides = Vec::new();
                if !passed && record.testing {
                    overrides.push(Override::PolicyTestMode);
                }
                if let (false, Some(forwarder)) = (passed, &self.dmarc_override) {
                    overrides.push(Override::TrustedForwarder {
                        comment: format!(
                            "ARC sealer {} (i={}) recorded {}",
                            forwarder.sealer, forwarder.instance, forwarder.evidence
                        ),
                    });
                }
                let disposition = match (passed, &self.dmarc_override, e.disposition) {
                    (true, _, _) => Disposition::Pass,
                    (false, Some(_), _) | (false, None, Policy::None) => Disposition::None,
                    (false, None, Policy::Quarantine) => Disposition::Quarantine,
                    (false, None, Policy::Reject) => Disposition::Reject,
                };
                Some(Evaluation {
                    time,
                    source_ip: self.client_ip,
                    header_from: e.author_domain.clone(),
                    envelope_from: envelope_from.clone(),
                    envelope_to: None,
                    policy_domain,
                    published: PublishedPolicy {
                        policy: record.policy,
                        subdomain_policy: record.subdomain_policy,
                        nonexistent_policy: record.nonexistent_policy,
                        dkim_alignment: record.dkim_alignment,
                        spf_alignment: record.spf_alignment,
                        testing: record.testing,
                        failure_options: record.tags.get("fo").map(str::to_string),
                    },
                    disposition,
                    dkim_aligned_pass: e.dkim.iter().any(|a| a.pass && a.aligned),
                    spf_aligned_pass: e.spf.as_ref().is_some_and(|a| a.pass && a.aligned),
                    overrides,
                    dkim: dkim.clone(),
                    spf: spf.clone(),
                })
            })
            .collect()
    }
}
