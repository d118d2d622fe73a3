//! The highest of the last N prices.

use tape_engine::fixed::Price;

use super::extreme::{Extreme, Keep};

/// The highest of the last `period` prices pushed, as TA-Lib's `MAX`: the upper line of a
/// Donchian channel when fed highs. Amortised O(1) per push, by a monotonic queue of at most
/// `period + 1` entries allocated once.
///
/// Invariant: [`Highest::value`] is `None` until `period` prices were pushed.
#[derive(Clone, Debug)]
pub struct Highest(Extreme);

impl Highest {
    /// An empty window of `period ≥ 1` prices.
    pub fn new(period: usize) -> Self {
        Self(Extreme::new(Keep::Highest, period))
    }

    /// Adds the newest price.
    pub fn push(&mut self, price: Price) {
        self.0.push(price);
    }

    /// The highest of the last `period` prices, once that many were pushed.
    pub fn value(&self) -> Option<Price> {
        self.0.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_window_slides_and_matches_a_plain_maximum() {
        let prices = [5.0, 3.0, 8.0, 7.0, 2.0, 2.0, 9.0, 1.0, 4.0, 4.0];
        let mut h = Highest::new(3);
        for (i, &p) in prices.iter().enumerate() {
            h.push(Price::from_f64(p).expect("valid"));
            let expected = (i >= 2).then(|| {
                let m = prices[i - 2..=i].iter().cloned().fold(f64::MIN, f64::max);
                Price::from_f64(m).expect("valid")
            });
            assert_eq!(h.value(), expected, "after {i}");
        }
    }

    proptest! {
        /// Equal to the maximum of the last `period` prices, with ties and long runs.
        #[test]
        fn matches_a_direct_maximum(period in 1usize..25, raws in proptest::collection::vec(1i64..8, 1..200)) {
            let mut h = Highest::new(period);
            for (i, &raw) in raws.iter().enumerate() {
                h.push(Price::from_raw(raw).expect("positive"));
                let expected = (i + 1 >= period).then(|| raws[i + 1 - period..=i].iter().copied().max()).flatten();
                prop_assert_eq!(h.value().map(Price::raw), expected);
            }
        }
    }
}
