//! `hanko serve`'s page in a real browser: headless Chromium (Debian's `chromium`) driven over
//! WebDriver by Debian's `chromedriver`, against the server on loopback with DNS answered from
//! the example zone files. Each test pastes, drops or picks a message the way a person would,
//! submits the form, and reads what the browser shows: the verdict line, the badge's colour as
//! rendered, the bars of the hop chart, the JSON behind the download link. A screenshot of each
//! result is saved under `target/tmp/browser/` (the path is printed).
//!
//! `scripts/test.sh` installs `chromium` and `chromium-driver` when they are missing; these tests
//! fail, saying so, when the binaries are not there (`HANKO_CHROMIUM` and `HANKO_CHROMEDRIVER`
//! point elsewhere).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hanko::dns::Lookup;
use hanko_dns::Zone;
use hanko_web::ServeConfig;
use serde_json::{json, Value};

fn examples(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(relative)
}

fn binary(variable: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.exists(),
        "{} not found: install Debian's chromium and chromium-driver (scripts/test.sh does) \
         or set {variable}",
        path.display()
    );
    path
}

/// The page's server on a free loopback port.
async fn start_server() -> SocketAddr {
    let mut zone = Zone::new();
    zone.add_file(&examples("example.com.zone")).unwrap();
    zone.add_file(&examples("analyze/example.org.zone"))
        .unwrap();
    let lookup: Arc<dyn Lookup> = Arc::new(zone);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(hanko_web::serve_on(
        listener,
        ServeConfig::default(),
        Some(lookup),
    ));
    addr
}

/// A chromedriver process with one headless Chromium session; both end when this is dropped.
struct Browser {
    client: Client,
    _driver: tokio::process::Child,
    _profile: TempDir,
}

/// A fresh Chromium profile directory, removed afterwards.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Browser {
    async fn start(name: &str) -> Browser {
        let chromium = binary("HANKO_CHROMIUM", "/usr/bin/chromium");
        let chromedriver = binary("HANKO_CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = tokio::process::Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let profile = TempDir(
            PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("chromium-profile-{name}-{}", std::process::id())),
        );
        // The flags a closed network needs: no background connections, no component or sync
        // updates, no QUIC; a new empty profile; root needs --no-sandbox.
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,2200",
                    format!("--user-data-dir={}", profile.0.display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        // chromedriver needs a moment before it listens.
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        _driver: driver,
                        _profile: profile,
                    }
                }
                Err(e) => last_error = Some(e.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no WebDriver session with {url}: {last_error:?}");
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.unwrap().len()
    }

    /// The colour the browser painted behind `css`, as `rgb(r, g, b)`.
    async fn background(&self, css: &str) -> String {
        let value = self
            .client
            .execute(
                "return getComputedStyle(document.querySelector(arguments[0])).backgroundColor;",
                vec![json!(css)],
            )
            .await
            .unwrap();
        value.as_str().unwrap_or_default().to_string()
    }

    /// Clicks the form's submit button and waits for the report.
    async fn submit(&self) {
        self.client
            .find(Locator::Css("#submit"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        self.wait_for_report().await;
    }

    /// Waits (up to 20 s) for the report page after a submit.
    async fn wait_for_report(&self) {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("#verdict-line"))
            .await
            .expect("the report appears");
    }

    /// The report behind the JSON download link, decoded as the browser would save it.
    async fn downloaded_json(&self) -> Value {
        let text = self
            .client
            .execute(
                "return decodeURIComponent(document.querySelector('#json-download').getAttribute('href').split(',').slice(1).join(','));",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_str(text.as_str().unwrap()).expect("the download is JSON")
    }

    /// Saves a screenshot of what the browser shows and returns its path.
    async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).unwrap();
        eprintln!("screenshot: {}", path.display());
        path
    }
}

const PASS_GREEN: &str = "rgb(26, 127, 55)";
const FAIL_RED: &str = "rgb(207, 34, 46)";
const WARN_AMBER: &str = "rgb(154, 103, 0)";

