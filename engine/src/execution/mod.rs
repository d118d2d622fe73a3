//! The execution simulator: working orders and how they fill on bars.
//!
//! Rules (docs/execution.md states each with a worked example):
//! - An order decided at the close of bar *t* works from that symbol's next bar, never *t*.
//! - A market order fills at the bar's open, moved against the trader by `slippage_bps`
//!   (buys up, sells down), rounded against the trader on the raw price grid, then clamped
//!   into the bar's `[low, high]`.
//! - Limit, stop and stop-limit orders trigger along the bar's intrabar walk ([`path`]):
//!   open, the extreme nearer the open, the other extreme, close. A limit fills at its price,
//!   or at the open when the open is already better (price improvement), with no slippage. A
//!   stop becomes a market order when touched: it fills at its stop price, or at the open when
//!   the market gapped through it, then slippage as a market order. A stop-limit becomes a
//!   limit when its stop is touched, and may fill later on the same walk.
//! - With latency, an order may fill only from the `latency_bars`-th bar after its first
//!   chance on, and only on a bar that opened (its symbol's previous bar closed) at or after
//!   the decision time plus `latency_ns`.
//! - With a participation cap, the orders of a symbol fill at most that fraction of the bar's
//!   volume together, in submission order; the rest of an order carries to later bars.
//! - A bracket's exits are one-cancels-other: what one fills comes off the other. A bar that
//!   reaches both is read conservatively: the stop-loss fills, the take-profit does not.
//! - Time in force: `gtc` works until filled or cancelled; `ioc` works on one bar (the first
//!   it may fill on) and its remainder is cancelled; `day` works through the UTC day of the
//!   first bar it may fill on and is cancelled by the first bar of a later day; `gfn` works on
//!   that many bars and its remainder is cancelled after the last.
//! - The fee is `fee_bps` of the fill's notional plus `fee_per_unit`, each rounded up; an
//!   order pays at least `min_fee` over all its fills. `slippage` on the fill is the
//!   money lost against the expected price (the decision bar's close for market orders, the
//!   stop for stops, the limit for limits): `(price − expected) × quantity` for buys, the
//!   reverse for sells.
//!
//! # Invariants
//! - Fill price within `[bar.low, bar.high]`; fee ≥ 0; a fill never exceeds what is left.

pub mod path;

use crate::event::{Bar, OrderId, OrderType, Seq, Side, SymbolId, TimeInForce, Trail};
use crate::fixed::{FixedError, Money, Price, Quantity, QTY_SCALE};
use crate::time::Ts;
use path::{first_touch, start, Cross};

/// When an order decided at a slice's close fills.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FillTiming {
    /// On the symbol's next bar, at its open: the only realistic choice for bars.
    #[default]
    NextBarOpen,
    /// LOOK-AHEAD: at the close of the very bar the decision was made on — a price nobody
    /// could still trade at once the bar had closed. Exists only so that tests and the
    /// look-ahead fuzzer can show what it does to a backtest; `tape fuzz` flags it. Applies to
    /// market orders; other kinds work from the next bar as usual.
    SameBarClose,
}

/// Costs applied to every fill. The price of a market or stop fill is its reference (the
/// open, or the touched stop) moved against the trader by the sum of the slippage terms, each
/// rounded against the trader on the raw price grid; limit fills take no slippage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CostModel {
    /// Fixed slippage, in basis points of the reference price.
    pub slippage_bps: i64,
    /// Half the bid-ask spread, in basis points of the reference price (paid on top).
    pub half_spread_bps: i64,
    /// Volatility-scaled slippage: this many parts per million of the fill bar's range
    /// (`high − low`).
    pub range_slippage_ppm: i64,
    /// Square-root market impact: `η × √(quantity / bar volume)` of the reference price, with
    /// `η` in parts per million (a bar without volume counts as full participation).
    pub impact_ppm: i64,
    /// Commission, in basis points of the notional.
    pub fee_bps: i64,
    /// Commission per unit (share, contract) filled.
    pub fee_per_unit: Money,
    /// The least commission of a fill.
    pub min_fee: Money,
}

impl CostModel {
    /// The commission of a fill of `quantity` with this notional: basis points plus per
    /// unit, each rounded up, and at least `min_fee` (for a whole order, see
    /// [`CostModel::order_fee`]).
    pub fn fee(&self, notional: Money, quantity: Quantity) -> Result<Money, FixedError> {
        let per_unit = self.fee_per_unit.raw() as i128 * quantity.raw() as i128;
        let per_unit = ceil_div(per_unit.abs(), QTY_SCALE as i128);
        let per_unit =
            Money::from_raw(i64::try_from(per_unit).map_err(|_| FixedError::Overflow {
                op: "CostModel::fee",
            })?);
        let fee = notional
            .abs()?
            .bps_ceil(self.fee_bps)?
            .checked_add(per_unit)?;
        Ok(fee.max(self.min_fee))
    }

    /// The commission of one fill of an order that has paid `paid` in fees on its earlier
    /// fills: basis points plus per unit, topped up so the order pays at least `min_fee` in
    /// all — the minimum is per order, not per fill.
    pub fn order_fee(
        &self,
        notional: Money,
        quantity: Quantity,
        paid: Money,
    ) -> Result<Money, FixedError> {
        let plain = CostModel {
            min_fee: Money::ZERO,
            ..*self
        }
        .fee(notional, quantity)?;
        let short_of_minimum = self.min_fee.checked_sub(paid)?.max(Money::ZERO);
        Ok(plain.max(short_of_minimum))
    }

    /// How far (in raw price units, ≥ 0) a market or stop fill of `quantity` at `reference`
    /// on `bar` moves against the trader.
    pub fn slippage_raw(
        &self,
        reference: Price,
        bar: &Bar,
        quantity: Quantity,
    ) -> Result<i64, FixedError> {
        let base = reference.raw() as i128;
        let bps = i128::from(self.slippage_bps + self.half_spread_bps);
        let fixed = ceil_div(base * bps, 10_000);
        let range = (bar.high.raw() - bar.low.raw()) as i128;
        let scaled = ceil_div(range * i128::from(self.range_slippage_ppm), 1_000_000);
        let impact = if self.impact_ppm == 0 {
            0
        } else {
            let participation = if bar.volume.raw() > 0 {
                (quantity.raw() as f64 / bar.volume.raw() as f64).min(1.0)
            } else {
                1.0
            };
            // IEEE square root and products: the same bits on every machine.
            let shift = base as f64 * (self.impact_ppm as f64 / 1e6) * libm::sqrt(participation);
            shift.ceil() as i128
        };
        i64::try_from(fixed + scaled + impact).map_err(|_| FixedError::Overflow {
            op: "CostModel::slippage",
        })
    }
}

