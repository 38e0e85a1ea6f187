//! The header analyzer: explains a message the way a security analyst reads it.
//!
//! Give it a whole message or only its header section, pasted from any mail client (see
//! [`analyze`] for what the reader forgives), and it returns a [`Report`]: who it claims to
//! be from, the path it took (every `Received` hop oldest first, with delays), every
//! DKIM-Signature tag by tag, what other servers claimed in Authentication-Results, ARC and
//! Received-SPF, the anti-spam verdicts Microsoft and SpamAssassin wrote, and hanko's own
//! re-verification beside those claims, with a diagnosis when a signature fails.
//!
//! The verdict comes from hanko's own checks only. Authentication-Results fields in the
//! message are shown as claims and compared, never believed: anyone can write them.
//!
//! ```
//! use hanko_analyze::headers::{analyze_offline, AnalyzeConfig, Lang};
//!
//! let pasted = b"Received: from mail.example.com (mail.example.com [192.0.2.1])\n\
//!     \tby mx.example.net with ESMTPS id 4A; Mon, 23 Nov 2026 09:00:03 +0900\n\
//!     From: =?UTF-8?B?5bGx55Sw?= <yamada@example.com>\n\
//!     Subject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\n\
//!     Date: Mon, 23 Nov 2026 09:00:00 +0900\n";
//! let report = analyze_offline(pasted, &AnalyzeConfig::new(1_795_392_000));
//! assert_eq!(report.summary.subject.as_deref(), Some("こんにちは"));
//! assert_eq!(report.summary.from[0].name.as_deref(), Some("山田"));
//! assert_eq!(report.hops[0].delay_seconds, Some(3));
//! assert_eq!(report.summary.verdict.status, "unverified");
//! ```
//!
//! Renderers: the `hanko analyze` command prints it as text or JSON (every type here is
//! `serde::Serialize`), and `hanko-web` draws it as a page.

mod antispam;
mod arc_chain;
mod claims;
mod hops;
mod input;
mod signatures;

use std::future::Future;
use std::net::IpAddr;

use serde::Serialize;

pub use antispam::AntispamField;
pub use arc_chain::{ArcChainReport, ArcHop};
pub use claims::{ArcField, Claim, ClaimedProperty, ClaimedResult};
pub use hanko::message::format_utc;
pub use hops::{format_duration, Hop};
pub use signatures::{SignatureCheck, SignatureReport, TagExplained};

use hanko::dkim::{DkimFailure, VerifyConfig};
use hanko::dmarc::{DmarcOutcome, DmarcProblem};
use hanko::dns::{DnsError, Lookup, LookupFuture, Mx};
use hanko::message::Headers;
use hanko::receiver::{self, Receiver, ReceiverConfig};
use hanko::spf::SpfOutcome;

/// The language of the report's sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English (the default).
    #[default]
    En,
    /// Japanese.
    Ja,
}

impl Lang {
    /// `en` or `ja` (a region suffix such as `ja-JP` is accepted); `None` for others.
    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "ja" => Some(Lang::Ja),
            _ => None,
        }
    }

    /// The first language of an HTTP `Accept-Language` value that hanko speaks, by
    /// preference (`q=`); English when none.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut choices: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let lang = Lang::parse(pieces.next()?)?;
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((q, lang))
            })
            .collect();
        choices.sort_by(|a, b| b.0.total_cmp(&a.0));
        choices.first().map_or(Lang::En, |c| c.1)
    }

    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    /// `en` or `ja`, whichever is this language.
    pub fn pick<'a>(self, en: &'a str, ja: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Ja => ja,
        }
    }
}

/// `format!` in the report's language: `tr!(lang, "English {}", "日本語 {}", args...)`.
macro_rules! tr {
    ($lang:expr, $en:literal, $ja:literal $(, $arg:expr)* $(,)?) => {
        match $lang {
            $crate::headers::Lang::En => format!($en $(, $arg)*),
            $crate::headers::Lang::Ja => format!($ja $(, $arg)*),
        }
    };
}
pub(crate) use tr;

/// Settings of the analyzer.
#[derive(Debug, Clone)]
pub struct AnalyzeConfig {
    /// The current time, Unix seconds: for `x=` expiry and re-verification.
    pub now: u64,
    /// The language of explanations. Default: English.
    pub lang: Lang,
    /// A hop slower than this many seconds is flagged. Default: 300.
    pub long_delay_seconds: i64,
    /// Most header fields read; the rest are counted and named in a note. Default: 10,000.
    pub max_header_fields: usize,
    /// Most octets of header section read. Default: 10 MiB.
    pub max_header_bytes: usize,
    /// Most failed signatures diagnosed (each diagnosis tries up to 200 rebuilt messages).
    /// Default: 5.
    pub max_diagnosed_signatures: usize,
    /// Most work all diagnoses of one report do together, in octets copied or hashed (each
    /// rebuilt header section counts its size twice plus 256 KiB for its verification; each
    /// rebuilt body its size or more). Default: 256 MiB, well under a second of hashing; past
    /// it the diagnosis stops and a note says so.
    pub max_diagnosis_work: usize,
    /// The DKIM verifier's settings.
    pub verify: VerifyConfig,
}

