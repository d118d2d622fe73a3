//! proptest generators: arbitrary *valid* events of every kind (positive prices, consistent
//! bars, causes earlier than the event, at most MAX_CAUSES causes and MAX_REASON_VALUES
//! reason values), and the payload length each kind must encode to.

use proptest::collection::vec;
use proptest::prelude::*;

use tape_engine::event::{
    Bar, BorrowCharged, BreakerChange, Causes, DataNote, Direction, Event, EventBody, Feature,
    FeatureId, OrderAmended, OrderCancelled, OrderFilled, OrderId, OrderRejected, OrderSubmitted,
    OrderType, PortfolioSnapshot, Reason, RuleId, RunFinished, RunStarted, Seq, Side, Signal,
    SymbolId, Target, TimeInForce, Trail, MAX_CAUSES, MAX_REASON_VALUES,
};
use tape_engine::fixed::{Money, Price, Quantity};
use tape_engine::time::Ts;

fn raw_price() -> impl Strategy<Value = i64> {
    prop_oneof![Just(1i64), 1i64..=1_000, 1i64..=i64::MAX, Just(i64::MAX)]
}

fn price() -> impl Strategy<Value = Price> {
    raw_price().prop_map(|raw| Price::from_raw(raw).expect("raw_price() is positive"))
}

fn quantity() -> impl Strategy<Value = Quantity> {
    any::<i64>().prop_map(Quantity::from_raw)
}

fn money() -> impl Strategy<Value = Money> {
    any::<i64>().prop_map(Money::from_raw)
}

fn symbol() -> impl Strategy<Value = SymbolId> {
    any::<u32>().prop_map(SymbolId)
}

