//! A scenario: everything that determines a run, in one TOML document.
//!
//! ```toml
//! name = "default"
//! seed = 7
//! [market]            # where bars come from
//! kind = "gbm"
//! symbols = 30
//! start = "2014-01-01"
//! bars = 2610
//! [account]
//! cash = 1000000.0
//! [costs]
//! slippage_bps = 2
//! fee_bps = 1
//! [strategy]          # kind and parameters, validated by the strategies crate
//! kind = "sma_cross"
//! ```
//! Unknown keys and wrong types are errors that name the key and the line.

use serde::{Deserialize, Serialize};
use tape_engine::core::InstrumentRules;
use tape_engine::execution::CostModel;
use tape_engine::fixed::{Money, Price, Quantity};
use tape_engine::risk::{BreakerReset, RiskLimits};
use tape_engine::time::{Ts, NANOS_PER_MINUTE};

use crate::calendar::Calendar;
use crate::canonical::to_canonical_toml;
use crate::loader::features::FeatureSpec;
use crate::loader::files::FileSpec;

/// A scenario that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The TOML does not parse, or has an unknown key or a wrong type.
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    /// A value is out of its range.
    #[error("{origin}: {key} = {value}: {rule}")]
    Invalid {
        origin: String,
        key: &'static str,
        value: String,
        rule: &'static str,
    },
}
/// Bar length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BarInterval {
    /// Daily bars on weekdays.
    #[serde(rename = "1d")]
    Day,
    /// One-minute bars around the clock.
    #[serde(rename = "1m")]
    Minute,
}

fn default_prefix() -> String {
    "SYN".to_string()
}
fn default_close_time() -> String {
    "21:00".to_string()
}
fn default_tick() -> f64 {
    0.01
}
fn default_price_range() -> [f64; 2] {
    [20.0, 200.0]
}
fn default_volume() -> f64 {
    1_000_000.0
}

/// The `[market]` table of `kind = "gbm"`: a seeded synthetic market.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GbmSpec {
    /// `"gbm"`.
    pub kind: GbmKind,
    /// Number of symbols.
    pub symbols: u32,
    /// Symbol names are this prefix plus a zero-padded index (`SYN00`); one symbol is the prefix alone.
    #[serde(default = "default_prefix")]
    pub symbol_prefix: String,
    /// Symbol names given one by one (as many as `symbols`), instead of the prefix's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// First day (`YYYY-MM-DD`) or, for minute bars, the first bar's open time.
    pub start: String,
    /// Bar length: `"1d"` or `"1m"`.
    pub bar: BarInterval,
    /// Bars per symbol.
    pub bars: u64,
    /// Daily bars: time of day (UTC, `HH:MM`) the bar is stamped at, its close.
    #[serde(default = "default_close_time")]
    pub close_time: String,
    /// Annual drift (0.08 = 8%): the expected growth rate of prices; log prices drift by
    /// `drift − volatility²/2`. Required, unless `[market.regimes]` gives one per state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<f64>,
    /// Annual volatility (0.25 = 25%). Required, unless `[market.regimes]` gives one per state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volatility: Option<f64>,
    /// First prices are drawn uniformly from this range.
    #[serde(default = "default_price_range")]
    pub initial_price: [f64; 2],
    /// Prices are rounded to this grid.
    #[serde(default = "default_tick")]
    pub tick_size: f64,
    /// Mean volume per bar, in units.
    #[serde(default = "default_volume")]
    pub volume: f64,
    /// Market-wide volatility regimes: a Markov chain stepped once per bar time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regimes: Option<RegimeSpec>,
    /// Probability per bar and symbol of a price jump (0 = none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub jump_probability: f64,
    /// Mean of a jump's log size (−0.1 ≈ a 10% drop).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub jump_mean: f64,
    /// Standard deviation of a jump's log size.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub jump_volatility: f64,
    /// Probability per bar and symbol that trading halts (0 = never).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub halt_probability: f64,
    /// Bars a halt lasts; they are missing, never padded.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub halt_bars: u32,
    /// Which days trade: `"weekdays"` (equities) or `"always"` (24/7 crypto; daily bars on
    /// every day, minute bars around the clock).
    #[serde(default, skip_serializing_if = "is_default_days")]
    pub days: DaysSpec,
    /// Dates (`YYYY-MM-DD`) without trading; their bars are missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
    /// Minute bars only inside this daily session (UTC), on trading days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionSpec>,
    /// Intraday volume smile: the first and last minute of a session trade `1 + volume_smile`
    /// times the middle's volume (a U shape; 0 = flat).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub volume_smile: f64,
    /// One-factor model: each symbol's shock is `ρ·market + √(1−ρ²)·own`, so a symbol's
    /// correlation with the market factor is ρ and two symbols correlate at ρ² (0 =
    /// independent). `0 ≤ ρ < 1`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub factor_loading: f64,
    /// Per-symbol factor loadings (as many as `symbols`), instead of `factor_loading` for
    /// all: a benchmark index loads high, single names lower.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loadings: Vec<f64>,
    /// With a session: annual volatility of the gap between a session's close and the next
    /// open (0 = none; 0.2 ≈ a 1.3% typical night).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub overnight_volatility: f64,
}