impl AnalyzeConfig {
    /// The defaults, at time `now`.
    pub fn new(now: u64) -> AnalyzeConfig {
        AnalyzeConfig {
            now,
            lang: Lang::En,
            long_delay_seconds: 300,
            max_header_fields: 10_000,
            max_header_bytes: 10 * 1024 * 1024,
            max_diagnosed_signatures: 5,
            max_diagnosis_work: 256 * 1024 * 1024,
            verify: VerifyConfig::default(),
        }
    }
}

/// A mailbox of From or To, decoded for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Party {
    /// The display name, RFC 2047 decoded.
    pub name: Option<String>,
    /// The address.
    pub address: Option<String>,
    /// The address's domain.
    pub domain: Option<String>,
}

/// The one-line verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// `pass`, `fail`, `none`, `temperror`, `permerror`, `headers-only` (re-verified, but
    /// without a body) or `unverified` (offline).
    pub status: String,
    /// The verdict in one sentence.
    pub line: String,
}

/// The summary at the top of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// From, decoded.
    pub from: Vec<Party>,
    /// To, decoded.
    pub to: Vec<Party>,
    /// Subject, RFC 2047 decoded.
    pub subject: Option<String>,
    /// Date, RFC 3339 in UTC.
    pub date: Option<String>,
    /// Date as written.
    pub date_raw: Option<String>,
    /// Message-ID.
    pub message_id: Option<String>,
    /// Seconds from the first dated point (Date, else the oldest hop) to the newest hop.
    pub transit_seconds: Option<i64>,
    /// The verdict.
    pub verdict: Verdict,
}

/// About the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputInfo {
    /// Octets given.
    pub bytes: usize,
    /// Header fields read.
    pub header_fields: usize,
    /// Header fields not read (over the limits, or without a name).
    pub dropped_fields: usize,
    /// Only a header section was given.
    pub headers_only: bool,
    /// `LF`, `CRLF`, `CR`, `mixed` or `none`.
    pub line_endings: String,
}

/// The connection SPF was re-checked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionUsed {
    /// The client IP.
    pub ip: String,
    /// The HELO name (`unknown` when no field names it).
    pub helo: String,
    /// MAIL FROM.
    pub mail_from: String,
    /// Where these came from.
    pub source: String,
}

/// A result of hanko's own check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnResult {
    /// The RFC 8601 result word.
    pub result: String,
    /// The domain checked.
    pub domain: Option<String>,
    /// Why, in a sentence.
    pub detail: String,
}

/// One claimed result next to hanko's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// The field it came from (position among header fields, 1 = topmost).
    pub position: usize,
    /// Who claimed it (`authserv-id`), when known.
    pub authserv_id: Option<String>,
    /// `spf`, `dkim` or `dmarc`.
    pub method: String,
    /// What it was about (`d=example.com`, `smtp.mailfrom=...`, `header.from=...`).
    pub subject: Option<String>,
    /// The claimed result.
    pub claimed: String,
    /// hanko's result for the same thing, when hanko found the same thing.
    pub hanko: Option<String>,
    /// Whether they agree.
    pub agrees: Option<bool>,
}

/// hanko's own re-verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reverification {
    /// The connection SPF was evaluated for, when the receiving server's own fields record
    /// one.
    pub connection: Option<ConnectionUsed>,
    /// DMARC passed through SPF alone (no aligned DKIM signature passed): the pass rests on
    /// the connection the receiving server recorded, as far as it can be trusted.
    pub pass_rests_on_connection: bool,
    /// Octets of body after the part a passing signature's `l=` covers, the most over the
    /// passing signatures: anyone could have appended them (RFC 6376 §8.2). 0 when every
    /// passing signature covers the whole body.
    pub unsigned_body_octets: u64,
    /// SPF for the MAIL FROM.
    pub spf: Option<OwnResult>,
    /// DMARC for the From domain.
    pub dmarc: OwnResult,
    /// The ARC chain, when the message carries one.
    pub arc: Option<ArcChainReport>,
    /// The Authentication-Results field hanko would write (authserv-id `hanko`).
    pub authentication_results: String,
    /// The claims next to hanko's results.
    pub comparisons: Vec<Comparison>,
    /// Notes on the re-verification (why SPF was skipped, ...).
    pub notes: Vec<String>,
}

