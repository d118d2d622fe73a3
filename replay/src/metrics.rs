//! Performance figures computed from a ledger alone: returns, risk, drawdown, turnover,
//! slippage, exposure, trades. The conventions are in docs/metrics.md.
//!
//! Invariant: before any figure is reported, the account is rebuilt from the ledger's own
//! inputs and fills (cash moved by each fill's notional and fee and by each borrow charge,
//! positions marked to each symbol's latest `bar` close) and compared with every recorded
//! `portfolio_snapshot`, exactly, to the money step. A ledger whose snapshots disagree with its
//! fills yields an error, never figures. The notional is computed here by its documented rule
//! (`price × quantity`, rounded once, half away from zero), not by the engine's code, so the
//! check is independent of the accounting it checks.
//!
//! Everything after that check is analytics in `f64`: a ledger always gives the same figures,
//! but they are not part of any ledger's bytes.

use std::collections::BTreeMap;
use std::path::Path;

use tape_engine::event::{Event, EventBody, Side};
use tape_engine::fixed::{MONEY_SCALE, PRICE_SCALE, QTY_SCALE};
use tape_engine::ledger::{fingerprint_hex, LedgerReadError, LedgerReader};
use tape_engine::time::{civil_from_days, Ts};

/// What the caller may choose; everything else is fixed by docs/metrics.md.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Return periods per year for annualising; `None` infers 252 or 365 from the dates.
    pub periods_per_year: Option<f64>,
    /// Annual risk-free rate as a fraction (`0.02` = 2 %), spread evenly over the periods.
    pub risk_free_rate: f64,
    /// Only days from this one (days since 1970-01-01, UTC): a warm-up before it is left out,
    /// and the equity at the last snapshot before it is the base of the first return.
    pub from_day: Option<i64>,
    /// Only days up to this one.
    pub to_day: Option<i64>,
}

/// Why no figures could be computed.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The ledger could not be read to its end.
    #[error(transparent)]
    Read(#[from] LedgerReadError),
    /// A recorded snapshot disagrees with the account rebuilt from the fills.
    #[error("event #{seq} (portfolio_snapshot): recorded {field} {recorded} but the fills before it give {recomputed}; the ledger's accounting is inconsistent (run `tape replay` on it)")]
    SnapshotMismatch {
        /// The snapshot's seq.
        seq: u64,
        /// Which field differs.
        field: &'static str,
        /// The recorded value, as decimal text.
        recorded: String,
        /// The rebuilt value, as decimal text.
        recomputed: String,
    },
    /// A value overflowed while rebuilding the account.
    #[error("event #{seq}: the account rebuilt from the fills overflows a 64-bit amount")]
    Overflow {
        /// The event being applied.
        seq: u64,
    },
    /// The ledger has no `run_started` event.
    #[error("the ledger has no run_started event, so its starting cash is unknown")]
    NoStart,
}

/// The conventions the figures were computed with.
#[derive(Clone, Debug, PartialEq)]
pub struct Conventions {
    /// Return periods (days with a snapshot) per year.
    pub periods_per_year: f64,
    /// Where `periods_per_year` came from: `given`, `weekdays` (252) or `every day` (365).
    pub periods_per_year_source: &'static str,
    /// The annual risk-free rate.
    pub risk_free_rate: f64,
}

/// One day: the account at the day's last snapshot and what was traded that day.
#[derive(Clone, Debug, PartialEq)]
pub struct Day {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    /// Equity at the day's last snapshot.
    pub equity: f64,
    /// Simple return over the previous day's equity (the first day: over the starting cash).
    pub ret: f64,
    /// `(peak − equity) / peak` at the day's close, the peak counted from the starting cash.
    pub drawdown: f64,
    /// Exposures at the day's last snapshot, as fractions of its equity.
    pub gross: f64,
    /// Net exposure over equity.
    pub net: f64,
    /// Long exposure over equity.
    pub long: f64,
    /// Short exposure over equity (a positive number).
    pub short: f64,
    /// Notional traded that day over the previous day's equity.
    pub turnover: f64,
    /// Notional traded that day, in the account currency.
    pub traded: f64,
    /// Slippage paid that day, in the account currency.
    pub slippage: f64,
    /// Fees (and borrow charges) paid that day, in the account currency.
    pub fees: f64,
}

