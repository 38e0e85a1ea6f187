//! DMARC aggregate reports (RFC 9990; RFC 7489 Appendix C; the draft layout before it), read
//! into typed data. The JSON field names are parsedmarc's, which is what users' scripts and
//! dashboards already read.
//!
//! Reading is lenient where real reporters are broken, and says so: every repair is a
//! [`Warning`] on the report (a result word in capitals, `hardfail`, an empty reason, a date
//! range over a day, a word outside the RFC's list, invalid UTF-8). Nothing is guessed
//! silently.

use std::net::IpAddr;

use serde::Serialize;

use crate::tree::{Document, Element};

/// The namespace of RFC 9990 reports.
pub const RFC9990_NAMESPACE: &str = "urn:ietf:params:xml:ns:dmarc-2.0";
use crate::ReportError;

/// The layout a report was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Schema {
    /// RFC 9990: `<version>1.0</version>` or the `urn:ietf:params:xml:ns:dmarc-2.0` namespace
    /// and its elements (`np`, `discovery_method`, `testing`, `generator`).
    Rfc9990,
    /// RFC 7489 Appendix C.
    Rfc7489,
    /// The draft layout before RFC 7489 (`<policy_evaluated>` without `<row>` and similar).
    Draft,
}

impl Schema {
    /// The name in the JSON document.
    pub fn as_str(self) -> &'static str {
        match self {
            Schema::Rfc9990 => "rfc9990",
            Schema::Rfc7489 => "rfc7489",
            Schema::Draft => "draft",
        }
    }
}

/// Something repaired or left out while reading, named so a user can see what the reporter
/// got wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Warning(pub String);

macro_rules! words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* #[doc = concat!("`", $word, "`")] $variant,)+
            /// A word outside the RFC's list, kept as written (with a warning).
            Other(String),
        }

        impl $name {
            /// The word as the RFC spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $word,)+
                    $name::Other(word) => word,
                }
            }

            fn known(word: &str) -> Option<$name> {
                match word {
                    $($word => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

words! {
    /// What the receiver did with the message (`disposition`, RFC 9990 §3.1.1.6).
    Disposition { None = "none", Pass = "pass", Quarantine = "quarantine", Reject = "reject" }
}
words! {
    /// A policy (`p`, `sp`, `np`).
    Policy { None = "none", Quarantine = "quarantine", Reject = "reject" }
}
words! {
    /// The DMARC-aligned verdict of one mechanism (`policy_evaluated/dkim`, `spf`).
    Verdict { Pass = "pass", Fail = "fail" }
}
words! {
    /// A DKIM result word.
    DkimResult {
        None = "none", Pass = "pass", Fail = "fail", Policy = "policy", Neutral = "neutral",
        TempError = "temperror", PermError = "permerror",
    }
}
words! {
    /// An SPF result word.
    SpfResult {
        None = "none", Pass = "pass", Fail = "fail", SoftFail = "softfail", Policy = "policy",
        Neutral = "neutral", TempError = "temperror", PermError = "permerror",
    }
}
words! {
    /// Alignment mode (`adkim`, `aspf`).
    Alignment { Relaxed = "r", Strict = "s" }
}
words! {
    /// Why the receiver did not apply the policy (`reason/type`).
    OverrideType {
        LocalPolicy = "local_policy", MailingList = "mailing_list", OtherReason = "other",
        PolicyTestMode = "policy_test_mode", TrustedForwarder = "trusted_forwarder",
        Forwarded = "forwarded", SampledOut = "sampled_out",
    }
}

/// One aggregate report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AggregateReport {
    /// The layout it was written in.
    pub xml_schema: Schema,
    /// What was repaired while reading.
    pub warnings: Vec<Warning>,
    /// Who sent it, about when.
    pub report_metadata: ReportMetadata,
    /// The DMARC record the reporter found.
    pub policy_published: PolicyPublished,
    /// One row per source and result combination.
    pub records: Vec<Record>,
    /// The report's `<extension>` (RFC 9990 §3.1.1.2), as written: namespaced XML hanko
    /// does not interpret.
    pub extensions: Vec<String>,
}

/// `report_metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportMetadata {
    /// The reporting organization.
    pub org_name: String,
    /// Its contact address.
    pub org_email: Option<String>,
    /// More contact information.
    pub org_extra_contact_info: Option<String>,
    /// The reporter's identifier of this report.
    pub report_id: String,
    /// Start of the reported period (Unix time, serialized as RFC 3339 UTC).
    #[serde(serialize_with = "crate::time::rfc3339")]
    pub begin_date: u64,
    /// End of the reported period.
    #[serde(serialize_with = "crate::time::rfc3339")]
    pub end_date: u64,
    /// The software that wrote the report (RFC 9990).
    pub generator: Option<String>,
    /// Errors the reporter noted.
    pub errors: Vec<String>,
}

/// `policy_published`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyPublished {
    /// The domain whose record was applied.
    pub domain: String,
    /// DKIM alignment.
    pub adkim: Option<Alignment>,
    /// SPF alignment.
    pub aspf: Option<Alignment>,
    /// The policy.
    pub p: Option<Policy>,
    /// The subdomain policy.
    pub sp: Option<Policy>,
    /// The non-existent subdomain policy (RFC 9989).
    pub np: Option<Policy>,
    /// The percentage (RFC 7489; gone from RFC 9989).
    pub pct: Option<u32>,
    /// Failure reporting options.
    pub fo: Option<String>,
    /// `t=y` (RFC 9989): the domain is testing.
    pub testing: Option<bool>,
    /// How the record was found (`psl` or `treewalk`).
    pub discovery_method: Option<String>,
}

