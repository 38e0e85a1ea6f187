//! The DNS Tree Walk (RFC 9989 §4.10): policy discovery and the Organizational Domain, with
//! one cache of `_dmarc` answers per message so that a name is asked once.

use std::collections::HashMap;

use super::record::{is_dmarc_record, DmarcRecord, PsdFlag, RecordError};
use crate::dns::{DnsError, Lookup};

/// At most this many `_dmarc` queries per walk (RFC 9989 §4.10: the first name, then at most
/// seven more after shortening to seven labels).
pub const MAX_WALK_QUERIES: usize = 8;

/// What `_dmarc.<domain>` held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Exactly one DMARC record, valid.
    Record(DmarcRecord),
    /// Exactly one DMARC record, not valid.
    Invalid(RecordError),
    /// No DMARC record (no TXT, NXDOMAIN, or only non-DMARC TXT).
    Nothing,
    /// Several DMARC records: all are discarded (RFC 9989 §4.10.1 step 2).
    Several(usize),
    /// The query failed temporarily.
    TempError(DnsError),
}

/// The names a walk from `domain` queries, in order (RFC 9989 §4.10.1 steps 3-5): the domain
/// itself; then, when it has eight or more labels, its last seven; then one label fewer each
/// time, down to a single label.
pub fn walk_targets(domain: &str) -> Vec<String> {
    let labels: Vec<&str> = domain.split('.').collect();
    let mut out = vec![domain.to_string()];
    let mut count = labels.len();
    if count >= 8 {
        count = 8;
    }
    while count > 1 {
        count -= 1;
        out.push(labels[labels.len() - count..].join("."));
    }
    out
}

/// One message's `_dmarc` answers.
pub struct Walker<'a, L: Lookup + ?Sized> {
    lookup: &'a L,
    answers: HashMap<String, Answer>,
    /// DNS queries sent.
    pub queries: usize,
}

impl<'a, L: Lookup + ?Sized> Walker<'a, L> {
    /// A walker with an empty cache.
    pub fn new(lookup: &'a L) -> Walker<'a, L> {
        Walker {
            lookup,
            answers: HashMap::new(),
            queries: 0,
        }
    }

    /// The lookup it queries.
    pub fn lookup(&self) -> &'a L {
        self.lookup
    }

    /// The answer at `_dmarc.<domain>`.
    pub async fn answer(&mut self, domain: &str) -> Answer {
        if let Some(answer) = self.answers.get(domain) {
            return answer.clone();
        }
        self.queries += 1;
        let name = format!("_dmarc.{domain}");
        let answer = match self.lookup.txt(&name).await {
            Ok(answer) => {
                let dmarc: Vec<String> = answer
                    .records
                    .iter()
                    .map(|r| String::from_utf8_lossy(r.text()).into_owned())
                    .filter(|text| is_dmarc_record(text))
                    .collect();
                match dmarc.len() {
                    0 => Answer::Nothing,
                    1 => match DmarcRecord::parse(&dmarc[0]) {
                        Ok(record) => Answer::Record(record),
                        Err(error) => Answer::Invalid(error),
                    },
                    n => Answer::Several(n),
                }
            }
            Err(error) if error.is_temporary() => Answer::TempError(error),
            Err(_) => Answer::Nothing,
        };
        self.answers.insert(domain.to_string(), answer.clone());
        answer
    }

    /// Policy discovery: the first name of the walk with a DMARC record, and what it held.
    /// `None` when the walk found none. Stops at an invalid record or a DNS failure.
    pub async fn policy(&mut self, author_domain: &str) -> Option<(String, Answer)> {
        for target in walk_targets(author_domain) {
            match self.answer(&target).await {
                Answer::Nothing | Answer::Several(_) => continue,
                found => return Some((target, found)),
            }
        }
        None
    }

    /// The Organizational Domain of `domain` (RFC 9989 §4.10.2): where a `psd=n` record
    /// stands; one label below a `psd=y` record; else the highest name with a record; else the
    /// domain itself.
    pub async fn organizational_domain(&mut self, domain: &str) -> Result<String, DnsError> {
        let labels: Vec<&str> = domain.split('.').collect();
        let mut highest = None;
        for target in walk_targets(domain) {
            match self.answer(&target).await {
                Answer::Record(record) => match record.psd {
                    PsdFlag::No => return Ok(target),
                    PsdFlag::Yes => {
                        if target == domain {
                            return Ok(target);
                        }
                        let depth = target.split('.').count() + 1;
                        return Ok(labels[labels.len() - depth..].join("."));
                    }
                    PsdFlag::Unspecified => highest = Some(target),
                },
                Answer::TempError(error) => return Err(error),
                Answer::Invalid(_) | Answer::Nothing | Answer::Several(_) => {}
            }
        }
        Ok(highest.unwrap_or_else(|| domain.to_string()))
    }
}

/// True when `domain` does not exist for DMARC: NXDOMAIN or no records for A, AAAA and MX
/// (RFC 9989 §3.2.8). A DNS failure counts as existing, so `np=` is never applied on a guess.
pub async fn exists<L: Lookup + ?Sized>(lookup: &L, domain: &str) -> bool {
    let absent = |r: &DnsError| matches!(r, DnsError::NxDomain | DnsError::NoRecords);
    match lookup.a(domain).await {
        Err(DnsError::NxDomain) => return false,
        Err(ref e) if absent(e) => {}
        _ => return true,
    }
    match lookup.aaaa(domain).await {
        Err(ref e) if absent(e) => {}
        _ => return true,
    }
    !matches!(lookup.mx(domain).await, Err(ref e) if absent(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_targets_shorten_to_seven_labels_then_one_at_a_time() {
        assert_eq!(walk_targets("example.com"), ["example.com", "com"]);
        let long = walk_targets("a.b.c.d.e.f.g.h.i.j.mail.example.com");
        assert_eq!(long.len(), MAX_WALK_QUERIES);
        assert_eq!(long[1], "g.h.i.j.mail.example.com");
        assert_eq!(long[7], "com");
        assert_eq!(walk_targets("a.b.c.d.e.f.g.h").len(), 8);
        assert_eq!(walk_targets("a.b.c.d.e.f.g.h")[1], "b.c.d.e.f.g.h");
    }
}
