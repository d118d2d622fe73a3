//! The vocabulary: [`Event`], its [`EventKind`] and payloads. Read this first.
//!
//! An event is `seq` (dense from 0), `ts` (when it became known, never earlier), `causes` (the
//! seqs of the events that led to it) and a payload ([`EventBody`]). Inputs come from outside
//! the core (run start, bars); derived events are produced by the core from inputs and are
//! re-derived byte for byte by `tape replay`. Decisions carry a [`Reason`]: the rule that fired
//! and the numbers it used.
//!
//! # Invariants
//! - Events are never mutated or deleted; a correction is a new event.
//! - `causes` only name earlier seqs (`cause < seq`), checked by the codec on decode.

mod decision;
mod input;
mod order;
mod portfolio;
mod reason;

pub use decision::{Direction, Signal, Target};
pub use input::{Bar, BarError, DataNote, Feature, FeatureId, RunStarted};
pub use order::{
    OrderAmended, OrderCancelled, OrderFilled, OrderRejected, OrderSubmitted, OrderType, Side,
    TimeInForce, Trail,
};
pub use portfolio::{BorrowCharged, BreakerChange, PortfolioSnapshot, RunFinished};
pub use reason::{Reason, ReasonValue, Rule, RuleId, RuleSpec, RuleTable, Unit, MAX_REASON_VALUES};

use crate::fixed::{Money, Price, Quantity};
use crate::time::Ts;

/// A position in the ledger's event sequence: dense, starting at 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seq(pub u64);

/// A symbol's dense index into the run header's symbol table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SymbolId(pub u32);

/// An order's id: dense per run from 0, in decision order. A rejected order uses up its id
/// too, so the ids of submitted orders alone may have gaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderId(pub u64);

/// The most causes an event carries. The frame header's count is one byte, but format
/// version 1 readers accept at most this many.
pub const MAX_CAUSES: usize = 4;

/// The seqs of the events that led to an event, in the order they were recorded.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Causes {
    len: u8,
    seqs: [Seq; MAX_CAUSES],
}

impl Causes {
    /// No causes (inputs, periodic snapshots).
    pub const NONE: Self = Self {
        len: 0,
        seqs: [Seq(0); MAX_CAUSES],
    };

    /// Causes from a slice; `None` if it holds more than [`MAX_CAUSES`].
    pub fn from_slice(seqs: &[Seq]) -> Option<Self> {
        let mut out = Self::NONE;
        for &s in seqs {
            out.push(s).ok()?;
        }
        Some(out)
    }

    /// One cause.
    pub const fn one(seq: Seq) -> Self {
        let mut out = Self::NONE;
        out.seqs[0] = seq;
        out.len = 1;
        out
    }

    /// Appends a cause; errors when full.
    pub fn push(&mut self, seq: Seq) -> Result<(), Seq> {
        if (self.len as usize) < MAX_CAUSES {
            self.seqs[self.len as usize] = seq;
            self.len += 1;
            Ok(())
        } else {
            Err(seq)
        }
    }

    /// The causes as a slice.
    pub fn as_slice(&self) -> &[Seq] {
        &self.seqs[..self.len as usize]
    }
}

impl std::fmt::Debug for Causes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.as_slice().iter().map(|s| s.0))
            .finish()
    }
}

/// An immutable fact in the ledger.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Position in the ledger, dense from 0.
    pub seq: Seq,
    /// When the event became known (never earlier).
    pub ts: Ts,
    /// The events that led to this one.
    pub causes: Causes,
    /// What happened.
    pub body: EventBody,
}

/// Whether an event came from outside the core or was derived by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventClass {
    /// From outside the core: replay feeds these to the core.
    Input,
    /// Produced by the core: replay re-derives and compares these.
    Derived,
}

macro_rules! event_kinds {
    ($( $variant:ident = $code:literal, $name:literal, $class:ident, $payload:ty; )*) => {
        /// The kind of an event: its wire code and its snake_case name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u16)]
        pub enum EventKind { $( $variant = $code, )* }

        impl EventKind {
            /// Every kind, in code order.
            pub const ALL: &'static [EventKind] = &[$( EventKind::$variant, )*];

            /// The wire code (frame header `kind` field).
            pub const fn code(self) -> u16 { self as u16 }

            /// The kind for a wire code, if this format version knows it.
            pub const fn from_code(code: u16) -> Option<Self> {
                match code { $( $code => Some(EventKind::$variant), )* _ => None }
            }

            /// The snake_case name used by `tape show --kind` and in JSON.
            pub const fn name(self) -> &'static str {
                match self { $( EventKind::$variant => $name, )* }
            }

            /// The kind for a snake_case name.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|k| k.name() == name)
            }

            /// The first ledger format version with this kind: a reader refuses a kind its
            /// ledger's version does not have.
            pub const fn since_version(self) -> u16 {
                match self {
                    EventKind::DataQuarantined | EventKind::DataWarning => 2,
                    EventKind::Feature
                    | EventKind::CircuitBreakerTripped
                    | EventKind::CircuitBreakerReset
                    | EventKind::OrderAmended
                    | EventKind::BorrowCharged => 3,
                    _ => 1,
                }
            }

            /// Input or derived.
            pub const fn class(self) -> EventClass {
                match self { $( EventKind::$variant => EventClass::$class, )* }
            }
        }

        /// An event's payload, one variant per [`EventKind`].
        #[derive(Clone, Debug, PartialEq)]
        pub enum EventBody { $( $variant($payload), )* }

        impl EventBody {
            /// This payload's kind.
            pub const fn kind(&self) -> EventKind {
                match self { $( EventBody::$variant(_) => EventKind::$variant, )* }
            }
        }
    };
}

