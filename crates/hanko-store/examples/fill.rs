//! Fills a store with recorded DMARC evaluations, for measuring `hanko report aggregate` at
//! scale (`scripts/bench-reports.sh`).
//!
//! ```text
//! cargo run --release -p hanko-store --example fill -- sqlite:/tmp/e.sqlite 1000000 1000
//! ```
//! writes that many evaluations spread over that many policy domains, all in one UTC day
//! (2026-11-23), from 50 addresses, a third of them failing.

use hanko::dkim::DkimVerdict;
use hanko::dmarc::{AlignmentMode, Policy};
use hanko::receiver::{Disposition, DkimEvaluation, Evaluation, PublishedPolicy};
use hanko_store::{row_keys, RecordedRow, Store};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, rows, domains] = &args[..] else {
        eprintln!("usage: fill URL ROWS DOMAINS");
        std::process::exit(2);
    };
    let (rows, domains): (u64, u64) = (rows.parse().unwrap(), domains.parse().unwrap());
    let store = Store::open(url).await.unwrap();
    let day = 1_795_392_000u64;
    let batch = 10_000u64;
    let mut written = 0u64;
    while written < rows {
        let count = batch.min(rows - written);
        let evaluations: Vec<Evaluation> = (written..written + count)
            .map(|i| {
                let domain = format!("d{}.example", i % domains);
                let pass = i % 3 != 0;
                Evaluation {
                    time: day + i % 86_400,
                    source_ip: Some(format!("192.0.2.{}", (i / domains) % 50).parse().unwrap()),
                    header_from: domain.clone(),
                    envelope_from: Some(domain.clone()),
                    envelope_to: None,
                    policy_domain: domain.clone(),
                    published: PublishedPolicy {
                        policy: Policy::Reject,
                        subdomain_policy: None,
                        nonexistent_policy: None,
                        dkim_alignment: AlignmentMode::Relaxed,
                        spf_alignment: AlignmentMode::Relaxed,
                        testing: false,
                        failure_options: None,
                    },
                    disposition: if pass {
                        Disposition::Pass
                    } else {
                        Disposition::Reject
                    },
                    dkim_aligned_pass: pass,
                    spf_aligned_pass: false,
                    overrides: Vec::new(),
                    dkim: vec![DkimEvaluation {
                        domain,
                        selector: "s1".into(),
                        result: if pass {
                            DkimVerdict::Pass
                        } else {
                            DkimVerdict::Fail
                        },
                    }],
                    spf: None,
                }
            })
            .collect();
        let keys = row_keys(evaluations.len());
        let keyed: Vec<RecordedRow> = evaluations
            .iter()
            .zip(keys)
            .map(|(evaluation, key)| RecordedRow { key, evaluation })
            .collect();
        store.record_evaluations(&keyed).await.unwrap();
        written += count;
    }
    eprintln!("{written} evaluations for {domains} domains in {url}");
}
