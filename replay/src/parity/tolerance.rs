//! When two numbers count as the same: exact mode, or tolerant mode with a tolerance chosen by
//! the category of the field's name.
//!
//! The tolerant rule, for one category's `abs` and `decimals`: both values are rounded to
//! `decimals` decimal places — the exact binary value of each `f64`, ties away from zero — and
//! they match when the rounded values differ by at most `abs`. The arithmetic is done on
//! integers counting units of `10^-decimals`, so no float rounding decides a value at the edge
//! of the tolerance (`0.7` and `0.7 + 1e-8` differ by exactly `1e-8`, not by the
//! `1.0000000050247593e-8` a float subtraction gives).
//!
//! # Invariants
//! - `abs` is a whole number of units: a tolerance finer than its decimals is refused when
//!   it is given, so the rule never depends on how the tolerance itself rounds.
//! - NaN matches NaN, an infinity matches only the same infinity, and exact mode compares
//!   the bits of the two values (any NaN matches any NaN).

use std::fmt;

/// The most decimals a value can be rounded to (`10^18 × 2^53` still fits an `i128`).
pub const MAX_DECIMALS: u32 = 18;

/// How strictly values are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Every value equal: floats bit for bit after parsing, ledgers event for event.
    Exact,
    /// Floats within their category's tolerance; everything else equal.
    Tolerant,
}

impl Mode {
    /// The mode's name, as the command line spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Exact => "exact",
            Mode::Tolerant => "tolerant",
        }
    }
}

/// The kinds of float whose tolerance can be set on its own, found from a field's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Returns and the ratios made of them (and any float no other category claims).
    Returns,
    /// Drawdowns, fractions of a peak.
    Drawdown,
    /// Exposures and weights, fractions of equity.
    Exposure,
    /// Turnover and traded notional.
    Turnover,
    /// Slippage, fees and other costs.
    Slippage,
    /// Money and prices: equity, cash, profit, prices (a bar's open, high, low, close),
    /// values.
    Money,
}

/// Each category with the words that select it, in the order they are tried: a name that
/// holds words of two categories belongs to the first (`net_return` is a return, `long_pnl`
/// money, `equity_drawdown` a drawdown).
pub const CATEGORY_WORDS: &[(Category, &[&str])] = &[
    (Category::Drawdown, &["drawdown", "underwater"]),
    (
        Category::Returns,
        &[
            "return",
            "ret",
            "cagr",
            "volatility",
            "vol",
            "sharpe",
            "sortino",
            "calmar",
        ],
    ),
    (Category::Turnover, &["turnover", "traded"]),
    (
        Category::Slippage,
        &["slippage", "fee", "commission", "cost", "borrow"],
    ),
    (
        Category::Money,
        &[
            "equity", "cash", "pnl", "price", "value", "notional", "nav", "capital", "open",
            "high", "low", "close",
        ],
    ),
    (
        Category::Exposure,
        &[
            "exposure", "gross", "net", "long", "short", "leverage", "weight",
        ],
    ),
];

impl Category {
    /// Every category, in the order reports list them.
    pub const ALL: [Category; 6] = [
        Category::Returns,
        Category::Drawdown,
        Category::Exposure,
        Category::Turnover,
        Category::Slippage,
        Category::Money,
    ];

    /// The name used by `--tol` and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Category::Returns => "returns",
            Category::Drawdown => "drawdown",
            Category::Exposure => "exposure",
            Category::Turnover => "turnover",
            Category::Slippage => "slippage",
            Category::Money => "money",
        }
    }

    /// The category named `name` (as `--tol` spells it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The tolerance used unless `--tol` says otherwise.
    pub const fn default_tolerance(self) -> Tolerance {
        match self {
            Category::Returns | Category::Drawdown | Category::Exposure => Tolerance {
                abs_units: 100,
                decimals: 10,
            },
            Category::Turnover | Category::Slippage | Category::Money => Tolerance {
                abs_units: 100,
                decimals: 8,
            },
        }
    }

    /// The category of a field from its names, innermost first (a CSV column: just its
    /// name; a JSON field: its key, then the keys of the objects holding it). The innermost
    /// name with a category word decides; a name without any falls back to
    /// [`Category::Returns`].
    pub fn of<'a>(names: impl IntoIterator<Item = &'a str>) -> Category {
        names
            .into_iter()
            .find_map(Self::of_name)
            .unwrap_or(Category::Returns)
    }

    /// The category of one name, if one of its words selects one. Words are split at
    /// anything not a letter or digit and at a lower-to-upper case change (`max_drawdown`,
    /// `maxDrawdown`), compared without case, and a plural `s` is allowed (`returns`,
    /// `fees`).
    pub fn of_name(name: &str) -> Option<Category> {
        let words = words(name);
        CATEGORY_WORDS.iter().find_map(|(category, keys)| {
            words
                .iter()
                .any(|w| {
                    keys.iter().any(|k| {
                        w == k || (w.len() == k.len() + 1 && w.starts_with(k) && w.ends_with('s'))
                    })
                })
                .then_some(*category)
        })
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The lower-case words of a name.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// One category's tolerance: values rounded to `decimals` places may differ by `abs_units`
/// units of `10^-decimals`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tolerance {
    /// The allowed difference, in units of the last decimal kept.
    pub abs_units: u128,
    /// Decimal places both values are rounded to, at most [`MAX_DECIMALS`].
    pub decimals: u32,
}

