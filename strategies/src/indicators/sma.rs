//! Simple moving average of prices, kept exactly in integers.

use tape_engine::fixed::{Price, PRICE_SCALE};

/// The simple moving average of the last `period` prices.
///
/// The sum is kept exactly as an `i128` of raw fixed-point prices, so the average never drifts
/// and two averages can be compared exactly ([`Sma::cmp_exact`]) without floating point.
/// [`Sma::value`] rounds the average to the price grid; [`Sma::value_f64`] gives it as the
/// nearest `f64`, which is TA-Lib's `SMA` without the noise of TA-Lib's running float sum
/// (the two agree to 1e-9 on real prices: `strategies/tests/talib.rs`).
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
        self.push_evicting(price);
    }

    /// Adds the newest price and returns the raw price it pushed out of a full window.
    pub(super) fn push_evicting(&mut self, price: Price) -> Option<i64> {
        let raw = price.raw();
        let evicted = if self.filled == self.period {
            let oldest = self.window[self.next];
            self.sum -= oldest as i128;
            Some(oldest)
        } else {
            self.filled += 1;
            None
        };
        self.window[self.next] = raw;
        self.sum += raw as i128;
        self.next += 1;
        if self.next == self.period {
            self.next = 0;
        }
        evicted
    }

    /// The exact sum of the window's raw prices, once full.
    pub(super) fn raw_sum(&self) -> Option<i128> {
        self.is_ready().then_some(self.sum)
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

    /// The average in price units as an `f64`; `None` during warm-up.
    ///
    /// One division of the exact sum by `period × 10^8`, so the result is the `f64` nearest to
    /// the true average whenever the raw sum is below 2^53 (a window summing to 90 million in
    /// price units); beyond, it is within one more rounding.
    pub fn value_f64(&self) -> Option<f64> {
        self.raw_sum()
            .map(|sum| sum as f64 / (self.period as f64 * PRICE_SCALE as f64))
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

    #[test]
    fn the_f64_average_is_not_rounded_to_the_price_grid() {
        let mut sma = Sma::new(3);
        sma.push(px(100));
        sma.push(px(200));
        assert_eq!(sma.value_f64(), None, "not from two prices");
        sma.push(px(400));
        // 700 raw / 3 = 233.33… raw, i.e. 2.333…e-6 in price units: not 233 raw (2.33e-6).
        assert_eq!(sma.value_f64(), Some(700.0 / 3e8));
        assert_ne!(sma.value_f64(), sma.value().map(Price::to_f64));
    }

    /// The binary exponent of a positive normal `v`: `v = m × 2^e` with a 53-bit integer `m`.
    fn exponent(v: f64) -> i32 {
        ((v.to_bits() >> 52) & 0x7ff) as i32 - 1075
    }

    /// `|v − sum / den| × den × 2^k`, exactly, for a positive normal `v` with `exponent(v) + k ≥ 0`.
    fn scaled_error(v: f64, sum: i128, den: i128, k: i32) -> i128 {
        let mantissa = ((v.to_bits() & ((1 << 52) - 1)) | (1 << 52)) as i128;
        let v_scaled = mantissa << (exponent(v) + k);
        (v_scaled * den - (sum << k)).abs()
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
                    // The f64 average is the f64 nearest the exact one (these sums stay below 2^53).
                    let v = sma.value_f64().expect("ready");
                    let den = period as i128 * 100_000_000;
                    let below = f64::from_bits(v.to_bits() - 1);
                    let above = f64::from_bits(v.to_bits() + 1);
                    let k = 1 - exponent(v);
                    let err = scaled_error(v, sum, den, k);
                    prop_assert!(err <= scaled_error(below, sum, den, k), "{v} vs {below}");
                    prop_assert!(err <= scaled_error(above, sum, den, k), "{v} vs {above}");
                } else {
                    prop_assert_eq!(sma.value(), None);
                    prop_assert_eq!(sma.value_f64(), None);
                }
            }
        }
    }
}
