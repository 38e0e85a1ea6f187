//! ADSP, Author Domain Signing Practices (RFC 5617, Historic since 2013): read-only.
//!
//! A domain published `_adsp._domainkey.<domain> TXT "dkim=all"` (or `discardable`) to say it
//! signs all its mail. DMARC replaced it; hanko still reports it as `dkim-adsp=` because
//! some receivers (iCloud among them) still write that result and analysts meet it in
//! headers.

use std::fmt;

use crate::dkim::{DkimVerdict, Verification};
use crate::dns::{DnsError, Lookup};
use crate::message::TagList;

/// The `dkim-adsp` result words (RFC 5617 §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdspVerdict {
    /// No ADSP record.
    None,
    /// An Author Domain Signature verified.
    Pass,
    /// `dkim=unknown`: the domain may sign some mail.
    Unknown,
    /// `dkim=all` and no Author Domain Signature.
    Fail,
    /// `dkim=discardable` and no Author Domain Signature: the domain asks to discard it.
    Discard,
    /// The Author Domain does not exist.
    NxDomain,
    /// A DNS failure.
    TempError,
    /// A broken record.
    PermError,
}

impl AdspVerdict {
    /// The RFC 8601 word.
    pub fn as_str(self) -> &'static str {
        match self {
            AdspVerdict::None => "none",
            AdspVerdict::Pass => "pass",
            AdspVerdict::Unknown => "unknown",
            AdspVerdict::Fail => "fail",
            AdspVerdict::Discard => "discard",
            AdspVerdict::NxDomain => "nxdomain",
            AdspVerdict::TempError => "temperror",
            AdspVerdict::PermError => "permerror",
        }
    }
}

impl fmt::Display for AdspVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outbound signing practice a record states (`dkim=`, RFC 5617 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Practice {
    /// `unknown` (and any value RFC 5617 does not define).
    Unknown,
    /// `all`.
    All,
    /// `discardable`.
    Discardable,
}

/// Parses an ADSP record: a tag list with `dkim=` (RFC 5617 §4.2.1).
pub fn parse_record(text: &str) -> Result<Practice, String> {
    let list = TagList::parse(text.as_bytes()).map_err(|e| e.to_string())?;
    match list.get("dkim") {
        None => Err("no dkim= tag".to_string()),
        Some(value) => Ok(match value.to_ascii_lowercase().as_str() {
            "all" => Practice::All,
            "discardable" => Practice::Discardable,
            // §4.2.1: other values are reserved and treated as unknown.
            _ => Practice::Unknown,
        }),
    }
}

/// The ADSP result for one Author Domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdspOutcome {
    /// The result.
    pub verdict: AdspVerdict,
    /// The Author Domain.
    pub domain: String,
    /// The practice, when a record was read.
    pub practice: Option<Practice>,
    /// Why, for errors and for the record-less results.
    pub reason: Option<String>,
}

/// RFC 5617 §4.3 for `author_domain` (lower case, A-labels) given the message's DKIM results.
pub async fn check<L: Lookup + ?Sized>(
    lookup: &L,
    author_domain: &str,
    dkim: &Verification,
) -> AdspOutcome {
    let outcome = |verdict, practice, reason: Option<String>| AdspOutcome {
        verdict,
        domain: author_domain.to_string(),
        practice,
        reason,
    };
    // §4.3 step 1: the Author Domain must exist (a query of any type tells).
    match lookup.a(author_domain).await {
        Err(DnsError::NxDomain) => {
            return outcome(
                AdspVerdict::NxDomain,
                None,
                Some(format!("{author_domain} does not exist")),
            )
        }
        Err(e) if e.is_temporary() => {
            return outcome(
                AdspVerdict::TempError,
                None,
                Some(format!("{author_domain}: {e}")),
            )
        }
        _ => {}
    }
    // An Author Domain Signature: a valid signature whose d= is the Author Domain (§2.7).
    let signed = dkim.results.iter().any(|r| {
        r.verdict() == DkimVerdict::Pass
            && r.domain()
                .is_some_and(|d| d.trim_end_matches('.').eq_ignore_ascii_case(author_domain))
    });
    if signed {
        return outcome(AdspVerdict::Pass, None, None);
    }
    let name = format!("_adsp._domainkey.{author_domain}");
    let records = match lookup.txt(&name).await {
        Ok(answer) => answer.records,
        Err(e) if e.is_temporary() => {
            return outcome(AdspVerdict::TempError, None, Some(format!("{name}: {e}")))
        }
        Err(_) => {
            return outcome(
                AdspVerdict::None,
                None,
                Some(format!("no record at {name}")),
            )
        }
    };
    let texts: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8_lossy(r.text()).into_owned())
        .collect();
    if texts.len() > 1 {
        return outcome(
            AdspVerdict::PermError,
            None,
            Some(format!("{} records at {name}", texts.len())),
        );
    }
    let Some(text) = texts.first() else {
        return outcome(
            AdspVerdict::None,
            None,
            Some(format!("no record at {name}")),
        );
    };
    match parse_record(text) {
        Err(why) => outcome(AdspVerdict::PermError, None, Some(format!("{name}: {why}"))),
        Ok(practice) => {
            let verdict = match practice {
                Practice::Unknown => AdspVerdict::Unknown,
                Practice::All => AdspVerdict::Fail,
                Practice::Discardable => AdspVerdict::Discard,
            };
            outcome(verdict, Some(practice), None)
        }
    }
}
