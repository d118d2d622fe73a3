//! Input events: facts from outside the core.

use super::SymbolId;
use crate::fixed::{Money, Price, Quantity};

/// The run began with this configuration. Always seq 0.
///
/// Caused by: nothing. Known at: the scenario's start time (at or before the first bar).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunStarted {
    /// BLAKE3 of the canonical configuration bytes in the ledger header.
    pub config_digest: [u8; 32],
    /// Cash at the start, in the account currency.
    pub initial_cash: Money,
    /// Number of symbols in the header's symbol table.
    pub symbols: u32,
}

/// A bar that has closed. Its event `ts` is the close time: the bar is known only then.
///
/// Caused by: nothing (input). Known at: the bar's close.
///
/// Invariant: `low ≤ open ≤ high`, `low ≤ close ≤ high`, `volume ≥ 0` (checked by
/// [`Bar::new`]; prices are positive by [`Price`]'s own invariant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    /// Which instrument.
    pub symbol: SymbolId,
    /// First trade of the bar.
    pub open: Price,
    /// Highest trade.
    pub high: Price,
    /// Lowest trade.
    pub low: Price,
    /// Last trade.
    pub close: Price,
    /// Units traded.
    pub volume: Quantity,
}

/// A bar whose prices or volume are inconsistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BarError {
    /// `high < low`, or the open or close lies outside `[low, high]`.
    #[error("bar prices are inconsistent: open {open}, high {high}, low {low}, close {close}")]
    Inconsistent {
        open: Price,
        high: Price,
        low: Price,
        close: Price,
    },
    /// Volume below zero.
    #[error("bar volume {volume} is negative")]
    NegativeVolume { volume: Quantity },
}

impl Bar {
    /// A bar, checked: `low ≤ open, close ≤ high` and `volume ≥ 0`.
    pub fn new(
        symbol: SymbolId,
        open: Price,
        high: Price,
        low: Price,
        close: Price,
        volume: Quantity,
    ) -> Result<Self, BarError> {
        let inside = |p: Price| low <= p && p <= high;
        if !(inside(open) && inside(close)) {
            return Err(BarError::Inconsistent {
                open,
                high,
                low,
                close,
            });
        }
        if volume.raw() < 0 {
            return Err(BarError::NegativeVolume { volume });
        }
        Ok(Self {
            symbol,
            open,
            high,
            low,
            close,
            volume,
        })
    }
}

/// A bar the data guard dropped (policy `quarantine`) or kept with a warning (policy `warn`).
/// The bar itself is not in the ledger when quarantined; this event says why.
///
/// Caused by: nothing (input: the data guard runs on the input side). Known at: the bar's
/// time, when it would have been delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataNote {
    /// The bar's symbol.
    pub symbol: SymbolId,
    /// Index of the file in the header's input list.
    pub input: u32,
    /// Row number in that file (1 is the header row).
    pub row: u64,
    /// The check that failed, with the values it saw.
    pub reason: super::Reason,
}

/// A feature's dense index into the run header's feature table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeatureId(pub u32);

/// A point-in-time feature value (an earnings surprise, a sentiment score …) for a symbol.
/// Its event `ts` is when the value became available: strategies see it from that time on,
/// never earlier, as the latest value of that feature for that symbol.
///
/// Caused by: nothing (input). Known at: its `available_at` time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Feature {
    /// The symbol it describes.
    pub symbol: SymbolId,
    /// Which feature (the header's feature table names it).
    pub feature: FeatureId,
    /// Index of the file in the header's input list.
    pub input: u32,
    /// Row number in that file.
    pub row: u64,
    /// The value; always finite.
    pub value: f64,
}
