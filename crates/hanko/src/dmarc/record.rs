//! The DMARC policy record (RFC 9989 §4.7; RFC 7489 §6.3 records keep working).
//!
//! ```text
//! dmarc-record = dmarc-version *(dmarc-sep dmarc-tag) [dmarc-sep] *WSP
//! dmarc-version = "v" *WSP "=" *WSP %s"DMARC1"
//! dmarc-tag     = p / sp / np / psd / t / adkim / aspf / rua / ruf / fo
//!                 ; RFC 7489's pct, rf and ri are read and ignored
//! ```

use std::fmt;

use crate::message::{TagList, TagListError};

/// What the Domain Owner asks receivers to do with mail that fails DMARC (`p=`, `sp=`, `np=`).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Policy {
    /// `none`: monitor only.
    None,
    /// `quarantine`: treat as suspicious.
    Quarantine,
    /// `reject`: refuse.
    Reject,
}

impl Policy {
    fn parse(value: &str) -> Option<Policy> {
        match value.to_ascii_lowercase().as_str() {
            "none" => Some(Policy::None),
            "quarantine" => Some(Policy::Quarantine),
            "reject" => Some(Policy::Reject),
            _ => None,
        }
    }

    /// The record's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        }
    }

    /// One step weaker, as `t=y` asks (RFC 9989 §4.7, `t`): reject → quarantine → none.
    pub fn lowered(self) -> Policy {
        match self {
            Policy::Reject => Policy::Quarantine,
            Policy::Quarantine | Policy::None => Policy::None,
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifier alignment mode (`adkim=`, `aspf=`).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlignmentMode {
    /// `r` (the default): same Organizational Domain.
    Relaxed,
    /// `s`: the same domain exactly.
    Strict,
}

impl AlignmentMode {
    /// The record's letter.
    pub fn as_str(self) -> &'static str {
        match self {
            AlignmentMode::Relaxed => "r",
            AlignmentMode::Strict => "s",
        }
    }
}

/// `psd=`: whether the domain is a Public Suffix Domain (RFC 9989 §4.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PsdFlag {
    /// `y`: a Public Suffix Domain; the Organizational Domain is one label below.
    Yes,
    /// `n`: this domain is an Organizational Domain.
    No,
    /// `u` or absent: unspecified.
    Unspecified,
}

/// Failure reporting options (`fo=`, a colon-separated set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FailureOptions {
    /// `0` (the default): report when all mechanisms fail to align.
    pub all_fail: bool,
    /// `1`: report when any mechanism fails.
    pub any_fail: bool,
    /// `d`: report DKIM signature failures.
    pub dkim: bool,
    /// `s`: report SPF failures.
    pub spf: bool,
}

impl fmt::Display for FailureOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (on, name) in [
            (self.all_fail, "0"),
            (self.any_fail, "1"),
            (self.dkim, "d"),
            (self.spf, "s"),
        ] {
            if on {
                parts.push(name);
            }
        }
        f.write_str(&parts.join(":"))
    }
}

/// One `rua=`/`ruf=` destination.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReportUri {
    /// The URI as written (percent-encoding kept).
    pub uri: String,
    /// For `mailto:` URIs, the address (percent-decoded); other schemes are kept but unused.
    pub address: Option<String>,
    /// RFC 7489's `!size` limit in octets (RFC 9989 says to ignore it; kept for reports).
    pub max_size: Option<u64>,
}

/// A tag hanko read but did not act on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IgnoredTag {
    /// The tag name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// Why: removed by RFC 9989 (`pct`, `rf`, `ri`), or unknown.
    pub reason: &'static str,
}

/// A parsed DMARC policy record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcRecord {
    /// `p=`: the policy for the domain. Absent `p=` is read as `none` (RFC 9989 §4.7) and
    /// flagged in [`DmarcRecord::policy_given`].
    pub policy: Policy,
    /// Whether `p=` was written.
    pub policy_given: bool,
    /// `sp=`: for subdomains; when absent, `p=` applies.
    pub subdomain_policy: Option<Policy>,
    /// `np=`: for non-existent subdomains; when absent, `sp=` (or `p=`) applies.
    pub nonexistent_policy: Option<Policy>,
    /// `psd=`.
    pub psd: PsdFlag,
    /// `t=y`: testing mode, the policy is applied one step weaker.
    pub testing: bool,
    /// `adkim=`.
    pub dkim_alignment: AlignmentMode,
    /// `aspf=`.
    pub spf_alignment: AlignmentMode,
    /// `rua=`: aggregate report destinations.
    pub aggregate_reports: Vec<ReportUri>,
    /// `ruf=`: failure report destinations.
    pub failure_reports: Vec<ReportUri>,
    /// `fo=`.
    pub failure_options: FailureOptions,
    /// Tags read and not used: RFC 7489's `pct`, `rf`, `ri`, and unknown tags (RFC 9989
    /// §4.7: unknown tags MUST be ignored).
    pub ignored: Vec<IgnoredTag>,
    /// Every tag as written.
    pub tags: TagList,
}

