//! Incremental indicators: O(1) per bar, no allocation per bar, explicit warm-up.

mod atr;
mod highest;
mod sma;

pub use atr::Atr;
pub use highest::Highest;
pub use sma::Sma;
