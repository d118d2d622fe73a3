//! The trend system's seven CSV outputs, derived from a ledger alone (docs/trend-system.md §7):
//! `daily_snapshots.csv`, `positions.csv`, `signals.csv`, `slippage.csv`, `trades.csv`,
//! `targets.csv` and `order_events.csv`.
//!
//! Invariants: every value comes from the ledger's events (nothing from the scenario's data
//! files or a re-run), so one ledger always gives the same bytes, and a replayed ledger gives
//! the same files. Fixed-point values are written as their exact decimal text; floats in
//! Rust's shortest round-trip form; times in RFC 3339 UTC; dates as `YYYY-MM-DD` (UTC).
//! Rows are in ledger order (by `seq`), which is time order. The columns are a contract,
//! pinned by tests: add columns at the end, never rename or reorder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tape_engine::event::{Direction, EventBody, Reason, SymbolId};
use tape_engine::fixed::{Money, Price, Quantity};
use tape_engine::ledger::{LedgerReadError, LedgerReader};
use tape_engine::time::Ts;
use tape_strategies::trend::{self, OrderTag};

use crate::metrics::{self, date_text, MetricsError, Options};

/// The files, in the order they are written.
pub const FILES: [&str; 7] = [
    "daily_snapshots.csv",
    "positions.csv",
    "signals.csv",
    "slippage.csv",
    "trades.csv",
    "targets.csv",
    "order_events.csv",
];

