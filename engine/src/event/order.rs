//! Orders and their outcomes.

use super::{OrderId, Reason, SymbolId};
use crate::fixed::{Money, Price, Quantity};

/// Buy or sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// Increase the position.
    Buy,
    /// Decrease the position.
    Sell,
}

impl Side {
    /// Wire code.
    pub const fn code(self) -> u8 {
        match self {
            Side::Buy => 0,
            Side::Sell => 1,
        }
    }

    /// From a wire code.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Side::Buy),
            1 => Some(Side::Sell),
            _ => None,
        }
    }

    /// snake_case name.
    pub const fn name(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

/// How an order's price is determined (docs/execution.md §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderType {
    /// At the next bar's open, plus slippage.
    Market,
    /// At the limit price or better.
    Limit,
    /// Becomes a market order once the stop price trades.
    Stop,
    /// Becomes a limit order once the stop price trades.
    StopLimit,
    /// A stop that follows the best price in the position's favour (format version 3).
    TrailingStop,
}

impl OrderType {
    /// Wire code.
    pub const fn code(self) -> u8 {
        match self {
            OrderType::Market => 0,
            OrderType::Limit => 1,
            OrderType::Stop => 2,
            OrderType::StopLimit => 3,
            OrderType::TrailingStop => 4,
        }
    }

    /// From a wire code.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(OrderType::Market),
            1 => Some(OrderType::Limit),
            2 => Some(OrderType::Stop),
            3 => Some(OrderType::StopLimit),
            4 => Some(OrderType::TrailingStop),
            _ => None,
        }
    }

    /// snake_case name.
    pub const fn name(self) -> &'static str {
        match self {
            OrderType::Market => "market",
            OrderType::Limit => "limit",
            OrderType::Stop => "stop",
            OrderType::StopLimit => "stop_limit",
            OrderType::TrailingStop => "trailing_stop",
        }
    }
}

/// How long an order stays working.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeInForce {
    /// Good till cancelled.
    Gtc,
    /// Cancelled at the end of the trading day.
    Day,
    /// Immediate or cancel: whatever does not fill on the first fill bar is cancelled.
    Ioc,
    /// Good for this many bars of its symbol from the first it may fill on, then cancelled
    /// (format version 3).
    GoodForBars(u32),
}

impl TimeInForce {
    /// Wire code.
    pub const fn code(self) -> u8 {
        match self {
            TimeInForce::Gtc => 0,
            TimeInForce::Day => 1,
            TimeInForce::Ioc => 2,
            TimeInForce::GoodForBars(_) => 3,
        }
    }

    /// From a wire code; `bars` is the count a `gfn` order carries beside it.
    pub const fn from_code(code: u8, bars: Option<u32>) -> Option<Self> {
        match (code, bars) {
            (0, None) => Some(TimeInForce::Gtc),
            (1, None) => Some(TimeInForce::Day),
            (2, None) => Some(TimeInForce::Ioc),
            (3, Some(n)) => Some(TimeInForce::GoodForBars(n)),
            _ => None,
        }
    }

    /// snake_case name.
    pub const fn name(self) -> &'static str {
        match self {
            TimeInForce::Gtc => "gtc",
            TimeInForce::Day => "day",
            TimeInForce::Ioc => "ioc",
            TimeInForce::GoodForBars(_) => "gfn",
        }
    }
}

/// An order sent to the execution simulator.
///
/// Caused by: the target it moves the position towards. Known at: the decision bar's close.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrderSubmitted {
    /// Dense per run.
    pub order: OrderId,
    /// Which instrument.
    pub symbol: SymbolId,
    /// Buy or sell.
    pub side: Side,
    /// Market, limit, …
    pub order_type: OrderType,
    /// How long it works.
    pub time_in_force: TimeInForce,
    /// Positive amount to trade.
    pub quantity: Quantity,
    /// Limit price, for limit orders.
    pub limit_price: Option<Price>,
    /// Trigger price, for stop orders (a trailing stop's first stop).
    pub stop_price: Option<Price>,
    /// How far a trailing stop follows the best price (format version 3; else `None`).
    pub trail: Option<Trail>,
    /// The strategy-defined cycle the order was placed in (format version 3; else `None`).
    pub cycle: Option<u32>,
    /// Why this order, with the numbers (target, position, pending).
    pub reason: Reason,
}

/// How far a trailing stop stays from the best price since it was placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trail {
    /// A fixed price distance.
    Price(Price),
    /// A fraction of the best price, in parts per million.
    Ppm(u32),
}

impl Trail {
    /// Wire code.
    pub const fn code(self) -> u8 {
        match self {
            Trail::Price(_) => 0,
            Trail::Ppm(_) => 1,
        }
    }
}

/// A working order changed: its stop moved (a trailing stop), or a strategy or a linked order
/// changed its quantity or prices (format version 3).
///
/// Caused by: the bar that moved a trailing stop, the decision that amended it, or the fill of
/// a linked order. Known at: that bar's or slice's time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrderAmended {
    /// The order.
    pub order: OrderId,
    /// Which instrument.
    pub symbol: SymbolId,
    /// What is left to fill, after the change.
    pub remaining: Quantity,
    /// The limit price after the change, if it has one.
    pub limit_price: Option<Price>,
    /// The stop price after the change, if it has one.
    pub stop_price: Option<Price>,
    /// Why, with the numbers.
    pub reason: Reason,
}

/// An order the core refused before it reached the market.
///
/// Caused by: the target behind it. Known at: the decision bar's close.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrderRejected {
    /// The id the order would have had.
    pub order: OrderId,
    /// Which instrument.
    pub symbol: SymbolId,
    /// Buy or sell.
    pub side: Side,
    /// The amount refused.
    pub quantity: Quantity,
    /// The rule that refused it, with its numbers.
    pub reason: Reason,
}

/// An order (part-)filled by the execution simulator.
///
/// Caused by: the `order_submitted` it fills and the bar it fills on. Known at: the fill bar's
/// close (bars are delivered when they close), never earlier; the price is that bar's open.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrderFilled {
    /// The order filled.
    pub order: OrderId,
    /// Which instrument.
    pub symbol: SymbolId,
    /// Buy or sell.
    pub side: Side,
    /// Positive amount filled.
    pub quantity: Quantity,
    /// Fill price, within the fill bar's `[low, high]`.
    pub price: Price,
    /// The price the strategy expected: the decision bar's close.
    pub expected_price: Price,
    /// Commission charged, `≥ 0`.
    pub fee: Money,
    /// Cost of filling away from `expected_price`: positive means worse than expected.
    pub slippage: Money,
    /// What is left of the order after this fill.
    pub remaining: Quantity,
}

/// An order withdrawn before it filled completely.
///
/// Caused by: the `order_submitted`. Known at: the time of the cancelling decision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrderCancelled {
    /// The order cancelled.
    pub order: OrderId,
    /// Which instrument.
    pub symbol: SymbolId,
    /// The unfilled amount withdrawn.
    pub remaining: Quantity,
    /// Why.
    pub reason: Reason,
}
