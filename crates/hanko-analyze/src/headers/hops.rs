//! The path a message took: its Received fields oldest first (RFC 5321 §4.4: each MTA adds
//! one on top), with the delay between hops.

use serde::Serialize;

use super::{tr, Lang};
use hanko::message::{format_utc, parse_date_time, DateTime, Headers, Received};

/// One hop: one Received field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// 1 for the oldest hop (the bottom Received field).
    pub number: usize,
    /// The name after `from` (the client's HELO, or its reverse DNS name for Exim and qmail).
    pub from: Option<String>,
    /// The HELO name when the MTA wrote it apart from `from`.
    pub helo: Option<String>,
    /// The reverse DNS name the receiving MTA found.
    pub reverse_dns: Option<String>,
    /// The client's IP address.
    pub ip: Option<String>,
    /// The receiving host (`by`).
    pub by: Option<String>,
    /// The protocol (`with`: `ESMTPS`, `SMTP`, `LMTP`, `HTTP`, ...).
    pub with: Option<String>,
    /// The receiving MTA's queue ID (`id`).
    pub id: Option<String>,
    /// The recipient (`for`).
    pub recipient: Option<String>,
    /// The TLS version and cipher, when the field records them (or `TLS` when only the
    /// protocol name says the hop was encrypted).
    pub tls: Option<String>,
    /// When the hop received the message, RFC 3339 in UTC.
    pub time: Option<String>,
    /// The same as Unix seconds.
    pub unix_time: Option<i64>,
    /// Why the date could not be read.
    pub date_problem: Option<String>,
    /// Seconds since the previous hop with a readable date (for the first hop: since the
    /// `Date:` field, when it has one).
    pub delay_seconds: Option<i64>,
    /// The delay is negative: one of the two clocks is wrong.
    pub clock_skew: bool,
    /// The delay is longer than [`super::AnalyzeConfig::long_delay_seconds`].
    pub long_delay: bool,
    /// The field value as written (unfolded).
    pub raw: String,
}

/// The hops of `headers`, oldest first, and the notes on them.
pub(crate) fn hops(
    headers: &Headers,
    sent: Option<DateTime>,
    long_delay: i64,
    lang: Lang,
) -> (Vec<Hop>, Vec<String>) {
    let fields: Vec<_> = headers.named("Received").collect();
    let mut out = Vec::with_capacity(fields.len());
    let mut notes = Vec::new();
    let mut previous = sent.map(|d| d.unix_seconds);
    for (i, field) in fields.iter().rev().enumerate() {
        let raw = field.unfolded_value();
        let received = Received::parse(&raw);
        let client = received.client.clone().unwrap_or_default();
        let (time, unix_time, date_problem) = match &received.date {
            Ok(date) => (
                Some(format_utc(date.unix_seconds)),
                Some(date.unix_seconds),
                None,
            ),
            Err(e) => (None, None, Some(e.to_string())),
        };
        let delay_seconds = match (previous, unix_time) {
            (Some(p), Some(t)) => Some(t - p),
            _ => None,
        };
        if unix_time.is_some() {
            previous = unix_time;
        }
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        out.push(Hop {
            number: i + 1,
            from: received.client.as_ref().and_then(|c| nonempty(&c.name)),
            helo: client.helo.clone(),
            reverse_dns: client.reverse_dns.clone(),
            ip: client.ip.map(|ip| ip.to_string()),
            by: received.by().and_then(nonempty),
            with: received.with().and_then(nonempty),
            id: received.id().and_then(nonempty),
            recipient: received.recipient().and_then(nonempty),
            tls: received.tls(),
            time,
            unix_time,
            date_problem,
            delay_seconds,
            clock_skew: delay_seconds.is_some_and(|d| d < 0),
            long_delay: delay_seconds.is_some_and(|d| d > long_delay),
            raw,
        });
    }
    let unreadable = out.iter().filter(|h| h.date_problem.is_some()).count();
    if unreadable > 0 {
        notes.push(tr!(
            lang,
            "{} Received field(s) have no readable date; their delays are not shown.",
            "日時を読めない Received フィールドが {} 個あります。その遅延は表示しません。",
            unreadable
        ));
    }
    let skewed = out.iter().filter(|h| h.clock_skew).count();
    if skewed > 0 {
        notes.push(tr!(
            lang,
            "{} hop(s) are dated before the hop below them: a server's clock is wrong (or the field was forged).",
            "{} 個のホップが、前のホップより前の日時になっています。どこかのサーバーの時計が狂っているか、フィールドが偽造されています。",
            skewed
        ));
    }
    (out, notes)
}

/// The `Date:` field, parsed.
pub(crate) fn sent_date(headers: &Headers) -> Option<Result<DateTime, String>> {
    let field = headers.named("Date").next()?;
    Some(parse_date_time(&field.unfolded_value()).map_err(|e| e.to_string()))
}

/// A duration for people: `2 s`, `3 min 5 s`, `2 h 1 min`, `3 d 4 h`; negative with `-`.
pub fn format_duration(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    let text = match s {
        0..=59 => format!("{s} s"),
        60..=3_599 => format!("{} min {} s", s / 60, s % 60),
        3_600..=86_399 => format!("{} h {} min", s / 3_600, s % 3_600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3_600),
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hanko::message::MessageLimits;

    #[test]
    fn duration_formatting() {
        assert_eq!(format_duration(-5), "-5 s");
        assert_eq!(format_duration(3_725), "1 h 2 min");
    }

    #[test]
    fn oldest_first_with_delays_and_flags() {
        let headers = Headers::parse(
            b"Received: from c (c [192.0.2.3]) by d with ESMTPS id 3; Mon, 23 Nov 2026 09:00:05 +0900\r\n\
              Received: from b by c with SMTP id 2; Mon, 23 Nov 2026 00:10:00 +0000\r\n\
              Received: from a by b; Mon, 23 Nov 2026 09:00:01 +0900\r\n\
              Received: by a; yesterday\r\n\
              Date: Mon, 23 Nov 2026 08:59:59 +0900\r\n",
            &MessageLimits::default(),
        )
        .unwrap();
        let sent = sent_date(&headers).unwrap().ok();
        let (hops, notes) = hops(&headers, sent, 300, Lang::En);
        let delays: Vec<_> = hops.iter().map(|h| h.delay_seconds).collect();
        assert_eq!(delays, [None, Some(2), Some(599), Some(-595)]);
        assert_eq!(hops[0].by.as_deref(), Some("a"));
        assert!(hops[0].date_problem.is_some());
        assert!(hops[2].long_delay && !hops[2].clock_skew);
        assert!(hops[3].clock_skew);
        assert_eq!(hops[3].ip.as_deref(), Some("192.0.2.3"));
        assert_eq!(hops[3].tls.as_deref(), Some("ESMTPS"));
        assert_eq!(notes.len(), 2);
    }
}
