//! The network path: hickory-resolver against the loopback test server.

use std::time::{Duration, Instant};

use hanko::dns::{DnsError, Lookup};
use hanko_dns::server::{Fault, ServerConfig, TestServer};
use hanko_dns::{Resolver, ResolverSettings, Zone};

const BASE_ZONE: &str = r#"$ORIGIN example.com.
$TTL 300
@            IN MX 10 mx
mx           IN A 192.0.2.25
             IN AAAA 2001:db8::25
selector1._domainkey IN CNAME selector1-example-com._domainkey.tenant.example.net.
slow         IN TXT "never"
broken       IN TXT "servfail"
hello        IN TXT "a" "b"
1.2.0.192.in-addr.arpa. IN PTR mx.example.com.
$ORIGIN tenant.example.net.
selector1-example-com._domainkey IN CNAME final._domainkey
final._domainkey IN TXT "v=DKIM1; p="
"#;

/// The base zone plus a key record of four 250-octet strings, too big for a UDP answer.
fn zone_text() -> String {
    let strings: Vec<String> = ["A", "B", "C", "D"]
        .iter()
        .map(|c| format!("\"{}\"", c.repeat(250)))
        .collect();
    format!(
        "{BASE_ZONE}$ORIGIN example.com.\nbig._domainkey IN TXT ( \"v=DKIM1; k=rsa; \"\n {} )\n",
        strings.join("\n ")
    )
}

async fn setup() -> (TestServer, Resolver) {
    let zone = Zone::parse(&zone_text(), "").expect("zone parses");
    let config = ServerConfig::new(zone)
        .with_fault("slow.example.com", Fault::NoAnswer)
        .with_fault("broken.example.com", Fault::ServFail);
    let server = TestServer::start(config).await.expect("server starts");
    let resolver = Resolver::new(&ResolverSettings {
        nameservers: vec![server.addr()],
        timeout: Duration::from_secs(1),
        ..Default::default()
    })
    .expect("resolver");
    (server, resolver)
}

#[tokio::test]
async fn record_types_and_multi_string_txt() {
    let (_server, dns) = setup().await;
    let hello = dns.txt("hello.example.com").await.map(|a| a.texts());
    assert_eq!(hello, Ok(vec![b"ab".to_vec()]));
    assert_eq!(
        dns.a("mx.example.com").await,
        Ok(vec!["192.0.2.25".parse().unwrap()])
    );
    assert_eq!(
        dns.aaaa("mx.example.com").await,
        Ok(vec!["2001:db8::25".parse().unwrap()])
    );
    let mx = dns.mx("example.com").await.unwrap();
    assert_eq!(
        (mx[0].preference, mx[0].exchange.as_str()),
        (10, "mx.example.com")
    );
    assert_eq!(
        dns.ptr("192.0.2.1".parse().unwrap()).await,
        Ok(vec!["mx.example.com".to_string()])
    );
}

#[tokio::test]
async fn truncated_udp_answer_is_fetched_over_tcp() {
    let (_server, dns) = setup().await;
    let txt = dns.txt("big._domainkey.example.com").await.unwrap().texts();
    let zone = Zone::parse(&zone_text(), "").unwrap();
    let expected = zone
        .txt("big._domainkey.example.com")
        .await
        .unwrap()
        .texts();
    assert!(
        expected[0].len() > 512,
        "the record must not fit a 512-octet UDP answer"
    );
    assert_eq!(txt, expected);
    assert!(txt[0].starts_with(b"v=DKIM1; k=rsa; AAAA"));
    assert!(txt[0].ends_with(b"DDDD"));
}

#[tokio::test]
async fn cname_chain_across_zones_is_followed() {
    let (_server, dns) = setup().await;
    // The chain is reported in order, from the answer section of the real response.
    let answer = dns.txt("selector1._domainkey.example.com").await.unwrap();
    assert_eq!(answer.texts(), [b"v=DKIM1; p="]);
    assert_eq!(
        answer.aliases,
        [
            "selector1-example-com._domainkey.tenant.example.net",
            "final._domainkey.tenant.example.net"
        ]
    );
    // The same zone read offline reports the same chain.
    assert_eq!(
        Zone::parse(&zone_text(), "")
            .unwrap()
            .txt("selector1._domainkey.example.com")
            .await
            .unwrap()
            .aliases,
        answer.aliases
    );
}

