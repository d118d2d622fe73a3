//! The core: one thread folds inputs into derived events, and encodes every event into
//! ledger frames as it goes.
//!
//! ```text
//! start(ts)            → run_started
//! step(Bar at t)       → bar, then fills of that symbol's working orders at its open
//!                        (the first bar with a later ts closes the open slice first)
//! close_slice()        → strategy decides on the slice: signal → target → order_submitted |
//!                        order_rejected, then portfolio_snapshot (every N slices)
//! finish()             → closes the last slice, cancels working orders, run_finished
//! ```
//!
//! A *slice* is every bar with one `ts`. Its decisions are recorded with that `ts` and are
//! computed from bars with `ts ≤` it only; their orders fill on later bars.
//!
//! # Invariants
//! - Single-threaded and deterministic: same inputs, same frames, byte for byte.
//! - Seqs are dense from 0; `ts` never decreases along the seqs.
//! - An order decided at slice `t` fills on a bar with `ts > t`.
//! - The accounting identity is checked at every slice close.
//! - Steady state allocates nothing per bar: scratch vectors are reused.

use crate::event::{
    Bar, BorrowCharged, BreakerChange, Causes, DataNote, Event, EventBody, Feature, OrderAmended,
    OrderCancelled, OrderFilled, OrderId, OrderRejected, OrderSubmitted, Reason, ReasonValue,
    RunFinished, RunStarted, Seq, Side, Signal, SymbolId, Target, TimeInForce, Trail,
};
use crate::execution::{
    BarWork, Bracket, ComputedFill, CostModel, Expired, Expiry, FillTiming, Link, OrderBook,
    OrderKind, WorkingOrder,
};
use crate::fixed::{FixedError, Money, Price, Quantity};
use crate::ledger::frame::encode_event;
use crate::market::{FeatureTable, MarketView};
use crate::portfolio::{Portfolio, PortfolioError};
use crate::risk::{drawdown_ppm, share, Breaker, RiskLimits};
use crate::rules;
use crate::strategy::{Decision, Decisions, OrderRequest, Strategy};
use crate::time::Ts;

/// Account and cost settings of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreConfig {
    /// Cash at the start.
    pub initial_cash: Money,
    /// Slippage and fees.
    pub costs: CostModel,
    /// A `portfolio_snapshot` is recorded every this many slices (≥ 1). The accounting
    /// identity is checked at every slice whatever this is.
    pub snapshot_every: u32,
    /// When orders fill ([`FillTiming::NextBarOpen`] unless a test asks for the leak).
    pub fill_timing: FillTiming,
    /// Orders of a symbol fill at most this many parts per million of a bar's volume
    /// together (0: no cap).
    pub participation_ppm: u32,
    /// Limit and stop prices must be whole multiples of this (`None`: any price).
    pub tick_size: Option<Price>,
    /// Order quantities must be whole multiples of this (`None`: any quantity).
    pub lot_size: Option<Quantity>,
    /// Pre-trade limits and the circuit breaker (all off by default).
    pub risk: RiskLimits,
    /// Latency in bars: an order skips this many of its symbol's bars before it may fill.
    pub latency_bars: u32,
    /// Latency in time: an order may fill only on a bar that opened at least this long after
    /// the decision.
    pub latency_ns: u64,
}

/// The trading rules of one instrument. Unset fields fall back to the run's
/// ([`CoreConfig::tick_size`], [`CoreConfig::lot_size`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstrumentRules {
    /// Limit and stop prices must be whole multiples of this.
    pub tick_size: Option<Price>,
    /// Quantities must be whole multiples of this.
    pub lot_size: Option<Quantity>,
    /// An order's notional at its expected price must be at least this.
    pub min_notional: Option<Money>,
    /// Whether a sell may take the position (with working orders) below zero.
    pub not_shortable: bool,
}

/// An input the core folds in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Input {
    /// A bar that closed at `ts`.
    Bar {
        /// Close time: when the bar became known.
        ts: Ts,
        /// The bar.
        bar: Bar,
    },
    /// The data guard's note on a bar at `ts`: quarantined (the bar never comes) or a
    /// warning (the bar follows as an ordinary input).
    Data {
        /// The bar's time.
        ts: Ts,
        /// Quarantined rather than warned.
        quarantined: bool,
        /// What was found.
        note: DataNote,
    },
    /// A point-in-time feature value that became available at `ts`.
    Feature {
        /// When it became available.
        ts: Ts,
        /// The value.
        feature: Feature,
    },
}

/// Why the core could not take a step. Bad input returns these; bugs panic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StepError {
    /// An input arrived before `start`.
    #[error("the run has not started")]
    NotStarted,
    /// `start` was called twice, or an input arrived after `finish`.
    #[error("the run has already {0}")]
    WrongPhase(&'static str),
    /// An input is older than one already folded in.
    #[error("input at {ts} arrived after input at {latest}: inputs must come in time order")]
    OutOfOrder { ts: Ts, latest: Ts },
    /// Two bars for one symbol at one time.
    #[error("a second bar for symbol {symbol} at {ts}")]
    DuplicateBar { symbol: u32, ts: Ts },
    /// A feature id outside the run's feature table.
    #[error("feature id {feature} is not in the run's feature table of {count}")]
    UnknownFeature { feature: u32, count: usize },
    /// A symbol id outside the run's symbol table.
    #[error("symbol id {symbol} is not in the run's symbol table of {count}")]
    UnknownSymbol { symbol: u32, count: usize },
    /// A fixed-point value overflowed.
    #[error("fixed-point overflow at {ts}: {source}")]
    Overflow { ts: Ts, source: FixedError },
    /// The accounting identity failed (a bug).
    #[error("at {ts}: {source}")]
    Accounting { ts: Ts, source: PortfolioError },
}

/// Counts and figures of a run so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunStats {
    /// Bars folded in.
    pub bars: u64,
    /// Events recorded.
    pub events: u64,
    /// Orders submitted.
    pub orders: u64,
    /// Fill events.
    pub fills: u64,
    /// Orders rejected.
    pub rejections: u64,
    /// Equity at the last slice close.
    pub equity: Money,
    /// Highest equity at a slice close.
    pub peak_equity: Money,
    /// Largest fall from a peak, as a fraction of the peak.
    pub max_drawdown: f64,
    /// Fees of every fill.
    pub fees: Money,
    /// Slippage of every fill against its expected price (negative: better than expected).
    pub slippage: Money,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    New,
    Running,
    Finished,
}

/// The deterministic core of one run.
pub struct Core {
    salt: u32,
    config_digest: [u8; 32],
    config: CoreConfig,
    strategy: Box<dyn Strategy>,
    phase: Phase,
    next_seq: u64,
    next_order: u64,
    out: Vec<u8>,
    /// The open slice's time, while it has bars not yet decided on.
    open_slice: Option<Ts>,
    /// The latest time folded in (slice or start).
    latest_ts: Ts,
    latest: Vec<Option<Bar>>,
    features: FeatureTable,
    latest_bar_seq: Vec<Seq>,
    in_slice: Vec<bool>,
    updated: Vec<SymbolId>,
    portfolio: Portfolio,
    book: OrderBook,
    decisions: Decisions,
    decision_seqs: Vec<Seq>,
    work: BarWork,
    fill_seqs: Vec<Seq>,
    cancels: Vec<(SymbolId, WorkingOrder)>,
    slices_since_snapshot: u32,
    /// The time of the last closed slice: no bar may arrive at or before it.
    closed_through: Option<Ts>,
    /// Slices closed so far.
    slices: u64,
    /// Brackets whose entry has filled: (entry, take-profit, stop-loss).
    brackets: Vec<(OrderId, OrderId, OrderId)>,
    /// The circuit breaker.
    breaker: Breaker,
    /// Equity at the open slice's decisions (with risk limits only).
    decision_equity: Money,
    /// Per symbol: its trading rules.
    instruments: Vec<InstrumentRules>,
    /// A margin account's maintenance requirement, in ppm of gross exposure.
    maintenance_ppm: Option<u32>,
    /// The annual borrow fee on short positions, in ppm of their value.
    borrow_ppm: Option<u32>,
    /// A margin account's initial requirement, in ppm of gross exposure.
    initial_ppm: Option<u32>,
    /// The UTC day borrow fees were last charged up to.
    borrow_day: Option<i64>,
    stats: RunStats,
}