/// Why a `--tol` value was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ToleranceError {
    /// No `=`.
    #[error("--tol {0}: expected CATEGORY=ABS[:DECIMALS], e.g. returns=1e-6:8")]
    Shape(String),
    /// An unknown category.
    #[error("--tol {given}: unknown category '{name}' (one of returns, drawdown, exposure, turnover, slippage, money)")]
    Category {
        /// The whole argument.
        given: String,
        /// The name given.
        name: String,
    },
    /// ABS is not a finite number ≥ 0.
    #[error("--tol {0}: the tolerance must be a number, at least 0")]
    Abs(String),
    /// DECIMALS is not an integer in range.
    #[error("--tol {0}: DECIMALS must be an integer from 0 to 18")]
    Decimals(String),
    /// ABS has more decimals than the values are rounded to.
    #[error("--tol {given}: {abs} is finer than the {decimals} decimals values are rounded to (give more decimals, e.g. {category}={abs}:{needed})")]
    Finer {
        /// The whole argument.
        given: String,
        /// The category's name.
        category: &'static str,
        /// The tolerance as given.
        abs: String,
        /// The decimals in force.
        decimals: u32,
        /// Enough decimals for this tolerance.
        needed: u32,
    },
    /// ABS is too large to count in units.
    #[error("--tol {0}: the tolerance is too large for its decimals")]
    TooLarge(String),
}

impl Tolerance {
    /// A tolerance of `abs` at `decimals` places; `None` unless `abs` is a whole number of
    /// units (within a float's rounding of one).
    pub fn new(abs: f64, decimals: u32) -> Option<Self> {
        if !(abs.is_finite() && abs >= 0.0) || decimals > MAX_DECIMALS {
            return None;
        }
        let units = round_units(abs, decimals)?;
        let back = units as f64 / pow10_f64(decimals);
        // `1e-6` as an f64 is 9.99…955e-7, which is 100 units at 8 decimals: accept a float's
        // rounding, refuse a real fraction of a unit (`1.5e-10` at 10 decimals).
        let close = (back - abs).abs() <= abs * 1e-9;
        close.then_some(Self {
            abs_units: units.unsigned_abs(),
            decimals,
        })
    }

    /// The allowed difference as a number.
    pub fn abs(self) -> f64 {
        self.abs_units as f64 / pow10_f64(self.decimals)
    }

    /// Whether `a` and `b` match under this tolerance (see the module docs).
    pub fn matches(self, a: f64, b: f64) -> bool {
        if a.is_nan() || b.is_nan() {
            return a.is_nan() && b.is_nan();
        }
        if a.is_infinite() || b.is_infinite() {
            return a == b;
        }
        match (round_units(a, self.decimals), round_units(b, self.decimals)) {
            (Some(x), Some(y)) => x.abs_diff(y) <= self.abs_units,
            // Beyond ~10^20 units a double has no digits at these decimals: compare as is.
            _ => (a - b).abs() <= self.abs(),
        }
    }

    /// Whether two exact decimals (`raw × 10^-scale`) match under this tolerance.
    pub fn matches_decimal(self, a: (i128, u32), b: (i128, u32)) -> bool {
        match (
            decimal_units(a.0, a.1, self.decimals),
            decimal_units(b.0, b.1, self.decimals),
        ) {
            (Some(x), Some(y)) => x.abs_diff(y) <= self.abs_units,
            _ => self.matches(decimal_f64(a.0, a.1), decimal_f64(b.0, b.1)),
        }
    }
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:e} at {} decimals", self.abs(), self.decimals)
    }
}

/// The tolerance of every category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tolerances {
    by_category: [(Category, Tolerance); 6],
}

impl Default for Tolerances {
    fn default() -> Self {
        Self {
            by_category: Category::ALL.map(|c| (c, c.default_tolerance())),
        }
    }
}