/// The whole analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The language of the sentences.
    pub lang: Lang,
    /// About the input.
    pub input: InputInfo,
    /// The summary and verdict.
    pub summary: Summary,
    /// The hops, oldest first.
    pub hops: Vec<Hop>,
    /// The DKIM-Signature fields, top first.
    pub signatures: Vec<SignatureReport>,
    /// Authentication-Results, ARC-Authentication-Results and Received-SPF, top first.
    pub claims: Vec<Claim>,
    /// ARC-Seal and ARC-Message-Signature fields, top first.
    pub arc: Vec<ArcField>,
    /// Anti-spam fields.
    pub antispam: Vec<AntispamField>,
    /// hanko's re-verification; `None` offline.
    pub reverification: Option<Reverification>,
    /// What could not be read or was repaired.
    pub notes: Vec<String>,
}

/// A lookup that is never asked: the offline analysis has nothing to query.
struct NoDns;

impl Lookup for NoDns {
    fn txt<'a>(&'a self, _: &'a str) -> LookupFuture<'a, hanko::dns::TxtAnswer> {
        LookupFuture::ready(Err(DnsError::ServerFailure("offline".into())))
    }
    fn a<'a>(&'a self, _: &'a str) -> LookupFuture<'a, Vec<std::net::Ipv4Addr>> {
        LookupFuture::ready(Err(DnsError::ServerFailure("offline".into())))
    }
    fn aaaa<'a>(&'a self, _: &'a str) -> LookupFuture<'a, Vec<std::net::Ipv6Addr>> {
        LookupFuture::ready(Err(DnsError::ServerFailure("offline".into())))
    }
    fn mx<'a>(&'a self, _: &'a str) -> LookupFuture<'a, Vec<Mx>> {
        LookupFuture::ready(Err(DnsError::ServerFailure("offline".into())))
    }
    fn ptr<'a>(&'a self, _: IpAddr) -> LookupFuture<'a, Vec<String>> {
        LookupFuture::ready(Err(DnsError::ServerFailure("offline".into())))
    }
}

/// Analyzes without DNS: everything but the re-verification.
pub fn analyze_offline(input: &[u8], config: &AnalyzeConfig) -> Report {
    let future = analyze::<NoDns>(input, None, config);
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        // Without a lookup nothing awaits I/O: the first poll finishes.
        if let std::task::Poll::Ready(report) = future.as_mut().poll(&mut cx) {
            return report;
        }
    }
}

/// Analyzes `input`: a whole message or its header section, as pasted (LF, CRLF or CR line
/// ends, blank lines and white space around it, Gmail's "Show original" summary above it,
/// continuation lines that lost their indentation). With `lookup`, DKIM, SPF and DMARC are
/// re-verified through it; with `None` the report says what the message claims and
/// explains it, without checking.
///
/// Never fails: what cannot be read is named in [`Report::notes`].
pub async fn analyze<L: Lookup + ?Sized>(
    input: &[u8],
    lookup: Option<&L>,
    config: &AnalyzeConfig,
) -> Report {
    let lang = config.lang;
    let pasted = input::read(
        input,
        config.max_header_fields,
        config.max_header_bytes,
        lang,
    );
    let headers = &pasted.headers;
    let date_raw = headers.named("Date").next().map(|f| f.unfolded_value());
    let mut notes = pasted.notes.clone();

    let sent = hops::sent_date(headers);
    if let Some(Err(e)) = &sent {
        notes.push(tr!(
            lang,
            "The Date field could not be read: {}.",
            "Date フィールドを読めませんでした: {}。",
            e
        ));
    }
    let sent = sent.and_then(Result::ok);
    let (hops, hop_notes) = hops::hops(headers, sent, config.long_delay_seconds, lang);
    notes.extend(hop_notes);
    let start = sent
        .map(|d| d.unix_seconds)
        .or_else(|| hops.iter().find_map(|h| h.unix_time));
    let end = hops.iter().rev().find_map(|h| h.unix_time);
    let transit_seconds = match (start, end) {
        (Some(s), Some(e)) => Some(e - s),
        _ => None,
    };

    let mut signatures = Vec::new();
    for (index, field) in headers.fields().iter().enumerate() {
        if field.is("DKIM-Signature") {
            let number = signatures.len() + 1;
            signatures.push((
                index,
                signatures::describe(headers, number, field, config.now, lang),
            ));
        }
    }
    let (claims, arc) = claims::claims(headers, lang);
    let antispam = antispam::antispam(headers, lang);

    let reverification = match lookup {
        Some(lookup) => Some(
            reverify(
                lookup,
                headers,
                pasted.body.as_deref(),
                &mut signatures,
                &claims,
                config,
            )
            .await,
        ),
        None => None,
    };
    let signatures: Vec<SignatureReport> = signatures.into_iter().map(|(_, s)| s).collect();
    let verdict = verdict(
        reverification.as_ref(),
        &signatures,
        &claims,
        pasted.body.is_none(),
        lang,
    );
    let decoded = display::decode(headers);
    Report {
        lang,
        input: InputInfo {
            bytes: input.len(),
            header_fields: headers.len(),
            dropped_fields: pasted.dropped_fields,
            headers_only: pasted.body.is_none(),
            line_endings: pasted.line_endings.to_string(),
        },
        summary: Summary {
            from: decoded.from,
            to: decoded.to,
            subject: decoded.subject,
            date: sent.map(|d| format_utc(d.unix_seconds)),
            date_raw,
            message_id: decoded.message_id,
            transit_seconds,
            verdict,
        },
        hops,
        signatures,
        claims,
        arc,
        antispam,
        reverification,
        notes,
    }
}

