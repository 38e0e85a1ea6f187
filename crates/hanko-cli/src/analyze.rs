//! `hanko analyze`: the header analyzer as text, JSON or a self-contained HTML page.

use std::fmt::Write as _;
use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hanko_analyze::headers::{self, format_duration, AnalyzeConfig, Lang, Report};

use crate::dns::DnsArgs;

/// Most octets read from the input (the message and its body for re-verification).
const MAX_INPUT: u64 = 64 * 1024 * 1024;

/// Options of `hanko analyze`.
#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// Print the report as JSON.
    #[arg(long, conflicts_with = "html")]
    json: bool,
    /// Print the report as a self-contained HTML page (no external assets).
    #[arg(long)]
    html: bool,
    /// Do not re-verify (no DNS queries): explain what the message says only.
    #[arg(long)]
    offline: bool,
    /// Language of the explanations: en or ja.
    #[arg(long, default_value = "en", value_parser = parse_lang)]
    lang: Lang,
    /// Analyze as if it were this Unix time (for `x=` expiry and tests).
    #[arg(long, value_name = "UNIX")]
    time: Option<u64>,
    /// The message or its header section (default: standard input), as saved or pasted
    /// from a mail client: LF or CRLF, headers only or whole.
    file: Option<PathBuf>,
}

fn parse_lang(text: &str) -> Result<Lang, String> {
    Lang::parse(text).ok_or_else(|| format!("unknown language {text:?} (en or ja)"))
}

pub async fn run(args: AnalyzeArgs, dns: &DnsArgs) -> anyhow::Result<u8> {
    let (mut input, name): (Box<dyn Read>, String) = match &args.file {
        Some(path) => (
            Box::new(
                std::fs::File::open(path)
                    .with_context(|| format!("cannot open {}", path.display()))?,
            ),
            path.display().to_string(),
        ),
        None => (Box::new(std::io::stdin()), "standard input".into()),
    };
    let mut data = Vec::new();
    input
        .by_ref()
        .take(MAX_INPUT + 1)
        .read_to_end(&mut data)
        .with_context(|| format!("cannot read {name}"))?;
    if data.len() as u64 > MAX_INPUT {
        anyhow::bail!("{name} is larger than {} MiB", MAX_INPUT / 1024 / 1024);
    }
    let mut config = AnalyzeConfig::new(args.time.unwrap_or_else(crate::now));
    config.lang = args.lang;
    let report = if args.offline {
        headers::analyze_offline(&data, &config)
    } else {
        let lookup = dns.lookup()?;
        headers::analyze(&data, Some(&*lookup), &config).await
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if args.html {
        print!("{}", hanko_web::report_page(&report));
    } else {
        print!("{}", terminal_safe(&text(&report)));
    }
    Ok(0)
}

/// `text` padded with spaces to `width` terminal columns (East Asian characters take two).
/// `text` with every control character but the line ends hanko wrote shown as an escape
/// (`\x1b`, `\r`, `\u{202e}`) instead of sent to the terminal: fields of the message can
/// hold ESC sequences (which clear the screen, move the cursor or write the clipboard), bare
/// CRs (which overwrite a line) and bidirectional overrides (which reorder what is shown).
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("\\r"),
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn pad(text: &str, width: usize) -> String {
    let columns: usize = text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
    format!("{text}{}", " ".repeat(width.saturating_sub(columns)))
}

fn heading(out: &mut String, lang: Lang, en: &str, ja: &str) {
    let title = lang.pick(en, ja);
    let columns = title
        .chars()
        .map(|c| if c.is_ascii() { 1 } else { 2 })
        .sum::<usize>();
    let _ = writeln!(out, "\n{title}\n{}", "=".repeat(columns.max(4)));
}

/// The report as text for a terminal: one section after another.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    summary(&mut out, report);
    hops(&mut out, report);
    signatures(&mut out, report);
    reverification(&mut out, report);
    claims(&mut out, report);
    arc(&mut out, report);
    antispam(&mut out, report);
    notes(&mut out, report);
    out
}