/// A position from flat back to flat (or through zero) in one symbol.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundTrip {
    /// The symbol's name.
    pub symbol: String,
    /// `long` or `short`.
    pub side: &'static str,
    /// The first fill's time.
    pub opened: Ts,
    /// The closing fill's time.
    pub closed: Ts,
    /// Fills that took part.
    pub fills: u32,
    /// The largest absolute position held.
    pub quantity: f64,
    /// Average price of the fills that opened or added.
    pub entry_price: f64,
    /// Average price of the fills that reduced or closed.
    pub exit_price: f64,
    /// Cash in minus cash out, minus fees: the trade's profit in the account currency.
    pub pnl: f64,
}

/// The figures of a drawdown episode.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Drawdown {
    /// The largest `(peak − equity) / peak`; 0 when equity never fell below a peak.
    pub max: f64,
    /// When the peak before the largest drawdown was set (`None` if there was none).
    pub peak: Option<Ts>,
    /// When the largest drawdown was reached.
    pub trough: Option<Ts>,
    /// When equity first regained the peak after it (`None`: not by the end).
    pub recovered: Option<Ts>,
    /// Calendar days from the peak to the recovery, or to the last point if not recovered.
    pub days: i64,
}

/// Figures from a return series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReturnStats {
    /// `Π (1 + r) − 1`.
    pub total_return: f64,
    /// `(1 + total)^(periods_per_year / n) − 1`.
    pub cagr: f64,
    /// Sample standard deviation of the returns (n − 1) × √periods_per_year.
    pub volatility: f64,
    /// Mean excess return over its sample standard deviation, × √periods_per_year.
    pub sharpe: Option<f64>,
    /// Mean excess return over the downside deviation, × √periods_per_year.
    pub sortino: Option<f64>,
}

/// Everything `tape metrics` reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    /// The ledger's fingerprint (hex).
    pub fingerprint: String,
    /// Whether the ledger ends with `run_finished`.
    pub complete: bool,
    /// How the figures were computed.
    pub conventions: Conventions,
    /// Cash at the start of the run.
    pub initial_cash: f64,
    /// Equity the figures start from: the initial cash, or with a `from_day` the equity at
    /// the last snapshot before it.
    pub start_equity: f64,
    /// Equity at the last snapshot (the starting cash if none).
    pub final_equity: f64,
    /// Figures from the daily returns.
    pub returns: ReturnStats,
    /// `cagr / max_drawdown` (`None` without a drawdown).
    pub calmar: Option<f64>,
    /// The largest drawdown over every snapshot.
    pub drawdown: Drawdown,
    /// Σ daily turnover.
    pub turnover_total: f64,
    /// Notional traded over the run.
    pub traded_total: f64,
    /// Slippage paid over the run.
    pub slippage_total: f64,
    /// Fees and borrow charges paid over the run.
    pub fees_total: f64,
    /// Round trips closed, in the order they closed.
    pub round_trips: Vec<RoundTrip>,
    /// Positions still open at the end.
    pub open_trips: u32,
    /// Events by kind name.
    pub events: BTreeMap<&'static str, u64>,
    /// Snapshots checked against the rebuilt account.
    pub snapshots_checked: u64,
    /// One entry per day with a snapshot.
    pub days: Vec<Day>,
}

impl Metrics {
    /// Winning round trips over closed ones (`None` with none closed).
    pub fn hit_rate(&self) -> Option<f64> {
        if self.round_trips.is_empty() {
            return None;
        }
        let wins = self.round_trips.iter().filter(|t| t.pnl > 0.0).count();
        Some(wins as f64 / self.round_trips.len() as f64)
    }

    /// Gross profit of winning round trips over the gross loss of losing ones (`None` with no
    /// losing trip).
    pub fn profit_factor(&self) -> Option<f64> {
        let won: f64 = self.round_trips.iter().map(|t| t.pnl.max(0.0)).sum();
        let lost: f64 = self.round_trips.iter().map(|t| (-t.pnl).max(0.0)).sum();
        (lost > 0.0).then(|| won / lost)
    }

