//! Report destinations: may reports for this domain go to the `rua=`/`ruf=` addresses its
//! record names?
//!
//! A record may send reports to another organization's mailbox (a reporting service), which
//! is how a bad actor could flood a victim with reports. So before a receiver sends reports to
//! a destination outside the Domain Owner's Organizational Domain, the destination must agree
//! by publishing `<record domain>._report._dmarc.<destination host>` with a TXT record that
//! starts with `v=DMARC1` (RFC 7489 §7.1, kept by RFC 9990 §3). A wildcard
//! (`*._report._dmarc.<destination>`) agrees for every domain.
//!
//! Only `mailto:` destinations are checked; other schemes are listed as unsupported, as RFC
//! 9990 defines only `mailto:`.

use super::record::{is_dmarc_record, DmarcRecord, ReportUri};
use super::within;
use crate::dns::{DnsError, Lookup};
use crate::message::TagList;

/// Which report a destination is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {
    /// `rua=`: aggregate reports (RFC 9990).
    Aggregate,
    /// `ruf=`: failure reports (RFC 9991).
    Failure,
}

impl ReportKind {
    /// The tag that names these destinations: `rua` or `ruf`.
    pub fn tag(self) -> &'static str {
        match self {
            ReportKind::Aggregate => "rua",
            ReportKind::Failure => "ruf",
        }
    }
}

/// Whether a destination may receive the domain's reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Authorization {
    /// The destination is within the Domain Owner's Organizational Domain: no check needed.
    SameOrganization,
    /// The destination published `<domain>._report._dmarc.<host>` starting with `v=DMARC1`.
    Authorized {
        /// The name that held the record.
        name: String,
        /// URIs the destination's record names in place of this one (its `rua=`/`ruf=`,
        /// only those on the same host; RFC 7489 §7.1 step 6). Empty: keep the original.
        replaced_by: Vec<ReportUri>,
    },
    /// No such record (or none starting with `v=DMARC1`): reports must not be sent there.
    NotAuthorized {
        /// The name queried.
        name: String,
    },
    /// The query failed temporarily; a receiver may try again later.
    TempError {
        /// The name queried.
        name: String,
        /// What went wrong.
        error: DnsError,
    },
    /// Not a `mailto:` URI, or no domain in the address: nothing to send to.
    Unsupported,
    /// Not checked: the record names more than [`MAX_EXTERNAL_HOSTS`] external hosts, and
    /// this one came after them. Reports must not be sent there unchecked.
    NotChecked,
}

/// Most external report hosts checked for one record: one `_report._dmarc` query each, so
/// a record cannot make a receiver send hundreds of queries per message.
pub const MAX_EXTERNAL_HOSTS: usize = 10;

impl Authorization {
    /// A short word for the outcome: `same-organization`, `authorized`, `not-authorized`,
    /// `temperror`, `unsupported` or `not-checked`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Authorization::SameOrganization => "same-organization",
            Authorization::Authorized { .. } => "authorized",
            Authorization::NotAuthorized { .. } => "not-authorized",
            Authorization::TempError { .. } => "temperror",
            Authorization::Unsupported => "unsupported",
            Authorization::NotChecked => "not-checked",
        }
    }

    /// True when reports may be sent to the destination.
    pub fn allows_reports(&self) -> bool {
        matches!(
            self,
            Authorization::SameOrganization | Authorization::Authorized { .. }
        )
    }
}

impl std::fmt::Display for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Authorization::SameOrganization => {
                f.write_str("within the Domain Owner's organization")
            }
            Authorization::Authorized { name, replaced_by } if replaced_by.is_empty() => {
                write!(f, "authorized by {name}")
            }
            Authorization::Authorized { name, replaced_by } => {
                let uris: Vec<&str> = replaced_by.iter().map(|u| u.uri.as_str()).collect();
                write!(
                    f,
                    "authorized by {name}, which asks for {}",
                    uris.join(", ")
                )
            }
            Authorization::NotAuthorized { name } => {
                write!(f, "not authorized: no v=DMARC1 record at {name}")
            }
            Authorization::TempError { name, error } => write!(f, "{name}: {error}"),
            Authorization::Unsupported => f.write_str("not a mailto: address"),
            Authorization::NotChecked => write!(
                f,
                "not checked: more than {MAX_EXTERNAL_HOSTS} external report hosts"
            ),
        }
    }
}

/// One `rua=`/`ruf=` destination and whether it may receive reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportDestination {
    /// Aggregate or failure.
    pub kind: ReportKind,
    /// The URI as the record gave it.
    pub uri: ReportUri,
    /// The destination host (the domain of the `mailto:` address, lower case), when there is
    /// one.
    pub host: Option<String>,
    /// The outcome of the check.
    pub authorization: Authorization,
}

