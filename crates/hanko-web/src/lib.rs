//! hanko's header analyzer as a web page, served by `hanko serve`.
//!
//! One page with a paste box and a file drop for an `.eml`; it shows the
//! [`hanko_analyze::headers::Report`] with green and red verdict badges, an SVG chart of the hop
//! delays and a JSON download. Everything runs on the server the user starts: nothing leaves
//! it except the DNS queries of re-verification, and a switch on the form turns those off.
//! Nothing is stored.
//!
//! Routes:
//! - `GET /` — the form (`?lang=ja` or `?lang=en`; otherwise from `Accept-Language`).
//! - `POST /` — `multipart/form-data` with `message` (pasted text), `file` (an `.eml`),
//!   `offline` and `lang`: the form again with the report below it.
//! - `POST /api/analyze?offline=1&lang=ja` — the message as the request body; the report as
//!   JSON.
//! - `GET /drop.js` — the form's one script (drag and drop).
//!
//! Limits ([`ServeConfig`]): request size (10 MiB), analysis time (20 s), analyses at once
//! (the cores), uploads open at once (32) and time per POST (60 s), each answered with a page
//! that says which limit was hit (413, 503, 408); bad input gets a report, never a 500.
//! POSTs from other sites' pages are refused (403), and every response carries a
//! Content-Security-Policy (scripts from the page's own origin only, no framing) with
//! `nosniff`, `no-store` and a same-origin Referrer-Policy.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use hanko_web::{serve, ServeConfig};
//!
//! # let zone = hanko_dns::Zone::new();
//! let dns: std::sync::Arc<dyn hanko::dns::Lookup> = std::sync::Arc::new(zone);
//! serve(ServeConfig::default(), Some(dns)).await
//! # }
//! ```

#![forbid(unsafe_code)]

mod html;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hanko::dns::Lookup;
use hanko_analyze::headers::{analyze, analyze_offline, AnalyzeConfig, Lang, Report};

pub use html::{escape, hop_chart, report_page, report_sections};

/// The form's one script: a dropped file goes into the file input. Served from `/drop.js`
/// so that the Content-Security-Policy allows scripts from the page's own origin only.
const DROP_JS: &str = "(function () {
  var drop = document.getElementById('drop'), file = document.getElementById('file');
  ['dragenter', 'dragover'].forEach(function (e) { drop.addEventListener(e, function (ev) { ev.preventDefault(); drop.classList.add('over'); }); });
  ['dragleave', 'drop'].forEach(function (e) { drop.addEventListener(e, function () { drop.classList.remove('over'); }); });
  drop.addEventListener('drop', function (ev) { ev.preventDefault(); if (ev.dataTransfer.files.length) { file.files = ev.dataTransfer.files; } });
})();
";

/// What every response says about itself: nothing but the page's own script runs, no other
/// site may frame it, nothing is cached or sniffed, no address leaks to another site in a
/// Referer.
const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    // Not no-referrer: with it, browsers send `Origin: null` on the page's own form.
    ("referrer-policy", "same-origin"),
    ("cache-control", "no-store"),
    ("x-frame-options", "DENY"),
];

/// Settings of the web server.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen. Default: `127.0.0.1:8080` (loopback only: the page is for the
    /// person running it).
    pub listen: SocketAddr,
    /// Largest message accepted, in octets. Default: 10 MiB.
    pub max_message_bytes: usize,
    /// Longest one analysis may take, DNS included. Default: 20 s.
    pub analysis_timeout: Duration,
    /// Analyses running at once; more wait their turn (up to `analysis_timeout`, then a 503
    /// page). Each runs on a thread of its own, off the server's event loop, and keeps its
    /// place until its work is done, even past its time limit: a message that costs the
    /// most the analyzer allows can hold one place, never the page. Default: the number of
    /// cores.
    pub max_concurrent_analyses: usize,
    /// Requests carrying a message (POSTs) open at once, uploads included; more are refused
    /// at once with a 503. Bounds memory to about this many times `max_message_bytes`.
    /// Default: 32.
    pub max_open_uploads: usize,
    /// Longest a POST may take from the end of its header section to its answer, the upload
    /// included (a client sending slowly holds a place no longer). Default: 60 s.
    pub request_timeout: Duration,
    /// Longest a client may take to send a request's header section, counted from the
    /// connection's opening (or, on a kept-alive connection, from the end of the previous
    /// answer); then the connection is closed. Sending an octet at a time does not extend
    /// it. Default: 30 s.
    pub header_timeout: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_message_bytes: 10 * 1024 * 1024,
            analysis_timeout: Duration::from_secs(20),
            max_concurrent_analyses: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_open_uploads: 32,
            request_timeout: Duration::from_secs(60),
            header_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Clone)]