/// Why the outputs could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The ledger could not be read, or its accounting does not hold.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// The ledger could not be read.
    #[error(transparent)]
    Read(#[from] LedgerReadError),
    /// A file could not be written.
    #[error("cannot write {path}: {source} (check the directory and free space)")]
    Write {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// The header of each file: the contract.
pub const COLUMNS: [&[&str]; 7] = [
    &[
        "date",
        "ts",
        "equity",
        "cash",
        "gross_exposure",
        "net_exposure",
        "long_exposure",
        "short_exposure",
        "realised_pnl",
        "unrealised_pnl",
        "fees",
        "open_positions",
        "daily_return",
        "drawdown",
        "turnover",
        "benchmark_close",
    ],
    &[
        "date",
        "symbol",
        "quantity",
        "close",
        "market_value",
        "weight",
    ],
    &[
        "date",
        "seq",
        "symbol",
        "kind",
        "direction",
        "strength",
        "composite",
        "score_short",
        "score_medium",
        "score_long",
        "atr",
        "close",
        "week_id",
        "days_since",
    ],
    &[
        "date",
        "ts",
        "seq",
        "order",
        "symbol",
        "side",
        "quantity",
        "price",
        "expected_price",
        "slippage",
        "slippage_bps",
        "fee",
        "tag",
    ],
    &[
        "symbol",
        "side",
        "opened",
        "closed",
        "fills",
        "quantity",
        "entry_price",
        "exit_price",
        "pnl",
        "holding_days",
    ],
    &[
        "date",
        "seq",
        "symbol",
        "target_position",
        "weight",
        "raw_weight",
        "vol_scale",
        "bound",
        "week_id",
        "scale_day",
        "step",
        "expected_price",
    ],
    &[
        "date",
        "ts",
        "seq",
        "event",
        "order",
        "symbol",
        "side",
        "order_type",
        "quantity",
        "limit_price",
        "stop_price",
        "fill_price",
        "remaining",
        "tag",
        "reason",
    ],
];

/// Rows written per file, in [`FILES`] order.
pub type RowCounts = [u64; 7];

/// Writes the seven files into `dir` (which must exist). Each is written to a temporary
/// name and renamed when complete, so a failure leaves no file that looks finished.
pub fn write(ledger: &Path, dir: &Path) -> Result<RowCounts, OutputError> {
    let figures = metrics::from_ledger(ledger, &Options::default())?;
    let mut reader = LedgerReader::open(ledger)?;
    let header = reader.header().clone();
    let names = header.symbols.clone();
    let name = |s: SymbolId| names.get(s.0 as usize).cloned().unwrap_or_default();
    let benchmark = benchmark_symbol(&header.config, &names);

    let mut files = Files::create(dir)?;
    let mut counts: RowCounts = [0; 7];
    let mut positions: Vec<Quantity> = vec![Quantity::ZERO; names.len()];
    let mut marks: Vec<Option<Price>> = vec![None; names.len()];
    // Order id → its tag, for fills and cancels.
    let mut tags: BTreeMap<u64, String> = BTreeMap::new();
    // The last snapshot of each day, with the positions then.
    let mut day_rows: Vec<DayRow> = Vec::new();

    while let Some(frame) = reader.next_event()? {
        let event = frame.decode()?;
        let date = date_text(event.ts.day());
        let ts = event.ts.to_string();
        let seq = event.seq.0.to_string();
        match &event.body {
            EventBody::Bar(b) => {
                if let Some(m) = marks.get_mut(b.symbol.0 as usize) {
                    *m = Some(b.close);
                }
            }
            EventBody::Signal(s) => {
                let v = s.reason.raw_values();
                let real = |i: usize| v.get(i).map(|x| f64::from_bits(*x as u64).to_string());
                let int = |i: usize| v.get(i).map(|x| x.to_string());
                let signed = match s.direction {
                    Direction::Short => -s.strength,
                    _ => s.strength,
                };
                let row: Vec<String> = if s.reason.rule == trend::COMPOSITE.id {
                    vec![
                        date,
                        seq,
                        name(s.symbol),
                        "recalculated".into(),
                        s.direction.name().into(),
                        signed.to_string(),
                        real(3).unwrap_or_default(),
                        real(0).unwrap_or_default(),
                        real(1).unwrap_or_default(),
                        real(2).unwrap_or_default(),
                        real(4).unwrap_or_default(),
                        v.get(5)
                            .and_then(|x| Price::from_raw(*x).ok())
                            .map(|p| p.to_string())
                            .unwrap_or_default(),
                        int(6).unwrap_or_default(),
                        "0".into(),
                    ]
                } else if s.reason.rule == trend::CACHED.id {
                    vec![
                        date,
                        seq,
                        name(s.symbol),
                        "cached".into(),
                        s.direction.name().into(),
                        signed.to_string(),
                        real(0).unwrap_or_default(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        int(1).unwrap_or_default(),
                        int(2).unwrap_or_default(),
                    ]
                } else {
                    continue;
                };
                files.row(2, &row)?;
                counts[2] += 1;
            }
            EventBody::Target(t) if t.reason.rule == trend::TARGET.id => {
                let v = t.reason.raw_values();
                let real = |i: usize| v.get(i).map(|x| f64::from_bits(*x as u64).to_string());
                let bound = v.get(3).copied().unwrap_or(0);
                let row = vec![
                    date,
                    seq,
                    name(t.symbol),
                    t.position.to_string(),
                    real(0).unwrap_or_default(),
                    real(1).unwrap_or_default(),
                    real(2).unwrap_or_default(),
                    bound_text(bound),
                    v.get(4).map(|x| x.to_string()).unwrap_or_default(),
                    v.get(5).map(|x| x.to_string()).unwrap_or_default(),
                    real(6).unwrap_or_default(),
                    v.get(7)
                        .and_then(|x| Price::from_raw(*x).ok())
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                ];
                files.row(5, &row)?;
                counts[5] += 1;
            }
            EventBody::OrderSubmitted(o) => {
                let tag = tag_text(&o.reason);
                tags.insert(o.order.0, tag.clone());
                let row = OrderRow {
                    event: "submitted",
                    order: o.order.0,
                    symbol: name(o.symbol),
                    side: o.side.name(),
                    order_type: o.order_type.name(),
                    quantity: o.quantity.to_string(),
                    limit_price: opt_price(o.limit_price),
                    stop_price: opt_price(o.stop_price),
                    remaining: o.quantity.to_string(),
                    tag,
                    reason: reason_text(&header, &o.reason),
                    ..OrderRow::default()
                };
                files.row(6, &row.cells(date, ts, seq))?;
                counts[6] += 1;
            }
            EventBody::OrderRejected(o) => {
                let row = OrderRow {
                    event: "rejected",
                    order: o.order.0,
                    symbol: name(o.symbol),
                    side: o.side.name(),
                    quantity: o.quantity.to_string(),
                    remaining: Quantity::ZERO.to_string(),
                    reason: reason_text(&header, &o.reason),
                    ..OrderRow::default()
                };
                files.row(6, &row.cells(date, ts, seq))?;
                counts[6] += 1;
            }
            EventBody::OrderAmended(o) => {
                let row = OrderRow {
                    event: "amended",
                    order: o.order.0,
                    symbol: name(o.symbol),
                    limit_price: opt_price(o.limit_price),
                    stop_price: opt_price(o.stop_price),
                    remaining: o.remaining.to_string(),
                    tag: tags.get(&o.order.0).cloned().unwrap_or_default(),
                    reason: reason_text(&header, &o.reason),
                    ..OrderRow::default()
                };
                files.row(6, &row.cells(date, ts, seq))?;
                counts[6] += 1;
            }
            EventBody::OrderCancelled(o) => {
                let row = OrderRow {
                    event: "cancelled",
                    order: o.order.0,
                    symbol: name(o.symbol),
                    remaining: o.remaining.to_string(),
                    tag: tags.get(&o.order.0).cloned().unwrap_or_default(),
                    reason: reason_text(&header, &o.reason),
                    ..OrderRow::default()
                };
                files.row(6, &row.cells(date, ts, seq))?;
                counts[6] += 1;
            }
            EventBody::OrderFilled(f) => {
                let tag = tags.get(&f.order.0).cloned().unwrap_or_default();
                let i = f.symbol.0 as usize;
                let signed = match f.side {
                    tape_engine::event::Side::Buy => f.quantity.raw(),
                    tape_engine::event::Side::Sell => -f.quantity.raw(),
                };
                if let Some(p) = positions.get_mut(i) {
                    *p = Quantity::from_raw(p.raw() + signed);
                }
                // Against the trader in basis points of the expected price: + is worse.
                let worse = (f.price.to_f64() - f.expected_price.to_f64())
                    * if signed > 0 { 1.0 } else { -1.0 };
                let bps = worse / f.expected_price.to_f64() * 10_000.0;
                let fill_row = vec![
                    date.clone(),
                    ts.clone(),
                    seq.clone(),
                    f.order.0.to_string(),
                    name(f.symbol),
                    f.side.name().into(),
                    f.quantity.to_string(),
                    f.price.to_string(),
                    f.expected_price.to_string(),
                    f.slippage.to_string(),
                    bps.to_string(),
                    f.fee.to_string(),
                    tag.clone(),
                ];
                files.row(3, &fill_row)?;
                counts[3] += 1;
                let row = OrderRow {
                    event: "filled",
                    order: f.order.0,
                    symbol: name(f.symbol),
                    side: f.side.name(),
                    quantity: f.quantity.to_string(),
                    fill_price: f.price.to_string(),
                    remaining: f.remaining.to_string(),
                    tag,
                    ..OrderRow::default()
                };
                files.row(6, &row.cells(date, ts, seq))?;
                counts[6] += 1;
            }
            EventBody::PortfolioSnapshot(p) => {
                let day = event.ts.day();
                let held: Vec<(usize, Quantity, Option<Price>)> = positions
                    .iter()
                    .enumerate()
                    .filter(|(_, q)| !q.is_zero())
                    .map(|(i, q)| (i, *q, marks[i]))
                    .collect();
                let row = DayRow {
                    day,
                    ts: event.ts,
                    snapshot: *p,
                    held,
                    benchmark: benchmark.and_then(|b| marks[b]),
                };
                match day_rows.last_mut() {
                    Some(last) if last.day == day => *last = row,
                    _ => day_rows.push(row),
                }
            }
            _ => {}
        }
    }

    // The daily files, joined with the figures computed per day.
    let by_day: BTreeMap<i64, &metrics::Day> = figures.days.iter().map(|d| (d.day, d)).collect();
    for r in &day_rows {
        let date = date_text(r.day);
        let p = &r.snapshot;
        let long = Money::from_raw((p.gross_exposure.raw() + p.net_exposure.raw()) / 2);
        let short = Money::from_raw((p.gross_exposure.raw() - p.net_exposure.raw()) / 2);
        let d = by_day.get(&r.day);
        let row = vec![
            date.clone(),
            r.ts.to_string(),
            p.equity.to_string(),
            p.cash.to_string(),
            p.gross_exposure.to_string(),
            p.net_exposure.to_string(),
            long.to_string(),
            short.to_string(),
            p.realised_pnl.to_string(),
            p.unrealised_pnl.to_string(),
            p.fees.to_string(),
            p.open_positions.to_string(),
            d.map(|d| d.ret.to_string()).unwrap_or_default(),
            d.map(|d| d.drawdown.to_string()).unwrap_or_default(),
            d.map(|d| d.turnover.to_string()).unwrap_or_default(),
            opt_price(r.benchmark),
        ];
        files.row(0, &row)?;
        counts[0] += 1;
        for &(i, quantity, mark) in &r.held {
            let value = mark.and_then(|m| m.notional(quantity).ok());
            let weight = match value {
                Some(v) if p.equity.raw() != 0 => (v.to_f64() / p.equity.to_f64()).to_string(),
                _ => String::new(),
            };
            let row = vec![
                date.clone(),
                names.get(i).cloned().unwrap_or_default(),
                quantity.to_string(),
                opt_price(mark),
                value.map(|v| v.to_string()).unwrap_or_default(),
                weight,
            ];
            files.row(1, &row)?;
            counts[1] += 1;
        }
    }
    for t in &figures.round_trips {
        let row = vec![
            t.symbol.clone(),
            t.side.to_string(),
            t.opened.to_string(),
            t.closed.to_string(),
            t.fills.to_string(),
            t.quantity.to_string(),
            t.entry_price.to_string(),
            t.exit_price.to_string(),
            t.pnl.to_string(),
            (t.closed.day() - t.opened.day()).to_string(),
        ];
        files.row(4, &row)?;
        counts[4] += 1;
    }
    files.finish()?;
    Ok(counts)
}

/// One row of `order_events.csv` but its time and seq; empty strings where the event has no
/// such field.
#[derive(Default)]
struct OrderRow {
    event: &'static str,
    order: u64,
    symbol: String,
    side: &'static str,
    order_type: &'static str,
    quantity: String,
    limit_price: String,
    stop_price: String,
    fill_price: String,
    remaining: String,
    tag: String,
    reason: String,
}

impl OrderRow {
    fn cells(self, date: String, ts: String, seq: String) -> Vec<String> {
        vec![
            date,
            ts,
            seq,
            self.event.into(),
            self.order.to_string(),
            self.symbol,
            self.side.into(),
            self.order_type.into(),
            self.quantity,
            self.limit_price,
            self.stop_price,
            self.fill_price,
            self.remaining,
            self.tag,
            self.reason,
        ]
    }
}

struct DayRow {
    day: i64,
    ts: Ts,
    snapshot: tape_engine::event::PortfolioSnapshot,
    held: Vec<(usize, Quantity, Option<Price>)>,
    benchmark: Option<Price>,
}

fn opt_price(p: Option<Price>) -> String {
    p.map(|p| p.to_string()).unwrap_or_default()
}

/// `name+gross`-style text of a target's bound bits (empty when none bound).
fn bound_text(bits: i64) -> String {
    let names = [
        (trend::bound::NAME, "name"),
        (trend::bound::GROSS, "gross"),
        (trend::bound::NET, "net"),
        (trend::bound::NO_VOL, "no_vol"),
    ];
    names
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join("+")
}

fn tag_text(reason: &Reason) -> String {
    OrderTag::from_reason(reason)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// `rule(name=value …)`, as `tape show` prints a reason.
fn reason_text(header: &tape_engine::ledger::Header, reason: &Reason) -> String {
    let (rule, values) = crate::render::Renderer::new(header).reason(reason);
    format!("{rule}({values})")
}

/// The `[strategy] benchmark` of the run's configuration, if it names one of its symbols.
fn benchmark_symbol(config: &str, names: &[String]) -> Option<usize> {
    let table: toml::Table = config.parse().ok()?;
    let name = table.get("strategy")?.get("benchmark")?.as_str()?;
    names.iter().position(|n| n == name)
}

/// The seven files being written, each under a temporary name until [`Files::finish`].
struct Files {
    writers: Vec<(
        PathBuf,
        PathBuf,
        csv::Writer<std::io::BufWriter<std::fs::File>>,
    )>,
}

impl Files {
    fn create(dir: &Path) -> Result<Self, OutputError> {
        let mut writers = Vec::with_capacity(FILES.len());
        for (file, columns) in FILES.iter().zip(COLUMNS) {
            let path = dir.join(file);
            let partial = dir.join(format!(".{file}.partial"));
            let handle = std::fs::File::create(&partial).map_err(|source| OutputError::Write {
                path: partial.clone(),
                source,
            })?;
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(std::io::BufWriter::new(handle));
            w.write_record(columns)
                .map_err(|e| write_error(&partial, e))?;
            writers.push((path, partial, w));
        }
        Ok(Self { writers })
    }

    fn row(&mut self, file: usize, row: &[String]) -> Result<(), OutputError> {
        let (_, partial, w) = &mut self.writers[file];
        w.write_record(row).map_err(|e| write_error(partial, e))
    }

    fn finish(mut self) -> Result<(), OutputError> {
        // Flush every file first, then rename them all: a failure leaves only partial names,
        // which the drop removes.
        for (_, partial, writer) in &mut self.writers {
            writer.flush().map_err(|source| OutputError::Write {
                path: partial.clone(),
                source,
            })?;
        }
        for (path, partial, _) in &self.writers {
            std::fs::rename(partial, path).map_err(|source| OutputError::Write {
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        // A failure midway: leave nothing behind that could pass for output.
        for (_, partial, _) in &self.writers {
            let _ = std::fs::remove_file(partial);
        }
    }
}

fn write_error(path: &Path, e: csv::Error) -> OutputError {
    OutputError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}
