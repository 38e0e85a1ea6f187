//! The report as one self-contained HTML page: inline CSS, an inline SVG chart of the hop
//! delays, the JSON as a `data:` download link, no external assets and no script needed to
//! read it.

use std::fmt::Write as _;

use hanko_analyze::headers::{format_duration, Hop, Lang, Party, Report, TagExplained};

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes `text` for a `data:` URL.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The page's CSS.
pub(crate) const STYLE: &str = r#"
:root { --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700; --none: #57606a; --line: #d0d7de; }
body { font-family: system-ui, -apple-system, "Segoe UI", "Hiragino Sans", "Noto Sans JP", sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
header, main { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
header h1 { font-size: 1.3rem; margin: 1rem 0 .25rem; }
header p { margin: 0 0 1rem; color: var(--none); }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin: 1rem 0; padding: .75rem 1rem; }
h2 { font-size: 1.1rem; margin: .25rem 0 .75rem; }
h3 { font-size: 1rem; margin: 1rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-top: 1px solid var(--line); }
th { white-space: nowrap; color: var(--none); font-weight: 600; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85rem; word-break: break-all; }
.badge { display: inline-block; padding: .1rem .55rem; border-radius: 1rem; color: #fff; font-weight: 600; font-size: .85rem; text-transform: uppercase; }
.badge.pass { background: var(--pass); } .badge.fail, .badge.permerror { background: var(--fail); }
.badge.temperror, .badge.softfail, .badge.headers-only, .badge.policy { background: var(--warn); }
.badge.none, .badge.unverified, .badge.neutral, .badge.unknown { background: var(--none); }
.verdict { font-size: 1.05rem; display: flex; gap: .75rem; align-items: baseline; }
.risk { color: var(--warn); } .bad { color: var(--fail); } .good { color: var(--pass); }
ul { margin: .25rem 0; padding-left: 1.25rem; }
details summary { cursor: pointer; color: var(--none); }
form textarea { width: 100%; min-height: 14rem; box-sizing: border-box; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .8rem; }
.drop { border: 2px dashed var(--line); border-radius: 6px; padding: .75rem; margin: .5rem 0; text-align: center; color: var(--none); }
.drop.over { border-color: var(--pass); }
.actions { display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; margin-top: .5rem; }
button { font-size: 1rem; padding: .4rem 1.2rem; }
.error { border-color: var(--fail); color: var(--fail); }
svg text { font-size: 11px; font-family: system-ui, sans-serif; }
"#;

/// Words of the page's frame, in both languages.
pub(crate) fn ui(lang: Lang, key: &str) -> &'static str {
    let (en, ja) = match key {
        "title" => ("hanko header analyzer", "hanko ヘッダー解析"),
        "tagline" => ("Analyzed on this server; nothing leaves it except DNS queries for re-verification.", "解析はこのサーバー上で行います。再検証の DNS 問い合わせ以外、外部には送信しません。"),
        "verdict" => ("Verdict", "判定"),
        "summary" => ("Summary", "概要"),
        "from" => ("From", "差出人"),
        "to" => ("To", "宛先"),
        "subject" => ("Subject", "件名"),
        "date" => ("Date", "日時"),
        "transit" => ("Transit time", "配送時間"),
        "hops" => ("Hops (oldest first)", "経路 (古い順)"),
        "no-hops" => ("No Received fields.", "Received フィールドはありません。"),
        "delay" => ("Delay", "遅延"),
        "time" => ("Time (UTC)", "時刻 (UTC)"),
        "skew" => ("clock skew", "時刻のずれ"),
        "slow" => ("slow", "遅延"),
        "signatures" => ("DKIM signatures", "DKIM 署名"),
        "unsigned" => ("The message is not signed.", "メッセージは署名されていません。"),
        "tag" => ("Tag", "タグ"),
        "value" => ("Value", "値"),
        "meaning" => ("Meaning", "意味"),
        "not-signed" => ("Present but not signed", "署名されていないフィールド"),
        "diagnosis" => ("Diagnosis", "診断"),
        "key" => ("Key", "鍵"),
        "checks" => ("hanko's own checks", "hanko による検証"),
        "connection" => ("Connection", "接続"),
        "compare" => ("Claimed in the message vs hanko", "メッセージ内の主張と hanko の結果"),
        "claimed" => ("Claimed", "主張"),
        "by" => ("By", "記録者"),
        "agree" => ("agrees", "一致"),
        "disagree" => ("disagrees", "不一致"),
        "claims" => ("What servers on the way claimed", "途中のサーバーの主張"),
        "claims-note" => ("Anyone can write these fields; only those your own servers added can be believed.", "これらのフィールドは誰でも書けます。信頼できるのは自分のサーバーが追加したものだけです。"),
        "antispam" => ("Anti-spam", "迷惑メール判定"),
        "notes" => ("Notes", "注記"),
        "download" => ("Download the report as JSON", "レポートを JSON でダウンロード"),
        "paste" => ("Paste a message or its headers", "メッセージまたはヘッダーを貼り付け"),
        "drop" => ("…or drop an .eml file here", "…または .eml ファイルをここにドロップ"),
        "offline" => ("Offline: do not re-verify (no DNS queries)", "オフライン: 再検証しない (DNS 問い合わせなし)"),
        "analyze" => ("Analyze", "解析"),
        "language" => ("日本語", "English"),
        "raw" => ("As written", "原文"),
        "sealer" => ("Sealed by", "封印者"),
        "recorded" => ("Recorded on receipt", "受信時の記録"),
        "changed" => ("changed the message", "メッセージを変更"),
        "none" => ("-", "-"),
        _ => ("?", "?"),
    };
    lang.pick(en, ja)
}

fn badge(status: &str) -> String {
    let class: String = status
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect::<String>()
        .to_ascii_lowercase();
    format!(
        r#"<span class="badge {}">{}</span>"#,
        escape(&class),
        escape(status)
    )
}

fn party(p: &Party) -> String {
    match (&p.name, &p.address) {
        (Some(n), Some(a)) => format!("{} &lt;{}&gt;", escape(n), escape(a)),
        (None, Some(a)) => escape(a),
        (Some(n), None) => escape(n),
        (None, None) => "?".into(),
    }
}

/// The hop delays as a horizontal bar chart.
pub fn hop_chart(hops: &[Hop], lang: Lang) -> String {
    let shown: Vec<&Hop> = hops.iter().take(200).collect();
    if shown.is_empty() {
        return String::new();
    }
    let max = shown
        .iter()
        .filter_map(|h| h.delay_seconds)
        .map(i64::abs)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let row = 22;
    let label_width = 260.0;
    let bar_room = 420.0;
    let height = shown.len() * row + 10;
    let mut out = format!(
        r#"<svg id="hop-chart" role="img" aria-label="{}" viewBox="0 0 800 {height}" width="100%" xmlns="http://www.w3.org/2000/svg">"#,
        escape(ui(lang, "hops"))
    );
    for (i, hop) in shown.iter().enumerate() {
        let y = i * row + 5;
        let name = hop
            .by
            .as_deref()
            .or(hop.from.as_deref())
            .unwrap_or("?")
            .chars()
            .take(38)
            .collect::<String>();
        let _ = write!(
            out,
            r#"<text x="0" y="{}">{}. {}</text>"#,
            y + 14,
            hop.number,
            escape(&name)
        );
        let (width, colour, label) = match hop.delay_seconds {
            Some(d) => {
                // Square root keeps a two-hour hop from flattening the two-second ones.
                let w = ((d.unsigned_abs() as f64).sqrt() / max.sqrt() * bar_room).max(2.0);
                let colour = if hop.clock_skew {
                    "#cf222e"
                } else if hop.long_delay {
                    "#9a6700"
                } else {
                    "#1a7f37"
                };
                (w, colour, format_duration(d))
            }
            None => (2.0, "#8c959f", "-".to_string()),
        };
        let _ = write!(
            out,
            r#"<rect class="hop-bar" x="{label_width}" y="{}" width="{width:.1}" height="14" fill="{colour}"><title>{}</title></rect><text x="{:.1}" y="{}">{}</text>"#,
            y + 3,
            escape(&label),
            label_width + width + 6.0,
            y + 14,
            escape(&label)
        );
    }
    out.push_str("</svg>");
    out
}

/// One table row per explained tag: name, value, meaning.
fn tag_rows(out: &mut String, tags: &[TagExplained]) {
    for tag in tags {
        let _ = write!(
            out,
            "<tr><th><code>{}</code></th><td><code>{}</code></td><td>{}</td></tr>",
            escape(&tag.tag),
            escape(&tag.value),
            escape(&tag.meaning)
        );
    }
}

/// The report's sections (everything below the page header).
pub fn report_sections(report: &Report) -> String {
    let mut out = String::new();
    verdict_section(&mut out, report);
    summary_section(&mut out, report);
    hops_section(&mut out, report);
    signatures_section(&mut out, report);
    reverification_section(&mut out, report);
    claims_section(&mut out, report);
    antispam_section(&mut out, report);
    notes_section(&mut out, report);
    out
}

/// The verdict, and the report as a JSON download.
fn verdict_section(out: &mut String, report: &Report) {
    let lang = report.lang;
    let t = |key: &str| ui(lang, key);
    let s = &report.summary;
    let _ = write!(
        out,
        r#"<section id="verdict"><h2>{}</h2><p class="verdict">{} <span id="verdict-line">{}</span></p></section>"#,
        t("verdict"),
        badge(&s.verdict.status),
        escape(&s.verdict.line)
    );
    let json = serde_json::to_string_pretty(report).unwrap_or_default();
    let _ = write!(
        out,
        r#"<p><a id="json-download" download="hanko-report.json" href="data:application/json;charset=utf-8,{}">{}</a></p>"#,
        percent_encode(&json),
        t("download")
    );
}

/// Who sent what, when.
fn summary_section(out: &mut String, report: &Report) {
    let lang = report.lang;
    let t = |key: &str| ui(lang, key);
    let s = &report.summary;
    let _ = write!(
        out,
        r#"<section id="summary"><h2>{}</h2><table>"#,
        t("summary")
    );
    let mut row = |label: &str, value: String| {
        if !value.is_empty() {
            let _ = write!(out, "<tr><th>{}</th><td>{value}</td></tr>", escape(label));
        }
    };
    let domains: Vec<String> = s
        .from
        .iter()
        .filter_map(|p| p.domain.as_deref())
        .map(escape)
        .collect();
    row(
        t("from"),
        if s.from.is_empty() {
            String::new()
        } else {
            format!(
                "{} <code>[{}]</code>",
                s.from.iter().map(party).collect::<Vec<_>>().join(", "),
                domains.join(", ")
            )
        },
    );
    row(
        t("to"),
        s.to.iter().map(party).collect::<Vec<_>>().join(", "),
    );
    row(
        t("subject"),
        s.subject.as_deref().map(escape).unwrap_or_default(),
    );
    row(
        t("date"),
        match (&s.date_raw, &s.date) {
            (Some(raw), Some(utc)) => format!("{} <small>({})</small>", escape(raw), escape(utc)),
            (Some(raw), None) => escape(raw),
            _ => String::new(),
        },
    );
    row(
        "Message-ID",
        s.message_id
            .as_deref()
            .map(|m| format!("<code>{}</code>", escape(m)))
            .unwrap_or_default(),
    );
    row(
        t("transit"),
        s.transit_seconds.map(format_duration).unwrap_or_default(),
    );
    out.push_str("</table></section>");
}

/// The Received fields as a chart and a table.
fn hops_section(out: &mut String, report: &Report) {
    let lang = report.lang;
    let t = |key: &str| ui(lang, key);
    let _ = write!(out, r#"<section id="hops"><h2>{}</h2>"#, t("hops"));
    if report.hops.is_empty() {
        let _ = write!(out, "<p>{}</p>", t("no-hops"));
    } else {
        out.push_str(&hop_chart(&report.hops, lang));
        let _ = write!(
            out,
            "<table><tr><th>#</th><th>{}</th><th>from</th><th>by</th><th>with / TLS</th><th>id / for</th><th>{}</th></tr>",
            t("delay"),
            t("time")
        );
        for hop in &report.hops {
            let mut delay = hop
                .delay_seconds
                .map(format_duration)
                .unwrap_or_else(|| "-".into());
            if hop.clock_skew {
                delay = format!(r#"<span class="bad">{delay} ({})</span>"#, t("skew"));
            } else if hop.long_delay {
                delay = format!(r#"<span class="risk">{delay} ({})</span>"#, t("slow"));
            }
            let from = [hop.from.as_deref(), hop.ip.as_deref().map(|_| "")]
                .iter()
                .flatten()
                .next()
                .map(|_| {
                    let mut f = escape(hop.from.as_deref().unwrap_or("?"));
                    if let Some(ip) = &hop.ip {
                        let _ = write!(f, " <code>[{}]</code>", escape(ip));
                    }
                    if let Some(r) = &hop.reverse_dns {
                        let _ = write!(f, "<br><small>{}</small>", escape(r));
                    }
                    f
                })
                .unwrap_or_else(|| "-".into());
            let opt = |v: &Option<String>| v.as_deref().map(escape).unwrap_or_default();
            let _ = write!(
                out,
                "<tr class=\"hop\"><td>{}</td><td>{delay}</td><td>{from}</td><td>{}</td><td>{}<br><small>{}</small></td><td><code>{}</code><br><small>{}</small></td><td>{}</td></tr>",
                hop.number,
                opt(&hop.by),
                opt(&hop.with),
                opt(&hop.tls),
                opt(&hop.id),
                opt(&hop.recipient),
                hop.time
                    .as_deref()
                    .map(escape)
                    .or_else(|| hop.date_problem.as_deref().map(|p| format!(r#"<span class="risk">{}</span>"#, escape(p))))
                    .unwrap_or_default()
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</section>");
}

/// Each DKIM signature with hanko's result, its tags and the diagnosis.
fn signatures_section(out: &mut String, report: &Report) {
    let lang = report.lang;
    let t = |key: &str| ui(lang, key);
    let _ = write!(
        out,
        r#"<section id="signatures"><h2>{}</h2>"#,
        t("signatures")
    );
    if report.signatures.is_empty() {
        let _ = write!(out, "<p>{}</p>", t("unsigned"));
    }
    for sig in &report.signatures {
        let status = sig.check.as_ref().map(|c| {
            if c.headers_verified_body_not_checked {
                "headers-only".to_string()
            } else {
                c.verdict.clone()
            }
        });
        let _ = write!(
            out,
            r#"<h3 class="signature">{} #{} d={} s={} a={}</h3>"#,
            status.as_deref().map(badge).unwrap_or_default(),
            sig.number,
            escape(sig.domain.as_deref().unwrap_or("?")),
            escape(sig.selector.as_deref().unwrap_or("?")),
            escape(sig.algorithm.as_deref().unwrap_or("?"))
        );
        if let Some(check) = &sig.check {
            if let Some(reason) = &check.reason {
                let _ = write!(out, "<p>{}</p>", escape(reason));
            }
            if let Some(key) = &check.key {
                let _ = write!(out, "<p>{}: <code>{}</code></p>", t("key"), escape(key));
            }
        }
        if let Some(e) = &sig.parse_error {
            let _ = write!(out, r#"<p class="bad">{}</p>"#, escape(e));
        }
        if !sig.diagnosis.is_empty() {
            let _ = write!(
                out,
                "<p><strong>{}</strong></p><ul class=\"diagnosis\">",
                t("diagnosis")
            );
            for d in &sig.diagnosis {
                let _ = write!(out, "<li>{}</li>", escape(d));
            }
            out.push_str("</ul>");
        }
        let risks: Vec<&String> = sig
            .risks
            .iter()
            .chain(sig.check.iter().flat_map(|c| &c.warnings))
            .collect();
        if !risks.is_empty() {
            out.push_str("<ul>");
            for r in risks {
                let _ = write!(out, r#"<li class="risk">{}</li>"#, escape(r));
            }
            out.push_str("</ul>");
        }
        if !sig.unsigned_fields.is_empty() {
            let _ = write!(
                out,
                "<p>{}: <code>{}</code></p>",
                t("not-signed"),
                escape(&sig.unsigned_fields.join(", "))
            );
        }
        let _ = write!(
            out,
            "<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
            t("tag"),
            t("value"),
            t("meaning")
        );
        tag_rows(out, &sig.tags);
        out.push_str("</table>");
    }
    out.push_str("</section>");
}

/// hanko's own checks beside what the message claims.
fn reverification_section(out: &mut String, report: &Report) {
    let lang = report.lang;
    let t = |key: &str| ui(lang, key);
    if let Some(own) = &report.reverification {
        let _ = write!(
            out,
            r#"<section id="checks"><h2>{}</h2><table>"#,
            t("checks")
        );
        if let Some(c) = &own.connection {
            let _ = write!(
                out,
                "<tr><th>{}</th><td><code>ip={} helo={} mail-from={}</code><br><small>{}</small></td></tr>",
                t("connection"),
                escape(&c.ip),
                escape(&c.helo),
                escape(&c.mail_from),
                escape(&c.source)
            );
        }
        if let Some(spf) = &own.spf {
            let _ = write!(
                out,
                "<tr><th>SPF</th><td>{} {}</td></tr>",
                badge(&spf.result),
                escape(&spf.detail)
            );
        }
        let _ = write!(
            out,
            "<tr><th>DMARC</th><td>{} {}</td></tr></table>",
            badge(&own.dmarc.result),
            escape(&own.dmarc.detail)
        );
        if let Some(arc) = &own.arc {
            arc_chain(out, arc, lang);
        }
        for note in &own.notes {
            let _ = write!(out, r#"<p class="risk">{}</p>"#, escape(note));
        }
        let _ = write!(
            out,
            "<pre class=\"mono\">{}</pre>",
            escape(&own.authentication_results)
        );
        if !own.comparisons.is_empty() {
            let _ = write!(
                out,
                "<h3>{}</h3><table id=\"comparisons\"><tr><th>{}</th><th></th><th>{}</th><th>hanko</th><th></th></tr>",
                t("compare"),
                t("by"),
                t("claimed")
            );
            for c in &own.comparisons {
                let agreement = match c.agrees {
                    Some(true) => format!(r#"<span class="good">{}</span>"#, t("agree")),
                    Some(false) => format!(r#"<span class="bad">{}</span>"#, t("disagree")),
                    None => "-".into(),
                };
                let _ = write!(
                    out,
                    "<tr><td>{} <small>#{}</small></td><td><code>{}</code></td><td>{}={}</td><td>{}</td><td>{agreement}</td></tr>",
                    escape(c.authserv_id.as_deref().unwrap_or("?")),
                    c.position,
                    escape(c.subject.as_deref().unwrap_or("")),
                    escape(&c.method),
                    escape(&c.claimed),
                    c.hanko.as_deref().map(badge).unwrap_or_else(|| "-".into())
                );
            }
            out.push_str("</table>");
        }
        out.push_str("</section>");
    }
}

/// The ARC chain: one row per hop, oldest first.
fn arc_chain(out: &mut String, arc: &hanko_analyze::headers::ArcChainReport, lang: Lang) {
    let t = |key: &str| ui(lang, key);
    let _ = write!(
        out,
        "<h3>ARC</h3><p>{} {}</p><table id=\"arc-chain\"><tr><th>i=</th><th>{}</th><th>ARC-Seal</th><th>ARC-Message-Signature</th><th>{}</th></tr>",
        badge(&arc.result),
        escape(&arc.detail),
        t("sealer"),
        t("recorded")
    );
    let cell = |word: &Option<String>| word.as_deref().map(badge).unwrap_or_else(|| "-".into());
    for hop in &arc.hops {
        let changed = if hop.changed_message {
            format!(" <small class=\"risk\">{}</small>", t("changed"))
        } else {
            String::new()
        };
        let problem = hop
            .problem
            .as_deref()
            .map(|p| format!("<br><small>{}</small>", escape(p)))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}{changed}</td><td>{}</td><td>{}{problem}</td><td><code>{}</code></td></tr>",
            hop.instance,
            escape(hop.sealer.as_deref().unwrap_or("?")),
            cell(&hop.seal),
            cell(&hop.message_signature),
            escape(&hop.recorded)
        );
    }
    let _ = write!(out, "</table><p><small>{}</small></p>", escape(&arc.note));
}

/// The Authentication-Results fields servers on the way wrote.
fn claims_section(out: &mut String, report: &Report) {
    let lang = report.lang;
    let t = |key: &str| ui(lang, key);
    if !report.claims.is_empty() {
        let _ = write!(
            out,
            r#"<section id="claims"><h2>{}</h2><p>{}</p>"#,
            t("claims"),
            t("claims-note")
        );
        for claim in &report.claims {
            let instance = claim
                .instance
                .map(|i| format!(" i={i}"))
                .unwrap_or_default();
            let _ = write!(
                out,
                "<h3>{}{} <small>({} #{})</small></h3>",
                escape(&claim.field),
                instance,
                escape(claim.authserv_id.as_deref().unwrap_or("?")),
                claim.position
            );
            if let Some(e) = &claim.error {
                let _ = write!(out, r#"<p class="bad">{}</p>"#, escape(e));
            }
            out.push_str("<ul>");
            for r in &claim.results {
                let props: Vec<String> = r
                    .properties
                    .iter()
                    .map(|p| format!("{}={}", p.name, p.value))
                    .collect();
                let _ = write!(
                    out,
                    "<li>{}={} {} <code>{}</code><br><small>{}</small></li>",
                    escape(&r.method),
                    badge(&r.result),
                    r.comment
                        .as_deref()
                        .map(|c| format!("({})", escape(c)))
                        .unwrap_or_default(),
                    escape(&props.join(" ")),
                    escape(&r.meaning)
                );
            }
            out.push_str("</ul>");
            let _ = write!(
                out,
                "<details><summary>{}</summary><pre class=\"mono\">{}</pre></details>",
                t("raw"),
                escape(&claim.raw)
            );
        }
        for f in &report.arc {
            let _ = write!(
                out,
                "<h3>{} i={}</h3><table>",
                escape(&f.field),
                f.instance.map_or("?".into(), |i| i.to_string())
            );
            tag_rows(out, &f.tags);
            out.push_str("</table>");
        }
        out.push_str("</section>");
    }
}

/// Anti-spam verdict fields, decoded where the vendor is known.
fn antispam_section(out: &mut String, report: &Report) {
    let lang = report.lang;
    let t = |key: &str| ui(lang, key);
    if !report.antispam.is_empty() {
        let _ = write!(out, r#"<section id="antispam"><h2>{}</h2>"#, t("antispam"));
        for f in &report.antispam {
            let _ = write!(
                out,
                "<h3>{} <small>({})</small></h3>",
                escape(&f.field),
                escape(&f.vendor)
            );
            if f.decoded.is_empty() {
                let _ = write!(out, "<p><code>{}</code></p>", escape(&f.raw));
            } else {
                out.push_str("<table>");
                tag_rows(out, &f.decoded);
                out.push_str("</table>");
            }
        }
        out.push_str("</section>");
    }
}

/// Notes that fit no section.
fn notes_section(out: &mut String, report: &Report) {
    let lang = report.lang;
    let t = |key: &str| ui(lang, key);
    if !report.notes.is_empty() {
        let _ = write!(out, r#"<section id="notes"><h2>{}</h2><ul>"#, t("notes"));
        for n in &report.notes {
            let _ = write!(out, "<li>{}</li>", escape(n));
        }
        out.push_str("</ul></section>");
    }
}

/// A whole page around `body`.
pub(crate) fn page(lang: Lang, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="{}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{}</title><style>{STYLE}</style></head>
<body><header><h1>{}</h1><p>{}</p></header><main>{body}</main></body></html>
"#,
        lang.code(),
        ui(lang, "title"),
        ui(lang, "title"),
        ui(lang, "tagline")
    )
}

/// The report as a self-contained HTML page (what `hanko analyze --html` prints).
pub fn report_page(report: &Report) -> String {
    page(report.lang, &report_sections(report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hanko_analyze::headers::{analyze_offline, AnalyzeConfig};

    #[test]
    fn escaping_and_encoding() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{0}b"), "a\u{FFFD}b");
        assert_eq!(percent_encode("{\"a\": 1}"), "%7B%22a%22%3A%201%7D");
    }

    #[test]
    fn hostile_values_stay_text() {
        let input = b"Subject: <script>alert(1)</script>\nFrom: \"<img src=x onerror=alert(1)>\" <a@example.com>\nReceived: from <b>x</b> by y; Mon, 23 Nov 2026 09:00:00 +0000\n";
        let page = report_page(&analyze_offline(input, &AnalyzeConfig::new(0)));
        assert!(!page.contains("<script>alert"));
        assert!(!page.contains("<img src=x"));
        assert!(!page.contains("<b>x</b>"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        // Self-contained: no external references.
        assert!(!page.contains("src=\"http"));
        assert!(!page.contains("href=\"http"));
    }
}