#[tokio::test]
async fn nxdomain_and_nodata_are_told_apart() {
    let (_server, dns) = setup().await;
    assert_eq!(
        dns.txt("nothing.example.com").await,
        Err(DnsError::NxDomain)
    );
    assert_eq!(dns.txt("mx.example.com").await, Err(DnsError::NoRecords));
}

#[tokio::test]
async fn silent_server_times_out_within_the_budget() {
    let (_server, dns) = setup().await;
    let started = Instant::now();
    let result = dns.txt("slow.example.com").await;
    assert_eq!(result, Err(DnsError::Timeout));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn servfail_is_a_server_failure() {
    let (_server, dns) = setup().await;
    let result = dns.txt("broken.example.com").await;
    assert!(
        matches!(result, Err(DnsError::ServerFailure(_))),
        "{result:?}"
    );
    assert!(result.unwrap_err().is_temporary());
}

#[tokio::test]
async fn answers_are_cached_within_their_ttl() {
    let (server, dns) = setup().await;
    dns.txt("hello.example.com").await.unwrap();
    let after_first = server.queries();
    dns.txt("hello.example.com").await.unwrap();
    assert_eq!(
        server.queries(),
        after_first,
        "second lookup must come from the cache"
    );
}

#[tokio::test]
async fn txt_answers_are_kept_as_shared_records_until_their_ttl_runs_out() {
    use std::sync::Arc;
    let zone = Zone::parse(
        "$ORIGIN example.com.\nkept 300 IN TXT \"v=spf1 -all\"\nbrief 1 IN TXT \"v=spf1 ~all\"\n",
        "",
    )
    .unwrap();
    let server = TestServer::start(ServerConfig::new(zone)).await.unwrap();
    let dns = Resolver::new(&ResolverSettings {
        nameservers: vec![server.addr()],
        timeout: Duration::from_secs(1),
        ..Default::default()
    })
    .unwrap();
    for name in ["kept.example.com", "brief.example.com"] {
        let first = dns.txt(name).await.unwrap();
        let parsed = first.records[0].spf_policy().unwrap();
        // Asked again (in another spelling, with a trailing dot): the same records, and
        // what was parsed from them.
        for spelling in [name.to_uppercase(), format!("{name}.")] {
            let again = dns.txt(&spelling).await.unwrap();
            assert!(again.records[0].is_parsed(), "{spelling}");
            let kept = again.records[0].spf_policy().unwrap();
            assert!(Arc::ptr_eq(&parsed, &kept), "{spelling}");
        }
    }
    // Once the TTL has run out the name is asked for again, and the new records start empty.
    let asked = server.queries();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = dns.txt("brief.example.com").await.unwrap();
    assert_eq!(later.records[0].text(), b"v=spf1 ~all");
    assert!(!later.records[0].is_parsed(), "a new answer, parsed anew");
    assert!(server.queries() > asked);
    let kept = dns.txt("kept.example.com").await.unwrap();
    assert!(kept.records[0].is_parsed(), "a 300 s answer is still kept");
}

/// A resolver of `settings` (its nameserver set to `server`).
fn resolver_for(server: &TestServer, settings: ResolverSettings) -> Resolver {
    Resolver::new(&ResolverSettings {
        nameservers: vec![server.addr()],
        timeout: Duration::from_secs(1),
        ..settings
    })
    .unwrap()
}

#[tokio::test]
async fn negative_answers_are_kept_for_the_soa_negative_ttl() {
    // With an SOA in each negative answer (RFC 2308): NXDOMAIN and "no records of this
    // type" are each asked once, whatever the query type and however often they are read.
    let zone = Zone::parse(&zone_text(), "").unwrap();
    let server = TestServer::start(ServerConfig::new(zone).with_negative_ttl(300))
        .await
        .unwrap();
    let dns = resolver_for(&server, ResolverSettings::default());
    for _ in 0..5 {
        assert_eq!(
            dns.txt("nothing.example.com").await,
            Err(DnsError::NxDomain)
        );
        assert_eq!(dns.txt("mx.example.com").await, Err(DnsError::NoRecords));
        assert_eq!(dns.a("nothing.example.com").await, Err(DnsError::NxDomain));
        assert_eq!(dns.cname("mx.example.com").await, Ok(None));
    }
    assert_eq!(server.queries(), 4, "four questions, each asked once");

    // A short SOA negative TTL runs out, and the name is asked again.
    let zone = Zone::parse(&zone_text(), "").unwrap();
    let server = TestServer::start(ServerConfig::new(zone).with_negative_ttl(1))
        .await
        .unwrap();
    let dns = resolver_for(&server, ResolverSettings::default());
    dns.txt("nothing.example.com").await.unwrap_err();
    dns.txt("nothing.example.com").await.unwrap_err();
    assert_eq!(server.queries(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    dns.txt("nothing.example.com").await.unwrap_err();
    assert_eq!(server.queries(), 2);
}

#[tokio::test]
async fn negative_answers_without_an_soa_are_kept_for_the_configured_time() {
    let (server, _) = setup().await;
    let dns = resolver_for(
        &server,
        ResolverSettings {
            negative_ttl: Duration::from_secs(1),
            ..Default::default()
        },
    );
    let asked = server.queries();
    for _ in 0..3 {
        assert_eq!(
            dns.txt("nothing.example.com").await,
            Err(DnsError::NxDomain)
        );
    }
    assert_eq!(server.queries(), asked + 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    dns.txt("nothing.example.com").await.unwrap_err();
    assert_eq!(server.queries(), asked + 2);
}

#[tokio::test]
async fn failures_that_may_pass_are_asked_again() {
    let (server, dns) = setup().await;
    let mut asked = server.queries();
    for _ in 0..3 {
        let result = dns.txt("broken.example.com").await;
        assert!(
            matches!(result, Err(DnsError::ServerFailure(_))),
            "{result:?}"
        );
        assert!(server.queries() > asked, "a SERVFAIL is not kept");
        asked = server.queries();
    }
}

#[tokio::test]
async fn a_question_already_on_the_wire_is_not_asked_again() {
    // Fifty messages of one domain at once: one query per name, every caller answered.
    let zone = Zone::parse(&zone_text(), "").unwrap();
    let config = ServerConfig::new(zone)
        .with_fault(
            "hello.example.com",
            Fault::Delay(Duration::from_millis(200)),
        )
        .with_fault(
            "nothing.example.com",
            Fault::Delay(Duration::from_millis(200)),
        );
    let server = TestServer::start(config).await.unwrap();
    let dns = resolver_for(&server, ResolverSettings::default());
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..50 {
        let dns = dns.clone();
        tasks.spawn(async move {
            if n % 2 == 0 {
                let answer = dns.txt("hello.example.com").await.map(|a| a.texts());
                assert_eq!(answer, Ok(vec![b"ab".to_vec()]));
            } else {
                let answer = dns.txt("nothing.example.com").await;
                assert_eq!(answer, Err(DnsError::NxDomain));
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    assert_eq!(server.queries(), 2, "two names, two queries");
    assert_eq!(dns.cached_answers(), 2);
}

#[tokio::test]
async fn the_resolver_keeps_at_most_cache_size_answers() {
    let (server, _) = setup().await;
    let dns = resolver_for(
        &server,
        ResolverSettings {
            cache_size: 3,
            ..Default::default()
        },
    );
    for n in 0..20 {
        dns.txt(&format!("host{n}.example.com")).await.unwrap_err();
        assert!(dns.cached_answers() <= 3, "{}", dns.cached_answers());
    }
    // Nothing kept: every question is asked.
    let none = resolver_for(
        &server,
        ResolverSettings {
            cache_size: 0,
            ..Default::default()
        },
    );
    let asked = server.queries();
    for _ in 0..3 {
        assert_eq!(
            none.txt("hello.example.com").await.unwrap().texts(),
            [b"ab"]
        );
    }
    assert_eq!(server.queries(), asked + 3);
}
