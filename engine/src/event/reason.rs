//! Reasons: the rule behind a decision and the numbers it used.
//!
//! A [`Reason`] is a rule id plus up to [`MAX_REASON_VALUES`] raw 64-bit values. What the
//! values mean — their names and units — is described once per ledger, in the header's
//! [`RuleTable`], so `tape show` and `tape audit` can explain any decision from the ledger
//! alone, without the source code that made it.
//!
//! Ids below [`RuleId::STRATEGY_BASE`] belong to the engine; a strategy numbers its own rules
//! from there.

use super::FieldValue;
use crate::fixed::{Money, Price, Quantity};

/// The most values one reason carries.
pub const MAX_REASON_VALUES: usize = 8;

/// A rule's id in the ledger's [`RuleTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(pub u16);

impl RuleId {
    /// The first id a strategy may use; lower ids are the engine's.
    pub const STRATEGY_BASE: u16 = 256;

    /// The id of a strategy's `index`-th rule.
    pub const fn strategy(index: u16) -> Self {
        Self(Self::STRATEGY_BASE + index)
    }
}

/// How a reason value is stored and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A signed integer (counts, periods).
    Int,
    /// A [`Price`] raw value.
    Price,
    /// A [`Quantity`] raw value.
    Quantity,
    /// A [`Money`] raw value.
    Money,
    /// An `f64`, stored as its IEEE-754 bits.
    Real,
}

impl Unit {
    /// Wire code in the header's rule table.
    pub const fn code(self) -> u8 {
        match self {
            Unit::Int => 0,
            Unit::Price => 1,
            Unit::Quantity => 2,
            Unit::Money => 3,
            Unit::Real => 4,
        }
    }

    /// From a wire code.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Unit::Int),
            1 => Some(Unit::Price),
            2 => Some(Unit::Quantity),
            3 => Some(Unit::Money),
            4 => Some(Unit::Real),
            _ => None,
        }
    }

    /// The value of a raw word in this unit.
    pub fn value(self, raw: i64) -> FieldValue {
        match self {
            Unit::Int => FieldValue::I64(raw),
            Unit::Price => match Price::from_raw(raw) {
                Ok(p) => FieldValue::Price(p),
                Err(_) => FieldValue::I64(raw),
            },
            Unit::Quantity => FieldValue::Quantity(Quantity::from_raw(raw)),
            Unit::Money => FieldValue::Money(Money::from_raw(raw)),
            Unit::Real => FieldValue::F64(f64::from_bits(raw as u64)),
        }
    }
}

/// A rule as compiled into the engine or a strategy.
#[derive(Clone, Copy, Debug)]
pub struct RuleSpec {
    /// Its id in every ledger that uses it.
    pub id: RuleId,
    /// snake_case name, e.g. `sma_cross`.
    pub name: &'static str,
    /// One sentence saying what the rule does.
    pub summary: &'static str,
    /// Names and units of the values a reason of this rule carries, in order.
    pub fields: &'static [(&'static str, Unit)],
}

/// A rule as described in a ledger header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Its id.
    pub id: RuleId,
    /// snake_case name.
    pub name: String,
    /// One sentence saying what the rule does.
    pub summary: String,
    /// Names and units of its values.
    pub fields: Vec<(String, Unit)>,
}

impl From<&RuleSpec> for Rule {
    fn from(spec: &RuleSpec) -> Self {
        Self {
            id: spec.id,
            name: spec.name.to_string(),
            summary: spec.summary.to_string(),
            fields: spec
                .fields
                .iter()
                .map(|(n, u)| (n.to_string(), *u))
                .collect(),
        }
    }
}

/// Every rule a ledger's reasons may name, sorted by id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleTable {
    rules: Vec<Rule>,
}

impl RuleTable {
    /// A table from rules; `None` if two share an id.
    pub fn new(mut rules: Vec<Rule>) -> Option<Self> {
        rules.sort_by_key(|r| r.id);
        if rules.windows(2).any(|w| w[0].id == w[1].id) {
            return None;
        }
        Some(Self { rules })
    }

    /// A table from compiled specs; `None` if two share an id.
    pub fn from_specs<'a>(specs: impl IntoIterator<Item = &'a RuleSpec>) -> Option<Self> {
        Self::new(specs.into_iter().map(Rule::from).collect())
    }

    /// The rules, by id.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether every rule of `self` is in `other`, the same in every word: a ledger written
    /// before rules were added can be re-executed under the newer, larger table, since a
    /// run that never fires the new rules names none of them.
    pub fn is_subset_of(&self, other: &RuleTable) -> bool {
        self.rules.iter().all(|r| other.get(r.id) == Some(r))
    }

    /// The rule with this id.
    pub fn get(&self, id: RuleId) -> Option<&Rule> {
        self.rules
            .binary_search_by_key(&id, |r| r.id)
            .ok()
            .map(|i| &self.rules[i])
    }

    /// A reason's rule and its values named and typed; unnamed values are shown as `value_N`.
    pub fn describe(&self, reason: &Reason) -> (String, Vec<(String, FieldValue)>) {
        let rule = self.get(reason.rule);
        let name = rule.map_or_else(|| format!("rule_{}", reason.rule.0), |r| r.name.clone());
        let values = reason
            .raw_values()
            .iter()
            .enumerate()
            .map(|(i, &raw)| match rule.and_then(|r| r.fields.get(i)) {
                Some((field, unit)) => (field.clone(), unit.value(raw)),
                None => (format!("value_{i}"), FieldValue::I64(raw)),
            })
            .collect();
        (name, values)
    }
}

/// One number in a reason, typed at the call site.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReasonValue {
    /// A signed integer.
    Int(i64),
    /// A price.
    Price(Price),
    /// A quantity.
    Quantity(Quantity),
    /// Money.
    Money(Money),
    /// A float.
    Real(f64),
}

impl ReasonValue {
    fn raw(self) -> i64 {
        match self {
            ReasonValue::Int(v) => v,
            ReasonValue::Price(p) => p.raw(),
            ReasonValue::Quantity(q) => q.raw(),
            ReasonValue::Money(m) => m.raw(),
            ReasonValue::Real(f) => f.to_bits() as i64,
        }
    }
}

/// The rule behind a decision and the numbers it used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reason {
    /// Which rule fired.
    pub rule: RuleId,
    len: u8,
    values: [i64; MAX_REASON_VALUES],
}

impl Reason {
    /// A reason with typed values. Panics (a bug) with more than [`MAX_REASON_VALUES`] values.
    pub fn new(rule: RuleId, values: &[ReasonValue]) -> Self {
        assert!(
            values.len() <= MAX_REASON_VALUES,
            "a reason holds at most {MAX_REASON_VALUES} values"
        );
        let mut raw = [0; MAX_REASON_VALUES];
        for (slot, v) in raw.iter_mut().zip(values) {
            *slot = v.raw();
        }
        Self {
            rule,
            len: values.len() as u8,
            values: raw,
        }
    }

    /// A reason from raw words (the decoder's constructor); `None` with too many values.
    pub fn from_raw(rule: RuleId, values: &[i64]) -> Option<Self> {
        if values.len() > MAX_REASON_VALUES {
            return None;
        }
        let mut raw = [0; MAX_REASON_VALUES];
        raw[..values.len()].copy_from_slice(values);
        Some(Self {
            rule,
            len: values.len() as u8,
            values: raw,
        })
    }

    /// The raw words, in order.
    pub fn raw_values(&self) -> &[i64] {
        &self.values[..self.len as usize]
    }
}
