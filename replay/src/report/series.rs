//! The report's time series at snapshot resolution — equity, the benchmark, drawdown and
//! exposures — read from a ledger in one pass and down-sampled while they stream by, so a
//! run with millions of snapshots needs memory for the chart points only.
//!
//! # The benchmark
//!
//! Scenarios have no benchmark setting, so the report always compares the run with the same
//! passive portfolio built from the ledger's own bars: an **equal-weight buy-and-hold of the
//! run's symbols**. The starting cash is split into one equal part per symbol of the header;
//! each part buys its symbol at that symbol's first close in the ledger (fractional
//! quantities, no costs, no dividends) and holds it to the end; until then the part waits in
//! cash, and a symbol without bars stays cash throughout. At each snapshot the benchmark is
//! marked to the latest closes known at that snapshot, exactly as the account is.
//!
//! # Invariants
//!
//! - Down-sampling is a pure function of the rows and the snapshot count: the same ledger
//!   always gives the same points.
//! - Every chart line has at most [`MAX_POINTS`] points: the first and last rows, and per
//!   bucket of consecutive rows the rows holding each line's minimum and maximum.

use std::fs::File;

use tape_engine::event::EventBody;
use tape_engine::ledger::{LedgerReadError, LedgerReader};
use tape_engine::time::Ts;

/// The most points a chart line gets.
pub const MAX_POINTS: usize = 1500;

/// The account and the benchmark at one snapshot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    /// The snapshot's time.
    pub ts: Ts,
    /// The account's equity.
    pub equity: f64,
    /// The benchmark's value.
    pub benchmark: f64,
    /// `(peak − equity) / peak`, the peak counted from the starting cash (0 at a peak).
    pub drawdown: f64,
    /// Gross exposure over equity.
    pub gross: f64,
    /// Net exposure over equity.
    pub net: f64,
    /// Long exposure over equity.
    pub long: f64,
    /// Short exposure over equity (a positive number).
    pub short: f64,
}

/// A value a chart draws from a row.
pub type Pick = fn(&Row) -> f64;

/// The picks of each chart, in drawing order.
pub const EQUITY_PICKS: [Pick; 2] = [|r| r.equity, |r| r.benchmark];
/// The drawdown chart's pick.
pub const DRAWDOWN_PICKS: [Pick; 1] = [|r| r.drawdown];
/// The exposure chart's picks.
pub const EXPOSURE_PICKS: [Pick; 4] = [|r| r.gross, |r| r.net, |r| r.long, |r| r.short];

/// What the second pass over a ledger yields: each chart's rows, and the benchmark's figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Paths {
    /// Rows for the equity chart.
    pub equity: Vec<Row>,
    /// Rows for the drawdown chart.
    pub drawdown: Vec<Row>,
    /// Rows for the exposure chart.
    pub exposure: Vec<Row>,
    /// Snapshots read.
    pub snapshots: u64,
    /// The benchmark's value at the last snapshot over the starting cash, minus one.
    pub benchmark_return: f64,
    /// The benchmark's largest drawdown over the snapshots.
    pub benchmark_drawdown: f64,
    /// Symbols of the header that had at least one bar.
    pub symbols_with_bars: usize,
}

