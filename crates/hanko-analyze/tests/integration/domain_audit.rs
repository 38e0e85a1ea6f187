//! The SPF part of `hanko_analyze::domain::check_domain` on policies an evaluation would stop early in: an
//! audit follows every include and redirect, counts every DNS-querying term, catches loops
//! and does not follow macros. (The fixtures of `hanko check` are tested through the CLI.)

use hanko_analyze::domain::{check_domain, CheckConfig, Severity};
use hanko_dns::Zone;

async fn audit(zone: &str, domain: &str) -> hanko_analyze::domain::DomainCheck {
    let zone = Zone::parse(zone, "").unwrap();
    check_domain(&zone, domain, &CheckConfig::default()).await
}

fn messages(check: &hanko_analyze::domain::DomainCheck, severity: Severity) -> Vec<String> {
    check
        .findings
        .iter()
        .filter(|f| f.severity == severity)
        .map(|f| f.message.clone())
        .collect()
}

#[tokio::test]
async fn include_loops_are_caught_and_macros_are_not_followed() {
    let zone = r#"$ORIGIN loop.example.
@ IN TXT "v=spf1 include:a.loop.example exists:%{i}.rbl.example -all"
a IN TXT "v=spf1 include:loop.example -all"
"#;
    let check = audit(zone, "loop.example").await;
    let errors = messages(&check, Severity::Error);
    assert!(
        errors
            .iter()
            .any(|m| m.starts_with("include loop: loop.example is reached again")),
        "{errors:?}"
    );
    // include, the nested include, exists: three lookups counted, the macro not expanded.
    assert_eq!(check.spf.dns_lookups, 3);
}

#[tokio::test]
async fn redirect_is_followed_and_ptr_warned_once() {
    let zone = r#"$ORIGIN r.example.
@ IN TXT "v=spf1 ptr ptr:r.example redirect=_spf.r.example"
_spf IN TXT "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"
"#;
    let check = audit(zone, "r.example").await;
    let tree = check.spf.tree.as_ref().unwrap();
    assert_eq!(tree.children[0].via, "redirect");
    assert_eq!(check.spf.authorized, ["192.0.2.0/24", "2001:db8::/32"]);
    assert_eq!(check.spf.dns_lookups, 3);
    let warnings = messages(&check, Severity::Warning);
    assert_eq!(
        warnings.iter().filter(|m| m.contains("uses ptr")).count(),
        1,
        "{warnings:?}"
    );
    // A redirect's -all is the policy's end: no "no all" warning.
    assert!(
        !warnings.iter().any(|m| m.contains("no all")),
        "{warnings:?}"
    );
}

#[tokio::test]
async fn an_included_plus_all_passes_everyone() {
    let zone = r#"$ORIGIN open.example.
@ IN TXT "v=spf1 include:lax.open.example -all"
lax IN TXT "v=spf1 ip4:192.0.2.1 +all"
"#;
    let check = audit(zone, "open.example").await;
    let errors = messages(&check, Severity::Error);
    assert!(
        errors
            .iter()
            .any(|m| m == "lax.open.example, reached by include from open.example, has +all: every host on the Internet passes"),
        "{errors:?}"
    );
    // Under ~include the same +all passes no one: nothing to report.
    let zone = zone.replace("include:lax", "~include:lax");
    let check = audit(&zone, "open.example").await;
    assert!(!check
        .findings
        .iter()
        .any(|f| f.area == hanko_analyze::domain::Area::Spf && f.severity == Severity::Error));
}

#[tokio::test]
async fn a_probed_selector_delegated_to_nowhere_is_reported() {
    let zone = r#"$ORIGIN tenant.example.
@ IN TXT "v=spf1 -all"
selector1._domainkey IN CNAME selector1-tenant-example._domainkey.tenant.onmicrosoft.example.
"#;
    let zone = Zone::parse(zone, "").unwrap();
    let config = CheckConfig {
        probe_common_selectors: true,
        ..CheckConfig::default()
    };
    let check = check_domain(&zone, "tenant.example", &config).await;
    assert_eq!(check.dkim.len(), 1, "{:?}", check.dkim);
    assert_eq!(check.dkim[0].selector, "selector1");
    assert!(messages(&check, Severity::Error)
        .iter()
        .any(|m| m.starts_with("s=selector1: selector1._domainkey.tenant.example is a CNAME to")));
}

