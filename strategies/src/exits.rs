//! Exits a strategy attaches to an open long position, as building blocks: a time stop, a
//! move to break-even after a given profit, and a stop that trails the highest high by a
//! multiple of the ATR (following the ATR as it changes) or the volume-weighted average price
//! since entry by a multiple of the ATR. (A reward:risk target is a bracket's take-profit:
//! `entry + ratio × (entry − stop)`, see [`reward_risk_target`].)
//!
//! Each bar, [`OpenTrade::on_bar`] says what to do: nothing, move the stop (only ever up, to
//! the tightest of the rules that apply), or close at market. The strategy turns that into an
//! amend of its stop order or a market order, with the numbers in the reason.

use tape_engine::event::Bar;

/// Which exits apply, each off unless set.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ExitRules {
    /// Close at market after this many bars in the trade.
    pub time_stop_bars: Option<u32>,
    /// Move the stop to the entry once the high has gone this many initial risks (entry −
    /// initial stop) above the entry.
    pub break_even_r: Option<f64>,
    /// Trail the highest high since entry by this many ATRs.
    pub atr_trail: Option<f64>,
    /// Trail the volume-weighted average price since entry by this many ATRs.
    pub vwap_trail: Option<f64>,
}

/// A take-profit `ratio` initial risks above the entry.
pub fn reward_risk_target(entry: f64, stop: f64, ratio: f64) -> f64 {
    entry + ratio * (entry - stop)
}

/// What to do with an open trade after a bar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExitAction {
    /// Nothing.
    Hold,
    /// Move the stop up to this price.
    MoveStop {
        /// The new stop.
        to: f64,
    },
    /// Close at market: the time stop.
    Close {
        /// Bars in the trade.
        bars: u32,
    },
}

/// An open long trade: its entry, its stop, and what the exits track.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpenTrade {
    /// The entry price.
    pub entry: f64,
    /// The stop when the trade opened.
    pub initial_stop: f64,
    /// The current stop.
    pub stop: f64,
    /// Bars since entry.
    pub bars: u32,
    /// The highest high since entry.
    pub high: f64,
    /// Σ typical price × volume since entry.
    vwap_numerator: f64,
    /// Σ volume since entry.
    vwap_volume: f64,
}

impl OpenTrade {
    /// A trade entered at `entry` with its stop at `stop` (below the entry).
    pub fn new(entry: f64, stop: f64) -> Self {
        Self {
            entry,
            initial_stop: stop,
            stop,
            bars: 0,
            high: entry,
            vwap_numerator: 0.0,
            vwap_volume: 0.0,
        }
    }

    /// The volume-weighted average of the typical price `(high + low + close) / 3` since
    /// entry, once a bar with volume was seen.
    pub fn vwap(&self) -> Option<f64> {
        (self.vwap_volume > 0.0).then(|| self.vwap_numerator / self.vwap_volume)
    }

    /// Takes the next bar (and the ATR as of it, if ready) and says what to do.
    pub fn on_bar(&mut self, rules: &ExitRules, bar: &Bar, atr: Option<f64>) -> ExitAction {
        self.bars += 1;
        let (high, low, close) = (bar.high.to_f64(), bar.low.to_f64(), bar.close.to_f64());
        self.high = self.high.max(high);
        let volume = bar.volume.to_f64();
        self.vwap_numerator += (high + low + close) / 3.0 * volume;
        self.vwap_volume += volume;
        if rules.time_stop_bars.is_some_and(|n| self.bars >= n) {
            return ExitAction::Close { bars: self.bars };
        }
        let risk = self.entry - self.initial_stop;
        let mut to = self.stop;
        if let Some(r) = rules.break_even_r {
            if risk > 0.0 && self.high >= self.entry + r * risk {
                to = to.max(self.entry);
            }
        }
        if let (Some(k), Some(atr)) = (rules.atr_trail, atr) {
            to = to.max(self.high - k * atr);
        }
        if let (Some(k), Some(atr), Some(vwap)) = (rules.vwap_trail, atr, self.vwap()) {
            to = to.max(vwap - k * atr);
        }
        if to > self.stop {
            self.stop = to;
            ExitAction::MoveStop { to }
        } else {
            ExitAction::Hold
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tape_engine::event::SymbolId;
    use tape_engine::fixed::{Price, Quantity};

    fn bar(h: f64, l: f64, c: f64, v: i64) -> Bar {
        let p = |x: f64| Price::from_f64(x).expect("valid");
        let q = Quantity::from_units(v).expect("fits");
        Bar::new(SymbolId(0), p(c), p(h), p(l), p(c), q).expect("valid")
    }

    #[test]
    fn break_even_after_one_r_and_the_stop_never_falls() {
        let rules = ExitRules {
            break_even_r: Some(1.0),
            ..ExitRules::default()
        };
        let mut t = OpenTrade::new(100.0, 95.0);
        assert_eq!(
            t.on_bar(&rules, &bar(104.0, 99.0, 103.0, 10), None),
            ExitAction::Hold
        );
        // The high reaches 105 = entry + 1 × 5: the stop moves to 100.
        assert_eq!(
            t.on_bar(&rules, &bar(105.0, 101.0, 104.0, 10), None),
            ExitAction::MoveStop { to: 100.0 }
        );
        assert_eq!(
            t.on_bar(&rules, &bar(103.0, 96.0, 97.0, 10), None),
            ExitAction::Hold
        );
        assert_eq!(t.stop, 100.0);
    }

    #[test]
    fn the_atr_trail_follows_the_high_and_the_atr() {
        let rules = ExitRules {
            atr_trail: Some(2.0),
            ..ExitRules::default()
        };
        let mut t = OpenTrade::new(100.0, 90.0);
        // High 104, ATR 3: 104 − 6 = 98.
        assert_eq!(
            t.on_bar(&rules, &bar(104.0, 100.0, 103.0, 10), Some(3.0)),
            ExitAction::MoveStop { to: 98.0 }
        );
        // The ATR widens to 4 with no new high: 104 − 8 = 96 would loosen it, so it holds.
        assert_eq!(
            t.on_bar(&rules, &bar(103.0, 99.0, 100.0, 10), Some(4.0)),
            ExitAction::Hold
        );
        // A new high of 110 with ATR 4: 102.
        assert_eq!(
            t.on_bar(&rules, &bar(110.0, 103.0, 109.0, 10), Some(4.0)),
            ExitAction::MoveStop { to: 102.0 }
        );
    }

    #[test]
    fn the_vwap_trail_and_the_time_stop() {
        let rules = ExitRules {
            vwap_trail: Some(1.0),
            time_stop_bars: Some(3),
            ..ExitRules::default()
        };
        let mut t = OpenTrade::new(100.0, 90.0);
        // Typical prices 102 (volume 10) and 108 (volume 30): VWAP (1020 + 3240) / 40 = 106.5.
        t.on_bar(&rules, &bar(104.0, 100.0, 102.0, 10), Some(50.0));
        assert_eq!(
            t.on_bar(&rules, &bar(110.0, 106.0, 108.0, 30), Some(2.0)),
            ExitAction::MoveStop { to: 104.5 }
        );
        assert_eq!(t.vwap(), Some(106.5));
        assert_eq!(
            t.on_bar(&rules, &bar(109.0, 107.0, 108.0, 10), Some(2.0)),
            ExitAction::Close { bars: 3 }
        );
        assert_eq!(reward_risk_target(100.0, 95.0, 3.0), 115.0);
    }
}