/// The verdict and who sent what, when.
fn summary(out: &mut String, report: &Report) {
    let lang = report.lang;
    let l = |en: &'static str, ja: &'static str| lang.pick(en, ja);
    let s = &report.summary;
    let _ = writeln!(
        out,
        "{}: {}",
        l("Verdict", "判定"),
        s.verdict.status.to_uppercase()
    );
    let _ = writeln!(out, "  {}", s.verdict.line);
    heading(out, lang, "Summary", "概要");
    let party = |p: &headers::Party| match (&p.name, &p.address) {
        (Some(n), Some(a)) => format!("{n} <{a}>"),
        (None, Some(a)) => a.clone(),
        (Some(n), None) => n.clone(),
        (None, None) => "?".into(),
    };
    let parties = |ps: &[headers::Party]| ps.iter().map(party).collect::<Vec<_>>().join(", ");
    let mut row = |label: &str, value: Option<String>| {
        if let Some(v) = value {
            let _ = writeln!(out, "  {} {v}", pad(label, 12));
        }
    };
    row(
        l("From", "差出人"),
        (!s.from.is_empty()).then(|| {
            let domains: Vec<&str> = s.from.iter().filter_map(|p| p.domain.as_deref()).collect();
            format!("{}  [{}]", parties(&s.from), domains.join(", "))
        }),
    );
    row(l("To", "宛先"), (!s.to.is_empty()).then(|| parties(&s.to)));
    row(l("Subject", "件名"), s.subject.clone());
    row(
        l("Date", "日時"),
        s.date_raw.clone().map(|raw| match &s.date {
            Some(utc) => format!("{raw}  ({utc})"),
            None => raw,
        }),
    );
    row(l("Message-ID", "Message-ID"), s.message_id.clone());
    row(
        l("Transit", "配送時間"),
        s.transit_seconds.map(format_duration),
    );
}

/// The Received fields, oldest first.
fn hops(out: &mut String, report: &Report) {
    let lang = report.lang;
    let l = |en: &'static str, ja: &'static str| lang.pick(en, ja);
    heading(out, lang, "Hops (oldest first)", "経路 (古い順)");
    if report.hops.is_empty() {
        let _ = writeln!(
            out,
            "  {}",
            l("No Received fields.", "Received フィールドはありません。")
        );
    }
    for hop in &report.hops {
        let delay = hop
            .delay_seconds
            .map(format_duration)
            .unwrap_or_else(|| "-".into());
        let mut flags = String::new();
        if hop.clock_skew {
            flags.push_str(l("  [clock skew]", "  [時刻のずれ]"));
        }
        if hop.long_delay {
            flags.push_str(l("  [slow]", "  [遅延]"));
        }
        let from = match (&hop.from, &hop.ip) {
            (Some(f), Some(ip)) => format!("{f} [{ip}]"),
            (Some(f), None) => f.clone(),
            (None, Some(ip)) => format!("[{ip}]"),
            (None, None) => "-".into(),
        };
        let _ = writeln!(
            out,
            "  {:>3}. {:>10}{}  {} -> {}",
            hop.number,
            delay,
            flags,
            from,
            hop.by.as_deref().unwrap_or("-")
        );
        let mut details = Vec::new();
        if let Some(w) = &hop.with {
            details.push(format!("with {w}"));
        }
        if let Some(t) = &hop.tls {
            details.push(format!("TLS: {t}"));
        }
        if let Some(id) = &hop.id {
            details.push(format!("id {id}"));
        }
        if let Some(f) = &hop.recipient {
            details.push(format!("for {f}"));
        }
        match (&hop.time, &hop.date_problem) {
            (Some(t), _) => details.push(t.clone()),
            (None, Some(p)) => details.push(p.clone()),
            _ => {}
        }
        if !details.is_empty() {
            let _ = writeln!(out, "       {}", details.join("; "));
        }
    }
}

