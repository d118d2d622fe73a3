//! Relative strength index, Wilder's smoothing, seeded as TA-Lib seeds it.

use tape_engine::fixed::{Price, PRICE_SCALE};

/// The relative strength index over `period` price changes, as TA-Lib's `RSI`.
///
/// Each price after the first is a change from the one before: a gain (a rise, else 0) and a
/// loss (a fall, as a positive number, else 0). The first averages are the means of the first
/// `period` gains and losses (exact in fixed point, rounded once to `f64`), so the first value
/// comes at price `period + 1`; after that each average is smoothed as
/// `avg = (avg × (period − 1) + x) / period`. The RSI is `100 × gain / (gain + loss)`, which
/// equals `100 − 100 / (1 + gain / loss)`, and is 0 when both averages are 0 (a flat window),
/// as TA-Lib reports it. From 0 to 100. Agrees with TA-Lib to 1e-9 on real prices
/// (`strategies/tests/talib.rs`).
///
/// Invariant: [`Rsi::value`] is `None` until `period + 1` prices were pushed.
#[derive(Clone, Debug)]
pub struct Rsi {
    period: usize,
    previous: Option<i64>,
    /// Changes seen while warming up, and the exact raw sums of their gains and losses.
    changes: usize,
    gains: i128,
    losses: i128,
    /// Average gain and average loss, in price units.
    averages: Option<(f64, f64)>,
}

impl Rsi {
    /// An empty RSI over `period ≥ 1` changes.
    pub fn new(period: usize) -> Self {
        assert!(period >= 1, "an RSI needs a period of at least 1");
        Self {
            period,
            previous: None,
            changes: 0,
            gains: 0,
            losses: 0,
            averages: None,
        }
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.period
    }

    /// Adds the newest price.
    pub fn push(&mut self, price: Price) {
        let Some(previous) = self.previous.replace(price.raw()) else {
            return;
        };
        // Prices are positive i64s, so the change cannot overflow.
        let change = price.raw() - previous;
        let (gain, loss) = (change.max(0), (-change).max(0));
        let n = self.period as f64;
        self.averages = match self.averages {
            Some((g, l)) => {
                let scale = PRICE_SCALE as f64;
                let smooth = |avg: f64, x: i64| (avg * (n - 1.0) + x as f64 / scale) / n;
                Some((smooth(g, gain), smooth(l, loss)))
            }
            None => {
                self.changes += 1;
                self.gains += gain as i128;
                self.losses += loss as i128;
                let den = n * PRICE_SCALE as f64;
                (self.changes == self.period)
                    .then(|| (self.gains as f64 / den, self.losses as f64 / den))
            }
        };
    }

    /// The RSI, once `period + 1` prices were pushed.
    pub fn value(&self) -> Option<f64> {
        self.averages.map(|(gain, loss)| {
            let total = gain + loss;
            if total == 0.0 {
                0.0
            } else {
                100.0 * (gain / total)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn px(v: f64) -> Price {
        Price::from_f64(v).expect("valid")
    }

    #[test]
    fn wilder_averages_by_hand() {
        let mut rsi = Rsi::new(3);
        // Changes +2, −1, +2: average gain 4 / 3, average loss 1 / 3 → RSI 80.
        for p in [10.0, 12.0, 11.0] {
            rsi.push(px(p));
            assert_eq!(rsi.value(), None, "not from too few changes");
        }
        rsi.push(px(13.0));
        let (gain, loss) = (4.0 / 3.0, 1.0 / 3.0);
        assert_eq!(rsi.value(), Some(100.0 * (gain / (gain + loss))));
        // A fall of 3: gain (4/3 × 2 + 0) / 3 = 8/9, loss (1/3 × 2 + 3) / 3 = 11/9 → 800/19.
        rsi.push(px(10.0));
        let v = rsi.value().expect("warm");
        assert!((v - 800.0 / 19.0).abs() < 1e-12, "{v}");
    }

    #[test]
    fn a_flat_window_reads_zero_and_a_rising_one_reads_100() {
        let mut flat = Rsi::new(2);
        let mut rising = Rsi::new(2);
        for (i, p) in [5.0, 5.0, 5.0, 5.0].into_iter().enumerate() {
            flat.push(px(p));
            rising.push(px(p + i as f64));
        }
        assert_eq!(flat.value(), Some(0.0), "TA-Lib's reading of no movement");
        assert_eq!(rising.value(), Some(100.0));
    }

    proptest! {
        /// Always within [0, 100], and None exactly during warm-up.
        #[test]
        fn bounded_and_warm_after_period_changes(period in 1usize..20, raws in proptest::collection::vec(1i64..1_000_000, 1..100)) {
            let mut rsi = Rsi::new(period);
            for (i, &raw) in raws.iter().enumerate() {
                rsi.push(Price::from_raw(raw).expect("positive"));
                match rsi.value() {
                    Some(v) => prop_assert!(i >= period && (0.0..=100.0).contains(&v), "{i}: {v}"),
                    None => prop_assert!(i < period),
                }
            }
        }
    }
}
