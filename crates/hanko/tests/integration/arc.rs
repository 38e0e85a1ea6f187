//! ARC (RFC 8617) through the public API: chains of one to three hops made by hanko's own
//! sealer, changed between hops the way mailing lists change mail, validated by the
//! receiver; and hostile chains, each a named `fail`.

use hanko::arc::{
    ArcConfig, ArcFailure, ArcFieldKind, ArcResult, ArcSealer, ArcVerifier, ChainStatus, SealError,
    SealRequest,
};
use hanko::dkim::{key_record_for, sign_message, SigningRequest};
use hanko::dns::StaticLookup;
use hanko::keys::{KeySpec, SigningKey};
use hanko::message::{split_message, Headers, MessageLimits};
use hanko::receiver::{Connection, Receiver, ReceiverConfig};

const NOW: u64 = 1_795_000_000;

struct World {
    author: SigningKey,
    lists: Vec<(SigningKey, String)>,
    dns: StaticLookup,
}

/// The author's domain signs with DKIM and publishes `p=reject`; three forwarders
/// (`list1.example` ...) seal, one with Ed25519.
fn world() -> World {
    let mut world = world_without_dmarc();
    world.dns = world
        .dns
        .with_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    world
}

/// [`world`] before the author's domain publishes a DMARC policy.
fn world_without_dmarc() -> World {
    let author = SigningKey::generate(KeySpec::Ed25519).unwrap();
    let mut dns = StaticLookup::new()
        .with_txt(
            "sel._domainkey.example.com",
            key_record_for(&author, &Default::default()).unwrap(),
        )
        .with_txt("example.com", "v=spf1 ip4:192.0.2.0/24 -all");
    let mut lists = Vec::new();
    for (i, spec) in [KeySpec::Rsa(2048), KeySpec::Ed25519, KeySpec::Rsa(2048)]
        .into_iter()
        .enumerate()
    {
        let key = SigningKey::generate(spec).unwrap();
        let domain = format!("list{}.example", i + 1);
        dns = dns.with_txt(
            &format!("arc._domainkey.{domain}"),
            key_record_for(&key, &Default::default()).unwrap(),
        );
        lists.push((key, domain));
    }
    World { author, lists, dns }
}

fn original(world: &World) -> Vec<u8> {
    let message = b"From: joe@example.com\r\nTo: list@list1.example\r\nSubject: plans\r\n\r\nSee you at noon.\r\n";
    let request = SigningRequest::new(&world.author, "example.com", "sel").unwrap();
    sign_message(message, vec![request], NOW).unwrap()
}

async fn validate(message: &[u8], dns: &StaticLookup) -> ArcResult {
    let (head, body) = split_message(message);
    let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
    let mut verifier = ArcVerifier::new(&headers, ArcConfig::default());
    verifier.body(body);
    verifier.finish(dns, NOW).await
}

