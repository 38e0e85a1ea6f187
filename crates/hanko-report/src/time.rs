//! Dates of reports: Unix times written as RFC 3339 in UTC (`2026-12-06T00:00:00Z`), and the
//! dates given on the command line. The calendar is hanko's own (`hanko::message`), which
//! also reads the `Date:` and `Received:` fields of messages.

/// Month names as RFC 5322 §3.3 writes them.
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A date given on the command line: `YYYY-MM-DD` (midnight UTC), an RFC 3339 date-time in
/// UTC (`YYYY-MM-DDTHH:MM:SSZ`), or Unix seconds.
pub fn parse_date(text: &str) -> Option<u64> {
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(seconds);
    }
    if let Some((date, time)) = text.split_once(['T', 't']) {
        let time = time.strip_suffix(['Z', 'z'])?;
        let mut parts = time.splitn(3, ':');
        let mut next = |max: u64| parts.next()?.parse::<u64>().ok().filter(|n| *n <= max);
        let (hours, minutes, seconds) = (next(23)?, next(59)?, next(60)?);
        return Some(parse_date(date)? + hours * 3600 + minutes * 60 + seconds);
    }
    let mut parts = text.splitn(3, '-');
    let year = parts.next().filter(|y| y.len() == 4)?;
    let month: usize = parts.next()?.parse().ok()?;
    let day = parts.next()?;
    let name = MONTHS.get(month.checked_sub(1)?)?;
    // The RFC 5322 date parser checks the day against the month (2026-02-30 is refused).
    let parsed = hanko::message::parse_date_time(&format!("{day} {name} {year} 00:00:00 +0000"));
    u64::try_from(parsed.ok()?.unix_seconds).ok()
}

/// `seconds` since the Unix epoch as RFC 3339 in UTC.
pub fn format(seconds: u64) -> String {
    hanko::message::format_utc(i64::try_from(seconds).unwrap_or(i64::MAX))
}

/// serde's `serialize_with` for a Unix time.
pub(crate) fn rfc3339<S: serde::Serializer>(
    seconds: &u64,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(*seconds))
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::format(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::format(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::format(1_795_392_000), "2026-11-23T00:00:00Z");
        assert_eq!(super::format(1_516_147_199), "2018-01-16T23:59:59Z");
        assert_eq!(super::parse_date("2026-11-23"), Some(1_795_392_000));
        assert_eq!(super::parse_date("2000-02-29"), Some(951_782_400));
        assert_eq!(super::parse_date("1795392000"), Some(1_795_392_000));
        assert_eq!(
            super::parse_date("2026-11-23T10:20:30Z"),
            Some(1_795_392_000 + 37_230)
        );
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "yesterday",
            "2026-1",
            "2026-11-23T10:20:30",
            "2026-11-23T24:00:00Z",
            "2026-11-23T10:61:00Z",
        ] {
            assert_eq!(super::parse_date(bad), None, "{bad}");
        }
    }
}