/// What kind of order, with its prices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderKind {
    /// At the next bar's open.
    Market,
    /// At `limit` or better.
    Limit {
        /// The worst price accepted.
        limit: Price,
    },
    /// A market order once the price reaches `stop`.
    Stop {
        /// The trigger.
        stop: Price,
    },
    /// A limit order at `limit` once the price reaches `stop`.
    StopLimit {
        /// The trigger.
        stop: Price,
        /// The worst price accepted once triggered.
        limit: Price,
    },
    /// A stop that follows the best price: after each bar that does not trigger it, the stop
    /// moves to `trail` from that bar's best extreme (the high for a sell stop, the low for a
    /// buy stop) if that is tighter — never looser.
    TrailingStop {
        /// How far it stays from the best price.
        trail: Trail,
        /// The current trigger.
        stop: Price,
    },
}

impl OrderKind {
    /// The wire order type.
    pub fn order_type(self) -> OrderType {
        match self {
            OrderKind::Market => OrderType::Market,
            OrderKind::Limit { .. } => OrderType::Limit,
            OrderKind::Stop { .. } => OrderType::Stop,
            OrderKind::StopLimit { .. } => OrderType::StopLimit,
            OrderKind::TrailingStop { .. } => OrderType::TrailingStop,
        }
    }

    /// The trail of a trailing stop.
    pub fn trail(self) -> Option<Trail> {
        match self {
            OrderKind::TrailingStop { trail, .. } => Some(trail),
            _ => None,
        }
    }

    /// The limit price, if any.
    pub fn limit(self) -> Option<Price> {
        match self {
            OrderKind::Limit { limit } | OrderKind::StopLimit { limit, .. } => Some(limit),
            OrderKind::Market | OrderKind::Stop { .. } | OrderKind::TrailingStop { .. } => None,
        }
    }

    /// The stop price, if any (a trailing stop's current one).
    pub fn stop(self) -> Option<Price> {
        match self {
            OrderKind::Stop { stop }
            | OrderKind::StopLimit { stop, .. }
            | OrderKind::TrailingStop { stop, .. } => Some(stop),
            OrderKind::Market | OrderKind::Limit { .. } => None,
        }
    }

    /// The price a fill is measured against: the limit for limits, the stop for stops, the
    /// decision bar's close (`close`) for market orders.
    pub fn expected_price(self, close: Price) -> Price {
        self.limit().or(self.stop()).unwrap_or(close)
    }
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
    /// The price fills are measured against (see [`OrderKind::expected_price`]).
    pub expected_price: Price,
    /// Cash set aside for a buy until it fills or is cancelled.
    pub committed_cash: Money,
    /// The kind and its prices.
    pub kind: OrderKind,
    /// How long it works.
    pub time_in_force: TimeInForce,
    /// A stop-limit whose stop has been touched (it now works as a limit).
    pub triggered: bool,
    /// For `day` orders: the UTC day (days since the epoch) of the first bar it could fill on.
    pub day: Option<i64>,
    /// How it is tied to other orders (a bracket's entry or exits).
    pub link: Option<Link>,
    /// Bars it has worked on (that it could fill on), for `gfn`.
    pub bars_worked: u32,
    /// The strategy-defined cycle it was placed in, if any.
    pub cycle: Option<u32>,
    /// Fees its fills have paid so far (the minimum fee is per order).
    pub fees_paid: Money,
    /// Latency in bars: this many more bars of the symbol pass before it may fill.
    pub wait_bars: u32,
    /// Latency in time: it reaches the market at this time, so it may fill only on a bar
    /// that opens then or later (a bar opens when the symbol's previous bar closed).
    pub arrives: Option<Ts>,
}

/// A bracket's exits, placed when its entry fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bracket {
    /// The take-profit limit price.
    pub take_profit: Price,
    /// The stop-loss stop price (a trailing stop's first stop, with `trail`).
    pub stop_loss: Price,
    /// Makes the stop-loss a trailing stop with this trail.
    pub trail: Option<Trail>,
}

/// How an order is tied to others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// A bracket's entry: its fills place (then grow) a take-profit limit and a stop-loss
    /// stop for the filled quantity, one-cancels-other.
    BracketEntry(Bracket),
    /// One of two exits: what fills here comes off the other; when it has nothing left, the
    /// other is cancelled.
    OneCancelsOther {
        /// The other exit.
        sibling: OrderId,
        /// The bracket's entry.
        entry: OrderId,
    },
}

impl WorkingOrder {
    /// A new order as submitted: nothing set aside, filled, triggered or linked yet, no
    /// latency.
    pub fn new(
        order: OrderId,
        submitted: Seq,
        side: Side,
        quantity: Quantity,
        kind: OrderKind,
        time_in_force: TimeInForce,
        expected_price: Price,
    ) -> Self {
        Self {
            order,
            submitted,
            side,
            remaining: quantity,
            expected_price,
            committed_cash: Money::ZERO,
            kind,
            time_in_force,
            triggered: false,
            day: None,
            link: None,
            bars_worked: 0,
            cycle: None,
            fees_paid: Money::ZERO,
            wait_bars: 0,
            arrives: None,
        }
    }
}

/// A fill computed for a bar, before the core records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComputedFill {
    /// The order that filled, as it is after this fill.
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

