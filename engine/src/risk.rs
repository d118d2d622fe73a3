//! The risk engine inside the core: pre-trade limits on entries, the drawdown halt, and the
//! circuit breaker.
//!
//! Rules (docs/execution.md §8 has a worked example of each):
//! - An order is an **entry** when it takes the symbol's exposure (position plus working
//!   orders) further from zero; every other order reduces risk and always passes.
//! - Entries are refused, each by a recorded rule, when: the breaker is tripped; the
//!   drawdown from the equity peak is at least `drawdown_halt`; the order would open a
//!   position beyond `max_open_positions`; or the symbol's, the gross or the net exposure
//!   after it would exceed its cap, as a fraction of equity (exposures at decision closes);
//!   or the portfolio's heat — the summed risk to stops — would exceed its cap.
//! - The breaker trips at a slice close when the drawdown from its peak (the equity peak
//!   since it was last reset) reaches `breaker_drawdown`, or when `breaker_losses` losing
//!   exits in a row have filled (an exit loses when its realised profit less its fee is
//!   negative; a winning exit ends the streak). It resets by policy: never, after a number
//!   of slices, or at the first slice of a later UTC day — before that slice's decisions.
//!
//! # Invariants
//! - Deterministic: integer arithmetic on fixed-point values; fractions are parts per
//!   million.
//! - Exits are never refused by a risk rule.

use crate::event::{Reason, ReasonValue, Seq};
use crate::fixed::Money;
use crate::rules;
use crate::time::Ts;

/// When a tripped breaker resets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BreakerReset {
    /// It stays tripped to the end of the run.
    #[default]
    Never,
    /// At the first slice at least this many slices after the trip.
    AfterSlices(u32),
    /// At the first slice of a later UTC day.
    NewDay,
}

/// Risk settings of a run (all off by default). Fractions are parts per million of equity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RiskLimits {
    /// The most symbols with a position or working orders.
    pub max_open_positions: Option<u32>,
    /// One symbol's exposure at most this share of equity.
    pub max_position_ppm: Option<u32>,
    /// Σ |exposure| at most this share of equity.
    pub max_gross_ppm: Option<u32>,
    /// |Σ exposure| at most this share of equity.
    pub max_net_ppm: Option<u32>,
    /// No entries while the drawdown from the equity peak is at least this.
    pub drawdown_halt_ppm: Option<u32>,
    /// Portfolio heat: the summed risk to stops (a position without a working stop counts
    /// its whole value) after an entry at most this share of equity.
    pub max_heat_ppm: Option<u32>,
    /// The breaker trips at this drawdown from its peak.
    pub breaker_drawdown_ppm: Option<u32>,
    /// The breaker trips after this many losing exits in a row.
    pub breaker_losses: Option<u32>,
    /// When a tripped breaker resets.
    pub breaker_reset: BreakerReset,
}

impl RiskLimits {
    /// Whether any limit is set (the core skips the work otherwise).
    pub fn active(&self) -> bool {
        *self != RiskLimits::default()
    }

    /// Whether a breaker is configured.
    pub fn has_breaker(&self) -> bool {
        self.breaker_drawdown_ppm.is_some() || self.breaker_losses.is_some()
    }
}

/// `value × ppm / 1e6`, exact then truncated.
pub fn share(value: Money, ppm: u32) -> Money {
    Money::from_raw((value.raw() as i128 * i128::from(ppm) / 1_000_000) as i64)
}

/// The drawdown of `equity` from `peak`, in parts per million (0 at or above the peak).
pub fn drawdown_ppm(peak: Money, equity: Money) -> u32 {
    if peak.raw() <= 0 || equity >= peak {
        return 0;
    }
    let down = (peak.raw() as i128 - equity.raw() as i128) * 1_000_000 / peak.raw() as i128;
    down.min(i128::from(u32::MAX)) as u32
}

/// The circuit breaker's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Breaker {
    /// The slice count and UTC day it tripped at, while tripped.
    tripped: Option<(u64, i64)>,
    /// Losing exits in a row.
    losses: u32,
    /// The last losing exit's fill.
    last_loss: Option<Seq>,
    /// The equity peak since the last reset.
    peak: Option<Money>,
}

impl Breaker {
    /// Whether new entries are refused.
    pub fn tripped(&self) -> bool {
        self.tripped.is_some()
    }

    /// Counts an exit's fill: a loss (realised profit less fee below zero) lengthens the
    /// streak, anything else ends it.
    pub fn on_exit(&mut self, net: Money, fill: Seq) {
        if net.raw() < 0 {
            self.losses = self.losses.saturating_add(1);
            self.last_loss = Some(fill);
        } else {
            self.losses = 0;
        }
    }

    /// Before the decisions of slice number `slice` at `ts`: resets a tripped breaker whose
    /// policy says so, returning the reason.
    pub fn maybe_reset(&mut self, limits: &RiskLimits, slice: u64, ts: Ts) -> Option<Reason> {
        let (at, day) = self.tripped?;
        let reason = match limits.breaker_reset {
            BreakerReset::Never => return None,
            BreakerReset::AfterSlices(n) if slice >= at + u64::from(n) => Reason::new(
                rules::BREAKER_RESET_AFTER.id,
                &[ReasonValue::Int(i64::from(n))],
            ),
            BreakerReset::NewDay if ts.day() > day => Reason::new(
                rules::BREAKER_RESET_DAY.id,
                &[ReasonValue::Int(day), ReasonValue::Int(ts.day())],
            ),
            _ => return None,
        };
        self.tripped = None;
        self.losses = 0;
        self.last_loss = None;
        self.peak = None;
        Some(reason)
    }