/// One `record`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// Where the messages came from.
    pub source: Source,
    /// How many messages.
    pub count: u64,
    /// What DMARC made of them.
    pub policy_evaluated: PolicyEvaluated,
    /// The identifiers.
    pub identifiers: Identifiers,
    /// The underlying results.
    pub auth_results: AuthResults,
    /// Elements after `auth_results` (RFC 9990's record-level extensions), as written.
    pub extensions: Vec<String>,
}

/// The sending address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The IP address.
    pub ip_address: IpAddr,
}

/// `policy_evaluated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyEvaluated {
    /// What was done.
    pub disposition: Disposition,
    /// DKIM, aligned.
    pub dkim: Option<Verdict>,
    /// SPF, aligned.
    pub spf: Option<Verdict>,
    /// Why the policy was not applied.
    pub policy_override_reasons: Vec<OverrideReason>,
}

/// One `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverrideReason {
    /// The kind.
    #[serde(rename = "type")]
    pub kind: OverrideType,
    /// The reporter's words.
    pub comment: Option<String>,
}

/// `identifiers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identifiers {
    /// The From domain.
    pub header_from: String,
    /// The MAIL FROM domain.
    pub envelope_from: Option<String>,
    /// The recipient domain.
    pub envelope_to: Option<String>,
}

/// `auth_results`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthResults {
    /// Every DKIM signature's result.
    pub dkim: Vec<DkimAuth>,
    /// SPF's results.
    pub spf: Vec<SpfAuth>,
}

/// One DKIM result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DkimAuth {
    /// `d=`.
    pub domain: String,
    /// `s=`.
    pub selector: Option<String>,
    /// The result.
    pub result: DkimResult,
    /// The reporter's explanation (RFC 9990).
    pub human_result: Option<String>,
}

/// One SPF result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpfAuth {
    /// The domain checked.
    pub domain: String,
    /// `mfrom` or `helo`.
    pub scope: Option<String>,
    /// The result.
    pub result: SpfResult,
    /// The reporter's explanation (RFC 9990).
    pub human_result: Option<String>,
}

/// Collects the warnings while a report is read.
struct Reading {
    warnings: Vec<Warning>,
}

impl Reading {
    fn warn(&mut self, text: String) {
        if !self.warnings.iter().any(|w| w.0 == text) {
            self.warnings.push(Warning(text));
        }
    }

    /// A word of a closed list: exact, or repaired with a warning (letter case, a known
    /// misspelling), or kept as written with a warning.
    fn word<T>(
        &mut self,
        field: &str,
        text: &str,
        known: fn(&str) -> Option<T>,
        other: fn(String) -> T,
        aliases: &[(&str, &str)],
    ) -> T {
        if let Some(word) = known(text) {
            return word;
        }
        let lower = text.trim().to_ascii_lowercase();
        if let Some(word) = known(&lower) {
            self.warn(format!(
                "{field} {text:?} read as {lower:?} (RFC words are lower case)"
            ));
            return word;
        }
        if let Some((_, to)) = aliases.iter().find(|(from, _)| *from == lower) {
            if let Some(word) = known(to) {
                self.warn(format!("{field} {text:?} read as {to:?}"));
                return word;
            }
        }
        self.warn(format!(
            "{field} {text:?} is not a word the RFC defines; kept as written"
        ));
        other(text.to_string())
    }

    fn required<'e>(&mut self, parent: &'e Element, name: &str) -> Result<&'e str, ReportError> {
        parent
            .text_of(name)
            .ok_or_else(|| ReportError::NotAReport(format!("<{}> has no <{name}>", parent.name)))
    }
}

