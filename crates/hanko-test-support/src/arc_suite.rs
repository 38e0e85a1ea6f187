//! The ValiMail ARC suite (`arc_test_suite/` in the conformance folder): its scenarios read
//! from the multi-document YAML, each test kept even where a name repeats.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_yaml_ng::Value;

use crate::read;

/// A YAML mapping read as its entries in order. The suite's test maps repeat some names
/// (`as_fields_b_head_case` and three others appear twice with different messages), which a
/// map type would refuse or merge; every entry is a case.
pub struct Entries(pub Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// One scenario: its tests and the TXT records they are validated against.
#[derive(Deserialize)]
pub struct Scenario {
    /// What the scenario covers.
    pub description: String,
    /// The tests, in file order.
    pub tests: Entries,
    /// DNS names and their TXT text.
    #[serde(rename = "txt-records")]
    pub txt_records: Option<Entries>,
    /// The signing suite's `domain`, `sel` and `privatekey`.
    #[serde(flatten)]
    pub rest: std::collections::BTreeMap<String, Value>,
}

impl Scenario {
    /// The TXT records as (name, text).
    pub fn records(&self) -> Vec<(String, String)> {
        self.txt_records
            .iter()
            .flat_map(|e| &e.0)
            .map(|(name, value)| (name.clone(), value.as_str().expect("TXT text").to_string()))
            .collect()
    }
}

/// The scenarios of a suite file (several YAML documents), e.g.
/// `arc_test_suite/arc-draft-validation-tests.yml`.
pub fn scenarios(relative: &str) -> Vec<Scenario> {
    let text = read(relative);
    serde_yaml_ng::Deserializer::from_slice(&text)
        .map(|document| Scenario::deserialize(document).expect("suite scenario"))
        .collect()
}

/// A validation case's expected `cv`: `pass`, `fail` or `none`.
///
/// Three cases have `cv: |` and a blank line (an empty string); their messages end the chain
/// with an ARC-Seal that says cv=fail, which RFC 8617 §5.2 step 2 makes a fail (the suite's
/// README notes it).
pub fn expected_cv(case: &Value) -> &'static str {
    match case.get("cv").and_then(Value::as_str).map(str::trim) {
        Some("Pass") => "pass",
        Some("None") => "none",
        Some("Fail") | Some("") => "fail",
        other => panic!("unexpected cv {other:?}"),
    }
}

/// Cases where hanko holds the RFC over the suite: the name, the RFC's answer and why. Each
/// still runs, and must give the RFC's answer.
pub const RFC_OVER_SUITE: &[(&str, &str, &str)] = &[
    (
        "ams_fields_c_na",
        "fail",
        "an AMS without c= is simple/simple (RFC 6376 §3.5, which RFC 8617 §4.1.2 keeps); the \
         suite's signer used relaxed headers",
    ),
    (
        "ams_fields_h_empty",
        "fail",
        "an AMS with an empty h= signs no From (RFC 6376 §5.4, §6.1.1: ignore the signature)",
    ),
    (
        "ams_fields_h_mis_hdr",
        "fail",
        "h=from:to::date has an empty hdr-name, which the h= grammar has no room for (RFC 6376 \
         §3.5)",
    ),
];

/// The status hanko must give a validation case: the suite's, or the RFC's where listed.
pub fn required_cv(name: &str, case: &Value) -> &'static str {
    RFC_OVER_SUITE
        .iter()
        .find(|(n, ..)| *n == name)
        .map_or_else(|| expected_cv(case), |(_, status, _)| status)
}
