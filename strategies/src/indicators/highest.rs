//! The highest of the last N prices, by a monotonic queue.

use std::collections::VecDeque;

use tape_engine::fixed::Price;

/// The highest of the last `period` prices pushed. Amortised O(1) per push; the queue holds
/// at most `period` entries, allocated once.
///
/// Invariant: [`Highest::value`] is `None` until `period` prices were pushed.
#[derive(Clone, Debug)]
pub struct Highest {
    period: usize,
    pushed: u64,
    /// (index, price), prices strictly decreasing from front to back.
    queue: VecDeque<(u64, Price)>,
}

impl Highest {
    /// An empty window of `period ≥ 1` prices.
    pub fn new(period: usize) -> Self {
        assert!(period >= 1, "a window needs at least one price");
        Self {
            period,
            pushed: 0,
            queue: VecDeque::with_capacity(period + 1),
        }
    }

    /// Adds the newest price.
    pub fn push(&mut self, price: Price) {
        while self.queue.back().is_some_and(|&(_, p)| p <= price) {
            self.queue.pop_back();
        }
        self.queue.push_back((self.pushed, price));
        self.pushed += 1;
        while self
            .queue
            .front()
            .is_some_and(|&(i, _)| i + (self.period as u64) < self.pushed)
        {
            self.queue.pop_front();
        }
    }

    /// The highest of the last `period` prices, once that many were pushed.
    pub fn value(&self) -> Option<Price> {
        (self.pushed >= self.period as u64)
            .then(|| self.queue.front().map(|&(_, p)| p))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