#[tokio::test]
async fn a_pasted_message_shows_a_green_verdict_and_the_hop_chart() {
    let addr = start_server().await;
    let browser = Browser::start("paste").await;
    let c = &browser.client;
    c.goto(&format!("http://{addr}/?lang=en")).await.unwrap();
    assert!(c.title().await.unwrap().contains("hanko"));
    // A paste lands in the text box as one value (typing it would turn tabs into focus moves);
    // the input event is what a real paste fires.
    let message = std::fs::read_to_string(examples("analyze/gmail.eml")).unwrap();
    c.execute(
        "const box = document.querySelector('#message'); box.focus(); box.value = arguments[0]; \
         box.dispatchEvent(new Event('input', {bubbles: true}));",
        vec![json!(message)],
    )
    .await
    .unwrap();
    browser.submit().await;

    let verdict = browser.text("#verdict-line").await;
    assert!(
        verdict.starts_with("Authenticated: DMARC pass for example.com"),
        "{verdict}"
    );
    assert_eq!(browser.text("#verdict .badge").await, "PASS");
    assert_eq!(browser.background("#verdict .badge.pass").await, PASS_GREEN);
    assert_eq!(browser.count("svg#hop-chart rect.hop-bar").await, 3);
    // The chart is drawn, not just present: it has a size on screen.
    let height = c
        .execute(
            "return document.querySelector('svg#hop-chart').getBoundingClientRect().height;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        height.as_f64().unwrap_or(0.0) > 20.0,
        "chart height {height}"
    );
    for section in ["#summary", "#hops", "#signatures", "#checks", "#claims"] {
        assert_eq!(browser.count(section).await, 1, "{section}");
    }
    let json = browser.downloaded_json().await;
    assert_eq!(json["summary"]["verdict"]["status"], "pass");
    assert_eq!(json["hops"].as_array().map(Vec::len), Some(3));
    // The form stays filled in for the next try.
    let kept = c
        .execute(
            "return document.querySelector('#message').value.length;",
            vec![],
        )
        .await
        .unwrap();
    assert!(kept.as_u64().unwrap_or(0) > 0);
    browser.screenshot("gmail-pass").await;
    c.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_dropped_file_in_japanese_shows_a_red_verdict_and_the_diagnosis() {
    let addr = start_server().await;
    let browser = Browser::start("drop").await;
    let c = &browser.client;
    c.goto(&format!("http://{addr}/?lang=ja")).await.unwrap();
    assert_eq!(
        c.execute("return document.documentElement.lang;", vec![])
            .await
            .unwrap(),
        "ja"
    );
    // Drop an .eml on the drop zone: the page's script moves it into the file input.
    let message = std::fs::read_to_string(examples("analyze/mailing-list.eml")).unwrap();
    let chosen = c
        .execute(
            "const dt = new DataTransfer(); \
             dt.items.add(new File([arguments[0]], 'list.eml', {type: 'message/rfc822'})); \
             const zone = document.querySelector('#drop'); \
             zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true})); \
             const over = zone.classList.contains('over'); \
             zone.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true})); \
             return [over, document.querySelector('#file').files.length, document.querySelector('#file').files[0].name];",
            vec![json!(message)],
        )
        .await
        .unwrap();
    assert_eq!(chosen, json!([true, 1, "list.eml"]));
    browser.submit().await;

    let verdict = browser.text("#verdict-line").await;
    assert!(verdict.contains("example.com"), "{verdict}");
    assert_eq!(browser.background("#verdict .badge.fail").await, FAIL_RED);
    assert_eq!(browser.count("svg#hop-chart rect.hop-bar").await, 3);
    let page = browser.text("body").await;
    assert!(
        page.contains("署名後に本文の末尾へ 156 オクテットが追加されています"),
        "the footer diagnosis, in Japanese"
    );
    assert!(page.contains("署名後に Subject が変更されています"));
    // The 7-minute hop is the slow one: its bar is drawn in the warning colour.
    let slow = c
        .execute(
            "return Array.from(document.querySelectorAll('svg#hop-chart rect.hop-bar')).map(r => r.getAttribute('fill'));",
            vec![],
        )
        .await
        .unwrap();
    let fills: Vec<&str> = slow
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(fills.len(), 3);
    assert_ne!(fills[2], fills[0], "the long delay stands out: {fills:?}");
    let json = browser.downloaded_json().await;
    assert_eq!(json["lang"], "ja");
    assert_eq!(json["summary"]["verdict"]["status"], "fail");
    browser.screenshot("mailing-list-fail-ja").await;
    c.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_chosen_headers_only_file_shows_an_amber_verdict() {
    let addr = start_server().await;
    let browser = Browser::start("file").await;
    let c = &browser.client;
    c.goto(&format!("http://{addr}/?lang=en")).await.unwrap();
    // The file picker: WebDriver types the path into the file input, as choosing it would.
    let path = examples("analyze/outlook-headers.txt")
        .canonicalize()
        .unwrap();
    c.find(Locator::Css("#file"))
        .await
        .unwrap()
        .send_keys(&path.display().to_string())
        .await
        .unwrap();
    browser.submit().await;
    let verdict = browser.text("#verdict-line").await;
    assert!(verdict.starts_with("Headers only"), "{verdict}");
    assert_eq!(
        browser.background("#verdict .badge.headers-only").await,
        WARN_AMBER
    );
    assert_eq!(browser.count("svg#hop-chart rect.hop-bar").await, 5);
    let page = browser.text("#summary").await;
    assert!(
        page.contains("四半期報告の件"),
        "decoded ISO-2022-JP Subject"
    );
    browser.screenshot("outlook-headers-only").await;
    c.clone().close().await.unwrap();
}