/// Which days trade.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DaysSpec {
    /// Monday to Friday (less holidays).
    #[default]
    Weekdays,
    /// Every day (24/7 markets).
    Always,
}

fn is_default_days(d: &DaysSpec) -> bool {
    *d == DaysSpec::Weekdays
}

/// `[market.session]`: the trading hours of minute bars, in UTC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSpec {
    /// Session open, `HH:MM` UTC (e.g. `"14:30"` for 09:30 New York in winter).
    pub open: String,
    /// Session close, `HH:MM` UTC, after the open.
    pub close: String,
}

fn hh_mm(text: &str) -> Option<i64> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some((h * 60 + m) * NANOS_PER_MINUTE)
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// `[market.regimes]`: states with their own drift and volatility, and a transition matrix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeSpec {
    /// A name per state, e.g. `["calm", "turbulent", "crisis"]`.
    pub names: Vec<String>,
    /// Annual drift per state (replaces `drift`).
    pub drift: Vec<f64>,
    /// Annual volatility per state (replaces `volatility`).
    pub volatility: Vec<f64>,
    /// `transition[i][j]`: probability per bar time of moving from state `i` to `j`; rows sum to 1.
    pub transition: Vec<Vec<f64>>,
    /// The state at the first bar (an index into `names`).
    #[serde(default)]
    pub start: usize,
}