struct AppState {
    config: ServeConfig,
    /// `None`: the server was started without DNS; every analysis is offline.
    lookup: Option<Arc<dyn Lookup>>,
    /// One permit per analysis that may run ([`ServeConfig::max_concurrent_analyses`]).
    analyses: Arc<tokio::sync::Semaphore>,
    /// One permit per POST open ([`ServeConfig::max_open_uploads`]).
    uploads: Arc<tokio::sync::Semaphore>,
}

/// The routes, for embedding in another axum application or for tests.
pub fn router(config: ServeConfig, lookup: Option<Arc<dyn Lookup>>) -> Router {
    // Room for the multipart framing and the form's other fields.
    let body_limit = config.max_message_bytes + 64 * 1024;
    let state = AppState {
        analyses: Arc::new(tokio::sync::Semaphore::new(
            config.max_concurrent_analyses.max(1),
        )),
        uploads: Arc::new(tokio::sync::Semaphore::new(config.max_open_uploads.max(1))),
        config,
        lookup,
    };
    Router::new()
        .route("/", get(form).post(analyze_form))
        .route("/drop.js", get(drop_js))
        .route("/api/analyze", post(analyze_api))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Serves the page on `config.listen` until the process ends.
pub async fn serve(config: ServeConfig, lookup: Option<Arc<dyn Lookup>>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    serve_on(listener, config, lookup).await
}

/// Serves the page on a listener already bound (`config.listen` is not used), until the
/// process ends.
///
/// Each connection is served by hyper's HTTP/1 server with tokio's timer, so
/// [`ServeConfig::header_timeout`] holds: a client that opens connections and never finishes
/// a header section (or trickles it) holds each for that long at most.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    config: ServeConfig,
    lookup: Option<Arc<dyn Lookup>>,
) -> std::io::Result<()> {
    let header_timeout = config.header_timeout;
    let service = hyper_util::service::TowerToHyperService::new(router(config, lookup));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of descriptors or a connection reset before it was taken: the listener is
            // still good. Wait a moment (other connections may close) and go on.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = service.clone();
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            // A connection's end, orderly or not, concerns that client only.
            let _ = connection.await;
        });
    }
}

async fn drop_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        DROP_JS,
    )
        .into_response()
}

/// True when the request comes from another site's page. Browsers say so in
/// `Sec-Fetch-Site` (only `same-origin`, and `none` for what the user typed, are ours); older
/// ones send `Origin`, which must name the host asked. A request with neither comes from a
/// program, not from a page. Any web page could otherwise make the user's browser send
/// analyses (and their DNS queries) here.
fn cross_origin(headers: &HeaderMap) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = value("sec-fetch-site") {
        return !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none"));
    }
    match (value("origin"), value("host")) {
        (None, _) => false,
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            !origin_host.eq_ignore_ascii_case(host)
        }
        (Some(_), None) => true,
    }
}

/// Every request: POSTs from other sites refused (403), POSTs over the open-upload cap
/// refused (503), each POST bounded by `request_timeout`; every response gets
/// [`SECURITY_HEADERS`].
async fn guard(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = if request.method() == axum::http::Method::POST {
        if cross_origin(request.headers()) {
            (
                StatusCode::FORBIDDEN,
                "hanko serve answers its own page only: a request from another site was refused.",
            )
                .into_response()
        } else {
            match state.uploads.clone().try_acquire_owned() {
                Err(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Too many messages are being sent at once; try again in a moment.",
                )
                    .into_response(),
                Ok(_permit) => {
                    match tokio::time::timeout(state.config.request_timeout, next.run(request))
                        .await
                    {
                        Ok(response) => response,
                        Err(_) => (
                            StatusCode::REQUEST_TIMEOUT,
                            "The request took too long to arrive and was closed.",
                        )
                            .into_response(),
                    }
                }
            }
        }
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, axum::http::HeaderValue::from_static(value));
    }
    response
}

