//! The engine's own rules: the reasons it records for orders, rejections and cancels.
//!
//! Their ids are below [`RuleId::STRATEGY_BASE`] and never change meaning within a format
//! version; every ledger's header describes them, so old ledgers stay explainable.

use crate::event::{RuleId, RuleSpec, Unit};

/// An order moves the position toward the target.
pub const ORDER_FROM_TARGET: RuleSpec = RuleSpec {
    id: RuleId(0),
    name: "order_from_target",
    summary: "An order moves the position toward the target: quantity = target − position − pending orders.",
    fields: &[("target", Unit::Quantity), ("position", Unit::Quantity), ("pending", Unit::Quantity)],
};

/// A buy whose estimated cost exceeds the uncommitted cash is refused.
pub const INSUFFICIENT_CASH: RuleSpec = RuleSpec {
    id: RuleId(1),
    name: "insufficient_cash",
    summary: "A buy is refused when its estimated cost (decision close plus slippage, plus fee) exceeds the cash not already committed to working buys.",
    fields: &[("estimated_cost", Unit::Money), ("available_cash", Unit::Money)],
};

/// Orders still working when the input ends are cancelled.
pub const RUN_ENDED: RuleSpec = RuleSpec {
    id: RuleId(2),
    name: "run_ended",
    summary: "Orders still working when the input ends are cancelled: no bar is left to fill them.",
    fields: &[],
};

/// A target for a symbol that has no bar yet cannot be priced, so its order is refused.
pub const NO_MARKET_PRICE: RuleSpec = RuleSpec {
    id: RuleId(3),
    name: "no_market_price",
    summary:
        "An order is refused when its symbol has no bar yet: there is no price to check it against.",
    fields: &[("target", Unit::Quantity)],
};

/// An `ioc` order's remainder after the one bar it works on is cancelled.
pub const IOC_REMAINDER: RuleSpec = RuleSpec {
    id: RuleId(4),
    name: "ioc_remainder",
    summary: "An immediate-or-cancel order works on one bar only (the first it may fill on); what it did not fill there is cancelled.",
    fields: &[("remaining", Unit::Quantity)],
};

/// A `day` order is cancelled by the first bar of a later day.
pub const DAY_ENDED: RuleSpec = RuleSpec {
    id: RuleId(5),
    name: "day_ended",
    summary: "A day order works through the UTC day of the first bar it may fill on; the first bar of a later day cancels what is left.",
    fields: &[("remaining", Unit::Quantity)],
};

/// An order whose quantity or prices cannot be traded is refused.
pub const INVALID_ORDER: RuleSpec = RuleSpec {
    id: RuleId(6),
    name: "invalid_order",
    summary: "An order is refused when its quantity is not positive, or a limit or stop price it needs is missing or not positive.",
    fields: &[("quantity", Unit::Quantity)],
};

/// An order whose price is off the instrument's tick grid is refused, not rounded.
pub const OFF_TICK_GRID: RuleSpec = RuleSpec {
    id: RuleId(7),
    name: "off_tick_grid",
    summary: "An order is refused when its limit or stop price is not a whole number of ticks; prices are never rounded silently.",
    fields: &[("price", Unit::Price), ("tick_size", Unit::Price)],
};

/// An order whose quantity is off the instrument's lot grid is refused, not rounded.
pub const OFF_LOT_GRID: RuleSpec = RuleSpec {
    id: RuleId(8),
    name: "off_lot_grid",
    summary: "An order is refused when its quantity is not a whole number of lots; quantities are never rounded silently.",
    fields: &[("quantity", Unit::Quantity), ("lot_size", Unit::Quantity)],
};

/// An entry is refused while the circuit breaker is tripped.
pub const BREAKER_OPEN: RuleSpec = RuleSpec {
    id: RuleId(9),
    name: "breaker_tripped",
    summary: "An entry (an order taking exposure further from zero) is refused while the circuit breaker is tripped; exits still pass.",
    fields: &[("quantity", Unit::Quantity)],
};

/// No entries while the drawdown is at or beyond the halt.
pub const DRAWDOWN_HALT: RuleSpec = RuleSpec {
    id: RuleId(10),
    name: "drawdown_halt",
    summary: "An entry is refused while equity is down from its peak by the drawdown halt or more.",
    fields: &[("drawdown", Unit::Real), ("halt", Unit::Real)],
};

/// An entry that would open one position too many is refused.
pub const MAX_OPEN_POSITIONS: RuleSpec = RuleSpec {
    id: RuleId(11),
    name: "max_open_positions",
    summary: "An entry that would open a position in another symbol is refused when that many symbols already have positions or working orders.",
    fields: &[("open", Unit::Int), ("limit", Unit::Int)],
};

