//! Average true range, Wilder's smoothing, with TA-Lib's warm-up.

use tape_engine::event::Bar;
use tape_engine::fixed::PRICE_SCALE;

/// The average true range over `period` bars, with Wilder's smoothing, as TA-Lib's `ATR`.
///
/// True range: `max(high − low, |high − previous close|, |low − previous close|)`. The first
/// bar has no previous close, so it has no true range: it only supplies that close (TA-Lib's
/// convention; counting `high − low` for it would mix in a range of another kind). The first
/// value is the mean of the first `period` true ranges, so it comes at bar `period + 1`;
/// after that `atr = (atr × (period − 1) + tr) / period`. True ranges and the first mean are
/// exact in fixed point and rounded once to `f64`; the smoothing is IEEE arithmetic, so the
/// same bits everywhere. In price units. Agrees with TA-Lib to 1e-9 on real prices
/// (`strategies/tests/talib.rs`).
///
/// Invariant: [`Atr::value`] is `None` until `period + 1` bars were pushed.
#[derive(Clone, Debug)]
pub struct Atr {
    period: usize,
    previous_close: Option<i64>,
    /// True ranges summed so far while warming up, and their exact raw sum.
    ranges: usize,
    sum: i128,
    value: Option<f64>,
}

impl Atr {
    /// An empty ATR over `period ≥ 1` bars.
    pub fn new(period: usize) -> Self {
        assert!(period >= 1, "an ATR needs a period of at least 1");
        Self {
            period,
            previous_close: None,
            ranges: 0,
            sum: 0,
            value: None,
        }
    }

    /// Adds the newest bar.
    pub fn push(&mut self, bar: &Bar) {
        let Some(previous) = self.previous_close.replace(bar.close.raw()) else {
            return;
        };
        // Prices are positive i64s, so none of these differences can overflow.
        let (high, low) = (bar.high.raw(), bar.low.raw());
        let range = (high - low)
            .max((high - previous).abs())
            .max((low - previous).abs());
        let n = self.period as f64;
        self.value = match self.value {
            Some(atr) => Some((atr * (n - 1.0) + range as f64 / PRICE_SCALE as f64) / n),
            None => {
                self.ranges += 1;
                self.sum += range as i128;
                (self.ranges == self.period).then(|| self.sum as f64 / (n * PRICE_SCALE as f64))
            }
        };
    }

    /// The ATR, once `period + 1` bars were pushed.
    pub fn value(&self) -> Option<f64> {
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tape_engine::event::SymbolId;
    use tape_engine::fixed::{Price, Quantity};

    fn bar(h: f64, l: f64, c: f64) -> Bar {
        let p = |v: f64| Price::from_f64(v).expect("valid");
        Bar::new(SymbolId(0), p(c), p(h), p(l), p(c), Quantity::ZERO).expect("valid")
    }

    #[test]
    fn wilder_smoothing_by_hand() {
        let mut atr = Atr::new(3);
        // The first bar only gives a close (10). TRs: max(3, |13 − 10|, |10 − 10|) = 3; then
        // max(1, |12 − 12|, |11 − 12|) = 1; then max(2, |14 − 11.5|, |12 − 11.5|) = 2.5 →
        // first value (3 + 1 + 2.5) / 3.
        atr.push(&bar(11.0, 9.0, 10.0));
        assert_eq!(atr.value(), None, "one bar has no true range");
        atr.push(&bar(13.0, 10.0, 12.0));
        atr.push(&bar(12.0, 11.0, 11.5));
        assert_eq!(atr.value(), None, "not from too few bars");
        atr.push(&bar(14.0, 12.0, 13.0));
        assert_eq!(atr.value(), Some(6.5 / 3.0));
        // A gap: TR = max(1, |16 − 13|, |15 − 13|) = 3 → (6.5 / 3 × 2 + 3) / 3.
        atr.push(&bar(16.0, 15.0, 15.5));
        assert_eq!(atr.value(), Some((6.5 / 3.0 * 2.0 + 3.0) / 3.0));
    }

    #[test]
    fn the_first_bar_s_range_never_counts() {
        // A huge first bar must not move the ATR: it has no previous close.
        let mut wide = Atr::new(2);
        let mut narrow = Atr::new(2);
        wide.push(&bar(50.0, 1.0, 10.0));
        narrow.push(&bar(10.5, 9.5, 10.0));
        for b in [
            bar(11.0, 10.0, 10.5),
            bar(11.0, 10.0, 10.2),
            bar(12.0, 10.0, 11.0),
        ] {
            wide.push(&b);
            narrow.push(&b);
            assert_eq!(wide.value(), narrow.value());
        }
        assert_eq!(
            narrow.value(),
            Some((1.0 * 1.0 + 2.0) / 2.0),
            "(1 + 1) / 2, then 2 joins"
        );
    }

    #[test]
    fn period_one_is_the_true_range() {
        let mut atr = Atr::new(1);
        atr.push(&bar(11.0, 9.0, 10.0));
        assert_eq!(atr.value(), None);
        atr.push(&bar(10.5, 8.0, 9.0));
        assert_eq!(atr.value(), Some(2.5));
        atr.push(&bar(12.0, 11.5, 12.0));
        assert_eq!(atr.value(), Some(3.0), "|12 − 9| beats 0.5");
    }
}
