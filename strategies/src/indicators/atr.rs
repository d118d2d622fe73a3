//! Average true range, Wilder's smoothing.

use tape_engine::event::Bar;

/// The average true range over `period` bars, with Wilder's smoothing.
///
/// True range: `max(high − low, |high − previous close|, |low − previous close|)`; the first
/// bar, with no previous close, counts `high − low`. The first value is the mean of the first
/// `period` true ranges; after that `atr = (atr × (period − 1) + tr) / period`. In price
/// units, as `f64` (IEEE arithmetic only, so the same bits everywhere).
///
/// Invariant: [`Atr::value`] is `None` until `period` bars were pushed.
#[derive(Clone, Debug)]
pub struct Atr {
    period: usize,
    previous_close: Option<f64>,
    seen: usize,
    sum: f64,
    value: Option<f64>,
}

impl Atr {
    /// An empty ATR over `period ≥ 1` bars.
    pub fn new(period: usize) -> Self {
        assert!(period >= 1, "an ATR needs a period of at least 1");
        Self {
            period,
            previous_close: None,
            seen: 0,
            sum: 0.0,
            value: None,
        }
    }

    /// Adds the newest bar.
    pub fn push(&mut self, bar: &Bar) {
        let (high, low, close) = (bar.high.to_f64(), bar.low.to_f64(), bar.close.to_f64());
        let tr = match self.previous_close {
            Some(prev) => (high - low)
                .max((high - prev).abs())
                .max((low - prev).abs()),
            None => high - low,
        };
        self.previous_close = Some(close);
        self.seen += 1;
        let n = self.period as f64;
        self.value = match self.value {
            Some(atr) => Some((atr * (n - 1.0) + tr) / n),
            None => {
                self.sum += tr;
                (self.seen == self.period).then(|| self.sum / n)
            }
        };
    }

    /// The ATR, once `period` bars were pushed.
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
        // TRs: 2 (first: h − l); then max(3, |13 − 10|, |10 − 10|) = 3; then
        // max(1, |12 − 12|, |11 − 12|) = 1 → first value (2 + 3 + 1) / 3 = 2.
        atr.push(&bar(11.0, 9.0, 10.0));
        assert_eq!(atr.value(), None);
        atr.push(&bar(13.0, 10.0, 12.0));
        assert_eq!(atr.value(), None, "not from too few bars");
        atr.push(&bar(12.0, 11.0, 11.5));
        assert_eq!(atr.value(), Some(2.0));
        // A gap: TR = max(1, |16 − 11.5|, |15 − 11.5|) = 4.5 → (2 × 2 + 4.5) / 3 = 8.5 / 3.
        atr.push(&bar(16.0, 15.0, 15.5));
        assert_eq!(atr.value(), Some(8.5 / 3.0));
    }
}