/// Why a record is not a valid DMARC record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// Empty text.
    Empty,
    /// The record does not start with `v=DMARC1` (it is not a DMARC record at all).
    NotDmarc,
    /// The `tag=value` syntax is broken (a bare word, a bad tag name, a duplicate tag).
    Syntax(TagListError),
    /// A tag this version defines has a value it does not allow.
    InvalidValue {
        /// The tag.
        tag: String,
        /// The value found.
        value: String,
    },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Empty => write!(f, "empty record"),
            RecordError::NotDmarc => write!(f, "not a DMARC record (no v=DMARC1 first)"),
            RecordError::Syntax(e) => write!(f, "syntax error: {e}"),
            RecordError::InvalidValue { tag, value } => {
                write!(f, "invalid value {value:?} for {tag}=")
            }
        }
    }
}

impl std::error::Error for RecordError {}

/// True when `text` starts with `v=DMARC1` (white space around `=` allowed): the test that
/// tells a DMARC record from other TXT records at the same name (RFC 9989 §4.10.1 step 2).
pub fn is_dmarc_record(text: &str) -> bool {
    let rest = text.trim_start();
    let Some(rest) = rest.strip_prefix(['v', 'V']) else {
        return false;
    };
    let Some(rest) = rest.trim_start().strip_prefix('=') else {
        return false;
    };
    let rest = rest.trim_start();
    rest.starts_with("DMARC1")
        && rest[6..]
            .chars()
            .next()
            .is_none_or(|c| c == ';' || c.is_whitespace())
}

fn invalid(tag: &str, value: &str) -> RecordError {
    RecordError::InvalidValue {
        tag: tag.to_string(),
        value: value.to_string(),
    }
}