impl Core {
    /// A core for `symbols` symbols. `salt` and `config_digest` come from the ledger header.
    pub fn new(
        salt: u32,
        config_digest: [u8; 32],
        config: CoreConfig,
        symbols: usize,
        strategy: Box<dyn Strategy>,
    ) -> Self {
        Self {
            salt,
            config_digest,
            config,
            strategy,
            phase: Phase::New,
            next_seq: 0,
            next_order: 0,
            out: Vec::with_capacity(crate::ledger::HANDOFF_BYTES + (1 << 16)),
            open_slice: None,
            latest_ts: Ts(i64::MIN),
            latest: vec![None; symbols],
            features: FeatureTable::new(Vec::new(), symbols),
            latest_bar_seq: vec![Seq(0); symbols],
            in_slice: vec![false; symbols],
            updated: Vec::with_capacity(symbols),
            portfolio: Portfolio::new(config.initial_cash, symbols),
            book: OrderBook::new(config.costs, symbols)
                .with_participation_ppm(config.participation_ppm)
                .with_tick(config.tick_size),
            decisions: Decisions::default(),
            decision_seqs: Vec::new(),
            work: BarWork::default(),
            fill_seqs: Vec::new(),
            cancels: Vec::new(),
            slices_since_snapshot: 0,
            closed_through: None,
            slices: 0,
            brackets: Vec::new(),
            breaker: Breaker::default(),
            decision_equity: config.initial_cash,
            instruments: vec![
                InstrumentRules {
                    tick_size: config.tick_size,
                    lot_size: config.lot_size,
                    ..InstrumentRules::default()
                };
                symbols
            ],
            maintenance_ppm: None,
            borrow_ppm: None,
            initial_ppm: None,
            borrow_day: None,
            stats: RunStats {
                equity: config.initial_cash,
                peak_equity: config.initial_cash,
                ..RunStats::default()
            },
        }
    }

    /// The same core with the header's feature table (names in `FeatureId` order).
    pub fn with_features(mut self, names: Vec<String>) -> Self {
        self.features = FeatureTable::new(names, self.latest.len());
        self
    }

    /// The same core as a margin account: when equity at a slice close is below
    /// `maintenance_ppm` of the gross exposure, positions are closed at market, largest
    /// first, until what is left would meet the requirement.
    pub fn with_maintenance_margin(mut self, maintenance_ppm: u32) -> Self {
        self.maintenance_ppm = (maintenance_ppm > 0).then_some(maintenance_ppm);
        self
    }

    /// The same core as a margin account that lends against equity: an order taking
    /// exposure further from zero needs `initial_ppm` of the gross exposure after it to be
    /// covered by equity, instead of a buy needing the cash (so leverage up to 1/initial).
    pub fn with_initial_margin(mut self, initial_ppm: u32) -> Self {
        self.initial_ppm = (initial_ppm > 0).then_some(initial_ppm);
        self
    }

    /// The same core charging short positions an annual borrow fee of `rate_ppm` of their
    /// value, at the first slice of each new UTC day for the days since the last charge.
    pub fn with_borrow_fee(mut self, rate_ppm: u32) -> Self {
        self.borrow_ppm = (rate_ppm > 0).then_some(rate_ppm);
        self
    }

    /// The same core with these rules for `symbol` (unset fields keep the run's).
    pub fn with_instrument(mut self, symbol: SymbolId, rules: InstrumentRules) -> Self {
        if let Some(slot) = self.instruments.get_mut(symbol.0 as usize) {
            *slot = InstrumentRules {
                tick_size: rules.tick_size.or(self.config.tick_size),
                lot_size: rules.lot_size.or(self.config.lot_size),
                ..rules
            };
        }
        self
    }

    /// Encoded frames not yet taken by the caller. Swap in an empty buffer to take them.
    pub fn output(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Counts and figures so far.
    pub fn stats(&self) -> RunStats {
        RunStats {
            events: self.next_seq,
            ..self.stats
        }
    }

    /// The strategy's state for one symbol (for inspection tools).
    pub fn inspect_strategy(&self, symbol: SymbolId) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        self.strategy.inspect(symbol, &mut out);
        out
    }

    /// The portfolio (for inspection tools).
    pub fn portfolio(&self) -> &Portfolio {
        &self.portfolio
    }

    /// Records `run_started` at `ts`, the run's start time.
    pub fn start(&mut self, ts: Ts) -> Result<(), StepError> {
        if self.phase != Phase::New {
            return Err(StepError::WrongPhase("started"));
        }
        self.phase = Phase::Running;
        self.latest_ts = ts;
        let body = EventBody::RunStarted(RunStarted {
            config_digest: self.config_digest,
            initial_cash: self.config.initial_cash,
            symbols: self.latest.len() as u32,
        });
        self.emit(ts, Causes::NONE, body);
        Ok(())
    }

    /// Folds in one input.
    pub fn step(&mut self, input: Input) -> Result<(), StepError> {
        match self.phase {
            Phase::New => return Err(StepError::NotStarted),
            Phase::Finished => return Err(StepError::WrongPhase("finished")),
            Phase::Running => {}
        }
        match input {
            Input::Bar { ts, bar } => self.on_bar(ts, bar),
            Input::Data {
                ts,
                quarantined,
                note,
            } => self.on_data(ts, quarantined, note),
            Input::Feature { ts, feature } => self.on_feature(ts, feature),
        }
    }

    /// Checks an input's symbol and time, closing the open slice first when the input is
    /// later: inputs come in time order, and none may land in a slice already decided on.
    fn admit(&mut self, ts: Ts, symbol: SymbolId) -> Result<(), StepError> {
        if symbol.0 as usize >= self.latest.len() {
            return Err(StepError::UnknownSymbol {
                symbol: symbol.0,
                count: self.latest.len(),
            });
        }
        match self.open_slice {
            Some(open) if ts > open => self.close_slice()?,
            Some(open) if ts < open => return Err(StepError::OutOfOrder { ts, latest: open }),
            Some(_) => {}
            None if ts < self.latest_ts || self.closed_through.is_some_and(|c| ts <= c) => {
                return Err(StepError::OutOfOrder {
                    ts,
                    latest: self.latest_ts,
                })
            }
            None => {}
        }
        Ok(())
    }

    /// Records a data-guard note. It opens no slice (a quarantined bar never arrives), but a
    /// later time closes the open one first, as a bar would.
    fn on_data(&mut self, ts: Ts, quarantined: bool, note: DataNote) -> Result<(), StepError> {
        self.admit(ts, note.symbol)?;
        self.latest_ts = ts;
        let body = if quarantined {
            EventBody::DataQuarantined(note)
        } else {
            EventBody::DataWarning(note)
        };
        self.emit(ts, Causes::NONE, body);
        Ok(())
    }

