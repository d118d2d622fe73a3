//! Incremental indicators: O(1) per bar, no allocation per bar, explicit warm-up.

mod sma;

pub use sma::Sma;
