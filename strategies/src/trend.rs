//! The Dow-30 trend system: a composite trend alpha over three horizons, a volatility-targeted
//! portfolio with name, gross and net caps, moved into over a front-loaded schedule by tiered
//! limit orders. The rules, defaults and worked examples are in docs/trend-system.md.
//!
//! A day's decisions, in order:
//! 1. Indicators take the day's bars (SMA 20/63/252 of the close, ATR 14 Wilder, returns).
//! 2. On a recalculation day (every `recalc_every` trading days once warm), orders of earlier
//!    weeks still working are cancelled by their week id, signals are computed and cached,
//!    and the week's plan is built: target weights, scaled to the volatility target, capped.
//!    On the days between, the cached signals are emitted again, marked `trend_cached`.
//! 3. Untagged orders (no week id) older than `stale_after_bars` are cancelled by age.
//! 4. Every day of the week, each planned symbol gets a planned `target` (the schedule's step
//!    of the way from the week's starting position to its final one) and, if the position
//!    and working orders fall short of it, an order: a limit order priced by the signal's
//!    tier, or a market order for an exit (final weight zero).
//!
//! Invariants (each has a test): a signal only when all three scores share a sign; strength
//! `tanh(composite / temperature)`; no signal before `warmup` bars; caps applied name, then
//! gross, then net; the schedule is front-loaded and its last step is exactly 1; tiers at
//! `|strength| ≥ 0.70` and `≥ 0.30`; exits at market; stale orders cancelled by week id, by
//! age only without one.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use tape_engine::event::{
    Direction, Reason, ReasonValue, RuleId, RuleSpec, Side, SymbolId, TimeInForce, Unit,
};
use tape_engine::execution::OrderKind;
use tape_engine::fixed::{Price, Quantity, QTY_SCALE};
use tape_engine::market::MarketView;
use tape_engine::strategy::{DecisionRef, Decisions, OrderRequest, Strategy};

use crate::indicators::{Atr, Sma};

/// Parameters of [`Trend`], with the defaults of docs/trend-system.md.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrendParams {
    /// The three SMA horizons, in bars.
    pub horizons: [u32; 3],
    /// The composite's weight of each horizon's score.
    pub weights: [f64; 3],
    /// ATR period (Wilder's smoothing).
    pub atr_period: u32,
    /// The ATR's floor in a score's denominator.
    pub atr_floor: f64,
    /// `strength = tanh(composite / temperature)`.
    pub temperature: f64,
    /// Signals with `|strength|` below this are dropped.
    pub min_strength: f64,
    /// Trading days between recalculations (a "week").
    pub recalc_every: u32,
    /// Bars a symbol needs before its first signal.
    pub warmup: u32,
    /// Annualised portfolio volatility the weights are scaled to.
    pub vol_target: f64,
    /// Daily returns in the covariance estimate.
    pub vol_window: u32,
    /// Fewest common returns for a covariance; fewer and weights are not vol-scaled.
    pub vol_min_obs: u32,
    /// Periods per year for annualising the volatility.
    pub periods_per_year: f64,
    /// Largest |weight| of one name.
    pub max_weight: f64,
    /// Largest Σ |weight|.
    pub max_gross: f64,
    /// Largest |Σ weight|.
    pub max_net: f64,
    /// Days over which a new target is reached.
    pub scaling_days: u32,
    /// Each schedule step is this many times the next one (≥ 1: front-loaded).
    pub front_load_factor: f64,
    /// `|strength|` from which a signal is strong.
    pub strong_from: f64,
    /// `|strength|` from which a signal is moderate.
    pub moderate_from: f64,
    /// Limit offsets from the decision close, as fractions, per tier (strong, moderate,
    /// weak): a buy's limit is `close × (1 + offset)`, a sell's `close × (1 − offset)`.
    pub limit_offsets: [f64; 3],
    /// Limit prices are on this grid: buys rounded down, sells up.
    pub tick_size: f64,
    /// An order without a week id is cancelled after this many bars.
    pub stale_after_bars: u32,
    /// A symbol that is only watched (the benchmark), never traded.
    pub benchmark: Option<String>,
    /// Short signals become short positions; otherwise they become flat targets.
    pub allow_short: bool,
}

impl Default for TrendParams {
    fn default() -> Self {
        Self {
            horizons: [20, 63, 252],
            weights: [0.2, 0.3, 0.5],
            atr_period: 14,
            atr_floor: 1e-8,
            temperature: 3.0,
            min_strength: 0.1,
            recalc_every: 5,
            warmup: 252,
            vol_target: 0.10,
            vol_window: 63,
            vol_min_obs: 20,
            periods_per_year: 252.0,
            max_weight: 0.10,
            max_gross: 1.0,
            max_net: 1.0,
            scaling_days: 5,
            front_load_factor: 1.5,
            strong_from: 0.70,
            moderate_from: 0.30,
            limit_offsets: [0.0025, 0.0010, 0.0],
            tick_size: 0.01,
            stale_after_bars: 5,
            benchmark: Some("SPY".to_string()),
            allow_short: true,
        }
    }
}

/// A recalculated signal.
pub const COMPOSITE: RuleSpec = RuleSpec {
    id: RuleId::strategy(0),
    name: "trend_composite",
    summary: "All three ATR-normalised scores (close − SMA) / max(ATR, floor) share a sign; strength = tanh(Σ weight × score / temperature).",
    fields: &[
        ("score_short", Unit::Real),
        ("score_medium", Unit::Real),
        ("score_long", Unit::Real),
        ("composite", Unit::Real),
        ("atr", Unit::Real),
        ("close", Unit::Price),
        ("week_id", Unit::Int),
    ],
};

/// A cached signal emitted again between recalculations.
pub const CACHED: RuleSpec = RuleSpec {
    id: RuleId::strategy(1),
    name: "trend_cached",
    summary:
        "The signal of this week's recalculation, emitted again on a day between recalculations.",
    fields: &[
        ("composite", Unit::Real),
        ("week_id", Unit::Int),
        ("days_since", Unit::Int),
    ],
};