fn order_id() -> impl Strategy<Value = OrderId> {
    any::<u64>().prop_map(OrderId)
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

/// Any float but NaN (NaN is covered bit for bit by `float_fields_round_trip_bit_for_bit`,
/// since `NaN != NaN` would make event equality meaningless).
fn real() -> impl Strategy<Value = f64> {
    use proptest::num::f64 as f;
    f::POSITIVE | f::NEGATIVE | f::NORMAL | f::SUBNORMAL | f::ZERO | f::INFINITE
}

fn reason() -> impl Strategy<Value = Reason> {
    (any::<u16>(), vec(any::<i64>(), 0..=MAX_REASON_VALUES)).prop_map(|(rule, values)| {
        Reason::from_raw(RuleId(rule), &values).expect("at most MAX_REASON_VALUES values")
    })
}

fn run_started() -> impl Strategy<Value = EventBody> {
    (any::<[u8; 32]>(), money(), any::<u32>()).prop_map(|(config_digest, initial_cash, symbols)| {
        EventBody::RunStarted(RunStarted {
            config_digest,
            initial_cash,
            symbols,
        })
    })
}

fn bar() -> impl Strategy<Value = EventBody> {
    (symbol(), vec(raw_price(), 4), any::<bool>(), 0..=i64::MAX).prop_map(
        |(symbol, mut p, swap, volume)| {
            p.sort_unstable();
            let px = |raw| Price::from_raw(raw).expect("positive");
            let (open, close) = if swap { (p[2], p[1]) } else { (p[1], p[2]) };
            let bar = Bar::new(
                symbol,
                px(open),
                px(p[3]),
                px(p[0]),
                px(close),
                Quantity::from_raw(volume),
            )
            .expect("sorted prices bracket open and close");
            EventBody::Bar(bar)
        },
    )
}

fn data_note(quarantined: bool) -> impl Strategy<Value = EventBody> {
    (symbol(), any::<u32>(), any::<u64>(), reason()).prop_map(
        move |(symbol, input, row, reason)| {
            let note = DataNote {
                symbol,
                input,
                row,
                reason,
            };
            if quarantined {
                EventBody::DataQuarantined(note)
            } else {
                EventBody::DataWarning(note)
            }
        },
    )
}

fn feature() -> impl Strategy<Value = EventBody> {
    use proptest::num::f64 as f;
    (
        symbol(),
        any::<u32>(),
        any::<u32>(),
        any::<u64>(),
        f::POSITIVE | f::NEGATIVE | f::NORMAL | f::SUBNORMAL | f::ZERO,
    )
        .prop_map(|(symbol, feature, input, row, value)| {
            EventBody::Feature(Feature {
                symbol,
                feature: FeatureId(feature),
                input,
                row,
                value,
            })
        })
}

fn order_amended() -> impl Strategy<Value = EventBody> {
    (
        order_id(),
        symbol(),
        quantity(),
        proptest::option::of(price()),
        proptest::option::of(price()),
        reason(),
    )
        .prop_map(
            |(order, symbol, remaining, limit_price, stop_price, reason)| {
                EventBody::OrderAmended(OrderAmended {
                    order,
                    symbol,
                    remaining,
                    limit_price,
                    stop_price,
                    reason,
                })
            },
        )
}

fn borrow_charged() -> impl Strategy<Value = EventBody> {
    (symbol(), money(), reason()).prop_map(|(symbol, amount, reason)| {
        EventBody::BorrowCharged(BorrowCharged {
            symbol,
            amount,
            reason,
        })
    })
}

fn breaker(tripped: bool) -> impl Strategy<Value = EventBody> {
    reason().prop_map(move |reason| {
        let change = BreakerChange { reason };
        if tripped {
            EventBody::CircuitBreakerTripped(change)
        } else {
            EventBody::CircuitBreakerReset(change)
        }
    })
}

fn signal() -> impl Strategy<Value = EventBody> {
    let direction = prop_oneof![
        Just(Direction::Flat),
        Just(Direction::Long),
        Just(Direction::Short)
    ];
    (symbol(), direction, real(), reason()).prop_map(|(symbol, direction, strength, reason)| {
        EventBody::Signal(Signal {
            symbol,
            direction,
            strength,
            reason,
        })
    })
}

fn target() -> impl Strategy<Value = EventBody> {
    (symbol(), quantity(), reason()).prop_map(|(symbol, position, reason)| {
        EventBody::Target(Target {
            symbol,
            position,
            reason,
        })
    })
}

fn order_submitted() -> impl Strategy<Value = EventBody> {
    let order_type = prop_oneof![
        Just(OrderType::Market),
        Just(OrderType::Limit),
        Just(OrderType::Stop),
        Just(OrderType::StopLimit),
        Just(OrderType::TrailingStop)
    ];
    let time_in_force = prop_oneof![
        Just(TimeInForce::Gtc),
        Just(TimeInForce::Day),
        Just(TimeInForce::Ioc),
        any::<u32>().prop_map(TimeInForce::GoodForBars)
    ];
    (
        order_id(),
        symbol(),
        side(),
        order_type,
        time_in_force,
        quantity(),
        proptest::option::of(price()),
        proptest::option::of(price()),
        proptest::option::of(prop_oneof![
            price().prop_map(Trail::Price),
            any::<u32>().prop_map(Trail::Ppm)
        ]),
        (proptest::option::of(any::<u32>()), reason()),
    )
        .prop_map(
            |(
                order,
                symbol,
                side,
                order_type,
                time_in_force,
                quantity,
                limit_price,
                stop_price,
                trail,
                (cycle, reason),
            )| {
                EventBody::OrderSubmitted(OrderSubmitted {
                    order,
                    symbol,
                    side,
                    order_type,
                    time_in_force,
                    quantity,
                    limit_price,
                    stop_price,
                    trail,
                    cycle,
                    reason,
                })
            },
        )
}

fn order_rejected() -> impl Strategy<Value = EventBody> {
    (order_id(), symbol(), side(), quantity(), reason()).prop_map(
        |(order, symbol, side, quantity, reason)| {
            EventBody::OrderRejected(OrderRejected {
                order,
                symbol,
                side,
                quantity,
                reason,
            })
        },
    )
}

fn order_filled() -> impl Strategy<Value = EventBody> {
    (
        order_id(),
        symbol(),
        side(),
        quantity(),
        price(),
        price(),
        money(),
        money(),
        quantity(),
    )
        .prop_map(
            |(order, symbol, side, quantity, price, expected_price, fee, slippage, remaining)| {
                EventBody::OrderFilled(OrderFilled {
                    order,
                    symbol,
                    side,
                    quantity,
                    price,
                    expected_price,
                    fee,
                    slippage,
                    remaining,
                })
            },
        )
}

fn order_cancelled() -> impl Strategy<Value = EventBody> {
    (order_id(), symbol(), quantity(), reason()).prop_map(|(order, symbol, remaining, reason)| {
        EventBody::OrderCancelled(OrderCancelled {
            order,
            symbol,
            remaining,
            reason,
        })
    })
}

fn portfolio_snapshot() -> impl Strategy<Value = EventBody> {
    (vec(money(), 7), any::<u32>()).prop_map(|(m, open_positions)| {
        EventBody::PortfolioSnapshot(PortfolioSnapshot {
            cash: m[0],
            equity: m[1],
            gross_exposure: m[2],
            net_exposure: m[3],
            realised_pnl: m[4],
            unrealised_pnl: m[5],
            fees: m[6],
            open_positions,
        })
    })
}

fn run_finished() -> impl Strategy<Value = EventBody> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        money(),
        money(),
        real(),
    )
        .prop_map(
            |(bars, orders, fills, rejections, final_equity, peak_equity, max_drawdown)| {
                EventBody::RunFinished(RunFinished {
                    bars,
                    orders,
                    fills,
                    rejections,
                    final_equity,
                    peak_equity,
                    max_drawdown,
                })
            },
        )
}

