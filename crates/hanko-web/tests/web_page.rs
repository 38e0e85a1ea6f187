//! `hanko serve`'s page over real HTTP on loopback: the form in both languages, the report
//! after a paste or an uploaded file, the JSON API, and the limits (request size, analysis
//! time) answered with pages that say which limit was hit. The browser test drives the same
//! server from headless Chromium.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hanko::dns::{Lookup, LookupFuture, Mx};
use hanko_dns::Zone;
use hanko_web::ServeConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn examples(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(relative)
}

async fn start(config: ServeConfig, lookup: Option<Arc<dyn Lookup>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(hanko_web::serve_on(listener, config, lookup));
    addr
}

fn zone() -> Arc<dyn Lookup> {
    let mut zone = Zone::new();
    zone.add_file(&examples("example.com.zone")).unwrap();
    zone.add_file(&examples("analyze/example.org.zone"))
        .unwrap();
    Arc::new(zone)
}

/// One HTTP/1.1 request; returns the status and the body.
async fn request(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut bytes = format!(
        "{head}\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    // The server may answer (413) before reading everything; a reset then is fine.
    let _ = stream.write_all(&bytes).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn multipart(fields: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "hankoBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, filename, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: message/rfc822\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts the page's form (multipart) to `target`.
async fn post_form(
    addr: SocketAddr,
    target: &str,
    fields: &[(&str, Option<&str>, &[u8])],
) -> (u16, String) {
    let (content_type, body) = multipart(fields);
    request(
        addr,
        &format!("POST {target} HTTP/1.1\r\nContent-Type: {content_type}"),
        &body,
    )
    .await
}

#[tokio::test]
async fn the_form_speaks_the_browsers_language() {
    let addr = start(ServeConfig::default(), Some(zone())).await;
    let (status, page) = request(addr, "GET / HTTP/1.1\r\nAccept-Language: ja,en;q=0.5", b"").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"<html lang="ja">"#));
    assert!(page.contains("メッセージまたはヘッダーを貼り付け"));
    let (_, page) = request(addr, "GET /?lang=en HTTP/1.1\r\nAccept-Language: ja", b"").await;
    assert!(page.contains("Paste a message or its headers"));
}

#[tokio::test]
async fn a_pasted_message_and_an_uploaded_file_get_the_report() {
    let addr = start(ServeConfig::default(), Some(zone())).await;
    let message = std::fs::read(examples("analyze/mailing-list.eml")).unwrap();
    let (status, page) = post_form(
        addr,
        "/",
        &[("message", None, &message), ("lang", None, b"en")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"<span class="badge fail">fail</span>"#));
    assert!(page.contains("156 octets were appended"));
    assert_eq!(page.matches(r#"class="hop-bar""#).count(), 3);
    // The list's ARC set: one row, sealed by the list, both signatures verifying.
    let chain = &page[page
        .find(r#"<table id="arc-chain">"#)
        .expect("the ARC table")..];
    let chain = &chain[..chain.find("</table>").unwrap()];
    assert!(chain.contains("lists.example.org"), "{chain}");
    assert_eq!(
        chain
            .matches(r#"<span class="badge pass">pass</span>"#)
            .count(),
        2
    );
    // The same message as a file, in Japanese, offline.
    let (status, page) = post_form(
        addr,
        "/",
        &[
            ("message", None, b""),
            ("file", Some("list.eml"), &message),
            ("offline", None, b"1"),
            ("lang", None, b"ja"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"<span class="badge unverified">unverified</span>"#));
    assert!(page.contains("オフラインのため検証していません"));
    assert!(!page.contains(r#"id="checks""#));
}

#[tokio::test]
async fn the_paste_comes_back_in_the_form_as_text() {
    let addr = start(ServeConfig::default(), None).await;
    let paste = b"\r\nSubject: </textarea><script>alert(1)</script>\r\nFrom: a@example.com\r\n";
    let (status, page) = post_form(addr, "/?lang=en", &[("message", None, paste)]).await;
    assert_eq!(status, 200);
    assert!(!page.contains("<script>alert"), "{page}");
    // The leading line break survives the textarea's parsing rule; CRLF becomes LF.
    assert!(page.contains(
        "\">\n\nSubject: &lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;\nFrom: a@example.com\n</textarea>"
    ));
    // A chosen file is not put back into the paste box.
    let (_, page) = post_form(
        addr,
        "/?lang=en",
        &[("message", None, b""), ("file", Some("m.eml"), paste)],
    )
    .await;
    assert!(page.contains("From: ...\"></textarea>"));
}

#[tokio::test]
async fn the_api_returns_json_and_bad_input_still_gets_a_report() {
    let addr = start(ServeConfig::default(), Some(zone())).await;
    let message = std::fs::read(examples("analyze/gmail.eml")).unwrap();
    let (status, body) = request(addr, "POST /api/analyze HTTP/1.1", &message).await;
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["summary"]["verdict"]["status"], "pass");
    let junk: Vec<u8> = (0..50_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let (status, body) = request(addr, "POST /api/analyze?offline=1 HTTP/1.1", &junk).await;
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["summary"]["verdict"]["status"], "unverified");
    let (status, page) = post_form(addr, "/?lang=en", &[("message", None, b"   ")]).await;
    assert_eq!(status, 400);
    assert!(page.contains("Nothing to analyze"));
}

#[tokio::test]
async fn a_message_over_the_size_limit_is_refused_with_a_clear_message() {
    let config = ServeConfig {
        max_message_bytes: 1024 * 1024,
        ..ServeConfig::default()
    };
    let addr = start(config, Some(zone())).await;
    let big = vec![b'a'; 2 * 1024 * 1024];
    let (status, body) = request(addr, "POST /api/analyze HTTP/1.1", &big).await;
    assert_eq!(status, 413);
    assert!(body.contains("larger than 1 MB"), "{body}");
    let (status, page) = post_form(
        addr,
        "/?lang=ja",
        &[("lang", None, b"ja"), ("message", None, &big)],
    )
    .await;
    assert_eq!(status, 413);
    assert!(page.contains("上限 1 MB"), "{page}");
}

/// DNS that never answers.
struct Silent;

fn never<'a, T: Send + 'a>() -> LookupFuture<'a, T> {
    LookupFuture::new(std::future::pending())
}

impl Lookup for Silent {
    fn txt<'a>(&'a self, _: &'a str) -> LookupFuture<'a, hanko::dns::TxtAnswer> {
        never()
    }
    fn a<'a>(&'a self, _: &'a str) -> LookupFuture<'a, Vec<Ipv4Addr>> {
        never()
    }
    fn aaaa<'a>(&'a self, _: &'a str) -> LookupFuture<'a, Vec<Ipv6Addr>> {
        never()
    }
    fn mx<'a>(&'a self, _: &'a str) -> LookupFuture<'a, Vec<Mx>> {
        never()
    }
    fn ptr<'a>(&'a self, _: IpAddr) -> LookupFuture<'a, Vec<String>> {
        never()
    }
}

#[tokio::test]
async fn an_analysis_over_the_time_limit_is_stopped() {
    let config = ServeConfig {
        analysis_timeout: Duration::from_millis(300),
        ..ServeConfig::default()
    };
    let addr = start(config, Some(Arc::new(Silent))).await;
    let message = std::fs::read(examples("analyze/gmail.eml")).unwrap();
    let (status, body) = request(addr, "POST /api/analyze HTTP/1.1", &message).await;
    assert_eq!(status, 503);
    assert!(body.contains("took longer than 0.3 s"), "{body}");
    // Offline needs no DNS and is not stopped.
    let (status, _) = request(addr, "POST /api/analyze?offline=1 HTTP/1.1", &message).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyses_beyond_the_cap_wait_for_a_place() {
    // One place: an analysis stuck on DNS that never answers holds it until its time limit;
    // a second one waits for the place (and gets it), it does not run beside the first.
    let config = ServeConfig {
        analysis_timeout: Duration::from_secs(2),
        max_concurrent_analyses: 1,
        ..ServeConfig::default()
    };
    let addr = start(config, Some(Arc::new(Silent))).await;
    let message = std::fs::read(examples("analyze/gmail.eml")).unwrap();
    let stuck = {
        let message = message.clone();
        tokio::spawn(async move {
            let answer = request(addr, "POST /api/analyze HTTP/1.1", &message).await;
            (answer, tokio::time::Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, _) = request(addr, "POST /api/analyze?offline=1 HTTP/1.1", &message).await;
    let second_done = tokio::time::Instant::now();
    let ((stuck_status, _), stuck_done) = stuck.await.unwrap();
    assert_eq!(stuck_status, 503);
    assert_eq!(status, 200);
    assert!(second_done >= stuck_done, "the second ran beside the first");
}

/// A raw HTTP/1.1 exchange: `request` as written (headers and body), the whole response.
async fn raw(addr: SocketAddr, request: String) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request.as_bytes()).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let addr = start(ServeConfig::default(), None).await;
    let message = std::fs::read(examples("analyze/gmail.eml")).unwrap();
    for request in [
        format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
        format!("GET /drop.js HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
        format!(
            "POST /api/analyze HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            message.len(),
            String::from_utf8_lossy(&message)
        ),
    ] {
        let response = raw(addr, request.clone()).await.to_ascii_lowercase();
        let head = response.split("\r\n\r\n").next().unwrap();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        for header in [
            "content-security-policy: default-src 'none'; script-src 'self';",
            "frame-ancestors 'none'",
            "x-content-type-options: nosniff",
            "referrer-policy: same-origin",
            "cache-control: no-store",
        ] {
            assert!(head.contains(header), "{header} missing: {head}");
        }
    }
    // The page loads its one script from its own origin; no inline script is left.
    let page = raw(
        addr,
        format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(page.contains("<script src=\"/drop.js\"></script>"));
    assert!(!page.contains("<script>"));
}

#[tokio::test]
async fn posts_from_other_sites_are_refused() {
    let addr = start(ServeConfig::default(), None).await;
    let post = |extra: &str| {
        format!(
            "POST /api/analyze?offline=1 HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Length: 17\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nSubject: hello\r\n\r\n"
        )
    };
    for extra in [
        "Origin: http://evil.example\r\n".to_string(),
        "Origin: null\r\n".to_string(),
        format!("Origin: http://{addr}.evil.example\r\n"),
        "Sec-Fetch-Site: cross-site\r\n".to_string(),
        "Sec-Fetch-Site: same-site\r\n".to_string(),
        format!("Origin: http://{addr}\r\nSec-Fetch-Site: cross-site\r\n"),
    ] {
        let response = raw(addr, post(&extra)).await;
        assert!(
            response.starts_with("HTTP/1.1 403"),
            "{extra:?}: {response}"
        );
    }
    // The page's own form, a same-origin fetch, and tools that send no Origin are served.
    for extra in [
        format!("Origin: http://{addr}\r\nSec-Fetch-Site: same-origin\r\n"),
        // Chromium's own form post under a strict Referrer-Policy.
        "Origin: null\r\nSec-Fetch-Site: same-origin\r\n".to_string(),
        format!("Origin: http://{addr}\r\n"),
        "Sec-Fetch-Site: none\r\n".to_string(),
        String::new(),
    ] {
        let response = raw(addr, post(&extra)).await;
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "{extra:?}: {response}"
        );
    }
}

#[tokio::test]
async fn slow_uploads_are_cut_off_and_capped() {
    let config = ServeConfig {
        request_timeout: Duration::from_millis(300),
        max_open_uploads: 1,
        ..ServeConfig::default()
    };
    let addr = start(config, None).await;
    // A body announced and never sent: the place is held only until the request timeout.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /api/analyze HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000\r\n\r\nSubject: x"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Meanwhile the one place is taken: another upload is refused at once.
    let (status, _) = request(
        addr,
        "POST /api/analyze?offline=1 HTTP/1.1",
        b"Subject: y\r\n\r\n",
    )
    .await;
    assert_eq!(status, 503);
    let mut response = Vec::new();
    let _ = slow.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    // The place is free again.
    let (status, _) = request(
        addr,
        "POST /api/analyze?offline=1 HTTP/1.1",
        b"Subject: y\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
}

/// Clients that never finish a header section: silent after connecting, a request line
/// alone, fields without the blank line, and the same header trickled an octet at a time.
/// Each connection is closed once the header timeout has passed (hyper may answer 408 first),
/// and the page still answers others.
#[tokio::test]
async fn header_sections_that_never_end_are_cut_off() {
    let config = ServeConfig {
        header_timeout: Duration::from_millis(500),
        ..ServeConfig::default()
    };
    let addr = start(config, None).await;
    let partial = [
        String::new(),
        "POST /api/analyze HTTP/1.1\r\n".to_string(),
        format!("POST /api/analyze HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 10\r\n"),
    ];
    let mut clients = Vec::new();
    for head in partial {
        clients.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.write_all(head.as_bytes()).await.unwrap();
            stream
        }));
    }
    let trickle = tokio::spawn(async move {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        // One octet every 100 ms, for far longer than the timeout, never the blank line.
        let head = format!(
            "GET / HTTP/1.1\r\nHost: {addr}\r\nX-Slow: {}",
            "a".repeat(200)
        );
        for octet in head.as_bytes() {
            if stream.write_all(&[*octet]).await.is_err() {
                return true; // closed under it: cut off
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    });
    for client in clients {
        let mut stream = client.await.unwrap();
        let mut answer = Vec::new();
        // Generous: the test fails by hanging, not by a clock the server might just miss.
        let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer));
        // Closed, by FIN (Ok) or by reset (Err); still open after 20 s fails.
        let _closed = read.await.expect("the connection is still open after 20 s");
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
    }
    assert!(
        trickle.await.unwrap(),
        "a header section trickled an octet at a time was never cut off"
    );
    // The page still answers.
    let (status, _) = request(addr, "GET / HTTP/1.1", b"").await;
    assert_eq!(status, 200);
}
