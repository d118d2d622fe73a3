//! The execution simulator: working orders and how they fill on bars.
//!
//! Rules (docs/execution.md has worked examples):
//! - An order decided at the close of bar *t* fills on that symbol's next bar, never on *t*.
//! - A market order fills in full at the next bar's open moved against the trader by
//!   `slippage_bps` (buys up, sells down), rounded against the trader on the raw price grid, then clamped into the
//!   bar's `[low, high]`, so no fill price lies outside the bar.
//! - The fee is `fee_bps` of the fill's notional, rounded up.
//! - `slippage` on the fill is the money lost against the expected price (the decision
//!   bar's close): `(price − expected) × quantity` for buys, the reverse for sells.
//!
//! # Invariants
//! - Fill price within `[bar.low, bar.high]`; fee ≥ 0.

use crate::event::{Bar, OrderId, Seq, Side, SymbolId};
use crate::fixed::{FixedError, Money, Price, Quantity};

/// When an order decided at a slice's close fills.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FillTiming {
    /// On the symbol's next bar, at its open: the only realistic choice for bars.
    #[default]
    NextBarOpen,
    /// LOOK-AHEAD: at the close of the very bar the decision was made on — a price nobody
    /// could still trade at once the bar had closed. Exists only so that tests and the
    /// look-ahead fuzzer can show what it does to a backtest; `tape fuzz` flags it.
    SameBarClose,
}

/// Costs applied to every fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CostModel {
    /// Price moved against the trader, in basis points of the open.
    pub slippage_bps: i64,
    /// Commission, in basis points of the notional.
    pub fee_bps: i64,
}

/// An order waiting for its fill bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkingOrder {
    /// Its id.
    pub order: OrderId,
    /// The `order_submitted` event's seq (the fill's cause).
    pub submitted: Seq,
    /// Buy or sell.
    pub side: Side,
    /// What is left to fill.
    pub remaining: Quantity,
    /// The decision bar's close.
    pub expected_price: Price,
    /// Cash set aside for a buy until it fills or is cancelled.
    pub committed_cash: Money,
}

/// A fill computed for a bar, before the core records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComputedFill {
    /// The order that filled.
    pub working: WorkingOrder,
    /// Amount filled.
    pub quantity: Quantity,
    /// Fill price.
    pub price: Price,
    /// Commission.
    pub fee: Money,
    /// Money lost against the expected price (negative when the fill was better).
    pub slippage: Money,
}

/// Working orders, per symbol, in submission order.
#[derive(Clone, Debug)]
pub struct OrderBook {
    costs: CostModel,
    working: Vec<Vec<WorkingOrder>>,
    committed_cash: Money,
}

impl OrderBook {
    /// An empty book for `symbols` symbols.
    pub fn new(costs: CostModel, symbols: usize) -> Self {
        Self {
            costs,
            working: vec![Vec::new(); symbols],
            committed_cash: Money::ZERO,
        }
    }

    /// The cost model.
    pub fn costs(&self) -> CostModel {
        self.costs
    }

    /// Cash set aside for working buys.
    pub fn committed_cash(&self) -> Money {
        self.committed_cash
    }

    /// Net signed quantity still working in a symbol (buys positive).
    pub fn pending(&self, symbol: SymbolId) -> Result<Quantity, FixedError> {
        let mut sum = Quantity::ZERO;
        for w in &self.working[symbol.0 as usize] {
            sum = match w.side {
                Side::Buy => sum.checked_add(w.remaining)?,
                Side::Sell => sum.checked_sub(w.remaining)?,
            };
        }
        Ok(sum)
    }

    /// Adds a working order.
    pub fn add(&mut self, symbol: SymbolId, order: WorkingOrder) -> Result<(), FixedError> {
        self.committed_cash = self.committed_cash.checked_add(order.committed_cash)?;
        self.working[symbol.0 as usize].push(order);
        Ok(())
    }

    /// The worst-case cost of buying `quantity` at `reference` under this cost model: what
    /// the cash check compares with the available cash.
    pub fn estimated_cost(
        &self,
        quantity: Quantity,
        reference: Price,
    ) -> Result<Money, FixedError> {
        let price = reference.shifted_bps(self.costs.slippage_bps, true)?;
        let notional = price.notional(quantity)?;
        notional.checked_add(notional.bps_ceil(self.costs.fee_bps)?)
    }