/// Moves a trailing stop that this bar did not trigger to its trail from the bar's best
/// extreme, if that is tighter; returns the old stop and the extreme when it moved.
fn trail_after(
    w: &mut WorkingOrder,
    bar: &Bar,
    tick_raw: i64,
) -> Result<Option<(Price, Price)>, FixedError> {
    let OrderKind::TrailingStop { trail, stop } = w.kind else {
        return Ok(None);
    };
    // A sell stop protects a long: it follows the high up. A buy stop follows the low down.
    let extreme = match w.side {
        Side::Sell => bar.high,
        Side::Buy => bar.low,
    };
    let distance = match trail {
        Trail::Price(d) => d.raw(),
        Trail::Ppm(ppm) => {
            let v = extreme.raw() as i128 * i128::from(ppm);
            // Rounded so the stop sits no tighter than the trail says.
            (match w.side {
                Side::Sell => ceil_div(v, 1_000_000),
                Side::Buy => v / 1_000_000,
            }) as i64
        }
    };
    let candidate = match w.side {
        Side::Sell => extreme.raw().checked_sub(distance),
        Side::Buy => extreme.raw().checked_add(distance),
    }
    .ok_or(FixedError::Overflow {
        op: "trailing stop",
    })?;
    // On the grid, away from the price.
    let candidate = match w.side {
        Side::Sell => candidate.div_euclid(tick_raw) * tick_raw,
        Side::Buy => ceil_div(i128::from(candidate), i128::from(tick_raw)) as i64 * tick_raw,
    };
    let tighter = match w.side {
        Side::Sell => candidate > stop.raw(),
        Side::Buy => candidate < stop.raw(),
    };
    if !tighter || candidate <= 0 {
        return Ok(None);
    }
    let new = Price::from_raw(candidate)?;
    w.kind = OrderKind::TrailingStop { trail, stop: new };
    Ok(Some((stop, extreme)))
}

/// `n / d` rounded up (toward +∞), `d > 0`.
fn ceil_div(n: i128, d: i128) -> i128 {
    let q = n.div_euclid(d);
    if n.rem_euclid(d) == 0 {
        q
    } else {
        q + 1
    }
}

/// Why an amend was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmendRefused {
    /// The order's kind has no such price (a limit on a stop order, say).
    NoSuchPrice,
    /// The new quantity is not positive.
    Quantity,
}

/// How an order meets a bar's walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Touch {
    /// A limit reached: fills at this price, no slippage.
    AtLimit(Price),
    /// A market order, or a stop touched: fills at this reference moved by slippage.
    AtMarket(Price),
}

/// Why the book dropped an order by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// An `ioc` order's remainder after the one bar it works on.
    IocRemainder,
    /// A `day` order whose day is over.
    DayEnded,
    /// A `gfn` order that worked its bars.
    BarsElapsed,
}

/// A trailing stop the book moved after a bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moved {
    /// Its symbol.
    pub symbol: SymbolId,
    /// The order, with its new stop.
    pub working: WorkingOrder,
    /// The stop before.
    pub from: Price,
    /// The bar's extreme it followed.
    pub extreme: Price,
}

/// What working a bar did to the book: fills, dropped orders and moved stops, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BarWork {
    /// Fills, in submission order of their orders.
    pub fills: Vec<ComputedFill>,
    /// Orders dropped by their time in force.
    pub expired: Vec<Expired>,
    /// Trailing stops moved after the bar.
    pub moved: Vec<Moved>,
}

impl BarWork {
    /// Empties it for the next bar, keeping the allocations.
    pub fn clear(&mut self) {
        self.fills.clear();
        self.expired.clear();
        self.moved.clear();
    }
}

/// An order the book dropped, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expired {
    /// Its symbol.
    pub symbol: SymbolId,
    /// The order, with what was left of it.
    pub working: WorkingOrder,
    /// Why.
    pub why: Expiry,
}

/// Working orders, per symbol, in submission order.
#[derive(Clone, Debug)]
pub struct OrderBook {
    costs: CostModel,
    /// At most this many parts per million of a bar's volume fill on it (0: no cap).
    participation_ppm: u32,
    working: Vec<Vec<WorkingOrder>>,
    committed_cash: Money,
    /// Per symbol: when its latest bar closed (when the next one opens).
    last_close: Vec<Option<Ts>>,
    /// The price grid trailing stops are moved on (raw units; 1 = any price).
    tick_raw: i64,
}

impl OrderBook {
    /// An empty book for `symbols` symbols.
    pub fn new(costs: CostModel, symbols: usize) -> Self {
        Self {
            costs,
            participation_ppm: 0,
            working: vec![Vec::new(); symbols],
            committed_cash: Money::ZERO,
            last_close: vec![None; symbols],
            tick_raw: 1,
        }
    }

    /// The same book moving trailing stops on this price grid: a moved stop is rounded away
    /// from the price (down for a sell stop, up for a buy stop), so it keeps at least its
    /// trail.
    pub fn with_tick(mut self, tick: Option<Price>) -> Self {
        self.tick_raw = tick.map_or(1, Price::raw);
        self
    }

    /// The same book with a volume participation cap, in parts per million of a bar's
    /// volume (0: none).
    pub fn with_participation_ppm(mut self, ppm: u32) -> Self {
        self.participation_ppm = ppm;
        self
    }

    /// The cost model.
    pub fn costs(&self) -> CostModel {
        self.costs
    }

    /// Cash set aside for working buys.
    pub fn committed_cash(&self) -> Money {
        self.committed_cash
    }

