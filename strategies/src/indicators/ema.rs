//! Exponential moving average of prices, seeded as TA-Lib seeds it.

use tape_engine::fixed::{Price, PRICE_SCALE};

/// The exponential moving average of prices with smoothing `α = 2 / (period + 1)`, as
/// TA-Lib's `EMA` (default compatibility mode).
///
/// Seeding: the first value is the simple average of the first `period` prices (exact in
/// fixed point, rounded once to `f64`), so it comes at price `period`; after that
/// `ema = ema + α × (price − ema)`, in that order of IEEE operations, as TA-Lib does. In price
/// units. Agrees with TA-Lib to 1e-9 on real prices (`strategies/tests/talib.rs`).
///
/// Invariant: [`Ema::value`] is `None` until `period` prices were pushed.
#[derive(Clone, Debug)]
pub struct Ema {
    period: usize,
    alpha: f64,
    /// Prices seen while warming up, and their exact raw sum.
    seen: usize,
    sum: i128,
    value: Option<f64>,
}

impl Ema {
    /// An empty average over `period ≥ 1` prices.
    pub fn new(period: usize) -> Self {
        assert!(period >= 1, "an EMA needs a period of at least 1");
        Self {
            period,
            alpha: 2.0 / (period as f64 + 1.0),
            seen: 0,
            sum: 0,
            value: None,
        }
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.period
    }

    /// Adds the newest price.
    pub fn push(&mut self, price: Price) {
        self.value = match self.value {
            Some(ema) => Some((price.to_f64() - ema) * self.alpha + ema),
            None => {
                self.seen += 1;
                self.sum += price.raw() as i128;
                (self.seen == self.period)
                    .then(|| self.sum as f64 / (self.period as f64 * PRICE_SCALE as f64))
            }
        };
    }

    /// The average, once `period` prices were pushed.
    pub fn value(&self) -> Option<f64> {
        self.value
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
    fn seeded_by_the_simple_average_then_smoothed() {
        let mut ema = Ema::new(3);
        ema.push(px(1.0));
        ema.push(px(2.0));
        assert_eq!(ema.value(), None, "two prices are too few");
        ema.push(px(6.0));
        assert_eq!(ema.value(), Some(3.0), "(1 + 2 + 6) / 3");
        // α = 2 / 4 = 0.5: 3 + 0.5 × (7 − 3) = 5, then 5 + 0.5 × (4 − 5) = 4.5.
        ema.push(px(7.0));
        assert_eq!(ema.value(), Some(5.0));
        ema.push(px(4.0));
        assert_eq!(ema.value(), Some(4.5));
    }

    #[test]
    fn period_one_follows_the_price() {
        let mut ema = Ema::new(1);
        for p in [3.0, 5.5, 2.25] {
            ema.push(px(p));
            assert_eq!(ema.value(), Some(p), "α = 1");
        }
    }

    proptest! {
        /// The incremental average equals the textbook recursion from the seed.
        #[test]
        fn matches_the_recursion(period in 1usize..30, raws in proptest::collection::vec(1i64..1_000_000_000_000, 1..120)) {
            let mut ema = Ema::new(period);
            let alpha = 2.0 / (period as f64 + 1.0);
            let mut reference: Option<f64> = None;
            for (i, &raw) in raws.iter().enumerate() {
                ema.push(Price::from_raw(raw).expect("positive"));
                let x = raw as f64 / 1e8;
                reference = match reference {
                    Some(r) => Some(r + alpha * (x - r)),
                    None if i + 1 == period => {
                        let sum: i128 = raws[..period].iter().map(|&v| v as i128).sum();
                        Some(sum as f64 / (period as f64 * 1e8))
                    }
                    None => None,
                };
                match (ema.value(), reference) {
                    (Some(v), Some(r)) => prop_assert!((v - r).abs() <= 1e-12 * r.abs().max(1.0), "{v} vs {r}"),
                    (v, r) => prop_assert_eq!(v, r),
                }
            }
        }
    }
}