impl GbmSpec {
    fn validate(
        &self,
        invalid: &dyn Fn(&'static str, String, &'static str) -> ScenarioError,
    ) -> Result<(), ScenarioError> {
        let m = self;
        if m.symbols == 0 || m.symbols > 100_000 {
            return Err(invalid(
                "market.symbols",
                m.symbols.to_string(),
                "must be between 1 and 100000",
            ));
        }
        if m.bars == 0 {
            return Err(invalid(
                "market.bars",
                m.bars.to_string(),
                "must be at least 1",
            ));
        }
        if let Err(rule) = self.calendar() {
            let (key, value) = if rule.starts_with("close_time") {
                ("market.close_time", m.close_time.clone())
            } else if rule.contains("session") {
                ("market.session", format!("{:?}", m.session))
            } else if rule.contains("holiday") {
                ("market.holidays", format!("{:?}", m.holidays))
            } else {
                ("market.start", m.start.clone())
            };
            return Err(invalid(key, value, rule));
        }
        match (m.regimes.is_some(), m.drift, m.volatility) {
            (false, None, _) => {
                return Err(invalid(
                    "market.drift",
                    "nothing".to_string(),
                    "is required (annual, e.g. 0.08), unless [market.regimes] gives one per state",
                ))
            }
            (false, _, None) => {
                return Err(invalid(
                    "market.volatility",
                    "nothing".to_string(),
                    "is required (annual, e.g. 0.25), unless [market.regimes] gives one per state",
                ))
            }
            (true, Some(d), _) => {
                return Err(invalid(
                    "market.drift",
                    d.to_string(),
                    "is given per state by [market.regimes]; remove the top-level key",
                ))
            }
            (true, _, Some(v)) => {
                return Err(invalid(
                    "market.volatility",
                    v.to_string(),
                    "is given per state by [market.regimes]; remove the top-level key",
                ))
            }
            _ => {}
        }
        if let Some(v) = m.volatility {
            if !(v.is_finite() && (0.0..=5.0).contains(&v)) {
                return Err(invalid(
                    "market.volatility",
                    v.to_string(),
                    "must be between 0 and 5 (annual)",
                ));
            }
        }
        if let Some(d) = m.drift {
            if !(d.is_finite() && d.abs() <= 5.0) {
                return Err(invalid(
                    "market.drift",
                    d.to_string(),
                    "must be between -5 and 5 (annual)",
                ));
            }
        }
        let [lo, hi] = m.initial_price;
        if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo <= hi && hi < 1e9) {
            return Err(invalid(
                "market.initial_price",
                format!("[{lo}, {hi}]"),
                "must be [low, high] with 0 < low <= high < 1e9",
            ));
        }
        if !(m.tick_size.is_finite() && m.tick_size >= 1e-8 && m.tick_size <= lo) {
            return Err(invalid(
                "market.tick_size",
                m.tick_size.to_string(),
                "must be at least 1e-8 and at most the lowest initial price",
            ));
        }
        if !(m.volume.is_finite() && m.volume >= 0.0 && m.volume < 1e12) {
            return Err(invalid(
                "market.volume",
                m.volume.to_string(),
                "must be between 0 and 1e12",
            ));
        }
        for (key, p) in [
            ("market.jump_probability", m.jump_probability),
            ("market.halt_probability", m.halt_probability),
        ] {
            if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
                return Err(invalid(
                    key,
                    p.to_string(),
                    "must be a probability between 0 and 1",
                ));
            }
        }
        if !(m.jump_mean.is_finite() && m.jump_mean.abs() <= 5.0) {
            return Err(invalid(
                "market.jump_mean",
                m.jump_mean.to_string(),
                "must be within ±5 (log size)",
            ));
        }
        if !(m.jump_volatility.is_finite() && (0.0..=5.0).contains(&m.jump_volatility)) {
            return Err(invalid(
                "market.jump_volatility",
                m.jump_volatility.to_string(),
                "must be between 0 and 5 (log size)",
            ));
        }
        if !(m.factor_loading.is_finite() && (0.0..1.0).contains(&m.factor_loading)) {
            return Err(invalid(
                "market.factor_loading",
                m.factor_loading.to_string(),
                "must be at least 0 and below 1",
            ));
        }
        if !m.names.is_empty() {
            if m.names.len() != m.symbols as usize {
                return Err(invalid(
                    "market.names",
                    format!("{} names", m.names.len()),
                    "must give one name per symbol (as many as market.symbols)",
                ));
            }
            let mut seen = std::collections::BTreeSet::new();
            if let Some(bad) = m.names.iter().find(|n| {
                n.trim().is_empty() || n.contains(char::is_whitespace) || !seen.insert(n.as_str())
            }) {
                return Err(invalid(
                    "market.names",
                    format!("\"{bad}\""),
                    "names must be non-empty, without spaces, and unique",
                ));
            }
        }
        if !m.loadings.is_empty() {
            if m.loadings.len() != m.symbols as usize {
                return Err(invalid(
                    "market.loadings",
                    format!("{} loadings", m.loadings.len()),
                    "must give one loading per symbol (as many as market.symbols)",
                ));
            }
            if let Some(bad) = m
                .loadings
                .iter()
                .find(|l| !(l.is_finite() && (0.0..1.0).contains(*l)))
            {
                return Err(invalid(
                    "market.loadings",
                    bad.to_string(),
                    "each loading must be at least 0 and below 1",
                ));
            }
        }
        if !(m.overnight_volatility.is_finite() && (0.0..=5.0).contains(&m.overnight_volatility)) {
            return Err(invalid(
                "market.overnight_volatility",
                m.overnight_volatility.to_string(),
                "must be between 0 and 5 (annual)",
            ));
        }
        if !(m.volume_smile.is_finite() && (0.0..=100.0).contains(&m.volume_smile)) {
            return Err(invalid(
                "market.volume_smile",
                m.volume_smile.to_string(),
                "must be between 0 and 100",
            ));
        }
        if m.halt_probability > 0.0 && m.halt_bars == 0 {
            return Err(invalid(
                "market.halt_bars",
                "0".to_string(),
                "must be at least 1 when halt_probability is set",
            ));
        }
        if let Some(r) = &m.regimes {
            let n = r.names.len();
            if n == 0
                || r.drift.len() != n
                || r.volatility.len() != n
                || r.transition.len() != n
                || r.transition.iter().any(|row| row.len() != n)
            {
                return Err(invalid("market.regimes", format!("{n} names"), "names, drift, volatility and every transition row must have one entry per state"));
            }
            if r.start >= n {
                return Err(invalid(
                    "market.regimes.start",
                    r.start.to_string(),
                    "must index a state",
                ));
            }
            if r.volatility
                .iter()
                .chain(&r.drift)
                .any(|v| !v.is_finite() || v.abs() > 5.0)
                || r.volatility.iter().any(|v| *v < 0.0)
            {
                return Err(invalid(
                    "market.regimes",
                    "drift/volatility".to_string(),
                    "each must be finite, within ±5, volatility not negative",
                ));
            }
            for row in &r.transition {
                let sum: f64 = row.iter().sum();
                if row.iter().any(|p| !(0.0..=1.0).contains(p)) || (sum - 1.0).abs() > 1e-9 {
                    return Err(invalid(
                        "market.regimes.transition",
                        format!("{row:?}"),
                        "each row must hold probabilities summing to 1",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The bar calendar.
    pub fn calendar(&self) -> Result<Calendar, &'static str> {
        let m = self;
        let start = Ts::parse(&m.start)
            .map_err(|_| "must be a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM[:SS]Z")?;
        let mut holidays = Vec::with_capacity(m.holidays.len());
        for h in &m.holidays {
            let day = Ts::parse(h).map_err(|_| "holidays must be dates YYYY-MM-DD")?;
            holidays.push(day.day());
        }
        holidays.sort_unstable();
        let holidays: std::sync::Arc<[i64]> = holidays.into();
        let on_a_date = || {
            if start.0 % tape_engine::time::NANOS_PER_DAY != 0 {
                Err("daily bars and sessions start on a date (YYYY-MM-DD)")
            } else {
                Ok(())
            }
        };
        match (m.bar, &m.session) {
            (BarInterval::Day, Some(_)) => Err("a session needs minute bars (bar = \"1m\")"),
            (BarInterval::Day, None) => {
                on_a_date()?;
                let close_offset_ns =
                    hh_mm(&m.close_time).ok_or("close_time must be HH:MM (UTC)")?;
                if m.days == DaysSpec::Weekdays && holidays.is_empty() {
                    return Ok(Calendar::Weekdays {
                        first_day: start,
                        close_offset_ns,
                    });
                }
                Ok(Calendar::Days {
                    first_day: start,
                    close_offset_ns,
                    every_day: m.days == DaysSpec::Always,
                    holidays,
                })
            }
            (BarInterval::Minute, Some(session)) => {
                on_a_date()?;
                if m.days == DaysSpec::Always {
                    return Err("a session trades on weekdays: drop days = \"always\"");
                }
                let open = hh_mm(&session.open).ok_or("session open must be HH:MM (UTC)")?;
                let close = hh_mm(&session.close).ok_or("session close must be HH:MM (UTC)")?;
                if close <= open {
                    return Err("session close must be after its open");
                }
                Ok(Calendar::Sessions {
                    first_day: start,
                    open_offset_ns: open,
                    close_offset_ns: close,
                    holidays,
                })
            }
            (BarInterval::Minute, None) => {
                // Without a session, minute bars run around the clock.
                if !holidays.is_empty() {
                    return Err("holidays need daily bars or a session");
                }
                Ok(Calendar::Minutes {
                    first_close: Ts(start.0 + NANOS_PER_MINUTE),
                })
            }
        }
    }

    /// Symbol names, by id.
    pub fn symbol_names(&self) -> Vec<String> {
        if !self.names.is_empty() {
            return self.names.clone();
        }
        let n = self.symbols as usize;
        if n == 1 {
            return vec![self.symbol_prefix.clone()];
        }
        let width = (n - 1).to_string().len();
        (0..n)
            .map(|i| format!("{}{i:0width$}", self.symbol_prefix))
            .collect()
    }

    /// The first bar's open: the time the run starts (its `run_started` event's time).
    pub fn start_time(&self) -> Ts {
        Ts::parse(&self.start).expect("validated")
    }
}

/// Where bars come from: the `[market]` table, by its `kind`.
///
/// Each variant's table carries its own `kind` field, and a scenario is parsed in two steps
/// (the kind, then the whole document with that kind's table), so every error still points
/// at the key's own line.
// Built once per run and never copied on a hot path: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Market {
    /// A seeded synthetic market.
    Gbm(GbmSpec),
    /// Users' files: CSV (plain or gzip), Parquet or DBN.
    Files(FileSpec),
}

fn default_cash() -> f64 {
    1_000_000.0
}

fn default_snapshot_every() -> u32 {
    1
}

/// The `[account]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// Starting cash.
    #[serde(default = "default_cash")]
    pub cash: f64,
    /// Record a portfolio snapshot every this many time slices (1 = at every bar time).
    #[serde(default = "default_snapshot_every")]
    pub snapshot_every: u32,
    /// A margin account: an order taking exposure further from zero needs equity to cover
    /// this fraction of the gross exposure after it (leverage up to its inverse); buys need
    /// no cash (none: a cash account, whose buys need the cash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_margin: Option<f64>,
    /// A margin account: equity must stay at least this fraction of the gross exposure at
    /// every slice close, else positions are closed, largest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_margin: Option<f64>,
    /// The annual borrow fee on short positions, a fraction of their value (0.03 = 3%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub borrow_fee: Option<f64>,
}

impl Default for AccountSpec {
    fn default() -> Self {
        Self {
            cash: default_cash(),
            snapshot_every: default_snapshot_every(),
            initial_margin: None,
            maintenance_margin: None,
            borrow_fee: None,
        }
    }
}

/// The `[costs]` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostSpec {
    /// Slippage against the trader, in basis points of the fill bar's open.
    #[serde(default)]
    pub slippage_bps: u32,
    /// Commission, in basis points of notional.
    #[serde(default)]
    pub fee_bps: u32,
    /// Half the bid-ask spread, in basis points, paid on every market or stop fill.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub half_spread_bps: u32,
    /// Volatility-scaled slippage: this fraction of the fill bar's range (`high − low`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub range_slippage: f64,
    /// Square-root market impact coefficient η: a fill moves `η × √(quantity / bar volume)`
    /// of the price.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub impact: f64,
    /// Commission per unit filled (per share or contract), in account currency.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fee_per_unit: f64,
    /// The least commission of an order over all its fills, in account currency.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub min_fee: f64,
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

/// When orders fill.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillSpec {
    /// On the symbol's next bar, at its open (the default, and the only realistic choice).
    #[default]
    NextBarOpen,
    /// LOOK-AHEAD, for tests: at the close of the bar the decision was made on. `tape run`
    /// warns and `tape fuzz` flags it.
    SameBarClose,
}

