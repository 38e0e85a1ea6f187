//! hanko against Stalwart's `mail-auth` (the published crate), side by side in one run: the
//! same messages, keys and records, DNS answered from memory in both, each library set up
//! the way it runs warm on a busy server. hanko: a zone held in memory, which hands out the
//! same records on every query so each key and policy is parsed once and kept beside its
//! record (as the resolver keeps them within a TTL), and no SPF trace, as the milter and
//! bulk verification run. mail-auth: its own cache filled beforehand with the
//! records it parsed. Both use aws-lc-rs for the cryptography.
//!
//! Prints a Markdown table: the median time of each workload through each library and the
//! ratio (mail-auth's time over hanko's: above 1 means hanko is faster). Every result is
//! checked (each library must say pass) before anything is timed.
//!
//! ```text
//! bash scripts/compare.sh
//! ```

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::hint::black_box;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hanko::arc::{ArcConfig, ArcSealer, ArcVerifier, ChainStatus, SealRequest};
use hanko::dkim::{sign_message, SigningRequest, Verifier, VerifyConfig};
use hanko::dns::Lookup;
use hanko::keys::SigningKey;
use hanko::message::{split_message, Headers, MessageLimits};
use hanko::spf::{check_mail_from, SpfConfig};
use hanko_dns::Zone;
use mail_auth::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::dkim::record::DomainKey;
use mail_auth::dkim::DkimSigner;
use mail_auth::dns::TxtRecordParser;
use mail_auth::headers::HeaderWriter;
use mail_auth::spf::{verify::SpfParameters, SpfRecord};
use mail_auth::{
    AuthenticatedMessage, DkimResult, DnsCache, MessageAuthenticator, NoCache, Parameters,
    ResolverCache, SpfResult, TxtRecord,
};

/// The signature time of every message, and the verification time.
const SIGNED_AT: u64 = 1_795_392_000;

/// Header fields both libraries sign (hanko's default set would add more and oversign From).
const SIGNED: [&str; 7] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
];

/// mail-auth's TXT cache, filled before the run.
struct Memory {
    txt: TxtMemory,
}

struct TxtMemory(HashMap<Box<str>, TxtRecord>);

impl ResolverCache<Box<str>, TxtRecord> for TxtMemory {
    fn get<Q>(&self, name: &Q) -> Option<TxtRecord>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.get(name).cloned()
    }

    fn remove<Q>(&self, _: &Q) -> Option<TxtRecord>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: Box<str>, _: TxtRecord, _: std::time::Instant) {}
}

impl DnsCache for Memory {
    type Txt = TxtMemory;
    type Mx = NoCache;
    type Ipv4 = NoCache;
    type Ipv6 = NoCache;
    type Ptr = NoCache;

    fn txt(&self) -> Option<&TxtMemory> {
        Some(&self.txt)
    }
    fn mx(&self) -> Option<&NoCache> {
        None
    }
    fn ipv4(&self) -> Option<&NoCache> {
        None
    }
    fn ipv6(&self) -> Option<&NoCache> {
        None
    }
    fn ptr(&self) -> Option<&NoCache> {
        None
    }
}

// `message(size)`: the text of hanko's own criterion benchmark, the same file.
include!("../../../crates/hanko/benches/common/message.rs");

/// One workload, run through each library.
struct Workload<'a> {
    /// Its row in the table.
    name: String,
    /// Its name for `--run`.
    id: String,
    hanko: Box<dyn FnMut() + 'a>,
    mail_auth: Box<dyn FnMut() + 'a>,
}

/// Runs `work` `count` times: the one function `scripts/compare-instructions.sh` has
/// callgrind count, so the set-up (keys, signed messages, jitter-entropy seeding) stays out.
#[inline(never)]
fn counted(work: &mut dyn FnMut(), count: u32) {
    for _ in 0..count {
        work();
    }
}

