//! Criterion benchmarks of the library, and beside them the crypto floor: the same RSA,
//! Ed25519 and SHA-256 work done directly through aws-lc-rs, so that the report shows how
//! close hanko gets to what the primitives cost. DNS is answered from memory (a zone held in
//! memory: a warm cache). Run with `cargo bench -p hanko`; results go to docs/performance.md.

use std::hint::black_box;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    Ed25519KeyPair, KeyPair, ParsedPublicKey, RsaKeyPair, UnparsedPublicKey, ED25519,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hanko::authres::{AuthenticationResults, ParseOptions};
use hanko::dkim::canonicalize::BodyHasher;
use hanko::dkim::{
    key_record_for, sign_message, Canonicalization, CanonicalizationAlgorithm, HashAlgorithm,
    SigningRequest, Verifier, VerifyConfig,
};
use hanko::dmarc::{self, Identifiers};
use hanko::dns::{Lookup, LookupFuture, Mx, TxtAnswer};
use hanko::keys::{KeySpec, SigningKey};
use hanko::message::{split_message, Headers, MessageLimits};
use hanko::spf::{check_mail_from, SpfConfig};
use hanko_dns::{RecordData, Zone};

// `message(size)`: the benchmark's text, shared with bench/compare (which includes the same
// file, so both measure the same octets).
include!("common/message.rs");

struct Keys {
    rsa: SigningKey,
    ed: SigningKey,
    zone: Zone,
}

fn keys() -> Keys {
    let rsa = SigningKey::generate(KeySpec::Rsa(2048)).unwrap();
    let ed = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let mut zone = Zone::new();
    for (selector, key) in [("rsa", &rsa), ("ed", &ed)] {
        let record = key_record_for(key, &Default::default()).unwrap();
        zone.add(
            &format!("{selector}._domainkey.example.com"),
            300,
            RecordData::Txt(vec![record.into_bytes()]),
        );
    }
    Keys { rsa, ed, zone }
}

/// A lookup that answers from `zone` with new TXT records each time, as a lookup that keeps
/// nothing does: every key and policy is parsed again for each message.
struct Fresh<'z>(&'z Zone);

impl Lookup for Fresh<'_> {
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
        // Boxed, but ready at its first poll as the zone's own answer is.
        LookupFuture::new(async move { Ok(TxtAnswer::from(self.0.txt(name).await?.texts())) })
    }
    fn a<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<std::net::Ipv4Addr>> {
        self.0.a(name)
    }
    fn aaaa<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<std::net::Ipv6Addr>> {
        self.0.aaaa(name)
    }
    fn mx<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Mx>> {
        self.0.mx(name)
    }
    fn ptr<'a>(&'a self, ip: std::net::IpAddr) -> LookupFuture<'a, Vec<String>> {
        self.0.ptr(ip)
    }
}