/// A seq and causes that are all earlier than it (none for seq 0), up to [`MAX_CAUSES`].
fn seq_and_causes() -> impl Strategy<Value = (Seq, Causes)> {
    prop_oneof![0u64..8, any::<u64>(), Just(u64::MAX)]
        .prop_flat_map(|seq| {
            let most = if seq == 0 { 0 } else { MAX_CAUSES };
            (Just(seq), vec(0..seq.max(1), 0..=most))
        })
        .prop_map(|(seq, causes)| {
            let causes: Vec<Seq> = causes.into_iter().map(Seq).collect();
            (
                Seq(seq),
                Causes::from_slice(&causes).expect("at most MAX_CAUSES causes"),
            )
        })
}

fn event(body: impl Strategy<Value = EventBody>) -> impl Strategy<Value = Event> {
    (seq_and_causes(), any::<i64>(), body).prop_map(|((seq, causes), ts, body)| Event {
        seq,
        ts: Ts(ts),
        causes,
        body,
    })
}

/// One event of every kind, in [`EventKind::ALL`] order.
pub fn one_event_of_each_kind() -> impl Strategy<Value = Vec<Event>> {
    (
        (
            event(run_started()),
            event(bar()),
            event(data_note(true)),
            event(data_note(false)),
            event(feature()),
        ),
        event(signal()),
        event(target()),
        event(order_submitted()),
        event(order_rejected()),
        event(order_filled()),
        event(order_cancelled()),
        event(portfolio_snapshot()),
        (
            event(run_finished()),
            event(breaker(true)),
            event(breaker(false)),
            event(order_amended()),
            event(borrow_charged()),
        ),
    )
        .prop_map(|((a, b, x, y, z), c, d, e, f, g, h, i, (j, k, l, m, n))| {
            vec![a, b, x, y, z, c, d, e, f, g, h, i, j, k, l, m, n]
        })
}

/// Payload bytes of an event, from the layout in `ledger/frame.rs` (written out independently
/// of the encoder, so a layout change fails here).
pub fn payload_len(body: &EventBody) -> usize {
    let reason = |r: &Reason| 2 + 1 + 8 * r.raw_values().len();
    match body {
        EventBody::RunStarted(_) => 32 + 8 + 4,
        EventBody::Bar(_) => 4 + 5 * 8,
        EventBody::DataQuarantined(d) | EventBody::DataWarning(d) => 4 + 4 + 8 + reason(&d.reason),
        EventBody::Feature(_) => 4 + 4 + 4 + 8 + 8,
        EventBody::Signal(s) => 4 + 1 + 8 + reason(&s.reason),
        EventBody::Target(t) => 4 + 8 + reason(&t.reason),
        EventBody::OrderSubmitted(o) => {
            let prices = usize::from(o.limit_price.is_some()) + usize::from(o.stop_price.is_some());
            let trail = if o.trail.is_some() { 1 + 8 } else { 0 };
            let bars = if matches!(o.time_in_force, TimeInForce::GoodForBars(_)) {
                4
            } else {
                0
            };
            let cycle = if o.cycle.is_some() { 4 } else { 0 };
            8 + 4 + 1 + 1 + 1 + 1 + 8 + 8 * prices + trail + bars + cycle + reason(&o.reason)
        }
        EventBody::BorrowCharged(b) => 4 + 8 + reason(&b.reason),
        EventBody::OrderAmended(a) => {
            let prices = usize::from(a.limit_price.is_some()) + usize::from(a.stop_price.is_some());
            8 + 4 + 1 + 8 + 8 * prices + reason(&a.reason)
        }
        EventBody::OrderRejected(r) => 8 + 4 + 1 + 8 + reason(&r.reason),
        EventBody::OrderFilled(_) => 8 + 4 + 1 + 6 * 8,
        EventBody::OrderCancelled(c) => 8 + 4 + 8 + reason(&c.reason),
        EventBody::PortfolioSnapshot(_) => 7 * 8 + 4,
        EventBody::RunFinished(_) => 4 * 8 + 2 * 8 + 8,
        EventBody::CircuitBreakerTripped(b) | EventBody::CircuitBreakerReset(b) => {
            reason(&b.reason)
        }
    }
}
