//! The report's time series at snapshot resolution — equity, the benchmark, drawdown and
//! exposures — read from a ledger in one pass and down-sampled while they stream by, so a
//! run with millions of snapshots needs memory for the chart points only.
//!
//! # The benchmark
//!
//! A buy-and-hold portfolio built from the ledger's own bars. When the scenario names a
//! benchmark (`[strategy] benchmark`, a symbol of the run that is watched, never traded), it
//! holds that symbol alone; otherwise — scenarios have no other benchmark setting — it is an
//! **equal-weight buy-and-hold of the run's symbols**. The starting cash is split by the
//! weights; each part buys its symbol at that symbol's first close in the ledger (fractional
//! quantities, no costs, no dividends) and holds it to the end; until then the part waits in
//! cash, and a symbol without bars stays cash throughout. At each snapshot the benchmark is
//! marked to the latest closes known at that snapshot, exactly as the account is. With a
//! window (`--from`), it is scaled to start the window at the account's equity there.
//!
//! # Invariants
//!
//! - Down-sampling is a pure function of the rows and the window's span: the same ledger
//!   always gives the same points.
//! - Every chart line has at most [`MAX_POINTS`] points: all the rows when there are no more,
//!   else the first and last rows, and per bucket of time the rows holding each line's
//!   minimum and maximum.

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
    /// `(peak − equity) / peak`, the peak counted from the equity the window starts from
    /// (0 at a peak).
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

/// What to read: the window and the benchmark.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// The benchmark's weight of each symbol of the header (summing to 1, or all zero).
    pub weights: Vec<f64>,
    /// Only snapshots from this day (days since 1970-01-01, UTC).
    pub from_day: Option<i64>,
    /// Only snapshots up to this day, inclusive.
    pub to_day: Option<i64>,
    /// The times the window's snapshots fall within, `[start, end)`: the span the
    /// down-sampling buckets cut.
    pub span: (Ts, Ts),
    /// The equity the window starts from: the initial cash, or the equity at the last
    /// snapshot before `from_day` (as in `tape metrics`).
    pub start_equity: f64,
}

impl Spec {
    /// Weights of an equal-weight benchmark of `n` symbols.
    pub fn equal_weights(n: usize) -> Vec<f64> {
        vec![1.0 / n.max(1) as f64; n]
    }

    /// Weights of a benchmark of one symbol out of `n`.
    pub fn one_symbol(n: usize, index: usize) -> Vec<f64> {
        (0..n).map(|i| if i == index { 1.0 } else { 0.0 }).collect()
    }

    fn within(&self, day: i64) -> bool {
        self.from_day.is_none_or(|f| day >= f) && self.to_day.is_none_or(|t| day <= t)
    }
}

/// What the second pass over a ledger yields: each chart's rows, and the benchmark's figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Paths {
    /// Rows for the equity chart.
    pub equity: Vec<Row>,
    /// Rows for the drawdown chart.
    pub drawdown: Vec<Row>,
    /// Rows for the exposure chart.
    pub exposure: Vec<Row>,
    /// Snapshots read within the window.
    pub snapshots: u64,
    /// The benchmark's value at the window's last snapshot over its value at the start, minus
    /// one.
    pub benchmark_return: f64,
    /// The benchmark's largest drawdown over the window's snapshots.
    pub benchmark_drawdown: f64,
}

