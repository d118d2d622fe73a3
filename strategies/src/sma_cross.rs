//! Fast/slow simple-moving-average crossover: long while the fast SMA of closes is above the
//! slow one, flat otherwise, with a fixed position size.
//!
//! Each change of direction is a `signal` whose reason carries both periods and both SMA
//! values, followed by a `target` of `quantity` (long) or zero (flat). Comparisons are exact
//! (integer sums), so a tie is a tie on every machine: a tie counts as "not above" (flat).
//!
//! With a `feature_gate`, long also needs a point-in-time feature of the symbol (its latest
//! value available by the bar's close) to be at least `min`: no value yet, or a lower one,
//! means flat. The gated signal's reason adds the feature value and when it became available.

use serde::{Deserialize, Serialize};
use tape_engine::event::{
    Direction, FeatureId, Reason, ReasonValue, RuleId, RuleSpec, SymbolId, Unit,
};
use tape_engine::fixed::Quantity;
use tape_engine::market::MarketView;
use tape_engine::strategy::{Decisions, Strategy};

use crate::indicators::Sma;

/// Parameters of [`SmaCross`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmaCrossParams {
    /// Fast SMA period, in bars (≥ 1).
    pub fast: u32,
    /// Slow SMA period, in bars (> fast).
    pub slow: u32,
    /// Units held while long (> 0).
    pub quantity: f64,
    /// Long only while a point-in-time feature is at least a minimum (optional).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature_gate: Option<FeatureGate>,
}

/// The `feature_gate` of [`SmaCrossParams`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureGate {
    /// The feature's name, as in the `[features]` files.
    pub feature: String,
    /// The least value that allows a long position.
    pub min: f64,
}

impl Default for SmaCrossParams {
    fn default() -> Self {
        Self {
            fast: 20,
            slow: 100,
            quantity: 100.0,
            feature_gate: None,
        }
    }
}

/// The crossover rule: what a `signal` of this strategy records.
pub const SMA_CROSS: RuleSpec = RuleSpec {
    id: RuleId::strategy(0),
    name: "sma_cross",
    summary: "Long while the fast SMA of closes is above the slow SMA, flat otherwise; a signal is recorded when that changes.",
    fields: &[
        ("fast_period", Unit::Int),
        ("slow_period", Unit::Int),
        ("fast_sma", Unit::Price),
        ("slow_sma", Unit::Price),
        ("close", Unit::Price),
    ],
};

/// The sizing rule: what a `target` of this strategy records.
pub const FIXED_SIZE: RuleSpec = RuleSpec {
    id: RuleId::strategy(1),
    name: "fixed_size",
    summary: "A long signal targets a fixed quantity; a flat signal targets none.",
    fields: &[("quantity", Unit::Quantity)],
};

/// The crossover rule with a feature gate: what a `signal` of a gated crossover records.
pub const SMA_CROSS_GATED: RuleSpec = RuleSpec {
    id: RuleId::strategy(2),
    name: "sma_cross_gated",
    summary: "Long while the fast SMA of closes is above the slow SMA and the gating feature is at least its minimum, flat otherwise; a signal is recorded when that changes.",
    fields: &[
        ("fast_period", Unit::Int),
        ("slow_period", Unit::Int),
        ("fast_sma", Unit::Price),
        ("slow_sma", Unit::Price),
        ("close", Unit::Price),
        ("feature_value", Unit::Real),
        ("feature_available_at_ns", Unit::Int),
        ("gate_min", Unit::Real),
    ],
};

const RULES: &[RuleSpec] = &[SMA_CROSS, FIXED_SIZE];
const RULES_GATED: &[RuleSpec] = &[SMA_CROSS, FIXED_SIZE, SMA_CROSS_GATED];

#[derive(Clone, Debug)]
struct SymbolState {
    fast: Sma,
    slow: Sma,
    direction: Direction,
}

/// The strategy.
#[derive(Clone, Debug)]
pub struct SmaCross {
    params: SmaCrossParams,
    quantity: Quantity,
    symbols: Vec<SymbolState>,
}

impl SmaCross {
    /// A crossover over `symbols` symbols. Parameters are validated by [`crate::StrategySpec`].
    pub fn new(params: SmaCrossParams, quantity: Quantity, symbols: usize) -> Self {
        let state = SymbolState {
            fast: Sma::new(params.fast as usize),
            slow: Sma::new(params.slow as usize),
            direction: Direction::Flat,
        };
        Self {
            params,
            quantity,
            symbols: vec![state; symbols],
        }
    }
}

impl Strategy for SmaCross {
    fn inspect(&self, symbol: SymbolId, out: &mut Vec<(&'static str, String)>) {
        let Some(state) = self.symbols.get(symbol.0 as usize) else {
            return;
        };
        let show = |v: Option<tape_engine::fixed::Price>| {
            v.map_or("warming up".to_string(), |p| p.to_string())
        };
        out.push(("fast_sma", show(state.fast.value())));
        out.push(("slow_sma", show(state.slow.value())));
        out.push(("direction", state.direction.name().to_string()));
    }

    fn rules(&self) -> &'static [RuleSpec] {
        if self.params.feature_gate.is_some() {
            RULES_GATED
        } else {
            RULES
        }
    }

