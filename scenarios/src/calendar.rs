//! Calendars: which bar times exist. A time not on the calendar has no bar; nothing is padded.

use std::sync::Arc;

use tape_engine::time::{Ts, NANOS_PER_DAY, NANOS_PER_MINUTE};

/// Bar times of a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// One bar per trading day: every day (24/7 markets) or weekdays, less holidays.
    Days {
        /// Midnight UTC of the first candidate day.
        first_day: Ts,
        /// Time of day of the close, as an offset from midnight UTC.
        close_offset_ns: i64,
        /// Trade on Saturdays and Sundays too.
        every_day: bool,
        /// Days without trading (days since the epoch), sorted.
        holidays: Arc<[i64]>,
    },
    /// One-minute bars inside a daily session (`[open, close)` UTC) on weekdays that are not
    /// holidays, each stamped at its close.
    Sessions {
        /// Midnight UTC of the first candidate day.
        first_day: Ts,
        /// Session open, as an offset from midnight UTC.
        open_offset_ns: i64,
        /// Session close, as an offset from midnight UTC (after the open).
        close_offset_ns: i64,
        /// Days without a session (days since the epoch), sorted.
        holidays: Arc<[i64]>,
    },
}

impl Calendar {
    /// The first `count` bar times.
    pub fn times(self, count: u64) -> impl Iterator<Item = Ts> {
        let mut day = 0i64;
        let mut produced = 0u64;
        let mut minute = 0i64;
        std::iter::from_fn(move || {
            if produced == count {
                return None;
            }
            produced += 1;
            match &self {
                Calendar::Days {
                    first_day,
                    close_offset_ns,
                    every_day,
                    holidays,
                } => loop {
                    let midnight = Ts(first_day.0 + day * NANOS_PER_DAY);
                    day += 1;
                    let trading = (*every_day || midnight.weekday() < 5)
                        && holidays.binary_search(&midnight.day()).is_err();
                    if trading {
                        break Some(Ts(midnight.0 + close_offset_ns));
                    }
                },
                Calendar::Sessions {
                    first_day,
                    open_offset_ns,
                    close_offset_ns,
                    holidays,
                } => loop {
                    let midnight = Ts(first_day.0 + day * NANOS_PER_DAY);
                    let trading =
                        midnight.weekday() < 5 && holidays.binary_search(&midnight.day()).is_err();
                    let close = open_offset_ns + (minute + 1) * NANOS_PER_MINUTE;
                    if trading && close <= *close_offset_ns {
                        minute += 1;
                        break Some(Ts(midnight.0 + close));
                    }
                    day += 1;
                    minute = 0;
                },
                Calendar::Minutes { first_close } => {
                    Some(Ts(first_close.0 + (produced as i64 - 1) * NANOS_PER_MINUTE))
                }
                &Calendar::Weekdays {
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
    pub fn bars_per_year(&self) -> f64 {
        match self {
            // 365.25 days × 5/7 weekdays.
            Calendar::Weekdays { .. } => 260.89,
            Calendar::Minutes { .. } => 365.25 * 1_440.0,
            Calendar::Days {
                every_day: true, ..
            } => 365.25,
            // An exchange year: weekdays less about nine holidays.
            Calendar::Days {
                every_day: false, ..
            } => 252.0,
            Calendar::Sessions {
                open_offset_ns,
                close_offset_ns,
                ..
            } => 252.0 * ((close_offset_ns - open_offset_ns) / NANOS_PER_MINUTE) as f64,
        }
    }

    /// Where a bar time falls in its session, from 0.0 (the first minute) to 1.0 (the
    /// last), for session calendars.
    pub fn session_position(&self, ts: Ts) -> Option<f64> {
        match self {
            Calendar::Sessions {
                open_offset_ns,
                close_offset_ns,
                ..
            } => {
                let in_day = ts.0.rem_euclid(NANOS_PER_DAY);
                let minutes = ((close_offset_ns - open_offset_ns) / NANOS_PER_MINUTE).max(2) as f64;
                let index = ((in_day - open_offset_ns) / NANOS_PER_MINUTE - 1) as f64;
                Some((index / (minutes - 1.0)).clamp(0.0, 1.0))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trading_days_count_the_sessions_a_gap_skips() {
        let day = |t: &str| Ts::parse(t).expect("date");
        let thanksgiving = day("2023-11-23").day();
        let days = TradingDays {
            every_day: false,
            holidays: vec![thanksgiving].into(),
        };
        // Friday to Monday: a weekend, no session missed.
        assert_eq!(
            days.sessions_between(day("2023-11-17"), day("2023-11-20")),
            0
        );
        // Wednesday to Friday over Thanksgiving: none missed either.
        assert_eq!(
            days.sessions_between(day("2023-11-22"), day("2023-11-24")),
            0
        );
        // Monday to the next Monday: four sessions.
        assert_eq!(
            days.sessions_between(day("2023-11-06"), day("2023-11-13")),
            4
        );
        let always = TradingDays {
            every_day: true,
            holidays: Vec::new().into(),
        };
        assert_eq!(
            always.sessions_between(day("2023-11-17"), day("2023-11-20")),
            2
        );
        // Two bars of one day skip nothing.
        let t = |s: &str| Ts::parse(s).expect("time");
        assert_eq!(
            days.sessions_between(t("2023-11-20T14:31:00Z"), t("2023-11-20T14:32:00Z")),
            0
        );
    }

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

    #[test]
    fn holidays_and_every_day_calendars() {
        // 2024-07-04 (a Thursday) is a holiday; 2024-07-06/07 are a weekend.
        let holidays: Arc<[i64]> = vec![Ts::from_date(2024, 7, 4).day()].into();
        let weekdays = Calendar::Days {
            first_day: Ts::from_date(2024, 7, 3),
            close_offset_ns: 0,
            every_day: false,
            holidays: holidays.clone(),
        };
        let got: Vec<String> = weekdays
            .times(3)
            .map(|t| t.to_string()[..10].to_string())
            .collect();
        assert_eq!(got, ["2024-07-03", "2024-07-05", "2024-07-08"]);
        let always = Calendar::Days {
            first_day: Ts::from_date(2024, 7, 3),
            close_offset_ns: 0,
            every_day: true,
            holidays: Arc::from([]),
        };
        let got: Vec<String> = always
            .times(5)
            .map(|t| t.to_string()[..10].to_string())
            .collect();
        assert_eq!(
            got,
            [
                "2024-07-03",
                "2024-07-04",
                "2024-07-05",
                "2024-07-06",
                "2024-07-07"
            ]
        );
    }

    #[test]
    fn sessions_hold_minute_bars_inside_trading_hours_on_trading_days() {
        // 14:30–21:00 UTC is 390 minutes; 2024-07-04 is a holiday, 07-06/07 a weekend.
        let cal = Calendar::Sessions {
            first_day: Ts::from_date(2024, 7, 3),
            open_offset_ns: (14 * 60 + 30) * NANOS_PER_MINUTE,
            close_offset_ns: 21 * 60 * NANOS_PER_MINUTE,
            holidays: vec![Ts::from_date(2024, 7, 4).day()].into(),
        };
        let times: Vec<Ts> = cal.clone().times(390 * 3).collect();
        let days: std::collections::BTreeSet<String> = times
            .iter()
            .map(|t| t.to_string()[..10].to_string())
            .collect();
        assert_eq!(
            days.into_iter().collect::<Vec<_>>(),
            ["2024-07-03", "2024-07-05", "2024-07-08"]
        );
        assert_eq!(
            times[0].to_string(),
            "2024-07-03T14:31:00Z",
            "the first bar closes a minute after the open"
        );
        assert_eq!(
            times[389].to_string(),
            "2024-07-03T21:00:00Z",
            "the last closes at the session close"
        );
        assert_eq!(cal.session_position(times[0]), Some(0.0));
        assert_eq!(cal.session_position(times[389]), Some(1.0));
        assert_eq!(cal.bars_per_year(), 252.0 * 390.0);
    }
}

/// Which days trade, for counting the sessions a file's bars skip (the data guard's gap
/// check): weekdays or every day, less holidays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TradingDays {
    /// Trade on Saturdays and Sundays too.
    pub every_day: bool,
    /// Days without trading (days since the epoch), sorted.
    pub holidays: Arc<[i64]>,
}

impl TradingDays {
    /// Whether the day (days since the epoch) trades.
    pub fn trades(&self, day: i64) -> bool {
        let midnight = Ts(day * NANOS_PER_DAY);
        (self.every_day || midnight.weekday() < 5) && self.holidays.binary_search(&day).is_err()
    }

    /// Trading days strictly between the days of `a` and `b` (`a` before `b`).
    pub fn sessions_between(&self, a: Ts, b: Ts) -> u64 {
        (a.day() + 1..b.day()).filter(|&d| self.trades(d)).count() as u64
    }
}