    /// Records a feature value and makes it visible to the strategy from this slice on. Like
    /// a data note it opens no slice; a later time closes the open one first.
    fn on_feature(&mut self, ts: Ts, feature: Feature) -> Result<(), StepError> {
        self.admit(ts, feature.symbol)?;
        if !self.features.knows(feature.feature, feature.symbol) {
            return Err(StepError::UnknownFeature {
                feature: feature.feature.0,
                count: self.features.names().len(),
            });
        }
        self.latest_ts = ts;
        let seq = self.emit(ts, Causes::NONE, EventBody::Feature(feature));
        self.features.apply(ts, seq, &feature);
        Ok(())
    }

    fn on_bar(&mut self, ts: Ts, bar: Bar) -> Result<(), StepError> {
        let index = bar.symbol.0 as usize;
        self.admit(ts, bar.symbol)?;
        if self.in_slice[index] {
            return Err(StepError::DuplicateBar {
                symbol: bar.symbol.0,
                ts,
            });
        }
        self.open_slice = Some(ts);
        self.latest_ts = ts;
        self.in_slice[index] = true;
        self.updated.push(bar.symbol);
        self.stats.bars += 1;
        let bar_seq = self.emit(ts, Causes::NONE, EventBody::Bar(bar));
        self.latest_bar_seq[index] = bar_seq;
        self.latest[index] = Some(bar);
        // Most bars find no working order: the book only notes when the bar closed.
        if self.book.working(bar.symbol).is_empty() {
            self.book.note_close(bar.symbol, ts);
            self.portfolio.mark(bar.symbol, bar.close);
            return Ok(());
        }

        let overflow = |source| StepError::Overflow { ts, source };
        let mut work = std::mem::take(&mut self.work);
        work.clear();
        self.book
            .fill_on_bar(ts, &bar, &mut work)
            .map_err(overflow)?;
        // Day orders dropped by this bar's new day leave before its fills; then the fills
        // (and what they do to linked orders), trailing stops moved after the bar, and ioc
        // remainders, as the book worked them.
        for e in work.expired.iter().filter(|e| e.why == Expiry::DayEnded) {
            self.record_expiry(ts, bar_seq, e);
        }
        // Every fill of the bar first, then what each does to its linked orders, so a fill's
        // `remaining` is never overtaken by a link's change recorded before it.
        let mut fill_seqs = std::mem::take(&mut self.fill_seqs);
        fill_seqs.clear();
        for f in &work.fills {
            fill_seqs.push(self.record_fill(ts, bar.symbol, bar_seq, f)?);
        }
        for (f, &fill_seq) in work.fills.iter().zip(&fill_seqs) {
            self.follow_links(ts, bar.symbol, fill_seq, f)?;
        }
        self.fill_seqs = fill_seqs;
        for m in &work.moved {
            let reason = Reason::new(
                rules::TRAILING_STOP_MOVED.id,
                &[
                    ReasonValue::Price(m.from),
                    ReasonValue::Price(m.working.kind.stop().unwrap_or(m.from)),
                    ReasonValue::Price(m.extreme),
                ],
            );
            self.record_amend(
                ts,
                Causes::from_slice(&[m.working.submitted, bar_seq]),
                m.symbol,
                &m.working,
                reason,
            );
        }
        // Then ioc remainders and gfn orders that worked their bars.
        for e in work.expired.iter().filter(|e| e.why != Expiry::DayEnded) {
            self.record_expiry(ts, bar_seq, e);
        }
        self.work = work;
        self.portfolio.mark(bar.symbol, bar.close);
        Ok(())
    }

    /// Decides on the open slice, if any: the strategy's signals and targets, the orders
    /// they lead to, then the portfolio snapshot (every `snapshot_every` slices).
    pub fn close_slice(&mut self) -> Result<(), StepError> {
        let Some(ts) = self.open_slice.take() else {
            return Ok(());
        };
        self.closed_through = Some(ts);
        self.updated.sort_unstable();
        if let Some(rate) = self.borrow_ppm {
            self.charge_borrow(ts, rate)?;
        }
        if self.config.risk.active() {
            let limits = self.config.risk;
            if let Some(reason) = self.breaker.maybe_reset(&limits, self.slices, ts) {
                let body = EventBody::CircuitBreakerReset(BreakerChange { reason });
                self.emit(ts, Causes::NONE, body);
            }
            self.decision_equity = self
                .portfolio
                .snapshot()
                .map_err(|source| StepError::Accounting { ts, source })?
                .equity;
        }
        let mut decisions = std::mem::take(&mut self.decisions);
        decisions.clear();
        let view = MarketView::new(ts, &self.latest, &self.updated, self.portfolio.quantities())
            .with_features(&self.features)
            .with_orders(&self.book)
            .with_cash(self.portfolio.cash());
        self.strategy.on_slice(&view, &mut decisions);
        self.decision_seqs.clear();
        let result = self.record_decisions(ts, &decisions);
        self.decisions = decisions;
        result?;
        if self.config.fill_timing == FillTiming::SameBarClose {
            self.fill_at_decision_close(ts)?;
        }

        let snapshot = self
            .portfolio
            .snapshot()
            .map_err(|source| StepError::Accounting { ts, source })?;
        self.stats.equity = snapshot.equity;
        if snapshot.equity > self.stats.peak_equity {
            self.stats.peak_equity = snapshot.equity;
        }
        let peak = self.stats.peak_equity.raw();
        if peak > 0 {
            let drawdown = (peak - snapshot.equity.raw()) as f64 / peak as f64;
            if drawdown > self.stats.max_drawdown {
                self.stats.max_drawdown = drawdown;
            }
        }
        self.slices_since_snapshot += 1;
        if self.slices_since_snapshot >= self.config.snapshot_every.max(1) {
            self.slices_since_snapshot = 0;
            self.emit(ts, Causes::NONE, EventBody::PortfolioSnapshot(snapshot));
        }
        if self.config.risk.has_breaker() {
            let limits = self.config.risk;
            let tripped = self
                .breaker
                .check(&limits, self.slices, ts, snapshot.equity);
            if let Some((reason, cause)) = tripped {
                let causes = cause.map_or(Causes::NONE, Causes::one);
                let body = EventBody::CircuitBreakerTripped(BreakerChange { reason });
                self.emit(ts, causes, body);
            }
        }
        if let Some(ppm) = self.maintenance_ppm {
            self.margin_call(ts, ppm, snapshot.equity)?;
        }
        self.slices += 1;
        for s in self.updated.drain(..) {
            self.in_slice[s.0 as usize] = false;
        }
        Ok(())
    }

    /// The labelled look-ahead mode: fills this slice's new orders at the close they were
    /// decided on, recorded at the slice's own time.
    fn fill_at_decision_close(&mut self, ts: Ts) -> Result<(), StepError> {
        let overflow = |source| StepError::Overflow { ts, source };
        let mut work = std::mem::take(&mut self.work);
        for i in 0..self.updated.len() {
            let symbol = self.updated[i];
            let Some(bar) = self.latest[symbol.0 as usize] else {
                continue;
            };
            work.clear();
            self.book
                .fill_at(&bar, bar.close, &mut work.fills)
                .map_err(overflow)?;
            let bar_seq = self.latest_bar_seq[symbol.0 as usize];
            for f in &work.fills {
                self.record_fill(ts, symbol, bar_seq, f)?;
            }
        }
        self.work = work;
        Ok(())
    }

    /// Books a computed fill and records its event.
    /// Records a change to a working order.
    fn record_amend(
        &mut self,
        ts: Ts,
        causes: Option<Causes>,
        symbol: SymbolId,
        w: &WorkingOrder,
        reason: Reason,
    ) {
        let body = EventBody::OrderAmended(OrderAmended {
            order: w.order,
            symbol,
            remaining: w.remaining,
            limit_price: w.kind.limit(),
            stop_price: w.kind.stop(),
            reason,
        });
        self.emit(ts, causes.unwrap_or(Causes::NONE), body);
    }

