//! A ledger holding one event of every kind, for tests of the exporter and of corruption.

use std::path::Path;

use tape_engine::event::{
    Bar, BorrowCharged, BreakerChange, Causes, DataNote, Direction, Event, EventBody, Feature,
    FeatureId, OrderAmended, OrderCancelled, OrderFilled, OrderId, OrderRejected, OrderSubmitted,
    OrderType, PortfolioSnapshot, Reason, RuleId, RuleTable, RunFinished, RunStarted, Seq, Side,
    Signal, SymbolId, Target, TimeInForce, Trail,
};
use tape_engine::fixed::{Money, Price, Quantity};
use tape_engine::ledger::frame::encode_event;
use tape_engine::ledger::{FsyncPolicy, Header, LedgerWriter};
use tape_engine::time::Ts;

/// A ledger holding one event of every kind, with the values at the edges of their types: the
/// largest price, the most negative money, a time with nanoseconds, an order with every
/// optional field and one with none.
pub fn every_kind_ledger(path: &Path) -> Vec<Event> {
    let rules = RuleTable::from_specs(tape_engine::rules::ENGINE_RULES).expect("unique ids");
    let header = Header::new(
        [9; 32],
        "every-kind".to_string(),
        vec!["AAA".to_string(), "B,B \"quoted\"".to_string()],
        vec![],
        rules,
        "name = \"every-kind\"\n".to_string(),
    )
    .with_features(vec!["sentiment".to_string()]);
    let price = |raw| Price::from_raw(raw).expect("positive");
    let reason = Reason::new(RuleId(0), &[]);
    let t0 = 1_388_610_000_123_456_789;
    let bodies = vec![
        EventBody::RunStarted(RunStarted {
            config_digest: [0xab; 32],
            initial_cash: Money::from_raw(i64::MAX),
            symbols: 2,
        }),
        EventBody::Bar(Bar {
            symbol: SymbolId(1),
            open: price(i64::MAX - 1),
            high: price(i64::MAX),
            low: price(1),
            close: price(1),
            volume: Quantity::from_raw(0),
        }),
        EventBody::DataQuarantined(DataNote {
            symbol: SymbolId(0),
            input: 0,
            row: 42,
            reason,
        }),
        EventBody::DataWarning(DataNote {
            symbol: SymbolId(0),
            input: 0,
            row: 43,
            reason,
        }),
        EventBody::Feature(Feature {
            symbol: SymbolId(0),
            feature: FeatureId(0),
            input: 1,
            row: 2,
            value: -1.25,
        }),
        EventBody::Signal(Signal {
            symbol: SymbolId(0),
            direction: Direction::Short,
            strength: 0.5,
            reason,
        }),
        EventBody::Target(Target {
            symbol: SymbolId(0),
            position: Quantity::from_raw(-12_345_678_901),
            reason,
        }),
        EventBody::OrderSubmitted(OrderSubmitted {
            order: OrderId(0),
            symbol: SymbolId(0),
            side: Side::Sell,
            order_type: OrderType::Market,
            time_in_force: TimeInForce::Gtc,
            quantity: Quantity::from_raw(1),
            limit_price: None,
            stop_price: None,
            trail: None,
            cycle: None,
            reason,
        }),
        EventBody::OrderSubmitted(OrderSubmitted {
            order: OrderId(1),
            symbol: SymbolId(0),
            side: Side::Buy,
            order_type: OrderType::TrailingStop,
            time_in_force: TimeInForce::GoodForBars(5),
            quantity: Quantity::from_raw(2),
            limit_price: Some(price(3)),
            stop_price: Some(price(4)),
            trail: Some(Trail::Price(price(5))),
            cycle: Some(7),
            reason,
        }),
        EventBody::OrderRejected(OrderRejected {
            order: OrderId(2),
            symbol: SymbolId(0),
            side: Side::Buy,
            quantity: Quantity::from_raw(3),
            reason,
        }),
        EventBody::OrderFilled(OrderFilled {
            order: OrderId(0),
            symbol: SymbolId(0),
            side: Side::Sell,
            quantity: Quantity::from_raw(1),
            price: price(123_456_789),
            expected_price: price(100_000_000),
            fee: Money::from_raw(1),
            slippage: Money::from_raw(i64::MIN),
            remaining: Quantity::from_raw(0),
        }),
        EventBody::OrderCancelled(OrderCancelled {
            order: OrderId(1),
            symbol: SymbolId(0),
            remaining: Quantity::from_raw(2),
            reason,
        }),
        EventBody::PortfolioSnapshot(PortfolioSnapshot {
            cash: Money::from_raw(-1),
            equity: Money::from_raw(i64::MIN),
            gross_exposure: Money::from_raw(0),
            net_exposure: Money::from_raw(0),
            realised_pnl: Money::from_raw(0),
            unrealised_pnl: Money::from_raw(0),
            fees: Money::from_raw(0),
            open_positions: 1,
        }),
        EventBody::CircuitBreakerTripped(BreakerChange { reason }),
        EventBody::CircuitBreakerReset(BreakerChange { reason }),
        EventBody::OrderAmended(OrderAmended {
            order: OrderId(1),
            symbol: SymbolId(0),
            remaining: Quantity::from_raw(1),
            limit_price: None,
            stop_price: Some(price(6)),
            reason,
        }),
        EventBody::BorrowCharged(BorrowCharged {
            symbol: SymbolId(1),
            amount: Money::from_raw(1_500_000),
            reason,
        }),
        EventBody::RunFinished(RunFinished {
            bars: 1,
            orders: 2,
            fills: 1,
            rejections: 1,
            final_equity: Money::from_raw(0),
            peak_equity: Money::from_raw(0),
            max_drawdown: 0.25,
        }),
    ];
    let events: Vec<Event> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| Event {
            seq: Seq(i as u64),
            ts: Ts(t0 + i as i64),
            causes: if i >= 3 {
                Causes::from_slice(&[Seq(1), Seq(i as u64 - 1)]).expect("two causes")
            } else {
                Causes::NONE
            },
            body,
        })
        .collect();
    let mut frames = Vec::new();
    for event in &events {
        encode_event(event, header.salt, &mut frames);
    }
    let mut writer =
        LedgerWriter::create(path, &header, FsyncPolicy::Never, false).expect("creates");
    let rest = writer.submit(frames).expect("accepts");
    writer.finish(rest).expect("finishes");
    events
}