/// The `[execution]` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionSpec {
    /// When orders fill.
    #[serde(default)]
    pub fill: FillSpec,
    /// The most of a bar's volume a symbol's orders may fill on it together, as a fraction
    /// (`0.1` = 10%); the rest carries to later bars. 0: no cap.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_participation: f64,
    /// Limit and stop prices must be whole multiples of this; an order off the grid is
    /// rejected, never rounded. None: any price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick_size: Option<f64>,
    /// Order quantities must be whole multiples of this; an order off the grid is rejected.
    /// None: any quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot_size: Option<f64>,
    /// Latency in bars: an order skips this many of its symbol's bars before it may fill
    /// (for daily data).
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub latency_bars: u32,
    /// Latency in nanoseconds: an order may fill only on a bar that opened (its symbol's
    /// previous bar closed) at least this long after the decision (for intraday data).
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub latency_ns: u64,
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

impl ExecutionSpec {
    /// The participation cap in parts per million of a bar's volume (0: none).
    pub fn participation_ppm(&self) -> u32 {
        (self.max_participation * 1e6).round() as u32
    }

    /// The tick grid, if any.
    pub fn tick(&self) -> Option<Price> {
        self.tick_size
            .map(|t| Price::from_f64(t).expect("validated"))
    }