/// Each DKIM signature: hanko's result, its tags, what is unsigned, the diagnosis.
fn signatures(out: &mut String, report: &Report) {
    let lang = report.lang;
    let l = |en: &'static str, ja: &'static str| lang.pick(en, ja);
    heading(out, lang, "DKIM signatures", "DKIM 署名");
    if report.signatures.is_empty() {
        let _ = writeln!(
            out,
            "  {}",
            l(
                "The message is not signed.",
                "メッセージは署名されていません。"
            )
        );
    }
    for sig in &report.signatures {
        let _ = writeln!(
            out,
            "  #{} d={} s={} a={}",
            sig.number,
            sig.domain.as_deref().unwrap_or("?"),
            sig.selector.as_deref().unwrap_or("?"),
            sig.algorithm.as_deref().unwrap_or("?")
        );
        if let Some(check) = &sig.check {
            let verdict = if check.headers_verified_body_not_checked {
                l("pass for the header fields", "ヘッダーについては pass")
            } else {
                &check.verdict
            };
            let _ = write!(out, "     hanko: {verdict}");
            if let Some(reason) = &check.reason {
                let _ = write!(out, " ({reason})");
            }
            let _ = writeln!(out);
            if let Some(key) = &check.key {
                let _ = writeln!(out, "     {}: {key}", l("key", "鍵"));
            }
        }
        if let Some(e) = &sig.parse_error {
            let _ = writeln!(out, "     {}: {e}", l("unreadable", "読めません"));
        }
        for tag in &sig.tags {
            let value: String = if tag.value.chars().count() > 40 {
                tag.value.chars().take(37).chain("...".chars()).collect()
            } else {
                tag.value.clone()
            };
            let _ = writeln!(out, "     {:>3}={:<40} {}", tag.tag, value, tag.meaning);
        }
        if !sig.unsigned_fields.is_empty() {
            let _ = writeln!(
                out,
                "     {}: {}",
                l("not signed", "署名対象外"),
                sig.unsigned_fields.join(", ")
            );
        }
        for risk in sig
            .risks
            .iter()
            .chain(sig.check.iter().flat_map(|c| &c.warnings))
        {
            let _ = writeln!(out, "     ! {risk}");
        }
        for line in &sig.diagnosis {
            let _ = writeln!(out, "     > {line}");
        }
    }
}

/// hanko's own checks and how they compare with the message's claims.
fn reverification(out: &mut String, report: &Report) {
    let lang = report.lang;
    let l = |en: &'static str, ja: &'static str| lang.pick(en, ja);
    if let Some(own) = &report.reverification {
        heading(out, lang, "hanko's checks", "hanko の検証");
        if let Some(c) = &own.connection {
            let _ = writeln!(
                out,
                "  {}: ip={} helo={} mail-from={}  ({})",
                l("connection", "接続"),
                c.ip,
                c.helo,
                c.mail_from,
                c.source
            );
        }
        if let Some(spf) = &own.spf {
            let _ = writeln!(out, "  spf={}  {}", spf.result, spf.detail);
        }
        let _ = writeln!(out, "  dmarc={}  {}", own.dmarc.result, own.dmarc.detail);
        if let Some(arc) = &own.arc {
            let _ = writeln!(out, "  arc={}  {}", arc.result, terminal_safe(&arc.detail));
            for hop in &arc.hops {
                let word = |w: &Option<String>| w.clone().unwrap_or_else(|| "-".into());
                let _ = writeln!(
                    out,
                    "   i={} {}  {}={} ams={}{}",
                    hop.instance,
                    terminal_safe(hop.sealer.as_deref().unwrap_or("?")),
                    l("seal", "封印"),
                    word(&hop.seal),
                    word(&hop.message_signature),
                    if hop.changed_message {
                        l("  (changed the message)", "  (メッセージを変更)")
                    } else {
                        ""
                    }
                );
                if let Some(problem) = &hop.problem {
                    let _ = writeln!(out, "       {}", terminal_safe(problem));
                }
                let _ = writeln!(
                    out,
                    "       {}: {}",
                    l("recorded", "記録"),
                    terminal_safe(&hop.recorded)
                );
            }
            let _ = writeln!(out, "   {}", terminal_safe(&arc.note));
        }
        for note in &own.notes {
            let _ = writeln!(out, "  ! {note}");
        }
        let _ = writeln!(
            out,
            "\n  {}",
            own.authentication_results.replace("\r\n", "\n  ")
        );
        if !own.comparisons.is_empty() {
            let _ = writeln!(
                out,
                "\n  {}",
                l(
                    "Claimed in the message vs hanko:",
                    "メッセージ内の主張と hanko の結果:"
                )
            );
            for c in &own.comparisons {
                let mark = match c.agrees {
                    Some(true) => "=",
                    Some(false) => "≠",
                    None => "?",
                };
                let _ = writeln!(
                    out,
                    "   {mark} {}={} {} ({} #{}) / hanko: {}",
                    c.method,
                    c.claimed,
                    c.subject.as_deref().unwrap_or(""),
                    c.authserv_id.as_deref().unwrap_or("?"),
                    c.position,
                    c.hanko.as_deref().unwrap_or("-")
                );
            }
        }
    }
}