    /// Fills every working order of `bar.symbol` on this bar at its open, in submission
    /// order, appending to `fills`; the filled orders leave the book.
    pub fn fill_on_bar(
        &mut self,
        bar: &Bar,
        fills: &mut Vec<ComputedFill>,
    ) -> Result<(), FixedError> {
        self.fill_at(bar, bar.open, fills)
    }

    /// Fills every working order of `bar.symbol` at `reference` (moved by slippage, clamped
    /// into the bar). [`FillTiming::SameBarClose`] uses the decision bar's close here.
    pub fn fill_at(
        &mut self,
        bar: &Bar,
        reference: Price,
        fills: &mut Vec<ComputedFill>,
    ) -> Result<(), FixedError> {
        let working = &mut self.working[bar.symbol.0 as usize];
        for w in working.drain(..) {
            let price = match w.side {
                Side::Buy => reference.shifted_bps(self.costs.slippage_bps, true)?,
                Side::Sell => reference.shifted_bps(-self.costs.slippage_bps, false)?,
            }
            .clamp(bar.low, bar.high);
            let notional = price.notional(w.remaining)?;
            let fee = notional.bps_ceil(self.costs.fee_bps)?;
            let expected = w.expected_price.notional(w.remaining)?;
            let slippage = match w.side {
                Side::Buy => notional.checked_sub(expected)?,
                Side::Sell => expected.checked_sub(notional)?,
            };
            self.committed_cash = self.committed_cash.checked_sub(w.committed_cash)?;
            fills.push(ComputedFill {
                working: w,
                quantity: w.remaining,
                price,
                fee,
                slippage,
            });
        }
        Ok(())
    }

    /// Removes and returns every working order, symbol by symbol, in submission order.
    pub fn cancel_all(&mut self, out: &mut Vec<(SymbolId, WorkingOrder)>) {
        for (i, working) in self.working.iter_mut().enumerate() {
            out.extend(working.drain(..).map(|w| (SymbolId(i as u32), w)));
        }
        self.committed_cash = Money::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn px(v: f64) -> Price {
        Price::from_f64(v).expect("valid")
    }

    fn bar(open: f64, high: f64, low: f64, close: f64) -> Bar {
        Bar::new(
            SymbolId(0),
            px(open),
            px(high),
            px(low),
            px(close),
            Quantity::from_units(1_000).expect("fits"),
        )
        .expect("consistent")
    }

    fn working(side: Side) -> WorkingOrder {
        WorkingOrder {
            order: OrderId(0),
            submitted: Seq(1),
            side,
            remaining: Quantity::from_units(100).expect("fits"),
            expected_price: px(100.0),
            committed_cash: Money::ZERO,
        }
    }

    #[test]
    fn market_buy_fills_at_open_plus_slippage_with_fee() {
        let mut book = OrderBook::new(
            CostModel {
                slippage_bps: 10,
                fee_bps: 5,
            },
            1,
        );
        book.add(SymbolId(0), working(Side::Buy)).expect("fits");
        let mut fills = Vec::new();
        book.fill_on_bar(&bar(101.0, 103.0, 99.0, 102.0), &mut fills)
            .expect("fits");
        let f = fills[0];
        assert_eq!(f.price, px(101.101));
        // 100 × 101.101 = 10 110.10; 5 bps = 5.05505 → rounded up to 5.055050.
        assert_eq!(f.fee, Money::from_raw(5_055_050));
        assert_eq!(f.slippage, Money::from_f64(110.10).expect("fits"));
        assert_eq!(book.pending(SymbolId(0)).expect("fits"), Quantity::ZERO);
    }

    #[test]
    fn slipped_price_is_clamped_into_the_bar() {
        let mut book = OrderBook::new(
            CostModel {
                slippage_bps: 100,
                fee_bps: 0,
            },
            1,
        );
        book.add(SymbolId(0), working(Side::Sell)).expect("fits");
        let mut fills = Vec::new();
        // Open at the low: a 1% worse sell price would be below the bar.
        book.fill_on_bar(&bar(99.0, 103.0, 99.0, 102.0), &mut fills)
            .expect("fits");
        assert_eq!(fills[0].price, px(99.0));
    }
}