    /// The lot grid, if any.
    pub fn lot(&self) -> Option<Quantity> {
        self.lot_size
            .map(|l| Quantity::from_f64(l).expect("validated"))
    }
}

/// One `[[instruments]]` table: trading rules for the symbols it names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentSpec {
    /// The symbols these rules apply to, as the market names them.
    pub symbols: Vec<String>,
    /// Limit and stop prices must be whole multiples of this (default: `[execution]`'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick_size: Option<f64>,
    /// Quantities must be whole multiples of this (default: `[execution]`'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot_size: Option<f64>,
    /// The least notional of an order, account currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_notional: Option<f64>,
    /// Whether sells may open or add to a short position.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub shortable: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl InstrumentSpec {
    /// The engine's rules for these symbols (validated first).
    pub fn rules(&self) -> InstrumentRules {
        InstrumentRules {
            tick_size: self
                .tick_size
                .map(|t| Price::from_f64(t).expect("validated")),
            lot_size: self
                .lot_size
                .map(|l| Quantity::from_f64(l).expect("validated")),
            min_notional: self
                .min_notional
                .map(|m| Money::from_f64(m).expect("validated")),
            not_shortable: !self.shortable,
        }
    }

    fn validate(
        &self,
        invalid: &dyn Fn(&'static str, String, &'static str) -> ScenarioError,
    ) -> Result<(), ScenarioError> {
        if self.symbols.is_empty() {
            return Err(invalid(
                "instruments.symbols",
                "[]".to_string(),
                "must name at least one symbol",
            ));
        }
        if let Some(t) = self.tick_size {
            if !(t.is_finite() && t > 0.0 && Price::from_f64(t).is_ok_and(|p| p.raw() > 0)) {
                return Err(invalid(
                    "instruments.tick_size",
                    t.to_string(),
                    "must be a positive price of at least 1e-8",
                ));
            }
        }
        if let Some(l) = self.lot_size {
            if !(l.is_finite() && l > 0.0 && Quantity::from_f64(l).is_ok_and(|q| q.raw() > 0)) {
                return Err(invalid(
                    "instruments.lot_size",
                    l.to_string(),
                    "must be a positive quantity of at least 1e-8",
                ));
            }
        }
        if let Some(m) = self.min_notional {
            if !(m.is_finite() && m >= 0.0 && Money::from_f64(m).is_ok()) {
                return Err(invalid(
                    "instruments.min_notional",
                    m.to_string(),
                    "must be an amount of at least 0",
                ));
            }
        }
        Ok(())
    }
}

/// When a tripped circuit breaker resets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerResetSpec {
    /// Never: it stays tripped to the end of the run.
    #[default]
    Never,
    /// `breaker_reset_slices` slices after it tripped.
    AfterSlices,
    /// At the first slice of a later UTC day.
    NewDay,
}

/// The `[risk]` table: pre-trade limits on entries and the circuit breaker. Fractions are
/// of equity; every limit is off unless set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskSpec {
    /// The most symbols with a position or working orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open_positions: Option<u32>,
    /// One symbol's exposure at most this fraction of equity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_position: Option<f64>,
    /// Gross exposure at most this fraction of equity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_gross_exposure: Option<f64>,
    /// Net exposure (absolute) at most this fraction of equity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_net_exposure: Option<f64>,
    /// No new entries while equity is down this fraction from its peak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drawdown_halt: Option<f64>,
    /// Portfolio heat: the summed risk to stops after an entry at most this fraction of
    /// equity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_heat: Option<f64>,
    /// The circuit breaker trips at this drawdown from its peak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaker_drawdown: Option<f64>,
    /// The circuit breaker trips after this many losing exits in a row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaker_losses: Option<u32>,
    /// When a tripped breaker resets.
    #[serde(default, skip_serializing_if = "is_default_reset")]
    pub breaker_reset: BreakerResetSpec,
    /// For `breaker_reset = "after_slices"`: how many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaker_reset_slices: Option<u32>,
}

fn is_default_reset(r: &BreakerResetSpec) -> bool {
    *r == BreakerResetSpec::Never
}

fn is_default_risk(r: &RiskSpec) -> bool {
    *r == RiskSpec::default()
}