    /// The summary figures, labelled, in the order `tape metrics` prints them, in two groups:
    /// returns and risk, then trading. `tape report` shows the same rows.
    pub fn summary(&self) -> [Vec<(&'static str, Figure)>; 2] {
        use Figure::{Money, Percent, Ratio, Text};
        let d = &self.drawdown;
        let date = |t: Option<Ts>| t.map_or_else(|| "–".to_string(), |t| date_text(t.day()));
        let duration = match d.recovered {
            Some(t) => format!("{} days, recovered {}", d.days, date_text(t.day())),
            None if d.max > 0.0 => format!("{} days, not recovered", d.days),
            None => "–".into(),
        };
        let returns = vec![
            ("initial cash", Money(self.initial_cash)),
            ("start equity", Money(self.start_equity)),
            ("final equity", Money(self.final_equity)),
            ("total return", Percent(self.returns.total_return)),
            ("CAGR", Percent(self.returns.cagr)),
            ("volatility", Percent(self.returns.volatility)),
            ("Sharpe", Ratio(self.returns.sharpe)),
            ("Sortino", Ratio(self.returns.sortino)),
            ("Calmar", Ratio(self.calmar)),
            ("max drawdown", Percent(d.max)),
            ("from peak", Text(date(d.peak))),
            ("to trough", Text(date(d.trough))),
            ("duration", Text(duration)),
        ];
        let trading = vec![
            ("turnover, total", Percent(self.turnover_total)),
            (
                "turnover, daily mean",
                Percent(self.daily_mean(|d| d.turnover)),
            ),
            ("traded notional", Money(self.traded_total)),
            ("slippage, total", Money(self.slippage_total)),
            (
                "slippage, daily mean",
                Money(self.daily_mean(|d| d.slippage)),
            ),
            ("fees, total", Money(self.fees_total)),
            (
                "gross exposure, mean",
                Percent(self.daily_mean(|d| d.gross)),
            ),
            ("net exposure, mean", Percent(self.daily_mean(|d| d.net))),
            ("long exposure, mean", Percent(self.daily_mean(|d| d.long))),
            (
                "short exposure, mean",
                Percent(self.daily_mean(|d| d.short)),
            ),
            (
                "trades (round trips)",
                Text(format!(
                    "{} closed, {} open",
                    self.round_trips.len(),
                    self.open_trips
                )),
            ),
            (
                "hit rate",
                self.hit_rate().map_or_else(|| Text("–".into()), Percent),
            ),
            ("profit factor", Ratio(self.profit_factor())),
        ];
        [returns, trading]
    }

    /// The mean of one daily path (0 with no days).
    pub fn daily_mean(&self, field: impl Fn(&Day) -> f64) -> f64 {
        if self.days.is_empty() {
            return 0.0;
        }
        self.days.iter().map(field).sum::<f64>() / self.days.len() as f64
    }
}

/// How one summary figure reads; each front end formats it its own way.
#[derive(Clone, Debug, PartialEq)]
pub enum Figure {
    /// An amount of the account currency.
    Money(f64),
    /// A fraction, shown as a percentage.
    Percent(f64),
    /// A ratio (Sharpe, profit factor), `None` when undefined.
    Ratio(Option<f64>),
    /// Dates, counts and durations, already in words.
    Text(String),
}

/// Labels of the rows that detail the line above them (the largest drawdown's).
pub const DETAIL_ROWS: [&str; 3] = ["from peak", "to trough", "duration"];

/// `YYYY-MM-DD` of a day number.
pub fn date_text(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Reads a ledger to its end and computes its figures.
pub fn from_ledger(path: &Path, options: &Options) -> Result<Metrics, MetricsError> {
    let mut reader = LedgerReader::open(path)?;
    let symbols = reader.header().symbols.clone();
    let mut book = Book::new(symbols);
    while let Some(frame) = reader.next_event()? {
        let event = frame.decode()?;
        book.apply(&event)?;
    }
    let fingerprint = fingerprint_hex(&reader.summary()?.fingerprint);
    book.finish(fingerprint, options)
}

/// An exact account rebuilt from events, and the tallies the figures need.
struct Book {
    symbols: Vec<String>,
    initial_cash: Option<i64>,
    /// When the run started: the starting cash is the first peak.
    started: Ts,
    /// Cash in money raw units.
    cash: i64,
    /// Signed position per symbol in quantity raw units.
    positions: Vec<i64>,
    /// Latest close per symbol in price raw units.
    marks: Vec<Option<i64>>,
    trips: Vec<Option<OpenTrip>>,
    closed_trips: Vec<RoundTrip>,
    counts: BTreeMap<&'static str, u64>,
    complete: bool,
    snapshots_checked: u64,
    /// Every snapshot's (time, equity), for the drawdown.
    equity_points: Vec<(Ts, f64)>,
    days: Vec<DayClose>,
    /// Traded, slippage and fees since the last snapshot.
    pending: Tally,
}

/// A day's last snapshot and its tallies, before returns are known.
struct DayClose {
    day: i64,
    equity: f64,
    gross: f64,
    net: f64,
    tally: Tally,
}

#[derive(Clone, Copy, Default)]
struct Tally {
    traded: f64,
    slippage: f64,
    fees: f64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.traded += other.traded;
        self.slippage += other.slippage;
        self.fees += other.fees;
    }
}

/// A round trip still open.
struct OpenTrip {
    long: bool,
    opened: Ts,
    fills: u32,
    max_quantity: i64,
    entry_qty: f64,
    entry_value: f64,
    exit_qty: f64,
    exit_value: f64,
    /// Cash in minus cash out minus fees so far.
    pnl: f64,
}

fn money(raw: i64) -> f64 {
    raw as f64 / MONEY_SCALE as f64
}

fn money_text(raw: i64) -> String {
    let sign = if raw < 0 { "-" } else { "" };
    let abs = raw.unsigned_abs();
    let scale = MONEY_SCALE as u64;
    format!("{sign}{}.{:06}", abs / scale, abs % scale)
}

/// `price × quantity` in money raw units, rounded once, half away from zero.
fn notional(price_raw: i64, qty_raw: i64) -> Option<i64> {
    let exact = i128::from(price_raw) * i128::from(qty_raw);
    let den = i128::from(PRICE_SCALE) * i128::from(QTY_SCALE) / i128::from(MONEY_SCALE);
    let half = den / 2;
    let rounded = if exact >= 0 {
        (exact + half) / den
    } else {
        (exact - half) / den
    };
    i64::try_from(rounded).ok()
}

impl Book {
    fn new(symbols: Vec<String>) -> Self {
        let n = symbols.len();
        Self {
            symbols,
            initial_cash: None,
            started: Ts(0),
            cash: 0,
            positions: vec![0; n],
            marks: vec![None; n],
            trips: (0..n).map(|_| None).collect(),
            closed_trips: Vec::new(),
            counts: BTreeMap::new(),
            complete: false,
            snapshots_checked: 0,
            equity_points: Vec::new(),
            days: Vec::new(),
            pending: Tally::default(),
        }
    }

