//! DMARC reports for domain owners: what receivers send back, read into typed data.
//!
//! This crate reads failure reports ([`failure`], ARF), SMTP TLS reports ([`tls`], RFC 8460)
//! and aggregate reports ([`aggregate`]): RFC 9990, RFC 7489 and the draft
//! layout before it, as plain XML, gzip or zip ([`Packing`]), alone or attached to the e-mail
//! message that brought them, bounded ([`Limits`]) and lenient
//! where real reporters are broken, with a [`aggregate::Warning`] for each repair. The
//! `hanko report parse` command renders the result as text or as JSON with parsedmarc's field
//! names.
//!
//! ```
//! let xml = br#"<feedback>
//!   <report_metadata><org_name>mx.example.net</org_name><report_id>r1</report_id>
//!     <date_range><begin>1795392000</begin><end>1795478399</end></date_range></report_metadata>
//!   <policy_published><domain>example.com</domain><p>reject</p></policy_published>
//!   <record><row><source_ip>192.0.2.25</source_ip><count>3</count>
//!     <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>
//!     <identifiers><header_from>example.com</header_from></identifiers>
//!     <auth_results><dkim><domain>example.com</domain><result>pass</result></dkim></auth_results></record>
//! </feedback>"#;
//! let parsed = hanko_report::parse(xml, &hanko_report::Limits::default()).unwrap();
//! let report = parsed.report.aggregate().unwrap();
//! assert_eq!(report.records[0].count, 3);
//! assert_eq!(report.policy_published.domain, "example.com");
//! assert!(report.warnings.is_empty());
//! ```

#![forbid(unsafe_code)]

pub mod aggregate;
pub mod failure;
pub mod generate;
mod input;
pub mod summary;
pub mod time;
pub mod tls;
mod tree;

use std::fmt;

pub use aggregate::{AggregateReport, Schema};
pub use failure::FailureReport;
pub use input::Packing;
pub use tls::TlsReport;

/// Bounds on what one report may cost. Each field's default is what [`Default`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most octets a report may be, after gzip or zip (`--max-report-mib`). Default: 50 MiB.
    pub max_bytes: usize,
    /// Most XML elements. Default: 2,000,000 (a report of 100,000 records has about 1.5
    /// million).
    pub max_elements: usize,
    /// Deepest XML nesting. Default: 32 (a report needs 5).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 50 * 1024 * 1024,
            max_elements: 2_000_000,
            max_depth: 32,
        }
    }
}

/// Why a report could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReportError {
    /// Over one of the [`Limits`].
    TooLarge(String),
    /// The packing (gzip, zip) could not be undone.
    Unreadable(String),
    /// Not XML a report can be read from (`position`: octet offset).
    Xml {
        /// Where, in octets from the start.
        position: u64,
        /// What.
        problem: String,
    },
    /// XML or JSON, but not a report of a kind this crate reads (what is missing or wrong).
    NotAReport(String),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::TooLarge(what) => write!(f, "refused: {what}"),
            ReportError::Unreadable(what) => write!(f, "cannot unpack: {what}"),
            ReportError::Xml { position, problem } => {
                write!(f, "not well-formed XML at octet {position}: {problem}")
            }
            ReportError::NotAReport(what) => write!(f, "not a report hanko reads: {what}"),
        }
    }
}

impl std::error::Error for ReportError {}

/// A report of one of the kinds this crate reads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Report {
    /// A DMARC aggregate report (XML).
    Aggregate(Box<AggregateReport>),
    /// An SMTP TLS report (RFC 8460 JSON).
    SmtpTls(TlsReport),
    /// A failure report (ARF, RFC 5965 and RFC 6591).
    Failure(Box<FailureReport>),
}

impl Report {
    /// The aggregate report, when it is one.
    pub fn aggregate(&self) -> Option<&AggregateReport> {
        match self {
            Report::Aggregate(report) => Some(report),
            _ => None,
        }
    }

    /// The SMTP TLS report, when it is one.
    pub fn smtp_tls(&self) -> Option<&TlsReport> {
        match self {
            Report::SmtpTls(report) => Some(report),
            _ => None,
        }
    }

    /// What was repaired or missing while reading it.
    pub fn warnings(&self) -> &[aggregate::Warning] {
        match self {
            Report::Aggregate(report) => &report.warnings,
            Report::SmtpTls(report) => &report.warnings,
            Report::Failure(report) => &report.warnings,
        }
    }

    /// The failure report, when it is one.
    pub fn failure(&self) -> Option<&FailureReport> {
        match self {
            Report::Failure(report) => Some(report),
            _ => None,
        }
    }
}

/// A report and how it was packed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// How the report was packed.
    pub packing: Packing,
    /// It came as a part of an e-mail message (as reporters send it).
    pub in_message: bool,
    /// The report.
    pub report: Report,
}

/// Reads an aggregate report from the octets of a file: XML, gzip or zip, or an e-mail
/// message with the report in one of its parts (any Content-Type and transfer encoding: the
/// part is recognized by what it holds).
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Parsed, ReportError> {
    let bytes = without_mbox_line(bytes);
    if input::looks_like_message(bytes) {
        return from_message(bytes, limits);
    }
    parse_unpacked(bytes, limits)
}

