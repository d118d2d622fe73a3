//! Portfolio state and the end of a run.

use crate::fixed::Money;

/// The account marked to the latest closes.
///
/// Caused by: nothing directly; it closes a time slice (all bars with one `ts`). Known at: the
/// slice's time.
///
/// Invariant (checked by the core at every slice):
/// `cash + Σ position × close = equity = initial_cash + realised_pnl + unrealised_pnl − fees`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortfolioSnapshot {
    /// Cash balance (may be negative only by the overdraft described in docs/execution.md).
    pub cash: Money,
    /// Cash plus the marked value of every position.
    pub equity: Money,
    /// Σ |position × close|.
    pub gross_exposure: Money,
    /// Σ position × close.
    pub net_exposure: Money,
    /// Profit realised by closing trades, before fees.
    pub realised_pnl: Money,
    /// Marked value minus cost basis of open positions.
    pub unrealised_pnl: Money,
    /// Fees paid since the start.
    pub fees: Money,
    /// Number of symbols with a non-zero position.
    pub open_positions: u32,
}

/// The run ended. Always the last event.
///
/// Caused by: nothing directly. Known at: the last slice's time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunFinished {
    /// Bars processed.
    pub bars: u64,
    /// Orders submitted.
    pub orders: u64,
    /// Fill events.
    pub fills: u64,
    /// Orders rejected.
    pub rejections: u64,
    /// Equity at the end.
    pub final_equity: Money,
    /// Highest equity seen at a slice close, starting from the initial cash.
    pub peak_equity: Money,
    /// Largest fall from a peak, as a fraction of that peak (`0.25` = 25%).
    pub max_drawdown: f64,
}

/// The circuit breaker changed state: tripped (new entries are refused; exits and
/// risk-reducing orders still pass) or reset (entries allowed again).
///
/// Caused by: the losing fill that completed a streak, or nothing (a drawdown, measured at
/// the slice close; a reset by policy). Known at: the slice's time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerChange {
    /// The rule that tripped or reset it, with the numbers that did.
    pub reason: super::Reason,
}

/// A borrow fee charged on a short position (format version 3): cash goes down by `amount`,
/// counted among the fees.
///
/// Caused by: nothing (the time passing). Known at: the first slice of a new UTC day, for the
/// days since the last charge.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BorrowCharged {
    /// The instrument shorted.
    pub symbol: crate::event::SymbolId,
    /// What was charged.
    pub amount: Money,
    /// The rule and its numbers: the short's value, the annual rate, the days charged.
    pub reason: super::Reason,
}
