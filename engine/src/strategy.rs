//! The strategy interface: see the past, decide, record why.

use crate::event::{Direction, FeatureId, OrderId, Reason, RuleSpec, Side, SymbolId, TimeInForce};
use crate::execution::{Bracket, OrderKind};
use crate::fixed::Quantity;
use crate::market::MarketView;

/// A trading strategy. The core calls [`Strategy::on_slice`] once per time slice (all bars
/// with one `ts`), after those bars and their fills are applied.
///
/// Implementations must be deterministic: same calls, same decisions. They get no clock and
/// no randomness but what their configuration gives them.
pub trait Strategy: Send {
    /// The rules this strategy's reasons name (ids from [`crate::event::RuleId::STRATEGY_BASE`]).
    fn rules(&self) -> &'static [RuleSpec];

    /// Decides on the slice at `view.now()`, appending to `out`.
    fn on_slice(&mut self, view: &MarketView<'_>, out: &mut Decisions);

    /// The strategy's state for one symbol, as (name, value) pairs a person can read
    /// (indicator values, cached scores, open trades): what `tape audit` and `tape replay
    /// --inspect` print. Nothing by default.
    fn inspect(&self, symbol: SymbolId, out: &mut Vec<(&'static str, String)>) {
        let _ = (symbol, out);
    }
}

/// Refers to a decision pushed earlier in the same [`Decisions`] (a signal, or a planned
/// target), so a later decision can name it as its cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecisionRef(usize);

/// An order a strategy asks for directly (rather than through a target).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    /// The instrument.
    pub symbol: SymbolId,
    /// Buy or sell.
    pub side: Side,
    /// How much (> 0, on the lot grid when the run has one).
    pub quantity: Quantity,
    /// Market, limit, stop or stop-limit, with its prices (on the tick grid when the run
    /// has one).
    pub kind: OrderKind,
    /// How long it works.
    pub time_in_force: TimeInForce,
}

/// One decision of a slice.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decision {
    /// A signal on a symbol; the core records it caused by the symbol's latest bar, and by
    /// the latest value of `feature` for the symbol when the decision read one.
    Signal {
        symbol: SymbolId,
        direction: Direction,
        strength: f64,
        reason: Reason,
        feature: Option<FeatureId>,
    },
    /// A target position; caused by `because`, or by the symbol's latest bar. When `routed`,
    /// the core sends the market order that moves the position to it (rule
    /// `order_from_target`); otherwise it is the strategy's plan, recorded, and the strategy
    /// places its own orders citing it.
    Target {
        symbol: SymbolId,
        position: Quantity,
        reason: Reason,
        because: Option<DecisionRef>,
        routed: bool,
    },
    /// An order; caused by `because`, or by the symbol's latest bar. The core checks it and
    /// records `order_submitted` with this reason, or `order_rejected` with its own.
    Order {
        request: OrderRequest,
        reason: Reason,
        because: Option<DecisionRef>,
        /// A bracket's exits, placed when it fills.
        bracket: Option<Bracket>,
    },
    /// Changes a working order: what is left of it, its limit or its stop (each `None` keeps
    /// it). Recorded as `order_amended` with `reason`; an amend the order's kind or the
    /// instrument cannot take is recorded as `order_rejected` and leaves the order as it was.
    /// An order no longer working is left alone.
    Amend {
        symbol: SymbolId,
        order: OrderId,
        remaining: Option<Quantity>,
        limit: Option<crate::fixed::Price>,
        stop: Option<crate::fixed::Price>,
        reason: Reason,
    },
    /// Cancels every working order tagged with a cycle before `cycle`.
    CancelBeforeCycle { cycle: u32, reason: Reason },
    /// Cancels a working order (ids from [`crate::market::MarketView::working_orders`]); an
    /// order no longer working (filled, expired) is left alone.
    Cancel {
        symbol: SymbolId,
        order: OrderId,
        reason: Reason,
    },
}

/// The decisions of one slice, in the order the core records them. Reused across slices, so
/// deciding allocates nothing in steady state.
#[derive(Debug, Default)]
pub struct Decisions {
    items: Vec<Decision>,
    cycle: Option<u32>,
}

