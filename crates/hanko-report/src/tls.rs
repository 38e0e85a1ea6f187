//! SMTP TLS reports (RFC 8460 §4): JSON that sending servers return to a domain's TLS-RPT
//! address, saying how many sessions to its MX hosts met its MTA-STS or DANE policy and why
//! the others failed. Read leniently (a missing report id or summary is named in a warning);
//! the JSON field names are parsedmarc's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::aggregate::Warning;
use crate::ReportError;

/// One SMTP TLS report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsReport {
    /// What was repaired or missing.
    pub warnings: Vec<Warning>,
    /// The reporting organization.
    pub organization_name: String,
    /// Start of the reported period (RFC 3339, as the report gives it).
    pub begin_date: String,
    /// End of the reported period.
    pub end_date: String,
    /// Where to ask about the report.
    pub contact_info: Option<String>,
    /// The reporter's identifier of the report.
    pub report_id: Option<String>,
    /// One entry per policy the reporter applied.
    pub policies: Vec<TlsPolicy>,
}

/// One policy's sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsPolicy {
    /// The domain whose policy it is (RFC 8460 requires it; some reporters leave it out).
    pub policy_domain: Option<String>,
    /// `sts`, `tlsa` or `no-policy-found`.
    pub policy_type: String,
    /// The policy as the reporter saw it (MTA-STS lines or TLSA records).
    pub policy_strings: Vec<String>,
    /// The MX host patterns of an MTA-STS policy.
    pub mx_host_patterns: Vec<String>,
    /// Sessions that negotiated TLS as the policy asks.
    pub successful_session_count: u64,
    /// Sessions that did not.
    pub failed_session_count: u64,
    /// Why, grouped by result and hosts.
    pub failure_details: Vec<FailureDetail>,
}

/// One group of failed sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureDetail {
    /// The result type (`certificate-expired`, `sts-policy-fetch-error`, ...).
    pub result_type: String,
    /// How many sessions.
    pub failed_session_count: u64,
    /// The sending MTA.
    pub sending_mta_ip: Option<String>,
    /// The receiving MX host name.
    pub receiving_mx_hostname: Option<String>,
    /// What the MX answered to HELO.
    pub receiving_mx_helo: Option<String>,
    /// The receiving IP address.
    pub receiving_ip: Option<String>,
    /// More about the failure.
    pub additional_information: Option<String>,
    /// The reporter's reason code.
    pub failure_reason_code: Option<String>,
}

/// RFC 8460's field names, as the JSON has them.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Raw {
    organization_name: Option<String>,
    date_range: Option<RawRange>,
    contact_info: Option<String>,
    report_id: Option<String>,
    #[serde(default)]
    policies: Vec<RawPolicy>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawRange {
    start_datetime: Option<String>,
    end_datetime: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawPolicy {
    policy: Option<RawPolicyInfo>,
    summary: Option<RawSummary>,
    #[serde(default)]
    failure_details: Vec<BTreeMap<String, serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawPolicyInfo {
    policy_type: Option<String>,
    #[serde(default)]
    policy_string: Vec<String>,
    policy_domain: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    mx_host: Vec<String>,
}

/// A list of strings, or one string where reporters write one (RFC 8460 §4.4 says a list).
fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawSummary {
    #[serde(default)]
    total_successful_session_count: u64,
    #[serde(default)]
    total_failure_session_count: u64,
}

/// Reads an SMTP TLS report from its JSON text.
pub(crate) fn read(text: &str) -> Result<TlsReport, ReportError> {
    let raw: Raw = serde_json::from_str(text)
        .map_err(|e| ReportError::NotAReport(format!("SMTP TLS report JSON: {e}")))?;
    let mut warnings = Vec::new();
    let organization_name = raw
        .organization_name
        .ok_or_else(|| ReportError::NotAReport("no organization-name".into()))?;
    let range = raw
        .date_range
        .ok_or_else(|| ReportError::NotAReport("no date-range".into()))?;
    let (Some(begin_date), Some(end_date)) = (range.start_datetime, range.end_datetime) else {
        return Err(ReportError::NotAReport(
            "the date-range lacks start-datetime or end-datetime".into(),
        ));
    };
    if raw.report_id.is_none() {
        warnings.push(Warning(
            "the report has no report-id (RFC 8460 §4.4 requires one)".into(),
        ));
    }
    let mut policies = Vec::new();
    for (n, policy) in raw.policies.into_iter().enumerate() {
        let info = policy
            .policy
            .ok_or_else(|| ReportError::NotAReport(format!("policy {} has no policy", n + 1)))?;
        let summary = policy.summary.unwrap_or_else(|| {
            warnings.push(Warning(format!(
                "policy {} has no summary; counts read as 0",
                n + 1
            )));
            RawSummary {
                total_successful_session_count: 0,
                total_failure_session_count: 0,
            }
        });
        let text = |detail: &BTreeMap<String, serde_json::Value>, key: &str| {
            detail.get(key).and_then(|v| v.as_str()).map(str::to_string)
        };
        let failure_details = policy
            .failure_details
            .iter()
            .map(|detail| FailureDetail {
                result_type: text(detail, "result-type").unwrap_or_default(),
                failed_session_count: detail
                    .get("failed-session-count")
                    .and_then(|v| v.as_u64())
                    .unwrap_or(0),
                sending_mta_ip: text(detail, "sending-mta-ip"),
                receiving_mx_hostname: text(detail, "receiving-mx-hostname"),
                receiving_mx_helo: text(detail, "receiving-mx-helo"),
                receiving_ip: text(detail, "receiving-ip"),
                additional_information: text(detail, "additional-information"),
                failure_reason_code: text(detail, "failure-reason-code"),
            })
            .collect();
        if info.policy_domain.is_none() {
            warnings.push(Warning(format!("policy {} names no policy-domain", n + 1)));
        }
        policies.push(TlsPolicy {
            policy_domain: info.policy_domain,
            policy_type: info.policy_type.unwrap_or_default(),
            policy_strings: info.policy_string,
            mx_host_patterns: info.mx_host,
            successful_session_count: summary.total_successful_session_count,
            failed_session_count: summary.total_failure_session_count,
            failure_details,
        });
    }
    Ok(TlsReport {
        warnings,
        organization_name,
        begin_date,
        end_date,
        contact_info: raw.contact_info,
        report_id: raw.report_id,
        policies,
    })
}