/// Reads a ledger's bars and snapshots from its start.
pub fn read(mut reader: LedgerReader<File>, spec: &Spec) -> Result<Paths, LedgerReadError> {
    let n = reader.header().symbols.len();
    let mut first: Vec<Option<f64>> = vec![None; n];
    let mut last: Vec<Option<f64>> = vec![None; n];
    let mut cash = 0.0;
    // The benchmark's value where the window starts: the starting cash, or its value at the
    // last snapshot before the window.
    let mut base = 0.0;
    let start = spec.start_equity;
    let mut peak = start;
    let mut bench_peak = start;
    let mut out = Paths::default();
    let (t0, t1) = (spec.span.0 .0, spec.span.1 .0);
    let mut equity = Downsampler::new(t0, t1, &EQUITY_PICKS);
    let mut drawdown = Downsampler::new(t0, t1, &DRAWDOWN_PICKS);
    let mut exposure = Downsampler::new(t0, t1, &EXPOSURE_PICKS);
    while let Some(frame) = reader.next_event()? {
        let event = frame.decode()?;
        match &event.body {
            EventBody::RunStarted(s) => {
                cash = s.initial_cash.to_f64();
                base = cash;
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
                let day = event.ts.day();
                let raw = benchmark_value(cash, &spec.weights, &first, &last);
                if spec.from_day.is_some_and(|f| day < f) {
                    base = raw;
                    continue;
                }
                if !spec.within(day) {
                    // Past the window: nothing later is drawn.
                    break;
                }
                let benchmark = if base != 0.0 { raw * start / base } else { raw };
                let value = p.equity.to_f64();
                let gross = p.gross_exposure.to_f64();
                let net = p.net_exposure.to_f64();
                let of_equity = |x: f64| if value != 0.0 { x / value } else { 0.0 };
                peak = peak.max(value);
                bench_peak = bench_peak.max(benchmark);
                if bench_peak > 0.0 {
                    out.benchmark_drawdown = out
                        .benchmark_drawdown
                        .max((bench_peak - benchmark) / bench_peak);
                }
                if start != 0.0 {
                    out.benchmark_return = benchmark / start - 1.0;
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
    Ok(out)
}

/// The buy-and-hold portfolio marked to the latest closes (module docs).
fn benchmark_value(cash: f64, weights: &[f64], first: &[Option<f64>], last: &[Option<f64>]) -> f64 {
    if weights.iter().all(|w| *w == 0.0) {
        return cash;
    }
    weights
        .iter()
        .zip(first.iter().zip(last))
        .map(|(w, (f, l))| match (f, l) {
            (Some(f), Some(l)) if *f > 0.0 => cash * w * l / f,
            _ => cash * w,
        })
        .sum()
}

/// Keeps every row while there are at most [`MAX_POINTS`]; past that, cuts the span into
/// buckets of equal time and keeps, per bucket, the rows holding each pick's minimum and
/// maximum (in row order, each row once), plus the very first and last rows.
pub struct Downsampler {
    span: (i64, i64),
    buckets: i64,
    picks: &'static [Pick],
    /// All rows so far, while there are no more than [`MAX_POINTS`].
    whole: Option<Vec<Row>>,
    seen: u64,
    bucket: i64,
    /// Per pick: (row index, row) of the bucket's minimum and maximum so far.
    extremes: Vec<Option<[(u64, Row); 2]>>,
    last: Option<(u64, Row)>,
    last_kept: Option<u64>,
    out: Vec<Row>,
}

impl Downsampler {
    /// A down-sampler for rows within `[start, end)` (ns), drawn as `picks.len()` lines.
    pub fn new(start: i64, end: i64, picks: &'static [Pick]) -> Self {
        // Each bucket keeps up to two rows per line; two more for the first and last rows.
        let per_bucket = 2 * picks.len().max(1);
        Self {
            span: (start, end),
            buckets: ((MAX_POINTS - 2) / per_bucket) as i64,
            picks,
            whole: Some(Vec::new()),
            seen: 0,
            bucket: 0,
            extremes: vec![None; picks.len()],
            last: None,
            last_kept: None,
            out: Vec::new(),
        }
    }

    /// Takes the next row (rows come in time order).
    pub fn push(&mut self, row: Row) {
        match &mut self.whole {
            Some(rows) if rows.len() < MAX_POINTS => rows.push(row),
            Some(rows) => {
                let rows = std::mem::take(rows);
                self.whole = None;
                for r in rows {
                    self.bucketed(r);
                }
                self.bucketed(row);
            }
            None => self.bucketed(row),
        }
    }

    /// The kept rows, in order.
    pub fn finish(mut self) -> Vec<Row> {
        if let Some(rows) = self.whole.take() {
            return rows;
        }
        self.flush();
        if let Some((index, row)) = self.last {
            self.keep(index, row);
        }
        self.out
    }

    fn bucket_of(&self, ts: Ts) -> i64 {
        let (start, end) = self.span;
        if end <= start {
            return 0;
        }
        let b = i128::from(ts.0 - start) * i128::from(self.buckets) / i128::from(end - start);
        // A row outside the announced span goes to the nearest end.
        b.clamp(0, i128::from(self.buckets - 1)) as i64
    }

    fn bucketed(&mut self, row: Row) {
        let index = self.seen;
        self.seen += 1;
        let bucket = self.bucket_of(row.ts);
        if index == 0 {
            self.keep(0, row);
            self.bucket = bucket;
        }
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
        let mut d = Downsampler::new(0, values.len() as i64, &EQUITY_ONLY);
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
    fn one_row_past_the_budget_switches_to_buckets_of_time() {
        // Irregular times: a burst of rows at the start, then sparse ones.
        let mut d = Downsampler::new(0, 10_000_000, &EQUITY_ONLY);
        let times: Vec<i64> = (0..=MAX_POINTS as i64)
            .map(|i| if i < 1000 { i } else { i * 6000 })
            .collect();
        for (i, t) in times.iter().enumerate() {
            d.push(Row {
                ts: Ts(*t),
                ..row(0, (i % 3) as f64)
            });
        }
        let rows = d.finish();
        assert!(rows.len() <= MAX_POINTS, "{}", rows.len());
        assert_eq!(rows.first().map(|r| r.ts), times.first().map(|t| Ts(*t)));
        assert_eq!(rows.last().map(|r| r.ts), times.last().map(|t| Ts(*t)));
        assert!(rows.windows(2).all(|w| w[0].ts < w[1].ts));
    }

    #[test]
    fn every_line_of_a_chart_stays_within_the_budget() {
        let mut d = Downsampler::new(0, 200_000, &EXPOSURE_PICKS);
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
    fn the_benchmark_holds_its_parts_and_waits_in_cash_for_late_symbols() {
        // Two symbols, 100 of cash: the first doubled, the second has no bar yet.
        let equal = Spec::equal_weights(2);
        let v = benchmark_value(100.0, &equal, &[Some(10.0), None], &[Some(20.0), None]);
        assert_eq!(v, 150.0);
        let v = benchmark_value(
            100.0,
            &equal,
            &[Some(10.0), Some(4.0)],
            &[Some(5.0), Some(6.0)],
        );
        assert_eq!(v, 25.0 + 75.0);
        // The scenario's own benchmark: the second symbol alone.
        let one = Spec::one_symbol(2, 1);
        let v = benchmark_value(
            100.0,
            &one,
            &[Some(10.0), Some(4.0)],
            &[Some(5.0), Some(6.0)],
        );
        assert_eq!(v, 150.0);
        assert_eq!(benchmark_value(100.0, &[], &[], &[]), 100.0);
    }
}