/// Reads an aggregate report from its document (root `<feedback>`). `lossy_utf8`: the text
/// was not valid UTF-8 and was repaired before parsing.
pub(crate) fn read(document: &Document, lossy_utf8: bool) -> Result<AggregateReport, ReportError> {
    let root = &document.root;
    if root.name != "feedback" {
        return Err(ReportError::NotAReport(format!(
            "the root element is <{}>, not <feedback>",
            root.name
        )));
    }
    let mut reading = Reading {
        warnings: Vec::new(),
    };
    if lossy_utf8 {
        reading.warn("the report is not valid UTF-8; invalid octets were replaced".into());
    }
    for repair in &document.repairs {
        reading.warn(format!("not well-formed XML: {repair}"));
    }
    let metadata = root
        .child("report_metadata")
        .ok_or_else(|| ReportError::NotAReport("no <report_metadata>".into()))?;
    let published = root
        .child("policy_published")
        .ok_or_else(|| ReportError::NotAReport("no <policy_published>".into()))?;
    let report_metadata = read_metadata(&mut reading, metadata)?;
    let policy_published = read_policy(&mut reading, published)?;
    let mut records = Vec::new();
    for record in root.all("record") {
        let mut read = read_record(&mut reading, record)?;
        read.extensions = record
            .children
            .iter()
            // (The draft layout put row's elements in the record itself.)
            .filter(|c| {
                ![
                    "row",
                    "identifiers",
                    "auth_results",
                    "source_ip",
                    "count",
                    "policy_evaluated",
                ]
                .contains(&c.name.as_str())
            })
            .map(|c| document.raw(c).to_string())
            .collect();
        records.push(read);
    }
    if records.is_empty() {
        reading.warn("the report has no <record>".into());
    }
    // parsedmarc's rule: no <version> is the draft layout.
    let schema = if root.namespace.as_deref() == Some(RFC9990_NAMESPACE)
        || published.child("np").is_some()
        || published.child("discovery_method").is_some()
        || published.child("testing").is_some()
        || metadata.child("generator").is_some()
    {
        Schema::Rfc9990
    } else if root.child("version").is_some() {
        Schema::Rfc7489
    } else {
        Schema::Draft
    };
    Ok(AggregateReport {
        xml_schema: schema,
        warnings: reading.warnings,
        report_metadata,
        policy_published,
        records,
        // RFC 9990's `<extension>`, or the draft's `<extensions>` of several.
        extensions: root
            .children
            .iter()
            .filter(|c| c.name == "extension" || c.name == "extensions")
            .map(|e| document.raw(e).to_string())
            .collect(),
    })
}

fn read_metadata(reading: &mut Reading, metadata: &Element) -> Result<ReportMetadata, ReportError> {
    let range = metadata
        .child("date_range")
        .ok_or_else(|| ReportError::NotAReport("no <date_range>".into()))?;
    let date = |reading: &mut Reading, name: &str| -> Result<u64, ReportError> {
        let text = reading.required(range, name)?;
        text.trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(|n| n as u64)
            .ok_or_else(|| ReportError::NotAReport(format!("<{name}> {text:?} is not a Unix time")))
    };
    let begin_date = date(reading, "begin")?;
    let end_date = date(reading, "end")?;
    if end_date < begin_date {
        reading.warn(format!(
            "the date range ends ({end_date}) before it begins ({begin_date})"
        ));
    } else if end_date - begin_date > 86_400 + 3_600 {
        reading.warn(format!(
            "the date range covers {:.1} days (RFC 9990 §3.1.1.3 asks for at most one)",
            (end_date - begin_date) as f64 / 86_400.0
        ));
    }
    let org_name = match metadata.text_of("org_name") {
        Some(name) => name.to_string(),
        None => {
            let from_email = metadata
                .text_of("email")
                .and_then(|e| e.rsplit_once('@'))
                .map(|(_, domain)| domain.trim_end_matches('>').to_string());
            reading.warn(format!(
                "the report names no org_name{}",
                from_email
                    .as_deref()
                    .map(|d| format!("; {d} (from its email) used"))
                    .unwrap_or_default()
            ));
            from_email.unwrap_or_default()
        }
    };
    Ok(ReportMetadata {
        org_name,
        org_email: metadata.text_of("email").map(str::to_string),
        org_extra_contact_info: metadata.text_of("extra_contact_info").map(str::to_string),
        report_id: reading.required(metadata, "report_id")?.to_string(),
        begin_date,
        end_date,
        generator: metadata.text_of("generator").map(str::to_string),
        errors: metadata
            .all("error")
            .map(|e| e.text.clone())
            .filter(|t| !t.is_empty())
            .collect(),
    })
}

