//! The data guard: every bar from a file is checked before the core sees it, and each
//! check's policy decides what happens — reject the run, quarantine (drop) the bar, or warn
//! and keep it. Nothing is ever padded or filled.

use serde::{Deserialize, Serialize};
use tape_engine::event::{RuleId, RuleSpec, Unit};

/// What to do when a check fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Stop: the run does not start, and the error names the file, row and value.
    Reject,
    /// Drop the bar and count it in the data report.
    Quarantine,
    /// Keep the bar and count it in the data report (only for bars that are valid but
    /// suspicious: returns and splits).
    Warn,
}

fn reject() -> Policy {
    Policy::Reject
}
fn warn() -> Policy {
    Policy::Warn
}
fn default_threshold() -> f64 {
    0.5
}
fn default_max_gap() -> u32 {
    3
}
fn is_warn(p: &Policy) -> bool {
    *p == Policy::Warn
}
fn is_default_max_gap(n: &u32) -> bool {
    *n == default_max_gap()
}

/// The `[market.guard]` table: one policy per check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardSpec {
    /// A price that is not a finite positive number.
    #[serde(default = "reject")]
    pub invalid_price: Policy,
    /// `high < low`, or the open or close outside `[low, high]`.
    #[serde(default = "reject")]
    pub inconsistent_bar: Policy,
    /// Volume below zero (or not a number).
    #[serde(default = "reject")]
    pub negative_volume: Policy,
    /// A time equal to or before the symbol's previous bar.
    #[serde(default = "reject")]
    pub out_of_order: Policy,
    /// A close-to-close move larger than `absurd_return_threshold` that is not a split.
    #[serde(default = "warn")]
    pub absurd_return: Policy,
    /// The move that makes a return absurd (0.5 = ±50%).
    #[serde(default = "default_threshold")]
    pub absurd_return_threshold: f64,
    /// A move in the unadjusted close that the adjusted close does not show, by a
    /// split-like factor (2:1, 3:2, 7:1, 1:10 …): a stock split, flagged for what it is (not
    /// as an absurd return). Needs an adjusted-close column.
    #[serde(default = "warn")]
    pub split: Policy,
    /// More than `max_gap_sessions` trading days without a bar of the symbol, by the
    /// market's calendar (`days`, `holidays`); checked only when the market names its days.
    #[serde(default = "warn", skip_serializing_if = "is_warn")]
    pub gap: Policy,
    /// The most trading days a symbol may skip before its next bar is a gap.
    #[serde(
        default = "default_max_gap",
        skip_serializing_if = "is_default_max_gap"
    )]
    pub max_gap_sessions: u32,
}

impl Default for GuardSpec {
    fn default() -> Self {
        Self {
            invalid_price: reject(),
            inconsistent_bar: reject(),
            negative_volume: reject(),
            out_of_order: reject(),
            absurd_return: warn(),
            absurd_return_threshold: default_threshold(),
            split: warn(),
            gap: warn(),
            max_gap_sessions: default_max_gap(),
        }
    }
}

/// A check the guard runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// See [`GuardSpec::invalid_price`].
    InvalidPrice,
    /// See [`GuardSpec::inconsistent_bar`].
    InconsistentBar,
    /// See [`GuardSpec::negative_volume`].
    NegativeVolume,
    /// See [`GuardSpec::out_of_order`].
    OutOfOrder,
    /// See [`GuardSpec::absurd_return`].
    AbsurdReturn,
    /// See [`GuardSpec::split`].
    Split,
    /// See [`GuardSpec::gap`].
    Gap,
}

impl Check {
    /// snake_case name, as in the scenario file.
    pub fn name(self) -> &'static str {
        match self {
            Check::InvalidPrice => "invalid_price",
            Check::InconsistentBar => "inconsistent_bar",
            Check::NegativeVolume => "negative_volume",
            Check::OutOfOrder => "out_of_order",
            Check::AbsurdReturn => "absurd_return",
            Check::Split => "split",
            Check::Gap => "gap",
        }
    }

    /// Whether a bar failing this check can still be kept (it is valid, only suspicious).
    pub fn keepable(self) -> bool {
        matches!(self, Check::AbsurdReturn | Check::Split | Check::Gap)
    }
}

impl GuardSpec {
    /// The policy of a check; `warn` on a check whose bar cannot be kept acts as quarantine.
    pub fn policy(&self, check: Check) -> Policy {
        let p = match check {
            Check::InvalidPrice => self.invalid_price,
            Check::InconsistentBar => self.inconsistent_bar,
            Check::NegativeVolume => self.negative_volume,
            Check::OutOfOrder => self.out_of_order,
            Check::AbsurdReturn => self.absurd_return,
            Check::Split => self.split,
            Check::Gap => self.gap,
        };
        if p == Policy::Warn && !check.keepable() {
            Policy::Quarantine
        } else {
            p
        }
    }
}