/// A day's planned target.
pub const TARGET: RuleSpec = RuleSpec {
    id: RuleId::strategy(2),
    name: "trend_target",
    summary: "The week's target weight (raw = strength / signals, × vol_scale, then capped: bound bit 1 name, 2 gross, 4 net; 8 = no volatility estimate), reached over the schedule: today's target is the step's share of the way from the week's starting position.",
    fields: &[
        ("weight", Unit::Real),
        ("raw_weight", Unit::Real),
        ("vol_scale", Unit::Real),
        ("bound", Unit::Int),
        ("week_id", Unit::Int),
        ("scale_day", Unit::Int),
        ("step", Unit::Real),
        ("expected_price", Unit::Price),
    ],
};

/// A tiered limit order: its tag.
pub const ORDER: RuleSpec = RuleSpec {
    id: RuleId::strategy(3),
    name: "trend_order",
    summary: "A limit order toward the day's target, priced by the signal's tier (0 strong, 1 moderate, 2 weak) as the close moved by the tier's offset, on the tick grid.",
    fields: &[
        ("tier", Unit::Int),
        ("strength", Unit::Real),
        ("week_id", Unit::Int),
        ("scale_day", Unit::Int),
        ("offset", Unit::Real),
        ("limit", Unit::Price),
    ],
};

/// An exit: a market order to a zero target.
pub const EXIT: RuleSpec = RuleSpec {
    id: RuleId::strategy(4),
    name: "trend_exit",
    summary: "The week's target weight is zero: the position is closed at market.",
    fields: &[
        ("week_id", Unit::Int),
        ("scale_day", Unit::Int),
        ("position", Unit::Quantity),
    ],
};

/// Orders of earlier weeks cancelled when a week starts.
pub const STALE_WEEK: RuleSpec = RuleSpec {
    id: RuleId::strategy(5),
    name: "stale_by_week",
    summary: "A new week started: orders tagged with an earlier week id are cancelled.",
    fields: &[("week_id", Unit::Int)],
};

/// An untagged order cancelled by age.
pub const STALE_AGE: RuleSpec = RuleSpec {
    id: RuleId::strategy(6),
    name: "stale_by_age",
    summary: "An order without a week id that has worked stale_after_bars bars is cancelled (the legacy rule).",
    fields: &[("bars_worked", Unit::Int), ("stale_after_bars", Unit::Int)],
};

const RULES: &[RuleSpec] = &[
    COMPOSITE, CACHED, TARGET, ORDER, EXIT, STALE_WEEK, STALE_AGE,
];

/// Bits of the `bound` value of a target's reason.
pub mod bound {
    /// The per-name cap bound.
    pub const NAME: i64 = 1;
    /// The gross exposure cap bound.
    pub const GROSS: i64 = 2;
    /// The net exposure cap bound.
    pub const NET: i64 = 4;
    /// No volatility estimate (too few returns): weights were not vol-scaled.
    pub const NO_VOL: i64 = 8;
}

/// The three scores and what they make, for one symbol on one day.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Alpha {
    /// `(close − SMA_h) / max(ATR, floor)` per horizon.
    pub scores: [f64; 3],
    /// `Σ weight_h × score_h`.
    pub composite: f64,
    /// `tanh(composite / temperature)`.
    pub strength: f64,
}

/// The composite alpha: `None` unless all three scores share a sign (a zero score agrees
/// with nothing) and `|strength| ≥ min_strength`.
pub fn alpha(params: &TrendParams, close: f64, smas: [f64; 3], atr: f64) -> Option<Alpha> {
    let denominator = atr.max(params.atr_floor);
    let scores = smas.map(|sma| (close - sma) / denominator);
    let agree = scores.iter().all(|s| *s > 0.0) || scores.iter().all(|s| *s < 0.0);
    if !agree {
        return None;
    }
    let composite = scores
        .iter()
        .zip(params.weights)
        .map(|(s, w)| s * w)
        .sum::<f64>();
    let strength = libm::tanh(composite / params.temperature);
    (strength.abs() >= params.min_strength).then_some(Alpha {
        scores,
        composite,
        strength,
    })
}

/// The execution tier of a strength: 0 strong, 1 moderate, 2 weak.
pub fn tier(params: &TrendParams, strength: f64) -> usize {
    let s = strength.abs();
    if s >= params.strong_from {
        0
    } else if s >= params.moderate_from {
        1
    } else {
        2
    }
}

/// The cumulative schedule: after day `k` (1-based) of `days`, the share `c_k` of the way to
/// the new target. Steps are `f^(days−k)` normalised, so each is `f` times the next (the
/// first the largest when `f > 1`); the last cumulative share is exactly 1.
pub fn schedule(days: u32, front_load_factor: f64) -> Vec<f64> {
    let n = days.max(1) as usize;
    let steps: Vec<f64> = (0..n)
        .map(|k| libm::pow(front_load_factor, (n - 1 - k) as f64))
        .collect();
    let total: f64 = steps.iter().sum();
    let mut cumulative = 0.0;
    let mut out: Vec<f64> = steps
        .iter()
        .map(|s| {
            cumulative += s;
            cumulative / total
        })
        .collect();
    out[n - 1] = 1.0;
    out
}

/// Caps applied in order — per name, then gross, then net — returning the capped weights and
/// the [`bound`] bits of each cap that changed them.
pub fn constrain(weights: &mut [f64], max_weight: f64, max_gross: f64, max_net: f64) -> i64 {
    let mut bound = 0;
    for w in weights.iter_mut() {
        if w.abs() > max_weight {
            *w = max_weight.copysign(*w);
            bound |= self::bound::NAME;
        }
    }
    let gross: f64 = weights.iter().map(|w| w.abs()).sum();
    if gross > max_gross {
        let k = max_gross / gross;
        weights.iter_mut().for_each(|w| *w *= k);
        bound |= self::bound::GROSS;
    }
    let long: f64 = weights.iter().filter(|w| **w > 0.0).sum();
    let short: f64 = weights.iter().filter(|w| **w < 0.0).sum();
    let net = long + short;
    if net.abs() > max_net {
        // Scale down the side in excess until |net| = max_net.
        if net > 0.0 {
            let k = (max_net - short) / long;
            weights
                .iter_mut()
                .filter(|w| **w > 0.0)
                .for_each(|w| *w *= k);
        } else {
            let k = (-max_net - long) / short;
            weights
                .iter_mut()
                .filter(|w| **w < 0.0)
                .for_each(|w| *w *= k);
        }
        bound |= self::bound::NET;
    }
    bound
}

