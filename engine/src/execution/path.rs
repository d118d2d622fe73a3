//! The intrabar path: how a bar's prices are assumed to have been visited, so that limit and
//! stop orders trigger and fill by one stated, conservative rule.
//!
//! A bar is walked `open → nearer extreme → other extreme → close`, where the nearer extreme
//! is the one closer to the open (the high on a tie), moving continuously between those
//! points. An order's level is *touched* the first time the walk reaches it; a level the open
//! is already beyond is touched at the open (the market gapped through it).
//!
//! # Invariants
//! - Every price returned is on the walk, so inside `[low, high]`.

use crate::event::Bar;
use crate::fixed::Price;

/// Which way a level is waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cross {
    /// The price at or above the level (a buy stop, a sell limit).
    AtOrAbove,
    /// The price at or below the level (a buy limit, a sell stop).
    AtOrBelow,
}

impl Cross {
    fn holds(self, price: Price, level: Price) -> bool {
        match self {
            Cross::AtOrAbove => price >= level,
            Cross::AtOrBelow => price <= level,
        }
    }
}

/// A point on the walk: the index of the path point last passed, and the price there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At {
    /// The walk has passed path points `0..=index`.
    pub index: usize,
    /// The price at this point of the walk.
    pub price: Price,
}

/// The four points of a bar's walk.
pub fn path(bar: &Bar) -> [Price; 4] {
    let up = bar.high.raw() - bar.open.raw();
    let down = bar.open.raw() - bar.low.raw();
    if up <= down {
        [bar.open, bar.high, bar.low, bar.close]
    } else {
        [bar.open, bar.low, bar.high, bar.close]
    }
}

/// The start of the walk: the open.
pub fn start(bar: &Bar) -> At {
    At {
        index: 0,
        price: bar.open,
    }
}

/// The first point at or after `from` where the walk reaches `level` in direction `cross`:
/// `from` itself if its price is already there, else the level itself on the first segment
/// that reaches it. `None` if the rest of the bar never gets there.
pub fn first_touch(path: &[Price; 4], from: At, level: Price, cross: Cross) -> Option<At> {
    if cross.holds(from.price, level) {
        return Some(from);
    }
    (from.index + 1..path.len())
        .find(|&i| cross.holds(path[i], level))
        .map(|index| At {
            index: index - 1,
            price: level,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SymbolId;
    use crate::fixed::Quantity;

    fn px(v: f64) -> Price {
        Price::from_f64(v).expect("valid")
    }

    fn bar(o: f64, h: f64, l: f64, c: f64) -> Bar {
        Bar::new(SymbolId(0), px(o), px(h), px(l), px(c), Quantity::ZERO).expect("valid")
    }

    #[test]
    fn the_walk_visits_the_nearer_extreme_first() {
        assert_eq!(path(&bar(100.0, 101.0, 95.0, 99.0))[1], px(101.0));
        assert_eq!(path(&bar(100.0, 105.0, 99.0, 101.0))[1], px(99.0));
        // A tie goes to the high.
        assert_eq!(path(&bar(100.0, 102.0, 98.0, 99.0))[1], px(102.0));
    }

    #[test]
    fn a_level_is_touched_at_the_open_when_gapped_through_else_at_itself() {
        let b = bar(100.0, 101.0, 95.0, 99.0);
        let p = path(&b);
        // A buy limit above the open is satisfied at the open (price improvement).
        assert_eq!(
            first_touch(&p, start(&b), px(100.5), Cross::AtOrBelow).map(|a| a.price),
            Some(px(100.0))
        );
        // A buy limit below: touched on the way down, at the level.
        let hit = first_touch(&p, start(&b), px(96.0), Cross::AtOrBelow).expect("touched");
        assert_eq!(hit.price, px(96.0));
        // It was reached after the high (open → high → low): past point 1.
        assert_eq!(hit.index, 1);
        // Below the low: never.
        assert_eq!(first_touch(&p, start(&b), px(94.0), Cross::AtOrBelow), None);
        // From the touch point, the walk goes on: a later rise to 99 happens (low → close).
        let later = first_touch(&p, hit, px(99.0), Cross::AtOrAbove).expect("touched");
        assert_eq!((later.index, later.price), (2, px(99.0)));
    }
}