fn sign(message: &[u8], key: &SigningKey, selector: &str, c: Canonicalization) -> Vec<u8> {
    let mut request = SigningRequest::new(key, "example.com", selector).unwrap();
    request.canonicalization = c;
    sign_message(message, vec![request], 1_795_000_000).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn dkim(c: &mut Criterion) {
    let keys = keys();
    let rt = runtime();
    let canons = [
        ("relaxed", Canonicalization::RELAXED),
        (
            "simple",
            Canonicalization {
                header: CanonicalizationAlgorithm::Simple,
                body: CanonicalizationAlgorithm::Simple,
            },
        ),
    ];
    for (size_name, size) in [("4KB", 4 * 1024), ("100KB", 100 * 1024)] {
        let m = message(size);
        let mut sign_group = c.benchmark_group(format!("dkim_sign_{size_name}"));
        for (alg, key, selector) in [("rsa2048", &keys.rsa, "rsa"), ("ed25519", &keys.ed, "ed")] {
            for (canon_name, canon) in canons {
                sign_group.bench_function(BenchmarkId::new(alg, canon_name), |b| {
                    b.iter(|| sign(black_box(&m), key, selector, canon))
                });
            }
        }
        sign_group.finish();
        let mut verify_group = c.benchmark_group(format!("dkim_verify_{size_name}"));
        // The zone keeps its records, so the parsed key is kept beside its record (as in
        // the resolver within a TTL: bulk verify, the milter); `+parse_key` answers with new
        // records, so every message parses its key record.
        let fresh = Fresh(&keys.zone);
        for (alg, key, selector) in [("rsa2048", &keys.rsa, "rsa"), ("ed25519", &keys.ed, "ed")] {
            for (canon_name, canon) in canons {
                let signed = sign(&m, key, selector, canon);
                let config = VerifyConfig::default();
                for (suffix, lookup) in [("", &keys.zone as &dyn Lookup), ("+parse_key", &fresh)] {
                    let id = BenchmarkId::new(alg, format!("{canon_name}{suffix}"));
                    verify_group.bench_function(id, |b| {
                        b.iter(|| {
                            let (head, body) = split_message(black_box(&signed));
                            let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
                            let mut verifier = Verifier::new(&headers, config.clone());
                            verifier.body(body);
                            let outcome = rt.block_on(verifier.finish(lookup, 1_795_000_000));
                            assert!(outcome.all_pass());
                        })
                    });
                }
            }
        }
        verify_group.finish();
    }
    // The same verification of a message shaped like most real mail (a text part and a base64
    // attachment): relaxed canonicalization finds almost nothing to change in it.
    let m = message_with_attachment(100 * 1024);
    let mut group = c.benchmark_group("dkim_verify_100KB_attachment");
    for (canon_name, canon) in canons {
        let signed = sign(&m, &keys.rsa, "rsa", canon);
        group.bench_function(BenchmarkId::new("rsa2048", canon_name), |b| {
            b.iter(|| {
                let (head, body) = split_message(black_box(&signed));
                let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
                let mut verifier = Verifier::new(&headers, VerifyConfig::default());
                verifier.body(body);
                let outcome = rt.block_on(verifier.finish(&keys.zone, 1_795_000_000));
                assert!(outcome.all_pass());
            })
        });
    }
    group.finish();
}

/// A message of about `size` octets shaped like most of the octets of real mail: a short
/// text part, then an attachment in base64 lines of 76 (pseudo-random, fixed seed).
fn message_with_attachment(size: usize) -> Vec<u8> {
    let mut m = b"From: Hanako Yamada <hanako@example.com>\r\n\
To: Ann Example <ann@example.net>\r\n\
Subject: The figures, attached\r\n\
Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <20261123100001.abcdef@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n"
        .to_vec();
    for _ in 0..12 {
        m.extend_from_slice(
            b"The quick brown fox jumps over the lazy dog; then it rests a while.\r\n",
        );
    }
    m.extend_from_slice(
        b"\r\n--b1\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    while m.len() < size - 80 {
        for _ in 0..76 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            m.push(alphabet[(state >> 58) as usize]);
        }
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"--b1--\r\n");
    m
}

/// About 1 MB of `line` repeated.
fn repeated(line: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(1024 * 1024 + line.len());
    while body.len() < 1024 * 1024 {
        body.extend_from_slice(line);
    }
    body
}

fn body_hashing(c: &mut Criterion) {
    // The text of `message`, whose every line has runs of spaces (relaxed's slow case), then
    // single-spaced prose, prose with a trailing space on every line, and a base64
    // attachment (most of the octets of real mail).
    let bodies = [
        ("", message(1024 * 1024)),
        (
            "_prose",
            repeated(b"The quick brown fox jumps over the lazy dog; then it rests a while.\r\n"),
        ),
        (
            // format=flowed (RFC 3676): a space ends every line that the next one continues.
            "_flowed",
            repeated(b"The quick brown fox jumps over the lazy dog; then it rests a while. \r\n"),
        ),
        (
            "_base64",
            repeated(
                b"TG9yZW0gaXBzdW0gZG9sb3Igc2l0IGFtZXQsIGNvbnNlY3RldHVyIGFkaXBpc2NpbmcgZWxpdC4=\r\n",
            ),
        ),
    ];
    let mut group = c.benchmark_group("body_canonicalize_and_hash_1MB");
    for (suffix, body) in &bodies {
        group.throughput(Throughput::Bytes(body.len() as u64));
        for (name, algorithm) in [
            ("relaxed", CanonicalizationAlgorithm::Relaxed),
            ("simple", CanonicalizationAlgorithm::Simple),
        ] {
            if !suffix.is_empty() && algorithm == CanonicalizationAlgorithm::Simple {
                continue;
            }
            group.bench_function(format!("{name}{suffix}"), |b| {
                b.iter(|| {
                    let mut hasher = BodyHasher::new(algorithm, HashAlgorithm::Sha256, None);
                    hasher.push(black_box(body));
                    hasher.finish()
                })
            });
        }
    }
    group.finish();
}

