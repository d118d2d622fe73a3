//! Session-aware indicators: VWAP that resets at each session open, and the opening range.
//!
//! TA-Lib has neither, so their conventions are stated here and tested by hand-computed
//! examples.
//!
//! **Sessions.** A bar belongs to the session of the UTC day of `ts − session_open`, where
//! `session_open` is the session's opening time of day in UTC (14:30 for a New York cash
//! session in winter, 00:00 for a 24/7 market). The first bar of a new session day resets the
//! indicator. A bar's `ts` is its close (when it becomes known), so the first one-minute bar
//! of a 14:30 session is stamped 14:31 and belongs to that session.

use tape_engine::event::Bar;
use tape_engine::fixed::{Price, PRICE_SCALE, QTY_SCALE};
use tape_engine::time::{Ts, NANOS_PER_DAY, NANOS_PER_MINUTE};

/// The session day of a bar: UTC days since 1970 of `ts − session_open` (minus one
/// nanosecond, so a bar stamped exactly at the open closes the previous session).
fn session_day(ts: Ts, session_open_ns: i64) -> i64 {
    (ts.0 - session_open_ns - 1).div_euclid(NANOS_PER_DAY)
}

/// The session open as nanoseconds after midnight UTC, from `HH:MM`; `None` if malformed.
pub fn session_open(hh_mm: &str) -> Option<i64> {
    let (h, m) = hh_mm.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some((h * 60 + m) * NANOS_PER_MINUTE)
}

/// The volume-weighted average price of the session so far, from each bar's typical price
/// `(high + low + close) / 3`: `Σ typical × volume / Σ volume`, reset at each session open.
///
/// Sums are exact: typical price × volume accumulate as `i128` in units of 10⁻¹⁶ × ⅓, and the
/// value is one division. Invariant: [`SessionVwap::value`] is `None` until the session has
/// traded some volume (never a price from no trades).
#[derive(Clone, Debug)]
pub struct SessionVwap {
    session_open_ns: i64,
    day: Option<i64>,
    /// Σ (high + low + close) × volume, raw units.
    weighted: i128,
    /// Σ volume, raw units.
    volume: i128,
}

impl SessionVwap {
    /// A VWAP for sessions opening `session_open_ns` after midnight UTC.
    pub fn new(session_open_ns: i64) -> Self {
        Self {
            session_open_ns,
            day: None,
            weighted: 0,
            volume: 0,
        }
    }

    /// Adds the newest bar, first resetting if it opens a new session.
    pub fn push(&mut self, ts: Ts, bar: &Bar) {
        let day = session_day(ts, self.session_open_ns);
        if self.day != Some(day) {
            self.day = Some(day);
            self.weighted = 0;
            self.volume = 0;
        }
        let sum =
            i128::from(bar.high.raw()) + i128::from(bar.low.raw()) + i128::from(bar.close.raw());
        let volume = i128::from(bar.volume.raw());
        self.weighted += sum * volume;
        self.volume += volume;
    }

    /// The session's VWAP in price units, once it has traded volume.
    pub fn value(&self) -> Option<f64> {
        (self.volume > 0)
            .then(|| self.weighted as f64 / (3.0 * self.volume as f64 * PRICE_SCALE as f64))
    }

    /// Volume traded in the session so far, in units.
    pub fn session_volume(&self) -> f64 {
        self.volume as f64 / QTY_SCALE as f64
    }
}

/// The high and low of a session's first `minutes` minutes: the opening range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// The highest high of the range's bars.
    pub high: Price,
    /// The lowest low.
    pub low: Price,
}

/// The opening range of each session: the high and low of the bars that close within
/// `minutes` of the session open.
///
/// Invariant: [`OpeningRange::value`] is `None` until the range is complete — the first bar
/// closing after `open + minutes` (or a bar closing exactly then) completes it — so a breakout
/// rule never reads a range that is still forming. A session whose first bar closes after the
/// range window (a late start) has no range.
#[derive(Clone, Debug)]
pub struct OpeningRange {
    session_open_ns: i64,
    minutes: i64,
    day: Option<i64>,
    forming: Option<Range>,
    complete: Option<Range>,
    /// The session started late: no range today.
    missed: bool,
}

impl OpeningRange {
    /// An opening range of `minutes ≥ 1` for sessions opening `session_open_ns` after midnight.
    pub fn new(session_open_ns: i64, minutes: u32) -> Self {
        assert!(minutes >= 1, "an opening range needs at least one minute");
        Self {
            session_open_ns,
            minutes: i64::from(minutes),
            day: None,
            forming: None,
            complete: None,
            missed: false,
        }
    }

