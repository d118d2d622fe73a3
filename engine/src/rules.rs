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

/// Every engine rule, in id order.
pub const ENGINE_RULES: &[RuleSpec] = &[
    ORDER_FROM_TARGET,
    INSUFFICIENT_CASH,
    RUN_ENDED,
    NO_MARKET_PRICE,
];