/// Checks every `rua=` and `ruf=` destination of `record`, found at `_dmarc.<record_domain>`.
///
/// `organization` is the Domain Owner's Organizational Domain (from the Tree Walk); a
/// destination equal to it or below it needs no check. When it is unknown, pass the record
/// domain. Each external destination host costs one TXT query (asked once per host).
pub async fn check_destinations<L: Lookup + ?Sized>(
    lookup: &L,
    record_domain: &str,
    organization: &str,
    record: &DmarcRecord,
) -> Vec<ReportDestination> {
    let record_domain = record_domain.to_ascii_lowercase();
    let organization = organization.to_ascii_lowercase();
    let mut asked: Vec<(String, Asked)> = Vec::new();
    let mut out = Vec::new();
    let uris = record
        .aggregate_reports
        .iter()
        .map(|u| (ReportKind::Aggregate, u))
        .chain(
            record
                .failure_reports
                .iter()
                .map(|u| (ReportKind::Failure, u)),
        );
    for (kind, uri) in uris {
        let host = uri
            .address
            .as_deref()
            .and_then(|a| a.rsplit_once('@'))
            .map(|(_, domain)| domain.trim_end_matches('.').to_ascii_lowercase())
            .filter(|d| !d.is_empty());
        let authorization = match &host {
            None => Authorization::Unsupported,
            Some(host) if within(host, &organization) || within(host, &record_domain) => {
                Authorization::SameOrganization
            }
            Some(host)
                if !asked.iter().any(|(h, _)| h == host) && asked.len() >= MAX_EXTERNAL_HOSTS =>
            {
                Authorization::NotChecked
            }
            Some(host) => {
                if !asked.iter().any(|(h, _)| h == host) {
                    let answer = ask(lookup, &record_domain, host).await;
                    asked.push((host.clone(), answer));
                }
                let (_, answer) = asked
                    .iter()
                    .find(|(h, _)| h == host)
                    .expect("asked just above");
                authorization_for(answer, kind, host)
            }
        };
        out.push(ReportDestination {
            kind,
            uri: uri.clone(),
            host,
            authorization,
        });
    }
    out
}

/// What the destination's `_report._dmarc` name held (RFC 7489 §7.1 steps 1-5).
enum Asked {
    Authorized {
        name: String,
        aggregate: Vec<ReportUri>,
        failure: Vec<ReportUri>,
    },
    NotAuthorized {
        name: String,
    },
    TempError {
        name: String,
        error: DnsError,
    },
}

async fn ask<L: Lookup + ?Sized>(lookup: &L, record_domain: &str, host: &str) -> Asked {
    let name = format!("{record_domain}._report._dmarc.{host}");
    match lookup.txt(&name).await {
        Ok(answer) => {
            let first = answer
                .records
                .iter()
                .map(|r| String::from_utf8_lossy(r.text()).into_owned())
                .find(|t| is_dmarc_record(t));
            match first {
                None => Asked::NotAuthorized { name },
                Some(text) => {
                    let (aggregate, failure) = replacement_uris(&text);
                    Asked::Authorized {
                        name,
                        aggregate,
                        failure,
                    }
                }
            }
        }
        Err(error) if error.is_temporary() => Asked::TempError { name, error },
        Err(_) => Asked::NotAuthorized { name },
    }
}

/// The `rua=` and `ruf=` URIs of an authorization record (usually it is just `v=DMARC1`).
/// They are read as a DMARC record's would be; unreadable values are ignored, since the
/// record's only required meaning is its `v=DMARC1`.
fn replacement_uris(text: &str) -> (Vec<ReportUri>, Vec<ReportUri>) {
    let Ok(tags) = TagList::parse(text.as_bytes()) else {
        return (Vec::new(), Vec::new());
    };
    let read = |tag: &str| {
        tags.get(tag)
            .and_then(|value| DmarcRecord::parse(&format!("v=DMARC1; p=none; {tag}={value}")).ok())
            .map(|r| {
                if tag == "rua" {
                    r.aggregate_reports
                } else {
                    r.failure_reports
                }
            })
            .unwrap_or_default()
    };
    (read("rua"), read("ruf"))
}

/// The authorization for one destination of `kind` at `host`: replacement URIs only count
/// when they are on the same host (RFC 7489 §7.1 step 6).
fn authorization_for(asked: &Asked, kind: ReportKind, host: &str) -> Authorization {
    match asked {
        Asked::Authorized {
            name,
            aggregate,
            failure,
        } => {
            let list = match kind {
                ReportKind::Aggregate => aggregate,
                ReportKind::Failure => failure,
            };
            let replaced_by = list
                .iter()
                .filter(|u| {
                    u.address
                        .as_deref()
                        .and_then(|a| a.rsplit_once('@'))
                        .is_some_and(|(_, d)| d.trim_end_matches('.').eq_ignore_ascii_case(host))
                })
                .cloned()
                .collect();
            Authorization::Authorized {
                name: name.clone(),
                replaced_by,
            }
        }
        Asked::NotAuthorized { name } => Authorization::NotAuthorized { name: name.clone() },
        Asked::TempError { name, error } => Authorization::TempError {
            name: name.clone(),
            error: error.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacement_uris_are_kept_per_kind_and_host() {
        let (aggregate, failure) = replacement_uris(
            "v=DMARC1; rua=mailto:a@rep.example,mailto:b@elsewhere.example; ruf=mailto:f@rep.example",
        );
        let asked = Asked::Authorized {
            name: "n".into(),
            aggregate,
            failure,
        };
        let Authorization::Authorized { replaced_by, .. } =
            authorization_for(&asked, ReportKind::Aggregate, "rep.example")
        else {
            panic!("authorized")
        };
        assert_eq!(replaced_by.len(), 1);
        assert_eq!(replaced_by[0].uri, "mailto:a@rep.example");
        let Authorization::Authorized { replaced_by, .. } =
            authorization_for(&asked, ReportKind::Failure, "rep.example")
        else {
            panic!("authorized")
        };
        assert_eq!(replaced_by[0].uri, "mailto:f@rep.example");
        assert_eq!(replacement_uris("v=DMARC1"), (Vec::new(), Vec::new()));
    }

    #[test]
    fn within_is_label_aligned() {
        assert!(within("reports.example.com", "example.com"));
        assert!(within("example.com", "example.com"));
        assert!(!within("badexample.com", "example.com"));
    }
}