fn read_policy(reading: &mut Reading, published: &Element) -> Result<PolicyPublished, ReportError> {
    let policy = |reading: &mut Reading, name: &str| {
        published
            .text_of(name)
            .map(|t| reading.word(name, t, Policy::known, Policy::Other, &[]))
    };
    let alignment = |reading: &mut Reading, name: &str| {
        published.text_of(name).map(|t| {
            reading.word(
                name,
                t,
                Alignment::known,
                Alignment::Other,
                &[("relaxed", "r"), ("strict", "s")],
            )
        })
    };
    let testing = published.text_of("testing").map(|t| match t {
        "y" => true,
        "n" => false,
        other => {
            reading.warn(format!("testing {other:?} is not y or n; read as n"));
            false
        }
    });
    let pct = match published.text_of("pct") {
        None => None,
        Some(text) => match text.trim().parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                reading.warn(format!("pct {text:?} is not a number; left out"));
                None
            }
        },
    };
    Ok(PolicyPublished {
        domain: reading.required(published, "domain")?.to_string(),
        adkim: alignment(reading, "adkim"),
        aspf: alignment(reading, "aspf"),
        p: policy(reading, "p"),
        sp: policy(reading, "sp"),
        np: policy(reading, "np"),
        pct,
        fo: published.text_of("fo").map(str::to_string),
        testing,
        discovery_method: published.text_of("discovery_method").map(str::to_string),
    })
}

fn read_record(reading: &mut Reading, record: &Element) -> Result<Record, ReportError> {
    // RFC 7489 and 9990 put source, count and policy_evaluated in <row>; the draft did not.
    let row = record.child("row").unwrap_or(record);
    let ip_text = reading.required(row, "source_ip")?;
    let ip_address: IpAddr = ip_text.trim().parse().map_err(|_| {
        ReportError::NotAReport(format!("<source_ip> {ip_text:?} is not an IP address"))
    })?;
    let count_text = reading.required(row, "count")?;
    let count = count_text
        .trim()
        .parse()
        .map_err(|_| ReportError::NotAReport(format!("<count> {count_text:?} is not a count")))?;
    let evaluated = row
        .child("policy_evaluated")
        .ok_or_else(|| ReportError::NotAReport("a <record> has no <policy_evaluated>".into()))?;
    let verdict = |reading: &mut Reading, name: &str| {
        evaluated.text_of(name).map(|t| {
            reading.word(
                &format!("policy_evaluated/{name}"),
                t,
                Verdict::known,
                Verdict::Other,
                &[],
            )
        })
    };
    let disposition = match evaluated.text_of("disposition") {
        Some(text) => reading.word(
            "disposition",
            text,
            Disposition::known,
            Disposition::Other,
            &[],
        ),
        None => {
            reading.warn("a record has no disposition; read as none".into());
            Disposition::None
        }
    };
    let mut reasons = Vec::new();
    for reason in evaluated.all("reason") {
        match reason.text_of("type") {
            Some(kind) => reasons.push(OverrideReason {
                kind: reading.word(
                    "reason type",
                    kind,
                    OverrideType::known,
                    OverrideType::Other,
                    &[],
                ),
                comment: reason.text_of("comment").map(str::to_string),
            }),
            None => reading.warn("an empty <reason> was left out".into()),
        }
    }
    let identifiers = record.child("identifiers");
    let header_from = identifiers
        .and_then(|i| i.text_of("header_from"))
        .map(str::to_string)
        .unwrap_or_else(|| {
            reading.warn("a record has no header_from".into());
            String::new()
        });
    let mut dkim = Vec::new();
    let mut spf = Vec::new();
    if let Some(results) = record.child("auth_results") {
        for one in results.all("dkim") {
            let result = one.text_of("result").unwrap_or("none");
            dkim.push(DkimAuth {
                domain: one.text_of("domain").unwrap_or_default().to_string(),
                selector: one.text_of("selector").map(str::to_string),
                result: reading.word(
                    "dkim result",
                    result,
                    DkimResult::known,
                    DkimResult::Other,
                    &[],
                ),
                human_result: one.text_of("human_result").map(str::to_string),
            });
        }
        for one in results.all("spf") {
            let result = one.text_of("result").unwrap_or("none");
            spf.push(SpfAuth {
                domain: one.text_of("domain").unwrap_or_default().to_string(),
                scope: one.text_of("scope").map(str::to_string),
                result: reading.word(
                    "spf result",
                    result,
                    SpfResult::known,
                    SpfResult::Other,
                    &[("hardfail", "fail")],
                ),
                human_result: one.text_of("human_result").map(str::to_string),
            });
        }
    }
    Ok(Record {
        source: Source { ip_address },
        count,
        policy_evaluated: PolicyEvaluated {
            disposition,
            dkim: verdict(reading, "dkim"),
            spf: verdict(reading, "spf"),
            policy_override_reasons: reasons,
        },
        identifiers: Identifiers {
            header_from,
            envelope_from: identifiers
                .and_then(|i| i.text_of("envelope_from"))
                .map(str::to_string),
            envelope_to: identifiers
                .and_then(|i| i.text_of("envelope_to"))
                .map(str::to_string),
        },
        auth_results: AuthResults { dkim, spf },
        extensions: Vec::new(),
    })
}