fn spf_dmarc_authres(c: &mut Criterion) {
    let rt = runtime();
    let zone = Zone::parse(
        r#"$ORIGIN example.com.
@ IN TXT "v=spf1 include:_spf.a.example include:_spf.b.example include:_spf.c.example -all"
_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"
_spf.a.example. IN TXT "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:a::/48 -all"
_spf.b.example. IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
_spf.c.example. IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
"#,
        "",
    )
    .unwrap();
    let config = SpfConfig::default();
    let ip = "192.0.2.77".parse().unwrap();
    // The zone keeps its records, so the policies are parsed once and kept beside them;
    // `+parse` answers with new records, so every evaluation parses every policy.
    // What the milter and bulk verification run: kept records and no trace.
    let untraced = SpfConfig {
        keep_trace: false,
        ..config.clone()
    };
    let fresh = Fresh(&zone);
    for (name, config, lookup) in [
        ("spf_three_includes_warm", &config, &zone as &dyn Lookup),
        ("spf_three_includes_warm+parse", &config, &fresh),
        ("spf_three_includes_warm-trace", &untraced, &zone),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let outcome = rt.block_on(check_mail_from(
                    lookup,
                    config,
                    black_box(ip),
                    "hanako@example.com",
                    "mail.example.com",
                    1_795_000_000,
                ));
                assert_eq!(outcome.verdict.as_str(), "pass");
            })
        });
    }
    let spf = rt.block_on(check_mail_from(
        &zone,
        &config,
        ip,
        "hanako@example.com",
        "mail.example.com",
        1_795_000_000,
    ));
    let m = message(4096);
    let (head, _) = split_message(&m);
    let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
    let ids = Identifiers::from_results(&Default::default(), Some(&spf));
    c.bench_function("dmarc_check_warm", |b| {
        b.iter(|| rt.block_on(dmarc::check(&zone, black_box(&headers), &ids)))
    });
    let field = "mx.google.com;\r\n       dkim=pass header.i=@example.com header.s=20230601 header.b=Ab1Cd2Ef;\r\n       arc=pass (i=1 spf=pass spfdomain=example.com dkim=pass dkdomain=example.com dmarc=pass fromdomain=example.com);\r\n       spf=pass (google.com: domain of hanako@example.com designates 192.0.2.25 as permitted sender) smtp.mailfrom=hanako@example.com;\r\n       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com";
    c.bench_function("authres_parse_gmail", |b| {
        b.iter(|| AuthenticationResults::parse(black_box(field), ParseOptions::default()).unwrap())
    });
}

/// The floor: the primitives hanko's DKIM work is made of, called directly.
fn crypto_floor(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let ed = Ed25519KeyPair::generate().unwrap();
    let data = vec![0x5au8; 512];
    let mut rsa_sig = vec![0u8; rsa.public_modulus_len()];
    rsa.sign(&RSA_PKCS1_SHA256, &rng, &data, &mut rsa_sig)
        .unwrap();
    let ed_sig = ed.sign(&data);
    let mut group = c.benchmark_group("floor");
    group.bench_function("rsa2048_sign", |b| {
        b.iter(|| {
            let mut sig = vec![0u8; rsa.public_modulus_len()];
            rsa.sign(&RSA_PKCS1_SHA256, &rng, black_box(&data), &mut sig)
                .unwrap();
            sig
        })
    });
    let rsa_public = rsa.public_key().as_ref().to_vec();
    group.bench_function("rsa2048_verify", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &rsa_public)
                .verify(black_box(&data), &rsa_sig)
                .unwrap()
        })
    });
    // A key parsed once and kept (what a cache of parsed key records gives).
    let rsa_parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &rsa_public).unwrap();
    group.bench_function("rsa2048_verify_parsed_key", |b| {
        b.iter(|| rsa_parsed.verify_sig(black_box(&data), &rsa_sig).unwrap())
    });
    group.bench_function("ed25519_sign", |b| b.iter(|| ed.sign(black_box(&data))));
    let ed_public = ed.public_key().as_ref().to_vec();
    group.bench_function("ed25519_verify", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&ED25519, &ed_public)
                .verify(black_box(&data), ed_sig.as_ref())
                .unwrap()
        })
    });
    let ed_parsed = ParsedPublicKey::new(&ED25519, &ed_public).unwrap();
    group.bench_function("ed25519_verify_parsed_key", |b| {
        b.iter(|| {
            ed_parsed
                .verify_sig(black_box(&data), ed_sig.as_ref())
                .unwrap()
        })
    });
    for (name, size) in [("sha256_100KB", 100 * 1024), ("sha256_1MB", 1024 * 1024)] {
        let bytes = vec![0x61u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(name, |b| {
            b.iter(|| digest::digest(&digest::SHA256, black_box(&bytes)))
        });
    }
    group.finish();
}

