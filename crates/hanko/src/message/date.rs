//! RFC 5322 §3.3 date-time values, as found in `Date:` and at the end of `Received:` fields.
//!
//! The parser accepts the obsolete syntax of RFC 5322 §4.3 as well (two- and three-digit
//! years, named and military zones, comments such as `(PDT)` anywhere), because real
//! `Received:` fields use all of it. Military zones are read as `-0000` (unknown offset), as
//! §4.3 recommends.

use std::fmt;

/// A point in time with the UTC offset it was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix_seconds: i64,
    /// The offset from UTC in minutes as written (`+0900` is 540). `None` for `-0000` and
    /// military zones: the local offset is unknown (RFC 5322 §3.3).
    pub offset_minutes: Option<i32>,
}

/// Why a date-time did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DateError {
    /// The text does not have the shape `[day ","] date time zone`; names what was missing.
    Syntax(&'static str),
    /// A field is out of range (day 32, hour 25, month "Foo", zone "+9999").
    OutOfRange(&'static str),
}

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateError::Syntax(what) => write!(f, "not an RFC 5322 date: expected {what}"),
            DateError::OutOfRange(what) => write!(f, "RFC 5322 date: {what} out of range"),
        }
    }
}

impl std::error::Error for DateError {}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Removes RFC 5322 comments (nested parentheses, backslash quoting) and turns them into
/// spaces.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    let mut escaped = false;
    for c in text.chars() {
        if depth > 0 {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '(' {
                depth += 1;
            } else if c == ')' {
                depth -= 1;
                if depth == 0 {
                    out.push(' ');
                }
            }
        } else if c == '(' {
            depth = 1;
        } else {
            out.push(c);
        }
    }
    out
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian; H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let month = i64::from(month);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

fn number(text: &str, what: &'static str) -> Result<u32, DateError> {
    if text.is_empty() || text.len() > 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DateError::Syntax(what));
    }
    text.parse().map_err(|_| DateError::Syntax(what))
}

/// The zone as minutes east of UTC; `None` for unknown (`-0000`, military letters).
fn zone(text: &str) -> Result<Option<i32>, DateError> {
    if let Some(digits) = text.strip_prefix(['+', '-']) {
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DateError::Syntax("a zone such as +0900"));
        }
        let hours: i32 = digits[..2].parse().unwrap_or(0);
        let minutes: i32 = digits[2..].parse().unwrap_or(0);
        if hours > 99 || minutes > 59 {
            return Err(DateError::OutOfRange("zone"));
        }
        let total = hours * 60 + minutes;
        return Ok(if text.starts_with('-') {
            if total == 0 {
                None
            } else {
                Some(-total)
            }
        } else {
            Some(total)
        });
    }
    // RFC 5322 §4.3 obs-zone.
    let hours = match text.to_ascii_uppercase().as_str() {
        "UT" | "GMT" | "UTC" | "Z" => 0,
        "EDT" => -4,
        "EST" | "CDT" => -5,
        "CST" | "MDT" => -6,
        "MST" | "PDT" => -7,
        "PST" => -8,
        other if other.len() == 1 && other.as_bytes()[0].is_ascii_alphabetic() => return Ok(None),
        _ => return Err(DateError::Syntax("a zone such as +0900 or GMT")),
    };
    Ok(Some(hours * 60))
}

