//! Strategy decisions: signals and targets.

use super::{Reason, SymbolId};
use crate::fixed::Quantity;

/// Which way a signal points. Flat means "hold nothing".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// Hold nothing.
    Flat,
    /// Hold a long position.
    Long,
    /// Hold a short position.
    Short,
}

impl Direction {
    /// Wire code.
    pub const fn code(self) -> u8 {
        match self {
            Direction::Flat => 0,
            Direction::Long => 1,
            Direction::Short => 2,
        }
    }

    /// From a wire code.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Direction::Flat),
            1 => Some(Direction::Long),
            2 => Some(Direction::Short),
            _ => None,
        }
    }

    /// snake_case name.
    pub const fn name(self) -> &'static str {
        match self {
            Direction::Flat => "flat",
            Direction::Long => "long",
            Direction::Short => "short",
        }
    }
}

/// A strategy's view on a symbol changed.
///
/// Caused by: the bar(s) it was computed from. Known at: that bar's close.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Signal {
    /// Which instrument.
    pub symbol: SymbolId,
    /// The direction the strategy wants.
    pub direction: Direction,
    /// Conviction in `[0, 1]` (analytics; sizing may use it).
    pub strength: f64,
    /// The rule that fired and its numbers.
    pub reason: Reason,
}

/// The position the strategy wants to hold in a symbol.
///
/// Caused by: the signal behind it. Known at: the signal's time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Target {
    /// Which instrument.
    pub symbol: SymbolId,
    /// Desired signed position (long positive, short negative).
    pub position: Quantity,
    /// How the position was sized.
    pub reason: Reason,
}
