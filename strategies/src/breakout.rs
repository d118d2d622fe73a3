//! Channel breakout with bracketed, volatility-sized entries: when a symbol with nothing open
//! closes above the highest close of the previous `lookback` bars, buy a quantity that risks
//! `risk_per_trade` of equity if the price falls `stop_atr` ATRs, in a bracket: a take-profit
//! `reward_risk` times that distance above the close, and a stop-loss that distance below —
//! a trailing stop with that trail when `trailing` is on.
//!
//! Each entry is a `signal` (the breakout's numbers) and a bracket whose order reason holds
//! the sizing numbers. The strategy never sells on its own: its exits are the bracket's.

use serde::{Deserialize, Serialize};
use tape_engine::event::{
    Direction, Reason, ReasonValue, RuleId, RuleSpec, Side, SymbolId, TimeInForce, Trail, Unit,
};
use tape_engine::execution::{Bracket, Link, OrderKind};
use tape_engine::fixed::Price;
use tape_engine::market::MarketView;
use tape_engine::strategy::{Decisions, OrderRequest, Strategy};

use crate::exits::{ExitAction, ExitRules, OpenTrade};
use crate::indicators::{Atr, Highest};
use crate::sizing::{fixed_fraction, risk_per_stop};

/// Parameters of [`Breakout`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakoutParams {
    /// Bars of the channel whose highest close a breakout beats (≥ 1).
    pub lookback: u32,
    /// ATR period, Wilder's smoothing (≥ 1).
    pub atr_period: u32,
    /// The stop's distance, in ATRs (> 0).
    pub stop_atr: f64,
    /// The take-profit's distance, in stop distances (> 0).
    pub reward_risk: f64,
    /// The share of equity an entry risks to its stop (0 < x ≤ 1).
    pub risk_per_trade: f64,
    /// An entry is at most this share of equity, and no more than the cash buys (0 < x ≤ 1).
    pub max_fraction: f64,
    /// The stop-loss trails the highs at the stop distance.
    pub trailing: bool,
    /// Exits are rounded to this price grid (take-profit up, stop down).
    pub price_tick: f64,
    /// Close a trade at market after this many bars (0: never).
    pub time_stop_bars: u32,
    /// Move the stop to the entry once the high is this many initial risks up (0: never).
    pub break_even_r: f64,
    /// Move the stop up to the highest high less this many ATRs, as the ATR changes (0: no).
    pub atr_trail: f64,
    /// Move the stop up to the VWAP since entry less this many ATRs (0: no).
    pub vwap_trail: f64,
}

impl Default for BreakoutParams {
    fn default() -> Self {
        Self {
            lookback: 20,
            atr_period: 14,
            stop_atr: 2.0,
            reward_risk: 3.0,
            risk_per_trade: 0.01,
            max_fraction: 0.2,
            trailing: true,
            price_tick: 0.01,
            time_stop_bars: 0,
            break_even_r: 0.0,
            atr_trail: 0.0,
            vwap_trail: 0.0,
        }
    }
}

impl BreakoutParams {
    /// The exits these parameters attach to each trade.
    pub fn exit_rules(&self) -> ExitRules {
        let on = |v: f64| (v > 0.0).then_some(v);
        ExitRules {
            time_stop_bars: (self.time_stop_bars > 0).then_some(self.time_stop_bars),
            break_even_r: on(self.break_even_r),
            atr_trail: on(self.atr_trail),
            vwap_trail: on(self.vwap_trail),
        }
    }
}

/// The breakout rule: what an entry's `signal` records.
pub const BREAKOUT: RuleSpec = RuleSpec {
    id: RuleId::strategy(0),
    name: "channel_breakout",
    summary: "Long when the close beats the highest close of the previous lookback bars and nothing is open in the symbol.",
    fields: &[
        ("lookback", Unit::Int),
        ("close", Unit::Price),
        ("channel_high", Unit::Price),
        ("atr", Unit::Real),
    ],
};