/// Reads a ledger's bars and snapshots from its start. `snapshots` is how many snapshots the
/// ledger holds (from the metrics pass): it sizes the down-sampling buckets before the first
/// row arrives.
pub fn read(mut reader: LedgerReader<File>, snapshots: u64) -> Result<Paths, LedgerReadError> {
    let n = reader.header().symbols.len();
    let mut first: Vec<Option<f64>> = vec![None; n];
    let mut last: Vec<Option<f64>> = vec![None; n];
    let mut initial = None;
    let mut peak = 0.0f64;
    let mut bench_peak = 0.0f64;
    let mut out = Paths::default();
    let mut equity = Downsampler::new(snapshots, &EQUITY_PICKS);
    let mut drawdown = Downsampler::new(snapshots, &DRAWDOWN_PICKS);
    let mut exposure = Downsampler::new(snapshots, &EXPOSURE_PICKS);
    while let Some(frame) = reader.next_event()? {
        let event = frame.decode()?;
        match &event.body {
            EventBody::RunStarted(s) => {
                let cash = s.initial_cash.to_f64();
                initial = Some(cash);
                peak = cash;
                bench_peak = cash;
            }
            EventBody::Bar(b) => {
                let i = b.symbol.0 as usize;
                let close = b.close.to_f64();
                if let (Some(f), Some(l)) = (first.get_mut(i), last.get_mut(i)) {
                    f.get_or_insert(close);
                    *l = Some(close);
                }
            }
            EventBody::PortfolioSnapshot(p) => {
                let cash = initial.unwrap_or(0.0);
                let value = p.equity.to_f64();
                let gross = p.gross_exposure.to_f64();
                let net = p.net_exposure.to_f64();
                let of_equity = |x: f64| if value != 0.0 { x / value } else { 0.0 };
                let benchmark = benchmark_value(cash, &first, &last);
                peak = peak.max(value);
                bench_peak = bench_peak.max(benchmark);
                if bench_peak > 0.0 {
                    out.benchmark_drawdown = out
                        .benchmark_drawdown
                        .max((bench_peak - benchmark) / bench_peak);
                }
                if cash != 0.0 {
                    out.benchmark_return = benchmark / cash - 1.0;
                }
                let row = Row {
                    ts: event.ts,
                    equity: value,
                    benchmark,
                    drawdown: if peak > 0.0 {
                        (peak - value) / peak
                    } else {
                        0.0
                    },
                    gross: of_equity(gross),
                    net: of_equity(net),
                    long: of_equity((gross + net) / 2.0),
                    short: of_equity((gross - net) / 2.0),
                };
                equity.push(row);
                drawdown.push(row);
                exposure.push(row);
                out.snapshots += 1;
            }
            _ => {}
        }
    }
    out.equity = equity.finish();
    out.drawdown = drawdown.finish();
    out.exposure = exposure.finish();
    out.symbols_with_bars = first.iter().filter(|f| f.is_some()).count();
    Ok(out)
}

/// The equal-weight buy-and-hold portfolio marked to the latest closes (module docs).
fn benchmark_value(cash: f64, first: &[Option<f64>], last: &[Option<f64>]) -> f64 {
    if first.is_empty() {
        return cash;
    }
    let part = cash / first.len() as f64;
    first
        .iter()
        .zip(last)
        .map(|(f, l)| match (f, l) {
            (Some(f), Some(l)) if *f > 0.0 => part * l / f,
            _ => part,
        })
        .sum()
}

/// Keeps, per bucket of consecutive rows, the rows holding each pick's minimum and maximum
/// (in row order, each row once), plus the very first and last rows. With no more rows than
/// [`MAX_POINTS`], every row is kept.
pub struct Downsampler {
    expected: u64,
    buckets: u64,
    picks: &'static [Pick],
    seen: u64,
    bucket: u64,
    /// Per pick: (row index, row) of the bucket's minimum and maximum so far.
    extremes: Vec<Option<[(u64, Row); 2]>>,
    last: Option<(u64, Row)>,
    last_kept: Option<u64>,
    out: Vec<Row>,
}

impl Downsampler {
    /// A down-sampler for `expected` rows drawn as `picks.len()` lines.
    pub fn new(expected: u64, picks: &'static [Pick]) -> Self {
        // Each bucket keeps up to two rows per line; two more for the first and last rows.
        let per_bucket = 2 * picks.len().max(1) as u64;
        let budget = (MAX_POINTS as u64 - 2) / per_bucket;
        let buckets = if expected <= MAX_POINTS as u64 {
            expected
        } else {
            budget
        };
        Self {
            expected,
            buckets,
            picks,
            seen: 0,
            bucket: 0,
            extremes: vec![None; picks.len()],
            last: None,
            last_kept: None,
            out: Vec::new(),
        }
    }

    /// Takes the next row.
    pub fn push(&mut self, row: Row) {
        let index = self.seen;
        self.seen += 1;
        if index == 0 {
            self.keep(0, row);
        }
        // More rows than announced (the file grew between the passes) go to the last bucket.
        let bucket = if self.expected == 0 {
            0
        } else {
            let b = u128::from(index) * u128::from(self.buckets) / u128::from(self.expected);
            (b as u64).min(self.buckets.saturating_sub(1))
        };
        if bucket != self.bucket {
            self.flush();
            self.bucket = bucket;
        }
        for (pick, slot) in self.picks.iter().zip(self.extremes.iter_mut()) {
            let v = pick(&row);
            match slot {
                None => *slot = Some([(index, row), (index, row)]),
                Some([min, max]) => {
                    if v < pick(&min.1) {
                        *min = (index, row);
                    }
                    if v > pick(&max.1) {
                        *max = (index, row);
                    }
                }
            }
        }
        self.last = Some((index, row));
    }

