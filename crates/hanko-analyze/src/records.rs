//! TXT records in the form each way of publishing them wants: an RFC 1035 zone entry, the
//! bare value for a DNS console, an AWS Route 53 change batch, an `nsupdate` script, or JSON
//! for other tools. Values longer than 255 octets are split into character-strings (RFC 1035
//! §3.3.14) after a `; ` where one is near, so that tags stay whole.

use std::fmt::Write as _;

use hanko::keys::split_txt;

/// One TXT record to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxtRecord {
    /// The owner name, without the final dot (`sel._domainkey.example.com`).
    pub name: String,
    /// Seconds resolvers may keep it.
    pub ttl: u32,
    /// The text, whole.
    pub value: String,
}

/// How records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordFormat {
    /// RFC 1035 zone file entries (BIND, NSD, Knot, most zone editors' import).
    Zone,
    /// The bare values, one per line, for consoles that take the text as one field.
    Value,
    /// AWS Route 53 `ChangeResourceRecordSets` change batches (UPSERT), JSON for
    /// `aws route53 change-resource-record-sets --change-batch file://...`.
    Route53,
    /// An `nsupdate` script (RFC 2136 dynamic update): each name's TXT replaced.
    Nsupdate,
    /// JSON: each record's name, type, TTL, value and character-strings.
    Json,
}

/// Route 53's limits on one change batch: 1,000 records and 32,000 characters of values in
/// all (AWS's "Quotas on records"), and at most 100 changes where hanko keeps each batch
/// small enough to read.
pub const ROUTE53_MAX_CHANGES: usize = 100;
/// See [`ROUTE53_MAX_CHANGES`].
pub const ROUTE53_MAX_CHARACTERS: usize = 32_000;

/// A character-string quoted for a zone file or nsupdate: `"` and `\` escaped.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The value as quoted character-strings separated by spaces: what Route 53's `Value`, a
/// zone file and nsupdate all take.
fn quoted_strings(value: &str) -> String {
    split_txt(value)
        .iter()
        .map(|s| quoted(s))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes `records` in `format`. Route 53 gives one JSON document per batch, separated by
/// a blank line; every other format gives one text.
pub fn render(records: &[TxtRecord], format: RecordFormat) -> String {
    match format {
        RecordFormat::Zone => records.iter().map(zone_entry).collect(),
        RecordFormat::Value => records.iter().map(|r| format!("{}\n", r.value)).collect(),
        RecordFormat::Route53 => route53_batches(records)
            .iter()
            .map(|batch| {
                format!(
                    "{}\n",
                    serde_json::to_string_pretty(batch).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        RecordFormat::Nsupdate => {
            let mut out = String::from(
                "; nsupdate script: nsupdate -k KEYFILE < this-file (add \"server HOST\" and \
                 \"zone ZONE\" lines to choose them)\n",
            );
            for r in records {
                let name = absolute(&r.name);
                let _ = writeln!(out, "update delete {name} TXT");
                let _ = writeln!(
                    out,
                    "update add {name} {} TXT {}",
                    r.ttl,
                    quoted_strings(&r.value)
                );
            }
            out.push_str("send\n");
            out
        }
        RecordFormat::Json => {
            let list: Vec<serde_json::Value> = records
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "name": r.name.trim_end_matches('.'),
                        "type": "TXT",
                        "ttl": r.ttl,
                        "value": r.value,
                        "strings": split_txt(&r.value),
                    })
                })
                .collect();
            format!(
                "{}\n",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            )
        }
    }
}

