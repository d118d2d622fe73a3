//! Tables of records with named columns — what CSV and Parquet files have in common — and
//! how a bar or a feature is read from a record.
//!
//! A [`Table`] yields one record at a time (constant memory in the file's length) and hands
//! out typed [`Cell`]s: CSV gives text, Parquet gives numbers, times and dates as stored.
//! Everything after that (finding columns by name, parsing times, checking values) is shared,
//! so the same bars read from CSV or Parquet become the same events.

use tape_engine::time::{Ts, NANOS_PER_MINUTE, NANOS_PER_SECOND};

use serde::{Deserialize, Serialize};

use super::LoadError;

/// One value of a record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    /// Missing.
    Null,
    /// Text, as CSV holds every value.
    Text(&'a str),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// An instant (nanoseconds since the epoch, UTC).
    Time(Ts),
    /// A calendar date (its midnight, UTC).
    Date(Ts),
}

/// A source of records with named columns, read forward once.
pub trait Table: Send {
    /// Column names, in order.
    fn headers(&self) -> &[String];
    /// Moves to the next record; `Ok(false)` at the end.
    fn advance(&mut self) -> Result<bool, LoadError>;
    /// A value of the current record (`Cell::Null` past the record's width).
    fn cell(&self, column: usize) -> Cell<'_>;
    /// The current record's position, as messages name it ("row N").
    fn row(&self) -> u64;
    /// The file, as the scenario names it.
    fn file(&self) -> &str;
}

/// How the time column is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeFormat {
    /// Dates, date-times or epoch numbers, recognised per value.
    #[default]
    Auto,
    /// `YYYY-MM-DD`, stamped at `close_time`.
    Date,
    /// `YYYY-MM-DDTHH:MM[:SS[.f]][Z]` (UTC), the bar's close.
    Datetime,
    /// Seconds since the epoch.
    EpochS,
    /// Milliseconds since the epoch.
    EpochMs,
    /// Nanoseconds since the epoch.
    EpochNs,
}

/// How a table's times become event times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRule {
    /// How text and integer times are written.
    pub format: TimeFormat,
    /// A date is stamped at its midnight plus this (the daily close, or when a daily value
    /// became available).
    pub date_offset_ns: i64,
}

impl TimeRule {
    /// The instant a cell stands for, if it is a time.
    pub fn instant(&self, cell: Cell<'_>) -> Option<Ts> {
        match cell {
            Cell::Time(ts) => Some(ts),
            Cell::Date(midnight) => midnight.0.checked_add(self.date_offset_ns).map(Ts),
            Cell::Text(text) => parse_time(text, self.format, self.date_offset_ns),
            Cell::Int(v) => parse_epoch(v, self.format),
            Cell::Float(_) | Cell::Null => None,
        }
    }
}

/// `HH:MM` as nanoseconds after midnight.
pub fn time_of_day(text: &str) -> Option<i64> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some((h * 60 + m) * NANOS_PER_MINUTE)
}

fn parse_epoch(v: i64, format: TimeFormat) -> Option<Ts> {
    let scale = match format {
        TimeFormat::EpochS => NANOS_PER_SECOND,
        TimeFormat::EpochMs => 1_000_000,
        TimeFormat::EpochNs => 1,
        TimeFormat::Date | TimeFormat::Datetime => return None,
        // Told apart by magnitude: no market data is stamped in the first years after 1970.
        TimeFormat::Auto => match v.unsigned_abs() {
            0..100_000_000_000 => NANOS_PER_SECOND,
            100_000_000_000..100_000_000_000_000 => 1_000_000,
            100_000_000_000_000..100_000_000_000_000_000 => 1_000,
            _ => 1,
        },
    };
    v.checked_mul(scale).map(Ts)
}

/// Parses a time written as text.
pub fn parse_time(text: &str, format: TimeFormat, date_offset_ns: i64) -> Option<Ts> {
    let text = text.trim();
    match format {
        TimeFormat::Date => (text.len() == 10)
            .then(|| Ts::parse(text).ok())
            .flatten()
            .and_then(|d| d.0.checked_add(date_offset_ns).map(Ts)),
        TimeFormat::Datetime => Ts::parse(text).ok(),
        TimeFormat::EpochS | TimeFormat::EpochMs | TimeFormat::EpochNs => {
            parse_epoch(text.parse().ok()?, format)
        }
        TimeFormat::Auto => {
            if text.contains('-') {
                if text.len() == 10 {
                    parse_time(text, TimeFormat::Date, date_offset_ns)
                } else {
                    Ts::parse(text).ok()
                }
            } else if text.len() == 8 && text.starts_with(['1', '2']) {
                // YYYYMMDD: no market data is stamped at epoch seconds of 1970.
                let dashed = format!("{}-{}-{}", &text[0..4], &text[4..6], &text[6..8]);
                parse_time(&dashed, TimeFormat::Date, date_offset_ns)
            } else {
                parse_epoch(text.parse().ok()?, format)
            }
        }
    }
}

