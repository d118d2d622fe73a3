//! The rolling extreme of the last N prices, by a monotonic queue: what [`super::Highest`]
//! and [`super::Lowest`] share.

use std::collections::VecDeque;

use tape_engine::fixed::Price;

/// Which extreme a window keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Keep {
    Highest,
    Lowest,
}

/// The highest or lowest of the last `period` prices pushed. Amortised O(1) per push: each
/// price enters and leaves the queue once. The queue holds at most `period + 1` entries
/// (`period` after each push), allocated once.
#[derive(Clone, Debug)]
pub(super) struct Extreme {
    keep: Keep,
    period: usize,
    pushed: u64,
    /// (index, price), the kept extreme at the front; from front to back the prices strictly
    /// worsen (fall for `Highest`, rise for `Lowest`), indices rise.
    queue: VecDeque<(u64, Price)>,
}

impl Extreme {
    pub(super) fn new(keep: Keep, period: usize) -> Self {
        assert!(period >= 1, "a window needs at least one price");
        Self {
            keep,
            period,
            pushed: 0,
            queue: VecDeque::with_capacity(period + 1),
        }
    }

    pub(super) fn push(&mut self, price: Price) {
        // An older price the new one equals or beats can never be the extreme again.
        let beaten = |old: Price| match self.keep {
            Keep::Highest => old <= price,
            Keep::Lowest => old >= price,
        };
        while self.queue.back().is_some_and(|&(_, p)| beaten(p)) {
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

    pub(super) fn value(&self) -> Option<Price> {
        (self.pushed >= self.period as u64)
            .then(|| self.queue.front().map(|&(_, p)| p))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_never_grows_past_its_first_allocation() {
        for keep in [Keep::Highest, Keep::Lowest] {
            let mut window = Extreme::new(keep, 5);
            let capacity = window.queue.capacity();
            // Monotone runs fill the queue to its bound; the turn empties it.
            let raws = (1..=50).chain((1..=50).rev()).chain([7, 7, 7, 7, 7, 7]);
            for raw in raws {
                window.push(Price::from_raw(raw).expect("positive"));
                assert!(window.queue.len() <= 5, "{keep:?}: {}", window.queue.len());
                assert_eq!(window.queue.capacity(), capacity, "{keep:?} reallocated");
            }
        }
    }
}
