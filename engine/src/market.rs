//! What a strategy may see: the market as known at `now`, and nothing later.
//!
//! # Invariants
//! - The view is built by the core from inputs already delivered (event `ts ≤ now`): bars
//!   and point-in-time features alike. It has no path to a later input, so a strategy cannot
//!   look ahead through it.

use crate::event::{Bar, Feature, FeatureId, Seq, SymbolId};
use crate::execution::{OrderBook, WorkingOrder};
use crate::fixed::{Money, Quantity};
use crate::time::Ts;

/// The market and the account's positions as known at the close of the slice at `now`.
#[derive(Clone, Copy, Debug)]
pub struct MarketView<'a> {
    pub(crate) now: Ts,
    pub(crate) latest: &'a [Option<Bar>],
    pub(crate) updated: &'a [SymbolId],
    pub(crate) positions: &'a [Quantity],
    pub(crate) features: &'a FeatureTable,
    pub(crate) orders: Option<&'a OrderBook>,
    pub(crate) cash: Money,
}

/// A feature's latest value as known at some time, and when it became available.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observed {
    /// The value.
    pub value: f64,
    /// When it became available (its event's `ts`).
    pub available_at: Ts,
}

/// The latest value of every (feature, symbol) pair: point-in-time features joined as of
/// the time of the inputs folded in so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeatureTable {
    names: Vec<String>,
    symbols: usize,
    latest: Vec<Option<(Observed, Seq)>>,
}

impl FeatureTable {
    /// An empty table for the header's feature names and the run's symbol count.
    pub fn new(names: Vec<String>, symbols: usize) -> Self {
        Self {
            latest: vec![None; names.len() * symbols],
            names,
            symbols,
        }
    }

    /// Feature names: `FeatureId(i)` is `names()[i]`.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The id of a feature by name.
    pub fn id(&self, name: &str) -> Option<FeatureId> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| FeatureId(i as u32))
    }

    fn slot(&self, feature: FeatureId, symbol: SymbolId) -> Option<usize> {
        let (f, s) = (feature.0 as usize, symbol.0 as usize);
        (f < self.names.len() && s < self.symbols).then_some(f * self.symbols + s)
    }

    /// Whether a feature event fits this table.
    pub fn knows(&self, feature: FeatureId, symbol: SymbolId) -> bool {
        self.slot(feature, symbol).is_some()
    }

    /// Folds in a value that became available at `ts`, recorded as event `seq`; `false` if
    /// its ids are out of range.
    pub fn apply(&mut self, ts: Ts, seq: Seq, f: &Feature) -> bool {
        match self.slot(f.feature, f.symbol) {
            Some(i) => {
                let observed = Observed {
                    value: f.value,
                    available_at: ts,
                };
                self.latest[i] = Some((observed, seq));
                true
            }
            None => false,
        }
    }

    /// The latest value of a feature for a symbol, if one has become available.
    pub fn get(&self, feature: FeatureId, symbol: SymbolId) -> Option<Observed> {
        self.slot(feature, symbol)
            .and_then(|i| self.latest[i])
            .map(|(o, _)| o)
    }

    /// The seq of the event that recorded that latest value.
    pub fn seq(&self, feature: FeatureId, symbol: SymbolId) -> Option<Seq> {
        self.slot(feature, symbol)
            .and_then(|i| self.latest[i])
            .map(|(_, seq)| seq)
    }
}

/// The table a view without features refers to.
static NO_FEATURES: FeatureTable = FeatureTable {
    names: Vec::new(),
    symbols: 0,
    latest: Vec::new(),
};

impl<'a> MarketView<'a> {
    /// A view over explicit state (for tests and tools; the core builds its own).
    pub fn new(
        now: Ts,
        latest: &'a [Option<Bar>],
        updated: &'a [SymbolId],
        positions: &'a [Quantity],
    ) -> Self {
        debug_assert_eq!(latest.len(), positions.len());
        Self {
            now,
            latest,
            updated,
            positions,
            features: &NO_FEATURES,
            orders: None,
            cash: Money::ZERO,
        }
    }

    /// The same view with the account's cash.
    pub fn with_cash(self, cash: Money) -> Self {
        Self { cash, ..self }
    }

    /// The account's cash.
    pub fn cash(&self) -> Money {
        self.cash
    }

    /// Cash plus every position marked at its symbol's latest close: what sizing rules size
    /// against. (A position in a symbol without a bar yet counts nothing.)
    pub fn equity(&self) -> Money {
        let mut equity = self.cash;
        for (i, q) in self.positions.iter().enumerate() {
            if let Some(bar) = self.latest.get(i).and_then(Option::as_ref) {
                let value = bar.close.notional(*q).unwrap_or(Money::ZERO);
                equity = equity.checked_add(value).unwrap_or(equity);
            }
        }
        equity
    }

    /// The same view with the account's working orders.
    pub fn with_orders(self, orders: &'a OrderBook) -> Self {
        Self {
            orders: Some(orders),
            ..self
        }
    }

    /// The account's working orders in a symbol, in submission order (placed at earlier
    /// slices: this slice's decisions are not in yet).
    pub fn working_orders(&self, symbol: SymbolId) -> &'a [WorkingOrder] {
        self.orders.map_or(&[], |book| book.working(symbol))
    }

    /// The same view with point-in-time features.
    pub fn with_features(self, features: &'a FeatureTable) -> Self {
        Self { features, ..self }
    }

    /// The id of a feature by name (resolve once, then read by id).
    pub fn feature_id(&self, name: &str) -> Option<FeatureId> {
        self.features.id(name)
    }

    /// The latest value of a feature for a symbol that had become available by `now`.
    pub fn feature(&self, feature: FeatureId, symbol: SymbolId) -> Option<Observed> {
        self.features.get(feature, symbol)
    }

    /// The time of the slice being decided on.
    pub fn now(&self) -> Ts {
        self.now
    }

    /// Symbols whose bar closed at `now`, in symbol-id order.
    pub fn updated(&self) -> &'a [SymbolId] {
        self.updated
    }

    /// The latest bar of a symbol known at `now`, if any.
    pub fn latest(&self, symbol: SymbolId) -> Option<&'a Bar> {
        self.latest.get(symbol.0 as usize).and_then(Option::as_ref)
    }

    /// The account's current position in a symbol (fills up to `now` included).
    pub fn position(&self, symbol: SymbolId) -> Quantity {
        self.positions
            .get(symbol.0 as usize)
            .copied()
            .unwrap_or(Quantity::ZERO)
    }

    /// Number of symbols in the run.
    pub fn symbol_count(&self) -> usize {
        self.latest.len()
    }
}
