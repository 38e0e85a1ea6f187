//! DMARC failure reports: the Abuse Reporting Format (RFC 5965) with the authentication
//! failure fields of RFC 6591 and RFC 9991 (`Identity-Alignment`, `Auth-Failure`,
//! `DKIM-Domain`, `DKIM-Selector`, `Delivery-Result`), as a `message/feedback-report` part
//! beside the failed message or its header section. The JSON field names are parsedmarc's.

use serde::Serialize;

use crate::aggregate::Warning;
use crate::ReportError;

/// One failure report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureReport {
    /// What was repaired or missing.
    pub warnings: Vec<Warning>,
    /// `Feedback-Type` (`auth-failure` for DMARC; `abuse`, `fraud`, ... in other ARF).
    pub feedback_type: String,
    /// `User-Agent`: the reporting software.
    pub user_agent: Option<String>,
    /// `Arrival-Date` (an RFC 5322 date) as RFC 3339 in UTC; as written when it does not
    /// read as a date (with a warning).
    pub arrival_date: Option<String>,
    /// `Source-IP`: where the failed message came from.
    pub source: Option<FailureSource>,
    /// `Reported-Domain`.
    pub reported_domain: Option<String>,
    /// `Auth-Failure`: which checks failed (`dmarc`, `dkim`, `spf`, `bodyhash`, ...).
    pub auth_failure: Vec<String>,
    /// `Identity-Alignment` (RFC 9991): which identifiers were aligned (`none`, `dkim`, `spf`).
    pub identity_alignment: Option<String>,
    /// `Original-Mail-From`.
    pub original_mail_from: Option<String>,
    /// `Original-Rcpt-To`.
    pub original_rcpt_to: Option<String>,
    /// `Delivery-Result` (`delivered`, `spam`, `policy`, `reject`, `other`).
    pub delivery_result: Option<String>,
    /// `DKIM-Domain`.
    pub dkim_domain: Option<String>,
    /// `DKIM-Selector`.
    pub dkim_selector: Option<String>,
    /// `Authentication-Results` fields the reporter included.
    pub authentication_results: Vec<String>,
    /// The sample is a header section only (`text/rfc822-headers`), not a whole message.
    pub sample_headers_only: bool,
    /// What the sample says of itself.
    pub parsed_sample: Option<Sample>,
}

/// Where the failed message came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureSource {
    /// `Source-IP`, without the comment some reporters add.
    pub ip_address: String,
}

/// The failed message's own header fields, decoded for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sample {
    /// From (the address).
    pub from: Option<String>,
    /// To (the first address).
    pub to: Option<String>,
    /// Subject.
    pub subject: Option<String>,
    /// Message-ID.
    pub message_id: Option<String>,
    /// Date (RFC 3339).
    pub date: Option<String>,
}

/// The `Name: value` fields of a `message/feedback-report` body, unfolded, in order.
fn fields(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    out
}

/// Reads a failure report from its `message/feedback-report` part and, when there is one,
/// the sample (`sample`, with `headers_only` for `text/rfc822-headers`).
pub(crate) fn read(
    report: &[u8],
    sample: Option<(&[u8], bool)>,
) -> Result<FailureReport, ReportError> {
    let text = String::from_utf8_lossy(report);
    let fields = fields(&text);
    let first = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let all = |name: &str| -> Vec<String> {
        fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let feedback_type = first("feedback-type")
        .ok_or_else(|| ReportError::NotAReport("a feedback report without Feedback-Type".into()))?;
    let mut warnings = Vec::new();
    if first("version").is_none() {
        warnings.push(Warning(
            "the feedback report has no Version (RFC 5965 §3.1 requires one)".into(),
        ));
    }
    let parsed_sample = sample.and_then(|(bytes, _)| {
        let message = mail_parser::MessageParser::default().parse(bytes)?;
        Some(Sample {
            from: message
                .from()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .map(str::to_string),
            to: message
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .map(str::to_string),
            subject: message.subject().map(str::to_string),
            message_id: message.message_id().map(str::to_string),
            date: message.date().map(|d| d.to_rfc3339()),
        })
    });
    if sample.is_none() {
        warnings.push(Warning(
            "the report carries no sample of the failed message".into(),
        ));
    }
    let arrival_date = first("arrival-date")
        .or_else(|| first("received-date"))
        .map(|date| match hanko::message::parse_date_time(&date) {
            Ok(parsed) => hanko::message::format_utc(parsed.unix_seconds),
            Err(_) => {
                warnings.push(Warning(format!(
                    "Arrival-Date {date:?} is not an RFC 5322 date; kept as written"
                )));
                date
            }
        });
    Ok(FailureReport {
        warnings,
        feedback_type: feedback_type.to_ascii_lowercase(),
        user_agent: first("user-agent"),
        arrival_date,
        // The address alone: reporters add the host name as a comment.
        source: first("source-ip")
            .and_then(|v| v.split_whitespace().next().map(str::to_string))
            .map(|ip_address| FailureSource { ip_address }),
        reported_domain: first("reported-domain"),
        auth_failure: all("auth-failure")
            .iter()
            .flat_map(|v| v.split(',').map(|w| w.trim().to_ascii_lowercase()))
            .filter(|w| !w.is_empty())
            .collect(),
        identity_alignment: first("identity-alignment").map(|v| v.to_ascii_lowercase()),
        original_mail_from: first("original-mail-from"),
        original_rcpt_to: first("original-rcpt-to"),
        delivery_result: first("delivery-result").map(|v| v.to_ascii_lowercase()),
        dkim_domain: first("dkim-domain"),
        dkim_selector: first("dkim-selector"),
        authentication_results: all("authentication-results"),
        sample_headers_only: sample.is_some_and(|(_, headers_only)| headers_only),
        parsed_sample,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_unfold_and_repeat() {
        let fields = super::fields(
            "Feedback-Type: auth-failure\r\nAuthentication-Results: mx; dkim=fail\r\n\t header.d=example.net\r\nAuth-Failure: dkim\r\nAuth-Failure: spf\r\n",
        );
        assert_eq!(fields.len(), 4);
        assert_eq!(fields[1].1, "mx; dkim=fail header.d=example.net");
        let report = super::read(
            b"Feedback-Type: auth-failure\r\nVersion: 1\r\nAuth-Failure: dkim\r\nAuth-Failure: SPF\r\nSource-IP: 192.0.2.1\r\n",
            Some((b"From: a@example.net\r\nSubject: hi\r\n\r\n", true)),
        )
        .unwrap();
        assert_eq!(report.auth_failure, ["dkim", "spf"]);
        assert!(report.sample_headers_only);
        let sample = report.parsed_sample.unwrap();
        assert_eq!(sample.from.as_deref(), Some("a@example.net"));
        assert_eq!(sample.subject.as_deref(), Some("hi"));
        assert!(report.warnings.is_empty());
    }
}
