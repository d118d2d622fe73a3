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
];