fn report_uris(tag: &str, value: &str) -> Result<Vec<ReportUri>, RecordError> {
    let mut out = Vec::new();
    for item in value.split(',') {
        let item: String = item.chars().filter(|c| !c.is_whitespace()).collect();
        if item.is_empty() {
            continue;
        }
        // RFC 7489 §6.2: `uri [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]`.
        let (uri, max_size) = match item.rsplit_once('!') {
            Some((uri, size)) => {
                let digits: String = size.chars().take_while(char::is_ascii_digit).collect();
                let unit = &size[digits.len()..];
                let shift = match unit.to_ascii_lowercase().as_str() {
                    "" => 0,
                    "k" => 10,
                    "m" => 20,
                    "g" => 30,
                    "t" => 40,
                    _ => return Err(invalid(tag, value)),
                };
                let n: u64 = digits.parse().map_err(|_| invalid(tag, value))?;
                (uri.to_string(), Some(n.saturating_mul(1 << shift)))
            }
            None => (item.clone(), None),
        };
        if !uri.contains(':') {
            return Err(invalid(tag, value));
        }
        let address = uri
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("mailto:"))
            .map(|_| percent_decode(&uri[7..]).trim().to_string())
            .map(|a| a.split('?').next().unwrap_or_default().replace(' ', ""))
            .filter(|a| !a.is_empty());
        out.push(ReportUri {
            uri,
            address,
            max_size,
        });
    }
    Ok(out)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl DmarcRecord {
    /// Parses a record's text (the TXT strings joined).
    pub fn parse(text: &str) -> Result<DmarcRecord, RecordError> {
        if text.trim().is_empty() {
            return Err(RecordError::Empty);
        }
        if !is_dmarc_record(text) {
            return Err(RecordError::NotDmarc);
        }
        let list = TagList::parse(text.as_bytes()).map_err(RecordError::Syntax)?;
        let mut record = DmarcRecord {
            policy: Policy::None,
            policy_given: false,
            subdomain_policy: None,
            nonexistent_policy: None,
            psd: PsdFlag::Unspecified,
            testing: false,
            dkim_alignment: AlignmentMode::Relaxed,
            spf_alignment: AlignmentMode::Relaxed,
            aggregate_reports: Vec::new(),
            failure_reports: Vec::new(),
            failure_options: FailureOptions {
                all_fail: true,
                ..FailureOptions::default()
            },
            ignored: Vec::new(),
            tags: TagList::default(),
        };
        let mut seen: Vec<String> = Vec::new();
        for tag in list.tags().iter().skip(1) {
            let name = tag.name.to_ascii_lowercase();
            if seen.contains(&name) || name == "v" {
                return Err(RecordError::Syntax(TagListError::DuplicateTag(name)));
            }
            seen.push(name.clone());
            let value = tag.value.as_str();
            let policy = || Policy::parse(value).ok_or_else(|| invalid(&name, value));
            let mode = || match value.to_ascii_lowercase().as_str() {
                "r" => Ok(AlignmentMode::Relaxed),
                "s" => Ok(AlignmentMode::Strict),
                _ => Err(invalid(&name, value)),
            };
            match name.as_str() {
                "p" => {
                    record.policy = policy()?;
                    record.policy_given = true;
                }
                "sp" => record.subdomain_policy = Some(policy()?),
                "np" => record.nonexistent_policy = Some(policy()?),
                "psd" => {
                    record.psd = match value.to_ascii_lowercase().as_str() {
                        "y" => PsdFlag::Yes,
                        "n" => PsdFlag::No,
                        "u" => PsdFlag::Unspecified,
                        _ => return Err(invalid(&name, value)),
                    }
                }
                "t" => {
                    record.testing = match value.to_ascii_lowercase().as_str() {
                        "y" => true,
                        "n" => false,
                        _ => return Err(invalid(&name, value)),
                    }
                }
                "adkim" => record.dkim_alignment = mode()?,
                "aspf" => record.spf_alignment = mode()?,
                "rua" => record.aggregate_reports = report_uris(&name, value)?,
                "ruf" => record.failure_reports = report_uris(&name, value)?,
                "fo" => {
                    let mut options = FailureOptions::default();
                    for option in value.split(':') {
                        match option.trim().to_ascii_lowercase().as_str() {
                            "0" => options.all_fail = true,
                            "1" => options.any_fail = true,
                            "d" => options.dkim = true,
                            "s" => options.spf = true,
                            _ => return Err(invalid(&name, value)),
                        }
                    }
                    record.failure_options = options;
                }
                "pct" | "rf" | "ri" => record.ignored.push(IgnoredTag {
                    name,
                    value: value.to_string(),
                    reason: "removed by RFC 9989",
                }),
                _ => record.ignored.push(IgnoredTag {
                    name,
                    value: value.to_string(),
                    reason: "unknown tag",
                }),
            }
        }
        record.tags = list;
        Ok(record)
    }

    /// The policy for the Author Domain given where the record was found: `p=` at the domain
    /// itself, else `np=` for a non-existent domain, else `sp=`, else `p=` (RFC 9989 §5.3.1).
    pub fn policy_for(&self, at_author_domain: bool, author_domain_exists: bool) -> Policy {
        if at_author_domain {
            return self.policy;
        }
        let subdomain = self.subdomain_policy.unwrap_or(self.policy);
        if author_domain_exists {
            subdomain
        } else {
            self.nonexistent_policy.unwrap_or(subdomain)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_tags() {
        let r = DmarcRecord::parse(
            "v=DMARC1; p=reject; sp=quarantine; np=None; aspf=s; adkim=s; fo = 1; t=y; psd=n",
        )
        .unwrap();
        assert_eq!(r.policy, Policy::Reject);
        assert_eq!(r.subdomain_policy, Some(Policy::Quarantine));
        assert_eq!(r.nonexistent_policy, Some(Policy::None));
        assert_eq!(
            (r.dkim_alignment, r.spf_alignment),
            (AlignmentMode::Strict, AlignmentMode::Strict)
        );
        assert!(r.testing);
        assert_eq!(r.psd, PsdFlag::No);
        assert_eq!(r.failure_options.to_string(), "1");
        assert_eq!(r.policy_for(false, false), Policy::None);
        assert_eq!(r.policy_for(false, true), Policy::Quarantine);
    }

    #[test]
    fn errors_say_what() {
        assert_eq!(DmarcRecord::parse("").unwrap_err(), RecordError::Empty);
        assert_eq!(
            DmarcRecord::parse("v=spf1 -all").unwrap_err(),
            RecordError::NotDmarc
        );
        assert_eq!(
            DmarcRecord::parse("v=DMARC1; p=none; reject")
                .unwrap_err()
                .to_string(),
            "syntax error: tag without '=': \"reject\""
        );
        assert_eq!(
            DmarcRecord::parse("v=DMARC1; p=bob")
                .unwrap_err()
                .to_string(),
            "invalid value \"bob\" for p="
        );
        assert!(matches!(
            DmarcRecord::parse("v=DMARC1; p=none; P=reject").unwrap_err(),
            RecordError::Syntax(TagListError::DuplicateTag(_))
        ));
        assert!(!is_dmarc_record("v=DMARC10; p=none"));
        assert!(is_dmarc_record("v = DMARC1"));
    }

    #[test]
    fn report_uris_with_sizes_and_encoding() {
        let r = DmarcRecord::parse("v=DMARC1; p=reject; rua=mailto:a@example.com!10 K , mailto:user%20@example.com ! 2G, https://r.example/x").unwrap();
        let got: Vec<_> = r
            .aggregate_reports
            .iter()
            .map(|u| (u.address.as_deref(), u.max_size))
            .collect();
        assert_eq!(
            got,
            [
                (Some("a@example.com"), Some(10 * 1024)),
                (Some("user@example.com"), Some(2 << 30)),
                (None, None)
            ]
        );
    }
}
