//! Simple moving average of prices, kept exactly in integers.

use tape_engine::fixed::Price;

/// The simple moving average of the last `period` prices.
///
/// The sum is kept exactly as an `i128` of raw fixed-point prices, so the average never drifts
/// and two averages can be compared exactly ([`Sma::cmp_exact`]) without floating point.
///
/// Invariant: [`Sma::value`] is `None` until `period` prices were pushed.
#[derive(Clone, Debug)]
pub struct Sma {
    period: usize,
    window: Vec<i64>,
    next: usize,
    filled: usize,
    sum: i128,
}

impl Sma {
    /// An empty average over `period ≥ 1` prices.
    pub fn new(period: usize) -> Self {
        assert!(period >= 1, "an SMA needs a period of at least 1");
        Self {
            period,
            window: vec![0; period],
            next: 0,
            filled: 0,
            sum: 0,
        }
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.period
    }

    /// Adds the newest price, dropping the oldest once the window is full.
    pub fn push(&mut self, price: Price) {
        let raw = price.raw();
        if self.filled == self.period {
            self.sum -= self.window[self.next] as i128;
        } else {
            self.filled += 1;
        }
        self.window[self.next] = raw;
        self.sum += raw as i128;
        self.next += 1;
        if self.next == self.period {
            self.next = 0;
        }
    }

    /// Whether `period` prices have been pushed.
    pub fn is_ready(&self) -> bool {
        self.filled == self.period
    }

    /// The average, rounded half away from zero to the price grid; `None` during warm-up.
    pub fn value(&self) -> Option<Price> {
        if !self.is_ready() {
            return None;
        }
        let n = self.period as i128;
        let avg = (self.sum + n / 2) / n; // prices are positive, so this rounds half up
        Price::from_raw(avg as i64).ok()
    }

    /// Compares two ready averages exactly: `self.sum / self.period` vs `other.sum / other.period`.
    pub fn cmp_exact(&self, other: &Sma) -> Option<std::cmp::Ordering> {
        if !(self.is_ready() && other.is_ready()) {
            return None;
        }
        Some((self.sum * other.period as i128).cmp(&(other.sum * self.period as i128)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn px(raw: i64) -> Price {
        Price::from_raw(raw).expect("positive")
    }

    #[test]
    fn warm_up_gives_nothing_then_the_mean() {
        let mut sma = Sma::new(3);
        sma.push(px(100));
        sma.push(px(200));
        assert_eq!(
            sma.value(),
            None,
            "two prices are too few for a 3-period SMA"
        );
        sma.push(px(400));
        assert_eq!(
            sma.value(),
            Some(px(233)),
            "(100 + 200 + 400) / 3 = 233.33… rounds to 233"
        );
        sma.push(px(600));
        assert_eq!(sma.value(), Some(px(400)), "(200 + 400 + 600) / 3");
    }

    proptest! {
        /// The incremental average equals a direct mean over the last `period` prices.
        #[test]
        fn matches_a_direct_mean(period in 1usize..30, prices in proptest::collection::vec(1i64..1_000_000_000_000, 1..200)) {
            let mut sma = Sma::new(period);
            for (i, &p) in prices.iter().enumerate() {
                sma.push(px(p));
                if i + 1 >= period {
                    let window = &prices[i + 1 - period..=i];
                    let sum: i128 = window.iter().map(|&v| v as i128).sum();
                    let expected = (sum * 2 + period as i128) / (2 * period as i128);
                    prop_assert_eq!(sma.value().map(|v| v.raw() as i128), Some(expected));
                } else {
                    prop_assert_eq!(sma.value(), None);
                }
            }
        }
    }
}