    fn apply(&mut self, event: &Event) -> Result<(), MetricsError> {
        let seq = event.seq.0;
        let overflow = || MetricsError::Overflow { seq };
        *self.counts.entry(event.body.kind().name()).or_insert(0) += 1;
        match &event.body {
            EventBody::RunStarted(s) => {
                self.initial_cash = Some(s.initial_cash.raw());
                self.started = event.ts;
                self.cash = s.initial_cash.raw();
            }
            EventBody::Bar(b) => {
                if let Some(mark) = self.marks.get_mut(b.symbol.0 as usize) {
                    *mark = Some(b.close.raw());
                }
            }
            EventBody::OrderFilled(f) => {
                let i = f.symbol.0 as usize;
                let value = notional(f.price.raw(), f.quantity.raw()).ok_or_else(overflow)?;
                let signed = match f.side {
                    Side::Buy => f.quantity.raw(),
                    Side::Sell => -f.quantity.raw(),
                };
                let flow = if signed > 0 { -value } else { value };
                self.cash = self
                    .cash
                    .checked_add(flow)
                    .and_then(|c| c.checked_sub(f.fee.raw()))
                    .ok_or_else(overflow)?;
                let held = self.positions.get(i).copied().unwrap_or(0);
                self.positions[i] = held.checked_add(signed).ok_or_else(overflow)?;
                self.pending.add(Tally {
                    traded: money(value),
                    slippage: money(f.slippage.raw()),
                    fees: money(f.fee.raw()),
                });
                self.book_trip(
                    i,
                    event.ts,
                    held,
                    signed,
                    f.price.raw(),
                    money(flow),
                    money(f.fee.raw()),
                );
            }
            EventBody::BorrowCharged(b) => {
                self.cash = self.cash.checked_sub(b.amount.raw()).ok_or_else(overflow)?;
                self.pending.add(Tally {
                    fees: money(b.amount.raw()),
                    ..Tally::default()
                });
            }
            EventBody::PortfolioSnapshot(p) => {
                let (mut net, mut gross) = (0i64, 0i64);
                for (qty, mark) in self.positions.iter().zip(&self.marks) {
                    if *qty == 0 {
                        continue;
                    }
                    let value = notional(mark.unwrap_or(0), *qty).ok_or_else(overflow)?;
                    net = net.checked_add(value).ok_or_else(overflow)?;
                    gross = gross.checked_add(value.abs()).ok_or_else(overflow)?;
                }
                let equity = self.cash.checked_add(net).ok_or_else(overflow)?;
                for (field, recorded, recomputed) in [
                    ("cash", p.cash.raw(), self.cash),
                    ("equity", p.equity.raw(), equity),
                    ("gross_exposure", p.gross_exposure.raw(), gross),
                    ("net_exposure", p.net_exposure.raw(), net),
                ] {
                    if recorded != recomputed {
                        return Err(MetricsError::SnapshotMismatch {
                            seq,
                            field,
                            recorded: money_text(recorded),
                            recomputed: money_text(recomputed),
                        });
                    }
                }
                self.snapshots_checked += 1;
                self.close_snapshot(event.ts, equity, gross, net);
            }
            EventBody::RunFinished(_) => self.complete = true,
            _ => {}
        }
        Ok(())
    }