    /// Adds the newest bar (stamped at its close).
    pub fn push(&mut self, ts: Ts, bar: &Bar) {
        let day = session_day(ts, self.session_open_ns);
        if self.day != Some(day) {
            self.day = Some(day);
            self.forming = None;
            self.complete = None;
            self.missed = false;
            let first_close_offset = ts.0 - self.session_open_ns - day * NANOS_PER_DAY;
            // Only a session whose first bar closes inside the window has a range.
            self.missed = first_close_offset > self.minutes * NANOS_PER_MINUTE;
        }
        if self.missed || self.complete.is_some() {
            return;
        }
        let end = day * NANOS_PER_DAY + self.session_open_ns + self.minutes * NANOS_PER_MINUTE;
        if ts.0 > end {
            // This bar closes after the window: the range formed by the earlier bars is final.
            self.complete = self.forming;
            return;
        }
        self.forming = Some(match self.forming {
            None => Range {
                high: bar.high,
                low: bar.low,
            },
            Some(r) => Range {
                high: r.high.max(bar.high),
                low: r.low.min(bar.low),
            },
        });
        if ts.0 == end {
            self.complete = self.forming;
        }
    }

    /// Today's opening range, once complete.
    pub fn value(&self) -> Option<Range> {
        self.complete
    }
}

/// Swing highs and lows: a bar whose high (low) is strictly above (below) the highs (lows) of
/// the `left` bars before it and the `right` bars after it.
///
/// A swing is known only `right` bars after its bar: [`Swings::push`] reports it then, never
/// earlier (no look-ahead). O(left + right) per bar over a ring allocated once.
#[derive(Clone, Debug)]
pub struct Swings {
    left: usize,
    right: usize,
    highs: std::collections::VecDeque<Price>,
    lows: std::collections::VecDeque<Price>,
    last_high: Option<Price>,
    last_low: Option<Price>,
}

/// What one push revealed: the swing confirmed by this bar, if any.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swing {
    /// A swing high confirmed now (its bar was `right` bars ago).
    pub high: Option<Price>,
    /// A swing low confirmed now.
    pub low: Option<Price>,
}

impl Swings {
    /// Swings over `left ≥ 1` bars before and `right ≥ 1` bars after.
    pub fn new(left: usize, right: usize) -> Self {
        assert!(left >= 1 && right >= 1, "a swing needs bars on both sides");
        let n = left + right + 1;
        Self {
            left,
            right,
            highs: std::collections::VecDeque::with_capacity(n),
            lows: std::collections::VecDeque::with_capacity(n),
            last_high: None,
            last_low: None,
        }
    }

    /// Adds the newest bar; returns the swing it confirms (the bar `right` bars back).
    pub fn push(&mut self, bar: &Bar) -> Swing {
        let n = self.left + self.right + 1;
        if self.highs.len() == n {
            self.highs.pop_front();
            self.lows.pop_front();
        }
        self.highs.push_back(bar.high);
        self.lows.push_back(bar.low);
        if self.highs.len() < n {
            return Swing::default();
        }
        let mid = self.left;
        let (h, l) = (self.highs[mid], self.lows[mid]);
        let others = (0..n).filter(|i| *i != mid);
        let high = others.clone().all(|i| self.highs[i] < h).then_some(h);
        let low = others.clone().all(|i| self.lows[i] > l).then_some(l);
        if high.is_some() {
            self.last_high = high;
        }
        if low.is_some() {
            self.last_low = low;
        }
        Swing { high, low }
    }

    /// The latest confirmed swing high (resistance).
    pub fn last_high(&self) -> Option<Price> {
        self.last_high
    }