/// The sizing rule: what an entry's bracket order records.
pub const RISK_SIZED: RuleSpec = RuleSpec {
    id: RuleId::strategy(1),
    name: "risk_per_stop",
    summary: "Buys as many whole units as lose risk_per_trade of equity at the stop (at most max_fraction of equity, and what the cash buys), bracketed by a take-profit at reward_risk stop distances and the stop-loss.",
    fields: &[
        ("equity", Unit::Money),
        ("risk_per_trade", Unit::Real),
        ("stop_distance", Unit::Real),
        ("quantity", Unit::Quantity),
        ("take_profit", Unit::Price),
        ("stop_loss", Unit::Price),
    ],
};

/// An exit moved the stop-loss up.
pub const STOP_MOVED: RuleSpec = RuleSpec {
    id: RuleId::strategy(2),
    name: "exit_stop_moved",
    summary: "The stop-loss moved up to the tightest of break-even (after break_even_r initial risks), the highest high less atr_trail ATRs, and the VWAP since entry less vwap_trail ATRs.",
    fields: &[
        ("to", Unit::Price),
        ("entry", Unit::Real),
        ("high", Unit::Real),
        ("atr", Unit::Real),
    ],
};

/// The time stop closed a trade.
pub const TIME_STOP: RuleSpec = RuleSpec {
    id: RuleId::strategy(3),
    name: "exit_time_stop",
    summary:
        "A trade still open after time_stop_bars bars is closed at market and its exits cancelled.",
    fields: &[("bars", Unit::Int)],
};

const RULES: &[RuleSpec] = &[BREAKOUT, RISK_SIZED, STOP_MOVED, TIME_STOP];

#[derive(Clone, Debug)]
struct SymbolState {
    atr: Atr,
    channel: Highest,
    /// The entry close and stop-loss of the bracket placed last (for the trade it opens).
    placed: Option<(f64, f64)>,
    /// The open trade the exits follow.
    trade: Option<OpenTrade>,
}

/// The strategy.
#[derive(Clone, Debug)]
pub struct Breakout {
    params: BreakoutParams,
    symbols: Vec<SymbolState>,
}

impl Breakout {
    /// A breakout over `symbols` symbols. Parameters are validated by [`crate::StrategySpec`].
    pub fn new(params: BreakoutParams, symbols: usize) -> Self {
        let state = SymbolState {
            atr: Atr::new(params.atr_period as usize),
            channel: Highest::new(params.lookback as usize),
            placed: None,
            trade: None,
        };
        Self {
            params,
            symbols: vec![state; symbols],
        }
    }
}

/// `value` on a `tick` grid, rounded up or down; `None` if not a positive price.
fn on_grid(tick: f64, value: f64, up: bool) -> Option<Price> {
    let ticks = value / tick;
    let ticks = if up { ticks.ceil() } else { ticks.floor() };
    Price::from_f64(ticks * tick).ok()
}