    /// The kept rows, in order.
    pub fn finish(mut self) -> Vec<Row> {
        self.flush();
        if let Some((index, row)) = self.last {
            self.keep(index, row);
        }
        self.out
    }

    fn flush(&mut self) {
        let mut picked: Vec<(u64, Row)> = self
            .extremes
            .iter_mut()
            .filter_map(Option::take)
            .flatten()
            .collect();
        picked.sort_by_key(|(index, _)| *index);
        for (index, row) in picked {
            self.keep(index, row);
        }
    }

    fn keep(&mut self, index: u64, row: Row) {
        if self.last_kept.is_some_and(|k| k >= index) {
            return;
        }
        self.last_kept = Some(index);
        self.out.push(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: u64, equity: f64) -> Row {
        Row {
            ts: Ts(i as i64),
            equity,
            benchmark: 0.0,
            drawdown: 0.0,
            gross: 0.0,
            net: 0.0,
            long: 0.0,
            short: 0.0,
        }
    }

    const EQUITY_ONLY: [Pick; 1] = [|r| r.equity];

    fn sample(values: &[f64]) -> Vec<Row> {
        let mut d = Downsampler::new(values.len() as u64, &EQUITY_ONLY);
        for (i, v) in values.iter().enumerate() {
            d.push(row(i as u64, *v));
        }
        d.finish()
    }

    #[test]
    fn short_series_are_kept_whole() {
        let values: Vec<f64> = (0..MAX_POINTS).map(|i| (i % 7) as f64).collect();
        let rows = sample(&values);
        assert_eq!(rows.len(), MAX_POINTS);
        assert!(rows.windows(2).all(|w| w[0].ts < w[1].ts));
    }

    #[test]
    fn long_series_keep_their_extremes_and_ends_within_the_budget() {
        // A sawtooth with one spike and one dip hidden in the middle.
        let mut values: Vec<f64> = (0..1_000_000).map(|i| (i % 1000) as f64).collect();
        values[500_123] = 1e9;
        values[700_001] = -1e9;
        let rows = sample(&values);
        assert!(rows.len() <= MAX_POINTS, "{}", rows.len());
        assert!(rows.len() > MAX_POINTS / 2, "{}", rows.len());
        assert_eq!(rows.first().map(|r| r.ts), Some(Ts(0)));
        assert_eq!(rows.last().map(|r| r.ts), Some(Ts(999_999)));
        assert!(rows.iter().any(|r| r.equity == 1e9));
        assert!(rows.iter().any(|r| r.equity == -1e9));
        assert!(rows.windows(2).all(|w| w[0].ts < w[1].ts), "in order, once");
        assert_eq!(rows, sample(&values), "deterministic");
    }

    #[test]
    fn every_line_of_a_chart_stays_within_the_budget() {
        let mut d = Downsampler::new(200_000, &EXPOSURE_PICKS);
        for i in 0..200_000u64 {
            let x = i as f64;
            d.push(Row {
                gross: x % 13.0,
                net: -(x % 17.0),
                long: x % 19.0,
                short: x % 23.0,
                ..row(i, 0.0)
            });
        }
        let rows = d.finish();
        assert!(rows.len() <= MAX_POINTS, "{}", rows.len());
    }

    #[test]
    fn the_benchmark_holds_equal_parts_and_waits_in_cash_for_late_symbols() {
        // Two symbols, 100 of cash: the first doubled, the second has no bar yet.
        let v = benchmark_value(100.0, &[Some(10.0), None], &[Some(20.0), None]);
        assert_eq!(v, 150.0);
        let v = benchmark_value(100.0, &[Some(10.0), Some(4.0)], &[Some(5.0), Some(6.0)]);
        assert_eq!(v, 25.0 + 75.0);
        assert_eq!(benchmark_value(100.0, &[], &[]), 100.0);
    }
}