    /// The latest confirmed swing low (support).
    pub fn last_low(&self) -> Option<Price> {
        self.last_low
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tape_engine::event::SymbolId;
    use tape_engine::fixed::Quantity;

    fn bar(high: f64, low: f64, close: f64, volume: i64) -> Bar {
        let p = |v: f64| Price::from_f64(v).expect("valid");
        Bar::new(
            SymbolId(0),
            p(close),
            p(high),
            p(low),
            p(close),
            Quantity::from_units(volume).expect("fits"),
        )
        .expect("consistent")
    }

    /// 2024-01-02 at HH:MM UTC.
    fn at(h: i64, m: i64) -> Ts {
        Ts(Ts::from_date(2024, 1, 2).0 + (h * 60 + m) * NANOS_PER_MINUTE)
    }

    #[test]
    fn vwap_by_hand_and_reset_at_the_session_open() {
        let open = session_open("14:30").expect("valid");
        let mut v = SessionVwap::new(open);
        assert_eq!(v.value(), None);
        // Typical prices 10 and 12 (H+L+C over 3), volumes 100 and 300:
        // (10 × 100 + 12 × 300) / 400 = 11.5.
        v.push(at(14, 31), &bar(11.0, 9.0, 10.0, 100));
        assert_eq!(v.value(), Some(10.0));
        v.push(at(14, 32), &bar(13.0, 11.0, 12.0, 300));
        assert_eq!(v.value(), Some(11.5));
        // The evening (after the close, same session day) still counts.
        v.push(at(21, 0), &bar(12.0, 12.0, 12.0, 0));
        assert_eq!(v.value(), Some(11.5));
        // Next day's first bar: a new session, a new average.
        v.push(Ts(at(14, 31).0 + NANOS_PER_DAY), &bar(21.0, 19.0, 20.0, 50));
        assert_eq!(v.value(), Some(20.0));
        assert_eq!(v.session_volume(), 50.0);
    }

    #[test]
    fn a_session_with_no_volume_yet_has_no_vwap() {
        let mut v = SessionVwap::new(0);
        v.push(at(0, 1), &bar(11.0, 9.0, 10.0, 0));
        assert_eq!(v.value(), None);
    }

    #[test]
    fn a_bar_stamped_at_the_open_closes_the_previous_session() {
        let open = session_open("14:30").expect("valid");
        let mut v = SessionVwap::new(open);
        v.push(at(14, 29), &bar(11.0, 9.0, 10.0, 100));
        v.push(at(14, 30), &bar(13.0, 11.0, 12.0, 100));
        assert_eq!(v.value(), Some(11.0), "both in the session before 14:30");
        v.push(at(14, 31), &bar(31.0, 29.0, 30.0, 100));
        assert_eq!(v.value(), Some(30.0));
    }

    #[test]
    fn the_opening_range_is_known_only_once_complete() {
        let open = session_open("14:30").expect("valid");
        let mut r = OpeningRange::new(open, 3);
        r.push(at(14, 31), &bar(10.5, 9.8, 10.0, 1));
        assert_eq!(r.value(), None);
        r.push(at(14, 32), &bar(10.9, 10.1, 10.6, 1));
        assert_eq!(r.value(), None);
        // The bar closing at 14:33 is the last of a 3-minute range: complete now.
        r.push(at(14, 33), &bar(10.7, 10.0, 10.2, 1));
        let range = r.value().expect("complete");
        assert_eq!(range.high, Price::from_f64(10.9).expect("valid"));
        assert_eq!(range.low, Price::from_f64(9.8).expect("valid"));
        // Later bars do not move it.
        r.push(at(14, 34), &bar(12.0, 9.0, 11.0, 1));
        assert_eq!(r.value(), Some(range));
        // A new session starts over.
        r.push(Ts(at(14, 31).0 + NANOS_PER_DAY), &bar(20.0, 19.0, 19.5, 1));
        assert_eq!(r.value(), None);
    }

    #[test]
    fn a_gap_in_the_range_window_completes_it_on_the_next_bar() {
        let open = session_open("14:30").expect("valid");
        let mut r = OpeningRange::new(open, 5);
        r.push(at(14, 31), &bar(10.5, 9.8, 10.0, 1));
        // Minutes 14:32–14:35 missing (a halt): the 14:40 bar closes after the window.
        r.push(at(14, 40), &bar(15.0, 14.0, 14.5, 1));
        let range = r.value().expect("complete");
        assert_eq!(range.high, Price::from_f64(10.5).expect("valid"));
        // A session that starts after its window has no range.
        let mut late = OpeningRange::new(open, 5);
        late.push(at(15, 0), &bar(10.5, 9.8, 10.0, 1));
        late.push(at(15, 1), &bar(10.5, 9.8, 10.0, 1));
        assert_eq!(late.value(), None);
    }

    #[test]
    fn swings_are_confirmed_right_bars_later_never_earlier() {
        let mut s = Swings::new(2, 2);
        // Highs: 10 11 14 12 11 13 …: bar 2 (14) is a swing high, known at bar 4.
        let highs = [10.0, 11.0, 14.0, 12.0, 11.0, 13.0];
        let mut seen = Vec::new();
        for (i, h) in highs.iter().enumerate() {
            let swing = s.push(&bar(*h, h - 1.0, h - 0.5, 1));
            seen.push((i, swing.high.map(Price::to_f64)));
        }
        assert_eq!(
            seen.iter()
                .filter_map(|(i, h)| h.map(|h| (*i, h)))
                .collect::<Vec<_>>(),
            vec![(4, 14.0)]
        );
        assert_eq!(s.last_high().map(Price::to_f64), Some(14.0));
        // A tie is not a swing: strictly above both sides.
        let mut tie = Swings::new(1, 1);
        for h in [10.0, 12.0, 12.0, 10.0] {
            assert_eq!(tie.push(&bar(h, h - 1.0, h - 0.5, 1)).high, None);
        }
    }

    #[test]
    fn session_open_parses_hh_mm() {
        assert_eq!(session_open("00:00"), Some(0));
        assert_eq!(session_open("14:30"), Some(870 * NANOS_PER_MINUTE));
        for bad in ["24:00", "9", "09:60", "aa:bb", ""] {
            assert_eq!(session_open(bad), None, "{bad}");
        }
    }
}
