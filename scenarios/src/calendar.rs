//! Calendars: which bar times exist. A time not on the calendar has no bar; nothing is padded.

use tape_engine::time::{Ts, NANOS_PER_DAY, NANOS_PER_MINUTE};

/// Bar times of a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Calendar {
    /// One bar per weekday (Monday–Friday), stamped at `close_offset` after midnight UTC.
    Weekdays {
        /// Midnight UTC of the first candidate day.
        first_day: Ts,
        /// Time of day of the close, as an offset from midnight UTC.
        close_offset_ns: i64,
    },
    /// One bar per minute, around the clock (24/7), each stamped at its close.
    Minutes {
        /// Close time of the first bar.
        first_close: Ts,
    },
}

impl Calendar {
    /// The first `count` bar times.
    pub fn times(self, count: u64) -> impl Iterator<Item = Ts> {
        let mut day = 0i64;
        let mut produced = 0u64;
        std::iter::from_fn(move || {
            if produced == count {
                return None;
            }
            produced += 1;
            match self {
                Calendar::Minutes { first_close } => {
                    Some(Ts(first_close.0 + (produced as i64 - 1) * NANOS_PER_MINUTE))
                }
                Calendar::Weekdays {
                    first_day,
                    close_offset_ns,
                } => loop {
                    let midnight = Ts(first_day.0 + day * NANOS_PER_DAY);
                    day += 1;
                    if midnight.weekday() < 5 {
                        break Some(Ts(midnight.0 + close_offset_ns));
                    }
                },
            }
        })
    }

    /// Bars per year, for annualising drift and volatility.
    pub fn bars_per_year(self) -> f64 {
        match self {
            // 365.25 days × 5/7 weekdays.
            Calendar::Weekdays { .. } => 260.89,
            Calendar::Minutes { .. } => 365.25 * 1_440.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekdays_skip_weekends() {
        // 2024-01-05 is a Friday.
        let cal = Calendar::Weekdays {
            first_day: Ts::from_date(2024, 1, 5),
            close_offset_ns: 21 * 3_600_000_000_000,
        };
        let days: Vec<String> = cal.times(3).map(|t| t.to_string()).collect();
        assert_eq!(
            days,
            [
                "2024-01-05T21:00:00Z",
                "2024-01-08T21:00:00Z",
                "2024-01-09T21:00:00Z"
            ]
        );
    }

    #[test]
    fn minutes_are_contiguous() {
        let cal = Calendar::Minutes {
            first_close: Ts::from_date(2024, 1, 6),
        };
        let t: Vec<i64> = cal.times(3).map(|t| t.0).collect();
        assert_eq!(t[2] - t[1], NANOS_PER_MINUTE);
        assert_eq!(t[1] - t[0], NANOS_PER_MINUTE);
    }
}
