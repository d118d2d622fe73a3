//! Fixed-point money, prices and quantities.
//!
//! Every value that is counted (cash, positions, fees) or compared for equality (prices on a
//! tick grid) is a scaled integer, so the same inputs give the same bits on any machine.
//! Floats exist only for analytics (indicator values, scores, volatility).
//!
//! | type       | raw   | scale             | smallest step | largest magnitude  |
//! |------------|-------|-------------------|---------------|--------------------|
//! | [`Price`]    | `i64` | [`PRICE_SCALE`] = 10^8 | 0.000 000 01  | ≈ 9.2 × 10^10      |
//! | [`Quantity`] | `i64` | [`QTY_SCALE`] = 10^8   | 0.000 000 01  | ≈ 9.2 × 10^10      |
//! | [`Money`]    | `i64` | [`MONEY_SCALE`] = 10^6 | 0.000 001     | ≈ 9.2 × 10^12      |
//!
//! # Invariants
//! - Arithmetic never wraps: every operation that can overflow returns [`FixedError`].
//! - `price × quantity` is computed exactly in `i128` and rounded once, half away from zero, to
//!   the money scale ([`Price::notional`]).

use std::fmt;

/// Raw units per 1.0 of a [`Price`].
pub const PRICE_SCALE: i64 = 100_000_000;
/// Raw units per 1.0 of a [`Quantity`].
pub const QTY_SCALE: i64 = 100_000_000;
/// Raw units per 1.0 of [`Money`].
pub const MONEY_SCALE: i64 = 1_000_000;

/// Why a fixed-point operation could not produce a value.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum FixedError {
    /// The exact result does not fit the 64-bit raw value.
    #[error("fixed-point overflow in {op}")]
    Overflow { op: &'static str },
    /// A float that is NaN or infinite cannot become a fixed-point value.
    #[error("{value} is not a finite number")]
    NotFinite { value: f64 },
    /// A price must be strictly positive.
    #[error("price {raw} (raw) is not positive")]
    NonPositivePrice { raw: i64 },
}

/// Rounds `num / den` to the nearest integer, ties away from zero. `den > 0`.
fn div_round(num: i128, den: i128) -> i128 {
    debug_assert!(den > 0);
    let half = den / 2;
    if num >= 0 {
        (num + half) / den
    } else {
        (num - half) / den
    }
}

fn to_i64(v: i128, op: &'static str) -> Result<i64, FixedError> {
    i64::try_from(v).map_err(|_| FixedError::Overflow { op })
}

fn from_f64(value: f64, scale: i64, op: &'static str) -> Result<i64, FixedError> {
    if !value.is_finite() {
        return Err(FixedError::NotFinite { value });
    }
    let scaled = value * scale as f64;
    // `round` is exact (IEEE), ties away from zero; the bounds check keeps `as` from saturating.
    let rounded = scaled.round();
    if !(-9.223_372_036_854_775e18..9.223_372_036_854_775e18).contains(&rounded) {
        return Err(FixedError::Overflow { op });
    }
    Ok(rounded as i64)
}

fn fmt_scaled(raw: i64, scale: i64, decimals: usize, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let sign = if raw < 0 { "-" } else { "" };
    let abs = raw.unsigned_abs();
    let scale = scale as u64;
    let int = abs / scale;
    let frac = abs % scale;
    let mut digits = format!("{frac:0decimals$}");
    while digits.len() > 2 && digits.ends_with('0') {
        digits.pop();
    }
    write!(f, "{sign}{int}.{digits}")
}

/// A price as a fixed-point integer, scaled by [`PRICE_SCALE`].
///
/// Invariant: `raw > 0`. Checked in [`Price::from_raw`], so the field stays private.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price {
    raw: i64,
}

impl Price {
    /// A price from its raw scaled integer; errors unless `raw > 0`.
    pub fn from_raw(raw: i64) -> Result<Self, FixedError> {
        if raw > 0 {
            Ok(Self { raw })
        } else {
            Err(FixedError::NonPositivePrice { raw })
        }
    }

    /// The nearest price to `value` (ties away from zero); errors unless finite and positive.
    pub fn from_f64(value: f64) -> Result<Self, FixedError> {
        Self::from_raw(from_f64(value, PRICE_SCALE, "Price::from_f64")?)
    }

    /// The raw scaled integer.
    pub const fn raw(self) -> i64 {
        self.raw
    }

    /// The price as a float, for analytics only.
    pub fn to_f64(self) -> f64 {
        self.raw as f64 / PRICE_SCALE as f64
    }

    /// `self × quantity` in money, computed exactly and rounded once (half away from zero).
    /// The sign follows the quantity.
    pub fn notional(self, quantity: Quantity) -> Result<Money, FixedError> {
        let exact = self.raw as i128 * quantity.raw as i128;
        let den = (PRICE_SCALE as i128 * QTY_SCALE as i128) / MONEY_SCALE as i128;
        Ok(Money::from_raw(to_i64(
            div_round(exact, den),
            "Price::notional",
        )?))
    }