/// True when [`parse`] reads `bytes` as an e-mail message (a header field name and a colon
/// first, after the `From ` line of an mbox) rather than as a report itself.
pub fn is_message(bytes: &[u8]) -> bool {
    input::looks_like_message(without_mbox_line(bytes))
}

/// `bytes` without the `From ` separator line a message saved from an mbox starts with.
fn without_mbox_line(bytes: &[u8]) -> &[u8] {
    match bytes.strip_prefix(b"From ") {
        Some(rest) => rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest, |end| &rest[end + 1..]),
        None => bytes,
    }
}

/// The first part of the message `bytes` that reads as a report.
fn from_message(bytes: &[u8], limits: &Limits) -> Result<Parsed, ReportError> {
    if bytes.len() > limits.max_bytes {
        return Err(input::too_large(limits, "the message"));
    }
    let message = mail_parser::MessageParser::default()
        .parse(bytes)
        .ok_or_else(|| ReportError::NotAReport("neither a report nor an e-mail message".into()))?;
    if let Some(report) = failure_report(&message)? {
        return Ok(Parsed {
            packing: Packing::Xml,
            in_message: true,
            report: Report::Failure(Box::new(report)),
        });
    }
    let mut last_error = None;
    for part in &message.parts {
        let contents = part.contents();
        if !input::may_hold_report(contents) {
            continue;
        }
        match parse_unpacked(contents, limits) {
            Ok(parsed) => {
                return Ok(Parsed {
                    in_message: true,
                    ..parsed
                })
            }
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        ReportError::NotAReport("an e-mail message with no report in any part".into())
    }))
}

/// The failure report in `message`: its `message/feedback-report` part, with the sample
/// (`message/rfc822`, or `text/rfc822-headers` for a header section) when there is one.
fn failure_report(
    message: &mail_parser::Message<'_>,
) -> Result<Option<FailureReport>, ReportError> {
    use mail_parser::MimeHeaders;
    let kind = |part: &mail_parser::MessagePart<'_>| {
        part.content_type()
            .map(|t| {
                format!(
                    "{}/{}",
                    t.ctype().to_ascii_lowercase(),
                    t.subtype().unwrap_or_default().to_ascii_lowercase()
                )
            })
            .unwrap_or_default()
    };
    let Some(feedback) = message
        .parts
        .iter()
        .find(|p| kind(p) == "message/feedback-report")
    else {
        return Ok(None);
    };
    let sample = message.parts.iter().find_map(|p| match kind(p).as_str() {
        "message/rfc822" | "message/global" => Some((p.contents(), false)),
        "text/rfc822-headers" => Some((p.contents(), true)),
        _ => None,
    });
    failure::read(feedback.contents(), sample).map(Some)
}

/// Reads a report that is XML or JSON, plain, gzip or zip.
fn parse_unpacked(bytes: &[u8], limits: &Limits) -> Result<Parsed, ReportError> {
    let (unpacked, packing) = input::unpack(bytes, limits)?;
    let (text, lossy) = match String::from_utf8(unpacked) {
        Ok(text) => (text, false),
        Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), true),
    };
    let report = if text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{')
    {
        Report::SmtpTls(tls::read(&text)?)
    } else {
        let document = tree::parse(&text, limits)?;
        Report::Aggregate(Box::new(aggregate::read(&document, lossy)?))
    };
    Ok(Parsed {
        packing,
        in_message: false,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str =
        "<f:feedback xmlns:f=\"urn:ietf:params:xml:ns:dmarc-2.0\"><f:report_metadata>\
        <f:org_name>r</f:org_name><f:report_id>1</f:report_id><f:date_range><f:begin>0</f:begin>\
        <f:end>86399</f:end></f:date_range></f:report_metadata><f:policy_published>\
        <f:domain>example.com</f:domain></f:policy_published></f:feedback>";

    #[test]
    fn a_prefixed_report_is_xml_and_a_message_without_one_is_named() {
        let parsed = parse(XML.as_bytes(), &Limits::default()).unwrap();
        assert!(!parsed.in_message);
        assert_eq!(
            parsed.report.aggregate().unwrap().xml_schema,
            Schema::Rfc9990
        );
        let message = b"From: a@example.net\r\nSubject: hello\r\n\r\nNo report here.\r\n";
        assert_eq!(
            parse(message, &Limits::default()),
            Err(ReportError::NotAReport(
                "an e-mail message with no report in any part".into()
            ))
        );
        let attached = format!(
            "From: a@example.net\r\nContent-Type: text/xml\r\n\r\n<?xml version=\"1.0\"?>{XML}\r\n"
        );
        let parsed = parse(attached.as_bytes(), &Limits::default()).unwrap();
        assert!(parsed.in_message);
        assert_eq!(
            parsed.report.aggregate().unwrap().report_metadata.org_name,
            "r"
        );
    }
}