    /// What a fill does to the orders linked to its own: a bracket entry's fill places its
    /// exits (or grows them); an exit's fill comes off the other exit, cancelling it when
    /// nothing is left.
    fn follow_links(
        &mut self,
        ts: Ts,
        symbol: SymbolId,
        fill_seq: Seq,
        f: &ComputedFill,
    ) -> Result<(), StepError> {
        let overflow = |source| StepError::Overflow { ts, source };
        let w = f.working;
        match w.link {
            None => Ok(()),
            Some(Link::BracketEntry(Bracket {
                take_profit,
                stop_loss,
                trail,
            })) => {
                let exits = self
                    .brackets
                    .iter()
                    .find(|b| b.0 == w.order)
                    .map(|b| (b.1, b.2));
                match exits {
                    Some((tp, sl)) => {
                        for exit in [tp, sl] {
                            let Some(current) = self
                                .book
                                .working(symbol)
                                .iter()
                                .find(|x| x.order == exit)
                                .copied()
                            else {
                                continue;
                            };
                            let grown = current
                                .remaining
                                .checked_add(f.quantity)
                                .map_err(overflow)?;
                            if let Some(x) = self.book.resize(symbol, exit, grown) {
                                let reason = Reason::new(
                                    rules::BRACKET_GREW.id,
                                    &[
                                        ReasonValue::Int(w.order.0 as i64),
                                        ReasonValue::Quantity(f.quantity),
                                    ],
                                );
                                self.record_amend(
                                    ts,
                                    Some(Causes::one(fill_seq)),
                                    symbol,
                                    &x,
                                    reason,
                                );
                            }
                        }
                        Ok(())
                    }
                    None => {
                        let side = match w.side {
                            Side::Buy => Side::Sell,
                            Side::Sell => Side::Buy,
                        };
                        let tp = OrderId(self.next_order);
                        let sl = OrderId(self.next_order + 1);
                        self.brackets.push((w.order, tp, sl));
                        let stop_kind = match trail {
                            Some(trail) => OrderKind::TrailingStop {
                                trail,
                                stop: stop_loss,
                            },
                            None => OrderKind::Stop { stop: stop_loss },
                        };
                        for (id, kind, sibling, price) in [
                            (tp, OrderKind::Limit { limit: take_profit }, sl, take_profit),
                            (sl, stop_kind, tp, stop_loss),
                        ] {
                            self.next_order += 1;
                            let reason = Reason::new(
                                rules::BRACKET_EXIT.id,
                                &[
                                    ReasonValue::Int(w.order.0 as i64),
                                    ReasonValue::Price(price),
                                ],
                            );
                            let mut exit = WorkingOrder::new(
                                id,
                                Seq(0),
                                side,
                                f.quantity,
                                kind,
                                TimeInForce::Gtc,
                                kind.expected_price(price),
                            );
                            exit.link = Some(Link::OneCancelsOther {
                                sibling,
                                entry: w.order,
                            });
                            self.submit(ts, Causes::one(fill_seq), symbol, exit, reason)?;
                        }
                        Ok(())
                    }
                }
            }
            Some(Link::OneCancelsOther { sibling, .. }) => {
                let Some(other) = self
                    .book
                    .working(symbol)
                    .iter()
                    .find(|x| x.order == sibling)
                    .copied()
                else {
                    return Ok(());
                };
                let left = other.remaining.checked_sub(f.quantity).map_err(overflow)?;
                if left.raw() > 0 {
                    if let Some(x) = self.book.resize(symbol, sibling, left) {
                        let reason = Reason::new(
                            rules::OCO_REDUCED.id,
                            &[
                                ReasonValue::Int(w.order.0 as i64),
                                ReasonValue::Quantity(f.quantity),
                            ],
                        );
                        self.record_amend(ts, Some(Causes::one(fill_seq)), symbol, &x, reason);
                    }
                } else if let Some(x) = self.book.cancel(symbol, sibling).map_err(overflow)? {
                    let reason =
                        Reason::new(rules::OCO_FILLED.id, &[ReasonValue::Int(w.order.0 as i64)]);
                    let body = EventBody::OrderCancelled(OrderCancelled {
                        order: x.order,
                        symbol,
                        remaining: x.remaining,
                        reason,
                    });
                    self.emit(ts, Causes::one(fill_seq), body);
                }
                Ok(())
            }
        }
    }

    /// Records an order the book dropped by its time in force.
    fn record_expiry(&mut self, ts: Ts, bar_seq: Seq, e: &Expired) {
        let rule = match e.why {
            Expiry::IocRemainder => rules::IOC_REMAINDER.id,
            Expiry::DayEnded => rules::DAY_ENDED.id,
            Expiry::BarsElapsed => rules::BARS_ELAPSED.id,
        };
        let reason = Reason::new(rule, &[ReasonValue::Quantity(e.working.remaining)]);
        let body = EventBody::OrderCancelled(OrderCancelled {
            order: e.working.order,
            symbol: e.symbol,
            remaining: e.working.remaining,
            reason,
        });
        let causes = Causes::from_slice(&[e.working.submitted, bar_seq]).expect("two causes fit");
        self.emit(ts, causes, body);
    }

    fn record_fill(
        &mut self,
        ts: Ts,
        symbol: SymbolId,
        bar_seq: Seq,
        f: &ComputedFill,
    ) -> Result<Seq, StepError> {
        let overflow = |source| StepError::Overflow { ts, source };
        let w = f.working;
        let held = self.portfolio.position(symbol).quantity;
        let realised = self.portfolio.realised();
        self.portfolio
            .apply_fill(symbol, w.side, f.quantity, f.price, f.fee)
            .map_err(overflow)?;
        let exit = match w.side {
            Side::Buy => held.raw() < 0,
            Side::Sell => held.raw() > 0,
        };
        // The book hands the order as it is after the fill.
        let remaining = w.remaining;
        let body = EventBody::OrderFilled(OrderFilled {
            order: w.order,
            symbol,
            side: w.side,
            quantity: f.quantity,
            price: f.price,
            expected_price: w.expected_price,
            fee: f.fee,
            slippage: f.slippage,
            remaining,
        });
        let causes = Causes::from_slice(&[w.submitted, bar_seq]).expect("two causes fit");
        let seq = self.emit(ts, causes, body);
        self.stats.fills += 1;
        self.stats.fees = self.stats.fees.checked_add(f.fee).map_err(overflow)?;
        self.stats.slippage = self
            .stats
            .slippage
            .checked_add(f.slippage)
            .map_err(overflow)?;
        if exit && self.config.risk.has_breaker() {
            let net = self
                .portfolio
                .realised()
                .checked_sub(realised)
                .and_then(|r| r.checked_sub(f.fee))
                .map_err(overflow)?;
            self.breaker.on_exit(net, seq);
        }
        Ok(seq)
    }