/// Annualised volatility of a weighted portfolio from the sample covariance (divisor n − 1)
/// of each pair's daily returns over the days both have, `None` if any pair has fewer than
/// `min_obs` such days.
fn portfolio_vol(
    weights: &[(usize, f64)],
    returns: &[VecDeque<(u64, f64)>],
    min_obs: usize,
    periods_per_year: f64,
) -> Option<f64> {
    let mut variance = 0.0;
    for (a, &(i, wi)) in weights.iter().enumerate() {
        for &(j, wj) in &weights[a..] {
            let cov = covariance(&returns[i], &returns[j], min_obs)?;
            variance += if i == j {
                wi * wi * cov
            } else {
                2.0 * wi * wj * cov
            };
        }
    }
    Some((variance.max(0.0) * periods_per_year).sqrt())
}

/// Sample covariance over the days both series have (each sorted by day).
fn covariance(x: &VecDeque<(u64, f64)>, y: &VecDeque<(u64, f64)>, min_obs: usize) -> Option<f64> {
    let (mut i, mut j) = (0, 0);
    let mut pairs = Vec::with_capacity(x.len().min(y.len()));
    while i < x.len() && j < y.len() {
        match x[i].0.cmp(&y[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                pairs.push((x[i].1, y[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    let n = pairs.len();
    if n < min_obs.max(2) {
        return None;
    }
    let mx = pairs.iter().map(|p| p.0).sum::<f64>() / n as f64;
    let my = pairs.iter().map(|p| p.1).sum::<f64>() / n as f64;
    Some(pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>() / (n - 1) as f64)
}

#[derive(Clone, Debug)]
struct SymbolState {
    smas: [Sma; 3],
    atr: Atr,
    bars: u32,
    last_close: Option<f64>,
    /// (trading day, simple return), the last `vol_window`.
    returns: VecDeque<(u64, f64)>,
    /// This week's signal.
    signal: Option<Alpha>,
}

/// One symbol's part of the week's plan.
#[derive(Clone, Copy, Debug)]
struct Planned {
    symbol: SymbolId,
    /// Position when the week started.
    start: Quantity,
    /// Position at the end of the schedule.
    target: Quantity,
    weight: f64,
    raw_weight: f64,
    strength: f64,
}

/// The strategy.
#[derive(Clone, Debug)]
pub struct Trend {
    params: TrendParams,
    symbols: Vec<SymbolState>,
    benchmark: Option<usize>,
    schedule: Vec<f64>,
    /// Trading days seen (slices).
    day: u64,
    week_id: u32,
    plan: Vec<Planned>,
    vol_scale: f64,
    bound: i64,
}

impl Trend {
    /// The strategy over the run's symbols, by name (to leave out the benchmark). Parameters
    /// are validated by [`crate::StrategySpec`].
    pub fn new(params: TrendParams, names: &[String]) -> Self {
        let [a, b, c] = params.horizons;
        let state = SymbolState {
            smas: [
                Sma::new(a as usize),
                Sma::new(b as usize),
                Sma::new(c as usize),
            ],
            atr: Atr::new(params.atr_period as usize),
            bars: 0,
            last_close: None,
            returns: VecDeque::with_capacity(params.vol_window as usize + 1),
            signal: None,
        };
        let benchmark = params
            .benchmark
            .as_ref()
            .and_then(|b| names.iter().position(|n| n == b));
        Self {
            schedule: schedule(params.scaling_days, params.front_load_factor),
            symbols: vec![state; names.len()],
            benchmark,
            params,
            day: 0,
            week_id: 0,
            plan: Vec::new(),
            vol_scale: 1.0,
            bound: 0,
        }
    }

    fn update(&mut self, view: &MarketView<'_>) {
        let window = self.params.vol_window as usize;
        for &symbol in view.updated() {
            let Some(bar) = view.latest(symbol) else {
                continue;
            };
            let state = &mut self.symbols[symbol.0 as usize];
            for sma in &mut state.smas {
                sma.push(bar.close);
            }
            state.atr.push(bar);
            state.bars += 1;
            let close = bar.close.to_f64();
            if let Some(previous) = state.last_close {
                if state.returns.len() == window {
                    state.returns.pop_front();
                }
                state.returns.push_back((self.day, close / previous - 1.0));
            }
            state.last_close = Some(close);
        }
    }

    /// Recomputes every tradable symbol's signal; `true` for those with one.
    fn recalculate(&mut self) {
        for (i, state) in self.symbols.iter_mut().enumerate() {
            state.signal = None;
            if Some(i) == self.benchmark || state.bars < self.params.warmup {
                continue;
            }
            let smas = state.smas.each_ref().map(|s| s.value_f64());
            let (Some(close), [Some(a), Some(b), Some(c)], Some(atr)) =
                (state.last_close, smas, state.atr.value())
            else {
                continue;
            };
            state.signal = alpha(&self.params, close, [a, b, c], atr);
        }
    }

    /// The week's plan from the cached signals and the positions held.
    fn plan_week(&mut self, view: &MarketView<'_>) {
        let signals: Vec<(usize, f64)> = self
            .symbols
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.signal.map(|a| (i, a.strength)))
            .filter(|(_, strength)| self.params.allow_short || *strength > 0.0)
            .collect();
        let n = signals.len().max(1) as f64;
        let raw: Vec<(usize, f64)> = signals.iter().map(|&(i, s)| (i, s / n)).collect();
        let returns: Vec<VecDeque<(u64, f64)>> =
            self.symbols.iter().map(|s| s.returns.clone()).collect();
        let (scale, mut bound) = match portfolio_vol(
            &raw,
            &returns,
            self.params.vol_min_obs as usize,
            self.params.periods_per_year,
        ) {
            Some(vol) if vol > 0.0 => (self.params.vol_target / vol, 0),
            _ => (1.0, bound::NO_VOL),
        };
        let mut weights: Vec<f64> = raw.iter().map(|(_, w)| w * scale).collect();
        bound |= constrain(
            &mut weights,
            self.params.max_weight,
            self.params.max_gross,
            self.params.max_net,
        );
        self.vol_scale = scale;
        self.bound = bound;
        self.plan.clear();
        let equity = view.equity().to_f64();
        for (&(i, raw_weight), &weight) in raw.iter().zip(&weights) {
            let symbol = SymbolId(i as u32);
            let Some(close) = self.symbols[i].last_close else {
                continue;
            };
            let units = (weight * equity / close).trunc();
            self.plan.push(Planned {
                symbol,
                start: view.position(symbol),
                target: Quantity::from_units(units as i64).unwrap_or(Quantity::ZERO),
                weight,
                raw_weight,
                strength: self.symbols[i].signal.map_or(0.0, |a| a.strength),
            });
        }
        // Held positions without a signal: exits.
        for i in 0..self.symbols.len() {
            let symbol = SymbolId(i as u32);
            let held = view.position(symbol);
            if !held.is_zero() && !self.plan.iter().any(|p| p.symbol == symbol) {
                self.plan.push(Planned {
                    symbol,
                    start: held,
                    target: Quantity::ZERO,
                    weight: 0.0,
                    raw_weight: 0.0,
                    strength: 0.0,
                });
            }
        }
        self.plan.sort_by_key(|p| p.symbol);
    }

    /// Emits the day's signals: recalculated (`trend_composite`) or cached (`trend_cached`).
    fn emit_signals(
        &self,
        view: &MarketView<'_>,
        recalculated: bool,
        days_since: u64,
        out: &mut Decisions,
    ) -> Vec<Option<DecisionRef>> {
        let mut refs = vec![None; self.symbols.len()];
        for (i, state) in self.symbols.iter().enumerate() {
            let Some(a) = state.signal else { continue };
            let symbol = SymbolId(i as u32);
            let direction = if a.strength > 0.0 {
                Direction::Long
            } else {
                Direction::Short
            };
            let why = if recalculated {
                let close = view.latest(symbol).map(|b| b.close);
                let Some(close) = close else { continue };
                Reason::new(
                    COMPOSITE.id,
                    &[
                        ReasonValue::Real(a.scores[0]),
                        ReasonValue::Real(a.scores[1]),
                        ReasonValue::Real(a.scores[2]),
                        ReasonValue::Real(a.composite),
                        ReasonValue::Real(state.atr.value().unwrap_or(f64::NAN)),
                        ReasonValue::Price(close),
                        ReasonValue::Int(self.week_id.into()),
                    ],
                )
            } else {
                Reason::new(
                    CACHED.id,
                    &[
                        ReasonValue::Real(a.composite),
                        ReasonValue::Int(self.week_id.into()),
                        ReasonValue::Int(days_since as i64),
                    ],
                )
            };
            refs[i] = Some(out.signal(symbol, direction, a.strength.abs(), why));
        }
        refs
    }

    /// The day's targets and the orders that close the gap to them.
    fn execute(
        &self,
        view: &MarketView<'_>,
        scale_day: u32,
        signals: &[Option<DecisionRef>],
        out: &mut Decisions,
    ) {
        let step_index = (scale_day.min(self.params.scaling_days).max(1) - 1) as usize;
        let step = self.schedule[step_index];
        for p in &self.plan {
            let Some(bar) = view.latest(p.symbol) else {
                continue;
            };
            let exit = p.target.is_zero();
            // Exits go all the way at once; entries follow the schedule.
            let (today, step) = if exit {
                (Quantity::ZERO, 1.0)
            } else {
                let gap = p.target.raw() - p.start.raw();
                let units = (gap as f64 * step / QTY_SCALE as f64).trunc() as i64;
                let moved = if step >= 1.0 { gap } else { units * QTY_SCALE };
                (Quantity::from_raw(p.start.raw() + moved), step)
            };
            let why = Reason::new(
                TARGET.id,
                &[
                    ReasonValue::Real(p.weight),
                    ReasonValue::Real(p.raw_weight),
                    ReasonValue::Real(self.vol_scale),
                    ReasonValue::Int(if exit { 0 } else { self.bound }),
                    ReasonValue::Int(self.week_id.into()),
                    ReasonValue::Int(scale_day.into()),
                    ReasonValue::Real(step),
                    ReasonValue::Price(bar.close),
                ],
            );
            let target = out.planned_target(p.symbol, today, why, signals[p.symbol.0 as usize]);
            let pending: i64 = view
                .working_orders(p.symbol)
                .iter()
                .map(|w| match w.side {
                    Side::Buy => w.remaining.raw(),
                    Side::Sell => -w.remaining.raw(),
                })
                .sum();
            let delta = today.raw() - view.position(p.symbol).raw() - pending;
            if delta == 0 {
                continue;
            }
            let side = if delta > 0 { Side::Buy } else { Side::Sell };
            let quantity = Quantity::from_raw(delta.abs());
            if exit {
                let why = Reason::new(
                    EXIT.id,
                    &[
                        ReasonValue::Int(self.week_id.into()),
                        ReasonValue::Int(scale_day.into()),
                        ReasonValue::Quantity(view.position(p.symbol)),
                    ],
                );
                let request = OrderRequest {
                    symbol: p.symbol,
                    side,
                    quantity,
                    kind: OrderKind::Market,
                    time_in_force: TimeInForce::Gtc,
                };
                out.order(request, why, Some(target));
                continue;
            }
            let tier = tier(&self.params, p.strength);
            let offset = self.params.limit_offsets[tier];
            let Some(limit) = limit_price(bar.close.to_f64(), offset, side, self.params.tick_size)
            else {
                continue;
            };
            let why = Reason::new(
                ORDER.id,
                &[
                    ReasonValue::Int(tier as i64),
                    ReasonValue::Real(p.strength),
                    ReasonValue::Int(self.week_id.into()),
                    ReasonValue::Int(scale_day.into()),
                    ReasonValue::Real(offset),
                    ReasonValue::Price(limit),
                ],
            );
            let request = OrderRequest {
                symbol: p.symbol,
                side,
                quantity,
                kind: OrderKind::Limit { limit },
                time_in_force: TimeInForce::Gtc,
            };
            out.order(request, why, Some(target));
        }
    }
}

/// A tier's limit price on the tick grid: a buy's rounded down, a sell's up, so rounding
/// never makes the order more aggressive than its offset.
pub fn limit_price(close: f64, offset: f64, side: Side, tick: f64) -> Option<Price> {
    let (raw, up) = match side {
        Side::Buy => (close * (1.0 + offset), false),
        Side::Sell => (close * (1.0 - offset), true),
    };
    // A tiny allowance so a price already on the grid is not pushed a tick by float noise.
    let ticks = raw / tick;
    let ticks = if up {
        (ticks - 1e-9).ceil()
    } else {
        (ticks + 1e-9).floor()
    };
    Price::from_f64(ticks * tick).ok()
}

/// An order's tag: what the system's users read on every order (`order_events.csv`), and
/// what its `trend_order` reason and `cycle` carry in the ledger.
///
/// Text form: `tier=<strong|moderate|weak>;strength=<signed f64>;week=<u32>;day=<u32>`, keys in
/// this order, the strength in Rust's shortest round-trip form. An exit's tag is
/// `tier=exit;week=<u32>;day=<u32>`. Parse it with [`OrderTag::parse`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrderTag {
    /// 0 strong, 1 moderate, 2 weak; `None` for an exit.
    pub tier: Option<usize>,
    /// The signal's strength (0 for an exit).
    pub strength: f64,
    /// The rebalance cycle.
    pub week_id: u32,
    /// The day of the cycle's schedule, from 1.
    pub scale_day: u32,
}

/// Tier names, by tier number.
pub const TIER_NAMES: [&str; 3] = ["strong", "moderate", "weak"];

impl OrderTag {
    /// The tag of an order the strategy placed, from its reason (`None` for another rule's).
    pub fn from_reason(reason: &Reason) -> Option<Self> {
        let v = reason.raw_values();
        if reason.rule == ORDER.id && v.len() >= 4 {
            Some(Self {
                tier: usize::try_from(v[0]).ok().filter(|t| *t < 3),
                strength: f64::from_bits(v[1] as u64),
                week_id: u32::try_from(v[2]).ok()?,
                scale_day: u32::try_from(v[3]).ok()?,
            })
        } else if reason.rule == EXIT.id && v.len() >= 2 {
            Some(Self {
                tier: None,
                strength: 0.0,
                week_id: u32::try_from(v[0]).ok()?,
                scale_day: u32::try_from(v[1]).ok()?,
            })
        } else {
            None
        }
    }

    /// Reads the text form; `None` if it is not one.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(';');
        let mut field = |key: &str| {
            parts
                .next()
                .and_then(|p| p.strip_prefix(key))
                .and_then(|p| p.strip_prefix('='))
        };
        let tier_text = field("tier")?;
        let (tier, strength) = if tier_text == "exit" {
            (None, 0.0)
        } else {
            let tier = TIER_NAMES.iter().position(|n| *n == tier_text)?;
            (Some(tier), field("strength")?.parse().ok()?)
        };
        let week_id = field("week")?.parse().ok()?;
        let scale_day = field("day")?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            tier,
            strength,
            week_id,
            scale_day,
        })
    }
}

impl std::fmt::Display for OrderTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.tier {
            Some(t) => write!(
                f,
                "tier={};strength={};week={};day={}",
                TIER_NAMES[t], self.strength, self.week_id, self.scale_day
            ),
            None => write!(f, "tier=exit;week={};day={}", self.week_id, self.scale_day),
        }
    }
}