impl RiskSpec {
    /// The engine's limits (validated first).
    pub fn limits(&self) -> RiskLimits {
        let ppm = |f: Option<f64>| f.map(|f| (f * 1e6).round() as u32);
        RiskLimits {
            max_open_positions: self.max_open_positions,
            max_position_ppm: ppm(self.max_position),
            max_gross_ppm: ppm(self.max_gross_exposure),
            max_net_ppm: ppm(self.max_net_exposure),
            drawdown_halt_ppm: ppm(self.drawdown_halt),
            max_heat_ppm: ppm(self.max_heat),
            breaker_drawdown_ppm: ppm(self.breaker_drawdown),
            breaker_losses: self.breaker_losses,
            breaker_reset: match self.breaker_reset {
                BreakerResetSpec::Never => BreakerReset::Never,
                BreakerResetSpec::NewDay => BreakerReset::NewDay,
                BreakerResetSpec::AfterSlices => {
                    BreakerReset::AfterSlices(self.breaker_reset_slices.unwrap_or(1))
                }
            },
        }
    }

    fn validate(
        &self,
        invalid: &dyn Fn(&'static str, String, &'static str) -> ScenarioError,
    ) -> Result<(), ScenarioError> {
        for (key, value, most) in [
            ("risk.max_position", self.max_position, 100.0),
            ("risk.max_gross_exposure", self.max_gross_exposure, 100.0),
            ("risk.max_net_exposure", self.max_net_exposure, 100.0),
            ("risk.drawdown_halt", self.drawdown_halt, 1.0),
            ("risk.max_heat", self.max_heat, 100.0),
            ("risk.breaker_drawdown", self.breaker_drawdown, 1.0),
        ] {
            if let Some(v) = value {
                if !(v.is_finite() && v > 0.0 && v <= most) {
                    return Err(invalid(
                        key,
                        v.to_string(),
                        "must be a positive fraction of equity (drawdowns at most 1, exposures at most 100)",
                    ));
                }
            }
        }
        for (key, value) in [
            ("risk.max_open_positions", self.max_open_positions),
            ("risk.breaker_losses", self.breaker_losses),
        ] {
            if value == Some(0) {
                return Err(invalid(key, "0".to_string(), "must be at least 1"));
            }
        }
        let after = self.breaker_reset == BreakerResetSpec::AfterSlices;
        match (after, self.breaker_reset_slices) {
            (true, None | Some(0)) => Err(invalid(
                "risk.breaker_reset_slices",
                format!("{:?}", self.breaker_reset_slices),
                "breaker_reset = \"after_slices\" needs a number of slices of at least 1",
            )),
            (false, Some(n)) => Err(invalid(
                "risk.breaker_reset_slices",
                n.to_string(),
                "is used only with breaker_reset = \"after_slices\"",
            )),
            _ => Ok(()),
        }
    }
}

/// The `kind` of a synthetic market table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GbmKind {
    /// Geometric Brownian motion.
    Gbm,
}

/// A run, described completely.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scenario {
    /// Short name (used in default output paths).
    pub name: String,
    /// One line for `tape scenarios`.
    #[serde(default)]
    pub description: String,
    /// Market seed (overridden by `--seed`).
    #[serde(default)]
    pub seed: u64,
    /// Where bars come from.
    pub market: Market,
    /// Point-in-time feature tables, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<FeatureSpec>,
    /// The account.
    #[serde(default)]
    pub account: AccountSpec,
    /// Trading costs.
    #[serde(default)]
    pub costs: CostSpec,
    /// How orders are executed.
    #[serde(default)]
    pub execution: ExecutionSpec,
    /// Pre-trade limits and the circuit breaker.
    #[serde(default, skip_serializing_if = "is_default_risk")]
    pub risk: RiskSpec,
    /// Trading rules per instrument.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instruments: Vec<InstrumentSpec>,
    /// The strategy's `kind` and parameters (validated by the strategies crate).
    pub strategy: toml::Table,
}

