//! A deliberately leaky strategy, compiled only for tests: it trades on tomorrow's close,
//! which it reads from a copy of the whole market handed to it at construction — the kind of
//! bug (a shifted index, a joined future column) the look-ahead fuzzer exists to catch.

use tape_engine::event::{Direction, Reason, ReasonValue, RuleId, RuleSpec, SymbolId, Unit};
use tape_engine::fixed::{Price, Quantity};
use tape_engine::market::MarketView;
use tape_engine::sequencer::TimedBar;
use tape_engine::strategy::{Decisions, Strategy};
use tape_engine::time::Ts;

const PEEK: RuleSpec = RuleSpec {
    id: RuleId::strategy(0),
    name: "peek_tomorrow",
    summary: "LEAKY: long when tomorrow's close is above today's.",
    fields: &[("tomorrow_close", Unit::Price)],
};

/// Long when the next bar's close is higher; flat otherwise.
pub struct PeekingStrategy {
    /// Per symbol: (time, close), in time order.
    series: Vec<Vec<(Ts, Price)>>,
    long: Vec<bool>,
    quantity: Quantity,
}

impl PeekingStrategy {
    /// A strategy that has seen `market` — all of it.
    pub fn new(market: &[TimedBar], symbols: usize) -> Self {
        let mut series = vec![Vec::new(); symbols];
        for b in market {
            series[b.bar.symbol.0 as usize].push((b.ts, b.bar.close));
        }
        Self {
            series,
            long: vec![false; symbols],
            quantity: Quantity::from_units(1).expect("fits"),
        }
    }
}

impl Strategy for PeekingStrategy {
    fn rules(&self) -> &'static [RuleSpec] {
        std::slice::from_ref(&PEEK)
    }

    fn on_slice(&mut self, view: &MarketView<'_>, out: &mut Decisions) {
        for &SymbolId(s) in view.updated() {
            let series = &self.series[s as usize];
            let Ok(i) = series.binary_search_by_key(&view.now(), |&(t, _)| t) else {
                continue;
            };
            let Some(&(_, tomorrow)) = series.get(i + 1) else {
                continue;
            };
            let want = tomorrow > series[i].1;
            if want == self.long[s as usize] {
                continue;
            }
            self.long[s as usize] = want;
            let direction = if want {
                Direction::Long
            } else {
                Direction::Flat
            };
            let reason = Reason::new(PEEK.id, &[ReasonValue::Price(tomorrow)]);
            let signal = out.signal(SymbolId(s), direction, 1.0, reason);
            let position = if want { self.quantity } else { Quantity::ZERO };
            out.target(SymbolId(s), position, reason, Some(signal));
        }
    }
}