    fn on_slice(&mut self, view: &MarketView<'_>, out: &mut Decisions) {
        let gate = self
            .params
            .feature_gate
            .as_ref()
            .map(|g| (view.feature_id(&g.feature), g.min));
        for &symbol in view.updated() {
            let Some(bar) = view.latest(symbol) else {
                continue;
            };
            let SymbolId(index) = symbol;
            let state = &mut self.symbols[index as usize];
            state.fast.push(bar.close);
            state.slow.push(bar.close);
            let Some(order) = state.fast.cmp_exact(&state.slow) else {
                continue;
            };
            // The gate's view of the feature: its latest value available by now, if any.
            let gated = gate.map(|(id, min)| {
                let seen = id.and_then(|id: FeatureId| view.feature(id, symbol));
                (seen, min)
            });
            let open = gated.is_none_or(|(seen, min)| seen.is_some_and(|o| o.value >= min));
            let wanted = if order.is_gt() && open {
                Direction::Long
            } else {
                Direction::Flat
            };
            if wanted == state.direction {
                continue;
            }
            state.direction = wanted;
            let (Some(fast), Some(slow)) = (state.fast.value(), state.slow.value()) else {
                continue;
            };
            let cross = [
                ReasonValue::Int(self.params.fast.into()),
                ReasonValue::Int(self.params.slow.into()),
                ReasonValue::Price(fast),
                ReasonValue::Price(slow),
                ReasonValue::Price(bar.close),
            ];
            let reason = match gated {
                None => Reason::new(SMA_CROSS.id, &cross),
                Some((seen, min)) => {
                    // No value yet: NaN and time 0 say so in the reason.
                    let (value, at) = seen.map_or((f64::NAN, 0), |o| (o.value, o.available_at.0));
                    let [a, b, c, d, e] = cross;
                    let values = [
                        a,
                        b,
                        c,
                        d,
                        e,
                        ReasonValue::Real(value),
                        ReasonValue::Int(at),
                        ReasonValue::Real(min),
                    ];
                    Reason::new(SMA_CROSS_GATED.id, &values)
                }
            };
            let strength = if wanted == Direction::Long { 1.0 } else { 0.0 };
            let signal = match gate.and_then(|(id, _)| id) {
                Some(feature) => out.signal_with_feature(symbol, wanted, strength, reason, feature),
                None => out.signal(symbol, wanted, strength, reason),
            };
            let position = if wanted == Direction::Long {
                self.quantity
            } else {
                Quantity::ZERO
            };
            let sizing = Reason::new(FIXED_SIZE.id, &[ReasonValue::Quantity(self.quantity)]);
            out.target(symbol, position, sizing, Some(signal));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tape_engine::event::Bar;
    use tape_engine::fixed::Price;
    use tape_engine::strategy::Decision;
    use tape_engine::time::Ts;

    fn bar(close: f64) -> Bar {
        let p = Price::from_f64(close).expect("valid");
        Bar::new(SymbolId(0), p, p, p, p, Quantity::ZERO).expect("consistent")
    }

    fn run(closes: &[f64]) -> Vec<(usize, Direction)> {
        let params = SmaCrossParams {
            fast: 2,
            slow: 3,
            quantity: 10.0,
            feature_gate: None,
        };
        let mut s = SmaCross::new(params, Quantity::from_units(10).expect("fits"), 1);
        let mut out = Decisions::default();
        let mut signals = Vec::new();
        for (i, &c) in closes.iter().enumerate() {
            let latest = [Some(bar(c))];
            let updated = [SymbolId(0)];
            let positions = [Quantity::ZERO];
            let view = MarketView::new(Ts(i as i64), &latest, &updated, &positions);
            let before = out.items().len();
            s.on_slice(&view, &mut out);
            for d in &out.items()[before..] {
                if let Decision::Signal { direction, .. } = d {
                    signals.push((i, *direction));
                }
            }
        }
        signals
    }

    #[test]
    fn signals_only_on_a_change_after_warm_up() {
        // SMA2 vs SMA3: bar 2 is the first with both; 2..: (2.5 vs 2) long; then falls.
        let signals = run(&[1.0, 2.0, 3.0, 4.0, 1.0, 1.0, 5.0]);
        // bar 2: fast (2+3)/2=2.5 > slow 2 → long. bar 4: fast 2.5 < slow 2.67 → flat.
        // bar 6: fast 3 > slow 2.33 → long.
        assert_eq!(
            signals,
            vec![
                (2, Direction::Long),
                (4, Direction::Flat),
                (6, Direction::Long)
            ]
        );
    }

    #[test]
    fn a_tie_is_flat() {
        assert_eq!(
            run(&[2.0, 2.0, 2.0, 2.0]),
            vec![],
            "equal SMAs never go long"
        );
    }
}