#[derive(serde::Deserialize, Default)]
struct Options {
    lang: Option<String>,
    offline: Option<String>,
}

fn language(query: Option<&str>, headers: &HeaderMap) -> Lang {
    query.and_then(Lang::parse).unwrap_or_else(|| {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map_or(Lang::En, Lang::from_accept_language)
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The form, with the previous input kept: the offline choice and the pasted text (so it can
/// be corrected and sent again; a chosen file cannot be put back by a page).
fn form_html(lang: Lang, offline: bool, pasted: &str, config: &ServeConfig) -> String {
    let other = match lang {
        Lang::En => "ja",
        Lang::Ja => "en",
    };
    let t = |k| html::ui(lang, k);
    format!(
        r#"<section id="input"><form id="analyze-form" method="post" action="/?lang={code}" enctype="multipart/form-data">
<input type="hidden" name="lang" value="{code}">
<label for="message"><strong>{paste}</strong></label>
<textarea id="message" name="message" spellcheck="false" placeholder="Received: from ...&#10;DKIM-Signature: v=1; ...&#10;From: ...">{pasted}</textarea>
<div class="drop" id="drop">{drop} <input type="file" id="file" name="file" accept=".eml,.txt,message/rfc822"></div>
<div class="actions"><button type="submit" id="submit">{analyze}</button>
<label><input type="checkbox" id="offline" name="offline" value="1"{checked}> {offline_label}</label>
<a href="/?lang={other}">{language}</a> <small>(max {max} MB)</small></div>
</form></section>
<script src="/drop.js"></script>"#,
        code = lang.code(),
        paste = t("paste"),
        drop = t("drop"),
        analyze = t("analyze"),
        checked = if offline { " checked" } else { "" },
        offline_label = t("offline"),
        language = t("language"),
        max = config.max_message_bytes / 1024 / 1024,
        // A textarea's first newline is dropped by HTML parsers; one extra keeps the text as
        // it was.
        pasted = if pasted.starts_with('\n') {
            format!("\n{}", escape(pasted))
        } else {
            escape(pasted)
        },
    )
}

async fn form(
    State(state): State<AppState>,
    Query(options): Query<Options>,
    headers: HeaderMap,
) -> Html<String> {
    let lang = language(options.lang.as_deref(), &headers);
    Html(html::page(lang, &form_html(lang, false, "", &state.config)))
}

/// An error above the form (`form`: the form as [`form_html`] made it).
fn error_page(status: StatusCode, lang: Lang, message: &str, form: &str) -> Response {
    let body = format!(
        r#"<section id="error" class="error"><h2>{}</h2><p>{}</p></section>{form}"#,
        status.as_u16(),
        escape(message),
    );
    (status, Html(html::page(lang, &body))).into_response()
}

/// What an over-long or broken upload gets, in the page's language.
fn upload_problem(status: StatusCode, lang: Lang, config: &ServeConfig) -> (StatusCode, String) {
    let mb = config.max_message_bytes / 1024 / 1024;
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        (
            status,
            match lang {
                Lang::En => {
                    format!("The message is larger than {mb} MB, the limit of this server.")
                }
                Lang::Ja => format!("メッセージがこのサーバーの上限 {mb} MB を超えています。"),
            },
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            lang.pick(
                "The form could not be read; send it again.",
                "フォームを読み取れませんでした。もう一度送信してください。",
            )
            .to_string(),
        )
    }
}

/// Runs one analysis within the time limit.
async fn run_analysis(
    state: &AppState,
    message: &[u8],
    offline: bool,
    lang: Lang,
) -> Result<Report, (StatusCode, String)> {
    if message.len() > state.config.max_message_bytes {
        return Err(upload_problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            lang,
            &state.config,
        ));
    }
    let mut config = AnalyzeConfig::new(now());
    config.lang = lang;
    let lookup = state.lookup.clone().filter(|_| !offline);
    let limit = state.config.analysis_timeout;
    let seconds = limit.as_secs_f64();
    // `busy`: no place for an analysis came free; else the analysis ran out of time.
    let stopped = |busy: bool| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            match (lang, busy) {
                (Lang::En, true) => format!("Every place for an analysis stayed taken for {seconds} s. Try again in a moment."),
                (Lang::Ja, true) => format!("解析の枠が {seconds} 秒間空きませんでした。少し待ってから再試行してください。"),
                (Lang::En, false) => format!("The analysis took longer than {seconds} s and was stopped (slow DNS?). Try again, or tick \"offline\"."),
                (Lang::Ja, false) => format!("解析が {seconds} 秒を超えたため中止しました (DNS が遅い可能性があります)。再試行するか「オフライン」を選んでください。"),
            },
        )
    };
    let started = tokio::time::Instant::now();
    let permit = match tokio::time::timeout(limit, state.analyses.clone().acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        _ => return Err(stopped(true)),
    };
    // Off the event loop: a CPU-heavy message slows its own thread, not the page. The
    // permit goes with the work and is given back when the work ends.
    let message = message.to_vec();
    let runtime = tokio::runtime::Handle::current();
    let deadline = started + limit;
    let work = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        match lookup {
            // DNS that never answers ends at the deadline here too, giving the place back.
            Some(lookup) => runtime.block_on(async {
                tokio::time::timeout_at(deadline, analyze(&message, Some(&*lookup), &config))
                    .await
                    .ok()
            }),
            None => Some(analyze_offline(&message, &config)),
        }
    });
    match tokio::time::timeout_at(deadline, work).await {
        Ok(Ok(Some(report))) => Ok(report),
        Ok(Ok(None)) => Err(stopped(false)),
        Ok(Err(_)) => Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            lang.pick(
                "The analysis failed inside hanko; please report the message that caused it.",
                "hanko の内部で解析に失敗しました。原因となったメッセージを報告してください。",
            )
            .to_string(),
        )),
        Err(_) => Err(stopped(false)),
    }
}