/// The Authentication-Results fields servers on the way wrote.
fn claims(out: &mut String, report: &Report) {
    let lang = report.lang;
    let l = |en: &'static str, ja: &'static str| lang.pick(en, ja);
    if !report.claims.is_empty() {
        heading(
            out,
            lang,
            "What servers on the way claimed",
            "途中のサーバーの主張",
        );
        let _ = writeln!(
            out,
            "  {}",
            l(
                "Anyone can write these fields; only those your own servers added can be believed.",
                "これらのフィールドは誰でも書けます。信頼できるのは自分のサーバーが追加したものだけです。"
            )
        );
        for claim in &report.claims {
            let instance = claim
                .instance
                .map(|i| format!(" i={i}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}{} ({}) #{}",
                claim.field,
                instance,
                claim.authserv_id.as_deref().unwrap_or("?"),
                claim.position
            );
            if let Some(e) = &claim.error {
                let _ = writeln!(out, "     {}: {e}", l("unreadable", "読めません"));
            }
            for r in &claim.results {
                let props: Vec<String> = r
                    .properties
                    .iter()
                    .map(|p| format!("{}={}", p.name, p.value))
                    .collect();
                let _ = writeln!(out, "     {}={} {}", r.method, r.result, props.join(" "));
                let _ = writeln!(out, "        {}", r.meaning);
            }
        }
    }
}

/// The ARC sets.
fn arc(out: &mut String, report: &Report) {
    let lang = report.lang;
    if !report.arc.is_empty() {
        heading(out, lang, "ARC", "ARC");
        for f in &report.arc {
            let _ = writeln!(
                out,
                "  {} i={}",
                f.field,
                f.instance.map_or("?".into(), |i| i.to_string())
            );
            for tag in f
                .tags
                .iter()
                .filter(|t| matches!(t.tag.as_str(), "cv" | "d" | "s" | "a" | "t"))
            {
                let _ = writeln!(out, "     {:>3}={:<24} {}", tag.tag, tag.value, tag.meaning);
            }
        }
    }
}

/// Anti-spam verdict fields, decoded where the vendor is known.
fn antispam(out: &mut String, report: &Report) {
    let lang = report.lang;
    if !report.antispam.is_empty() {
        heading(out, lang, "Anti-spam", "迷惑メール判定");
        for f in &report.antispam {
            let _ = writeln!(out, "  {} ({})", f.field, f.vendor);
            if f.decoded.is_empty() {
                let _ = writeln!(out, "     {}", f.raw);
            }
            for t in &f.decoded {
                let _ = writeln!(out, "     {}={}  {}", t.tag, t.value, t.meaning);
            }
        }
    }
}

/// Notes that fit no section.
fn notes(out: &mut String, report: &Report) {
    let lang = report.lang;
    if !report.notes.is_empty() {
        heading(out, lang, "Notes", "注記");
        for note in &report.notes {
            let _ = writeln!(out, "  - {note}");
        }
    }
}
