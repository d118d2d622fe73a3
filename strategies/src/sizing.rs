//! Position sizing: how many units an entry buys or sells. Each helper returns whole units
//! (rounded down, never up), so a sized position never risks more than it was asked to.

use tape_engine::fixed::{Money, Quantity};

/// Whole units of `value`: at least 0, rounded down.
fn whole_units(units: f64) -> Quantity {
    if !(units.is_finite() && units >= 1.0) {
        return Quantity::ZERO;
    }
    Quantity::from_units(units.floor().min(1e10) as i64).unwrap_or(Quantity::ZERO)
}

/// A fixed number of units.
pub fn fixed_quantity(units: f64) -> Quantity {
    whole_units(units)
}

/// As many units as a `fraction` of `equity` buys at `price`.
pub fn fixed_fraction(equity: Money, fraction: f64, price: f64) -> Quantity {
    if price <= 0.0 {
        return Quantity::ZERO;
    }
    whole_units(equity.to_f64() * fraction / price)
}

/// Volatility-adjusted: as many units as lose `risk_fraction` of `equity` if the price moves
/// `stop_distance` against the position (for example a multiple of the ATR to the stop).
pub fn risk_per_stop(equity: Money, risk_fraction: f64, stop_distance: f64) -> Quantity {
    if stop_distance <= 0.0 {
        return Quantity::ZERO;
    }
    whole_units(equity.to_f64() * risk_fraction / stop_distance)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(v: i64) -> Money {
        Money::from_units(v).expect("fits")
    }

    #[test]
    fn sizes_are_whole_units_rounded_down() {
        assert_eq!(fixed_quantity(7.9), Quantity::from_units(7).expect("fits"));
        // 10% of 100,000 at 30 = 333.3 → 333.
        assert_eq!(
            fixed_fraction(money(100_000), 0.1, 30.0),
            Quantity::from_units(333).expect("fits")
        );
        // Risk 1% of 100,000 = 1,000 over a 2 × ATR stop of 6.5 → 153.8 → 153.
        assert_eq!(
            risk_per_stop(money(100_000), 0.01, 6.5),
            Quantity::from_units(153).expect("fits")
        );
        assert_eq!(risk_per_stop(money(100_000), 0.01, 0.0), Quantity::ZERO);
        assert_eq!(fixed_fraction(money(10), 0.1, 30.0), Quantity::ZERO);
    }
}
