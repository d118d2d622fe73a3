//! Fast/slow simple-moving-average crossover: long while the fast SMA of closes is above the
//! slow one, flat otherwise, with a fixed position size.
//!
//! Each change of direction is a `signal` whose reason carries both periods and both SMA
//! values, followed by a `target` of `quantity` (long) or zero (flat). Comparisons are exact
//! (integer sums), so a tie is a tie on every machine: a tie counts as "not above" (flat).

use serde::{Deserialize, Serialize};
use tape_engine::event::{Direction, Reason, ReasonValue, RuleId, RuleSpec, SymbolId, Unit};
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
}

impl Default for SmaCrossParams {
    fn default() -> Self {
        Self {
            fast: 20,
            slow: 100,
            quantity: 100.0,
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

const RULES: &[RuleSpec] = &[SMA_CROSS, FIXED_SIZE];

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
    fn rules(&self) -> &'static [RuleSpec] {
        RULES
    }

    fn on_slice(&mut self, view: &MarketView<'_>, out: &mut Decisions) {
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
            let wanted = if order.is_gt() {
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
            let reason = Reason::new(
                SMA_CROSS.id,
                &[
                    ReasonValue::Int(self.params.fast.into()),
                    ReasonValue::Int(self.params.slow.into()),
                    ReasonValue::Price(fast),
                    ReasonValue::Price(slow),
                    ReasonValue::Price(bar.close),
                ],
            );
            let strength = if wanted == Direction::Long { 1.0 } else { 0.0 };
            let signal = out.signal(symbol, wanted, strength, reason);
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
