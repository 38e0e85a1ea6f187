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
    assert_eq!(dns.txt("hello.example.com").await, Ok(vec![b"ab".to_vec()]));
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
    let txt = dns.txt("big._domainkey.example.com").await.unwrap();
    let zone = Zone::parse(&zone_text(), "").unwrap();
    let expected = zone.txt("big._domainkey.example.com").await.unwrap();
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
    assert_eq!(
        dns.txt("selector1._domainkey.example.com").await,
        Ok(vec![b"v=DKIM1; p=".to_vec()])
    );
    // The chain is reported in order, from the answer section of the real response.
    let answer = dns
        .txt_with_aliases("selector1._domainkey.example.com")
        .await
        .unwrap();
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
            .txt_with_aliases("selector1._domainkey.example.com")
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
    let kept_parse =
        |records: &hanko::dns::TxtRecords| records[0].parsed(|_| Err::<Arc<usize>, _>(()));
    for name in ["kept.example.com", "brief.example.com"] {
        let first = dns.txt_records(name).await.unwrap();
        let parsed = first[0].parsed(|t| Ok::<_, ()>(Arc::new(t.len()))).unwrap();
        // Asked again (in another spelling, or with its CNAME chain): the same records, and
        // what was parsed from them.
        let again = dns.txt_records(&name.to_uppercase()).await.unwrap();
        assert!(Arc::ptr_eq(&parsed, &kept_parse(&again).unwrap()), "{name}");
        let answer = dns.txt_with_aliases(&format!("{name}.")).await.unwrap();
        assert!(
            Arc::ptr_eq(&parsed, &kept_parse(&answer.records).unwrap()),
            "{name}"
        );
        assert_eq!(dns.txt(name).await.unwrap(), [first[0].text()]);
    }
    // Once the TTL has run out the name is asked for again, and the new records start empty.
    let asked = server.queries();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = dns.txt_records("brief.example.com").await.unwrap();
    assert_eq!(later[0].text(), b"v=spf1 ~all");
    assert!(kept_parse(&later).is_err(), "a new answer, parsed anew");
    assert!(server.queries() > asked);
    let kept = dns.txt_records("kept.example.com").await.unwrap();
    assert!(kept_parse(&kept).is_ok(), "a 300 s answer is still kept");
}