    /// Records a snapshot: the drawdown point, and the day's close (the last snapshot of a
    /// UTC day wins; tallies add up).
    fn close_snapshot(&mut self, ts: Ts, equity: i64, gross: i64, net: i64) {
        let equity_f = money(equity);
        self.equity_points.push((ts, equity_f));
        let tally = std::mem::take(&mut self.pending);
        let day = ts.day();
        match self.days.last_mut() {
            Some(last) if last.day == day => {
                last.equity = equity_f;
                last.gross = money(gross);
                last.net = money(net);
                last.tally.add(tally);
            }
            _ => self.days.push(DayClose {
                day,
                equity: equity_f,
                gross: money(gross),
                net: money(net),
                tally,
            }),
        }
    }

    /// Books a fill into its symbol's round trip: a fill that takes the position through zero
    /// closes the trip with its share of the fill and opens a new one with the rest.
    #[allow(clippy::too_many_arguments)]
    fn book_trip(
        &mut self,
        i: usize,
        ts: Ts,
        held: i64,
        signed: i64,
        price: i64,
        flow: f64,
        fee: f64,
    ) {
        let price = price as f64 / PRICE_SCALE as f64;
        let reduces = held != 0 && (held > 0) != (signed > 0);
        let closing = if reduces {
            signed.unsigned_abs().min(held.unsigned_abs())
        } else {
            0
        };
        let closing_share = closing as f64 / signed.unsigned_abs() as f64;
        if closing > 0 {
            if let Some(trip) = self.trips[i].as_mut() {
                let part = closing as f64 / QTY_SCALE as f64;
                trip.fills += 1;
                trip.exit_qty += part;
                trip.exit_value += part * price;
                trip.pnl += (flow - fee) * closing_share;
            }
            if closing == held.unsigned_abs() {
                if let Some(trip) = self.trips[i].take() {
                    self.closed_trips.push(RoundTrip {
                        symbol: self.symbols.get(i).cloned().unwrap_or_default(),
                        side: if trip.long { "long" } else { "short" },
                        opened: trip.opened,
                        closed: ts,
                        fills: trip.fills,
                        quantity: trip.max_quantity as f64 / QTY_SCALE as f64,
                        entry_price: trip.entry_value / trip.entry_qty.max(f64::MIN_POSITIVE),
                        exit_price: trip.exit_value / trip.exit_qty.max(f64::MIN_POSITIVE),
                        pnl: trip.pnl,
                    });
                }
            }
        }
        let opening = signed.unsigned_abs() - closing;
        if opening == 0 {
            return;
        }
        let part = opening as f64 / QTY_SCALE as f64;
        let share = 1.0 - closing_share;
        let after = held + signed;
        let trip = self.trips[i].get_or_insert(OpenTrip {
            long: signed > 0,
            opened: ts,
            fills: 0,
            max_quantity: 0,
            entry_qty: 0.0,
            entry_value: 0.0,
            exit_qty: 0.0,
            exit_value: 0.0,
            pnl: 0.0,
        });
        trip.fills += 1;
        trip.entry_qty += part;
        trip.entry_value += part * price;
        trip.pnl += (flow - fee) * share;
        trip.max_quantity = trip.max_quantity.max(after.unsigned_abs() as i64);
    }