async fn analyze_form(
    State(state): State<AppState>,
    Query(options): Query<Options>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    let mut lang = language(options.lang.as_deref(), &headers);
    let mut pasted: Vec<u8> = Vec::new();
    let mut file: Vec<u8> = Vec::new();
    let mut offline = false;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                let (status, message) = upload_problem(e.status(), lang, &state.config);
                let form = form_html(lang, false, "", &state.config);
                return error_page(status, lang, &message, &form);
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let data = match field.bytes().await {
            Ok(data) => data,
            Err(e) => {
                let (status, message) = upload_problem(e.status(), lang, &state.config);
                let form = form_html(lang, false, "", &state.config);
                return error_page(status, lang, &message, &form);
            }
        };
        match name.as_str() {
            "message" => pasted = data.to_vec(),
            "file" => file = data.to_vec(),
            "offline" => offline = !data.is_empty(),
            "lang" => {
                if let Some(l) = std::str::from_utf8(&data).ok().and_then(Lang::parse) {
                    lang = l;
                }
            }
            _ => {}
        }
    }
    // The paste goes back into the form unless a file was analyzed instead.
    let (message, form) = if file.is_empty() {
        let form = form_html(
            lang,
            offline,
            &String::from_utf8_lossy(&pasted).replace("\r\n", "\n"),
            &state.config,
        );
        (pasted, form)
    } else {
        (file, form_html(lang, offline, "", &state.config))
    };
    if message.iter().all(u8::is_ascii_whitespace) {
        let text = lang.pick(
            "Nothing to analyze: paste a message or choose a file.",
            "解析する内容がありません。メッセージを貼り付けるか、ファイルを選んでください。",
        );
        return error_page(StatusCode::BAD_REQUEST, lang, text, &form);
    }
    match run_analysis(&state, &message, offline, lang).await {
        Ok(report) => {
            let body = format!("{form}{}", report_sections(&report));
            Html(html::page(lang, &body)).into_response()
        }
        Err((status, text)) => error_page(status, lang, &text, &form),
    }
}

async fn analyze_api(
    State(state): State<AppState>,
    Query(options): Query<Options>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let lang = language(options.lang.as_deref(), &headers);
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            let (status, text) = upload_problem(e.status(), lang, &state.config);
            return (status, axum::Json(serde_json::json!({ "error": text }))).into_response();
        }
    };
    let offline = options
        .offline
        .as_deref()
        .is_some_and(|v| !matches!(v, "" | "0" | "false"));
    match run_analysis(&state, &body, offline, lang).await {
        Ok(report) => axum::Json(report).into_response(),
        Err((status, text)) => {
            (status, axum::Json(serde_json::json!({ "error": text }))).into_response()
        }
    }
}