/// Parses an RFC 5322 date-time such as `Mon, 23 Nov 2026 09:00:00 +0900`.
pub fn parse_date_time(text: &str) -> Result<DateTime, DateError> {
    let cleaned = strip_comments(text);
    // Commas only separate the day of week; treat them as space.
    let cleaned = cleaned.replace(',', " ");
    let mut words = cleaned.split_ascii_whitespace().peekable();
    if let Some(first) = words.peek() {
        if DAYS.contains(&first.to_ascii_lowercase().as_str()) {
            words.next();
        }
    }
    let day = number(words.next().ok_or(DateError::Syntax("a day"))?, "a day")?;
    let month_word = words.next().ok_or(DateError::Syntax("a month"))?;
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month_word))
        .ok_or(DateError::OutOfRange("month"))? as u32
        + 1;
    let year_word = words.next().ok_or(DateError::Syntax("a year"))?;
    let mut year = i64::from(number(year_word, "a year")?);
    // RFC 5322 §4.3: two-digit years 00-49 are 2000-2049, 50-99 and three digits add 1900.
    if year_word.len() == 2 && year < 50 {
        year += 2000;
    } else if year_word.len() <= 3 {
        year += 1900;
    }
    let time = words.next().ok_or(DateError::Syntax("a time"))?;
    let mut parts = time.split(':');
    let hour = number(parts.next().unwrap_or(""), "a time")?;
    let minute = number(parts.next().ok_or(DateError::Syntax("a time"))?, "a time")?;
    let second = match parts.next() {
        Some(s) => number(s, "a time")?,
        None => 0,
    };
    if parts.next().is_some() {
        return Err(DateError::Syntax("a time"));
    }
    let offset = zone(words.next().ok_or(DateError::Syntax("a zone"))?)?;
    if words.next().is_some() {
        return Err(DateError::Syntax("nothing after the zone"));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(DateError::OutOfRange("day"));
    }
    // A leap second (60) is allowed by RFC 5322.
    if hour > 23 || minute > 59 || second > 60 {
        return Err(DateError::OutOfRange("time"));
    }
    let local = days_from_civil(year, month, day) * 86_400
        + i64::from(hour) * 3_600
        + i64::from(minute) * 60
        + i64::from(second);
    Ok(DateTime {
        unix_seconds: local - i64::from(offset.unwrap_or(0)) * 60,
        offset_minutes: offset,
    })
}

/// Unix seconds as RFC 3339 UTC (`2026-11-23T09:00:00Z`).
pub fn format_utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let seconds = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days, the inverse of days_from_civil above.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds / 3_600,
        seconds % 3_600 / 60,
        seconds % 60
    )
}

/// The date-time at the end of a `Received:` field value (after its last `;`, RFC 5321
/// §4.4).
pub fn received_date(value: &str) -> Result<DateTime, DateError> {
    let (_, date) = value
        .rsplit_once(';')
        .ok_or(DateError::Syntax("a ';' before the date of Received:"))?;
    parse_date_time(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_795_392_000), "2026-11-23T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn modern_and_obsolete_forms() {
        let t = parse_date_time("Mon, 23 Nov 2026 09:00:00 +0900").unwrap();
        assert_eq!(t.unix_seconds, 1_795_392_000);
        assert_eq!(t.offset_minutes, Some(540));
        let same = parse_date_time("23 Nov 2026 00:00 GMT").unwrap();
        assert_eq!(same.unix_seconds, t.unix_seconds);
        let pdt = parse_date_time(" Fri, 11 Jul 2003 21:01:54 -0700 (PDT)").unwrap();
        assert_eq!(pdt.unix_seconds, 1_057_982_514);
        let named = parse_date_time("Fri, 11 Jul 03 21:01:54 PDT").unwrap();
        assert_eq!(named.unix_seconds, pdt.unix_seconds);
        let unknown = parse_date_time("1 Jan 1970 00:00:00 -0000").unwrap();
        assert_eq!(
            unknown,
            DateTime {
                unix_seconds: 0,
                offset_minutes: None
            }
        );
        assert_eq!(
            parse_date_time("29 Feb 2000 (leap (nested)) 12:00:00 +0000")
                .unwrap()
                .unix_seconds,
            951_825_600
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "Mon,",
            "32 Jan 2026 00:00:00 +0000",
            "29 Feb 2025 00:00:00 +0000",
            "1 Foo 2026 00:00:00 +0000",
            "1 Jan 2026 24:00:00 +0000",
            "1 Jan 2026 00:00:00 +09",
            "1 Jan 2026 00:00:00 +0000 extra",
            "1 Jan 99999 00:00:00 +0000",
            "1 Jan 2026 00:00:00:00 +0000",
        ] {
            assert!(parse_date_time(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn received_field() {
        let value =
            " from a.example by b.example with ESMTP id 1;\r\n\tMon, 23 Nov 2026 00:00:00 +0000";
        assert_eq!(received_date(value).unwrap().unix_seconds, 1_795_392_000);
        assert!(received_date("from a by b").is_err());
    }
}