/// An entry that would make one symbol's exposure too large is refused.
pub const POSITION_CAP: RuleSpec = RuleSpec {
    id: RuleId(12),
    name: "position_cap",
    summary:
        "An entry is refused when the symbol's exposure after it would exceed its share of equity.",
    fields: &[("exposure", Unit::Money), ("cap", Unit::Money)],
};

/// An entry that would make gross exposure too large is refused.
pub const GROSS_EXPOSURE_CAP: RuleSpec = RuleSpec {
    id: RuleId(13),
    name: "gross_exposure_cap",
    summary: "An entry is refused when the sum of absolute exposures after it would exceed its share of equity.",
    fields: &[("exposure", Unit::Money), ("cap", Unit::Money)],
};

/// An entry that would make net exposure too large is refused.
pub const NET_EXPOSURE_CAP: RuleSpec = RuleSpec {
    id: RuleId(14),
    name: "net_exposure_cap",
    summary: "An entry is refused when the absolute sum of exposures after it would exceed its share of equity.",
    fields: &[("exposure", Unit::Money), ("cap", Unit::Money)],
};

/// The breaker tripped on a drawdown.
pub const BREAKER_DRAWDOWN: RuleSpec = RuleSpec {
    id: RuleId(15),
    name: "breaker_drawdown",
    summary: "The circuit breaker trips when equity at a slice close is down from its peak since the last reset by the threshold or more.",
    fields: &[("peak", Unit::Money), ("equity", Unit::Money), ("drawdown", Unit::Real), ("threshold", Unit::Real)],
};

/// The breaker tripped on a losing streak.
pub const BREAKER_LOSSES: RuleSpec = RuleSpec {
    id: RuleId(16),
    name: "breaker_losses",
    summary: "The circuit breaker trips after this many losing exits in a row (realised profit less fee below zero).",
    fields: &[("losses", Unit::Int), ("limit", Unit::Int)],
};

/// The breaker reset after a number of slices.
pub const BREAKER_RESET_AFTER: RuleSpec = RuleSpec {
    id: RuleId(17),
    name: "breaker_reset_after",
    summary: "A tripped circuit breaker resets this many slices after it tripped, before that slice's decisions.",
    fields: &[("slices", Unit::Int)],
};

/// The breaker reset at a new day.
pub const BREAKER_RESET_DAY: RuleSpec = RuleSpec {
    id: RuleId(18),
    name: "breaker_reset_day",
    summary: "A tripped circuit breaker resets at the first slice of a later UTC day, before its decisions.",
    fields: &[("tripped_day", Unit::Int), ("day", Unit::Int)],
};

/// A trailing stop moved after a bar that did not trigger it.
pub const TRAILING_STOP_MOVED: RuleSpec = RuleSpec {
    id: RuleId(19),
    name: "trailing_stop_moved",
    summary: "A trailing stop moved to its trail from the bar's best extreme (the high for a sell stop, the low for a buy stop); it only ever tightens.",
    fields: &[("from", Unit::Price), ("to", Unit::Price), ("extreme", Unit::Price)],
};

/// A bracket's entry filled: an exit is placed.
pub const BRACKET_EXIT: RuleSpec = RuleSpec {
    id: RuleId(20),
    name: "bracket_exit",
    summary: "A bracket's entry filled, so its take-profit limit and stop-loss stop are placed for the filled quantity, one-cancels-other.",
    fields: &[("entry_order", Unit::Int), ("price", Unit::Price)],
};

/// More of a bracket's entry filled: its exits grow.
pub const BRACKET_GREW: RuleSpec = RuleSpec {
    id: RuleId(21),
    name: "bracket_grew",
    summary: "More of a bracket's entry filled, so each of its exits grows by that quantity.",
    fields: &[("entry_order", Unit::Int), ("filled", Unit::Quantity)],
};

/// One exit filled in part: the other shrinks by as much.
pub const OCO_REDUCED: RuleSpec = RuleSpec {
    id: RuleId(22),
    name: "oco_reduced",
    summary: "One of two one-cancels-other exits filled in part, so the other shrinks by the filled quantity.",
    fields: &[("filled_order", Unit::Int), ("filled", Unit::Quantity)],
};

/// One exit filled in full: the other is cancelled.
pub const OCO_FILLED: RuleSpec = RuleSpec {
    id: RuleId(23),
    name: "oco_filled",
    summary:
        "One of two one-cancels-other exits filled, leaving nothing for the other: it is cancelled.",
    fields: &[("filled_order", Unit::Int)],
};