event_kinds! {
    RunStarted        = 0x0001, "run_started",        Input,   RunStarted;
    Bar               = 0x0002, "bar",                Input,   Bar;
    DataQuarantined   = 0x0003, "data_quarantined",   Input,   DataNote;
    DataWarning       = 0x0004, "data_warning",       Input,   DataNote;
    Feature           = 0x0005, "feature",            Input,   Feature;
    Signal            = 0x0100, "signal",             Derived, Signal;
    Target            = 0x0101, "target",             Derived, Target;
    OrderSubmitted    = 0x0102, "order_submitted",    Derived, OrderSubmitted;
    OrderRejected     = 0x0103, "order_rejected",     Derived, OrderRejected;
    OrderFilled       = 0x0104, "fill",               Derived, OrderFilled;
    OrderCancelled    = 0x0105, "order_cancelled",    Derived, OrderCancelled;
    PortfolioSnapshot = 0x0106, "portfolio_snapshot", Derived, PortfolioSnapshot;
    RunFinished       = 0x0107, "run_finished",       Derived, RunFinished;
    CircuitBreakerTripped = 0x0108, "circuit_breaker_tripped", Derived, BreakerChange;
    CircuitBreakerReset   = 0x0109, "circuit_breaker_reset",   Derived, BreakerChange;
    OrderAmended          = 0x010A, "order_amended",           Derived, OrderAmended;
    BorrowCharged         = 0x010B, "borrow_charged",          Derived, BorrowCharged;
}

/// One field of a payload, typed so renderers (show, JSON, exports) never guess units.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// An unsigned count or id.
    U64(u64),
    /// A signed integer.
    I64(i64),
    /// A float (analytics only).
    F64(f64),
    /// A fixed-point price.
    Price(Price),
    /// An optional fixed-point price.
    OptPrice(Option<Price>),
    /// A fixed-point quantity.
    Quantity(Quantity),
    /// A fixed-point amount of money.
    Money(Money),
    /// A symbol id, rendered by name through the header's symbol table.
    Symbol(SymbolId),
    /// A feature id, rendered by name through the header's feature table.
    Feature(FeatureId),
    /// A fixed word from a closed set (side, direction, order type).
    Word(&'static str),
    /// A 32-byte digest, rendered as hex.
    Digest([u8; 32]),
    /// A decision's reason, rendered through the header's rule table.
    Reason(Reason),
}