    fn finish(mut self, fingerprint: String, options: &Options) -> Result<Metrics, MetricsError> {
        let initial_raw = self.initial_cash.ok_or(MetricsError::NoStart)?;
        let initial = money(initial_raw);
        if let Some(last) = self.days.last_mut() {
            last.tally.add(std::mem::take(&mut self.pending));
        }
        let (periods_per_year, source) = match options.periods_per_year {
            Some(p) => (p, "given"),
            None if self.days.iter().any(|d| (d.day + 3).rem_euclid(7) >= 5) => {
                (365.0, "every day")
            }
            None => (252.0, "weekdays"),
        };
        let within = |day: i64| {
            options.from_day.is_none_or(|f| day >= f) && options.to_day.is_none_or(|t| day <= t)
        };
        let before = |day: i64| options.from_day.is_some_and(|f| day < f);
        // The base: the last day close before the window, or the starting cash.
        let (base, base_ts) = self
            .days
            .iter()
            .rev()
            .find(|d| before(d.day))
            .and_then(|d| {
                self.equity_points
                    .iter()
                    .rev()
                    .find(|p| p.0.day() == d.day)
                    .map(|p| (d.equity, p.0))
            })
            .unwrap_or((initial, self.started));
        let mut days = Vec::with_capacity(self.days.len());
        let mut previous = base;
        let mut peak = base;
        for d in self.days.iter().filter(|d| within(d.day)) {
            peak = peak.max(d.equity);
            let of_equity = |x: f64| if d.equity != 0.0 { x / d.equity } else { 0.0 };
            days.push(Day {
                day: d.day,
                equity: d.equity,
                ret: if previous != 0.0 {
                    d.equity / previous - 1.0
                } else {
                    0.0
                },
                drawdown: if peak > 0.0 {
                    (peak - d.equity) / peak
                } else {
                    0.0
                },
                gross: of_equity(d.gross),
                net: of_equity(d.net),
                long: of_equity((d.gross + d.net) / 2.0),
                short: of_equity((d.gross - d.net) / 2.0),
                turnover: if previous != 0.0 {
                    d.tally.traded / previous
                } else {
                    0.0
                },
                traded: d.tally.traded,
                slippage: d.tally.slippage,
                fees: d.tally.fees,
            });
            previous = d.equity;
        }
        let returns: Vec<f64> = days.iter().map(|d| d.ret).collect();
        let stats = return_stats(&returns, periods_per_year, options.risk_free_rate);
        let points: Vec<(Ts, f64)> = self
            .equity_points
            .iter()
            .copied()
            .filter(|p| within(p.0.day()))
            .collect();
        let drawdown = drawdown(base, base_ts, &points);
        self.closed_trips.retain(|t| within(t.closed.day()));
        let calmar = (drawdown.max > 0.0).then(|| stats.cagr / drawdown.max);
        let open_trips = self.trips.iter().filter(|t| t.is_some()).count() as u32;
        Ok(Metrics {
            fingerprint,
            complete: self.complete,
            conventions: Conventions {
                periods_per_year,
                periods_per_year_source: source,
                risk_free_rate: options.risk_free_rate,
            },
            initial_cash: initial,
            start_equity: base,
            final_equity: days.last().map_or(base, |d| d.equity),
            returns: stats,
            calmar,
            drawdown,
            turnover_total: days.iter().map(|d| d.turnover).sum(),
            traded_total: days.iter().map(|d| d.traded).sum(),
            slippage_total: days.iter().map(|d| d.slippage).sum(),
            fees_total: days.iter().map(|d| d.fees).sum(),
            round_trips: self.closed_trips,
            open_trips,
            events: self.counts,
            snapshots_checked: self.snapshots_checked,
            days,
        })
    }
}

/// The figures of a series of simple returns (docs/metrics.md §Returns).
pub fn return_stats(returns: &[f64], periods_per_year: f64, risk_free_rate: f64) -> ReturnStats {
    let n = returns.len();
    if n == 0 {
        return ReturnStats::default();
    }
    let growth: f64 = returns.iter().map(|r| 1.0 + r).product();
    let total_return = growth - 1.0;
    let cagr = if growth > 0.0 {
        libm::pow(growth, periods_per_year / n as f64) - 1.0
    } else {
        -1.0
    };
    let rf = risk_free_rate / periods_per_year;
    let excess: Vec<f64> = returns.iter().map(|r| r - rf).collect();
    let mean = excess.iter().sum::<f64>() / n as f64;
    let annual = periods_per_year.sqrt();
    let std = if n > 1 {
        let m = returns.iter().sum::<f64>() / n as f64;
        (returns.iter().map(|r| (r - m) * (r - m)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let downside = (excess.iter().map(|r| r.min(0.0) * r.min(0.0)).sum::<f64>() / n as f64).sqrt();
    ReturnStats {
        total_return,
        cagr,
        volatility: std * annual,
        sharpe: (std > 0.0).then(|| mean / std * annual),
        sortino: (downside > 0.0).then(|| mean / downside * annual),
    }
}

/// The largest drawdown of an equity path that starts from `initial` at `start`.
pub fn drawdown(initial: f64, start: Ts, points: &[(Ts, f64)]) -> Drawdown {
    let mut best = Drawdown::default();
    let mut peak = (start, initial);
    // The episode of the current largest drawdown is open until equity regains its peak.
    let mut open = false;
    for &(ts, equity) in points {
        if equity >= peak.1 {
            if open && best.recovered.is_none() {
                best.recovered = Some(ts);
                best.days = (ts.day() - best.peak.map_or(ts.day(), Ts::day)).max(0);
            }
            open = false;
            peak = (ts, equity);
            continue;
        }
        let dd = if peak.1 > 0.0 {
            (peak.1 - equity) / peak.1
        } else {
            0.0
        };
        if dd > best.max {
            best = Drawdown {
                max: dd,
                peak: Some(peak.0),
                trough: Some(ts),
                recovered: None,
                days: 0,
            };
            open = true;
        }
    }
    if best.max > 0.0 && best.recovered.is_none() {
        let last = points.last().map_or(start, |p| p.0);
        best.days = (last.day() - best.peak.map_or(last.day(), Ts::day)).max(0);
    }
    best
}

impl Metrics {
    /// The figures as one JSON object (docs/metrics.md §JSON): summary fields, then the daily
    /// paths as columns. Non-finite or undefined figures are `null`.
    pub fn to_json(&self, with_trips: bool) -> serde_json::Value {
        use serde_json::json;
        let num = |x: f64| {
            if x.is_finite() {
                json!(x)
            } else {
                serde_json::Value::Null
            }
        };
        let opt = |x: Option<f64>| x.map_or(serde_json::Value::Null, num);
        let date = |t: Option<Ts>| t.map_or(serde_json::Value::Null, |t| json!(date_text(t.day())));
        let column = |f: &dyn Fn(&Day) -> f64| -> serde_json::Value {
            self.days.iter().map(|d| num(f(d))).collect()
        };
        let mut out = json!({
            "fingerprint": self.fingerprint,
            "complete": self.complete,
            "conventions": {
                "periods_per_year": num(self.conventions.periods_per_year),
                "periods_per_year_source": self.conventions.periods_per_year_source,
                "risk_free_rate": num(self.conventions.risk_free_rate),
                "returns": "simple, daily (UTC), equity at each day's last snapshot",
            },
            "start": self.days.first().map(|d| date_text(d.day)),
            "end": self.days.last().map(|d| date_text(d.day)),
            "days": self.days.len(),
            "initial_cash": num(self.initial_cash),
            "start_equity": num(self.start_equity),
            "final_equity": num(self.final_equity),
            "total_return": num(self.returns.total_return),
            "cagr": num(self.returns.cagr),
            "volatility": num(self.returns.volatility),
            "sharpe": opt(self.returns.sharpe),
            "sortino": opt(self.returns.sortino),
            "calmar": opt(self.calmar),
            "max_drawdown": num(self.drawdown.max),
            "max_drawdown_peak": date(self.drawdown.peak),
            "max_drawdown_trough": date(self.drawdown.trough),
            "max_drawdown_recovered": date(self.drawdown.recovered),
            "max_drawdown_days": self.drawdown.days,
        });
        let trading = json!({
            "turnover_total": num(self.turnover_total),
            "turnover_daily": num(self.daily_mean(|d| d.turnover)),
            "traded_total": num(self.traded_total),
            "slippage_total": num(self.slippage_total),
            "slippage_daily": num(self.daily_mean(|d| d.slippage)),
            "fees_total": num(self.fees_total),
            "exposure_mean": {
                "gross": num(self.daily_mean(|d| d.gross)),
                "net": num(self.daily_mean(|d| d.net)),
                "long": num(self.daily_mean(|d| d.long)),
                "short": num(self.daily_mean(|d| d.short)),
            },
            "trades": self.round_trips.len(),
            "open_trades": self.open_trips,
            "hit_rate": opt(self.hit_rate()),
            "profit_factor": opt(self.profit_factor()),
            "events": self.events,
            "snapshots_checked": self.snapshots_checked,
        });
        let daily = json!({
                "date": self.days.iter().map(|d| date_text(d.day)).collect::<Vec<_>>(),
                "equity": column(&|d| d.equity),
                "return": column(&|d| d.ret),
                "drawdown": column(&|d| d.drawdown),
                "gross": column(&|d| d.gross),
                "net": column(&|d| d.net),
                "long": column(&|d| d.long),
                "short": column(&|d| d.short),
                "turnover": column(&|d| d.turnover),
                "traded": column(&|d| d.traded),
                "slippage": column(&|d| d.slippage),
                "fees": column(&|d| d.fees),
        });
        if let (Some(out), serde_json::Value::Object(trading)) = (out.as_object_mut(), trading) {
            out.extend(trading);
            out.insert("daily".into(), daily);
        }
        if with_trips {
            out["round_trips"] = self
                .round_trips
                .iter()
                .map(|t| {
                    json!({
                        "symbol": t.symbol,
                        "side": t.side,
                        "opened": t.opened.to_string(),
                        "closed": t.closed.to_string(),
                        "fills": t.fills,
                        "quantity": num(t.quantity),
                        "entry_price": num(t.entry_price),
                        "exit_price": num(t.exit_price),
                        "pnl": num(t.pnl),
                    })
                })
                .collect();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = tape_engine::time::NANOS_PER_DAY;

    #[test]
    fn notional_rounds_half_away_from_zero() {
        // 1.5 money steps: 0.000015 → up.
        let den = PRICE_SCALE * QTY_SCALE / MONEY_SCALE;
        assert_eq!(notional(15, den / 10), Some(2));
        assert_eq!(notional(15, -den / 10), Some(-2));
        assert_eq!(notional(14, den / 10), Some(1));
        assert_eq!(notional(PRICE_SCALE, QTY_SCALE), Some(MONEY_SCALE));
    }

    #[test]
    fn money_text_is_exact() {
        assert_eq!(money_text(-1_500_001), "-1.500001");
        assert_eq!(money_text(42), "0.000042");
    }

    /// Expected values from Python's `statistics` module (stdev is the n − 1 estimator).
    #[test]
    fn return_stats_by_an_independent_computation() {
        let r = [0.01, -0.02, 0.03, 0.0, 0.015];
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12 * b.abs().max(1.0);
        let s = return_stats(&r, 252.0, 0.0);
        assert!(close(s.total_return, 0.034786409999999934), "{s:?}");
        assert!(close(s.cagr, 4.603715886536277), "{s:?}");
        assert!(close(s.volatility, 0.2948558970073348), "{s:?}");
        assert!(close(s.sharpe.unwrap_or(0.0), 5.982583417540125), "{s:?}");
        let s = return_stats(&r, 252.0, 0.0252);
        assert!(close(s.sharpe.unwrap_or(0.0), 5.897117940146695), "{s:?}");
        assert!(close(s.sortino.unwrap_or(0.0), 12.185207556861796), "{s:?}");
    }

    #[test]
    fn flat_returns_have_no_ratios() {
        let s = return_stats(&[0.0, 0.0, 0.0], 252.0, 0.0);
        assert_eq!((s.sharpe, s.sortino, s.volatility), (None, None, 0.0));
        assert_eq!(return_stats(&[], 252.0, 0.0), ReturnStats::default());
    }

    #[test]
    fn drawdown_by_hand() {
        // 100 → 120 (peak) → 90 (−25 %) → 110 → 130 (recovered on day 4) → 117 (−10 %).
        let pts: Vec<(Ts, f64)> = [120.0, 90.0, 110.0, 130.0, 117.0]
            .iter()
            .enumerate()
            .map(|(i, &e)| (Ts((i as i64 + 1) * DAY), e))
            .collect();
        let dd = drawdown(100.0, Ts(0), &pts);
        assert!((dd.max - 0.25).abs() < 1e-15, "{dd:?}");
        assert_eq!(dd.peak, Some(Ts(DAY)));
        assert_eq!(dd.trough, Some(Ts(2 * DAY)));
        assert_eq!(dd.recovered, Some(Ts(4 * DAY)));
        assert_eq!(dd.days, 3);
    }

    #[test]
    fn unrecovered_drawdown_runs_to_the_end() {
        let pts = [(Ts(DAY), 80.0), (Ts(5 * DAY), 90.0)];
        let dd = drawdown(100.0, Ts(0), &pts);
        assert!((dd.max - 0.2).abs() < 1e-15);
        assert_eq!(dd.peak, Some(Ts(0)));
        assert_eq!(dd.recovered, None);
        assert_eq!(dd.days, 5);
    }
}