/// Median time of one call of `work`, from 15 samples of about 40 ms each after a warm-up.
fn measure(mut work: impl FnMut()) -> Duration {
    let warm_up = Instant::now();
    let mut calls = 0u32;
    while warm_up.elapsed() < Duration::from_millis(300) {
        work();
        calls += 1;
    }
    let per_call = warm_up.elapsed() / calls.max(1);
    let batch = (Duration::from_millis(40).as_nanos() / per_call.as_nanos().max(1)).max(1) as u32;
    let mut samples: Vec<Duration> = (0..15)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                work();
            }
            start.elapsed() / batch
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn micros(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 100.0 {
        format!("{us:.0} µs")
    } else {
        format!("{us:.1} µs")
    }
}

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn der(file: &str) -> Vec<u8> {
    let text = std::fs::read(examples().join(file)).expect("example key");
    pem::parse(text).expect("PEM").contents().to_vec()
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let zone = {
        let mut zone = Zone::new();
        zone.add_file(&examples().join("example.com.zone"))
            .expect("example zone");
        zone.add_file(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("spf.zone"))
            .expect("spf zone");
        zone
    };
    // mail-auth's cache gets the same records, parsed by mail-auth.
    let mut records = HashMap::new();
    let key = |text: &[u8]| TxtRecord::from(DomainKey::parse(text));
    let spf = |text: &[u8]| TxtRecord::from(SpfRecord::parse(text));
    let parsed: [(&str, &dyn Fn(&[u8]) -> TxtRecord); 6] = [
        ("rsa2026._domainkey.example.com", &key),
        ("ed2026._domainkey.example.com", &key),
        ("spf.example.com", &spf),
        ("_spf.a.example", &spf),
        ("_spf.b.example", &spf),
        ("_spf.c.example", &spf),
    ];
    for (name, parse) in parsed {
        let txt = rt.block_on(zone.txt(name)).expect("record in the zone");
        records.insert(
            format!("{name}.").into_boxed_str(),
            parse(txt.records[0].text()),
        );
    }
    let memory = Memory {
        txt: TxtMemory(records),
    };
    // No query leaves the process: every name asked for is in the cache above.
    let authenticator = MessageAuthenticator::new_cloudflare().expect("resolver object");

    let hanko_rsa =
        SigningKey::from_pem(&std::fs::read(examples().join("rsa2026.private")).unwrap())
            .expect("RSA key");
    let hanko_ed = SigningKey::from_pem(&std::fs::read(examples().join("ed2026.private")).unwrap())
        .expect("Ed25519 key");
    #[allow(deprecated)]
    let ma_rsa = DkimSigner::from_key(
        RsaKey::<Sha256>::from_pkcs8_der(&der("rsa2026.private")).expect("mail-auth RSA key"),
    )
    .domain("example.com")
    .selector("rsa2026")
    .headers(SIGNED);
    let ma_ed = DkimSigner::from_key(
        Ed25519Key::from_pkcs8_maybe_unchecked_der(&der("ed2026.private"))
            .expect("mail-auth Ed25519 key"),
    )
    .domain("example.com")
    .selector("ed2026")
    .headers(SIGNED);

    let request = |key: &SigningKey, selector: &str| {
        let mut r = SigningRequest::new(key, "example.com", selector).unwrap();
        r.headers = Some(SIGNED.iter().map(|s| s.to_string()).collect());
        r.oversign = Vec::new();
        r
    };
    let verify_config = VerifyConfig::default();
    let hanko_verify = |signed: &[u8]| {
        let (head, body) = split_message(signed);
        let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
        let mut verifier = Verifier::new(&headers, verify_config.clone());
        verifier.body(body);
        rt.block_on(verifier.finish(&zone, SIGNED_AT + 60))
    };
    let ma_verify = |signed: &[u8]| {
        let message = AuthenticatedMessage::parse(signed).expect("mail-auth parses it");
        let results =
            rt.block_on(authenticator.verify_dkim(Parameters::new(&message).with_cache(&memory)));
        results
            .iter()
            .all(|r| matches!(r.result(), DkimResult::Pass))
            && !results.is_empty()
    };

    // SPF: a policy with three includes, the client in the last one.
    let ip: IpAddr = "192.0.2.77".parse().unwrap();
    let config = SpfConfig {
        keep_trace: false,
        ..SpfConfig::default()
    };
    let hanko_spf = || {
        rt.block_on(check_mail_from(
            &zone,
            &config,
            ip,
            "hanako@spf.example.com",
            "mail.spf.example.com",
            SIGNED_AT,
        ))
    };
    let ma_spf = || {
        rt.block_on(
            authenticator.verify_spf(
                Parameters::new(SpfParameters::mail_from(
                    ip,
                    "mail.spf.example.com",
                    "mx.example.net",
                    "hanako@spf.example.com",
                ))
                .with_cache(&memory),
            ),
        )
    };
    assert_eq!(hanko_spf().verdict.as_str(), "pass");
    assert_eq!(ma_spf().result(), SpfResult::Pass);
    let (ma_rsa, ma_ed) = (&ma_rsa, &ma_ed);
    let mut workloads: Vec<Workload> = Vec::new();
    for (size_name, size) in [("4 KB", 4 * 1024), ("100 KB", 100 * 1024)] {
        let m = message(size);
        for (alg, key, selector) in [
            ("RSA-2048", &hanko_rsa, "rsa2026"),
            ("Ed25519", &hanko_ed, "ed2026"),
        ] {
            // The same signed message for both verifiers.
            let signed = sign_message(&m, vec![request(key, selector)], SIGNED_AT).unwrap();
            assert!(hanko_verify(&signed).all_pass(), "hanko verifies");
            assert!(ma_verify(&signed), "mail-auth verifies {alg} {size_name}");
            let id = format!(
                "{}-{}",
                alg.to_lowercase(),
                size_name.replace(' ', "").to_lowercase()
            );
            let signed_for_ma = signed.clone();
            workloads.push(Workload {
                name: format!("DKIM verify, {alg}, relaxed, {size_name}"),
                id: format!("verify-{id}"),
                hanko: Box::new(move || {
                    black_box(hanko_verify(black_box(&signed)));
                }),
                mail_auth: Box::new(move || {
                    black_box(ma_verify(black_box(&signed_for_ma)));
                }),
            });

            // Signing: each library signs the message; the other one must verify it.
            let ma_sign = move |m: &[u8]| -> String {
                let signature = match alg {
                    "RSA-2048" => ma_rsa.sign(m),
                    _ => ma_ed.sign(m),
                };
                signature.expect("mail-auth signs").to_header()
            };
            let mut by_ma = ma_sign(&m).into_bytes();
            by_ma.extend_from_slice(&m);
            assert!(
                hanko_verify(&by_ma).all_pass(),
                "hanko verifies mail-auth's signature"
            );
            let for_ma = m.clone();
            let m = m.clone();
            workloads.push(Workload {
                name: format!("DKIM sign, {alg}, relaxed, {size_name}"),
                id: format!("sign-{id}"),
                hanko: Box::new(move || {
                    black_box(
                        sign_message(black_box(&m), vec![request(key, selector)], SIGNED_AT)
                            .unwrap(),
                    );
                }),
                mail_auth: Box::new(move || {
                    black_box(ma_sign(black_box(&for_ma)));
                }),
            });
        }
    }

    // ARC: a three-hop chain of RSA-2048 seals over a 4 KB message, each hop sealing what the
    // one before it sealed; both libraries validate the whole chain: the newest
    // ARC-Message-Signature and the three seals. hanko's optional oldest-pass search (two
    // more signatures here) is off, as mail-auth has none; its cost is the second row.
    let hanko_arc_with = |message: &[u8], oldest_pass: bool| {
        let (head, body) = split_message(message);
        let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
        let config = ArcConfig {
            oldest_pass,
            ..ArcConfig::default()
        };
        let mut verifier = ArcVerifier::new(&headers, config);
        verifier.body(body);
        rt.block_on(verifier.finish(&zone, SIGNED_AT + 60))
    };
    let hanko_arc = move |message: &[u8]| hanko_arc_with(message, false);
    let mut chain = message(4 * 1024);
    for hop in 1..=3 {
        let status = hanko_arc(&chain).status();
        let (head, body) = split_message(&chain);
        let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
        let mut request = SealRequest::new(&hanko_rsa, "example.com", "rsa2026").unwrap();
        request.headers = Some(SIGNED.iter().map(|s| s.to_string()).collect());
        request.oversign = Vec::new();
        let mut sealer = ArcSealer::new(&headers, request).unwrap();
        sealer.body(body);
        let results = format!("hop{hop}.example.net; arc={status}");
        let set = sealer.finish(status, &results, SIGNED_AT).unwrap();
        let mut sealed = Vec::new();
        for field in set.fields() {
            sealed.extend_from_slice(field.raw());
            sealed.extend_from_slice(b"\r\n");
        }
        sealed.extend_from_slice(&chain);
        chain = sealed;
    }
    assert_eq!(hanko_arc(&chain).status(), ChainStatus::Pass, "hanko validates");
    let ma_arc = |message: &[u8]| {
        let message = AuthenticatedMessage::parse(message).expect("mail-auth parses it");
        let output =
            rt.block_on(authenticator.verify_arc(Parameters::new(&message).with_cache(&memory)));
        matches!(output.result(), DkimResult::Pass)
    };
    assert!(ma_arc(&chain), "mail-auth validates hanko's chain");
    let chain_for_ma = chain.clone();
    let (chain_oldest, chain_oldest_ma) = (chain.clone(), chain.clone());
    workloads.push(Workload {
        name: "ARC validate, three RSA-2048 hops, 4 KB".into(),
        id: "arc-three-hops".into(),
        hanko: Box::new(move || {
            black_box(hanko_arc(black_box(&chain)));
        }),
        mail_auth: Box::new(move || {
            black_box(ma_arc(black_box(&chain_for_ma)));
        }),
    });
    workloads.push(Workload {
        name: "ARC validate and oldest-pass (hanko only), three hops".into(),
        id: "arc-three-hops-oldest-pass".into(),
        hanko: Box::new(move || {
            black_box(hanko_arc_with(black_box(&chain_oldest), true));
        }),
        mail_auth: Box::new(move || {
            black_box(ma_arc(black_box(&chain_oldest_ma)));
        }),
    });

    workloads.push(Workload {
        name: "SPF, three includes, answers from memory".into(),
        id: "spf-three-includes".into(),
        hanko: Box::new(move || {
            black_box(hanko_spf());
        }),
        mail_auth: Box::new(move || {
            black_box(ma_spf());
        }),
    });

    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => {}
        ["--list"] => {
            for w in &workloads {
                println!("{}\t{}", w.id, w.name);
            }
            return;
        }
        ["--run", id, library, count] => {
            let count: u32 = count.parse().expect("--run ID hanko|mail-auth COUNT");
            let w = workloads
                .iter_mut()
                .find(|w| w.id == *id)
                .unwrap_or_else(|| panic!("no workload {id} (see --list)"));
            let work = match *library {
                "hanko" => &mut w.hanko,
                "mail-auth" => &mut w.mail_auth,
                other => panic!("library {other}: hanko or mail-auth"),
            };
            counted(work, count);
            return;
        }
        _ => panic!("usage: hanko-compare [--list | --run ID hanko|mail-auth COUNT]"),
    }

    let mut rows: Vec<(String, Duration, Duration)> = Vec::new();
    for w in &mut workloads {
        let h = measure(&mut w.hanko);
        let a = measure(&mut w.mail_auth);
        rows.push((w.name.clone(), h, a));
    }

    println!("| workload | hanko | mail-auth 0.15.1 | mail-auth / hanko |");
    println!("| --- | --- | --- | --- |");
    for (name, h, a) in &rows {
        println!(
            "| {name} | {} | {} | {:.2} |",
            micros(*h),
            micros(*a),
            a.as_secs_f64() / h.as_secs_f64()
        );
    }
}