impl Tolerances {
    /// The tolerance of `category`.
    pub fn get(&self, category: Category) -> Tolerance {
        self.by_category
            .iter()
            .find(|(c, _)| *c == category)
            .map_or(category.default_tolerance(), |(_, t)| *t)
    }

    /// Sets the tolerance of `category`.
    pub fn set(&mut self, category: Category, tolerance: Tolerance) {
        for (c, t) in &mut self.by_category {
            if *c == category {
                *t = tolerance;
            }
        }
    }

    /// Applies one `--tol CATEGORY=ABS[:DECIMALS]`; DECIMALS defaults to the category's
    /// current decimals.
    pub fn apply(&mut self, given: &str) -> Result<(), ToleranceError> {
        let (name, value) = given
            .split_once('=')
            .ok_or_else(|| ToleranceError::Shape(given.to_string()))?;
        let category =
            Category::from_name(name.trim()).ok_or_else(|| ToleranceError::Category {
                given: given.to_string(),
                name: name.trim().to_string(),
            })?;
        let (abs_text, decimals) = match value.split_once(':') {
            Some((abs, d)) => (
                abs.trim(),
                d.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|d| *d <= MAX_DECIMALS)
                    .ok_or_else(|| ToleranceError::Decimals(given.to_string()))?,
            ),
            None => (value.trim(), self.get(category).decimals),
        };
        let abs = abs_text
            .parse::<f64>()
            .ok()
            .filter(|a| a.is_finite() && *a >= 0.0)
            .ok_or_else(|| ToleranceError::Abs(given.to_string()))?;
        if round_units(abs, decimals).is_none() {
            return Err(ToleranceError::TooLarge(given.to_string()));
        }
        let tolerance = Tolerance::new(abs, decimals).ok_or_else(|| ToleranceError::Finer {
            given: given.to_string(),
            category: category.name(),
            abs: abs_text.to_string(),
            decimals,
            needed: (decimals..=MAX_DECIMALS)
                .find(|d| Tolerance::new(abs, *d).is_some())
                .unwrap_or(MAX_DECIMALS),
        })?;
        self.set(category, tolerance);
        Ok(())
    }

    /// Every category with its tolerance, in the order of [`Category::ALL`].
    pub fn iter(&self) -> impl Iterator<Item = (Category, Tolerance)> + '_ {
        self.by_category.iter().copied()
    }

    /// The tolerances in words, categories with the same tolerance together:
    /// `returns, drawdown, exposure 1e-8 at 10 decimals; turnover, slippage, money 1e-6 at 8
    /// decimals`.
    pub fn text(&self) -> String {
        let mut groups: Vec<(Tolerance, Vec<&'static str>)> = Vec::new();
        for (category, tolerance) in self.iter() {
            match groups.iter_mut().find(|(t, _)| *t == tolerance) {
                Some((_, names)) => names.push(category.name()),
                None => groups.push((tolerance, vec![category.name()])),
            }
        }
        groups
            .iter()
            .map(|(t, names)| format!("{} {t}", names.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// `10^n` as an integer, for `n <= MAX_DECIMALS`.
fn pow10(n: u32) -> u128 {
    10u128.pow(n)
}

/// `10^n` as a float (exact for `n <= 22`).
fn pow10_f64(n: u32) -> f64 {
    pow10(n) as f64
}

/// `x × 10^decimals` rounded to an integer, ties away from zero, computed from the exact
/// binary value of `x` (so `0.15` rounds to 1 decimal as 0.1: the double is
/// 0.1499999999999999944…). `None` when `x` is not finite, `decimals > MAX_DECIMALS`, or
/// `|x| >= 2^66` (where a double has no fraction digits left).
pub fn round_units(x: f64, decimals: u32) -> Option<i128> {
    if !x.is_finite() || decimals > MAX_DECIMALS {
        return None;
    }
    if x == 0.0 {
        return Some(0);
    }
    let bits = x.to_bits();
    let negative = bits >> 63 == 1;
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    // |x| = mantissa × 2^exponent.
    let (mantissa, exponent) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    // < 2^53 × 10^18 < 2^113.
    let scaled = u128::from(mantissa) * pow10(decimals);
    let magnitude = if exponent >= 0 {
        if exponent > 13 {
            return None;
        }
        scaled << exponent
    } else {
        let shift = exponent.unsigned_abs();
        if shift >= 127 {
            // scaled < 2^113 is less than half of 2^shift: rounds to 0.
            0
        } else {
            let whole = scaled >> shift;
            let rest = scaled - (whole << shift);
            let half = 1u128 << (shift - 1);
            whole + u128::from(rest >= half)
        }
    };
    let magnitude = i128::try_from(magnitude).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// A decimal `raw × 10^-scale` in units of `10^-decimals`, ties away from zero.
fn decimal_units(raw: i128, scale: u32, decimals: u32) -> Option<i128> {
    if decimals >= scale {
        raw.checked_mul(10i128.checked_pow(decimals - scale)?)
    } else {
        let div = 10i128.checked_pow(scale - decimals)?;
        let whole = raw / div;
        let rest = (raw % div).abs();
        // `rest * 2 >= div`, without overflowing near 10^38.
        let up = rest >= div - rest;
        Some(if up { whole + raw.signum() } else { whole })
    }
}

/// A decimal as the nearest float, for display and for values too large to count in units.
pub fn decimal_f64(raw: i128, scale: u32) -> f64 {
    // Through text: Rust's parser rounds a decimal correctly, once.
    let text = format!("{raw}e-{scale}");
    text.parse().unwrap_or(f64::NAN)
}

/// Exact-mode equality of two floats: the same bits, or both NaN.
pub fn same_bits(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected units from Python's decimal module, which shows a double's exact value:
    // `Decimal(x) * 10**d`, quantized with ROUND_HALF_UP (ties away from zero).
    #[test]
    fn rounding_uses_the_exact_binary_value() {
        // 0.15 is 0.14999999999999999444…: down, where `(0.15 * 10.0).round()` gives 2.
        assert_eq!(round_units(0.15, 1), Some(1));
        // 0.25 and 2.5 are exact ties: away from zero.
        assert_eq!(round_units(0.25, 1), Some(3));
        assert_eq!(round_units(2.5, 0), Some(3));
        assert_eq!(round_units(-2.5, 0), Some(-3));
        // 2^-11 = 0.00048828125 is a tie at 10 decimals.
        assert_eq!(round_units(0.000_488_281_25, 10), Some(4_882_813));
        // 5e-11 is 5.0000000000000001821…e-11: up to one unit at 10 decimals.
        assert_eq!(round_units(5e-11, 10), Some(1));
        assert_eq!(round_units(1.000_000_000_05, 10), Some(10_000_000_001));
        assert_eq!(round_units(-0.123_456_789_05, 10), Some(-1_234_567_891));
        assert_eq!(round_units(0.1 + 0.2, 10), Some(3_000_000_000));
        assert_eq!(round_units(1e-300, 10), Some(0));
        assert_eq!(round_units(-0.0, 10), Some(0));
        assert_eq!(round_units(1_325_022.956_188, 8), Some(132_502_295_618_800));
        assert_eq!(
            round_units(123_456_789.123_456_79, 10),
            Some(1_234_567_891_234_567_910)
        );
        // Subnormal.
        assert_eq!(round_units(f64::from_bits(1), 18), Some(0));
    }

    #[test]
    fn rounding_refuses_what_it_cannot_count() {
        assert_eq!(round_units(f64::NAN, 10), None);
        assert_eq!(round_units(f64::INFINITY, 10), None);
        assert_eq!(round_units(1.0, 19), None);
        assert_eq!(round_units(1e30, 10), None);
        // 2^60 at 10 decimals is 1.15e28 units: still counted exactly.
        assert_eq!(
            round_units(1_152_921_504_606_846_976.0, 10),
            Some(11_529_215_046_068_469_760_000_000_000)
        );
    }

    #[test]
    fn a_difference_of_exactly_the_tolerance_matches() {
        let t = Category::Returns.default_tolerance();
        // In floats, (0.7 + 1e-8) - 0.7 = 1.0000000050247593e-8 > 1e-8; rounded to 10
        // decimals the two are 7000000000 and 7000000100 units apart: exactly 100.
        let (a, b) = (std::hint::black_box(0.7), std::hint::black_box(1e-8));
        assert!((a + b) - a > b);
        assert!(t.matches(0.7, 0.7 + 1e-8));
        assert!(t.matches(0.7 + 1e-8, 0.7));
        assert!(!t.matches(0.7, 0.7 + 1.01e-8));
        // Sub-unit noise disappears in the rounding.
        assert!(t.matches(0.3, 0.1 + 0.2));
        let m = Category::Money.default_tolerance();
        assert!(m.matches(1_325_022.956_188, 1_325_022.956_189));
        assert!(!m.matches(1_325_022.956_188, 1_325_022.956_19));
    }

    #[test]
    fn rounding_first_can_move_a_pair_either_way() {
        // 0 decimals, 0 tolerance: 0.4 and 0.6 round to 0 and 1.
        let t = Tolerance {
            abs_units: 0,
            decimals: 0,
        };
        assert!(!t.matches(0.4, 0.6));
        assert!(t.matches(0.6, 1.4));
    }

    #[test]
    fn nan_and_infinities() {
        let t = Category::Returns.default_tolerance();
        assert!(t.matches(f64::NAN, f64::NAN));
        assert!(!t.matches(f64::NAN, 0.0));
        assert!(t.matches(f64::INFINITY, f64::INFINITY));
        assert!(!t.matches(f64::INFINITY, f64::NEG_INFINITY));
        assert!(!t.matches(f64::INFINITY, 1e300));
        assert!(same_bits(f64::NAN, -f64::NAN));
        assert!(!same_bits(0.0, -0.0));
        assert!(same_bits(0.1 + 0.2, 0.300_000_000_000_000_04));
    }

    #[test]
    fn decimals_compare_exactly() {
        let t = Category::Money.default_tolerance();
        // 110.72214 (scale 8) and 110.722140 (scale 6): the same.
        assert!(t.matches_decimal((11_072_214_000, 8), (110_722_140, 6)));
        // One step of 1e-6 is within 1e-6; two are not.
        assert!(t.matches_decimal((110_722_140, 6), (110_722_141, 6)));
        assert!(!t.matches_decimal((110_722_140, 6), (110_722_142, 6)));
        assert_eq!(decimal_units(-15, 1, 0), Some(-2));
        assert_eq!(decimal_units(14, 1, 0), Some(1));
        assert_eq!(decimal_f64(11_072_214, 5), 110.722_14);
    }

    #[test]
    fn tolerances_from_the_command_line() {
        let mut t = Tolerances::default();
        t.apply("returns=1e-6:8").expect("valid");
        assert_eq!(
            t.get(Category::Returns),
            Tolerance {
                abs_units: 100,
                decimals: 8
            }
        );
        t.apply("money=0.01").expect("valid");
        assert_eq!(t.get(Category::Money).abs_units, 1_000_000);
        t.apply("drawdown=0").expect("valid");
        assert_eq!(t.get(Category::Drawdown).abs_units, 0);
        assert!(matches!(
            t.apply("exposure=1.5e-10"),
            Err(ToleranceError::Finer { needed: 11, .. })
        ));
        assert!(matches!(
            t.apply("speed=1"),
            Err(ToleranceError::Category { .. })
        ));
        assert!(matches!(t.apply("returns"), Err(ToleranceError::Shape(_))));
        assert!(matches!(t.apply("returns=-1"), Err(ToleranceError::Abs(_))));
        assert!(matches!(
            t.apply("returns=1:19"),
            Err(ToleranceError::Decimals(_))
        ));
        assert!(matches!(
            t.apply("returns=1e30:10"),
            Err(ToleranceError::TooLarge(_))
        ));
    }

    #[test]
    fn categories_by_name() {
        let of = |n: &str| Category::of([n]);
        assert_eq!(of("total_return"), Category::Returns);
        assert_eq!(of("returns"), Category::Returns);
        assert_eq!(of("cagr"), Category::Returns);
        assert_eq!(of("Sharpe"), Category::Returns);
        assert_eq!(of("max_drawdown"), Category::Drawdown);
        assert_eq!(of("maxDrawdown"), Category::Drawdown);
        assert_eq!(of("gross"), Category::Exposure);
        assert_eq!(of("net_exposure"), Category::Exposure);
        assert_eq!(of("turnover_daily"), Category::Turnover);
        assert_eq!(of("traded_total"), Category::Turnover);
        assert_eq!(of("slippage"), Category::Slippage);
        assert_eq!(of("fees_total"), Category::Slippage);
        assert_eq!(of("final_equity"), Category::Money);
        assert_eq!(of("entry_price"), Category::Money);
        assert_eq!(of("close"), Category::Money);
        assert_eq!(of("benchmark_close"), Category::Money);
        // First category wins: returns before exposure, money before exposure.
        assert_eq!(of("net_return"), Category::Returns);
        assert_eq!(of("long_pnl"), Category::Money);
        // Words, not substrings: "network" is not "net", "retail" not "ret".
        assert_eq!(Category::of_name("network"), None);
        assert_eq!(Category::of_name("retail"), None);
        assert_eq!(of("hit_rate"), Category::Returns);
        // Innermost name first, then its parents.
        assert_eq!(Category::of(["gross", "exposure_mean"]), Category::Exposure);
        assert_eq!(Category::of(["quantity", "round_trips"]), Category::Returns);
        assert_eq!(Category::of(["equity", "daily"]), Category::Money);
    }
}