mod display {
    //! Display decoding (RFC 2047 words, charsets such as ISO-2022-JP) through mail-parser.

    use super::Party;
    use hanko::message::Headers;
    use mail_parser::{Address, MessageParser};

    pub(super) struct Decoded {
        pub from: Vec<Party>,
        pub to: Vec<Party>,
        pub subject: Option<String>,
        pub message_id: Option<String>,
    }

    /// Decoded text as it may be shown: an encoded word can carry any character, so line
    /// ends and tabs become spaces and other control characters U+FFFD (a terminal would
    /// otherwise obey them: clear the screen, paint a verdict, write the clipboard).
    pub(super) fn displayable(text: &str) -> String {
        text.chars()
            .map(|c| match c {
                '\r' | '\n' | '\t' => ' ',
                c if c.is_control() => '\u{FFFD}',
                c => c,
            })
            .collect()
    }

    fn parties(address: Option<&Address<'_>>) -> Vec<Party> {
        address
            .map(|a| {
                a.iter()
                    .map(|m| {
                        let address = m.address().map(displayable);
                        Party {
                            name: m.name().map(displayable).filter(|n| !n.is_empty()),
                            domain: address
                                .as_deref()
                                .and_then(|a| a.rsplit_once('@'))
                                .map(|(_, d)| d.to_ascii_lowercase()),
                            address,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn decode(headers: &Headers) -> Decoded {
        // Only the fields shown are given to the parser: it need not see the rest.
        let mut section = Vec::new();
        for name in ["From", "To", "Subject", "Message-ID"] {
            if let Some(f) = headers.named(name).next() {
                section.extend_from_slice(f.raw());
                section.extend_from_slice(b"\r\n");
            }
        }
        section.extend_from_slice(b"\r\n");
        let parsed = MessageParser::new().parse_headers(&section[..]);
        match parsed {
            Some(m) => Decoded {
                from: parties(m.from()),
                to: parties(m.to()),
                subject: m.subject().map(displayable),
                message_id: m.message_id().map(displayable),
            },
            None => Decoded {
                from: Vec::new(),
                to: Vec::new(),
                subject: None,
                message_id: None,
            },
        }
    }
}

/// The position (1 = topmost field) of the Received field where the message entered the
/// receiving organization: the topmost one that records a client IP, passing over the
/// internal hops of Microsoft 365 (the edge that takes mail from the Internet never is). That
/// field and everything above it were written by the servers that received the message;
/// everything below can have been written by the sender, forged trace fields included. `None` when no Received field
/// records a client: then nothing in the message can be told from a forgery.
pub fn receiving_boundary(headers: &Headers) -> Option<usize> {
    headers
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| f.is("Received"))
        .find_map(|(index, f)| {
            let received = hanko::message::Received::parse(&f.unfolded_value());
            let client = received.client.as_ref()?;
            client.ip?;
            (!is_microsoft_internal_hop(&received)).then_some(index + 1)
        })
}

/// A hop between Exchange Online's own servers: from a host under `outlook.com` to a host
/// under `prod.outlook.com` or `outlook.office365.com`, over an address of Microsoft's
/// 2603:1000::/24 or a private one. The edge that takes mail from the Internet is named
/// under `mail.protection.outlook.com`, so it is never passed over, whatever the sender's
/// HELO says.
fn is_microsoft_internal_hop(received: &hanko::message::Received) -> bool {
    let (Some(client), Some(by)) = (&received.client, received.by()) else {
        return false;
    };
    let by = by.to_ascii_lowercase();
    // The edge, `*.mail.protection.outlook.com`, matches neither.
    let internal_by = by.ends_with(".prod.outlook.com") || by.ends_with(".outlook.office365.com");
    let from_microsoft = client.name.to_ascii_lowercase().ends_with(".outlook.com");
    let internal_ip = match client.ip {
        Some(IpAddr::V6(ip)) => ip.segments()[0] == 0x2603 && ip.segments()[1] >> 8 == 0x10,
        Some(IpAddr::V4(ip)) => ip.is_private(),
        None => false,
    };
    internal_by && from_microsoft && internal_ip
}

/// The connection SPF is re-checked for, from the fields above [`receiving_boundary`] only:
/// the topmost Received-SPF with `client-ip=`, else the topmost Authentication-Results (or
/// ARC-Authentication-Results) `spf=` entry naming an IP, else the boundary Received field's
/// client. MAIL FROM from the same field, else from Return-Path.
fn connection(headers: &Headers, claims: &[Claim], lang: Lang) -> Option<ConnectionUsed> {
    // Only what the receiving servers wrote is evidence: claims above the boundary.
    let boundary = receiving_boundary(headers)?;
    let claims: Vec<&Claim> = claims.iter().filter(|c| c.position < boundary).collect();
    let return_path = headers
        .named("Return-Path")
        .next()
        .and_then(|f| hanko::message::return_path(&f.unfolded_value()));
    let helo_for = |ip: IpAddr| {
        headers.named("Received").find_map(|f| {
            let r = hanko::message::Received::parse(&f.unfolded_value());
            let client = r.client?;
            (client.ip? == ip).then(|| client.helo_name().to_string())
        })
    };
    let rank = |c: &&Claim| match c.field.to_ascii_lowercase().as_str() {
        "received-spf" => 0,
        "authentication-results" => 1,
        _ => 2,
    };
    // Microsoft's Received-SPF names no envelope sender; its Authentication-Results does.
    let claimed_mail_from = claims
        .iter()
        .flat_map(|c| &c.results)
        .filter(|r| r.method == "spf")
        .find_map(|r| r.property("smtp.mailfrom"))
        .map(str::to_string);
    let mut ordered = claims.clone();
    ordered.sort_by_key(rank);
    for claim in ordered {
        let Some(spf) = claim.results.iter().find(|r| r.method == "spf") else {
            continue;
        };
        let ip = spf
            .property("client-ip")
            .or_else(|| spf.property("smtp.remote-ip"))
            .and_then(|ip| ip.parse::<IpAddr>().ok())
            .or_else(|| {
                spf.comment.as_deref().and_then(|c| {
                    c.split(|ch: char| ch.is_whitespace() || ch == '(' || ch == ')')
                        .find_map(|w| w.trim_end_matches([',', ';', '.']).parse::<IpAddr>().ok())
                })
            });
        let Some(ip) = ip else { continue };
        let mail_from = spf
            .property("envelope-from")
            .or_else(|| spf.property("smtp.mailfrom"))
            .map(str::to_string)
            .or_else(|| return_path.clone())
            .or_else(|| claimed_mail_from.clone());
        let helo = spf
            .property("helo")
            .or_else(|| spf.property("smtp.helo"))
            .map(str::to_string)
            .or_else(|| helo_for(ip))
            .unwrap_or_else(|| "unknown".into());
        return Some(ConnectionUsed {
            ip: ip.to_string(),
            helo,
            mail_from: match mail_from {
                Some(m) => m,
                None => continue,
            },
            source: tr!(
                lang,
                "the {} field at position {}, written by {}",
                "{} フィールド (上から {} 番目、{} が記録)",
                claim.field,
                claim.position,
                claim.authserv_id.as_deref().unwrap_or("?")
            ),
        });
    }
    // No SPF claim above the boundary: the boundary's own record of the client.
    let field = &headers.fields()[boundary - 1];
    let client = hanko::message::Received::parse(&field.unfolded_value()).client?;
    Some(ConnectionUsed {
        ip: client.ip?.to_string(),
        helo: client.helo_name().to_string(),
        mail_from: return_path?,
        source: tr!(
            lang,
            "the Received field at position {} (where the message entered the receiving servers) and Return-Path",
            "上から {} 番目の Received フィールド (受信側サーバーに入った地点) と Return-Path",
            boundary
        ),
    })
}

fn dmarc_detail(outcome: &DmarcOutcome, lang: Lang) -> String {
    let mut aligned: Vec<String> = outcome
        .evaluations
        .iter()
        .flat_map(|e| {
            let dkim = e
                .dkim
                .iter()
                .filter(|a| a.pass && a.aligned)
                .map(|a| format!("DKIM d={}", a.domain));
            let spf = e
                .spf
                .iter()
                .filter(|a| a.pass && a.aligned)
                .map(|a| format!("SPF {}", a.domain));
            dkim.chain(spf).collect::<Vec<_>>()
        })
        .collect();
    aligned.dedup();
    let policy = outcome
        .evaluations
        .iter()
        .find_map(|e| e.policy)
        .map(|p| p.as_str())
        .unwrap_or("-");
    match (&outcome.problem, lang) {
        (None, Lang::En) => format!("aligned and passed: {}", aligned.join(", ")),
        (None, Lang::Ja) => format!("アラインして pass: {}", aligned.join(", ")),
        (Some(DmarcProblem::NotAligned), Lang::En) => format!(
            "no aligned DKIM signature or SPF passed; the owner's policy is p={policy}"
        ),
        (Some(DmarcProblem::NotAligned), Lang::Ja) => format!(
            "アラインした DKIM 署名も SPF も pass していません。ドメイン所有者のポリシーは p={policy} です"
        ),
        (Some(DmarcProblem::NoPolicy), Lang::Ja) => "DMARC レコードがありません".into(),
        (Some(problem), _) => problem.to_string(),
    }
}

/// hanko's checks, filling each signature's `check` and `diagnosis`.
async fn reverify<L: Lookup + ?Sized>(
    lookup: &L,
    headers: &Headers,
    body: Option<&[u8]>,
    signatures: &mut [(usize, SignatureReport)],
    claims: &[Claim],
    config: &AnalyzeConfig,
) -> Reverification {
    let lang = config.lang;
    let mut notes = Vec::new();

    // The connection SPF is re-checked for, read from the receiving server's trace fields.
    let connection = connection(headers, claims, lang);
    let client_ip = connection
        .as_ref()
        .and_then(|c| c.ip.parse::<IpAddr>().ok());
    if connection.is_none() {
        notes.push(
            lang.pick(
                "SPF was not re-checked: no field records the client IP address and the MAIL FROM.",
                "SPF は再確認していません。クライアントの IP アドレスと MAIL FROM を記録したフィールドがありません。",
            )
            .into(),
        );
    }
    let smtp = match (&connection, client_ip) {
        (Some(c), Some(ip)) => Some(receiver::Connection {
            ip,
            helo: &c.helo,
            mail_from: &c.mail_from,
            received_field: None,
        }),
        _ => None,
    };

    // The receiver pipeline, as a receiving server runs it; with headers only, a signature
    // whose signed fields verified counts as it would with its body.
    let mut receiver_config = ReceiverConfig::new("hanko");
    receiver_config.dkim = config.verify.clone();
    receiver_config.adsp = false;
    receiver_config.headers_only = body.is_none();
    let mut message = Receiver::new(&receiver_config, headers.clone());
    message.body(body.unwrap_or_default());
    let receipt = message.finish(lookup, smtp, config.now).await;
    let dkim = &receipt.dkim;

    let mut diagnosed = 0;
    let mut budget = signatures::WorkBudget::new(config.max_diagnosis_work);
    for result in &dkim.results {
        let Some((_, report)) = signatures
            .iter_mut()
            .find(|(index, _)| *index == result.field_index)
        else {
            continue;
        };
        signatures::record_check(report, result, body.is_none(), lang);
        let changed = matches!(
            result.failure,
            Some(DkimFailure::BodyHashMismatch { .. } | DkimFailure::SignatureMismatch)
        );
        let headers_only_ok = report
            .check
            .as_ref()
            .is_some_and(|c| c.headers_verified_body_not_checked);
        if changed && !headers_only_ok && diagnosed < config.max_diagnosed_signatures {
            diagnosed += 1;
            let key = match result.parsed_signature() {
                Some(sig) => hanko::dkim::fetch_key(lookup, &sig.key_name())
                    .await
                    .ok()
                    .map(|(key, _)| key),
                None => None,
            };
            let field = &headers.fields()[result.field_index];
            report.diagnosis = signatures::diagnose(
                headers,
                field,
                result,
                key.as_deref(),
                body,
                lang,
                &mut budget,
            );
        }
    }
    if budget.ran_out() {
        notes.push(tr!(
            lang,
            "The diagnosis of failed signatures stopped at its work limit ({} MiB hashed); what it found before is shown.",
            "失敗した署名の診断は作業量の上限 ({} MiB のハッシュ) で打ち切りました。それまでに分かったことを表示しています。",
            config.max_diagnosis_work / (1024 * 1024)
        ));
    }
    if dkim.skipped > 0 {
        notes.push(tr!(
            lang,
            "{} more DKIM-Signature field(s) were not verified (at most {} are).",
            "さらに {} 個の DKIM-Signature は検証していません (上限 {} 個)。",
            dkim.skipped,
            config.verify.max_signatures
        ));
    }
    let spf = receipt.spf.as_ref();
    let dmarc_outcome = &receipt.dmarc;
    let field = receipt.authentication_results();
    let comparisons = compare(claims, dkim, spf, dmarc_outcome, body.is_none());
    let pass_rests_on_connection = dmarc_outcome.verdict == hanko::dmarc::DmarcVerdict::Pass
        && !dmarc_outcome
            .evaluations
            .iter()
            .any(|e| e.dkim.iter().any(|a| a.pass && a.aligned));
    let unsigned_body_octets = dkim
        .results
        .iter()
        .filter(|r| r.verdict() == hanko::dkim::DkimVerdict::Pass)
        .flat_map(|r| &r.warnings)
        .filter_map(|w| match w {
            hanko::dkim::DkimWarning::UnsignedBodyContent { signed, total } => {
                Some(total.saturating_sub(*signed))
            }
            _ => None,
        })
        .max()
        .unwrap_or(0);
    Reverification {
        connection,
        pass_rests_on_connection,
        unsigned_body_octets,
        spf: spf.map(|o| spf_result(o, lang)),
        dmarc: OwnResult {
            result: dmarc_outcome.verdict.as_str().to_string(),
            domain: dmarc_outcome.author_domain.clone(),
            detail: dmarc_detail(dmarc_outcome, lang),
        },
        arc: receipt
            .arc
            .as_ref()
            .and_then(|arc| arc_chain::report(arc, lang)),
        authentication_results: field.to_field(),
        comparisons,
        notes,
    }
}

fn spf_result(outcome: &SpfOutcome, lang: Lang) -> OwnResult {
    let detail = match (&outcome.problem, &outcome.matched) {
        (Some(p), _) => p.to_string(),
        (None, Some(m)) => tr!(
            lang,
            "{} matched {} in the policy of {}",
            "{} は {} のポリシーの {} に一致しました",
            outcome.ip,
            m.term,
            m.domain
        ),
        (None, None) => tr!(
            lang,
            "no term of {}'s policy matched {}",
            "{} のポリシーには {} に一致する項目がありません",
            outcome.domain,
            outcome.ip
        ),
    };
    OwnResult {
        result: outcome.verdict.as_str().to_string(),
        domain: Some(outcome.domain.clone()),
        detail,
    }
}

/// Each claimed spf/dkim/dmarc result next to hanko's.
fn compare(
    claims: &[Claim],
    dkim: &hanko::dkim::Verification,
    spf: Option<&SpfOutcome>,
    dmarc: &DmarcOutcome,
    headers_only: bool,
) -> Vec<Comparison> {
    let mut out = Vec::new();
    for claim in claims {
        for r in &claim.results {
            let (subject, hanko) = match r.method.as_str() {
                "dkim" => {
                    let d = r.property("header.d").or_else(|| r.property("header.i"));
                    let b = r.property("header.b");
                    let found = dkim.results.iter().find(|ours| {
                        let same_b = match (b, &ours.header_b()) {
                            (Some(b), Some(ob)) => {
                                let n = b.len().min(ob.len());
                                n > 0 && b[..n] == ob[..n]
                            }
                            _ => true,
                        };
                        let same_d = match (d, &ours.domain()) {
                            (Some(d), Some(od)) => {
                                let d = d.rsplit('@').next().unwrap_or(d);
                                d.eq_ignore_ascii_case(od)
                            }
                            _ => false,
                        };
                        same_b && same_d
                    });
                    let hanko = match found {
                        // Headers only: a signature whose header part verified is compared
                        // as the pass it would be with its body.
                        Some(ours)
                            if headers_only
                                && matches!(
                                    ours.failure,
                                    Some(DkimFailure::BodyHashMismatch {
                                        headers_intact: true
                                    })
                                ) =>
                        {
                            Some("pass".to_string())
                        }
                        Some(ours) => Some(ours.verdict().as_str().to_string()),
                        None if dkim.results.is_empty() => Some("none".to_string()),
                        None => None,
                    };
                    let subject = match (r.property("header.d"), r.property("header.i")) {
                        (Some(d), _) => Some(format!("d={d}")),
                        (None, Some(i)) => Some(format!("i={i}")),
                        (None, None) => None,
                    };
                    (subject, hanko)
                }
                "spf" => (
                    r.property("smtp.mailfrom")
                        .or_else(|| r.property("envelope-from"))
                        .map(|m| format!("smtp.mailfrom={m}")),
                    spf.map(|o| o.verdict.as_str().to_string()),
                ),
                "dmarc" => (
                    r.property("header.from")
                        .map(|f| format!("header.from={f}")),
                    Some(dmarc.verdict.as_str().to_string()),
                ),
                _ => continue,
            };
            let agrees = hanko.as_deref().map(|h| h.eq_ignore_ascii_case(&r.result));
            out.push(Comparison {
                position: claim.position,
                authserv_id: claim.authserv_id.clone(),
                method: r.method.clone(),
                subject,
                claimed: r.result.clone(),
                hanko,
                agrees,
            });
        }
    }
    out
}

/// The one-line verdict, from hanko's own results only.
fn verdict(
    reverification: Option<&Reverification>,
    signatures: &[SignatureReport],
    claims: &[Claim],
    headers_only: bool,
    lang: Lang,
) -> Verdict {
    let Some(own) = reverification else {
        let mut signed: Vec<&str> = signatures
            .iter()
            .filter_map(|s| s.domain.as_deref())
            .collect();
        signed.dedup();
        let claimed = claims
            .iter()
            .find(|c| c.field.eq_ignore_ascii_case("Authentication-Results"))
            .map(|c| {
                let words: Vec<String> = c
                    .results
                    .iter()
                    .map(|r| format!("{}={}", r.method, r.result))
                    .collect();
                tr!(
                    lang,
                    " The topmost Authentication-Results ({}) claims {}: a claim, not a proof.",
                    " 最上位の Authentication-Results ({}) は {} と主張していますが、主張であって証明ではありません。",
                    c.authserv_id.as_deref().unwrap_or("?"),
                    words.join(" ")
                )
            })
            .unwrap_or_default();
        let line = if signed.is_empty() {
            tr!(
                lang,
                "Not verified (offline); the message carries no DKIM signature.{}",
                "オフラインのため検証していません。DKIM 署名はありません。{}",
                claimed
            )
        } else {
            tr!(
                lang,
                "Not verified (offline); DKIM signature(s) by {}.{}",
                "オフラインのため検証していません。DKIM 署名: {}。{}",
                signed.join(", "),
                claimed
            )
        };
        return Verdict {
            status: "unverified".into(),
            line,
        };
    };
    let dmarc = &own.dmarc;
    let domain = dmarc.domain.as_deref().unwrap_or("?");
    let mut dkim_pass: Vec<&str> = signatures
        .iter()
        .filter(|s| s.check.as_ref().is_some_and(|c| c.verdict == "pass"))
        .filter_map(|s| s.domain.as_deref())
        .collect();
    dkim_pass.dedup();
    let mut status = dmarc.result.clone();
    let mut line = match dmarc.result.as_str() {
        "pass" => tr!(
            lang,
            "Authenticated: DMARC pass for {} ({}).",
            "認証済み: {} の DMARC は pass です ({})。",
            domain,
            dmarc.detail
        ),
        "fail" => tr!(
            lang,
            "Not authenticated: DMARC fail for {}: {}.",
            "認証されていません: {} の DMARC は fail です。{}。",
            domain,
            dmarc.detail
        ),
        "none" if !dkim_pass.is_empty() => tr!(
            lang,
            "{} publishes no DMARC policy; DKIM pass for {}.",
            "{} は DMARC ポリシーを公開していません。DKIM は {} で pass しています。",
            domain,
            dkim_pass.join(", ")
        ),
        "none" => tr!(
            lang,
            "The sender cannot be confirmed: {} publishes no DMARC policy ({}) and no DKIM signature passed.",
            "送信者を確認できません: {} は DMARC ポリシーを公開しておらず ({})、pass した DKIM 署名もありません。",
            domain,
            dmarc.detail
        ),
        _ => tr!(
            lang,
            "Could not be decided: DMARC {} for {} ({}).",
            "判定できませんでした: {} の DMARC は {} です ({})。",
            dmarc.result,
            domain,
            dmarc.detail
        ),
    };
    if status == "pass" && own.unsigned_body_octets > 0 {
        line.push_str(&tr!(
            lang,
            " But {} octets at the end of the body are not covered by the signature (l=): anyone could have appended them.",
            " ただし本文末尾の {} オクテットは署名の対象外です (l=)。誰でも追加できた部分です。",
            own.unsigned_body_octets
        ));
    }
    if status == "pass" && own.pass_rests_on_connection {
        if let Some(connection) = &own.connection {
            line.push_str(&tr!(
                lang,
                " The pass rests on SPF for {}, as recorded by {}: it is as true as that record.",
                " この pass は {} の SPF に基づくもので、記録元は {} です。その記録が正しい限りにおいて有効です。",
                connection.ip,
                connection.source
            ));
        }
    }
    if headers_only {
        status = "headers-only".into();
        line = tr!(
            lang,
            "Headers only, so the body is unchecked. If the body is unchanged: {}",
            "ヘッダーのみのため本文は未確認です。本文が変わっていなければ: {}",
            line
        );
    }
    let disputed: Vec<String> = own
        .comparisons
        .iter()
        .filter(|c| c.agrees == Some(false))
        .map(|c| {
            format!(
                "{}={} ({})",
                c.method,
                c.claimed,
                c.authserv_id.as_deref().unwrap_or("?")
            )
        })
        .collect();
    let broken = signatures.iter().any(|s| !s.diagnosis.is_empty());
    if broken && status != "pass" {
        line.push_str(lang.pick(
            " DKIM signatures broke on the way: see the diagnosis.",
            " 途中で DKIM 署名が壊れています。診断を参照してください。",
        ));
    }
    if !disputed.is_empty() && !headers_only {
        line.push_str(&tr!(
            lang,
            " hanko's own checks disagree with claims in the message: {}.",
            " メッセージ内の主張と hanko の検証結果が食い違っています: {}。",
            disputed.join(", ")
        ));
    }
    Verdict { status, line }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages() {
        assert_eq!(Lang::parse("ja-JP"), Some(Lang::Ja));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(
            Lang::from_accept_language("fr-FR,ja;q=0.9,en;q=0.8"),
            Lang::Ja
        );
        assert_eq!(Lang::from_accept_language("en-US,ja;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
        assert_eq!(tr!(Lang::Ja, "{} hops", "{} ホップ", 3), "3 ホップ");
    }
}
