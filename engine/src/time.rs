//! Timestamps: `i64` nanoseconds since the Unix epoch, UTC.
//!
//! A timestamp on an event is the time the event became *known*, never earlier. The civil
//! date conversions are our own (Howard Hinnant's days-from-civil algorithm), so formatting
//! and parsing never depend on a time-zone database or a crate's serde format.

use std::fmt;

/// Nanoseconds in one second.
pub const NANOS_PER_SECOND: i64 = 1_000_000_000;
/// Nanoseconds in one minute.
pub const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SECOND;
/// Nanoseconds in one day.
pub const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SECOND;

/// A point in time: nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub i64);

/// A date or time the parser could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a time: use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.fraction]]Z (UTC)")]
pub struct TimeParseError {
    /// The text that was not understood.
    pub input: String,
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `(year, month, day)` of a day count since 1970-01-01.
pub const fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Ts {
    /// Midnight UTC of a calendar date.
    pub const fn from_date(year: i64, month: u32, day: u32) -> Self {
        Self(days_from_civil(year, month, day) * NANOS_PER_DAY)
    }

    /// Whole days since the epoch (floor).
    pub const fn day(self) -> i64 {
        self.0.div_euclid(NANOS_PER_DAY)
    }

    /// Day of the week, 0 = Monday … 6 = Sunday.
    pub const fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (3).
        ((self.day() + 3).rem_euclid(7)) as u32
    }

    /// Parses `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM[:SS[.fraction]][Z]`.
    pub fn parse(input: &str) -> Result<Self, TimeParseError> {
        parse_time(input.trim()).ok_or_else(|| TimeParseError {
            input: input.to_string(),
        })
    }
}

fn parse_digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_time(s: &str) -> Option<Ts> {
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t.strip_suffix('Z').unwrap_or(t))),
        None => (s, None),
    };
    let mut parts = date.splitn(3, '-');
    let year = parse_digits(parts.next()?)?;
    let month = parse_digits(parts.next()?)? as u32;
    let day = parse_digits(parts.next()?)? as u32;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut nanos = days_from_civil(year, month, day).checked_mul(NANOS_PER_DAY)?;
    if let Some(time) = time {
        let (hms, frac) = match time.split_once('.') {
            Some((hms, frac)) => (hms, Some(frac)),
            None => (time, None),
        };
        let mut fields = hms.split(':');
        let hour = parse_digits(fields.next()?)?;
        let minute = parse_digits(fields.next()?)?;
        let second = match fields.next() {
            Some(s) => parse_digits(s)?,
            None => 0,
        };
        if fields.next().is_some() || hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let mut sub = 0;
        if let Some(frac) = frac {
            if frac.len() > 9 {
                return None;
            }
            sub = parse_digits(frac)? * 10i64.pow(9 - frac.len() as u32);
        }
        nanos = nanos.checked_add((hour * 3600 + minute * 60 + second) * NANOS_PER_SECOND + sub)?;
    }
    Some(Ts(nanos))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl fmt::Display for Ts {
    /// RFC 3339 in UTC, with the fraction only when it is not zero: `2020-01-02T21:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days(self.day());
        let in_day = self.0.rem_euclid(NANOS_PER_DAY);
        let secs = in_day / NANOS_PER_SECOND;
        let sub = in_day % NANOS_PER_SECOND;
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )?;
        if sub != 0 {
            let mut frac = format!("{sub:09}");
            while frac.ends_with('0') {
                frac.pop();
            }
            write!(f, ".{frac}")?;
        }
        f.write_str("Z")
    }
}

impl fmt::Debug for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ts({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates() {
        assert_eq!(Ts::from_date(1970, 1, 1).0, 0);
        // 2000-03-01 is day 11 017 (checked against `date -d 2000-03-01 +%s` / 86400).
        assert_eq!(Ts::from_date(2000, 3, 1).day(), 11_017);
        assert_eq!(
            Ts::from_date(2024, 1, 1).weekday(),
            0,
            "2024-01-01 was a Monday"
        );
        assert_eq!(
            Ts::from_date(2000, 2, 29).to_string(),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn parse_accepts_dates_and_times_and_rejects_junk() {
        assert_eq!(
            Ts::parse("2020-01-02").expect("date"),
            Ts::from_date(2020, 1, 2)
        );
        let t = Ts::parse("2020-01-02T21:30:05.5Z").expect("time");
        assert_eq!(
            t.0 - Ts::from_date(2020, 1, 2).0,
            (21 * 3600 + 30 * 60 + 5) * NANOS_PER_SECOND + 500_000_000
        );
        for bad in [
            "2020-13-01",
            "2021-02-29",
            "yesterday",
            "2020-01-02T25:00",
            "2020-01-02T10:00:00.1234567890",
        ] {
            assert!(Ts::parse(bad).is_err(), "{bad} should not parse");
        }
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(ns in -4_000_000_000_000_000_000i64..4_000_000_000_000_000_000) {
            let ts = Ts(ns);
            prop_assert_eq!(Ts::parse(&ts.to_string()).expect("own output parses"), ts);
        }

        #[test]
        fn civil_round_trip(days in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
