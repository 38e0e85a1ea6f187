//! The records that ask senders for TLS and for reports about it: MTA-STS's `_mta-sts` TXT
//! record (RFC 8461 §3.1) and TLS-RPT's `_smtp._tls` record (RFC 8460 §3). The MTA-STS policy
//! file itself is served over HTTPS and is not fetched here.

use hanko::dns::{DnsError, Lookup};

use super::{add, Area, Finding, Severity};

/// The `_mta-sts` record, when one valid record is published.
pub(super) async fn check_mta_sts<L: Lookup + ?Sized>(
    lookup: &L,
    domain: &str,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let name = format!("_mta-sts.{domain}");
    let records = match versioned(lookup, &name, "v=STSv1").await {
        Ok(records) => records,
        Err(e) => {
            add(
                findings,
                Severity::Warning,
                Area::MtaSts,
                format!("{name} could not be fetched: {e}"),
            );
            return None;
        }
    };
    match records.as_slice() {
        [] => {
            add(findings, Severity::Note, Area::MtaSts, format!("no MTA-STS record at {name}: senders cannot be asked to require TLS to your MX hosts (RFC 8461)"));
            None
        }
        [record] => match mta_sts_problem(record) {
            Some(problem) => {
                add(findings, Severity::Error, Area::MtaSts, format!("{name}: {problem}; senders treat the domain as having no MTA-STS policy (RFC 8461 §3.1)"));
                None
            }
            None => {
                add(findings, Severity::Note, Area::MtaSts, format!("MTA-STS is announced ({record}); senders fetch the policy from https://mta-sts.{domain}/.well-known/mta-sts.txt, which this check does not fetch"));
                Some(record.clone())
            }
        },
        _ => {
            add(findings, Severity::Error, Area::MtaSts, format!("{name} has {} records starting with v=STSv1; with more than one, senders treat the domain as having no MTA-STS policy (RFC 8461 §3.1)", records.len()));
            None
        }
    }
}

/// What is wrong with an `_mta-sts` record: `v=STSv1` first, then an `id` of 1 to 32
/// letters and digits (RFC 8461 §3.1).
fn mta_sts_problem(record: &str) -> Option<String> {
    let fields: Vec<(&str, &str)> = record
        .split(';')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .filter_map(|f| f.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    if fields.first() != Some(&("v", "STSv1")) {
        return Some("v=STSv1 must come first".into());
    }
    match fields.iter().find(|(k, _)| *k == "id") {
        None => Some("no id= field".into()),
        Some((_, id))
            if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Some(format!("id={id} is not 1 to 32 letters and digits"))
        }
        Some(_) => None,
    }
}

/// The `_smtp._tls` record, when one valid record is published.
pub(super) async fn check_tls_rpt<L: Lookup + ?Sized>(
    lookup: &L,
    domain: &str,
    has_mta_sts: bool,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let name = format!("_smtp._tls.{domain}");
    let records = match versioned(lookup, &name, "v=TLSRPTv1").await {
        Ok(records) => records,
        Err(e) => {
            add(
                findings,
                Severity::Warning,
                Area::TlsRpt,
                format!("{name} could not be fetched: {e}"),
            );
            return None;
        }
    };
    match records.as_slice() {
        [] => {
            let (severity, why) = if has_mta_sts {
                (
                    Severity::Warning,
                    "MTA-STS is announced, but senders have nowhere to report TLS failures",
                )
            } else {
                (
                    Severity::Note,
                    "senders have nowhere to report TLS failures to your MX hosts",
                )
            };
            add(
                findings,
                severity,
                Area::TlsRpt,
                format!("no TLS-RPT record at {name}: {why} (RFC 8460)"),
            );
            None
        }
        [record] => match tls_rpt_problem(record) {
            Some(problem) => {
                add(
                    findings,
                    Severity::Error,
                    Area::TlsRpt,
                    format!("{name}: {problem} (RFC 8460 §3)"),
                );
                None
            }
            None => Some(record.clone()),
        },
        _ => {
            add(findings, Severity::Error, Area::TlsRpt, format!("{name} has {} records starting with v=TLSRPTv1; senders use none of them (RFC 8460 §3)", records.len()));
            None
        }
    }
}

/// What is wrong with a `_smtp._tls` record: `v=TLSRPTv1` first, then `rua=` with one or more
/// `mailto:` or `https:` URIs, comma-separated (RFC 8460 §3).
fn tls_rpt_problem(record: &str) -> Option<String> {
    let fields: Vec<(&str, &str)> = record
        .split(';')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .filter_map(|f| f.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    if fields.first() != Some(&("v", "TLSRPTv1")) {
        return Some("v=TLSRPTv1 must come first".into());
    }
    let Some((_, rua)) = fields.iter().find(|(k, _)| *k == "rua") else {
        return Some("no rua= field: reports have no destination".into());
    };
    let bad: Vec<&str> = rua
        .split(',')
        .map(str::trim)
        .filter(|uri| {
            let lower = uri.to_ascii_lowercase();
            !(lower.starts_with("mailto:") && uri.contains('@') || lower.starts_with("https://"))
        })
        .collect();
    match bad.as_slice() {
        [] => None,
        _ => Some(format!(
            "rua= destination(s) {} are neither mailto: addresses nor https: URLs",
            bad.join(", ")
        )),
    }
}

/// The TXT records at `name` that begin with `version` (records of other kinds living at
/// the same name are ignored, as both RFCs say); none when the name has no TXT record.
async fn versioned<L: Lookup + ?Sized>(
    lookup: &L,
    name: &str,
    version: &str,
) -> Result<Vec<String>, DnsError> {
    match lookup.txt(name).await {
        Ok(answer) => Ok(answer
            .records
            .iter()
            .map(|r| String::from_utf8_lossy(r.text()).trim().to_string())
            .filter(|text| {
                text.split(';')
                    .next()
                    .map(str::trim)
                    .is_some_and(|v| v.replace(' ', "").eq_ignore_ascii_case(version))
            })
            .collect()),
        Err(DnsError::NxDomain | DnsError::NoRecords) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_syntax() {
        assert_eq!(mta_sts_problem("v=STSv1; id=20261206T000000"), None);
        assert!(mta_sts_problem("v=STSv1").unwrap().contains("no id"));
        assert!(mta_sts_problem("id=1; v=STSv1").unwrap().contains("first"));
        assert!(mta_sts_problem("v=STSv1; id=not-alnum").is_some());
        assert!(mta_sts_problem(&format!("v=STSv1; id={}", "a".repeat(33))).is_some());
        assert_eq!(
            tls_rpt_problem("v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example/tls"),
            None
        );
        assert!(tls_rpt_problem("v=TLSRPTv1").unwrap().contains("rua"));
        assert!(tls_rpt_problem("v=TLSRPTv1; rua=http://r.example/").is_some());
        assert!(tls_rpt_problem("v=TLSRPTv1; rua=mailto:nobody").is_some());
    }
}
