//! What a strategy may see: the market as known at `now`, and nothing later.
//!
//! # Invariants
//! - The view is built by the core from bars already delivered (event `ts ≤ now`); it has no
//!   path to a later input, so a strategy cannot look ahead through it.

use crate::event::{Bar, SymbolId};
use crate::fixed::Quantity;
use crate::time::Ts;

/// The market and the account's positions as known at the close of the slice at `now`.
#[derive(Clone, Copy, Debug)]
pub struct MarketView<'a> {
    pub(crate) now: Ts,
    pub(crate) latest: &'a [Option<Bar>],
    pub(crate) updated: &'a [SymbolId],
    pub(crate) positions: &'a [Quantity],
}

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
        }
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