/// The whole receiver for one 4 KB message signed with RSA-2048 (relaxed), beside DKIM alone
/// on the same message: what the pipeline adds around the signature (reading and splitting
/// the message, DMARC with its policy from the zone, ADSP, the Authentication-Results field,
/// and with `--features serde` the JSON document `hanko verify --json` prints).
fn receiver(c: &mut Criterion) {
    use hanko::receiver::{Receiver, ReceiverConfig};
    let keys = keys();
    let rt = runtime();
    let mut zone = keys.zone.clone();
    zone.add(
        "_dmarc.example.com",
        300,
        RecordData::Txt(vec![b"v=DMARC1; p=reject".to_vec()]),
    );
    let signed = sign(&message(4096), &keys.rsa, "rsa", Canonicalization::RELAXED);
    let now = 1_795_000_000;
    let config = ReceiverConfig::new("mx.example.net");
    let mut group = c.benchmark_group("receiver_4KB");
    group.bench_function("rsa2048/dkim_only", |b| {
        b.iter(|| {
            let (head, body) = split_message(black_box(&signed));
            let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
            let mut verifier = Verifier::new(&headers, VerifyConfig::default());
            verifier.body(body);
            assert!(rt.block_on(verifier.finish(&zone, now)).all_pass());
        })
    });
    let pipeline = || {
        let receiver = Receiver::read(&config, black_box(&signed[..])).unwrap();
        let receipt = rt.block_on(receiver.finish(&zone, None, now));
        assert!(receipt.passed());
        receipt
    };
    group.bench_function("rsa2048/pipeline", |b| {
        b.iter(|| {
            let receipt = pipeline();
            black_box(receipt.authentication_results().to_field());
        })
    });
    // The field alone, from the same receipt.
    let receipt = pipeline();
    group.bench_function("rsa2048/authentication_results", |b| {
        b.iter(|| black_box(black_box(&receipt).authentication_results().to_field()))
    });
    #[cfg(feature = "serde")]
    group.bench_function("rsa2048/pipeline+json", |b| {
        b.iter(|| {
            let receipt = pipeline();
            let mut json = Vec::with_capacity(4096);
            serde_json::to_writer(&mut json, &receipt).unwrap();
            black_box(json);
        })
    });
    group.finish();
}

/// ARC: validating a chain of three RSA-2048 sets over a 4 KB message, with and without the
/// oldest-pass search (two more signature checks).
fn arc(c: &mut Criterion) {
    use hanko::arc::{ArcConfig, ArcSealer, ArcVerifier, ChainStatus, SealRequest};
    let keys = keys();
    let rt = runtime();
    let validate = |message: &[u8], config: ArcConfig| {
        let (head, body) = split_message(message);
        let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
        let mut verifier = ArcVerifier::new(&headers, config);
        verifier.body(body);
        rt.block_on(verifier.finish(&keys.zone, 1_795_000_000))
    };
    let mut chain = message(4096);
    for _ in 0..3 {
        let status = validate(&chain, ArcConfig::default()).status();
        let (head, body) = split_message(&chain);
        let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
        let request = SealRequest::new(&keys.rsa, "example.com", "rsa").unwrap();
        let mut sealer = ArcSealer::new(&headers, request).unwrap();
        sealer.body(body);
        let set = sealer
            .finish(status, "mx.example.net; none", 1_795_000_000)
            .unwrap();
        let mut sealed = Vec::new();
        for field in set.fields() {
            sealed.extend_from_slice(field.raw());
            sealed.extend_from_slice(b"\r\n");
        }
        sealed.extend_from_slice(&chain);
        chain = sealed;
    }
    assert_eq!(
        validate(&chain, ArcConfig::default()).status(),
        ChainStatus::Pass
    );
    let mut group = c.benchmark_group("arc_validate_4KB");
    for (name, oldest_pass) in [("three_hops", false), ("three_hops+oldest_pass", true)] {
        group.bench_function(name, |b| {
            let config = ArcConfig {
                oldest_pass,
                ..ArcConfig::default()
            };
            b.iter(|| black_box(validate(black_box(&chain), config.clone())))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    dkim,
    receiver,
    arc,
    body_hashing,
    spf_dmarc_authres,
    crypto_floor
);
criterion_main!(benches);