impl Strategy for Trend {
    fn rules(&self) -> &'static [RuleSpec] {
        RULES
    }

    fn inspect(&self, symbol: SymbolId, out: &mut Vec<(&'static str, String)>) {
        let Some(state) = self.symbols.get(symbol.0 as usize) else {
            return;
        };
        let names = ["sma_short", "sma_medium", "sma_long"];
        for (name, sma) in names.iter().zip(&state.smas) {
            out.push((
                name,
                sma.value()
                    .map_or("warming up".to_string(), |p| p.to_string()),
            ));
        }
        out.push((
            "atr",
            state
                .atr
                .value()
                .map_or("warming up".to_string(), |a| a.to_string()),
        ));
        match state.signal {
            Some(a) => {
                out.push(("scores", format!("{:?}", a.scores)));
                out.push(("composite", a.composite.to_string()));
                out.push(("strength", a.strength.to_string()));
                out.push((
                    "tier",
                    ["strong", "moderate", "weak"][tier(&self.params, a.strength)].to_string(),
                ));
            }
            None => out.push(("signal", "none".to_string())),
        }
        out.push(("week_id", self.week_id.to_string()));
        if let Some(p) = self.plan.iter().find(|p| p.symbol == symbol) {
            out.push(("week_start", p.start.to_string()));
            out.push(("week_target", p.target.to_string()));
            out.push(("week_weight", p.weight.to_string()));
        }
    }

    fn on_slice(&mut self, view: &MarketView<'_>, out: &mut Decisions) {
        self.update(view);
        let day = self.day;
        self.day += 1;
        // Legacy: orders without a week id are cancelled by age.
        for i in 0..self.symbols.len() {
            let symbol = SymbolId(i as u32);
            for w in view.working_orders(symbol) {
                if w.cycle.is_none() && w.bars_worked >= self.params.stale_after_bars {
                    let why = Reason::new(
                        STALE_AGE.id,
                        &[
                            ReasonValue::Int(w.bars_worked.into()),
                            ReasonValue::Int(self.params.stale_after_bars.into()),
                        ],
                    );
                    out.cancel(symbol, w.order, why);
                }
            }
        }
        let warm = u64::from(self.params.warmup.saturating_sub(1));
        if day < warm {
            return;
        }
        let cycle_day = day - warm;
        let every = u64::from(self.params.recalc_every.max(1));
        let recalculated = cycle_day.is_multiple_of(every);
        if recalculated {
            self.week_id += 1;
            let why = Reason::new(STALE_WEEK.id, &[ReasonValue::Int(self.week_id.into())]);
            out.cancel_before_cycle(self.week_id, why);
            self.recalculate();
            self.plan_week(view);
        }
        out.set_cycle(self.week_id);
        let days_since = cycle_day % every;
        let signals = self.emit_signals(view, recalculated, days_since, out);
        self.execute(view, days_since as u32 + 1, &signals, out);
    }
}