    /// The price moved by `bps` basis points (positive is up), rounded up (`up`) or down to
    /// the raw grid: callers round against the trader.
    pub fn shifted_bps(self, bps: i64, up: bool) -> Result<Self, FixedError> {
        let num = self.raw as i128 * (10_000 + bps as i128);
        let floor = num.div_euclid(10_000);
        let exact = num.rem_euclid(10_000) == 0;
        let v = if up && !exact { floor + 1 } else { floor };
        Self::from_raw(to_i64(v, "Price::shifted_bps")?)
    }
}

impl fmt::Debug for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Price({self})")
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_scaled(self.raw, PRICE_SCALE, 8, f)
    }
}

/// A signed quantity (shares, contracts, coins), scaled by [`QTY_SCALE`].
///
/// Positions are signed: long positive, short negative. Order quantities are positive and
/// carry a separate [`crate::event::Side`].
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity {
    raw: i64,
}

impl Quantity {
    /// Zero units.
    pub const ZERO: Self = Self { raw: 0 };

    /// A quantity from its raw scaled integer.
    pub const fn from_raw(raw: i64) -> Self {
        Self { raw }
    }

    /// `units` whole units; errors if it does not fit.
    pub fn from_units(units: i64) -> Result<Self, FixedError> {
        units
            .checked_mul(QTY_SCALE)
            .map(Self::from_raw)
            .ok_or(FixedError::Overflow {
                op: "Quantity::from_units",
            })
    }

    /// The nearest quantity to `value`; errors unless finite and in range.
    pub fn from_f64(value: f64) -> Result<Self, FixedError> {
        Ok(Self::from_raw(from_f64(
            value,
            QTY_SCALE,
            "Quantity::from_f64",
        )?))
    }

    /// The raw scaled integer.
    pub const fn raw(self) -> i64 {
        self.raw
    }

    /// The quantity as a float, for analytics only.
    pub fn to_f64(self) -> f64 {
        self.raw as f64 / QTY_SCALE as f64
    }

    /// Whether this is exactly zero.
    pub const fn is_zero(self) -> bool {
        self.raw == 0
    }

    /// The magnitude.
    pub fn abs(self) -> Result<Self, FixedError> {
        self.raw
            .checked_abs()
            .map(Self::from_raw)
            .ok_or(FixedError::Overflow {
                op: "Quantity::abs",
            })
    }

    /// `self + other`, or an overflow error.
    pub fn checked_add(self, other: Self) -> Result<Self, FixedError> {
        self.raw
            .checked_add(other.raw)
            .map(Self::from_raw)
            .ok_or(FixedError::Overflow {
                op: "Quantity::add",
            })
    }

    /// `self - other`, or an overflow error.
    pub fn checked_sub(self, other: Self) -> Result<Self, FixedError> {
        self.raw
            .checked_sub(other.raw)
            .map(Self::from_raw)
            .ok_or(FixedError::Overflow {
                op: "Quantity::sub",
            })
    }

    /// `-self`, or an overflow error.
    pub fn checked_neg(self) -> Result<Self, FixedError> {
        self.raw
            .checked_neg()
            .map(Self::from_raw)
            .ok_or(FixedError::Overflow {
                op: "Quantity::neg",
            })
    }
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Quantity({self})")
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_scaled(self.raw, QTY_SCALE, 8, f)
    }
}

/// An amount of the account currency, scaled by [`MONEY_SCALE`]. Signed.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money {
    raw: i64,
}

impl Money {
    /// Zero.
    pub const ZERO: Self = Self { raw: 0 };

    /// Money from its raw scaled integer.
    pub const fn from_raw(raw: i64) -> Self {
        Self { raw }
    }

    /// `units` whole currency units; errors if it does not fit.
    pub fn from_units(units: i64) -> Result<Self, FixedError> {
        units
            .checked_mul(MONEY_SCALE)
            .map(Self::from_raw)
            .ok_or(FixedError::Overflow {
                op: "Money::from_units",
            })
    }

    /// The nearest amount to `value`; errors unless finite and in range.
    pub fn from_f64(value: f64) -> Result<Self, FixedError> {
        Ok(Self::from_raw(from_f64(
            value,
            MONEY_SCALE,
            "Money::from_f64",
        )?))
    }

    /// The raw scaled integer.
    pub const fn raw(self) -> i64 {
        self.raw
    }

    /// The amount as a float, for analytics only.
    pub fn to_f64(self) -> f64 {
        self.raw as f64 / MONEY_SCALE as f64
    }

    /// `self + other`, or an overflow error.
    pub fn checked_add(self, other: Self) -> Result<Self, FixedError> {
        self.raw
            .checked_add(other.raw)
            .map(Self::from_raw)
            .ok_or(FixedError::Overflow { op: "Money::add" })
    }

    /// `self - other`, or an overflow error.
    pub fn checked_sub(self, other: Self) -> Result<Self, FixedError> {
        self.raw
            .checked_sub(other.raw)
            .map(Self::from_raw)
            .ok_or(FixedError::Overflow { op: "Money::sub" })
    }