/// The position of the first header among `names` (compared case-insensitively, trimmed).
pub fn find_column(headers: &[String], names: &[&str]) -> Option<usize> {
    headers.iter().position(|h| {
        let h = h.trim().to_ascii_lowercase();
        names.contains(&h.as_str())
    })
}

/// A column by its configured name, or else by the usual names.
pub fn column(
    table: &dyn Table,
    configured: Option<&str>,
    usual: &[&str],
    what: &str,
    hint: &str,
) -> Result<usize, LoadError> {
    let found = match configured {
        Some(name) => find_column(table.headers(), &[name.to_ascii_lowercase().as_str()]),
        None => find_column(table.headers(), usual),
    };
    found.ok_or_else(|| LoadError::Columns {
        file: table.file().to_string(),
        detail: format!(
            "no {what} column in the header ({}); {hint}",
            table.headers().join(",")
        ),
    })
}

/// A row error at the table's current record.
pub fn row_error(table: &dyn Table, detail: String) -> LoadError {
    LoadError::Row {
        file: table.file().to_string(),
        row: table.row(),
        detail,
    }
}

/// A cell as a number, or an error naming the column.
pub fn number(table: &dyn Table, column: usize, name: &str) -> Result<f64, LoadError> {
    match table.cell(column) {
        Cell::Float(v) => Ok(v),
        Cell::Int(v) => Ok(v as f64),
        Cell::Text(text) => text
            .parse::<f64>()
            .map_err(|_| row_error(table, format!("{name} '{text}' is not a number"))),
        Cell::Null => Err(row_error(table, format!("{name} is missing"))),
        Cell::Time(_) | Cell::Date(_) => {
            Err(row_error(table, format!("{name} is a time, not a number")))
        }
    }
}

/// A cell as text (numbers are written out, as a CSV would hold them).
pub fn text(table: &dyn Table, column: usize) -> String {
    match table.cell(column) {
        Cell::Text(t) => t.to_string(),
        Cell::Int(v) => v.to_string(),
        Cell::Float(v) => v.to_string(),
        Cell::Time(ts) | Cell::Date(ts) => ts.to_string(),
        Cell::Null => String::new(),
    }
}

/// A cell as an instant, or an error naming the value and the fix.
pub fn instant(table: &dyn Table, column: usize, rule: TimeRule) -> Result<Ts, LoadError> {
    let cell = table.cell(column);
    rule.instant(cell).ok_or_else(|| {
        row_error(
            table,
            format!(
                "time '{}' is not a date, a date-time or an epoch number (set time_format)",
                text(table, column)
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_recognised_in_every_documented_form() {
        let close = 21 * 60 * NANOS_PER_MINUTE;
        let day = Ts::parse("2004-03-01").expect("date").0;
        let auto = |t: &str| parse_time(t, TimeFormat::Auto, close);
        assert_eq!(auto("2004-03-01"), Some(Ts(day + close)));
        assert_eq!(auto("20040301"), Some(Ts(day + close)));
        assert_eq!(
            auto("2004-03-01T14:30:00Z"),
            Ts::parse("2004-03-01T14:30:00Z").ok()
        );
        let secs = day / NANOS_PER_SECOND;
        assert_eq!(auto(&secs.to_string()), Some(Ts(day)));
        assert_eq!(auto(&(secs * 1000).to_string()), Some(Ts(day)));
        assert_eq!(auto(&(secs * 1_000_000).to_string()), Some(Ts(day)));
        assert_eq!(auto(&day.to_string()), Some(Ts(day)));
        assert_eq!(auto("yesterday"), None);
        let rule = TimeRule {
            format: TimeFormat::Auto,
            date_offset_ns: close,
        };
        assert_eq!(rule.instant(Cell::Date(Ts(day))), Some(Ts(day + close)));
        assert_eq!(rule.instant(Cell::Int(secs)), Some(Ts(day)));
        assert_eq!(rule.instant(Cell::Float(1.0)), None);
    }

    #[test]
    fn times_of_day_are_checked() {
        assert_eq!(time_of_day("21:00"), Some(21 * 60 * NANOS_PER_MINUTE));
        assert_eq!(time_of_day("24:00"), None);
        assert_eq!(time_of_day("9"), None);
    }
}