    fn record_decisions(&mut self, ts: Ts, decisions: &Decisions) -> Result<(), StepError> {
        for decision in decisions.items() {
            match *decision {
                Decision::Signal {
                    symbol,
                    direction,
                    strength,
                    reason,
                    feature,
                } => {
                    let mut cause = self.bar_cause(symbol)?;
                    if let Some(seq) = feature.and_then(|f| self.features.seq(f, symbol)) {
                        cause
                            .push(seq)
                            .expect("a bar cause and a feature cause fit in MAX_CAUSES");
                    }
                    let seq = self.emit(
                        ts,
                        cause,
                        EventBody::Signal(Signal {
                            symbol,
                            direction,
                            strength,
                            reason,
                        }),
                    );
                    self.decision_seqs.push(seq);
                }
                Decision::Target {
                    symbol,
                    position,
                    reason,
                    because,
                    routed,
                } => {
                    let cause = match because {
                        Some(signal) => Causes::one(self.decision_seqs[Decisions::index(signal)]),
                        None => self.bar_cause(symbol)?,
                    };
                    let seq = self.emit(
                        ts,
                        cause,
                        EventBody::Target(Target {
                            symbol,
                            position,
                            reason,
                        }),
                    );
                    self.decision_seqs.push(seq);
                    if routed {
                        self.route_target(ts, seq, symbol, position)?;
                    }
                }
                Decision::Order {
                    request,
                    reason,
                    because,
                    bracket,
                } => {
                    let cause = match because {
                        Some(signal) => Causes::one(self.decision_seqs[Decisions::index(signal)]),
                        None => self.bar_cause(request.symbol)?,
                    };
                    // Keeps `decision_seqs` aligned with the decisions' indices.
                    let seq = self.place(ts, cause, request, reason, bracket, decisions.cycle())?;
                    self.decision_seqs.push(seq);
                }
                Decision::Amend {
                    symbol,
                    order,
                    remaining,
                    limit,
                    stop,
                    reason,
                } => {
                    self.admit_symbol(symbol)?;
                    let seq = self.amend(ts, symbol, order, remaining, limit, stop, reason)?;
                    self.decision_seqs.push(seq.unwrap_or(Seq(self.next_seq)));
                }
                Decision::Cancel {
                    symbol,
                    order,
                    reason,
                } => {
                    self.admit_symbol(symbol)?;
                    let first = self.cancel_order(ts, symbol, order, reason)?;
                    self.decision_seqs.push(first.unwrap_or(Seq(self.next_seq)));
                }
                Decision::CancelBeforeCycle { cycle, reason } => {
                    let mut stale = Vec::new();
                    for s in 0..self.latest.len() {
                        let symbol = SymbolId(s as u32);
                        stale.extend(
                            self.book
                                .working(symbol)
                                .iter()
                                .filter(|w| w.cycle.is_some_and(|c| c < cycle))
                                .map(|w| (symbol, w.order)),
                        );
                    }
                    let mut first = None;
                    for (symbol, order) in stale {
                        let seq = self.cancel_order(ts, symbol, order, reason)?;
                        first = first.or(seq);
                    }
                    self.decision_seqs.push(first.unwrap_or(Seq(self.next_seq)));
                }
            }
        }
        Ok(())
    }

    /// Cancels a working order (and a bracket exit's sibling with it: the exits go together);
    /// returns the seq of the first `order_cancelled`, or `None` if it was not working.
    fn cancel_order(
        &mut self,
        ts: Ts,
        symbol: SymbolId,
        order: OrderId,
        reason: Reason,
    ) -> Result<Option<Seq>, StepError> {
        let mut next = Some(order);
        let mut first = None;
        while let Some(id) = next.take() {
            let gone = self
                .book
                .cancel(symbol, id)
                .map_err(|source| StepError::Overflow { ts, source })?;
            let Some(w) = gone else { break };
            let seq = self.emit(
                ts,
                Causes::one(w.submitted),
                EventBody::OrderCancelled(OrderCancelled {
                    order: w.order,
                    symbol,
                    remaining: w.remaining,
                    reason,
                }),
            );
            first.get_or_insert(seq);
            if let Some(Link::OneCancelsOther { sibling, .. }) = w.link {
                next = Some(sibling);
            }
        }
        Ok(first)
    }

    /// A strategy's amend: checked against the instrument's grids and the order's kind, then
    /// recorded as `order_amended` (or `order_rejected`, leaving the order as it was).
    #[allow(clippy::too_many_arguments)]
    fn amend(
        &mut self,
        ts: Ts,
        symbol: SymbolId,
        order: OrderId,
        remaining: Option<Quantity>,
        limit: Option<Price>,
        stop: Option<Price>,
        reason: Reason,
    ) -> Result<Option<Seq>, StepError> {
        let Some(current) = self
            .book
            .working(symbol)
            .iter()
            .find(|w| w.order == order)
            .copied()
        else {
            return Ok(None);
        };
        let cause = Causes::one(current.submitted);
        let instrument = self.instruments[symbol.0 as usize];
        let quantity = remaining.unwrap_or(current.remaining);
        let off_tick = instrument.tick_size.and_then(|tick| {
            [limit, stop]
                .into_iter()
                .flatten()
                .find(|p| p.raw() % tick.raw() != 0)
                .map(|p| (p, tick))
        });
        let off_lot = instrument
            .lot_size
            .filter(|lot| lot.raw() > 0 && remaining.is_some_and(|q| q.raw() % lot.raw() != 0));
        let refusal = if let Some((price, tick)) = off_tick {
            Reason::new(
                rules::OFF_TICK_GRID.id,
                &[ReasonValue::Price(price), ReasonValue::Price(tick)],
            )
        } else if let Some(lot) = off_lot {
            Reason::new(
                rules::OFF_LOT_GRID.id,
                &[ReasonValue::Quantity(quantity), ReasonValue::Quantity(lot)],
            )
        } else {
            let applied = self
                .book
                .amend(symbol, order, remaining, limit, stop)
                .map_err(|source| StepError::Overflow { ts, source })?;
            match applied {
                Ok(Some(w)) => {
                    self.record_amend(ts, Some(cause), symbol, &w, reason);
                    return Ok(Some(Seq(self.next_seq - 1)));
                }
                Ok(None) => return Ok(None),
                Err(_) => Reason::new(rules::INVALID_AMEND.id, &[ReasonValue::Quantity(quantity)]),
            }
        };
        self.reject(ts, cause, order, symbol, current.side, quantity, refusal);
        Ok(Some(Seq(self.next_seq - 1)))
    }

    fn admit_symbol(&self, symbol: SymbolId) -> Result<(), StepError> {
        if symbol.0 as usize >= self.latest.len() {
            return Err(StepError::UnknownSymbol {
                symbol: symbol.0,
                count: self.latest.len(),
            });
        }
        Ok(())
    }

    /// Records `order_submitted` for `w` (its kind's prices and trail, its time in force, its
    /// quantity) and puts it to work; returns the event's seq.
    fn submit(
        &mut self,
        ts: Ts,
        cause: Causes,
        symbol: SymbolId,
        mut w: WorkingOrder,
        reason: Reason,
    ) -> Result<Seq, StepError> {
        let body = EventBody::OrderSubmitted(OrderSubmitted {
            order: w.order,
            symbol,
            side: w.side,
            order_type: w.kind.order_type(),
            time_in_force: w.time_in_force,
            quantity: w.remaining,
            limit_price: w.kind.limit(),
            stop_price: w.kind.stop(),
            trail: w.kind.trail(),
            cycle: w.cycle,
            reason,
        });
        w.submitted = self.emit(ts, cause, body);
        self.stats.orders += 1;
        self.book
            .add(symbol, w)
            .map_err(|source| StepError::Overflow { ts, source })?;
        Ok(w.submitted)
    }

    /// Gives an order decided at `ts` the run's latency.
    fn with_latency(&self, ts: Ts, w: &mut WorkingOrder) {
        w.wait_bars = self.config.latency_bars;
        w.arrives = (self.config.latency_ns > 0)
            .then(|| Ts(ts.0.saturating_add_unsigned(self.config.latency_ns)));
    }