    /// `-self`, or an overflow error.
    pub fn checked_neg(self) -> Result<Self, FixedError> {
        self.raw
            .checked_neg()
            .map(Self::from_raw)
            .ok_or(FixedError::Overflow { op: "Money::neg" })
    }

    /// `self × num / den` computed exactly, rounded toward zero. `den > 0`.
    pub fn mul_div_trunc(self, num: i64, den: i64) -> Result<Self, FixedError> {
        debug_assert!(den > 0);
        let v = self.raw as i128 * num as i128 / den as i128;
        Ok(Self::from_raw(to_i64(v, "Money::mul_div")?))
    }

    /// `self × bps / 10 000`, rounded up in magnitude (a fee is never rounded in the payer's
    /// favour).
    pub fn bps_ceil(self, bps: i64) -> Result<Self, FixedError> {
        let num = self.raw as i128 * bps as i128;
        let q = num / 10_000;
        let r = num % 10_000;
        let v = if r > 0 {
            q + 1
        } else if r < 0 {
            q - 1
        } else {
            q
        };
        Ok(Self::from_raw(to_i64(v, "Money::bps")?))
    }

    /// The magnitude.
    pub fn abs(self) -> Result<Self, FixedError> {
        self.raw
            .checked_abs()
            .map(Self::from_raw)
            .ok_or(FixedError::Overflow { op: "Money::abs" })
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_scaled(self.raw, MONEY_SCALE, 6, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reference rounding: the nearest integer to a/b, ties away from zero, by exact i128 maths
    /// written differently from `div_round` (remainder comparison instead of a half offset).
    fn reference_round(a: i128, b: i128) -> i128 {
        let q = a / b;
        let r = a % b;
        if 2 * r.abs() >= b {
            q + a.signum()
        } else {
            q
        }
    }

    proptest! {
        #[test]
        fn notional_matches_i128_reference(p in 1i64..=i64::MAX, q in any::<i64>()) {
            let price = Price::from_raw(p).expect("positive");
            let expected = reference_round(p as i128 * q as i128, 10_000_000_000);
            match price.notional(Quantity::from_raw(q)) {
                Ok(m) => prop_assert_eq!(m.raw() as i128, expected),
                Err(FixedError::Overflow { .. }) => prop_assert!(i64::try_from(expected).is_err()),
                Err(e) => prop_assert!(false, "unexpected error {e}"),
            }
        }

        #[test]
        fn money_add_is_exact_or_errors(a in any::<i64>(), b in any::<i64>()) {
            let exact = a as i128 + b as i128;
            match Money::from_raw(a).checked_add(Money::from_raw(b)) {
                Ok(m) => prop_assert_eq!(m.raw() as i128, exact),
                Err(_) => prop_assert!(i64::try_from(exact).is_err()),
            }
        }

        #[test]
        fn quantity_sub_is_exact_or_errors(a in any::<i64>(), b in any::<i64>()) {
            let exact = a as i128 - b as i128;
            match Quantity::from_raw(a).checked_sub(Quantity::from_raw(b)) {
                Ok(q) => prop_assert_eq!(q.raw() as i128, exact),
                Err(_) => prop_assert!(i64::try_from(exact).is_err()),
            }
        }

        #[test]
        fn fee_is_never_rounded_down(raw in -1_000_000_000_000i64..1_000_000_000_000, bps in 0i64..1_000) {
            let fee = Money::from_raw(raw).bps_ceil(bps).expect("in range");
            let exact = raw as i128 * bps as i128;
            prop_assert!((fee.raw() as i128 * 10_000).abs() >= exact.abs());
            prop_assert!((fee.raw() as i128 * 10_000 - exact).abs() < 10_000);
        }
    }

    #[test]
    fn overflow_is_an_error_never_a_wrap() {
        assert!(Money::from_raw(i64::MAX)
            .checked_add(Money::from_raw(1))
            .is_err());
        assert!(Quantity::from_raw(i64::MIN).checked_neg().is_err());
        assert!(Quantity::from_units(i64::MAX / 10).is_err());
        let big = Price::from_raw(i64::MAX).expect("positive");
        assert!(big.notional(Quantity::from_raw(i64::MAX)).is_err());
    }

    #[test]
    fn non_positive_and_non_finite_prices_are_rejected() {
        assert!(Price::from_raw(0).is_err());
        assert!(Price::from_raw(-5).is_err());
        assert!(Price::from_f64(f64::NAN).is_err());
        assert!(Price::from_f64(f64::INFINITY).is_err());
        assert!(Price::from_f64(1e300).is_err());
    }

    #[test]
    fn display_is_exact_decimal() {
        assert_eq!(
            Price::from_raw(12_345_000_000)
                .expect("positive")
                .to_string(),
            "123.45"
        );
        assert_eq!(Money::from_raw(-1_500_000).to_string(), "-1.50");
        assert_eq!(Quantity::from_raw(1).to_string(), "0.00000001");
        // 100 shares at 12.34 is exactly 1 234.00.
        let n = Price::from_f64(12.34)
            .expect("valid")
            .notional(Quantity::from_units(100).expect("fits"));
        assert_eq!(n.expect("fits").raw(), 1_234_000_000);
    }
}