    /// The working orders of a symbol, in submission order.
    pub fn working(&self, symbol: SymbolId) -> &[WorkingOrder] {
        self.working
            .get(symbol.0 as usize)
            .map_or(&[], Vec::as_slice)
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

    /// Changes what is left of a working order (a linked order's fill grows or shrinks it);
    /// returns the order as changed, or `None` if it is not working.
    pub fn resize(
        &mut self,
        symbol: SymbolId,
        order: OrderId,
        remaining: Quantity,
    ) -> Option<WorkingOrder> {
        let w = self.working[symbol.0 as usize]
            .iter_mut()
            .find(|w| w.order == order)?;
        w.remaining = remaining;
        Some(*w)
    }

    /// Applies a strategy's amend to a working order: the new remaining quantity, limit and
    /// stop (each `None` keeps it); a buy's cash set aside is estimated again. Returns the
    /// order as changed, `None` if it is not working, or why it was refused.
    pub fn amend(
        &mut self,
        symbol: SymbolId,
        order: OrderId,
        remaining: Option<Quantity>,
        limit: Option<Price>,
        stop: Option<Price>,
    ) -> Result<Result<Option<WorkingOrder>, AmendRefused>, FixedError> {
        let orders = &self.working[symbol.0 as usize];
        let Some(i) = orders.iter().position(|w| w.order == order) else {
            return Ok(Ok(None));
        };
        let mut w = orders[i];
        w.kind = match (w.kind, limit, stop) {
            (k, None, None) => k,
            (OrderKind::Limit { .. }, Some(limit), None) => OrderKind::Limit { limit },
            (OrderKind::Stop { .. }, None, Some(stop)) => OrderKind::Stop { stop },
            (OrderKind::TrailingStop { trail, .. }, None, Some(stop)) => {
                OrderKind::TrailingStop { trail, stop }
            }
            (OrderKind::StopLimit { stop: s, limit: l }, limit, stop) => OrderKind::StopLimit {
                stop: stop.unwrap_or(s),
                limit: limit.unwrap_or(l),
            },
            _ => return Ok(Err(AmendRefused::NoSuchPrice)),
        };
        if let Some(q) = remaining {
            if q.raw() <= 0 {
                return Ok(Err(AmendRefused::Quantity));
            }
            w.remaining = q;
        }
        // The price fills are measured against follows a new limit or stop.
        if let Some(p) = w.kind.limit().or(w.kind.stop()) {
            w.expected_price = p;
        }
        // Cash set aside for a buy follows what is left, at the new price.
        let committed = if w.side == Side::Buy {
            self.estimated_cost(w.remaining, w.expected_price)?
        } else {
            Money::ZERO
        };
        self.committed_cash = self
            .committed_cash
            .checked_sub(w.committed_cash)?
            .checked_add(committed)?;
        w.committed_cash = committed;
        self.working[symbol.0 as usize][i] = w;
        Ok(Ok(Some(w)))
    }

    /// Removes a working order by id (a strategy's cancel), releasing its cash.
    pub fn cancel(
        &mut self,
        symbol: SymbolId,
        order: OrderId,
    ) -> Result<Option<WorkingOrder>, FixedError> {
        let working = &mut self.working[symbol.0 as usize];
        let Some(i) = working.iter().position(|w| w.order == order) else {
            return Ok(None);
        };
        let w = working.remove(i);
        self.committed_cash = self.committed_cash.checked_sub(w.committed_cash)?;
        Ok(Some(w))
    }

    /// The worst-case cost of buying `quantity` at `reference` under this cost model: what
    /// the cash check compares with the available cash.
    pub fn estimated_cost(
        &self,
        quantity: Quantity,
        reference: Price,
    ) -> Result<Money, FixedError> {
        let bps = self.costs.slippage_bps + self.costs.half_spread_bps;
        let price = reference.shifted_bps(bps, true)?;
        let notional = price.notional(quantity)?;
        notional.checked_add(self.costs.fee(notional, quantity)?)
    }

    /// Notes that a bar of `symbol` closed at `ts` (when its next bar opens, for latency),
    /// for a bar with no working order to work: [`OrderBook::fill_on_bar`] does it otherwise.
    pub fn note_close(&mut self, symbol: SymbolId, ts: Ts) {
        self.last_close[symbol.0 as usize] = Some(ts);
    }

    /// Works every order of `bar.symbol` on this bar (closed at `ts`), in submission order:
    /// expired `day` orders leave first, then each order fills by its kind along the bar's
    /// walk (within the participation cap), then `ioc` remainders leave. Fills go to `fills`,
    /// dropped orders to `expired`.
    pub fn fill_on_bar(&mut self, ts: Ts, bar: &Bar, out: &mut BarWork) -> Result<(), FixedError> {
        let BarWork {
            fills,
            expired,
            moved,
        } = out;
        let symbol = bar.symbol;
        let today = ts.day();
        let opened = self.last_close[symbol.0 as usize].replace(ts);
        let mut cap = self.volume_cap(bar)?;
        let mut working = std::mem::take(&mut self.working[symbol.0 as usize]);
        let mut kept = 0;
        for i in 0..working.len() {
            let mut w = working[i];
            // Latency: not at the market yet, so this bar is not one it may fill on at all.
            let arrived = w.arrives.is_none_or(|at| opened.is_some_and(|o| o >= at));
            if w.wait_bars > 0 || !arrived {
                w.wait_bars = w.wait_bars.saturating_sub(1);
                working[kept] = w;
                kept += 1;
                continue;
            }
            if w.time_in_force == TimeInForce::Day {
                match w.day {
                    Some(day) if today > day => {
                        self.release(&w)?;
                        expired.push(Expired {
                            symbol,
                            working: w,
                            why: Expiry::DayEnded,
                        });
                        continue;
                    }
                    Some(_) => {}
                    None => w.day = Some(today),
                }
            }
            // An ambiguous bar that reaches both exits of a bracket is read the conservative
            // way: the stop-loss fills, the take-profit waits (and then has nothing left).
            let stop_loss_touched = match (w.kind, w.link) {
                (OrderKind::Limit { .. }, Some(Link::OneCancelsOther { sibling, .. })) => working
                    [i + 1..]
                    .iter()
                    .find(|x| x.order == sibling)
                    .is_some_and(|x| self.touch(&mut x.clone(), bar).is_some()),
                _ => false,
            };
            let touched = if stop_loss_touched {
                None
            } else {
                self.touch(&mut w, bar)
            };
            if let Some(touch) = touched {
                let quantity = match cap {
                    Some(left) => w.remaining.min(left),
                    None => w.remaining,
                };
                if quantity.raw() > 0 {
                    if let Some(left) = cap.as_mut() {
                        *left = left.checked_sub(quantity)?;
                    }
                    let price = match touch {
                        Touch::AtLimit(price) => price,
                        Touch::AtMarket(reference) => {
                            self.slipped(w.side, reference, bar, quantity)?
                        }
                    };
                    let fill = self.fill(&mut w, quantity, price)?;
                    fills.push(fill);
                }
            }
            if w.remaining.is_zero() {
                continue;
            }
            if let Some((from, extreme)) = trail_after(&mut w, bar, self.tick_raw)? {
                moved.push(Moved {
                    symbol,
                    working: w,
                    from,
                    extreme,
                });
            }
            w.bars_worked = w.bars_worked.saturating_add(1);
            if let TimeInForce::GoodForBars(n) = w.time_in_force {
                if w.bars_worked >= n {
                    self.release(&w)?;
                    expired.push(Expired {
                        symbol,
                        working: w,
                        why: Expiry::BarsElapsed,
                    });
                    continue;
                }
            }
            if w.time_in_force == TimeInForce::Ioc {
                self.release(&w)?;
                expired.push(Expired {
                    symbol,
                    working: w,
                    why: Expiry::IocRemainder,
                });
                continue;
            }
            working[kept] = w;
            kept += 1;
        }
        working.truncate(kept);
        self.working[symbol.0 as usize] = working;
        Ok(())
    }

    /// LOOK-AHEAD ([`FillTiming::SameBarClose`]): fills every working market order of
    /// `bar.symbol` at `reference` (moved by slippage, clamped into the bar).
    pub fn fill_at(
        &mut self,
        bar: &Bar,
        reference: Price,
        fills: &mut Vec<ComputedFill>,
    ) -> Result<(), FixedError> {
        let mut working = std::mem::take(&mut self.working[bar.symbol.0 as usize]);
        let mut result = Ok(());
        working.retain_mut(|w| {
            if w.kind != OrderKind::Market || result.is_err() {
                return true;
            }
            let price = self.slipped(w.side, reference, bar, w.remaining);
            match price.and_then(|p| self.fill(w, w.remaining, p)) {
                Ok(fill) => fills.push(fill),
                Err(e) => result = Err(e),
            }
            !w.remaining.is_zero()
        });
        self.working[bar.symbol.0 as usize] = working;
        result
    }

    /// Removes and returns every working order, symbol by symbol, in submission order.
    pub fn cancel_all(&mut self, out: &mut Vec<(SymbolId, WorkingOrder)>) {
        for (i, working) in self.working.iter_mut().enumerate() {
            out.extend(working.drain(..).map(|w| (SymbolId(i as u32), w)));
        }
        self.committed_cash = Money::ZERO;
    }

    /// Whether and how `w` fills on `bar` (marking a stop-limit triggered on the way).
    fn touch(&self, w: &mut WorkingOrder, bar: &Bar) -> Option<Touch> {
        let walk = path::path(bar);
        let (stop_cross, limit_cross) = match w.side {
            Side::Buy => (Cross::AtOrAbove, Cross::AtOrBelow),
            Side::Sell => (Cross::AtOrBelow, Cross::AtOrAbove),
        };
        match w.kind {
            OrderKind::Market => Some(Touch::AtMarket(bar.open)),
            OrderKind::Limit { limit } => first_touch(&walk, start(bar), limit, limit_cross)
                .map(|at| Touch::AtLimit(at.price)),
            OrderKind::Stop { stop } | OrderKind::TrailingStop { stop, .. } => {
                first_touch(&walk, start(bar), stop, stop_cross).map(|at| Touch::AtMarket(at.price))
            }
            OrderKind::StopLimit { stop, limit } => {
                let from = if w.triggered {
                    start(bar)
                } else {
                    first_touch(&walk, start(bar), stop, stop_cross)?
                };
                w.triggered = true;
                first_touch(&walk, from, limit, limit_cross).map(|at| Touch::AtLimit(at.price))
            }
        }
    }

    /// `reference` moved against the trader by the cost model's slippage for `quantity`,
    /// clamped into the bar.
    fn slipped(
        &self,
        side: Side,
        reference: Price,
        bar: &Bar,
        quantity: Quantity,
    ) -> Result<Price, FixedError> {
        let shift = self.costs.slippage_raw(reference, bar, quantity)?;
        let raw = match side {
            Side::Buy => reference.raw().checked_add(shift),
            Side::Sell => reference.raw().checked_sub(shift),
        }
        .ok_or(FixedError::Overflow {
            op: "slipped price",
        })?;
        // A sell slipped below zero is clamped to the bar's low like any other.
        Ok(Price::from_raw(raw.max(1))?.clamp(bar.low, bar.high))
    }

    /// Fills `quantity` of `w` at `price`: fee, slippage, what is left and the cash still
    /// set aside for it.
    fn fill(
        &mut self,
        w: &mut WorkingOrder,
        quantity: Quantity,
        price: Price,
    ) -> Result<ComputedFill, FixedError> {
        let notional = price.notional(quantity)?;
        let fee = self.costs.order_fee(notional, quantity, w.fees_paid)?;
        w.fees_paid = w.fees_paid.checked_add(fee)?;
        let expected = w.expected_price.notional(quantity)?;
        let slippage = match w.side {
            Side::Buy => notional.checked_sub(expected)?,
            Side::Sell => expected.checked_sub(notional)?,
        };
        w.remaining = w.remaining.checked_sub(quantity)?;
        let committed = if w.side == Side::Buy && !w.remaining.is_zero() {
            self.estimated_cost(w.remaining, w.expected_price)?
                .min(w.committed_cash)
        } else {
            Money::ZERO
        };
        self.committed_cash = self
            .committed_cash
            .checked_sub(w.committed_cash)?
            .checked_add(committed)?;
        w.committed_cash = committed;
        Ok(ComputedFill {
            working: *w,
            quantity,
            price,
            fee,
            slippage,
        })
    }

    /// Releases the cash set aside for an order leaving the book.
    fn release(&mut self, w: &WorkingOrder) -> Result<(), FixedError> {
        self.committed_cash = self.committed_cash.checked_sub(w.committed_cash)?;
        Ok(())
    }

    /// What may fill on this bar in all: the participation cap of its volume.
    fn volume_cap(&self, bar: &Bar) -> Result<Option<Quantity>, FixedError> {
        if self.participation_ppm == 0 {
            return Ok(None);
        }
        let cap = bar.volume.raw() as i128 * i128::from(self.participation_ppm) / 1_000_000;
        Ok(Some(Quantity::from_raw(i64::try_from(cap).map_err(
            |_| FixedError::Overflow {
                op: "participation cap",
            },
        )?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000_000;

    fn px(v: f64) -> Price {
        Price::from_f64(v).expect("valid")
    }

    fn qty(units: i64) -> Quantity {
        Quantity::from_units(units).expect("fits")
    }

    fn bar(open: f64, high: f64, low: f64, close: f64) -> Bar {
        Bar::new(
            SymbolId(0),
            px(open),
            px(high),
            px(low),
            px(close),
            qty(1_000),
        )
        .expect("consistent")
    }

    fn order(id: u64, side: Side, kind: OrderKind, tif: TimeInForce) -> WorkingOrder {
        let expected = kind.expected_price(px(100.0));
        WorkingOrder::new(
            OrderId(id),
            Seq(id + 1),
            side,
            qty(100),
            kind,
            tif,
            expected,
        )
    }

    fn working(side: Side) -> WorkingOrder {
        order(0, side, OrderKind::Market, TimeInForce::Gtc)
    }

    fn book(slippage_bps: i64, fee_bps: i64) -> OrderBook {
        OrderBook::new(
            CostModel {
                slippage_bps,
                fee_bps,
                ..CostModel::default()
            },
            1,
        )
    }

    /// Works the book on bar `b` of day `day`; returns the fills and the dropped orders.
    fn work(book: &mut OrderBook, day: i64, b: &Bar) -> (Vec<ComputedFill>, Vec<Expired>) {
        let mut out = BarWork::default();
        book.fill_on_bar(Ts(day * DAY + DAY / 2), b, &mut out)
            .expect("fits");
        (out.fills, out.expired)
    }

    #[test]
    fn market_buy_fills_at_open_plus_slippage_with_fee() {
        let mut book = book(10, 5);
        book.add(SymbolId(0), working(Side::Buy)).expect("fits");
        let (fills, _) = work(&mut book, 0, &bar(101.0, 103.0, 99.0, 102.0));
        let f = fills[0];
        assert_eq!(f.price, px(101.101));
        // 100 × 101.101 = 10 110.10; 5 bps = 5.05505 → rounded up to 5.055050.
        assert_eq!(f.fee, Money::from_raw(5_055_050));
        assert_eq!(f.slippage, Money::from_f64(110.10).expect("fits"));
        assert_eq!(book.pending(SymbolId(0)).expect("fits"), Quantity::ZERO);
    }

    #[test]
    fn slipped_price_is_clamped_into_the_bar() {
        let mut book = book(100, 0);
        book.add(SymbolId(0), working(Side::Sell)).expect("fits");
        // Open at the low: a 1% worse sell price would be below the bar.
        let (fills, _) = work(&mut book, 0, &bar(99.0, 103.0, 99.0, 102.0));
        assert_eq!(fills[0].price, px(99.0));
    }

    #[test]
    fn a_stop_the_market_gaps_through_fills_at_the_open_not_the_stop() {
        let mut book = book(0, 0);
        let stop = OrderKind::Stop { stop: px(95.0) };
        book.add(SymbolId(0), order(0, Side::Sell, stop, TimeInForce::Gtc))
            .expect("fits");
        // Opens at 90, below the 95 stop: the sell fills at 90, 5 worse than the stop.
        let (fills, _) = work(&mut book, 0, &bar(90.0, 92.0, 88.0, 91.0));
        assert_eq!(fills[0].price, px(90.0));
        assert_eq!(fills[0].slippage, Money::from_units(500).expect("fits"));
    }

    #[test]
    fn a_stop_touched_inside_the_bar_fills_at_its_price_plus_slippage() {
        let mut book = book(10, 0);
        let stop = OrderKind::Stop { stop: px(102.0) };
        book.add(SymbolId(0), order(0, Side::Buy, stop, TimeInForce::Gtc))
            .expect("fits");
        let (fills, _) = work(&mut book, 0, &bar(100.0, 101.0, 99.0, 100.5));
        assert!(fills.is_empty(), "the high never reached the stop");
        let (fills, _) = work(&mut book, 1, &bar(100.0, 104.0, 99.0, 103.0));
        assert_eq!(fills[0].price, px(102.102));
    }

    #[test]
    fn a_limit_fills_at_its_price_or_at_a_better_open() {
        let mut book = book(50, 0);
        let limit = OrderKind::Limit { limit: px(98.0) };
        book.add(SymbolId(0), order(0, Side::Buy, limit, TimeInForce::Gtc))
            .expect("fits");
        book.add(SymbolId(0), order(1, Side::Buy, limit, TimeInForce::Gtc))
            .expect("fits");
        let (fills, _) = work(&mut book, 0, &bar(100.0, 101.0, 97.0, 99.0));
        // No slippage on a limit: at the limit.
        assert_eq!((fills[0].price, fills[1].price), (px(98.0), px(98.0)));
        let limit = OrderKind::Limit { limit: px(98.0) };
        book.add(SymbolId(0), order(2, Side::Buy, limit, TimeInForce::Gtc))
            .expect("fits");
        // The open gaps below the limit: filled at the open, a price improvement.
        let (fills, _) = work(&mut book, 1, &bar(96.0, 97.0, 95.0, 96.5));
        assert_eq!(fills[0].price, px(96.0));
        assert!(fills[0].slippage.raw() < 0, "better than expected");
    }

    #[test]
    fn a_stop_limit_triggers_then_needs_its_limit_along_the_walk() {
        let mut book = book(0, 0);
        // Buy stop 102, limit 103.
        let kind = OrderKind::StopLimit {
            stop: px(102.0),
            limit: px(103.0),
        };
        book.add(SymbolId(0), order(0, Side::Buy, kind, TimeInForce::Gtc))
            .expect("fits");
        // Gaps open at 105, above the limit: triggered, not filled (the walk only falls to
        // 104 after the open).
        let (fills, _) = work(&mut book, 0, &bar(105.0, 106.0, 104.0, 104.5));
        assert!(fills.is_empty());
        assert!(book.working(SymbolId(0))[0].triggered);
        // Next bar comes back to 103: a triggered stop-limit is a plain limit now.
        let (fills, _) = work(&mut book, 1, &bar(104.0, 104.5, 102.5, 103.5));
        assert_eq!(fills[0].price, px(103.0));
    }

    #[test]
    fn a_partial_fill_carries_its_remainder_and_ioc_cancels_it() {
        let mut book = book(0, 0).with_participation_ppm(50_000); // 5% of 1,000 = 50 units
        book.add(SymbolId(0), working(Side::Buy)).expect("fits");
        let (fills, expired) = work(&mut book, 0, &bar(100.0, 101.0, 99.0, 100.0));
        assert_eq!(fills[0].quantity, qty(50));
        assert_eq!(fills[0].working.remaining, qty(50));
        assert!(expired.is_empty());
        let (fills, _) = work(&mut book, 1, &bar(100.0, 101.0, 99.0, 100.0));
        assert_eq!(fills[0].quantity, qty(50));
        assert!(book.working(SymbolId(0)).is_empty());

        let ioc = order(1, Side::Buy, OrderKind::Market, TimeInForce::Ioc);
        book.add(SymbolId(0), ioc).expect("fits");
        let (fills, expired) = work(&mut book, 2, &bar(100.0, 101.0, 99.0, 100.0));
        assert_eq!(fills[0].quantity, qty(50));
        assert_eq!(expired[0].why, Expiry::IocRemainder);
        assert_eq!(expired[0].working.remaining, qty(50));
        assert!(book.working(SymbolId(0)).is_empty());
    }

    #[test]
    fn an_ioc_limit_not_reached_on_its_bar_is_cancelled_whole() {
        let mut book = book(0, 0);
        let limit = OrderKind::Limit { limit: px(90.0) };
        book.add(SymbolId(0), order(0, Side::Buy, limit, TimeInForce::Ioc))
            .expect("fits");
        let (fills, expired) = work(&mut book, 0, &bar(100.0, 101.0, 99.0, 100.0));
        assert!(fills.is_empty());
        assert_eq!(expired[0].working.remaining, qty(100));
    }

    #[test]
    fn a_day_order_works_through_its_first_day_only() {
        let mut book = book(0, 0);
        let limit = OrderKind::Limit { limit: px(90.0) };
        book.add(SymbolId(0), order(0, Side::Buy, limit, TimeInForce::Day))
            .expect("fits");
        // Two bars of day 3 (minute bars, say): it works on both.
        for _ in 0..2 {
            let (fills, expired) = work(&mut book, 3, &bar(100.0, 101.0, 99.0, 100.0));
            assert!(fills.is_empty() && expired.is_empty());
        }
        // The first bar of day 4 drops it before it could fill, though it would have.
        let (fills, expired) = work(&mut book, 4, &bar(89.0, 90.0, 88.0, 89.5));
        assert!(fills.is_empty());
        assert_eq!(expired[0].why, Expiry::DayEnded);
    }

    #[test]
    fn cash_set_aside_follows_partial_fills_and_cancels() {
        let mut book = book(0, 0).with_participation_ppm(50_000);
        let mut w = working(Side::Buy);
        w.committed_cash = book.estimated_cost(w.remaining, px(100.0)).expect("fits");
        book.add(SymbolId(0), w).expect("fits");
        assert_eq!(
            book.committed_cash(),
            Money::from_units(10_000).expect("fits")
        );
        work(&mut book, 0, &bar(100.0, 101.0, 99.0, 100.0));
        assert_eq!(
            book.committed_cash(),
            Money::from_units(5_000).expect("fits")
        );
        let gone = book.cancel(SymbolId(0), OrderId(0)).expect("fits");
        assert_eq!(gone.map(|w| w.remaining), Some(qty(50)));
        assert_eq!(book.committed_cash(), Money::ZERO);
    }

    #[test]
    fn fees_add_basis_points_and_per_unit_and_respect_the_minimum() {
        let costs = CostModel {
            fee_bps: 1,
            fee_per_unit: Money::from_f64(0.005).expect("fits"),
            min_fee: Money::from_units(1).expect("fits"),
            ..CostModel::default()
        };
        // 100 units at 100: notional 10,000; 1 bp = 1.00; per unit 100 × 0.005 = 0.50.
        let notional = Money::from_units(10_000).expect("fits");
        assert_eq!(
            costs.fee(notional, qty(100)).expect("fits"),
            Money::from_f64(1.5).expect("fits")
        );
        // 3 units at 100: 0.03 + 0.015 = 0.045, below the minimum of 1.
        let small = Money::from_units(300).expect("fits");
        assert_eq!(
            costs.fee(small, qty(3)).expect("fits"),
            Money::from_units(1).expect("fits")
        );
    }

    #[test]
    fn slippage_terms_add_up_against_the_trader() {
        let costs = CostModel {
            slippage_bps: 2,
            half_spread_bps: 3,
            range_slippage_ppm: 100_000,
            impact_ppm: 100_000,
            ..CostModel::default()
        };
        let b = bar(100.0, 102.0, 98.0, 101.0); // range 4, volume 1,000
                                                // 5 bp of 100 = 0.05; 10% of the range = 0.40; impact 0.1 × √(100/1000) × 100
                                                // = 3.16227766… → rounded up to 3.16227767. Total 3.61227767.
        let shift = costs.slippage_raw(px(100.0), &b, qty(100)).expect("fits");
        assert_eq!(shift, 361_227_767);
        let mut book = OrderBook::new(costs, 1);
        book.add(SymbolId(0), working(Side::Buy)).expect("fits");
        book.add(SymbolId(0), working(Side::Sell)).expect("fits");
        let (fills, _) = work(&mut book, 0, &b);
        assert_eq!(fills[0].price, px(102.0)); // 103.61… clamped to the high
        assert_eq!(fills[1].price, px(98.0)); // 96.38… clamped to the low
                                              // A limit takes none of it.
        let mut book = OrderBook::new(costs, 1);
        let limit = OrderKind::Limit { limit: px(99.0) };
        book.add(SymbolId(0), order(0, Side::Buy, limit, TimeInForce::Gtc))
            .expect("fits");
        let (fills, _) = work(&mut book, 0, &b);
        assert_eq!(fills[0].price, px(99.0));
    }

    #[test]
    fn impact_grows_with_the_square_root_of_participation() {
        let costs = CostModel {
            impact_ppm: 1_000_000,
            ..CostModel::default()
        };
        let b = bar(100.0, 200.0, 50.0, 100.0); // volume 1,000
        let at = |units| costs.slippage_raw(px(100.0), &b, qty(units)).expect("fits");
        // η = 1: 1% participation moves 10% of the price; 4% moves 20%; 100% moves 100%.
        assert_eq!(at(10), 1_000_000_000);
        assert_eq!(at(40), 2_000_000_000);
        assert_eq!(at(1_000), 10_000_000_000);
        assert_eq!(
            at(5_000),
            at(1_000),
            "participation is capped at the whole bar"
        );
    }

    #[test]
    fn latency_in_bars_skips_bars_and_latency_in_time_needs_a_later_open() {
        let mut daily = book(0, 0);
        let mut w = working(Side::Buy);
        w.wait_bars = 2;
        daily.add(SymbolId(0), w).expect("fits");
        let b = bar(100.0, 101.0, 99.0, 100.0);
        assert!(work(&mut daily, 0, &b).0.is_empty());
        assert!(work(&mut daily, 1, &b).0.is_empty());
        assert_eq!(work(&mut daily, 2, &b).0.len(), 1, "the third bar");

        // Minute bars; decided at 10:00, 90 s of latency: the bar 10:00–10:01 opened before
        // it arrived, the bar 10:01–10:02 too (10:01 < 10:01:30), 10:02–10:03 is the first.
        let minute = 60_000_000_000;
        let ten = 10 * 60 * minute;
        let mut book = book(0, 0);
        let mut out = BarWork::default();
        // The bar that closed at 10:00 (the decision bar) is known to the book.
        book.fill_on_bar(Ts(ten), &b, &mut out).expect("fits");
        let mut w = order(1, Side::Buy, OrderKind::Market, TimeInForce::Ioc);
        w.arrives = Some(Ts(ten + 90_000_000_000));
        book.add(SymbolId(0), w).expect("fits");
        let mut expired = 0;
        for (close, expect) in [
            (ten + minute, 0),
            (ten + 2 * minute, 0),
            (ten + 3 * minute, 1),
        ] {
            out.clear();
            book.fill_on_bar(Ts(close), &b, &mut out).expect("fits");
            assert_eq!(out.fills.len(), expect, "bar closing at {close}");
            expired += out.expired.len();
        }
        assert_eq!(expired, 0, "an ioc order counts its bar from its arrival");
    }

    #[test]
    fn a_trailing_stop_follows_the_best_price_and_never_loosens() {
        let mut book = book(0, 0);
        let kind = OrderKind::TrailingStop {
            trail: Trail::Price(px(2.0)),
            stop: px(95.0),
        };
        book.add(SymbolId(0), order(0, Side::Sell, kind, TimeInForce::Gtc))
            .expect("fits");
        let stop = |book: &OrderBook| book.working(SymbolId(0))[0].kind.stop();
        let mut out = BarWork::default();
        // High 103: the stop follows up to 101.
        book.fill_on_bar(Ts(1), &bar(100.0, 103.0, 99.0, 102.0), &mut out)
            .expect("fits");
        assert_eq!(stop(&book), Some(px(101.0)));
        assert_eq!(
            (out.moved[0].from, out.moved[0].extreme),
            (px(95.0), px(103.0))
        );
        // High 102.5 → 100.5 would loosen it: it stays at 101.
        out.clear();
        book.fill_on_bar(Ts(2), &bar(102.0, 102.5, 101.5, 102.0), &mut out)
            .expect("fits");
        assert_eq!(stop(&book), Some(px(101.0)));
        assert!(out.moved.is_empty());
        // The walk 101.2 → 101.5 → 100 → 100.5 crosses 101 on the way down: filled there.
        out.clear();
        book.fill_on_bar(Ts(3), &bar(101.2, 101.5, 100.0, 100.5), &mut out)
            .expect("fits");
        assert_eq!(out.fills[0].price, px(101.0));
        assert!(out.moved.is_empty(), "a filled stop does not move");

        // By percent: 5% under a high of 200 is 190.
        let mut book = book_with(OrderKind::TrailingStop {
            trail: Trail::Ppm(50_000),
            stop: px(150.0),
        });
        book.fill_on_bar(Ts(1), &bar(195.0, 200.0, 190.5, 198.0), &mut out)
            .expect("fits");
        assert_eq!(book.working(SymbolId(0))[0].kind.stop(), Some(px(190.0)));
    }

    fn book_with(kind: OrderKind) -> OrderBook {
        let mut book = book(0, 0);
        book.add(SymbolId(0), order(0, Side::Sell, kind, TimeInForce::Gtc))
            .expect("fits");
        book
    }

    #[test]
    fn a_good_for_bars_order_works_its_bars_then_is_cancelled() {
        let mut book = book(0, 0);
        let limit = OrderKind::Limit { limit: px(90.0) };
        let gfn = order(0, Side::Buy, limit, TimeInForce::GoodForBars(2));
        book.add(SymbolId(0), gfn).expect("fits");
        let b = bar(100.0, 101.0, 99.0, 100.0);
        let (fills, expired) = work(&mut book, 0, &b);
        assert!(fills.is_empty() && expired.is_empty(), "first bar");
        let (fills, expired) = work(&mut book, 1, &b);
        assert!(fills.is_empty());
        assert_eq!(expired[0].why, Expiry::BarsElapsed, "after its second bar");
        assert!(book.working(SymbolId(0)).is_empty());
    }

    #[test]
    fn the_minimum_fee_is_per_order_not_per_fill() {
        let costs = CostModel {
            fee_bps: 1,
            min_fee: Money::from_units(1).expect("fits"),
            ..CostModel::default()
        };
        // 100 units at 100 in two fills of 50: each 0.50 by basis points. The first pays the
        // minimum, 1.00; the second its 0.50 (the order has paid its minimum).
        let mut book = OrderBook::new(costs, 1).with_participation_ppm(50_000);
        book.add(SymbolId(0), working(Side::Buy)).expect("fits");
        let (first, _) = work(&mut book, 0, &bar(100.0, 100.0, 100.0, 100.0));
        let (second, _) = work(&mut book, 1, &bar(100.0, 100.0, 100.0, 100.0));
        assert_eq!(first[0].fee, Money::from_units(1).expect("fits"));
        assert_eq!(second[0].fee, Money::from_f64(0.5).expect("fits"));
    }
}
