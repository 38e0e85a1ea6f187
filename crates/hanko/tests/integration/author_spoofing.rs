//! A From the receiver cannot read in full must never hide a readable author's DMARC `fail`
//! (RFC 7489 §6.6.1, kept by RFC 9989: every author is evaluated and the strictest policy
//! applies). Each family below puts the victim, `bank.example` (`p=reject`), beside something
//! that cannot be evaluated, in several spellings and positions.

use hanko::dmarc::{self, DmarcProblem, DmarcVerdict, Identifiers, Policy, UnreadableAuthors};
use hanko::dns::StaticLookup;
use hanko::message::{Headers, MessageLimits};

fn dns() -> StaticLookup {
    StaticLookup::new()
        .with_txt("_dmarc.bank.example", "v=DMARC1; p=reject")
        .with_txt("_dmarc.testing.example", "v=DMARC1; p=reject; t=y")
}

fn headers(from_fields: &[String]) -> Headers {
    let mut section = String::new();
    for value in from_fields {
        section.push_str(&format!("From: {value}\r\n"));
    }
    section.push_str("Subject: pay now\r\n");
    Headers::parse(section.as_bytes(), &MessageLimits::default()).unwrap()
}

/// Things that cannot be evaluated, to stand beside the victim.
fn unreadable_co_authors() -> Vec<String> {
    vec![
        "x@[192.0.2.1]".into(),
        "x@[IPv6:2001:db8::1]".into(),
        "x@bad..example".into(),
        format!("x@{}.example", "a".repeat(64)),
        "x@xn--zz.example".into(),
    ]
}

/// Each way of writing the victim's address and a co-author into From: one field or two,
/// either order, a group.
fn layouts(victim: &str, other: &str) -> Vec<Vec<String>> {
    vec![
        vec![format!("{victim}, {other}")],
        vec![format!("{other}, {victim}")],
        vec![format!("Team: {victim}, {other};")],
        vec![victim.to_string(), other.to_string()],
        vec![other.to_string(), victim.to_string()],
        vec![victim.to_string(), "undisclosed-recipients:;".into()],
        vec!["Test User".into(), victim.to_string()],
    ]
}

#[tokio::test]
async fn a_failing_readable_author_decides_whatever_stands_beside_it() {
    let nothing = Identifiers::default().with_spf("attacker.example", true);
    let mut count = 0;
    for victim in [
        "ceo@bank.example",
        "CEO <ceo@BANK.example.>",
        "ceo@bank.example!",
    ] {
        for other in unreadable_co_authors() {
            for from in layouts(victim, &other) {
                let outcome = dmarc::check(&dns(), &headers(&from), &nothing).await;
                assert_eq!(outcome.verdict, DmarcVerdict::Fail, "{from:?}: {outcome:?}");
                assert_eq!(outcome.author_domain.as_deref(), Some("bank.example"));
                for setting in [
                    UnreadableAuthors::StrictestPolicy,
                    UnreadableAuthors::Reject,
                    UnreadableAuthors::Ignore,
                ] {
                    assert_eq!(
                        outcome.enforced_policy(setting),
                        Policy::Reject,
                        "{from:?} {setting:?}"
                    );
                }
                count += 1;
            }
        }
    }
    assert_eq!(count, 3 * 5 * 7);
}

#[tokio::test]
async fn an_unreadable_author_beside_a_passing_one_is_a_permerror_under_its_policy() {
    let aligned = Identifiers::default().with_dkim("bank.example", true);
    for other in unreadable_co_authors() {
        let from = vec![format!("ceo@bank.example, {other}")];
        let outcome = dmarc::check(&dns(), &headers(&from), &aligned).await;
        assert_eq!(outcome.verdict, DmarcVerdict::PermError, "{from:?}");
        assert!(!outcome.unreadable_authors.is_empty());
        assert_eq!(
            outcome.enforced_policy(UnreadableAuthors::StrictestPolicy),
            Policy::Reject,
            "the unreadable author may be anyone: bank.example's policy applies"
        );
        assert_eq!(
            outcome.enforced_policy(UnreadableAuthors::Ignore),
            Policy::None
        );
    }
    // Testing mode lowers what applies to the unreadable author one step, as it would a fail.
    let aligned = Identifiers::default().with_dkim("testing.example", true);
    let from = vec!["a@testing.example, x@[192.0.2.1]".to_string()];
    let outcome = dmarc::check(&dns(), &headers(&from), &aligned).await;
    assert_eq!(
        outcome.enforced_policy(UnreadableAuthors::StrictestPolicy),
        Policy::Quarantine
    );
}

#[tokio::test]
async fn too_many_author_domains_are_not_looked_up_and_count_as_reject() {
    let nothing = Identifiers::default();
    for position in [0, 5, 10] {
        let mut authors: Vec<String> = (0..10).map(|i| format!("a@d{i}.example")).collect();
        authors.insert(position, "ceo@bank.example".into());
        let outcome = dmarc::check(&dns(), &headers(&[authors.join(", ")]), &nothing).await;
        assert_eq!(outcome.verdict, DmarcVerdict::PermError);
        assert_eq!(
            outcome.problem,
            Some(DmarcProblem::TooManyAuthorDomains(11))
        );
        assert_eq!(outcome.dns_queries, 0);
        assert_eq!(
            outcome.enforced_policy(UnreadableAuthors::StrictestPolicy),
            Policy::Reject
        );
        assert_eq!(
            outcome.enforced_policy(UnreadableAuthors::Ignore),
            Policy::None
        );
    }
}

