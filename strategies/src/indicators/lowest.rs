//! The lowest of the last N prices.

use tape_engine::fixed::Price;

use super::extreme::{Extreme, Keep};

/// The lowest of the last `period` prices pushed, as TA-Lib's `MIN`: the lower line of a
/// Donchian channel when fed lows. Amortised O(1) per push, by a monotonic queue of at most
/// `period + 1` entries allocated once.
///
/// Invariant: [`Lowest::value`] is `None` until `period` prices were pushed.
#[derive(Clone, Debug)]
pub struct Lowest(Extreme);

impl Lowest {
    /// An empty window of `period ≥ 1` prices.
    pub fn new(period: usize) -> Self {
        Self(Extreme::new(Keep::Lowest, period))
    }

    /// Adds the newest price.
    pub fn push(&mut self, price: Price) {
        self.0.push(price);
    }

    /// The lowest of the last `period` prices, once that many were pushed.
    pub fn value(&self) -> Option<Price> {
        self.0.value()
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
    fn the_window_slides_and_matches_a_plain_minimum() {
        let mut l = Lowest::new(3);
        let seen: Vec<_> = [5, 3, 8, 7, 2, 2, 9, 1, 4, 4]
            .into_iter()
            .map(|p| {
                l.push(px(p));
                l.value().map(Price::raw)
            })
            .collect();
        let expected = [
            None,
            None,
            Some(3),
            Some(3),
            Some(2),
            Some(2),
            Some(2),
            Some(1),
            Some(1),
            Some(1),
        ];
        assert_eq!(seen, expected);
    }

    proptest! {
        /// Equal to the minimum of the last `period` prices, with ties and long runs.
        #[test]
        fn matches_a_direct_minimum(period in 1usize..25, raws in proptest::collection::vec(1i64..8, 1..200)) {
            let mut l = Lowest::new(period);
            for (i, &raw) in raws.iter().enumerate() {
                l.push(px(raw));
                let expected = (i + 1 >= period).then(|| raws[i + 1 - period..=i].iter().copied().min()).flatten();
                prop_assert_eq!(l.value().map(Price::raw), expected);
            }
        }
    }
}