impl Scenario {
    /// Parses and validates a scenario. `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ScenarioError> {
        let parse_error = |e: toml::de::Error| ScenarioError::Parse {
            origin: origin.to_string(),
            message: describe_toml_error(text, &e),
        };
        // Step 1: which kind of market (a TOML syntax error is reported here).
        let table: toml::Table = text.parse().map_err(parse_error)?;
        let kind = table
            .get("market")
            .and_then(|m| m.get("kind"))
            .and_then(|k| k.as_str())
            .map(str::to_string);
        // Step 2: the whole document with that kind's table, so errors keep their lines.
        let scenario = match kind.as_deref() {
            Some("gbm") => toml::from_str::<RawScenario<GbmSpec>>(text)
                .map_err(parse_error)?
                .into_scenario(Market::Gbm),
            Some("csv" | "parquet" | "dbn") => toml::from_str::<RawScenario<FileSpec>>(text)
                .map_err(parse_error)?
                .into_scenario(Market::Files),
            other => {
                let line = market_kind_line(text);
                let found = other.map_or_else(
                    || "[market] has no kind".to_string(),
                    |k| format!("[market] kind = \"{k}\" is not a market kind"),
                );
                return Err(ScenarioError::Parse {
                    origin: origin.to_string(),
                    message: format!(
                        "line {line}: {found} (known: \"gbm\", \"csv\", \"parquet\", \"dbn\")"
                    ),
                });
            }
        };
        scenario.validate(origin)?;
        Ok(scenario)
    }

    fn validate(&self, origin: &str) -> Result<(), ScenarioError> {
        let invalid = |key, value: String, rule| ScenarioError::Invalid {
            origin: origin.to_string(),
            key,
            value,
            rule,
        };
        match &self.market {
            Market::Gbm(m) => m.validate(&invalid)?,
            Market::Files(c) => {
                if c.files.is_empty() {
                    return Err(invalid(
                        "market.files",
                        "[]".to_string(),
                        "must name at least one file",
                    ));
                }
            }
        }
        if !(self.account.cash.is_finite() && self.account.cash > 0.0)
            || Money::from_f64(self.account.cash).is_err()
        {
            return Err(invalid(
                "account.cash",
                self.account.cash.to_string(),
                "must be a positive amount below 9.2e12",
            ));
        }
        for (key, value) in [
            ("account.initial_margin", self.account.initial_margin),
            (
                "account.maintenance_margin",
                self.account.maintenance_margin,
            ),
        ] {
            if let Some(m) = value {
                if !(m.is_finite() && m > 0.0 && m <= 1.0) {
                    return Err(invalid(
                        key,
                        m.to_string(),
                        "must be a fraction of the gross exposure in (0, 1]",
                    ));
                }
            }
        }
        if let Some(b) = self.account.borrow_fee {
            if !(b.is_finite() && b > 0.0 && b <= 10.0) {
                return Err(invalid(
                    "account.borrow_fee",
                    b.to_string(),
                    "must be an annual rate in (0, 10] (0.03 = 3%)",
                ));
            }
        }
        if self.account.snapshot_every == 0 {
            return Err(invalid(
                "account.snapshot_every",
                "0".to_string(),
                "must be at least 1",
            ));
        }
        self.risk.validate(&invalid)?;
        for instrument in &self.instruments {
            instrument.validate(&invalid)?;
        }
        let e = &self.execution;
        if !(e.max_participation.is_finite() && (0.0..=1.0).contains(&e.max_participation)) {
            return Err(invalid(
                "execution.max_participation",
                e.max_participation.to_string(),
                "must be a fraction of a bar's volume in [0, 1] (0 = no cap)",
            ));
        }
        if let Some(t) = e.tick_size {
            if !(t.is_finite() && t > 0.0 && Price::from_f64(t).is_ok_and(|p| p.raw() > 0)) {
                return Err(invalid(
                    "execution.tick_size",
                    t.to_string(),
                    "must be a positive price of at least 1e-8",
                ));
            }
        }
        if let Some(l) = e.lot_size {
            if !(l.is_finite() && l > 0.0 && Quantity::from_f64(l).is_ok_and(|q| q.raw() > 0)) {
                return Err(invalid(
                    "execution.lot_size",
                    l.to_string(),
                    "must be a positive quantity of at least 1e-8",
                ));
            }
        }
        for (key, value, rule) in [
            (
                "costs.range_slippage",
                self.costs.range_slippage,
                "must be a fraction of the bar's range in [0, 10]",
            ),
            (
                "costs.impact",
                self.costs.impact,
                "must be a coefficient in [0, 10]",
            ),
        ] {
            if !(value.is_finite() && (0.0..=10.0).contains(&value)) {
                return Err(invalid(key, value.to_string(), rule));
            }
        }
        for (key, value) in [
            ("costs.fee_per_unit", self.costs.fee_per_unit),
            ("costs.min_fee", self.costs.min_fee),
        ] {
            if !(value.is_finite() && value >= 0.0 && Money::from_f64(value).is_ok()) {
                return Err(invalid(
                    key,
                    value.to_string(),
                    "must be an amount of at least 0 in account currency",
                ));
            }
        }
        for (key, bps) in [
            ("costs.slippage_bps", self.costs.slippage_bps),
            ("costs.half_spread_bps", self.costs.half_spread_bps),
            ("costs.fee_bps", self.costs.fee_bps),
        ] {
            if bps > 10_000 {
                return Err(invalid(
                    key,
                    bps.to_string(),
                    "must be at most 10000 (100%)",
                ));
            }
        }
        Ok(())
    }

    /// The synthetic market's parameters, if the market is synthetic.
    pub fn gbm(&self) -> Option<&GbmSpec> {
        match &self.market {
            Market::Gbm(g) => Some(g),
            Market::Files(_) => None,
        }
    }

    /// The same, mutable.
    pub fn gbm_mut(&mut self) -> Option<&mut GbmSpec> {
        match &mut self.market {
            Market::Gbm(g) => Some(g),
            Market::Files(_) => None,
        }
    }

    /// Starting cash.
    pub fn initial_cash(&self) -> Money {
        Money::from_f64(self.account.cash).expect("validated")
    }

    /// The cost model.
    pub fn cost_model(&self) -> CostModel {
        let c = &self.costs;
        let money = |v: f64| Money::from_f64(v).expect("validated");
        CostModel {
            slippage_bps: c.slippage_bps.into(),
            half_spread_bps: c.half_spread_bps.into(),
            range_slippage_ppm: (c.range_slippage * 1e6).round() as i64,
            impact_ppm: (c.impact * 1e6).round() as i64,
            fee_bps: c.fee_bps.into(),
            fee_per_unit: money(c.fee_per_unit),
            min_fee: money(c.min_fee),
        }
    }

    /// The canonical TOML of this scenario, with the strategy table replaced by `strategy`
    /// (the validated form with defaults filled in).
    pub fn canonical(&self, strategy: toml::Table) -> String {
        let mut copy = self.clone();
        copy.strategy = strategy;
        let table = toml::Table::try_from(&copy).expect("a scenario always serialises");
        to_canonical_toml(&table)
    }

    /// The canonical TOML of the `[market]` table alone (hashed as the input source).
    pub fn market_canonical(&self) -> String {
        let table = toml::Table::try_from(&self.market).expect("a market always serialises");
        to_canonical_toml(&table)
    }
}