    /// At the close of slice number `slice` at `ts`, with the account's `equity`: trips the
    /// breaker if a threshold is reached, returning the reason and the cause (the losing
    /// fill that completed a streak).
    pub fn check(
        &mut self,
        limits: &RiskLimits,
        slice: u64,
        ts: Ts,
        equity: Money,
    ) -> Option<(Reason, Option<Seq>)> {
        let peak = self.peak.map_or(equity, |p| p.max(equity));
        self.peak = Some(peak);
        if self.tripped.is_some() {
            return None;
        }
        let down = drawdown_ppm(peak, equity);
        let tripped = match (limits.breaker_drawdown_ppm, limits.breaker_losses) {
            (Some(limit), _) if down >= limit => (
                Reason::new(
                    rules::BREAKER_DRAWDOWN.id,
                    &[
                        ReasonValue::Money(peak),
                        ReasonValue::Money(equity),
                        ReasonValue::Real(f64::from(down) / 1e6),
                        ReasonValue::Real(f64::from(limit) / 1e6),
                    ],
                ),
                None,
            ),
            (_, Some(limit)) if self.losses >= limit => (
                Reason::new(
                    rules::BREAKER_LOSSES.id,
                    &[
                        ReasonValue::Int(i64::from(self.losses)),
                        ReasonValue::Int(i64::from(limit)),
                    ],
                ),
                self.last_loss,
            ),
            _ => return None,
        };
        self.tripped = Some((slice, ts.day()));
        Some(tripped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(units: i64) -> Money {
        Money::from_units(units).expect("fits")
    }

    fn limits(reset: BreakerReset) -> RiskLimits {
        RiskLimits {
            breaker_drawdown_ppm: Some(100_000),
            breaker_losses: Some(3),
            breaker_reset: reset,
            ..RiskLimits::default()
        }
    }

    const DAY: i64 = 86_400_000_000_000;

    #[test]
    fn a_drawdown_from_the_peak_trips_it() {
        let l = limits(BreakerReset::Never);
        let mut b = Breaker::default();
        assert!(b.check(&l, 0, Ts(0), money(1_000)).is_none());
        assert!(b.check(&l, 1, Ts(1), money(1_200)).is_none());
        // 1,200 → 1,081: 9.9% down, not yet.
        assert!(b.check(&l, 2, Ts(2), money(1_081)).is_none());
        let (reason, cause) = b
            .check(&l, 3, Ts(3), money(1_080))
            .expect("10% down trips it");
        assert_eq!(reason.rule, rules::BREAKER_DRAWDOWN.id);
        assert_eq!(cause, None);
        assert!(b.tripped());
        // Never resets.
        assert!(b.maybe_reset(&l, 1_000, Ts(1_000 * DAY)).is_none());
    }

    #[test]
    fn consecutive_losing_exits_trip_it_and_a_win_ends_the_streak() {
        let l = limits(BreakerReset::AfterSlices(5));
        let mut b = Breaker::default();
        b.on_exit(money(-1), Seq(10));
        b.on_exit(money(-1), Seq(11));
        b.on_exit(money(0), Seq(12)); // break-even ends it
        b.on_exit(money(-1), Seq(13));
        b.on_exit(money(-1), Seq(14));
        assert!(b.check(&l, 0, Ts(0), money(1_000)).is_none());
        b.on_exit(money(-2), Seq(15));
        let (reason, cause) = b.check(&l, 1, Ts(1), money(1_000)).expect("three in a row");
        assert_eq!(reason.rule, rules::BREAKER_LOSSES.id);
        assert_eq!(cause, Some(Seq(15)));
        // Resets five slices after the trip, not before.
        assert!(b.maybe_reset(&l, 5, Ts(5)).is_none());
        let reason = b.maybe_reset(&l, 6, Ts(6)).expect("resets");
        assert_eq!(reason.rule, rules::BREAKER_RESET_AFTER.id);
        assert!(!b.tripped());
    }

    #[test]
    fn a_new_day_resets_it_under_that_policy() {
        let l = limits(BreakerReset::NewDay);
        let mut b = Breaker::default();
        b.check(&l, 0, Ts(DAY + 1), money(1_000));
        b.check(&l, 1, Ts(DAY + 2), money(800)).expect("trips");
        assert!(b.maybe_reset(&l, 2, Ts(2 * DAY - 1)).is_none(), "same day");
        assert!(b.maybe_reset(&l, 3, Ts(2 * DAY)).is_some(), "next day");
        // Its peak starts again from the equity after the reset.
        assert!(b.check(&l, 4, Ts(2 * DAY + 1), money(800)).is_none());
    }

    #[test]
    fn shares_and_drawdowns_are_exact() {
        assert_eq!(share(money(1_000), 250_000), money(250));
        assert_eq!(drawdown_ppm(money(1_000), money(900)), 100_000);
        assert_eq!(drawdown_ppm(money(1_000), money(1_100)), 0);
    }
}