impl Strategy for Breakout {
    fn rules(&self) -> &'static [RuleSpec] {
        RULES
    }

    fn inspect(&self, symbol: SymbolId, out: &mut Vec<(&'static str, String)>) {
        let Some(state) = self.symbols.get(symbol.0 as usize) else {
            return;
        };
        out.push((
            "channel_high",
            state
                .channel
                .value()
                .map_or("warming up".to_string(), |p| p.to_string()),
        ));
        out.push((
            "atr",
            state
                .atr
                .value()
                .map_or("warming up".to_string(), |a| a.to_string()),
        ));
        match state.trade {
            Some(t) => {
                out.push(("trade_entry", t.entry.to_string()));
                out.push(("trade_stop", t.stop.to_string()));
                out.push(("trade_bars", t.bars.to_string()));
                out.push(("trade_high", t.high.to_string()));
            }
            None => out.push(("trade", "none".to_string())),
        }
    }

    fn on_slice(&mut self, view: &MarketView<'_>, out: &mut Decisions) {
        let equity = view.equity();
        let tick = self.params.price_tick;
        for &symbol in view.updated() {
            let Some(bar) = view.latest(symbol) else {
                continue;
            };
            let SymbolId(index) = symbol;
            let state = &mut self.symbols[index as usize];
            // The channel of the previous bars, before this close joins it.
            let channel = state.channel.value();
            state.channel.push(bar.close);
            state.atr.push(bar);
            let held = view.position(symbol);
            if held.raw() > 0 {
                let rules = self.params.exit_rules();
                let atr = state.atr.value();
                let trade = match (state.trade, state.placed) {
                    (Some(t), _) => Some(t),
                    (None, Some((entry, stop))) => Some(OpenTrade::new(entry, stop)),
                    (None, None) => None,
                };
                let Some(mut trade) = trade else { continue };
                let action = trade.on_bar(&rules, bar, atr);
                state.trade = Some(trade);
                let stop_loss = view.working_orders(symbol).iter().find(|w| {
                    matches!(
                        w.kind,
                        OrderKind::Stop { .. } | OrderKind::TrailingStop { .. }
                    ) && matches!(w.link, Some(Link::OneCancelsOther { .. }))
                });
                match action {
                    ExitAction::Hold => {}
                    ExitAction::MoveStop { to } => {
                        let (Some(order), Some(price)) = (stop_loss, on_grid(tick, to, false))
                        else {
                            continue;
                        };
                        if order.kind.stop().is_some_and(|current| price > current) {
                            let why = Reason::new(
                                STOP_MOVED.id,
                                &[
                                    ReasonValue::Price(price),
                                    ReasonValue::Real(trade.entry),
                                    ReasonValue::Real(trade.high),
                                    ReasonValue::Real(atr.unwrap_or(f64::NAN)),
                                ],
                            );
                            out.amend(symbol, order.order, None, None, Some(price), why);
                        }
                    }
                    ExitAction::Close { bars } => {
                        let why = Reason::new(TIME_STOP.id, &[ReasonValue::Int(bars.into())]);
                        if let Some(order) = stop_loss {
                            // Cancelling the stop-loss cancels its take-profit with it.
                            out.cancel(symbol, order.order, why);
                        }
                        let close_out = OrderRequest {
                            symbol,
                            side: Side::Sell,
                            quantity: held,
                            kind: OrderKind::Market,
                            time_in_force: TimeInForce::Gtc,
                        };
                        out.order(close_out, why, None);
                        state.trade = None;
                        state.placed = None;
                    }
                }
                continue;
            }
            state.trade = None;
            let (Some(high), Some(atr)) = (channel, state.atr.value()) else {
                continue;
            };
            let flat = held.is_zero() && view.working_orders(symbol).is_empty();
            if !flat || bar.close <= high || atr <= 0.0 {
                continue;
            }
            let close = bar.close.to_f64();
            let distance = self.params.stop_atr * atr;
            // Risk-sized, then capped by the position's share of equity and by the cash.
            let quantity = risk_per_stop(equity, self.params.risk_per_trade, distance)
                .min(fixed_fraction(equity, self.params.max_fraction, close))
                .min(fixed_fraction(view.cash(), 1.0, close));
            let take_profit = on_grid(tick, close + self.params.reward_risk * distance, true);
            let stop_loss = on_grid(tick, close - distance, false);
            let trail = on_grid(tick, distance, true);
            let (Some(take_profit), Some(stop_loss), Some(trail)) = (take_profit, stop_loss, trail)
            else {
                continue;
            };
            if quantity.is_zero() {
                continue;
            }
            let why = Reason::new(
                BREAKOUT.id,
                &[
                    ReasonValue::Int(self.params.lookback.into()),
                    ReasonValue::Price(bar.close),
                    ReasonValue::Price(high),
                    ReasonValue::Real(atr),
                ],
            );
            let signal = out.signal(symbol, Direction::Long, 1.0, why);
            let sizing = Reason::new(
                RISK_SIZED.id,
                &[
                    ReasonValue::Money(equity),
                    ReasonValue::Real(self.params.risk_per_trade),
                    ReasonValue::Real(distance),
                    ReasonValue::Quantity(quantity),
                    ReasonValue::Price(take_profit),
                    ReasonValue::Price(stop_loss),
                ],
            );
            let entry = OrderRequest {
                symbol,
                side: Side::Buy,
                quantity,
                kind: OrderKind::Market,
                time_in_force: TimeInForce::Gtc,
            };
            let exits = Bracket {
                take_profit,
                stop_loss,
                trail: self.params.trailing.then_some(Trail::Price(trail)),
            };
            out.bracket(entry, exits, sizing, Some(signal));
            state.placed = Some((close, stop_loss.to_f64()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tape_engine::event::Bar;
    use tape_engine::fixed::{Money, Quantity};
    use tape_engine::strategy::Decision;
    use tape_engine::time::Ts;

    fn bar(close: f64) -> Bar {
        let p = |v: f64| Price::from_f64(v).expect("valid");
        Bar::new(
            SymbolId(0),
            p(close),
            p(close + 1.0),
            p(close - 1.0),
            p(close),
            Quantity::ZERO,
        )
        .expect("consistent")
    }

    #[test]
    fn a_breakout_buys_a_risk_sized_bracket() {
        let params = BreakoutParams {
            lookback: 3,
            atr_period: 3,
            stop_atr: 2.0,
            reward_risk: 3.0,
            risk_per_trade: 0.01,
            max_fraction: 1.0,
            trailing: true,
            price_tick: 0.01,
            ..BreakoutParams::default()
        };
        let mut s = Breakout::new(params, 1);
        let mut out = Decisions::default();
        let positions = [Quantity::ZERO];
        let updated = [SymbolId(0)];
        let mut decided = Vec::new();
        for (i, close) in [100.0, 101.0, 100.5, 100.8, 102.0].into_iter().enumerate() {
            let latest = [Some(bar(close))];
            let view = MarketView::new(Ts(i as i64), &latest, &updated, &positions)
                .with_cash(Money::from_units(100_000).expect("fits"));
            let before = out.items().len();
            s.on_slice(&view, &mut out);
            decided.extend(out.items()[before..].iter().map(|d| (i, *d)));
        }
        // Bars 0–2 fill the channel; bar 0 gives the ATR its first close and bars 1–3 its
        // first three true ranges, all 2 (high − low), so both are ready at bar 3, whose
        // close (100.8) does not beat 101; bar 4 (102) does. There the high of 103 is 2.2
        // above the previous close of 100.8 (exactly, in fixed point): the ATR is
        // (2 × 2 + 2.2) / 3.
        assert_eq!(decided.len(), 2, "{decided:?}");
        let (i, Decision::Signal { reason, .. }) = decided[0] else {
            panic!("a signal first: {decided:?}")
        };
        assert_eq!(i, 4);
        let atr = f64::from_bits(reason.raw_values()[3] as u64);
        assert_eq!(atr, (2.0 * 2.0 + 2.2) / 3.0);
        let Decision::Order {
            request, bracket, ..
        } = decided[1].1
        else {
            panic!("then the bracket")
        };
        let distance = 2.0 * atr;
        let units = (100_000.0 * 0.01 / distance).floor() as i64;
        assert_eq!(request.quantity, Quantity::from_units(units).expect("fits"));
        let exits = bracket.expect("a bracket");
        let tick = |v: f64, up: bool| {
            let t = v / 0.01;
            Price::from_f64(if up { t.ceil() } else { t.floor() } * 0.01).expect("valid")
        };
        assert_eq!(exits.take_profit, tick(102.0 + 3.0 * distance, true));
        assert_eq!(exits.stop_loss, tick(102.0 - distance, false));
        assert_eq!(exits.trail, Some(Trail::Price(tick(distance, true))));
    }
}