/// The line of `kind` in the `[market]` table, or of the table's header without one.
fn market_kind_line(text: &str) -> usize {
    let mut header = 0;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            if header > 0 {
                break;
            }
            if line == "[market]" {
                header = i + 1;
            }
        } else if header > 0 && line.split('=').next().is_some_and(|k| k.trim() == "kind") {
            return i + 1;
        }
    }
    header
}

/// A scenario document as parsed, for one kind of market table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario<M> {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    seed: u64,
    market: M,
    #[serde(default)]
    features: Option<FeatureSpec>,
    #[serde(default)]
    account: AccountSpec,
    #[serde(default)]
    costs: CostSpec,
    #[serde(default)]
    execution: ExecutionSpec,
    #[serde(default)]
    risk: RiskSpec,
    #[serde(default)]
    instruments: Vec<InstrumentSpec>,
    strategy: toml::Table,
}

impl<M> RawScenario<M> {
    fn into_scenario(self, market: impl FnOnce(M) -> Market) -> Scenario {
        Scenario {
            name: self.name,
            description: self.description,
            seed: self.seed,
            market: market(self.market),
            features: self.features,
            account: self.account,
            costs: self.costs,
            execution: self.execution,
            risk: self.risk,
            instruments: self.instruments,
            strategy: self.strategy,
        }
    }
}

/// A TOML error as one line: the message, and the line and column when known.
fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {}", e.message().trim())
        }
        None => e.message().trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "name = 't'\n[market]\nkind = 'gbm'\nsymbols = 2\nstart = '2020-01-01'\nbar = '1d'\nbars = 10\ndrift = 0.0\nvolatility = 0.2\n[strategy]\nkind = 'sma_cross'\n";

    #[test]
    fn minimal_scenario_parses_with_defaults() {
        let s = Scenario::from_toml(MINIMAL, "t.toml").expect("valid");
        assert_eq!(s.gbm().expect("synthetic").symbol_names(), ["SYN0", "SYN1"]);
        assert_eq!(s.account.cash, 1_000_000.0);
        let canonical = s.canonical(s.strategy.clone());
        let again = Scenario::from_toml(&canonical, "canonical").expect("canonical form parses");
        assert_eq!(again, s);
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let text = MINIMAL.replace("bars = 10", "bars = 10\nspeed = 3");
        let err = Scenario::from_toml(&text, "t.toml")
            .expect_err("unknown key")
            .to_string();
        assert!(
            err.contains("t.toml") && err.contains("speed") && err.contains("line 8"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_is_named() {
        let text = MINIMAL.replace("symbols = 2", "symbols = 'two'");
        let err = Scenario::from_toml(&text, "t.toml")
            .expect_err("wrong type")
            .to_string();
        assert!(err.contains("line 4"), "{err}");
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let text = MINIMAL.replace("volatility = 0.2", "volatility = -1.0");
        let err = Scenario::from_toml(&text, "t.toml")
            .expect_err("negative vol")
            .to_string();
        assert!(err.contains("market.volatility"), "{err}");
    }

    #[test]
    fn regimes_replace_the_top_level_drift_and_volatility() {
        let regimes = "[market.regimes]\nnames = ['calm', 'crisis']\ndrift = [0.05, -0.2]\nvolatility = [0.1, 0.6]\ntransition = [[0.98, 0.02], [0.1, 0.9]]\n";
        let bare = MINIMAL
            .replace("drift = 0.0\nvolatility = 0.2\n", "")
            .replace("[strategy]", &format!("{regimes}[strategy]"));
        let s = Scenario::from_toml(&bare, "t.toml").expect("regimes alone suffice");
        assert_eq!(s.gbm().expect("gbm").drift, None);
        let canonical = s.canonical(s.strategy.clone());
        assert!(
            !canonical
                .lines()
                .any(|l| l.starts_with("drift =") && !l.contains('[')),
            "no scalar drift is written: {canonical}"
        );
        assert_eq!(Scenario::from_toml(&canonical, "c").expect("parses"), s);

        let both = MINIMAL.replace("[strategy]", &format!("{regimes}[strategy]"));
        let err = Scenario::from_toml(&both, "t.toml")
            .expect_err("two drifts")
            .to_string();
        assert!(
            err.contains("market.drift") && err.contains("per state"),
            "{err}"
        );

        let neither = MINIMAL.replace("drift = 0.0\n", "");
        let err = Scenario::from_toml(&neither, "t.toml")
            .expect_err("no drift")
            .to_string();
        assert!(
            err.contains("market.drift") && err.contains("required"),
            "{err}"
        );
    }
}