/// One forwarder: validates the chain as received, changes the message as a list does
/// (`edit`: the first `from` becomes `to`), then seals with its own results.
async fn seal(
    world: &World,
    hop: usize,
    received: &[u8],
    edit: (&str, &str),
) -> Result<Vec<u8>, SealError> {
    let (key, domain) = &world.lists[hop];
    let chain = validate(received, &world.dns).await;
    let message = &change(received, edit.0, edit.1);
    let (head, body) = split_message(message);
    let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
    let mut sealer = ArcSealer::new(&headers, SealRequest::new(key, domain, "arc")?)?;
    sealer.body(body);
    let results = format!("mx.{domain}; arc={}", chain.status());
    let set = sealer.finish(chain.status(), &results, NOW)?;
    let mut out = Vec::new();
    for field in set.fields() {
        out.extend_from_slice(field.raw());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(message);
    Ok(out)
}

/// A forwarder that passes the message on unchanged.
const NO_EDIT: (&str, &str) = ("", "");

/// Replaces the first `from` in the message (a list's Subject tag, a footer).
fn change(message: &[u8], from: &str, to: &str) -> Vec<u8> {
    String::from_utf8(message.to_vec())
        .unwrap()
        .replacen(from, to, 1)
        .into_bytes()
}

#[tokio::test]
async fn chains_of_one_two_and_three_hops_validate_and_know_where_the_message_changed() {
    let world = world();
    let hop1 = seal(&world, 0, &original(&world), NO_EDIT).await.unwrap();
    let one = validate(&hop1, &world.dns).await;
    assert_eq!(
        (one.status(), one.oldest_pass),
        (ChainStatus::Pass, Some(1))
    );
    assert_eq!(one.sets[0].seal.domain(), Some("list1.example"));

    // The second list tags the Subject: the first hop's signature no longer verifies, the
    // chain still does.
    let hop2 = seal(
        &world,
        1,
        &hop1,
        ("Subject: plans", "Subject: [list] plans"),
    )
    .await
    .unwrap();
    let two = validate(&hop2, &world.dns).await;
    assert_eq!(
        (two.status(), two.oldest_pass),
        (ChainStatus::Pass, Some(2)),
        "{:?}",
        two.failure
    );
    assert!(two.sets[0].message_signature.failure().is_some());

    // The third adds a footer and seals: still a chain, unchanged since hop 3 only.
    let hop3 = seal(&world, 2, &hop2, ("noon.\r\n", "noon.\r\n-- \r\nlist3\r\n"))
        .await
        .unwrap();
    let three = validate(&hop3, &world.dns).await;
    assert_eq!(three.status(), ChainStatus::Pass, "{:?}", three.failure);
    assert_eq!(three.oldest_pass, Some(3));
    let seals: Vec<_> = three
        .sets
        .iter()
        .map(|s| s.seal.domain().unwrap())
        .collect();
    assert_eq!(seals, ["list1.example", "list2.example", "list3.example"]);

    // A fourth hop that changes the message and does not seal breaks the newest AMS.
    let tampered = change(&hop3, "list3\r\n", "list3, buy now\r\n");
    let broken = validate(&tampered, &world.dns).await;
    assert!(matches!(
        broken.failure,
        Some(ArcFailure::MessageSignature { instance: 3, .. })
    ));
}

#[tokio::test]
async fn the_receiver_writes_arc_with_oldest_pass_and_the_client() {
    let world = world();
    let hop1 = seal(&world, 0, &original(&world), NO_EDIT).await.unwrap();
    let hop2 = seal(&world, 1, &hop1, ("Subject: plans", "Subject: [x] plans"))
        .await
        .unwrap();
    let config = ReceiverConfig::new("mx.example.net");
    let connection = Connection {
        ip: "198.51.100.7".parse().unwrap(),
        helo: "list2.example",
        mail_from: "bounces@list2.example",
        received_field: None,
    };
    let receipt = Receiver::read(&config, &hop2[..])
        .unwrap()
        .finish(&world.dns, Some(connection), NOW)
        .await;
    let field = receipt.authentication_results();
    let arc = field.find("arc").expect("an arc= result");
    assert_eq!(arc.result, "pass");
    assert_eq!(arc.property("header.oldest-pass"), Some("2"));
    assert_eq!(arc.property("header.as-d"), Some("list2.example"));
    assert_eq!(arc.property("smtp.remote-ip"), Some("198.51.100.7"));
    // The Subject tag broke the author's signature: DMARC fails; ARC only reports.
    assert_eq!(receipt.dmarc.verdict.as_str(), "fail");
}

#[tokio::test]
async fn a_broken_chain_gets_a_cv_fail_set_and_nothing_after_it() {
    let world = world();
    let hop1 = seal(&world, 0, &original(&world), NO_EDIT).await.unwrap();
    // The first list's AAR is rewritten after it sealed: the seal breaks.
    let forged = change(&hop1, "arc=none", "arc=pass");
    let hop2 = seal(&world, 1, &forged, NO_EDIT).await.unwrap();
    let (head, _) = split_message(&hop2);
    assert!(String::from_utf8_lossy(head).contains("cv=fail"));
    let chain = validate(&hop2, &world.dns).await;
    assert_eq!(
        chain.failure,
        Some(ArcFailure::MarkedFailed { instance: 2 })
    );
    assert_eq!(
        seal(&world, 2, &hop2, NO_EDIT).await.unwrap_err(),
        SealError::ChainAlreadyFailed { instance: 2 }
    );
}

/// Variants of a one-hop chain, each broken one way, each a named failure.
#[tokio::test]
async fn hostile_sets_fail_by_name() {
    let world = world();
    let good = seal(&world, 0, &original(&world), NO_EDIT).await.unwrap();
    let text = String::from_utf8(good.clone()).unwrap();
    let seal_line = text.lines().next().unwrap().to_string();
    let aar_start = text.find("ARC-Authentication-Results:").unwrap();
    type Expected = fn(&ArcFailure) -> bool;
    let cases: Vec<(&str, String, Expected)> = vec![
        (
            "AAR without the others",
            format!(
                "ARC-Authentication-Results: i=1; x; none\r\n{}",
                &text[text.find("DKIM").unwrap()..]
            ),
            |f| {
                matches!(
                    f,
                    ArcFailure::Missing {
                        kind: ArcFieldKind::MessageSignature,
                        instance: 1
                    }
                )
            },
        ),
        (
            "a duplicate instance",
            format!("ARC-Authentication-Results: i=1; y; none\r\n{text}"),
            |f| {
                matches!(
                    f,
                    ArcFailure::Duplicate {
                        kind: ArcFieldKind::AuthenticationResults,
                        instance: 1
                    }
                )
            },
        ),
        (
            "a gap: instance 3 without 2",
            format!("{}{text}", "ARC-Authentication-Results: i=3; z; none\r\n"),
            |f| matches!(f, ArcFailure::Missing { instance: 2, .. }),
        ),
        ("i= above 50", text.replacen("i=1;", "i=51;", 1), |f| {
            matches!(f, ArcFailure::Instance { .. })
        }),
        (
            "a seal with junk",
            text.replacen(&seal_line, "ARC-Seal: i=1; \u{1}junk", 1),
            |f| {
                matches!(
                    f,
                    ArcFailure::Instance {
                        kind: ArcFieldKind::Seal,
                        ..
                    }
                )
            },
        ),
        (
            "a seal over a modified AAR",
            format!(
                "{}{}",
                &text[..aar_start],
                text[aar_start..].replacen("arc=none", "arc=pass", 1)
            ),
            |f| matches!(f, ArcFailure::Seal { instance: 1, .. }),
        ),
    ];
    for (name, message, expected) in cases {
        let result = validate(message.as_bytes(), &world.dns).await;
        assert_eq!(result.status(), ChainStatus::Fail, "{name}");
        let failure = result.failure.expect("a failure");
        assert!(expected(&failure), "{name}: {failure}");
        assert!(!failure.to_string().is_empty());
    }
}

/// Hundreds of ARC fields (the header section holds at most 1,000 fields) are refused before any is parsed, and a chain at the configured
/// instance limit is refused as a whole.
#[tokio::test]
async fn many_arc_fields_cost_one_count() {
    let world = world();
    let mut message = String::new();
    for i in 0..900 {
        message.push_str(&format!(
            "ARC-Seal: i={}; a=rsa-sha256; b=AAAA; cv=pass; d=x.example; s=s\r\n",
            i % 60 + 1
        ));
    }
    message.push_str("From: joe@example.com\r\n\r\nhi\r\n");
    let result = validate(message.as_bytes(), &world.dns).await;
    assert_eq!(
        result.failure,
        Some(ArcFailure::TooManyFields { count: 900 })
    );

    let good = seal(&world, 0, &original(&world), NO_EDIT).await.unwrap();
    let (head, body) = split_message(&good);
    let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
    let config = ArcConfig {
        max_instances: 0,
        ..ArcConfig::default()
    };
    let mut verifier = ArcVerifier::new(&headers, config);
    verifier.body(body);
    let refused = verifier.finish(&world.dns, NOW).await;
    assert_eq!(
        refused.failure,
        Some(ArcFailure::TooManyFields { count: 3 })
    );
}

/// The trust policy, table-driven: a chain that validates, sealed by a trusted list, whose
/// record says the author passed, overrides a DMARC failure under every policy; an untrusted
/// sealer or a broken chain never does.
#[tokio::test]
async fn only_a_valid_chain_from_a_trusted_sealer_overrides_dmarc() {
    use hanko::dmarc::{Policy, UnreadableAuthors};

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Chain {
        Trusted,
        Untrusted,
        Broken,
    }
    let world = world_without_dmarc();
    let (list_key, list_domain) = &world.lists[0];
    // The list received the author's message (DKIM passed, so did DMARC), tagged its
    // Subject, which breaks the author's signature, and sealed.
    let original = original(&world);
    let received = validate(&original, &world.dns).await;
    let edited = change(&original, "Subject: plans", "Subject: [list] plans");
    let (head, body) = split_message(&edited);
    let headers = Headers::parse(head, &MessageLimits::default()).unwrap();
    let mut sealer = ArcSealer::new(
        &headers,
        SealRequest::new(list_key, list_domain, "arc").unwrap(),
    )
    .unwrap();
    sealer.body(body);
    let results =
        "mx.list1.example; dkim=pass header.d=example.com; dmarc=pass header.from=example.com";
    let set = sealer.finish(received.status(), results, NOW).unwrap();
    let mut sealed = Vec::new();
    for field in set.fields() {
        sealed.extend_from_slice(field.raw());
        sealed.extend_from_slice(b"\r\n");
    }
    sealed.extend_from_slice(&edited);

    for policy in ["none", "quarantine", "reject"] {
        let dns = world
            .dns
            .clone()
            .with_txt("_dmarc.example.com", format!("v=DMARC1; p={policy}"));
        for chain in [Chain::Trusted, Chain::Untrusted, Chain::Broken] {
            let mut config = ReceiverConfig::new("mx.example.net");
            config.trusted_arc_sealers = match chain {
                Chain::Untrusted => vec!["google.com".into()],
                Chain::Trusted | Chain::Broken => vec![list_domain.to_uppercase()],
            };
            let message = match chain {
                Chain::Broken => change(&sealed, "noon.", "noon!"),
                _ => sealed.clone(),
            };
            let receipt = Receiver::read(&config, &message[..])
                .unwrap()
                .finish(&dns, None, NOW)
                .await;
            let case = format!("{chain:?} chain, p={policy}");
            assert_eq!(receipt.dmarc.verdict.as_str(), "fail", "{case}");
            let published = receipt.dmarc.enforced_policy(UnreadableAuthors::default());
            let enforced = receipt.enforced_policy(UnreadableAuthors::default());
            let field = receipt.authentication_results().to_field();
            if chain == Chain::Trusted {
                let forwarder = receipt.dmarc_override.as_ref().expect(&case);
                assert_eq!(
                    (forwarder.sealer.as_str(), forwarder.instance),
                    ("list1.example", 1)
                );
                assert_eq!(
                    forwarder.evidence, "dkim=pass header.d=example.com",
                    "{case}"
                );
                assert_eq!(enforced, Policy::None, "{case}");
                assert!(
                    field.contains("override trusted_forwarder"),
                    "{case}: {field}"
                );
            } else {
                assert!(receipt.dmarc_override.is_none(), "{case}");
                assert_eq!(enforced, published, "{case}");
                assert_eq!(published.as_str(), policy, "{case}");
                assert!(!field.contains("override"), "{case}");
            }
        }
    }
}
