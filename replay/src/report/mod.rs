//! A run's report: one self-contained HTML page — the run's header and status, its
//! figures, equity against a benchmark, drawdown, exposure, monthly returns, round trips and
//! the canonical configuration — computed from the ledger alone.
//!
//! Read first: [`Report::from_ledger`] (two passes over the ledger: [`crate::metrics`] for
//! the figures, then [`series`] for the charts' points and the benchmark) and
//! [`Report::to_html`]. With a window (`--from`, `--to`) the figures and the charts cover
//! the same days.
//!
//! # Invariants
//!
//! - The page depends on the ledger and the options only: no wall-clock time, no file path,
//!   no environment. The same ledger gives the same bytes.
//! - The page loads nothing: no network, no external script, font or stylesheet. Charts are
//!   inline SVG; a small inline script only shows values under the pointer.
//! - Every text that comes from the ledger (names, symbols, the configuration) is escaped.
//!
//! # Known limitations
//!
//! - The benchmark is the scenario's `[strategy] benchmark` symbol held from its first
//!   close, or else the equal-weight buy-and-hold of the run's symbols (see [`series`]):
//!   scenarios have no other benchmark setting.
//! - The trades table lists the first [`page::MAX_TRADES`] round trips; `tape metrics
//!   --trades` lists them all.

/// The HTML page: layout, tables, styles and the hover script.
pub mod page;
/// The charts' time series, down-sampled, and the benchmark.
pub mod series;
/// Line and area charts as inline SVG, with time and value axes.
pub mod svg;

use std::path::Path;

use tape_engine::ledger::{Header, LedgerReadError, LedgerReader};
use tape_engine::time::{civil_from_days, Ts, NANOS_PER_DAY};
use tape_scenarios::Scenario;

use crate::metrics::{self, Day, Metrics, MetricsError, Options};
use series::{Paths, Spec};

/// Why no report could be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The figures could not be computed (damage, or snapshots that disagree with fills).
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// The ledger could not be read a second time, for the charts.
    #[error(transparent)]
    Read(#[from] LedgerReadError),
}

/// Everything the page shows.
#[derive(Clone, Debug)]
pub struct Report {
    /// The ledger's header: scenario name, symbols, engine version, canonical configuration.
    pub header: Header,
    /// The scenario parsed from the canonical configuration (`None` if this build cannot
    /// parse it: the page then shows the configuration's text alone).
    pub scenario: Option<Scenario>,
    /// The symbol the scenario names as its benchmark (`[strategy] benchmark`), if it is one
    /// of the run's; `None`: the equal-weight buy-and-hold of every symbol.
    pub benchmark: Option<String>,
    /// The window of days the figures and charts cover (`--from`, `--to`).
    pub window: (Option<i64>, Option<i64>),
    /// The figures of `tape metrics`.
    pub metrics: Metrics,
    /// The charts' points and the benchmark's figures.
    pub paths: Paths,
}

impl Report {
    /// Reads a ledger and computes everything the page shows.
    pub fn from_ledger(path: &Path, options: &Options) -> Result<Self, ReportError> {
        let metrics = metrics::from_ledger(path, options)?;
        let reader = LedgerReader::open(path)?;
        let header = reader.header().clone();
        let scenario = Scenario::from_toml(&header.config, "the ledger's configuration").ok();
        let symbols = &header.symbols;
        let named = scenario
            .as_ref()
            .and_then(|s| s.strategy.get("benchmark"))
            .and_then(|b| b.as_str())
            .and_then(|b| symbols.iter().position(|s| s == b));
        let weights = match named {
            Some(i) => Spec::one_symbol(symbols.len(), i),
            None => Spec::equal_weights(symbols.len()),
        };
        // The window's snapshots lie within its first and last days.
        let span = match (metrics.days.first(), metrics.days.last()) {
            (Some(a), Some(b)) => (Ts(a.day * NANOS_PER_DAY), Ts((b.day + 1) * NANOS_PER_DAY)),
            _ => (Ts(0), Ts(0)),
        };
        let spec = Spec {
            weights,
            from_day: options.from_day,
            to_day: options.to_day,
            span,
            start_equity: metrics.start_equity,
        };
        let paths = series::read(reader, &spec)?;
        Ok(Self {
            benchmark: named.map(|i| symbols[i].clone()),
            header,
            scenario,
            window: (options.from_day, options.to_day),
            metrics,
            paths,
        })
    }

    /// The page.
    pub fn to_html(&self) -> String {
        page::render(self)
    }
}

/// One year of the monthly returns table.
#[derive(Clone, Debug, PartialEq)]
pub struct YearReturns {
    /// The calendar year (UTC).
    pub year: i64,
    /// Each month's return, compounded from its daily returns (`None`: no day that month).
    pub months: [Option<f64>; 12],
    /// The year's return, compounded from its daily returns.
    pub total: f64,
}

/// Monthly and yearly returns, each `Π (1 + r) − 1` over the daily returns of its days (the
/// first day's return is over the starting cash, as in `tape metrics`).
pub fn monthly_returns(days: &[Day]) -> Vec<YearReturns> {
    let mut years: Vec<YearReturns> = Vec::new();
    for day in days {
        let (year, month, _) = civil_from_days(day.day);
        if years.last().is_none_or(|y| y.year != year) {
            years.push(YearReturns {
                year,
                months: [None; 12],
                total: 0.0,
            });
        }
        if let Some(y) = years.last_mut() {
            let slot = &mut y.months[month as usize - 1];
            *slot = Some((1.0 + slot.unwrap_or(0.0)) * (1.0 + day.ret) - 1.0);
            y.total = (1.0 + y.total) * (1.0 + day.ret) - 1.0;
        }
    }
    years
}

#[cfg(test)]
mod tests {
    use super::*;
    use tape_engine::time::days_from_civil;

    fn day(y: i64, m: u32, d: u32, ret: f64) -> Day {
        Day {
            day: days_from_civil(y, m, d),
            equity: 0.0,
            ret,
            drawdown: 0.0,
            gross: 0.0,
            net: 0.0,
            long: 0.0,
            short: 0.0,
            turnover: 0.0,
            traded: 0.0,
            slippage: 0.0,
            fees: 0.0,
        }
    }

    #[test]
    fn months_and_years_compound_their_days() {
        let days = [
            day(2020, 12, 30, 0.10),
            day(2021, 1, 4, 0.10),
            day(2021, 1, 5, -0.10),
            day(2021, 3, 1, 0.02),
        ];
        let years = monthly_returns(&days);
        assert_eq!(years.len(), 2);
        assert_eq!(years[0].year, 2020);
        assert!((years[0].months[11].unwrap_or(0.0) - 0.10).abs() < 1e-15);
        let january = 1.1 * 0.9 - 1.0;
        assert!((years[1].months[0].unwrap_or(0.0) - january).abs() < 1e-15);
        assert_eq!(years[1].months[1], None);
        let total = 1.1 * 0.9 * 1.02 - 1.0;
        assert!((years[1].total - total).abs() < 1e-15);
    }
}
