//! Bollinger bands: a simple moving average ± k population standard deviations, kept exactly.

use tape_engine::fixed::{Price, PRICE_SCALE};

use super::Sma;

/// The three lines of [`Bollinger`] at one bar, in price units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bands {
    /// `middle + k × deviation`.
    pub upper: f64,
    /// The simple moving average, [`Sma::value_f64`].
    pub middle: f64,
    /// `middle − k × deviation`.
    pub lower: f64,
}

/// Bollinger bands over `period` prices, as TA-Lib's `BBANDS` with a simple moving average and
/// the same multiplier `k` up and down: `middle ± k × σ`, where σ is the *population* standard
/// deviation of the window (divided by `period`, not `period − 1`).
///
/// The window's sum and sum of squares are kept exactly in integers of raw fixed-point prices,
/// so σ comes from the exact variance `(period × Σx² − (Σx)²) / period²`, rounded once to `f64`
/// before its square root: no running float sum to drift, and no cancellation when the window
/// is nearly flat. A flat window gives σ = 0, the three lines equal. Agrees with TA-Lib to 1e-9
/// on real prices (`strategies/tests/talib.rs`).
///
/// Invariant: [`Bollinger::value`] is `None` until `period` prices were pushed.
///
/// # Known limitations
/// The sum of squares wraps modulo 2^128 and the variance numerator is formed with wrapping
/// arithmetic, which gives the exact numerator whenever that numerator fits an `i128`:
/// whenever `period × (highest − lowest in the window) < 2.6 × 10^11` in price units (for a
/// period of 20, a window spanning less than 13 billion). Beyond that the bands are meaningless.
#[derive(Clone, Debug)]
pub struct Bollinger {
    sma: Sma,
    k: f64,
    /// Σ raw², modulo 2^128.
    squares: i128,
}

impl Bollinger {
    /// Empty bands over `period ≥ 1` prices, `k` standard deviations from the middle.
    pub fn new(period: usize, k: f64) -> Self {
        assert!(k.is_finite(), "a band multiplier must be a finite number");
        Self {
            sma: Sma::new(period),
            k,
            squares: 0,
        }
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.sma.period()
    }

    /// Adds the newest price.
    pub fn push(&mut self, price: Price) {
        let raw = price.raw() as i128;
        if let Some(oldest) = self.sma.push_evicting(price) {
            let oldest = oldest as i128;
            self.squares = self.squares.wrapping_sub(oldest * oldest);
        }
        // A raw price is below 2^63, so its square (below 2^126) never overflows.
        self.squares = self.squares.wrapping_add(raw * raw);
    }

    /// The population standard deviation of the window, in price units, once it is full.
    pub fn deviation(&self) -> Option<f64> {
        let sum = self.sma.raw_sum()?;
        let n = self.period() as i128;
        // n² × the variance in raw units: exact (see Known limitations) and never negative.
        let spread = n
            .wrapping_mul(self.squares)
            .wrapping_sub(sum.wrapping_mul(sum));
        debug_assert!(spread >= 0, "the variance numerator overflowed 128 bits");
        Some((spread as f64).sqrt() / (n as f64 * PRICE_SCALE as f64))
    }

    /// The bands, once `period` prices were pushed.
    pub fn value(&self) -> Option<Bands> {
        let middle = self.sma.value_f64()?;
        let width = self.deviation()? * self.k;
        Some(Bands {
            upper: middle + width,
            middle,
            lower: middle - width,
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
    fn population_deviation_by_hand() {
        let mut bands = Bollinger::new(4, 2.0);
        for p in [2.0, 4.0, 4.0] {
            bands.push(px(p));
            assert_eq!(bands.value(), None, "not from too few prices");
        }
        // 2, 4, 4, 6: mean 4, squared deviations 4 + 0 + 0 + 4 = 8, / 4 = 2 → σ = √2.
        bands.push(px(6.0));
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-15 * b;
        let sigma = bands.deviation().expect("warm");
        assert!(close(sigma, 2f64.sqrt()), "{sigma}");
        let expected = Bands {
            upper: 4.0 + 2.0 * sigma,
            middle: 4.0,
            lower: 4.0 - 2.0 * sigma,
        };
        assert_eq!(bands.value(), Some(expected));
        // 4, 4, 6, 4: mean 4.5, squared deviations 0.25 × 3 + 2.25 = 3, / 4 → σ = √0.75.
        bands.push(px(4.0));
        let sigma = bands.deviation().expect("warm");
        assert!(close(sigma, 0.75f64.sqrt()), "{sigma}");
    }

    #[test]
    fn a_flat_window_has_no_width_even_at_a_high_price() {
        // A float sum of squares at this level would leave noise of order 1e-4 in σ.
        let mut bands = Bollinger::new(20, 2.0);
        for _ in 0..25 {
            bands.push(px(987_654.321));
        }
        let b = bands.value().expect("warm");
        assert_eq!(
            (b.upper, b.middle, b.lower),
            (987_654.321, 987_654.321, 987_654.321)
        );
    }

    #[test]
    fn one_tick_in_a_window_is_seen_exactly() {
        // 19 × 100 and one 100.00000001: σ = 1e-8 × √(19) / 20, far below float noise of a
        // running sum of squares at this level.
        let mut bands = Bollinger::new(20, 2.0);
        for _ in 0..19 {
            bands.push(px(100.0));
        }
        bands.push(Price::from_raw(100 * 100_000_000 + 1).expect("positive"));
        let expected = 1e-8 * 19f64.sqrt() / 20.0;
        let sigma = bands.deviation().expect("warm");
        assert!(
            (sigma - expected).abs() <= 1e-15 * expected,
            "{sigma} vs {expected}"
        );
    }

    proptest! {
        /// Equal, to float rounding, to a two-pass deviation over the last `period` prices.
        #[test]
        fn matches_a_two_pass_deviation(period in 1usize..30, raws in proptest::collection::vec(1i64..1_000_000_000_000, 1..120)) {
            let mut bands = Bollinger::new(period, 2.0);
            for (i, &raw) in raws.iter().enumerate() {
                bands.push(Price::from_raw(raw).expect("positive"));
                if i + 1 < period {
                    prop_assert_eq!(bands.value(), None);
                    continue;
                }
                let window: Vec<f64> = raws[i + 1 - period..=i].iter().map(|&v| v as f64 / 1e8).collect();
                let mean = window.iter().sum::<f64>() / period as f64;
                let variance = window.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / period as f64;
                let sigma = bands.deviation().expect("warm");
                prop_assert!((sigma - variance.sqrt()).abs() <= 1e-9 * mean, "{sigma} vs {}", variance.sqrt());
                let b = bands.value().expect("warm");
                prop_assert_eq!(b.upper, b.middle + 2.0 * sigma);
                prop_assert_eq!(b.lower, b.middle - 2.0 * sigma);
            }
        }
    }
}