impl Decisions {
    /// Records a signal and returns a reference for the target it leads to.
    pub fn signal(
        &mut self,
        symbol: SymbolId,
        direction: Direction,
        strength: f64,
        reason: Reason,
    ) -> DecisionRef {
        self.items.push(Decision::Signal {
            symbol,
            direction,
            strength,
            reason,
            feature: None,
        });
        DecisionRef(self.items.len() - 1)
    }

    /// Records a signal that also rests on a point-in-time feature: its latest value for the
    /// symbol becomes a cause of the signal, so the causal chain reaches that input.
    pub fn signal_with_feature(
        &mut self,
        symbol: SymbolId,
        direction: Direction,
        strength: f64,
        reason: Reason,
        feature: FeatureId,
    ) -> DecisionRef {
        self.items.push(Decision::Signal {
            symbol,
            direction,
            strength,
            reason,
            feature: Some(feature),
        });
        DecisionRef(self.items.len() - 1)
    }

    /// Records a target position; the core moves the position to it with a market order.
    pub fn target(
        &mut self,
        symbol: SymbolId,
        position: Quantity,
        reason: Reason,
        because: Option<DecisionRef>,
    ) {
        self.items.push(Decision::Target {
            symbol,
            position,
            reason,
            because,
            routed: true,
        });
    }

    /// Records a target position the strategy executes itself (limit orders, a schedule):
    /// the core records it and sends nothing; the orders the strategy places name it, through
    /// the returned reference, as their cause.
    pub fn planned_target(
        &mut self,
        symbol: SymbolId,
        position: Quantity,
        reason: Reason,
        because: Option<DecisionRef>,
    ) -> DecisionRef {
        self.items.push(Decision::Target {
            symbol,
            position,
            reason,
            because,
            routed: false,
        });
        DecisionRef(self.items.len() - 1)
    }

    /// Records an order.
    pub fn order(&mut self, request: OrderRequest, reason: Reason, because: Option<DecisionRef>) {
        self.items.push(Decision::Order {
            request,
            reason,
            because,
            bracket: None,
        });
    }

    /// Records a bracket: the entry `request`, and once it fills a take-profit limit and a
    /// stop-loss stop (or trailing stop) for the filled quantity, each cancelling the other
    /// as it fills.
    pub fn bracket(
        &mut self,
        request: OrderRequest,
        exits: Bracket,
        reason: Reason,
        because: Option<DecisionRef>,
    ) {
        self.items.push(Decision::Order {
            request,
            reason,
            because,
            bracket: Some(exits),
        });
    }

    /// Records a change to a working order (see [`Decision::Amend`]).
    pub fn amend(
        &mut self,
        symbol: SymbolId,
        order: OrderId,
        remaining: Option<Quantity>,
        limit: Option<crate::fixed::Price>,
        stop: Option<crate::fixed::Price>,
        reason: Reason,
    ) {
        self.items.push(Decision::Amend {
            symbol,
            order,
            remaining,
            limit,
            stop,
            reason,
        });
    }

    /// Records the cancel of a working order.
    pub fn cancel(&mut self, symbol: SymbolId, order: OrderId, reason: Reason) {
        self.items.push(Decision::Cancel {
            symbol,
            order,
            reason,
        });
    }

    /// The decisions so far.
    pub fn items(&self) -> &[Decision] {
        &self.items
    }

    /// The index of a signal reference within [`Decisions::items`].
    pub fn index(signal: DecisionRef) -> usize {
        signal.0
    }

    /// Tags every order this slice places with a strategy-defined cycle (a rebalance
    /// number, say), so a later slice can cancel the orders of earlier cycles that are still
    /// working ([`Decisions::cancel_before_cycle`]).
    pub fn set_cycle(&mut self, cycle: u32) {
        self.cycle = Some(cycle);
    }

    /// The cycle this slice's orders are tagged with, if any.
    pub fn cycle(&self) -> Option<u32> {
        self.cycle
    }

    /// Cancels every working order, in every symbol, tagged with a cycle before `cycle`
    /// (untagged orders are left alone).
    pub fn cancel_before_cycle(&mut self, cycle: u32, reason: Reason) {
        self.items
            .push(Decision::CancelBeforeCycle { cycle, reason });
    }

    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.cycle = None;
    }
}