/// A split-like ratio: `r` or `1/r` near one of the ratios companies split at.
pub fn split_ratio(r: f64) -> Option<f64> {
    const RATIOS: [f64; 10] = [2.0, 3.0, 4.0, 5.0, 7.0, 8.0, 10.0, 1.5, 15.0, 20.0];
    let x = if r < 1.0 { 1.0 / r } else { r };
    RATIOS
        .iter()
        .copied()
        .find(|&k| (x / k - 1.0).abs() < 0.06)
        .map(|k| if r < 1.0 { 1.0 / k } else { k })
}

/// One finding of the guard.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// Which check.
    pub check: Check,
    /// What was done.
    pub policy: Policy,
    /// File, row and symbol.
    pub place: String,
    /// The values that failed, in words.
    pub detail: String,
}

/// What the guard saw in a market's files: counts per check and the first findings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataReport {
    /// Bars read.
    pub rows: u64,
    /// Bars delivered to the run.
    pub bars: u64,
    /// Findings per check, in check order.
    pub counts: std::collections::BTreeMap<Check, (Policy, u64)>,
    /// The first few findings, for the report.
    pub examples: Vec<Finding>,
    /// The earliest time of a delivered bar.
    pub first_ts: Option<tape_engine::time::Ts>,
}

impl DataReport {
    /// Records a finding.
    pub fn record(&mut self, finding: Finding) {
        let entry = self
            .counts
            .entry(finding.check)
            .or_insert((finding.policy, 0));
        entry.1 += 1;
        if self.examples.len() < 12 {
            self.examples.push(finding);
        }
    }

    /// Bars dropped by quarantine.
    pub fn quarantined(&self) -> u64 {
        self.counts
            .values()
            .filter(|(p, _)| *p == Policy::Quarantine)
            .map(|(_, n)| n)
            .sum()
    }
}

const PRICES: &[(&str, Unit)] = &[
    ("open", Unit::Real),
    ("high", Unit::Real),
    ("low", Unit::Real),
    ("close", Unit::Real),
];
const RETURN: &[(&str, Unit)] = &[
    ("previous_close", Unit::Real),
    ("close", Unit::Real),
    ("ratio", Unit::Real),
];

/// The data guard's rules, as recorded in `data_quarantined` and `data_warning` events
/// (ids 64–70, between the engine's and the strategies'). The gap rule (70) is in a ledger's
/// rule table only when its market names a calendar: see [`guard_rules`].
pub const DATA_RULES: &[RuleSpec] = &[
    RuleSpec { id: RuleId(64), name: "invalid_price", summary: "A price is not a finite positive number.", fields: PRICES },
    RuleSpec { id: RuleId(65), name: "inconsistent_bar", summary: "high < low, or the open or close lies outside [low, high].", fields: PRICES },
    RuleSpec { id: RuleId(66), name: "negative_volume", summary: "Volume is negative or not representable.", fields: &[("volume", Unit::Real)] },
    RuleSpec { id: RuleId(67), name: "out_of_order", summary: "The bar's time is not after the symbol's previous bar.", fields: &[("previous_ts_ns", Unit::Int)] },
    RuleSpec { id: RuleId(68), name: "absurd_return", summary: "The close moved more than the absurd-return threshold, and not by a split.", fields: RETURN },
    RuleSpec { id: RuleId(69), name: "split", summary: "The unadjusted close moved by a split factor the adjusted close does not show: a stock split.", fields: RETURN },
    RuleSpec { id: RuleId(70), name: "gap", summary: "More trading days than allowed passed, by the market's calendar, without a bar of the symbol.", fields: &[("previous_ts_ns", Unit::Int), ("missing_sessions", Unit::Int)] },
];

/// The rules a market's data notes may name: the gap rule only with a calendar to measure
/// gaps by (so ledgers of markets without one keep the rule table they always had).
pub fn guard_rules(has_calendar: bool) -> &'static [RuleSpec] {
    if has_calendar {
        DATA_RULES
    } else {
        &DATA_RULES[..6]
    }
}

impl Check {
    /// The rule this check's notes name.
    pub fn rule(self) -> &'static RuleSpec {
        &DATA_RULES[match self {
            Check::InvalidPrice => 0,
            Check::InconsistentBar => 1,
            Check::NegativeVolume => 2,
            Check::OutOfOrder => 3,
            Check::AbsurdReturn => 4,
            Check::Split => 5,
            Check::Gap => 6,
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_ratios_are_recognised_and_ordinary_moves_are_not() {
        assert_eq!(split_ratio(0.5), Some(0.5));
        assert_eq!(split_ratio(0.14), Some(1.0 / 7.0));
        assert_eq!(split_ratio(2.02), Some(2.0));
        assert_eq!(
            split_ratio(0.62),
            None,
            "a 38% fall is a crash, not a split"
        );
        assert_eq!(split_ratio(1.3), None);
    }

    #[test]
    fn warn_means_quarantine_for_bars_that_cannot_be_kept() {
        let spec = GuardSpec {
            inconsistent_bar: Policy::Warn,
            ..GuardSpec::default()
        };
        assert_eq!(spec.policy(Check::InconsistentBar), Policy::Quarantine);
        assert_eq!(spec.policy(Check::AbsurdReturn), Policy::Warn);
    }
}
