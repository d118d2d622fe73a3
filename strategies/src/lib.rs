//! Indicators and strategies for Tape.
//!
//! Read first: [`StrategySpec`] (a strategy's kind and parameters, parsed from the
//! `[strategy]` table of a scenario) and [`sma_cross::SmaCross`] (the reference strategy).
//!
//! # Invariants
//! - Indicators are O(1) per bar and allocate nothing per bar.
//! - An indicator returns nothing until it has enough bars: never a value from too few.
//! - Strategies are deterministic and see only the [`tape_engine::market::MarketView`].

/// Channel breakout with bracketed, volatility-sized entries.
pub mod breakout;
/// Exits attached to an open position: time stop, break-even, ATR and VWAP trails.
pub mod exits;
/// Incremental indicators as TA-Lib defines them: SMA, EMA, ATR, RSI, Bollinger, highs, lows.
pub mod indicators;
/// Position sizing helpers.
pub mod sizing;
/// Fast/slow SMA crossover, long or flat, fixed size.
pub mod sma_cross;
mod spec;
/// The Dow-30 trend system: composite trend alpha, vol-targeted portfolio, tiered limits.
pub mod trend;

pub use spec::{StrategySpec, StrategySpecError};