impl EventBody {
    /// The payload's fields in wire order, with their names: what `tape show` prints.
    pub fn fields(&self) -> Vec<(&'static str, FieldValue)> {
        use FieldValue as F;
        match self {
            EventBody::RunStarted(e) => vec![
                ("config_digest", F::Digest(e.config_digest)),
                ("initial_cash", F::Money(e.initial_cash)),
                ("symbols", F::U64(e.symbols.into())),
            ],
            EventBody::Bar(b) => vec![
                ("symbol", F::Symbol(b.symbol)),
                ("open", F::Price(b.open)),
                ("high", F::Price(b.high)),
                ("low", F::Price(b.low)),
                ("close", F::Price(b.close)),
                ("volume", F::Quantity(b.volume)),
            ],
            EventBody::DataQuarantined(d) | EventBody::DataWarning(d) => vec![
                ("symbol", F::Symbol(d.symbol)),
                ("input", F::U64(d.input.into())),
                ("row", F::U64(d.row)),
                ("reason", F::Reason(d.reason)),
            ],
            EventBody::Feature(f) => vec![
                ("symbol", F::Symbol(f.symbol)),
                ("feature", F::Feature(f.feature)),
                ("input", F::U64(f.input.into())),
                ("row", F::U64(f.row)),
                ("value", F::F64(f.value)),
            ],
            EventBody::Signal(s) => vec![
                ("symbol", F::Symbol(s.symbol)),
                ("direction", F::Word(s.direction.name())),
                ("strength", F::F64(s.strength)),
                ("reason", F::Reason(s.reason)),
            ],
            EventBody::Target(t) => vec![
                ("symbol", F::Symbol(t.symbol)),
                ("position", F::Quantity(t.position)),
                ("reason", F::Reason(t.reason)),
            ],
            EventBody::OrderSubmitted(o) => {
                let mut fields = vec![
                    ("order", F::U64(o.order.0)),
                    ("symbol", F::Symbol(o.symbol)),
                    ("side", F::Word(o.side.name())),
                    ("order_type", F::Word(o.order_type.name())),
                    ("time_in_force", F::Word(o.time_in_force.name())),
                    ("quantity", F::Quantity(o.quantity)),
                    ("limit_price", F::OptPrice(o.limit_price)),
                    ("stop_price", F::OptPrice(o.stop_price)),
                ];
                // Only trailing stops have a trail, only gfn orders a bar count: other orders
                // print as they always did.
                match o.trail {
                    Some(Trail::Price(p)) => fields.push(("trail", F::Price(p))),
                    Some(Trail::Ppm(ppm)) => fields.push(("trail_ppm", F::U64(ppm.into()))),
                    None => {}
                }
                if let TimeInForce::GoodForBars(n) = o.time_in_force {
                    fields.push(("good_for_bars", F::U64(n.into())));
                }
                if let Some(c) = o.cycle {
                    fields.push(("cycle", F::U64(c.into())));
                }
                fields.push(("reason", F::Reason(o.reason)));
                fields
            }
            EventBody::BorrowCharged(b) => vec![
                ("symbol", F::Symbol(b.symbol)),
                ("amount", F::Money(b.amount)),
                ("reason", F::Reason(b.reason)),
            ],
            EventBody::OrderAmended(a) => vec![
                ("order", F::U64(a.order.0)),
                ("symbol", F::Symbol(a.symbol)),
                ("remaining", F::Quantity(a.remaining)),
                ("limit_price", F::OptPrice(a.limit_price)),
                ("stop_price", F::OptPrice(a.stop_price)),
                ("reason", F::Reason(a.reason)),
            ],
            EventBody::OrderRejected(r) => vec![
                ("order", F::U64(r.order.0)),
                ("symbol", F::Symbol(r.symbol)),
                ("side", F::Word(r.side.name())),
                ("quantity", F::Quantity(r.quantity)),
                ("reason", F::Reason(r.reason)),
            ],
            EventBody::OrderFilled(f) => vec![
                ("order", F::U64(f.order.0)),
                ("symbol", F::Symbol(f.symbol)),
                ("side", F::Word(f.side.name())),
                ("quantity", F::Quantity(f.quantity)),
                ("price", F::Price(f.price)),
                ("expected_price", F::Price(f.expected_price)),
                ("fee", F::Money(f.fee)),
                ("slippage", F::Money(f.slippage)),
                ("remaining", F::Quantity(f.remaining)),
            ],
            EventBody::OrderCancelled(c) => vec![
                ("order", F::U64(c.order.0)),
                ("symbol", F::Symbol(c.symbol)),
                ("remaining", F::Quantity(c.remaining)),
                ("reason", F::Reason(c.reason)),
            ],
            EventBody::PortfolioSnapshot(p) => vec![
                ("cash", F::Money(p.cash)),
                ("equity", F::Money(p.equity)),
                ("gross_exposure", F::Money(p.gross_exposure)),
                ("net_exposure", F::Money(p.net_exposure)),
                ("realised_pnl", F::Money(p.realised_pnl)),
                ("unrealised_pnl", F::Money(p.unrealised_pnl)),
                ("fees", F::Money(p.fees)),
                ("open_positions", F::U64(p.open_positions.into())),
            ],
            EventBody::CircuitBreakerTripped(b) | EventBody::CircuitBreakerReset(b) => {
                vec![("reason", F::Reason(b.reason))]
            }
            EventBody::RunFinished(r) => vec![
                ("bars", F::U64(r.bars)),
                ("orders", F::U64(r.orders)),
                ("fills", F::U64(r.fills)),
                ("rejections", F::U64(r.rejections)),
                ("final_equity", F::Money(r.final_equity)),
                ("peak_equity", F::Money(r.peak_equity)),
                ("max_drawdown", F::F64(r.max_drawdown)),
            ],
        }
    }

    /// The symbol this event is about, if any (for `tape show --symbol`).
    pub fn symbol(&self) -> Option<SymbolId> {
        match self {
            EventBody::Bar(b) => Some(b.symbol),
            EventBody::DataQuarantined(d) | EventBody::DataWarning(d) => Some(d.symbol),
            EventBody::Feature(f) => Some(f.symbol),
            EventBody::Signal(s) => Some(s.symbol),
            EventBody::Target(t) => Some(t.symbol),
            EventBody::OrderSubmitted(o) => Some(o.symbol),
            EventBody::OrderAmended(a) => Some(a.symbol),
            EventBody::BorrowCharged(b) => Some(b.symbol),
            EventBody::OrderRejected(r) => Some(r.symbol),
            EventBody::OrderFilled(f) => Some(f.symbol),
            EventBody::OrderCancelled(c) => Some(c.symbol),
            EventBody::RunStarted(_)
            | EventBody::PortfolioSnapshot(_)
            | EventBody::RunFinished(_)
            | EventBody::CircuitBreakerTripped(_)
            | EventBody::CircuitBreakerReset(_) => None,
        }
    }
}