#[tokio::test]
async fn spf_audit_query_limit() {
    // 300 `a` terms, each naming a host with an address: the audit fetches the record and 99
    // address pairs, then stops querying (but still counts every term).
    let terms: Vec<String> = (0..300).map(|i| format!("a:h{i}.example.org")).collect();
    let hosts: String = (0..300)
        .map(|i| format!("h{i} IN A 10.0.{}.{}\n", i / 256, i % 256))
        .collect();
    let strings: Vec<String> = format!("v=spf1 {} -all", terms.join(" "))
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    let zone = Zone::parse(
        &format!(
            "$ORIGIN example.org.\n@ IN TXT ( {} )\n{hosts}",
            strings.join(" ")
        ),
        "",
    )
    .unwrap();
    let check =
        hanko_analyze::domain::check_domain(&zone, "example.org", &Default::default()).await;
    assert_eq!(hanko_analyze::domain::MAX_SPF_AUDIT_QUERIES, 100);
    assert_eq!(check.spf.authorized.len(), 99);
    assert_eq!(check.spf.dns_lookups, 300);
    assert!(check
        .findings
        .iter()
        .any(|f| f.message.contains("stopped querying after 100")));
}

#[tokio::test]
async fn an_idn_is_audited_under_its_a_labels() {
    // Records are published under A-labels (RFC 8616); a user types the U-labels, any case,
    // perhaps with the root's dot.
    let zone = r#"$ORIGIN xn--bcher-kva.example.
@ IN TXT "v=spf1 -all"
_dmarc IN TXT "v=DMARC1; p=reject"
"#;
    for typed in ["bücher.example", "Bücher.Example.", "xn--bcher-kva.example"] {
        let check = audit(zone, typed).await;
        assert_eq!(check.domain, "xn--bcher-kva.example", "{typed}");
        assert_eq!(
            check.spf.records,
            ["v=spf1 -all"],
            "{typed}: {:?}",
            check.findings
        );
    }
}

/// MTA-STS and TLS-RPT records: a valid pair, each broken one way, and MTA-STS without
/// TLS-RPT.
#[tokio::test]
async fn mta_sts_and_tls_rpt_records_are_checked() {
    // (records, case, the finding expected: severity and words; none for the good pair)
    type Case<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>);
    let cases: [Case; 6] = [
        (
            "_mta-sts IN TXT \"v=STSv1; id=20261206\"\n_smtp._tls IN TXT \"v=TLSRPTv1; rua=mailto:tls@good.example\"\n",
            "good",
            None,
        ),
        (
            "_mta-sts IN TXT \"v=STSv1; id=20261206\"\n",
            "no TLS-RPT",
            Some(("warning", "no TLS-RPT record at _smtp._tls.d.example")),
        ),
        (
            "_mta-sts IN TXT \"v=STSv1\"\n",
            "no id",
            Some(("error", "_mta-sts.d.example: no id= field")),
        ),
        (
            "_mta-sts IN TXT \"v=STSv1; id=1\"\n_mta-sts IN TXT \"v=STSv1; id=2\"\n",
            "two records",
            Some(("error", "_mta-sts.d.example has 2 records")),
        ),
        (
            "_smtp._tls IN TXT \"v=TLSRPTv1; rua=http://r.example/\"\n",
            "http rua",
            Some(("error", "neither mailto: addresses nor https: URLs")),
        ),
        (
            "_smtp._tls IN TXT \"v=TLSRPTv1\"\n",
            "no rua",
            Some(("error", "no rua= field")),
        ),
    ];
    for (records, name, expected) in cases {
        let zone = format!("$ORIGIN d.example.\n@ IN TXT \"v=spf1 -all\"\n{records}");
        let check = audit(&zone, "d.example").await;
        let transport: Vec<(&str, &str)> = check
            .findings
            .iter()
            .filter(|f| matches!(f.area.as_str(), "mta-sts" | "tls-rpt"))
            .filter(|f| f.severity != Severity::Note)
            .map(|f| (f.severity.as_str(), f.message.as_str()))
            .collect();
        match expected {
            None => {
                assert!(transport.is_empty(), "{name}: {transport:?}");
                assert_eq!(check.mta_sts.as_deref(), Some("v=STSv1; id=20261206"));
                assert!(check.tls_rpt.is_some());
            }
            Some((severity, text)) => assert!(
                transport
                    .iter()
                    .any(|(s, m)| *s == severity && m.contains(text)),
                "{name}: {transport:?}"
            ),
        }
    }
}