/// A bracket whose exits are on the wrong sides is refused.
pub const INVALID_BRACKET: RuleSpec = RuleSpec {
    id: RuleId(24),
    name: "invalid_bracket",
    summary: "A bracket is refused unless its take-profit is on the profitable side and its stop-loss on the losing side of the entry's expected price.",
    fields: &[("take_profit", Unit::Price), ("stop_loss", Unit::Price), ("reference", Unit::Price)],
};

/// A `gfn` order worked its bars: what is left is cancelled.
pub const BARS_ELAPSED: RuleSpec = RuleSpec {
    id: RuleId(25),
    name: "bars_elapsed",
    summary: "A good-for-N-bars order worked on its N bars (from the first it may fill on); what it did not fill is cancelled.",
    fields: &[("remaining", Unit::Quantity)],
};

/// An order too small for its instrument is refused.
pub const MIN_NOTIONAL: RuleSpec = RuleSpec {
    id: RuleId(26),
    name: "min_notional",
    summary: "An order is refused when its notional at its expected price is below the instrument's minimum.",
    fields: &[("notional", Unit::Money), ("min_notional", Unit::Money)],
};

/// A sell that would open a short in an instrument that cannot be shorted is refused.
pub const NOT_SHORTABLE: RuleSpec = RuleSpec {
    id: RuleId(27),
    name: "not_shortable",
    summary: "A sell is refused when it would take the position, with working orders, below zero in an instrument that cannot be shorted.",
    fields: &[("position_after", Unit::Quantity)],
};

/// A margin account below its maintenance requirement closes positions.
pub const MARGIN_CALL: RuleSpec = RuleSpec {
    id: RuleId(28),
    name: "margin_call",
    summary: "Equity at a slice close is below the maintenance margin on the gross exposure, so positions are closed at market, largest first, until the rest would meet it.",
    fields: &[("equity", Unit::Money), ("requirement", Unit::Money), ("gross_exposure", Unit::Money)],
};

/// An amend the order cannot take is refused; the order stays as it was.
pub const INVALID_AMEND: RuleSpec = RuleSpec {
    id: RuleId(29),
    name: "invalid_amend",
    summary: "An amend is refused when the order's kind has no such price (a limit on a stop order) or the new quantity is not positive; the order stays as it was.",
    fields: &[("quantity", Unit::Quantity)],
};

/// An entry that would make the portfolio's heat too large is refused.
pub const PORTFOLIO_HEAT: RuleSpec = RuleSpec {
    id: RuleId(30),
    name: "portfolio_heat",
    summary: "An entry is refused when the summed risk to stops after it (each position to its first working stop, or its whole value without one; the entry to its stop-loss) would exceed its share of equity.",
    fields: &[("heat", Unit::Money), ("cap", Unit::Money)],
};

/// A short position pays its borrow fee.
pub const BORROW_FEE: RuleSpec = RuleSpec {
    id: RuleId(31),
    name: "borrow_fee",
    summary: "A short position is charged the annual borrow fee on its value at the latest close, for the days since the last charge (value × rate × days / 365, rounded up).",
    fields: &[("value", Unit::Money), ("annual_rate", Unit::Real), ("days", Unit::Int)],
};

/// A margin account's order is refused when equity does not cover its initial margin.
pub const INITIAL_MARGIN: RuleSpec = RuleSpec {
    id: RuleId(32),
    name: "initial_margin",
    summary: "In a margin account, an order taking exposure further from zero is refused when the initial margin on the gross exposure after it exceeds equity.",
    fields: &[("required", Unit::Money), ("equity", Unit::Money)],
};

/// Every engine rule, in id order.
pub const ENGINE_RULES: &[RuleSpec] = &[
    ORDER_FROM_TARGET,
    INSUFFICIENT_CASH,
    RUN_ENDED,
    NO_MARKET_PRICE,
    IOC_REMAINDER,
    DAY_ENDED,
    INVALID_ORDER,
    OFF_TICK_GRID,
    OFF_LOT_GRID,
    BREAKER_OPEN,
    DRAWDOWN_HALT,
    MAX_OPEN_POSITIONS,
    POSITION_CAP,
    GROSS_EXPOSURE_CAP,
    NET_EXPOSURE_CAP,
    BREAKER_DRAWDOWN,
    BREAKER_LOSSES,
    BREAKER_RESET_AFTER,
    BREAKER_RESET_DAY,
    TRAILING_STOP_MOVED,
    BRACKET_EXIT,
    BRACKET_GREW,
    OCO_REDUCED,
    OCO_FILLED,
    INVALID_BRACKET,
    BARS_ELAPSED,
    MIN_NOTIONAL,
    NOT_SHORTABLE,
    MARGIN_CALL,
    INVALID_AMEND,
    PORTFOLIO_HEAT,
    BORROW_FEE,
    INITIAL_MARGIN,
];