    /// At the first slice of a new UTC day: charges every short position its borrow fee for
    /// the days since the last charge, at its latest close (`borrow_charged`, one per
    /// position). The first slice of the run only starts the count.
    fn charge_borrow(&mut self, ts: Ts, rate_ppm: u32) -> Result<(), StepError> {
        let today = ts.day();
        let Some(last) = self.borrow_day.replace(today) else {
            return Ok(());
        };
        let days = today - last;
        if days <= 0 {
            self.borrow_day = Some(last);
            return Ok(());
        }
        let overflow = |source| StepError::Overflow { ts, source };
        for s in 0..self.latest.len() {
            let held = self.portfolio.quantities()[s];
            let Some(bar) = self.latest[s] else { continue };
            if held.raw() >= 0 {
                continue;
            }
            let value = bar
                .close
                .notional(held.abs().map_err(overflow)?)
                .map_err(overflow)?;
            // value × rate × days / 365, rounded up: a fee is never rounded in the payer's favour.
            let exact = value.raw() as i128 * i128::from(rate_ppm) * i128::from(days);
            let den = 1_000_000i128 * 365;
            let raw = exact / den + i128::from(exact % den != 0);
            let amount = Money::from_raw(i64::try_from(raw).map_err(|_| StepError::Overflow {
                ts,
                source: FixedError::Overflow { op: "borrow fee" },
            })?);
            self.portfolio.charge(amount).map_err(overflow)?;
            let reason = Reason::new(
                rules::BORROW_FEE.id,
                &[
                    ReasonValue::Money(value),
                    ReasonValue::Real(f64::from(rate_ppm) / 1e6),
                    ReasonValue::Int(days),
                ],
            );
            let body = EventBody::BorrowCharged(BorrowCharged {
                symbol: SymbolId(s as u32),
                amount,
                reason,
            });
            self.emit(ts, Causes::NONE, body);
        }
        Ok(())
    }

    /// A margin call: if `equity` is below the maintenance requirement on the gross exposure
    /// (positions at their latest closes), closes positions at market, largest first, each an
    /// `order_submitted` by `margin_call`, until the rest would meet the requirement. A
    /// position already being closed by working orders is left to them.
    fn margin_call(&mut self, ts: Ts, ppm: u32, equity: Money) -> Result<(), StepError> {
        let overflow = |source| StepError::Overflow { ts, source };
        let mut open: Vec<(Money, SymbolId, Quantity, Price)> = Vec::new();
        let mut gross = Money::ZERO;
        for s in 0..self.latest.len() {
            let (Some(bar), held) = (self.latest[s], self.portfolio.quantities()[s]) else {
                continue;
            };
            if held.is_zero() {
                continue;
            }
            let value = bar
                .close
                .notional(held.abs().map_err(overflow)?)
                .map_err(overflow)?;
            gross = gross.checked_add(value).map_err(overflow)?;
            let pending = self.book.pending(SymbolId(s as u32)).map_err(overflow)?;
            if !held.checked_add(pending).map_err(overflow)?.is_zero() {
                open.push((value, SymbolId(s as u32), held, bar.close));
            }
        }
        let mut requirement = share(gross, ppm);
        if equity >= requirement {
            return Ok(());
        }
        // Largest first; ties by symbol id, so the order never depends on anything else.
        open.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (value, symbol, held, close) in open {
            if equity >= requirement {
                break;
            }
            let reason = Reason::new(
                rules::MARGIN_CALL.id,
                &[
                    ReasonValue::Money(equity),
                    ReasonValue::Money(requirement),
                    ReasonValue::Money(gross),
                ],
            );
            let side = if held.raw() > 0 {
                Side::Sell
            } else {
                Side::Buy
            };
            let quantity = held.abs().map_err(overflow)?;
            let order = OrderId(self.next_order);
            self.next_order += 1;
            let close_out = WorkingOrder::new(
                order,
                Seq(0),
                side,
                quantity,
                OrderKind::Market,
                TimeInForce::Gtc,
                close,
            );
            self.submit(ts, Causes::NONE, symbol, close_out, reason)?;
            gross = gross.checked_sub(value).map_err(overflow)?;
            requirement = share(gross, ppm);
        }
        Ok(())
    }

    /// The instrument rule (lot grid, minimum notional, no shorting) that refuses an order, if
    /// one does; it applies to targets' orders and strategies' alike.
    fn instrument_refusal(
        &self,
        ts: Ts,
        symbol: SymbolId,
        side: Side,
        quantity: Quantity,
        price: Price,
    ) -> Result<Option<Reason>, StepError> {
        let overflow = |source| StepError::Overflow { ts, source };
        let instrument = self.instruments[symbol.0 as usize];
        if let Some(lot) = instrument.lot_size {
            if lot.raw() > 0 && quantity.raw() % lot.raw() != 0 {
                let values = [ReasonValue::Quantity(quantity), ReasonValue::Quantity(lot)];
                return Ok(Some(Reason::new(rules::OFF_LOT_GRID.id, &values)));
            }
        }
        if let Some(min) = instrument.min_notional {
            let notional = price.notional(quantity).map_err(overflow)?;
            if notional < min {
                let values = [ReasonValue::Money(notional), ReasonValue::Money(min)];
                return Ok(Some(Reason::new(rules::MIN_NOTIONAL.id, &values)));
            }
        }
        if instrument.not_shortable && side == Side::Sell {
            let held = self.portfolio.quantities()[symbol.0 as usize];
            let pending = self.book.pending(symbol).map_err(overflow)?;
            let after = held
                .checked_add(pending)
                .and_then(|q| q.checked_sub(quantity))
                .map_err(overflow)?;
            if after.raw() < 0 {
                let values = [ReasonValue::Quantity(after)];
                return Ok(Some(Reason::new(rules::NOT_SHORTABLE.id, &values)));
            }
        }
        Ok(None)
    }