#[tokio::test]
async fn a_from_nobody_can_read_gets_no_policy_unless_asked_to_reject() {
    for from in [
        vec![],
        vec!["Test User".to_string()],
        vec!["undisclosed-recipients:;".to_string()],
        vec!["x@[192.0.2.1]".to_string()],
    ] {
        let outcome = dmarc::check(&dns(), &headers(&from), &Identifiers::default()).await;
        assert_eq!(outcome.verdict, DmarcVerdict::PermError, "{from:?}");
        assert!(outcome.evaluations.is_empty());
        assert_eq!(
            outcome.enforced_policy(UnreadableAuthors::StrictestPolicy),
            Policy::None
        );
        assert_eq!(
            outcome.enforced_policy(UnreadableAuthors::Reject),
            Policy::Reject
        );
    }
}

#[tokio::test]
async fn a_bare_cr_cannot_hide_a_from_field() {
    // Readers end a line at a bare CR: what follows it is a field to them, so it is one here.
    let nothing = Identifiers::default().with_spf("attacker.example", true);
    for carrier in [
        "X-Note: hi\rFrom: ceo@bank.example",
        "Subject: invoice\rFROM:ceo@bank.example",
        "X-Note: hi\r\rFrom: ceo@bank.example",
        "X-Note: hi\rFrom : ceo@bank.example",
        "X-Note: a\rX-Other: b\rFrom: ceo@bank.example",
        "Comments: folded\r\n more\rFrom: ceo@bank.example",
    ] {
        let section = format!("{carrier}\r\nFrom: x@attacker.example\r\nSubject: hi\r\n");
        let headers = Headers::parse(section.as_bytes(), &MessageLimits::default()).unwrap();
        let froms = headers.named("From").count();
        assert_eq!(froms, 2, "{carrier:?}: {headers:?}");
        let outcome = dmarc::check(&dns(), &headers, &nothing).await;
        assert_eq!(outcome.verdict, DmarcVerdict::Fail, "{carrier:?}");
        assert!(outcome.multiple_from_fields);
    }
    // A bare CR before white space or text that starts no field hides nothing.
    for value in ["X-Note: a\r b", "X-Note: a\rnot a field", "X-Note: a\r: b"] {
        let section = format!("{value}\r\nFrom: x@attacker.example\r\n");
        let headers = Headers::parse(section.as_bytes(), &MessageLimits::default()).unwrap();
        assert_eq!(headers.len(), 2, "{value:?}");
    }
}

#[tokio::test]
async fn a_from_of_fifty_thousand_broken_addresses_is_read_in_one_pass() {
    // Close to the 1 MiB header limit, every address broken so that the whole field is
    // salvaged: reading it is linear (a quadratic salvage took minutes at this size), and
    // none of the author domains is looked up.
    let n = 50_000;
    let broken: String = (0..n).map(|i| format!("a@d{i}.example) ")).collect();
    assert_eq!(hanko::message::salvage_mailboxes(&broken).len(), n);
    let outcome = dmarc::check(&dns(), &headers(&[broken]), &Identifiers::default()).await;
    assert!(outcome
        .unreadable_authors
        .contains(&DmarcProblem::TooManyAuthorDomains(n)));
    assert_eq!(outcome.dns_queries, 0);
    assert_eq!(
        outcome.enforced_policy(UnreadableAuthors::StrictestPolicy),
        Policy::Reject
    );
}

#[tokio::test]
async fn a_from_that_does_not_parse_is_rejected_whatever_was_salvaged_from_it() {
    // Readers disagree on what a broken From says: the address salvaged here may be the
    // attacker's aligned, passing one while a reader shows the victim's. The field is
    // unreadable, so the strictest policy applies, even when every salvaged author passes.
    let dns = dns().with_txt("_dmarc.attacker.example", "v=DMARC1; p=none");
    let passing = Identifiers::default().with_spf("attacker.example", true);
    let broken = [
        "x@attacker.example <ceo@bank.example",
        "ceo@bank.example) x@attacker.example",
        "\"CEO <ceo@bank.example> x@attacker.example",
        "x@attacker.example (ceo@bank.example",
        "x@attacker.example; ceo@bank.example",
        "CEO <ceo@bank.example>> x@attacker.example",
        "x@attacker.example.(b)))z<bank.example",
        "ceo@bank.example <",
        "@",
        "x@attacker.example, ceo@",
        // Domain literals that RFC 5322 allows to hold `@`, where readers split an address.
        "x@[@bank.example]",
        "x@attacker.example, y@[@bank.example, z]",
        // One that runs on over `[`, which dtext excludes.
        "x@attacker.example, y@[a[b ,ceo@bank.example]",
    ];
    for from in broken {
        let outcome = dmarc::check(&dns, &headers(&[from.to_string()]), &passing).await;
        assert!(
            outcome
                .unreadable_authors
                .iter()
                .any(|p| matches!(p, DmarcProblem::UnparseableFrom(_))),
            "{from:?}: {outcome:?}"
        );
        assert_ne!(outcome.verdict, DmarcVerdict::Pass, "{from:?}");
        assert_eq!(
            outcome.enforced_policy(UnreadableAuthors::StrictestPolicy),
            Policy::Reject,
            "{from:?}"
        );
    }
    // The same addresses written correctly are read, and the passing author passes.
    for from in [
        "x@attacker.example",
        "Attacker <x@attacker.example>",
        "\"x@attacker.example (ceo@bank.example\" <x@attacker.example>",
        "x@attacker.example (ceo@bank.example)",
    ] {
        let outcome = dmarc::check(&dns, &headers(&[from.to_string()]), &passing).await;
        assert!(
            outcome.unreadable_authors.is_empty(),
            "{from:?}: {outcome:?}"
        );
        assert_eq!(outcome.verdict, DmarcVerdict::Pass, "{from:?}");
    }
}
