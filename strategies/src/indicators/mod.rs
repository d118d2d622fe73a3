//! Incremental indicators: O(1) per bar, no allocation per bar, explicit warm-up.
//!
//! Each follows TA-Lib's definition and warm-up, so a value here means what the same name
//! means there; `strategies/tests/talib.rs` checks them against TA-Lib's own output on real
//! and synthetic prices (golden files in `tests/golden/talib/`).
//!
//! | indicator      | TA-Lib   | first value at       |
//! |----------------|----------|----------------------|
//! | [`Sma`]        | `SMA`    | price `period`       |
//! | [`Ema`]        | `EMA`    | price `period`       |
//! | [`Atr`]        | `ATR`    | bar `period + 1`     |
//! | [`Rsi`]        | `RSI`    | price `period + 1`   |
//! | [`Bollinger`]  | `BBANDS` | price `period`       |
//! | [`Highest`]    | `MAX`    | price `period`       |
//! | [`Lowest`]     | `MIN`    | price `period`       |
//!
//! A Donchian channel is [`Highest`] of the highs and [`Lowest`] of the lows.
//!
//! Session indicators have no TA-Lib counterpart; their conventions are in [`session`] and
//! tested by hand-computed examples:
//!
//! | indicator        | first value at                                   |
//! |------------------|--------------------------------------------------|
//! | [`SessionVwap`]  | the session's first bar with volume; resets at each session open |
//! | [`OpeningRange`] | the bar that completes the session's first N minutes |
//! | [`Swings`]       | `right` bars after the swing bar (never earlier) |

mod atr;
mod bollinger;
mod ema;
mod extreme;
mod highest;
mod lowest;
mod rsi;
pub mod session;
mod sma;

pub use atr::Atr;
pub use bollinger::{Bands, Bollinger};
pub use ema::Ema;
pub use highest::Highest;
pub use lowest::Lowest;
pub use rsi::Rsi;
pub use session::{OpeningRange, Range, SessionVwap, Swing, Swings};
pub use sma::Sma;