    /// The risk rule that refuses an order, if it is an entry and one does (see
    /// [`crate::risk`]).
    #[allow(clippy::too_many_arguments)]
    fn risk_refusal(
        &self,
        ts: Ts,
        symbol: SymbolId,
        side: Side,
        quantity: Quantity,
        price: Price,
        stop: Option<Price>,
    ) -> Result<Option<Reason>, StepError> {
        let limits = self.config.risk;
        if !limits.active() {
            return Ok(None);
        }
        let overflow = |source| StepError::Overflow { ts, source };
        let exposure_of = |s: usize| -> Result<Quantity, FixedError> {
            self.portfolio.quantities()[s].checked_add(self.book.pending(SymbolId(s as u32))?)
        };
        let before = exposure_of(symbol.0 as usize).map_err(overflow)?;
        let signed = match side {
            Side::Buy => quantity,
            Side::Sell => quantity.checked_neg().map_err(overflow)?,
        };
        let after = before.checked_add(signed).map_err(overflow)?;
        if after.abs().map_err(overflow)? <= before.abs().map_err(overflow)? {
            return Ok(None); // reduces risk: always passes
        }
        let q = ReasonValue::Quantity(quantity);
        if self.breaker.tripped() {
            return Ok(Some(Reason::new(rules::BREAKER_OPEN.id, &[q])));
        }
        let equity = self.decision_equity;
        if let Some(halt) = limits.drawdown_halt_ppm {
            let down = drawdown_ppm(self.stats.peak_equity.max(equity), equity);
            if down >= halt {
                let values = [
                    ReasonValue::Real(f64::from(down) / 1e6),
                    ReasonValue::Real(f64::from(halt) / 1e6),
                ];
                return Ok(Some(Reason::new(rules::DRAWDOWN_HALT.id, &values)));
            }
        }
        if let (Some(limit), true) = (limits.max_open_positions, before.is_zero()) {
            let mut open = 0u32;
            for s in 0..self.latest.len() {
                if !exposure_of(s).map_err(overflow)?.is_zero() {
                    open += 1;
                }
            }
            if open >= limit {
                let values = [
                    ReasonValue::Int(i64::from(open)),
                    ReasonValue::Int(i64::from(limit)),
                ];
                return Ok(Some(Reason::new(rules::MAX_OPEN_POSITIONS.id, &values)));
            }
        }
        let cap_check = |exposure: Money, ppm: Option<u32>, rule: crate::event::RuleId| {
            ppm.and_then(|ppm| {
                let cap = share(equity, ppm);
                (exposure > cap).then(|| {
                    Reason::new(
                        rule,
                        &[ReasonValue::Money(exposure), ReasonValue::Money(cap)],
                    )
                })
            })
        };
        let own = price
            .notional(after.abs().map_err(overflow)?)
            .map_err(overflow)?;
        if let Some(r) = cap_check(own, limits.max_position_ppm, rules::POSITION_CAP.id) {
            return Ok(Some(r));
        }
        if limits.max_gross_ppm.is_some() || limits.max_net_ppm.is_some() {
            let (gross, net) = self.exposures_with(ts, symbol, after, price)?;
            if let Some(r) = cap_check(gross, limits.max_gross_ppm, rules::GROSS_EXPOSURE_CAP.id) {
                return Ok(Some(r));
            }
            let net = net.abs().map_err(overflow)?;
            if let Some(r) = cap_check(net, limits.max_net_ppm, rules::NET_EXPOSURE_CAP.id) {
                return Ok(Some(r));
            }
        }
        if limits.max_heat_ppm.is_some() {
            // The entry's own risk: to its stop-loss, or its whole value without one.
            let at_risk =
                |q: Quantity, mark: Price, stop: Option<Price>| -> Result<Money, FixedError> {
                    let per_unit = match stop {
                        Some(s) => Price::from_raw((mark.raw() - s.raw()).abs().max(1))?,
                        None => mark,
                    };
                    per_unit.notional(q.abs()?)
                };
            let mut heat = at_risk(quantity, price, stop).map_err(overflow)?;
            for s in 0..self.latest.len() {
                let (Some(bar), held) = (self.latest[s], self.portfolio.quantities()[s]) else {
                    continue;
                };
                if held.is_zero() {
                    continue;
                }
                // A position's risk is to its first working stop that would close it.
                let closing = if held.raw() > 0 {
                    Side::Sell
                } else {
                    Side::Buy
                };
                let stop = self
                    .book
                    .working(SymbolId(s as u32))
                    .iter()
                    .filter(|w| w.side == closing)
                    .find_map(|w| w.kind.stop());
                let risk = at_risk(held, bar.close, stop).map_err(overflow)?;
                heat = heat.checked_add(risk).map_err(overflow)?;
            }
            if let Some(r) = cap_check(heat, limits.max_heat_ppm, rules::PORTFOLIO_HEAT.id) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    /// Gross and net exposure (positions plus working orders, at the latest closes) with
    /// `symbol`'s exposure replaced by `exposure` valued at `price`.
    fn exposures_with(
        &self,
        ts: Ts,
        symbol: SymbolId,
        exposure: Quantity,
        price: Price,
    ) -> Result<(Money, Money), StepError> {
        let overflow = |source| StepError::Overflow { ts, source };
        let (mut gross, mut net) = (Money::ZERO, Money::ZERO);
        for s in 0..self.latest.len() {
            let (exposure, mark) = if s == symbol.0 as usize {
                (exposure, price)
            } else {
                match self.latest[s] {
                    Some(bar) => {
                        let id = SymbolId(s as u32);
                        let pending = self.book.pending(id).map_err(overflow)?;
                        let held = self.portfolio.quantities()[s];
                        (held.checked_add(pending).map_err(overflow)?, bar.close)
                    }
                    None => continue,
                }
            };
            let value = mark.notional(exposure).map_err(overflow)?;
            gross = gross
                .checked_add(value.abs().map_err(overflow)?)
                .map_err(overflow)?;
            net = net.checked_add(value).map_err(overflow)?;
        }
        Ok((gross, net))
    }

    /// Whether the account can pay for an order: in a cash account, a buy's estimated cost
    /// against the cash not set aside (`insufficient_cash`; sells pass); in a margin account,
    /// the initial margin on the gross exposure after the order against equity
    /// (`initial_margin`; buys and sells alike, unless the order reduces the exposure).
    /// Returns the cash to set aside, or the refusal.
    #[allow(clippy::too_many_arguments)]
    fn affordability(
        &self,
        ts: Ts,
        symbol: SymbolId,
        side: Side,
        quantity: Quantity,
        price: Price,
    ) -> Result<Result<Money, Reason>, StepError> {
        let overflow = |source| StepError::Overflow { ts, source };
        if let Some(m) = self.initial_ppm {
            let held = self.portfolio.quantities()[symbol.0 as usize];
            let before = held
                .checked_add(self.book.pending(symbol).map_err(overflow)?)
                .map_err(overflow)?;
            let signed = match side {
                Side::Buy => quantity,
                Side::Sell => quantity.checked_neg().map_err(overflow)?,
            };
            let after = before.checked_add(signed).map_err(overflow)?;
            if after.abs().map_err(overflow)? <= before.abs().map_err(overflow)? {
                return Ok(Ok(Money::ZERO));
            }
            let (gross, _) = self.exposures_with(ts, symbol, after, price)?;
            let required = share(gross, m);
            let equity = self
                .portfolio
                .snapshot()
                .map_err(|source| StepError::Accounting { ts, source })?
                .equity;
            if required > equity {
                return Ok(Err(Reason::new(
                    rules::INITIAL_MARGIN.id,
                    &[ReasonValue::Money(required), ReasonValue::Money(equity)],
                )));
            }
            return Ok(Ok(Money::ZERO));
        }
        if side == Side::Sell {
            return Ok(Ok(Money::ZERO));
        }
        let estimated = self
            .book
            .estimated_cost(quantity, price)
            .map_err(overflow)?;
        let available = self
            .portfolio
            .cash()
            .checked_sub(self.book.committed_cash())
            .map_err(overflow)?;
        if estimated > available {
            return Ok(Err(Reason::new(
                rules::INSUFFICIENT_CASH.id,
                &[ReasonValue::Money(estimated), ReasonValue::Money(available)],
            )));
        }
        Ok(Ok(estimated))
    }

    /// Checks a strategy's order and records it as submitted (and working) or rejected;
    /// returns the seq of that event.
    fn place(
        &mut self,
        ts: Ts,
        cause: Causes,
        request: OrderRequest,
        reason: Reason,
        bracket: Option<Bracket>,
        cycle: Option<u32>,
    ) -> Result<Seq, StepError> {
        let OrderRequest {
            symbol,
            side,
            quantity,
            kind,
            time_in_force,
        } = request;
        self.admit_symbol(symbol)?;
        let order = OrderId(self.next_order);
        self.next_order += 1;
        let refuse = |core: &mut Self, why: Reason| {
            core.reject(ts, cause, order, symbol, side, quantity, why);
            Ok(Seq(core.next_seq - 1))
        };
        if quantity.raw() <= 0 {
            let why = Reason::new(rules::INVALID_ORDER.id, &[ReasonValue::Quantity(quantity)]);
            return refuse(self, why);
        }
        let instrument = self.instruments[symbol.0 as usize];
        if let OrderKind::TrailingStop {
            trail: Trail::Ppm(ppm),
            ..
        } = kind
        {
            if ppm == 0 || ppm >= 1_000_000 {
                let why = Reason::new(rules::INVALID_ORDER.id, &[ReasonValue::Quantity(quantity)]);
                return refuse(self, why);
            }
        }
        if let Some(tick) = instrument.tick_size {
            let exits = bracket.map_or([None, None], |b| [Some(b.take_profit), Some(b.stop_loss)]);
            let off = [kind.limit(), kind.stop(), exits[0], exits[1]]
                .into_iter()
                .flatten()
                .find(|p| p.raw() % tick.raw() != 0);
            if let Some(price) = off {
                let why = Reason::new(
                    rules::OFF_TICK_GRID.id,
                    &[ReasonValue::Price(price), ReasonValue::Price(tick)],
                );
                return refuse(self, why);
            }
        }
        let Some(close) = self.latest[symbol.0 as usize].map(|b| b.close) else {
            let why = Reason::new(
                rules::NO_MARKET_PRICE.id,
                &[ReasonValue::Quantity(quantity)],
            );
            return refuse(self, why);
        };
        let expected_price = kind.expected_price(close);
        if let Some(why) = self.instrument_refusal(ts, symbol, side, quantity, expected_price)? {
            return refuse(self, why);
        }
        if let Some(Bracket {
            take_profit,
            stop_loss,
            trail,
        }) = bracket
        {
            if let Some(Trail::Ppm(ppm)) = trail {
                if ppm == 0 || ppm >= 1_000_000 {
                    let why =
                        Reason::new(rules::INVALID_ORDER.id, &[ReasonValue::Quantity(quantity)]);
                    return refuse(self, why);
                }
            }
            let sides_right = match side {
                Side::Buy => take_profit > expected_price && stop_loss < expected_price,
                Side::Sell => take_profit < expected_price && stop_loss > expected_price,
            };
            if !sides_right {
                let why = Reason::new(
                    rules::INVALID_BRACKET.id,
                    &[
                        ReasonValue::Price(take_profit),
                        ReasonValue::Price(stop_loss),
                        ReasonValue::Price(expected_price),
                    ],
                );
                return refuse(self, why);
            }
        }
        let stop_loss = bracket.map(|b| b.stop_loss);
        if let Some(why) =
            self.risk_refusal(ts, symbol, side, quantity, expected_price, stop_loss)?
        {
            return refuse(self, why);
        }
        let committed_cash = match self.affordability(ts, symbol, side, quantity, expected_price)? {
            Ok(cash) => cash,
            Err(why) => return refuse(self, why),
        };
        let mut working = WorkingOrder::new(
            order,
            Seq(0),
            side,
            quantity,
            kind,
            time_in_force,
            expected_price,
        );
        working.committed_cash = committed_cash;
        working.link = bracket.map(Link::BracketEntry);
        working.cycle = cycle;
        self.with_latency(ts, &mut working);
        self.submit(ts, cause, symbol, working, reason)
    }

    fn bar_cause(&self, symbol: SymbolId) -> Result<Causes, StepError> {
        let index = symbol.0 as usize;
        match self.latest.get(index) {
            Some(Some(_)) => Ok(Causes::one(self.latest_bar_seq[index])),
            Some(None) => Ok(Causes::NONE),
            None => Err(StepError::UnknownSymbol {
                symbol: symbol.0,
                count: self.latest.len(),
            }),
        }
    }

    /// Turns a target into an order for the difference, or a rejection.
    fn route_target(
        &mut self,
        ts: Ts,
        target_seq: Seq,
        symbol: SymbolId,
        target: Quantity,
    ) -> Result<(), StepError> {
        let overflow = |source| StepError::Overflow { ts, source };
        let position = self.portfolio.position(symbol).quantity;
        let pending = self.book.pending(symbol).map_err(overflow)?;
        let delta = target
            .checked_sub(position)
            .and_then(|d| d.checked_sub(pending))
            .map_err(overflow)?;
        if delta.is_zero() {
            return Ok(());
        }
        let (side, quantity) = if delta.raw() > 0 {
            (Side::Buy, delta)
        } else {
            (Side::Sell, delta.abs().map_err(overflow)?)
        };
        let order = OrderId(self.next_order);
        self.next_order += 1;
        let cause = Causes::one(target_seq);
        let Some(reference) = self.latest[symbol.0 as usize].map(|b| b.close) else {
            let reason = Reason::new(rules::NO_MARKET_PRICE.id, &[ReasonValue::Quantity(target)]);
            self.reject(ts, cause, order, symbol, side, quantity, reason);
            return Ok(());
        };
        let refusal = match self.instrument_refusal(ts, symbol, side, quantity, reference)? {
            Some(why) => Some(why),
            None => self.risk_refusal(ts, symbol, side, quantity, reference, None)?,
        };
        if let Some(reason) = refusal {
            self.reject(ts, cause, order, symbol, side, quantity, reason);
            return Ok(());
        }
        let committed_cash = match self.affordability(ts, symbol, side, quantity, reference)? {
            Ok(cash) => cash,
            Err(reason) => {
                self.reject(ts, cause, order, symbol, side, quantity, reason);
                return Ok(());
            }
        };
        let reason = Reason::new(
            rules::ORDER_FROM_TARGET.id,
            &[
                ReasonValue::Quantity(target),
                ReasonValue::Quantity(position),
                ReasonValue::Quantity(pending),
            ],
        );
        let mut working = WorkingOrder::new(
            order,
            Seq(0),
            side,
            quantity,
            OrderKind::Market,
            TimeInForce::Gtc,
            reference,
        );
        working.committed_cash = committed_cash;
        self.with_latency(ts, &mut working);
        self.submit(ts, cause, symbol, working, reason).map(|_| ())
    }

    #[allow(clippy::too_many_arguments)]
    fn reject(
        &mut self,
        ts: Ts,
        cause: Causes,
        order: OrderId,
        symbol: SymbolId,
        side: Side,
        quantity: Quantity,
        reason: Reason,
    ) {
        self.emit(
            ts,
            cause,
            EventBody::OrderRejected(OrderRejected {
                order,
                symbol,
                side,
                quantity,
                reason,
            }),
        );
        self.stats.rejections += 1;
    }

    /// Closes the last slice, cancels working orders and records `run_finished`.
    pub fn finish(&mut self) -> Result<RunStats, StepError> {
        match self.phase {
            Phase::New => return Err(StepError::NotStarted),
            Phase::Finished => return Err(StepError::WrongPhase("finished")),
            Phase::Running => {}
        }
        self.close_slice()?;
        let ts = self.latest_ts;
        let mut cancels = std::mem::take(&mut self.cancels);
        self.book.cancel_all(&mut cancels);
        for (symbol, w) in cancels.drain(..) {
            let reason = Reason::new(rules::RUN_ENDED.id, &[]);
            let body = EventBody::OrderCancelled(OrderCancelled {
                order: w.order,
                symbol,
                remaining: w.remaining,
                reason,
            });
            self.emit(ts, Causes::one(w.submitted), body);
        }
        self.cancels = cancels;
        let s = self.stats;
        let body = EventBody::RunFinished(RunFinished {
            bars: s.bars,
            orders: s.orders,
            fills: s.fills,
            rejections: s.rejections,
            final_equity: s.equity,
            peak_equity: s.peak_equity,
            max_drawdown: s.max_drawdown,
        });
        self.emit(ts, Causes::NONE, body);
        self.phase = Phase::Finished;
        Ok(self.stats())
    }

    fn emit(&mut self, ts: Ts, causes: Causes, body: EventBody) -> Seq {
        let seq = Seq(self.next_seq);
        self.next_seq += 1;
        encode_event(
            &Event {
                seq,
                ts,
                causes,
                body,
            },
            self.salt,
            &mut self.out,
        );
        seq
    }
}