/// Checks every parameter's range, naming the first one out of it.
pub fn validate(p: &TrendParams) -> Result<(), crate::StrategySpecError> {
    let check = |key: &'static str, ok: bool, value: String, rule: &'static str| {
        if ok {
            Ok(())
        } else {
            Err(crate::StrategySpecError::OutOfRange { key, value, rule })
        }
    };
    let positive = |x: f64| x.is_finite() && x > 0.0;
    let fraction = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
    check(
        "horizons",
        p.horizons.iter().all(|h| *h >= 1),
        format!("{:?}", p.horizons),
        "each horizon must be at least 1 bar",
    )?;
    check(
        "weights",
        p.weights.iter().all(|w| w.is_finite()),
        format!("{:?}", p.weights),
        "weights must be finite numbers",
    )?;
    check(
        "atr_period",
        p.atr_period >= 1,
        p.atr_period.to_string(),
        "must be at least 1",
    )?;
    check(
        "atr_floor",
        positive(p.atr_floor),
        p.atr_floor.to_string(),
        "must be a positive number",
    )?;
    check(
        "temperature",
        positive(p.temperature),
        p.temperature.to_string(),
        "must be a positive number",
    )?;
    check(
        "min_strength",
        fraction(p.min_strength),
        p.min_strength.to_string(),
        "must be in [0, 1]",
    )?;
    check(
        "recalc_every",
        p.recalc_every >= 1,
        p.recalc_every.to_string(),
        "must be at least 1 day",
    )?;
    check(
        "warmup",
        p.warmup >= *p.horizons.iter().max().unwrap_or(&1),
        p.warmup.to_string(),
        "must be at least the longest horizon",
    )?;
    check(
        "vol_target",
        positive(p.vol_target),
        p.vol_target.to_string(),
        "must be a positive annual volatility",
    )?;
    check(
        "vol_window",
        p.vol_window >= 2,
        p.vol_window.to_string(),
        "must be at least 2 returns",
    )?;
    check(
        "vol_min_obs",
        p.vol_min_obs >= 2 && p.vol_min_obs <= p.vol_window,
        p.vol_min_obs.to_string(),
        "must be at least 2 and at most vol_window",
    )?;
    check(
        "periods_per_year",
        positive(p.periods_per_year),
        p.periods_per_year.to_string(),
        "must be a positive number",
    )?;
    check(
        "max_weight",
        positive(p.max_weight),
        p.max_weight.to_string(),
        "must be a positive weight",
    )?;
    check(
        "max_gross",
        positive(p.max_gross),
        p.max_gross.to_string(),
        "must be a positive weight",
    )?;
    check(
        "max_net",
        positive(p.max_net),
        p.max_net.to_string(),
        "must be a positive weight",
    )?;
    check(
        "scaling_days",
        p.scaling_days >= 1,
        p.scaling_days.to_string(),
        "must be at least 1 day",
    )?;
    check(
        "front_load_factor",
        p.front_load_factor.is_finite() && p.front_load_factor >= 1.0,
        p.front_load_factor.to_string(),
        "must be at least 1 (1 = even steps, more = front-loaded)",
    )?;
    check(
        "strong_from",
        fraction(p.strong_from) && p.strong_from >= p.moderate_from,
        p.strong_from.to_string(),
        "must be in [0, 1] and at least moderate_from",
    )?;
    check(
        "moderate_from",
        fraction(p.moderate_from),
        p.moderate_from.to_string(),
        "must be in [0, 1]",
    )?;
    check(
        "limit_offsets",
        p.limit_offsets
            .iter()
            .all(|o| o.is_finite() && o.abs() < 1.0),
        format!("{:?}", p.limit_offsets),
        "each offset must be a fraction of the close in (−1, 1)",
    )?;
    check(
        "tick_size",
        p.tick_size.is_finite() && p.tick_size >= 1e-8,
        p.tick_size.to_string(),
        "must be a positive price of at least 1e-8",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tape_engine::event::{Bar, OrderId, Seq};
    use tape_engine::execution::{CostModel, OrderBook, WorkingOrder};
    use tape_engine::fixed::Money;
    use tape_engine::strategy::Decision;
    use tape_engine::time::Ts;

    fn params() -> TrendParams {
        TrendParams {
            benchmark: None,
            ..TrendParams::default()
        }
    }

    #[test]
    fn a_signal_needs_all_three_horizons_to_agree() {
        let p = params();
        // close 110 against SMAs 100, 105, 90 with ATR 5: scores 2, 1, 4 — all long.
        let a = alpha(&p, 110.0, [100.0, 105.0, 90.0], 5.0).expect("all agree");
        assert_eq!(a.scores, [2.0, 1.0, 4.0]);
        // One horizon against: no signal, whatever the others say.
        assert_eq!(alpha(&p, 110.0, [100.0, 115.0, 90.0], 5.0), None);
        // A zero score agrees with neither side.
        assert_eq!(alpha(&p, 110.0, [100.0, 110.0, 90.0], 5.0), None);
        // All below: a short signal.
        let short = alpha(&p, 80.0, [100.0, 105.0, 90.0], 5.0).expect("all agree");
        assert!(short.strength < 0.0);
    }

    #[test]
    fn strength_is_tanh_of_the_weighted_composite_over_three() {
        let p = params();
        let a = alpha(&p, 110.0, [100.0, 105.0, 90.0], 5.0).expect("signal");
        // 0.2 × 2 + 0.3 × 1 + 0.5 × 4 = 2.7; tanh(2.7 / 3) by Python's math.tanh.
        assert!((a.composite - 2.7).abs() < 1e-15);
        assert!((a.strength - 0.7162978701990245).abs() < 1e-15, "{a:?}");
        // Another temperature.
        let hot = TrendParams {
            temperature: 1.0,
            ..params()
        };
        let b = alpha(&hot, 110.0, [100.0, 105.0, 90.0], 5.0).expect("signal");
        assert!(b.strength > a.strength);
        // Below the minimum magnitude: dropped.
        let strict = TrendParams {
            min_strength: 0.72,
            ..params()
        };
        assert_eq!(alpha(&strict, 110.0, [100.0, 105.0, 90.0], 5.0), None);
    }

    #[test]
    fn the_atr_is_clamped_to_its_floor() {
        let p = params();
        let a = alpha(&p, 100.5, [100.0, 100.25, 100.0], 0.0).expect("signal");
        assert_eq!(a.scores, [0.5 / 1e-8, 0.25 / 1e-8, 0.5 / 1e-8]);
        assert!(a.scores.iter().all(|s| s.is_finite()));
    }

    #[test]
    fn order_tags_print_and_parse_back() {
        let tag = OrderTag {
            tier: Some(1),
            strength: -0.4321,
            week_id: 12,
            scale_day: 3,
        };
        assert_eq!(
            tag.to_string(),
            "tier=moderate;strength=-0.4321;week=12;day=3"
        );
        assert_eq!(OrderTag::parse(&tag.to_string()), Some(tag));
        let exit = OrderTag {
            tier: None,
            strength: 0.0,
            week_id: 7,
            scale_day: 1,
        };
        assert_eq!(exit.to_string(), "tier=exit;week=7;day=1");
        assert_eq!(OrderTag::parse("tier=exit;week=7;day=1"), Some(exit));
        for bad in [
            "",
            "tier=hot;strength=1;week=1;day=1",
            "week=1;tier=weak",
            "tier=weak;strength=x;week=1;day=1",
            "tier=exit;week=1;day=1;extra=2",
        ] {
            assert_eq!(OrderTag::parse(bad), None, "{bad}");
        }
        // From the reason the order records.
        let reason = Reason::new(
            ORDER.id,
            &[
                ReasonValue::Int(0),
                ReasonValue::Real(0.75),
                ReasonValue::Int(4),
                ReasonValue::Int(2),
                ReasonValue::Real(0.0025),
                ReasonValue::Price(Price::from_f64(10.0).expect("valid")),
            ],
        );
        assert_eq!(
            OrderTag::from_reason(&reason).map(|t| t.to_string()),
            Some("tier=strong;strength=0.75;week=4;day=2".to_string())
        );
    }

    #[test]
    fn tiers_switch_at_exactly_070_and_030() {
        let p = params();
        assert_eq!(tier(&p, 0.70), 0);
        assert_eq!(tier(&p, -0.70), 0);
        assert_eq!(tier(&p, 0.699_999_999), 1);
        assert_eq!(tier(&p, 0.30), 1);
        assert_eq!(tier(&p, -0.30), 1);
        assert_eq!(tier(&p, 0.299_999_999), 2);
        assert_eq!(tier(&p, 0.0), 2);
    }

    #[test]
    fn the_schedule_is_front_loaded_and_ends_at_exactly_one() {
        let s = schedule(5, 1.5);
        assert_eq!(s.len(), 5);
        assert_eq!(s[4], 1.0);
        let steps: Vec<f64> = s
            .iter()
            .scan(0.0, |prev, c| {
                let step = c - *prev;
                *prev = *c;
                Some(step)
            })
            .collect();
        for pair in steps.windows(2) {
            assert!(pair[0] > pair[1], "front-loaded: {steps:?}");
            assert!((pair[0] / pair[1] - 1.5).abs() < 1e-12, "{steps:?}");
        }
        // By hand: weights 1.5⁴, 1.5³, 1.5², 1.5, 1 = 5.0625, 3.375, 2.25, 1.5, 1 (sum 13.1875).
        assert!((s[0] - 5.0625 / 13.1875).abs() < 1e-15);
        // Even steps with a factor of 1, and one day means all at once.
        let even = schedule(4, 1.0);
        assert_eq!(even, vec![0.25, 0.5, 0.75, 1.0]);
        assert_eq!(schedule(1, 3.0), vec![1.0]);
        for days in 1..20 {
            assert_eq!(*schedule(days, 1.7).last().expect("a step"), 1.0);
        }
    }

    #[test]
    fn caps_apply_name_then_gross_then_net_and_the_order_matters() {
        // Name cap 0.2, gross cap 0.4: [0.5, 0.1, 0.1] → name → [0.2, 0.1, 0.1] (gross 0.4).
        let mut w = [0.5, 0.1, 0.1];
        let bound = constrain(&mut w, 0.2, 0.4, 1.0);
        assert_eq!(w, [0.2, 0.1, 0.1]);
        assert_eq!(bound, bound::NAME);
        // Gross first would have given [0.2, 0.0571…, 0.0571…]: a different portfolio.
        let gross_first = [0.5 * 0.4 / 0.7, 0.1 * 0.4 / 0.7, 0.1 * 0.4 / 0.7];
        assert!((w[1] - gross_first[1]).abs() > 0.04);
        // Gross binds after the name cap.
        let mut w = [0.3, 0.3, 0.3, 0.3];
        let bound = constrain(&mut w, 0.2, 0.6, 1.0);
        assert_eq!(bound, bound::NAME | bound::GROSS);
        for x in w {
            assert!((x - 0.15).abs() < 1e-15);
        }
        // Net binds last: longs 0.6, shorts −0.1, net cap 0.3 → longs × (0.3 + 0.1) / 0.6.
        let mut w = [0.3, 0.3, -0.1];
        let bound = constrain(&mut w, 1.0, 1.0, 0.3);
        assert_eq!(bound, bound::NET);
        assert!((w[0] - 0.2).abs() < 1e-15 && (w[1] - 0.2).abs() < 1e-15);
        assert_eq!(w[2], -0.1);
        let net: f64 = w.iter().sum();
        assert!((net - 0.3).abs() < 1e-15);
    }

    #[test]
    fn limit_prices_sit_on_the_tick_grid_never_more_aggressive() {
        // 100 × 1.0025 = 100.25 exactly on the grid stays; 33.333 × 1.001 = 33.366333 → 33.36.
        assert_eq!(
            limit_price(100.0, 0.0025, Side::Buy, 0.01),
            Price::from_f64(100.25).ok()
        );
        assert_eq!(
            limit_price(33.333, 0.001, Side::Buy, 0.01),
            Price::from_f64(33.36).ok()
        );
        // A sell: 33.333 × 0.999 = 33.299667 → up to 33.30.
        assert_eq!(
            limit_price(33.333, 0.001, Side::Sell, 0.01),
            Price::from_f64(33.30).ok()
        );
    }

    fn bar(symbol: u32, close: f64) -> Bar {
        let p = |v: f64| Price::from_f64(v).expect("valid");
        Bar::new(
            SymbolId(symbol),
            p(close),
            p(close + 0.5),
            p(close - 0.5),
            p(close),
            Quantity::from_units(1_000).expect("fits"),
        )
        .expect("consistent")
    }

    /// Feeds `days` rising closes for two symbols and returns each day's decisions.
    fn drive(trend: &mut Trend, days: usize, book: Option<&OrderBook>) -> Vec<Vec<Decision>> {
        let names_updated = [SymbolId(0), SymbolId(1)];
        let positions = [Quantity::ZERO, Quantity::ZERO];
        let mut out = Decisions::default();
        let mut all = Vec::new();
        for d in 0..days {
            // Up-trends with a wiggle, so all three horizons agree once warm.
            let wiggle = if d % 2 == 0 { 0.3 } else { -0.3 };
            let latest = [
                Some(bar(0, 50.0 + 0.1 * d as f64 + wiggle)),
                Some(bar(1, 80.0 + 0.05 * d as f64 - wiggle)),
            ];
            let mut view = MarketView::new(Ts(d as i64), &latest, &names_updated, &positions)
                .with_cash(Money::from_units(100_000).expect("fits"));
            if let Some(book) = book {
                view = view.with_orders(book);
            }
            let before = out.items().len();
            trend.on_slice(&view, &mut out);
            all.push(out.items()[before..].to_vec());
        }
        all
    }

    fn signal_rules(day: &[Decision]) -> Vec<(u16, f64)> {
        day.iter()
            .filter_map(|d| match d {
                Decision::Signal {
                    reason, strength, ..
                } => Some((reason.rule.0, *strength)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn no_signal_before_the_warmup_then_recalculation_every_five_days_with_daily_reemission() {
        let names = ["A".to_string(), "B".to_string()];
        let mut trend = Trend::new(params(), &names);
        let days = drive(&mut trend, 252 + 12, None);
        for (d, decisions) in days.iter().enumerate().take(251) {
            assert!(signal_rules(decisions).is_empty(), "day {d}: {decisions:?}");
        }
        // The 252nd bar (day 251) recalculates; days 252–255 re-emit; day 256 recalculates.
        let composite = COMPOSITE.id.0;
        let cached = CACHED.id.0;
        for (d, day) in days.iter().enumerate().skip(251) {
            let rules = signal_rules(day);
            assert_eq!(rules.len(), 2, "day {d}: both symbols signal");
            let expected = if (d - 251) % 5 == 0 {
                composite
            } else {
                cached
            };
            assert!(
                rules.iter().all(|(r, _)| *r == expected),
                "day {d}: {rules:?}"
            );
        }
        // A re-emission repeats the recalculation's strength exactly.
        assert_eq!(
            signal_rules(&days[251]),
            signal_rules(&days[253])
                .iter()
                .map(|(_, s)| (composite, *s))
                .collect::<Vec<_>>()
        );
        // Each week starts by cancelling the orders of earlier weeks, by week id.
        let cancels: Vec<u32> = days[256]
            .iter()
            .filter_map(|d| match d {
                Decision::CancelBeforeCycle { cycle, .. } => Some(*cycle),
                _ => None,
            })
            .collect();
        assert_eq!(cancels, vec![2]);
        assert!(!days[257]
            .iter()
            .any(|d| matches!(d, Decision::CancelBeforeCycle { .. })));
    }

    #[test]
    fn entries_are_tiered_limit_orders_citing_their_planned_target() {
        let names = ["A".to_string(), "B".to_string()];
        let mut trend = Trend::new(params(), &names);
        let days = drive(&mut trend, 253, None);
        let first = &days[251];
        let mut saw_order = false;
        for (i, d) in first.iter().enumerate() {
            if let Decision::Order {
                request, because, ..
            } = d
            {
                saw_order = true;
                assert!(matches!(request.kind, OrderKind::Limit { .. }), "{d:?}");
                let cause = because.map(Decisions::index).expect("cites its target");
                assert!(cause < i);
                assert!(matches!(
                    first[cause],
                    Decision::Target { routed: false, .. }
                ));
            }
        }
        assert!(saw_order, "{first:?}");
    }

    fn book_with(order: WorkingOrder) -> OrderBook {
        let mut book = OrderBook::new(CostModel::default(), 2);
        book.add(SymbolId(0), order).expect("fits");
        book
    }

    fn working(cycle: Option<u32>, bars_worked: u32) -> WorkingOrder {
        let mut w = WorkingOrder::new(
            OrderId(9),
            Seq(1),
            Side::Buy,
            Quantity::from_units(5).expect("fits"),
            OrderKind::Limit {
                limit: Price::from_f64(40.0).expect("valid"),
            },
            TimeInForce::Gtc,
            Price::from_f64(40.0).expect("valid"),
        );
        w.cycle = cycle;
        w.bars_worked = bars_worked;
        w
    }

    fn age_cancels(day: &[Decision]) -> usize {
        day.iter()
            .filter(|d| matches!(d, Decision::Cancel { reason, .. } if reason.rule == STALE_AGE.id))
            .count()
    }

    #[test]
    fn the_age_rule_applies_only_to_orders_without_a_week_id() {
        let names = ["A".to_string(), "B".to_string()];
        // Untagged and old: cancelled by age on the first day it is seen.
        let book = book_with(working(None, 5));
        let days = drive(&mut Trend::new(params(), &names), 1, Some(&book));
        assert_eq!(age_cancels(&days[0]), 1);
        // Untagged but young: kept.
        let book = book_with(working(None, 4));
        let days = drive(&mut Trend::new(params(), &names), 1, Some(&book));
        assert_eq!(age_cancels(&days[0]), 0);
        // Tagged with a week id, however old: never by age (the week rule handles it).
        let book = book_with(working(Some(3), 500));
        let days = drive(&mut Trend::new(params(), &names), 1, Some(&book));
        assert_eq!(age_cancels(&days[0]), 0);
    }
}
