//! Walk-forward studies: train/test windows rolled through time; on each train window the
//! sweep's parameters are chosen by an objective, and only the following test window's
//! figures are reported for them (out of sample).
//!
//! Each run of the sweep covers the whole period once; a window's figures are `tape
//! metrics` over that window's days of the run's ledger (`--from`/`--to`). Because a ledger's
//! events up to a time depend only on inputs up to that time (the prefix property the
//! look-ahead fuzzer checks), a choice made on a train window cannot depend on data after it:
//! tests/sweep.rs perturbs the prices after a date and checks every choice made before it
//! stays the same.

use std::path::Path;

use serde::Deserialize;
use tape_engine::time::{civil_from_days, days_from_civil, Ts};

use crate::metrics::{self, date_text, Metrics, Options};

/// The `[walk_forward]` table of a sweep spec.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalkForwardSpec {
    /// The first train window's first day (`YYYY-MM-DD`).
    pub start: String,
    /// No window reaches past this day (`YYYY-MM-DD`, inclusive).
    pub end: String,
    /// Months in a train window.
    pub train_months: u32,
    /// Months in a test window; windows roll forward by this much.
    pub test_months: u32,
    /// The figure maximised on each train window: `sharpe`, `sortino`, `calmar`,
    /// `total_return` or `cagr`.
    #[serde(default = "default_objective")]
    pub objective: String,
}

fn default_objective() -> String {
    "sharpe".into()
}

/// The objectives a train window can maximise.
pub const OBJECTIVES: [&str; 5] = ["sharpe", "sortino", "calmar", "total_return", "cagr"];

/// One train/test split, as day numbers (days since 1970-01-01, inclusive ranges).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First and last day of training.
    pub train: (i64, i64),
    /// First and last day of testing.
    pub test: (i64, i64),
}

/// `day` moved by `months` calendar months (the day of the month clamped to the month's end).
fn add_months(day: i64, months: u32) -> i64 {
    let (y, m, d) = civil_from_days(day);
    let index = y * 12 + i64::from(m - 1) + i64::from(months);
    let (ny, nm) = (index.div_euclid(12), (index.rem_euclid(12) + 1) as u32);
    let last = days_from_civil(
        if nm == 12 { ny + 1 } else { ny },
        if nm == 12 { 1 } else { nm + 1 },
        1,
    ) - days_from_civil(ny, nm, 1);
    days_from_civil(ny, nm, d.min(last as u32))
}

impl WalkForwardSpec {
    /// Checks the spec; the error is what to change.
    pub fn validate(&self) -> Result<(), String> {
        if self.train_months == 0 || self.test_months == 0 {
            return Err("[walk_forward] train_months and test_months must be at least 1".into());
        }
        if !OBJECTIVES.contains(&self.objective.as_str()) {
            return Err(format!(
                "[walk_forward] objective = \"{}\": give one of {}",
                self.objective,
                OBJECTIVES.join(", ")
            ));
        }
        let windows = self.windows()?;
        if windows.is_empty() {
            return Err("[walk_forward] no train and test window fits between start and end: move start earlier, end later, or shorten the windows".into());
        }
        Ok(())
    }

    /// The windows: train `[start + k·test, + train)`, then test the `test_months` after it,
    /// for k = 0, 1, … while the test window ends by `end`.
    pub fn windows(&self) -> Result<Vec<Window>, String> {
        let day = |key: &str, text: &str| {
            Ts::parse(text).map(Ts::day).map_err(|_| {
                format!("[walk_forward] {key} = \"{text}\": give a date as YYYY-MM-DD")
            })
        };
        let (start, end) = (day("start", &self.start)?, day("end", &self.end)?);
        let mut out = Vec::new();
        for k in 0.. {
            let train_from = add_months(start, k * self.test_months);
            let test_from = add_months(train_from, self.train_months);
            let test_to = add_months(test_from, self.test_months) - 1;
            if test_to > end {
                break;
            }
            out.push(Window {
                train: (train_from, test_from - 1),
                test: (test_from, test_to),
            });
        }
        Ok(out)
    }
}

/// A run's figures on each window: the objective on the train days, everything on the test
/// days.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowFigures {
    /// The objective over the train window (`None` when undefined there).
    pub train_objective: Option<f64>,
    /// All figures over the test window.
    pub test: Metrics,
}

/// The objective's value in `m`.
pub fn objective(name: &str, m: &Metrics) -> Option<f64> {
    match name {
        "sharpe" => m.returns.sharpe,
        "sortino" => m.returns.sortino,
        "calmar" => m.calmar,
        "total_return" => Some(m.returns.total_return),
        "cagr" => Some(m.returns.cagr),
        _ => None,
    }
    .filter(|v| v.is_finite())
}

/// A run's figures on every window, read from its ledger.
pub fn measure(
    ledger: &Path,
    spec: &WalkForwardSpec,
    windows: &[Window],
) -> Result<Vec<WindowFigures>, metrics::MetricsError> {
    windows
        .iter()
        .map(|w| {
            let over = |(from, to): (i64, i64)| Options {
                from_day: Some(from),
                to_day: Some(to),
                ..Options::default()
            };
            let train = metrics::from_ledger(ledger, &over(w.train))?;
            let test = metrics::from_ledger(ledger, &over(w.test))?;
            Ok(WindowFigures {
                train_objective: objective(&spec.objective, &train),
                test,
            })
        })
        .collect()
}

/// The choice on one window: the run with the best train objective (the lowest id on a tie;
/// none when no run has a defined objective there).
pub fn choose(per_run: &[(usize, &[WindowFigures])], window: usize) -> Option<usize> {
    per_run
        .iter()
        .filter_map(|(id, figures)| {
            figures
                .get(window)
                .and_then(|f| f.train_objective)
                .map(|v| (*id, v))
        })
        .fold(None, |best: Option<(usize, f64)>, (id, v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((id, v)),
        })
        .map(|(id, _)| id)
}

/// `YYYY-MM-DD` of both ends of a range.
pub fn range_text((from, to): (i64, i64)) -> (String, String) {
    (date_text(from), date_text(to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i64, m: u32, d: u32) -> i64 {
        days_from_civil(y, m, d)
    }

    #[test]
    fn months_add_with_the_day_clamped() {
        assert_eq!(add_months(day(2020, 1, 31), 1), day(2020, 2, 29));
        assert_eq!(add_months(day(2020, 11, 15), 3), day(2021, 2, 15));
        assert_eq!(add_months(day(2020, 1, 1), 24), day(2022, 1, 1));
    }

    #[test]
    fn windows_roll_by_the_test_length_and_stop_at_the_end() {
        let spec = WalkForwardSpec {
            start: "2016-01-01".into(),
            end: "2018-12-31".into(),
            train_months: 12,
            test_months: 6,
            objective: "sharpe".into(),
        };
        let w = spec.windows().expect("valid");
        // Train 2016, test H1 2017; train H2 2016–H1 2017, test H2 2017; … last test H2 2018.
        assert_eq!(w.len(), 4);
        assert_eq!(w[0].train, (day(2016, 1, 1), day(2016, 12, 31)));
        assert_eq!(w[0].test, (day(2017, 1, 1), day(2017, 6, 30)));
        assert_eq!(w[1].train.0, day(2016, 7, 1));
        assert_eq!(w[3].test, (day(2018, 7, 1), day(2018, 12, 31)));
        // Test windows follow each other without gap or overlap.
        for pair in w.windows(2) {
            assert_eq!(pair[1].test.0, pair[0].test.1 + 1);
        }
    }
}
