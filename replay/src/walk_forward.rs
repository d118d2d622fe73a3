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
//!
//! A run's window figures are columns of its row in the results table (`w<k>_train_<objective>`,
//! `w<k>_test_…`), and the study (`walk_forward.csv`) is computed from the table alone, so a
//! resumed, sharded or merged sweep writes the same study as one run in one go.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tape_engine::time::{civil_from_days, days_from_civil, Ts};

use crate::metrics::{self, date_text, Metrics, Options};

/// The `[walk_forward]` table of a sweep spec.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
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

/// The test figures a study reports for a chosen run, in column order.
const TEST_FIGURES: [&str; 4] = ["total_return", "sharpe", "max_drawdown", "trades"];

/// The results table's columns for `windows` windows: per window, the train objective, then
/// the test figures.
pub fn columns(objective: &str, windows: usize) -> Vec<String> {
    (0..windows)
        .flat_map(|k| {
            std::iter::once(format!("w{k}_train_{objective}"))
                .chain(TEST_FIGURES.iter().map(move |f| format!("w{k}_test_{f}")))
        })
        .collect()
}

/// A run's cells for [`columns`] (empty where a figure is undefined).
pub fn cells(figures: &[WindowFigures]) -> Vec<String> {
    let opt = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    figures
        .iter()
        .flat_map(|f| {
            let t = &f.test;
            [
                opt(f.train_objective),
                t.returns.total_return.to_string(),
                opt(t.returns.sharpe),
                t.drawdown.max.to_string(),
                t.round_trips.len().to_string(),
            ]
        })
        .collect()
}

/// The choice on window `k`: the row with the best train objective (the first, so the lowest
/// run id, on a tie; none when no run has a defined objective there). `rows` are in run-id
/// order.
pub fn choose(header: &[String], rows: &[Vec<String>], objective: &str, k: usize) -> Option<usize> {
    let column = header
        .iter()
        .position(|c| *c == format!("w{k}_train_{objective}"))?;
    let mut best: Option<(usize, f64)> = None;
    for (i, row) in rows.iter().enumerate() {
        let Some(v) = row
            .get(column)
            .and_then(|c| c.parse::<f64>().ok())
            .filter(|v| v.is_finite())
        else {
            continue;
        };
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

/// A study computed from a results table: `walk_forward.csv`'s header and rows, one summary
/// line per window, and the test windows' compounded return.
pub struct Study {
    /// `window`, `train_from`, `train_to`, `test_from`, `test_to`, `chosen_run`, the
    /// parameter columns, `train_<objective>`, `test_total_return`, `test_sharpe`,
    /// `test_max_drawdown`, `test_trades`.
    pub header: Vec<String>,
    /// One row per window.
    pub rows: Vec<Vec<String>>,
    /// One line per window, for people.
    pub lines: Vec<String>,
    /// Growth over the test windows, minus one.
    pub compounded: f64,
}

/// The study of `spec` over a results table whose parameter columns are `params` (column
/// indices) and whose rows are in run-id order; `describe` names a row's parameters.
pub fn study(
    spec: &WalkForwardSpec,
    header: &[String],
    rows: &[Vec<String>],
    params: &[usize],
    describe: &dyn Fn(&[String]) -> String,
) -> Result<Study, String> {
    let windows = spec.windows()?;
    let mut out_header: Vec<String> = [
        "window",
        "train_from",
        "train_to",
        "test_from",
        "test_to",
        "chosen_run",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    out_header.extend(params.iter().map(|&i| header[i].clone()));
    out_header.push(format!("train_{}", spec.objective));
    out_header.extend(TEST_FIGURES.iter().map(|f| format!("test_{f}")));
    let at = |name: String| header.iter().position(|c| *c == name);
    let mut out = Vec::new();
    let mut lines = Vec::new();
    let mut growth = 1.0;
    for (k, w) in windows.iter().enumerate() {
        let (train_from, train_to) = range_text(w.train);
        let (test_from, test_to) = range_text(w.test);
        let mut row = vec![
            k.to_string(),
            train_from,
            train_to,
            test_from.clone(),
            test_to.clone(),
        ];
        match choose(header, rows, &spec.objective, k) {
            Some(i) => {
                let chosen = &rows[i];
                let cell = |name: String| {
                    at(name)
                        .and_then(|c| chosen.get(c))
                        .cloned()
                        .unwrap_or_default()
                };
                row.push(chosen.first().cloned().unwrap_or_default());
                row.extend(params.iter().map(|&c| chosen[c].clone()));
                row.push(cell(format!("w{k}_train_{}", spec.objective)));
                let test: Vec<String> = TEST_FIGURES
                    .iter()
                    .map(|f| cell(format!("w{k}_test_{f}")))
                    .collect();
                let number = |i: usize| test[i].parse::<f64>().ok();
                let total_return = number(0).unwrap_or(0.0);
                growth *= 1.0 + total_return;
                lines.push(format!(
                    "{test_from}..{test_to}  run {} ({})  return {:.2} %  Sharpe {}  max drawdown {:.2} %",
                    chosen.first().map_or("?", String::as_str),
                    describe(chosen),
                    total_return * 100.0,
                    number(1).map_or_else(|| "–".to_string(), |v| format!("{v:.3}")),
                    number(2).unwrap_or(0.0) * 100.0
                ));
                row.extend(test);
            }
            None => {
                row.extend(std::iter::repeat_n(
                    String::new(),
                    out_header.len() - row.len(),
                ));
                lines.push(format!(
                    "{test_from}..{test_to}  no run has a defined {} on its train window",
                    spec.objective
                ));
            }
        }
        out.push(row);
    }
    Ok(Study {
        header: out_header,
        rows: out,
        lines,
        compounded: growth - 1.0,
    })
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