fn absolute(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

/// A zone file entry, the strings in parentheses one per line.
fn zone_entry(record: &TxtRecord) -> String {
    let strings = split_txt(&record.value);
    let mut out = format!("{}\t{}\tIN\tTXT\t( ", absolute(&record.name), record.ttl);
    for (i, s) in strings.iter().enumerate() {
        if i > 0 {
            out.push_str("\n\t\t\t\t  ");
        }
        out.push_str(&quoted(s));
    }
    out.push_str(" )\n");
    out
}

/// The Route 53 change batches: UPSERT of each record, split so that no batch has more than
/// [`ROUTE53_MAX_CHANGES`] changes or [`ROUTE53_MAX_CHARACTERS`] characters of values.
pub fn route53_batches(records: &[TxtRecord]) -> Vec<serde_json::Value> {
    let mut batches = Vec::new();
    let mut changes: Vec<serde_json::Value> = Vec::new();
    let mut characters = 0;
    for r in records {
        let value = quoted_strings(&r.value);
        if !changes.is_empty()
            && (changes.len() == ROUTE53_MAX_CHANGES
                || characters + value.len() > ROUTE53_MAX_CHARACTERS)
        {
            batches.push(batch(std::mem::take(&mut changes)));
            characters = 0;
        }
        characters += value.len();
        changes.push(serde_json::json!({
            "Action": "UPSERT",
            "ResourceRecordSet": {
                "Name": absolute(&r.name),
                "Type": "TXT",
                "TTL": r.ttl,
                "ResourceRecords": [{ "Value": value }],
            }
        }));
    }
    if !changes.is_empty() {
        batches.push(batch(changes));
    }
    batches
}

fn batch(changes: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({
        "Comment": "hanko: TXT records",
        "Changes": changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, value: &str) -> TxtRecord {
        TxtRecord {
            name: name.into(),
            ttl: 300,
            value: value.into(),
        }
    }

    #[test]
    fn every_format_keeps_the_value_and_splits_it_at_255() {
        let long = format!("v=DKIM1; k=rsa; p={}", "A".repeat(400));
        let records = [record("s._domainkey.example.com", &long)];
        let zone = render(&records, RecordFormat::Zone);
        assert!(zone.starts_with("s._domainkey.example.com.\t300\tIN\tTXT\t( \"v=DKIM1; k=rsa; \""));
        let nsupdate = render(&records, RecordFormat::Nsupdate);
        assert!(nsupdate.contains("update delete s._domainkey.example.com. TXT\n"));
        assert!(nsupdate
            .contains("update add s._domainkey.example.com. 300 TXT \"v=DKIM1; k=rsa; \" \"p=AAA"));
        assert!(nsupdate.ends_with("send\n"));
        let json: serde_json::Value =
            serde_json::from_str(&render(&records, RecordFormat::Json)).unwrap();
        let strings = json[0]["strings"].as_array().unwrap();
        assert!(strings.iter().all(|s| s.as_str().unwrap().len() <= 255));
        assert_eq!(json[0]["value"], long.as_str());
        assert_eq!(render(&records, RecordFormat::Value), format!("{long}\n"));
        let quotes = render(
            &[record("x.example", "say \"hi\" \\ bye")],
            RecordFormat::Zone,
        );
        assert!(quotes.contains(r#""say \"hi\" \\ bye""#), "{quotes}");
    }

    #[test]
    fn route53_batches_stay_within_the_limits() {
        let many: Vec<TxtRecord> = (0..250)
            .map(|i| record(&format!("r{i}.example.com"), "v=spf1 -all"))
            .collect();
        let batches = route53_batches(&many);
        let sizes: Vec<usize> = batches
            .iter()
            .map(|b| b["Changes"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [100, 100, 50]);
        let big: Vec<TxtRecord> = (0..40)
            .map(|i| record(&format!("b{i}.example.com"), &"x".repeat(1_000)))
            .collect();
        for batch in route53_batches(&big) {
            let characters: usize = batch["Changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    c["ResourceRecordSet"]["ResourceRecords"][0]["Value"]
                        .as_str()
                        .unwrap()
                        .len()
                })
                .sum();
            assert!(characters <= ROUTE53_MAX_CHARACTERS);
        }
        let change = &batches[0]["Changes"][0];
        assert_eq!(change["Action"], "UPSERT");
        assert_eq!(change["ResourceRecordSet"]["Name"], "r0.example.com.");
        assert_eq!(
            change["ResourceRecordSet"]["ResourceRecords"][0]["Value"],
            "\"v=spf1 -all\""
        );
    }
}
